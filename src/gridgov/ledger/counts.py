"""Per-grid counts (户数, 人数, 党员数 …) for live grids, rolled up from leaf grids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql
from gridgov.history import VERSIONED, live
from gridgov.vocab import LEVELS

COUNT_COLUMNS = (
    "households",
    "hh_resident",
    "hh_rented",
    "hh_vacant",
    "hh_shop",
    "persons",
    "party_members",
    "resident_reps",
    "volunteers",
    "buildings",
)


def grid_counts(session: Session) -> dict[int, dict[str, Any]]:
    """Counts keyed by grid identity id, for every live grid (zero rows included): the ledger's numbers."""
    from gridgov.ledger.report import build_ledger

    rows = build_ledger(session, with_patrol=False).rows
    return {r.grid_id: {c: getattr(r, c) for c in COUNT_COLUMNS} for r in rows}


def level_counts(session: Session, table: str) -> dict[str, int]:
    """Rows of an assigned table (gridgov.assign.points.ASSIGNED_TABLES) per grid level, through the hierarchy, in
    level order."""
    if table not in ("household", "incident", "building", "resident_unit"):
        raise ValueError(f"not an assigned table: {table}")
    where = live("e") if table in VERSIONED else "TRUE"
    stmt = sql.load("level_counts").format(table=table, where=where)
    rows = {str(level): int(n) for level, n in session.execute(text(stmt))}
    return {level: rows[level] for level in LEVELS if level in rows}  # always street → … → building
