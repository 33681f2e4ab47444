"""Data of the grid map (EPSG:4326): grids with their ledger, the vector-tile mode's count and search index,
and the optional point layers; one query each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql as sqlfiles
from gridgov.errors import InvalidInput
from gridgov.history import as_of as as_of_sql
from gridgov.history import day_of, live, role_in_force
from gridgov.ledger.report import build_ledger
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import LEVELS, PARTY_STAFF_ROLES

LEDGER_FIELDS = (
    "households", "hh_resident", "hh_rented", "hh_vacant", "hh_shop", "persons", "party_members",
    "resident_reps", "volunteers", "buildings", "incidents_open", "incidents_closed",
)  # fmt: skip

# Live grids under :parent (the grid itself included), or all live grids when :parent is NULL.
_SUBTREE = """WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
       AND (CAST(:parent AS text) IS NULL OR code = CAST(:parent AS text))
    UNION
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
)"""


# The same as of a moment :as_of: the grid versions in force then (``at``, identity ids), under :parent.
_SUBTREE_AS_OF = f"""WITH RECURSIVE at AS (
    SELECT coalesce(g.lineage_id, g.id) AS id, g.parent_id, g.code, g.name, g.level, g.geom FROM grid g
     WHERE {as_of_sql("g")}
), sub AS (
    SELECT id FROM at WHERE CAST(:parent AS text) IS NULL OR code = CAST(:parent AS text)
    UNION
    SELECT a.id FROM at a JOIN sub ON a.parent_id = sub.id
)"""
# Entities of a past moment lie under :parent when its grid of that moment covers them.
_UNDER_AS_OF = ("(CAST(:parent AS text) IS NULL OR ST_Covers((SELECT geom FROM at WHERE code = CAST(:parent AS text)), "
                "{a}.geom))")  # fmt: skip


def _tree(as_of: dt.datetime | None) -> tuple[str, str]:
    """The subtree CTE and the grid relation to read, now or as of a moment."""
    return (_SUBTREE, "grid") if as_of is None else (_SUBTREE_AS_OF, "at")


_LEVEL = "(CAST(:level AS text) IS NULL OR g.level = CAST(:level AS text))"


def _check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}（可选 {', '.join(LEVELS)}）")


@dataclass(frozen=True)
class GridCount:
    """How many grids a grid map would draw, and the name its title takes (the parent's, else the first's)."""

    grids: int
    top_name: str | None


def grid_count(
    session: Session, *, parent_code: str | None = None, level: str | None = None, as_of: dt.datetime | None = None
) -> GridCount:
    """Count the grids (live, or in force at ``as_of``) under ``parent_code`` (of ``level``) without loading any;
    an unknown parent is refused."""
    _check_level(level)
    tree, grids = _tree(as_of)
    sql = f"""{tree}
        SELECT count(*) AS total, count(*) FILTER (WHERE {_LEVEL}) AS drawn,
               (array_agg(g.name ORDER BY g.code <> CAST(:parent AS text) IS TRUE, g.code)
                  FILTER (WHERE CAST(:parent AS text) IS NOT NULL OR {_LEVEL}))[1] AS top_name
          FROM {grids} g JOIN sub ON sub.id = g.id"""
    r = session.execute(text(sql), {"parent": parent_code, "level": level, "as_of": as_of}).one()
    if parent_code is not None and not r.total:
        raise InvalidInput(f"网格不存在：{parent_code}")
    return GridCount(int(r.drawn), r.top_name)


@dataclass(frozen=True)
class GridIndex:
    """The grids of a vector-tile map without outlines: code, name, level and a label point (lon, lat) each,
    and the bounds (minx, miny, maxx, maxy) of them all."""

    points: pd.DataFrame
    bounds: tuple[float, float, float, float]


def grid_index(session: Session, *, parent_code: str | None = None, level: str | None = None) -> GridIndex:
    """The search index of the live grids under ``parent_code`` (of ``level``): label points, no geometry."""
    _check_level(level)
    rows = session.execute(text(sqlfiles.load("map_grid_index")), {"parent": parent_code, "level": level}).all()
    df = pd.DataFrame(rows, columns=["code", "name", "level", "lon", "lat", "xmin", "ymin", "xmax", "ymax"])
    if df.empty:
        raise InvalidInput("没有可绘制的网格")
    bounds = (float(df["xmin"].min()), float(df["ymin"].min()), float(df["xmax"].max()), float(df["ymax"].max()))
    return GridIndex(df[["code", "name", "level", "lon", "lat"]], bounds)


def _geometries(
    session: Session, parent_code: str | None, level: str | None, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """Outlines of the grids (live, or in force at ``as_of``) under ``parent_code`` (of ``level``), by code."""
    tree, grids = _tree(as_of)
    sql = f"""{tree}
        SELECT g.code, ST_AsBinary(g.geom) AS wkb FROM {grids} g JOIN sub ON sub.id = g.id
         WHERE g.geom IS NOT NULL AND {_LEVEL}"""
    rows = session.execute(text(sql), {"parent": parent_code, "level": level, "as_of": as_of}).all()
    return {r.code: shapely.from_wkb(bytes(r.wkb)) for r in rows}


def grid_frame(
    session: Session,
    *,
    parent_code: str | None = None,
    level: str | None = None,
    as_of: dt.datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> gpd.GeoDataFrame:
    """Grids (all, or one parent's subtree, of one level or all) with ledger numbers, Party body and staff: now,
    or as they were at ``as_of`` (the grids, counts and posts of that moment)."""
    # the ledger's staff column lists public roles only (no reader): what a public map may show
    ledger = build_ledger(session, level=level, parent=parent_code, as_of=as_of, with_patrol=False,
                          timezone=timezone).rows  # fmt: skip
    geoms = _geometries(session, parent_code, level, as_of)
    rows = [
        {
            "code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
            **{f: getattr(r, f) for f in LEDGER_FIELDS},
            "party_org": r.party_org, "staff": r.staff or "", "geometry": geoms.get(r.code),
        }
        for r in ledger
    ]  # fmt: skip
    columns = ["code", "name", "level", "parent_code", *LEDGER_FIELDS, "party_org", "staff", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=4326)


def _under(alias: str, as_of: dt.datetime | None, grid_id: str) -> str:
    """SQL: the row of ``alias`` is a current row assigned under the parent, or a row of ``as_of`` lying under it."""
    if as_of is None:
        return f"{grid_id} IN (SELECT id FROM sub) AND {live(alias)}"
    return f"{as_of_sql(alias)} AND {_UNDER_AS_OF.format(a=alias)}"


def household_points(
    session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None
) -> pd.DataFrame:
    """Households (lon, lat, kind) under ``parent_code``, now or at ``as_of``: no address, no person — public-safe."""
    sql = f"""{_tree(as_of)[0]}
        SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, h.kind FROM household h
         WHERE {_under("h", as_of, "h.grid_id")} ORDER BY h.id"""
    rows = session.execute(text(sql), {"parent": parent_code, "as_of": as_of}).all()
    return pd.DataFrame(rows, columns=["lon", "lat", "kind"])


def building_frame(
    session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None
) -> gpd.GeoDataFrame:
    """Buildings (楼栋) under ``parent_code``, now or at ``as_of``: code, name, floors, address and footprint or
    point."""
    sql = f"""{_tree(as_of)[0]}
        SELECT b.code, b.name, b.floors, b.address, ST_AsBinary(b.geom) AS wkb FROM building b
         WHERE {_under("b", as_of, "b.grid_id")} ORDER BY b.code"""
    rows = session.execute(text(sql), {"parent": parent_code, "as_of": as_of}).all()
    df = pd.DataFrame(rows, columns=["code", "name", "floors", "address", "wkb"])
    geoms: Any = shapely.from_wkb(df.pop("wkb").to_numpy()) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def party_points(session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Households with Party members, now or at ``as_of``: lon, lat, member count and the count per member type
    (no names)."""
    sql = f"""{_tree(as_of)[0]}
        SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, count(*) AS members,
               string_agg(p.member_type, '、' ORDER BY p.member_type) AS types
          FROM person p JOIN household h ON coalesce(h.lineage_id, h.id) = p.household_id
         WHERE p.is_party_member AND {_under("h", as_of, "h.grid_id")} AND {as_of_sql("p")}
         GROUP BY h.id ORDER BY h.id"""
    rows = session.execute(text(sql), {"parent": parent_code, "as_of": as_of}).all()
    return pd.DataFrame(rows, columns=["lon", "lat", "members", "types"])


def party_staff(session: Session, parent_code: str | None = None, on_day: dt.date | None = None) -> pd.DataFrame:
    """Party roles on grids (网格党支部书记, 党小组长, 楼栋长) on ``on_day`` (today when None): grid code, role,
    name, phone."""
    sql = f"""{_SUBTREE}
        SELECT g.code AS grid_code, r.role, s.name, s.phone
          FROM grid_role r JOIN staff s ON s.id = r.staff_id JOIN grid g ON g.id = r.grid_id
         WHERE r.role = ANY(CAST(:roles AS text[])) AND r.grid_id IN (SELECT id FROM sub) AND {role_in_force("r")}
         ORDER BY g.code, r.role, s.name"""
    params = {"parent": parent_code, "roles": list(PARTY_STAFF_ROLES), "on_day": on_day or day_of(None)}
    rows = session.execute(text(sql), params).all()
    return pd.DataFrame(rows, columns=["grid_code", "role", "name", "phone"])
