"""Data of the patrol route map: one night's teams, tracks, time per grid, out-of-area flags and the leaf grids
in the patrol areas, read in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.config import PatrolSettings
from gridgov.db import sql
from gridgov.db.models import SHIFTS
from gridgov.errors import InvalidInput, NotFound
from gridgov.grids.service import GridRecord, leaves, list_grids
from gridgov.patrol.attendance import Attendance, attendance
from gridgov.patrol.tracks import OutsideTrack, TrackGridStat, track_grid_stats, tracks_outside_area
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import NIGHT_PATROL

__all__ = ["DayTrack", "PatrolNight", "Team", "Track", "check_inputs", "load_night"]


@dataclass
class Team:
    """A patrol team with its areas (name, outline, planned route) and its latest night with tracks."""

    id: int
    code: str
    name: str
    colour_idx: int
    last_night: dt.date | None
    areas: list[tuple[str, BaseGeometry, BaseGeometry | None]]

    @property
    def label(self) -> str:
        """The team as shown: name (code)."""
        return f"{self.name}（{self.code}）"


@dataclass(frozen=True)
class Track:
    """One patrol track of the night."""

    id: int
    team: Team
    shift: str
    started_at: dt.datetime
    ended_at: dt.datetime
    source: str | None
    geom: BaseGeometry
    length_m: float


@dataclass(frozen=True)
class DayTrack:
    """A daytime inspection (日巡查) of the date: who walked it, when, the line."""

    id: int
    walker: str
    team_code: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    geom: BaseGeometry
    length_m: float


@dataclass(frozen=True)
class PatrolNight:
    """Everything the patrol route map draws for one night (of one team, or all)."""

    night: dt.date
    team_code: str | None
    teams: list[Team]
    tracks: list[Track]
    by_track: dict[int, list[TrackGridStat]]
    by_grid: dict[str, list[TrackGridStat]]
    outside: dict[int, OutsideTrack]
    visited: list[GridRecord]
    """Leaf grids shown that some track of the night entered."""
    unvisited: list[GridRecord]
    """Leaf grids shown that no track of the night entered."""
    all_grids: list[GridRecord]
    """Every live grid (for names in popups and the street in the title)."""
    attendance: list[Attendance]
    """The night's rostered shifts and how each went (late and absent teams are flagged on the map)."""
    day_tracks: list[DayTrack]
    """The daytime inspections of that date (their own layer)."""

    @property
    def areas(self) -> list[BaseGeometry]:
        """The patrol areas of the teams."""
        return [a for t in self.teams for _, a, _ in t.areas]


def _wkb(value: Any) -> BaseGeometry | None:
    return None if value is None else shapely.from_wkb(bytes(value))


def check_inputs(night: Any, team_code: Any) -> tuple[dt.date | None, str | None]:
    """The night as a date and the team code stripped; anything else is InvalidInput."""
    if isinstance(night, dt.datetime):
        night = night.date()
    if night is not None and not isinstance(night, dt.date):
        raise InvalidInput(f"日期无效：{night}（应为 YYYY-MM-DD）")
    if team_code is not None:
        if not isinstance(team_code, str) or not team_code.strip():
            raise InvalidInput("巡逻队编号不能为空")
        team_code = team_code.strip()
    return night, team_code


def load_teams(session: Session, team_code: str | None) -> list[Team]:
    """The teams (one, or all) with their areas, planned routes and latest night with tracks: one query."""
    teams: dict[int, Team] = {}
    for r in session.execute(text(sql.load("map_patrol_teams")), {"team_code": team_code}).all():
        tid = int(r.team_id)
        team = teams.setdefault(tid, Team(tid, r.code, r.name, int(r.colour_idx), r.last_night, []))
        area = _wkb(r.area_wkb)
        if area is not None and not area.is_empty:
            team.areas.append((r.area_name or f"{r.name}巡逻区域", area, _wkb(r.route_wkb)))
    if team_code is not None and not teams:
        raise NotFound(f"巡逻队不存在：{team_code}", details={"team_code": team_code})
    return list(teams.values())


def _load_tracks(session: Session, night: dt.date, team_code: str | None, teams: list[Team]) -> list[Track]:
    """Every track of the night (of the team), with its shift, times and length: one query."""
    by_id = {t.id: t for t in teams}
    rows = session.execute(text(sql.load("map_patrol_tracks")),
                           {"night": night, "team_code": team_code, "night_kind": NIGHT_PATROL}).all()
    tracks = [
        Track(int(r.id), by_id[int(r.team_id)], r.shift, r.started_at, r.ended_at, r.source, geom, float(r.length_m))
        for r in rows
        if (geom := _wkb(r.wkb)) is not None
    ]
    return sorted(tracks, key=lambda k: (k.team.code, SHIFTS.index(k.shift), k.started_at, k.id))


def _who(teams: list[Team], team_code: str | None) -> str:
    return f"巡逻队 {teams[0].label}" if team_code is not None and teams else ""


def _resolve_night(night: dt.date | None, teams: list[Team], team_code: str | None) -> dt.date:
    """The night asked for, or the latest night with tracks (of the team)."""
    if night is not None:
        return night
    nights = [t.last_night for t in teams if t.last_night is not None]
    if not nights:
        raise NotFound(
            f"{_who(teams, team_code) or '数据库中'}没有任何巡逻轨迹，无法绘制巡逻路线图",
            details={"team_code": team_code},
        )
    return max(nights)


def _in_areas(leaves: Sequence[GridRecord], areas: Sequence[BaseGeometry]) -> list[GridRecord]:
    """Leaves with more than half their area inside the union of the patrol areas."""
    if not leaves or not areas:
        return []
    zone = shapely.union_all(np.asarray(areas, dtype=object))
    geoms = np.asarray([g.geom for g in leaves], dtype=object)
    inside = shapely.area(shapely.intersection(geoms, zone)) > 0.5 * shapely.area(geoms)
    return [g for g, ok in zip(leaves, inside, strict=True) if ok]


def _day_tracks(session: Session, night: dt.date, team_code: str | None) -> list[DayTrack]:
    """The daytime inspections of the date: one query."""
    rows = session.execute(text(sql.load("map_day_tracks")), {"night": night, "team_code": team_code}).all()
    return [DayTrack(int(r.id), str(r.walker), r.team_code, r.started_at, r.ended_at, geom, float(r.length_m))
            for r in rows if (geom := _wkb(r.wkb)) is not None]  # fmt: skip


def load_night(session: Session, night: dt.date | None, team_code: str | None, *,
               rules: PatrolSettings | None = None, timezone: str = DEFAULT_TIMEZONE) -> PatrolNight:  # fmt: skip
    """One night's patrol (default: the latest night with tracks) of one team or all, with its attendance (the
    roster against the tracks, ``rules`` the configured grace periods); NotFound only for a night with neither
    tracks nor a roster (a rostered night without tracks is every team absent, every grid unpatrolled)."""
    teams = load_teams(session, team_code)
    night = _resolve_night(night, teams, team_code)
    tracks = _load_tracks(session, night, team_code, teams)
    duty = attendance(session, night, team_code=team_code, rules=rules, timezone=timezone)
    if not tracks and not duty:
        nights = [t.last_night for t in teams if t.last_night is not None]
        hint = f"（最近有轨迹的一晚：{max(nights).isoformat()}）" if nights else "（没有任何巡逻轨迹）"
        raise NotFound(
            f"{night.isoformat()} 当晚{_who(teams, team_code) or '所有巡逻队都'}没有巡逻轨迹，无法绘制巡逻路线图{hint}",
            details={"night": night.isoformat(), "team_code": team_code},
        )

    stats = track_grid_stats(session, date_from=night, date_to=night, team_code=team_code)
    flagged = tracks_outside_area(session, date_from=night, date_to=night, team_code=team_code)
    by_track: dict[int, list[TrackGridStat]] = defaultdict(list)
    by_grid: dict[str, list[TrackGridStat]] = defaultdict(list)
    for s in stats:
        if s.length_m > 0 or s.seconds_inside > 0:
            by_track[s.track_id].append(s)
            by_grid[s.grid_code].append(s)

    # the leaf grids in the team's patrol areas (every leaf without a team), split by visit
    all_grids = list_grids(session)
    drawable = [g for g in leaves(all_grids) if g.geom is not None and not g.geom.is_empty]
    shown = _in_areas(drawable, [a for t in teams for _, a, _ in t.areas]) if team_code is not None else drawable
    return PatrolNight(
        night, team_code, teams, tracks, by_track, by_grid, {o.track_id: o for o in flagged},
        [g for g in shown if g.code in by_grid], [g for g in shown if g.code not in by_grid], all_grids,
        duty, _day_tracks(session, night, team_code),
    )  # fmt: skip
