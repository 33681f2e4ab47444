"""Party organisations (党组织) and who belongs to them: 党委, 党总支, 党支部 and 党小组 with their form, parent, the
grids they are built on (支部建在网格上), the resident unit they belong to, secretary, phone and founding day; their
committee posts (书记, 委员, 兼职委员 from a member unit …); and each member's organisation over time.

Organisations keep their history as records do (the trigger of migration 0013 copies the former state to a
history row on every change; a change names the version it was made on, a stale one is ``StaleVersion``);
dissolution is a retirement with a day and a reason, ending the posts and memberships in force that day. Posts and
memberships are dated rows in force on ``since <= day < until``; a member belongs to one organisation at a time,
so joining another ends the current membership the day the new one starts (the history stays).

Where an organisation lies (its *reach*): the grids it is built on and its unit's grid; one built on neither lies
where its parent does. Every write goes through ``authorize(…, "write", Touches(…))`` naming the reach of the
organisation before and after, of a parent it names, the household grid of a member or post holder it names and
the grid of a unit it names. The structure is all read here; names of members, secretaries and post holders only
reach readers with personal data rights over the organisation's reach (others get None).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from operator import attrgetter
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Action, Actor, Touches, authorize, personal_reach, readable_root
from gridgov.auth.views import log_view
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.fields import parse_code, parse_past_day, parse_reason, parse_term, parse_text
from gridgov.history import as_of, day_of, identity, role_in_force
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import Field
from gridgov.versioned import (
    JsonForm,
    VersionedState,
    begin,
    check_fields,
    check_writable,
    dated_day,
    effective_moment,
    end_memberships,
    ensure_code_free,
    field_changes,
    retire_row,
)
from gridgov.vocab import PARTY_BRANCH, PARTY_GROUP, PARTY_ORG_FORMS, PARTY_ORG_KINDS, PARTY_POSTS

ORG_FIELDS = ("name", "kind", "form", "parent", "grids", "unit", "secretary", "phone", "founded_on")
FIELD_LABELS = {"name": "名称", "kind": "类别", "form": "形式", "parent": "上级组织", "grids": "所建网格",
                "unit": "所属单位", "secretary": "书记", "phone": "电话", "founded_on": "成立日期"}  # fmt: skip
MEMBER_END_REASONS = ("转出", "去世", "停止党籍", "其他")
POST_END_REASONS = ("换届", "调离", "辞职", "其他")
DISSOLVED = "组织撤销"
SINGLE_POSTS = ("书记", "党小组长")  # one holder at a time
SPLIT = re.compile("[;；,，、\\s]+")
MAX_DEPTH = 32
PHONE = Field("phone", "电话", "phone")

# ------------------------------------------------------------------------------------------------ reading

_ORG = f"""
SELECT {identity("o")} AS id, o.code, o.name, o.kind, o.form, o.parent_id, p.code AS parent_code,
       p.name AS parent_name, o.grid_ids,
       ARRAY(SELECT g.code FROM unnest(o.grid_ids) WITH ORDINALITY x(id, n) JOIN grid g ON g.id = x.id
              ORDER BY x.n) AS grid_codes,
       ARRAY(SELECT g.name FROM unnest(o.grid_ids) WITH ORDINALITY x(id, n) JOIN grid g ON g.id = x.id
              ORDER BY x.n) AS grid_names,
       un.code AS unit_code, un.name AS unit_name, coalesce(sp.code, ss.code) AS secretary_code,
       CASE WHEN sp.id IS NOT NULL THEN '党员' WHEN ss.id IS NOT NULL THEN '工作人员' END AS secretary_kind,
       coalesce(sp.name, ss.name) AS secretary_name, o.phone, o.founded_on,
       (SELECT count(*) FROM party_membership m
         WHERE m.org_id = {identity("o")} AND {role_in_force("m")}) AS members,
       o.version, o.valid_from, o.valid_to, o.end_reason, o.updated_by
  FROM party_org o
  LEFT JOIN party_org p ON p.id = o.parent_id
  LEFT JOIN resident_unit un ON un.id = o.unit_id
  LEFT JOIN person sp ON sp.id = o.secretary_person_id
  LEFT JOIN staff ss ON ss.id = o.secretary_staff_id"""
# The grids an organisation is built on with its unit's grid (its own reach; empty: it lies where its parent does).
_OWN = ("({a}.grid_ids || ARRAY(SELECT u.grid_id FROM resident_unit u WHERE u.id = {a}.unit_id "
        "AND u.grid_id IS NOT NULL))")
_REACH = f"""
WITH RECURSIVE up AS (
    SELECT o.id AS org, o.parent_id, {_OWN.format(a="o")} AS grids, 0 AS depth
      FROM party_org o WHERE o.id = ANY(CAST(:ids AS bigint[]))
    UNION ALL
    SELECT up.org, p.parent_id, {_OWN.format(a="p")}, up.depth + 1
      FROM up JOIN party_org p ON p.id = up.parent_id
     WHERE cardinality(up.grids) = 0 AND up.depth < {MAX_DEPTH}
)
SELECT DISTINCT ON (org) org, grids FROM up WHERE cardinality(grids) > 0 ORDER BY org, depth"""
SUBTREE = """WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE id = CAST(:root AS bigint)
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id AND g.valid_to IS NULL AND g.lineage_id IS NULL
)"""
_IN_TREE = """, top AS (
    SELECT {id_o} AS id FROM party_org o
     WHERE {when_o} AND (CAST(:root AS bigint) IS NULL OR o.grid_ids && ARRAY(SELECT id FROM sub)
           OR o.unit_id IN (SELECT u.id FROM resident_unit u WHERE u.lineage_id IS NULL
                             AND u.grid_id IN (SELECT id FROM sub)))
), tree AS (
    SELECT id FROM top
    UNION
    SELECT {id_c} FROM party_org c JOIN tree t ON c.parent_id = t.id WHERE {when_c}
)"""
_DESCENDANTS = f"""
WITH RECURSIVE down AS (
    SELECT id, 0 AS depth FROM party_org WHERE parent_id = :id AND valid_to IS NULL
    UNION ALL
    SELECT c.id, down.depth + 1 FROM party_org c JOIN down ON c.parent_id = down.id
     WHERE c.valid_to IS NULL AND down.depth < {MAX_DEPTH}
)
SELECT id FROM down"""
# The members in force of an organisation and of every organisation below it (the rules size it by them).
_SUBTREE_MEMBERS = f"""
WITH RECURSIVE down AS (
    SELECT CAST(:id AS bigint) AS id, 0 AS depth
    UNION ALL
    SELECT c.id, down.depth + 1 FROM party_org c JOIN down ON c.parent_id = down.id
     WHERE c.valid_to IS NULL AND down.depth < {MAX_DEPTH}
)
SELECT count(DISTINCT m.person_id) FROM party_membership m JOIN down ON down.id = m.org_id
 WHERE {role_in_force("m")}"""
_MEMBERSHIPS = f"""
SELECT m.id, p.code AS person_code, p.name AS person_name, o.code AS org_code, o.name AS org_name, o.kind AS org_kind,
       m.since, m.until, m.end_reason, {role_in_force("m")} AS in_force
  FROM party_membership m
  JOIN person p ON p.id = m.person_id AND p.lineage_id IS NULL
  JOIN party_org o ON o.id = m.org_id"""
_POSTS = f"""
SELECT t.id, o.code AS org_code, t.post, coalesce(p.code, s.code) AS holder_code,
       CASE WHEN p.id IS NOT NULL THEN '党员' ELSE '工作人员' END AS holder_kind,
       coalesce(p.name, s.name) AS holder_name, u.code AS unit_code, u.name AS unit_name, t.since, t.until,
       t.end_reason, {role_in_force("t")} AS in_force
  FROM party_org_post t
  JOIN party_org o ON o.id = t.org_id
  LEFT JOIN person p ON p.id = t.person_id
  LEFT JOIN staff s ON s.id = t.staff_id
  LEFT JOIN resident_unit u ON u.id = t.unit_id"""
_PERSON = """
SELECT p.id, p.code, p.name, p.is_party_member, p.member_type, p.birth_year, p.phone, h.code AS household_code,
       h.address, h.grid_id, g.code AS grid_code, g.name AS grid_name
  FROM person p
  LEFT JOIN household h ON h.id = p.household_id
  LEFT JOIN grid g ON g.id = h.grid_id
 WHERE p.code = :code AND p.valid_to IS NULL"""


@dataclass(frozen=True)
class Org(VersionedState):
    """One state of a Party organisation. ``secretary_code``, ``secretary_name`` and ``phone`` are None for readers
    without personal data rights over it (``personal`` False)."""

    id: int
    code: str
    name: str
    kind: str
    form: str
    parent_code: str | None
    parent_name: str | None
    grid_codes: list[str]
    grid_names: list[str]
    unit_code: str | None
    unit_name: str | None
    secretary_code: str | None
    secretary_kind: str | None
    secretary_name: str | None
    phone: str | None
    founded_on: dt.date | None
    members: int
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    personal: bool = False
    members_total: int = 0  # with the members of every organisation below it (lists only)
    parent_id: int | None = field(default=None, repr=False)
    grid_ids: list[int] = field(default_factory=list, repr=False)

    HIDDEN = ("parent_id", "grid_ids")


@dataclass(frozen=True)
class Post(JsonForm):
    """A committee post of an organisation: who holds it (a member or a staff member, from a member unit for a
    兼职委员) on the days ``since <= day < until``."""

    id: int
    org_code: str
    post: str
    holder_code: str | None
    holder_kind: str
    holder_name: str | None
    unit_code: str | None
    unit_name: str | None
    since: dt.date
    until: dt.date | None
    end_reason: str | None
    in_force: bool


@dataclass(frozen=True)
class Membership(JsonForm):
    """A member's organisation on the days ``since <= day < until``."""

    id: int
    person_code: str
    person_name: str
    org_code: str
    org_name: str
    org_kind: str
    since: dt.date
    until: dt.date | None
    end_reason: str | None
    in_force: bool


@dataclass(frozen=True)
class PartyMember:
    """A live resident who is a Party member, where they live (their household's grid) and their type."""

    id: int
    code: str
    name: str
    member_type: str | None
    birth_year: int | None
    phone: str | None
    household_code: str | None
    address: str | None
    grid_id: int | None
    grid_code: str | None
    grid_name: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out.pop("id")
        out.pop("grid_id")
        return out


@dataclass(frozen=True)
class OrgDetail:
    """An organisation with its posts, memberships (in force first), the organisations below it, the member units
    of its 大党委 and every state it has had."""

    org: Org
    posts: list[Post]
    members: list[Membership]
    children: list[Org]
    units: list[tuple[str, str, dt.date | None]]
    history: list[Org]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return self.org.as_dict() | {
            "posts": [p.as_dict() for p in self.posts], "member_list": [m.as_dict() for m in self.members],
            "children": [c.as_dict() for c in self.children],
            "member_units": [{"code": c, "name": n, "joined_on": d} for c, n, d in self.units],
            "history": [h.as_dict() for h in self.history]}  # fmt: skip


def _org(row: RowMapping, personal: bool) -> Org:
    values = dict(row)
    values["grid_ids"] = list(values["grid_ids"] or [])
    if not personal:
        values |= {"secretary_code": None if values["secretary_kind"] == "党员" else values["secretary_code"],
                   "secretary_name": None, "phone": None}  # fmt: skip
    return Org(**values, personal=personal)


def reaches(session: Session, ids: Collection[int]) -> dict[int, set[int | None]]:
    """Where each organisation lies: its grids and its unit's grid, else its nearest ancestor's ({None}: nowhere)."""
    found = {int(r.org): set(r.grids) for r in session.execute(text(_REACH), {"ids": list(ids)})}
    return {i: found.get(i) or {None} for i in ids}


def personal_grids(session: Session, actor: Actor | None) -> set[int] | None:
    """The grids where the actor may see personal data (None: everywhere)."""
    everywhere, scope = personal_reach(actor)
    if everywhere:
        return None
    if scope is None:
        return set()
    return set(session.scalars(text(f"{SUBTREE} SELECT id FROM sub"), {"root": scope}))


def _visible(session: Session, actor: Actor | None, ids: Collection[int]) -> set[int]:
    """The organisations whose names (members, secretary) the actor may read."""
    scope = personal_grids(session, actor)
    if scope is None:
        return set(ids)
    if not scope:
        return set()
    return {i for i, grids in reaches(session, ids).items() if grids & scope}


def _lookup(session: Session, code: str, *, as_of_moment: dt.datetime | None = None, lock: bool = False,
            on_day: dt.date | None = None, timezone: str = DEFAULT_TIMEZONE) -> RowMapping:  # fmt: skip
    where = as_of("o") if as_of_moment is not None else "o.lineage_id IS NULL"
    stmt = f"{_ORG} WHERE o.code = :code AND {where}" + (" FOR UPDATE OF o" if lock else "")
    params = {"code": (code or "").strip(), "as_of": as_of_moment,
              "on_day": on_day or day_of(as_of_moment, timezone)}  # fmt: skip
    row = session.execute(text(stmt), params).mappings().first()
    if row is None:
        when = f"（{as_of_moment:%Y-%m-%d %H:%M} 时）" if as_of_moment is not None else ""
        raise NotFound(f"党组织不存在{when}：{code}")
    return row


def get_org(session: Session, code: str, actor: Actor, *, as_of_moment: dt.datetime | None = None,
            page: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> Org:  # fmt: skip
    """The current state of an organisation (live or dissolved), or its state at ``as_of_moment``; shown on
    ``page`` (the view of its names is logged), or read for a service (None)."""
    authorize(session, actor, "read")
    row = _lookup(session, code, as_of_moment=as_of_moment, timezone=timezone)
    org = _org(row, bool(_visible(session, actor, [row["id"]])))
    if page is not None and org.personal and org.secretary_name:
        log_view(session, actor, "party_org", org.grid_codes[0] if org.grid_codes else None, page=page, rows=1)
    return org


def list_orgs(
    session: Session,
    actor: Actor,
    *,
    parent: str | None = None,
    include_retired: bool = False,
    as_of_moment: dt.datetime | None = None,
    page: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[Org]:
    """The organisations under ``parent`` (default: the actor's scope): those built on its grids or belonging to a
    unit there, and every organisation below them, in force (or at ``as_of_moment``, or with the dissolved ones),
    by code; members counted on that day, also with those of the organisations below (``members_total``). Shown on
    ``page``, the view of the secretaries' names is logged."""
    authorize(session, actor, "read")
    root_code = readable_root(session, actor, parent.strip() if parent else None)
    root = None
    if root_code is not None:
        root = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                              {"c": root_code})  # fmt: skip
        if root is None:
            raise NotFound(f"网格不存在：{root_code}")

    def when(alias: str) -> str:
        if as_of_moment is not None:
            return as_of(alias)
        return f"{alias}.lineage_id IS NULL" if include_retired else f"{alias}.valid_to IS NULL"

    tree = SUBTREE + _IN_TREE.format(id_o=identity("o"), when_o=when("o"), id_c=identity("c"), when_c=when("c"))
    stmt = f"{tree} {_ORG} WHERE {when('o')} AND {identity('o')} IN (SELECT id FROM tree) ORDER BY o.code"
    params = {"root": root, "as_of": as_of_moment, "on_day": day_of(as_of_moment, timezone)}
    rows = session.execute(text(stmt), params).mappings().all()
    visible = _visible(session, actor, [r["id"] for r in rows])
    orgs = [_org(r, r["id"] in visible) for r in rows]
    named = sum(1 for o in orgs if o.secretary_name)
    if page is not None and named:
        log_view(session, actor, "party_org", root_code, page=page, rows=named)
    return _with_totals(orgs)


def _with_totals(orgs: Sequence[Org]) -> list[Org]:
    """Each organisation with the members of its whole subtree among ``orgs``."""
    children: dict[int | None, list[Org]] = {}
    for o in orgs:
        children.setdefault(o.parent_id, []).append(o)

    def total(o: Org, depth: int = 0) -> int:
        below = children.get(o.id, []) if depth < MAX_DEPTH else []
        return o.members + sum(total(c, depth + 1) for c in below)

    return [replace(o, members_total=total(o)) for o in orgs]


def org_tree(orgs: Sequence[Org]) -> list[tuple[int, Org]]:
    """The organisations as a tree, depth first (each with its depth): those whose parent is not listed at the top."""
    listed = {o.id for o in orgs}
    children: dict[int | None, list[Org]] = {}
    for o in orgs:
        children.setdefault(o.parent_id if o.parent_id in listed else None, []).append(o)
    out: list[tuple[int, Org]] = []

    def walk(parent: int | None, depth: int) -> None:
        for o in children.get(parent, []):
            out.append((depth, o))
            if depth < MAX_DEPTH:
                walk(o.id, depth + 1)

    walk(None, 0)
    return out


def kind_advice(rules: PartyRules, kind: str, members: int) -> str | None:
    """What the rules say of an organisation of ``kind`` with ``members`` (its whole subtree), when it is not what
    they call for: the kind the membership calls for, or too few members for a branch; None when it fits."""
    if kind == PARTY_GROUP:
        return None
    expected = rules.expected_kind(members)
    if expected == PARTY_GROUP:  # too few for a branch: the branch_min rule, not the form
        return f"党员不足 {rules.branch_min} 名" if kind == PARTY_BRANCH else f"{members} 名党员，应设党支部"
    return None if expected == kind else f"{members} 名党员，应设{expected}"


def org_history(session: Session, code: str, actor: Actor, *, page: str | None = None,
                timezone: str = DEFAULT_TIMEZONE) -> list[Org]:  # fmt: skip
    """Every state the organisation has had, oldest first (the current one last)."""
    current = get_org(session, code, actor, page=page, timezone=timezone)
    rows = session.execute(text(f"{_ORG} WHERE {identity('o')} = :id ORDER BY o.valid_from, o.id"),
                           {"id": current.id, "on_day": day_of(None, timezone)}).mappings()  # fmt: skip
    out = [_org(r, current.personal) for r in rows]
    out.sort(key=lambda o: (o.valid_from, o.version))
    return out


def org_changes(before: Org | None, after: Org) -> list[str]:
    """What changed from one state of an organisation to the next, as lines people read."""
    return ["新建"] if before is None else field_changes(before, after, _CHANGES)


def _holder(o: Org) -> str | None:
    if o.secretary_name:
        return f"{o.secretary_name}（{o.secretary_code}）"
    return o.secretary_code or ("（有）" if o.secretary_kind else None)


_CHANGES: tuple[tuple[str, Callable[[Org], Any]], ...] = (
    ("名称", attrgetter("name")), ("类别", attrgetter("kind")), ("形式", attrgetter("form")),
    ("上级组织", attrgetter("parent_code")), ("所建网格", lambda o: "、".join(o.grid_codes)),
    ("所属单位", attrgetter("unit_code")), ("书记", _holder), ("电话", attrgetter("phone")),
    ("成立日期", attrgetter("founded_on")),
)


def _readable_org(session: Session, code: str, actor: Actor, page: str, timezone: str) -> Org:
    """An organisation whose names the actor may read (personal data rights over its reach); the view is logged."""
    authorize(session, actor, "personal")
    row = _lookup(session, code, timezone=timezone)
    reach = reaches(session, [row["id"]])[row["id"]]
    authorize(session, actor, "personal", Touches(grid_ids=reach))
    org = _org(row, True)
    log_view(session, actor, "party_org", org.grid_codes[0] if org.grid_codes else None, page=page, org=org.code)
    return org


def org_detail(session: Session, code: str, actor: Actor, *, page: str = "api",
               timezone: str = DEFAULT_TIMEZONE) -> OrgDetail:  # fmt: skip
    """An organisation with its posts, members (every membership, those in force first), the organisations below it,
    its member units and history: for readers with personal data rights over it (``Forbidden`` otherwise)."""
    org = _readable_org(session, code, actor, page, timezone)
    today = day_of(None, timezone)
    children = session.execute(text(f"{_ORG} WHERE o.parent_id = :id AND o.valid_to IS NULL ORDER BY o.code"),
                               {"id": org.id, "on_day": today}).mappings().all()  # fmt: skip
    visible = _visible(session, actor, [r["id"] for r in children])
    units = [(r.code, r.name, r.joined_on) for r in session.execute(text(
        "SELECT code, name, joined_on FROM resident_unit WHERE member_of_org_id = :id AND valid_to IS NULL "
        "ORDER BY code"), {"id": org.id})]  # fmt: skip
    total = session.scalar(text(_SUBTREE_MEMBERS), {"id": org.id, "on_day": today})
    return OrgDetail(replace(org, members_total=int(total or 0)),
                     read_posts(session, "t.org_id = :id", {"id": org.id}, today),
                     read_memberships(session, "m.org_id = :id", {"id": org.id}, today),
                     [_org(r, r["id"] in visible) for r in children], units,
                     org_history(session, org.code, actor, timezone=timezone))  # fmt: skip


def org_members(session: Session, code: str, actor: Actor, *, on_day: dt.date | None = None,
                include_ended: bool = False, timezone: str = DEFAULT_TIMEZONE) -> list[Membership]:  # fmt: skip
    """The members of an organisation on ``on_day`` (today), or every membership it has had."""
    org = _readable_org(session, code, actor, "members", timezone)
    where = "m.org_id = :id" + ("" if include_ended else f" AND {role_in_force('m')}")
    return read_memberships(session, where, {"id": org.id}, on_day or day_of(None, timezone))


def read_memberships(session: Session, where: str, params: Mapping[str, Any], day: dt.date) -> list[Membership]:
    """The memberships ``where`` picks, those in force on ``day`` first (no checks: for services that checked)."""
    stmt = f"{_MEMBERSHIPS} WHERE {where} ORDER BY {role_in_force('m')} DESC, m.since DESC, p.code, m.id"
    return [Membership(**r) for r in session.execute(text(stmt), {**params, "on_day": day}).mappings()]


def read_posts(session: Session, where: str, params: Mapping[str, Any], day: dt.date) -> list[Post]:
    """The posts ``where`` picks, those in force on ``day`` first, in the order of PARTY_POSTS (no checks)."""
    order = "array_position(CAST(:order AS text[]), t.post)"
    stmt = f"{_POSTS} WHERE {where} ORDER BY {role_in_force('t')} DESC, {order}, t.since, t.id"
    rows = session.execute(text(stmt), {**params, "on_day": day, "order": list(PARTY_POSTS.terms)}).mappings()
    return [Post(**r) for r in rows]


# ------------------------------------------------------------------------------------------------ members


def member_for(session: Session, code: str | None, actor: Actor, action: Action = "write", *,
               missing: type[Exception] = InvalidInput) -> PartyMember:  # fmt: skip
    """The live resident with ``code``, once the actor may ``action`` on their household grid, who must be a Party
    member (``missing`` when there is no such resident or they are not a member)."""
    clean = (code or "").strip()
    row = session.execute(text(_PERSON), {"code": clean}).mappings().first()
    if row is None:
        raise missing(f"人员不存在或已注销：{clean}")
    authorize(session, actor, action, Touches(grid_ids=[row["grid_id"]]))
    if not row["is_party_member"]:
        raise missing(f"{row['name']}（{clean}）不是党员：请先在人员信息中登记为党员")
    return PartyMember(**{k: v for k, v in row.items() if k != "is_party_member"})


def member_history(session: Session, code: str, actor: Actor, *,
                   timezone: str = DEFAULT_TIMEZONE) -> list[Membership]:  # fmt: skip
    """Every organisation a member has belonged to, the current one first (personal data, in scope)."""
    member = member_for(session, code, actor, "personal", missing=NotFound)
    log_view(session, actor, "party_membership", member.grid_code, page="history", rows=1)
    return read_memberships(session, "m.person_id = :p", {"p": member.id}, day_of(None, timezone))


def _live_org(session: Session, code: str | None, label: str = "党组织") -> RowMapping:
    clean = (code or "").strip()
    row = session.execute(text("SELECT id, code, name, kind, form FROM party_org WHERE code = :c "
                               "AND valid_to IS NULL"), {"c": clean}).mappings().first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"{label}不存在或已撤销：{clean}")
    return row


def join_org(session: Session, person: str, org: str, actor: Actor, *, since: dt.date | None = None,
             timezone: str = DEFAULT_TIMEZONE) -> Membership:  # fmt: skip
    """Put a member in an organisation from ``since`` (today): a membership in force ends that day (转入 the new
    one), its history kept."""
    authorize(session, actor, "write")
    member = member_for(session, person, actor)
    target = _live_org(session, org)
    day = dated_day(since, timezone)
    current = session.execute(text("SELECT id, org_id, since FROM party_membership WHERE person_id = :p "
                                   "AND until IS NULL FOR UPDATE"), {"p": member.id}).first()  # fmt: skip
    orgs = [target["id"], *([current.org_id] if current is not None else [])]
    reach = set().union(*reaches(session, orgs).values())
    authorize(session, actor, "write", Touches(grid_ids={member.grid_id, *reach}))
    if current is not None and current.org_id == target["id"]:
        raise Conflict(f"{member.name}（{member.code}）已是 {target['code']} {target['name']} 的党员"
                       f"（自 {current.since:%Y-%m-%d} 起）")  # fmt: skip
    if current is not None and day < current.since:
        raise InvalidInput(f"加入日期 {day.isoformat()} 早于其在现组织的加入日期 {current.since:%Y-%m-%d}")
    begin(session, actor)
    if current is not None:
        session.execute(text("UPDATE party_membership SET until = :d, end_reason = :r WHERE id = :i"),
                        {"d": day, "r": f"转入 {target['code']}", "i": current.id})  # fmt: skip
    mid = session.scalar(text("INSERT INTO party_membership (person_id, org_id, since) VALUES (:p, :o, :d) "
                              "RETURNING id"), {"p": member.id, "o": target["id"], "d": day})  # fmt: skip
    return read_memberships(session, "m.id = :i", {"i": mid}, day_of(None, timezone))[0]


def leave_org(session: Session, person: str, actor: Actor, *, reason: str | None, until: dt.date | None = None,
              timezone: str = DEFAULT_TIMEZONE) -> Membership:  # fmt: skip
    """End a member's membership in force on ``until`` (today: from that day no longer a member) with a reason
    (转出, 去世 …)."""
    authorize(session, actor, "write")
    member = member_for(session, person, actor)
    why = parse_reason(reason)
    current = session.execute(text("SELECT id, org_id, since FROM party_membership WHERE person_id = :p "
                                   "AND until IS NULL FOR UPDATE"), {"p": member.id}).first()  # fmt: skip
    if current is None:
        raise NotFound(f"{member.name}（{member.code}）目前未编入党组织")
    reach = reaches(session, [current.org_id])[current.org_id]
    authorize(session, actor, "write", Touches(grid_ids={member.grid_id, *reach}))
    day = dated_day(until, timezone)
    if day < current.since:
        raise InvalidInput(f"离开日期 {day.isoformat()} 早于加入日期 {current.since:%Y-%m-%d}")
    begin(session, actor)
    session.execute(text("UPDATE party_membership SET until = :d, end_reason = :r WHERE id = :i"),
                    {"d": day, "r": why, "i": current.id})  # fmt: skip
    return read_memberships(session, "m.id = :i", {"i": current.id}, day_of(None, timezone))[0]


# ------------------------------------------------------------------------------------------------ writing


@dataclass
class _Values:
    """The columns a write sets and the grids it touches (codes named, rows' grids)."""

    columns: dict[str, Any] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)
    grid_ids: set[int | None] = field(default_factory=set)


def _grid_ids(session: Session, raw: Any) -> tuple[list[int], list[str]]:
    """The live grids an organisation is built on, from codes (a list, or one text separated by 、 , ; or blanks)."""
    items = SPLIT.split(raw) if isinstance(raw, str) else list(raw or ())
    codes = [str(c).strip() for c in items if c and str(c).strip()]
    if len(set(codes)) != len(codes):
        raise InvalidInput(f"所建网格重复：{'、'.join(codes)}")
    found = {r.code: r.id for r in session.execute(text(
        "SELECT code, id FROM grid WHERE code = ANY(:c) AND valid_to IS NULL AND lineage_id IS NULL"), {"c": codes})}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(f"网格不存在：{'、'.join(missing)}")
    return [int(found[c]) for c in codes], codes


def live_unit(session: Session, code: str | None) -> tuple[int, int | None]:
    """The identity id and grid of the live resident unit with ``code``, or ``InvalidInput``."""
    clean = (code or "").strip()
    row = session.execute(text("SELECT id, grid_id FROM resident_unit WHERE code = :c AND valid_to IS NULL"),
                          {"c": clean}).first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"驻区单位不存在或已撤销：{clean}")
    return int(row.id), row.grid_id


def holder(session: Session, code: str | None, label: str) -> tuple[int | None, int | None, int | None]:
    """(person id, staff id, household grid) of whoever ``code`` names: a Party member by person code, else a
    staff member by staff code."""
    clean = (code or "").strip()
    person = session.execute(text(_PERSON), {"code": clean}).mappings().first()
    if person is not None and person["is_party_member"]:
        return int(person["id"]), None, person["grid_id"]
    staff = session.scalar(text("SELECT id FROM staff WHERE code = :c AND valid_to IS NULL"), {"c": clean})
    if staff is not None:
        return None, int(staff), None
    if person is not None:
        raise InvalidInput(f"{label}：{person['name']}（{clean}）不是党员")
    raise InvalidInput(f"{label}：找不到党员（人员编码）或网格工作人员（人员编码）：{clean}")


def _values(session: Session, given: Mapping[str, Any], timezone: str) -> _Values:
    """Parse the given fields into columns, resolving codes; gather what they touch."""
    out = _Values()
    for name, raw in given.items():
        label = FIELD_LABELS[name]
        if name == "name":
            out.columns["name"] = parse_text(raw, f"党组织{label}", required=True)
        elif name in ("kind", "form"):
            words = PARTY_ORG_KINDS if name == "kind" else PARTY_ORG_FORMS
            term = parse_term(words, raw, f"党组织{label}")
            if term is None:
                raise InvalidInput(f"党组织{label}：必填项为空（可选：{'、'.join(words.terms)}）")
            out.columns[name] = term
        elif name == "parent":
            out.columns["parent_id"] = int(_live_org(session, raw, "上级组织")["id"]) if (raw or "").strip() else None
        elif name == "grids":
            out.columns["grid_ids"], codes = _grid_ids(session, raw)
            out.codes.update(codes)
        elif name == "unit":
            out.columns["unit_id"] = None
            if (raw or "").strip():
                out.columns["unit_id"], gid = live_unit(session, raw)
                out.grid_ids.add(gid)
        elif name == "secretary":
            person_id, staff_id, gid = holder(session, raw, "书记") if (raw or "").strip() else (None, None, None)
            out.columns |= {"secretary_person_id": person_id, "secretary_staff_id": staff_id}
            if person_id is not None:
                out.grid_ids.add(gid)
        elif name == "phone":
            out.columns["phone"] = PHONE.parse(raw)
        else:
            out.columns["founded_on"] = parse_past_day(raw, "成立日期", day_of(None, timezone))
    return out


def tree_problem(kind: str, form: str, parent_code: str | None, parent_kind: str | None) -> str | None:
    """What breaks the rules of the tree for one organisation, or None: a form named …党支部 / …党小组 is of that
    kind; nothing is under a 党小组; a 党小组 is under a 党支部."""
    for suffix, wanted in (("党支部", PARTY_BRANCH), ("党小组", PARTY_GROUP)):
        if form.endswith(suffix) and kind != wanted:
            return f"党组织形式「{form}」应为{wanted}，不是{kind}"
    if parent_kind == PARTY_GROUP:
        return f"上级组织 {parent_code} 是党小组：党小组下不能再设组织"
    if kind == PARTY_GROUP and parent_kind != PARTY_BRANCH:
        where = f"，{parent_code} 是{parent_kind}" if parent_code else "（未指定上级组织）"
        return f"党小组的上级组织应为党支部{where}"
    return None


def _structure(session: Session, org_id: int | None, kind: str, form: str, parent_id: int | None) -> None:
    """The rules of the tree (``tree_problem``), and for an existing organisation: no organisation is below itself,
    and what is below it still fits."""
    parent = None
    if parent_id is not None:
        parent = session.execute(text("SELECT code, kind FROM party_org WHERE id = :i"), {"i": parent_id}).first()
    problem = tree_problem(kind, form, parent.code if parent else None, parent.kind if parent else None)
    if problem:
        raise InvalidInput(problem)
    if org_id is None:
        return
    below = set(session.scalars(text(_DESCENDANTS), {"id": org_id}))
    if parent_id is not None and (parent_id == org_id or parent_id in below):
        raise InvalidInput(f"上级组织 {parent.code if parent else ''} 是本组织或其下级组织：组织关系不能成环")
    kids = session.execute(text("SELECT code, kind FROM party_org WHERE parent_id = :i AND valid_to IS NULL "
                                "ORDER BY code"), {"i": org_id}).all()  # fmt: skip
    if kids and kind == PARTY_GROUP:
        raise InvalidInput(f"本组织下有 {'、'.join(k.code for k in kids)}：不能改为党小组")
    groups = [k.code for k in kids if k.kind == PARTY_GROUP]
    if groups and kind != PARTY_BRANCH:
        raise InvalidInput(f"本组织下有党小组 {'、'.join(groups)}：党小组的上级组织应为党支部")


def _touches(session: Session, values: _Values, parents: Iterable[int | None], placed: bool) -> Touches:
    """What a write touches: the grids it names, the grids of the rows it names, the reach of the parents it names;
    an organisation left on no grid, with no unit and no parent, lies in no grid (outside every scope)."""
    named = [i for i in parents if i is not None]
    reach = set().union(*reaches(session, named).values()) if named else set()
    return Touches(codes=values.codes, grid_ids={*values.grid_ids, *reach, *(() if placed else (None,))})


def create_org(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    form: str,
    parent: str | None = None,
    grids: Iterable[str] | str = (),
    unit: str | None = None,
    secretary: str | None = None,
    phone: str | None = None,
    founded_on: dt.date | str | None = None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Org:
    """Add an organisation (in force from ``effective``, default now) under ``parent``, built on ``grids`` (codes),
    belonging to ``unit``, with its secretary by person code (a member) or staff code."""
    authorize(session, actor, "write")
    clean = parse_code(code, "党组织编码")
    values = _values(session, {"name": name, "kind": kind, "form": form, "parent": parent, "grids": grids,
                               "unit": unit, "secretary": secretary, "phone": phone, "founded_on": founded_on},
                     timezone)  # fmt: skip
    c = values.columns
    placed = bool(c["grid_ids"] or c["unit_id"] or c["parent_id"])
    authorize(session, actor, "write", _touches(session, values, [c["parent_id"]], placed))
    ensure_code_free(session, "party_org", clean, "党组织")
    _structure(session, None, c["kind"], c["form"], c["parent_id"])
    moment = effective_moment(effective, None, timezone)
    begin(session, actor, moment)
    session.execute(text("""
        INSERT INTO party_org (code, name, kind, form, parent_id, grid_ids, unit_id, secretary_person_id,
                               secretary_staff_id, phone, founded_on, updated_by, valid_from)
        VALUES (:code, :name, :kind, :form, :parent_id, CAST(:grid_ids AS bigint[]), :unit_id, :secretary_person_id,
                :secretary_staff_id, :phone, :founded_on, :by, coalesce(CAST(:at AS timestamptz), now()))"""),
                    {**c, "code": clean, "by": actor.audit_name, "at": moment})  # fmt: skip
    return get_org(session, clean, actor, timezone=timezone)


def _writable(session: Session, code: str, actor: Actor, expected_version: int | None, timezone: str) -> Org:
    """A live organisation the actor may change (its reach in scope), at the version the caller read."""
    authorize(session, actor, "write")
    row = _lookup(session, code, lock=True, timezone=timezone)
    authorize(session, actor, "write", Touches(grid_ids=reaches(session, [row["id"]])[row["id"]]))
    org = _org(row, True)
    check_writable("党组织", org, expected_version)
    return org


def update_org(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Org:
    """Change some fields of a live organisation (``ORG_FIELDS``; parent, grids, unit and secretary by codes, an
    empty value clears them); the former state stays as history, valid until ``effective`` (default now)."""
    authorize(session, actor, "write")
    check_fields(changes, ORG_FIELDS)
    current = _writable(session, code, actor, expected_version, timezone)
    values = _values(session, changes, timezone)
    c = values.columns
    parent_id = c.get("parent_id", current.parent_id)
    placed = bool(c.get("grid_ids", current.grid_ids) or c.get("unit_id", current.unit_code) or parent_id)
    parents = [current.parent_id, parent_id] if "parent_id" in c else []
    authorize(session, actor, "write", _touches(session, values, parents, placed))
    if {"kind", "form", "parent_id"} & set(c):
        _structure(session, current.id, c.get("kind", current.kind), c.get("form", current.form), parent_id)
    moment = effective_moment(effective, current.valid_from, timezone)
    if c:
        begin(session, actor, moment)
        sets = ", ".join(f"{k} = CAST(:{k} AS bigint[])" if k == "grid_ids" else f"{k} = :{k}" for k in c)
        session.execute(text(f"UPDATE party_org SET {sets}, updated_by = :by WHERE id = :id"),
                        {**c, "id": current.id, "by": actor.audit_name})  # fmt: skip
    return get_org(session, current.code, actor, timezone=timezone)


def dissolve_org(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Org:
    """Dissolve an organisation from ``day`` (today) with a reason: its posts and memberships in force end that day
    (组织撤销); the record and its history stay. One with organisations below it is refused (move them first)."""
    why = parse_reason(reason)
    current = _writable(session, code, actor, expected_version, timezone)
    kids = list(session.scalars(text("SELECT code FROM party_org WHERE parent_id = :i AND valid_to IS NULL "
                                     "ORDER BY code"), {"i": current.id}))  # fmt: skip
    if kids:
        raise Conflict(f"党组织 {current.code} 下还有 {'、'.join(kids)}：请先撤销这些组织或调整其上级组织")
    moment = effective_moment(day, current.valid_from, timezone)
    first = day_of(moment, timezone)
    begin(session, actor, moment)
    for table in ("party_membership", "party_org_post"):
        end_memberships(session, table, current.id, first, DISSOLVED)
    retire_row(session, "party_org", current.id, reason=why, moment=moment, by=actor.audit_name)
    return get_org(session, current.code, actor, timezone=timezone)


# ------------------------------------------------------------------------------------------------ posts


def add_post(
    session: Session,
    code: str,
    actor: Actor,
    *,
    post: str,
    holder_code: str,
    unit: str | None = None,
    since: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Post:
    """A member (person code) or a staff member (staff code) takes a post of a live organisation from ``since``
    (today); a 兼职委员 may name the member unit they come from."""
    org = _writable(session, code, actor, None, timezone)
    term = parse_term(PARTY_POSTS, post, "党内职务")
    if term is None:
        raise InvalidInput(f"党内职务：必填项为空（可选：{'、'.join(PARTY_POSTS.terms)}）")
    person_id, staff_id, gid = holder(session, holder_code, "任职人")
    unit_id, unit_grid = live_unit(session, unit) if (unit or "").strip() else (None, None)
    touched = {gid} if person_id is not None else set()
    if unit_id is not None:
        touched.add(unit_grid)
    authorize(session, actor, "write", Touches(grid_ids=touched))
    day = dated_day(since, timezone)
    clash = session.execute(text(
        "SELECT t.post, t.since FROM party_org_post t WHERE t.org_id = :o AND (t.until IS NULL OR t.until > :d) "
        "AND (t.post = :post AND (:single OR t.person_id IS NOT DISTINCT FROM :p AND t.staff_id IS NOT DISTINCT "
        "FROM :s)) ORDER BY t.since LIMIT 1"),
        {"o": org.id, "d": day, "post": term, "single": term in SINGLE_POSTS, "p": person_id,
         "s": staff_id}).first()  # fmt: skip
    if clash is not None:
        raise Conflict(f"党组织 {org.code} 的{term}已有人担任（自 {clash.since:%Y-%m-%d} 起）：请先结束该任职")
    begin(session, actor)
    pid = session.scalar(text("INSERT INTO party_org_post (org_id, post, person_id, staff_id, unit_id, since) "
                              "VALUES (:o, :post, :p, :s, :u, :d) RETURNING id"),
                         {"o": org.id, "post": term, "p": person_id, "s": staff_id, "u": unit_id,
                          "d": day})  # fmt: skip
    return read_posts(session, "t.id = :i", {"i": pid}, day_of(None, timezone))[0]


def end_post(session: Session, code: str, post_id: int, actor: Actor, *, until: dt.date | None = None,
             reason: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> Post:  # fmt: skip
    """End a post of a live organisation on ``until`` (today: from that day no longer held), with a reason."""
    org = _writable(session, code, actor, None, timezone)
    row = session.execute(text("SELECT id, since, until, person_id FROM party_org_post WHERE id = :i AND org_id = :o "
                               "FOR UPDATE"), {"i": post_id, "o": org.id}).first()  # fmt: skip
    if row is None:
        raise NotFound(f"党组织 {org.code} 没有编号为 {post_id} 的任职")
    if row.until is not None:
        raise Conflict(f"该任职已于 {row.until:%Y-%m-%d} 结束")
    day = dated_day(until, timezone)
    if day < row.since:
        raise InvalidInput(f"结束日期 {day.isoformat()} 早于任职日期 {row.since:%Y-%m-%d}")
    begin(session, actor)
    session.execute(text("UPDATE party_org_post SET until = :d, end_reason = :r WHERE id = :i"),
                    {"d": day, "r": parse_reason(reason, "换届"), "i": row.id})  # fmt: skip
    return read_posts(session, "t.id = :i", {"i": row.id}, day_of(None, timezone))[0]


def org_choices(session: Session, actor: Actor, *, forms: Collection[str] = ()) -> list[tuple[str, str]]:
    """(code, label) of the live organisations the actor may list (of ``forms`` when given), for pick lists."""
    return [(o.code, f"{o.name}（{o.kind}，{o.code}）") for o in list_orgs(session, actor)
            if not forms or o.form in forms]  # fmt: skip


def grid_choice_codes(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(code, label) of the live grids under the actor's scope, for the grids an organisation is built on."""
    from gridgov.patrol.teams import grid_choices

    return [(c.code, c.label) for c in grid_choices(session, actor, ("street", "community", "compound", "building"))]

