"""党员联系户: each Party member linked to the households they look after (from a day), the visits they pay them, and
the households of a grid no member links.

A member links at most ``PartyRules.contacts_max`` households (PartySettings.party_contacts_max, 3 by default):
one more is refused quoting the rule; fewer than ``contacts_min`` is a finding of the compliance check, not a
refusal. Unlinking removes the link (the audit log keeps it); visits stay. Every write goes through
``authorize(…, "write", Touches(…))`` naming the member's household grid and the linked household's grid; every
read is personal data (in scope, logged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize, require_role
from gridgov.auth.views import log_view, open_personal
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.history import day_of
from gridgov.party.orgs import SUBTREE, PartyMember, member_for
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.versioned import begin, dated_day

MAX_NOTE = 1000
MAX_LISTED = 500
# One writer at a time per member while counting their links (the rule's maximum holds under concurrent links).
LOCK_KEY = "hashtextextended('gridgov.party_contact:' || CAST(:p AS text), 0)"

_LINKS = """
SELECT p.code AS person_code, p.name AS person_name, h.code AS household_code, h.address, g.code AS grid_code,
       g.name AS grid_name, c.since, c.created_by,
       (SELECT count(*) FROM party_contact_visit v WHERE v.person_id = c.person_id
           AND v.household_id = c.household_id) AS visits,
       (SELECT max(v.visited_on) FROM party_contact_visit v WHERE v.person_id = c.person_id
           AND v.household_id = c.household_id) AS last_visit
  FROM party_contact c
  JOIN person p ON p.id = c.person_id
  JOIN household h ON h.id = c.household_id
  LEFT JOIN grid g ON g.id = h.grid_id"""
_VISITS = """
SELECT v.id, p.code AS person_code, h.code AS household_code, h.address, v.visited_on, v.note, v.created_by,
       v.created_at
  FROM party_contact_visit v
  JOIN person p ON p.id = v.person_id
  JOIN household h ON h.id = v.household_id"""
_UNLINKED = f"""{SUBTREE}
SELECT h.code, h.address, h.kind, g.code AS grid_code, g.name AS grid_name,
       (SELECT count(*) FROM person r WHERE r.household_id = h.id AND r.valid_to IS NULL) AS residents,
       count(*) OVER () AS total
  FROM household h JOIN grid g ON g.id = h.grid_id
 WHERE h.valid_to IS NULL AND (CAST(:root AS bigint) IS NULL OR h.grid_id IN (SELECT id FROM sub))
   AND NOT EXISTS (SELECT 1 FROM party_contact c JOIN person p ON p.id = c.person_id
                    WHERE c.household_id = h.id AND p.valid_to IS NULL AND p.is_party_member)
 ORDER BY g.code, h.code
 LIMIT :limit"""


@dataclass(frozen=True)
class Link:
    """A member linked to a household since a day, with how often and when they last visited it."""

    person_code: str
    person_name: str
    household_code: str
    address: str | None
    grid_code: str | None
    grid_name: str | None
    since: dt.date
    created_by: str | None
    visits: int
    last_visit: dt.date | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Visit:
    """A member's visit to a household they link."""

    id: int
    person_code: str
    household_code: str
    address: str | None
    visited_on: dt.date
    note: str | None
    created_by: str | None
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Unlinked:
    """A live household no Party member links."""

    code: str
    address: str | None
    kind: str
    grid_code: str
    grid_name: str
    residents: int

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def links_of(session: Session, member_id: int) -> list[Link]:
    """A member's links, by household (no checks: for services that checked already)."""
    rows = session.execute(text(f"{_LINKS} WHERE c.person_id = :p ORDER BY c.since, h.code"), {"p": member_id})
    return [Link(**r) for r in rows.mappings()]


def visits_of(session: Session, member_id: int) -> list[Visit]:
    """A member's visits, the latest first (no checks)."""
    rows = session.execute(text(f"{_VISITS} WHERE v.person_id = :p ORDER BY v.visited_on DESC, v.id DESC"),
                           {"p": member_id})  # fmt: skip
    return [Visit(**r) for r in rows.mappings()]


def _readable(session: Session, person: str, actor: Actor, what: str, page: str) -> PartyMember:
    require_role(actor, "personal")
    member = member_for(session, person, actor, "personal", missing=NotFound)
    log_view(session, actor, what, member.grid_code, page=page, rows=1)
    return member


def member_links(session: Session, person: str, actor: Actor, *, page: str = "api") -> list[Link]:
    """The households a member links (personal data: in scope, logged)."""
    return links_of(session, _readable(session, person, actor, "party_contact", page).id)


def member_visits(session: Session, person: str, actor: Actor, *, page: str = "api") -> list[Visit]:
    """A member's visits, the latest first (personal data: in scope, logged)."""
    return visits_of(session, _readable(session, person, actor, "party_contact_visit", page).id)


def _household(session: Session, code: str | None) -> RowMapping:
    clean = (code or "").strip()
    row = session.execute(text("SELECT id, code, address, grid_id FROM household WHERE code = :c "
                               "AND valid_to IS NULL"), {"c": clean}).mappings().first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"户不存在或已注销：{clean}")
    return row


def _pair(session: Session, person: str, household: str, actor: Actor) -> tuple[PartyMember, RowMapping]:
    """The member and the household a write names, once the actor may write both of their grids."""
    authorize(session, actor, "write")
    member = member_for(session, person, actor)
    home = _household(session, household)
    authorize(session, actor, "write", Touches(grid_ids=[member.grid_id, home["grid_id"]]))
    return member, home


def rule_text(rules: PartyRules) -> str:
    """The 联系户 rule as a refusal quotes it."""
    return f"每名党员联系 {rules.contacts_min}–{rules.contacts_max} 户"


def link_household(session: Session, person: str, household: str, actor: Actor, *, rules: PartyRules,
                   since: dt.date | None = None, timezone: str = DEFAULT_TIMEZONE) -> Link:  # fmt: skip
    """Link a member to a household from ``since`` (today); a link beyond ``rules.contacts_max`` is refused."""
    member, home = _pair(session, person, household, actor)
    session.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})"), {"p": member.id})
    linked = list(session.scalars(text("SELECT household_id FROM party_contact WHERE person_id = :p"),
                                  {"p": member.id}))  # fmt: skip
    if home["id"] in linked:
        raise Conflict(f"{member.name}（{member.code}）已联系户 {home['code']}")
    if len(linked) >= rules.contacts_max:
        raise Conflict(f"{member.name}（{member.code}）已联系 {len(linked)} 户，不能再联系户 {home['code']}："
                       f"{rule_text(rules)}", details={"links": len(linked), "max": rules.contacts_max})  # fmt: skip
    begin(session, actor)
    session.execute(text("INSERT INTO party_contact (person_id, household_id, since, created_by) "
                         "VALUES (:p, :h, :d, :by)"),
                    {"p": member.id, "h": home["id"], "d": dated_day(since, timezone), "by": actor.audit_name})
    return next(x for x in links_of(session, member.id) if x.household_code == home["code"])


def unlink_household(session: Session, person: str, household: str, actor: Actor) -> Link:
    """Remove a member's link to a household (the audit log keeps it; visits stay); returns the link it was."""
    member, home = _pair(session, person, household, actor)
    found = [x for x in links_of(session, member.id) if x.household_code == home["code"]]
    if not found:
        raise NotFound(f"{member.name}（{member.code}）未联系户 {home['code']}")
    begin(session, actor)
    session.execute(text("DELETE FROM party_contact WHERE person_id = :p AND household_id = :h"),
                    {"p": member.id, "h": home["id"]})  # fmt: skip
    return found[0]


def record_visit(session: Session, person: str, household: str, actor: Actor, *, day: dt.date | None = None,
                 note: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> Visit:  # fmt: skip
    """Record a member's visit on ``day`` (today) to a household they link, with a note."""
    member, home = _pair(session, person, household, actor)
    on = day or day_of(None, timezone)
    if on > day_of(None, timezone):
        raise InvalidInput(f"走访日期不能晚于今天：{on.isoformat()}")
    linked = session.scalar(text("SELECT since FROM party_contact WHERE person_id = :p AND household_id = :h"),
                            {"p": member.id, "h": home["id"]})  # fmt: skip
    if linked is None:
        raise InvalidInput(f"{member.name}（{member.code}）未联系户 {home['code']}：请先建立联系，再登记走访")
    clean = (note or "").strip() or None
    if clean is not None and len(clean) > MAX_NOTE:
        raise InvalidInput(f"走访记录：过长（最多 {MAX_NOTE} 个字符）")
    begin(session, actor)
    vid = session.scalar(text("INSERT INTO party_contact_visit (person_id, household_id, visited_on, note, created_by) "
                              "VALUES (:p, :h, :d, :n, :by) RETURNING id"),
                         {"p": member.id, "h": home["id"], "d": on, "n": clean, "by": actor.audit_name})
    return next(v for v in visits_of(session, member.id) if v.id == vid)


def unlinked_households(session: Session, actor: Actor, *, parent: str | None = None, limit: int = MAX_LISTED,
                        page: str = "api") -> tuple[list[Unlinked], int]:  # fmt: skip
    """The live households under ``parent`` (default: the actor's scope) that no Party member links (at most
    ``limit``, by grid), and how many there are in all."""
    root = open_personal(session, actor, "household", parent, page)
    gid = None
    if root is not None:
        gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                             {"c": root})  # fmt: skip
    rows = session.execute(text(_UNLINKED), {"root": gid, "limit": max(1, min(limit, MAX_LISTED))}).mappings().all()
    total = int(rows[0]["total"]) if rows else 0
    return [Unlinked(**{k: v for k, v in r.items() if k != "total"}) for r in rows], total
