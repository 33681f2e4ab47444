"""Party members as the workspace reads them: the members under a grid with their organisation, registers and
联系户 at a glance (filtered to what needs doing), and one member's whole page (organisation over time,
registers, links and visits), read at once with one logged view. All personal data: in scope only."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, require_role
from gridgov.auth.views import log_view, open_personal
from gridgov.errors import InvalidInput, NotFound
from gridgov.history import day_of
from gridgov.party.contacts import Link, Visit, links_of, visits_of
from gridgov.party.orgs import SUBTREE, Membership, PartyMember, member_for, read_memberships
from gridgov.party.registers import Register, read_registers
from gridgov.periods import DEFAULT_TIMEZONE

# What the list shows: every member, or those with something to do.
SHOWS = {"all": "全部党员", "unreported": "在职未报到", "flowing": "流动党员", "loose": "未编入党组织",
         "unlinked": "未联系住户"}  # fmt: skip
_FILTERS = {
    "all": "true",
    "unreported": "p.member_type = '在职' AND r.reported_on IS NULL",
    "flowing": "(p.member_type = '流动' OR r.flow IS NOT NULL)",
    "loose": "o.code IS NULL",
    "unlinked": "NOT EXISTS (SELECT 1 FROM party_contact c WHERE c.person_id = p.id)",
}
MAX_LISTED = 2000

_LIST = f"""{SUBTREE}
SELECT p.code, p.name, p.member_type, p.birth_year, g.code AS grid_code, g.name AS grid_name, o.code AS org_code,
       o.name AS org_name, r.reported_on, r.flow, r.certificate_no IS NOT NULL AS certified,
       coalesce(r.shows_identity, false) AS shows_identity,
       (SELECT count(*) FROM party_contact c WHERE c.person_id = p.id) AS links, count(*) OVER () AS total
  FROM person p
  JOIN household h ON h.id = p.household_id
  LEFT JOIN grid g ON g.id = h.grid_id
  LEFT JOIN party_register r ON r.person_id = p.id
  LEFT JOIN party_membership m ON m.person_id = p.id AND m.until IS NULL
  LEFT JOIN party_org o ON o.id = m.org_id
 WHERE p.valid_to IS NULL AND p.is_party_member
   AND (CAST(:root AS bigint) IS NULL OR h.grid_id IN (SELECT id FROM sub)) AND {{where}}
 ORDER BY g.code, p.code
 LIMIT {MAX_LISTED}"""


@dataclass(frozen=True)
class MemberRow:
    """One member in the list: where they live, their organisation, registers and how many households they link."""

    code: str
    name: str
    member_type: str | None
    birth_year: int | None
    grid_code: str | None
    grid_name: str | None
    org_code: str | None
    org_name: str | None
    reported_on: dt.date | None
    flow: str | None
    certified: bool
    shows_identity: bool
    links: int

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class MemberProfile:
    """One member's page: who and where, organisations over time (the current first), registers, links, visits."""

    member: PartyMember
    memberships: list[Membership]
    register: Register
    links: list[Link]
    visits: list[Visit]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return self.member.as_dict() | {
            "memberships": [m.as_dict() for m in self.memberships], "party_register": self.register.as_dict(),
            "links": [x.as_dict() for x in self.links], "visits": [v.as_dict() for v in self.visits]}  # fmt: skip


def list_members(session: Session, actor: Actor, *, parent: str | None = None, show: str = "all",
                 page: str = "api") -> tuple[list[MemberRow], int]:  # fmt: skip
    """The members under ``parent`` (default: the actor's scope), all or those ``show`` picks (``SHOWS``), by grid
    (at most ``MAX_LISTED``), and how many there are in all."""
    if show not in _FILTERS:
        raise InvalidInput(f"未知的筛选：{show}（可选：{'、'.join(SHOWS)}）")
    root = open_personal(session, actor, "party_member", parent, page)
    gid = None
    if root is not None:
        gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                             {"c": root})  # fmt: skip
    rows = session.execute(text(_LIST.format(where=_FILTERS[show])), {"root": gid}).mappings().all()
    total = int(rows[0]["total"]) if rows else 0
    return [MemberRow(**{k: v for k, v in r.items() if k != "total"}) for r in rows], total


def member_profile(session: Session, person: str, actor: Actor, *, page: str = "api",
                   timezone: str = DEFAULT_TIMEZONE) -> MemberProfile:  # fmt: skip
    """A member's page (personal data over their household grid: ``Forbidden`` outside the actor's scope; a
    resident who is not a member is ``InvalidInput``, an unknown code ``NotFound``)."""
    require_role(actor, "personal")
    member = member_for(session, person, actor, "personal", missing=NotFound)
    log_view(session, actor, "party_member", member.grid_code, page=page, rows=1)
    who = {"p": member.id}
    return MemberProfile(member, read_memberships(session, "m.person_id = :p", who, day_of(None, timezone)),
                         read_registers(session, "p.id = :p", {**who, "root": None})[0], links_of(session, member.id),
                         visits_of(session, member.id))  # fmt: skip
