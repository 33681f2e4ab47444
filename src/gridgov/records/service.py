"""Read, create, change and retire one record (household, person, building, staff member), keeping its history.

Every write names what it touches (the record's grid before and after, the grids of the household or building it
links to, the place it moves to) and goes through :func:`gridgov.auth.scope.authorize`; reading persons needs the
``personal`` permission where they live. A change is checked against the version the caller read (a stale one
is ``StaleVersion``, nothing written); the database trigger keeps the former state as a history row valid until
the change took effect (``effective``: a day, default now), and a removal is a retirement with a date and a
reason (``gridgov.history``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Action, Actor, Touches, authorize, readable_root
from gridgov.auth.views import log_view
from gridgov.errors import Conflict, InvalidInput, NotFound, StaleVersion
from gridgov.geo.checks import coordinate_problem, geometry_problem
from gridgov.history import day_of, set_effective, start_of
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import RecordKind, record_kind
from gridgov.terms import stored_vocabulary
from gridgov.versioned import VersionedState
from gridgov.vocab import CONFIGURABLE

_COMMON = "{a}.id, {a}.lineage_id, {a}.code, {a}.version, {a}.valid_from, {a}.valid_to, {a}.end_reason, {a}.updated_by"
_SELECT = {
    "households": f"""SELECT {_COMMON.format(a="h")}, h.grid_id, g.code AS grid_code, g.name AS grid_name,
               h.address, b.code AS building_code, h.kind, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat,
               (SELECT count(*) FROM person p WHERE p.household_id = coalesce(h.lineage_id, h.id)
                                                AND p.valid_to IS NULL) AS residents
          FROM household h LEFT JOIN grid g ON g.id = h.grid_id LEFT JOIN building b ON b.id = h.building_id""",
    "persons": f"""SELECT {_COMMON.format(a="p")}, h.grid_id, g.code AS grid_code, g.name AS grid_name,
               h.code AS household_code, h.address, p.name, p.sex, p.birth_year, p.phone, p.id_number,
               p.is_resident_rep, p.is_volunteer, p.is_party_member, p.member_type, p.sensitive_tags AS tags
          FROM person p LEFT JOIN household h ON h.id = p.household_id LEFT JOIN grid g ON g.id = h.grid_id""",
    "buildings": f"""SELECT {_COMMON.format(a="b")}, b.grid_id, g.code AS grid_code, g.name AS grid_name,
               b.name, b.address, b.floors, ST_X(ST_PointOnSurface(b.geom)) AS lon,
               ST_Y(ST_PointOnSurface(b.geom)) AS lat, ST_AsGeoJSON(b.geom) AS geometry,
               (SELECT count(*) FROM household x WHERE x.building_id = coalesce(b.lineage_id, b.id)
                                                   AND x.valid_to IS NULL) AS households
          FROM building b LEFT JOIN grid g ON g.id = b.grid_id""",
    "staff": f"""SELECT {_COMMON.format(a="s")}, NULL::bigint AS grid_id, NULL AS grid_code, NULL AS grid_name,
               s.name, s.phone, s.organisation,
               (SELECT string_agg(g.code || ' ' || g.name || '：' || r.role, '；' ORDER BY g.code, r.role)
                  FROM grid_role r JOIN grid g ON g.id = r.grid_id
                 WHERE r.staff_id = coalesce(s.lineage_id, s.id) AND r.until IS NULL) AS roles
          FROM staff s""",
}
_ALIAS = {"households": "h", "persons": "p", "buildings": "b", "staff": "s"}
_BOOKKEEPING = ("id", "lineage_id", "code", "version", "valid_from", "valid_to", "end_reason", "updated_by",
                "grid_id", "grid_code", "grid_name")  # fmt: skip
# Free-text search per kind (ILIKE on :q), households also by their residents' names and phones.
_SEARCH = {
    "households": """(h.code ILIKE :q OR h.address ILIKE :q OR EXISTS (
                        SELECT 1 FROM person r WHERE r.household_id = h.id AND r.valid_to IS NULL
                           AND (r.name ILIKE :q OR r.phone ILIKE :q)))""",
    "persons": "(p.code ILIKE :q OR p.name ILIKE :q OR p.phone ILIKE :q OR p.id_number ILIKE :q OR h.address ILIKE :q)",
    "buildings": "(b.code ILIKE :q OR b.name ILIKE :q OR b.address ILIKE :q)",
    "staff": "(s.code ILIKE :q OR s.name ILIKE :q OR s.phone ILIKE :q OR s.organisation ILIKE :q)",
}
_SUBTREE = """WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE code = :root AND valid_to IS NULL
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL
) """
MAX_PAGE = 500


@dataclass
class Record(VersionedState):
    """One state of a record: identity, version, validity, its grid and its field values."""

    kind: str
    id: int
    code: str
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    grid_id: int | None
    grid_code: str | None
    grid_name: str | None
    values: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": self.kind, "id": self.id, "code": self.code, "version": self.version,
                "valid_from": self.valid_from, "valid_to": self.valid_to, "retired": self.retired,
                "end_reason": self.end_reason, "updated_by": self.updated_by, "grid_code": self.grid_code,
                "grid_name": self.grid_name, **self.values}  # fmt: skip


def _record(kind: RecordKind, row: Mapping[str, Any] | RowMapping) -> Record:
    values = {k: v for k, v in row.items() if k not in _BOOKKEEPING}
    if "geometry" in values and values["geometry"] is not None:
        values["geometry"] = json.loads(values["geometry"])
    return Record(kind.name, int(row["lineage_id"] or row["id"]), row["code"], int(row["version"]), row["valid_from"],
                  row["valid_to"], row["end_reason"], row["updated_by"], row["grid_id"], row["grid_code"],
                  row["grid_name"], values)  # fmt: skip


def _lookup(session: Session, kind: RecordKind, code: str, *, lock: bool = False) -> Record:
    """The current state (live or retired) of the record with ``code``, or ``NotFound``."""
    a = _ALIAS[kind.name]
    stmt = f"{_SELECT[kind.name]} WHERE {a}.code = :code AND {a}.lineage_id IS NULL"
    row = session.execute(text(stmt + (f" FOR UPDATE OF {a}" if lock else "")), {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"{kind.label}不存在：{code}")
    return _record(kind, row)


def _staff_grids(session: Session, staff_id: int) -> set[int | None]:
    """The grids where a staff member holds a role now (their record is theirs to edit)."""
    stmt = text("SELECT DISTINCT grid_id FROM grid_role WHERE staff_id = :s AND until IS NULL")
    return set(session.scalars(stmt, {"s": staff_id}))


def _reach(session: Session, rec: Record) -> set[int | None]:
    """The grids a record lies in, for the scope rule."""
    if rec.kind == "staff":
        return _staff_grids(session, rec.id)
    return {rec.grid_id}


def get_record(session: Session, kind_name: str, code: str, actor: Actor, *, viewed_from: str = "api") -> Record:
    """The current state of one record, if it lies in the actor's scope (persons: with personal data rights)."""
    kind = record_kind(kind_name)
    rec = _lookup(session, kind, code)
    action: Action = "personal" if kind.name in ("persons", "households") else "read"
    reach = _reach(session, rec)
    authorize(session, actor, action, Touches(grid_ids=reach) if reach else None)  # staff without roles: anyone's
    if kind.table in ("person", "household"):
        log_view(session, actor, kind.table, rec.grid_code, page=viewed_from, rows=1)
    return rec


def record_history(session: Session, kind_name: str, code: str, actor: Actor) -> list[Record]:
    """Every state the record has had, oldest first (the current one last)."""
    kind = record_kind(kind_name)
    rec = get_record(session, kind.name, code, actor, viewed_from="history")
    a = _ALIAS[kind.name]
    stmt = f"{_SELECT[kind.name]} WHERE coalesce({a}.lineage_id, {a}.id) = :id ORDER BY {a}.valid_from, {a}.id"
    rows = session.execute(text(stmt), {"id": rec.id}).mappings().all()
    out = [_record(kind, r) for r in rows]
    out.sort(key=lambda r: (r.valid_from, r.valid_to is None))  # the live row after its same-moment history
    return out


def list_records(
    session: Session,
    kind_name: str,
    actor: Actor,
    *,
    grid: str | None = None,
    household: str | None = None,
    q: str | None = None,
    include_retired: bool = False,
    limit: int = 50,
    offset: int = 0,
    viewed_from: str = "api",
) -> tuple[list[Record], int]:
    """Records under ``grid`` (default: the actor's scope), or a household's residents, matching ``q``; and how
    many there are in all."""
    kind = record_kind(kind_name)
    a = _ALIAS[kind.name]
    action: Action = "personal" if kind.name in ("persons", "households") else "read"
    authorize(session, actor, action)
    root = readable_root(session, actor, grid)
    where = [] if include_retired else [f"{a}.valid_to IS NULL"]
    where.append(f"{a}.lineage_id IS NULL")
    params: dict[str, Any] = {"root": root, "limit": max(1, min(limit, MAX_PAGE)), "offset": max(0, offset)}
    if household is not None:
        if kind.name != "persons":
            raise InvalidInput("只有人员可按户查询")
        where.append("h.code = :household")
        params["household"] = household
    if q and q.strip():
        where.append(_SEARCH[kind.name])
        params["q"] = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    prefix = ""
    if root is not None:
        prefix = _SUBTREE
        if kind.name == "staff":
            where.append(f"EXISTS (SELECT 1 FROM grid_role r WHERE r.staff_id = {a}.id AND r.until IS NULL "
                         "AND r.grid_id IN (SELECT id FROM sub))")  # fmt: skip
        else:
            where.append(f"{'h' if kind.name == 'persons' else a}.grid_id IN (SELECT id FROM sub)")
    body = f"{_SELECT[kind.name]} WHERE {' AND '.join(where)}"
    total = int(session.execute(text(f"{prefix}SELECT count(*) FROM ({body}) c"), params).scalar_one())
    rows = session.execute(text(f"{prefix}{body} ORDER BY {a}.code LIMIT :limit OFFSET :offset"), params).mappings()
    records = [_record(kind, r) for r in rows]
    if kind.table in ("person", "household") and records:  # residents' data, or households found by them
        log_view(session, actor, kind.table, root, page=viewed_from, rows=len(records))
    return records, total


def _effective(effective: dt.date | None, since: dt.datetime | None, timezone: str) -> dt.datetime | None:
    """The moment a change dated ``effective`` takes effect (None: now); not in the future, not before the
    record's last change (``since``)."""
    if effective is None:
        return None
    if effective > day_of(None, timezone):
        raise InvalidInput(f"生效日期不能晚于今天：{effective.isoformat()}")
    if since is not None and effective < day_of(since, timezone):
        raise InvalidInput(f"生效日期 {effective.isoformat()} 早于该记录上次变更的日期 {day_of(since, timezone)}："
                           "请按时间顺序登记变更")  # fmt: skip
    return start_of(effective, timezone)


def _point(values: Mapping[str, Any]) -> BaseGeometry | None:
    """The place given as ``lon``/``lat`` or a GeoJSON ``geometry`` (WGS84), checked; None when not given."""
    geom = values.get("geometry")
    if geom not in (None, ""):
        try:
            g = shape(json.loads(geom) if isinstance(geom, str) else geom)
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
            raise InvalidInput("几何：无法解析的 GeoJSON") from None
        if problem := geometry_problem(g):
            raise InvalidInput(f"几何：{problem}")
        return g
    lon, lat = values.get("lon"), values.get("lat")
    if lon in (None, "") and lat in (None, ""):
        return None
    try:
        x, y = float(lon), float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"经纬度不是数值：{lon}, {lat}") from None
    if problem := coordinate_problem(x, y):
        raise InvalidInput(problem)
    return Point(x, y)


def _live_id(session: Session, table: str, code: str, label: str) -> tuple[int, int | None]:
    """The identity id and grid of the live row with ``code`` in ``table``, or ``InvalidInput``."""
    row = session.execute(text(f"SELECT id, grid_id FROM {table} WHERE code = :c AND valid_to IS NULL"),
                          {"c": code}).first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"{label}不存在或已注销：{code}")
    return int(row.id), row.grid_id


@dataclass
class _Write:
    """The columns a write sets and the grids and area it touches."""

    columns: dict[str, Any] = field(default_factory=dict)
    geom: BaseGeometry | None = None
    grid_ids: set[int | None] = field(default_factory=set)


def _columns(session: Session, kind: RecordKind, values: Mapping[str, Any], current: Record | None) -> _Write:
    """Parse the given fields into table columns, resolving references; check what must hold together."""
    out = _Write()
    for name, raw in values.items():
        if name in ("lon", "lat", "geometry") and kind.spatial:
            continue
        f = kind.field(name)
        stored = f.vocab is not None and f.vocab.name in CONFIGURABLE
        value = f.parse(raw, stored_vocabulary(session, f.vocab.name).vocabulary if stored else None)  # type: ignore[union-attr]
        if name == "building_code":
            out.columns["building_id"] = None
            if value is not None:
                out.columns["building_id"], gid = _live_id(session, "building", value, "楼栋")
                out.grid_ids.add(gid)
        elif name == "household_code":
            out.columns["household_id"], gid = _live_id(session, "household", value, "户")
            out.grid_ids.add(gid)
        else:
            out.columns["sensitive_tags" if name == "tags" else name] = value
    if kind.spatial:
        out.geom = _point(values)
        if out.geom is not None and kind.name == "households" and out.geom.geom_type != "Point":
            raise InvalidInput("户的位置应为点")
    if kind.name == "persons":
        merged = {**(current.values if current else {}), **out.columns}
        if "is_party_member" in out.columns and not merged.get("is_party_member"):
            out.columns["member_type"] = merged["member_type"] = None
        if merged.get("is_party_member") and not merged.get("member_type"):
            raise InvalidInput("党员类型：党员须填写党员类型")
        if merged.get("member_type") and not merged.get("is_party_member"):
            raise InvalidInput("党员类型：非党员不应填写党员类型")
    return out


def _ensure_code_free(session: Session, kind: RecordKind, code: str) -> None:
    found = session.execute(text(f"SELECT valid_to FROM {kind.table} WHERE code = :c AND lineage_id IS NULL"),
                            {"c": code}).first()  # fmt: skip
    if found is not None:
        state = "（已注销）" if found.valid_to is not None else ""
        raise Conflict(f"{kind.label}编码已存在{state}：{code}")


def _begin(session: Session, actor: Actor, moment: dt.datetime | None) -> None:
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.audit_name})
    set_effective(session, moment)


def create_record(
    session: Session,
    kind_name: str,
    values: Mapping[str, Any],
    actor: Actor,
    *,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Record:
    """Add a record (valid from ``effective``, default now) in the actor's scope; its grid follows from its place."""
    kind = record_kind(kind_name)
    authorize(session, actor, "write")
    code = kind.field("code").parse(values.get("code"))
    missing = [f.label for f in kind.fields if f.required and f.name not in values]
    if missing:
        raise InvalidInput(f"缺少必填项：{'、'.join(missing)}")
    w = _columns(session, kind, values, None)
    if kind.name == "households" and w.geom is None:
        if w.columns.get("building_id") is None:
            raise InvalidInput("户须给出位置（经纬度）或所属楼栋")
        w.geom = shapely.from_wkb(session.scalar(text("SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM building "
                                                      "WHERE id = :b"), {"b": w.columns["building_id"]}))  # fmt: skip
    if kind.name == "buildings" and w.geom is None:
        raise InvalidInput("楼栋须给出位置（经纬度或 GeoJSON 几何）")
    if kind.spatial:
        authorize(session, actor, "write", Touches(grid_ids=w.grid_ids, area=[w.geom] if w.geom is not None else []))
    elif kind.name == "persons":
        authorize(session, actor, "write", Touches(grid_ids=w.grid_ids))
    _ensure_code_free(session, kind, code)
    moment = _effective(effective, None, timezone)
    _begin(session, actor, moment)
    cols = {**w.columns, "code": code, "updated_by": actor.audit_name}
    if moment is not None:
        cols["valid_from"] = moment
    names = list(cols)
    placeholders = [f":{c}" for c in names]
    if w.geom is not None:
        names.append("geom")
        placeholders.append("ST_GeomFromWKB(:geom_wkb, 4326)")
        cols["geom_wkb"] = shapely.to_wkb(w.geom)
    session.execute(text(f"INSERT INTO {kind.table} ({', '.join(names)}) VALUES ({', '.join(placeholders)})"), cols)
    return _lookup(session, kind, code)


def update_record(
    session: Session,
    kind_name: str,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Record:
    """Change some fields of a live record (history kept: the former state stays valid until ``effective``)."""
    kind = record_kind(kind_name)
    authorize(session, actor, "write")
    current = _lookup(session, kind, code, lock=True)
    authorize(session, actor, "write", Touches(grid_ids=_reach(session, current)))  # before saying anything of it
    _check_version(kind, current, expected_version)
    if current.retired:
        raise Conflict(f"{kind.label} {code} 已于 {current.valid_to:%Y-%m-%d} 注销，不能修改")
    w = _columns(session, kind, changes, current)
    new_code = w.columns.get("code")
    if new_code is not None and new_code != code:
        _ensure_code_free(session, kind, new_code)
    authorize(session, actor, "write", Touches(grid_ids=_reach(session, current) | w.grid_ids,
                                               area=[w.geom] if w.geom is not None else []))  # fmt: skip
    moment = _effective(effective, current.valid_from, timezone)
    _begin(session, actor, moment)
    sets = [f"{c} = :{c}" for c in w.columns]
    params: dict[str, Any] = {**w.columns, "id": current.id}
    if w.geom is not None:
        sets.append("geom = ST_GeomFromWKB(:geom_wkb, 4326)")
        params["geom_wkb"] = shapely.to_wkb(w.geom)
    if sets:
        session.execute(text(f"UPDATE {kind.table} SET {', '.join(sets)} WHERE id = :id"), params)
    return _lookup(session, kind, new_code or code)


def _check_version(kind: RecordKind, current: Record, expected: int | None) -> None:
    if expected is not None and expected != current.version:
        raise StaleVersion(f"{kind.label} {current.code} 已被他人修改（当前版本 {current.version}，您编辑的是版本 "
                           f"{expected}）：请刷新后重试", details={"current_version": current.version})  # fmt: skip


def retire_record(
    session: Session,
    kind_name: str,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Record:
    """End a record with a reason (搬离, 死亡, 拆迁, 录入错误 …) as of ``effective`` (default now); never a delete.

    A household's residents end with it; a staff member's roles end with them; a building that still has
    households is refused (move or end them first)."""
    kind = record_kind(kind_name)
    authorize(session, actor, "write")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写注销原因（如 搬离、死亡、拆迁、录入错误）")
    if len(reason) > 200:
        raise InvalidInput("注销原因过长（最多 200 个字符）")
    current = _lookup(session, kind, code, lock=True)
    authorize(session, actor, "write", Touches(grid_ids=_reach(session, current)))
    _check_version(kind, current, expected_version)
    if current.retired:
        raise Conflict(f"{kind.label} {code} 已于 {current.valid_to:%Y-%m-%d} 注销")
    if kind.name == "buildings" and current.values.get("households"):
        raise Conflict(f"楼栋 {code} 内还有 {current.values['households']} 户：请先迁出或注销这些户")
    moment = _effective(effective, current.valid_from, timezone)
    _begin(session, actor, moment)
    params = {"id": current.id, "reason": reason, "at": moment}
    until = "coalesce(CAST(:at AS timestamptz), now())"
    if kind.name == "households":
        session.execute(text(f"UPDATE person SET valid_to = {until}, end_reason = :reason "
                             "WHERE household_id = :id AND valid_to IS NULL"), params)  # fmt: skip
    if kind.name == "staff":
        day = day_of(moment, timezone)
        session.execute(text("UPDATE grid_role SET until = greatest(since, CAST(:day AS date)), end_reason = :reason "
                             "WHERE staff_id = :id AND until IS NULL"), {**params, "day": day})  # fmt: skip
    session.execute(text(f"UPDATE {kind.table} SET valid_to = {until}, end_reason = :reason WHERE id = :id"), params)
    return _lookup(session, kind, code)
