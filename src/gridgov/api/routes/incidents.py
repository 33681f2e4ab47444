"""Incidents API (事件处置): report, act, read, list; photos.

A case is reported (``POST /api/incidents``) and moved along by its actions
(``POST /api/incidents/{id_or_code}/{action}``, the actions of :mod:`gridgov.incidents.workflow`); both take a
form (``multipart/form-data`` with photos in repeated ``photos`` file fields, or ``application/x-www-form-urlencoded``
without photos), as a phone's report page posts it. Every write goes through :mod:`gridgov.incidents.cases`, which
checks the role, the scope, the case's level and the four-eyes rule of 核查. A case is read with its timeline, its
photos and the actions open to the caller; the reporter, the description and the photos only when the caller may
see personal data where the case lies (``personal``). Times are ISO 8601 in the installation's time zone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.api.dependencies import ActorDep, AdminDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery, RowId
from gridgov.api.routes.records import Text
from gridgov.api.versions import ETAG_HEADER, LOCATION_HEADER, IfMatch, optional_version
from gridgov.auth.scope import Actor, Touches, authorize, require_role
from gridgov.auth.views import log_view
from gridgov.config import Settings
from gridgov.errors import Forbidden, InvalidInput, TooLarge
from gridgov.incidents import cases
from gridgov.incidents import workflow as wf
from gridgov.incidents.photos import Photo, photo_bytes
from gridgov.incidents.sweep import escalate_overdue
from gridgov.periods import day_range
from gridgov.vocab import INCIDENT_LEVELS, INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_URGENCIES

router = APIRouter(prefix="/api/incidents", tags=["事件处置"])

PREFIX = "/api/incidents"
Box = Literal["mine", "level", "verify", "overdue"]
BOX_HELP = "待办：" + "、".join(f"{k}（{v}）" for k, v in cases.BOXES.items())
ACTION_HELP = "操作：" + "、".join(f"{t.action}（{t.label}）" for t in wf.TRANSITIONS.values())
CATEGORY_HELP = "事件类别：「大类/小类」（如 市容环境/暴露垃圾），或只写大类或小类"
PHOTO_HELP = "照片（JPEG、PNG、WebP，可多张：重复 photos 字段）"
CRS_HELP = "坐标系：wgs84（默认）、gcj02（高德/腾讯）、4490"
NOTE_HELP = "说明（处置、退回、返工、上报上级、挂账、重新打开、回访、不予立案时必填；最多 2000 字）"
STAFF_HELP = "派遣对象的工作人员编码（默认按类别派给网格员等）"
CaseRef = Annotated[Text, Path(max_length=40, description="事件编号（数字）或事件编码（如 E202611060001）")]
ActionPath = Annotated[
    Text, Path(max_length=20, description=ACTION_HELP, json_schema_extra={"enum": list(wf.ACTION_NAMES)})
]
TAGGED_CASE: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER}}
IMAGE_TYPES: dict[str, dict[str, Any]] = {kind: {} for kind in ("image/jpeg", "image/png", "image/webp", "image/gif")}


# ------------------------------------------------------------------------------------------------ models


class IncidentPublic(BaseModel):
    """A case as lists show it (no personal data)."""

    id: int = Field(description="事件编号")
    code: str = Field(description="事件编码：E + 上报日期 + 当日序号")
    category: str = Field(description="事件大类")
    subcategory: str | None = Field(description="事件小类")
    status: str = Field(description=f"状态（最后完成的环节）：{'、'.join(INCIDENT_STATUSES.terms)}")
    waiting: str | None = Field(description="等待的环节（受理、派遣、处置、核查、结案；结案、作废、挂账时为空）")
    level: str = Field(description=f"处置层级：{'、'.join(INCIDENT_LEVELS.terms)}")
    urgency: str = Field(description=f"紧急程度：{'、'.join(INCIDENT_URGENCIES.terms)}")
    source: str | None = Field(description=f"来源：{'、'.join(INCIDENT_SOURCES.terms)}")
    address: str | None = Field(description="地址或位置说明")
    reported_at: dt.datetime = Field(description="上报时间")
    deadline: dt.datetime | None = Field(description="当前环节的时限（按工作日计）")
    step_started_at: dt.datetime | None = Field(default=None, description="当前环节开始的时间")
    overdue: bool = Field(description="当前环节已超期")
    closed_at: dt.datetime | None = Field(description="结案时间")
    review_on: dt.date | None = Field(description="挂账的复查日期")
    version: int = Field(description="版本号：每一步加 1（操作时放入 version 或 If-Match）")
    grid_code: str | None = Field(description="所在网格编码（按位置确定）")
    grid_name: str | None = Field(description="所在网格名称")
    assignee_code: str | None = Field(description="派遣对象的工作人员编码")
    assignee_name: str | None = Field(description="派遣对象姓名")
    lon: float = Field(description="经度（WGS84）")
    lat: float = Field(description="纬度（WGS84）")


class IncidentListPublic(BaseModel):
    """A page of cases."""

    items: list[IncidentPublic]
    total: int = Field(description="符合条件的总数")
    limit: int = Field(description="每页条数")
    offset: int = Field(description="跳过的条数")
    box: Box | None = Field(description=BOX_HELP)
    box_label: str | None = Field(description="待办类别的中文名")


class TimelineStepPublic(BaseModel):
    """One step of a case's timeline (never rewritten)."""

    id: int
    at: dt.datetime = Field(description="时间")
    action: str = Field(description="操作（上报、立案、派遣、处置、核查通过、返工、结案、退回、上报上级、超期上报 …）")
    from_status: str | None
    to_status: str
    from_level: str | None
    to_level: str
    actor: str = Field(description="操作者（user:用户名、token:令牌名、cli、system）")
    user_name: str | None = Field(description="操作用户的姓名")
    note: str | None = Field(description="说明")
    deadline: dt.datetime | None = Field(description="此步开始的环节的时限")
    overdue: bool = Field(description="此步结束的环节已超期")
    review_on: dt.date | None = Field(description="挂账的复查日期")
    staff_code: str | None = Field(description="派遣对象的工作人员编码")
    staff_name: str | None = Field(description="派遣对象姓名")
    photo_ids: list[int] = Field(description="此步的照片编号（仅 personal 为 true 时）")


class IncidentPhotoPublic(BaseModel):
    """A photo of a case (shown only to those who may see personal data where the case lies)."""

    id: int
    event_id: int = Field(description="所属时间线步骤")
    step: str = Field(description="所属步骤的操作（上报照片为处置前，处置照片为处置后）")
    filename: str | None
    content_type: str
    width: int | None
    height: int | None
    url: str = Field(description="原图地址")
    thumbnail_url: str = Field(description="缩略图地址（JPEG）")


class IncidentActionPublic(BaseModel):
    """An action the caller may take on the case now."""

    action: str = Field(description="操作名（用于 POST /api/incidents/{id_or_code}/{action}）")
    label: str = Field(description="中文名")
    note_required: bool = Field(description="须填写说明（note）")
    dispatches: bool = Field(description="派遣：可指定工作人员（to_staff）")
    review_date: bool = Field(description="须填写复查日期（review_on）")
    photos: bool = Field(description="可附照片")


class IncidentDetailPublic(IncidentPublic):
    """A case with its timeline, photos and the caller's next actions; the reporter, the description and the
    photos are null / empty unless ``personal``."""

    description: str | None = Field(description="事件描述（仅 personal 为 true 时）")
    reporter_name: str | None = Field(description="反映人姓名（仅 personal 为 true 时）")
    reporter_phone: str | None = Field(description="反映人电话（仅 personal 为 true 时）")
    reported_by: str | None = Field(description="上报者（user:用户名、token:令牌名、cli）")
    assignee_phone: str | None = Field(description="派遣对象电话")
    personal: bool = Field(description="调用者可查看反映人、描述与照片")
    default_assignee: str | None = Field(description="默认派遣对象（可派遣时）")
    actions: list[IncidentActionPublic] = Field(description="调用者现在可进行的操作")
    timeline: list[TimelineStepPublic]
    photos: list[IncidentPhotoPublic]


class SweepPublic(BaseModel):
    """The result of a sweep: cases escalated by deadline, per level reached."""

    escalated: dict[str, int] = Field(description="上报到各层级的事件数")
    total: int = Field(description="上报的事件总数")


# ------------------------------------------------------------------------------------------------ helpers


def _zoned(value: Any, zone: ZoneInfo) -> Any:
    return value.astimezone(zone) if isinstance(value, dt.datetime) else value


def _fields(row: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    return {k: _zoned(v, zone) for k, v in row.items()}


def _etag(version: int) -> str:
    return f'"{version}"'


def photo_url(photo_id: int, *, thumbnail: bool = False) -> str:
    """The API address of a case's photo (or its thumbnail)."""
    return f"{PREFIX}/photos/{photo_id}" + ("?thumbnail=1" if thumbnail else "")


def detail_public(detail: cases.CaseDetail, timezone: str) -> IncidentDetailPublic:
    """A case as the API shows it, its times in ``timezone``."""
    zone = ZoneInfo(timezone)
    case = _fields(detail.case, zone)
    return IncidentDetailPublic(
        **case | {"overdue": bool(case["overdue"])},  # NULL when there is no deadline (挂账)
        waiting=wf.waiting_step(case["status"]),
        personal=detail.personal,
        default_assignee=detail.default_assignee,
        actions=[IncidentActionPublic(action=t.action, label=t.label, note_required=t.note, dispatches=t.staff,
                                      review_date=t.review, photos=t.photos) for t in detail.actions],
        timeline=[TimelineStepPublic(**_fields(vars(s), zone)) for s in detail.timeline],
        photos=[IncidentPhotoPublic(id=p["id"], event_id=p["event_id"], step=p["action"], filename=p["filename"],
                                    content_type=p["content_type"], width=p["width"], height=p["height"],
                                    url=photo_url(p["id"]), thumbnail_url=photo_url(p["id"], thumbnail=True))
                for p in detail.photos],
    )  # fmt: skip


def _show(session: Session, actor: Actor, case_id: int, settings: Settings, response: Response
          ) -> IncidentDetailPublic:  # fmt: skip
    detail = cases.case_detail(session, actor, case_id, cases.rules_for(session, settings))
    if detail.personal:
        log_view(session, actor, "incident", detail.case["grid_code"], page=f"{PREFIX}/{detail.case['code']}",
                 rows=1)  # fmt: skip
    response.headers["ETag"] = _etag(detail.case["version"])
    return detail_public(detail, settings.timezone)


def read_photos(uploads: list[UploadFile] | None, max_mb: float) -> list[Photo]:
    """The uploaded photos, each read up to the size limit (``TooLarge`` beyond it); a form's empty file field
    (no file chosen) is skipped."""
    limit = int(max_mb * 2**20)
    photos = []
    for n, upload in enumerate(uploads or [], start=1):
        data = upload.file.read(limit + 1)
        name = PurePath(upload.filename).name if upload.filename else None
        if not data and not name:
            continue
        if len(data) > limit:
            raise TooLarge(f"照片「{name or f'第 {n} 张'}」超过上限 {max_mb:g} MB")
        photos.append(Photo(name, data))
    return photos


def _term(vocabulary: Any, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    term = vocabulary.canonical(value.strip())
    if term is None:
        raise InvalidInput(f"未知的{vocabulary.label}：{value}（可选：{'、'.join(vocabulary.terms)}）")
    return str(term)


# ------------------------------------------------------------------------------------------------ routes


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentDetailPublic,
    summary="上报事件",
    dependencies=[Throttled],
    responses={201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}}},
)
def report_case(
    session: SessionDep,
    settings: SettingsDep,
    who: ActorDep,
    response: Response,
    lon: Annotated[float, Form(description="经度")],
    lat: Annotated[float, Form(description="纬度")],
    category: Annotated[Text, Form(max_length=60, description=CATEGORY_HELP)],
    description: Annotated[Text, Form(description="事件描述（最多 2000 字）")],
    crs: Annotated[Text | None, Form(max_length=20, description=CRS_HELP)] = None,
    urgency: Annotated[Text | None, Form(max_length=10, description="紧急程度：一般（默认）、紧急")] = None,
    source: Annotated[Text | None, Form(max_length=20, description="来源（默认按角色：网格员上报 / 巡逻发现）")] = None,
    address: Annotated[Text | None, Form(max_length=200, description="地址或位置说明")] = None,
    reporter_name: Annotated[Text | None, Form(max_length=50, description="反映人姓名（居民反映时）")] = None,
    reporter_phone: Annotated[Text | None, Form(max_length=32, description="反映人电话")] = None,
    photos: Annotated[list[UploadFile] | None, File(description=PHOTO_HELP)] = None,
) -> IncidentDetailPublic:
    """Report a case (上报) at a place: its grid follows from the point; the deadline of 受理 starts now.

    The body is a form: ``multipart/form-data`` when it carries photos (repeat the ``photos`` field), else
    ``application/x-www-form-urlencoded`` also works. Needs the 上报 permission (网格员、巡逻队长、社区、街道、
    管理员) with the place inside the caller's scope. Answers 201 with the case as ``GET`` shows it, its ``ETag``
    and ``Location``; a bad field is 422 with the reason in Chinese and nothing is stored.
    """
    case = cases.NewCase(lon, lat, category, description, crs=crs, urgency=urgency or "一般", source=source,
                         address=address, reporter_name=reporter_name, reporter_phone=reporter_phone,
                         photos=read_photos(photos, settings.photo_max_mb))  # fmt: skip
    case_id = cases.report(session, who, case, cases.rules_for(session, settings))
    shown = _show(session, who, case_id, settings, response)
    response.headers["Location"] = f"{PREFIX}/{shown.code}"
    return shown


@router.get("", response_model=IncidentListPublic, summary="事件列表与待办")
def list_cases(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    parent: Annotated[Text | None, Query(max_length=40, description="网格编码（默认：您的范围）")] = None,
    status_: Annotated[Text | None, Query(alias="status", max_length=10, description="状态（如 派遣）")] = None,
    level: Annotated[Text | None, Query(max_length=10, description="处置层级：网格、社区、街道")] = None,
    category: Annotated[Text | None, Query(max_length=60, description="事件大类")] = None,
    date_from: Annotated[DateQuery, Query(alias="from", description="上报日期起 YYYY-MM-DD（含）")] = None,
    date_to: Annotated[DateQuery, Query(alias="to", description="上报日期止 YYYY-MM-DD（含）")] = None,
    open_only: Annotated[bool, Query(alias="open", description="只列未结案、未作废的")] = False,
    box: Annotated[Box | None, Query(description=BOX_HELP + "；给出时忽略其他筛选（范围除外）")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="每页条数")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9, description="跳过的条数")] = 0,
) -> IncidentListPublic:
    """Cases in the caller's scope (or under ``parent``), overdue first, then by deadline: one inbox ``box``
    (待我处置: dispatched to the caller's own staff record; 本级待办: waiting at the caller's level; 待核查;
    已超期) or the filtered list."""
    start, end = day_range(date_from, date_to, settings.timezone)
    main = cases.parse_category(session, category).main if category and category.strip() else None
    filters = cases.Filters(parent=parent or None, status=_term(INCIDENT_STATUSES, status_),
                            level=_term(INCIDENT_LEVELS, level), category=main, date_from=start, date_to=end,
                            open_only=open_only, limit=limit, offset=offset)  # fmt: skip
    found = cases.list_cases(session, who, filters, box=box, timezone=settings.timezone)
    zone = ZoneInfo(settings.timezone)
    items = [IncidentPublic(**_fields(vars(r), zone) | {"overdue": bool(r.overdue)}, waiting=wf.waiting_step(r.status))
             for r in found.rows]  # fmt: skip
    return IncidentListPublic(items=items, total=found.total, limit=limit, offset=offset, box=box,
                              box_label=cases.BOXES.get(box) if box else None)  # fmt: skip


@router.post("/sweep", response_model=SweepPublic, summary="立即检查超期事件（管理员）")
def sweep(session: SessionDep, settings: SettingsDep, who: AdminDep) -> SweepPublic:
    """Escalate now every case whose step is overdue (超期上报, as the server does every ``sweep_minutes``);
    the step is recorded at the deadline, so the result does not depend on when the sweep runs."""
    result = escalate_overdue(session, cases.rules_for(session, settings).calendar, actor=who)
    return SweepPublic(escalated=result.escalated, total=result.total)


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    summary="事件照片",
    responses={200: {"content": IMAGE_TYPES, "description": "图片（缩略图为 JPEG）"}},
)
def photo(
    session: SessionDep,
    who: ActorDep,
    photo_id: RowId,
    thumbnail: Annotated[bool, Query(description="缩略图（最长边 320 像素，JPEG）")] = False,
) -> Response:
    """A case's photo: only for roles that may see personal data, within their scope where the case lies."""
    require_role(who, "personal")
    stored = photo_bytes(session, photo_id, thumbnail=thumbnail)
    grid_id = session.scalar(text("SELECT grid_id FROM incident WHERE id = :id"), {"id": stored.incident_id})
    authorize(session, who, "read", Touches(grid_ids=[grid_id]))
    if not cases.sees_details(session, who, grid_id):
        raise Forbidden("超出权限范围：事件照片只对事件所在范围内可查看个人信息的人员开放")
    if not thumbnail:
        log_view(session, who, "incident_photo", None, page=photo_url(photo_id), rows=1)
    return Response(stored.data, media_type=stored.content_type,
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip


@router.get("/{id_or_code}", response_model=IncidentDetailPublic, summary="事件详情", responses=TAGGED_CASE)
def show_case(
    session: SessionDep, settings: SettingsDep, who: ViewerDep, id_or_code: CaseRef, response: Response
) -> IncidentDetailPublic:
    """A case with its timeline, photos (addresses under ``/api/incidents/photos/``), the actions open to the
    caller and its ``version`` (also as ``ETag``); the reporter, description and photos only when ``personal``."""
    return _show(session, who, cases.case_id_of(session, id_or_code), settings, response)


@router.post(
    "/{id_or_code}/{action}",
    response_model=IncidentDetailPublic,
    summary="事件操作：受理、派遣、处置、核查、结案、退回、上报上级、挂账 …",
    dependencies=[Throttled],
    responses=TAGGED_CASE,
)
def act(
    session: SessionDep,
    settings: SettingsDep,
    who: ActorDep,
    response: Response,
    id_or_code: CaseRef,
    action: ActionPath,
    if_match: IfMatch = None,
    note: Annotated[Text | None, Form(description=NOTE_HELP)] = None,
    to_staff: Annotated[Text | None, Form(max_length=40, description=STAFF_HELP)] = None,
    review_on: Annotated[DateQuery, Form(description="挂账的复查日期 YYYY-MM-DD")] = None,
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1, description="看到的版本号（与 If-Match 二选一）")] = None,
    photos: Annotated[list[UploadFile] | None, File(description=PHOTO_HELP + "；处置、核查时可附")] = None,
) -> IncidentDetailPublic:
    """Take a step on a case (form fields; photos as repeated ``photos`` files). The version the caller saw may be
    given as ``version`` or as ``If-Match: "<version>"``: when the case has moved on since, or the step does not
    apply to its status, the answer is 409 with the reason in Chinese and nothing changes. Outside the caller's
    scope or level, or 核查 by who recorded the 处置: 403. Answers the case after the step."""
    seen = optional_version(if_match)
    if version is not None and seen is not None and version != seen:
        raise InvalidInput(f"version（{version}）与 If-Match（{seen}）不一致")
    step = cases.Step(action.strip(), note=note, to_staff=to_staff or None, review_on=review_on,
                      version=version if version is not None else seen,
                      photos=read_photos(photos, settings.photo_max_mb))  # fmt: skip
    case_id = cases.case_id_of(session, id_or_code)
    cases.act(session, who, case_id, step, cases.rules_for(session, settings))
    return _show(session, who, case_id, settings, response)
