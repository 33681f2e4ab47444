"""Rosters (排班) over HTTP: a month's and a night's roster, generating a month from the rules, setting and removing an
entry by hand, leave and substitutions, the daily notice list, and the month's roster and the notice list as files.

Reads need the ``read`` role (staff names and phones: logged-in callers only), writes the ``patrol`` role; the
service (:mod:`gridgov.patrol.rosters`) checks the scope of every write: the team's grid and the lead community.
An entry is named by its night, shift and team: ``/api/patrol/roster/2026-10-01/上半夜/E1``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from gridgov.api.dependencies import PatrolDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery, query_date
from gridgov.api.routes.records import Text
from gridgov.errors import InvalidInput
from gridgov.history import day_of
from gridgov.patrol import roster_files
from gridgov.patrol import rosters as svc
from gridgov.periods import parse_month
from gridgov.vocab import SHIFTS, shift_hours

router = APIRouter(prefix="/api/patrol", tags=["巡逻勤务"])

SHIFT_HELP = "班次：" + "、".join(f"{s}（{shift_hours(s)}）" for s in SHIFTS)
PERSON_HELP = "人员编码（省略：新排班按规则填写，已有排班保持不变；空字符串：清空）"
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _month(value: object) -> dt.date:
    try:
        return parse_month(value)
    except InvalidInput as exc:
        raise PydanticCustomError("invalid_month", "{message}", {"message": exc.message}) from None


def _night(value: object) -> dt.date:
    day = query_date(value)
    if day is None:
        raise PydanticCustomError("invalid_date", "请给出日期 YYYY-MM-DD")
    return day


Month = Annotated[dt.date, BeforeValidator(_month)]
NightPath = Annotated[dt.date, BeforeValidator(_night), Path(description="日期 YYYY-MM-DD（夜班按当晚的日期）")]
ShiftPath = Annotated[Text, Path(description=SHIFT_HELP)]
TeamPath = Annotated[Text, Path(description="巡逻队编码")]
MonthQuery = Annotated[Month, Query(description="月份 YYYY-MM，如 2026-10")]


# ------------------------------------------------------------------------------------------------ models


class StaffPublic(BaseModel):
    """A person on a roster."""

    code: str = Field(description="人员编码")
    name: str = Field(description="姓名")
    phone: str | None = Field(description="电话")


class OnShiftPublic(StaffPublic):
    """A person of a rostered shift and whether they come."""

    duty: str = Field(description="职责：带队、队员、值班领导、社区值班")
    status: str = Field(description="在岗、请假、已替班（有人替班）或 替班（替他人到岗）")
    replaces: StaffPublic | None = Field(description="替班时：被替换的人员")


class ChangePublic(BaseModel):
    """A leave or a substitution on an entry."""

    kind: str = Field(description="请假 或 替班")
    staff: StaffPublic = Field(description="请假或被替换的人员")
    substitute: StaffPublic | None = Field(description="替班人员")
    note: str | None = Field(description="事由")
    text: str = Field(description="如「张三请假（出差）」「李四替王五」")
    created_by: str | None
    created_at: dt.datetime


class RosterEntryPublic(BaseModel):
    """One night × shift × team of the roster."""

    id: int = Field(description="排班编号")
    night: dt.date = Field(description="日期（夜班按当晚的日期）")
    weekday: str = Field(description="星期")
    shift: str = Field(description=SHIFT_HELP)
    hours: str = Field(description="班次时段")
    team_code: str
    team_name: str
    unit: str = Field(description="通知对象：巡逻队的所属单位，未填时为其社区")
    team_grid_code: str | None = Field(description="巡逻队服务的网格编码")
    team_grid_name: str | None
    area_code: str | None = Field(description="巡逻区域编码")
    area_name: str | None
    lead_grid_code: str | None = Field(description="当月牵头社区的网格编码（共管区域：单月第一个、双月第二个）")
    lead_grid_name: str | None
    leader: StaffPublic | None = Field(description="带队")
    duty_cadre: StaffPublic | None = Field(description="值班领导")
    community_staff: StaffPublic | None = Field(description="社区值班人员")
    source: str = Field(description="规则 或 手工")
    note: str | None
    updated_by: str | None
    updated_at: dt.datetime
    changes: list[ChangePublic] = Field(description="请假与替班")
    crew: list[OnShiftPublic] | None = Field(default=None, description="带队与当晚在队的队员，及替班人员（按日查询时）")
    on_duty: list[OnShiftPublic] = Field(description="值班领导与社区值班人员，及替班人员")


class RosterMonthPublic(BaseModel):
    """A month's roster."""

    month: str = Field(description="月份 YYYY-MM")
    street: str = Field(description="街道名称")
    title: str
    entries: list[RosterEntryPublic]


class RosterNightPublic(BaseModel):
    """A night's roster, with each team's crew that night."""

    night: dt.date
    entries: list[RosterEntryPublic]


class RosterGenerate(BaseModel):
    """Which month to generate from the rules, for all teams or those serving a grid."""

    model_config = ConfigDict(extra="forbid")
    month: Month = Field(description="月份 YYYY-MM")
    grid: Text | None = Field(default=None, description="只生成服务于此网格（社区）及其下级的巡逻队的排班")


class GeneratePublic(BaseModel):
    """What a generation did."""

    month: str
    grid: str | None
    created: int = Field(description="新生成的排班条数")
    replaced: int = Field(description="被替换的原规则排班条数")
    kept: int = Field(description="因已有手工排班或有请假替班的排班而保留、未按规则生成的条数")
    planned: int = Field(description="规则给出的排班条数")
    message: str


class RosterEntryUpdate(BaseModel):
    """An entry set by hand (source 手工): the fields to give it."""

    model_config = ConfigDict(extra="forbid")
    area: Text | None = Field(default=None, description="巡逻区域编码（省略：新排班取巡逻队的区域，已有排班不变）")
    leader: Text | None = Field(default=None, description="带队：" + PERSON_HELP)
    duty_cadre: Text | None = Field(default=None, description="值班领导：" + PERSON_HELP)
    community_staff: Text | None = Field(default=None, description="社区值班人员：" + PERSON_HELP)
    note: Text | None = Field(default=None, description="备注（空字符串：清空）")


class LeaveCreate(BaseModel):
    """A leave: who, and why."""

    model_config = ConfigDict(extra="forbid")
    staff: Text = Field(description="请假人员编码（须为当班的带队、值班领导、社区值班人员或当晚在队的队员）")
    note: Text | None = Field(default=None, description="事由")


class SubstitutionCreate(BaseModel):
    """A substitution: who is replaced, by whom, and why."""

    model_config = ConfigDict(extra="forbid")
    staff: Text = Field(description="被替换的当班人员编码")
    substitute: Text = Field(description="替班人员编码")
    note: Text | None = Field(default=None, description="事由")


class NoticeTeamPublic(BaseModel):
    """A rostered team in the notice list."""

    team_code: str
    team_name: str
    shift: str
    hours: str
    area_name: str | None
    lead_grid_name: str | None
    leader: StaffPublic | None
    to_call: list[OnShiftPublic] = Field(description="要通知的人员：带队与在队队员（请假者除外），及替班人员")
    away: list[OnShiftPublic] = Field(description="不到岗的人员（请假，或有人替班）")
    note: str | None
    changes: str = Field(description="请假与替班")


class NoticeUnitPublic(BaseModel):
    """The teams of one unit."""

    unit: str = Field(description="单位：巡逻队的所属单位，未填时为其社区")
    teams: list[NoticeTeamPublic]


class NoticePublic(BaseModel):
    """Who must be told for the night (the 15:00–16:00 calls)."""

    night: dt.date
    street: str
    title: str
    people: int = Field(description="应通知人数")
    units: list[NoticeUnitPublic]
    on_duty: list[OnShiftPublic] = Field(description="当晚的值班领导与社区值班人员")


def _public(e: svc.RosterEntry) -> RosterEntryPublic:
    return RosterEntryPublic.model_validate(e.as_dict())


def _file(data: bytes, fmt: str, name: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


# ------------------------------------------------------------------------------------------------ reads


@router.get("/roster", response_model=RosterMonthPublic, summary="月排班")
def month_roster(session: SessionDep, who: ViewerDep, month: MonthQuery) -> RosterMonthPublic:
    """Every entry of the month, night by night, with names, phones and changes."""
    return RosterMonthPublic.model_validate(svc.month_roster(session, month).as_dict())


@router.get("/roster/night", response_model=RosterNightPublic, summary="某晚的排班（含当晚在队人员）")
def night_roster(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
) -> RosterNightPublic:
    """A night's entries with each team's crew that night (leave and substitutions applied)."""
    day = date or day_of(None, settings.timezone)
    return RosterNightPublic(night=day, entries=[_public(e) for e in svc.night_roster(session, day)])


@router.get("/roster/file", dependencies=[Throttled], response_class=Response, summary="月排班表（Excel / PDF）",
            responses={200: {"content": {MEDIA["xlsx"]: {}, MEDIA["pdf"]: {}}}})
def month_file(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    month: MonthQuery,
    format: Annotated[Literal["xlsx", "pdf"], Query(description="xlsx 或 pdf（每周一页，A4 横向）")] = "xlsx",  # noqa: A002
) -> Response:
    """The month's roster as an Excel sheet or a PDF."""
    roster = svc.month_roster(session, month)
    made = day_of(None, settings.timezone)
    if format == "pdf":
        data = roster_files.roster_pdf(roster, made=made)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = roster_files.write_roster_xlsx(roster, FilePath(tmp) / "roster.xlsx", made=made).read_bytes()
    return _file(data, format, roster_files.roster_file_name(roster, f".{format}"))


@router.get("/notice", response_model=NoticePublic, summary="每日通知名单")
def notice(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
) -> NoticePublic:
    """Who must be told for the night, by unit: the teams' leaders and members (leave left out, substitutes in) and
    the on-duty cadre and community staff, with phones."""
    day = date or day_of(None, settings.timezone)
    return NoticePublic.model_validate(svc.notices(session, day).as_dict())


@router.get("/notice/file", dependencies=[Throttled], response_class=Response, summary="每日通知名单（Excel）",
            responses={200: {"content": {MEDIA["xlsx"]: {}}}})
def notice_file(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[DateQuery, Query(description="日期 YYYY-MM-DD（默认今天）")] = None,
) -> Response:
    """The notice list as an Excel sheet, a row per person to call."""
    n = svc.notices(session, date or day_of(None, settings.timezone))
    with tempfile.TemporaryDirectory() as tmp:
        data = roster_files.write_notice_xlsx(n, FilePath(tmp) / "notice.xlsx").read_bytes()
    return _file(data, "xlsx", roster_files.notice_file_name(n))


# ------------------------------------------------------------------------------------------------ writes


@router.post("/roster/generate", response_model=GeneratePublic, summary="按规则生成月排班")
def generate(session: SessionDep, who: PatrolDep, body: RosterGenerate) -> GeneratePublic:
    """Make the month from the rules: rule-made entries without changes are replaced; hand-set ones and those with
    leave or substitution stay."""
    report = svc.generate_month(session, body.month, who, grid=body.grid)
    return GeneratePublic.model_validate(report.as_dict() | {"message": report.message})


@router.put("/roster/{night}/{shift}/{team}", response_model=RosterEntryPublic, summary="手工设置一条排班")
def set_entry(session: SessionDep, who: PatrolDep, night: NightPath, shift: ShiftPath, team: TeamPath,
              body: RosterEntryUpdate) -> RosterEntryPublic:  # fmt: skip
    """Roster a team by hand (source 手工), or change its entry; an omitted field keeps the entry's value (a new
    entry takes the rules'), an empty one clears it."""
    e = svc.set_entry(session, who, night, shift, team, area=body.area, leader=body.leader,
                      duty_cadre=body.duty_cadre, community_staff=body.community_staff, note=body.note)  # fmt: skip
    return _public(e)


@router.delete("/roster/{night}/{shift}/{team}", response_model=RosterEntryPublic, summary="删除一条排班")
def remove_entry(session: SessionDep, who: PatrolDep, night: NightPath, shift: ShiftPath, team: TeamPath
                 ) -> RosterEntryPublic:  # fmt: skip
    """Take the team off the night's shift (its leave and substitutions go with it); the removed entry."""
    return _public(svc.remove_entry(session, who, night, shift, team))


@router.post("/roster/{night}/{shift}/{team}/leave", response_model=RosterEntryPublic, summary="登记请假")
def leave(session: SessionDep, who: PatrolDep, night: NightPath, shift: ShiftPath, team: TeamPath,
          body: LeaveCreate) -> RosterEntryPublic:  # fmt: skip
    """Record that a person on the shift is away."""
    return _public(svc.record_leave(session, who, night, shift, team, body.staff, body.note))


@router.post("/roster/{night}/{shift}/{team}/substitute", response_model=RosterEntryPublic, summary="登记替班")
def substitute(session: SessionDep, who: PatrolDep, night: NightPath, shift: ShiftPath, team: TeamPath,
               body: SubstitutionCreate) -> RosterEntryPublic:  # fmt: skip
    """Record that ``substitute`` stands in for ``staff`` on the shift."""
    return _public(svc.record_substitution(session, who, night, shift, team, body.staff, body.substitute, body.note))
