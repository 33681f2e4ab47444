"""Assign households, incidents and buildings to leaf grids with set-based PostGIS statements.

Boundary rule: a point is assigned to the live leaf grid that covers it (``ST_Covers``, so points
on a boundary count as inside). When several leaf grids cover a point — it lies exactly on a shared
edge or vertex — the grid whose code sorts first wins. Every point is therefore counted once; a point
outside every grid keeps ``grid_id = NULL`` and is reported as unassigned, never dropped.
Persons follow their household; parent grids come from the hierarchy, not a second spatial join.

Two paths apply the rule. Writes of one entity are assigned in the same transaction by the BEFORE
triggers of migration 0003 (``gridgov_leaf_for_point`` / ``gridgov_leaf_for_building``), unless the
transaction is in bulk mode (``gridgov.bulk = on``): bulk loaders run :func:`assign_table` /
:func:`assign_all` (or :func:`assign_rows` for a few new rows) afterwards, or assign staged rows before
inserting them (:func:`assign_staged`). Grid edits call :func:`reassign_area`, which re-runs the set-based
statements over the changed area only; the audit log records every row that moved. Both paths take the
same advisory lock (writers shared, re-assignment exclusive), so a re-assignment never misses a row
written concurrently against the old grids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql
from gridgov.db.engine import NO_JIT, local_settings
from gridgov.db.locks import writers_lock
from gridgov.history import VERSIONED, live
from gridgov.patrol import track_figures

POINT_TABLES = ("household", "incident", "resident_unit")
ASSIGNED_TABLES = ("building", *POINT_TABLES)

# Advisory lock class shared with gridgov_assign_on_write() (migration 0003); the key is the table's oid.
LOCK_CLASS = 1735551332

# Planner settings for a whole-table run, local to the transaction and restored afterwards: no JIT (its
# compile time exceeds its gain here) and room to sort the candidates of a first assignment in memory.
BULK_SETTINGS = {"jit": "off", "work_mem": "512MB"}

# For the whole-table per-leaf scan only: a parallel plan even over a small grid table, leaves streamed to the
# workers through a hash anti join, grouped with a hash (a merge anti join would sort first, and so hand nearly
# all leaves to whichever process happened to read the grid table).
SCAN_SETTINGS = {
    "min_parallel_table_scan_size": "0",
    "parallel_setup_cost": "100",
    "parallel_tuple_cost": "0.01",
    "enable_mergejoin": "off",
    "enable_sort": "off",
}
# For an area's scan: the same join shape (leaves filtered before the spatial join), no parallel start-up.
AREA_SCAN_SETTINGS = {"enable_mergejoin": "off", "enable_sort": "off"}

# Below this many rows, assign_rows() applies the one-row rule per row instead of a whole-table pass.
ROWWISE_LIMIT = 50_000
# Above this many buildings, assign_rows() runs the set-based rule restricted to them instead of one row at a time.
BUILDING_ROWWISE_LIMIT = 1_000

AREA = "ST_GeomFromWKB(:area, 4326)"

# The temp table assign_staged() leaves its result in: (id, old, gid, old_covers), dropped at commit.
STAGED_TABLE = "gridgov_assign_move"


@dataclass(frozen=True)
class AssignCounts:
    """How many rows of one table are assigned and unassigned, and how many moved in this run."""

    table: str
    assigned: int
    unassigned: int
    changed: int


def _check(table: str) -> None:
    if table not in ASSIGNED_TABLES:
        raise ValueError(f"not an assignable table: {table}")


def _lock(session: Session, table: str, *, shared: bool = False) -> None:
    """Take the re-assignment lock of ``table`` (waits for transactions that wrote its geometry), or the writers'."""
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(
        text(f"SELECT {fn}(:k, CAST(CAST(CAST(:t AS regclass) AS oid) AS int))"),
        {"k": LOCK_CLASS, "t": table},
    )


def _points(
    session: Session, table: str, leaf_where: str, where: str, params: dict[str, object]
) -> tuple[int, int, int]:
    """The set-based point assignment (assign_points.sql); returns rows changed, assigned and all (in the area)."""
    s = {k: v.format(table=table, leaf_where=leaf_where, where=where) for k, v in sql.sections("assign_points").items()}
    session.execute(text("DROP TABLE IF EXISTS gridgov_assign_scan, gridgov_assign_move"))
    with local_settings(session, AREA_SCAN_SETTINGS if "area" in params else SCAN_SETTINGS):
        session.execute(text(s["scan"]), params)
    session.execute(text(s["move"]), params)
    changed = int(session.execute(text(s["apply"])).rowcount)  # type: ignore[attr-defined]
    covered = int(session.execute(text(s["covered"])).scalar_one())
    assigned, total = (int(n) for n in session.execute(text(s["assigned"]), params).one())
    if assigned > covered:  # some rows keep a grid that covers them no more
        stale = [int(g) for g in session.execute(text(s["stale"]), params).scalars()]
        dropped = int(session.execute(text(s["unassign"]), {**params, "stale": stale}).rowcount)  # type: ignore[attr-defined]
        changed += dropped
        assigned -= dropped
    session.execute(text("DROP TABLE gridgov_assign_scan, gridgov_assign_move"))
    return changed, assigned, total


def _run(session: Session, table: str, area: BaseGeometry | None) -> tuple[int, int, int]:
    """Re-assign the whole table, or the rows touching ``area``; returns rows changed, assigned and all."""
    _check(table)
    _lock(session, table)
    alias = "b" if table == "building" else "e"
    params: dict[str, object] = {}
    leaf_where = ""
    where = f"AND {live(alias)}" if table in VERSIONED else ""  # history rows and retired records stay as they were
    if area is not None:
        params["area"] = shapely.to_wkb(area)
        where += f" AND ST_Intersects({alias}.geom, {AREA})"
        # A leaf covering a point of the area meets the area; a leaf overlapping a footprint that meets the area
        # may lie outside it, yet compete for that building.
        leaf_where = (
            f"AND ST_Intersects(l.geom, {AREA})"
            if table != "building"
            else f"AND l.geom && (SELECT ST_SetSRID(ST_Extent(x.geom)::geometry, 4326) FROM building x "
            f"WHERE {live('x')} AND ST_Intersects(x.geom, {AREA}))"
        )
    settings = BULK_SETTINGS if area is None else NO_JIT
    with local_settings(session, settings):
        if table == "building":
            stmt = sql.load("assign_buildings").format(leaf_where=leaf_where, where=where)
            changed = int(session.execute(text(stmt), params).rowcount)  # type: ignore[attr-defined]
            counts = f"SELECT count(b.grid_id), count(*) FROM building b WHERE TRUE {where}"
            assigned, total = (int(n) for n in session.execute(text(counts), params).one())
            return changed, assigned, total
        return _points(session, table, leaf_where, where, params)


def assign_table(session: Session, table: str) -> AssignCounts:
    """Re-assign every row of one table; only rows whose grid changes are written."""
    changed, assigned, total = _run(session, table, None)
    return AssignCounts(table, assigned, total - assigned, changed)


def assign_all(session: Session) -> list[AssignCounts]:
    """Re-assign buildings, households and incidents (bulk mode: one audit row per statement)."""
    writers_lock(session)  # all three tables' locks first, before any row lock (gridgov.db.locks)
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
    try:
        return [assign_table(session, t) for t in ASSIGNED_TABLES]
    finally:
        session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))


def assign_rows(session: Session, table: str, ids: Sequence[int]) -> int:
    """Assign the given rows (e.g. just bulk-inserted ones); returns rows changed. Large sets use the table pass."""
    _check(table)
    if len(ids) > ROWWISE_LIMIT:
        return _run(session, table, None)[0]
    _lock(session, table)
    if table == "building" and len(ids) > BUILDING_ROWWISE_LIMIT:
        # The set-based rule over these rows only, with the leaves near them: the one-row function costs
        # ~0.45 ms per footprint (15 s for 33,000), the restricted pass ~1.5 s.
        ids_sql = "CAST(:ids AS bigint[])"
        near = f"SELECT ST_SetSRID(ST_Extent(x.geom)::geometry, 4326) FROM building x WHERE x.id = ANY ({ids_sql})"
        stmt = sql.load("assign_buildings").format(leaf_where=f"AND l.geom && ({near})",
                                                   where=f"AND b.id = ANY ({ids_sql})")  # fmt: skip
        with local_settings(session, NO_JIT):
            return int(session.execute(text(stmt), {"ids": list(ids)}).rowcount)  # type: ignore[attr-defined]
    fn = "gridgov_leaf_for_building" if table == "building" else "gridgov_leaf_for_point"
    stmt = f"""UPDATE {table} t SET grid_id = w.gid
                 FROM (SELECT x.id, {fn}(x.geom) AS gid FROM {table} x WHERE x.id = ANY(CAST(:ids AS bigint[]))) w
                WHERE t.id = w.id AND t.grid_id IS DISTINCT FROM w.gid"""
    return int(session.execute(text(stmt), {"ids": list(ids)}).rowcount)  # type: ignore[attr-defined]


# Whether grid's statistics are missing or stale (more than a fifth of it changed since the last ANALYZE).
_GRID_STATS_STALE = text(
    """SELECT c.reltuples < 0 OR coalesce(s.n_mod_since_analyze, 0) > 0.2 * greatest(c.reltuples, 1000)
         FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = 'grid'::regclass"""
)


def assign_staged(session: Session, staging: str, table: str = "household") -> str:
    """Assign rows before they are written; returns the temp table ``(id, gid)`` of the covered rows' leaves.

    For bulk loaders: ``staging`` is a table with ``id bigint`` (the ids the rows will get), ``geom`` (points,
    EPSG:4326) and ``grid_id bigint`` (all NULL); it gets a GiST index on ``geom`` and fresh statistics here.
    Insert into ``table`` with ``LEFT JOIN <returned table> m ON m.id = s.id`` and ``m.gid`` as ``grid_id``:
    the rows are written once, already assigned (ids missing from the result are outside every leaf). Dropped
    at commit. Takes the writers' lock of ``table`` first, so a grid edit's re-assignment waits for these rows
    instead of missing them.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", staging):
        raise ValueError(f"not a table name: {staging}")
    if table not in POINT_TABLES:
        raise ValueError(f"not a point table: {table}")
    _lock(session, table, shared=True)
    session.execute(text(f"CREATE INDEX IF NOT EXISTS {staging}_geom_gist ON {staging} USING gist (geom)"))
    session.execute(text(f"ANALYZE {staging}"))
    if session.execute(_GRID_STATS_STALE).scalar():
        # Without statistics (grids imported moments ago, before autovacuum) the planner takes the scan's
        # worst plan: at 10^5 compounds and 10^7 points that ran for over half an hour instead of minutes.
        session.execute(text("ANALYZE grid"))
    s = {k: v.format(table=staging, leaf_where="", where="") for k, v in sql.sections("assign_points").items()}
    session.execute(text("DROP TABLE IF EXISTS gridgov_assign_scan, gridgov_assign_move"))
    with local_settings(session, {**BULK_SETTINGS, **SCAN_SETTINGS}):
        session.execute(text(s["scan"]))
    with local_settings(session, BULK_SETTINGS):
        session.execute(text(s["move"]))
    session.execute(text("DROP TABLE gridgov_assign_scan"))
    return STAGED_TABLE


def reassign_area(session: Session, area: BaseGeometry, *, patrol_figures: bool = True) -> dict[str, int]:
    """Re-assign only the entities touching a changed area (EPSG:4326), and bring the stored patrol figures of
    the tracks near it up to date (unless ``patrol_figures`` is False: a preview that will be rolled back);
    the audit log records each move."""
    moved = {t: _run(session, t, area)[0] for t in ASSIGNED_TABLES}
    if patrol_figures:
        track_figures.after_grid_change(session, area)
    return moved
