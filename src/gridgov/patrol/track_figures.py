"""Stored patrol figures: each track's statistics inside each leaf grid and its buffered footprint.

Computing them for every request was the slow part of the ledger and the coverage map (the whole street's
tracks re-cut by every grid, re-buffered and re-unioned each time). They depend only on one track and on the
live leaf grids, so they are computed once and kept:

- **Statistics** (``track_grid_stat``): written when a track is imported; when a grid changes, the grid
  writers call :func:`after_grid_change` with the changed area, which recomputes the tracks near it and
  re-stamps the others. Each track carries the grid revision it was computed against (``track_derived``);
  the ``grid`` revision is raised by a trigger on every change to a live grid's geometry, parent, level or
  life, so a change made by any other path (plain SQL, a restore) leaves the stamps behind, and readers
  recompute exactly those tracks (:func:`ensure_stats`). Stored figures are therefore never stale.
- **Footprints** (``track_footprint``): the track buffered in the metric projection, made at import for the
  configured buffer (or on first use for another) and kept for the few buffers asked for most recently; and
  their union per night (``night_footprint``), so a period's coverage unions a few nights, not every track.

Readers that fill in missing figures write; they serialise on one advisory lock, so two requests never
compute the same rows at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.db import sql
from gridgov.db.engine import NO_JIT, local_settings
from gridgov.db.revisions import GRID, revision
from gridgov.geo.crs import metric_epsg
from gridgov.vocab import NIGHT_PATROL

# The advisory lock (class, key) under which stored figures are written.
LOCK = (1735551333, 1)
# Footprints are kept for this many (buffer, projection) pairs, the most recently made.
KEEP_BUFFERS = 3
# Longitude whose Gauss-Krüger zone is used before any grid or track exists.
DEFAULT_LON = 108.0


def metric_srid(session: Session) -> int:
    """The metric CGCS2000 Gauss-Krüger EPSG code for the data (centroid of live grids, else of tracks)."""
    lon = session.execute(
        text(
            "SELECT coalesce("
            " (SELECT ST_X(ST_Centroid(ST_Extent(geom)::geometry)) FROM grid"
            "   WHERE valid_to IS NULL AND lineage_id IS NULL),"
            " (SELECT ST_X(ST_Centroid(ST_Extent(geom)::geometry)) FROM patrol_track))"
        )
    ).scalar_one()
    return metric_epsg(float(lon) if lon is not None else DEFAULT_LON)


def track_filter() -> str:
    """The shared selection of patrol tracks (``track_filter.sql``, comments stripped), to paste into SQL."""
    lines = sql.load("track_filter").splitlines()
    return "\n".join(line for line in lines if not line.startswith("--")).strip()


def with_filter(name: str) -> str:
    """A patrol statement with the shared track selection pasted in."""
    return sql.load(name).replace("{track_filter}", track_filter())


def _lock(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": LOCK[0], "k": LOCK[1]})


def _no_filter(track_ids: Sequence[int] | None = None) -> dict[str, object]:
    return {"date_from": None, "date_to": None, "team_code": None, "kind": None,
            "track_ids": [int(i) for i in track_ids] if track_ids is not None else None}  # fmt: skip


# The track selection of every track, night patrols and daytime inspections (for ensure_stats / ensure_footprints).
ALL_TRACKS = _no_filter()


def refresh(session: Session, track_ids: Sequence[int], buffer_m: float | None = None) -> int:
    """Recompute and store the leaf statistics of these tracks, stamped with the current grid revision, and their
    footprints for ``buffer_m`` (the configured patrol buffer) when given."""
    ids = sorted({int(i) for i in track_ids})
    if not ids:
        return 0
    _lock(session)
    if buffer_m is not None:
        srid = metric_srid(session)
        ensure_footprints(session, _no_filter(ids), srid, buffer_m)
        nights = text("SELECT min(night), max(night) FROM patrol_track WHERE id = ANY (CAST(:ids AS bigint[]))")
        first, last = session.execute(nights, {"ids": ids}).one()
        ensure_night_unions(session, srid, buffer_m, first, last)
    stats = with_filter("track_grid_stats").strip().rstrip(";")
    params = {**_no_filter(ids), "grid_rev": revision(session, GRID)}
    with local_settings(session, NO_JIT):
        for stmt in sql.statements("track_figures_refresh"):
            stmt = stmt.replace("{track_grid_stats}", stats)
            session.execute(text(stmt), {k: v for k, v in params.items() if f":{k}" in stmt})
    return len(ids)


def ensure_stats(session: Session, filters: dict[str, object]) -> int:
    """Compute the statistics of the selected tracks that have none or stale ones; returns how many."""
    stmt = text(with_filter("track_figures_stale"))
    params = {**filters, "grid_rev": revision(session, GRID)}
    if session.execute(stmt, params).first() is None:
        return 0
    _lock(session)  # then look again: another request may have done it meanwhile
    stale = session.execute(stmt, {**params, "grid_rev": revision(session, GRID)}).scalars().all()
    return refresh(session, stale)


def ensure_footprints(session: Session, filters: dict[str, object], srid: int, buffer_m: float) -> None:
    """Make the footprints the selected tracks lack for this buffer and projection."""
    probe = (
        "SELECT 1 FROM patrol_track k LEFT JOIN patrol_team t ON t.id = k.team_id WHERE {track_filter}"
        " AND NOT EXISTS (SELECT 1 FROM track_footprint f WHERE f.track_id = k.id"
        " AND f.buffer_m = CAST(:buffer_m AS float8) AND f.srid = CAST(:srid AS int)) LIMIT 1"
    ).replace("{track_filter}", track_filter())
    params = {**filters, "srid": srid, "buffer_m": buffer_m, "keep": KEEP_BUFFERS}
    if session.execute(text(probe), params).first() is None:
        return
    _lock(session)
    with local_settings(session, NO_JIT):
        for stmt in sql.statements("track_footprints"):
            stmt = stmt.replace("{track_filter}", track_filter())
            session.execute(text(stmt), {k: v for k, v in params.items() if f":{k}" in stmt})


def ensure_night_unions(session: Session, srid: int, buffer_m: float, date_from: object, date_to: object) -> None:
    """Make the per-night footprint unions of the nights in [date_from, date_to] (None = open) that are missing
    or were made from other footprints than the nights have now."""
    _lock(session)
    params = {"srid": srid, "buffer_m": buffer_m, "date_from": date_from, "date_to": date_to,
              "night_kind": NIGHT_PATROL}  # fmt: skip
    with local_settings(session, NO_JIT):
        for stmt in sql.statements("night_footprints"):
            session.execute(text(stmt), params)


def after_grid_change(session: Session, area: BaseGeometry) -> int:
    """After grids changed in ``area`` (EPSG:4326): recompute the tracks near it, re-stamp the others.

    Only tracks that were current before this transaction's first grid change are re-stamped; any left
    behind by a change that did not come through here stay stale and are recomputed when next read.
    """
    base = session.execute(text("SELECT current_setting('gridgov.base_rev_grid', true)")).scalar_one()
    if not base:
        return 0  # no live grid changed in this transaction: nothing is stale
    near = session.execute(text(sql.load("track_figures_near")), {"area": shapely.to_wkb(area)}).scalars().all()
    done = refresh(session, near)
    session.execute(
        text("UPDATE track_derived SET grid_rev = :now WHERE grid_rev >= :base AND grid_rev <> :now"),
        {"now": revision(session, GRID), "base": int(base)},
    )
    return done
