"""A Party member's registers (党员登记): when they joined the Party; 在职党员报到 (employer, the employer's Party
organisation, the day they reported to the community where they live); 流动党员 (inflow or outflow, from/to where,
the 活动证 number and date, 直管/代管/协管); and 亮身份 consent (shown by name on public boards only when given).

All of it is personal data: reading needs personal data rights over the member's household grid (each read is
logged), writing ``authorize(…, "write", Touches(grid_ids=[the member's household grid]))``. The lists: 在职
members who have not reported, and 流动 members with their certificate status, under a grid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize, require_role
from gridgov.auth.views import log_view, open_personal
from gridgov.errors import InvalidInput, NotFound
from gridgov.fields import parse_past_day, parse_term, parse_text
from gridgov.history import day_of
from gridgov.party.orgs import SUBTREE, member_for
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import Field
from gridgov.vocab import PARTY_FLOW_MODES, PARTY_FLOWS

REGISTER_FIELDS = ("joined_party_on", "employer", "employer_org", "reported_on", "flow", "flow_place",
                   "certificate_no", "certificate_on", "flow_mode", "shows_identity")  # fmt: skip
LABELS = {"joined_party_on": "入党日期", "employer": "工作单位", "employer_org": "单位党组织",
          "reported_on": "到社区报到日期", "flow": "流动方向", "flow_place": "流入地/流出地",
          "certificate_no": "流动党员活动证号", "certificate_on": "活动证发证日期", "flow_mode": "管理方式",
          "shows_identity": "同意亮身份"}  # fmt: skip
DATES = ("joined_party_on", "reported_on", "certificate_on")
CONSENT = Field("shows_identity", "同意亮身份", "bool")
WORKING, FLOWING = "在职", "流动"
MAX_LISTED = 2000

_REGISTER = """
SELECT p.code AS person_code, p.name AS person_name, p.member_type, h.code AS household_code, g.code AS grid_code,
       g.name AS grid_name,
       (SELECT o.code FROM party_membership m JOIN party_org o ON o.id = m.org_id
         WHERE m.person_id = p.id AND m.until IS NULL LIMIT 1) AS org_code,
       r.joined_party_on, r.employer, r.employer_org, r.reported_on, r.flow, r.flow_place, r.certificate_no,
       r.certificate_on, r.flow_mode, coalesce(r.shows_identity, false) AS shows_identity, r.updated_at, r.updated_by
  FROM person p
  LEFT JOIN party_register r ON r.person_id = p.id
  LEFT JOIN household h ON h.id = p.household_id
  LEFT JOIN grid g ON g.id = h.grid_id"""


@dataclass(frozen=True)
class Register:
    """A member's registers as they stand (empty fields when nothing is recorded yet)."""

    person_code: str
    person_name: str
    member_type: str | None
    household_code: str | None
    grid_code: str | None
    grid_name: str | None
    org_code: str | None
    joined_party_on: dt.date | None
    employer: str | None
    employer_org: str | None
    reported_on: dt.date | None
    flow: str | None
    flow_place: str | None
    certificate_no: str | None
    certificate_on: dt.date | None
    flow_mode: str | None
    shows_identity: bool
    updated_at: dt.datetime | None
    updated_by: str | None

    @property
    def certified(self) -> bool:
        """Whether a 流动党员 holds a 活动证."""
        return bool(self.certificate_no)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self) | {"certified": self.certified}


def read_registers(session: Session, where: str, params: Mapping[str, Any],
                   limit: int = MAX_LISTED) -> list[Register]:  # fmt: skip
    """The registers of the members ``where`` picks (no checks: for services that checked already)."""
    stmt = f"{SUBTREE} {_REGISTER} WHERE p.valid_to IS NULL AND p.is_party_member AND {where} ORDER BY g.code, p.code"
    return [Register(**r) for r in session.execute(text(f"{stmt} LIMIT {int(limit)}"), params).mappings()]


def get_register(session: Session, person: str, actor: Actor, *, page: str = "api") -> Register:
    """A member's registers (personal data: in scope, logged)."""
    require_role(actor, "personal")
    member = member_for(session, person, actor, "personal", missing=NotFound)
    log_view(session, actor, "party_register", member.grid_code, page=page, rows=1)
    return read_registers(session, "p.id = :p", {"p": member.id, "root": None})[0]


def _value(name: str, raw: Any, timezone: str) -> Any:
    """One register field as stored (None for empty)."""
    label = LABELS[name]
    if name == "shows_identity":
        return CONSENT.parse(raw)
    if name in DATES:
        return parse_past_day(raw, label, day_of(None, timezone))
    if name == "flow":
        return parse_term(PARTY_FLOWS, raw, label)
    if name == "flow_mode":
        return parse_term(PARTY_FLOW_MODES, raw, label)
    return parse_text(raw, label)


def set_register(session: Session, person: str, changes: Mapping[str, Any], actor: Actor, *,
                 timezone: str = DEFAULT_TIMEZONE) -> Register:  # fmt: skip
    """Set some of a member's register fields (``REGISTER_FIELDS``; an empty value clears one)."""
    authorize(session, actor, "write")
    unknown = sorted(set(changes) - set(REGISTER_FIELDS))
    if unknown:
        raise InvalidInput(f"未知字段：{'、'.join(unknown)}（可填：{'、'.join(REGISTER_FIELDS)}）")
    member = member_for(session, person, actor)
    columns = {name: _value(name, raw, timezone) for name, raw in changes.items()}
    if columns:
        names = ", ".join(columns)
        values = ", ".join(f":{c}" for c in columns)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
        session.execute(text(f"""
            INSERT INTO party_register (person_id, {names}, updated_by) VALUES (:p, {values}, :by)
            ON CONFLICT (person_id) DO UPDATE SET {sets}, updated_at = now(), updated_by = EXCLUDED.updated_by"""),
                        {**columns, "p": member.id, "by": actor.audit_name})  # fmt: skip
    return read_registers(session, "p.id = :p", {"p": member.id, "root": None})[0]


def _root_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    return session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                          {"c": code})  # fmt: skip


def unreported(session: Session, actor: Actor, *, parent: str | None = None, page: str = "api") -> list[Register]:
    """The 在职 members under ``parent`` (default: the actor's scope) who have not reported to the community."""
    root = open_personal(session, actor, "party_register", parent, page)
    where = f"p.member_type = '{WORKING}' AND r.reported_on IS NULL"
    return read_registers(session, f"{where} AND (CAST(:root AS bigint) IS NULL OR h.grid_id IN (SELECT id FROM sub))",
                 {"root": _root_id(session, root)})  # fmt: skip


def flowing(session: Session, actor: Actor, *, parent: str | None = None, flow: str | None = None,
            page: str = "api") -> list[Register]:  # fmt: skip
    """The 流动 members under ``parent`` (default: the actor's scope): of that type, or with a flow recorded; only
    inflow or outflow when ``flow`` is given. ``certified`` tells who holds a 活动证."""
    direction = parse_term(PARTY_FLOWS, flow, "流动方向")
    root = open_personal(session, actor, "party_register", parent, page)
    where = (f"(p.member_type = '{FLOWING}' OR r.flow IS NOT NULL) AND (CAST(:flow AS text) IS NULL OR r.flow = :flow)"
             " AND (CAST(:root AS bigint) IS NULL OR h.grid_id IN (SELECT id FROM sub))")  # fmt: skip
    return read_registers(session, where, {"root": _root_id(session, root), "flow": direction})
