"""``gridgov incident kpi``: incident figures (事件考核) for a period, per grid, community or street."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import acting, echo_json, get_settings
from gridgov.periods import parse_date, parse_moment

if TYPE_CHECKING:
    from gridgov.incidents.kpi import KpiRow, Period

LEVEL_HELP = "统计层级：compound（楼院网格，默认）/ community / street / building，或 all（各级都列）"
WIDE = 200  # columns of a table printed to a file or a pipe (a terminal uses its own width)


def period_line(period: Period, last_year: Period | None, timezone: str) -> str:
    """The period, its moment and the 同比 period in one Chinese line."""
    from zoneinfo import ZoneInfo

    moment = period.as_of.astimezone(ZoneInfo(timezone))
    ly = f"；去年同期：{last_year.date_from} 至 {last_year.date_to}" if last_year and last_year.date_to else ""
    return f"统计期间：{period.date_from} 至 {period.date_to}；统计时点：{moment:%Y-%m-%d %H:%M}{ly}"


def _table(rows: list[KpiRow]) -> None:
    """The rows as a readable table: a line per grid, and under it the same period last year."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from gridgov.incidents.kpi import COLUMNS, show, value_of
    from gridgov.vocab import LEVEL_ZH

    table = Table(show_lines=False, pad_edge=False, box=None)
    for head in ("网格编码", "名称", "层级"):
        table.add_column(head, no_wrap=True)
    for _, label, _ in COLUMNS:
        table.add_column(label.replace("(工作日)", ""), justify="right", no_wrap=True)
    for r in rows:
        d: dict[str, Any] = r.as_dict()
        table.add_row(r.code, r.name, LEVEL_ZH[r.level], *(show(kind, value_of(d, key)) for key, _, kind in COLUMNS))
        ly = d["last_year"]
        if ly is not None:
            table.add_row("", "  去年同期", "", *(show(kind, value_of(ly, key)) for key, _, kind in COLUMNS),
                          style="dim")  # fmt: skip
    console = Console(width=None if sys.stdout.isatty() else WIDE, highlight=False, soft_wrap=False)
    console.print(table)
    console.print("各环节用时为工作日；“—”表示没有可计算的数据（如期间内没有结案）。")


def register(app: typer.Typer) -> None:
    """Add the figures commands to ``gridgov incident``."""

    @app.command("kpi")
    def kpi_cmd(
        parent: str | None = typer.Option(None, "--parent", help="只统计此网格及其下级（默认：全部或令牌的范围）"),
        date_from: dt.date | None = typer.Option(None, "--from", parser=parse_date, metavar="YYYY-MM-DD",
                                                 help="统计起始日期（默认本月 1 日）"),
        date_to: dt.date | None = typer.Option(None, "--to", parser=parse_date, metavar="YYYY-MM-DD",
                                               help="统计截止日期（含当日，默认今天）"),
        as_of: dt.date | None = typer.Option(None, "--as-of", parser=parse_moment, metavar="YYYY-MM-DD[THH:MM]",
                                             help="统计时点：只计此时点及之前的记录（日期指当日结束时），默认现在"),
        level: str = typer.Option("compound", "--level", help=LEVEL_HELP),
        as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（每个网格一个对象，英文键）"),
    ) -> None:
        """事件考核：上报、结案、按期结案率、超期、返工、挂账、网格内/社区内结案率、各环节平均用时，及去年同期。"""
        from zoneinfo import ZoneInfo

        from gridgov.incidents.kpi import default_period, kpis, level_of, period_of
        from gridgov.periods import as_of_moment
        from gridgov.workdays import calendar_for

        settings = get_settings()
        tz = settings.timezone
        start, end = default_period(date_from, date_to, dt.datetime.now(ZoneInfo(tz)).date())
        moment = as_of_moment(as_of, tz) or dt.datetime.now(dt.UTC)
        wanted = level_of(level)
        with acting() as (s, actor):
            calendar = calendar_for(s, settings)
            rows = kpis(s, actor, parent, date_from=start, date_to=end, as_of=moment, level=wanted,
                        calendar=calendar)  # fmt: skip
        period = period_of(start, end, moment)
        if as_json:
            echo_json([r.as_dict() for r in rows])
            return
        typer.echo(period_line(period, period.last_year(), tz))
        if not rows:
            typer.echo("所选范围内没有网格。")
            return
        typer.echo(f"事件考核：{len(rows)} 个网格")
        _table(rows)
