"""Resident units (驻区单位) and 两新 organisations: where they are (a point the database assigns to its grid, as for
households), their kind, their Party contact (personal data), whether they have a Party organisation, and the
community 大党委 ("1+X") they joined as a member unit.

Units keep their history as records do (migration 0013's trigger; a change names the version it was made on; a
removal is a retirement with a day and a reason). Every write goes through ``authorize(…, "write", Touches(…))``
naming the unit's grid before and after (and its point), and the organisation it joins or leaves. The contact's
name and phone reach only readers with personal data rights over the unit's grid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from shapely.geometry import Point
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.assign.locate import to_lonlat
from gridgov.auth.scope import Actor, Touches, authorize, readable_root
from gridgov.auth.views import log_view
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.fields import parse_code, parse_past_day, parse_reason, parse_term, parse_text
from gridgov.history import as_of, day_of, identity
from gridgov.party.orgs import SUBTREE, personal_grids, reaches
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import Field
from gridgov.versioned import (
    VersionedState,
    begin,
    check_fields,
    check_writable,
    effective_moment,
    ensure_code_free,
    field_changes,
    retire_row,
)
from gridgov.vocab import UNIT_KINDS

UNIT_FIELDS = ("name", "kind", "address", "lon", "lat", "crs", "contact_name", "contact_phone", "has_party_org")
LABELS = {"name": "名称", "kind": "类型", "address": "地址", "place": "位置", "contact_name": "党建联系人",
          "contact_phone": "联系人电话", "has_party_org": "有党组织", "member_of": "加入大党委",
          "joined_on": "加入日期"}  # fmt: skip
GRAND_COMMITTEE_FORM = "社区党组织"  # the community organisation a unit joins as a member unit (大党委)
FLAG = Field("has_party_org", "有党组织", "bool")
PHONE = Field("contact_phone", "联系人电话", "phone")

_UNIT = f"""
SELECT {identity("u")} AS id, u.code, u.name, u.kind, u.address, ST_X(u.geom) AS lon, ST_Y(u.geom) AS lat,
       u.grid_id, g.code AS grid_code, g.name AS grid_name, u.contact_name, u.contact_phone, u.has_party_org,
       o.code AS member_of_code, o.name AS member_of_name, u.joined_on,
       ARRAY(SELECT p.code FROM party_org p WHERE p.unit_id = {identity("u")} AND p.valid_to IS NULL
              ORDER BY p.code) AS orgs,
       u.version, u.valid_from, u.valid_to, u.end_reason, u.updated_by
  FROM resident_unit u
  LEFT JOIN grid g ON g.id = u.grid_id
  LEFT JOIN party_org o ON o.id = u.member_of_org_id"""


@dataclass(frozen=True)
class Unit(VersionedState):
    """One state of a resident unit; the contact's name and phone are None for readers without personal data rights
    over its grid (``personal`` False)."""

    id: int
    code: str
    name: str
    kind: str
    address: str | None
    lon: float | None
    lat: float | None
    grid_code: str | None
    grid_name: str | None
    contact_name: str | None
    contact_phone: str | None
    has_party_org: bool
    member_of_code: str | None
    member_of_name: str | None
    joined_on: dt.date | None
    orgs: list[str]
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    personal: bool = False
    grid_id: int | None = field(default=None, repr=False)

    HIDDEN = ("grid_id",)


def _unit(row: RowMapping, scope: set[int] | None) -> Unit:
    values = dict(row)
    personal = scope is None or values["grid_id"] in scope
    if not personal:
        values |= {"contact_name": None, "contact_phone": None}
    return Unit(**values, personal=personal)


def _lookup(session: Session, code: str, *, lock: bool = False, as_of_moment: dt.datetime | None = None) -> RowMapping:
    where = as_of("u") if as_of_moment is not None else "u.lineage_id IS NULL"
    stmt = f"{_UNIT} WHERE u.code = :code AND {where}" + (" FOR UPDATE OF u" if lock else "")
    row = session.execute(text(stmt), {"code": (code or "").strip(), "as_of": as_of_moment}).mappings().first()
    if row is None:
        raise NotFound(f"驻区单位不存在：{code}")
    return row


def get_unit(session: Session, code: str, actor: Actor, *, page: str | None = None) -> Unit:
    """The current state of a unit (live or retired); shown on ``page`` (the view of its contact is logged), or
    read for a service (None)."""
    authorize(session, actor, "read")
    unit = _unit(_lookup(session, code), personal_grids(session, actor))
    if page is not None and unit.contact_name:
        log_view(session, actor, "resident_unit", unit.grid_code, page=page, rows=1)
    return unit


def list_units(session: Session, actor: Actor, *, parent: str | None = None, include_retired: bool = False,
               as_of_moment: dt.datetime | None = None, page: str | None = None) -> list[Unit]:  # fmt: skip
    """The units in force under ``parent`` (default: the actor's scope; everywhere also those in no grid), or at
    ``as_of_moment``, or with the retired ones; by code. Shown on ``page``, the view of their contacts is logged."""
    authorize(session, actor, "read")
    root_code = readable_root(session, actor, parent.strip() if parent else None)
    if as_of_moment is not None:
        where = [as_of("u")]
    else:
        where = ["u.lineage_id IS NULL" if include_retired else "u.valid_to IS NULL"]
    root = None
    if root_code is not None:
        root = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                              {"c": root_code})  # fmt: skip
        where.append("u.grid_id IN (SELECT id FROM sub)")
    stmt = f"{SUBTREE} {_UNIT} WHERE {' AND '.join(where)} ORDER BY u.code"
    rows = session.execute(text(stmt), {"root": root, "as_of": as_of_moment}).mappings()
    scope = personal_grids(session, actor)
    found = [_unit(r, scope) for r in rows]
    named = sum(1 for u in found if u.contact_name)
    if page is not None and named:
        log_view(session, actor, "resident_unit", root_code, page=page, rows=named)
    return found


def unit_history(session: Session, code: str, actor: Actor) -> list[Unit]:
    """Every state the unit has had, oldest first (the current one last)."""
    current = get_unit(session, code, actor)
    rows = session.execute(text(f"{_UNIT} WHERE {identity('u')} = :id ORDER BY u.valid_from, u.id"),
                           {"id": current.id}).mappings()  # fmt: skip
    scope = personal_grids(session, actor)
    out = [_unit(r, scope) for r in rows]
    out.sort(key=lambda u: (u.valid_from, u.version))
    return out


def unit_changes(before: Unit | None, after: Unit) -> list[str]:
    """What changed from one state of a unit to the next, as lines people read."""
    if before is None:
        return ["新建"]
    out = field_changes(before, after, _CHANGES)
    if (before.lon, before.lat) != (after.lon, after.lat) and before.grid_code == after.grid_code:
        out.append("位置：已移动")
    return out


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


_CHANGES: tuple[tuple[str, Callable[[Unit], Any]], ...] = (
    (LABELS["name"], attrgetter("name")), (LABELS["kind"], attrgetter("kind")),
    (LABELS["address"], attrgetter("address")), (LABELS["place"], attrgetter("grid_code")),
    (LABELS["contact_name"], attrgetter("contact_name")), (LABELS["contact_phone"], attrgetter("contact_phone")),
    (LABELS["has_party_org"], lambda u: _yes(u.has_party_org)), (LABELS["member_of"], attrgetter("member_of_code")),
    (LABELS["joined_on"], attrgetter("joined_on")),
)


# ------------------------------------------------------------------------------------------------ writing


def _place(session: Session, lon: Any, lat: Any, crs: Any) -> tuple[Point, int | None]:
    """The point (WGS84) from ``lon``/``lat`` in ``crs`` (gcj02, EPSG:4490 …), and the grid it falls in."""
    if lon in (None, "") or lat in (None, ""):
        raise InvalidInput("位置：请填写经度和纬度")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput(f"经纬度不是数值：{lon}, {lat}") from None
    x, y = to_lonlat(x, y, str(crs).strip() if crs else None)
    grid = session.scalar(text("SELECT gridgov_leaf_for_point(ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                          {"x": x, "y": y})  # fmt: skip
    return Point(x, y), grid


def _columns(given: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in given.items():
        if name in ("name", "address", "contact_name"):
            out[name] = parse_text(raw, LABELS[name], required=name == "name")
        elif name == "kind":
            out["kind"] = parse_term(UNIT_KINDS, raw, "单位类型")
            if out["kind"] is None:
                raise InvalidInput(f"单位类型：必填项为空（可选：{'、'.join(UNIT_KINDS.terms)}）")
        elif name == "contact_phone":
            out[name] = PHONE.parse(raw)
        elif name == "has_party_org":
            out[name] = FLAG.parse(raw)
    return out


def create_unit(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    lon: Any,
    lat: Any,
    crs: str | None = None,
    address: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    has_party_org: Any = False,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Unit:
    """Add a resident unit or 两新 organisation at ``lon``/``lat`` (in ``crs``; the grid follows from the point)."""
    authorize(session, actor, "write")
    clean = parse_code(code, "单位编码")
    values = _columns({"name": name, "kind": kind, "address": address, "contact_name": contact_name,
                       "contact_phone": contact_phone, "has_party_org": has_party_org})  # fmt: skip
    point, grid = _place(session, lon, lat, crs)
    authorize(session, actor, "write", Touches(grid_ids=[grid], area=[point]))
    ensure_code_free(session, "resident_unit", clean, "驻区单位")
    moment = effective_moment(effective, None, timezone)
    begin(session, actor, moment)
    session.execute(text("""
        INSERT INTO resident_unit (code, name, kind, address, geom, contact_name, contact_phone, has_party_org,
                                   updated_by, valid_from)
        VALUES (:code, :name, :kind, :address, ST_SetSRID(ST_MakePoint(:x, :y), 4326), :contact_name, :contact_phone,
                :has_party_org, :by, coalesce(CAST(:at AS timestamptz), now()))"""),
                    {**values, "code": clean, "x": point.x, "y": point.y, "by": actor.audit_name,
                     "at": moment})  # fmt: skip
    return get_unit(session, clean, actor)


def _writable(session: Session, code: str, actor: Actor, expected_version: int | None) -> Unit:
    """A live unit the actor may change (its grid in scope), at the version the caller read."""
    authorize(session, actor, "write")
    row = _lookup(session, code, lock=True)
    authorize(session, actor, "write", Touches(grid_ids=[row["grid_id"]]))
    unit = _unit(row, None)
    check_writable("驻区单位", unit, expected_version)
    return unit


def _save(session: Session, actor: Actor, unit: Unit, columns: Mapping[str, Any], moment: dt.datetime | None) -> Unit:
    if columns:
        begin(session, actor, moment)
        sets = ", ".join("geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326)" if k == "point" else f"{k} = :{k}"
                         for k in columns)  # fmt: skip
        params = {**columns, "id": unit.id, "by": actor.audit_name}
        if "point" in columns:
            params |= {"x": columns["point"].x, "y": columns["point"].y}
        session.execute(text(f"UPDATE resident_unit SET {sets}, updated_by = :by WHERE id = :id"), params)
    return get_unit(session, unit.code, actor)


def update_unit(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Unit:
    """Change some fields of a live unit (``UNIT_FIELDS``: a new place is ``lon`` and ``lat``, with ``crs``); the
    former state stays as history, valid until ``effective`` (default now)."""
    authorize(session, actor, "write")
    check_fields(changes, UNIT_FIELDS)
    current = _writable(session, code, actor, expected_version)
    columns = _columns(changes)
    if {"lon", "lat"} & set(changes):
        point, grid = _place(session, changes.get("lon"), changes.get("lat"), changes.get("crs"))
        authorize(session, actor, "write", Touches(grid_ids=[grid], area=[point]))
        if (point.x, point.y) != (current.lon, current.lat):
            columns["point"] = point
    return _save(session, actor, current, columns, effective_moment(effective, current.valid_from, timezone))


def join_unit(
    session: Session,
    code: str,
    actor: Actor,
    *,
    org: str | None,
    joined_on: dt.date | str | None = None,
    expected_version: int | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Unit:
    """Make a live unit a member unit of a community 大党委 (``org``: a live 社区党组织) from ``joined_on`` (today),
    or, with no ``org``, leave the one it joined."""
    current = _writable(session, code, actor, expected_version)
    old = session.scalar(text("SELECT member_of_org_id FROM resident_unit WHERE id = :i"), {"i": current.id})
    org_id = None
    if (org or "").strip():
        row = session.execute(text("SELECT id, code, kind, form FROM party_org WHERE code = :c AND valid_to IS NULL"),
                              {"c": str(org).strip()}).first()  # fmt: skip
        if row is None:
            raise InvalidInput(f"党组织不存在或已撤销：{org}")
        if row.form != GRAND_COMMITTEE_FORM:
            raise InvalidInput(f"{row.code} 是{row.form}：驻区单位只能加入社区党组织（大党委）")
        org_id = int(row.id)
    reach = reaches(session, [i for i in (old, org_id) if i is not None])
    authorize(session, actor, "write", Touches(grid_ids=set().union(*reach.values()) if reach else ()))
    day = None
    if org_id is not None:
        day = parse_past_day(joined_on, "加入日期", day_of(None, timezone)) or day_of(None, timezone)
        if old == org_id and day == current.joined_on:
            raise Conflict(f"驻区单位 {current.code} 已于 {day.isoformat()} 加入 {current.member_of_code}")
    elif old is None:
        raise Conflict(f"驻区单位 {current.code} 未加入任何大党委")
    return _save(session, actor, current, {"member_of_org_id": org_id, "joined_on": day}, None)


def retire_unit(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Unit:
    """Retire a unit from ``day`` (today) with a reason; one whose Party organisation is still in force is refused."""
    why = parse_reason(reason)
    current = _writable(session, code, actor, expected_version)
    if current.orgs:
        raise Conflict(f"驻区单位 {current.code} 的党组织 {'、'.join(current.orgs)} 仍在：请先撤销或调整这些党组织")
    moment = effective_moment(day, current.valid_from, timezone)
    begin(session, actor, moment)
    retire_row(session, "resident_unit", current.id, reason=why, moment=moment, by=actor.audit_name)
    return get_unit(session, current.code, actor)
