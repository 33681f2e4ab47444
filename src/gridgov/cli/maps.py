"""``gridgov map grid|coverage|patrol``: offline HTML maps written under maps/ (assets copied to lib/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gridgov.cli.common import engine, get_settings
from gridgov.periods import as_of_moment, parse_date, parse_moment

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="地图（离线 HTML，资源全部本地化）：网格图、巡逻覆盖率图、巡逻路线图。", no_args_is_help=True)

BASEMAP_HELP = "底图：none（默认）/ tianditu / intranet / osm / amap（高德，叠加图层自动偏移到 GCJ-02）"


IfChangedOpt = typer.Option(False, "--if-changed", help="数据与参数都未变化时保留已有文件，不重画")


def _draw(default: str, out: Path | None, if_changed: bool, options: dict[str, Any],
          build: Callable[[Session], object]) -> Path:  # fmt: skip
    """Build the map in one transaction (derived figures it computes are kept) and write it offline.

    With ``if_changed``, an existing file stamped with the same data, options, settings, version and day is kept.
    """
    from gridgov.db.engine import session_scope
    from gridgov.maps.stamps import is_current, map_stamp

    settings = get_settings()
    target = out or settings.maps_dir / default
    with session_scope(engine()) as s:
        stamp = map_stamp(s, options, settings.model_dump_json(), dt.date.today())
        if if_changed and is_current(target, stamp):
            typer.echo(f"数据未变化，保留 {target}")
            return target
        m = build(s)
    from gridgov.maps.assets import save_offline

    save_offline(m, target, node_modules=settings.node_modules, stamp=stamp)  # type: ignore[arg-type]
    typer.echo(f"已写出 {target}")
    return target


@app.command("grid")
def grid(
    out: Path = typer.Option(None, "--out", "-o", help="输出 HTML（默认 maps/grid.html）"),
    parent: str | None = typer.Option(None, help="只画此网格及其下级"),
    level: str | None = typer.Option(None, help="只画此层级：street / community / compound"),
    layers: str = typer.Option("", help="可选图层，逗号分隔：households,buildings,party"),
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", parser=parse_moment, metavar="YYYY-MM-DD",
        help="按某日（当日结束时）的网格、户数与网格人员绘图，默认当前",
    ),  # fmt: skip
    if_changed: bool = IfChangedOpt,
) -> None:
    """网格图：分层网格、标注、台帐与网格人员弹窗、搜索；可叠加住户（四色）、楼栋、党建图层。"""
    wanted = {x.strip() for x in layers.split(",") if x.strip()}
    tz = get_settings().timezone
    moment = as_of_moment(as_of, tz)

    def build(s: Session) -> object:
        from gridgov.auth.views import open_personal
        from gridgov.cli.common import current_actor
        from gridgov.maps.basemap import basemap as pick
        from gridgov.maps.gridmap import grid_map_from_db
        from gridgov.party.rules import PartyRules

        root = open_personal(s, current_actor(), "party", parent, "gridgov map grid") if "party" in wanted else parent
        return grid_map_from_db(s, parent_code=root, level=level, layers=wanted,
                                basemap=pick(basemap, get_settings()), as_of=moment, timezone=tz,
                                party_rules=PartyRules.of(get_settings()))  # fmt: skip

    options = {"map": "grid", "parent": parent, "level": level, "layers": sorted(wanted), "basemap": basemap,
               "as_of": moment}  # fmt: skip
    _draw("grid.html", out, if_changed, options, build)


@app.command("coverage")
def coverage(
    out: Path = typer.Option(None, "--out", "-o", help="输出 HTML（默认 maps/coverage.html）"),
    parent: str | None = typer.Option(None, help="只画此网格下的楼院网格"),
    date_from: dt.date | None = typer.Option(
        None, "--from", parser=parse_date, metavar="YYYY-MM-DD", help="起始夜（含）"
    ),
    date_to: dt.date | None = typer.Option(None, "--to", parser=parse_date, metavar="YYYY-MM-DD", help="截止夜（含）"),
    threshold: float | None = typer.Option(None, help="覆盖率低于此值（0–1）的网格突出显示，默认 0.5"),
    team: str | None = typer.Option(None, help="巡逻队编码"),
    kind: str = typer.Option("夜间巡逻", "--kind", help="轨迹类型：夜间巡逻（默认）或 日巡查（网格员日间巡查）"),
    shift: str | None = typer.Option(None, "--shift", help="事件热力图的时段：上半夜 / 下半夜 / 白天，或 HH:MM-HH:MM"),
    kpi: str | None = typer.Option(None, "--kpi", help="先显示的事件考核图层：on_time（按期结案率）或 overdue（超期）"),
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
    if_changed: bool = IfChangedOpt,
) -> None:
    """巡逻覆盖率图：各网格覆盖率分级设色、低覆盖网格突出显示；事件热力图（时间滑块、类别与时段筛选）、事件考核图层、事件多发而巡逻薄弱的网格。"""
    settings = get_settings()

    def build(s: Session) -> object:
        from gridgov.maps.basemap import basemap as pick
        from gridgov.maps.coverage import coverage_map

        return coverage_map(
            s, parent_code=parent, date_from=date_from, date_to=date_to,
            threshold=settings.coverage_threshold if threshold is None else threshold, team_code=team,
            basemap=pick(basemap, settings), timezone=settings.timezone, patrol_buffer_m=settings.patrol_buffer_m,
            kind=kind, shift=shift, kpi_layer=kpi,
        )  # fmt: skip

    options = {"map": "coverage", "parent": parent, "from": date_from, "to": date_to, "threshold": threshold,
               "team": team, "basemap": basemap, "kind": kind, "shift": shift, "kpi": kpi}  # fmt: skip
    _draw("coverage.html", out, if_changed, options, build)


@app.command("patrol")
def patrol(
    out: Path = typer.Option(None, "--out", "-o", help="输出 HTML（默认 maps/patrol.html）"),
    date: dt.date | None = typer.Option(None, parser=parse_date, metavar="YYYY-MM-DD", help="巡逻夜（默认最近一夜）"),
    team: str | None = typer.Option(None, help="巡逻队编码"),
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
    if_changed: bool = IfChangedOpt,
) -> None:
    """巡逻路线图：按班次和巡逻队着色、方向箭头、起终点、各网格停留时间、计划路线、当晚未巡逻网格。"""

    def build(s: Session) -> object:
        from gridgov.maps.basemap import basemap as pick
        from gridgov.maps.patrol import patrol_map

        return patrol_map(s, night=date, team_code=team, basemap=pick(basemap, get_settings()), rules=get_settings(),
                          timezone=get_settings().timezone)  # fmt: skip

    _draw("patrol.html", out, if_changed, {"map": "patrol", "date": date, "team": team, "basemap": basemap}, build)
