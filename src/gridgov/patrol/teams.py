"""Patrol teams, their members, patrol areas and planned routes (巡逻队与巡逻区域): read, create, change, retire.

Teams and areas keep their history as records do: the database trigger of migration 0011 copies the former state
to a history row on every change of a tracked column, and a removal is a retirement with a day and a reason (a
change checked against the version the caller read; a stale one is ``StaleVersion``, nothing written). Members are
dated like posts on grids: in force on ``since <= day < until``. A team's leader is the one named on the team, else
its 队长 member in force.

Every write names what it touches and goes through :func:`gridgov.auth.scope.authorize` with the ``patrol`` action:
the team's grid (the community or street it serves; a team without one is where its areas are), the areas'
geometries and routes, and the communities leading a shared area in turn (at most two: the first in odd months,
the second in even months).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.fields import parse_code as _code
from gridgov.fields import parse_reason as _reason
from gridgov.fields import parse_term as _term
from gridgov.fields import parse_text as _text
from gridgov.geo.checks import as_multipolygon, geometry_problem
from gridgov.geo.crs import parse_crs, to_wgs84
from gridgov.history import as_of, day_of, identity, role_in_force
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import record_kind
from gridgov.records.roles import STAFF_CODE_SQL
from gridgov.records.service import MAX_PAGE, list_records
from gridgov.versioned import (
    JsonForm,
    VersionedState,
    check_fields,
    check_writable,
    end_memberships,
    retire_row,
    state_changes,
)
from gridgov.versioned import begin as _begin
from gridgov.versioned import dated_day as _member_day
from gridgov.versioned import effective_moment as _moment
from gridgov.versioned import ensure_code_free as _ensure_code_free
from gridgov.vocab import LEVEL_ZH, PATROL_TEAM_KINDS, SHIFTS, TEAM_MEMBER_ROLES

LEAD_ROLE = "队长"
DEFAULT_MEMBER_ROLE = "队员"
MEMBER_END_REASON = "离队"
MAX_ROTA = 2
MAX_NIGHTS_SHOWN = 10
# A community counts as covered by an area when at least this share of the area lies in it (shared edges drawn
# a little apart leave slivers that do not make a community part of the area).
COVER_SHARE = 0.01
FILE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml")
FILE_FORMATS_ZH = "GeoJSON、GeoPackage、zip 压缩的 Shapefile、KML"
AREA_TYPES = ("Polygon", "MultiPolygon")
ROUTE_TYPES = ("LineString", "MultiLineString")

# ------------------------------------------------------------------------------------------------ reading

_LEADER = f"""coalesce(t.leader_staff_id, (
    SELECT m.staff_id FROM patrol_team_member m
     WHERE m.team_id = {identity("t")} AND m.role = '{LEAD_ROLE}' AND {role_in_force("m")}
     ORDER BY m.since, m.id LIMIT 1))"""
_TEAM = f"""
SELECT {identity("t")} AS id, t.code, t.name, t.kind, t.shift, t.unit, t.grid_id, g.code AS grid_code,
       g.name AS grid_name, g.level AS grid_level, s.code AS leader_code, s.name AS leader_name,
       s.phone AS leader_phone, (t.leader_staff_id IS NULL AND s.id IS NOT NULL) AS leader_from_members,
       (SELECT count(*) FROM patrol_team_member m
         WHERE m.team_id = {identity("t")} AND {role_in_force("m")}) AS members,
       ARRAY(SELECT a.code FROM patrol_area a WHERE a.team_id = {identity("t")} AND {as_of("a")}
              ORDER BY a.code) AS areas,
       t.version, t.valid_from, t.valid_to, t.end_reason, t.updated_by
  FROM patrol_team t
  LEFT JOIN grid g ON g.id = t.grid_id
  LEFT JOIN staff s ON s.id = {_LEADER}"""
_AREA = f"""
SELECT {identity("a")} AS id, a.code, a.name, a.team_id, t.code AS team_code, t.name AS team_name,
       coalesce(t.valid_to IS NOT NULL, false) AS team_retired,
       ARRAY(SELECT g.code FROM unnest(a.rota_grid_ids) WITH ORDINALITY u(id, n) JOIN grid g ON g.id = u.id
              ORDER BY u.n) AS rota_codes,
       ARRAY(SELECT g.name FROM unnest(a.rota_grid_ids) WITH ORDINALITY u(id, n) JOIN grid g ON g.id = u.id
              ORDER BY u.n) AS rota_names,
       ARRAY(SELECT c.code || ' ' || c.name FROM grid c
              WHERE c.level = 'community' AND c.valid_to IS NULL AND c.lineage_id IS NULL
                AND ST_Intersects(c.geom, a.geom)
                AND ST_Area(ST_Intersection(c.geom, a.geom)::geography)
                    >= {COVER_SHARE} * ST_Area(a.geom::geography)
              ORDER BY c.code) AS communities,
       ST_Area(a.geom::geography) AS area_m2, ST_Length(a.route::geography) AS route_m,
       a.version, a.valid_from, a.valid_to, a.end_reason, a.updated_by,
       {{geometry}}
  FROM patrol_area a
  LEFT JOIN patrol_team t ON t.id = a.team_id"""
_AREA_SHAPES = "ST_AsGeoJSON(a.geom, 7) AS geometry, ST_AsGeoJSON(a.route, 7) AS route"
_AREA_NO_SHAPES = "NULL AS geometry, NULL AS route"
_MEMBERS = f"""
SELECT m.id, s.code AS staff_code, s.name AS staff_name, s.phone, s.organisation, m.role, m.since, m.until,
       m.end_reason, {role_in_force("m")} AS in_force
  FROM patrol_team_member m JOIN staff s ON s.id = m.staff_id
 WHERE m.team_id = :team AND (CAST(:all AS boolean) OR {role_in_force("m")})
 ORDER BY {role_in_force("m")} DESC, m.role = '{LEAD_ROLE}' DESC, m.since, s.code, m.id"""


@dataclass(frozen=True)
class Team(VersionedState):
    """One state of a patrol team: what it is, whom it serves, its leader, members in force and areas."""

    HIDDEN = ("grid_id",)

    id: int
    code: str
    name: str
    kind: str | None
    shift: str | None
    unit: str | None
    grid_code: str | None
    grid_name: str | None
    grid_level: str | None
    leader_code: str | None
    leader_name: str | None
    leader_phone: str | None
    leader_from_members: bool
    members: int
    areas: list[str]
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    grid_id: int | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Member(JsonForm):
    """A staff member's membership of a team: role, the days it is in force, why it ended."""

    id: int
    staff_code: str
    staff_name: str
    phone: str | None
    organisation: str | None
    role: str
    since: dt.date
    until: dt.date | None
    end_reason: str | None
    in_force: bool


@dataclass(frozen=True)
class Area(VersionedState):
    """One state of a patrol area: its team, the communities leading it in turn and those it covers, its size, and
    (when asked for) its geometry and planned route as GeoJSON."""

    id: int
    code: str
    name: str | None
    team_code: str | None
    team_name: str | None
    team_retired: bool
    rota_codes: list[str]
    rota_names: list[str]
    communities: list[str]
    area_m2: float
    route_m: float | None
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    geometry: dict[str, Any] | None = None
    route: dict[str, Any] | None = None
    team_id: int | None = field(default=None, repr=False)

    HIDDEN = ("team_id",)

    def as_dict(self, *, shapes: bool = True) -> dict[str, Any]:
        """JSON form (without geometry and route unless ``shapes``)."""
        out = super().as_dict()
        out["has_route"] = self.route_m is not None
        if not shapes:
            out.pop("geometry")
            out.pop("route")
        return out


def _team(row: RowMapping) -> Team:
    return Team(**row)


def _area(row: RowMapping) -> Area:
    values = dict(row)
    for key in ("geometry", "route"):
        values[key] = json.loads(values[key]) if values[key] is not None else None
    values["area_m2"] = float(values["area_m2"])
    values["route_m"] = None if values["route_m"] is None else float(values["route_m"])
    return Area(**values)


def _day(on_day: dt.date | None, moment: dt.datetime | None, timezone: str) -> dt.date:
    """The day members are counted on: the one asked for, else the day of ``moment`` (now by default)."""
    return on_day if on_day is not None else day_of(moment, timezone)


def list_teams(
    session: Session,
    actor: Actor,
    *,
    include_retired: bool = False,
    as_of_moment: dt.datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Team]:
    """The teams in force (or as they were at ``as_of_moment``; or every team's current state, retired ones too),
    by code, with members counted on that day."""
    authorize(session, actor, "read")
    if as_of_moment is not None:
        where = as_of("t")
    else:
        where = "t.lineage_id IS NULL" if include_retired else "t.valid_to IS NULL"
    params = {"as_of": as_of_moment, "on_day": _day(None, as_of_moment, timezone)}
    rows = session.execute(text(f"{_TEAM} WHERE {where} ORDER BY t.code"), params).mappings()
    return [_team(r) for r in rows]


def get_team(
    session: Session,
    code: str,
    actor: Actor,
    *,
    as_of_moment: dt.datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """The current state of a team (live or retired), or its state at ``as_of_moment``; ``NotFound`` otherwise."""
    authorize(session, actor, "read")
    return _lookup_team(session, code, as_of_moment=as_of_moment, timezone=timezone)


def _lookup_team(
    session: Session,
    code: str,
    *,
    as_of_moment: dt.datetime | None = None,
    lock: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    where = as_of("t") if as_of_moment is not None else "t.lineage_id IS NULL"
    stmt = f"{_TEAM} WHERE t.code = :code AND {where}" + (" FOR UPDATE OF t" if lock else "")
    params = {"code": (code or "").strip(), "as_of": as_of_moment, "on_day": _day(None, as_of_moment, timezone)}
    row = session.execute(text(stmt), params).mappings().first()
    if row is None:
        when = f"（{as_of_moment:%Y-%m-%d %H:%M} 时）" if as_of_moment is not None else ""
        raise NotFound(f"巡逻队不存在{when}：{code}")
    return _team(row)


def team_history(session: Session, code: str, actor: Actor, *, timezone: str = DEFAULT_TIMEZONE) -> list[Team]:
    """Every state the team has had, oldest first (the current one last)."""
    current = get_team(session, code, actor, timezone=timezone)
    rows = session.execute(text(f"{_TEAM} WHERE {identity('t')} = :id ORDER BY t.valid_from, t.id"),
                           {"id": current.id, "as_of": None, "on_day": day_of(None, timezone)}).mappings()  # fmt: skip
    out = [_team(r) for r in rows]
    out.sort(key=lambda t: (t.valid_from, t.version))
    return out


def team_members(
    session: Session,
    code: str,
    actor: Actor,
    *,
    on_day: dt.date | None = None,
    include_ended: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Member]:
    """The members of a team in force on ``on_day`` (today), or every membership it has had: those in force
    first, the 队长 first among them."""
    team = get_team(session, code, actor, timezone=timezone)
    rows = session.execute(text(_MEMBERS), {"team": team.id, "all": include_ended,
                                            "on_day": _day(on_day, None, timezone)}).mappings()  # fmt: skip
    return [Member(**r) for r in rows]


def list_areas(
    session: Session,
    actor: Actor,
    *,
    team: str | None = None,
    include_retired: bool = False,
    as_of_moment: dt.datetime | None = None,
    shapes: bool = False,
) -> list[Area]:
    """The patrol areas in force (or at ``as_of_moment``, or with the retired ones), of one team when asked, by
    code; with their geometries and routes when ``shapes``."""
    authorize(session, actor, "read")
    if as_of_moment is not None:
        where = [as_of("a")]
    else:
        where = ["a.lineage_id IS NULL" if include_retired else "a.valid_to IS NULL"]
    params: dict[str, Any] = {"as_of": as_of_moment}
    if team is not None:
        where.append("t.code = :team AND t.lineage_id IS NULL")
        params["team"] = team.strip()
    stmt = _AREA.format(geometry=_AREA_SHAPES if shapes else _AREA_NO_SHAPES)
    rows = session.execute(text(f"{stmt} WHERE {' AND '.join(where)} ORDER BY a.code"), params).mappings()
    return [_area(r) for r in rows]


def get_area(session: Session, code: str, actor: Actor, *, as_of_moment: dt.datetime | None = None) -> Area:
    """The current state of an area (live or retired) with its geometry and route, or its state at
    ``as_of_moment``; ``NotFound`` otherwise."""
    authorize(session, actor, "read")
    return _lookup_area(session, code, as_of_moment=as_of_moment)


def _lookup_area(session: Session, code: str, *, as_of_moment: dt.datetime | None = None,
                 lock: bool = False) -> Area:  # fmt: skip
    where = as_of("a") if as_of_moment is not None else "a.lineage_id IS NULL"
    stmt = f"{_AREA.format(geometry=_AREA_SHAPES)} WHERE a.code = :code AND {where}" + (
        " FOR UPDATE OF a" if lock else "")  # fmt: skip
    row = session.execute(text(stmt), {"code": (code or "").strip(), "as_of": as_of_moment}).mappings().first()
    if row is None:
        raise NotFound(f"巡逻区域不存在：{code}")
    return _area(row)


def area_history(session: Session, code: str, actor: Actor) -> list[Area]:
    """Every state the area has had, with its geometry and route, oldest first (the current one last)."""
    current = get_area(session, code, actor)
    stmt = f"{_AREA.format(geometry=_AREA_SHAPES)} WHERE {identity('a')} = :id ORDER BY a.valid_from, a.id"
    out = [_area(r) for r in session.execute(text(stmt), {"id": current.id, "as_of": None}).mappings()]
    out.sort(key=lambda a: (a.valid_from, a.version))
    return out


# ------------------------------------------------------------------------------------------------ history


_TEAM_CHANGES: list[tuple[str, Callable[[Team], Any]]] = [
    ("编码", lambda t: t.code), ("名称", lambda t: t.name), ("类型", lambda t: t.kind), ("班次", lambda t: t.shift),
    ("所属单位", lambda t: t.unit), ("服务网格", lambda t: _named(t.grid_name, t.grid_code))]  # fmt: skip
_AREA_CHANGES: list[tuple[str, Callable[[Area], Any]]] = [
    ("编码", lambda a: a.code), ("名称", lambda a: a.name), ("巡逻队", lambda a: a.team_code),
    ("轮值社区", lambda a: "、".join(a.rota_codes))]  # fmt: skip


def team_changes(before: Team | None, after: Team) -> list[str]:
    """What changed from one state of a team to the next, as lines people read (``名称：甲 → 乙``)."""
    out = state_changes(before, after, _TEAM_CHANGES)
    if before is None:
        return out
    if (before.leader_code, before.leader_from_members) != (after.leader_code, after.leader_from_members) and not (
        before.leader_from_members or after.leader_from_members
    ):
        out.append(f"队长：{_named(before.leader_name, before.leader_code) or '（空）'} → "
                   f"{_named(after.leader_name, after.leader_code) or '（空）'}")  # fmt: skip
    return out


def area_changes(before: Area | None, after: Area) -> list[str]:
    """What changed from one state of an area to the next, as lines people read."""
    out = state_changes(before, after, _AREA_CHANGES)
    if before is None:
        return out
    if before.geometry != after.geometry:
        out.append(f"范围：{before.area_m2 / 1e4:.2f} → {after.area_m2 / 1e4:.2f} 公顷")
    if before.route != after.route:
        if after.route is None:
            out.append("计划路线：已清除")
        elif before.route is None:
            out.append(f"计划路线：已设置（{after.route_m or 0:.0f} 米）")
        else:
            out.append(f"计划路线：{before.route_m or 0:.0f} → {after.route_m or 0:.0f} 米")
    return out


def _named(name: str | None, code: str | None) -> str | None:
    return f"{name}（{code}）" if code else None


# ------------------------------------------------------------------------------------------------ input


def _team_grid(session: Session, actor: Actor, grid: str | None) -> int | None:
    """The live street or community a team serves, by code; none given: the actor's scope when it is one."""
    code = (grid or "").strip()
    if not code:
        if actor.unscoped:
            return None
        code = actor.scope_code or ""
    row = session.execute(text("SELECT id, level FROM grid WHERE code = :c AND valid_to IS NULL "
                               "AND lineage_id IS NULL"), {"c": code}).first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"网格不存在：{code}")
    if row.level not in ("street", "community"):
        if not grid:
            raise InvalidInput("请指定巡逻队服务的社区或街道（网格编码）")
        raise InvalidInput(f"巡逻队服务的网格应为社区或街道，{code} 是{LEVEL_ZH[row.level]}")
    return int(row.id)


def _staff_id(session: Session, code: str | None, label: str = "网格工作人员") -> int:
    clean = (code or "").strip()
    sid = session.scalar(text("SELECT id FROM staff WHERE code = :c AND valid_to IS NULL"), {"c": clean})
    if sid is None:
        raise InvalidInput(f"{label}不存在或已离职：{clean}（请先在网格工作人员中登记，再按其编码填写）")
    return int(sid)


def _live_team_id(session: Session, code: str) -> int:
    tid = session.scalar(text("SELECT id FROM patrol_team WHERE code = :c AND valid_to IS NULL"), {"c": code.strip()})
    if tid is None:
        raise InvalidInput(f"巡逻队不存在或已撤销：{code}")
    return int(tid)


def _rota(session: Session, codes: Iterable[str] | str | None) -> list[int]:
    """The grid ids of the communities leading an area in turn (the first in odd months), from their codes."""
    if isinstance(codes, str):
        codes = codes.replace("，", ",").replace("、", ",").split(",")
    wanted = [c.strip() for c in codes or () if c and c.strip()]
    if len(wanted) > MAX_ROTA:
        raise InvalidInput(f"轮值社区最多 {MAX_ROTA} 个（单月、双月各一个）：{'、'.join(wanted)}")
    if len(set(wanted)) != len(wanted):
        raise InvalidInput(f"轮值社区重复：{'、'.join(wanted)}")
    rows = {r.code: r for r in session.execute(text(
        "SELECT id, code, level FROM grid WHERE code = ANY(:c) AND valid_to IS NULL AND lineage_id IS NULL"),
        {"c": wanted})}  # fmt: skip
    missing = [c for c in wanted if c not in rows]
    if missing:
        raise InvalidInput(f"轮值社区不存在：{'、'.join(missing)}")
    wrong = [f"{c}（{LEVEL_ZH[rows[c].level]}）" for c in wanted if rows[c].level != "community"]
    if wrong:
        raise InvalidInput(f"轮值的应是社区网格：{'、'.join(wrong)}")
    return [int(rows[c].id) for c in wanted]


@dataclass
class _Reach:
    """What a write touches, gathered before the one ``authorize`` call."""

    codes: set[str] = field(default_factory=set)
    grid_ids: set[int | None] = field(default_factory=set)
    area: list[BaseGeometry] = field(default_factory=list)

    def touches(self) -> Touches:
        """The touches to authorize."""
        return Touches(codes=self.codes, grid_ids=self.grid_ids, area=self.area)


def _shapes_of(session: Session, where: str, params: Mapping[str, Any]) -> list[BaseGeometry]:
    rows = session.execute(text(f"SELECT ST_AsBinary(a.geom) AS g, ST_AsBinary(a.route) AS r FROM patrol_area a "
                                f"WHERE {where}"), params).all()  # fmt: skip
    return [shapely.from_wkb(w) for row in rows for w in (row.g, row.r) if w is not None]


def _team_reach(session: Session, reach: _Reach, team_id: int | None) -> None:
    """Add a team to what a write touches: its grid, or (a team serving no grid) its areas; a team with neither
    lies in no scope."""
    if team_id is None:
        return
    grid_id = session.scalar(text("SELECT grid_id FROM patrol_team WHERE id = :t"), {"t": team_id})
    if grid_id is not None:
        reach.grid_ids.add(int(grid_id))
        return
    shapes = _shapes_of(session, "a.team_id = :t AND a.valid_to IS NULL", {"t": team_id})
    if shapes:
        reach.area.extend(shapes)
    else:
        reach.grid_ids.add(None)


# ------------------------------------------------------------------------------------------------ geometry


def geojson_shapes(value: Any) -> list[BaseGeometry]:
    """The geometries of a GeoJSON geometry, Feature or FeatureCollection (parsed, or its text)."""
    if isinstance(value, BaseGeometry):
        return [value]
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("无法解析的 GeoJSON：请粘贴 GeoJSON 几何、要素（Feature）或要素集合") from None
    if not isinstance(value, Mapping):
        raise InvalidInput("无法解析的 GeoJSON：应为几何、要素（Feature）或要素集合（FeatureCollection）")
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise InvalidInput("GeoJSON 要素集合缺少 features 列表")
        return [g for f in features for g in geojson_shapes(f)]
    if kind == "Feature":
        geometry = value.get("geometry")
        return geojson_shapes(geometry) if geometry is not None else []
    if kind == "GeometryCollection":
        parts = value.get("geometries")
        return [g for p in parts for g in geojson_shapes(p)] if isinstance(parts, list) else []
    if not isinstance(kind, str) or not isinstance(value.get("coordinates"), list | tuple):
        raise InvalidInput("无法解析的 GeoJSON：缺少 type 或 coordinates")
    try:
        return [shape(dict(value))]
    except Exception as exc:  # noqa: BLE001 - shapely/numpy raise several types for malformed coordinates
        raise InvalidInput(f"无法解析几何（{kind[:40]}）：坐标格式不正确") from exc


def _converted(shapes: Sequence[BaseGeometry], crs: Any) -> list[BaseGeometry]:
    if crs is None or not shapes:
        return list(shapes)
    with np.errstate(all="ignore"):
        return list(to_wgs84(np.asarray(shapes, dtype=object), parse_crs(crs)))


def _of_types(shapes: Sequence[BaseGeometry], types: tuple[str, ...], what: str) -> list[BaseGeometry]:
    kept = [g for g in shapes if g is not None and g.geom_type in types]
    if not kept:
        found = "、".join(sorted({g.geom_type for g in shapes if g is not None})) or "没有几何"
        raise InvalidInput(f"没有{what}（找到：{found}）")
    return kept


def area_shape(value: Any, *, crs: Any = None) -> MultiPolygon:
    """A patrol area from GeoJSON (a polygon, or the union of the polygons of a feature collection), converted
    from ``crs`` (default WGS84), checked: a valid MultiPolygon or ``InvalidInput`` with the reason."""
    return _area_of(_converted(geojson_shapes(value), crs))


def _area_of(shapes: Sequence[BaseGeometry]) -> MultiPolygon:
    polygons = _of_types(shapes, AREA_TYPES, "面（Polygon/MultiPolygon）")
    for i, g in enumerate(polygons, start=1):
        if problem := geometry_problem(g):
            raise InvalidInput(f"第 {i} 个面：{problem}" if len(polygons) > 1 else problem)
    merged = polygons[0] if len(polygons) == 1 else shapely.union_all(shapely.force_2d(polygons))
    return as_multipolygon(shapely.force_2d(merged))


def route_shape(value: Any, *, crs: Any = None) -> LineString:
    """A planned route from GeoJSON (a line, or lines that join end to end), converted from ``crs``, checked."""
    return _route_of(_converted(geojson_shapes(value), crs))


def _route_of(shapes: Sequence[BaseGeometry]) -> LineString:
    lines = _of_types(shapes, ROUTE_TYPES, "线（LineString）")
    parts = [p for g in lines for p in shapely.get_parts(shapely.force_2d(g))]
    line = parts[0] if len(parts) == 1 else shapely.line_merge(MultiLineString(parts))
    if not isinstance(line, LineString):
        raise InvalidInput(f"计划路线应为一条连续的线：合并后仍有 {len(shapely.get_parts(line))} 段不相连")
    if problem := geometry_problem(line):
        raise InvalidInput(f"计划路线：{problem}")
    if len(np.unique(shapely.get_coordinates(line), axis=0)) < 2:
        raise InvalidInput("计划路线：至少需要两个不同的点")
    return line


def read_shapes(path: Path, *, crs: Any = None) -> list[BaseGeometry]:
    """Every geometry of a file (all layers of a GeoPackage or KML) in WGS84, converted from ``crs`` when given (it
    overrides the layer's declaration: GeoJSON always declares WGS84, even an Amap export in gcj02), else from the
    declared CRS; a file with neither must be in degrees."""
    if not path.exists():
        raise InvalidInput(f"文件不存在：{path}")
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise InvalidInput(f"不支持的文件格式：{path.name}（可用 {FILE_FORMATS_ZH}）")
    out: list[BaseGeometry] = []
    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
        frames = [pyogrio.read_dataframe(path, layer=name) for name in layers]
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types for unreadable files
        raise InvalidInput(f"无法读取文件 {path.name}：{str(exc)[:200]}") from exc
    for frame in frames:
        shapes = [g for g in frame.geometry.values if g is not None and not g.is_empty]
        if not shapes:
            continue
        source = parse_crs(crs) if crs is not None else parse_crs(frame.crs) if frame.crs is not None else None
        if source is None:
            bounds = shapely.total_bounds(np.asarray(shapes, dtype=object))
            if not (abs(bounds[[0, 2]]) <= 180).all() or not (abs(bounds[[1, 3]]) <= 90).all():
                raise InvalidInput(f"{path.name} 未声明坐标系且坐标不是经纬度，请指定坐标系（如 EPSG:4545 或 gcj02）")
            out.extend(shapes)
        else:
            with np.errstate(all="ignore"):
                out.extend(to_wgs84(np.asarray(shapes, dtype=object), source))
    return out


def area_from_file(path: Path, *, crs: Any = None) -> MultiPolygon:
    """A patrol area from a file: the union of its polygons."""
    try:
        return _area_of(read_shapes(path, crs=crs))
    except InvalidInput as exc:
        raise InvalidInput(f"{path.name}：{exc.message}") from exc


def route_from_file(path: Path, *, crs: Any = None) -> LineString:
    """A planned route from a file: its line (or lines joining end to end)."""
    try:
        return _route_of(read_shapes(path, crs=crs))
    except InvalidInput as exc:
        raise InvalidInput(f"{path.name}：{exc.message}") from exc


def _wkb(geom: BaseGeometry | None) -> bytes | None:
    return None if geom is None else shapely.to_wkb(geom, output_dimension=2)


# ------------------------------------------------------------------------------------------------ teams

TEAM_FIELDS = ("name", "kind", "shift", "unit", "grid", "leader")


def create_team(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str | None = None,
    shift: str | None = None,
    unit: str | None = None,
    grid: str | None = None,
    leader: str | None = None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Add a team (in force from ``effective``, default now) serving ``grid`` (a community or the street; by
    default the actor's scope), with its leader given by staff code."""
    authorize(session, actor, "patrol")
    clean = _code(code, "巡逻队编码")
    values: dict[str, Any] = {"code": clean, "name": _text(name, "巡逻队名称", required=True),
              "kind": _term(PATROL_TEAM_KINDS, kind, "巡逻队类型"), "shift": _term(SHIFTS, shift, "班次"),
              "unit": _text(unit, "所属单位"), "grid_id": _team_grid(session, actor, grid),
              "leader_staff_id": _staff_id(session, leader, "队长") if (leader or "").strip() else None}  # fmt: skip
    authorize(session, actor, "patrol", Touches(grid_ids=[values["grid_id"]]))
    _ensure_code_free(session, "patrol_team", clean, "巡逻队")
    moment = _moment(effective, None, timezone)
    _begin(session, actor, moment)
    values |= {"updated_by": actor.audit_name, "valid_from": moment}
    session.execute(text("INSERT INTO patrol_team (code, name, kind, shift, unit, grid_id, leader_staff_id, "
                         "updated_by, valid_from) VALUES (:code, :name, :kind, :shift, :unit, :grid_id, "
                         ":leader_staff_id, :updated_by, coalesce(CAST(:valid_from AS timestamptz), now()))"),
                    values)  # fmt: skip
    return _lookup_team(session, clean, timezone=timezone)


def update_team(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Change some of a live team's fields (``TEAM_FIELDS``; an empty value clears it); the former state stays as
    history, valid until ``effective`` (default now)."""
    authorize(session, actor, "patrol")
    check_fields(changes, TEAM_FIELDS)
    current, reach = _locked_team(session, code, actor, timezone)
    check_writable("巡逻队", current, expected_version, "，不能修改")
    columns: dict[str, Any] = {}
    for name, raw in changes.items():
        if name == "name":
            columns["name"] = _text(raw, "巡逻队名称", required=True)
        elif name == "kind":
            columns["kind"] = _term(PATROL_TEAM_KINDS, raw, "巡逻队类型")
        elif name == "shift":
            columns["shift"] = _term(SHIFTS, raw, "班次")
        elif name == "unit":
            columns["unit"] = _text(raw, "所属单位")
        elif name == "grid":
            columns["grid_id"] = _team_grid(session, actor, raw) if (raw or "").strip() else None
            reach.grid_ids.add(columns["grid_id"])
        else:
            columns["leader_staff_id"] = _staff_id(session, raw, "队长") if (raw or "").strip() else None
    authorize(session, actor, "patrol", reach.touches())
    moment = _moment(effective, current.valid_from, timezone)
    if columns:
        _begin(session, actor, moment)
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        session.execute(text(f"UPDATE patrol_team SET {sets} WHERE id = :id"), {**columns, "id": current.id})
    return _lookup_team(session, current.code, timezone=timezone)


def retire_team(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    cancel_rosters: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Retire a team from ``day`` (today) with a reason; its memberships end that day. A team rostered on that
    night or later is refused, naming the nights, unless ``cancel_rosters`` (those roster entries are removed)."""
    authorize(session, actor, "patrol")
    why = _reason(reason)
    current, _ = _locked_team(session, code, actor, timezone)
    check_writable("巡逻队", current, expected_version)
    moment = _moment(day, current.valid_from, timezone)
    first = day_of(moment, timezone)
    nights = [r.night for r in session.execute(text(
        "SELECT DISTINCT night FROM patrol_roster WHERE team_id = :t AND night >= :d ORDER BY night"),
        {"t": current.id, "d": first})]  # fmt: skip
    if nights and not cancel_rosters:
        shown = "、".join(n.isoformat() for n in nights[:MAX_NIGHTS_SHOWN])
        more = f" 等 {len(nights)} 个夜晚" if len(nights) > MAX_NIGHTS_SHOWN else f"（{len(nights)} 个夜晚）"
        raise Conflict(f"巡逻队 {current.code} 在 {first.isoformat()} 及以后还有排班：{shown}{more}。请先调整排班，"
                       "或选择「一并取消这些排班」后再撤销",
                       details={"nights": [n.isoformat() for n in nights]})  # fmt: skip
    _begin(session, actor, moment)
    if nights:
        session.execute(text("DELETE FROM patrol_roster WHERE team_id = :id AND night >= :day"),
                        {"id": current.id, "day": first})  # fmt: skip
    end_memberships(session, "patrol_team_member", current.id, first, why)
    retire_row(session, "patrol_team", current.id, reason=why, moment=moment)
    return _lookup_team(session, current.code, timezone=timezone)


def _member(session: Session, member_id: int, timezone: str) -> Member:
    stmt = _MEMBERS.replace("m.team_id = :team", "m.id = :id")
    row = session.execute(text(stmt), {"id": member_id, "all": True, "on_day": day_of(None, timezone)}).mappings()
    return Member(**row.one())


def _locked_team(session: Session, code: str, actor: Actor, timezone: str) -> tuple[Team, _Reach]:
    """A team, locked, once the actor may manage it (its reach in scope, checked before saying anything of it), and
    what it touches."""
    team = _lookup_team(session, code, lock=True, timezone=timezone)
    reach = _Reach()
    _team_reach(session, reach, team.id)
    authorize(session, actor, "patrol", reach.touches())
    return team, reach


def _writable_team(session: Session, code: str, actor: Actor, timezone: str) -> Team:
    """A live team the actor may manage (its reach in scope)."""
    authorize(session, actor, "patrol")
    team, _ = _locked_team(session, code, actor, timezone)
    check_writable("巡逻队", team, None)
    return team


def add_member(
    session: Session,
    code: str,
    actor: Actor,
    *,
    staff_code: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    organisation: str | None = None,
    role: str | None = None,
    since: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Member:
    """Make a staff member a member of a team as 队长 or 队员 (default) from ``since`` (today): one on record, by
    ``staff_code``, or a volunteer not on record yet, by ``name`` and ``phone`` (and ``organisation``), entered as
    staff in the same transaction once the actor may manage the team."""
    team = _writable_team(session, code, actor, timezone)
    term = _term(TEAM_MEMBER_ROLES, role, "队内职务") or DEFAULT_MEMBER_ROLE
    day = _member_day(since, timezone)
    _begin(session, actor)
    sid, who = _joining(session, actor, staff_code, name, phone, organisation)
    clash = session.execute(text("SELECT since, until FROM patrol_team_member WHERE team_id = :t AND staff_id = :s "
                                 "AND (until IS NULL OR until > :d) ORDER BY since LIMIT 1"),
                            {"t": team.id, "s": sid, "d": day}).first()  # fmt: skip
    if clash is not None:
        until = f"至 {clash.until:%Y-%m-%d}" if clash.until else "至今"
        raise Conflict(f"{who} 已是巡逻队 {team.code} 的队员（自 {clash.since:%Y-%m-%d} {until}）")
    mid = session.execute(text("INSERT INTO patrol_team_member (team_id, staff_id, role, since) "
                               "VALUES (:t, :s, :r, :d) RETURNING id"),
                          {"t": team.id, "s": sid, "r": term, "d": day}).scalar_one()  # fmt: skip
    return _member(session, int(mid), timezone)


# A volunteer entered here gets the code records.roles gives a staff member entered by name and phone (the staff
# importer's rule): the same person entered again, here or for a grid post, is the same record.
_VOLUNTEER = f"""
WITH found AS (SELECT id, code, valid_to FROM staff WHERE code = {STAFF_CODE_SQL} AND lineage_id IS NULL),
made AS (INSERT INTO staff (code, name, phone, organisation, updated_by)
         SELECT {STAFF_CODE_SQL}, :name, :phone, :organisation, :by WHERE NOT EXISTS (SELECT 1 FROM found)
         RETURNING id, code, valid_to)
SELECT * FROM found UNION ALL SELECT * FROM made"""


def _joining(session: Session, actor: Actor, staff_code: str | None, name: str | None, phone: str | None,
             organisation: str | None) -> tuple[int, str]:  # fmt: skip
    """The staff id of who joins, and how to name them: a staff member on record by code, or a volunteer entered
    now (a volunteer already on record with the same name and phone is that record)."""
    code = (staff_code or "").strip()
    volunteer = {"name": name, "phone": phone, "organisation": organisation}
    if code and any((v or "").strip() for v in volunteer.values()):
        raise InvalidInput("请只给出人员编码，或只给出新队员的姓名和电话")
    if code or not any((v or "").strip() for v in volunteer.values()):
        return _staff_id(session, code), code
    staff = record_kind("staff")
    values = {k: staff.field(k).parse(v) for k, v in volunteer.items()}
    if values["phone"] is None:
        raise InvalidInput("新队员（未登记的志愿者）：请填写电话（巡逻通知要用）")
    row = session.execute(text(_VOLUNTEER), {**values, "by": actor.audit_name}).one()
    if row.valid_to is not None:
        raise Conflict(f"{values['name']}（{row.code}）已离职：请先恢复其人员记录，再加入巡逻队")
    return int(row.id), f"{values['name']}（{row.code}）"


def end_member(
    session: Session,
    code: str,
    actor: Actor,
    *,
    staff_code: str,
    until: dt.date | None = None,
    reason: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Member:
    """End a staff member's membership of a team on ``until`` (today: from that day no longer a member)."""
    team = _writable_team(session, code, actor, timezone)
    sid = _staff_id(session, staff_code)
    row = session.execute(text("SELECT id, since FROM patrol_team_member WHERE team_id = :t AND staff_id = :s "
                               "AND until IS NULL"), {"t": team.id, "s": sid}).first()  # fmt: skip
    if row is None:
        raise NotFound(f"{staff_code.strip()} 目前不是巡逻队 {team.code} 的队员")
    day = _member_day(until, timezone)
    if day < row.since:
        raise InvalidInput(f"离队日期 {day.isoformat()} 早于入队日期 {row.since.isoformat()}")
    _begin(session, actor)
    session.execute(text("UPDATE patrol_team_member SET until = :d, end_reason = :r WHERE id = :i"),
                    {"d": day, "r": _reason(reason, MEMBER_END_REASON), "i": row.id})  # fmt: skip
    return _member(session, int(row.id), timezone)


# ------------------------------------------------------------------------------------------------ areas

AREA_FIELDS = ("name", "geometry", "team", "rota", "route")


def create_area(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    geometry: BaseGeometry | Mapping[str, Any] | str,
    team: str | None = None,
    rota: Collection[str] | str | None = None,
    route: BaseGeometry | Mapping[str, Any] | str | None = None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Area:
    """Add a patrol area (GeoJSON or a shapely geometry, WGS84), of a team or none, shared by the rota
    communities (at most two: odd months, even months), with its planned route when given."""
    authorize(session, actor, "patrol")
    clean = _code(code, "巡逻区域编码")
    values: dict[str, Any] = {"code": clean, "name": _text(name, "巡逻区域名称", required=True)}
    geom = area_shape(geometry)
    line = route_shape(route) if route is not None else None
    values["team_id"] = _live_team_id(session, team) if team and team.strip() else None
    rota_ids = _rota(session, rota)
    values["rota"] = rota_ids or None
    reach = _Reach(codes=set(_codes_of(session, rota_ids)), area=[g for g in (geom, line) if g is not None])
    _team_reach(session, reach, values["team_id"])
    authorize(session, actor, "patrol", reach.touches())
    _ensure_code_free(session, "patrol_area", clean, "巡逻区域")
    moment = _moment(effective, None, timezone)
    _begin(session, actor, moment)
    values |= {"geom": _wkb(geom), "route": _wkb(line), "by": actor.audit_name, "at": moment}
    session.execute(text("INSERT INTO patrol_area (code, name, team_id, geom, route, rota_grid_ids, updated_by, "
                         "valid_from) VALUES (:code, :name, :team_id, ST_GeomFromWKB(:geom, 4326), "
                         "ST_GeomFromWKB(CAST(:route AS bytea), 4326), CAST(:rota AS bigint[]), :by, "
                         "coalesce(CAST(:at AS timestamptz), now()))"), values)  # fmt: skip
    return _lookup_area(session, clean)


def _locked_area(session: Session, code: str, actor: Actor) -> tuple[Area, _Reach]:
    """An area, locked, once the actor may manage it (checked before saying anything of it), and what it touches."""
    area = _lookup_area(session, code, lock=True)
    reach = _Reach(codes=set(area.rota_codes), area=_shapes_of(session, "a.id = :i", {"i": area.id}))
    _team_reach(session, reach, area.team_id)
    authorize(session, actor, "patrol", reach.touches())
    return area, reach


def _codes_of(session: Session, grid_ids: Sequence[int]) -> list[str]:
    if not grid_ids:
        return []
    return list(session.scalars(text("SELECT code FROM grid WHERE id = ANY(:i)"), {"i": list(grid_ids)}))


def update_area(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Area:
    """Change some of a live area's fields (``AREA_FIELDS``: name, geometry, team and rota by codes, route; an
    empty team, rota or route clears it); the former state stays as history."""
    authorize(session, actor, "patrol")
    check_fields(changes, AREA_FIELDS)
    current, reach = _locked_area(session, code, actor)
    check_writable("巡逻区域", current, expected_version, "，不能修改")
    sets: list[str] = []
    params: dict[str, Any] = {"id": current.id}
    for name, raw in changes.items():
        if name == "name":
            sets.append("name = :name")
            params["name"] = _text(raw, "巡逻区域名称", required=True)
        elif name == "geometry":
            geom = area_shape(raw)
            reach.area.append(geom)
            sets.append("geom = ST_GeomFromWKB(:geom, 4326)")
            params["geom"] = _wkb(geom)
        elif name == "route":
            line = route_shape(raw) if raw not in (None, "") else None
            if line is not None:
                reach.area.append(line)
            sets.append("route = ST_GeomFromWKB(CAST(:route AS bytea), 4326)")
            params["route"] = _wkb(line)
        elif name == "team":
            params["team_id"] = _live_team_id(session, str(raw)) if (raw or "").strip() else None
            _team_reach(session, reach, params["team_id"])
            sets.append("team_id = :team_id")
        else:
            ids = _rota(session, raw)
            reach.codes.update(_codes_of(session, ids))
            sets.append("rota_grid_ids = CAST(:rota AS bigint[])")
            params["rota"] = ids or None
    authorize(session, actor, "patrol", reach.touches())
    moment = _moment(effective, current.valid_from, timezone)
    if sets:
        _begin(session, actor, moment)
        session.execute(text(f"UPDATE patrol_area SET {', '.join(sets)} WHERE id = :id"), params)
    return _lookup_area(session, current.code)


def set_route(
    session: Session,
    code: str,
    route: BaseGeometry | Mapping[str, Any] | str | None,
    actor: Actor,
    *,
    expected_version: int | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Area:
    """Set (or, with None, clear) the planned route of a live area."""
    return update_area(session, code, {"route": route}, actor, expected_version=expected_version, timezone=timezone)


def retire_area(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Area:
    """Retire a patrol area from ``day`` (today) with a reason; the row, its geometry and its history stay."""
    authorize(session, actor, "patrol")
    why = _reason(reason)
    current, _ = _locked_area(session, code, actor)
    check_writable("巡逻区域", current, expected_version)
    moment = _moment(day, current.valid_from, timezone)
    _begin(session, actor, moment)
    retire_row(session, "patrol_area", current.id, reason=why, moment=moment)
    return _lookup_area(session, current.code)


# ------------------------------------------------------------------------------------------------ for forms


@dataclass(frozen=True)
class Choice:
    """A code and what people call it, for a form's pick list."""

    code: str
    label: str


def staff_choices(session: Session, actor: Actor) -> list[Choice]:
    """The staff on record the actor may list (the records rule: those with posts in their scope, or all), by
    code, for picking a leader or a member."""
    records, _ = list_records(session, "staff", actor, limit=MAX_PAGE)
    return [Choice(r.code, f"{r.values['name']}{f'（{o}）' if (o := r.values.get('organisation')) else ''}")
            for r in records]  # fmt: skip


def grid_choices(session: Session, actor: Actor, levels: Collection[str]) -> list[Choice]:
    """The live grids of ``levels`` the actor may name (in their scope, or all), by code."""
    authorize(session, actor, "read")
    stmt = """WITH RECURSIVE sub AS (
                SELECT id FROM grid WHERE (CAST(:scope AS bigint) IS NULL AND parent_id IS NULL OR id = :scope)
                   AND valid_to IS NULL AND lineage_id IS NULL
                UNION ALL
                SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id
                 WHERE g.valid_to IS NULL AND g.lineage_id IS NULL)
              SELECT g.code, g.name, g.level FROM grid g JOIN sub ON sub.id = g.id
               WHERE g.level = ANY(:levels) ORDER BY g.code"""
    rows = session.execute(text(stmt), {"scope": None if actor.unscoped else actor.scope_grid_id,
                                        "levels": list(levels)})  # fmt: skip
    return [Choice(r.code, f"{LEVEL_ZH[r.level]} {r.name}（{r.code}）") for r in rows]


def community_outlines(session: Session, areas: Sequence[Area]) -> list[tuple[str, str, dict[str, Any]]]:
    """The live communities around some areas (code, name, GeoJSON), to draw them in context."""
    shapes = [shape(a.geometry) for a in areas if a.geometry is not None]
    if not shapes:
        return []
    bounds = shapely.total_bounds(np.asarray(shapes, dtype=object))
    rows = session.execute(text(
        "SELECT code, name, ST_AsGeoJSON(geom, 7) AS g FROM grid WHERE level = 'community' AND valid_to IS NULL "
        "AND lineage_id IS NULL AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) ORDER BY code"),
        dict(zip(("x0", "y0", "x1", "y1"), map(float, bounds), strict=True)))  # fmt: skip
    return [(r.code, r.name, json.loads(r.g)) for r in rows]
