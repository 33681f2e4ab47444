"""Pages for the incident settings (administrators): the working-day calendar (工作日历) as a year of month grids
with its holidays and make-up working days, and the time limits and dispatch rules (时限与派遣规则)."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from gridgov.api.dependencies import AdminDep, SessionDep, SettingsDep
from gridgov.api.uploads import save_upload
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.history import day_of
from gridgov.incidents import limits
from gridgov.incidents.cases import FALLBACK_ROLE
from gridgov.periods import parse_date, parse_moment
from gridgov.vocab import INCIDENT_STEPS, INCIDENT_URGENCIES
from gridgov.web.forms import Done, form_day, notices, run_form, words_of
from gridgov.web.templating import render
from gridgov.workdays import (
    DAY_KINDS,
    HOLIDAY,
    MAKEUP,
    WEEKDAYS,
    CalendarDay,
    WorkCalendar,
    calendar_days,
    calendar_for,
    calendar_years,
    clear_days,
    date_span,
    day_label,
    import_days,
    local_moment,
    missing_holidays,
    set_days,
)

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]
OptionalText = Annotated[str, Form(max_length=200)]
HOLIDAY_NAMES = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
PUBLISHED_MONTH = 10  # from October on, next year's list is due (the State Council publishes it in November)


@dataclass(frozen=True)
class Span:
    """Consecutive days of one kind and name, as the State Council lists them (元旦 休 1月1日至3日)."""

    first: dt.date
    last: dt.date
    kind: str
    name: str | None

    @property
    def days(self) -> int:
        """How many days the span has."""
        return (self.last - self.first).days + 1


def spans_of(days: list[CalendarDay]) -> list[Span]:
    """The calendar's days (in date order) joined into spans of consecutive days with the same kind and name."""
    spans: list[Span] = []
    for d in days:
        last = spans[-1] if spans else None
        if last and last.kind == d.kind and last.name == d.name and d.day == last.last + dt.timedelta(days=1):
            spans[-1] = Span(last.first, d.day, d.kind, d.name)
        else:
            spans.append(Span(d.day, d.day, d.kind, d.name))
    return spans


def _calendar(session: SessionDep, settings: Settings) -> WorkCalendar:
    return calendar_for(session, settings)


def _trial(cal: WorkCalendar, settings: Settings, query: dict[str, str]) -> dict[str, Any]:
    """期限试算: working days in a range and a deadline, from the page's query; a bad value is said, not raised."""
    out: dict[str, Any] = {k: query.get(k, "") for k in ("date_from", "date_to", "start", "add")}
    try:
        if out["date_from"]:
            first = parse_date(out["date_from"])
            last = parse_date(out["date_to"]) if out["date_to"] else first
            date_span(first, last)
            out["count"] = f"{day_label(first)} 至 {day_label(last)}：{cal.working_days(first, last)} 个工作日"
        if out["start"] and out["add"]:
            try:
                add = float(out["add"])
            except ValueError:
                raise InvalidInput(f"工作日数应为数字：{out['add']}") from None
            if not 0 < add <= 365:
                raise InvalidInput(f"工作日数应在 0 到 365 之间：{out['add']}")
            begin = local_moment(parse_moment(out["start"]), settings.timezone)
            due = cal.add(begin, add)
            out["deadline"] = (f"自 {begin:%Y-%m-%d %H:%M} 起 {add:g} 个工作日：{day_label(due.date())} "
                               f"{due:%H:%M} 到期")  # fmt: skip
    except InvalidInput as exc:
        out["error"] = exc.message
    return out


def _calendar_page(request: Request, session: SessionDep, settings: Settings, who: Actor, year: int,
                   status_code: int = 200, form: dict[str, Any] | None = None, **context: Any) -> Response:  # fmt: skip
    """The year view: 12 month grids, the year's spans, the forms and the warnings of years without holidays."""
    today = day_of(None, settings.timezone)
    days = calendar_days(session, year)
    marked = {d.day: d for d in days}
    months = [(m, stdlib_calendar.Calendar().monthdatescalendar(year, m)) for m in range(1, 13)]
    entered = calendar_years(session)
    missing = [(y, "warning" if y == today.year or today.month >= PUBLISHED_MONTH else "info")
               for y in missing_holidays(session, today)]  # fmt: skip
    if year not in (today.year, today.year + 1) and not (year in entered and entered[year].holidays):
        missing.append((year, "info"))
    cal = _calendar(session, settings)
    return render(request, "incident_admin_calendar.html", actor=who, active="incident_admin", title=f"工作日历 {year}",
                  status_code=status_code, year=year, today=today, months=months, marked=marked,
                  spans=spans_of(days), holidays=sum(d.kind == HOLIDAY for d in days),
                  makeup=sum(d.kind == MAKEUP for d in days),
                  years=sorted({*entered, today.year, today.year + 1, year}),
                  missing=missing, kinds=DAY_KINDS, weekdays=WEEKDAYS, names=HOLIDAY_NAMES, form=form or {},
                  working=cal, trial=_trial(cal, settings, dict(request.query_params)),
                  **context)  # fmt: skip


def _year(value: int | None, settings: Settings) -> int:
    year = value or day_of(None, settings.timezone).year
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"年份应在 2000 到 2100 之间：{year}")
    return year


@router.get("/admin/calendar")
def calendar_page(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep,
                  year: int | None = None, done: str | None = None) -> Response:  # fmt: skip
    """The working-day calendar of a year, with forms to mark, clear and import days, and a deadline trial."""
    return _calendar_page(request, session, settings, who, _year(year, settings), messages=notices(done))


def _calendar_write(request: Request, session: SessionDep, settings: Settings, who: Actor, year: int,
                    write: Any, form: dict[str, Any], what: str) -> Response:  # fmt: skip
    return run_form(session, write, what=what, keep={"form": form},
                    again=partial(_calendar_page, request, session, settings, who, year))  # fmt: skip


def _span(first: str, last: str) -> list[dt.date]:
    day = form_day(first)
    if day is None:
        raise InvalidInput("请填写日期")
    return date_span(day, form_day(last))


def _year_of_field(first: str, settings: Settings) -> int:
    try:
        day = form_day(first)
    except InvalidInput:
        day = None
    return day.year if day else day_of(None, settings.timezone).year


@router.post("/admin/calendar/days")
def calendar_set(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep, first: Text,
                 kind: Text, last: OptionalText = "", name: OptionalText = "") -> Response:  # fmt: skip
    """Mark a day or a span as 休 or 班 with the holiday's name."""
    year = _year_of_field(first, settings)

    def write() -> Done:
        days = _span(first, last)
        set_days(session, who, days, kind, name)
        span = days[0].isoformat() + (f" 至 {days[-1].isoformat()}" if len(days) > 1 else "")
        return Done(f"/admin/calendar?year={days[0].year}", f"已将 {span}（{len(days)} 天）标为「{kind}」"
                                                             f"{'：' + name.strip() if name.strip() else ''}")

    return _calendar_write(request, session, settings, who, year, write,
                           {"first": first, "last": last, "kind": kind, "name": name}, "未保存")  # fmt: skip


@router.post("/admin/calendar/clear")
def calendar_clear(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep, first: Text,
                   last: OptionalText = "") -> Response:  # fmt: skip
    """Return a day or a span to what the week says."""
    year = _year_of_field(first, settings)

    def write() -> Done:
        days = _span(first, last)
        n = clear_days(session, who, days)
        return Done(f"/admin/calendar?year={days[0].year}", f"已恢复 {n} 天为平常日")

    return _calendar_write(request, session, settings, who, year, write,
                           {"clear_first": first, "clear_last": last}, "未恢复")  # fmt: skip


@router.post("/admin/calendar/import")
def calendar_import(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep,
                    file: Annotated[UploadFile, File()], replace: Annotated[bool, Form()] = False,
                    replace_year: OptionalText = "") -> Response:  # fmt: skip
    """Enter a year's list from a CSV or XLSX file; a bad row refuses the whole file, naming the rows."""
    typed = replace_year.strip()
    year = int(typed) if typed.isdigit() and 2000 <= int(typed) <= 2100 else day_of(None, settings.timezone).year

    def write() -> Done:
        if replace and year != (int(typed) if typed.isdigit() else None):
            raise InvalidInput(f"要替换的年份应为 2000 到 2100 之间的年份：{typed or '（空）'}")
        if not file.filename:
            raise InvalidInput("请选择文件（CSV 或 XLSX）")
        with save_upload(file, settings.max_upload_mb) as path:
            got = import_days(session, who, path, replace_year=year if replace else None)
        removed = f"，删除原有 {got.removed} 天" if got.removed else ""
        shown = year if replace else got.years[0]
        years = "、".join(map(str, got.years))
        return Done(f"/admin/calendar?year={shown}",
                    f"已导入 {years} 年：休 {got.holidays} 天，班 {got.makeup} 天{removed}")

    return _calendar_write(request, session, settings, who, year, write,
                           {"replace": replace, "replace_year": replace_year}, "未导入")  # fmt: skip


# ------------------------------------------------------------------------------------------------ limits, rules


@dataclass(frozen=True)
class Cell:
    """The limit a step has for a category: per urgency (days or None) and whether a category row sets it."""

    by_urgency: tuple[tuple[str, float | None], ...]
    own: bool

    @property
    def same(self) -> bool:
        """Every urgency has the same limit."""
        return len({d for _, d in self.by_urgency}) == 1


def effective(table: limits.TimeLimits, categories: tuple[str, ...]) -> list[tuple[str, list[Cell]]]:
    """Per category, per step: the limit in force for each urgency (the most specific stored row)."""
    out = []
    for category in categories:
        cells = []
        for step in INCIDENT_STEPS:
            rows = [(u, table.applies(step, category, u)) for u in INCIDENT_URGENCIES]
            cells.append(Cell(tuple((u, r.working_days if r else None) for u, r in rows),
                              any(r is not None and r.category != limits.ANY for _, r in rows)))  # fmt: skip
        out.append((category, cells))
    return out


def _rules_page(request: Request, session: SessionDep, settings: Settings, who: Actor, status_code: int = 200,
                **context: Any) -> Response:  # fmt: skip
    """Time limits (in force per category and step; the stored rows, editable) and the dispatch rules."""
    table = limits.load_limits(session)
    categories = words_of(session, "incident_categories")
    rules = limits.dispatch_rules(session)
    cal = _calendar(session, settings)
    return render(request, "incident_admin_rules.html", actor=who, active="incident_admin", title="时限与派遣规则",
                  status_code=status_code, rows=table.rows, grid=effective(table, categories),
                  steps=INCIDENT_STEPS.terms, urgencies=INCIDENT_URGENCIES.terms, categories=categories, rules=rules,
                  roles=words_of(session, "staff_roles"), fallback=FALLBACK_ROLE, working=cal,
                  hours=cal.day_length.total_seconds() / 3600, **context)  # fmt: skip


@router.get("/admin/incident-rules")
def rules_page(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep,
               done: str | None = None) -> Response:  # fmt: skip
    """The time limits and dispatch rules with forms to change them."""
    return _rules_page(request, session, settings, who, messages=notices(done))


def _rules_write(request: Request, session: SessionDep, settings: Settings, who: Actor, write: Any,
                 what: str, anchor: str, form: dict[str, Any]) -> Response:  # fmt: skip
    return run_form(session, write, back=f"/admin/incident-rules#{anchor}", what=what, keep={"form": form},
                    again=partial(_rules_page, request, session, settings, who))  # fmt: skip


def _days(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise InvalidInput(f"时限应为工作日数（可为小数，如 0.5）：{value or '（空）'}") from None


@router.post("/admin/incident-rules/limits")
def rules_set_limit(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep, step: Text,
                    working_days: Text, category: OptionalText = "",
                    urgency: OptionalText = "") -> Response:  # fmt: skip
    """Set a step's limit for a category (or all) and an urgency (or either)."""

    def write() -> str:
        row = limits.set_limit(session, who, step, _days(working_days), category=category, urgency=urgency)
        return (f"已设置时限：{row.category or '全部类别'}·{row.step}·{row.urgency or '不限紧急程度'} "
                f"{row.working_days:g} 个工作日")  # fmt: skip

    form = {"step": step, "working_days": working_days, "category": category, "urgency": urgency}
    return _rules_write(request, session, settings, who, write, "未保存", "limits", form)


@router.post("/admin/incident-rules/limits/remove")
def rules_remove_limit(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep, step: Text,
                       category: OptionalText = "", urgency: OptionalText = "") -> Response:  # fmt: skip
    """Remove a limit row (the less specific one applies)."""

    def write() -> str:
        limits.remove_limit(session, who, step, category=category, urgency=urgency)
        return f"已删除时限：{category or '全部类别'}·{step}·{urgency or '不限紧急程度'}"

    return _rules_write(request, session, settings, who, write, "未删除", "limits", {})


@router.post("/admin/incident-rules/dispatch")
def rules_dispatch(request: Request, session: SessionDep, settings: SettingsDep, who: AdminDep, category: Text,
                   staff_role: OptionalText = "") -> Response:  # fmt: skip
    """Dispatch a category to a staff role by default (empty: back to the 网格员)."""

    def write() -> str:
        limits.set_dispatch_rule(session, who, category, staff_role or None)
        return f"{category} 类事件默认派给：{staff_role.strip() or FALLBACK_ROLE}"

    return _rules_write(request, session, settings, who, write, category, "dispatch", {})
