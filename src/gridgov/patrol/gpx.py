"""Import patrol tracks from a GPX file: validate everything, clean, then write all tracks or none.

One ``<trk>`` becomes one ``patrol_track``: a team's (or one person's) night shift, or a person's daytime inspection
(日巡查). The points of all its ``<trkseg>`` are concatenated in file order; whether the recording paused between
them is the cleaning's question (a long pause is a gap: the line is split there, see
:mod:`gridgov.patrol.cleaning`). Times without a zone are UTC (the GPX rule). The night and shift come from the
timestamps in the configured zone (Asia/Shanghai): 上半夜 is 20:00–23:30 and 下半夜 23:30–06:00 of the next day,
both belonging to the evening's date (02:00 on 2026-10-02 is night 2026-10-01). A track is given the shift it
overlaps longest; a ``<name>`` of the form ``2026-10-01 上半夜`` or a ``<type>`` naming a shift must agree, and a
``<desc>`` naming another team is refused. Coordinates are WGS84 (the GPX rule) unless ``crs="gcj02"``
(Amap/Tencent exports). Equal consecutive timestamps are accepted; a time going backwards is not. Everything else
(the coordinate rule, who walked, scope, duplicates, writing) is :mod:`gridgov.patrol.track_import`'s.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import InvalidInput
from gridgov.geo.extent import MAX_DISTANCE_M
from gridgov.history import live
from gridgov.patrol.cleaning import DEFAULT_MAX_GAP_MINUTES, DEFAULT_MAX_SPEED_KMH
from gridgov.patrol.track_import import (
    ImportedTrack,
    Problems,
    RawTrack,
    TrackImportReport,
    check_crs,
    resolve_target,
    write_tracks,
)
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import SHIFTS

__all__ = ["ImportedTrack", "TrackImportReport", "import_gpx", "read_gpx"]

NAME_RE = re.compile(rf"^\s*(\d{{4}}-\d{{2}}-\d{{2}})(?:\s*({'|'.join(SHIFTS)}))?")


def _utc(t: dt.datetime) -> dt.datetime:
    """An aware datetime; GPX times without a zone are UTC."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _read(path: Path) -> gpxpy.gpx.GPX:
    """Parse the file, turning every parser failure into InvalidInput."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取 GPX 文件：{path}（{exc.strerror}）") from exc
    try:
        return gpxpy.parse(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"GPX 文件不是 UTF-8 编码：{path.name}") from exc
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise InvalidInput(f"GPX 文件格式错误：{path.name}（{exc}）") from exc


def _claims(trk: gpxpy.gpx.GPXTrack) -> tuple[dt.date | None, str | None]:
    """The night and shift a ``<trk>``'s name (``2026-10-01 上半夜``) or type claims."""
    m = NAME_RE.match(trk.name or "")
    night = None
    if m:
        try:
            night = dt.date.fromisoformat(m.group(1))
        except ValueError:
            night = None
    shift = (trk.type or "").strip() or (m.group(2) if m else None)
    return night, shift


def read_gpx(path: Path, person: str | None = None) -> list[RawTrack]:
    """The ``<trk>`` s of a GPX file as raw tracks (``person``: whose they are, when one person's)."""
    gpx = _read(path)
    if not gpx.tracks:
        extra = "（文件只有航点/路线，巡逻轨迹应为 <trk>）" if gpx.waypoints or gpx.routes else ""
        raise InvalidInput(f"GPX 文件中没有轨迹：{path.name}{extra}")
    out: list[RawTrack] = []
    for i, trk in enumerate(gpx.tracks, start=1):
        name = (trk.name or "").strip() or None
        points = [p for seg in trk.segments for p in seg.points]
        night, shift = _claims(trk)
        out.append(RawTrack(
            index=i,
            label=f"第 {i} 条轨迹" + (f"「{name}」" if name else ""),
            name=name,
            lon=np.array([p.longitude for p in points], dtype=np.float64),  # None: NaN
            lat=np.array([p.latitude for p in points], dtype=np.float64),
            times=[_utc(p.time) if p.time is not None else None for p in points],
            elevation=[p.elevation for p in points],
            person=person,
            claimed_night=night,
            claimed_shift=shift,
            claimed_team=(trk.description or "").strip() or None,
        ))  # fmt: skip
    return out


def import_gpx(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    team_code: str | None = None,
    staff_code: str | None = None,
    kind: str | None = None,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    buffer_m: float | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_gap_minutes: float = DEFAULT_MAX_GAP_MINUTES,
) -> TrackImportReport:
    """Import every ``<trk>`` of a GPX file as a team's (or ``staff_code``'s) tracks of ``kind`` (night patrol by
    default); a bad track rejects the file.

    The tracks' teams' patrol areas (or, for a track without one, the track itself) must lie in the actor's scope.
    The tracks' figures are stored at once (their footprints too for ``buffer_m``, the configured patrol buffer).
    A fix farther than ``max_distance_m`` (the configured ``import_max_distance_m``) from every live grid rejects
    its track; jumps and gaps (``max_speed_kmh``, ``max_gap_minutes``) are flagged and reported.
    """
    path = Path(path)
    target = resolve_target(session, actor, kind=kind, team_code=team_code, staff_code=staff_code)
    check_crs(crs, "GPX")
    raw = read_gpx(path, staff_code)
    problems = Problems("GPX")
    if target.team_code:
        others = set(session.execute(text(f"SELECT t.code FROM patrol_team t WHERE t.code <> :c AND {live('t')}"),
                                     {"c": target.team_code}).scalars())  # fmt: skip
        for r in raw:
            if r.claimed_team not in others:
                r.claimed_team = None  # a description that is not another team's code is just a description
    else:
        for r in raw:
            r.claimed_team = None
    return write_tracks(session, target, raw, file=path.name, fmt="GPX", actor=actor, problems=problems, crs=crs,
                        dry_run=dry_run, timezone=timezone, buffer_m=buffer_m, max_distance_m=max_distance_m,
                        max_speed_kmh=max_speed_kmh, max_gap_minutes=max_gap_minutes)  # fmt: skip
