"""Party organisations, posts, memberships, members' registers, resident units and 党员联系户 over HTTP (党建网格).

The structure (organisations, units) is read with the ``read`` role, names in it (secretaries, contacts) only by
readers with personal data rights over it (None otherwise); members, posts, registers and 联系户 need ``personal``
in scope; every write needs ``write`` and the services check its scope. Organisations and units are read with an
``ETag``; a change or a retirement names the version it was made on in ``If-Match`` (a stale one is 412, a missing
one 428), as for records. Imports are atomic: a refused file answers 422 with row-numbered errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gridgov.api.dependencies import EditorDep, PersonalDep, SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery, MomentQuery, RowId
from gridgov.api.responses import refused
from gridgov.api.routes.records import Text
from gridgov.api.routes.versioned import add_create_route, add_retire_route, add_update_route
from gridgov.api.schemas import EntityImportPublic
from gridgov.api.uploads import save_upload
from gridgov.api.versions import TAGGED, WRITE_ERRORS, IfMatch, optional_version, tagged
from gridgov.party import contacts, imports, members, orgs, registers, units
from gridgov.party.rules import PartyRules
from gridgov.periods import as_of_moment

router = APIRouter(prefix="/api/party", tags=["党建网格"])

OrgPath = Annotated[Text, Path(description="党组织编码")]
PersonPath = Annotated[Text, Path(description="党员的人员编码")]
UnitPath = Annotated[Text, Path(description="驻区单位编码")]
HouseholdPath = Annotated[Text, Path(description="户编码")]
AsOf = Annotated[MomentQuery, Query(description="历史时点：YYYY-MM-DD（当日结束时）或 ISO 8601 时间")]
Parent = Annotated[Text | None, Query(description="网格编码：只看此网格及其下级（默认：调用者的范围）")]
PAST_DAY = "日期 YYYY-MM-DD（可早于 2000 年，不能晚于今天）"
KIND_HELP = "类别：党委、党总支、党支部、党小组（也接受 支部 等常用说法）"
FORM_HELP = "形式：社区党组织、网格党支部、楼院党支部、驻区单位党组织、两新党组织、楼栋党小组 …"
HOLDER_HELP = "党员的人员编码，或网格工作人员的人员编码"
SHOW_HELP = "all 全部；unreported 在职未报到；flowing 流动党员；loose 未编入党组织；unlinked 未联系住户"


# ------------------------------------------------------------------------------------------------ models


class OrgPublic(BaseModel):
    """One state of a Party organisation (secretary and phone: null without personal data rights over it)."""

    id: int = Field(description="党组织编号（终身不变）")
    code: str = Field(description="编码")
    name: str = Field(description="名称")
    kind: str = Field(description=KIND_HELP)
    form: str = Field(description=FORM_HELP)
    parent_code: str | None = Field(description="上级党组织编码")
    parent_name: str | None = Field(description="上级党组织名称")
    grid_codes: list[str] = Field(description="所建网格的编码（支部建在网格上）")
    grid_names: list[str] = Field(description="所建网格的名称")
    unit_code: str | None = Field(description="所属驻区单位编码")
    unit_name: str | None = Field(description="所属驻区单位名称")
    secretary_code: str | None = Field(description="书记的人员编码（党员的编码仅对有权查看个人信息者给出）")
    secretary_kind: str | None = Field(description="书记是「党员」还是「工作人员」")
    secretary_name: str | None = Field(description="书记姓名（仅对有权查看个人信息者给出）")
    phone: str | None = Field(description="联系电话（仅对有权查看个人信息者给出）")
    founded_on: dt.date | None = Field(description="成立日期")
    members: int = Field(description="在册党员数（本组织）")
    members_total: int = Field(description="在册党员数（含下级组织；仅列表给出）")
    personal: bool = Field(description="调用者可否查看此组织的个人信息")
    version: int = Field(description="版本号（ETag 即带引号的版本号）")
    valid_from: dt.datetime = Field(description="此版本生效时间")
    valid_to: dt.datetime | None = Field(description="撤销时间（现有的为 null）")
    retired: bool = Field(description="是否已撤销")
    end_reason: str | None = Field(description="撤销原因")
    updated_by: str | None = Field(description="最后修改人")


class OrgCreate(BaseModel):
    """A new Party organisation."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码，如 DZB01")
    name: Text = Field(max_length=200, description="名称")
    kind: Text = Field(description=KIND_HELP)
    form: Text = Field(description=FORM_HELP)
    parent: Text | None = Field(default=None, description="上级党组织编码")
    grids: list[Text] = Field(default_factory=list, description="所建网格的编码")
    unit: Text | None = Field(default=None, description="所属驻区单位编码（驻区单位党组织）")
    secretary: Text | None = Field(default=None, description="书记：" + HOLDER_HELP)
    phone: Text | None = Field(default=None, max_length=32, description="联系电话")
    founded_on: Text | None = Field(default=None, description="成立" + PAST_DAY)
    effective: DateQuery = Field(default=None, description="记录生效日期 YYYY-MM-DD（默认今天）")


class OrgUpdate(BaseModel):
    """A change to an organisation: only the fields given (null or an empty string or list clears a field)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200, description="名称")
    kind: Text | None = Field(default=None, description=KIND_HELP)
    form: Text | None = Field(default=None, description=FORM_HELP)
    parent: Text | None = Field(default=None, description="上级党组织编码")
    grids: list[Text] | None = Field(default=None, description="所建网格的编码")
    unit: Text | None = Field(default=None, description="所属驻区单位编码")
    secretary: Text | None = Field(default=None, description="书记：" + HOLDER_HELP)
    phone: Text | None = Field(default=None, max_length=32, description="联系电话")
    founded_on: Text | None = Field(default=None, description="成立" + PAST_DAY)
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class RecordEnd(BaseModel):
    """A dissolution or retirement: why and from which day."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, max_length=200, description="原因：合并、调整、录入错误 …（必填）")
    date: DateQuery = Field(default=None, description="日期 YYYY-MM-DD（默认今天）")


class PostPublic(BaseModel):
    """A committee post of an organisation."""

    id: int = Field(description="任职编号")
    org_code: str = Field(description="党组织编码")
    post: str = Field(description="职务")
    holder_code: str | None = Field(description="任职人的人员编码")
    holder_kind: str = Field(description="任职人是「党员」还是「工作人员」")
    holder_name: str | None = Field(description="任职人姓名")
    unit_code: str | None = Field(description="兼职委员所在成员单位的编码")
    unit_name: str | None = Field(description="兼职委员所在成员单位的名称")
    since: dt.date = Field(description="任职日期")
    until: dt.date | None = Field(description="结束日期（当日起不再担任；在任为 null）")
    end_reason: str | None = Field(description="结束原因")
    in_force: bool = Field(description="今天是否在任")


class PostCreate(BaseModel):
    """Someone taking a post."""

    model_config = ConfigDict(extra="forbid")
    post: Text = Field(description="职务：书记、副书记、组织委员、宣传委员、纪检委员、委员、兼职委员、党小组长 …")
    holder: Text = Field(description=HOLDER_HELP)
    unit: Text | None = Field(default=None, description="兼职委员所在的成员单位编码")
    since: DateQuery = Field(default=None, description="任职日期 YYYY-MM-DD（默认今天）")


class Ending(BaseModel):
    """The end of a post or a membership: the day and why."""

    model_config = ConfigDict(extra="forbid")
    until: DateQuery = Field(default=None, description="日期 YYYY-MM-DD（当日起结束；默认今天）")
    reason: Text | None = Field(default=None, max_length=200, description="原因（组织关系：转出、去世 …必填）")


class MembershipPublic(BaseModel):
    """A member's organisation on the days ``since <= day < until``."""

    id: int = Field(description="记录编号")
    person_code: str = Field(description="党员的人员编码")
    person_name: str = Field(description="姓名")
    org_code: str = Field(description="党组织编码")
    org_name: str = Field(description="党组织名称")
    org_kind: str = Field(description="党组织类别")
    since: dt.date = Field(description="编入日期")
    until: dt.date | None = Field(description="离开日期（在册为 null）")
    end_reason: str | None = Field(description="离开原因（转入 …、转出、去世 …）")
    in_force: bool = Field(description="今天是否在册")


class MembershipCreate(BaseModel):
    """A member joining an organisation (a membership in force elsewhere ends that day)."""

    model_config = ConfigDict(extra="forbid")
    person: Text = Field(description="党员的人员编码")
    since: DateQuery = Field(default=None, description="编入日期 YYYY-MM-DD（默认今天）")


class MemberRowPublic(BaseModel):
    """A member in a list."""

    code: str
    name: str
    member_type: str | None = Field(description="党员类型")
    birth_year: int | None
    grid_code: str | None = Field(description="居住网格")
    grid_name: str | None
    org_code: str | None = Field(description="所在党组织编码")
    org_name: str | None
    reported_on: dt.date | None = Field(description="到社区报到日期")
    flow: str | None = Field(description="流动方向")
    certified: bool = Field(description="有流动党员活动证")
    shows_identity: bool = Field(description="同意亮身份")
    links: int = Field(description="联系户数")


class MemberListPublic(BaseModel):
    """Members under a grid (at most 2000 listed) and how many there are."""

    total: int
    members: list[MemberRowPublic]


class RegisterPublic(BaseModel):
    """A member's registers."""

    person_code: str
    person_name: str
    member_type: str | None
    household_code: str | None
    grid_code: str | None
    grid_name: str | None
    org_code: str | None
    joined_party_on: dt.date | None = Field(description="入党日期")
    employer: str | None = Field(description="工作单位")
    employer_org: str | None = Field(description="单位党组织")
    reported_on: dt.date | None = Field(description="到社区报到日期")
    flow: str | None = Field(description="流动方向：流入、流出")
    flow_place: str | None = Field(description="流入地或流出地")
    certificate_no: str | None = Field(description="流动党员活动证号")
    certificate_on: dt.date | None = Field(description="活动证发证日期")
    flow_mode: str | None = Field(description="管理方式：直管、代管、协管")
    shows_identity: bool = Field(description="同意亮身份（公示牌显示姓名）")
    certified: bool = Field(description="持有活动证")
    updated_at: dt.datetime | None
    updated_by: str | None


class RegisterUpdate(BaseModel):
    """Register fields to set (only those given; null or an empty string clears one)."""

    model_config = ConfigDict(extra="forbid")
    joined_party_on: Text | None = Field(default=None, description="入党" + PAST_DAY)
    employer: Text | None = Field(default=None, max_length=200, description="工作单位")
    employer_org: Text | None = Field(default=None, max_length=200, description="单位党组织")
    reported_on: Text | None = Field(default=None, description="到社区报到" + PAST_DAY)
    flow: Text | None = Field(default=None, description="流动方向：流入、流出")
    flow_place: Text | None = Field(default=None, max_length=200, description="流入地或流出地")
    certificate_no: Text | None = Field(default=None, max_length=40, description="流动党员活动证号")
    certificate_on: Text | None = Field(default=None, description="活动证发证" + PAST_DAY)
    flow_mode: Text | None = Field(default=None, description="管理方式：直管、代管、协管")
    shows_identity: bool | None = Field(default=None, description="同意亮身份（公示牌显示姓名）")


class LinkPublic(BaseModel):
    """A member linked to a household."""

    person_code: str
    person_name: str
    household_code: str
    address: str | None
    grid_code: str | None
    grid_name: str | None
    since: dt.date = Field(description="开始联系的日期")
    created_by: str | None
    visits: int = Field(description="走访次数")
    last_visit: dt.date | None = Field(description="最近走访日期")


class VisitPublic(BaseModel):
    """A visit of a member to a household they link."""

    id: int
    person_code: str
    household_code: str
    address: str | None
    visited_on: dt.date
    note: str | None
    created_by: str | None
    created_at: dt.datetime


class ProfilePublic(BaseModel):
    """One member: who and where, organisations over time, registers, 联系户 and visits."""

    code: str
    name: str
    member_type: str | None
    birth_year: int | None
    phone: str | None
    household_code: str | None
    address: str | None
    grid_code: str | None
    grid_name: str | None
    memberships: list[MembershipPublic]
    party_register: RegisterPublic
    links: list[LinkPublic]
    visits: list[VisitPublic]


class LinkCreate(BaseModel):
    """A member linking a household (at most PartySettings.party_contacts_max each)."""

    model_config = ConfigDict(extra="forbid")
    person: Text = Field(description="党员的人员编码")
    household: Text = Field(description="户编码")
    since: DateQuery = Field(default=None, description="开始日期 YYYY-MM-DD（默认今天）")


class VisitCreate(BaseModel):
    """A visit to a linked household."""

    model_config = ConfigDict(extra="forbid")
    day: DateQuery = Field(default=None, description="走访日期 YYYY-MM-DD（默认今天）")
    note: Text | None = Field(default=None, max_length=1000, description="走访记录")


class UnlinkedPublic(BaseModel):
    """Households no member links (at most 500 listed) and how many there are."""

    total: int
    households: list[dict[str, Any]]


class UnitPublic(BaseModel):
    """One state of a resident unit (contact: null without personal data rights over its grid)."""

    id: int
    code: str
    name: str
    kind: str = Field(description="单位类型")
    address: str | None
    lon: float | None = Field(description="经度（WGS84）")
    lat: float | None = Field(description="纬度（WGS84）")
    grid_code: str | None = Field(description="所在网格（按位置自动归属）")
    grid_name: str | None
    contact_name: str | None = Field(description="党建联系人（个人信息）")
    contact_phone: str | None = Field(description="联系人电话（个人信息）")
    has_party_org: bool = Field(description="是否已建党组织")
    member_of_code: str | None = Field(description="所加入的社区大党委编码")
    member_of_name: str | None
    joined_on: dt.date | None = Field(description="加入大党委的日期")
    orgs: list[str] = Field(description="本单位党组织的编码")
    personal: bool
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    retired: bool
    end_reason: str | None
    updated_by: str | None


class UnitCreate(BaseModel):
    """A new resident unit or 两新 organisation."""

    model_config = ConfigDict(extra="forbid")
    code: Text = Field(max_length=40, description="编码")
    name: Text = Field(max_length=200, description="名称")
    kind: Text = Field(description="单位类型：机关事业单位、国有企业、非公企业、社会组织、学校、医院、其他")
    lon: float = Field(description="经度")
    lat: float = Field(description="纬度")
    crs: Text | None = Field(default=None, description="坐标系：EPSG:4326（默认）、EPSG:4490 或 gcj02")
    address: Text | None = Field(default=None, max_length=200)
    contact_name: Text | None = Field(default=None, max_length=200, description="党建联系人")
    contact_phone: Text | None = Field(default=None, max_length=32, description="联系人电话")
    has_party_org: bool = Field(default=False, description="已建党组织")
    effective: DateQuery = Field(default=None, description="记录生效日期 YYYY-MM-DD（默认今天）")


class UnitUpdate(BaseModel):
    """A change to a unit: only the fields given (a new place is lon and lat, with crs)."""

    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, max_length=200)
    kind: Text | None = None
    lon: float | None = None
    lat: float | None = None
    crs: Text | None = None
    address: Text | None = Field(default=None, max_length=200)
    contact_name: Text | None = Field(default=None, max_length=200)
    contact_phone: Text | None = Field(default=None, max_length=32)
    has_party_org: bool | None = None
    effective: DateQuery = Field(default=None, description="变更生效日期 YYYY-MM-DD（默认今天）")


class UnitJoin(BaseModel):
    """Joining a community 大党委 (``org`` null: leaving the one joined)."""

    model_config = ConfigDict(extra="forbid")
    org: Text | None = Field(default=None, description="社区党组织（大党委）的编码；null 表示退出")
    joined_on: Text | None = Field(default=None, description="加入" + PAST_DAY + "（默认今天）")


class PartyImportPublic(EntityImportPublic):
    """The outcome of a Party import (``refused`` means nothing was written)."""

    unchanged: int = Field(description="已是文件所写的行（如已在该组织、已联系该户）")


# ------------------------------------------------------------------------------------------------ organisations


@router.get("/orgs", response_model=list[OrgPublic], summary="党组织列表（组织树，按编码）")
def list_orgs(session: SessionDep, settings: SettingsDep, who: ViewerDep, parent: Parent = None,
              include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
              as_of: AsOf = None) -> list[dict[str, Any]]:  # fmt: skip
    """The organisations under ``parent`` (built on its grids, or below such organisations)."""
    found = orgs.list_orgs(session, who, parent=parent, include_retired=include_retired, timezone=settings.timezone,
                           as_of_moment=as_of_moment(as_of, settings.timezone), page="/api/party/orgs")  # fmt: skip
    return [o.as_dict() for o in found]


add_create_route(router, "/orgs", name="create_org", summary="新建党组织",
                 description="Add an organisation under its parent, built on its grids.", model=OrgPublic,
                 writer=EditorDep, body_model=OrgCreate, create=orgs.create_org)  # fmt: skip


@router.get("/orgs/{code}", response_model=OrgPublic, summary="党组织详情（含 ETag）", responses=TAGGED)
def get_org(session: SessionDep, settings: SettingsDep, who: ViewerDep, response: Response, code: OrgPath,
            as_of: AsOf = None) -> dict[str, Any]:  # fmt: skip
    """The organisation's current state (live or dissolved), or its state at ``as_of``."""
    org = orgs.get_org(session, code, who, as_of_moment=as_of_moment(as_of, settings.timezone),
                       page=f"/api/party/orgs/{code}", timezone=settings.timezone)  # fmt: skip
    return tagged(response, org)


add_update_route(router, "/orgs/{code}", name="update_org", summary="修改党组织（需 If-Match，保留历史）",
                 model=OrgPublic, writer=EditorDep, code_param=OrgPath,
                 body_model=OrgUpdate, update=orgs.update_org)  # fmt: skip


add_retire_route(router, "/orgs/{code}", name="dissolve_org",
                 summary="撤销党组织（需 If-Match 与原因；在任职务与组织关系当日结束，记录与历史保留）",
                 description="Dissolve the version named by ``If-Match``; one with organisations below it is refused "
                             "(409).",
                 model=OrgPublic, writer=EditorDep, code_param=OrgPath, body_model=RecordEnd,
                 retire=orgs.dissolve_org)  # fmt: skip


@router.get("/orgs/{code}/history", response_model=list[OrgPublic], summary="党组织变更历史")
def org_history(session: SessionDep, settings: SettingsDep, who: ViewerDep, code: OrgPath) -> list[dict[str, Any]]:
    """Every state the organisation has had, oldest first."""
    found = orgs.org_history(session, code, who, page=f"/api/party/orgs/{code}/history", timezone=settings.timezone)
    return [o.as_dict() for o in found]


@router.get("/orgs/{code}/members", response_model=list[MembershipPublic], summary="党组织的党员（个人信息）")
def org_members(session: SessionDep, settings: SettingsDep, who: PersonalDep, code: OrgPath,
                on: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
                include_ended: Annotated[bool, Query(description="全部记录（含已离开的）")] = False,
                ) -> list[dict[str, Any]]:  # fmt: skip
    """The members in force on ``on`` (today), or every membership the organisation has had."""
    found = orgs.org_members(session, code, who, on_day=on, include_ended=include_ended, timezone=settings.timezone)
    return [m.as_dict() for m in found]


@router.post("/orgs/{code}/members", response_model=MembershipPublic, status_code=status.HTTP_201_CREATED,
             summary="党员编入党组织（原组织关系当日结束）")  # fmt: skip
def join_org(session: SessionDep, settings: SettingsDep, who: EditorDep, code: OrgPath,
             body: MembershipCreate) -> dict[str, Any]:  # fmt: skip
    """Put a member in the organisation from ``since`` (today)."""
    return orgs.join_org(session, body.person, code, who, since=body.since, timezone=settings.timezone).as_dict()


@router.get("/orgs/{code}/posts", response_model=list[PostPublic], summary="党组织的职务（个人信息）")
def org_posts(session: SessionDep, settings: SettingsDep, who: PersonalDep, code: OrgPath) -> list[dict[str, Any]]:
    """Every post of the organisation, those in force first."""
    return [p.as_dict() for p in orgs.org_detail(session, code, who, timezone=settings.timezone).posts]


@router.post("/orgs/{code}/posts", response_model=PostPublic, status_code=status.HTTP_201_CREATED, summary="任职")
def add_post(session: SessionDep, settings: SettingsDep, who: EditorDep, code: OrgPath,
             body: PostCreate) -> dict[str, Any]:  # fmt: skip
    """A member or a staff member takes a post of the organisation from ``since`` (today)."""
    post = orgs.add_post(session, code, who, post=body.post, holder_code=body.holder, unit=body.unit,
                         since=body.since, timezone=settings.timezone)  # fmt: skip
    return post.as_dict()


@router.post("/orgs/{code}/posts/{post_id}/end", response_model=PostPublic, summary="结束任职")
def end_post(session: SessionDep, settings: SettingsDep, who: EditorDep, code: OrgPath, post_id: RowId,
             body: Ending | None = None) -> dict[str, Any]:  # fmt: skip
    """End the post on ``until`` (today); the record stays."""
    given = body or Ending()
    return orgs.end_post(session, code, post_id, who, until=given.until, reason=given.reason,
                         timezone=settings.timezone).as_dict()  # fmt: skip


# ------------------------------------------------------------------------------------------------ members


@router.get("/members", response_model=MemberListPublic, summary="党员名单（个人信息）")
def list_members(session: SessionDep, who: PersonalDep, parent: Parent = None,
                 show: Annotated[Literal["all", "unreported", "flowing", "loose", "unlinked"],
                                 Query(description=SHOW_HELP)] = "all") -> dict[str, Any]:  # fmt: skip
    """The members under ``parent`` (default: the caller's scope), all or those with something to do."""
    rows, total = members.list_members(session, who, parent=parent, show=show, page="/api/party/members")
    return {"total": total, "members": [r.as_dict() for r in rows]}


@router.get("/members/{code}", response_model=ProfilePublic, summary="党员详情（个人信息）")
def member_profile(session: SessionDep, settings: SettingsDep, who: PersonalDep, code: PersonPath) -> dict[str, Any]:
    """A member: organisations over time, registers, 联系户 and visits."""
    return members.member_profile(session, code, who, page=f"/api/party/members/{code}",
                                  timezone=settings.timezone).as_dict()  # fmt: skip


@router.get("/members/{code}/history", response_model=list[MembershipPublic], summary="党员的组织关系历史")
def member_history(session: SessionDep, settings: SettingsDep, who: PersonalDep,
                   code: PersonPath) -> list[dict[str, Any]]:  # fmt: skip
    """Every organisation the member has belonged to, the current one first."""
    return [m.as_dict() for m in orgs.member_history(session, code, who, timezone=settings.timezone)]


@router.post("/members/{code}/leave", response_model=MembershipPublic, summary="党员离开所在党组织（转出、去世 …）")
def leave_org(session: SessionDep, settings: SettingsDep, who: EditorDep, code: PersonPath,
              body: Ending) -> dict[str, Any]:  # fmt: skip
    """End the member's membership in force on ``until`` (today) with a reason."""
    return orgs.leave_org(session, code, who, reason=body.reason, until=body.until,
                          timezone=settings.timezone).as_dict()  # fmt: skip


@router.patch("/members/{code}/register", response_model=RegisterPublic,
              summary="登记党员信息（在职报到、流动、亮身份）")  # fmt: skip
def set_register(session: SessionDep, settings: SettingsDep, who: EditorDep, code: PersonPath,
                 body: RegisterUpdate) -> dict[str, Any]:  # fmt: skip
    """Set the given register fields."""
    return registers.set_register(session, code, body.model_dump(exclude_unset=True), who,
                                  timezone=settings.timezone).as_dict()  # fmt: skip


@router.get("/registers/unreported", response_model=list[RegisterPublic], summary="在职党员未到社区报到名单")
def unreported(session: SessionDep, who: PersonalDep, parent: Parent = None) -> list[dict[str, Any]]:
    """The 在职 members under ``parent`` who have not reported to the community."""
    return [r.as_dict() for r in registers.unreported(session, who, parent=parent, page="/api/party/registers")]


@router.get("/registers/flowing", response_model=list[RegisterPublic], summary="流动党员名单（含活动证情况）")
def flowing(session: SessionDep, who: PersonalDep, parent: Parent = None,
            flow: Annotated[Text | None, Query(description="只列 流入 或 流出")] = None) -> list[dict[str, Any]]:
    """The 流动 members under ``parent``; ``certified`` tells who holds a 活动证."""
    found = registers.flowing(session, who, parent=parent, flow=flow, page="/api/party/registers")
    return [r.as_dict() for r in found]


# ------------------------------------------------------------------------------------------------ 联系户


@router.get("/contacts", response_model=list[LinkPublic], summary="党员联系的住户（个人信息）")
def member_links(session: SessionDep, who: PersonalDep,
                 person: Annotated[Text, Query(description="党员的人员编码")]) -> list[dict[str, Any]]:  # fmt: skip
    """The households a member links, with their visits counted."""
    return [x.as_dict() for x in contacts.member_links(session, person, who, page="/api/party/contacts")]


@router.get("/contacts/unlinked", response_model=UnlinkedPublic, summary="未被任何党员联系的住户")
def unlinked(session: SessionDep, who: PersonalDep, parent: Parent = None) -> dict[str, Any]:
    """The live households under ``parent`` that no Party member links."""
    found, total = contacts.unlinked_households(session, who, parent=parent, page="/api/party/contacts/unlinked")
    return {"total": total, "households": [h.as_dict() for h in found]}


@router.post("/contacts", response_model=LinkPublic, status_code=status.HTTP_201_CREATED,
             summary="党员联系住户（超过上限即拒绝，并说明规则）")  # fmt: skip
def link(session: SessionDep, settings: SettingsDep, who: EditorDep, body: LinkCreate) -> dict[str, Any]:
    """Link a member to a household from ``since`` (today); beyond PartySettings.party_contacts_max: 409."""
    return contacts.link_household(session, body.person, body.household, who, rules=PartyRules.of(settings),
                                   since=body.since, timezone=settings.timezone).as_dict()  # fmt: skip


@router.delete("/contacts/{person}/{household}", response_model=LinkPublic, summary="取消联系（走访记录保留）")
def unlink(session: SessionDep, who: EditorDep, person: PersonPath, household: HouseholdPath) -> dict[str, Any]:
    """Remove the link; answers the link it was."""
    return contacts.unlink_household(session, person, household, who).as_dict()


@router.post("/contacts/{person}/{household}/visits", response_model=VisitPublic, status_code=status.HTTP_201_CREATED,
             summary="登记走访")  # fmt: skip
def visit(session: SessionDep, settings: SettingsDep, who: EditorDep, person: PersonPath, household: HouseholdPath,
          body: VisitCreate) -> dict[str, Any]:  # fmt: skip
    """Record a visit of the member to a household they link."""
    return contacts.record_visit(session, person, household, who, day=body.day, note=body.note,
                                 timezone=settings.timezone).as_dict()  # fmt: skip


# ------------------------------------------------------------------------------------------------ units


@router.get("/units", response_model=list[UnitPublic], summary="驻区单位与两新组织列表")
def list_units(session: SessionDep, settings: SettingsDep, who: ViewerDep, parent: Parent = None,
               include_retired: Annotated[bool, Query(description="包括已撤销的")] = False,
               as_of: AsOf = None) -> list[dict[str, Any]]:  # fmt: skip
    """The units under ``parent`` (default: the caller's scope)."""
    found = units.list_units(session, who, parent=parent, include_retired=include_retired,
                             as_of_moment=as_of_moment(as_of, settings.timezone), page="/api/party/units")  # fmt: skip
    return [u.as_dict() for u in found]


add_create_route(router, "/units", name="create_unit", summary="新建驻区单位",
                 description="Add a unit at its point (its grid follows from it).", model=UnitPublic, writer=EditorDep,
                 body_model=UnitCreate, create=units.create_unit)  # fmt: skip


@router.get("/units/{code}", response_model=UnitPublic, summary="驻区单位详情（含 ETag）", responses=TAGGED)
def get_unit(session: SessionDep, who: ViewerDep, response: Response, code: UnitPath) -> dict[str, Any]:
    """The unit's current state (live or retired)."""
    return tagged(response, units.get_unit(session, code, who, page=f"/api/party/units/{code}"))


add_update_route(router, "/units/{code}", name="update_unit", summary="修改驻区单位（需 If-Match，保留历史）",
                 description="Change the given fields of the version named by ``If-Match``.", model=UnitPublic,
                 writer=EditorDep, code_param=UnitPath, body_model=UnitUpdate, update=units.update_unit)  # fmt: skip


add_retire_route(router, "/units/{code}", name="retire_unit",
                 summary="撤销驻区单位（需 If-Match 与原因；记录与历史保留）",
                 description="Retire the version named by ``If-Match``; one whose Party organisation is in force is "
                             "refused (409).",
                 model=UnitPublic, writer=EditorDep, code_param=UnitPath, body_model=RecordEnd,
                 retire=units.retire_unit)  # fmt: skip


@router.get("/units/{code}/history", response_model=list[UnitPublic], summary="驻区单位变更历史")
def unit_history(session: SessionDep, who: ViewerDep, code: UnitPath) -> list[dict[str, Any]]:
    """Every state the unit has had, oldest first."""
    return [u.as_dict() for u in units.unit_history(session, code, who)]


@router.post("/units/{code}/join", response_model=UnitPublic, summary="加入（或退出）社区大党委（If-Match 可选）",
             responses={412: WRITE_ERRORS[412], **TAGGED})  # fmt: skip
def join_unit(session: SessionDep, settings: SettingsDep, who: EditorDep, response: Response, code: UnitPath,
              body: UnitJoin, if_match: IfMatch = None) -> dict[str, Any]:  # fmt: skip
    """Make the unit a member unit of a community 大党委 (a new version of the unit), or leave it."""
    unit = units.join_unit(session, code, who, org=body.org, joined_on=body.joined_on,
                           expected_version=optional_version(if_match), timezone=settings.timezone)  # fmt: skip
    return tagged(response, unit)


# ------------------------------------------------------------------------------------------------ imports


@router.post("/import/{kind}", response_model=PartyImportPublic, summary="导入党组织、党员组织关系或党员联系户",
             responses={422: {"description": "文件被拒绝（逐行列出错误），未写入任何数据"},
                        413: {"description": "文件过大"}})  # fmt: skip
def import_file(
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    kind: Annotated[Literal["orgs", "members", "contacts"], Path(description="orgs 党组织；members 党员组织关系；"
                                                                              "contacts 党员联系户")],
    file: Annotated[UploadFile, File(description="XLSX 或 CSV（UTF-8/GBK）；模板见 /party/import")],
    dry_run: Annotated[bool, Form()] = False,
) -> dict[str, Any] | JSONResponse:
    """Check every row and import the file atomically (a refused file: 422 with row-numbered errors)."""
    with save_upload(file, settings.max_upload_mb) as path:
        report = imports.import_file(session, who, kind, path, rules=PartyRules.of(settings), dry_run=dry_run,
                                     timezone=settings.timezone)  # fmt: skip
    return refused(report.as_dict()) if report.refused else report.as_dict()
