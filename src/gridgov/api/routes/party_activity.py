"""Party API: volunteer teams and activities, meetings (三会一课), 党员责任区.

Party records name residents, so every read needs the "personal" permission inside the caller's scope, and each
read that returns names is written to the audit log; writes need "write" and the services check the scope of
everything they touch. Teams and 责任区 are read with an ``ETag``; a change or a retirement names the version it
was made on in ``If-Match`` (stale: 412, missing: 428). Meetings are recorded as ``multipart/form-data`` with the
minutes file (PDF, Word or an image, at most 20 MB); a meeting recorded by mistake is cancelled, never deleted.
责任区 geometries are GeoJSON in WGS84 (or in ``crs``), in and out.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gridgov.api.dependencies import EditorDep, PersonalDep, SessionDep, SettingsDep
from gridgov.api.params import DateQuery, RowId
from gridgov.api.routes.records import Text
from gridgov.api.routes.versioned import add_create_route, add_retire_route, add_update_route
from gridgov.api.versions import CREATED, TAGGED, tagged
from gridgov.auth.scope import Actor
from gridgov.auth.views import log_view
from gridgov.errors import TooLarge
from gridgov.party import duty_areas as duty_svc
from gridgov.party import meetings as meeting_svc
from gridgov.party import volunteers as team_svc
from gridgov.party.rules import PartyRules
from gridgov.patrol.teams import area_shape
from gridgov.vocab import PARTY_DUTIES, PARTY_MEETING_KINDS, VOLUNTEER_TEAM_KINDS

router = APIRouter(prefix="/api/party", tags=["党建网格"])

KIND_HELP = f"类型：{'、'.join(VOLUNTEER_TEAM_KINDS.terms)}（也接受 巡逻、助老 等常用说法）"
MEETING_HELP = f"会议类型：{'、'.join(PARTY_MEETING_KINDS.terms)}（也接受 支委会 等）"
DUTY_HELP = f"职责：{'、'.join(PARTY_DUTIES.terms)}"
CRS_HELP = "几何的坐标系：EPSG:4326（默认）、EPSG:4490、EPSG:4491–4554 或 gcj02"
PARENT_HELP = "网格编码：只看此网格及其下级（默认：您的范围）"
MINUTES_HELP = "会议记录：PDF、Word（.doc/.docx）或图片，不超过 20 MB"
TeamPath = Annotated[Text, Path(description="志愿服务队编码")]
AreaPath = Annotated[Text, Path(description="责任区编码")]
PersonPath = Annotated[Text, Path(description="居民编码")]
Parent = Annotated[Text | None, Query(max_length=40, description=PARENT_HELP)]
Month = Annotated[Text | None, Query(max_length=10, description="月份 YYYY-MM（默认本月）")]


def _seen(session: Session, who: Actor, what: str, parent: str | None, page: str, rows: int) -> None:
    """Log that names of residents were shown (the audit log's ``view``)."""
    log_view(session, who, what, parent or who.scope_code, page=page, rows=rows)


# ------------------------------------------------------------------------------------------------ models


class VolunteerTeamPublic(BaseModel):
    """One state of a volunteer team."""

    id: int = Field(description="志愿服务队编号（终身不变）")
    code: str = Field(description="编码")
    name: str = Field(description="名称")
    kind: str = Field(description=KIND_HELP)
    grid_code: str | None = Field(description="所在网格编码")
    grid_name: str | None = Field(description="所在网格名称")
    org_code: str | None = Field(description="牵头党组织编码")
    org_name: str | None = Field(description="牵头党组织名称")
    leader_code: str | None = Field(description="队长的居民编码")
    leader_name: str | None = Field(description="队长姓名")
    members: int = Field(description="在队人数")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="撤销时间（现有的为 null）")
    retired: bool = Field(description="是否已撤销")
    end_reason: str | None = Field(description="撤销原因")
    updated_by: str | None = Field(description="最后修改人")


class VolunteerTeamCreate(BaseModel):
    """A new volunteer team."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码，如 ZY01")
    name: Text = Field(max_length=200, description="名称")
    kind: Text = Field(max_length=20, description=KIND_HELP)
    grid: Text | None = Field(default=None, max_length=40, description="所在网格编码（默认：调用者的范围）")
    org: Text | None = Field(default=None, max_length=40, description="牵头党组织编码")
    leader: Text | None = Field(default=None, max_length=40, description="队长的居民编码")
    effective: DateQuery = Field(default=None, description="成立日期 YYYY-MM-DD（默认今天；补登时填写）")


class VolunteerTeamUpdate(BaseModel):
    """A change to a team: only the fields given (an empty string or null clears org and leader)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200, description="名称")
    kind: Text | None = Field(default=None, max_length=20, description=KIND_HELP)
    grid: Text | None = Field(default=None, max_length=40, description="所在网格编码")
    org: Text | None = Field(default=None, max_length=40, description="牵头党组织编码")
    leader: Text | None = Field(default=None, max_length=40, description="队长的居民编码")
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class Retire(BaseModel):
    """A retirement: why and from which day."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, max_length=200, description="撤销原因：合并、调整、录入错误 …（必填）")
    date: DateQuery = Field(default=None, description="撤销日期 YYYY-MM-DD（默认今天）")


class VolunteerPublic(BaseModel):
    """A resident's membership of a team."""

    id: int = Field(description="记录编号")
    team_code: str = Field(description="志愿服务队编码")
    person_code: str = Field(description="居民编码")
    person_name: str = Field(description="姓名")
    party_member: bool = Field(description="是否党员")
    since: dt.date = Field(description="加入日期")
    until: dt.date | None = Field(description="退出日期（当日起不再是队员；在队为 null）")
    end_reason: str | None = Field(description="退出原因")
    in_force: bool = Field(description="所查日期是否在队")


class MemberJoin(BaseModel):
    """A resident joining a team."""

    model_config = ConfigDict(extra="forbid")
    person: Text = Field(max_length=40, description="居民编码")
    since: DateQuery = Field(default=None, description="加入日期 YYYY-MM-DD（默认今天）")


class MemberLeave(BaseModel):
    """A member leaving a team."""

    model_config = ConfigDict(extra="forbid")
    until: DateQuery = Field(default=None, description="退出日期 YYYY-MM-DD（当日起不再是队员；默认今天）")
    reason: Text | None = Field(default=None, max_length=200, description="退出原因（默认「退出」）")


class ActivityPublic(BaseModel):
    """An activity of a volunteer team."""

    id: int = Field(description="记录编号")
    team_code: str = Field(description="志愿服务队编码")
    team_name: str = Field(description="志愿服务队名称")
    day: dt.date = Field(description="活动日期")
    hours: float = Field(description="时长（小时）")
    title: str = Field(description="活动内容")
    participants: int | None = Field(description="参加人数")
    note: str | None = Field(description="备注")
    created_by: str | None = Field(description="登记人")


class ActivityCreate(BaseModel):
    """A new activity."""

    model_config = ConfigDict(extra="forbid")
    team: Text = Field(max_length=40, description="志愿服务队编码")
    day: DateQuery = Field(default=None, description="活动日期 YYYY-MM-DD（不晚于今天；默认今天）")
    hours: float = Field(gt=0, le=24, description="时长（小时，0.1–24）")
    title: Text = Field(max_length=200, description="活动内容")
    participants: int | None = Field(default=None, ge=0, le=100_000, description="参加人数")
    note: Text | None = Field(default=None, max_length=2000, description="备注")


class FiguresPublic(BaseModel):
    """A team's month against the rules."""

    team_code: str = Field(description="志愿服务队编码")
    team_name: str = Field(description="名称")
    grid_code: str | None = Field(description="所在网格编码")
    month: dt.date = Field(description="月份（该月 1 日）")
    counted_on: dt.date = Field(description="人数按此日计（该月最后一天；本月为今天）")
    people: int = Field(description="在队人数")
    activities: int = Field(description="活动次数")
    hours: float = Field(description="活动总时长（小时）")
    longest: float = Field(description="最长一次活动（小时）")
    team_min: int = Field(description="规定的最少人数")
    hours_min: float = Field(description="每月至少一次活动的时长（小时）")
    size_ok: bool = Field(description="人数达标")
    activity_ok: bool = Field(description="活动达标")


class MeetingPublic(BaseModel):
    """A meeting of a Party organisation."""

    id: int = Field(description="会议编号")
    org_code: str = Field(description="党组织编码")
    org_name: str = Field(description="党组织名称")
    org_kind: str = Field(description="党组织类别")
    kind: str = Field(description=MEETING_HELP)
    held_on: dt.date = Field(description="会议日期")
    topic: str | None = Field(description="主题")
    attendees: int | None = Field(description="实到人数")
    expected: int | None = Field(description="应到人数")
    minutes_name: str | None = Field(description="会议记录文件名")
    minutes_type: str | None = Field(description="会议记录文件类型")
    minutes_size: int = Field(description="会议记录大小（字节；无为 0）")
    has_minutes: bool = Field(description="是否有会议记录")
    created_by: str | None = Field(description="登记人")
    created_at: dt.datetime = Field(description="登记时间")
    cancelled: bool = Field(description="是否已取消（取消的不计入按期召开）")
    cancelled_at: dt.datetime | None = Field(description="取消时间")
    cancel_reason: str | None = Field(description="取消原因")


class MeetingCancel(BaseModel):
    """Why a meeting recorded by mistake is cancelled."""

    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(max_length=200, description="取消原因：录入错误、重复登记 …")


class DuePublic(BaseModel):
    """A meeting kind an organisation must hold, where it stands."""

    org_code: str = Field(description="党组织编码")
    org_name: str = Field(description="党组织名称")
    org_kind: str = Field(description="党组织类别")
    kind: str = Field(description="会议类型")
    months: int = Field(description="每几个月召开一次")
    last_held: dt.date | None = Field(description="上次召开日期（已取消的不计；从未召开为 null）")
    due_by: dt.date | None = Field(description="不超期的最后一天（从未召开且超期为 null）")
    overdue: bool = Field(description="是否超期")
    since: dt.date = Field(description="应在此日或之后召开过（合规检查的规则）")


class DutyAreaPublic(BaseModel):
    """One state of a 党员责任区."""

    id: int = Field(description="责任区编号（终身不变）")
    code: str = Field(description="编码")
    name: str = Field(description="名称")
    duty: str = Field(description=DUTY_HELP)
    org_code: str | None = Field(description="党组织编码")
    org_name: str | None = Field(description="党组织名称")
    member_codes: list[str] = Field(description="责任党员的居民编码")
    member_names: list[str] = Field(description="责任党员姓名")
    compounds: list[str] = Field(description="责任区所在楼院的编码")
    area_m2: float = Field(description="面积（平方米）")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="撤销时间（现有的为 null）")
    retired: bool = Field(description="是否已撤销")
    end_reason: str | None = Field(description="撤销原因")
    updated_by: str | None = Field(description="最后修改人")
    geometry: dict[str, Any] | None = Field(default=None, description="范围：GeoJSON MultiPolygon（WGS84）")


class DutyAreaCreate(BaseModel):
    """A new 党员责任区."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码")
    name: Text = Field(max_length=200, description="名称")
    duty: Text = Field(max_length=20, description=DUTY_HELP)
    geometry: dict[str, Any] = Field(description="范围：GeoJSON 面，或要素（集合）——其中的面合并为一个责任区")
    org: Text | None = Field(default=None, max_length=40, description="党组织编码")
    members: list[Text] = Field(default_factory=list, max_length=50, description="责任党员的居民编码")
    crs: Text | None = Field(default=None, max_length=40, description=CRS_HELP)
    effective: DateQuery = Field(default=None, description="启用日期 YYYY-MM-DD（默认今天）")


class DutyAreaUpdate(BaseModel):
    """A change to a 责任区: only the fields given (null or an empty list clears org and members)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200, description="名称")
    duty: Text | None = Field(default=None, max_length=20, description=DUTY_HELP)
    geometry: dict[str, Any] | None = Field(default=None, description="新范围：GeoJSON 面（或要素集合）")
    org: Text | None = Field(default=None, max_length=40, description="党组织编码")
    members: list[Text] | None = Field(default=None, max_length=50, description="责任党员的居民编码")
    crs: Text | None = Field(default=None, max_length=40, description=CRS_HELP)
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class FindingPublic(BaseModel):
    """A topology problem of the 责任区, as grid findings are reported."""

    rule: str = Field(description="overlap：同一楼院内责任区重叠；gap：楼院内未被责任区覆盖的部分")
    rule_zh: str = Field(description="问题类别")
    codes: list[str] = Field(description="涉及的责任区编码，最后一个为楼院编码")
    message: str = Field(description="说明")
    location: list[float] | None = Field(default=None, description="问题上的一点 [经度, 纬度]")
    area_m2: float | None = Field(default=None, description="面积（平方米）")
    geometry: dict[str, Any] | None = Field(default=None, description="问题范围（GeoJSON）")


# ------------------------------------------------------------------------------------------------ teams


@router.get("/teams", response_model=list[VolunteerTeamPublic], summary="志愿服务队列表")
def list_teams(
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    parent: Parent = None,
    include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
) -> list[dict[str, Any]]:
    """The teams in force (or with the retired ones) on grids under ``parent``, by code, with their leaders."""
    teams = team_svc.list_teams(session, who, parent=parent, include_retired=include_retired,
                                timezone=settings.timezone)  # fmt: skip
    _seen(session, who, "volunteer_team", parent, "/api/party/teams", len(teams))
    return [t.as_dict() for t in teams]


add_create_route(router, "/teams", name="create_team", summary="新建志愿服务队",
                 description="Add a team on a grid (default: the caller's scope), led by an organisation and a "
                             "resident.",
                 model=VolunteerTeamPublic, writer=EditorDep, body_model=VolunteerTeamCreate,
                 create=team_svc.create_team)  # fmt: skip


@router.get("/teams/{code}", response_model=VolunteerTeamPublic, summary="志愿服务队详情（含 ETag）", responses=TAGGED)
def get_team(
    session: SessionDep, settings: SettingsDep, who: PersonalDep, response: Response, code: TeamPath
) -> dict[str, Any]:
    """The team's current state (live or retired)."""
    team = team_svc.get_team(session, code, who, timezone=settings.timezone)
    _seen(session, who, "volunteer_team", team.grid_code, f"/api/party/teams/{team.code}", 1)
    return tagged(response, team)


add_update_route(router, "/teams/{code}", name="update_team", summary="修改志愿服务队（需 If-Match，保留历史）",
                 model=VolunteerTeamPublic, writer=EditorDep,
                 code_param=TeamPath, body_model=VolunteerTeamUpdate, update=team_svc.update_team)  # fmt: skip


add_retire_route(router, "/teams/{code}", name="retire_team",
                 summary="撤销志愿服务队（需 If-Match 与原因；队员当日退出，记录、活动与历史保留）",
                 description="Retire the version named by ``If-Match`` with a reason, from ``date``.",
                 model=VolunteerTeamPublic, writer=EditorDep, code_param=TeamPath, body_model=Retire,
                 retire=team_svc.retire_team, reason_max_length=200)  # fmt: skip


@router.get("/teams/{code}/history", response_model=list[VolunteerTeamPublic], summary="志愿服务队变更历史")
def team_history(session: SessionDep, settings: SettingsDep, who: PersonalDep, code: TeamPath) -> list[dict[str, Any]]:
    """Every state the team has had, oldest first."""
    versions = team_svc.team_history(session, code, who, timezone=settings.timezone)
    _seen(session, who, "volunteer_team", versions[-1].grid_code, f"/api/party/teams/{code}/history", len(versions))
    return [t.as_dict() for t in versions]


@router.get("/teams/{code}/members", response_model=list[VolunteerPublic], summary="志愿服务队队员")
def team_members(
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    code: TeamPath,
    on: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
    include_ended: Annotated[bool, Query(description="全部记录（含已退出的）")] = False,
) -> list[dict[str, Any]]:
    """The members in force on ``on`` (today), or every membership the team has had."""
    members = team_svc.team_members(session, code, who, on_day=on, include_ended=include_ended,
                                    timezone=settings.timezone)  # fmt: skip
    _seen(session, who, "volunteer_team_member", None, f"/api/party/teams/{code}/members", len(members))
    return [m.as_dict() for m in members]


@router.post("/teams/{code}/members", response_model=VolunteerPublic, status_code=status.HTTP_201_CREATED,
             summary="居民加入志愿服务队")  # fmt: skip
def join_team(
    session: SessionDep, settings: SettingsDep, who: EditorDep, code: TeamPath, body: MemberJoin
) -> dict[str, Any]:
    """A live resident joins the team from ``since`` (today)."""
    return team_svc.join_team(session, code, who, person=body.person, since=body.since,
                              timezone=settings.timezone).as_dict()  # fmt: skip


@router.post("/teams/{code}/members/{person}/leave", response_model=VolunteerPublic, summary="队员退出志愿服务队")
def leave_team(
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    code: TeamPath,
    person: PersonPath,
    body: MemberLeave | None = None,
) -> dict[str, Any]:
    """End the resident's membership of the team on ``until`` (today); the record stays."""
    given = body or MemberLeave()
    return team_svc.leave_team(session, code, who, person=person, until=given.until, reason=given.reason,
                               timezone=settings.timezone).as_dict()  # fmt: skip


# ------------------------------------------------------------------------------------------------ activities


@router.get("/activities", response_model=list[ActivityPublic], summary="志愿服务活动")
def list_activities(
    session: SessionDep,
    who: PersonalDep,
    team: Annotated[Text | None, Query(max_length=40, description="志愿服务队编码（默认：范围内各队）")] = None,
    month: Annotated[Text | None, Query(max_length=10, description="月份 YYYY-MM")] = None,
    parent: Parent = None,
) -> list[dict[str, Any]]:
    """Activities of one team or of every team under ``parent``, of a month when given, newest first."""
    return [a.as_dict() for a in team_svc.list_activities(session, who, team=team, month=month, parent=parent)]


@router.post("/activities", response_model=ActivityPublic, status_code=status.HTTP_201_CREATED,
             summary="登记志愿服务活动")  # fmt: skip
def add_activity(session: SessionDep, settings: SettingsDep, who: EditorDep, body: ActivityCreate) -> dict[str, Any]:
    """Record an activity of a live team."""
    found = team_svc.add_activity(session, body.team, who, day=body.day, hours=body.hours, title=body.title,
                                  participants=body.participants, note=body.note,
                                  timezone=settings.timezone)  # fmt: skip
    return found.as_dict()


@router.get("/activities/figures", response_model=list[FiguresPublic], summary="各志愿服务队某月人数与活动（是否达标）")
def month_figures(
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    month: Month = None,
    team: Annotated[Text | None, Query(max_length=40, description="志愿服务队编码（默认：范围内各队）")] = None,
    parent: Parent = None,
) -> list[dict[str, Any]]:
    """Each team's month: people, activities, hours and the longest activity, against the rules (settings)."""
    rows = team_svc.month_figures(session, who, PartyRules.of(settings), month=month, team=team, parent=parent,
                                  timezone=settings.timezone)  # fmt: skip
    return [f.as_dict() for f in rows]


# ------------------------------------------------------------------------------------------------ meetings


def read_minutes(upload: UploadFile | None) -> meeting_svc.Minutes | None:
    """An uploaded minutes file, checked (None when the form sent no file)."""
    if upload is None or not upload.filename:
        return None
    limit = meeting_svc.MINUTES_MAX_MB * 2**20
    data = upload.file.read(limit + 1)
    name = PurePath(upload.filename).name
    if len(data) > limit:
        raise TooLarge(f"会议记录「{name}」超过上限 {meeting_svc.MINUTES_MAX_MB} MB")
    return meeting_svc.check_minutes(name, data)


@router.get("/meetings", response_model=list[MeetingPublic], summary="党组织会议列表")
def list_meetings(
    session: SessionDep,
    who: PersonalDep,
    org: Annotated[Text | None, Query(max_length=40, description="党组织编码（默认：范围内各党组织）")] = None,
    parent: Parent = None,
    date_from: Annotated[DateQuery, Query(alias="from", description="会议日期起 YYYY-MM-DD（含）")] = None,
    date_to: Annotated[DateQuery, Query(alias="to", description="会议日期止 YYYY-MM-DD（含）")] = None,
    include_cancelled: Annotated[bool, Query(description="包括已取消的")] = True,
) -> list[dict[str, Any]]:
    """The meetings of one organisation or of every organisation under ``parent``, newest first."""
    found = meeting_svc.list_meetings(session, who, org=org, parent=parent, date_from=date_from, date_to=date_to,
                                      include_cancelled=include_cancelled)  # fmt: skip
    return [m.as_dict() for m in found]


@router.post("/meetings", response_model=MeetingPublic, status_code=status.HTTP_201_CREATED,
             summary="登记会议（可附会议记录）")  # fmt: skip
def record_meeting(
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    response: Response,
    org: Annotated[Text, Form(max_length=40, description="党组织编码")],
    kind: Annotated[Text, Form(max_length=20, description=MEETING_HELP)],
    held_on: Annotated[DateQuery, Form(description="会议日期 YYYY-MM-DD（不晚于今天）")],
    topic: Annotated[Text | None, Form(max_length=200, description="主题")] = None,
    attendees: Annotated[int | None, Form(ge=0, le=100_000, description="实到人数")] = None,
    expected: Annotated[int | None, Form(ge=0, le=100_000, description="应到人数")] = None,
    minutes: Annotated[UploadFile | None, File(description=MINUTES_HELP)] = None,
) -> dict[str, Any]:
    """Record a meeting an organisation held. The body is ``multipart/form-data`` (the minutes file is optional);
    answers 201 with the meeting and its ``Location``."""
    meeting = meeting_svc.record_meeting(session, who, org=org, kind=kind, held_on=held_on, topic=topic,
                                         attendees=attendees, expected=expected, minutes=read_minutes(minutes),
                                         timezone=settings.timezone)  # fmt: skip
    response.headers["Location"] = f"/api/party/meetings/{meeting.id}"
    return meeting.as_dict()


@router.get("/meetings/schedule", response_model=list[DuePublic], summary="按期召开情况（超期标出）")
def meeting_schedule(
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    org: Annotated[Text | None, Query(max_length=40, description="党组织编码（默认：范围内各党组织）")] = None,
    parent: Parent = None,
    as_of: Annotated[DateQuery, Query(description="按此日 YYYY-MM-DD（默认今天）")] = None,
) -> list[dict[str, Any]]:
    """For each organisation, every meeting kind it must hold: last held (cancelled ones do not count), the last
    day it is on time and whether it is overdue — the compliance check's rule."""
    rows = meeting_svc.schedule(session, who, PartyRules.of(settings), org=org, parent=parent, day=as_of,
                                timezone=settings.timezone)  # fmt: skip
    return [r.as_dict() for r in rows]


@router.get("/meetings/{meeting_id}", response_model=MeetingPublic, summary="会议详情")
def get_meeting(session: SessionDep, who: PersonalDep, meeting_id: RowId) -> dict[str, Any]:
    """One meeting."""
    return meeting_svc.get_meeting(session, meeting_id, who).as_dict()


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingPublic, summary="取消误录的会议（记录保留）")
def cancel_meeting(session: SessionDep, who: EditorDep, meeting_id: RowId, body: MeetingCancel) -> dict[str, Any]:
    """Cancel a meeting with a reason: it stays listed and no longer counts."""
    return meeting_svc.cancel_meeting(session, meeting_id, who, reason=body.reason).as_dict()


@router.get("/meetings/{meeting_id}/minutes", summary="下载会议记录",
            responses={200: {"content": {"application/pdf": {}, "application/octet-stream": {}}}})  # fmt: skip
def meeting_minutes(session: SessionDep, who: PersonalDep, meeting_id: RowId) -> Response:
    """The minutes file of a meeting (personal data: only inside the caller's scope; the download is logged)."""
    minutes = meeting_svc.minutes_file(session, meeting_id, who)
    log_view(session, who, "party_meeting", None, page=f"/api/party/meetings/{meeting_id}/minutes", rows=1)
    disposition = f"attachment; filename*=UTF-8''{quote(minutes.name)}"
    return Response(minutes.data, media_type=minutes.content_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})  # fmt: skip


@router.put("/meetings/{meeting_id}/minutes", response_model=MeetingPublic, summary="上传（替换）会议记录")
def put_minutes(
    session: SessionDep,
    who: EditorDep,
    meeting_id: RowId,
    minutes: Annotated[UploadFile, File(description=MINUTES_HELP)],
) -> dict[str, Any]:
    """Attach (or replace) the minutes of a meeting that was not cancelled (``multipart/form-data``)."""
    checked = read_minutes(minutes)
    if checked is None:
        checked = meeting_svc.check_minutes(None, b"")
    return meeting_svc.attach_minutes(session, meeting_id, who, checked).as_dict()


# ------------------------------------------------------------------------------------------------ duty areas


@router.get("/duty-areas", response_model=list[DutyAreaPublic], summary="党员责任区列表")
def list_areas(
    session: SessionDep,
    who: PersonalDep,
    parent: Parent = None,
    include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
    geometry: Annotated[bool, Query(description="附带范围的 GeoJSON")] = False,
) -> list[dict[str, Any]]:
    """The 责任区 in force (or with the retired ones) lying under ``parent``, by code, with their members."""
    areas = duty_svc.list_areas(session, who, parent=parent, include_retired=include_retired, shapes=geometry)
    _seen(session, who, "party_duty_area", parent, "/api/party/duty-areas", len(areas))
    return [a.as_dict(shapes=geometry) for a in areas]


@router.get("/duty-areas/features", summary="党员责任区（GeoJSON 要素集合）",
            responses={200: {"content": {"application/geo+json": {}}}})  # fmt: skip
def area_features(session: SessionDep, who: PersonalDep, parent: Parent = None) -> Response:
    """The 责任区 in force under ``parent`` as a GeoJSON FeatureCollection (properties: code, name, duty, org,
    members), for GIS software."""
    areas = duty_svc.list_areas(session, who, parent=parent, shapes=True)
    _seen(session, who, "party_duty_area", parent, "/api/party/duty-areas/features", len(areas))
    features = [{"type": "Feature", "geometry": a.geometry,
                 "properties": a.as_dict(shapes=False) | {"valid_from": a.valid_from.isoformat(), "valid_to": None}}
                for a in areas]  # fmt: skip
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=str)
    return Response(body, media_type="application/geo+json")


@router.get("/duty-areas/check", response_model=list[FindingPublic], summary="责任区检查：楼院内重叠与未覆盖部分")
def check_areas(session: SessionDep, settings: SettingsDep, who: PersonalDep, parent: Parent = None) -> list[Any]:
    """Overlaps between 责任区 inside a compound and the parts of each compound no 责任区 covers (with the grid
    validation's tolerance and smallest gap)."""
    found = duty_svc.check_areas(session, who, parent=parent, tolerance_m=settings.tolerance_m,
                                 min_gap_area_m2=settings.min_gap_area_m2)  # fmt: skip
    return [f.as_dict() | {"rule_zh": duty_svc.RULE_LABELS[f.rule]} for f in found]


@router.post("/duty-areas", response_model=DutyAreaPublic, status_code=status.HTTP_201_CREATED,
             summary="新建党员责任区（GeoJSON）", responses=CREATED)  # fmt: skip
def create_area(
    session: SessionDep, settings: SettingsDep, who: EditorDep, response: Response, body: DutyAreaCreate
) -> dict[str, Any]:
    """Add a 责任区 from GeoJSON with its duty, organisation and responsible Party members."""
    area = duty_svc.create_area(session, who, code=body.code, name=body.name, duty=body.duty,
                                geometry=area_shape(body.geometry, crs=body.crs), org=body.org, members=body.members,
                                effective=body.effective, timezone=settings.timezone)  # fmt: skip
    return tagged(response, area, f"/api/party/duty-areas/{quote(area.code, safe='')}")


@router.get("/duty-areas/{code}", response_model=DutyAreaPublic, summary="党员责任区详情（含范围与 ETag）",
            responses=TAGGED)  # fmt: skip
def get_area(session: SessionDep, who: PersonalDep, response: Response, code: AreaPath) -> dict[str, Any]:
    """The 责任区's current state (live or retired) with its polygon."""
    area = duty_svc.get_area(session, code, who)
    _seen(session, who, "party_duty_area", None, f"/api/party/duty-areas/{area.code}", 1)
    return tagged(response, area)


def _area_changes(body: DutyAreaUpdate) -> tuple[dict[str, Any], dt.date | None]:
    """The fields a change of a 责任区 gives (its geometry read in ``crs``; null members: none), and its day."""
    changes = body.model_dump(exclude_unset=True, exclude={"crs", "effective"})
    if changes.get("geometry") is not None:
        changes["geometry"] = area_shape(changes["geometry"], crs=body.crs)
    if "members" in changes and changes["members"] is None:
        changes["members"] = []
    return changes, body.effective


add_update_route(router, "/duty-areas/{code}", name="update_area", summary="修改党员责任区（需 If-Match，保留历史）",
                 model=DutyAreaPublic, writer=EditorDep,
                 code_param=AreaPath, body_model=DutyAreaUpdate, update=duty_svc.update_area,
                 prepare=_area_changes)  # fmt: skip


add_retire_route(router, "/duty-areas/{code}", name="retire_area",
                 summary="撤销党员责任区（需 If-Match 与原因；记录、范围与历史保留）",
                 description="Retire the version named by ``If-Match`` with a reason, from ``date``; the row stays.",
                 model=DutyAreaPublic, writer=EditorDep, code_param=AreaPath, body_model=Retire,
                 retire=duty_svc.retire_area, reason_max_length=200)  # fmt: skip


@router.get("/duty-areas/{code}/history", response_model=list[DutyAreaPublic], summary="党员责任区变更历史")
def area_history(session: SessionDep, who: PersonalDep, code: AreaPath) -> list[dict[str, Any]]:
    """Every state the 责任区 has had, with its polygon, oldest first."""
    versions = duty_svc.area_history(session, code, who)
    _seen(session, who, "party_duty_area", None, f"/api/party/duty-areas/{code}/history", len(versions))
    return [a.as_dict() for a in versions]
