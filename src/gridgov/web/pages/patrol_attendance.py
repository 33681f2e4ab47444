"""巡逻日报: a night's attendance (yesterday by default, in the installation's zone), the absent and late teams first
and marked, printable, with the month's 考勤表 to download."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gridgov.api.dependencies import SessionDep, SettingsDep, ViewerDep
from gridgov.api.params import DateQuery
from gridgov.history import day_of
from gridgov.patrol.attendance import ABSENT, LATE, LEFT_EARLY, PRESENT, Attendance, attendance, worst_first
from gridgov.patrol.rosters import latest_rostered_night
from gridgov.patrol.shifts import night_clock as clock
from gridgov.vocab import shift_hours
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)
WEEKDAYS = "一二三四五六日"
# Bootstrap row and badge colours per status: absent and late stand out on screen and on paper.
ROW_CLASS = {ABSENT: "table-danger", LATE: "table-warning", LEFT_EARLY: "table-warning", PRESENT: ""}
BADGE_CLASS = {ABSENT: "text-bg-danger", LATE: "text-bg-warning", LEFT_EARLY: "text-bg-warning",
               PRESENT: "text-bg-success"}  # fmt: skip


def _row(e: Attendance, zone: ZoneInfo) -> dict[str, Any]:
    """What the table shows of one entry."""
    flags = [f for f, on in ((LATE, e.late), (LEFT_EARLY, e.left_early)) if on and f != e.status]
    people = []
    for p in e.people:
        state = "请假" if p.on_leave else f"由{p.replaced_by}替班" if p.replaced_by else p.status
        people.append({"name": p.staff_name, "role": f"替{p.substitute_for}" if p.substitute_for else p.role,
                       "state": state, "own": p.own_tracks,
                       "marked": not p.on_leave and not p.replaced_by and p.status != PRESENT})  # fmt: skip
    return {"e": e, "row_class": ROW_CLASS[e.status], "badge": BADGE_CLASS[e.status], "flags": flags,
            "hours": shift_hours(e.shift), "first": clock(e.first_seen, e.night, zone),
            "last": clock(e.last_seen, e.night, zone), "people": people,
            "unvisited": [f"{n}（{c}）" for n, c in zip(e.unvisited_names, e.unvisited, strict=True)]}  # fmt: skip


@router.get("/patrol/report")
def patrol_report(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep,
                  date: DateQuery = None) -> Response:  # fmt: skip
    """The night's report: every rostered team × shift, the absent and late first, with the figures and the grids
    not visited; a date picker and the month's 考勤表."""
    zone = ZoneInfo(settings.timezone)
    today = day_of(None, settings.timezone)
    night, skipped = date or today - dt.timedelta(days=1), None
    entries = worst_first(attendance(session, night, rules=settings, timezone=settings.timezone))
    if date is None and not entries:  # nothing rostered last night: the latest night that had a roster
        latest = latest_rostered_night(session, today)
        if latest is not None:
            night, skipped = latest, night
            entries = worst_first(attendance(session, night, rules=settings, timezone=settings.timezone))
    counts = {s: sum(1 for e in entries if e.status == s) for s in (PRESENT, LATE, LEFT_EARLY, ABSENT)}
    return render(request, "patrol_report.html", actor=who, active="patrol", title=f"巡逻日报 {night}",
                  night=night, weekday=WEEKDAYS[night.weekday()], rows=[_row(e, zone) for e in entries],
                  counts=counts, month=f"{night:%Y-%m}", previous=night - dt.timedelta(days=1),
                  next=night + dt.timedelta(days=1), today=today,
                  late_grace=settings.late_grace_minutes, early_grace=settings.early_grace_minutes,
                  badge=BADGE_CLASS, skipped=skipped)  # fmt: skip
