"""``gridgov party team|activity|meeting|duty-area``: volunteer teams and their activities, meetings (三会一课),
党员责任区.

The commands act as the local operator, or as the token in ``GRIDGOV_TOKEN`` (its role and scope); the services
(:mod:`gridgov.party.volunteers`, :mod:`gridgov.party.meetings`, :mod:`gridgov.party.duty_areas`) check both.
Changes keep history; a retirement keeps the record, a cancelled meeting stays listed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import DATE, JSON_HELP, VERSION_HELP, acting, echo_json, get_settings
from gridgov.cli.versioned import (
    add_retire,
    done_printer,
    echo_list,
    given,
    require_changes,
    row,
    state_of,
)
from gridgov.cli.versioned import timezone as _timezone
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.party.duty_areas import DutyArea
    from gridgov.party.meetings import Meeting
    from gridgov.party.volunteers import Member, MonthFigures, Team

team_app = typer.Typer(help="志愿服务队：新建、修改、撤销、列表、队员加入与退出。", no_args_is_help=True)
activity_app = typer.Typer(help="志愿服务活动：登记、按月列出。", no_args_is_help=True)
meeting_app = typer.Typer(help="党组织会议（三会一课等）：登记、取消、列表、按期召开情况。", no_args_is_help=True)
duty_app = typer.Typer(help="党员责任区：新建（文件）、修改、撤销、列表、覆盖与重叠检查。", no_args_is_help=True)

KIND_HELP = "类型：治安巡逻、环境维护、扶贫助困、文明宣传、邻里互助、为老服务、应急救援、其他（也接受 巡逻、助老 等）"
MEETING_HELP = "会议类型：党员大会、支部委员会、党小组会、党课、组织生活会、民主生活会、联席会议（也接受 支委会 等）"
DUTY_HELP = "职责：环境维护、治安防范、纠纷调解、政策宣传、联系群众、关爱帮扶、其他"
FILE_HELP = "GeoJSON、GeoPackage、zip 压缩的 Shapefile 或 KML 文件（其中的面合并为一个责任区）"
CRS_HELP = "坐标系，如 gcj02、EPSG:4545；给出时优先于文件的声明（默认：文件声明的，否则经纬度 WGS84）"
PARENT_HELP = "网格编码：只看此网格及其下级（默认：您的范围）"


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
    app.add_typer(team_app, name="team")
    app.add_typer(activity_app, name="activity")
    app.add_typer(meeting_app, name="meeting")
    app.add_typer(duty_app, name="duty-area")


def _month(value: str | None) -> dt.date | None:
    from gridgov.periods import parse_month

    return parse_month(value) if value else None


# ------------------------------------------------------------------------------------------------ teams


def _team_line(t: Team) -> str:
    return row([t.code, t.name, t.kind, t.grid_code or "-", t.org_code or "-", t.leader_name or "-", f"{t.members} 人"],
               t)  # fmt: skip


_team_done = done_printer("志愿服务队")


def _member_line(m: Member) -> str:
    until = f"至 {m.until.isoformat()}（{m.end_reason or ''}）" if m.until else "至今"
    return f"{m.person_name}\t{m.person_code}\t{'党员' if m.party_member else '群众'}\t自 {m.since.isoformat()} {until}"


def _figures_line(f: MonthFigures) -> str:
    size = "达标" if f.size_ok else f"不足 {f.team_min} 人"
    activity = "达标" if f.activity_ok else f"没有 {f.hours_min:g} 小时以上的活动"
    return (f"{f.month:%Y年%m月}：{f.people} 人（{size}），活动 {f.activities} 次共 {f.hours:g} 小时，"
            f"最长 {f.longest:g} 小时（{activity}）")  # fmt: skip


@team_app.command("add", help="新建志愿服务队（网格默认为您的范围）。")
def team_add(
    code: str = typer.Argument(..., help="志愿服务队编码，如 ZY01"),
    name: str = typer.Option(..., "--name", help="名称"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    grid: str | None = typer.Option(None, "--grid", help="所在网格编码（社区或楼院）"),
    org: str | None = typer.Option(None, "--org", help="牵头党组织编码"),
    leader: str | None = typer.Option(None, "--leader", help="队长的居民编码"),
    effective: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                             help="成立日期（默认今天；补登时填写）"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a team."""
    from gridgov.party.volunteers import create_team

    with acting() as (s, actor):
        team = create_team(s, actor, code=code, name=name, kind=kind, grid=grid, org=org, leader=leader,
                           effective=effective, timezone=_timezone())  # fmt: skip
    _team_done(team, "新建", as_json)


@team_app.command("edit", help="修改志愿服务队（原状态保留为历史；--org、--leader 为空字符串则清空）。")
def team_edit(
    code: str = typer.Argument(..., help="志愿服务队编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    kind: str | None = typer.Option(None, "--kind", help=KIND_HELP),
    grid: str | None = typer.Option(None, "--grid", help="所在网格编码"),
    org: str | None = typer.Option(None, "--org", help="牵头党组织编码"),
    leader: str | None = typer.Option(None, "--leader", help="队长的居民编码"),
    effective: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                             help="变更生效日期（默认今天）"),  # fmt: skip
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change a team."""
    from gridgov.party.volunteers import update_team

    changes = require_changes(given(name=name, kind=kind, grid=grid, org=org, leader=leader),
                              "--name", "--kind", "--grid", "--org", "--leader")  # fmt: skip
    with acting() as (s, actor):
        team = update_team(s, code, changes, actor, expected_version=version, effective=effective,
                           timezone=_timezone())  # fmt: skip
    _team_done(team, "修改", as_json)


add_retire(team_app, retire="gridgov.party.volunteers:retire_team", done=_team_done,
           help="撤销志愿服务队（队员当日退出；记录、活动与历史保留）。", code_help="志愿服务队编码",
           reason_help="撤销原因：合并、调整、录入错误 …")  # fmt: skip


@team_app.command("list", help="列出志愿服务队（默认：现有的）。")
def team_list(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List teams."""
    from gridgov.party.volunteers import list_teams

    with acting() as (s, actor):
        teams = list_teams(s, actor, parent=parent, include_retired=include_retired, timezone=_timezone())
    echo_list(teams, _team_line, f"共 {len(teams)} 支志愿服务队", as_json)


@team_app.command("show", help="显示一支志愿服务队：队长、在队队员、某月（默认本月）的人数与活动是否达标。")
def team_show(
    code: str = typer.Argument(..., help="志愿服务队编码"),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="月份（默认本月）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show a team."""
    from gridgov.party.rules import PartyRules
    from gridgov.party.volunteers import get_team, month_figures, team_members

    with acting() as (s, actor):
        team = get_team(s, code, actor, timezone=_timezone())
        members = team_members(s, code, actor, timezone=_timezone())
        figures = month_figures(s, actor, PartyRules.of(get_settings()), month=_month(month), team=code,
                                timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(team.as_dict() | {"member_list": [m.as_dict() for m in members],
                                    "month": [f.as_dict() for f in figures]})  # fmt: skip
        return
    typer.echo(f"志愿服务队 {team.code} {team.name}（版本 {team.version}，{state_of(team)}）")
    typer.echo(f"  类型：{team.kind}")
    typer.echo(f"  网格：{f'{team.grid_name}（{team.grid_code}）' if team.grid_code else ''}")
    typer.echo(f"  牵头党组织：{f'{team.org_name}（{team.org_code}）' if team.org_code else '（无）'}")
    typer.echo(f"  队长：{f'{team.leader_name}（{team.leader_code}）' if team.leader_code else '（未指定）'}")
    for f in figures:
        typer.echo(f"  {_figures_line(f)}")
    typer.echo(f"  队员（{len(members)} 人）：")
    for m in members:
        typer.echo(f"    {_member_line(m)}")


@team_app.command("join", help="居民加入志愿服务队（按日期记录）。")
def team_join(
    code: str = typer.Argument(..., help="志愿服务队编码"),
    person: str = typer.Option(..., "--person", help="居民编码"),
    since: dt.date | None = typer.Option(None, "--since", parser=parse_date, metavar=DATE, help="加入日期（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """A resident joins a team."""
    from gridgov.party.volunteers import join_team

    with acting() as (s, actor):
        m = join_team(s, code, actor, person=person, since=since, timezone=_timezone())
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已加入志愿服务队 {code}：{m.person_name}（{m.person_code}，自 {m.since.isoformat()} 起）")


@team_app.command("leave", help="队员退出志愿服务队（当日起不再是队员；记录保留）。")
def team_leave(
    code: str = typer.Argument(..., help="志愿服务队编码"),
    person: str = typer.Option(..., "--person", help="居民编码"),
    until: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE, help="退出日期（默认今天）"),
    reason: str | None = typer.Option(None, "--reason", help="退出原因（默认「退出」）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """A member leaves a team."""
    from gridgov.party.volunteers import leave_team

    with acting() as (s, actor):
        m = leave_team(s, code, actor, person=person, until=until, reason=reason, timezone=_timezone())
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已退出：志愿服务队 {code} {m.person_name}（自 {m.until} 起不再是队员，{m.end_reason}）")


# ------------------------------------------------------------------------------------------------ activities


@activity_app.command("add", help="登记志愿服务活动。")
def activity_add(
    team: str = typer.Argument(..., help="志愿服务队编码"),
    day: dt.date = typer.Option(..., "--date", parser=parse_date, metavar=DATE, help="活动日期"),
    hours: float = typer.Option(..., "--hours", help="时长（小时，0.1–24）"),
    title: str = typer.Option(..., "--title", help="活动内容"),
    participants: int | None = typer.Option(None, "--participants", help="参加人数"),
    note: str | None = typer.Option(None, "--note", help="备注"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record an activity."""
    from gridgov.party.volunteers import add_activity

    with acting() as (s, actor):
        a = add_activity(s, team, actor, day=day, hours=hours, title=title, participants=participants, note=note,
                         timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(a.as_dict())
    else:
        typer.echo(f"已登记活动：{a.team_name}（{a.team_code}）{a.day.isoformat()} {a.title} {a.hours:g} 小时")


@activity_app.command("list", help="列出志愿服务活动（某队，或您范围内各队；可按月）。")
def activity_list(
    team: str | None = typer.Option(None, "--team", help="志愿服务队编码"),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="月份"),
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List activities."""
    from gridgov.party.volunteers import list_activities

    with acting() as (s, actor):
        found = list_activities(s, actor, team=team, month=_month(month), parent=parent)
    if as_json:
        echo_json([a.as_dict() for a in found])
        return
    for a in found:
        typer.echo(f"{a.day.isoformat()}\t{a.team_code}\t{a.title}\t{a.hours:g} 小时\t{a.participants or '-'} 人")
    typer.echo(f"共 {len(found)} 次活动，{sum(a.hours for a in found):g} 小时")


# ------------------------------------------------------------------------------------------------ meetings


def _meeting_line(m: Meeting) -> str:
    cells = [str(m.id), m.held_on.isoformat(), m.org_code, m.kind, m.topic or "-",
             f"{m.attendees if m.attendees is not None else '-'}/{m.expected if m.expected is not None else '-'} 人",
             m.minutes_name or "无记录"]  # fmt: skip
    return "\t".join(cells) + (f"\t（已取消：{m.cancel_reason}）" if m.cancelled else "")


@meeting_app.command("add", help="登记党组织召开的会议（可附会议记录：PDF、Word 或图片，不超过 20 MB）。")
def meeting_add(
    org: str = typer.Argument(..., help="党组织编码"),
    kind: str = typer.Option(..., "--kind", help=MEETING_HELP),
    day: dt.date = typer.Option(..., "--date", parser=parse_date, metavar=DATE, help="会议日期"),
    topic: str | None = typer.Option(None, "--topic", help="主题"),
    attendees: int | None = typer.Option(None, "--attendees", help="实到人数"),
    expected: int | None = typer.Option(None, "--expected", help="应到人数"),
    minutes: Path | None = typer.Option(None, "--minutes", help="会议记录文件"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record a meeting."""
    from gridgov.errors import InvalidInput
    from gridgov.party.meetings import check_minutes, record_meeting

    checked = None
    if minutes is not None:
        if not minutes.is_file():
            raise InvalidInput(f"文件不存在：{minutes}")
        checked = check_minutes(minutes.name, minutes.read_bytes())
    with acting() as (s, actor):
        m = record_meeting(s, actor, org=org, kind=kind, held_on=day, topic=topic, attendees=attendees,
                           expected=expected, minutes=checked, timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已登记会议（编号 {m.id}）：{m.org_name} {m.held_on.isoformat()} {m.kind}"
                   + (f"，会议记录 {m.minutes_name}" if m.minutes_name else ""))  # fmt: skip


@meeting_app.command("cancel", help="取消误录的会议（记录保留，不再计入按期召开）。")
def meeting_cancel(
    meeting_id: int = typer.Argument(..., help="会议编号（meeting list 中的第一列）"),
    reason: str = typer.Option(..., "--reason", help="取消原因：录入错误、重复登记 …"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Cancel a meeting."""
    from gridgov.party.meetings import cancel_meeting

    with acting() as (s, actor):
        m = cancel_meeting(s, meeting_id, actor, reason=reason)
    if as_json:
        echo_json(m.as_dict())
    else:
        typer.echo(f"已取消会议 {m.id}：{m.org_name} {m.held_on.isoformat()} {m.kind}（{m.cancel_reason}）")


@meeting_app.command("list", help="列出会议（某党组织，或您范围内各党组织；可限定日期）。")
def meeting_list(
    org: str | None = typer.Option(None, "--org", help="党组织编码"),
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    date_from: dt.date | None = typer.Option(None, "--from", parser=parse_date, metavar=DATE, help="起始日期"),
    date_to: dt.date | None = typer.Option(None, "--to", parser=parse_date, metavar=DATE, help="截止日期"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List meetings."""
    from gridgov.party.meetings import list_meetings

    with acting() as (s, actor):
        found = list_meetings(s, actor, org=org, parent=parent, date_from=date_from, date_to=date_to)
    if as_json:
        echo_json([m.as_dict() for m in found])
        return
    for m in found:
        typer.echo(_meeting_line(m))
    typer.echo(f"共 {len(found)} 次会议（其中已取消 {sum(m.cancelled for m in found)} 次）")


@meeting_app.command("schedule", help="按期召开情况：各党组织每类应开会议的上次召开日期、最迟应开日期，超期标出。")
def meeting_schedule(
    org: str | None = typer.Option(None, "--org", help="党组织编码"),
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    as_of: dt.date | None = typer.Option(None, "--as-of", parser=parse_date, metavar=DATE, help="按此日（默认今天）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show the meetings due."""
    from gridgov.party.meetings import schedule
    from gridgov.party.rules import PartyRules

    with acting() as (s, actor):
        rows = schedule(s, actor, PartyRules.of(get_settings()), org=org, parent=parent, day=as_of,
                        timezone=_timezone())  # fmt: skip
    if as_json:
        echo_json([r.as_dict() for r in rows])
        return
    for r in rows:
        last = r.last_held.isoformat() if r.last_held else "从未召开"
        due = r.due_by.isoformat() if r.due_by else "尽快"
        typer.echo(f"{r.org_code}\t{r.org_name}\t{r.kind}\t每 {r.months} 个月\t上次 {last}\t最迟 {due}"
                   + ("\t超期" if r.overdue else ""))  # fmt: skip
    typer.echo(f"共 {len(rows)} 项，超期 {sum(r.overdue for r in rows)} 项")


# ------------------------------------------------------------------------------------------------ duty areas


def _area_line(a: DutyArea) -> str:
    return row([a.code, a.name, a.duty, a.org_code or "-", "、".join(a.member_names) or "-",
                "、".join(a.compounds) or "-", f"{a.area_m2:,.0f} 平方米"], a)  # fmt: skip


_area_done = done_printer("党员责任区", lambda a: f"{a.area_m2:,.0f} 平方米，", shapes=False)


@duty_app.command("add", help="新建党员责任区（文件中的面合并为一个责任区）。")
def duty_add(
    code: str = typer.Argument(..., help="责任区编码"),
    name: str = typer.Option(..., "--name", help="名称"),
    duty: str = typer.Option(..., "--duty", help=DUTY_HELP),
    file: Path = typer.Option(..., "--file", help=FILE_HELP),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    org: str | None = typer.Option(None, "--org", help="党组织编码"),
    members: str | None = typer.Option(None, "--members", help="责任党员的居民编码（多个用逗号分隔）"),
    effective: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                             help="启用日期（默认今天）"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add a duty area from a file."""
    from gridgov.party.duty_areas import create_area
    from gridgov.patrol.teams import area_from_file

    geom = area_from_file(file, crs=crs)
    with acting() as (s, actor):
        area = create_area(s, actor, code=code, name=name, duty=duty, geometry=geom, org=org, members=members,
                           effective=effective, timezone=_timezone())  # fmt: skip
    _area_done(area, "新建", as_json)


@duty_app.command("edit", help="修改党员责任区（原状态保留为历史；--org、--members 为空字符串则清空）。")
def duty_edit(
    code: str = typer.Argument(..., help="责任区编码"),
    name: str | None = typer.Option(None, "--name", help="名称"),
    duty: str | None = typer.Option(None, "--duty", help=DUTY_HELP),
    file: Path | None = typer.Option(None, "--file", help="新范围：" + FILE_HELP),
    crs: str | None = typer.Option(None, "--crs", help=CRS_HELP),
    org: str | None = typer.Option(None, "--org", help="党组织编码"),
    members: str | None = typer.Option(None, "--members", help="责任党员的居民编码（多个用逗号分隔）"),
    version: int | None = typer.Option(None, "--version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Change a duty area."""
    from gridgov.party.duty_areas import update_area
    from gridgov.patrol.teams import area_from_file

    changes = given(name=name, duty=duty, org=org, members=members)
    if file is not None:
        changes["geometry"] = area_from_file(file, crs=crs)
    require_changes(changes, "--name", "--duty", "--file", "--org", "--members")
    with acting() as (s, actor):
        area = update_area(s, code, changes, actor, expected_version=version, timezone=_timezone())
    _area_done(area, "修改", as_json)


add_retire(duty_app, retire="gridgov.party.duty_areas:retire_area", done=_area_done,
           help="撤销党员责任区（记录、范围与历史保留）。", code_help="责任区编码",
           reason_help="撤销原因：调整、合并、录入错误 …")  # fmt: skip


@duty_app.command("list", help="列出党员责任区（默认：现有的；--json 可加 --geometry 附带 GeoJSON 范围）。")
def duty_list(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    include_retired: bool = typer.Option(False, "--all", help="包括已撤销的"),
    geometry: bool = typer.Option(False, "--geometry", help="附带范围（GeoJSON）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List duty areas."""
    from gridgov.party.duty_areas import list_areas

    with acting() as (s, actor):
        areas = list_areas(s, actor, parent=parent, include_retired=include_retired, shapes=geometry)
    echo_list(areas, _area_line, f"共 {len(areas)} 个党员责任区", as_json, lambda a: a.as_dict(shapes=geometry))


@duty_app.command("check", help="检查党员责任区：同一楼院内责任区重叠、楼院内未被覆盖的部分（退出码 0：检查完成）。")
def duty_check(
    parent: str | None = typer.Option(None, "--parent", help=PARENT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check the duty areas' topology."""
    from gridgov.party.duty_areas import RULE_LABELS, check_areas

    settings = get_settings()
    with acting() as (s, actor):
        found = check_areas(s, actor, parent=parent, tolerance_m=settings.tolerance_m,
                            min_gap_area_m2=settings.min_gap_area_m2)  # fmt: skip
    if as_json:
        echo_json([f.as_dict() for f in found])
        return
    for f in found:
        typer.echo(f"{RULE_LABELS[f.rule]}\t{f.message}")
    typer.echo(f"共 {len(found)} 个问题" if found else "未发现问题：各楼院均被责任区完整覆盖，且责任区互不重叠")
