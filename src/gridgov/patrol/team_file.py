"""Create patrol teams with their patrol areas and planned routes from a GeoPackage, atomically.

The file has a polygon layer ``areas`` (``team_code``, ``team_name``; optionally ``kind``, ``shift``, ``unit`` and
``grid_code``, the community or street the team serves) and optionally a line layer
``routes`` (``team_code``) with each team's planned route. Every feature is checked first (codes, names,
geometries, duplicates, teams that already exist); any problem refuses the whole file. Coordinates are
converted to WGS84 from the layer's declared CRS. Tracks are imported afterwards, per team, with
:func:`gridgov.patrol.gpx.import_gpx`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.db.locks import writers_lock
from gridgov.errors import Conflict, InvalidInput
from gridgov.geo.checks import geometry_problem
from gridgov.geo.crs import parse_crs, to_wgs84
from gridgov.vocab import PATROL_TEAM_KINDS, SHIFTS

AREA_SUFFIX = "巡逻区域"  # a team's area is named after the team: 一队巡逻区域
# Optional columns of the areas layer: the team's kind, usual shift, unit and the grid it serves (its code).
OPTIONAL = ("kind", "shift", "unit", "grid_code")
MAX_LISTED = 20


@dataclass
class TeamImportReport:
    """The teams created (codes) and how many of them got a planned route."""

    file: str
    teams: list[str] = field(default_factory=list)
    routes: int = 0


def _layer(path: Path, layer: str, columns: list[str], optional: tuple[str, ...] = ()
           ) -> tuple[list[dict[str, Any]], list[Any]]:  # fmt: skip
    """Attribute rows (stripped strings or None; ``optional`` columns None when the layer lacks them) and WGS84
    geometries of one layer."""
    try:
        df = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types for unreadable files
        raise InvalidInput(f"无法读取 {path.name} 的图层 {layer}：{exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInput(f"{path.name} 图层 {layer} 缺少列：{', '.join(missing)}")
    geoms = np.asarray(df.geometry.values, dtype=object)
    if df.crs is not None and len(geoms):
        geoms = to_wgs84(geoms, parse_crs(df.crs))
    for c in optional:
        if c not in df.columns:
            df[c] = None
    columns = [*columns, *optional]
    blank = [[v is None or v != v or str(v).strip() == "" for v in df[c]] for c in columns]
    rows = [
        {c: (None if blank[k][i] else str(df[c].iat[i]).strip()) for k, c in enumerate(columns)} for i in range(len(df))
    ]
    return rows, list(geoms)


def import_patrol_teams(session: Session, path: Path, *, actor: Actor) -> TeamImportReport:
    """Check and create every team of the file with its area (and route), in the caller's transaction."""
    authorize(session, actor, "patrol")
    areas, area_geoms = _layer(path, "areas", ["team_code", "team_name"], OPTIONAL)
    layers = {str(x[0]) for x in pyogrio.list_layers(path)}
    routes, route_geoms = _layer(path, "routes", ["team_code"]) if "routes" in layers else ([], [])
    problems: list[str] = []
    seen: set[str] = set()
    for i, (row, g) in enumerate(zip(areas, area_geoms, strict=True), start=1):
        code = row["team_code"]
        if code is None or row["team_name"] is None:
            problems.append(f"areas 第 {i} 个要素：缺少巡逻队编码或名称")
        elif code in seen:
            problems.append(f"areas 第 {i} 个要素：巡逻队编码重复：{code}")
        seen.add(code or "")
        problem = geometry_problem(g) if isinstance(g, Polygon | MultiPolygon) else "几何类型应为面"
        if problem:
            problems.append(f"areas 第 {i} 个要素：{problem}")
        for column, words in (("kind", PATROL_TEAM_KINDS), ("shift", SHIFTS)):
            if row[column] is not None:
                term = words.canonical(row[column])
                if term is None:
                    problems.append(f"areas 第 {i} 个要素：{words.label}应为 {' / '.join(words.terms)}：{row[column]}")
                row[column] = term
    grid_codes = sorted({r["grid_code"] for r in areas if r["grid_code"]})
    known = set(session.scalars(text("SELECT code FROM grid WHERE code = ANY(:c) AND valid_to IS NULL "
                                     "AND lineage_id IS NULL"), {"c": grid_codes}))  # fmt: skip
    problems += [f"areas：所属网格不存在：{c}" for c in grid_codes if c not in known]
    route_of: dict[str, Any] = {}
    for i, (row, g) in enumerate(zip(routes, route_geoms, strict=True), start=1):
        code = row["team_code"]
        if code not in seen:
            problems.append(f"routes 第 {i} 个要素：没有对应巡逻区域的巡逻队：{code}")
        elif code in route_of:
            problems.append(f"routes 第 {i} 个要素：巡逻队 {code} 有多条路线")
        problem = geometry_problem(g) if isinstance(g, LineString) else "几何类型应为线"
        if problem:
            problems.append(f"routes 第 {i} 个要素：{problem}")
        route_of[code or ""] = g
    if problems:
        more = f"\n……另有 {len(problems) - MAX_LISTED} 处" if len(problems) > MAX_LISTED else ""
        listed = "\n".join(problems[:MAX_LISTED])
        raise InvalidInput(f"{path.name} 有 {len(problems)} 处错误，未导入：\n{listed}{more}", details=problems)
    authorize(session, actor, "patrol", Touches(codes=grid_codes, area=area_geoms))
    writers_lock(session)
    codes = [r["team_code"] for r in areas]
    # a retired team's code stays its own (reviving it is an edit, not a file import)
    existing = list(session.scalars(text("SELECT code FROM patrol_team WHERE code = ANY(:c) AND lineage_id IS NULL"),
                                    {"c": codes}))  # fmt: skip
    if existing:
        raise Conflict(f"巡逻队已存在：{', '.join(sorted(existing))}", details={"codes": sorted(existing)})
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.name})
    session.execute(
        text(
            """INSERT INTO patrol_team (code, name, kind, shift, unit, grid_id)
               SELECT u.code, u.name, u.kind, u.shift, u.unit, g.id
                 FROM unnest(CAST(:c AS text[]), CAST(:n AS text[]), CAST(:k AS text[]), CAST(:s AS text[]),
                             CAST(:u AS text[]), CAST(:g AS text[])) AS u(code, name, kind, shift, unit, grid)
                 LEFT JOIN grid g ON g.code = u.grid AND g.valid_to IS NULL AND g.lineage_id IS NULL"""
        ),
        {"c": codes, "n": [r["team_name"] for r in areas], "k": [r["kind"] for r in areas],
         "s": [r["shift"] for r in areas], "u": [r["unit"] for r in areas], "g": [r["grid_code"] for r in areas]},
    )  # fmt: skip
    session.execute(
        text(
            """INSERT INTO patrol_area (code, team_id, name, geom, route)
               SELECT t.code, t.id, t.name || :suffix, ST_Multi(ST_GeomFromWKB(u.area, 4326)),
                      ST_GeomFromWKB(u.route, 4326)
                 FROM unnest(CAST(:c AS text[]), CAST(:area AS bytea[]), CAST(:route AS bytea[]))
                      AS u(code, area, route)
                 JOIN patrol_team t ON t.code = u.code AND t.lineage_id IS NULL"""
        ),
        {
            "suffix": AREA_SUFFIX,
            "c": codes,
            "area": [shapely.to_wkb(g, output_dimension=2) for g in area_geoms],
            "route": [shapely.to_wkb(route_of[c], output_dimension=2) if c in route_of else None for c in codes],
        },
    )
    return TeamImportReport(file=path.name, teams=codes, routes=len(route_of))
