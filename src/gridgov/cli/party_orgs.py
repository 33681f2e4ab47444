"""``gridgov party org|member|post|unit|register|contact|import``: Party organisations, their posts and members,
resident units, members' registers, 党员联系户 and the Excel imports of organisations, memberships and 联系户.

The commands act as the local operator, or as the token in ``GRIDGOV_TOKEN`` (its role and scope); the services
(:mod:`gridgov.party.orgs`, ``units``, ``registers``, ``contacts``, ``imports``) check both. Changes keep
history; a dissolution or retirement keeps the record.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import DATE, JSON_HELP, VERSION_HELP, acting, echo_json, get_settings
from gridgov.cli.errors import EXIT_REFUSED
from gridgov.cli.versioned import (
    add_retire,
    day,
    done_printer,
    echo_list,
    given,
    require_changes,
    row,
    state_of,
)
from gridgov.cli.versioned import timezone as _timezone
from gridgov.periods import parse_date, parse_moment

if TYPE_CHECKING:
    from gridgov.party.orgs import Membership
    from gridgov.party.registers import Register
    from gridgov.party.units import Unit

org_app = typer.Typer(help="党组织：新建、修改、撤销、列表（组织树）、详情。", no_args_is_help=True)
member_app = typer.Typer(help="党员组织关系：编入（转入）、转出、历史。", no_args_is_help=True)
post_app = typer.Typer(help="党内职务：任职、结束任职。", no_args_is_help=True)
unit_app = typer.Typer(help="驻区单位与两新组织：新建、修改、撤销、列表、加入大党委。", no_args_is_help=True)
register_app = typer.Typer(help="党员登记：在职报到、流动党员、亮身份；未报到与流动党员名单。", no_args_is_help=True)
contact_app = typer.Typer(help="党员联系户：联系、取消联系、走访、列表。", no_args_is_help=True)

PARENT_HELP = "网格编码：只看此网格及其下级（默认：您的范围）"
KIND_HELP = "类别：党委、党总支、党支部、党小组（也接受 支部、总支 等）"
FORM_HELP = ("形式：社区党组织、网格党支部、楼院党支部、驻区单位党组织、两新党组织、离退休党支部、特设党支部、"
             "楼栋党小组、楼道党小组、其他")
GRIDS_HELP = "所建网格的编码，多个用逗号或顿号分隔"
HOLDER_HELP = "党员的人员编码，或网格工作人员的人员编码"
UNIT_KIND_HELP = "单位类型：机关事业单位、国有企业、非公企业、社会组织、学校、医院、其他（也接受 民营企业 等）"
CRS_HELP = "坐标系：EPSG:4326（默认）、EPSG:4490 或 gcj02（高德、腾讯地图）"


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
    app.add_typer(org_app, name="org")
    app.add_typer(member_app, name="member")
    app.add_typer(post_app, name="post")
    app.add_typer(unit_app, name="unit")
    app.add_typer(register_app, name="register")
    app.add_typer(contact_app, name="contact")
    app.command("import", help="从 Excel（或 CSV）导入：orgs 党组织、members 党员组织关系、contacts 党员联系户"
                               "（任何一行有误则整个文件不写入）；--template 写出导入模板。")(import_file)  # fmt: skip


_org_done = done_printer("党组织")
_unit_done = done_printer("驻区单位")


# ------------------------------------------------------------------------------------------------ org


@org_app.command("add", help="新建党组织。")
def org_add(
    code: str = typer.Argument(..., help="党组织编码，如 DZB01"),
    name: str = typer.Option(..., "--name", help="名称"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    form: str = typer.Option(..., "--form", help=FORM_HELP),
    parent: str | None = typer.Option(None, "--parent", help="上级党组织编码"),
    grids: str | None = typer.Option(None, "--grids", help=GRIDS_HELP),
    unit: str | None = typer.Option(None, "--unit", help="所属驻区单位编码（驻区单位党组织）"),
    secretary: str | None = typer.Option(None, "--secretary", help="书记：" + HOLDER_HELP),
    phone: str | None = typer.Option(None, "--phone", help="联系电话"),
    founded: str | None = typer.Option(None, "--founded", metavar=DATE, help="成立日期"),
    effective: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                             help="记录生效日期（默认今天）"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add an organisation."""
    from gridgov.party.orgs import create_org

    with acting() as (s, actor):
        org = create_org(s, actor, code=code, name=name, kind=kind, form=form, parent=parent, grids=grids or (),
                         unit=unit, secretary=secretary, phone=phone, founded_on=founded, effective=effective,
                         timezone=_timezone())  # fmt: skip
    _org_done(org, "新建", as_json)


@org_app.command("edit", help="修改党组织（原状态保留为历史；选项值为空字符串则清空）。")
def org_edit(
    code: str = typer.Argument(..., help="党组织编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    form: str | None = typer.Option(None, "--form", help=FORM_HELP),
    parent: str | None = typer.Option(None, "--parent", help="上级党组织编码"),
    grids: str | None = typer.Option(None, "--grids", help=GRIDS_HELP),
    unit: str | None = typer.Option(None, "--unit", help="所属驻区单位编码"),
    secretary: str | None = typer.Option(None, "--secretary", help="书记：" + HOLDER_HELP),
    phone: str | None = typer.Option(None, "--phone", help="联系电话"),
    founded: str | None = typer.Option(None, "--founded", metavar=DATE, help="成立日期"),
    effective: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                             help="变更生效日期（默认今天）"),  # fmt: skip
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change an organisation."""
    from gridgov.party.orgs import update_org

    changes = require_changes(given(name=name, kind=kind, form=form, parent=parent, grids=grids, unit=unit,
                                    secretary=secretary, phone=phone, founded_on=founded),
                              "--name", "--kind", "--form", "--parent", "--grids", "--unit", "--secretary", "--phone",
                              "--founded")  # fmt: skip
    with acting() as (s, actor):
        org = update_org(s, code, changes, actor, expected_version=version, effective=effective, timezone=_timezone())
    _org_done(org, "修改", as_json)


add_retire(org_app, name="dissolve", retire="gridgov.party.orgs:dissolve_org", done=_org_done,
           help="撤销党组织（在任职务和组织关系当日结束；记录与历史保留）。", code_help="党组织编码",
           reason_help="撤销原因：合并、调整、录入错误 …")  # fmt: skip


@org_app.command("list", help="列出党组织（组织树；默认：您范围内现有的）。")
def org_list(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    as_of: dt.date | None = typer.Option(None, "--as-of", parser=parse_moment, metavar=DATE,
                                         help="历史时点：列出当时的党组织"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List organisations as a tree."""
    from gridgov.party.orgs import list_orgs, org_tree
    from gridgov.periods import as_of_moment

    with acting() as (s, actor):
        orgs = list_orgs(s, actor, parent=parent, include_retired=include_retired, page="cli",
                         as_of_moment=as_of_moment(as_of, _timezone()), timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json([o.as_dict() for o in orgs])
        return
    for depth, o in org_tree(orgs):
        typer.echo(row([f"{'  ' * depth}{o.code}", o.name, o.kind, o.form, "、".join(o.grid_codes) or "-",
                        o.secretary_name or "-", f"{o.members} 名党员（含下级 {o.members_total}）"], o))  # fmt: skip
    typer.echo(f"共 {len(orgs)} 个党组织")


@org_app.command("show", help="显示一个党组织：信息、职务、党员、下级组织、成员单位、变更历史。")
def org_show(
    code: str = typer.Argument(..., help="党组织编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show an organisation."""
    from gridgov.party.orgs import org_changes, org_detail

    with acting() as (s, actor):
        d = org_detail(s, code, actor, page="cli", timezone=_timezone())
    if as_json:
        echo_json(d.as_dict())
        return
    o = d.org
    typer.echo(f"党组织 {o.code} {o.name}（{o.kind}，{o.form}；版本 {o.version}，{state_of(o)}）")
    for label, value in (("上级组织", o.parent_code and f"{o.parent_name}（{o.parent_code}）"),
                         ("所建网格", "、".join(f"{n}（{c}）" for c, n in zip(o.grid_codes, o.grid_names,
                                                                          strict=True))),
                         ("所属单位", o.unit_code and f"{o.unit_name}（{o.unit_code}）"),
                         ("书记", o.secretary_code and f"{o.secretary_name}（{o.secretary_code}）"),
                         ("电话", o.phone), ("成立日期", o.founded_on)):  # fmt: skip
        typer.echo(f"  {label}：{value or '（无）'}")
    typer.echo(f"  职务（{sum(p.in_force for p in d.posts)} 人在任）：")
    for p in d.posts:
        until = f"至 {p.until}（{p.end_reason or ''}）" if p.until else "至今"
        typer.echo(f"    [{p.id}] {p.post}\t{p.holder_name}（{p.holder_code}）\t自 {p.since} {until}")
    typer.echo(f"  党员（{o.members} 名在册）：")
    for m in d.members:
        typer.echo(f"    {_membership_line(m)}")
    typer.echo(f"  下级组织：{'、'.join(f'{c.name}（{c.code}）' for c in d.children) or '（无）'}")
    if d.units:
        typer.echo(f"  成员单位：{'、'.join(f'{n}（{c}）' for c, n, _ in d.units)}")
    typer.echo("  变更历史：")
    for i, v in enumerate(d.history):
        changes = "；".join(org_changes(d.history[i - 1] if i else None, v))
        typer.echo(f"    版本 {v.version}：{day(v.valid_from)}  {changes}")


def _membership_line(m: Membership) -> str:
    until = f"至 {m.until}（{m.end_reason or ''}）" if m.until else "至今"
    return f"{m.person_name}（{m.person_code}）\t{m.org_name}（{m.org_code}）\t自 {m.since} {until}"


# ------------------------------------------------------------------------------------------------ member


@member_app.command("join", help="把党员编入党组织（已在其他组织的，当日转出，历史保留）。")
def member_join(
    person: str = typer.Argument(..., help="党员的人员编码"),
    org: str = typer.Option(..., "--org", help="党组织编码"),
    since: dt.date | None = typer.Option(None, "--since", parser=parse_date, metavar=DATE, help="编入日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Put a member in an organisation."""
    from gridgov.party.orgs import join_org

    with acting() as (s, actor):
        m = join_org(s, person, org, actor, since=since, timezone=_timezone())
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已编入：{_membership_line(m)}")


@member_app.command("leave", help="党员离开所在党组织（转出、去世、停止党籍 …；记录保留）。")
def member_leave(
    person: str = typer.Argument(..., help="党员的人员编码"),
    reason: str = typer.Option(..., "--reason", help="原因：转出、去世、停止党籍、其他"),
    until: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """End a membership."""
    from gridgov.party.orgs import leave_org

    with acting() as (s, actor):
        m = leave_org(s, person, actor, reason=reason, until=until, timezone=_timezone())
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已离开：{_membership_line(m)}")


@member_app.command("history", help="党员的组织关系历史（当前的在前）。")
def member_history(
    person: str = typer.Argument(..., help="党员的人员编码"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """A member's organisations over time."""
    from gridgov.party.orgs import member_history as history

    with acting() as (s, actor):
        rows = history(s, person, actor, timezone=_timezone())
    if as_json:
        echo_json([m.as_dict() for m in rows])
        return
    for m in rows:
        typer.echo(_membership_line(m))
    if not rows:
        typer.echo("（未编入过党组织）")


# ------------------------------------------------------------------------------------------------ post


@post_app.command("add", help="任职：书记、副书记、委员、兼职委员（可注明来自哪个成员单位）…")
def post_add(
    org: str = typer.Argument(..., help="党组织编码"),
    post: str = typer.Option(..., "--post", help="职务：书记、副书记、组织委员、宣传委员、纪检委员、委员、兼职委员 …"),
    holder: str = typer.Option(..., "--holder", help=HOLDER_HELP),
    unit: str | None = typer.Option(None, "--unit", help="兼职委员所在的成员单位编码"),
    since: dt.date | None = typer.Option(None, "--since", parser=parse_date, metavar=DATE, help="任职日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a post."""
    from gridgov.party.orgs import add_post

    with acting() as (s, actor):
        p = add_post(s, org, actor, post=post, holder_code=holder, unit=unit, since=since, timezone=_timezone())
    if as_json:
        echo_json(p.as_dict())
    else:
        typer.echo(f"已任职（编号 {p.id}）：{org} {p.post} {p.holder_name}（{p.holder_code}），自 {p.since} 起")


@post_app.command("end", help="结束任职（当日起不再担任；记录保留）。")
def post_end(
    org: str = typer.Argument(..., help="党组织编码"),
    post_id: int = typer.Argument(..., help="任职编号（gridgov party org show 列出）"),
    until: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="日期（默认今天）"),
    reason: str | None = typer.Option(None, "--reason", help="原因（默认「换届」）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """End a post."""
    from gridgov.party.orgs import end_post

    with acting() as (s, actor):
        p = end_post(s, org, post_id, actor, until=until, reason=reason, timezone=_timezone())
    if as_json:
        echo_json(p.as_dict())
    else:
        typer.echo(f"已结束任职：{org} {p.post} {p.holder_name}（自 {p.until} 起，{p.end_reason}）")


# ------------------------------------------------------------------------------------------------ unit


def _unit_line(u: Unit) -> str:
    return row([u.code, u.name, u.kind, u.grid_code or "（不在网格内）", "有党组织" if u.has_party_org else "无党组织",
                f"大党委 {u.member_of_code}" if u.member_of_code else "-", u.contact_name or "-"], u)  # fmt: skip


@unit_app.command("add", help="新建驻区单位或两新组织（按位置归入网格）。")
def unit_add(
    code: str = typer.Argument(..., help="单位编码"),
    name: str = typer.Option(..., "--name", help="名称"),
    kind: str = typer.Option(..., "--kind", help=UNIT_KIND_HELP),
    lon: float = typer.Option(..., "--lon", help="经度"),
    lat: float = typer.Option(..., "--lat", help="纬度"),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    address: str | None = typer.Option(None, "--address", help="地址"),
    contact_name: str | None = typer.Option(None, "--contact-name", help="党建联系人"),
    contact_phone: str | None = typer.Option(None, "--contact-phone", help="联系人电话"),
    has_party_org: bool = typer.Option(False, "--has-party-org", help="单位已建党组织"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a resident unit."""
    from gridgov.party.units import create_unit

    with acting() as (s, actor):
        u = create_unit(s, actor, code=code, name=name, kind=kind, lon=lon, lat=lat, crs=crs, address=address,
                        contact_name=contact_name, contact_phone=contact_phone, has_party_org=has_party_org,
                        timezone=_timezone())  # fmt: skip
    _unit_done(u, "新建", as_json)


@unit_app.command("edit", help="修改驻区单位（原状态保留为历史）。")
def unit_edit(
    code: str = typer.Argument(..., help="单位编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    kind: str | None = typer.Option(None, "--kind", help=UNIT_KIND_HELP),
    lon: float | None = typer.Option(None, "--lon", help="新位置的经度"),
    lat: float | None = typer.Option(None, "--lat", help="新位置的纬度"),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    address: str | None = typer.Option(None, "--address", help="地址"),
    contact_name: str | None = typer.Option(None, "--contact-name", help="党建联系人"),
    contact_phone: str | None = typer.Option(None, "--contact-phone", help="联系人电话"),
    has_party_org: bool | None = typer.Option(None, "--has-party-org/--no-party-org", help="单位是否已建党组织"),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change a resident unit."""
    from gridgov.party.units import update_unit

    changes = require_changes(given(name=name, kind=kind, lon=lon, lat=lat, address=address,
                                    contact_name=contact_name, contact_phone=contact_phone,
                                    has_party_org=has_party_org))  # fmt: skip
    if crs is not None:
        changes["crs"] = crs
    with acting() as (s, actor):
        u = update_unit(s, code, changes, actor, expected_version=version, timezone=_timezone())
    _unit_done(u, "修改", as_json)


add_retire(unit_app, retire="gridgov.party.units:retire_unit", done=_unit_done, help="撤销驻区单位（记录与历史保留）。",
           code_help="单位编码", reason_help="原因：搬迁、注销、录入错误 …")  # fmt: skip


@unit_app.command("list", help="列出驻区单位和两新组织（默认：您范围内现有的）。")
def unit_list(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List resident units."""
    from gridgov.party.units import list_units

    with acting() as (s, actor):
        found = list_units(s, actor, parent=parent, include_retired=include_retired, page="cli")
    echo_list(found, _unit_line, f"共 {len(found)} 个单位", as_json)


@unit_app.command("join", help="单位加入社区大党委（成员单位）；--leave 退出。")
def unit_join(
    code: str = typer.Argument(..., help="单位编码"),
    org: str | None = typer.Option(None, "--org", help="社区党组织（大党委）的编码"),
    leave: bool = typer.Option(False, "--leave", help="退出所加入的大党委"),
    joined: str | None = typer.Option(None, "--date", metavar=DATE, help="加入日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Join (or leave) a community 大党委."""
    from gridgov.party.units import join_unit

    if leave == bool(org):
        raise typer.BadParameter("请给出 --org（加入）或 --leave（退出）之一")
    with acting() as (s, actor):
        u = join_unit(s, code, actor, org=None if leave else org, joined_on=joined, timezone=_timezone())
    _unit_done(u, "退出大党委：" if leave else "加入大党委：", as_json)


# ------------------------------------------------------------------------------------------------ register


def _register_line(r: Register) -> str:
    flow = f"{r.flow} {r.flow_place or ''} 活动证 {r.certificate_no or '无'}" if r.flow else ""
    return "\t".join([r.person_code, r.person_name, r.member_type or "-", r.grid_code or "-", r.org_code or "-",
                      f"报到 {r.reported_on}" if r.reported_on else "未报到", flow])  # fmt: skip


@register_app.command("set", help="登记党员信息（只改给出的项；值为空字符串则清空）。")
def register_set(
    person: str = typer.Argument(..., help="党员的人员编码"),
    joined_party_on: str | None = typer.Option(None, "--joined-party-on", metavar=DATE, help="入党日期"),
    employer: str | None = typer.Option(None, "--employer", help="工作单位（在职党员）"),
    employer_org: str | None = typer.Option(None, "--employer-org", help="单位党组织"),
    reported_on: str | None = typer.Option(None, "--reported-on", metavar=DATE, help="到社区报到日期"),
    flow: str | None = typer.Option(None, "--flow", help="流动方向：流入 或 流出"),
    flow_place: str | None = typer.Option(None, "--flow-place", help="流入地或流出地"),
    certificate_no: str | None = typer.Option(None, "--certificate-no", help="流动党员活动证号"),
    certificate_on: str | None = typer.Option(None, "--certificate-on", metavar=DATE, help="活动证发证日期"),
    flow_mode: str | None = typer.Option(None, "--flow-mode", help="管理方式：直管、代管、协管"),
    shows_identity: bool | None = typer.Option(None, "--shows-identity/--hides-identity",
                                               help="同意（或不同意）亮身份：公示牌上显示姓名"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Set a member's registers."""
    from gridgov.party.registers import set_register

    changes = given(joined_party_on=joined_party_on, employer=employer, employer_org=employer_org,
                    reported_on=reported_on, flow=flow, flow_place=flow_place, certificate_no=certificate_no,
                    certificate_on=certificate_on, flow_mode=flow_mode, shows_identity=shows_identity)  # fmt: skip
    if not changes:
        raise typer.BadParameter("没有要登记的内容")
    with acting() as (s, actor):
        r = set_register(s, person, changes, actor, timezone=_timezone())
    if as_json:
        echo_json(r.as_dict())
    else:
        typer.echo(f"已登记：{_register_line(r)}")


def _registers(rows: list[Register], as_json: bool, none: str) -> None:
    if as_json:
        echo_json([r.as_dict() for r in rows])
        return
    for r in rows:
        typer.echo(_register_line(r))
    typer.echo(f"共 {len(rows)} 名" if rows else none)


@register_app.command("unreported", help="在职党员中尚未到社区报到的。")
def register_unreported(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """在职 members not reported."""
    from gridgov.party.registers import unreported

    with acting() as (s, actor):
        rows = unreported(s, actor, parent=parent, page="cli")
    _registers(rows, as_json, "（在职党员均已报到）")


@register_app.command("flowing", help="流动党员（流入、流出）及其活动证情况。")
def register_flowing(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    flow: str | None = typer.Option(None, "--flow", help="只列 流入 或 流出"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """流动 members."""
    from gridgov.party.registers import flowing

    with acting() as (s, actor):
        rows = flowing(s, actor, parent=parent, flow=flow, page="cli")
    _registers(rows, as_json, "（没有流动党员）")


# ------------------------------------------------------------------------------------------------ contact


@contact_app.command("link", help="党员联系住户（每名党员联系户数有上限，见 PartySettings.party_contacts_max）。")
def contact_link(
    person: str = typer.Argument(..., help="党员的人员编码"),
    household: str = typer.Argument(..., help="户编码"),
    since: dt.date | None = typer.Option(None, "--since", parser=parse_date, metavar=DATE, help="开始日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Link a member to a household."""
    from gridgov.party.contacts import link_household
    from gridgov.party.rules import PartyRules

    with acting() as (s, actor):
        x = link_household(s, person, household, actor, rules=PartyRules.of(get_settings()), since=since,
                           timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(x.as_dict())
    else:
        typer.echo(f"已联系：{x.person_name}（{x.person_code}）→ 户 {x.household_code}，自 {x.since} 起")


@contact_app.command("unlink", help="取消党员与住户的联系（走访记录保留）。")
def contact_unlink(
    person: str = typer.Argument(..., help="党员的人员编码"),
    household: str = typer.Argument(..., help="户编码"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Unlink a member from a household."""
    from gridgov.party.contacts import unlink_household

    with acting() as (s, actor):
        x = unlink_household(s, person, household, actor)
    if as_json:
        echo_json(x.as_dict())
    else:
        typer.echo(f"已取消联系：{x.person_name}（{x.person_code}）→ 户 {x.household_code}")


@contact_app.command("visit", help="登记党员走访所联系的住户。")
def contact_visit(
    person: str = typer.Argument(..., help="党员的人员编码"),
    household: str = typer.Argument(..., help="户编码"),
    day: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="走访日期（默认今天）"),
    note: str | None = typer.Option(None, "--note", help="走访记录"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record a visit."""
    from gridgov.party.contacts import record_visit

    with acting() as (s, actor):
        v = record_visit(s, person, household, actor, day=day, note=note, timezone=_timezone())
    if as_json:
        echo_json(v.as_dict())
    else:
        typer.echo(f"已登记走访：{v.person_code} → 户 {v.household_code}，{v.visited_on}，{v.note or ''}")


@contact_app.command("list", help="党员联系的住户及走访记录。")
def contact_list(
    person: str = typer.Argument(..., help="党员的人员编码"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """A member's links and visits."""
    from gridgov.party.members import member_profile

    with acting() as (s, actor):
        p = member_profile(s, person, actor, page="cli", timezone=_timezone())
    if as_json:
        echo_json({"links": [x.as_dict() for x in p.links], "visits": [v.as_dict() for v in p.visits]})
        return
    typer.echo(f"{p.member.name}（{p.member.code}）联系 {len(p.links)} 户：")
    for x in p.links:
        typer.echo(f"  户 {x.household_code} {x.address or ''}\t自 {x.since}\t走访 {x.visits} 次"
                   f"{f'，最近 {x.last_visit}' if x.last_visit else ''}")  # fmt: skip
    for v in p.visits:
        typer.echo(f"  走访 {v.visited_on} 户 {v.household_code}：{v.note or ''}")


# ------------------------------------------------------------------------------------------------ import


def import_file(
    kind: str = typer.Argument(..., help="orgs（党组织）、members（党员组织关系）或 contacts（党员联系户）"),
    file: Path = typer.Argument(..., help="XLSX 或 CSV（UTF-8/GBK）；与 --template 一起时为要写出的模板"),
    template: bool = typer.Option(False, "--template", help="写出此类导入的 Excel 模板到 FILE"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查，不写入"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Import a file of organisations, memberships or 联系户 (all or nothing), or write its template."""
    from gridgov.party import imports
    from gridgov.party.rules import PartyRules

    if template:
        imports.write_template(kind, file)
        typer.echo(f"已写出模板：{file}（{imports.KINDS[kind]}）")
        return
    with acting() as (s, actor):
        report = imports.import_file(s, actor, kind, file, rules=PartyRules.of(get_settings()), dry_run=dry_run,
                                     timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(report.as_dict())
    elif report.refused:
        typer.echo(f"{file.name}：已拒绝，未写入任何数据（{report.error_count} 处错误）")
        typer.echo("\n".join(f"  第 {e.row} 行  {e.column}：{e.reason}" for e in report.errors))
    else:
        state = "检查通过（未写入）" if dry_run else "已导入"
        typer.echo(f"{file.name}：{state} {report.imported} 条{imports.KINDS[kind]}，未变 {report.unchanged} 条")
    if report.refused:
        raise typer.Exit(code=EXIT_REFUSED)
