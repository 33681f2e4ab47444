"""What a 公示 board shows, read from the database in a few set-based queries: the grid, its parents'
names, its neighbours and buildings (for the map), its staff, and optionally its aggregate counts.
Nothing about residents is read except counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.errors import InvalidInput, NotFound
from gridgov.grids.service import leaves, list_grids, subtree
from gridgov.history import day_of, live, role_in_force
from gridgov.terms import stored_vocabulary

_GRID = """
WITH RECURSIVE up AS (
    SELECT g.id, g.code, g.name, g.level, g.parent_id, 0 AS depth FROM grid g
     WHERE g.code = :code AND g.valid_to IS NULL AND g.lineage_id IS NULL
    UNION ALL
    SELECT p.id, p.code, p.name, p.level, p.parent_id, up.depth + 1 FROM grid p JOIN up ON p.id = up.parent_id
     WHERE p.valid_to IS NULL AND p.lineage_id IS NULL
)
SELECT up.id, up.code, up.name, up.level, up.depth, ST_AsBinary(g.geom) AS wkb
  FROM up JOIN grid g ON g.id = up.id ORDER BY up.depth"""

# Same-level live grids near the grid (within :near metres): labelled on the map for orientation.
_NEIGHBOURS = """
SELECT n.code, n.name, ST_AsBinary(n.geom) AS wkb
  FROM grid g JOIN grid n ON n.level = g.level AND n.id <> g.id AND n.valid_to IS NULL AND n.lineage_id IS NULL
   AND ST_DWithin(n.geom::geography, g.geom::geography, :near)
 WHERE g.id = :id ORDER BY n.code"""

_BUILDINGS = f"""
SELECT b.code, b.name, ST_AsBinary(b.geom) AS wkb, b.grid_id = :id AS own
  FROM grid g JOIN building b ON ST_DWithin(b.geom::geography, g.geom::geography, :near) AND {live("b")}
 WHERE g.id = :id ORDER BY b.code"""

_STAFF = f"""
SELECT r.role, s.name, s.phone FROM grid_role r JOIN staff s ON s.id = r.staff_id
 WHERE r.grid_id = :id AND r.role = ANY(CAST(:roles AS text[])) AND {role_in_force("r")}
 ORDER BY array_position(CAST(:roles AS text[]), r.role), s.name"""


@dataclass(frozen=True)
class Feature:
    """A named geometry on the board map (EPSG:4326)."""

    code: str
    name: str
    geom: BaseGeometry
    own: bool = True


@dataclass(frozen=True)
class StaffLine:
    """One responsible person: role, name, phone (staff contact details belong on a board)."""

    role: str
    name: str
    phone: str | None


@dataclass
class BoardData:
    """Everything one board shows."""

    code: str
    name: str
    level: str
    geom: BaseGeometry
    parents: list[tuple[str, str, str]]  # (level, code, name), street first
    neighbours: list[Feature] = field(default_factory=list)
    buildings: list[Feature] = field(default_factory=list)
    staff: list[StaffLine] = field(default_factory=list)
    counts: dict[str, int] | None = None

    def parent_name(self, level: str) -> str | None:
        """The name of the parent at ``level`` (street, community), if any."""
        return next((n for lv, _, n in self.parents if lv == level), None)


def board_data(
    session: Session, code: str, *, near_m: float = 150.0, with_counts: bool = False, on_day: dt.date | None = None
) -> BoardData:
    """The board content of live grid ``code``: map features within ``near_m`` metres, staff, counts."""
    return boards_data(session, [code], near_m=near_m, with_counts=with_counts, on_day=on_day)[0]


def boards_data(
    session: Session,
    codes: Iterable[str],
    *,
    near_m: float = 150.0,
    with_counts: bool = False,
    on_day: dt.date | None = None,
) -> list[BoardData]:
    """The board content of several live grids, with the staff in force on ``on_day`` (today when None); their
    counts come from one ledger pass over the subtree of their nearest common ancestor (the whole ledger when
    they lie in different streets)."""
    day = on_day or day_of(None)
    boards = [board_base(session, code, near_m, day) for code in codes]
    if with_counts and boards:
        from gridgov.ledger.report import build_ledger

        chains = [[c for _, c, _ in b.parents] + [b.code] for b in boards]
        top = None  # the deepest grid on every board's chain (street first, the board's grid last)
        for same_depth in zip(*chains, strict=False):
            if len(set(same_depth)) != 1:
                break
            top = same_depth[0]
        rows = {r.code: r for r in build_ledger(session, parent=top, with_patrol=False).rows}
        for b in boards:
            row = rows[b.code]
            b.counts = {"户数": row.households, "人数": row.persons, "党员数": row.party_members}
    return boards


def board_base(session: Session, code: str, near_m: float, on_day: dt.date) -> BoardData:
    """One board without counts: the grid and its parents, neighbours, buildings and staff (four queries); the
    楼院党建公示 board (gridgov.print.party_data) starts from it too."""
    if not code or not code.strip():
        raise InvalidInput("请指定网格编码")
    rows = session.execute(text(_GRID), {"code": code.strip()}).all()
    if not rows:
        raise NotFound(f"网格不存在：{code}")
    me = rows[0]
    data = BoardData(
        code=me.code, name=me.name, level=me.level, geom=shapely.from_wkb(me.wkb),
        parents=[(r.level, r.code, r.name) for r in reversed(rows[1:])],
    )  # fmt: skip
    params = {"id": me.id, "near": near_m}
    data.neighbours = [
        Feature(r.code, r.name, shapely.from_wkb(r.wkb), False) for r in session.execute(text(_NEIGHBOURS), params)
    ]
    data.buildings = [
        Feature(r.code, r.name or r.code, shapely.from_wkb(r.wkb), bool(r.own))
        for r in session.execute(text(_BUILDINGS), params)
    ]
    roles = stored_vocabulary(session, "staff_roles")  # the public posts, the street's own included
    data.staff = staff_lines(session, me.id, [r for r in roles.vocabulary.terms if r in roles.public], on_day)
    return data


def staff_lines(
    session: Session, grid_id: int, roles: Sequence[str], on_day: dt.date | None = None
) -> list[StaffLine]:
    """The grid's staff holding one of ``roles`` on ``on_day`` (today when None), in the order of ``roles`` (the
    vocabulary's), then by name."""
    params = {"id": grid_id, "roles": list(roles), "on_day": on_day or day_of(None)}
    return [StaffLine(r.role, r.name, r.phone) for r in session.execute(text(_STAFF), params)]


def leaf_codes(session: Session, parent: str) -> list[str]:
    """Codes of the live leaf grids under ``parent`` (the parent itself if it is a leaf), by code."""
    return [g.code for g in leaves(subtree(list_grids(session, with_geometry=False), parent))]
