"""``gridgov patrol team|area|route``: patrol teams, their members, patrol areas and planned routes.

The commands act as the local operator, or as the token in ``GRIDGOV_TOKEN`` (its role and scope); the service
(:mod:`gridgov.patrol.teams`) checks both. Changes keep history; a retirement keeps the record.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import DATE, JSON_HELP, VERSION_HELP, acting, echo_json
from gridgov.cli.versioned import (
    add_retire,
    done_printer,
    echo_history,
    echo_list,
    given,
    require_changes,
    row,
    state_of,
)
from gridgov.cli.versioned import timezone as _timezone
from gridgov.periods import parse_date, parse_moment

if TYPE_CHECKING:
    from gridgov.patrol.teams import Area, Member, Team

team_app = typer.Typer(help="巡逻队：新建、修改、撤销、列表、队员。", no_args_is_help=True)
area_app = typer.Typer(help="巡逻区域：新建、修改、撤销、列表。", no_args_is_help=True)
route_app = typer.Typer(help="计划巡逻路线。", no_args_is_help=True)
member_app = typer.Typer(help="队员：加入、离队、列表（按日期记录，历史保留）。", no_args_is_help=True)
team_app.add_typer(member_app, name="member")

KIND_HELP = "类型：机关干部、社区志愿者、党员巡回队、专职（也接受 干部、志愿者 等常用说法）"
SHIFT_HELP = "班次：上半夜（20:00–23:30）或 下半夜（23:30–次日 06:00）"
CRS_HELP = "坐标系，如 gcj02（高德/腾讯坐标）、EPSG:4545；给出时优先于文件的声明（默认：文件声明的，否则经纬度 WGS84）"
FILE_HELP = "GeoJSON、GeoPackage、zip 压缩的 Shapefile 或 KML 文件"
RETIRE_VERSION_HELP = "只在当前版本为此版本时撤销（否则退出码 6）"


def _leader(t: Team) -> str:
    if not t.leader_code:
        return "（未指定）"
    how = "（按队内职务「队长」）" if t.leader_from_members else ""
    return f"{t.leader_name} {t.leader_phone or ''}（{t.leader_code}）{how}".replace("  ", " ")


def _member_line(m: Member) -> str:
    until = f"至 {m.until.isoformat()}（{m.end_reason or ''}）" if m.until else "至今"
    return f"{m.role}\t{m.staff_name}\t{m.phone or ''}\t{m.staff_code}\t自 {m.since.isoformat()} {until}"


def _team_line(t: Team) -> str:
    return row([t.code, t.name, t.kind or "-", t.shift or "-", t.unit or "-", t.grid_code or "-",
                t.leader_name or "-", f"{t.members} 人", "、".join(t.areas) or "-"], t)  # fmt: skip


def _show_team(t: Team, members: list[Member]) -> None:
    from gridgov.vocab import shift_hours

    typer.echo(f"巡逻队 {t.code} {t.name}（版本 {t.version}，{state_of(t)}）")
    typer.echo(f"  类型：{t.kind or ''}")
    typer.echo(f"  班次：{f'{t.shift}（{shift_hours(t.shift)}）' if t.shift else ''}")
    typer.echo(f"  所属单位：{t.unit or ''}")
    typer.echo(f"  服务网格：{f'{t.grid_name}（{t.grid_code}）' if t.grid_code else '（未指定）'}")
    typer.echo(f"  队长：{_leader(t)}")
    typer.echo(f"  巡逻区域：{'、'.join(t.areas) or '（无）'}")
    typer.echo(f"  队员（{len(members)} 人）：")
    for m in members:
        typer.echo(f"    {_member_line(m)}")


_team_done = done_printer("巡逻队")


@team_app.command("add", help="新建巡逻队（服务网格默认为您的范围）。")
def team_add(
    code: str = typer.Argument(..., help="巡逻队编码，如 PT05"),
    name: str = typer.Option(..., "--name", help="名称"),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    shift: str | None = typer.Option(None, "--shift", help=SHIFT_HELP),
    leader: str | None = typer.Option(None, "--leader", help="队长的网格工作人员编码"),
    unit: str | None = typer.Option(None, "--unit", help="所属单位（每日通知按单位分组）"),
    grid: str | None = typer.Option(None, "--grid", help="服务的社区或街道的网格编码"),
    effective: dt.date | None = typer.Option(
        None, "--date", parser=parse_date, metavar=DATE, help="成立日期（默认今天；补登时填写）"
    ),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a team."""
    from gridgov.patrol.teams import create_team

    with acting() as (s, actor):
        team = create_team(s, actor, code=code, name=name, kind=kind, shift=shift, unit=unit, grid=grid,
                           leader=leader, effective=effective, timezone=_timezone())  # fmt: skip
    _team_done(team, "新建", as_json)


@team_app.command("edit", help="修改巡逻队（原状态保留为历史；选项值为空字符串则清空）。")
def team_edit(
    code: str = typer.Argument(..., help="巡逻队编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    shift: str | None = typer.Option(None, "--shift", help=SHIFT_HELP),
    leader: str | None = typer.Option(None, "--leader", help="队长的网格工作人员编码"),
    unit: str | None = typer.Option(None, "--unit", help="所属单位"),
    grid: str | None = typer.Option(None, "--grid", help="服务的社区或街道的网格编码"),
    effective: dt.date | None = typer.Option(
        None, "--date", parser=parse_date, metavar=DATE, help="变更生效日期（默认今天）"
    ),  # fmt: skip
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change a team."""
    from gridgov.patrol.teams import update_team

    changes = require_changes(given(name=name, kind=kind, shift=shift, leader=leader, unit=unit, grid=grid),
                              "--name", "--kind", "--shift", "--leader", "--unit", "--grid")  # fmt: skip
    with acting() as (s, actor):
        team = update_team(s, code, changes, actor, expected_version=version, effective=effective,
                           timezone=_timezone())  # fmt: skip
    _team_done(team, "修改", as_json)


@team_app.command("retire", help="撤销巡逻队（队员当日离队；记录与历史保留）。今后有排班的须加 --cancel-rosters。")
def team_retire(
    code: str = typer.Argument(..., help="巡逻队编码"),
    reason: str = typer.Option(..., "--reason", help="撤销原因：合并、调整、录入错误 …"),
    day: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="撤销日期（默认今天）"),
    cancel_rosters: bool = typer.Option(False, "--cancel-rosters", help="一并取消其撤销日及以后的排班"),
    version: int | None = typer.Option(None, "--version", help=RETIRE_VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Retire a team."""
    from gridgov.patrol.teams import retire_team

    with acting() as (s, actor):
        team = retire_team(s, code, actor, reason=reason, expected_version=version, day=day,
                           cancel_rosters=cancel_rosters, timezone=_timezone())  # fmt: skip
    _team_done(team, "撤销", as_json)


@team_app.command("list", help="列出巡逻队（默认：现有的）。")
def team_list(
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    as_of: dt.date | None = typer.Option(
        None, "--as-of", parser=parse_moment, metavar=DATE, help="历史时点：列出当时的巡逻队"
    ),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List teams."""
    from gridgov.patrol.teams import list_teams
    from gridgov.periods import as_of_moment

    with acting() as (s, actor):
        teams = list_teams(s, actor, include_retired=include_retired, timezone=_timezone(),
                           as_of_moment=as_of_moment(as_of, _timezone()))  # fmt: skip
    echo_list(teams, _team_line, f"共 {len(teams)} 支巡逻队", as_json)


@team_app.command("show", help="显示一支巡逻队：队长、在队队员、巡逻区域。")
def team_show(
    code: str = typer.Argument(..., help="巡逻队编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show a team."""
    from gridgov.patrol.teams import get_team, team_members

    with acting() as (s, actor):
        team = get_team(s, code, actor, timezone=_timezone())
        members = team_members(s, code, actor, timezone=_timezone())
    if as_json:
        echo_json(team.as_dict() | {"member_list": [m.as_dict() for m in members]})
    else:
        _show_team(team, members)


@team_app.command("history", help="显示巡逻队的全部版本及每次变更的内容。")
def team_history(
    code: str = typer.Argument(..., help="巡逻队编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show every version of a team."""
    from gridgov.patrol.teams import team_changes
    from gridgov.patrol.teams import team_history as history

    with acting() as (s, actor):
        versions = history(s, code, actor, timezone=_timezone())
    if as_json:
        echo_json([v.as_dict() for v in versions])
        return
    echo_history(versions, team_changes)


@member_app.command("add", help="把网格工作人员加入巡逻队（--staff 人员编码）；未登记的志愿者用 --name 和 --phone，"
                                "一并登记为网格工作人员。")
def member_add(
    code: str = typer.Argument(..., help="巡逻队编码"),
    staff: str | None = typer.Option(None, "--staff", help="人员编码（网格工作人员，含志愿者）"),
    name: str | None = typer.Option(None, "--name", help="新队员（未登记的志愿者）的姓名"),
    phone: str | None = typer.Option(None, "--phone", help="新队员的电话"),
    organisation: str | None = typer.Option(None, "--organisation", help="新队员的单位"),
    role: str = typer.Option("队员", "--role", help="队内职务：队长 或 队员"),
    since: dt.date | None = typer.Option(None, "--since", parser=parse_date, metavar=DATE, help="入队日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a member: a staff member on record, or a volunteer entered as staff in the same transaction."""
    from gridgov.patrol.teams import add_member

    with acting() as (s, actor):
        m = add_member(s, code, actor, staff_code=staff, name=name, phone=phone, organisation=organisation, role=role,
                       since=since, timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已加入巡逻队 {code}：{m.role} {m.staff_name}（{m.staff_code}，自 {m.since.isoformat()} 起）")


@member_app.command("end", help="队员离队（当日起不再是队员；记录保留）。")
def member_end(
    code: str = typer.Argument(..., help="巡逻队编码"),
    staff: str = typer.Option(..., "--staff", help="人员编码"),
    until: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="离队日期（默认今天）"),
    reason: str | None = typer.Option(None, "--reason", help="离队原因（默认「离队」）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """End a membership."""
    from gridgov.patrol.teams import end_member

    with acting() as (s, actor):
        m = end_member(s, code, actor, staff_code=staff, until=until, reason=reason, timezone=_timezone())
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已离队：巡逻队 {code} {m.role} {m.staff_name}（自 {m.until} 起不再是队员，{m.end_reason}）")


@member_app.command("list", help="列出巡逻队某日在队的队员（--all：全部记录，含已离队的）。")
def member_list(
    code: str = typer.Argument(..., help="巡逻队编码"),
    on: dt.date | None = typer.Option(None, "--on", parser=parse_date, metavar=DATE, help="日期（默认今天）"),
    include_ended: bool = typer.Option(False, "--all", help="全部记录（含已离队的）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List members."""
    from gridgov.patrol.teams import team_members

    with acting() as (s, actor):
        members = team_members(s, code, actor, on_day=on, include_ended=include_ended, timezone=_timezone())
    echo_list(members, _member_line, None if members else "（没有队员）", as_json)


# ------------------------------------------------------------------------------------------------ areas


def _area_line(a: Area) -> str:
    return row([a.code, a.name or "-", a.team_code or "-", "、".join(a.rota_codes) or "-",
                f"{a.area_m2 / 1e4:.2f} 公顷",
                f"路线 {a.route_m:.0f} 米" if a.route_m is not None else "无路线"], a)  # fmt: skip


def _area_size(a: Area) -> str:
    return f"{a.area_m2 / 1e4:.2f} 公顷" + (f"，路线 {a.route_m:.0f} 米" if a.route_m is not None else "") + "，"


_area_done = done_printer("巡逻区域", _area_size, shapes=False)


def _rota(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [c.strip() for c in value.replace("，", ",").replace("、", ",").split(",") if c.strip()]


@area_app.command("add", help="新建巡逻区域（文件中的面合并为一个区域）。")
def area_add(
    code: str = typer.Argument(..., help="巡逻区域编码"),
    name: str = typer.Option(..., "--name", help="名称"),
    file: Path = typer.Option(..., "--file", help=FILE_HELP),
    team: str | None = typer.Option(None, "--team", help="巡逻队编码"),
    rota: str | None = typer.Option(None, "--rota", help="轮值社区编码（单月,双月），多个社区共用一个区域时填写"),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add an area."""
    from gridgov.patrol.teams import area_from_file, create_area

    geom = area_from_file(file, crs=crs)
    with acting() as (s, actor):
        area = create_area(s, actor, code=code, name=name, geometry=geom, team=team, rota=_rota(rota),
                           timezone=_timezone())  # fmt: skip
    _area_done(area, "新建", as_json)


@area_app.command("edit", help="修改巡逻区域：名称、范围、巡逻队、轮值社区（原状态保留为历史）。")
def area_edit(
    code: str = typer.Argument(..., help="巡逻区域编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    file: Path | None = typer.Option(None, "--file", help="新范围：" + FILE_HELP),
    team: str | None = typer.Option(None, "--team", help="巡逻队编码（空字符串：不属于任何巡逻队）"),
    rota: str | None = typer.Option(None, "--rota", help="轮值社区编码（单月,双月；空字符串：清除）"),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change an area."""
    from gridgov.patrol.teams import area_from_file, update_area

    changes = given(name=name, team=team, rota=_rota(rota))
    if file is not None:
        changes["geometry"] = area_from_file(file, crs=crs)
    require_changes(changes, "--name", "--file", "--team", "--rota")
    with acting() as (s, actor):
        area = update_area(s, code, changes, actor, expected_version=version, timezone=_timezone())
    _area_done(area, "修改", as_json)


add_retire(area_app, retire="gridgov.patrol.teams:retire_area", done=_area_done,
           help="撤销巡逻区域（记录、范围与历史保留）。", code_help="巡逻区域编码",
           reason_help="撤销原因：调整、合并、录入错误 …",
           version_help=RETIRE_VERSION_HELP)  # fmt: skip


@area_app.command("list", help="列出巡逻区域（默认：现有的）。")
def area_list(
    team: str | None = typer.Option(None, "--team", help="只列此巡逻队的"),
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List areas."""
    from gridgov.patrol.teams import list_areas

    with acting() as (s, actor):
        areas = list_areas(s, actor, team=team, include_retired=include_retired)
    echo_list(areas, _area_line, f"共 {len(areas)} 个巡逻区域", as_json, lambda a: a.as_dict(shapes=False))


@area_app.command("show", help="显示一个巡逻区域（--json 含 GeoJSON 范围与路线）。")
def area_show(
    code: str = typer.Argument(..., help="巡逻区域编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show an area."""
    from gridgov.patrol.teams import get_area

    with acting() as (s, actor):
        a = get_area(s, code, actor)
    if as_json:
        echo_json(a.as_dict())
        return
    typer.echo(f"巡逻区域 {a.code} {a.name or ''}（版本 {a.version}，{state_of(a)}）")
    typer.echo(f"  巡逻队：{f'{a.team_name}（{a.team_code}）' if a.team_code else '（无）'}")
    typer.echo(f"  面积：{a.area_m2 / 1e4:.2f} 公顷")
    typer.echo(f"  涉及社区：{'、'.join(a.communities) or '（无）'}")
    rota = "；".join(f"{'单月' if i == 0 else '双月'} {n}（{c}）" for i, (c, n) in enumerate(
        zip(a.rota_codes, a.rota_names, strict=True)))  # fmt: skip
    typer.echo(f"  轮值牵头社区：{rota or '（无）'}")
    typer.echo(f"  计划路线：{f'{a.route_m:.0f} 米' if a.route_m is not None else '（无）'}")


@area_app.command("history", help="显示巡逻区域的全部版本及每次变更的内容。")
def area_history(
    code: str = typer.Argument(..., help="巡逻区域编码"), as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Show every version of an area."""
    from gridgov.patrol.teams import area_changes
    from gridgov.patrol.teams import area_history as history

    with acting() as (s, actor):
        versions = history(s, code, actor)
    if as_json:
        echo_json([v.as_dict(shapes=False) for v in versions])
        return
    echo_history(versions, area_changes)


@route_app.command("set", help="设置巡逻区域的计划路线（一条线；首尾相接的多段线自动合并）。")
def route_set(
    area: str = typer.Argument(..., help="巡逻区域编码"),
    file: Path = typer.Option(..., "--file", help=FILE_HELP),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    version: int | None = typer.Option(None, "--version", help="只在区域当前版本为此版本时设置（否则退出码 6）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Set a planned route."""
    from gridgov.patrol.teams import route_from_file, set_route

    line = route_from_file(file, crs=crs)
    with acting() as (s, actor):
        a = set_route(s, area, line, actor, expected_version=version, timezone=_timezone())
    _area_done(a, "设置路线：", as_json)


@route_app.command("clear", help="清除巡逻区域的计划路线。")
def route_clear(
    area: str = typer.Argument(..., help="巡逻区域编码"),
    version: int | None = typer.Option(None, "--version", help="只在区域当前版本为此版本时清除（否则退出码 6）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Clear a planned route."""
    from gridgov.patrol.teams import set_route

    with acting() as (s, actor):
        a = set_route(s, area, None, actor, expected_version=version, timezone=_timezone())
    _area_done(a, "清除路线：", as_json)
