"""Cases (事件) and their steps: report one, take a step (gridgov.incidents.workflow says which), read a case
with its timeline, and list the cases waiting on someone (待办).

Every write authorises the actor against the case's grid (gridgov.auth.scope) and the case's level; every step
is one new ``incident_event`` row and one update of the case, under the case's row lock, so two people acting
at once are serialised: the second sees the step the first took and is refused (409) when their step no
longer applies or when they name the version they saw. Deadlines are the working-day calendar's
(gridgov.workdays) and the limits kept per step, category and urgency; each step stores its own, so a report
for a past month reads the deadlines as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.locate import to_lonlat
from gridgov.auth.scope import Actor, Touches, authorize, covers, may, personal_reach, require_role
from gridgov.db import sql
from gridgov.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridgov.geo.extent import coordinate_reasons
from gridgov.incidents import workflow as wf
from gridgov.incidents.limits import load_limits
from gridgov.incidents.photos import CheckedPhoto, Photo, check_photos, store_photos
from gridgov.terms import stored_vocabulary
from gridgov.vocab import (
    INCIDENT_ENDED,
    INCIDENT_LEVELS,
    INCIDENT_SOURCES,
    INCIDENT_URGENCIES,
)
from gridgov.workdays import WorkCalendar, calendar_for

Q = sql.sections("incident_cases")
MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
FALLBACK_ROLE = "网格员"
BOXES = {"mine": "待我处置", "level": "本级待办", "verify": "待核查", "overdue": "已超期"}


@dataclass(frozen=True)
class Rules:
    """What the loop needs from the settings: the calendar, photo limits, and how far from the street a point may
    lie (``GridSettings.import_max_distance_m``)."""

    calendar: WorkCalendar
    photo_max_bytes: int = 10 * 2**20
    photos_per_step: int = 6
    max_distance_m: float = 20_000.0


class RuleSettings(Protocol):
    """The settings ``rules_for`` reads (gridgov.config.Settings is one)."""

    timezone: str
    workday_start: dt.time
    workday_end: dt.time
    photo_max_mb: float
    photos_per_step: int
    import_max_distance_m: float


def rules_for(session: Session, settings: RuleSettings) -> Rules:
    """The loop's rules from the settings a face passes down, with the calendar as the administrator keeps it."""
    return Rules(calendar_for(session, settings),
                 int(settings.photo_max_mb * 2**20), settings.photos_per_step, settings.import_max_distance_m)


@dataclass(frozen=True)
class NewCase:
    """A report (上报): where (in ``crs``: WGS84 by default, gcj02, 4490), what, how urgent, by whom."""

    lon: float
    lat: float
    category: str
    description: str
    crs: str | None = None
    urgency: str = "一般"
    source: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: Sequence[Photo] = ()


@dataclass(frozen=True)
class Step:
    """A step asked for: the action (gridgov.incidents.workflow.TRANSITIONS), a note, whom to dispatch to (a
    staff code; default: the category's role at the case's grid), a review date (挂账), the version the caller
    saw (None: whatever it is now), and photos."""

    action: str
    note: str | None = None
    to_staff: str | None = None
    review_on: dt.date | None = None
    version: int | None = None
    photos: Sequence[Photo] = ()


@dataclass(frozen=True)
class Category:
    """A case's category: the 大类 and, where given, the 小类."""

    main: str
    sub: str | None


def parse_category(session: Session, value: str) -> Category:
    """``大类/小类``, a 大类 or a 小类 alone (its 大类 found), each by its term or a synonym; ``InvalidInput``
    listing the choices otherwise."""
    value = (value or "").strip().replace("／", "/")
    if not value:
        raise InvalidInput("请选择事件类别")
    mains = stored_vocabulary(session, "incident_categories")
    subs = stored_vocabulary(session, "incident_subcategories").vocabulary.terms
    if "/" in value:
        head, _, tail = value.partition("/")
        main = mains.canonical(head)
        tail = tail.strip()
        if not tail:
            return Category(main, None)
        if f"{main}/{tail}" not in subs:
            known = [s.split("/", 1)[1] for s in subs if s.startswith(f"{main}/")]
            raise InvalidInput(f"「{main}」下没有小类「{tail}」（可选：{'、'.join(known) or '无'}）")
        return Category(main, tail)
    if mains.vocabulary.canonical(value) is not None:
        return Category(mains.canonical(value), None)
    owners = [s for s in subs if s.split("/", 1)[1] == value]
    if len(owners) == 1:
        main, _, tail = owners[0].partition("/")
        return Category(main, tail)
    return Category(mains.canonical(value), None)  # raises with the list of 大类


def _text(value: str | None, what: str, limit: int, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"请填写{what}")
    if len(value) > limit:
        raise InvalidInput(f"{what}过长：{len(value)} 字，最多 {limit} 字")
    return value or None


def _term(vocabulary: Any, value: str | None, default: str | None) -> str | None:
    if value is None or not value.strip():
        return default
    term = vocabulary.canonical(value)
    if term is None:
        raise InvalidInput(f"未知的{vocabulary.label}：{value}（可选：{'、'.join(vocabulary.terms)}）")
    return str(term)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _deadline(session: Session, rules: Rules, status: str, category: str, urgency: str,
              start: dt.datetime) -> dt.datetime | None:  # fmt: skip
    return load_limits(session).deadline(rules.calendar, status, category, urgency, start)


def report(session: Session, actor: Actor, case: NewCase, rules: Rules, *, now: dt.datetime | None = None) -> int:
    """Record a new case (上报) at its place's grid, with the deadline of 受理; returns its id."""
    require_role(actor, "report")
    now = _now(now)
    lon, lat = to_lonlat(case.lon, case.lat, case.crs)
    reason = coordinate_reasons(session, [lon], [lat], rules.max_distance_m)[0]  # type: ignore[arg-type]
    if reason:
        raise InvalidInput(f"事件位置不可信：{reason}")
    leaf = session.execute(text(Q["leaf"]), {"lon": lon, "lat": lat}).one_or_none()
    if leaf is None or leaf.id is None:
        raise InvalidInput(f"事件位置（{lon:.6f}, {lat:.6f}）不在任何网格内：请在地图上重新选点")
    authorize(session, actor, "report", Touches(grid_ids=[leaf.id]))
    category = parse_category(session, case.category)
    urgency = _term(INCIDENT_URGENCIES, case.urgency, "一般")
    source = _term(INCIDENT_SOURCES, case.source, "巡逻发现" if actor.role == "patrol" else "网格员上报")
    description = _text(case.description, "事件描述", MAX_DESCRIPTION, required=True)
    photos = check_photos(case.photos, max_bytes=rules.photo_max_bytes, max_count=rules.photos_per_step)
    day = now.astimezone(rules.calendar.zone).strftime("%Y%m%d")
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('gridgov.incident_code'))"))
    code = session.scalar(text(Q["next_code"]), {"day": day})
    deadline = _deadline(session, rules, wf.REPORTED, category.main, str(urgency), now)
    case_id = session.scalar(
        text("""INSERT INTO incident (code, category, subcategory, description, geom, reported_at, status, level,
                                      source, urgency, address, reporter_name, reporter_phone, reported_by,
                                      step_started_at, deadline)
                VALUES (:code, :cat, :sub, :desc, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :now, :status,
                        :level, :source, :urgency, :address, :rname, :rphone, :by, :now, :deadline)
                RETURNING id"""),
        {"code": code, "cat": category.main, "sub": category.sub, "desc": description, "lon": lon, "lat": lat,
         "now": now, "status": wf.REPORTED, "level": wf.GRID_LEVEL, "source": source, "urgency": urgency,
         "address": _text(case.address, "地址", 200), "rname": _text(case.reporter_name, "反映人姓名", 50),
         "rphone": _text(case.reporter_phone, "反映人电话", 32), "by": actor.audit_name, "deadline": deadline},
    )  # fmt: skip
    event = _record(session, actor, case_id, now, action=wf.REPORTED, before=(None, None),
                    after=(wf.REPORTED, wf.GRID_LEVEL), note=None, staff_id=None, deadline=deadline)  # fmt: skip
    store_photos(session, case_id, event, photos)
    return int(case_id)


def _record(session: Session, actor: Actor, case_id: int, now: dt.datetime, *, action: str,
            before: tuple[str | None, str | None], after: tuple[str, str], note: str | None, staff_id: int | None,
            deadline: dt.datetime | None, overdue: bool = False, review_on: dt.date | None = None) -> int:  # fmt: skip
    return int(session.scalar(text(Q["record"]), {
        "id": case_id, "now": now, "action": action, "from_status": before[0], "from_level": before[1],
        "to_status": after[0], "to_level": after[1], "actor": actor.audit_name, "user_id": actor.user_id,
        "staff_id": staff_id, "note": note, "deadline": deadline, "overdue": overdue, "review_on": review_on,
    }))  # fmt: skip


def case_id_of(session: Session, ref: str | int) -> int:
    """A case's id from its id or its code (E…); ``NotFound`` otherwise."""
    value = str(ref).strip()
    row = session.scalar(text("SELECT id FROM incident WHERE code = :c OR (:c ~ '^[0-9]{1,18}$' AND id = CAST("
                              "CASE WHEN :c ~ '^[0-9]{1,18}$' THEN :c END AS bigint))"), {"c": value})  # fmt: skip
    if row is None:
        raise NotFound(f"事件不存在：{value}")
    return int(row)


def _scope_level(session: Session, actor: Actor) -> str | None:
    if actor.unscoped:
        return None
    return session.scalar(text("SELECT level FROM grid WHERE id = :id"), {"id": actor.scope_grid_id})


def _staff(session: Session, code: str) -> int:
    sid = session.scalar(text("SELECT id FROM staff WHERE code = :c AND valid_to IS NULL"), {"c": code.strip()})
    if sid is None:
        raise NotFound(f"工作人员不存在：{code}（请用工作人员编码）")
    return int(sid)


def default_assignee(session: Session, grid_id: int | None, category: str, day: dt.date) -> tuple[int, str] | None:
    """Whom a case is dispatched to by default: the category's role (or 网格员) at its grid or the nearest above."""
    if grid_id is None:
        return None
    row = session.execute(text(Q["default_staff"]), {"grid_id": grid_id, "category": category, "day": day,
                                                      "fallback": FALLBACK_ROLE}).one_or_none()  # fmt: skip
    return None if row is None else (int(row.id), f"{row.name}（{row.role}）")


def act(session: Session, actor: Actor, case_id: int, step: Step, rules: Rules, *,
        now: dt.datetime | None = None) -> int:  # fmt: skip
    """Take a step on a case (gridgov.incidents.workflow); returns the new timeline row's id. Refused, changing
    nothing, when the step does not apply to the case as it is (409), the version is not the case's (409), or
    the actor may not take it here (403)."""
    now = _now(now)
    t = wf.TRANSITIONS.get(step.action)
    if t is None:
        choices = "、".join(f"{k}（{v.label}）" for k, v in wf.TRANSITIONS.items())
        raise InvalidInput(f"未知的操作：{step.action}（可选：{choices}）")
    require_role(actor, "write")
    row = session.execute(text(Q["lock"]), {"id": case_id}).one_or_none()
    if row is None:
        raise NotFound(f"事件不存在：{case_id}")
    authorize(session, actor, "write", Touches(grid_ids=[row.grid_id]))
    if step.version is not None and step.version != row.version:
        raise Conflict(f"事件 {row.code} 已被他人处理（当前为第 {row.version} 版，您看到的是第 {step.version} 版，"
                       f"现状态：{row.status}）：请刷新后再操作",
                       details={"version": row.version, "status": row.status})  # fmt: skip
    if row.status not in t.sources or (t.action == "escalate" and wf.next_level(row.level) is None):
        possible = "、".join(x.label for x in wf.allowed(row.status, row.level)) or "无"
        raise Conflict(f"事件 {row.code} 当前为「{row.status}」（{row.level}层级），不能「{t.label}」；"
                       f"可进行的操作：{possible}", details={"version": row.version, "status": row.status})
    assignee_acts = t.by_assignee and actor.staff_id is not None and actor.staff_id == row.assignee_staff_id
    if not assignee_acts and not wf.reaches(_scope_level(session, actor), row.level):
        raise Forbidden(f"事件 {row.code} 在{row.level}层级处置，您的范围（{actor.scope_code}）只能处理"
                        f"{wf.LEVEL_OF_SCOPE.get(_scope_level(session, actor) or '', wf.STREET_LEVEL)}层级的事件")
    if t.action in ("verify", "rework") and row.handled_by is not None and row.handled_by == actor.user_id:
        raise Forbidden("核查须由处置人以外的人员进行（同一人不能核查自己的处置）")
    note = _text(step.note, "说明", MAX_NOTE, required=t.note)
    photos: list[CheckedPhoto] = []
    if step.photos:
        if not t.photos:
            raise InvalidInput(f"「{t.label}」不附照片（上报、处置和核查可附照片）")
        photos = check_photos(step.photos, max_bytes=rules.photo_max_bytes, max_count=rules.photos_per_step)
    status = wf.target_of(t, row.status)
    level = wf.next_level(row.level) if t.action == "escalate" else row.level
    assert level is not None
    assignee, staff_id = row.assignee_staff_id, None
    if t.action == "dispatch":
        if step.to_staff:
            staff_id = _staff(session, step.to_staff)
        else:
            found = default_assignee(session, row.grid_id, row.category, now.astimezone(rules.calendar.zone).date())
            if found is None:
                raise InvalidInput(f"网格内没有可派遣的「{FALLBACK_ROLE}」：请指定派遣对象（工作人员编码）")
            staff_id = found[0]
        assignee = staff_id
    elif status in (wf.REPORTED, wf.ACCEPTED) or t.action == "escalate":
        assignee = None
    review_on = None
    if t.review:
        if step.review_on is None:
            raise InvalidInput("挂账须填写复查日期")
        if step.review_on <= now.astimezone(rules.calendar.zone).date():
            raise InvalidInput(f"复查日期应晚于今天：{step.review_on}")
        review_on = step.review_on
    keeps_clock = t.action == "visit" or (t.action == "dispatch" and row.status == wf.DISPATCHED)
    deadline = row.deadline if keeps_clock else _deadline(session, rules, status, row.category, row.urgency, now)
    overdue = not keeps_clock and row.deadline is not None and now > row.deadline
    session.execute(text(Q["apply"]), {"id": case_id, "status": status, "level": level, "assignee": assignee,
                                       "now": row.step_started_at if keeps_clock else now, "deadline": deadline,
                                       "review_on": review_on})  # fmt: skip
    event = _record(session, actor, case_id, now, action=t.recorded, before=(row.status, row.level),
                    after=(status, level), note=note, staff_id=staff_id, deadline=deadline, overdue=overdue,
                    review_on=review_on)  # fmt: skip
    store_photos(session, case_id, event, photos)
    return event


@dataclass(frozen=True)
class CaseRow:
    """A case as lists show it."""

    id: int
    code: str
    category: str
    subcategory: str | None
    status: str
    level: str
    urgency: str
    source: str | None
    reported_at: dt.datetime
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    review_on: dt.date | None
    version: int
    overdue: bool
    grid_code: str | None
    grid_name: str | None
    assignee_code: str | None
    assignee_name: str | None
    lon: float
    lat: float
    address: str | None = None
    step_started_at: dt.datetime | None = None


@dataclass(frozen=True)
class CaseList:
    """A page of cases and how many there are in all."""

    rows: list[CaseRow]
    total: int


@dataclass(frozen=True)
class Filters:
    """What a case list asks for (None: any)."""

    parent: str | None = None
    status: str | None = None
    level: str | None = None
    category: str | None = None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    open_only: bool = False
    limit: int = 100
    offset: int = 0


def _root(session: Session, actor: Actor, parent: str | None) -> int | None:
    """The grid whose subtree a list covers: ``parent`` when the actor may read it, else the actor's scope."""
    if parent:
        gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                             {"c": parent.strip()})  # fmt: skip
        if gid is None:
            raise NotFound(f"网格不存在：{parent}")
        if not covers(session, actor, int(gid)):
            raise Forbidden(f"超出权限范围：{parent} 不在 {actor.scope_code} 范围内")
        return int(gid)
    return None if actor.unscoped else actor.scope_grid_id


def _rank(session: Session, actor: Actor) -> int:
    level = _scope_level(session, actor)
    mine = wf.STREET_LEVEL if level is None else wf.LEVEL_OF_SCOPE[level]
    return INCIDENT_LEVELS.terms.index(mine) + 1


def list_cases(session: Session, actor: Actor, filters: Filters = Filters(), *, box: str | None = None,
               now: dt.datetime | None = None, timezone: str = "Asia/Shanghai") -> CaseList:  # fmt: skip
    """Cases in the actor's scope (or under ``filters.parent``): one inbox ``box`` (gridgov.incidents.cases.BOXES)
    or the filtered list; overdue first, then by deadline."""
    require_role(actor, "read")
    if box is not None and box not in BOXES:
        raise InvalidInput(f"未知的待办类别：{box}（可选：{'、'.join(f'{k}（{v}）' for k, v in BOXES.items())}）")
    now = _now(now)
    params = {
        "root": _root(session, actor, filters.parent), "levels": list(INCIDENT_LEVELS.terms),
        "ended": list(INCIDENT_ENDED), "now": now, "box": box, "staff_id": actor.staff_id, "user_id": actor.user_id,
        "my_rank": _rank(session, actor), "today": now.astimezone(ZoneInfo(timezone)).date(),
        "status": filters.status, "level": filters.level, "category": filters.category,
        "date_from": filters.date_from, "date_to": filters.date_to, "open_only": filters.open_only,
        "limit": max(1, min(filters.limit, 1000)), "offset": max(0, filters.offset),
    }  # fmt: skip
    rows = session.execute(text(Q["cases"]), params).all()
    cases = [CaseRow(**{k: v for k, v in r._mapping.items() if k != "total"}) for r in rows]
    return CaseList(cases, int(rows[0].total) if rows else 0)


@dataclass(frozen=True)
class TimelineStep:
    """A step of a case's timeline as people read it."""

    id: int
    at: dt.datetime
    action: str
    from_status: str | None
    to_status: str
    from_level: str | None
    to_level: str
    actor: str
    user_name: str | None
    note: str | None
    deadline: dt.datetime | None
    overdue: bool
    review_on: dt.date | None
    staff_code: str | None
    staff_name: str | None
    user_id: int | None
    photo_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class CaseDetail:
    """A case with its timeline, photos and what the actor may do next. ``personal`` says whether the reporter,
    the description and the photos are shown (the actor's personal-data scope covers the case)."""

    case: dict[str, Any]
    timeline: list[TimelineStep]
    photos: list[dict[str, Any]]
    actions: list[wf.Transition]
    personal: bool
    default_assignee: str | None


PRIVATE_FIELDS = ("reporter_name", "reporter_phone", "description")


def sees_details(session: Session, actor: Actor, grid_id: int | None) -> bool:
    """Whether the actor may see a case's reporter, description and photos (personal data in their scope)."""
    everywhere, where = personal_reach(actor)
    return everywhere or (where is not None and grid_id is not None and covers(session, actor, grid_id))


def case_detail(session: Session, actor: Actor, case_id: int, rules: Rules, *,
                now: dt.datetime | None = None) -> CaseDetail:  # fmt: skip
    """A case as its page, the API and the CLI show it; ``Forbidden`` outside the actor's scope."""
    now = _now(now)
    row = session.execute(text(Q["detail"]), {"id": case_id, "now": now, "ended": list(INCIDENT_ENDED)}).one_or_none()
    if row is None:
        raise NotFound(f"事件不存在：{case_id}")
    authorize(session, actor, "read", Touches(grid_ids=[row.grid_id]))
    personal = sees_details(session, actor, row.grid_id)
    case = dict(row._mapping)
    if not personal:
        case.update(dict.fromkeys(PRIVATE_FIELDS))
    photos = [dict(p._mapping) for p in session.execute(text(Q["photos"]), {"id": case_id})] if personal else []
    by_event: dict[int, list[int]] = {}
    for p in photos:
        by_event.setdefault(p["event_id"], []).append(p["id"])
    steps = session.execute(text(Q["timeline"]), {"id": case_id})
    timeline = [TimelineStep(**e._mapping, photo_ids=by_event.get(e.id, [])) for e in steps]
    actions = _actions_for(session, actor, row, timeline)
    suggested = None
    if any(a.action == "dispatch" for a in actions):
        found = default_assignee(session, row.grid_id, row.category, now.astimezone(rules.calendar.zone).date())
        suggested = found[1] if found else None
    return CaseDetail(case, timeline, photos, actions, personal, suggested)


def _actions_for(session: Session, actor: Actor, row: Any, timeline: list[TimelineStep]) -> list[wf.Transition]:
    """The steps this actor may take on the case now (what the page offers; ``act`` checks again)."""
    if not may(actor, "write"):
        return []
    reaches = wf.reaches(_scope_level(session, actor), row.level)
    mine = actor.staff_id is not None and actor.staff_id == row.assignee_id
    handled = [s.user_id for s in timeline if s.action == wf.HANDLED]
    handled_by_me = bool(handled) and actor.user_id is not None and handled[-1] == actor.user_id
    return [t for t in wf.allowed(row.status, row.level)
            if (reaches or (t.by_assignee and mine)) and not (t.action in ("verify", "rework") and handled_by_me)]
