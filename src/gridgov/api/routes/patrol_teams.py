"""Patrol teams, members, areas and planned routes over HTTP (巡逻队与巡逻区域).

Reads need the ``read`` role, writes the ``patrol`` role; the service (:mod:`gridgov.patrol.teams`) checks the scope
of every write. Teams and areas are read with an ``ETag``; a change or a retirement names the version it was made
on in ``If-Match`` (a stale one is 412 and nothing is written, a missing one 428), as for records. A retirement keeps
the record and its history. Geometries are GeoJSON in WGS84 (or in ``crs``): an area is a polygon (or the union of
a feature collection's polygons), a route one line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from gridgov.api.dependencies import PatrolDep, SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery, MomentQuery
from gridgov.api.routes.records import Text
from gridgov.api.routes.versioned import add_create_route, add_retire_route, add_update_route
from gridgov.api.versions import CREATED, TAGGED, WRITE_ERRORS, IfMatch, expected_version, optional_version, tagged
from gridgov.patrol import teams as svc
from gridgov.periods import as_of_moment
from gridgov.vocab import PATROL_TEAM_KINDS, SHIFTS, TEAM_MEMBER_ROLES

router = APIRouter(prefix="/api/patrol", tags=["巡逻勤务"])

KIND_HELP = f"类型：{'、'.join(PATROL_TEAM_KINDS.terms)}（也接受常用说法，如 干部、志愿者）"
SHIFT_HELP = f"常规班次：{'、'.join(SHIFTS.terms)}"
ROLE_HELP = f"队内职务：{'、'.join(TEAM_MEMBER_ROLES.terms)}"
CRS_HELP = "几何的坐标系：EPSG:4326（默认）、EPSG:4490、EPSG:4491–4554 或 gcj02"
TeamPath = Annotated[Text, Path(description="巡逻队编码")]
AreaPath = Annotated[Text, Path(description="巡逻区域编码")]
StaffPath = Annotated[Text, Path(description="人员编码")]
AsOf = Annotated[MomentQuery, Query(description="历史时点：YYYY-MM-DD（当日结束时）或 ISO 8601 时间")]


# ------------------------------------------------------------------------------------------------ models


class TeamPublic(BaseModel):
    """One state of a patrol team."""

    id: int = Field(description="巡逻队编号（终身不变）")
    code: str = Field(description="编码")
    name: str = Field(description="名称")
    kind: str | None = Field(description=KIND_HELP)
    shift: str | None = Field(description=SHIFT_HELP)
    unit: str | None = Field(description="所属单位（每日通知按单位分组）")
    grid_code: str | None = Field(description="服务的社区或街道的网格编码（即其范围）")
    grid_name: str | None = Field(description="服务的网格名称")
    grid_level: str | None = Field(description="服务的网格层级")
    leader_code: str | None = Field(description="队长的人员编码")
    leader_name: str | None = Field(description="队长姓名")
    leader_phone: str | None = Field(description="队长电话")
    leader_from_members: bool = Field(description="未指定队长时，取队内职务为「队长」的在队队员")
    members: int = Field(description="在队队员人数")
    areas: list[str] = Field(description="巡逻区域编码")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="撤销时间（现有的为 null）")
    retired: bool = Field(description="是否已撤销")
    end_reason: str | None = Field(description="撤销原因")
    updated_by: str | None = Field(description="最后修改人")


class TeamCreate(BaseModel):
    """A new patrol team."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码，如 PT05")
    name: Text = Field(max_length=200, description="名称")
    kind: Text | None = Field(default=None, description=KIND_HELP)
    shift: Text | None = Field(default=None, description=SHIFT_HELP)
    unit: Text | None = Field(default=None, max_length=200, description="所属单位")
    grid: Text | None = Field(default=None, description="服务的社区或街道的网格编码（默认：调用者的范围）")
    leader: Text | None = Field(default=None, description="队长的人员编码")
    effective: DateQuery = Field(default=None, description="成立日期 YYYY-MM-DD（默认今天；补登时填写）")


class TeamUpdate(BaseModel):
    """A change to a team: only the fields given (an empty string or null clears kind, shift, unit, grid, leader)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200, description="名称")
    kind: Text | None = Field(default=None, description=KIND_HELP)
    shift: Text | None = Field(default=None, description=SHIFT_HELP)
    unit: Text | None = Field(default=None, max_length=200, description="所属单位")
    grid: Text | None = Field(default=None, description="服务的社区或街道的网格编码")
    leader: Text | None = Field(default=None, description="队长的人员编码")
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class TeamRetire(BaseModel):
    """A retirement: why, from which day, and whether the team's rosters from that night on are cancelled."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, description="撤销原因：合并、调整、录入错误 …（必填）")
    date: DateQuery = Field(default=None, description="撤销日期 YYYY-MM-DD（默认今天）")
    cancel_rosters: bool = Field(default=False, description="一并取消其撤销日及以后的排班（否则有排班时拒绝）")


class MemberPublic(BaseModel):
    """A staff member's membership of a team."""

    id: int = Field(description="记录编号")
    staff_code: str = Field(description="人员编码")
    staff_name: str = Field(description="姓名")
    phone: str | None = Field(description="电话")
    organisation: str | None = Field(description="单位")
    role: str = Field(description=ROLE_HELP)
    since: dt.date = Field(description="入队日期")
    until: dt.date | None = Field(description="离队日期（当日起不再是队员；在队为 null）")
    end_reason: str | None = Field(description="离队原因")
    in_force: bool = Field(description="所查日期是否在队")


class MemberCreate(BaseModel):
    """A staff member joining a team: one on record (``staff_code``), or a volunteer not on record yet (``name`` and
    ``phone``), entered as staff in the same request."""

    model_config = ConfigDict(extra="forbid")
    staff_code: Text | None = Field(default=None, description="人员编码（网格工作人员，含志愿者）")
    name: Text | None = Field(default=None, max_length=200,
                              description="新队员（未登记的志愿者）的姓名（不给人员编码时必填）")
    phone: Text | None = Field(default=None, max_length=32, description="新队员的电话（不给人员编码时必填）")
    organisation: Text | None = Field(default=None, max_length=200, description="新队员的单位")
    role: Text | None = Field(default=None, description=ROLE_HELP + "（默认 队员）")
    since: DateQuery = Field(default=None, description="入队日期 YYYY-MM-DD（默认今天）")


class MemberEnd(BaseModel):
    """A member leaving a team."""

    model_config = ConfigDict(extra="forbid")
    until: DateQuery = Field(default=None, description="离队日期 YYYY-MM-DD（当日起不再是队员；默认今天）")
    reason: Text | None = Field(default=None, max_length=200, description="离队原因（默认「离队」）")


class AreaPublic(BaseModel):
    """One state of a patrol area."""

    id: int = Field(description="巡逻区域编号（终身不变）")
    code: str = Field(description="编码")
    name: str | None = Field(description="名称")
    team_code: str | None = Field(description="巡逻队编码")
    team_name: str | None = Field(description="巡逻队名称")
    team_retired: bool = Field(description="巡逻队是否已撤销")
    rota_codes: list[str] = Field(description="轮值牵头社区编码：第一个单月牵头，第二个双月牵头")
    rota_names: list[str] = Field(description="轮值牵头社区名称")
    communities: list[str] = Field(description="区域涉及的社区（「编码 名称」）")
    area_m2: float = Field(description="面积（平方米）")
    route_m: float | None = Field(description="计划路线长度（米；无路线为 null）")
    has_route: bool = Field(description="是否有计划路线")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="撤销时间（现有的为 null）")
    retired: bool = Field(description="是否已撤销")
    end_reason: str | None = Field(description="撤销原因")
    updated_by: str | None = Field(description="最后修改人")
    geometry: dict[str, Any] | None = Field(default=None, description="范围：GeoJSON MultiPolygon（WGS84）")
    route: dict[str, Any] | None = Field(default=None, description="计划路线：GeoJSON LineString（WGS84）")


class AreaCreate(BaseModel):
    """A new patrol area."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码")
    name: Text = Field(max_length=200, description="名称")
    geometry: dict[str, Any] = Field(description="范围：GeoJSON 面，或要素（集合）——其中的面合并为一个区域")
    team: Text | None = Field(default=None, description="巡逻队编码")
    rota: list[Text] | None = Field(default=None, max_length=2, description="轮值牵头社区编码：[单月, 双月]")
    route: dict[str, Any] | None = Field(default=None, description="计划路线：GeoJSON 线")
    crs: Text | None = Field(default=None, description=CRS_HELP)
    effective: DateQuery = Field(default=None, description="启用日期 YYYY-MM-DD（默认今天）")


class AreaUpdate(BaseModel):
    """A change to an area: only the fields given (null or an empty list clears team, rota, route)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200, description="名称")
    geometry: dict[str, Any] | None = Field(default=None, description="新范围：GeoJSON 面（或要素集合）")
    team: Text | None = Field(default=None, description="巡逻队编码")
    rota: list[Text] | None = Field(default=None, max_length=2, description="轮值牵头社区编码：[单月, 双月]")
    route: dict[str, Any] | None = Field(default=None, description="计划路线：GeoJSON 线")
    crs: Text | None = Field(default=None, description=CRS_HELP)
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class AreaRetire(BaseModel):
    """An area's retirement: why and from which day."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, description="撤销原因：调整、合并、录入错误 …（必填）")
    date: DateQuery = Field(default=None, description="撤销日期 YYYY-MM-DD（默认今天）")


class RoutePut(BaseModel):
    """A planned route: one line (lines that join end to end are merged)."""

    model_config = ConfigDict(extra="forbid")
    geometry: dict[str, Any] = Field(description="GeoJSON 线（LineString），或要素（集合）")
    crs: Text | None = Field(default=None, description=CRS_HELP)


# ------------------------------------------------------------------------------------------------ teams


@router.get("/teams", response_model=list[TeamPublic], summary="巡逻队列表")
def list_teams(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
    as_of: AsOf = None,
) -> list[dict[str, Any]]:
    """The teams in force (or at ``as_of``, or with the retired ones), by code."""
    teams = svc.list_teams(session, who, include_retired=include_retired, timezone=settings.timezone,
                           as_of_moment=as_of_moment(as_of, settings.timezone))  # fmt: skip
    return [t.as_dict() for t in teams]


add_create_route(router, "/teams", name="create_team", summary="新建巡逻队",
                 description="Add a team serving a community or the street (default: the caller's scope).",
                 model=TeamPublic, writer=PatrolDep, body_model=TeamCreate, create=svc.create_team)  # fmt: skip


@router.get("/teams/{code}", response_model=TeamPublic, summary="巡逻队详情（含 ETag）", responses=TAGGED)
def get_team(
    session: SessionDep, settings: SettingsDep, who: ViewerDep, response: Response, code: TeamPath, as_of: AsOf = None
) -> dict[str, Any]:
    """The team's current state (live or retired), or its state at ``as_of``."""
    team = svc.get_team(session, code, who, as_of_moment=as_of_moment(as_of, settings.timezone),
                        timezone=settings.timezone)  # fmt: skip
    return tagged(response, team)


add_update_route(router, "/teams/{code}", name="update_team", summary="修改巡逻队（需 If-Match，保留历史）",
                 model=TeamPublic, writer=PatrolDep, code_param=TeamPath,
                 body_model=TeamUpdate, update=svc.update_team)  # fmt: skip


@router.delete("/teams/{code}", response_model=TeamPublic, responses={**WRITE_ERRORS, **TAGGED},
               summary="撤销巡逻队（需 If-Match 与原因；队员当日离队，记录与历史保留）")  # fmt: skip
def retire_team(
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    response: Response,
    code: TeamPath,
    if_match: IfMatch = None,
    reason: Annotated[Text | None, Query(description="撤销原因（也可放在请求体中）")] = None,
    date: Annotated[DateQuery, Query(description="撤销日期 YYYY-MM-DD（默认今天）")] = None,
    cancel_rosters: Annotated[bool, Query(description="一并取消其撤销日及以后的排班")] = False,
    body: TeamRetire | None = None,
) -> dict[str, Any]:
    """Retire the version named by ``If-Match``; a team rostered on that night or later is refused (409, naming
    the nights) unless ``cancel_rosters``."""
    expected = expected_version(if_match)
    given = body or TeamRetire()
    team = svc.retire_team(session, code, who, reason=given.reason or reason or "", expected_version=expected,
                           day=given.date or date, cancel_rosters=given.cancel_rosters or cancel_rosters,
                           timezone=settings.timezone)  # fmt: skip
    return tagged(response, team)


@router.get("/teams/{code}/history", response_model=list[TeamPublic], summary="巡逻队变更历史")
def team_history(session: SessionDep, settings: SettingsDep, who: ViewerDep, code: TeamPath) -> list[dict[str, Any]]:
    """Every state the team has had, oldest first."""
    return [t.as_dict() for t in svc.team_history(session, code, who, timezone=settings.timezone)]


@router.get("/teams/{code}/members", response_model=list[MemberPublic], summary="巡逻队队员")
def team_members(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    code: TeamPath,
    on: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
    include_ended: Annotated[bool, Query(description="全部记录（含已离队的）")] = False,
) -> list[dict[str, Any]]:
    """The members in force on ``on`` (today), or every membership the team has had."""
    members = svc.team_members(session, code, who, on_day=on, include_ended=include_ended, timezone=settings.timezone)
    return [m.as_dict() for m in members]


@router.post("/teams/{code}/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED,
             summary="队员入队（已登记人员，或新的志愿者）")  # fmt: skip
def add_member(
    session: SessionDep, settings: SettingsDep, who: PatrolDep, code: TeamPath, body: MemberCreate
) -> dict[str, Any]:
    """Make a staff member (by code), or a volunteer not on record yet (by name and phone, entered as staff), a
    member of the team from ``since`` (today)."""
    member = svc.add_member(session, code, who, **body.model_dump(), timezone=settings.timezone)
    return member.as_dict()


@router.post("/teams/{code}/members/{staff_code}/end", response_model=MemberPublic, summary="队员离队")
def end_member(
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: TeamPath,
    staff_code: StaffPath,
    body: MemberEnd | None = None,
) -> dict[str, Any]:
    """End the staff member's membership of the team on ``until`` (today); the record stays."""
    given = body or MemberEnd()
    member = svc.end_member(session, code, who, staff_code=staff_code, until=given.until, reason=given.reason,
                            timezone=settings.timezone)  # fmt: skip
    return member.as_dict()


# ------------------------------------------------------------------------------------------------ areas


@router.get("/areas", response_model=list[AreaPublic], summary="巡逻区域列表")
def list_areas(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    team: Annotated[Text | None, Query(description="只列此巡逻队的")] = None,
    include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
    geometry: Annotated[bool, Query(description="附带范围与路线的 GeoJSON")] = False,
    as_of: AsOf = None,
) -> list[dict[str, Any]]:
    """The areas in force (or at ``as_of``, or with the retired ones), by code."""
    areas = svc.list_areas(session, who, team=team, include_retired=include_retired, shapes=geometry,
                           as_of_moment=as_of_moment(as_of, settings.timezone))  # fmt: skip
    return [a.as_dict(shapes=geometry) for a in areas]


@router.post("/areas", response_model=AreaPublic, status_code=status.HTTP_201_CREATED, summary="新建巡逻区域",
             responses=CREATED)  # fmt: skip
def create_area(
    session: SessionDep, settings: SettingsDep, who: PatrolDep, response: Response, body: AreaCreate
) -> dict[str, Any]:
    """Add an area (of a team or none), shared by the rota communities, with its planned route when given."""
    area = svc.create_area(session, who, code=body.code, name=body.name,
                           geometry=svc.area_shape(body.geometry, crs=body.crs), team=body.team, rota=body.rota,
                           route=svc.route_shape(body.route, crs=body.crs) if body.route is not None else None,
                           effective=body.effective, timezone=settings.timezone)  # fmt: skip
    return tagged(response, area, f"/api/patrol/areas/{quote(area.code, safe='')}")


@router.get("/areas/{code}", response_model=AreaPublic, summary="巡逻区域详情（含范围、路线与 ETag）",
            responses=TAGGED)  # fmt: skip
def get_area(
    session: SessionDep, settings: SettingsDep, who: ViewerDep, response: Response, code: AreaPath, as_of: AsOf = None
) -> dict[str, Any]:
    """The area's current state (live or retired) with its geometry and route, or its state at ``as_of``."""
    area = svc.get_area(session, code, who, as_of_moment=as_of_moment(as_of, settings.timezone))
    return tagged(response, area)


def _area_changes(body: AreaUpdate) -> tuple[dict[str, Any], dt.date | None]:
    """The fields a change of an area gives (geometry and route read in ``crs``), and its day."""
    changes = body.model_dump(exclude_unset=True, exclude={"crs", "effective"})
    if changes.get("geometry") is not None:
        changes["geometry"] = svc.area_shape(changes["geometry"], crs=body.crs)
    if changes.get("route") is not None:
        changes["route"] = svc.route_shape(changes["route"], crs=body.crs)
    return changes, body.effective


add_update_route(router, "/areas/{code}", name="update_area", summary="修改巡逻区域（需 If-Match，保留历史）",
                 model=AreaPublic, writer=PatrolDep, code_param=AreaPath,
                 body_model=AreaUpdate, update=svc.update_area, prepare=_area_changes)  # fmt: skip


add_retire_route(router, "/areas/{code}", name="retire_area",
                 summary="撤销巡逻区域（需 If-Match 与原因；记录、范围与历史保留）",
                 description="Retire the version named by ``If-Match`` with a reason, from ``date``; the row stays.",
                 model=AreaPublic, writer=PatrolDep, code_param=AreaPath, body_model=AreaRetire,
                 retire=svc.retire_area)  # fmt: skip


@router.put("/areas/{code}/route", response_model=AreaPublic, summary="设置计划路线（If-Match 可选）",
            responses={412: WRITE_ERRORS[412], **TAGGED})  # fmt: skip
def put_route(
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    response: Response,
    code: AreaPath,
    body: RoutePut,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Set the area's planned route (a new version of the area)."""
    area = svc.set_route(session, code, svc.route_shape(body.geometry, crs=body.crs), who,
                         expected_version=optional_version(if_match), timezone=settings.timezone)  # fmt: skip
    return tagged(response, area)


@router.delete("/areas/{code}/route", response_model=AreaPublic, summary="清除计划路线（If-Match 可选）",
               responses={412: WRITE_ERRORS[412], **TAGGED})  # fmt: skip
def delete_route(
    session: SessionDep, settings: SettingsDep, who: PatrolDep, response: Response, code: AreaPath,
    if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    """Clear the area's planned route (a new version of the area)."""
    area = svc.set_route(session, code, None, who, expected_version=optional_version(if_match),
                         timezone=settings.timezone)  # fmt: skip
    return tagged(response, area)
