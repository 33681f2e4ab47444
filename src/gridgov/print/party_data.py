"""What a 楼院党建公示 board shows, read set-based for all its grids at once: the grid board's map content
(gridgov.print.data), the Party organisations built on the grid with the groups under them, their secretary (name
and phone: a public office), committee, member counts, the 党员责任区 on the grid with their duties, and members by
name ONLY where they consented to 亮身份 (``party_register.shows_identity``); everyone else is only counted.
Nothing else about members is read: no codes, phones or addresses of members who hold no office."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.history import day_of, live, role_in_force
from gridgov.print.data import BoardData, Feature, board_base
from gridgov.vocab import PARTY_POSTS

# The organisations built on the boards' grids, and the groups under them (the board lists both).
_ORGS = f"""
WITH built AS (
    SELECT g.code AS grid_code, o.id, o.code, o.name, o.kind, o.form, o.parent_id, o.phone, o.secretary_person_id,
           o.secretary_staff_id, 0 AS depth
      FROM grid g JOIN party_org o ON g.id = ANY(o.grid_ids) AND {live("o")}
     WHERE g.code = ANY(:codes) AND {live("g")} AND g.lineage_id IS NULL
), listed AS (
    SELECT * FROM built
    UNION ALL
    SELECT b.grid_code, c.id, c.code, c.name, c.kind, c.form, c.parent_id, c.phone, c.secretary_person_id,
           c.secretary_staff_id, 1
      FROM built b JOIN party_org c ON c.parent_id = b.id AND {live("c")}
     WHERE NOT EXISTS (SELECT 1 FROM built x WHERE x.grid_code = b.grid_code AND x.id = c.id)
)
SELECT l.grid_code, l.id, l.code, l.name, l.kind, l.form, l.depth, l.parent_id, up.name AS parent_name,
       coalesce(sp.name, ss.name) AS secretary, coalesce(l.phone, sp.phone, ss.phone) AS phone,
       (SELECT count(*) FROM party_membership m JOIN person p ON p.id = m.person_id AND {live("p")}
         WHERE m.org_id = l.id AND {role_in_force("m")}) AS members
  FROM listed l
  LEFT JOIN party_org up ON up.id = l.parent_id
  LEFT JOIN person sp ON sp.id = l.secretary_person_id
  LEFT JOIN staff ss ON ss.id = l.secretary_staff_id
 ORDER BY l.grid_code, l.code"""

# Members who consented to 亮身份, by organisation (names only).
_SHOWN = f"""
SELECT m.org_id, p.name FROM party_membership m
  JOIN person p ON p.id = m.person_id AND {live("p")}
  JOIN party_register r ON r.person_id = p.id AND r.shows_identity
 WHERE m.org_id = ANY(:orgs) AND {role_in_force("m")}
 ORDER BY m.org_id, p.code"""

# The committee: posts in force, their holders' names (office holders: shown).
_POSTS = f"""
SELECT t.org_id, t.post, coalesce(p.name, s.name) AS name FROM party_org_post t
  LEFT JOIN person p ON p.id = t.person_id LEFT JOIN staff s ON s.id = t.staff_id
 WHERE t.org_id = ANY(:orgs) AND {role_in_force("t")}
 ORDER BY t.org_id, array_position(CAST(:order AS text[]), t.post), t.since, t.id"""

# 党员责任区 on the boards' grids: the responsible members, by name only where they consented.
_AREAS = f"""
SELECT g.code AS grid_code, a.code, a.name, a.duty, ST_AsBinary(a.geom) AS wkb, cardinality(a.person_ids) AS people,
       ARRAY(SELECT p.name FROM unnest(a.person_ids) WITH ORDINALITY x(id, k) JOIN person p ON p.id = x.id
               AND {live("p")} JOIN party_register r ON r.person_id = p.id AND r.shows_identity
              ORDER BY x.k) AS shown
  FROM grid g JOIN party_duty_area a ON {live("a")} AND a.geom && g.geom
   AND ST_Area(ST_Intersection(a.geom, g.geom)) > 0.05 * ST_Area(a.geom)
 WHERE g.code = ANY(:codes) AND {live("g")} AND g.lineage_id IS NULL
 ORDER BY g.code, a.code"""


@dataclass
class PartyGroup:
    """A group under an organisation on the board: name, members, those shown by name."""

    name: str
    members: int
    shown: list[str]


@dataclass
class PartyOrgLine:
    """An organisation built on the board's grid, as the board presents it."""

    code: str
    name: str
    kind: str
    form: str
    parent_name: str | None
    secretary: str | None
    phone: str | None
    members: int  # with its groups'
    shown: list[str]  # members by name (consented to 亮身份), its groups' included
    committee: list[tuple[str, str]] = field(default_factory=list)  # (post, name)
    groups: list[PartyGroup] = field(default_factory=list)


@dataclass
class DutyArea:
    """A 党员责任区 on the board's grid: its area, duty and the members responsible (names only with consent)."""

    code: str
    name: str
    duty: str
    geom: BaseGeometry
    people: int
    shown: list[str]


@dataclass
class PartyBoardData(BoardData):
    """Everything a 楼院党建公示 board shows: the grid board's map content and the Party organisation on it."""

    orgs: list[PartyOrgLine] = field(default_factory=list)
    areas: list[DutyArea] = field(default_factory=list)

    @property
    def members(self) -> int:
        """Members of the organisations on the board."""
        return sum(o.members for o in self.orgs)

    @property
    def shown(self) -> int:
        """Of them, those shown by name."""
        return sum(len(o.shown) for o in self.orgs)

    @property
    def area_features(self) -> list[Feature]:
        """The 责任区 as map features."""
        return [Feature(a.code, a.name, a.geom) for a in self.areas]


def party_boards_data(session: Session, codes: Iterable[str], *, near_m: float = 150.0,
                      on_day: dt.date | None = None) -> list[PartyBoardData]:  # fmt: skip
    """The 楼院党建公示 boards of several live grids, with the posts and memberships in force on ``on_day``
    (today when None): four statements for all of them, after the grid boards' own."""
    day = on_day or day_of(None)
    boards = [PartyBoardData(**vars(board_base(session, code, near_m, day))) for code in codes]
    wanted = [b.code for b in boards]
    params = {"codes": wanted, "on_day": day}
    rows = session.execute(text(_ORGS), params).all()
    ids = sorted({int(r.id) for r in rows})
    shown: dict[int, list[str]] = {}
    for r in session.execute(text(_SHOWN), {"orgs": ids, "on_day": day}):
        shown.setdefault(int(r.org_id), []).append(r.name)
    posts: dict[int, list[tuple[str, str]]] = {}
    for r in session.execute(text(_POSTS), {"orgs": ids, "on_day": day, "order": list(PARTY_POSTS.terms)}):
        posts.setdefault(int(r.org_id), []).append((r.post, r.name))
    by_code = {b.code: b for b in boards}
    lines: dict[tuple[str, int], PartyOrgLine] = {}
    for r in rows:
        board = by_code[r.grid_code]
        if r.depth == 0:
            line = PartyOrgLine(r.code, r.name, r.kind, r.form, r.parent_name, r.secretary, r.phone,
                                int(r.members), list(shown.get(int(r.id), [])),
                                [p for p in posts.get(int(r.id), []) if p[0] != "党小组长"])  # fmt: skip
            lines[(r.grid_code, int(r.id))] = line
            board.orgs.append(line)
    for r in rows:  # groups under the organisations listed
        parent = lines.get((r.grid_code, int(r.parent_id))) if r.depth == 1 and r.parent_id is not None else None
        if parent is None:
            continue
        names = list(shown.get(int(r.id), []))
        name = str(r.name).removeprefix(by_code[r.grid_code].name) or str(r.name)  # 3号楼党小组, on its own board
        parent.groups.append(PartyGroup(name, int(r.members), names))
        parent.members += int(r.members)
        parent.shown += names
    for r in session.execute(text(_AREAS), params):
        by_code[r.grid_code].areas.append(DutyArea(r.code, r.name, r.duty, shapely.from_wkb(r.wkb), int(r.people),
                                                   list(r.shown)))  # fmt: skip
    return boards
