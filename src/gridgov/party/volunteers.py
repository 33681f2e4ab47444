"""Volunteer teams (志愿服务队): the teams of a grid with their kind, leading organisation and leader, the residents
in them (dated: in a team on ``since <= day < until``), their activities, and each team's figures for a month
against the rules (PartyRules.team_min people, an activity of PartyRules.hours_min hours a month).

Teams keep their history as records do (trigger of migration 0013); a team ends by retirement with a reason, its
memberships ending that day. Reading teams, members and leaders is personal data ("personal", in the reader's
scope); every write goes through ``authorize(…, "write", Touches(…))`` naming the team's grid (old and new), the
leading organisation's grids and the household grid of each resident it names.

The first section holds what the Party activity services share (meetings and 责任区 import it): required terms
and notes, past days, the reader's subtree, organisations (through gridgov.party.orgs) and residents by code;
input fields and versioned writes come from gridgov.fields and gridgov.versioned.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize, readable_root
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.fields import parse_code, parse_reason, parse_term, parse_text
from gridgov.history import as_of, day_of, identity, role_in_force, start_of
from gridgov.party.orgs import SUBTREE, Org, get_org, reaches
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE, parse_month
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
    retire_row,
)
from gridgov.vocab import VOLUNTEER_TEAM_KINDS, Vocabulary

# ------------------------------------------------------------------------------------------------ shared

MAX_NOTE = 2000


def required_term(words: Vocabulary, value: Any, label: str) -> str:
    """A vocabulary term that must be given (``parse_term`` leaves an empty one None)."""
    term = parse_term(words, value, label)
    if term is None:
        raise InvalidInput(f"{label}：必填项为空（可选：{'、'.join(words.terms)}）")
    return term


def note_text(value: Any, label: str = "备注") -> str | None:
    """A longer free text (at most ``MAX_NOTE`` characters), None when empty."""
    clean = str(value).strip() if value is not None else ""
    if len(clean) > MAX_NOTE:
        raise InvalidInput(f"{label}：过长（最多 {MAX_NOTE} 个字符）")
    if "\x00" in clean:
        raise InvalidInput(f"{label}：不能包含空字符")
    return clean or None


def past_day(day: dt.date | None, timezone: str, label: str) -> dt.date:
    """A day something happened: today when None, never in the future."""
    today = day_of(None, timezone)
    if day is None:
        return today
    if day > today:
        raise InvalidInput(f"{label}不能晚于今天：{day.isoformat()}")
    return day


def reader_root(session: Session, actor: Actor, parent: str | None) -> int | None:
    """The grid (identity id) whose subtree's Party activity the actor may read: ``parent`` (in their scope), else
    their scope; None: everything. Party records name members, so reading them is personal data."""
    authorize(session, actor, "personal")
    code = readable_root(session, actor, (parent or "").strip() or None)
    return None if code is None else live_grid(session, code)[0]


def org_reach(session: Session, org_id: int | None) -> list[int | None]:
    """The grids an organisation lies in for the scope rule (gridgov.party.orgs.reaches; [None]: in none)."""
    return [] if org_id is None else sorted(reaches(session, [org_id])[org_id], key=lambda g: g or 0)


def live_org(session: Session, code: str, actor: Actor) -> Org:
    """The organisation in force with this code (a reference a write names); ``InvalidInput`` otherwise."""
    try:
        org = get_org(session, code, actor)
    except NotFound:
        raise InvalidInput(f"党组织不存在：{code.strip()}") from None
    if org.retired:
        raise InvalidInput(f"党组织 {org.code} 已于 {org.valid_to:%Y-%m-%d} 撤销")
    return org


@dataclass(frozen=True)
class PersonRef:
    """A live resident found by code: identity, name and the grid of their household."""

    id: int
    code: str
    name: str
    grid_id: int | None


def find_people(session: Session, codes: Iterable[str], label: str = "居民") -> list[PersonRef]:
    """The live residents with these codes, in the order given (duplicates once); ``InvalidInput`` naming those
    not on record or no longer live."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        return []
    rows = {r.code: r for r in session.execute(text(
        "SELECT p.id, p.code, p.name, h.grid_id FROM person p "
        "LEFT JOIN household h ON h.id = p.household_id AND h.valid_to IS NULL "
        "WHERE p.code = ANY(:c) AND p.valid_to IS NULL"), {"c": wanted})}  # fmt: skip
    missing = [c for c in wanted if c not in rows]
    if missing:
        raise InvalidInput(f"{label}不存在或已注销：{'、'.join(missing[:10])}（请按居民编码填写）")
    return [PersonRef(int(rows[c].id), c, rows[c].name, None if rows[c].grid_id is None else int(rows[c].grid_id))
            for c in wanted]  # fmt: skip


def split_codes(value: Iterable[str] | str | None) -> list[str]:
    """Codes from a list, or from text separated by commas, 、 or blanks."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,，、;；\s]+", value)
    return [c.strip() for c in value if c and c.strip()]


def live_grid(session: Session, code: str, label: str = "网格") -> tuple[int, str]:
    """A live grid's identity id and level by code."""
    row = session.execute(text("SELECT id, level FROM grid WHERE code = :c AND valid_to IS NULL "
                               "AND lineage_id IS NULL"), {"c": code.strip()}).first()  # fmt: skip
    if row is None:
        raise InvalidInput(f"{label}不存在：{code.strip()}")
    return int(row.id), str(row.level)


# ------------------------------------------------------------------------------------------------ teams

TEAM_FIELDS = ("name", "kind", "grid", "org", "leader")
LEAVE_REASON = "退出"
_TEAM = f"""
SELECT {identity("t")} AS id, t.code, t.name, t.kind, t.grid_id, g.code AS grid_code, g.name AS grid_name,
       o.code AS org_code, o.name AS org_name, p.code AS leader_code, p.name AS leader_name,
       (SELECT count(*) FROM volunteer_team_member m
         WHERE m.team_id = {identity("t")} AND {role_in_force("m")}) AS members,
       t.version, t.valid_from, t.valid_to, t.end_reason, t.updated_by
  FROM volunteer_team t
  LEFT JOIN grid g ON g.id = t.grid_id
  LEFT JOIN party_org o ON o.id = t.org_id
  LEFT JOIN person p ON p.id = t.leader_person_id"""
_MEMBERS = f"""
SELECT m.id, t.code AS team_code, p.code AS person_code, p.name AS person_name, p.is_party_member AS party_member,
       m.since, m.until, m.end_reason, {role_in_force("m")} AS in_force
  FROM volunteer_team_member m JOIN person p ON p.id = m.person_id JOIN volunteer_team t ON t.id = m.team_id
 WHERE {{where}}
 ORDER BY {role_in_force("m")} DESC, m.since, p.code, m.id"""


@dataclass(frozen=True)
class Team(VersionedState):
    """One state of a volunteer team: kind, grid, leading organisation, leader and members in force."""

    id: int
    code: str
    name: str
    kind: str
    grid_code: str | None
    grid_name: str | None
    org_code: str | None
    org_name: str | None
    leader_code: str | None
    leader_name: str | None
    members: int
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    end_reason: str | None
    updated_by: str | None
    grid_id: int | None = field(default=None, repr=False)

    HIDDEN = ("grid_id",)


@dataclass(frozen=True)
class Member(JsonForm):
    """A resident's membership of a team: the days it is in force and why it ended."""

    id: int
    team_code: str
    person_code: str
    person_name: str
    party_member: bool
    since: dt.date
    until: dt.date | None
    end_reason: str | None
    in_force: bool


@dataclass(frozen=True)
class Activity(JsonForm):
    """An activity of a team: the day, how long, what, how many took part."""

    id: int
    team_code: str
    team_name: str
    day: dt.date
    hours: float
    title: str
    participants: int | None
    note: str | None
    created_by: str | None


@dataclass(frozen=True)
class MonthFigures:
    """A team's month: people on its last day (today for the month in progress), activities, hours and the
    longest activity, against the rules."""

    team_code: str
    team_name: str
    grid_code: str | None
    month: dt.date
    counted_on: dt.date
    people: int
    activities: int
    hours: float
    longest: float
    team_min: int
    hours_min: float

    @property
    def size_ok(self) -> bool:
        """The team has at least ``team_min`` people."""
        return self.people >= self.team_min

    @property
    def activity_ok(self) -> bool:
        """The month had an activity of at least ``hours_min`` hours."""
        return self.longest >= self.hours_min

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the rule status."""
        return asdict(self) | {"size_ok": self.size_ok, "activity_ok": self.activity_ok}


def _team(row: RowMapping) -> Team:
    return Team(**row)


def _team_scope(root: int | None) -> tuple[str, str]:
    """The WITH clause and condition limiting teams to a reader's subtree (none for everything)."""
    return (SUBTREE, "t.grid_id IN (SELECT id FROM sub)") if root is not None else ("", "true")


def list_teams(session: Session, actor: Actor, *, parent: str | None = None, include_retired: bool = False,
               timezone: str = DEFAULT_TIMEZONE) -> list[Team]:  # fmt: skip
    """The teams in force (or with the retired ones) on grids under ``parent`` (default: the actor's scope)."""
    root = reader_root(session, actor, parent)
    with_sql, where = _team_scope(root)
    live = "t.lineage_id IS NULL" if include_retired else "t.valid_to IS NULL"
    rows = session.execute(text(f"{with_sql} {_TEAM} WHERE {live} AND {where} ORDER BY t.code"),
                           {"root": root, "on_day": day_of(None, timezone)}).mappings()  # fmt: skip
    return [_team(r) for r in rows]


def _lookup(session: Session, code: str, *, lock: bool = False, as_of_moment: dt.datetime | None = None,
            timezone: str = DEFAULT_TIMEZONE) -> Team:  # fmt: skip
    where = as_of("t") if as_of_moment is not None else "t.lineage_id IS NULL"
    stmt = f"{_TEAM} WHERE t.code = :code AND {where}" + (" FOR UPDATE OF t" if lock else "")
    row = session.execute(text(stmt), {"code": (code or "").strip(), "as_of": as_of_moment,
                                       "on_day": day_of(None, timezone)}).mappings().first()  # fmt: skip
    if row is None:
        raise NotFound(f"志愿服务队不存在：{code}")
    return _team(row)


def _leader_grid(session: Session, team_id: int) -> list[int | None]:
    grid = session.execute(text("SELECT h.grid_id FROM volunteer_team t JOIN person p ON p.id = t.leader_person_id "
                                "LEFT JOIN household h ON h.id = p.household_id AND h.valid_to IS NULL "
                                "WHERE t.id = :t"), {"t": team_id}).first()  # fmt: skip
    return [] if grid is None else [grid.grid_id]


def get_team(session: Session, code: str, actor: Actor, *, timezone: str = DEFAULT_TIMEZONE) -> Team:
    """The current state of a team (live or retired), if its grid lies in the reader's scope."""
    authorize(session, actor, "personal")
    team = _lookup(session, code, timezone=timezone)
    authorize(session, actor, "personal", Touches(grid_ids=[team.grid_id]))
    return team


def team_history(session: Session, code: str, actor: Actor, *, timezone: str = DEFAULT_TIMEZONE) -> list[Team]:
    """Every state the team has had, oldest first (the current one last)."""
    current = get_team(session, code, actor, timezone=timezone)
    rows = session.execute(text(f"{_TEAM} WHERE {identity('t')} = :id ORDER BY t.valid_from, t.id"),
                           {"id": current.id, "on_day": day_of(None, timezone)}).mappings()  # fmt: skip
    return sorted((_team(r) for r in rows), key=lambda t: (t.valid_from, t.version))


def team_changes(before: Team | None, after: Team) -> list[str]:
    """What changed from one state of a team to the next, as lines people read."""
    if before is None:
        return ["新建"]
    out = []
    pairs = (("名称", before.name, after.name), ("类型", before.kind, after.kind),
             ("网格", _named(before.grid_name, before.grid_code), _named(after.grid_name, after.grid_code)),
             ("牵头党组织", _named(before.org_name, before.org_code), _named(after.org_name, after.org_code)),
             ("队长", _named(before.leader_name, before.leader_code), _named(after.leader_name, after.leader_code)))
    for label, old, new in pairs:
        if old != new:
            out.append(f"{label}：{old or '（空）'} → {new or '（空）'}")
    return out


def _named(name: str | None, code: str | None) -> str | None:
    return f"{name}（{code}）" if code else None


def _team_grid(session: Session, actor: Actor, grid: str | None) -> int:
    """The live grid a team works on, by code; none given: the actor's scope."""
    code = (grid or "").strip() or (actor.scope_code or "")
    if not code:
        raise InvalidInput("请指定志愿服务队所在的网格（网格编码）")
    return live_grid(session, code)[0]


def _references(session: Session, actor: Actor, values: Mapping[str, Any],
                touched: list[int | None]) -> dict[str, Any]:  # fmt: skip
    """The columns for the org and leader fields given, adding the grids they touch."""
    out: dict[str, Any] = {}
    if "org" in values:
        org = live_org(session, values["org"], actor) if (values["org"] or "").strip() else None
        out["org_id"] = org.id if org else None
        touched.extend(org_reach(session, out["org_id"]))
    if "leader" in values:
        people = find_people(session, [values["leader"]] if (values["leader"] or "").strip() else [], "队长")
        out["leader_person_id"] = people[0].id if people else None
        touched.extend(p.grid_id for p in people)
    return out


def create_team(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    grid: str | None = None,
    org: str | None = None,
    leader: str | None = None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Add a team of ``kind`` (VOLUNTEER_TEAM_KINDS) on ``grid`` (default: the actor's scope), led by an organisation
    and a resident (by codes), in force from ``effective`` (default now)."""
    authorize(session, actor, "write")
    clean = parse_code(code, "志愿服务队编码")
    values: dict[str, Any] = {"code": clean, "name": parse_text(name, "志愿服务队名称", required=True),
                              "kind": required_term(VOLUNTEER_TEAM_KINDS, kind, "志愿服务队类型"),
                              "grid_id": _team_grid(session, actor, grid)}  # fmt: skip
    touched: list[int | None] = [values["grid_id"]]
    values |= _references(session, actor, {"org": org, "leader": leader}, touched)
    authorize(session, actor, "write", Touches(grid_ids=touched))
    ensure_code_free(session, "volunteer_team", clean, "志愿服务队")
    moment = effective_moment(effective, None, timezone)
    begin(session, actor, moment)
    session.execute(text("INSERT INTO volunteer_team (code, name, kind, grid_id, org_id, leader_person_id, updated_by, "
                         "valid_from) VALUES (:code, :name, :kind, :grid_id, :org_id, :leader_person_id, :by, "
                         "coalesce(CAST(:at AS timestamptz), now()))"),
                    values | {"by": actor.audit_name, "at": moment})  # fmt: skip
    return _lookup(session, clean, timezone=timezone)


def _writable(session: Session, code: str, actor: Actor, timezone: str, what: str = "修改", *,
              expected_version: int | None = None) -> tuple[Team, list[int | None]]:  # fmt: skip
    """A live team the actor may change (at the version they read, when given), locked, and the grids it touches
    now: its grid, its organisation's and its leader's."""
    authorize(session, actor, "write")
    team = _lookup(session, code, lock=True, timezone=timezone)
    org_id = session.scalar(text("SELECT org_id FROM volunteer_team WHERE id = :t"), {"t": team.id})
    touched: list[int | None] = [team.grid_id, *org_reach(session, org_id), *_leader_grid(session, team.id)]
    authorize(session, actor, "write", Touches(grid_ids=touched))  # before saying anything of it
    check_writable("志愿服务队", team, expected_version, f"，不能{what}")
    return team, touched


def update_team(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    expected_version: int | None,
    effective: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Change some of a live team's fields (``TEAM_FIELDS``; an empty org or leader clears it); the former state
    stays as history, valid until ``effective`` (default now)."""
    check_fields(changes, TEAM_FIELDS)
    team, touched = _writable(session, code, actor, timezone, expected_version=expected_version)
    columns: dict[str, Any] = {}
    if "name" in changes:
        columns["name"] = parse_text(changes["name"], "志愿服务队名称", required=True)
    if "kind" in changes:
        columns["kind"] = required_term(VOLUNTEER_TEAM_KINDS, changes["kind"], "志愿服务队类型")
    if "grid" in changes:
        columns["grid_id"] = _team_grid(session, actor, changes["grid"])
        touched.append(columns["grid_id"])
    columns |= _references(session, actor, changes, touched)
    authorize(session, actor, "write", Touches(grid_ids=touched))
    moment = effective_moment(effective, team.valid_from, timezone)
    if columns:
        begin(session, actor, moment)
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        session.execute(text(f"UPDATE volunteer_team SET {sets}, updated_by = :by WHERE id = :id"),
                        {**columns, "by": actor.audit_name, "id": team.id})  # fmt: skip
    return _lookup(session, team.code, timezone=timezone)


def retire_team(
    session: Session,
    code: str,
    actor: Actor,
    *,
    reason: str,
    expected_version: int | None = None,
    day: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Team:
    """Retire a team from ``day`` (today) with a reason; its memberships end that day, its activities stay."""
    why = parse_reason(reason)
    team, _ = _writable(session, code, actor, timezone, "再次撤销", expected_version=expected_version)
    moment = effective_moment(day, team.valid_from, timezone)
    begin(session, actor, moment)
    end_memberships(session, "volunteer_team_member", team.id, day_of(moment, timezone), why)
    retire_row(session, "volunteer_team", team.id, reason=why, moment=moment, by=actor.audit_name)
    return _lookup(session, team.code, timezone=timezone)


# ------------------------------------------------------------------------------------------------ members


def team_members(session: Session, code: str, actor: Actor, *, on_day: dt.date | None = None,
                 include_ended: bool = False, timezone: str = DEFAULT_TIMEZONE) -> list[Member]:  # fmt: skip
    """The members in force on ``on_day`` (today), or every membership the team has had (those in force first)."""
    team = get_team(session, code, actor, timezone=timezone)
    where = f"m.team_id = :team AND (CAST(:all AS boolean) OR {role_in_force('m')})"
    rows = session.execute(text(_MEMBERS.format(where=where)), {
        "team": team.id, "all": include_ended, "on_day": on_day or day_of(None, timezone)}).mappings()  # fmt: skip
    return [Member(**r) for r in rows]


def _member(session: Session, member_id: int, timezone: str) -> Member:
    row = session.execute(text(_MEMBERS.format(where="m.id = :id")),
                          {"id": member_id, "on_day": day_of(None, timezone)}).mappings().one()  # fmt: skip
    return Member(**row)


def join_team(session: Session, code: str, actor: Actor, *, person: str, since: dt.date | None = None,
              timezone: str = DEFAULT_TIMEZONE) -> Member:  # fmt: skip
    """A live resident (by code) joins a team from ``since`` (today)."""
    team, touched = _writable(session, code, actor, timezone)
    who = find_people(session, [person], "队员")
    if not who:
        raise InvalidInput("请填写加入的居民编码")
    authorize(session, actor, "write", Touches(grid_ids=[*touched, who[0].grid_id]))
    day = dated_day(since, timezone)
    clash = session.execute(text("SELECT since, until FROM volunteer_team_member WHERE team_id = :t "
                                 "AND person_id = :p AND (until IS NULL OR until > :d) ORDER BY since LIMIT 1"),
                            {"t": team.id, "p": who[0].id, "d": day}).first()  # fmt: skip
    if clash is not None:
        until = f"至 {clash.until:%Y-%m-%d}" if clash.until else "至今"
        raise Conflict(f"{who[0].name}（{who[0].code}）已是志愿服务队 {team.code} 的队员"
                       f"（自 {clash.since:%Y-%m-%d} {until}）")
    begin(session, actor)
    mid = session.execute(text("INSERT INTO volunteer_team_member (team_id, person_id, since) VALUES (:t, :p, :d) "
                               "RETURNING id"), {"t": team.id, "p": who[0].id, "d": day}).scalar_one()  # fmt: skip
    return _member(session, int(mid), timezone)


def leave_team(session: Session, code: str, actor: Actor, *, person: str, until: dt.date | None = None,
               reason: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> Member:  # fmt: skip
    """A member leaves a team on ``until`` (today: from that day no longer a member); the record stays."""
    team, touched = _writable(session, code, actor, timezone)
    clean = (person or "").strip()
    row = session.execute(text("SELECT m.id, m.since, h.grid_id FROM volunteer_team_member m "
                               "JOIN person p ON p.id = m.person_id "
                               "LEFT JOIN household h ON h.id = p.household_id AND h.valid_to IS NULL "
                               "WHERE m.team_id = :t AND p.code = :c AND p.lineage_id IS NULL AND m.until IS NULL"),
                          {"t": team.id, "c": clean}).first()  # fmt: skip
    if row is None:
        raise NotFound(f"{clean} 目前不是志愿服务队 {team.code} 的队员")
    authorize(session, actor, "write", Touches(grid_ids=[*touched, row.grid_id]))
    day = dated_day(until, timezone)
    if day < row.since:
        raise InvalidInput(f"退出日期 {day.isoformat()} 早于加入日期 {row.since.isoformat()}")
    begin(session, actor)
    session.execute(text("UPDATE volunteer_team_member SET until = :d, end_reason = :r WHERE id = :i"),
                    {"d": day, "r": parse_reason(reason, LEAVE_REASON), "i": row.id})  # fmt: skip
    return _member(session, int(row.id), timezone)


# ------------------------------------------------------------------------------------------------ activities

_ACTIVITIES = """
SELECT a.id, t.code AS team_code, t.name AS team_name, a.day, CAST(a.hours AS float) AS hours, a.title,
       a.participants, a.note, a.created_by
  FROM volunteer_activity a JOIN volunteer_team t ON t.id = a.team_id"""


def add_activity(
    session: Session,
    code: str,
    actor: Actor,
    *,
    day: dt.date | None,
    hours: float,
    title: str,
    participants: int | None = None,
    note: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Activity:
    """Record an activity of a live team: its day (not in the future), hours (0–24, to 0.1), title, how many
    took part and a note."""
    team, touched = _writable(session, code, actor, timezone, "登记活动")
    when = past_day(day, timezone, "活动日期")
    try:
        length = round(float(hours), 1)
    except (TypeError, ValueError):
        raise InvalidInput(f"活动时长应为小时数：{str(hours)[:20]}") from None
    if not 0 < length <= 24:
        raise InvalidInput(f"活动时长应在 0.1–24 小时之间：{hours}")
    if participants is not None and not 0 <= participants <= 100_000:
        raise InvalidInput(f"参加人数不正确：{participants}")
    begin(session, actor)
    aid = session.execute(text("INSERT INTO volunteer_activity (team_id, day, hours, title, participants, note, "
                               "created_by) VALUES (:t, :d, :h, :title, :n, :note, :by) RETURNING id"),
                          {"t": team.id, "d": when, "h": length, "title": parse_text(title, "活动内容", required=True),
                           "n": participants, "note": note_text(note),
                           "by": actor.audit_name}).scalar_one()  # fmt: skip
    return Activity(**session.execute(text(_ACTIVITIES + " WHERE a.id = :i"), {"i": aid}).mappings().one())


def list_activities(session: Session, actor: Actor, *, team: str | None = None, month: object = None,
                    parent: str | None = None) -> list[Activity]:  # fmt: skip
    """Activities of one team (in the reader's scope) or of every team under ``parent``, of a month when given
    (``YYYY-MM``), newest first."""
    params: dict[str, Any] = {}
    if team is not None:
        found = get_team(session, team, actor)
        with_sql, where = "", "t.id = :team"
        params["team"] = found.id
    else:
        params["root"] = reader_root(session, actor, parent)
        with_sql, where = _team_scope(params["root"])
    if month is not None and month != "":
        first = parse_month(month)
        where += " AND a.day >= :start AND a.day < :end"
        params |= {"start": first, "end": _next_month(first)}
    stmt = f"{with_sql} {_ACTIVITIES} WHERE t.lineage_id IS NULL AND {where} ORDER BY a.day DESC, a.id DESC"
    return [Activity(**r) for r in session.execute(text(stmt), params).mappings()]


def _next_month(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


# ------------------------------------------------------------------------------------------------ figures

_FIGURES = """
SELECT t.code AS team_code, t.name AS team_name, g.code AS grid_code,
       (SELECT count(*) FROM volunteer_team_member m WHERE m.team_id = t.id AND m.since <= :on_day
           AND (m.until IS NULL OR m.until > :on_day)) AS people,
       count(a.id) AS activities, coalesce(sum(a.hours), 0) AS hours, coalesce(max(a.hours), 0) AS longest
  FROM volunteer_team t
  LEFT JOIN grid g ON g.id = t.grid_id
  LEFT JOIN volunteer_activity a ON a.team_id = t.id AND a.day >= :start AND a.day < :end
 WHERE t.lineage_id IS NULL AND (t.valid_to IS NULL OR t.valid_to > :start_at)
   AND (SELECT min(v.valid_from) FROM volunteer_team v WHERE coalesce(v.lineage_id, v.id) = t.id) < :end_at
   AND {where}
 GROUP BY t.id, t.code, t.name, g.code
 ORDER BY t.code"""


def month_figures(session: Session, actor: Actor, rules: PartyRules, *, month: object = None,
                  team: str | None = None, parent: str | None = None,
                  timezone: str = DEFAULT_TIMEZONE) -> list[MonthFigures]:  # fmt: skip
    """Each team's figures for ``month`` (default: this month) against the rules: one team (in the reader's
    scope), or every team in force that month under ``parent``."""
    today = day_of(None, timezone)
    first = parse_month(month) if month not in (None, "") else today.replace(day=1)
    end = _next_month(first)
    on_day = min(end - dt.timedelta(days=1), today)
    params: dict[str, Any] = {"start": first, "end": end, "on_day": on_day, "start_at": start_of(first, timezone),
                              "end_at": start_of(end, timezone)}
    if team is not None:
        params["team"] = get_team(session, team, actor, timezone=timezone).id
        with_sql, where = "", "t.id = :team"
    else:
        params["root"] = reader_root(session, actor, parent)
        with_sql, where = _team_scope(params["root"])
    rows = session.execute(text(with_sql + _FIGURES.format(where=where)), params).mappings()
    return [MonthFigures(r["team_code"], r["team_name"], r["grid_code"], first, on_day, int(r["people"]),
                         int(r["activities"]), float(r["hours"]), float(r["longest"]), rules.team_min,
                         rules.hours_min) for r in rows]  # fmt: skip
