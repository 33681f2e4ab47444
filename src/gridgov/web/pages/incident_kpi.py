"""事件考核 page: the incident KPIs per grid for a period, the street's total on top, 同比 beside each figure, the
Excel sheet and a print layout.

At ``/incident-kpi`` (``/incidents/{code}`` is a case's page). The sheet is written while the browser waits: it is
one query and a small workbook (0.3 s for the sample street: 2,250 cases, 14,000 steps), no job needed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.auth.scope import Actor, readable_root
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.incidents import kpi
from gridgov.periods import as_of_moment
from gridgov.vocab import LEVEL_ZH, LEVELS
from gridgov.web.pages.ledger import parent_choices
from gridgov.web.templating import render
from gridgov.workdays import calendar_for

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEVEL_CHOICES = (("compound", "楼院网格"), ("community", "社区"), ("street", "街道"), ("all", "各级"))


def _blank(value: object) -> object:
    """An empty form field as None."""
    return (value.strip() or None) if isinstance(value, str) else value


FormDate = Annotated[DateQuery, BeforeValidator(_blank)]
FormText = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_blank)]


class KpiAsk(BaseModel):
    """What the form asks for: the area, the level, the days and the moment (a date: the end of that day)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    parent: FormText = None
    level: FormText = None
    date_from: FormDate = Field(None, alias="from")
    date_to: FormDate = Field(None, alias="to")
    as_of: FormDate = None

    def fields(self) -> dict[str, str]:
        """The filled fields by their names (for links)."""
        return {k: str(v) for k, v in self.model_dump(by_alias=True).items() if v is not None}


def figures(session: Session, settings: Settings, who: Actor, ask: KpiAsk,
            level: str | None) -> tuple[kpi.Period, list[kpi.KpiRow]]:  # fmt: skip
    """The form's period (default: this month to today, now) and its figures of ``level`` (None: all), as ``who``."""
    zone = ZoneInfo(settings.timezone)
    calendar = calendar_for(session, settings)
    return kpi.asked(session, who, ask.parent, date_from=ask.date_from, date_to=ask.date_to,
                     as_of=as_of_moment(ask.as_of, zone), level=level or "all", calendar=calendar,
                     today=dt.datetime.now(zone).date())  # fmt: skip


def _cells(d: dict[str, Any]) -> list[dict[str, str]]:
    """A row's figures as the table shows them: this period and the same period last year."""
    ly = d.get("last_year")
    return [{"now": kpi.show(kind, kpi.value_of(d, key)),
             "before": "" if ly is None else kpi.show(kind, kpi.value_of(ly, key)), "kind": kind}
            for key, _, kind in kpi.COLUMNS]  # fmt: skip


def table(rows: list[kpi.KpiRow], level: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the area's total lines on top: the highest level present when a deeper level is asked; the asked level's
    lines), each with its cells."""
    top_level = next((lv for lv in LEVELS if any(r.level == lv for r in rows)), None)
    tops = [r for r in rows if r.level == top_level] if level is not None and level != top_level else []
    body = [r for r in rows if level is None or r.level == level]

    def line(r: kpi.KpiRow) -> dict[str, Any]:
        return {"code": r.code, "name": r.name, "level": LEVEL_ZH[r.level], "cells": _cells(r.as_dict())}

    return [line(r) for r in tops], [line(r) for r in body]


@router.get("/incident-kpi", dependencies=[Throttled])
def kpi_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep,
             ask: Annotated[KpiAsk, Query()]) -> Response:  # fmt: skip
    """The form, then the figures of the chosen area: its total on top, a line per grid of the level."""
    root = readable_root(session, who, ask.parent)
    context: dict[str, Any] = {"ask": ask, "root": root or "", "choices": parent_choices(session, who, root),
                               "levels": LEVEL_CHOICES, "columns": kpi.COLUMNS, "rules": kpi.RULES,
                               "tops": [], "body": [], "error": None, "level": ask.level or "compound"}  # fmt: skip
    try:
        wanted = kpi.level_of(ask.level or "compound")
        period, rows = figures(session, settings, who, ask.model_copy(update={"parent": root}), None)
    except InvalidInput as exc:
        return render(request, "incident_kpi.html", actor=who, active="incidents", title="事件考核", status_code=422,
                      heading="事件考核", **context | {"error": exc.message})  # fmt: skip
    tops, body = table(rows, wanted)
    title, info, _ = kpi.sheet_words(rows, period, settings.timezone)
    shown = {"from": str(period.date_from), "to": str(period.date_to)}
    query = urlencode(ask.fields() | shown)
    map_query = urlencode({k: v for k, v in ({"parent": root or ""} | shown | {"kpi": "on_time"}).items() if v})
    before = period.last_year()
    return render(request, "incident_kpi.html", actor=who, active="incidents", title=title, heading=title,
                  info=info, file_url=f"/incident-kpi/file?{query}",
                  map_url=f"/maps/coverage?{map_query}", period=period, before=before,
                  **context | {"tops": tops, "body": body})  # fmt: skip


@router.get("/incident-kpi/file", dependencies=[Throttled])
def kpi_file(session: SessionDep, settings: SettingsDep, who: ViewerDep,
             ask: Annotated[KpiAsk, Query()]) -> Response:  # fmt: skip
    """The figures of the form as an Excel sheet, written while the browser waits (every level of the area)."""
    period, rows = figures(session, settings, who, ask, None)
    tmp = Path(tempfile.mkdtemp(prefix="gridgov-kpi-"))
    title, info, name = kpi.sheet_words(rows, period, settings.timezone)
    path = kpi.write_xlsx(rows, tmp / "kpi.xlsx", title=title, info=info)
    return FileResponse(path, media_type=XLSX, filename=name, background=BackgroundTask(shutil.rmtree, tmp))
