"""党员责任区: polygons with their duty (PARTY_DUTIES), the organisation they belong to and the Party members
responsible, drawn on the map, pasted as GeoJSON or read from a file (the patrol areas' readers), and checked with
the grid topology machinery: overlaps between 责任区 inside the same compound and the parts of each compound no
责任区 covers, reported like grid findings.

Areas keep their history as records do (trigger of migration 0013); a removal is a retirement with a reason. They
are Party records naming members: reading them is personal data, in the reader's scope; every write goes through
``authorize(…, "write", Touches(area=[old and new polygon], grid_ids=[the organisation's and members' grids]))``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import NotFound
from gridgov.fields import parse_code, parse_reason, parse_text
from gridgov.grids.findings import Finding, GridInput
from gridgov.grids.topology import validate
from gridgov.history import identity
from gridgov.party.orgs import member_for
from gridgov.party.volunteers import live_org, org_reach, reader_root, required_term, split_codes
from gridgov.patrol.teams import area_shape
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.versioned import (
    VersionedState,
    begin,
    check_fields,
    check_writable,
    effective_moment,
    ensure_code_free,
    retire_row,
    state_changes,
)
from gridgov.vocab import PARTY_DUTIES

AREA_FIELDS = ("name", "duty", "geometry", "org", "members")
# A compound counts as one an area lies in when at least this share of the area is inside it (edges drawn a little
# apart leave slivers that do not put an area in the neighbouring compound).
COVER_SHARE = 0.01
RULE_LABELS = {"overlap": "责任区重叠", "gap": "未覆盖"}
_PIECE = "\x1f"  # joins an area's code and its compound's in the codes given to the topology check
NODE_DEGREES = 1e-9  # vertices this close (about 0.1 mm) to an edge are inserted into it before the check

_AREA = f"""
SELECT {identity("a")} AS id, a.code, a.name, a.duty, o.code AS org_code, o.name AS org_name,
       ARRAY(SELECT p.code FROM unnest(a.person_ids) WITH ORDINALITY u(id, n) JOIN person p ON p.id = u.id
              ORDER BY u.n) AS member_codes,
       ARRAY(SELECT p.name FROM unnest(a.person_ids) WITH ORDINALITY u(id, n) JOIN person p ON p.id = u.id
              ORDER BY u.n) AS member_names,
       ARRAY(SELECT g.code FROM grid g
              WHERE g.level = 'compound' AND g.valid_to IS NULL AND g.lineage_id IS NULL
                AND g.geom && a.geom AND ST_Intersects(g.geom, a.geom)
                AND ST_Area(ST_Intersection(g.geom, a.geom)::geography) >= {COVER_SHARE} * ST_Area(a.geom::geography)
              ORDER BY g.code) AS compounds,
       ST_Area(a.geom::geography) AS area_m2, a.version, a.valid_from, a.valid_to, a.end_reason, a.updated_by,
       a.org_id, {{geometry}} AS geometry
  FROM party_duty_area a LEFT JOIN party_org o ON o.id = a.org_id"""
# Areas lying in the reader's root grid (within the scope rule's half-metre tolerance).
_IN_ROOT = """ST_Covers((SELECT ST_Buffer(r.geom::geography, 0.5)::geometry FROM grid r
                          WHERE r.id = :root), a.geom)"""


@dataclass(frozen=True)
class DutyArea(VersionedState):
    """One state of a 责任区: its duty, organisation, members responsible (codes and names), the compounds it lies
    in, its size, and (when asked for) its polygon as GeoJSON."""

    id: int
    code: str
    name: str
    duty: str
    org_code: str | None
    org_name: str | None
    member_codes: list[str]
    member_names: list[str]
    compounds: list[str]
    area_m2: float
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    geometry: dict[str, Any] | None = None
    org_id: int | None = field(default=None, repr=False)

    HIDDEN = ("org_id",)

    def as_dict(self, *, shapes: bool = True) -> dict[str, Any]:
        """JSON form (without the polygon unless ``shapes``)."""
        out = super().as_dict()
        if not shapes:
            out.pop("geometry")
        return out


def _area(row: RowMapping) -> DutyArea:
    values = dict(row)
    values["geometry"] = json.loads(values["geometry"]) if values["geometry"] else None
    values["area_m2"] = float(values["area_m2"])
    return DutyArea(**values)


def _select(shapes: bool) -> str:
    return _AREA.format(geometry="ST_AsGeoJSON(a.geom, 7)" if shapes else "NULL")


# ------------------------------------------------------------------------------------------------ reading


def list_areas(session: Session, actor: Actor, *, parent: str | None = None, include_retired: bool = False,
               shapes: bool = False) -> list[DutyArea]:  # fmt: skip
    """The 责任区 in force (or with the retired ones) lying under ``parent`` (default: the reader's scope), by code;
    with their polygons when ``shapes``."""
    root = reader_root(session, actor, parent)
    where = ["a.lineage_id IS NULL" if include_retired else "a.valid_to IS NULL"]
    if root is not None:
        where.append(_IN_ROOT)
    stmt = f"{_select(shapes)} WHERE {' AND '.join(where)} ORDER BY a.code"
    return [_area(r) for r in session.execute(text(stmt), {"root": root}).mappings()]


def _lookup(session: Session, code: str, *, lock: bool = False) -> DutyArea:
    stmt = f"{_select(True)} WHERE a.code = :c AND a.lineage_id IS NULL" + (" FOR UPDATE OF a" if lock else "")
    row = session.execute(text(stmt), {"c": (code or "").strip()}).mappings().first()
    if row is None:
        raise NotFound(f"党员责任区不存在：{code}")
    return _area(row)


def _shape(area: DutyArea) -> BaseGeometry:
    assert area.geometry is not None
    return shape(area.geometry)


def get_area(session: Session, code: str, actor: Actor) -> DutyArea:
    """The current state of a 责任区 (live or retired) with its polygon, if it lies in the reader's scope."""
    authorize(session, actor, "personal")
    area = _lookup(session, code)
    authorize(session, actor, "personal", Touches(area=[_shape(area)]))
    return area


def area_history(session: Session, code: str, actor: Actor) -> list[DutyArea]:
    """Every state the 责任区 has had, with its polygon, oldest first (the current one last)."""
    current = get_area(session, code, actor)
    rows = session.execute(text(f"{_select(True)} WHERE {identity('a')} = :id"), {"id": current.id}).mappings()
    return sorted((_area(r) for r in rows), key=lambda a: (a.valid_from, a.version))


_CHANGES: list[tuple[str, Callable[[DutyArea], Any]]] = [
    ("名称", attrgetter("name")), ("职责", attrgetter("duty")), ("党组织", attrgetter("org_code")),
    ("责任党员", lambda a: "、".join(a.member_names))]  # fmt: skip


def area_changes(before: DutyArea | None, after: DutyArea) -> list[str]:
    """What changed from one state of a 责任区 to the next, as lines people read."""
    out = state_changes(before, after, _CHANGES)
    if before is not None and before.geometry != after.geometry:
        out.append(f"范围：{before.area_m2:,.0f} → {after.area_m2:,.0f} 平方米")
    return out


def compound_outlines(session: Session, actor: Actor, *, parent: str | None = None) -> list[dict[str, Any]]:
    """The live compounds under ``parent`` (default: the reader's scope) as GeoJSON features (code, name)."""
    root = reader_root(session, actor, parent)
    rows = session.execute(text(_COMPOUNDS.format(geometry="ST_AsGeoJSON(g.geom, 7)")), {"root": root})
    return [{"type": "Feature", "properties": {"code": r.code, "name": r.name}, "geometry": json.loads(r.g)}
            for r in rows]  # fmt: skip


# ------------------------------------------------------------------------------------------------ writing


def _members(session: Session, actor: Actor, value: Collection[str] | str | None,
             touched: list[int | None]) -> list[int]:  # fmt: skip
    """The Party members responsible (by codes; each a live member the actor may name: gridgov.party.orgs'
    rule), adding the grids of their households to what is touched."""
    people = [member_for(session, code, actor) for code in dict.fromkeys(split_codes(value))]
    touched.extend(p.grid_id for p in people)
    return [p.id for p in people]


def _org(session: Session, actor: Actor, value: str | None, touched: list[int | None]) -> int | None:
    org = live_org(session, value, actor) if value and value.strip() else None
    touched.extend(org_reach(session, org.id if org else None))
    return org.id if org else None


def _wkb(geom: BaseGeometry) -> bytes:
    return shapely.to_wkb(geom, output_dimension=2)


def create_area(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    duty: str,
    geometry: BaseGeometry | Mapping[str, Any] | str,
    org: str | None = None,
    members: Collection[str] | str | None = None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> DutyArea:
    """Add a 责任区 (GeoJSON or a shapely polygon, WGS84) with its duty, organisation and responsible members."""
    authorize(session, actor, "write")
    clean = parse_code(code, "责任区编码")
    geom = area_shape(geometry)
    touched: list[int | None] = []
    values = {"code": clean, "name": parse_text(name, "责任区名称", required=True),
              "duty": required_term(PARTY_DUTIES, duty, "责任区职责"), "org_id": _org(session, actor, org, touched),
              "people": _members(session, actor, members, touched)}  # fmt: skip
    authorize(session, actor, "write", Touches(grid_ids=touched, area=[geom]))
    ensure_code_free(session, "party_duty_area", clean, "责任区")
    moment = effective_moment(effective, None, timezone)
    begin(session, actor, moment)
    session.execute(text("INSERT INTO party_duty_area (code, name, duty, geom, org_id, person_ids, updated_by, "
                         "valid_from) VALUES (:code, :name, :duty, ST_Multi(ST_GeomFromWKB(:geom, 4326)), :org_id, "
                         "CAST(:people AS bigint[]), :by, coalesce(CAST(:at AS timestamptz), now()))"),
                    values | {"geom": _wkb(geom), "by": actor.audit_name, "at": moment})  # fmt: skip
    return _lookup(session, clean)


def _writable(session: Session, code: str, actor: Actor, expected_version: int | None,
              what: str = "修改") -> tuple[DutyArea, list[int | None]]:  # fmt: skip
    """A live area the actor may change (at the version read), locked, and the grids it touches now."""
    authorize(session, actor, "write")
    area = _lookup(session, code, lock=True)
    touched: list[int | None] = org_reach(session, area.org_id)
    touched += session.scalars(text("SELECT h.grid_id FROM party_duty_area a JOIN person p ON p.id = ANY(a.person_ids) "
                                    "LEFT JOIN household h ON h.id = p.household_id AND h.valid_to IS NULL "
                                    "WHERE a.id = :a"), {"a": area.id}).all()  # fmt: skip
    authorize(session, actor, "write", Touches(grid_ids=touched, area=[_shape(area)]))  # before saying anything
    check_writable("责任区", area, expected_version, f"，不能{what}")
    return area, touched


def update_area(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> DutyArea:
    """Change some of a live 责任区's fields (``AREA_FIELDS``; an empty org or member list clears it); the former
    state stays as history."""
    check_fields(changes, AREA_FIELDS)
    current, touched = _writable(session, code, actor, expected_version)
    shapes = [_shape(current)]
    sets: list[str] = []
    params: dict[str, Any] = {"id": current.id, "by": actor.audit_name}
    if "name" in changes:
        sets.append("name = :name")
        params["name"] = parse_text(changes["name"], "责任区名称", required=True)
    if "duty" in changes:
        sets.append("duty = :duty")
        params["duty"] = required_term(PARTY_DUTIES, changes["duty"], "责任区职责")
    if "geometry" in changes:
        geom = area_shape(changes["geometry"])
        shapes.append(geom)
        sets.append("geom = ST_Multi(ST_GeomFromWKB(:geom, 4326))")
        params["geom"] = _wkb(geom)
    if "org" in changes:
        sets.append("org_id = :org_id")
        params["org_id"] = _org(session, actor, changes["org"], touched)
    if "members" in changes:
        sets.append("person_ids = CAST(:people AS bigint[])")
        params["people"] = _members(session, actor, changes["members"], touched)
    authorize(session, actor, "write", Touches(grid_ids=touched, area=shapes))
    moment = effective_moment(effective, current.valid_from, timezone)
    if sets:
        begin(session, actor, moment)
        session.execute(text(f"UPDATE party_duty_area SET {', '.join(sets)}, updated_by = :by WHERE id = :id"), params)
    return _lookup(session, current.code)


def retire_area(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> DutyArea:
    """Retire a 责任区 from ``day`` (today) with a reason; the row, its polygon and its history stay."""
    why = parse_reason(reason)
    current, _ = _writable(session, code, actor, expected_version, "再次撤销")
    moment = effective_moment(day, current.valid_from, timezone)
    begin(session, actor, moment)
    retire_row(session, "party_duty_area", current.id, reason=why, moment=moment, by=actor.audit_name)
    return _lookup(session, current.code)


# ------------------------------------------------------------------------------------------------ topology

# The live compounds under :root (every one when NULL).
_COMPOUNDS = """
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE (CAST(:root AS bigint) IS NULL AND parent_id IS NULL OR id = :root)
       AND valid_to IS NULL AND lineage_id IS NULL
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL AND g.lineage_id IS NULL)
SELECT g.id, g.code, g.name, {geometry} AS g, ST_Area(g.geom::geography) AS area_m2
  FROM grid g JOIN sub ON sub.id = g.id WHERE g.level = 'compound' ORDER BY g.code"""
# The part of each live 责任区 inside each of those compounds.
_PIECES = """
SELECT a.code AS area, g.code AS compound,
       ST_AsBinary(ST_CollectionExtract(ST_Intersection(a.geom, g.geom), 3)) AS piece
  FROM party_duty_area a JOIN grid g ON g.id = ANY(:ids) AND g.geom && a.geom AND ST_Intersects(g.geom, a.geom)
 WHERE a.valid_to IS NULL AND ST_Area(ST_Intersection(a.geom, g.geom)) > 0
 ORDER BY g.code, a.code"""


def check_areas(session: Session, actor: Actor, *, parent: str | None = None, tolerance_m: float = 0.5,
                min_gap_area_m2: float = 1.0) -> list[Finding]:  # fmt: skip
    """The topology of the 责任区 in each compound under ``parent`` (default: the reader's scope), by the grid
    validation's rules and thresholds (the faces pass the grid settings' tolerance and smallest gap): ``overlap``,
    two 责任区 overlapping inside a compound; ``gap``, a part of a compound no 责任区 covers (a compound without
    any, whole). Codes: the area codes and the compound's; geometry: the problem area."""
    root = reader_root(session, actor, parent)
    compounds = {r.code: r for r in session.execute(text(_COMPOUNDS.format(geometry="ST_AsBinary(g.geom)")),
                                                    {"root": root})}  # fmt: skip
    if not compounds:
        return []
    pieces = session.execute(text(_PIECES), {"ids": [int(r.id) for r in compounds.values()]}).all()
    outlines = {c.code: shapely.from_wkb(c.g) for c in compounds.values()}
    shapes = {c: [outlines[c]] for c in outlines}
    for p in pieces:
        shapes[p.compound].append(shapely.from_wkb(p.piece))
    noded = {c: _noded(gs) for c, gs in shapes.items()}
    inputs = [GridInput(c.code, c.name, "compound", None, noded[c.code][0]) for c in compounds.values()]
    inputs += [GridInput(f"{p.area}{_PIECE}{p.compound}", p.area, "building", p.compound, g, provisional=True)
               for p, g in zip(pieces, _in_order(pieces, noded), strict=True)]  # fmt: skip
    found = validate(inputs, tolerance_m=tolerance_m, min_gap_area_m2=min_gap_area_m2, sliver_width_m=0,
                     max_vertices=None)  # fmt: skip
    out = [_reworded(f, compounds) for f in found if f.rule in RULE_LABELS]
    covered = {p.compound for p in pieces}
    for c in compounds.values():
        if c.code not in covered and float(c.area_m2) >= min_gap_area_m2:
            outline, m2 = outlines[c.code], float(c.area_m2)
            point = outline.representative_point()
            message = f"楼院 {c.name}（{c.code}）没有党员责任区（{m2:,.1f} 平方米未覆盖）"
            out.append(Finding("gap", [c.code], message, [round(point.x, 7), round(point.y, 7)], area_m2=round(m2, 2),
                               geometry=outline))  # fmt: skip
    return sorted(out, key=lambda f: (f.codes[-1], list(RULE_LABELS).index(f.rule), f.codes))  # by compound


def _noded(shapes: list[BaseGeometry]) -> list[BaseGeometry]:
    """A compound and its pieces with each other's vertices inserted where they lie on an edge: projected to metres
    an edge of the compound no longer bows away from the pieces' vertices along it (a hair-thin false gap)."""
    points = shapely.multipoints(shapely.get_coordinates(shapes))
    return list(shapely.snap(np.asarray(shapes, dtype=object), points, NODE_DEGREES))


def _in_order(pieces: Sequence[Any], noded: Mapping[str, list[BaseGeometry]]) -> list[BaseGeometry]:
    """The noded pieces in the order of ``pieces`` (each compound's list: its outline, then its pieces)."""
    seen: dict[str, int] = {}
    out = []
    for p in pieces:
        seen[p.compound] = seen.get(p.compound, 0) + 1
        out.append(noded[p.compound][seen[p.compound]])
    return out


def _reworded(f: Finding, compounds: Mapping[str, Any]) -> Finding:
    """A topology finding in the words of 责任区: area codes and the compound's instead of the pieces' codes."""
    parts = [c.split(_PIECE) for c in f.codes]
    areas = sorted({p[0] for p in parts if len(p) == 2})
    compound = next(p[1] if len(p) == 2 else p[0] for p in parts)
    where = f"楼院 {compounds[compound].name}（{compound}）"
    area = f.area_m2 or 0.0
    if f.rule == "overlap":
        message = f"{where}内，责任区 {' 与 '.join(areas)} 重叠 {area:,.1f} 平方米"
    else:
        message = f"{where}内有 {area:,.1f} 平方米不在任何党员责任区内（相邻责任区：{'、'.join(areas) or '无'}）"
    return replace(f, codes=[*areas, compound], message=message)
