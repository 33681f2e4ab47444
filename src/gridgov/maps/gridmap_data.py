"""Data of the grid map (EPSG:4326): grids with their ledger, the vector-tile mode's count and search index,
and the optional layers (households, buildings, the Party layer); one query each."""

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
from gridgov.history import day_of, identity, live, role_in_force
from gridgov.ledger.report import DEFAULT_PARTY_RULES, build_ledger
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import LEVELS, PARTY_ORG_KINDS, PARTY_STAFF_ROLES

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
    party_rules: PartyRules = DEFAULT_PARTY_RULES,
) -> gpd.GeoDataFrame:
    """Grids (all, or one parent's subtree, of one level or all) with ledger numbers, Party body and staff: now,
    or as they were at ``as_of`` (the grids, counts and posts of that moment)."""
    # the ledger's staff column lists public roles only (no reader): what a public map may show
    ledger = build_ledger(session, level=level, parent=parent_code, as_of=as_of, with_patrol=False,
                          timezone=timezone, party_rules=party_rules).rows  # fmt: skip
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


def party_orgs(session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The Party organisations in force on the grids under ``parent_code``, one row per organisation and grid it
    is built on: grid code, organisation code, kind, name, form, secretary's name and phone (personal data: the
    Party layer is drawn only for readers with personal data rights there)."""
    tree, grids = _tree(as_of)
    sql = f"""{tree}
        SELECT g.code AS grid_code, o.code, o.kind, o.name, o.form, coalesce(sp.name, ss.name) AS secretary, o.phone
          FROM party_org o
          CROSS JOIN LATERAL unnest(o.grid_ids) AS x(grid_id)
          JOIN {grids} g ON g.id = x.grid_id JOIN sub ON sub.id = g.id
          LEFT JOIN person sp ON sp.id = o.secretary_person_id
          LEFT JOIN staff ss ON ss.id = o.secretary_staff_id
         WHERE {as_of_sql("o")}
         ORDER BY g.code, array_position(CAST(:kinds AS text[]), CAST(o.kind AS text)), o.code"""
    rows = session.execute(text(sql), {"parent": parent_code, "as_of": as_of, "kinds": list(PARTY_ORG_KINDS.terms)})
    return pd.DataFrame(rows.all(), columns=["grid_code", "code", "kind", "name", "form", "secretary", "phone"])


def duty_areas(session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None) -> gpd.GeoDataFrame:
    """The 党员责任区 in force under ``parent_code`` (clipped to it): code, name, duty, organisation, the names of
    the members responsible who live under it, and the polygon."""
    tree, grids = _tree(as_of)
    sql = f"""{tree}, root AS (
            SELECT g.geom FROM {grids} g JOIN sub ON sub.id = g.id WHERE g.code = CAST(:parent AS text)
        ), shown AS (
            SELECT a.code, a.name, a.duty, o.name AS org, a.person_ids,
                   CASE WHEN CAST(:parent AS text) IS NULL THEN a.geom
                        ELSE ST_CollectionExtract(ST_Intersection(a.geom, (SELECT geom FROM root)), 3) END AS geom
              FROM party_duty_area a LEFT JOIN party_org o ON o.id = a.org_id
             WHERE {as_of_sql("a")}
               AND (CAST(:parent AS text) IS NULL OR ST_Intersects(a.geom, (SELECT geom FROM root)))
        )
        SELECT a.code, a.name, a.duty, a.org,
               ARRAY(SELECT p.name FROM unnest(a.person_ids) WITH ORDINALITY x(id, n)
                       JOIN person p ON p.id = x.id JOIN household h ON h.id = p.household_id
                      WHERE h.grid_id IN (SELECT id FROM sub) ORDER BY x.n) AS members,
               ST_AsBinary(a.geom) AS wkb
          FROM shown a WHERE NOT ST_IsEmpty(a.geom) ORDER BY a.code"""
    rows = session.execute(text(sql), {"parent": parent_code, "as_of": as_of}).all()
    df = pd.DataFrame(rows, columns=["code", "name", "duty", "org", "members", "wkb"])
    geoms: Any = shapely.from_wkb(df.pop("wkb").map(bytes).to_numpy()) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def contact_links(session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None,
                  timezone: str = DEFAULT_TIMEZONE) -> pd.DataFrame:  # fmt: skip
    """党员联系户 under ``parent_code``: each link of a member to a household, both homes under it (a link leaving
    the subtree is left out): member code and name, the member's home (from_lon, from_lat), the household's code,
    address and point (lon, lat)."""
    sql = f"""{_tree(as_of)[0]}
        SELECT p.code AS member_code, p.name AS member, ST_X(mh.geom) AS from_lon, ST_Y(mh.geom) AS from_lat,
               h.code AS household, h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
          FROM party_contact c
          JOIN person p ON {identity("p")} = c.person_id AND {as_of_sql("p")}
          JOIN household mh ON {identity("mh")} = p.household_id AND {_under("mh", as_of, "mh.grid_id")}
          JOIN household h ON {identity("h")} = c.household_id AND {_under("h", as_of, "h.grid_id")}
         WHERE p.is_party_member AND mh.geom IS NOT NULL AND h.geom IS NOT NULL AND {identity("mh")} <> {identity("h")}
           AND (CAST(:as_of AS timestamptz) IS NULL OR c.since <= CAST(:day AS date))
         ORDER BY p.code, h.code"""
    params = {"parent": parent_code, "as_of": as_of, "day": day_of(as_of, timezone)}
    rows = session.execute(text(sql), params).all()
    return pd.DataFrame(rows, columns=["member_code", "member", "from_lon", "from_lat", "household", "address", "lon",
                                       "lat"])  # fmt: skip


@dataclass(frozen=True)
class PartyLayer:
    """Everything the Party layer draws (names included: the callers draw it only for readers with personal data
    rights over the whole map, gridgov.auth.views.open_personal)."""

    households: pd.DataFrame  # party_points
    staff: pd.DataFrame  # party_staff
    orgs: pd.DataFrame  # party_orgs
    areas: gpd.GeoDataFrame  # duty_areas
    links: pd.DataFrame  # contact_links


def party_layer(session: Session, parent_code: str | None = None, as_of: dt.datetime | None = None,
                timezone: str = DEFAULT_TIMEZONE) -> PartyLayer:  # fmt: skip
    """The Party layer under ``parent_code``, now or at ``as_of``."""
    return PartyLayer(party_points(session, parent_code, as_of), party_staff(session, parent_code,
                                                                             day_of(as_of, timezone)),
                      party_orgs(session, parent_code, as_of), duty_areas(session, parent_code, as_of),
                      contact_links(session, parent_code, as_of, timezone))  # fmt: skip
