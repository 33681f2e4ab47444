"""事件 pages: report from a phone (上报), the inbox (待办) with the filtered list of cases, a case's page (its map,
photos, timeline and the steps this user may take now) and the case's photos.

The service (:mod:`gridgov.incidents.cases`) does the work and checks the role, the scope, the level and the version.
A refused form comes back with the Chinese reason and what was typed (not the photos: a browser cannot refill a file
field); a done one redirects (303) to the case with a notice. The maps are Leaflet from the pinned vendor copy,
drawing the grids the public API gives (/api/grids) over the configured basemap, if any; /api/locate names the grid
a point falls in while the reporter picks it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.api.dependencies import ActorDep, EditorDep, SessionDep, SettingsDep, ViewerDep
from gridgov.auth.scope import Actor, Touches, authorize, may, require_role
from gridgov.auth.users import display_names
from gridgov.auth.views import log_view
from gridgov.config import Settings
from gridgov.errors import Forbidden, InvalidInput, NotFound, TooLarge
from gridgov.grids.service import ancestors, get_grid, grids_in_scope
from gridgov.incidents import cases
from gridgov.incidents import workflow as wf
from gridgov.incidents.photos import Photo, photo_bytes
from gridgov.maps.basemap import basemap
from gridgov.records.roles import grid_roles
from gridgov.vocab import (
    INCIDENT_LEVELS,
    INCIDENT_SOURCES,
    INCIDENT_STATUSES,
    INCIDENT_URGENCIES,
    LEVEL_ZH,
    actor_label,
)
from gridgov.web.errors import wants_html
from gridgov.web.forms import Done, form_day, notices, refused, run_form, words_of
from gridgov.web.templating import render
from gridgov.workdays import WorkCalendar

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
ALL = "all"  # the inbox tab of the filtered list
DUE_SOON = 0.5  # working days left under which a deadline is shown in amber
# Sources a person picks when reporting by hand (the others are machines': Open311, imports).
HAND_SOURCES = tuple(s for s in INCIDENT_SOURCES.terms if s not in ("其他系统", "导入"))
Short = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=20_000)]  # the service gives the Chinese message past its own limit
Photos = Annotated[list[UploadFile] | None, File()]
QueryText = Annotated[str, Query(max_length=40)]
DoneQuery = Annotated[str | None, Query(max_length=300)]


def _reporter(actor: ActorDep) -> Actor:
    """The caller, whose role may report incidents (上报)."""
    require_role(actor, "report")
    return actor


ReporterDep = Annotated[Actor, Depends(_reporter)]


# ------------------------------------------------------------------------------------------------ shared


@dataclass(frozen=True)
class Due:
    """How a deadline reads in a list: the words and the tone (overdue: red, soon: amber)."""

    text: str
    tone: str = ""


def span_text(delta: dt.timedelta) -> str:
    """A length of time as people say it: 2 天 3 小时, 3 小时 20 分, 15 分钟."""
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时" + (f" {mins} 分" if mins else "")
    return f"{mins} 分钟"


def due_of(deadline: dt.datetime | None, overdue: bool, status: str, review_on: dt.date | None, now: dt.datetime,
           calendar: WorkCalendar) -> Due:  # fmt: skip
    """The deadline's state: how long overdue, how little is left (under half a working day), or a 挂账's review."""
    if status == wf.PARKED and review_on is not None:
        return Due(f"复查 {review_on:%Y-%m-%d}", "soon" if review_on <= now.astimezone(calendar.zone).date() else "")
    if deadline is None:
        return Due("")
    if overdue:
        return Due(f"已超期 {span_text(now - deadline)}", "overdue")
    if calendar.between(now, deadline) < DUE_SOON:
        return Due(f"剩 {span_text(deadline - now)}", "soon")
    return Due("")


def _local(moment: dt.datetime | None, timezone: str) -> str:
    return "" if moment is None else moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _case_url(code: str) -> str:
    return f"/incidents/{quote(code)}"


def _map_tiles(settings: Settings) -> tuple[list[dict[str, Any]], str]:
    """The basemap's tile layers for Leaflet, and a note when the setting cannot be drawn here."""
    try:
        bm = basemap(None, settings)
    except InvalidInput as exc:
        return [], f"底图设置有误，未显示底图：{exc.message}"
    if bm.gcj02:
        return [], f"底图「{bm.label}」为 GCJ-02 坐标，本页只画网格边界（位置按 WGS84 记录）"
    return [{"url": s.url, "attribution": s.attribution, "subdomains": s.subdomains or "abc",
             "max_native_zoom": s.max_native_zoom} for s in bm.layers], ""  # fmt: skip


def _uploads(files: Sequence[UploadFile] | None, rules: cases.Rules) -> list[Photo]:
    """The photos a form sent (an empty file field sends a nameless empty part: skipped), read no further than the
    limit, so an oversized or a twentieth photo is refused before it is held in memory."""
    chosen = [f for f in files or () if f.filename]
    if len(chosen) > rules.photos_per_step:
        raise InvalidInput(f"一次最多上传 {rules.photos_per_step} 张照片，收到 {len(chosen)} 张")
    out = []
    for f in chosen:
        data = f.file.read(rules.photo_max_bytes + 1)
        if len(data) > rules.photo_max_bytes:
            size = max(f.size or 0, len(data))
            limit = rules.photo_max_bytes / 2**20
            raise TooLarge(f"照片「{f.filename}」有 {size / 2**20:.1f} MB，超过上限 {limit:g} MB")
        out.append(Photo(f.filename, data))
    return out


def _run(request: Request, session: Session, write: Callable[[], str | Done], *, what: str,
         again: Callable[..., Response], keep: Mapping[str, Any], back: str = "") -> Response:  # fmt: skip
    """``run_form``, with a photo too large (413) and a refusal by scope or level (403) shown on the form too, for a
    browser (an API token gets the JSON error)."""
    try:
        return run_form(session, write, back=back, what=what, again=again, keep=keep)
    except (TooLarge, Forbidden) as exc:
        if not wants_html(request):
            raise
        return again(**keep, **refused(exc, what))


# ------------------------------------------------------------------------------------------------ 待办


def _tabs(who: Actor) -> list[str]:
    """The inbox tabs this user has: the boxes of those who act, the overdue ones, the filtered list."""
    tabs = ["mine"] if who.staff_id is not None and may(who, "write") else []
    tabs += ["level", "verify"] if may(who, "write") else []
    return [*tabs, "overdue", ALL]


def _grid_choices(session: Session, who: Actor) -> list[tuple[str, str]]:
    return [(g.code, f"{'　' * max(0, ('street', 'community', 'compound').index(g.level))}{LEVEL_ZH[g.level]} "
             f"{g.name}（{g.code}）") for g in grids_in_scope(session, who) if g.level != "building"]  # fmt: skip


def _day_start(day: dt.date | None, timezone: str) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(timezone))


@router.get("/incidents")
def inbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    box: Annotated[str, Query(max_length=10)] = "",
    status: QueryText = "",
    level: QueryText = "",
    category: QueryText = "",
    grid: QueryText = "",
    date_from: QueryText = "",
    date_to: QueryText = "",
    open_only: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: DoneQuery = None,
) -> Response:
    """The user's inbox: a tab per box (待我处置, 本级待办, 待核查, 已超期, with counts) and 全部, the cases of the
    scope filtered by status, level, category, grid and reporting date; soonest deadline first, a page at a time."""
    tz = settings.timezone
    tabs = _tabs(who)
    box = box if box in tabs else next(t for t in ("mine", "level", ALL) if t in tabs)
    now = dt.datetime.now(dt.UTC)
    calendar = cases.rules_for(session, settings).calendar
    counts = {b: cases.list_cases(session, who, cases.Filters(limit=1), box=b, now=now, timezone=tz).total
              for b in tabs if b != ALL}  # fmt: skip
    grid = grid.strip()
    typed: dict[str, Any] = {"status": status, "level": level, "category": category, "grid": grid,
                             "date_from": date_from, "date_to": date_to, "open_only": open_only}  # fmt: skip
    messages = notices(done)
    status_code = 200
    listed = cases.CaseList([], 0)
    try:
        if box == ALL:
            last = form_day(date_to)
            filters = cases.Filters(
                parent=grid or None, status=status or None, level=level or None, category=category or None,
                date_from=_day_start(form_day(date_from), tz),
                date_to=_day_start(last + dt.timedelta(days=1) if last else None, tz), open_only=open_only,
                limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)  # fmt: skip
            listed = cases.list_cases(session, who, filters, now=now, timezone=tz)
        else:
            listed = cases.list_cases(session, who, cases.Filters(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
                                      box=box, now=now, timezone=tz)  # fmt: skip
    except (InvalidInput, NotFound) as exc:
        shown = refused(exc, "未能查询")
        status_code, messages = shown["status_code"], [*messages, *shown["messages"]]
    pages = max(1, math.ceil(listed.total / PAGE_SIZE))

    def link(p: int, to_box: str | None = None) -> str:
        target = to_box or box
        ask: dict[str, Any] = {"box": target}
        if target == ALL:
            ask.update({k: ("1" if v else "") if k == "open_only" else v for k, v in typed.items()})
        ask["page"] = str(p) if p > 1 else ""
        return "/incidents?" + urlencode({k: v for k, v in ask.items() if v})

    return render(request, "incident_list.html", actor=who, active="incidents", title="事件待办",
                  status_code=status_code, messages=messages, tabs=tabs, box=box, labels={**cases.BOXES, ALL: "全部"},
                  counts=counts, rows=listed.rows, total=listed.total, page=page, pages=pages, link=link,
                  first=(page - 1) * PAGE_SIZE + 1, form=typed, statuses=INCIDENT_STATUSES.terms,
                  levels=INCIDENT_LEVELS.terms, categories=words_of(session, "incident_categories"),
                  grids=_grid_choices(session, who),
                  due={r.id: due_of(r.deadline, r.overdue, r.status, r.review_on, now, calendar) for r in listed.rows},
                  can_report=may(who, "report"), can_act=may(who, "write"), no_staff=who.staff_id is None)  # fmt: skip


# ------------------------------------------------------------------------------------------------ 上报


REPORT_FIELDS = ("category", "subcategory", "description", "urgency", "lon", "lat", "accuracy", "located", "address",
                 "reporter_name", "reporter_phone", "source")  # fmt: skip


def _report_page(request: Request, session: Session, settings: Settings, who: Actor, *, status_code: int = 200,
                 messages: Sequence[tuple[str, str]] = (),
                 form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    mains = words_of(session, "incident_categories")
    subs = words_of(session, "incident_subcategories")
    tiles, note = _map_tiles(settings)
    return render(request, "incident_new.html", actor=who, active="incidents", title="上报事件",
                  status_code=status_code, messages=list(messages),
                  form={**dict.fromkeys(REPORT_FIELDS, ""), "urgency": "一般", **(form or {})}, mains=mains,
                  subs={m: [s.split("/", 1)[1] for s in subs if s.startswith(f"{m}/")] for m in mains},
                  urgencies=INCIDENT_URGENCIES.terms, sources=HAND_SOURCES, tiles=tiles, map_note=note,
                  scope=who.scope_code or "", photo_max_mb=settings.photo_max_mb,
                  photos_per_step=settings.photos_per_step)  # fmt: skip


@router.get("/incidents/new")
def report_page(request: Request, session: SessionDep, settings: SettingsDep, who: ReporterDep) -> Response:
    """The report form, made for a phone: category, description, urgency, the place (the phone's location or a tap on
    the map, with the grid it falls in), photos, and the reporter when someone else saw it."""
    return _report_page(request, session, settings, who)


def _point(lon: str, lat: str) -> tuple[float, float]:
    """The place a form sends (WGS84 degrees), or ``InvalidInput`` in Chinese."""
    if not lon.strip() or not lat.strip():
        raise InvalidInput("请选择事件位置：使用手机定位，或在地图上点选")
    try:
        x, y = float(lon), float(lat)
    except ValueError as exc:
        raise InvalidInput(f"事件位置不是经纬度：{lon}, {lat}") from exc
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidInput(f"事件位置超出经纬度范围：{lon}, {lat}")
    return x, y


def _category(main: str, sub: str) -> str:
    """大类/小类 from the two pickers (the 小类 picker's values are written 大类/小类)."""
    main, sub = main.strip(), sub.strip()
    if sub and main and not sub.startswith(f"{main}/"):
        raise InvalidInput(f"小类「{sub.partition('/')[2] or sub}」不属于大类「{main}」：请重新选择")
    return sub or main


@router.post("/incidents/new")
def report_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ReporterDep,
    category: Short = "",
    subcategory: Short = "",
    description: LongText = "",
    urgency: Short = "",
    lon: Short = "",
    lat: Short = "",
    accuracy: Short = "",
    located: Short = "",
    address: Short = "",
    reporter_name: Short = "",
    reporter_phone: Short = "",
    source: Short = "",
    photos: Photos = None,
) -> Response:
    """Report a case (cases.report): 303 to its page with its code and the deadline of 受理."""
    typed = {"category": category, "subcategory": subcategory, "description": description, "urgency": urgency,
             "lon": lon, "lat": lat, "accuracy": accuracy, "located": located, "address": address,
             "reporter_name": reporter_name, "reporter_phone": reporter_phone, "source": source}  # fmt: skip
    rules = cases.rules_for(session, settings)

    def write() -> Done:
        x, y = _point(lon, lat)
        new = cases.NewCase(x, y, _category(category, subcategory), description, urgency=urgency or "一般",
                            source=source or None, address=address, reporter_name=reporter_name,
                            reporter_phone=reporter_phone, photos=_uploads(photos, rules))  # fmt: skip
        case = cases.case_detail(session, who, cases.report(session, who, new, rules), rules).case
        limit = f"，受理时限 {_local(case['deadline'], settings.timezone)}" if case["deadline"] else ""
        return Done(_case_url(case["code"]), f"已上报事件 {case['code']}（{case['grid_name'] or '网格未定'}）{limit}")

    return _run(request, session, write, what="未上报", keep={"form": typed},
                again=partial(_report_page, request, session, settings, who))  # fmt: skip


# ------------------------------------------------------------------------------------------------ photos


def _photo(request: Request, session: Session, who: Actor, photo_id: int, *, thumbnail: bool) -> Response:
    """A case's photo for whoever may see the case's details (personal data in their scope)."""
    stored = photo_bytes(session, photo_id, thumbnail=thumbnail)
    row = session.execute(text("SELECT i.grid_id, g.code FROM incident i LEFT JOIN grid g ON g.id = i.grid_id "
                               "WHERE i.id = :i"), {"i": stored.incident_id}).one()  # fmt: skip
    authorize(session, who, "read", Touches(grid_ids=[row.grid_id]))
    if not cases.sees_details(session, who, row.grid_id):
        raise Forbidden("权限不足：事件照片属于个人信息，仅限范围覆盖该事件、且可查看个人信息的用户")
    if not thumbnail:
        log_view(session, who, "incident_photo", row.code, page=request.url.path, rows=1)
    name = quote(stored.filename or f"photo-{photo_id}")
    return Response(stored.data, media_type=stored.content_type,
                    headers={"Cache-Control": "private, no-store",
                             "Content-Disposition": f"inline; filename*=UTF-8''{name}"})  # fmt: skip


@router.get("/incidents/photos/{photo_id}")
def photo(request: Request, session: SessionDep, who: ViewerDep, photo_id: int) -> Response:
    """A photo of a case, full size."""
    return _photo(request, session, who, photo_id, thumbnail=False)


@router.get("/incidents/photos/{photo_id}/thumb")
def photo_thumb(request: Request, session: SessionDep, who: ViewerDep, photo_id: int) -> Response:
    """A photo's thumbnail (JPEG, 320 px)."""
    return _photo(request, session, who, photo_id, thumbnail=True)


# ------------------------------------------------------------------------------------------------ the case


@dataclass(frozen=True)
class TimelineLine:
    """One step of a case as its page shows it."""

    step: cases.TimelineStep
    who: str
    photos: list[dict[str, Any]]
    waits: str | None  # the step the case then waited for, whose deadline the step set


def _staff_options(session: Session, who: Actor, grid_code: str | None, timezone: str) -> list[tuple[str, str]]:
    """Whom a case may be dispatched to: the staff holding posts today on its grid and on each grid above it."""
    if grid_code is None:
        return []
    out: dict[str, str] = {}
    for g in [get_grid(session, grid_code), *reversed(ancestors(session, grid_code))]:
        for r in grid_roles(session, g.code, who, timezone=timezone):
            if r.staff_code and r.staff_code not in out:
                out[r.staff_code] = f"{r.staff_name}（{r.role} · {LEVEL_ZH[g.level]} {g.name}）"
    return list(out.items())


# The step a case's page opens first, the likeliest next: the assignee handles, others move the case on.
PRIMARY = ("handle", "verify", "close", "accept", "dispatch", "resume", "visit")


def ordered_actions(actions: Sequence[wf.Transition], assignee: bool) -> list[wf.Transition]:
    """The steps a user may take, the one they most likely want first (handle only for the case's assignee)."""
    rank = {a: i for i, a in enumerate(p for p in PRIMARY if assignee or p != "handle")}
    return sorted(actions, key=lambda t: rank.get(t.action, len(PRIMARY)))


def _case_page(request: Request, session: Session, settings: Settings, who: Actor, ref: str, *,
               status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
               typed: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    tz = settings.timezone
    rules = cases.rules_for(session, settings)
    now = dt.datetime.now(dt.UTC)
    detail = cases.case_detail(session, who, cases.case_id_of(session, ref), rules, now=now)
    c = detail.case
    if detail.personal:
        log_view(session, who, "incident", c["grid_code"], page=_case_url(c["code"]), rows=1)
    people = display_names(session, [c["reported_by"], *(s.actor for s in detail.timeline)])
    by_id = {p["id"]: p for p in detail.photos}
    timeline = [TimelineLine(s, s.user_name or actor_label(s.actor, people), [by_id[i] for i in s.photo_ids],
                             wf.waiting_step(s.to_status)) for s in detail.timeline]  # fmt: skip
    dispatching = any(a.action == "dispatch" for a in detail.actions)
    assignee = who.staff_id is not None and who.staff_id == c["assignee_id"]
    tiles, note = _map_tiles(settings)
    return render(request, "incident.html", actor=who, active="incidents", title=f"事件 {c['code']}",
                  status_code=status_code, messages=list(messages), case=c, detail=detail, timeline=timeline,
                  reported_by=actor_label(c["reported_by"], people),
                  due=due_of(c["deadline"], c["overdue"], c["status"], c["review_on"], now, rules.calendar),
                  waiting=wf.waiting_step(c["status"]),
                  actions=ordered_actions(detail.actions, assignee),
                  staff=_staff_options(session, who, c["grid_code"], tz) if dispatching else [],
                  typed=typed or {}, tomorrow=now.astimezone(ZoneInfo(tz)).date() + dt.timedelta(days=1),
                  tiles=tiles, map_note=note, photos_per_step=settings.photos_per_step,
                  can_act=may(who, "write"))  # fmt: skip


@router.get("/incidents/{code}")
def case_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep, code: str,
              done: DoneQuery = None) -> Response:  # fmt: skip
    """One case: its state and deadline, a map of its place, its photos and timeline, and a form for each step this
    user may take now (printable as the case sheet)."""
    return _case_page(request, session, settings, who, code, messages=notices(done))


@router.post("/incidents/{code}/act")
def case_act(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: str,
    action: Annotated[str, Form(max_length=20)] = "",
    version: Annotated[int | None, Form()] = None,
    note: LongText = "",
    to_staff: Short = "",
    review_on: Short = "",
    photos: Photos = None,
) -> Response:
    """Take a step on a case (cases.act) with the version the page showed: back to the case with a notice, or the
    case as it is now with the reason (409 when someone else moved it first) and the note kept."""
    rules = cases.rules_for(session, settings)
    typed = {"action": action, "note": note, "to_staff": to_staff, "review_on": review_on}

    def write() -> Done:
        case_id = cases.case_id_of(session, code)
        step = cases.Step(action, note=note or None, to_staff=to_staff or None, review_on=form_day(review_on),
                          version=version, photos=_uploads(photos, rules))  # fmt: skip
        cases.act(session, who, case_id, step, rules)
        c = cases.case_detail(session, who, case_id, rules).case
        limit = f"，时限 {_local(c['deadline'], settings.timezone)}" if c["deadline"] else ""
        return Done(_case_url(c["code"]), f"已{wf.TRANSITIONS[action].label}：事件 {c['code']} 现为「{c['status']}」"
                                          f"（{c['level']}层级）{limit}")  # fmt: skip

    label = wf.TRANSITIONS[action].label if action in wf.TRANSITIONS else action
    return _run(request, session, write, what=f"未能{label}", keep={"typed": typed},
                again=partial(_case_page, request, session, settings, who, code))  # fmt: skip
