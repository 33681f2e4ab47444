"""Incident settings API: the working-day calendar, time limits and dispatch rules. Everyone logged in may read
them (they explain a deadline); administrators change them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from gridgov.api.dependencies import AdminDep, SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery, MomentQuery
from gridgov.api.routes.records import Text
from gridgov.api.uploads import save_upload
from gridgov.errors import InvalidInput
from gridgov.history import day_of
from gridgov.incidents import limits
from gridgov.incidents.cases import FALLBACK_ROLE
from gridgov.vocab import INCIDENT_STEPS, INCIDENT_URGENCIES
from gridgov.workdays import (
    HOLIDAY,
    MAKEUP,
    WEEKDAYS,
    calendar_days,
    calendar_for,
    calendar_years,
    clear_days,
    date_span,
    import_days,
    local_moment,
    set_days,
)

router = APIRouter(prefix="/api/admin", tags=["事件处置设置"])

KIND_HELP = "休（法定节假日）或 班（调休上班日，须为周六或周日）"
CategoryPath = Annotated[Text, Path(description="事件大类（如 治安隐患）")]


class CalendarDayPublic(BaseModel):
    """An exception to the week."""

    day: dt.date
    weekday: str = Field(description="星期几（一…日）")
    kind: str = Field(description=KIND_HELP)
    name: str | None = Field(description="节日名称")


class CalendarYearPublic(BaseModel):
    """A year of the calendar: its holidays and make-up working days."""

    year: int
    holidays: int = Field(description="休 的天数")
    makeup_days: int = Field(description="班 的天数")
    entered: bool = Field(description="该年已录入法定节假日（否：期限计算只扣除周末）")
    days: list[CalendarDayPublic]


class CalendarDaysSet(BaseModel):
    """Mark a day or a span of days (at most a year) as 休 or 班."""

    model_config = ConfigDict(extra="forbid")
    first: dt.date = Field(description="日期（范围的第一天）")
    last: dt.date | None = Field(default=None, description="范围的最后一天（不填：只有一天）")
    kind: Text = Field(description=KIND_HELP)
    name: Text | None = Field(default=None, max_length=40, description="节日名称（如 春节）")


class CalendarChangePublic(BaseModel):
    """The days a change touched."""

    changed: int
    days: list[dt.date]


class CalendarImportPublic(BaseModel):
    """What a holiday list did."""

    holidays: int = Field(description="标为 休 的天数")
    makeup_days: int = Field(description="标为 班 的天数")
    years: list[int] = Field(description="文件中日期所在的年份")
    removed: int = Field(description="替换该年时删除的原有日期数")


class WorkdayCheckPublic(BaseModel):
    """Working days in a range, and a deadline counted in working days."""

    date_from: dt.date | None
    date_to: dt.date | None
    working_days: int | None = Field(description="范围内的工作日数（含首尾）")
    start: dt.datetime | None
    add: float | None = Field(description="工作日数")
    deadline: dt.datetime | None = Field(description="从 start 起 add 个工作日后的时刻")
    workday_start: str = Field(description="上班时刻（本地时间 HH:MM）", examples=["08:30"])
    workday_end: str = Field(description="下班时刻（本地时间 HH:MM）", examples=["17:30"])


class TimeLimitPublic(BaseModel):
    """A stored time limit."""

    step: str = Field(description="环节：" + "、".join(INCIDENT_STEPS))
    category: str | None = Field(description="事件大类（null：全部类别）")
    urgency: str | None = Field(description="紧急程度（null：不限）")
    working_days: float


class TimeLimitsPublic(BaseModel):
    """The stored limits (the most specific row wins: category and urgency, category, urgency, neither) and the
    working hours one working day stands for."""

    workday_start: str = Field(description="上班时刻（本地时间 HH:MM）", examples=["08:30"])
    workday_end: str = Field(description="下班时刻（本地时间 HH:MM）", examples=["17:30"])
    hours_per_day: float
    limits: list[TimeLimitPublic]


class TimeLimitSet(BaseModel):
    """A step's limit, for a category (or every category) and an urgency (or either)."""

    model_config = ConfigDict(extra="forbid")
    step: Text = Field(description="环节：" + "、".join(INCIDENT_STEPS))
    working_days: float = Field(gt=0, le=365, description="工作日数（可为小数，如 0.5）")
    category: Text | None = Field(default=None, description="事件大类（不填：全部类别）")
    urgency: Text | None = Field(default=None,
                                 description="紧急程度：" + "、".join(INCIDENT_URGENCIES) + "（不填：不限）")


class DispatchRulePublic(BaseModel):
    """The staff role a category is dispatched to by default."""

    category: str
    staff_role: str


class DispatchRulesPublic(BaseModel):
    """Every rule; categories without one go to ``default_role``."""

    default_role: str
    rules: list[DispatchRulePublic]


class DispatchRuleSet(BaseModel):
    """The role a category's cases go to by default (a term of 网格工作人员角色, or a synonym)."""

    model_config = ConfigDict(extra="forbid")
    staff_role: Text = Field(description="网格工作人员角色（如 网格警员）")


def _year_of(session: SessionDep, year: int) -> CalendarYearPublic:
    days = calendar_days(session, year)
    entered = calendar_years(session).get(year)
    return CalendarYearPublic(
        year=year, holidays=sum(d.kind == HOLIDAY for d in days), makeup_days=sum(d.kind == MAKEUP for d in days),
        entered=bool(entered and entered.holidays),
        days=[CalendarDayPublic(day=d.day, weekday=WEEKDAYS[d.day.weekday()], kind=d.kind, name=d.name) for d in days])


@router.get("/calendar", response_model=CalendarYearPublic, summary="工作日历：某年的节假日与调休上班日")
def get_calendar(session: SessionDep, settings: SettingsDep, who: ViewerDep,
                 year: Annotated[int | None, Query(ge=2000, le=2100, description="年份（默认今年）")] = None
                 ) -> CalendarYearPublic:  # fmt: skip
    """The year's exceptions to the week (weekends are off, weekdays worked, unless listed here)."""
    return _year_of(session, year or day_of(None, settings.timezone).year)


@router.put("/calendar", response_model=CalendarChangePublic, summary="标记节假日或调休上班日（系统管理员）")
def put_calendar(session: SessionDep, who: AdminDep, body: CalendarDaysSet) -> CalendarChangePublic:
    """Mark a day or a span as 休 or 班 (replacing what they were). Steps under way keep their deadlines."""
    days = date_span(body.first, body.last)
    set_days(session, who, days, body.kind.strip(), body.name)
    return CalendarChangePublic(changed=len(days), days=days)


@router.delete("/calendar", response_model=CalendarChangePublic, summary="恢复为平常日（系统管理员）")
def delete_calendar(session: SessionDep, who: AdminDep,
                    first: Annotated[DateQuery, Query(description="日期（范围的第一天）")] = None,
                    last: Annotated[DateQuery, Query(description="范围的最后一天（不填：只有一天）")] = None
                    ) -> CalendarChangePublic:  # fmt: skip
    """Return the listed days of a span to what the week says (404 when none of them is listed)."""
    if first is None:
        raise InvalidInput("请给出日期：first=YYYY-MM-DD（范围再加 last）")
    listed = {d.day for d in calendar_days(session) if first <= d.day <= (last or first)}
    n = clear_days(session, who, date_span(first, last))
    return CalendarChangePublic(changed=n, days=sorted(listed))


@router.post("/calendar/import", response_model=CalendarImportPublic, summary="导入全年节假日安排（系统管理员）",
             responses={422: {"description": "文件被拒绝（列出每个错误的行号），未写入任何日期"}})  # fmt: skip
def import_calendar(
    session: SessionDep,
    settings: SettingsDep,
    who: AdminDep,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK）或 XLSX：日期、至（可不填）、类型（休/班）、名称")],
    replace_year: Annotated[int | None, Form(ge=2000, le=2100,
                                             description="文件即该年全部安排：先删除该年其他日期")] = None,
) -> CalendarImportPublic:
    """Enter a year's list in one go (as the State Council publishes it each November); a bad row refuses it all."""
    with save_upload(file, settings.max_upload_mb) as path:
        done = import_days(session, who, path, replace_year=replace_year)
    return CalendarImportPublic(holidays=done.holidays, makeup_days=done.makeup, years=list(done.years),
                                removed=done.removed)  # fmt: skip


@router.get("/calendar/check", response_model=WorkdayCheckPublic, summary="工作日数与期限试算")
def check_calendar(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date_from: Annotated[DateQuery, Query(description="范围第一天")] = None,
    date_to: Annotated[DateQuery, Query(description="范围最后一天（不填：同第一天）")] = None,
    start: Annotated[MomentQuery, Query(description="起算时刻 YYYY-MM-DDTHH:MM（不带时区为本地时间）")] = None,
    add: Annotated[float | None, Query(gt=0, le=365, description="工作日数")] = None,
) -> WorkdayCheckPublic:
    """How many working days ``date_from``–``date_to`` has, and when ``add`` working days after ``start`` end."""
    if date_from is None and (start is None or add is None):
        raise InvalidInput("请给出 date_from（与 date_to），或 start 与 add")
    cal = calendar_for(session, settings)
    count = None
    if date_from is not None:
        date_span(date_from, date_to)  # the same rule as a change: in order, at most a year
        count = cal.working_days(date_from, date_to or date_from)
    begin = local_moment(start, settings.timezone) if start is not None and add is not None else None
    deadline = cal.add(begin, add) if begin is not None and add is not None else None
    return WorkdayCheckPublic(date_from=date_from, date_to=date_to or date_from, working_days=count, start=begin,
                              add=add, deadline=deadline, workday_start=f"{cal.start:%H:%M}",
                              workday_end=f"{cal.end:%H:%M}")  # fmt: skip


@router.get("/time-limits", response_model=TimeLimitsPublic, summary="事件各环节时限（工作日）")
def get_time_limits(session: SessionDep, settings: SettingsDep, who: ViewerDep) -> TimeLimitsPublic:
    """Every stored limit; a case's step takes the most specific row for its category and urgency."""
    cal = calendar_for(session, settings)
    return TimeLimitsPublic(workday_start=f"{cal.start:%H:%M}", workday_end=f"{cal.end:%H:%M}",
                            hours_per_day=cal.day_length.total_seconds() / 3600,
                            limits=[_limit(r) for r in limits.load_limits(session).rows])  # fmt: skip


def _limit(r: limits.LimitRow) -> TimeLimitPublic:
    return TimeLimitPublic(step=r.step, category=r.category or None, urgency=r.urgency or None,
                           working_days=r.working_days)  # fmt: skip


@router.put("/time-limits", response_model=TimeLimitPublic, summary="设置时限（系统管理员）")
def put_time_limit(session: SessionDep, who: AdminDep, body: TimeLimitSet) -> TimeLimitPublic:
    """Set one limit (steps started from now on take it; those under way keep their deadline)."""
    row = limits.set_limit(session, who, body.step, body.working_days, category=body.category or limits.ANY,
                           urgency=body.urgency or limits.ANY)  # fmt: skip
    return _limit(row)


@router.delete("/time-limits", status_code=status.HTTP_204_NO_CONTENT, summary="删除时限（系统管理员）")
def delete_time_limit(
    session: SessionDep,
    who: AdminDep,
    step: Annotated[Text, Query(description="环节：" + "、".join(INCIDENT_STEPS))],
    category: Annotated[Text | None, Query(description="事件大类（不填：全部类别的那一行）")] = None,
    urgency: Annotated[Text | None, Query(description="紧急程度（不填：不限的那一行）")] = None,
) -> None:
    """Remove one limit row: the less specific one applies from then on (none left: the step has no limit)."""
    limits.remove_limit(session, who, step, category=category or limits.ANY, urgency=urgency or limits.ANY)


@router.get("/dispatch-rules", response_model=DispatchRulesPublic, summary="派遣规则：各类事件默认派给的岗位")
def get_dispatch_rules(session: SessionDep, who: ViewerDep) -> DispatchRulesPublic:
    """The role each category is dispatched to by default (at the case's grid, or the nearest grid above)."""
    return DispatchRulesPublic(default_role=FALLBACK_ROLE, rules=[
        DispatchRulePublic(category=c, staff_role=r) for c, r in limits.dispatch_rules(session).items()])


@router.put("/dispatch-rules/{category:path}", response_model=DispatchRulesPublic,
            summary="设置某类事件默认派给的岗位（系统管理员）")  # fmt: skip
def put_dispatch_rule(session: SessionDep, who: AdminDep, category: CategoryPath,
                      body: DispatchRuleSet) -> DispatchRulesPublic:  # fmt: skip
    """Dispatch a category's cases to holders of a staff role by default."""
    limits.set_dispatch_rule(session, who, category, body.staff_role)
    return get_dispatch_rules(session, who)


@router.delete("/dispatch-rules/{category:path}", response_model=DispatchRulesPublic,
               summary="删除派遣规则（恢复默认派给网格员；系统管理员）")  # fmt: skip
def delete_dispatch_rule(session: SessionDep, who: AdminDep, category: CategoryPath) -> DispatchRulesPublic:
    """Dispatch a category's cases to the grid's 网格员 again."""
    limits.set_dispatch_rule(session, who, category, None)
    return get_dispatch_rules(session, who)

