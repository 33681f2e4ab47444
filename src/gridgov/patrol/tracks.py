"""Patrol metrics: metres and time of each track inside each leaf grid, coverage per grid, tracks outside areas.

Time-inside rule (one rule for metres and seconds, applied in ``track_grid_stats.sql``): a track is the
chain of its timed points. Each segment between two consecutive points is split between the live leaf
grids by the fraction of its length inside each grid (``ST_Intersection`` of the segment with the grid),
and the segment's duration is split by the same fractions — the patrol is taken to move at constant speed
between two fixes. A segment lying on an edge shared by two grids would count in both, so the fractions of
a segment are normalised to sum to at most 1 (it is then split evenly); a stationary segment (two identical
fixes) gives its duration to the grid covering the point (split evenly when on a shared edge). Hence every
metre and second is counted at most once, and for a track wholly inside the street the seconds inside all
leaf grids sum to the track's duration (``ended_at - started_at``) less its gaps. Segments outside every leaf
grid are not counted. The cleaning's flags (:mod:`gridgov.patrol.cleaning`) hold: a GPS jump (跳点) is not in the
chain, and the segment ending at the first fix after a gap (断点) was not walked, so it counts nowhere.
``length_m`` is the distance walked inside the grid: a stretch walked twice counts twice (unlike the
length of one ``ST_Intersection`` of the whole line, which merges exactly overlapping parts). Metres are
measured on the spheroid (geography); fractions along the EPSG:4326 segment. ``entries``: the number of runs
of consecutive segments inside the grid (a track starting inside counts one entry).

Coverage: the union of the selected tracks buffered by ``patrol_buffer_m`` (in the metric Gauss-Krüger
projection chosen from the grids' centroid), intersected with each grid — parents included, since coverage
is not additive — over the grid's area in the same projection. Its ``length_m``/``seconds`` are the leaf
statistics rolled up through the hierarchy, so a parent equals the sum of its leaf children.

Kinds: every figure is of one kind of track (``kind``): night patrols (夜间巡逻, the default) or the grid staff's
daytime inspections (日巡查), which get their own figures through the same statements.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.config import PatrolSettings, defaults
from gridgov.db import cache
from gridgov.db.engine import NO_JIT, local_settings
from gridgov.db.revisions import GRID, PATROL, revision
from gridgov.errors import InvalidInput, NotFound
from gridgov.history import live
from gridgov.patrol import track_figures
from gridgov.patrol.track_figures import metric_srid
from gridgov.vocab import LEVELS, NIGHT_PATROL, TRACK_KINDS

MAX_BUFFER_M = 1000.0



@dataclass(frozen=True)
class TrackGridStat:
    """One track inside one live leaf grid: metres walked, seconds spent, entries."""

    track_id: int
    team_code: str | None
    night: dt.date
    shift: str | None
    grid_id: int
    grid_code: str
    length_m: float
    seconds_inside: float
    entries: int


@dataclass(frozen=True)
class Coverage:
    """Patrol coverage of one grid: buffered-track area inside it (m²), its area (m²), ratio, metres, seconds."""

    covered_m2: float
    area_m2: float
    ratio: float
    length_m: float
    seconds: float


@dataclass(frozen=True)
class OutsideTrack:
    """A track that leaves its team's patrol area by more than the tolerance (metres outside, share)."""

    track_id: int
    team_code: str
    team_name: str
    night: dt.date
    shift: str
    started_at: dt.datetime
    ended_at: dt.datetime
    length_m: float
    outside_m: float
    share: float
    max_distance_m: float | None
    has_area: bool
DEFAULT_BUFFER_M = defaults(PatrolSettings).patrol_buffer_m  # faces pass settings.patrol_buffer_m


def _filters(
    session: Session,
    date_from: dt.date | None,
    date_to: dt.date | None,
    team_code: str | None,
    track_ids: Sequence[int] | None,
    kind: str | None = NIGHT_PATROL,
) -> dict[str, Any]:
    """Bind parameters shared by the patrol SQL files, after checking them (``kind`` None: every kind)."""
    if kind is not None and kind not in TRACK_KINDS.terms:
        raise InvalidInput(f"轨迹类型应为 {' / '.join(TRACK_KINDS.terms)}：{kind}")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"日期范围无效：起始日期 {date_from} 晚于结束日期 {date_to}")
    if team_code is not None:
        found = session.execute(text(f"SELECT 1 FROM patrol_team t WHERE t.code = :c AND {live('t')}"),
                                {"c": team_code}).first()  # fmt: skip
        if found is None:
            raise NotFound(f"巡逻队不存在：{team_code}")
    return {
        "date_from": date_from,
        "date_to": date_to,
        "team_code": team_code,
        "track_ids": [int(i) for i in track_ids] if track_ids is not None else None,
        "kind": kind,
    }


def _buffer(buffer_m: float | None) -> float:
    """The buffer in metres (default ``patrol_buffer_m``), checked."""
    value = DEFAULT_BUFFER_M if buffer_m is None else float(buffer_m)
    if not math.isfinite(value) or value <= 0 or value > MAX_BUFFER_M:
        raise InvalidInput(f"缓冲距离无效：{buffer_m}（应在 0–{MAX_BUFFER_M:g} 米之间且大于 0）")
    return value


def _sql(name: str) -> str:
    """A patrol statement with the shared track selection (track_filter.sql) pasted in."""
    return track_figures.with_filter(name)


def _stats_sql() -> str:
    """The stored per (track, leaf grid) figures, usable as a sub-query."""
    return _sql("track_grid_stats_stored").strip().rstrip(";")


def track_grid_stats(
    session: Session,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    team_code: str | None = None,
    track_ids: Sequence[int] | None = None,
    kind: str | None = NIGHT_PATROL,
) -> list[TrackGridStat]:
    """Metres and seconds of each track of ``kind`` (None: every kind) inside each live leaf grid (nights in
    [date_from, date_to])."""
    params = _filters(session, date_from, date_to, team_code, track_ids, kind)
    track_figures.ensure_stats(session, params)
    stmt = f"{_stats_sql()}\n ORDER BY k.night, k.shift, t.code, k.started_at, g.code"
    rows = session.execute(text(stmt), params).all()
    return [
        TrackGridStat(
            track_id=int(r.track_id),
            team_code=r.team_code,
            night=r.night,
            shift=r.shift,
            grid_id=int(r.grid_id),
            grid_code=r.grid_code,
            length_m=float(r.length_m),
            seconds_inside=float(r.seconds_inside),
            entries=int(r.entries),
        )
        for r in rows
    ]


def grid_coverage(
    session: Session,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    buffer_m: float | None = None,
    level: str | None = None,
    team_code: str | None = None,
    grid_ids: Sequence[int] | None = None,
    kind: str = NIGHT_PATROL,
) -> dict[int, Coverage]:
    """Coverage of every live grid (or of one level, or of the grids ``grid_ids``) by the tracks of ``kind`` (night
    patrols, or the daytime inspections) of the period, keyed by grid id.

    Reads the stored per-track figures (computing those missing) and keeps the answer for the same question
    until a grid or a track changes.
    """
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}（可选 {', '.join(LEVELS)}）")
    params = _filters(session, date_from, date_to, team_code, None, kind)
    params.update(buffer_m=_buffer(buffer_m), level=level, srid=metric_srid(session),
                  grid_ids=sorted({int(i) for i in grid_ids}) if grid_ids is not None else None)  # fmt: skip
    revisions = f"{revision(session, GRID)}:{revision(session, PATROL)}"

    # every night track of a period: the stored per-night unions; a team, or daytime inspections: the tracks' own
    # footprints
    params["by_night"] = team_code is None and kind == NIGHT_PATROL

    def compute() -> list[list[float]]:
        srid, buffer = int(params["srid"]), float(params["buffer_m"])
        track_figures.ensure_stats(session, params)
        track_figures.ensure_footprints(session, params, srid, buffer)
        if params["by_night"]:
            track_figures.ensure_night_unions(session, srid, buffer, date_from, date_to)
        stmt = _sql("grid_coverage").replace("{track_grid_stats}", _stats_sql())
        with local_settings(session, NO_JIT):
            rows = session.execute(text(stmt), params).all()
        return [[int(r.grid_id), float(r.covered_m2), float(r.area_m2), float(r.length_m), float(r.seconds)]
                for r in rows]  # fmt: skip

    out: dict[int, Coverage] = {}
    for grid_id, covered, area, length_m, seconds in cache.cached(session, "coverage", params, revisions, compute):
        ratio = min(1.0, max(0.0, covered / area)) if area > 0 else 0.0
        out[int(grid_id)] = Coverage(covered, area, ratio, length_m, seconds)
    return out


def tracks_outside_area(
    session: Session,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    team_code: str | None = None,
    track_ids: Sequence[int] | None = None,
    buffer_m: float | None = None,
    min_outside_m: float = 50.0,
) -> list[OutsideTrack]:
    """Night tracks leaving their team's patrol area by more than ``buffer_m`` (a fix, or ``min_outside_m`` of
    line)."""
    params = _filters(session, date_from, date_to, team_code, track_ids)
    params.update(buffer_m=_buffer(buffer_m), srid=metric_srid(session), min_outside_m=float(min_outside_m))
    with local_settings(session, NO_JIT):
        rows = session.execute(text(_sql("tracks_outside_area")), params).all()
    return [
        OutsideTrack(
            track_id=int(r.track_id),
            team_code=r.team_code,
            team_name=r.team_name,
            night=r.night,
            shift=r.shift,
            started_at=r.started_at,
            ended_at=r.ended_at,
            length_m=float(r.length_m),
            outside_m=float(r.outside_m),
            share=min(1.0, float(r.outside_m) / float(r.length_m)) if r.length_m else 1.0,
            max_distance_m=float(r.max_distance_m) if r.max_distance_m is not None else None,
            has_area=bool(r.has_area),
        )
        for r in rows
    ]
