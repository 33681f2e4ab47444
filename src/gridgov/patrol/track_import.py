"""The one path of every track import (GPX, CSV): validate everything, clean, then write all tracks or none.

A reader (:mod:`gridgov.patrol.gpx`, :mod:`gridgov.patrol.csv_tracks`) turns a file into :class:`RawTrack` s; this
module judges them and writes them:

- **Who walked**: a night patrol (夜间巡逻) belongs to a team — the one named, or else the team the track's person
  is a member of that night (``patrol_team_member`` in force); a daytime inspection (日巡查) belongs to a staff
  member (the person named or the file's person column), a team being optional.
- **When**: a night patrol must fall in a night window (:func:`gridgov.patrol.shifts.night_shift`: the shift it
  overlaps longest; a track crossing midnight belongs to the evening it started); a daytime inspection is accepted
  at any hour, its ``night`` being the local date it started, without a shift.
- **Where**: a fix farther than ``max_distance_m`` from every live grid rejects its track (the rule every importer
  shares, :mod:`gridgov.geo.extent`); coordinates are WGS84 unless ``crs="gcj02"`` (converted here).
- **Cleaning** (:mod:`gridgov.patrol.cleaning`): jumps and gaps are flagged on the points, the line is split at the
  gaps, and the report lists them per track (counts and times).

Writing is set-based: one INSERT … SELECT from arrays for the tracks, one for all their points, inside a savepoint
(a dry run rolls it back after computing the report). The tracks' figures are stored at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.geo.extent import MAX_DISTANCE_M, coordinate_reasons
from gridgov.history import live
from gridgov.patrol import track_figures
from gridgov.patrol.cleaning import DEFAULT_MAX_GAP_MINUTES, DEFAULT_MAX_SPEED_KMH, Gap, clean
from gridgov.patrol.shifts import night_shift
from gridgov.patrol.tracks import OutsideTrack, tracks_outside_area
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import DAY_INSPECTION, NIGHT_PATROL, SHIFTS, TRACK_KINDS

MAX_REASONS_PER_TRACK = 5
MAX_REASONS_SHOWN = 20
MAX_DETAILS = 500  # problems listed in the error's details (the message counts them all)
FORMATS = {".gpx": "GPX", ".csv": "CSV"}


def team_missing(code: str) -> NotFound:
    """The error for a team that does not exist, saying how to create it."""
    how = f"请先创建：gridgov patrol team add {code} --name 名称（或在「巡逻队」页面新建）"
    return NotFound(f"巡逻队不存在：{code}。{how}", details={"team_code": code})


@dataclass
class RawTrack:
    """A track as a reader found it, before any judgement: its fixes (NaN / None where missing) and what the file
    claims about it. ``rows``: the file row of each fix (CSV), or None (fixes are numbered within the track)."""

    index: int
    label: str
    name: str | None
    lon: np.ndarray
    lat: np.ndarray
    times: list[dt.datetime | None]
    elevation: list[float | None] = field(default_factory=list)
    rows: list[int] | None = None
    person: str | None = None
    claimed_night: dt.date | None = None
    claimed_shift: str | None = None
    claimed_team: str | None = None


@dataclass(frozen=True)
class ImportedTrack:
    """One imported track: its number in the file, night (a daytime inspection: its date), shift (None by day),
    times, points, new row id, who walked it and what the cleaning found (times of jumps, gaps)."""

    index: int
    name: str | None
    night: dt.date
    shift: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    points: int
    track_id: int | None
    kind: str = NIGHT_PATROL
    team_code: str | None = None
    staff_code: str | None = None
    staff_name: str | None = None
    jumps: list[dt.datetime] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


@dataclass(frozen=True)
class TrackImportReport:
    """What an import wrote (or would write, in a dry run), what the cleaning found, and which new night tracks
    leave their team's patrol area."""

    file: str
    team_code: str | None
    dry_run: bool
    tracks: int
    points: int
    nights: list[dt.date]
    shifts: dict[str, int]
    items: list[ImportedTrack] = field(default_factory=list)
    outside: list[OutsideTrack] = field(default_factory=list)
    kind: str = NIGHT_PATROL
    staff_code: str | None = None
    jumps: int = 0
    gaps: int = 0


@dataclass(frozen=True)
class Target:
    """Whom the file's tracks belong to, as the caller named them: the kind, the team and the person (or None)."""

    kind: str
    team_id: int | None
    team_code: str | None
    staff_code: str | None


@dataclass
class _Track:
    """A validated, cleaned track waiting to be written."""

    raw: RawTrack
    night: dt.date
    shift: str | None
    times: list[dt.datetime]
    lonlat: np.ndarray
    elevation: list[float | None]
    flags: list[str | None]
    parts: list[np.ndarray]
    jumps: list[dt.datetime]
    gaps: list[Gap]
    team_id: int | None = None
    team_code: str | None = None
    staff_id: int | None = None
    staff_code: str | None = None
    staff_name: str | None = None

    @property
    def key(self) -> tuple[int | None, int | None, dt.date, str | None, dt.datetime]:
        """What makes a track unique (patrol_track_once)."""
        return self.team_id, self.staff_id, self.night, self.shift, self.times[0]


class Problems:
    """The problems found in a file: track, point or row numbers and Chinese reasons."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.items: list[dict[str, Any]] = []
        self.total = 0
        self._per_track: Counter[int] = Counter()

    def add(self, reason: str, *, track: RawTrack | None = None, point: int | None = None,
            row: int | None = None) -> None:  # fmt: skip
        """Record one problem (a whole track, one of its points, or a file row)."""
        if track is not None and track.rows is not None and point is not None:
            row, point = track.rows[point - 1], None
        where = ""
        if row is not None:
            where = f"第 {row} 行" + (f"（{track.label}）" if track is not None else "")
        elif track is not None:
            where = track.label + (f"第 {point} 个点" if point is not None else "")
        self.total += 1
        if track is not None:
            self._per_track[track.index] += 1
        if len(self.items) < MAX_DETAILS:
            self.items.append({"track": track.index if track is not None else None,
                               "name": track.name if track is not None else None, "point": point, "row": row,
                               "reason": reason, "message": f"{where}：{reason}" if where else reason})  # fmt: skip

    def of(self, track: RawTrack) -> int:
        """How many problems this track has."""
        return self._per_track[track.index]

    def raise_if_any(self, file: str) -> None:
        """InvalidInput listing the first problems, when there are any: nothing is imported."""
        if not self.total:
            return
        shown = [p["message"] for p in self.items[:MAX_REASONS_SHOWN]]
        more = f"\n……另有 {self.total - len(shown)} 处" if self.total > len(shown) else ""
        raise InvalidInput(f"{self.fmt} 文件 {file} 有 {self.total} 处错误，未导入任何轨迹：\n"
                           + "\n".join(shown) + more, details=self.items)  # fmt: skip


def check_crs(crs: Any, fmt: str) -> Any:
    """None (WGS84), or gcj02; CGCS2000 geographic coordinates are taken as WGS84 (they differ by centimetres)."""
    if crs is None or crs == "":
        return None
    parsed = parse_crs(crs)
    if parsed == GCJ02:
        return GCJ02
    if not isinstance(parsed, str) and parsed.to_epsg() in (4326, 4490):
        return None
    raise InvalidInput(f"{fmt} 轨迹只能是经纬度坐标（WGS84 或 gcj02），不支持 {crs}")


def resolve_target(session: Session, actor: Actor, *, kind: str | None, team_code: str | None,
                   staff_code: str | None) -> Target:  # fmt: skip
    """Check the actor may import tracks and that the named team exists (saying how to create it if not)."""
    authorize(session, actor, "patrol")
    canon = TRACK_KINDS.canonical(kind or NIGHT_PATROL)
    if canon not in TRACK_KINDS.terms:
        raise InvalidInput(f"轨迹类型应为 {' / '.join(TRACK_KINDS.terms)}：{kind}")
    team_code = (team_code or "").strip() or None
    staff_code = (staff_code or "").strip() or None
    team_id = None
    if team_code is not None:
        team_id = session.execute(text(f"SELECT id FROM patrol_team t WHERE t.code = :c AND {live('t')}"),
                                  {"c": team_code}).scalar()  # fmt: skip
        if team_id is None:
            raise team_missing(team_code)
    if staff_code is not None:
        failed = _staff(session, [staff_code])[1]
        if failed:
            raise NotFound(failed[staff_code])
    return Target(canon, int(team_id) if team_id is not None else None, team_code, staff_code)


def _staff(session: Session, values: Sequence[str]) -> tuple[dict[str, tuple[int, str, str]], dict[str, str]]:
    """Person values (a staff code, or else a name borne by one live staff member) → (id, code, name), and the
    reason for each value that names nobody or several people."""
    wanted = sorted(set(values))
    rows = session.execute(
        text(f"SELECT s.id, s.code, s.name FROM staff s WHERE {live('s')} "
             "AND (s.code = ANY (CAST(:v AS text[])) OR s.name = ANY (CAST(:v AS text[])))"), {"v": wanted},
    ).all()  # fmt: skip
    found: dict[str, tuple[int, str, str]] = {}
    failed: dict[str, str] = {}
    for v in wanted:
        match = [r for r in rows if r.code == v] or [r for r in rows if r.name == v]
        if len(match) == 1:
            found[v] = (int(match[0].id), match[0].code, match[0].name)
        elif match:
            failed[v] = f"同名工作人员有 {len(match)} 位（{'、'.join(r.code for r in match)}），请改填人员编码：{v}"
        else:
            failed[v] = f"工作人员不存在：{v}（应为人员编码或姓名）"
    return found, failed


def _memberships(session: Session, staff_ids: Sequence[int]) -> Sequence[Any]:
    """The team memberships of these staff members in live teams (with their dates)."""
    if not staff_ids:
        return []
    return session.execute(
        text(f"""SELECT m.staff_id, m.since, m.until, t.id AS team_id, t.code
                   FROM patrol_team_member m JOIN patrol_team t ON t.id = m.team_id AND {live('t')}
                  WHERE m.staff_id = ANY (CAST(:ids AS bigint[]))
                  ORDER BY t.code"""),
        {"ids": sorted(set(staff_ids))},
    ).all()


def _judge(raw: RawTrack, reasons: np.ndarray, target: Target, crs: Any, tz: dt.tzinfo, problems: Problems,
           max_speed_kmh: float, max_gap_minutes: float) -> _Track | None:  # fmt: skip
    """Validate and clean one track (``reasons``: why each fix is unusable, or None); None when it has problems."""
    n = len(raw.times)
    if target.team_code and raw.claimed_team and raw.claimed_team != target.team_code:
        problems.add(f"标注的巡逻队为 {raw.claimed_team}，与指定的 {target.team_code} 不一致", track=raw)
    if n < 2:
        problems.add(f"点数不足（{n} 个，至少需要 2 个）", track=raw)
        return None
    times: list[dt.datetime] = []
    untimed: list[int] = []
    for j in range(1, n + 1):
        if reasons[j - 1] is not None:
            problems.add(reasons[j - 1], track=raw, point=j)
        t = raw.times[j - 1]
        if t is None:
            untimed.append(j)
        else:
            if times and t < times[-1]:
                problems.add(f"时间倒序：{t.astimezone(tz):%Y-%m-%d %H:%M:%S} 早于上一个点 "
                             f"{times[-1].astimezone(tz):%H:%M:%S}", track=raw, point=j)  # fmt: skip
            times.append(t)
        if problems.of(raw) >= MAX_REASONS_PER_TRACK:
            break
    if untimed:
        if len(untimed) == n:
            problems.add("没有时间戳（无法计算巡逻时长和班次）", track=raw)
        else:
            others = "、".join(str(j) for j in untimed[1:6]) + ("…" if len(untimed) > 6 else "")
            extra = f"（第 {others} 个点也缺少，共 {len(untimed)} 个）" if others else ""
            problems.add(f"缺少时间戳{extra}", track=raw, point=untimed[0])
    if problems.of(raw):
        return None
    lonlat = np.column_stack([raw.lon, raw.lat]).astype(np.float64)
    if crs == GCJ02:
        lonlat = shapely.get_coordinates(to_wgs84([shapely.LineString(lonlat)], GCJ02)[0])
    if len(np.unique(lonlat, axis=0)) < 2:
        problems.add("所有点位置相同，不是一条轨迹", track=raw)
        return None
    shift: str | None = None
    if target.kind == DAY_INSPECTION:
        night = times[0].astimezone(tz).date()
    else:
        try:
            night, shift = night_shift(times[0], times[-1], tz)
        except InvalidInput as exc:
            problems.add(exc.message, track=raw)
            return None
        if raw.claimed_shift in SHIFTS and raw.claimed_shift != shift:
            problems.add(f"标注为{raw.claimed_shift}，但时间戳对应 {night} {shift}", track=raw)
    if raw.claimed_night is not None and raw.claimed_night != night:
        problems.add(f"名称中的日期为 {raw.claimed_night}，但时间戳对应 {night}{' ' + shift if shift else ''}",
                     track=raw)  # fmt: skip
    if problems.of(raw):
        return None
    found = clean(times, lonlat, max_speed_kmh=max_speed_kmh, max_gap_minutes=max_gap_minutes)
    if not found.parts:
        problems.add(f"清理后没有可画出的轨迹段（跳点 {len(found.jumps)} 个，断点 {len(found.gaps)} 个）", track=raw)
        return None
    elevation = raw.elevation or [None] * n
    elevation = [e if e is not None and math.isfinite(e) else None for e in elevation]
    return _Track(raw, night, shift, times, lonlat, elevation, found.flags, found.parts, found.jumps, found.gaps)


def _assign_walkers(session: Session, tracks: list[_Track], target: Target, problems: Problems) -> None:
    """Give each track its staff member (the person named, or the file's person) and its team (the team named,
    or for a night patrol the team the person belongs to that night)."""
    values = [t.raw.person or target.staff_code for t in tracks]
    staff, failed = _staff(session, [v for v in values if v])
    reported: set[str] = set()
    members = _memberships(session, [s[0] for s in staff.values()])
    for t, v in zip(tracks, values, strict=True):
        if v is not None and v not in staff:
            if v not in reported:
                reported.add(v)
                problems.add(failed[v], track=t.raw)
            continue
        if v is not None:
            t.staff_id, t.staff_code, t.staff_name = staff[v]
        t.team_id, t.team_code = target.team_id, target.team_code
        if target.kind == DAY_INSPECTION:
            if t.staff_id is None:
                problems.add("日巡查轨迹须指定人员（--person 或文件中的人员列）", track=t.raw)
            continue
        if t.team_id is not None:
            continue
        if t.staff_id is None:
            problems.add("夜间巡逻轨迹须指定巡逻队（--team）或人员", track=t.raw)
            continue
        teams = sorted({(m.team_id, m.code) for m in members if m.staff_id == t.staff_id and m.since <= t.night
                        and (m.until is None or m.until > t.night)}, key=lambda x: x[1])  # fmt: skip
        if len(teams) == 1:
            t.team_id, t.team_code = teams[0]
        elif teams:
            problems.add(f"{t.staff_name}（{t.staff_code}）{t.night} 同时是 {'、'.join(c for _, c in teams)} 的队员，"
                         "请指定巡逻队", track=t.raw)  # fmt: skip
        else:
            problems.add(f"{t.staff_name}（{t.staff_code}）{t.night} 不是任何巡逻队的队员，请指定巡逻队", track=t.raw)


def _scope(session: Session, actor: Actor, tracks: list[_Track]) -> None:
    """The tracks' teams' patrol areas (or, for a track without a team or area, its line) must lie in the scope."""
    team_ids = sorted({t.team_id for t in tracks if t.team_id is not None})
    areas: dict[int, list[BaseGeometry]] = {}
    for team_id, wkb in session.execute(
        text(f"SELECT a.team_id, ST_AsBinary(a.geom) FROM patrol_area a "
             f"WHERE a.team_id = ANY (CAST(:t AS bigint[])) AND {live('a')}"), {"t": team_ids},
    ).all():  # fmt: skip
        areas.setdefault(int(team_id), []).append(shapely.from_wkb(bytes(wkb)))
    touched = [g for gs in areas.values() for g in gs]
    touched += [shapely.MultiLineString(t.parts) for t in tracks if t.team_id not in areas]
    authorize(session, actor, "patrol", Touches(area=touched))


def _clashes(session: Session, tracks: list[_Track], tz: dt.tzinfo) -> None:
    """Conflict for tracks already stored, or twice in the file."""
    keys = Counter(t.key for t in tracks)
    dup_in_file = [k for k, n in keys.items() if n > 1]
    rows = session.execute(
        text("""SELECT k.team_id, k.staff_id, k.night, k.shift, k.started_at FROM patrol_track k
                 JOIN unnest(CAST(:team AS bigint[]), CAST(:staff AS bigint[]), CAST(:night AS date[]),
                             CAST(:shift AS text[]), CAST(:started AS timestamptz[])) AS u(team, staff, night, shift,
                                                                                          started)
                   ON k.team_id IS NOT DISTINCT FROM u.team AND k.staff_id IS NOT DISTINCT FROM u.staff
                  AND k.night = u.night AND k.shift IS NOT DISTINCT FROM u.shift AND k.started_at = u.started"""),
        {"team": [k[0] for k in keys], "staff": [k[1] for k in keys], "night": [k[2] for k in keys],
         "shift": [k[3] for k in keys], "started": [k[4] for k in keys]},
    ).all()  # fmt: skip
    clashes = [tuple(r) for r in rows] + dup_in_file
    if not clashes:
        return
    codes = {(t.team_id, t.staff_id): t.team_code or t.staff_code for t in tracks}
    listed = "、".join(f"{codes.get((a, b)) or ''} {n}{' ' + s if s else ''}（{t.astimezone(tz):%H:%M:%S} 开始）"
                      .strip() for a, b, n, s, t in clashes[:10])  # fmt: skip
    if len(clashes) > 10:
        listed += f" 等 {len(clashes)} 条"
    raise Conflict(f"轨迹已存在或在文件中重复：{listed}",
                   details=[{"night": n.isoformat(), "shift": s, "started_at": t.isoformat()}
                            for _, _, n, s, t in clashes])  # fmt: skip


def _write(session: Session, kind: str, tracks: list[_Track], source: str) -> list[int]:
    """Insert the tracks (one INSERT … SELECT from arrays) and their points with the cleaning's flags (another);
    returns the new ids in the order of ``tracks``."""
    rows = session.execute(
        text("""INSERT INTO patrol_track (team_id, staff_id, kind, night, shift, started_at, ended_at, geom, source)
                SELECT u.team, u.staff, :kind, u.night, u.shift, u.started_at, u.ended_at,
                       ST_GeomFromWKB(u.wkb, 4326), :source
                  FROM unnest(CAST(:team AS bigint[]), CAST(:staff AS bigint[]), CAST(:night AS date[]),
                              CAST(:shift AS text[]), CAST(:started AS timestamptz[]), CAST(:ended AS timestamptz[]),
                              CAST(:wkb AS bytea[])) AS u(team, staff, night, shift, started_at, ended_at, wkb)
             RETURNING id, team_id, staff_id, night, shift, started_at"""),
        {"kind": kind, "source": source, "team": [t.team_id for t in tracks], "staff": [t.staff_id for t in tracks],
         "night": [t.night for t in tracks], "shift": [t.shift for t in tracks],
         "started": [t.times[0] for t in tracks], "ended": [t.times[-1] for t in tracks],
         "wkb": [shapely.to_wkb(shapely.MultiLineString(t.parts)) for t in tracks]},
    ).all()  # fmt: skip
    ids = {(r.team_id, r.staff_id, r.night, r.shift, r.started_at): int(r.id) for r in rows}
    track_ids = [ids[t.key] for t in tracks]
    tid: list[int] = []
    seq: list[int] = []
    times: list[dt.datetime] = []
    lon: list[float] = []
    lat: list[float] = []
    ele: list[float | None] = []
    flag: list[str | None] = []
    for t, k in zip(tracks, track_ids, strict=True):
        n = len(t.times)
        tid += [k] * n
        seq += list(range(n))
        times += t.times
        lon += t.lonlat[:, 0].tolist()
        lat += t.lonlat[:, 1].tolist()
        ele += t.elevation
        flag += t.flags
    session.execute(
        text("""INSERT INTO patrol_point (track_id, seq, t, geom, elevation, flag)
                SELECT u.track_id, u.seq, u.t, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), u.ele, u.flag
                  FROM unnest(CAST(:tid AS bigint[]), CAST(:seq AS int[]), CAST(:t AS timestamptz[]),
                              CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:ele AS float8[]),
                              CAST(:flag AS text[])) AS u(track_id, seq, t, lon, lat, ele, flag)"""),
        {"tid": tid, "seq": seq, "t": times, "lon": lon, "lat": lat, "ele": ele, "flag": flag},
    )  # fmt: skip
    return track_ids


def write_tracks(
    session: Session,
    target: Target,
    raw: list[RawTrack],
    *,
    file: str,
    fmt: str,
    actor: Actor,
    problems: Problems | None = None,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    buffer_m: float | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_gap_minutes: float = DEFAULT_MAX_GAP_MINUTES,
) -> TrackImportReport:
    """Judge, clean and write the tracks a reader found (``problems``: what the reader already found wrong); any
    problem rejects the whole file."""
    problems = problems or Problems(fmt)
    tz = ZoneInfo(timezone)
    src_crs = check_crs(crs, fmt)
    x = np.concatenate([r.lon for r in raw]) if raw else np.empty(0)
    y = np.concatenate([r.lat for r in raw]) if raw else np.empty(0)
    reasons = np.split(coordinate_reasons(session, x, y, max_distance_m), np.cumsum([len(r.lon) for r in raw])[:-1])
    judged = [_judge(r, why, target, src_crs, tz, problems, max_speed_kmh, max_gap_minutes)
              for r, why in zip(raw, reasons, strict=True)]  # fmt: skip
    tracks = [t for t in judged if t is not None]
    _assign_walkers(session, tracks, target, problems)
    problems.raise_if_any(file)
    _scope(session, actor, tracks)
    _clashes(session, tracks, tz)
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.name})
    savepoint = session.begin_nested()
    try:
        track_ids = _write(session, target.kind, tracks, f"{fmt} {file}")
        track_figures.refresh(session, track_ids, buffer_m)
        night_ids = [k for t, k in zip(tracks, track_ids, strict=True) if t.shift is not None]
        outside = tracks_outside_area(session, track_ids=night_ids) if night_ids else []
    except IntegrityError as exc:
        if savepoint.is_active:
            savepoint.rollback()
        raise Conflict(f"轨迹已存在（并发导入？）：{file}") from exc
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
        outside = [_without_id(o) for o in outside]
    else:
        savepoint.commit()
    items = [
        ImportedTrack(t.raw.index, t.raw.name, t.night, t.shift, t.times[0], t.times[-1], len(t.times),
                      None if dry_run else k, target.kind, t.team_code, t.staff_code, t.staff_name, t.jumps, t.gaps)
        for t, k in zip(tracks, track_ids, strict=True)
    ]  # fmt: skip
    return TrackImportReport(
        file=file,
        team_code=target.team_code,
        dry_run=dry_run,
        tracks=len(tracks),
        points=sum(len(t.times) for t in tracks),
        nights=sorted({t.night for t in tracks}),
        shifts=dict(Counter(t.shift for t in tracks if t.shift is not None)),
        items=items,
        outside=outside,
        kind=target.kind,
        staff_code=target.staff_code,
        jumps=sum(len(t.jumps) for t in tracks),
        gaps=sum(len(t.gaps) for t in tracks),
    )


def _without_id(o: OutsideTrack) -> OutsideTrack:
    """A dry-run finding: the track was never written, so it has no id (0)."""
    return OutsideTrack(0, o.team_code, o.team_name, o.night, o.shift, o.started_at, o.ended_at, o.length_m,
                        o.outside_m, o.share, o.max_distance_m, o.has_area)  # fmt: skip


def import_track_file(
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
    """Import a GPX or CSV track file (by its suffix) with :func:`gridgov.patrol.gpx.import_gpx` or
    :func:`gridgov.patrol.csv_tracks.import_csv_tracks`."""
    from gridgov.patrol.csv_tracks import import_csv_tracks
    from gridgov.patrol.gpx import import_gpx

    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InvalidInput(f"不支持的轨迹文件格式：{Path(path).name}（可用 GPX、CSV）")
    importer = import_gpx if fmt == "GPX" else import_csv_tracks
    return importer(session, Path(path), actor=actor, team_code=team_code, staff_code=staff_code, kind=kind,
                    crs=crs, dry_run=dry_run, timezone=timezone, buffer_m=buffer_m, max_distance_m=max_distance_m,
                    max_speed_kmh=max_speed_kmh, max_gap_minutes=max_gap_minutes)  # fmt: skip
