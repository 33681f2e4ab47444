"""Incident figures API (事件考核): KPIs per grid, community and street, the Excel sheet, and the hotspots.

Under ``/api/incident-kpi``, not ``/api/incidents/kpi``: the case API's ``/api/incidents/{id_or_code}`` is included
first and would take ``kpi`` for a case code.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery, MomentQuery
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.incidents import kpi
from gridgov.periods import as_of_moment
from gridgov.workdays import calendar_for

router = APIRouter(prefix="/api/incident-kpi", tags=["事件处置"])

LEVEL_HELP = "统计层级：compound（默认）/ community / street / building，或 all（各级都列）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class KpiFiguresPublic(BaseModel):
    """One period's figures of a grid (rates are fractions 0–1, None when nothing was closed; step times in working
    days, None when no such step was done in the period)."""

    reported: int = Field(description="期间内上报")
    closed: int = Field(description="期间内结案")
    closed_on_time: int = Field(description="其中按期结案（每个环节都未超期）")
    on_time_rate: float | None = Field(description="按期结案率")
    overdue_now: int = Field(description="统计时点超期未办结")
    rework: int = Field(description="期间内返工次数")
    parked: int = Field(description="统计时点挂账")
    closed_at_grid: int = Field(description="结案时在网格层级")
    closed_at_grid_rate: float | None = Field(description="网格内结案率（小事不出网格）")
    closed_in_community: int = Field(description="结案时在网格或社区层级")
    closed_in_community_rate: float | None = Field(description="社区内结案率（大事不出社区）")
    avg_days: dict[str, float | None] = Field(description="各环节平均用时（工作日）：受理、派遣、处置、核查、结案")
    steps_done: dict[str, int] = Field(description="期间内完成的各环节次数")


class KpiRowPublic(KpiFiguresPublic):
    """A grid's figures, with the same period last year (None: no data by the end of that period)."""

    code: str
    name: str
    level: str
    level_zh: str
    parent_code: str | None
    last_year: KpiFiguresPublic | None


class KpiPeriodPublic(BaseModel):
    """Local days (inclusive) and the moment they are evaluated at."""

    model_config = ConfigDict(populate_by_name=True)

    date_from: dt.date | None = Field(alias="from")
    date_to: dt.date | None = Field(alias="to")
    as_of: dt.datetime


class KpiPublic(BaseModel):
    """The figures of every grid asked for."""

    period: KpiPeriodPublic
    last_year: KpiPeriodPublic | None
    rows: list[KpiRowPublic]


class HotspotPublic(BaseModel):
    """A grid with many cases and little night patrol."""

    code: str
    name: str
    level: str
    cases: int = Field(description="期间内、所选时段的事件数")
    by_window: dict[str, int] = Field(description="各时段事件数：上半夜、下半夜、白天")
    peak: str | None = Field(description="事件最多的时段")
    coverage: float | None = Field(description="期间内夜间巡逻覆盖率（0–1；无巡逻数据为空）")
    score: float = Field(description="排序分：事件数 ×（1 − 覆盖率）")


class HotspotsPublic(BaseModel):
    """Hotspots, worst first."""

    model_config = ConfigDict(populate_by_name=True)

    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    window: str | None = Field(description="时段（空：全天）")
    rows: list[HotspotPublic]


def today(settings: Settings) -> dt.date:
    """Today in the installation's zone."""
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def figures(session: Session, settings: Settings, who: Actor, *, parent: str | None, date_from: dt.date | None,
            date_to: dt.date | None, as_of: dt.date | dt.datetime | None,
            level: str | None) -> tuple[kpi.Period, list[kpi.KpiRow]]:  # fmt: skip
    """The period asked for (default: this month to today, now) and its figures, read as ``who``."""
    calendar = calendar_for(session, settings)
    return kpi.asked(session, who, parent, date_from=date_from, date_to=date_to,
                     as_of=as_of_moment(as_of, settings.timezone), level=level, calendar=calendar,
                     today=today(settings))  # fmt: skip


def public(period: kpi.Period, rows: list[kpi.KpiRow]) -> dict[str, Any]:
    """The JSON body of a figures answer."""
    before = period.last_year()
    return {"period": period.as_dict(), "last_year": None if before is None else before.as_dict(),
            "rows": [r.as_dict() for r in rows]}  # fmt: skip


Parent = Annotated[str | None, Query(description="只统计此网格及其下级（默认：您的范围）", max_length=64)]
From = Annotated[DateQuery, Query(alias="from", description="统计起始日期（默认本月 1 日），YYYY-MM-DD")]
To = Annotated[DateQuery, Query(alias="to", description="统计截止日期（含当日，默认今天），YYYY-MM-DD")]
AsOf = Annotated[MomentQuery, Query(description="统计时点：只计此时点及之前的记录（日期指当日结束时），默认现在")]
LevelQuery = Annotated[str, Query(description=LEVEL_HELP, max_length=16)]
SHIFT_HELP = "时段：上半夜 / 下半夜 / 白天，或 HH:MM-HH:MM；默认全天"
ShiftQuery = Annotated[str | None, Query(description=SHIFT_HELP, max_length=32)]


@router.get("", dependencies=[Throttled], response_model=KpiPublic, summary="事件考核指标（JSON）")
def kpi_json(session: SessionDep, settings: SettingsDep, who: ViewerDep, parent: Parent = None,
             date_from: From = None, date_to: To = None, as_of: AsOf = None,
             level: LevelQuery = "compound") -> dict[str, Any]:  # fmt: skip
    """Reported, closed, on-time rate, overdue, rework, parked, closed at 网格 / 社区 level and the working days per
    step, per grid of the level inside the caller's scope, with the same period last year (同比)."""
    period, rows = figures(session, settings, who, parent=parent, date_from=date_from, date_to=date_to, as_of=as_of,
                           level=level)  # fmt: skip
    return public(period, rows)


@router.get("/file", dependencies=[Throttled], response_class=FileResponse, summary="下载事件考核表（xlsx）")
def kpi_file(session: SessionDep, settings: SettingsDep, who: ViewerDep, parent: Parent = None,
             date_from: From = None, date_to: To = None, as_of: AsOf = None,
             level: LevelQuery = "all") -> FileResponse:  # fmt: skip
    """The same figures as an Excel sheet ready to print (本期 and 去年同期 side by side, every level by default)."""
    period, rows = figures(session, settings, who, parent=parent, date_from=date_from, date_to=date_to, as_of=as_of,
                           level=level)  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="gridgov-kpi-"))
    title, info, name = kpi.sheet_words(rows, period, settings.timezone)
    path = kpi.write_xlsx(rows, tmp / "kpi.xlsx", title=title, info=info)
    return FileResponse(path, media_type=XLSX, filename=name, background=BackgroundTask(shutil.rmtree, tmp))


@router.get("/hotspots", dependencies=[Throttled], response_model=HotspotsPublic, summary="事件多发、巡逻薄弱的网格")
def hotspots_json(session: SessionDep, settings: SettingsDep, who: ViewerDep, parent: Parent = None,
                  date_from: From = None, date_to: To = None,
                  shift: ShiftQuery = None,
                  limit: Annotated[int, Query(ge=1, le=100, description="最多列出几个网格")] = kpi.HOTSPOTS,
                  ) -> dict[str, Any]:  # fmt: skip
    """Leaf grids ranked by cases (of the period, in the time window) × (1 − night patrol coverage of its nights),
    for deploying patrols where and when cases happen (根据案件多发的时间和地点)."""
    start, end = kpi.default_period(date_from, date_to, today(settings))
    window = kpi.parse_window(shift)
    rows = kpi.hotspots(session, who, parent, date_from=start, date_to=end, window=window, timezone=settings.timezone,
                        patrol_buffer_m=settings.patrol_buffer_m, limit=limit)  # fmt: skip
    return {"from": start, "to": end, "window": window.label if window else None, "rows": [h.as_dict() for h in rows]}
