"""Import patrol tracks from a GPX file: validate everything, then write all tracks or none.

One ``<trk>`` becomes one ``patrol_track`` (one team's night shift); the points of all its ``<trkseg>``
are concatenated in file order (a gap between segments is a straight line, like a gap between fixes).
Times without a zone are UTC (the GPX rule). The night and shift come from the timestamps in the
configured zone (Asia/Shanghai): 上半夜 is 20:00–23:30 and 下半夜 23:30–06:00 of the next day, both
belonging to the evening's date (02:00 on 2026-10-02 is night 2026-10-01). A track is given the shift it
overlaps longest; a ``<name>`` of the form ``2026-10-01 上半夜`` or a ``<type>`` naming a shift must agree.
Coordinates are WGS84 (the GPX rule) unless ``crs="gcj02"`` (Amap/Tencent exports), converted here.
Fixes are judged by the rule every importer shares (:mod:`gridgov.geo.extent`): a fix farther than the
configured distance (20 km) from every live grid is rejected — a GPS glitch such as (0, 0), or latitude and
longitude swapped (named as such, when the swapped fix lies near the grids). Equal consecutive timestamps are
accepted; a time going backwards is not.
Writing is set-based: one INSERT … SELECT from arrays for the tracks, one for all their points, inside a
savepoint (a dry run rolls it back after computing the report).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import gpxpy
import gpxpy.gpx
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.geo.extent import MAX_DISTANCE_M, coordinate_reasons
from gridgov.history import live
from gridgov.patrol import track_figures
from gridgov.patrol.shifts import night_shift
from gridgov.patrol.tracks import OutsideTrack, tracks_outside_area
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import SHIFTS

NAME_RE = re.compile(rf"^\s*(\d{{4}}-\d{{2}}-\d{{2}})(?:\s*({'|'.join(SHIFTS)}))?")
MAX_REASONS_PER_TRACK = 5
MAX_REASONS_SHOWN = 20


@dataclass(frozen=True)
class ImportedTrack:
    """One imported ``<trk>``: its number in the file, night, shift, times, points and new row id."""

    index: int
    name: str | None
    night: dt.date
    shift: str
    started_at: dt.datetime
    ended_at: dt.datetime
    points: int
    track_id: int | None


@dataclass(frozen=True)
class TrackImportReport:
    """What an import wrote (or would write, in a dry run) and which new tracks leave the patrol area."""

    file: str
    team_code: str
    dry_run: bool
    tracks: int
    points: int
    nights: list[dt.date]
    shifts: dict[str, int]
    items: list[ImportedTrack] = field(default_factory=list)
    outside: list[OutsideTrack] = field(default_factory=list)


@dataclass
class _Track:
    """A parsed, validated track waiting to be written."""

    index: int
    name: str | None
    night: dt.date
    shift: str
    times: list[dt.datetime]
    lonlat: np.ndarray
    elevation: list[float | None]


def _utc(t: dt.datetime) -> dt.datetime:
    """An aware datetime; GPX times without a zone are UTC."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _fix_reasons(
    session: Session, fixes: list[list[gpxpy.gpx.GPXTrackPoint]], max_distance_m: float
) -> list[np.ndarray]:
    """Why each fix of each track is unusable (None where it is fine): one judgement of all the file's fixes
    against the street's grids. GCJ-02 fixes are judged as they are: they differ from WGS84 by far less than
    the distance judged."""
    x = np.array([p.longitude for points in fixes for p in points], dtype=np.float64)  # None: NaN
    y = np.array([p.latitude for points in fixes for p in points], dtype=np.float64)
    reasons = coordinate_reasons(session, x, y, max_distance_m)
    return np.split(reasons, np.cumsum([len(points) for points in fixes])[:-1])


def _label(index: int, name: str | None) -> str:
    return f"第 {index} 条轨迹" + (f"「{name}」" if name else "")


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


def _parse_track(
    index: int,
    trk: gpxpy.gpx.GPXTrack,
    fix_reasons: np.ndarray,
    team_code: str,
    other_teams: set[str],
    crs: Any,
    tz: dt.tzinfo,
) -> tuple[_Track | None, list[dict[str, Any]]]:
    """Validate one ``<trk>`` (``fix_reasons``: why each of its fixes is unusable, or None); returns the track
    or the problems (track/point numbers, Chinese reasons)."""
    name = (trk.name or "").strip() or None
    label = _label(index, name)
    problems: list[dict[str, Any]] = []

    def bad(reason: str, point: int | None = None) -> None:
        where = f"{label}第 {point} 个点" if point is not None else label
        problems.append(
            {"track": index, "name": name, "point": point, "reason": reason, "message": f"{where}：{reason}"}
        )

    desc = (trk.description or "").strip()
    if desc and desc != team_code and desc in other_teams:
        bad(f"标注的巡逻队为 {desc}，与指定的 {team_code} 不一致")
    points = [p for seg in trk.segments for p in seg.points]
    if len(points) < 2:
        bad(f"点数不足（{len(points)} 个，至少需要 2 个）")
        return None, problems
    times: list[dt.datetime] = []
    lonlat = np.empty((len(points), 2), dtype=np.float64)
    untimed: list[int] = []
    for j, p in enumerate(points, start=1):
        reason = fix_reasons[j - 1]
        if reason is not None:
            bad(reason, j)
        else:
            lonlat[j - 1] = (p.longitude, p.latitude)
        if p.time is None:
            untimed.append(j)
            continue
        t = _utc(p.time)
        if times and t < times[-1]:
            bad(f"时间倒序：{t.astimezone(tz):%Y-%m-%d %H:%M:%S} 早于上一个点 {times[-1].astimezone(tz):%H:%M:%S}", j)
        times.append(t)
        if len(problems) >= MAX_REASONS_PER_TRACK:
            break
    if untimed:
        if len(untimed) == len(points):
            bad("没有时间戳（无法计算巡逻时长和班次）")
        else:
            others = "、".join(str(j) for j in untimed[1:6]) + ("…" if len(untimed) > 6 else "")
            extra = f"（第 {others} 个点也缺少，共 {len(untimed)} 个）" if others else ""
            bad(f"缺少时间戳{extra}", untimed[0])
    if problems:
        return None, problems
    if crs == GCJ02:
        line = to_wgs84([shapely.LineString(lonlat)], GCJ02)[0]
        lonlat = shapely.get_coordinates(line)
    if len(np.unique(lonlat, axis=0)) < 2:
        bad("所有点位置相同，不是一条轨迹")
        return None, problems
    try:
        night, shift = night_shift(times[0], times[-1], tz)
    except InvalidInput as exc:
        bad(exc.message)
        return None, problems
    m = NAME_RE.match(name or "")
    claimed_night = None
    if m:
        try:
            claimed_night = dt.date.fromisoformat(m.group(1))
        except ValueError:
            claimed_night = None
    claimed_shift = (trk.type or "").strip() or (m.group(2) if m else None)
    if claimed_shift in SHIFTS and claimed_shift != shift:
        bad(f"标注为{claimed_shift}，但时间戳对应 {night} {shift}")
    if claimed_night is not None and claimed_night != night:
        bad(f"名称中的日期为 {claimed_night}，但时间戳对应 {night} {shift}")
    if problems:
        return None, problems
    elevation = [p.elevation if p.elevation is not None and math.isfinite(p.elevation) else None for p in points]
    return _Track(index, name, night, shift, times, lonlat, elevation), problems


def _check_crs(crs: Any) -> Any:
    """None (WGS84), or gcj02; CGCS2000 geographic coordinates are taken as WGS84 (they differ by centimetres)."""
    if crs is None:
        return None
    parsed = parse_crs(crs)
    if parsed == GCJ02:
        return GCJ02
    if not isinstance(parsed, str) and parsed.to_epsg() in (4326, 4490):
        return None
    raise InvalidInput(f"GPX 只能是经纬度坐标（WGS84 或 gcj02），不支持 {crs}")


def _write(session: Session, team_id: int, tracks: list[_Track], source: str) -> list[int]:
    """Insert the tracks (one INSERT … SELECT from arrays) and their points (another); returns the ids."""
    rows = session.execute(
        text(
            """INSERT INTO patrol_track (team_id, night, shift, started_at, ended_at, geom, source)
               SELECT :team_id, u.night, u.shift, u.started_at, u.ended_at, ST_GeomFromWKB(u.wkb, 4326), :source
                 FROM unnest(CAST(:night AS date[]), CAST(:shift AS text[]), CAST(:started AS timestamptz[]),
                             CAST(:ended AS timestamptz[]), CAST(:wkb AS bytea[]))
                      AS u(night, shift, started_at, ended_at, wkb)
            RETURNING id, night, shift, started_at"""
        ),
        {
            "team_id": team_id,
            "source": source,
            "night": [t.night for t in tracks],
            "shift": [t.shift for t in tracks],
            "started": [t.times[0] for t in tracks],
            "ended": [t.times[-1] for t in tracks],
            "wkb": [shapely.to_wkb(shapely.MultiLineString([t.lonlat])) for t in tracks],
        },
    ).all()
    ids = {(r.night, r.shift, r.started_at): int(r.id) for r in rows}
    track_ids = [ids[(t.night, t.shift, t.times[0])] for t in tracks]
    tid: list[int] = []
    seq: list[int] = []
    times: list[dt.datetime] = []
    lon: list[float] = []
    lat: list[float] = []
    ele: list[float | None] = []
    for t, k in zip(tracks, track_ids, strict=True):
        n = len(t.times)
        tid += [k] * n
        seq += list(range(n))
        times += t.times
        lon += t.lonlat[:, 0].tolist()
        lat += t.lonlat[:, 1].tolist()
        ele += t.elevation
    session.execute(
        text(
            """INSERT INTO patrol_point (track_id, seq, t, geom, elevation)
               SELECT u.track_id, u.seq, u.t, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), u.ele
                 FROM unnest(CAST(:tid AS bigint[]), CAST(:seq AS int[]), CAST(:t AS timestamptz[]),
                             CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:ele AS float8[]))
                      AS u(track_id, seq, t, lon, lat, ele)"""
        ),
        {"tid": tid, "seq": seq, "t": times, "lon": lon, "lat": lat, "ele": ele},
    )
    return track_ids


def import_gpx(
    session: Session,
    path: Path,
    *,
    team_code: str,
    actor: Actor,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    buffer_m: float | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
) -> TrackImportReport:
    """Import every ``<trk>`` of a GPX file as one team's night-shift tracks; a bad track rejects the file.

    The team's patrol areas (or, for a team without one, the tracks themselves) must lie in the actor's scope.
    The tracks' patrol figures are stored at once (their footprints too for ``buffer_m``, the configured
    patrol buffer), so the next ledger and coverage map do not compute them. A fix farther than
    ``max_distance_m`` (the configured ``import_max_distance_m``) from every live grid rejects its track.
    """
    path = Path(path)
    authorize(session, actor, "patrol")
    team = session.execute(text(f"SELECT id FROM patrol_team t WHERE t.code = :c AND {live('t')}"),
                           {"c": team_code}).first()  # fmt: skip
    if team is None:
        raise NotFound(f"巡逻队不存在：{team_code}")
    areas = [shapely.from_wkb(bytes(w)) for w in session.scalars(
        text(f"SELECT ST_AsBinary(a.geom) FROM patrol_area a WHERE a.team_id = :t AND {live('a')}"),
        {"t": team.id})]  # fmt: skip
    if areas:
        authorize(session, actor, "patrol", Touches(area=areas))
    other_teams = set(
        session.execute(text(f"SELECT t.code FROM patrol_team t WHERE t.code <> :c AND {live('t')}"),
                        {"c": team_code}).scalars()  # fmt: skip
    )
    src_crs = _check_crs(crs)
    tz = ZoneInfo(timezone)
    gpx = _read(path)
    if not gpx.tracks:
        extra = "（文件只有航点/路线，巡逻轨迹应为 <trk>）" if gpx.waypoints or gpx.routes else ""
        raise InvalidInput(f"GPX 文件中没有轨迹：{path.name}{extra}")
    tracks: list[_Track] = []
    problems: list[dict[str, Any]] = []
    fixes = [[p for seg in trk.segments for p in seg.points] for trk in gpx.tracks]
    reasons = _fix_reasons(session, fixes, max_distance_m)
    for i, (trk, why) in enumerate(zip(gpx.tracks, reasons, strict=True), start=1):
        track, found = _parse_track(i, trk, why, team_code, other_teams, src_crs, tz)
        problems += found
        if track is not None:
            tracks.append(track)
    if problems:
        shown = [p["message"] for p in problems[:MAX_REASONS_SHOWN]]
        more = f"\n……另有 {len(problems) - len(shown)} 处" if len(problems) > len(shown) else ""
        raise InvalidInput(
            f"GPX 文件 {path.name} 有 {len(problems)} 处错误，未导入任何轨迹：\n" + "\n".join(shown) + more,
            details=problems,
        )
    if not areas:
        authorize(session, actor, "patrol", Touches(area=[shapely.LineString(t.lonlat) for t in tracks]))
    keys = Counter((t.night, t.shift, t.times[0]) for t in tracks)
    dup_in_file = [k for k, n in keys.items() if n > 1]
    existing = session.execute(
        text(
            """SELECT k.night, k.shift, k.started_at FROM patrol_track k
                WHERE k.team_id = :team AND (k.night, k.shift, k.started_at) IN
                      (SELECT * FROM unnest(CAST(:night AS date[]), CAST(:shift AS text[]),
                                            CAST(:started AS timestamptz[])))"""
        ),
        {
            "team": team.id,
            "night": [k[0] for k in keys],
            "shift": [k[1] for k in keys],
            "started": [k[2] for k in keys],
        },
    ).all()
    clashes = [(r.night, r.shift, r.started_at) for r in existing] + dup_in_file
    if clashes:
        listed = "、".join(f"{n} {s}（{t.astimezone(tz):%H:%M:%S} 开始）" for n, s, t in clashes[:10])
        if len(clashes) > 10:
            listed += f" 等 {len(clashes)} 条"
        raise Conflict(
            f"巡逻队 {team_code} 的轨迹已存在或在文件中重复：{listed}",
            details=[{"night": n.isoformat(), "shift": s, "started_at": t.isoformat()} for n, s, t in clashes],
        )
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.name})
    savepoint = session.begin_nested()
    try:
        track_ids = _write(session, int(team.id), tracks, f"GPX {path.name}")
        track_figures.refresh(session, track_ids, buffer_m)
        outside = tracks_outside_area(session, track_ids=track_ids)
    except IntegrityError as exc:
        if savepoint.is_active:
            savepoint.rollback()
        raise Conflict(f"巡逻队 {team_code} 的轨迹已存在（并发导入？）：{path.name}") from exc
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    items = [
        ImportedTrack(t.index, t.name, t.night, t.shift, t.times[0], t.times[-1], len(t.times), None if dry_run else k)
        for t, k in zip(tracks, track_ids, strict=True)
    ]
    if dry_run:
        outside = [_without_id(o) for o in outside]
    return TrackImportReport(
        file=path.name,
        team_code=team_code,
        dry_run=dry_run,
        tracks=len(tracks),
        points=sum(len(t.times) for t in tracks),
        nights=sorted({t.night for t in tracks}),
        shifts=dict(Counter(t.shift for t in tracks)),
        items=items,
        outside=outside,
    )


def _without_id(o: OutsideTrack) -> OutsideTrack:
    """A dry-run finding: the track was never written, so it has no id (0)."""
    return OutsideTrack(
        0,
        o.team_code,
        o.team_name,
        o.night,
        o.shift,
        o.started_at,
        o.ended_at,
        o.length_m,
        o.outside_m,
        o.share,
        o.max_distance_m,
        o.has_area,
    )
