"""Assign households, incidents and buildings to leaf grids with set-based PostGIS statements.

Boundary rule: a point is assigned to the live leaf grid that covers it (``ST_Covers``, so points
on a boundary count as inside). When several leaf grids cover a point — it lies exactly on a shared
edge or vertex — the grid whose code sorts first wins. Every point is therefore counted once; a point
outside every grid keeps ``grid_id = NULL`` and is reported as unassigned, never dropped.
Persons follow their household; parent grids come from the hierarchy, not a second spatial join.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def assign_table(session: Session, table: str) -> AssignCounts:
    """Re-assign every row of one table in one statement."""
    if table == "building":
        changed = session.execute(text(sql.load("assign_buildings"))).rowcount  # type: ignore[attr-defined]
    elif table in POINT_TABLES:
        stmt = sql.load("assign_points").format(table=table)
        changed = session.execute(text(stmt)).rowcount  # type: ignore[attr-defined]
    else:
        raise ValueError(f"not an assignable table: {table}")
    assigned, unassigned = session.execute(text(f"SELECT count(grid_id), count(*) - count(grid_id) FROM {table}")).one()
    return AssignCounts(table, int(assigned), int(unassigned), int(changed))


def assign_all(session: Session) -> list[AssignCounts]:
    """Re-assign buildings, households and incidents (bulk mode: one audit row per statement)."""
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
    try:
        return [assign_table(session, t) for t in ("building", "household", "incident")]
    finally:
        session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
