"""台帐: the ledger as a web table with filters, and its Excel file (a background job)."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.api.schemas import Level
from gridgov.auth.scope import Actor, readable_root
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput, NotFound
from gridgov.grids.service import GridRecord, get_grid, list_grids, subtree
from gridgov.jobs.runner import Outcome, Progress, Work
from gridgov.ledger.export import COLUMNS, Column, as_of_text, period_text, totals, unit_name, write_xlsx
from gridgov.ledger.report import Ledger, build_ledger
from gridgov.party.rules import PartyRules
from gridgov.periods import as_of_moment, day_range
from gridgov.vocab import LEVEL_ZH, LEVELS
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "台帐"
FILE_PAGE = "台帐 Excel"
CHOICE_LEVELS = ("street", "community")  # the units the 范围 list offers (deeper grids can still be asked by code)
UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\s]+')
ROSTER_SEPARATOR = "；"  # between the roster's entries (ledger.sql)
PAGE_WRAP_KEYS = ("incidents_by_category_text",)
MAX_ROWS_SHOWN = 1000  # per level; the 合计 line and the Excel file cover every row


def _blank(value: object) -> object:
    """An empty form field as None (a browser sends every field of a form, filled or not)."""
    if isinstance(value, str):
        return value.strip() or None
    return value


FormDate = Annotated[DateQuery, BeforeValidator(_blank)]
FormLevel = Annotated[Level | None, BeforeValidator(_blank)]
FormCode = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_blank)]


class LedgerAsk(BaseModel):
    """What the 台帐 form asks for: level, parent, as-of date and the incidents' and patrols' period."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    level: FormLevel = None
    parent: FormCode = None
    as_of: FormDate = None
    date_from: FormDate = Field(None, alias="from")
    date_to: FormDate = Field(None, alias="to")

    def fields(self) -> dict[str, str]:
        """The form's filled fields by their names (for hidden fields, links and the job's parameters)."""
        return {k: str(v) for k, v in self.model_dump(by_alias=True).items() if v is not None}


@dataclass(frozen=True)
class LedgerPlan:
    """A checked request: the subtree within the reader's scope (``readable_root``), and the moments the services
    take."""

    level: str | None
    root: str | None
    as_of: dt.datetime | None
    start: dt.datetime | None
    end: dt.datetime | None


def moments(settings: Settings, ask: LedgerAsk) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]:
    """(as of, start, end) in the installation's time zone; ``InvalidInput`` for a reversed period."""
    start, end = day_range(ask.date_from, ask.date_to, settings.timezone)
    return as_of_moment(ask.as_of, settings.timezone), start, end


def build(session: Session, who: Actor, plan: LedgerPlan, patrol_buffer_m: float, page: str,
          party_rules: PartyRules) -> Ledger:  # fmt: skip
    """The ledger of the plan, read as ``who`` (private staff roles only within the reader's scope, and then the
    view is logged as from ``page``)."""
    return build_ledger(session, level=plan.level, parent=plan.root, as_of=plan.as_of, date_from=plan.start,
                        date_to=plan.end, reader=who, patrol_buffer_m=patrol_buffer_m, viewed_from=page,
                        party_rules=party_rules)  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, its classes, and a roster's entries (shown folded, one a line)."""

    text: str
    css: str
    entries: tuple[str, ...] = ()


def _cell(column: Column, value: Any) -> Cell:
    """Figures right-aligned on one line; the categories wrap; the staff roster folds behind its head count."""
    text = column.show(value)
    if column.numeric:
        return Cell(text, "text-end text-nowrap")
    if column.key == "staff" and value:
        entries = tuple(e for e in text.split(ROSTER_SEPARATOR) if e)
        return Cell(text, "cell-roster", entries)
    return Cell(text, "cell-wrap" if column.key in PAGE_WRAP_KEYS else "text-nowrap")


def _cells(row: dict[str, Any]) -> list[Cell]:
    """The cells of one ledger line, in column order."""
    return [_cell(c, row.get(c.key)) for c in COLUMNS]


def sections(ledger: Ledger, limit: int = MAX_ROWS_SHOWN) -> list[dict[str, Any]]:
    """One table per level present: its first ``limit`` rows (a city's compounds would make a page no browser
    shows), how many more the Excel file has, and the 合计 line of all of them."""
    rows = [r.as_dict() for r in ledger.rows]
    out = []
    for level in LEVELS:
        data = [r for r in rows if r["level"] == level]
        if data:
            out.append({"level": level, "label": LEVEL_ZH[level], "count": len(data),
                        "rows": [(r["code"], _cells(r)) for r in data[:limit]], "more": max(0, len(data) - limit),
                        "total": _cells(totals(data))})  # fmt: skip
    return out


def parent_choices(session: Session, who: Actor, root: str | None) -> list[tuple[str, str]]:
    """(code, label) of the units the reader may choose: the streets and communities in scope (its own scope
    grid when that is deeper), plus the asked parent; 全部 first for readers without a scope."""
    tops = sorted((g for level in CHOICE_LEVELS for g in list_grids(session, level=level, with_geometry=False)),
                  key=lambda g: g.code)  # fmt: skip
    grids: list[GridRecord]
    if who.unscoped:
        grids = tops
    elif any(g.code == who.scope_code for g in tops):
        grids = subtree(tops, who.scope_code)
    else:
        grids = [get_grid(session, str(who.scope_code))]
    if root is not None and all(g.code != root for g in grids):
        with suppress(NotFound):  # an unknown code: building the ledger says so, next to the form
            grids = sorted([*grids, get_grid(session, root)], key=lambda g: g.code)
    options = [("", "全部网格")] if who.unscoped else []
    return options + [(g.code, f"{'　' * LEVELS.index(g.level)}{g.name}（{g.code}）") for g in grids]


@router.get("/ledger", dependencies=[Throttled])
def ledger_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep,
                ask: Annotated[LedgerAsk, Query()]) -> Response:  # fmt: skip
    """The form, then the ledger of the chosen unit as one table per level with its 合计 line."""
    root = readable_root(session, who, ask.parent)
    choices = parent_choices(session, who, root)
    context: dict[str, Any] = {"ask": ask, "root": root or "", "choices": choices, "columns": COLUMNS,
                               "levels": [(v, LEVEL_ZH[v]) for v in LEVELS], "sections": [], "error": None}  # fmt: skip
    try:
        plan = LedgerPlan(ask.level, root, *moments(settings, ask))
        ledger = build(session, who, plan, settings.patrol_buffer_m, PAGE, PartyRules.of(settings))
    except InvalidInput as exc:
        return render(request, "ledger.html", actor=who, active="ledger", title="台帐", status_code=422,
                      heading="网格台帐", **context | {"error": exc.message})  # fmt: skip
    unit = unit_name(session, plan.root, plan.as_of)
    return render(request, "ledger.html", actor=who, active="ledger", title=f"{unit}网格台帐",
                  heading=f"{unit}网格台帐", as_of_text=as_of_text(ledger), period_text=period_text(ledger),
                  grids=len(ledger.rows), **context | {"sections": sections(ledger)})  # fmt: skip


def ledger_work(engine: Engine, who: Actor, plan: LedgerPlan, unit: str, *, patrol_buffer_m: float,
                timezone: str, party_rules: PartyRules) -> Work:  # fmt: skip
    """The job that builds the ledger in its own transaction, as ``who``, and writes the workbook."""

    def work(progress: Progress) -> Outcome:
        progress(0.05, "正在统计户数、人数、党员、事件与巡逻…")
        with session_scope(engine, who.name) as session:
            ledger = build(session, who, plan, patrol_buffer_m, FILE_PAGE, party_rules)
        progress(0.6, f"已统计 {len(ledger.rows)} 个网格，正在写入 Excel…")
        made = dt.datetime.now(ZoneInfo(timezone))
        path = write_xlsx(ledger, progress.workdir / "ledger.xlsx", unit=unit, made_at=made)
        name = f"{UNSAFE_IN_NAMES.sub('_', unit)}网格台帐_{made:%Y%m%d}.xlsx"
        return Outcome(path=path, name=name, message=f"已完成：{len(ledger.rows)} 个网格")

    return work


@router.post("/ledger/file")
def ledger_file(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep,
                ask: Annotated[LedgerAsk, Form()]) -> Response:  # fmt: skip
    """Start the Excel file of the asked ledger in the background and follow it on the job's page."""
    plan = LedgerPlan(ask.level, readable_root(session, who, ask.parent), *moments(settings, ask))
    unit = unit_name(session, plan.root, plan.as_of)
    work = ledger_work(request.app.state.engine, who, plan, unit, patrol_buffer_m=settings.patrol_buffer_m,
                       timezone=settings.timezone, party_rules=PartyRules.of(settings))  # fmt: skip
    job_id = request.app.state.jobs.start(who, "ledger", f"{unit}网格台帐（Excel）", work,
                                          ask.fields() | {"root": plan.root})  # fmt: skip
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
