"""``gridgov patrol roster``: the rosters (排班) of the night shifts, leave and substitutions, daily notices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import JSON_HELP, acting, echo_json, get_settings
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.patrol.rosters import NoticeList, RosterEntry

app = typer.Typer(help="排班：按月生成、逐条设置、请假与替班、每日通知名单、月排班表。", no_args_is_help=True)

SHIFT_HELP = "班次：上半夜（20:00–23:30）或 下半夜（23:30–次日 06:00）"
DATE_OPTION = typer.Option(..., "--date", parser=parse_date, metavar="YYYY-MM-DD", help="日期（夜班按当晚的日期）")
SHIFT_OPTION = typer.Option(..., "--shift", help=SHIFT_HELP)
TEAM_OPTION = typer.Option(..., "--team", help="巡逻队编码")


def _month(value: str) -> dt.date:
    from gridgov.periods import parse_month

    return parse_month(value)


def _person(p: Any) -> str:
    return "—" if p is None else f"{p.name}（{p.code}{'，' + p.phone if p.phone else ''}）"


def _entry_line(e: RosterEntry) -> str:
    """One entry on one line."""
    area = f"  区域：{e.area_name or e.area_code}" if e.area_code else ""
    lead = f"（{e.lead_grid_name}牵头）" if e.lead_grid_name else ""
    parts = [f"  {e.shift} {e.hours}  {e.team_name}（{e.team_code}）{area}{lead}", f"带队：{_person(e.leader)}",
             f"值班领导：{_person(e.duty_cadre)}", f"社区值班：{_person(e.community_staff)}", f"[{e.source}]"]
    if e.changes:
        parts.append(f"变动：{e.changes_text}")
    if e.note:
        parts.append(f"备注：{e.note}")
    return "  ".join(parts)


def _show_entries(entries: list[RosterEntry]) -> None:
    night = None
    for e in entries:
        if e.night != night:
            night = e.night
            typer.echo(f"{e.night:%Y-%m-%d} {e.weekday}")
        typer.echo(_entry_line(e))


def _done(e: RosterEntry, what: str, as_json: bool) -> None:
    if as_json:
        echo_json(e.as_dict())
        return
    typer.echo(f"已{what}：{e.night:%Y-%m-%d} {e.shift} {e.team_name}（{e.team_code}）")
    typer.echo(_entry_line(e))
    for p in e.crew():
        extra = f"，替{p.replaces.name}" if p.replaces else ""
        typer.echo(f"    {p.duty} {p.staff.name}（{p.staff.code}{'，' + p.staff.phone if p.staff.phone else ''}）"
                   f"：{p.status}{extra}")  # fmt: skip


@app.command("generate", help="按规则生成一个月的排班（规则生成且无请假替班的排班被替换，手工排班保留）。")
def generate(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="月份，如 2026-10"),
    grid: str | None = typer.Option(None, "--grid", help="只生成服务于此网格（社区）及其下级的巡逻队的排班"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Generate a month from the rules."""
    from gridgov.patrol.rosters import generate_month

    first = _month(month)
    with acting() as (s, actor):
        report = generate_month(s, first, actor, grid=grid)
    if as_json:
        echo_json(report.as_dict())
    else:
        typer.echo(report.message)


@app.command("set", help="手工设置一条排班（新排班的其余各项按规则填写；已有排班只改给出的项，给空值则清空）。")
def set_(
    night: dt.date = DATE_OPTION,
    shift: str = SHIFT_OPTION,
    team: str = TEAM_OPTION,
    area: str | None = typer.Option(None, "--area", help="巡逻区域编码"),
    leader: str | None = typer.Option(None, "--leader", help="带队人员编码"),
    duty: str | None = typer.Option(None, "--duty", help="值班领导的人员编码"),
    community_staff: str | None = typer.Option(None, "--community-staff", help="社区值班人员编码"),
    note: str | None = typer.Option(None, "--note", help="备注"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Set one entry by hand."""
    from gridgov.patrol.rosters import set_entry

    with acting() as (s, actor):
        e = set_entry(s, actor, night, shift, team, area=area, leader=leader, duty_cadre=duty,
                      community_staff=community_staff, note=note)  # fmt: skip
    _done(e, "设置排班", as_json)


@app.command("remove", help="删除一条排班（连同其请假、替班记录）。")
def remove(
    night: dt.date = DATE_OPTION,
    shift: str = SHIFT_OPTION,
    team: str = TEAM_OPTION,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove one entry."""
    from gridgov.patrol.rosters import remove_entry

    with acting() as (s, actor):
        e = remove_entry(s, actor, night, shift, team)
    if as_json:
        echo_json(e.as_dict())
    else:
        typer.echo(f"已删除排班：{e.night:%Y-%m-%d} {e.shift} {e.team_name}（{e.team_code}）")


@app.command("list", help="列出一个月或一晚的排班。")
def list_(
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="月份"),
    night: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar="YYYY-MM-DD", help="日期"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List a month's or a night's roster."""
    from gridgov.patrol.rosters import month_roster, night_roster

    if (month is None) == (night is None):
        raise typer.BadParameter("请给出 --month 或 --date 之一", param_hint="--month / --date")
    with acting() as (s, _):
        if night is not None:
            entries = night_roster(s, night)
            data: dict[str, Any] = {"night": night, "entries": [e.as_dict() for e in entries]}
        else:
            roster = month_roster(s, _month(month or ""))
            entries, data = roster.entries, roster.as_dict()
    if as_json:
        echo_json(data)
    elif not entries:
        typer.echo("没有排班")
    else:
        _show_entries(entries)


@app.command("leave", help="登记请假：当班人员（带队、值班领导、社区值班人员或当晚在队的队员）不能到岗。")
def leave(
    night: dt.date = DATE_OPTION,
    shift: str = SHIFT_OPTION,
    team: str = TEAM_OPTION,
    staff: str = typer.Option(..., "--staff", help="请假人员编码"),
    note: str | None = typer.Option(None, "--note", help="事由"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record a leave."""
    from gridgov.patrol.rosters import record_leave

    with acting() as (s, actor):
        e = record_leave(s, actor, night, shift, team, staff, note)
    _done(e, "登记请假", as_json)


@app.command("substitute", help="登记替班：--by 的人员替当班人员 --staff 到岗。")
def substitute(
    night: dt.date = DATE_OPTION,
    shift: str = SHIFT_OPTION,
    team: str = TEAM_OPTION,
    staff: str = typer.Option(..., "--staff", help="被替换的当班人员编码"),
    by: str = typer.Option(..., "--by", help="替班人员编码"),
    note: str | None = typer.Option(None, "--note", help="事由"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Record a substitution."""
    from gridgov.patrol.rosters import record_substitution

    with acting() as (s, actor):
        e = record_substitution(s, actor, night, shift, team, staff, by, note)
    _done(e, "登记替班", as_json)


def _show_notice(n: NoticeList) -> None:
    typer.echo(f"{n.title}（应通知 {n.count} 人）")
    if not n.groups:
        typer.echo("当晚没有排班，无需通知")
    for g in n.groups:
        typer.echo(f"【{g.unit}】")
        for item in g.items:
            e = item.entry
            typer.echo(f"  {e.shift} {e.hours} {e.team_name}" + (f" · {e.area_name}" if e.area_name else ""))
            for p in item.to_call:
                extra = f"，替{p.replaces.name}" if p.replaces else ""
                typer.echo(f"    {p.duty}{extra}：{p.staff.name} {p.staff.phone or ''}".rstrip())
            if not item.to_call:
                typer.echo("    （无人员）")
            for p in item.away:
                typer.echo(f"    不到岗：{p.staff.name}（{p.status}）")
    present = [p for p in n.on_duty if p.present]
    if present:
        typer.echo("【值班人员】")
        for p in present:
            extra = f"，替{p.replaces.name}" if p.replaces else ""
            typer.echo(f"    {p.duty}{extra}：{p.staff.name} {p.staff.phone or ''}".rstrip())


@app.command("notice", help="每日通知名单：当晚要通知的人员，按单位分组（默认今天）。")
def notice(
    night: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar="YYYY-MM-DD",
                                         help="日期（默认今天）"),  # fmt: skip
    out: Path | None = typer.Option(None, "--out", "-o", help="写出 Excel 文件（.xlsx）"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The notice list of a night."""
    from gridgov.history import day_of
    from gridgov.patrol.roster_files import write_notice_xlsx
    from gridgov.patrol.rosters import notices

    if out is not None and out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"通知名单文件应为 .xlsx：{out.name}", param_hint="--out")
    day = night or day_of(None, get_settings().timezone)
    with acting() as (s, _):
        n = notices(s, day)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_notice_xlsx(n, out)
    if as_json:
        echo_json(n.as_dict())
    else:
        _show_notice(n)
        if out is not None:
            typer.echo(f"已写出 {out}")


@app.command("export", help="月排班表：Excel（.xlsx）或 PDF（.pdf，每周一页，A4 横向）。")
def export(
    month: str = typer.Option(..., "--month", metavar="YYYY-MM", help="月份"),
    out: Path = typer.Option(..., "--out", "-o", help="输出文件：.xlsx 或 .pdf"),
) -> None:
    """Write the month's roster as Excel or PDF."""
    from gridgov.history import day_of
    from gridgov.patrol.roster_files import write_roster
    from gridgov.patrol.rosters import month_roster

    first = _month(month)
    with acting() as (s, _):
        roster = month_roster(s, first)
    write_roster(roster, out, made=day_of(None, get_settings().timezone))
    typer.echo(f"已写出 {out}：{roster.title}，{len(roster.entries)} 条排班")
