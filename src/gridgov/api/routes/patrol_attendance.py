"""Patrol operations API: attendance (考勤) of a night or a month, and the month's 考勤表 workbook."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.errors import InvalidInput
from gridgov.patrol import attendance as svc

router = APIRouter(prefix="/api/patrol", tags=["巡逻勤务"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MonthQuery = Annotated[str | None, Query(max_length=7, description="月份 YYYY-MM", examples=["2026-10"])]
TeamQuery = Annotated[str | None, Query(max_length=40, description="只看一个巡逻队（编码）")]


class PersonAttendancePublic(BaseModel):
    """One person on a roster entry."""

    staff_code: str
    staff_name: str
    role: str = Field(description="队长 / 队员 / 替班")
    status: str = Field(description="出勤 / 迟到 / 早退 / 缺勤（本人轨迹，无本人轨迹时按队伍轨迹）")
    late: bool
    left_early: bool
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    minutes_inside: float
    metres: float
    own_tracks: bool = Field(description="是否有本人的轨迹")
    on_leave: bool = Field(description="请假")
    replaced_by: str | None = Field(description="由谁替班（姓名）")
    substitute_for: str | None = Field(description="替谁的班（姓名）")
    allowance: bool = Field(description="本班是否计发补贴")


class AttendancePublic(BaseModel):
    """One roster entry (night × shift × team)."""

    night: dt.date
    shift: str
    starts: dt.datetime = Field(description="班次开始")
    ends: dt.datetime = Field(description="班次结束")
    team_code: str
    team_name: str
    unit: str | None
    area_code: str | None
    area_name: str | None
    leader_name: str | None
    duty_cadre_name: str | None
    community_staff_name: str | None
    status: str = Field(description="出勤 / 迟到 / 早退 / 缺勤（迟到与早退并存时为迟到，见 late、left_early）")
    late: bool = Field(description="首次到达晚于班次开始加宽限")
    left_early: bool = Field(description="最后离开早于班次结束减宽限")
    first_seen: dt.datetime | None = Field(description="区域内首个轨迹点的时间")
    last_seen: dt.datetime | None = Field(description="区域内末个轨迹点的时间")
    minutes_inside: float = Field(description="在巡逻区域内的分钟数（断点不计，多人同行只计一次）")
    metres: float = Field(description="在巡逻区域内的里程（米，各轨迹之和）")
    coverage: float | None = Field(description="区域内网格中有巡逻里程的比例（0–1；无区域时为空）")
    unvisited: list[str] = Field(description="未巡到的网格编码")
    unvisited_names: list[str]
    tracks: int
    people: list[PersonAttendancePublic]


class PersonMonthPublic(BaseModel):
    """One person's month."""

    staff_code: str
    staff_name: str
    teams: str
    rostered: int = Field(description="排班班次")
    present: int
    late: int
    left_early: int
    absent: int
    leave: int
    substituted: int = Field(description="替别人的班次")
    replaced: int = Field(description="被替班的班次")
    allowance_shifts: int
    allowance: float = Field(description="补贴金额（元）")


class AttendanceReportPublic(BaseModel):
    """The attendance of a night (``date``) or of a month (``month``, with the allowance per person)."""

    date: dt.date | None
    month: str | None
    first: dt.date
    last: dt.date
    entries: list[AttendancePublic]
    people: list[PersonMonthPublic] = Field(description="每人的月度汇总与补贴（按月查询时）")
    allowance_total: float | None
    allowance_per_night: float
    probation_months: int
    late_grace_minutes: float
    early_grace_minutes: float


def _one_of(date: dt.date | None, month: str | None) -> None:
    if (date is None) == (month is None):
        raise InvalidInput("请指定 date（某一晚，YYYY-MM-DD）或 month（整月，YYYY-MM）之一")


@router.get("/attendance", response_model=AttendanceReportPublic, dependencies=[Throttled],
            summary="考勤（一晚或一个月）")  # fmt: skip
def get_attendance(session: SessionDep, settings: SettingsDep, who: ViewerDep, date: DateQuery = None,
                   month: MonthQuery = None, team: TeamQuery = None) -> AttendanceReportPublic:  # fmt: skip
    """Per roster entry (night × shift × team, and per person): 出勤 / 迟到 / 早退 / 缺勤, first and last fix in the
    area, minutes and metres inside it, coverage and the grids not visited; a month adds the allowance per person.
    A night without tracks has every rostered team 缺勤."""
    _one_of(date, month)
    common = {"allowance_per_night": settings.allowance_per_night, "probation_months": settings.probation_months,
              "late_grace_minutes": settings.late_grace_minutes,
              "early_grace_minutes": settings.early_grace_minutes}  # fmt: skip
    if month is not None:
        m = svc.month_attendance(session, month, team_code=team, rules=settings, timezone=settings.timezone)
        return AttendanceReportPublic.model_validate({
            "date": None, "month": m.month, "first": m.first, "last": m.last,
            "entries": [e.as_dict() for e in m.entries], "people": [asdict(p) for p in m.people],
            "allowance_total": m.total, **common})  # fmt: skip
    assert date is not None
    entries = svc.attendance(session, date, team_code=team, rules=settings, timezone=settings.timezone)
    return AttendanceReportPublic.model_validate({
        "date": date, "month": None, "first": date, "last": date, "entries": [e.as_dict() for e in entries],
        "people": [], "allowance_total": None, **common})  # fmt: skip


@router.get("/attendance/file", dependencies=[Throttled], response_class=Response, summary="月考勤表（Excel）",
            responses={200: {"content": {XLSX: {}}, "description": "考勤汇总（含补贴）、每日考勤、说明"}})  # fmt: skip
def get_attendance_file(session: SessionDep, settings: SettingsDep, who: ViewerDep,
                        month: Annotated[str, Query(max_length=7, description="月份 YYYY-MM")],
                        team: TeamQuery = None) -> Response:  # fmt: skip
    """The month's 考勤表 for the 综治办: per person the shifts and the allowance, per night the entries."""
    m = svc.month_attendance(session, month, team_code=team, rules=settings, timezone=settings.timezone)
    unit = svc.unit_name(session)
    made = dt.datetime.now(ZoneInfo(settings.timezone))
    with tempfile.TemporaryDirectory(prefix="gridgov-attendance-") as tmp:
        data = svc.write_month_xlsx(m, Path(tmp) / "attendance.xlsx", unit=unit, made_at=made,
                                    timezone=settings.timezone).read_bytes()  # fmt: skip
    name = f"{unit}巡逻考勤表_{m.month}{'_' + team if team else ''}.xlsx"
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"attendance-{m.month}.xlsx\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})  # fmt: skip
