"""``gridgov patrol attendance``: attendance (考勤) from the rosters and the tracks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import DATE, acting, echo_json, get_settings
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.patrol.attendance import Attendance


def _line(e: Attendance, timezone: str) -> str:
    """One entry on one line: status and flags, times, minutes, metres, coverage, grids not visited."""
    flags = "、".join(f for f, on in (("迟到", e.late), ("早退", e.left_early)) if on and f != e.status)
    status = e.status + (f"（另{flags}）" if flags else "")
    cover = f"，覆盖 {e.coverage:.0%}" if e.coverage is not None else ""
    missed = f"，未巡：{'、'.join(f'{n}（{c}）' for n, c in zip(e.unvisited_names, e.unvisited, strict=True))}" \
        if e.unvisited else ""  # fmt: skip
    from zoneinfo import ZoneInfo

    from gridgov.patrol.shifts import night_clock

    zone = ZoneInfo(timezone)
    return (f"  {e.shift} {e.team_name}（{e.team_code}）  {status}  到达 {night_clock(e.first_seen, e.night, zone)} "
            f"离开 {night_clock(e.last_seen, e.night, zone)}，区域内 {e.minutes_inside:.0f} 分钟、{e.metres:.0f} 米"
            f"{cover}{missed}")


def _local(value: object, timezone: str) -> object:
    """Times as ISO 8601 in the installation's zone, inside dicts and lists too."""
    from zoneinfo import ZoneInfo

    if isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(timezone)).isoformat()
    if isinstance(value, dict):
        return {k: _local(v, timezone) for k, v in value.items()}
    if isinstance(value, list):
        return [_local(v, timezone) for v in value]
    return value


def _record(e: Attendance, timezone: str) -> object:
    """The JSON record of one team × shift (people listed beside the figures)."""
    keys = ("night", "shift", "team_code", "team_name", "status", "late", "left_early", "first_seen", "last_seen",
            "minutes_inside", "metres", "coverage", "unvisited")  # fmt: skip
    d = e.as_dict()
    return _local({k: d[k] for k in keys} | {"unit": e.unit, "area_code": e.area_code, "tracks": e.tracks,
                                             "people": d["people"]}, timezone)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the attendance commands to ``gridgov patrol``."""

    @app.command("attendance")
    def attendance_cmd(
        date: dt.date | None = typer.Option(None, "--date", parser=parse_date, metavar=DATE,
                                            help="日期（夜班按当晚的日期，如 2026-10-01 的下半夜到次日 06:00）"),
        month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="整月考勤（含补贴）"),
        team: str | None = typer.Option(None, "--team", help="只看一个巡逻队（编码）"),
        output: Path | None = typer.Option(None, "-o", "--output", help="月考勤表 Excel 文件（与 --month 一起用）"),
        as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（每队每班一条记录）"),
    ) -> None:
        """考勤：按排班和轨迹判定出勤、迟到、早退、缺勤（--date 一晚，--month 整月及补贴，-o 写 Excel 考勤表）。"""
        from dataclasses import asdict

        from gridgov.patrol.attendance import attendance, month_attendance, worst_first, write_month_xlsx

        if (date is None) == (month is None):
            raise typer.BadParameter("请指定 --date 或 --month 之一")
        if output is not None and month is None:
            raise typer.BadParameter("-o 只用于 --month（整月考勤表）")
        settings = get_settings()
        with acting() as (s, _):
            if month is not None:
                report = month_attendance(s, month, team_code=team, rules=settings, timezone=settings.timezone)
                entries = report.entries
            else:
                assert date is not None
                entries = attendance(s, date, team_code=team, rules=settings, timezone=settings.timezone)
        if month is not None and output is not None:
            write_month_xlsx(report, output, timezone=settings.timezone)
        if as_json:
            if month is not None:
                echo_json({"month": report.month, "entries": [_record(e, settings.timezone) for e in entries],
                           "people": [asdict(p) for p in report.people], "allowance_total": report.total,
                           "file": str(output) if output else None})  # fmt: skip
            else:
                echo_json([_record(e, settings.timezone) for e in entries])
            return
        if not entries:
            typer.echo("这段时间没有排班。")
        night = None
        for e in entries if month is not None else worst_first(entries):
            if e.night != night:
                night = e.night
                typer.echo(f"{e.night:%Y-%m-%d}")
            typer.echo(_line(e, settings.timezone))
        if month is not None:
            typer.echo(f"补贴合计 {report.total:,.0f} 元（{len(report.people)} 人，每人每班 {report.rate:g} 元）")
            if output is not None:
                typer.echo(f"考勤表已写入：{output}")
