"""Assign households, incidents and buildings to leaf grids with set-based PostGIS statements.

Boundary rule: a point is assigned to the live leaf grid that covers it (``ST_Covers``, so points
on a boundary count as inside). When several leaf grids cover a point — it lies exactly on a shared
edge or vertex — the grid whose code sorts first wins. Every point is therefore counted once; a point
outside every grid keeps ``grid_id = NULL`` and is reported as unassigned, never dropped.
Persons follow their household; parent grids come from the hierarchy, not a second spatial join.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql

POINT_TABLES = ("household", "incident")


@dataclass(frozen=True)
class AssignCounts:
    """How many rows of one table are assigned and unassigned, and how many moved in this run."""

    table: str
    assigned: int
    unassigned: int
    changed: int


AREA_FILTER = "WHERE ST_Intersects({alias}.geom, ST_GeomFromWKB(:area, 4326))"


def _run(session: Session, table: str, area: BaseGeometry | None) -> int:
    """One set-based UPDATE over the table, or over the rows touching ``area``; returns rows changed."""
    alias = "b" if table == "building" else "e"
    where = AREA_FILTER.format(alias=alias) if area is not None else ""
    if table == "building":
        stmt = sql.load("assign_buildings").format(where=where)
    elif table in POINT_TABLES:
        stmt = sql.load("assign_points").format(table=table, where=where)
    else:
        raise ValueError(f"not an assignable table: {table}")
    params = {"area": shapely.to_wkb(area)} if area is not None else {}
    return int(session.execute(text(stmt), params).rowcount)  # type: ignore[attr-defined]


def assign_table(session: Session, table: str) -> AssignCounts:
    """Re-assign every row of one table in one statement."""
    changed = _run(session, table, None)
    assigned, unassigned = session.execute(text(f"SELECT count(grid_id), count(*) - count(grid_id) FROM {table}")).one()
    return AssignCounts(table, int(assigned), int(unassigned), int(changed))


def assign_all(session: Session) -> list[AssignCounts]:
    """Re-assign buildings, households and incidents (bulk mode: one audit row per statement)."""
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
    try:
        return [assign_table(session, t) for t in ("building", "household", "incident")]
    finally:
        session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))


def reassign_area(session: Session, area: BaseGeometry) -> dict[str, int]:
    """Re-assign only the entities touching a changed area (EPSG:4326); the audit log records each move."""
    return {t: _run(session, t, area) for t in ("building", "household", "incident")}
