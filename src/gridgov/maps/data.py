"""Data for maps: grids with their ledger, and the optional point layers (EPSG:4326), one query each."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.grids.service import list_grids
from gridgov.ledger.report import build_ledger

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


def grid_frame(session: Session, *, parent_code: str | None = None, level: str | None = None) -> gpd.GeoDataFrame:
    """Live grids (all, or one parent's subtree, of one level or all) with ledger numbers, Party body and staff."""
    ledger = build_ledger(session, level=level, parent=parent_code, with_patrol=False).rows
    geoms = {g.code: g.geom for g in list_grids(session, level=level)}
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


def household_points(session: Session, parent_code: str | None = None) -> pd.DataFrame:
    """Households (lon, lat, kind) assigned under ``parent_code``: no address, no person — public-safe."""
    sql = f"""{_SUBTREE}
        SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, h.kind FROM household h
         WHERE h.grid_id IN (SELECT id FROM sub) ORDER BY h.id"""
    return pd.DataFrame(session.execute(text(sql), {"parent": parent_code}).all(), columns=["lon", "lat", "kind"])


def building_frame(session: Session, parent_code: str | None = None) -> gpd.GeoDataFrame:
    """Buildings (楼栋) assigned under ``parent_code``: code, name, floors, address and footprint or point."""
    sql = f"""{_SUBTREE}
        SELECT b.code, b.name, b.floors, b.address, ST_AsBinary(b.geom) AS wkb FROM building b
         WHERE b.grid_id IN (SELECT id FROM sub) ORDER BY b.code"""
    rows = session.execute(text(sql), {"parent": parent_code}).all()
    df = pd.DataFrame(rows, columns=["code", "name", "floors", "address", "wkb"])
    geoms: Any = shapely.from_wkb(df.pop("wkb").to_numpy()) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def party_points(session: Session, parent_code: str | None = None) -> pd.DataFrame:
    """Households with Party members: lon, lat, member count and the count per member type (no names)."""
    sql = f"""{_SUBTREE}
        SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, count(*) AS members,
               string_agg(p.member_type, '、' ORDER BY p.member_type) AS types
          FROM person p JOIN household h ON h.id = p.household_id
         WHERE p.is_party_member AND h.grid_id IN (SELECT id FROM sub)
         GROUP BY h.id ORDER BY h.id"""
    rows = session.execute(text(sql), {"parent": parent_code}).all()
    return pd.DataFrame(rows, columns=["lon", "lat", "members", "types"])


def party_staff(session: Session, parent_code: str | None = None) -> pd.DataFrame:
    """Party roles on grids (网格党支部书记, 党小组长, 楼栋长): grid code, role, name, phone."""
    sql = f"""{_SUBTREE}
        SELECT g.code AS grid_code, r.role, s.name, s.phone
          FROM grid_role r JOIN staff s ON s.id = r.staff_id JOIN grid g ON g.id = r.grid_id
         WHERE r.role IN ('网格党支部书记', '党小组长', '楼栋长') AND r.grid_id IN (SELECT id FROM sub)
         ORDER BY g.code, r.role, s.name"""
    rows = session.execute(text(sql), {"parent": parent_code}).all()
    return pd.DataFrame(rows, columns=["grid_code", "role", "name", "phone"])
