"""巡逻排班 pages: the month's roster (nights as rows, 上半夜/下半夜 as columns) with generation from the rules and its
Excel and PDF files; a night's page to set, add or remove entries and record leave and substitutions; and the daily
notice list (printable, and as Excel) for the 15:00–16:00 calls. ``patrol.rosters`` does the work and the scope
rule; the forms of an entry are shown only where the user may change it."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gridgov.api.dependencies import PatrolDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.auth.scope import Actor, may
from gridgov.history import day_of
from gridgov.patrol import roster_files
from gridgov.patrol import rosters as svc
from gridgov.periods import parse_month
from gridgov.vocab import SHIFTS, shift_hours
from gridgov.web.forms import DoneQuery, Short, form_day, notices, page_write, run_form
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class EntryForm(BaseModel):
    """An entry set by hand: its night, shift and team, and the values (empty: none)."""

    night: Short = ""
    shift: Short = ""
    team: Short = ""
    area: Short = ""
    leader: Short = ""
    duty_cadre: Short = ""
    community_staff: Short = ""
    note: Short = ""
    adding: Short = ""  # "1": a new entry from the night's add form (fields it lacks are taken from the rules)


class ChangeForm(BaseModel):
    """A leave or a substitution on an entry."""

    night: Short = ""
    shift: Short = ""
    team: Short = ""
    staff: Short = ""
    substitute: Short = ""
    note: Short = ""


class GenerateForm(BaseModel):
    """A month to generate, for all teams or those serving a grid."""

    month: Short = ""
    grid: Short = ""


def _month_of(value: str, timezone: str) -> dt.date:
    """The month asked for (YYYY-MM), this month when none."""
    return parse_month(value) if value.strip() else day_of(None, timezone).replace(day=1)


def _night_of(value: str, timezone: str) -> dt.date:
    return form_day(value) or day_of(None, timezone)


def _editable(e: svc.RosterEntry, codes: set[str] | None) -> bool:
    """Whether the scope rule lets the user change the entry (a team serving no grid: let the service judge)."""
    if codes is None:
        return True
    team_ok = e.team_grid_code is None or e.team_grid_code in codes
    return team_ok and (e.lead_grid_code is None or e.lead_grid_code in codes)


def _month_page(request: Request, session: Session, settings: SettingsDep, who: Actor, month: dt.date, *,
                status_code: int = 200, messages: Sequence[tuple[str, str]] = ()) -> Response:  # fmt: skip
    roster = svc.month_roster(session, month)
    codes = svc.scope_codes(session, who)
    prev = (month - dt.timedelta(days=1)).replace(day=1)
    following = svc.last_day(month) + dt.timedelta(days=1)
    rows = []
    for night, shifts in roster.by_night().items():
        entries = [e for s in shifts.values() for e in s]
        rows.append({
            "night": night, "weekday": svc.WEEKDAYS[night.weekday()], "shifts": shifts, "weekend": night.weekday() >= 5,
            "duty": list(dict.fromkeys(e.duty_cadre.name for e in entries if e.duty_cadre)),
            "community": list(dict.fromkeys(e.community_staff.name for e in entries if e.community_staff)),
            "changes": [f"{e.team_name}：{e.changes_text}" for e in entries if e.changes],
        })  # fmt: skip
    return render(request, "patrol_roster.html", actor=who, active="patrol",
                  title=f"巡逻排班 · {svc.month_label(month)}", status_code=status_code, messages=list(messages),
                  roster=roster, rows=rows, month=month, month_text=f"{month:%Y-%m}", prev=f"{prev:%Y-%m}",
                  next=f"{following:%Y-%m}", today=day_of(None, settings.timezone),
                  shifts=[(s, shift_hours(s)) for s in SHIFTS], can_write=may(who, "patrol"),
                  communities=svc.communities(session, codes), scoped=codes is not None,
                  label=svc.month_label(month))  # fmt: skip


def _night_page(request: Request, session: Session, settings: SettingsDep, who: Actor, night: dt.date, *,
                status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    entries = svc.night_roster(session, night)
    codes = svc.scope_codes(session, who)
    can_write = may(who, "patrol")
    return render(request, "patrol_roster_night.html", actor=who, active="patrol",
                  title=f"巡逻排班 · {night:%Y-%m-%d}", status_code=status_code, messages=list(messages),
                  night=night, weekday=svc.WEEKDAYS[night.weekday()], entries=entries,
                  editable={e.id for e in entries if can_write and _editable(e, codes)}, can_write=can_write,
                  prev=night - dt.timedelta(days=1), next=night + dt.timedelta(days=1), shifts=SHIFTS.terms,
                  form=form or {}, choices=svc.choices(session) if can_write else None)  # fmt: skip


def _night_url(night: dt.date) -> str:
    return f"/patrol/roster/night?date={quote(f'{night:%Y-%m-%d}')}"


_night_form = page_write(_night_page, _night_url)  # one change of a night's roster: back to the night, or the refusal


@router.get("/patrol/roster")
def roster_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    month: Annotated[str, Query(max_length=20)] = "",
    done: DoneQuery = None,
) -> Response:
    """The month's roster (this month by default), nights as rows and shifts as columns."""
    return _month_page(request, session, settings, who, _month_of(month, settings.timezone), messages=notices(done))


@router.post("/patrol/roster/generate")
def roster_generate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[GenerateForm, Form()],
) -> Response:
    """Generate the month from the rules (all teams, or those serving the chosen grid)."""
    month = _month_of(form.month, settings.timezone)

    def write() -> str:
        return svc.generate_month(session, month, who, grid=form.grid.strip() or None).message

    return run_form(session, write, back=f"/patrol/roster?month={month:%Y-%m}", what="未生成",
                    again=partial(_month_page, request, session, settings, who, month))  # fmt: skip


@router.get("/patrol/roster/night")
def roster_night_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[str, Query(max_length=20)] = "",
    done: DoneQuery = None,
) -> Response:
    """A night's entries with their crews, and the forms to change them."""
    return _night_page(request, session, settings, who, _night_of(date, settings.timezone), messages=notices(done))


@router.post("/patrol/roster/set")
def roster_set(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[EntryForm, Form()],
) -> Response:
    """Set an entry by hand: a new one (fields left empty are taken from the rules) or a change of one (every field
    as the form shows it; empty clears)."""
    night = _night_of(form.night, settings.timezone)
    adding = form.adding == "1"

    def given(value: str) -> str | None:
        return (value.strip() or None) if adding else value

    def write() -> str:
        e = svc.set_entry(session, who, night, form.shift, form.team, area=given(form.area),
                          leader=given(form.leader), duty_cadre=given(form.duty_cadre),
                          community_staff=given(form.community_staff), note=given(form.note))  # fmt: skip
        return f"已保存排班：{e.shift} {e.team_name}（手工）"

    return _night_form(request, session, settings, who, night, write, "未保存", form={"entry": form.model_dump()})


@router.post("/patrol/roster/remove")
def roster_remove(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[ChangeForm, Form()],
) -> Response:
    """Take a team off a night's shift."""
    night = _night_of(form.night, settings.timezone)

    def write() -> str:
        e = svc.remove_entry(session, who, night, form.shift, form.team)
        return f"已删除排班：{e.shift} {e.team_name}"

    return _night_form(request, session, settings, who, night, write, "未删除")


def _changed(e: svc.RosterEntry) -> str:
    """The notice of a leave or a substitution recorded on an entry."""
    return f"已登记：{e.changes[-1].text}（{e.shift} {e.team_name}）"


@router.post("/patrol/roster/leave")
def roster_leave(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[ChangeForm, Form()],
) -> Response:
    """Record a leave on an entry."""
    night = _night_of(form.night, settings.timezone)

    def write() -> str:
        return _changed(svc.record_leave(session, who, night, form.shift, form.team, form.staff, form.note))

    return _night_form(request, session, settings, who, night, write, "未登记请假",
                       form={"change": form.model_dump()})  # fmt: skip


@router.post("/patrol/roster/substitute")
def roster_substitute(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[ChangeForm, Form()],
) -> Response:
    """Record a substitution on an entry."""
    night = _night_of(form.night, settings.timezone)

    def write() -> str:
        return _changed(svc.record_substitution(session, who, night, form.shift, form.team, form.staff,
                                                form.substitute, form.note))  # fmt: skip

    return _night_form(request, session, settings, who, night, write, "未登记替班",
                       form={"change": form.model_dump()})  # fmt: skip


def _download(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})  # fmt: skip


@router.get("/patrol/roster/file", dependencies=[Throttled])
def roster_file(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    month: Annotated[str, Query(max_length=20)] = "",
    format: Annotated[Literal["xlsx", "pdf"], Query()] = "xlsx",  # noqa: A002 - the API's word
) -> Response:
    """The month's roster as Excel or PDF."""
    roster = svc.month_roster(session, _month_of(month, settings.timezone))
    made = day_of(None, settings.timezone)
    if format == "pdf":
        data = roster_files.roster_pdf(roster, made=made)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = roster_files.write_roster_xlsx(roster, Path(tmp) / "roster.xlsx", made=made).read_bytes()
    return _download(data, format, roster_files.roster_file_name(roster, f".{format}"))


@router.get("/patrol/notice")
def notice_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The night's notice list (today by default), printable."""
    night = _night_of(date, settings.timezone)
    notice = svc.notices(session, night)
    return render(request, "patrol_notice.html", actor=who, active="patrol", title=f"通知名单 · {night:%Y-%m-%d}",
                  notice=notice, night=night, today=day_of(None, settings.timezone),
                  prev=night - dt.timedelta(days=1), next=night + dt.timedelta(days=1),
                  hours=roster_files.NOTICE_HOURS)  # fmt: skip


@router.get("/patrol/notice/file", dependencies=[Throttled])
def notice_file(
    session: SessionDep,
    settings: SettingsDep,
    who: ViewerDep,
    date: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The night's notice list as Excel."""
    notice = svc.notices(session, _night_of(date, settings.timezone))
    with tempfile.TemporaryDirectory() as tmp:
        data = roster_files.write_notice_xlsx(notice, Path(tmp) / "notice.xlsx").read_bytes()
    return _download(data, "xlsx", roster_files.notice_file_name(notice))
