"""``gridgov ledger``: the 网格台帐 as Excel, CSV or JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from gridgov.cli.common import acting, get_settings
from gridgov.periods import as_of_moment, day_range, parse_date, parse_moment


def ledger(
    out: Path = typer.Option(..., "--out", "-o", help="输出文件：.xlsx（每层一个工作表）、.csv 或 .json"),
    level: str | None = typer.Option(None, help="只输出此层级：street / community / compound / building"),
    parent: str | None = typer.Option(None, help="只输出此网格及其下级"),
    as_of: dt.date | None = typer.Option(
        None,
        "--as-of",
        parser=parse_moment,
        metavar="YYYY-MM-DD",
        help="历史时点（按当时的网格划分统计），如 2025-12-31",
    ),
    date_from: dt.date | None = typer.Option(
        None, "--from", parser=parse_date, metavar="YYYY-MM-DD", help="事件与巡逻统计起始日期"
    ),
    date_to: dt.date | None = typer.Option(
        None, "--to", parser=parse_date, metavar="YYYY-MM-DD", help="事件与巡逻统计截止日期（含当日）"
    ),
) -> None:
    """生成网格台帐（户数、人数、党员数、居民代表、志愿者、楼栋、工作人员、事件、巡逻覆盖）。"""
    from zoneinfo import ZoneInfo

    from gridgov.ledger.export import unit_name, write_ledger
    from gridgov.ledger.report import build_ledger
    from gridgov.party.rules import PartyRules

    settings = get_settings()
    tz = settings.timezone
    start, end = day_range(date_from, date_to, tz)
    moment = as_of_moment(as_of, tz)
    with acting() as (s, actor):  # private staff contacts only within the actor's scope
        result = build_ledger(s, level=level, parent=parent, as_of=moment, date_from=start, date_to=end,
                              reader=actor, patrol_buffer_m=settings.patrol_buffer_m, viewed_from="gridgov ledger",
                              party_rules=PartyRules.of(settings))
        unit = unit_name(s, parent, moment)  # fmt: skip
    write_ledger(result, out, unit=unit, made_at=dt.datetime.now(ZoneInfo(tz)))
    headline = result.headline()
    typer.echo(f"已写出 {out}：{len(result.rows)} 个网格" + (f"（{headline}）" if headline else ""))
