"""``gridgov map grid|coverage|patrol``: offline HTML maps written under maps/ (assets copied to lib/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from gridgov.cli.common import engine, get_settings
from gridgov.periods import parse_date

app = typer.Typer(help="地图（离线 HTML，资源全部本地化）：网格图、巡逻覆盖率图、巡逻路线图。", no_args_is_help=True)

BASEMAP_HELP = "底图：none（默认）/ tianditu / intranet / osm / amap（高德，叠加图层自动偏移到 GCJ-02）"


def _save(m: object, out: Path | None, default: str) -> Path:
    """Write the map offline and say where."""
    from gridgov.maps.assets import save_offline

    target = out or get_settings().maps_dir / default
    save_offline(m, target, node_modules=get_settings().node_modules)  # type: ignore[arg-type]
    typer.echo(f"已写出 {target}")
    return target


@app.command("grid")
def grid(
    out: Path = typer.Option(None, "--out", "-o", help="输出 HTML（默认 maps/grid.html）"),
    parent: str | None = typer.Option(None, help="只画此网格及其下级"),
    level: str | None = typer.Option(None, help="只画此层级：street / community / compound"),
    layers: str = typer.Option("", help="可选图层，逗号分隔：households,buildings,party"),
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
) -> None:
    """网格图：分层网格、标注、台帐与网格人员弹窗、搜索；可叠加住户（四色）、楼栋、党建图层。"""
    from sqlalchemy.orm import Session

    from gridgov.maps.basemap import basemap as pick
    from gridgov.maps.gridmap import grid_map_from_db

    wanted = {x.strip() for x in layers.split(",") if x.strip()}
    with Session(engine()) as s:
        m = grid_map_from_db(s, parent_code=parent, level=level, layers=wanted, basemap=pick(basemap, get_settings()))
    _save(m, out, "grid.html")


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
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
) -> None:
    """巡逻覆盖率图：各网格覆盖率分级设色、低覆盖网格突出显示；事件热力图（时间滑块、类别筛选）。"""
    from sqlalchemy.orm import Session

    from gridgov.maps.basemap import basemap as pick
    from gridgov.maps.coverage import coverage_map

    settings = get_settings()
    with Session(engine()) as s:
        m = coverage_map(
            s, parent_code=parent, date_from=date_from, date_to=date_to,
            threshold=settings.coverage_threshold if threshold is None else threshold, team_code=team,
            basemap=pick(basemap, settings), timezone=settings.timezone, patrol_buffer_m=settings.patrol_buffer_m,
        )  # fmt: skip
    _save(m, out, "coverage.html")


@app.command("patrol")
def patrol(
    out: Path = typer.Option(None, "--out", "-o", help="输出 HTML（默认 maps/patrol.html）"),
    date: dt.date | None = typer.Option(None, parser=parse_date, metavar="YYYY-MM-DD", help="巡逻夜（默认最近一夜）"),
    team: str | None = typer.Option(None, help="巡逻队编码"),
    basemap: str | None = typer.Option(None, help=BASEMAP_HELP),
) -> None:
    """巡逻路线图：按班次和巡逻队着色、方向箭头、起终点、各网格停留时间、计划路线、当晚未巡逻网格。"""
    from sqlalchemy.orm import Session

    from gridgov.maps.basemap import basemap as pick
    from gridgov.maps.patrol import patrol_map

    with Session(engine()) as s:
        m = patrol_map(s, night=date, team_code=team, basemap=pick(basemap, get_settings()),
                       timezone=get_settings().timezone)
    _save(m, out, "patrol.html")
