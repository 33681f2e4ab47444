"""Rosters (排班) of the night shifts: a month made from the rules, entries set by hand, leave and substitutions, the
month's and a night's listings, and the daily notice list (who must be told for tonight, by unit).

The rules (one home):

- **上半夜**: the live teams of shift 上半夜, ordered by code, take a week each (weeks start on Monday; the team of
  week *k* is ``teams[k mod n]``, *k* counted from :data:`EPOCH`, so next month continues the rotation).
- **下半夜**: per community (the team's ``grid_id``), its 下半夜 teams take a night each
  (``teams[(night − EPOCH) mod n]``).
- **Area and lead community**: the team's live area (the first by code); of its ``rota_grid_ids`` the first leads
  in odd months and the second in even ones (a single one leads every month; none: no lead).
- **People**: the leader is the team's leader, else its 队长 member in force that night; the on-duty cadre (值班领导)
  is each night the next of the 上半夜 teams' leaders; the community staff member (社区值班人员) each night the next
  of the staff with a public post in force on the lead community (or the team's community), by staff code.
- **Regeneration** replaces only rule-made entries without leave or substitution; hand-set entries (手工) and
  entries with changes stay, and the rule adds nothing to a slot they hold (a night's 上半夜, or a night's 下半夜 of
  one community).

Every write names the team's grid and the lead community (``Touches``); a team serving no grid is judged by its
area's geometry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.terms import stored_vocabulary
from gridgov.vocab import ROSTER_CHANGES, ROSTER_SOURCES, SHIFTS, shift_hours

EPOCH = dt.date(2000, 1, 3)
"""A Monday: week and night rotations count from it, so each month continues the one before."""
EARLY, LATE = SHIFTS.terms
BY_RULE, BY_HAND = ROSTER_SOURCES.terms
LEAVE, SUBSTITUTION = ROSTER_CHANGES.terms
WEEKDAYS = "一二三四五六日"
NO_UNIT = "未指定单位"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('gridgov.patrol_roster'))"  # one roster writer at a time


# ---------------------------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class StaffRef:
    """A person on a roster: staff code, name and phone (contacts shown to logged-in users)."""

    id: int
    code: str
    name: str
    phone: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (without the internal id)."""
        return {"code": self.code, "name": self.name, "phone": self.phone}

    @property
    def label(self) -> str:
        """Name and phone, as a list shows them."""
        return f"{self.name}（{self.phone}）" if self.phone else self.name


@dataclass(frozen=True)
class ChangeInfo:
    """A leave (请假) or a substitution (替班: ``substitute`` stands in for ``staff``) on a roster entry."""

    id: int
    kind: str
    staff: StaffRef
    substitute: StaffRef | None
    note: str | None
    created_by: str | None
    created_at: dt.datetime

    @property
    def text(self) -> str:
        """The change as people write it: 张三请假 / 李四替王五."""
        if self.kind == SUBSTITUTION and self.substitute is not None:
            return f"{self.substitute.name}替{self.staff.name}" + (f"（{self.note}）" if self.note else "")
        return f"{self.staff.name}{self.kind}" + (f"（{self.note}）" if self.note else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": self.kind, "staff": self.staff.as_dict(),
                "substitute": self.substitute.as_dict() if self.substitute else None, "note": self.note,
                "text": self.text, "created_by": self.created_by, "created_at": self.created_at}  # fmt: skip


@dataclass(frozen=True)
class OnShift:
    """One person of a rostered shift: their duty (带队, 队长, 队员, 值班领导, 社区值班) and whether they come
    (在岗), are away (请假, or 已替班: someone stands in), or stand in for someone (替班, ``replaces``)."""

    staff: StaffRef
    duty: str
    status: str
    replaces: StaffRef | None = None

    @property
    def present(self) -> bool:
        """Whether this person is expected on the shift."""
        return self.status in ("在岗", SUBSTITUTION)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.staff.as_dict(), "duty": self.duty, "status": self.status,
                "replaces": self.replaces.as_dict() if self.replaces else None}  # fmt: skip


@dataclass(frozen=True)
class RosterEntry:
    """One night × shift × team of the roster, with names, its changes and (for a night's listing) its crew."""

    id: int
    night: dt.date
    shift: str
    team_code: str
    team_name: str
    unit: str | None
    team_grid_code: str | None
    team_grid_name: str | None
    area_code: str | None
    area_name: str | None
    lead_grid_code: str | None
    lead_grid_name: str | None
    leader: StaffRef | None
    duty_cadre: StaffRef | None
    community_staff: StaffRef | None
    source: str
    note: str | None
    updated_by: str | None
    updated_at: dt.datetime
    changes: list[ChangeInfo] = field(default_factory=list)
    members: list[StaffRef] | None = None  # in force that night (read for a night's listing only)

    @property
    def weekday(self) -> str:
        """星期一 … 星期日."""
        return f"星期{WEEKDAYS[self.night.weekday()]}"

    @property
    def hours(self) -> str:
        """The shift's hours (20:00–23:30 …)."""
        return shift_hours(self.shift)

    @property
    def unit_label(self) -> str:
        """Whom the notice goes to: the team's unit, else its community's name."""
        return self.unit or self.team_grid_name or NO_UNIT

    @property
    def changes_text(self) -> str:
        """The changes as one line."""
        return "；".join(c.text for c in self.changes)

    def _status(self, person: StaffRef) -> tuple[str, StaffRef | None]:
        """Whether ``person`` comes: (在岗 | 请假 | 已替班, the substitute)."""
        for c in self.changes:
            if c.staff.id == person.id and c.kind == SUBSTITUTION:
                return "已替班", c.substitute
        if any(c.staff.id == person.id and c.kind == LEAVE for c in self.changes):
            return LEAVE, None
        return "在岗", None

    def _with_substitutes(self, people: Iterable[tuple[StaffRef, str]]) -> list[OnShift]:
        out: list[OnShift] = []
        for person, duty in people:
            status, substitute = self._status(person)
            out.append(OnShift(person, duty, status))
            if substitute is not None:
                sub_status, _ = self._status(substitute)
                out.append(OnShift(substitute, duty, SUBSTITUTION if sub_status == "在岗" else sub_status, person))
        return out

    def crew(self) -> list[OnShift]:
        """The leader and the members in force that night, each with whether they come, and the substitutes."""
        people = [(self.leader, "带队")] if self.leader else []
        people += [(m, "队员") for m in self.members or () if self.leader is None or m.id != self.leader.id]
        return self._with_substitutes(people)

    def on_duty(self) -> list[OnShift]:
        """The on-duty cadre and the community staff member, with their substitutes."""
        people = [(p, duty) for p, duty in ((self.duty_cadre, "值班领导"), (self.community_staff, "社区值班"))
                  if p is not None]  # fmt: skip
        return self._with_substitutes(people)

    def on_shift(self) -> dict[int, StaffRef]:
        """Everyone the shift names (leader, duty cadre, community staff, members, substitutes), by staff id."""
        people = [p for p in (self.leader, self.duty_cadre, self.community_staff) if p is not None]
        people += [*(self.members or ()), *(c.substitute for c in self.changes if c.substitute is not None)]
        return {p.id: p for p in people}

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the crew only when the members were read)."""
        d = {k: v for k, v in asdict(self).items() if k not in ("id", "changes", "members")}
        for k in ("leader", "duty_cadre", "community_staff"):
            p = getattr(self, k)
            d[k] = p.as_dict() if p else None
        d |= {"id": self.id, "weekday": self.weekday, "hours": self.hours, "unit": self.unit_label,
              "changes": [c.as_dict() for c in self.changes]}  # fmt: skip
        if self.members is not None:
            d["crew"] = [p.as_dict() for p in self.crew()]
        d["on_duty"] = [p.as_dict() for p in self.on_duty()]
        return d


@dataclass(frozen=True)
class MonthRoster:
    """A month's roster: every entry, night by night (nights without an entry are simply absent)."""

    month: dt.date
    street: str
    entries: list[RosterEntry]

    @property
    def title(self) -> str:
        """文艺路街道 2026年10月 夜间巡逻排班表."""
        return f"{self.street}{month_label(self.month)}夜间巡逻排班表"

    def nights(self) -> list[dt.date]:
        """Every night of the month."""
        return list(days_of(self.month))

    def by_night(self) -> dict[dt.date, dict[str, list[RosterEntry]]]:
        """Entries per night and shift, every night and both shifts present (possibly empty)."""
        out: dict[dt.date, dict[str, list[RosterEntry]]] = {d: {s: [] for s in SHIFTS} for d in self.nights()}
        for e in self.entries:
            out[e.night][e.shift].append(e)
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"month": f"{self.month:%Y-%m}", "street": self.street, "title": self.title,
                "entries": [e.as_dict() for e in self.entries]}  # fmt: skip


@dataclass(frozen=True)
class GenerateReport:
    """What a month's generation did: entries made, rule-made entries replaced, entries kept (by hand or with
    changes) and the plan's slots they hold."""

    month: dt.date
    grid: str | None
    created: int
    replaced: int
    kept: int
    planned: int

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"month": f"{self.month:%Y-%m}", "grid": self.grid, "created": self.created,
                "replaced": self.replaced, "kept": self.kept, "planned": self.planned}  # fmt: skip

    @property
    def message(self) -> str:
        """What happened, in one sentence."""
        kept = f"，保留手工或有变动的排班 {self.kept} 条" if self.kept else ""
        return f"已按规则生成{month_label(self.month)}排班 {self.created} 条（替换原规则排班 {self.replaced} 条{kept}）"


@dataclass(frozen=True)
class NoticeItem:
    """One rostered team in the notice list: who comes (to call), who is away, and who stands in."""

    entry: RosterEntry
    crew: list[OnShift]

    @property
    def to_call(self) -> list[OnShift]:
        """The people to tell: the crew minus those away, plus the substitutes."""
        return [p for p in self.crew if p.present]

    @property
    def away(self) -> list[OnShift]:
        """Those away (请假 or replaced)."""
        return [p for p in self.crew if not p.present]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        e = self.entry
        return {"team_code": e.team_code, "team_name": e.team_name, "shift": e.shift, "hours": e.hours,
                "area_name": e.area_name, "lead_grid_name": e.lead_grid_name,
                "leader": e.leader.as_dict() if e.leader else None,
                "to_call": [p.as_dict() for p in self.to_call], "away": [p.as_dict() for p in self.away],
                "note": e.note, "changes": e.changes_text}  # fmt: skip


@dataclass(frozen=True)
class NoticeGroup:
    """The teams of one unit (the team's unit, else its community)."""

    unit: str
    items: list[NoticeItem]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"unit": self.unit, "teams": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class NoticeList:
    """Who must be told for tonight: per unit its rostered teams, and the night's on-duty cadre and community
    staff (with their substitutes)."""

    night: dt.date
    street: str
    groups: list[NoticeGroup]
    on_duty: list[OnShift]

    @property
    def title(self) -> str:
        """文艺路街道 2026年10月1日（星期四）夜间巡逻通知名单."""
        d = self.night
        return f"{self.street}{d.year}年{d.month}月{d.day}日（星期{WEEKDAYS[d.weekday()]}）夜间巡逻通知名单"

    @property
    def count(self) -> int:
        """How many people to call (each once)."""
        ids = {p.staff.id for g in self.groups for i in g.items for p in i.to_call}
        return len(ids | {p.staff.id for p in self.on_duty if p.present})

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"night": self.night, "street": self.street, "title": self.title, "people": self.count,
                "units": [g.as_dict() for g in self.groups],
                "on_duty": [p.as_dict() for p in self.on_duty]}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Dates


def last_day(month: dt.date) -> dt.date:
    """The last day of ``month``'s month."""
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def days_of(month: dt.date) -> list[dt.date]:
    """Every day of the month."""
    first = month.replace(day=1)
    return [first + dt.timedelta(days=i) for i in range(last_day(first).day)]


def month_label(month: dt.date) -> str:
    """2026年10月."""
    return f"{month.year}年{month.month}月"


def month_number(month: dt.date) -> int:
    """Months since year 0 (January of year 0 is 0): odd months are even numbers."""
    return month.year * 12 + month.month - 1


def lead_index(month: dt.date, n: int) -> int:
    """Which of ``n`` rota communities leads in ``month``: the first in odd months, the second in even ones."""
    return month_number(month) % n


def _shift(value: str) -> str:
    term = SHIFTS.canonical(value or "")
    if term is None:
        raise InvalidInput(f"班次应为{'或'.join(SHIFTS.terms)}：{value}")
    return term


# ---------------------------------------------------------------------------------------------------------------
# The rules, as SQL

# The rotation of the month's nights: :first, :last, :epoch, :lead_at (lead_index's year*12+month-1), :public
# (the public staff roles), :subtree (a grid id whose subtree's teams are planned, NULL: all teams).
_PLAN = text(
    """
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE id = CAST(:subtree AS bigint)
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id AND g.valid_to IS NULL AND g.lineage_id IS NULL
),
nights AS (
    SELECT CAST(d AS date) AS night, CAST(d AS date) - CAST(:epoch AS date) AS days
      FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d
),
teams AS (
    SELECT t.id, t.code, t.shift, t.grid_id, t.leader_staff_id,
           row_number() OVER (rota ORDER BY t.code) - 1 AS i, count(*) OVER rota AS n
      FROM patrol_team t
     WHERE t.valid_to IS NULL AND t.shift IS NOT NULL
    WINDOW rota AS (PARTITION BY t.shift, CASE WHEN t.shift = '下半夜' THEN t.grid_id END)
),
leaders AS (  -- each team's leader on each night: its leader, else its 队长 in force (the first by staff code)
    SELECT n.night, t.id AS team_id, t.code, t.shift, coalesce(t.leader_staff_id, cap.staff_id) AS staff_id
      FROM nights n CROSS JOIN teams t
      LEFT JOIN LATERAL (
           SELECT m.staff_id FROM patrol_team_member m JOIN staff s ON s.id = m.staff_id
            WHERE m.team_id = t.id AND m.role = '队长' AND m.since <= n.night
              AND (m.until IS NULL OR m.until > n.night)
            ORDER BY s.code LIMIT 1) cap ON true
),
plan AS (
    SELECT n.night, n.days, t.shift, t.id AS team_id, t.code AS team_code, t.grid_id AS team_grid_id
      FROM nights n JOIN teams t
        ON t.i = CASE WHEN t.shift = '上半夜' THEN mod(mod(CAST(floor(n.days / 7.0) AS bigint), t.n) + t.n, t.n)
                      ELSE mod(mod(n.days, t.n) + t.n, t.n) END
),
entries AS (
    SELECT p.*, a.id AS area_id, l.staff_id AS leader_staff_id,
           CASE WHEN cardinality(a.rota_grid_ids) > 0
                THEN a.rota_grid_ids[mod(CAST(:lead_at AS int), cardinality(a.rota_grid_ids)) + 1] END AS lead_grid_id
      FROM plan p
      JOIN leaders l ON l.night = p.night AND l.team_id = p.team_id
      LEFT JOIN LATERAL (SELECT a.id, a.rota_grid_ids FROM patrol_area a
                          WHERE a.team_id = p.team_id AND a.valid_to IS NULL ORDER BY a.code LIMIT 1) a ON true
),
cadres AS (  -- the 上半夜 teams' leaders, in team order, each once
    SELECT night, staff_id, row_number() OVER (PARTITION BY night ORDER BY min(code)) - 1 AS i,
           count(*) OVER (PARTITION BY night) AS k
      FROM leaders WHERE shift = '上半夜' AND staff_id IS NOT NULL
     GROUP BY night, staff_id
),
duty AS (
    SELECT c.night, c.staff_id FROM cadres c JOIN nights n USING (night)
     WHERE c.i = mod(mod(n.days, c.k) + c.k, c.k)
),
posts AS (  -- staff with a public post in force on the community, by staff code, each once
    SELECT n.night, n.days, r.grid_id, s.id AS staff_id,
           row_number() OVER (PARTITION BY n.night, r.grid_id ORDER BY s.code) - 1 AS i,
           count(*) OVER (PARTITION BY n.night, r.grid_id) AS k
      FROM nights n
      JOIN grid_role r ON r.since <= n.night AND (r.until IS NULL OR r.until > n.night)
      JOIN staff s ON s.id = r.staff_id AND s.valid_to IS NULL
     WHERE r.role = ANY(CAST(:public AS text[]))
       AND r.grid_id IN (SELECT coalesce(lead_grid_id, team_grid_id) FROM entries)
     GROUP BY n.night, n.days, r.grid_id, s.id, s.code
)
SELECT e.night, e.shift, e.team_id, e.team_code, e.team_grid_id, e.area_id, e.lead_grid_id, e.leader_staff_id,
       d.staff_id AS duty_cadre_staff_id, p.staff_id AS community_staff_id,
       CASE WHEN e.team_grid_id IS NULL THEN ST_AsBinary(ar.geom) END AS area_wkb
  FROM entries e
  LEFT JOIN duty d ON d.night = e.night
  LEFT JOIN posts p ON p.night = e.night AND p.grid_id = coalesce(e.lead_grid_id, e.team_grid_id)
                   AND p.i = mod(mod(e.days, p.k) + p.k, p.k)
  LEFT JOIN patrol_area ar ON ar.id = e.area_id
 WHERE CAST(:subtree AS bigint) IS NULL OR e.team_grid_id IN (SELECT id FROM sub)
 ORDER BY e.night, array_position(ARRAY['上半夜', '下半夜'], CAST(e.shift AS text)), e.team_code"""
)

# Rule-made entries of the month without changes (of the subtree's teams): what a regeneration replaces.
_REPLACEABLE = text(
    """
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE id = CAST(:subtree AS bigint)
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id AND g.valid_to IS NULL AND g.lineage_id IS NULL
)
SELECT r.id, t.grid_id AS team_grid_id, r.lead_grid_id,
       CASE WHEN t.grid_id IS NULL THEN ST_AsBinary(a.geom) END AS area_wkb
  FROM patrol_roster r JOIN patrol_team t ON t.id = r.team_id
  LEFT JOIN patrol_area a ON a.id = r.area_id
 WHERE r.night BETWEEN :first AND :last AND r.source = '规则'
   AND NOT EXISTS (SELECT 1 FROM roster_change c WHERE c.roster_id = r.id)
   AND (CAST(:subtree AS bigint) IS NULL OR t.grid_id IN (SELECT id FROM sub))"""
)

# The plan's rows, except the slots a kept entry holds (the night's 上半夜, or the night's 下半夜 of the community).
_INSERT_PLAN = text(
    """
INSERT INTO patrol_roster (night, shift, team_id, area_id, lead_grid_id, leader_staff_id, duty_cadre_staff_id,
                           community_staff_id, source, updated_by)
SELECT u.night, u.shift, u.team_id, u.area_id, u.lead_grid_id, u.leader, u.duty, u.community, '规则', :by
  FROM unnest(CAST(:night AS date[]), CAST(:shift AS text[]), CAST(:team AS bigint[]), CAST(:team_grid AS bigint[]),
              CAST(:area AS bigint[]), CAST(:lead AS bigint[]), CAST(:leader AS bigint[]), CAST(:duty AS bigint[]),
              CAST(:community AS bigint[]))
       AS u(night, shift, team_id, team_grid_id, area_id, lead_grid_id, leader, duty, community)
 WHERE NOT EXISTS (
       SELECT 1 FROM patrol_roster k JOIN patrol_team kt ON kt.id = k.team_id
        WHERE k.night = u.night AND k.shift = u.shift
          AND (u.shift = '上半夜' OR kt.grid_id IS NOT DISTINCT FROM u.team_grid_id))
ON CONFLICT (night, shift, team_id) DO NOTHING
RETURNING id"""
)

_ENTRIES = text(
    """
SELECT r.id, r.night, r.shift, r.source, r.note, r.updated_by, r.updated_at, r.team_id,
       t.code AS team_code, t.name AS team_name, t.unit, tg.code AS team_grid_code, tg.name AS team_grid_name,
       a.code AS area_code, a.name AS area_name, lg.code AS lead_grid_code, lg.name AS lead_grid_name,
       ld.id AS leader_id, ld.code AS leader_code, ld.name AS leader_name, ld.phone AS leader_phone,
       du.id AS duty_id, du.code AS duty_code, du.name AS duty_name, du.phone AS duty_phone,
       cs.id AS community_id, cs.code AS community_code, cs.name AS community_name, cs.phone AS community_phone
  FROM patrol_roster r
  JOIN patrol_team t ON t.id = r.team_id
  LEFT JOIN grid tg ON tg.id = t.grid_id
  LEFT JOIN patrol_area a ON a.id = r.area_id
  LEFT JOIN grid lg ON lg.id = r.lead_grid_id
  LEFT JOIN staff ld ON ld.id = r.leader_staff_id
  LEFT JOIN staff du ON du.id = r.duty_cadre_staff_id
  LEFT JOIN staff cs ON cs.id = r.community_staff_id
 WHERE r.night BETWEEN :first AND :last AND (CAST(:id AS bigint) IS NULL OR r.id = CAST(:id AS bigint))
 ORDER BY r.night, array_position(ARRAY['上半夜', '下半夜'], CAST(r.shift AS text)), t.code"""
)

_CHANGES = text(
    """
SELECT c.id, c.roster_id, c.kind, c.note, c.created_by, c.created_at,
       s.id AS staff_id, s.code AS staff_code, s.name AS staff_name, s.phone AS staff_phone,
       b.id AS sub_id, b.code AS sub_code, b.name AS sub_name, b.phone AS sub_phone
  FROM roster_change c JOIN staff s ON s.id = c.staff_id LEFT JOIN staff b ON b.id = c.substitute_staff_id
 WHERE c.roster_id = ANY(CAST(:ids AS bigint[]))
 ORDER BY c.id"""
)

_MEMBERS = text(
    """
SELECT m.team_id, s.id, s.code, s.name, s.phone
  FROM patrol_team_member m JOIN staff s ON s.id = m.staff_id
 WHERE m.team_id = ANY(CAST(:teams AS bigint[])) AND m.since <= :night AND (m.until IS NULL OR m.until > :night)
 ORDER BY m.team_id, m.role <> '队长', s.code"""
)


# ---------------------------------------------------------------------------------------------------------------
# Reading


def street_name(session: Session) -> str:
    """The street's name when there is one street grid (else empty): the titles of lists and files."""
    names = list(session.scalars(text("SELECT name FROM grid WHERE level = 'street' AND valid_to IS NULL "
                                      "AND lineage_id IS NULL ORDER BY code LIMIT 2")))  # fmt: skip
    return names[0] if len(names) == 1 else ""


def _person(row: Row[Any], prefix: str) -> StaffRef | None:
    m = row._mapping
    if m[f"{prefix}_id"] is None:
        return None
    return StaffRef(int(m[f"{prefix}_id"]), m[f"{prefix}_code"], m[f"{prefix}_name"], m[f"{prefix}_phone"])


def _entries(session: Session, first: dt.date, last: dt.date, *, roster_id: int | None = None,
             with_members: bool = False) -> list[RosterEntry]:  # fmt: skip
    """The entries of the nights ``first``..``last`` (or one entry), with changes (and members of that night)."""
    rows = session.execute(_ENTRIES, {"first": first, "last": last, "id": roster_id}).all()
    changes: dict[int, list[ChangeInfo]] = {}
    if rows:
        for c in session.execute(_CHANGES, {"ids": [r.id for r in rows]}):
            staff = StaffRef(c.staff_id, c.staff_code, c.staff_name, c.staff_phone)
            changes.setdefault(c.roster_id, []).append(
                ChangeInfo(c.id, c.kind, staff, _person(c, "sub"), c.note, c.created_by, c.created_at))
    members: dict[tuple[int, dt.date], list[StaffRef]] = {}
    if with_members and rows:
        for night in sorted({r.night for r in rows}):
            teams = sorted({r.team_id for r in rows if r.night == night})
            for m in session.execute(_MEMBERS, {"teams": teams, "night": night}):
                members.setdefault((m.team_id, night), []).append(StaffRef(m.id, m.code, m.name, m.phone))
    return [
        RosterEntry(r.id, r.night, r.shift, r.team_code, r.team_name, r.unit, r.team_grid_code, r.team_grid_name,
                    r.area_code, r.area_name, r.lead_grid_code, r.lead_grid_name, _person(r, "leader"),
                    _person(r, "duty"), _person(r, "community"), r.source, r.note, r.updated_by, r.updated_at,
                    changes.get(r.id, []), members.get((r.team_id, r.night), []) if with_members else None)
        for r in rows
    ]  # fmt: skip


def month_roster(session: Session, month: dt.date) -> MonthRoster:
    """The month's roster, night by night, with names, phones and changes."""
    first = month.replace(day=1)
    return MonthRoster(first, street_name(session), _entries(session, first, last_day(first)))


def night_roster(session: Session, night: dt.date) -> list[RosterEntry]:
    """A night's entries, with the members in force that night and the changes."""
    return _entries(session, night, night, with_members=True)


def notices(session: Session, night: dt.date) -> NoticeList:
    """Who must be told for the night: per unit (team's unit, else its community) the rostered teams with the
    leader and members in force that night (those on leave left out, substitutes in), with phones; and the
    night's on-duty cadres and community staff."""
    entries = night_roster(session, night)
    groups: dict[str, list[NoticeItem]] = {}
    for e in entries:
        groups.setdefault(e.unit_label, []).append(NoticeItem(e, e.crew()))
    on_duty: dict[tuple[int, str], OnShift] = {}
    for e in entries:
        for p in e.on_duty():
            on_duty.setdefault((p.staff.id, p.duty), p)
    ordered = sorted(on_duty.values(), key=lambda p: (p.duty != "值班领导", p.staff.code))
    return NoticeList(night, street_name(session), [NoticeGroup(u, items) for u, items in groups.items()], ordered)


@dataclass(frozen=True)
class Choices:
    """What roster forms offer: live teams (code, name, shift), live areas (code, name) and the people a roster
    may name (code, name): team members and leaders, and staff with a public post (never residents' private
    posts)."""

    teams: list[tuple[str, str, str | None]]
    areas: list[tuple[str, str | None]]
    people: list[tuple[str, str]]


def choices(session: Session) -> Choices:
    """The teams, areas and people roster forms offer."""
    teams = session.execute(text("SELECT code, name, shift FROM patrol_team WHERE valid_to IS NULL ORDER BY code"))
    areas = session.execute(text("SELECT code, name FROM patrol_area WHERE valid_to IS NULL ORDER BY code"))
    people = session.execute(text(
        """SELECT s.code, s.name FROM staff s
            WHERE s.valid_to IS NULL
              AND (EXISTS (SELECT 1 FROM patrol_team_member m WHERE m.staff_id = s.id AND m.until IS NULL)
                   OR EXISTS (SELECT 1 FROM patrol_team t WHERE t.leader_staff_id = s.id AND t.valid_to IS NULL)
                   OR EXISTS (SELECT 1 FROM grid_role r WHERE r.staff_id = s.id AND r.until IS NULL
                                 AND r.role = ANY(CAST(:public AS text[]))))
            ORDER BY s.code"""), {"public": public_roles(session)})  # fmt: skip
    return Choices([(r.code, r.name, r.shift) for r in teams], [(r.code, r.name) for r in areas],
                   [(r.code, r.name) for r in people])


def scope_codes(session: Session, actor: Actor) -> set[str] | None:
    """The grid codes of the actor's scope (None: everywhere): where its roster writes may go."""
    if actor.unscoped:
        return None
    return set(session.scalars(text(
        """WITH RECURSIVE sub AS (SELECT id, code FROM grid WHERE id = :g
                                  UNION ALL
                                  SELECT g.id, g.code FROM grid g JOIN sub ON g.parent_id = sub.id
                                   WHERE g.valid_to IS NULL AND g.lineage_id IS NULL)
           SELECT code FROM sub"""), {"g": actor.scope_grid_id}))  # fmt: skip


def communities(session: Session, codes: set[str] | None = None) -> list[tuple[str, str]]:
    """The street and community grids (code, name), those of ``codes`` only when given: what a generation may be
    limited to."""
    rows = session.execute(text("SELECT code, name FROM grid WHERE level IN ('street', 'community') "
                                "AND valid_to IS NULL AND lineage_id IS NULL ORDER BY code"))  # fmt: skip
    return [(r.code, r.name) for r in rows if codes is None or r.code in codes]


# ---------------------------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class _Team:
    id: int
    code: str
    name: str
    grid_id: int | None
    leader_staff_id: int | None


def _team(session: Session, code: str) -> _Team:
    row = session.execute(text("SELECT id, code, name, grid_id, leader_staff_id FROM patrol_team "
                               "WHERE code = :c AND valid_to IS NULL"), {"c": (code or "").strip()}
                          ).one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(f"巡逻队不存在：{code}（新建：gridgov patrol team add {code or '编码'} --name 名称）")
    return _Team(row.id, row.code, row.name, row.grid_id, row.leader_staff_id)


def _staff_id(session: Session, code: str) -> int:
    sid = session.scalar(text("SELECT id FROM staff WHERE code = :c AND valid_to IS NULL"), {"c": code.strip()})
    if sid is None:
        raise NotFound(f"人员不存在：{code}（人员编码见 gridgov staff list）")
    return int(sid)


def _geom(wkb: bytes | None) -> list[BaseGeometry]:
    return [shapely.from_wkb(bytes(wkb))] if wkb is not None else []


def _authorize(session: Session, actor: Actor, rows: Iterable[tuple[int | None, int | None, bytes | None]],
               codes: Sequence[str] = ()) -> None:  # fmt: skip
    """The scope rule for roster writes: (team grid, lead grid, area WKB) of each row touched; a team serving no
    grid is judged by its area, and without an area lies in no scope."""
    grid_ids: set[int | None] = set()
    area: list[BaseGeometry] = []
    for team_grid, lead, wkb in rows:
        if team_grid is not None:
            grid_ids.add(team_grid)
        elif wkb is not None:
            area += _geom(wkb)
        else:
            grid_ids.add(None)
        if lead is not None:
            grid_ids.add(lead)
    authorize(session, actor, "patrol", Touches(codes=codes, grid_ids=grid_ids, area=area))


def _grid_id(session: Session, code: str) -> int:
    gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                         {"c": code.strip()})  # fmt: skip
    if gid is None:
        raise NotFound(f"网格不存在：{code}")
    return int(gid)


def public_roles(session: Session) -> list[str]:
    """The staff roles shown on boards (built in and added): the posts whose holders may be rostered as community
    staff."""
    return sorted(stored_vocabulary(session, "staff_roles").public)


def _plan(session: Session, first: dt.date, last: dt.date, subtree: int | None) -> list[Row[Any]]:
    return list(session.execute(_PLAN, {"first": first, "last": last, "epoch": EPOCH, "subtree": subtree,
                                        "lead_at": month_number(first), "public": public_roles(session)}))  # fmt: skip


def generate_month(session: Session, month: dt.date, actor: Actor, *, grid: str | None = None) -> GenerateReport:
    """Make the month's roster from the rules (all teams, or those serving ``grid``'s subtree): rule-made entries
    without changes are replaced; hand-set ones and those with leave or substitution stay and keep their slot."""
    first = month.replace(day=1)
    last = last_day(first)
    code = grid.strip() if grid and grid.strip() else None
    if code:
        authorize(session, actor, "patrol", Touches(codes=[code]))
    subtree = _grid_id(session, code) if code else None
    session.execute(text(_LOCK))
    plan = _plan(session, first, last, subtree)
    old = session.execute(_REPLACEABLE, {"first": first, "last": last, "subtree": subtree}).all()
    if not plan and not old:
        raise InvalidInput("没有可排班的巡逻队：巡逻队须设定班次（上半夜 或 下半夜），如 "
                           "gridgov patrol team edit 编码 --shift 下半夜")  # fmt: skip
    _authorize(session, actor, [*((p.team_grid_id, p.lead_grid_id, p.area_wkb) for p in plan),
                                *((o.team_grid_id, o.lead_grid_id, o.area_wkb) for o in old)], [code] if code else [])
    if old:
        session.execute(text("DELETE FROM patrol_roster WHERE id = ANY(CAST(:ids AS bigint[]))"),
                        {"ids": [o.id for o in old]})  # fmt: skip
    made = session.execute(_INSERT_PLAN, {
        "by": actor.audit_name, "night": [p.night for p in plan], "shift": [p.shift for p in plan],
        "team": [p.team_id for p in plan], "team_grid": [p.team_grid_id for p in plan],
        "area": [p.area_id for p in plan], "lead": [p.lead_grid_id for p in plan],
        "leader": [p.leader_staff_id for p in plan], "duty": [p.duty_cadre_staff_id for p in plan],
        "community": [p.community_staff_id for p in plan]}).all()  # fmt: skip
    return GenerateReport(first, code, len(made), len(old), len(plan) - len(made), len(plan))


def _captain(session: Session, team_id: int, night: dt.date) -> int | None:
    """The team's 队长 member in force on the night (the first by staff code)."""
    return session.scalar(text(
        "SELECT m.staff_id FROM patrol_team_member m JOIN staff s ON s.id = m.staff_id WHERE m.team_id = :t "
        "AND m.role = '队长' AND m.since <= :n AND (m.until IS NULL OR m.until > :n) ORDER BY s.code LIMIT 1"),
        {"t": team_id, "n": night})  # fmt: skip


def _rule_for(session: Session, night: dt.date, team: _Team, lead: int | None) -> dict[str, int | None]:
    """What the rules give a team on a night: its leader, the night's duty cadre and the community staff member
    of the lead community (or the team's)."""
    leader = team.leader_staff_id or _captain(session, team.id, night)
    duty = next((r.duty_cadre_staff_id for r in _plan(session, night, night, None)
                 if r.duty_cadre_staff_id is not None), None)  # fmt: skip
    community = None
    grid_id = lead or team.grid_id
    if grid_id is not None:
        staff = list(session.scalars(text(
            """SELECT s.id FROM grid_role r JOIN staff s ON s.id = r.staff_id AND s.valid_to IS NULL
                WHERE r.grid_id = :g AND r.role = ANY(CAST(:public AS text[])) AND r.since <= :n
                  AND (r.until IS NULL OR r.until > :n)
                GROUP BY s.id, s.code ORDER BY s.code"""),
            {"g": grid_id, "n": night, "public": public_roles(session)}))  # fmt: skip
        community = staff[(night - EPOCH).days % len(staff)] if staff else None
    return {"leader": leader, "duty": duty, "community": community}


def _default_area(session: Session, team_id: int) -> int | None:
    return session.scalar(text("SELECT id FROM patrol_area WHERE team_id = :t AND valid_to IS NULL ORDER BY code "
                               "LIMIT 1"), {"t": team_id})  # fmt: skip


def _area_id(session: Session, code: str) -> int:
    aid = session.scalar(text("SELECT id FROM patrol_area WHERE code = :c AND valid_to IS NULL"), {"c": code.strip()})
    if aid is None:
        raise NotFound(f"巡逻区域不存在：{code}")
    return int(aid)


def _lead_of(session: Session, area_id: int | None, night: dt.date) -> int | None:
    if area_id is None:
        return None
    rota = session.scalar(text("SELECT rota_grid_ids FROM patrol_area WHERE id = :a"), {"a": area_id})
    return int(rota[lead_index(night, len(rota))]) if rota else None


def _area_wkb(session: Session, area_id: int | None) -> bytes | None:
    if area_id is None:
        return None
    wkb = session.scalar(text("SELECT ST_AsBinary(geom) FROM patrol_area WHERE id = :a"), {"a": area_id})
    return bytes(wkb) if wkb is not None else None


def _existing(session: Session, night: dt.date, shift: str, team_id: int) -> Row[Any] | None:
    return session.execute(text(
        "SELECT id, area_id, lead_grid_id, leader_staff_id, duty_cadre_staff_id, community_staff_id, note "
        "FROM patrol_roster WHERE night = :n AND shift = :s AND team_id = :t FOR UPDATE"),
        {"n": night, "s": shift, "t": team_id}).one_or_none()  # fmt: skip


def _person_value(session: Session, given: str | None, current: int | None) -> int | None:
    """A staff field of a hand-set entry: None keeps ``current``, "" clears it, a code names the person."""
    if given is None:
        return current
    return _staff_id(session, given) if given.strip() else None


def set_entry(
    session: Session,
    actor: Actor,
    night: dt.date,
    shift: str,
    team: str,
    *,
    area: str | None = None,
    leader: str | None = None,
    duty_cadre: str | None = None,
    community_staff: str | None = None,
    note: str | None = None,
) -> RosterEntry:
    """Roster a team on a night and shift by hand (source 手工), or change its entry. A field left None keeps the
    entry's value (a new entry takes the rules'), "" clears it; people and areas are given by code."""
    shift = _shift(shift)
    t = _team(session, team)
    session.execute(text(_LOCK))
    old = _existing(session, night, shift, t.id)
    if area is None:
        area_id = old.area_id if old is not None else _default_area(session, t.id)
    else:
        area_id = _area_id(session, area) if area.strip() else None
    lead = _lead_of(session, area_id, night)
    rule = _rule_for(session, night, t, lead) if old is None else {}
    values = {
        "area": area_id, "lead": lead,
        "leader": _person_value(session, leader, old.leader_staff_id if old else rule["leader"]),
        "duty": _person_value(session, duty_cadre, old.duty_cadre_staff_id if old else rule["duty"]),
        "community": _person_value(session, community_staff,
                                   old.community_staff_id if old else rule["community"]),
        "note": (old.note if old else None) if note is None else (note.strip() or None),
    }  # fmt: skip
    touched = [(t.grid_id, lead, _area_wkb(session, area_id))]
    if old is not None:
        touched.append((t.grid_id, old.lead_grid_id, _area_wkb(session, old.area_id)))
    _authorize(session, actor, touched)
    rid = session.scalar(text(
        """INSERT INTO patrol_roster (night, shift, team_id, area_id, lead_grid_id, leader_staff_id,
                                      duty_cadre_staff_id, community_staff_id, note, source, updated_by)
           VALUES (:n, :s, :t, :area, :lead, :leader, :duty, :community, :note, '手工', :by)
           ON CONFLICT (night, shift, team_id) DO UPDATE
              SET area_id = EXCLUDED.area_id, lead_grid_id = EXCLUDED.lead_grid_id,
                  leader_staff_id = EXCLUDED.leader_staff_id, duty_cadre_staff_id = EXCLUDED.duty_cadre_staff_id,
                  community_staff_id = EXCLUDED.community_staff_id, note = EXCLUDED.note, source = '手工',
                  updated_by = EXCLUDED.updated_by, updated_at = now()
           RETURNING id"""),
        {"n": night, "s": shift, "t": t.id, "by": actor.audit_name, **values})  # fmt: skip
    return _one(session, night, int(rid))


def _one(session: Session, night: dt.date, roster_id: int) -> RosterEntry:
    return _entries(session, night, night, roster_id=roster_id, with_members=True)[0]


def _target(session: Session, actor: Actor, night: dt.date, shift: str, team: str) -> RosterEntry:
    """The entry a change or removal is about, after the scope rule (checked before saying it does not exist)."""
    shift = _shift(shift)
    t = _team(session, team)
    session.execute(text(_LOCK))
    old = _existing(session, night, shift, t.id)
    lead, area_id = (old.lead_grid_id, old.area_id) if old is not None else (None, _default_area(session, t.id))
    _authorize(session, actor, [(t.grid_id, lead, _area_wkb(session, area_id))])
    if old is None:
        raise NotFound(f"{night:%Y-%m-%d} {shift}没有巡逻队 {t.code} 的排班")
    return _one(session, night, int(old.id))


def remove_entry(session: Session, actor: Actor, night: dt.date, shift: str, team: str) -> RosterEntry:
    """Take a team off a night's shift (its leave and substitutions go with it); returns what was removed."""
    gone = _target(session, actor, night, shift, team)
    session.execute(text("DELETE FROM patrol_roster WHERE id = :id"), {"id": gone.id})
    return gone


def _on_shift(session: Session, e: RosterEntry, code: str) -> StaffRef:
    """The person ``code`` if the shift names them (leader, duty cadre, community staff, a member that night, a
    substitute); ``InvalidInput`` otherwise."""
    sid = _staff_id(session, code)
    person = e.on_shift().get(sid)
    if person is None:
        raise InvalidInput(f"{code} 不在 {e.night:%Y-%m-%d} {e.shift}巡逻队 {e.team_code} 的排班中"
                           "（不是带队、值班领导、社区值班人员，也不是当晚在队的队员或替班人员）")  # fmt: skip
    return person


def _add_change(session: Session, actor: Actor, e: RosterEntry, kind: str, staff: int, substitute: int | None,
                note: str | None) -> RosterEntry:  # fmt: skip
    session.execute(text("INSERT INTO roster_change (roster_id, kind, staff_id, substitute_staff_id, note, created_by) "
                         "VALUES (:r, :k, :s, :b, :n, :by)"),
                    {"r": e.id, "k": kind, "s": staff, "b": substitute, "n": (note or "").strip() or None,
                     "by": actor.audit_name})  # fmt: skip
    return _one(session, e.night, e.id)


def record_leave(session: Session, actor: Actor, night: dt.date, shift: str, team: str, staff: str,
                 note: str | None = None) -> RosterEntry:  # fmt: skip
    """Record that a person on the shift is away (请假); refused for someone the shift does not name, or twice."""
    e = _target(session, actor, night, shift, team)
    person = _on_shift(session, e, staff)
    for c in e.changes:
        if c.staff.id == person.id and c.kind == LEAVE:
            raise Conflict(f"{person.name}（{person.code}）当班已登记请假")
        if c.staff.id == person.id and c.kind == SUBSTITUTION and c.substitute is not None:
            raise Conflict(f"{person.name}（{person.code}）当班已由 {c.substitute.name} 替班")
    return _add_change(session, actor, e, LEAVE, person.id, None, note)


def record_substitution(session: Session, actor: Actor, night: dt.date, shift: str, team: str, staff: str,
                        substitute: str, note: str | None = None) -> RosterEntry:  # fmt: skip
    """Record that ``substitute`` stands in for ``staff`` on the shift (替班); refused for someone the shift does not
    name, someone already replaced, or a substitute the shift already names."""
    e = _target(session, actor, night, shift, team)
    person = _on_shift(session, e, staff)
    sub = _staff_id(session, substitute)
    if sub == person.id:
        raise InvalidInput("替班人员不能是被替换的本人")
    for c in e.changes:
        if c.staff.id == person.id and c.kind == SUBSTITUTION and c.substitute is not None:
            raise Conflict(f"{person.name}（{person.code}）当班已由 {c.substitute.name} 替班")
    if sub in e.on_shift():
        named = e.on_shift()[sub]
        raise Conflict(f"{named.name}（{named.code}）已在本班次的排班中，不能再替班")
    return _add_change(session, actor, e, SUBSTITUTION, person.id, sub, note)


def latest_rostered_night(session: Session, before: dt.date) -> dt.date | None:
    """The latest night before ``before`` with any roster entry (None: no roster yet)."""
    return session.execute(text("SELECT max(night) FROM patrol_roster WHERE night < :d"), {"d": before}).scalar()
