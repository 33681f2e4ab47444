"""A case's timeline replayed step by step as the running system takes each step: the report
(:func:`gridgov.incidents.cases.report`), a transition of :mod:`gridgov.incidents.workflow`
(:func:`gridgov.incidents.cases.act`) or an escalation by deadline (:mod:`gridgov.incidents.sweep`).

The sample's generator plays its cases with it, and the sample's loader replays ``incident_events.csv`` with it,
so what the loader writes (each step's statuses, levels, deadline and lateness, and the case after its last step)
is what the system would have written had people taken those steps. A step the workflow does not allow is
refused with the reason in Chinese.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gridgov.incidents import workflow as wf
from gridgov.incidents.limits import TimeLimits
from gridgov.workdays import WorkCalendar

BY_WORD = {t.recorded: t for t in wf.TRANSITIONS.values()}  # what the timeline records → the transition
ESCALATING = (wf.REPORTED, wf.ACCEPTED, wf.DISPATCHED)  # what the sweep escalates (gridgov.incidents.sweep)
WORDS = (wf.REPORTED, *BY_WORD, wf.AUTO_ESCALATION)


class StepRefused(ValueError):
    """A step that cannot follow the case's previous ones; the message says why, in Chinese."""


@dataclass
class CaseState:
    """A case as its steps so far left it (status None: not reported yet); ``assignee`` is a staff code."""

    category: str
    urgency: str
    status: str | None = None
    level: str | None = None
    assignee: str | None = None
    deadline: dt.datetime | None = None
    step_started_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    review_on: dt.date | None = None
    version: int = 0
    last_at: dt.datetime | None = None


@dataclass(frozen=True)
class Recorded:
    """One step as ``incident_event`` stores it (staff_code: the staff it was dispatched to)."""

    at: dt.datetime
    action: str
    from_status: str | None
    to_status: str
    from_level: str | None
    to_level: str
    staff_code: str | None
    note: str | None
    deadline: dt.datetime | None
    overdue: bool
    review_on: dt.date | None


def take(state: CaseState, action: str, at: dt.datetime, limits: TimeLimits, calendar: WorkCalendar, *,
         staff_code: str | None = None, note: str | None = None,
         review_on: dt.date | None = None) -> Recorded:  # fmt: skip
    """Take the step recorded as ``action`` (gridgov.vocab.INCIDENT_ACTIONS) at ``at``: update ``state`` and return
    what the timeline stores; ``StepRefused`` (nothing changed) when it cannot follow the steps before it."""
    before, level_before = state.status, state.level
    if state.last_at is not None and at <= state.last_at:
        raise StepRefused(f"时间应晚于上一步（{state.last_at.isoformat()}）")
    keeps, overdue, assignee, dispatched = False, False, state.assignee, None
    if action == wf.REPORTED:
        if before is not None:
            raise StepRefused("「上报」只能是事件的第一步")
        status, level, assignee = wf.REPORTED, wf.GRID_LEVEL, None
    elif before is None or level_before is None:
        raise StepRefused(f"事件的第一步应为「{wf.REPORTED}」，而不是「{action}」")
    elif action == wf.AUTO_ESCALATION:
        up = wf.next_level(level_before)
        if before not in ESCALATING or up is None:
            raise StepRefused(f"事件当前为「{before}」（{level_before}层级），不会超期上报")
        if state.deadline is None or at < state.deadline:
            raise StepRefused(f"超期上报早于时限：{state.deadline.isoformat() if state.deadline else '无时限'}")
        status = wf.ACCEPTED if before == wf.DISPATCHED else before
        level, assignee, overdue = up, None, True
    else:
        t = BY_WORD.get(action)
        if t is None:
            raise StepRefused(f"未知的操作：{action}（可选：{'、'.join(WORDS)}）")
        if t not in wf.allowed(before, level_before):
            possible = "、".join(x.recorded for x in wf.allowed(before, level_before)) or "无"
            raise StepRefused(f"事件当前为「{before}」（{level_before}层级），不能「{t.label}」；"
                              f"可进行的操作：{possible}")
        if t.note and not (note or "").strip():
            raise StepRefused(f"「{t.label}」须填写说明")
        if t.staff and not staff_code:
            raise StepRefused(f"「{t.label}」须指定工作人员编码")
        if t.review and (review_on is None or review_on <= at.astimezone(calendar.zone).date()):
            raise StepRefused("挂账须填写晚于当天的复查日期")
        status = wf.target_of(t, before)
        level = (wf.next_level(level_before) if t.action == "escalate" else level_before) or level_before
        keeps = t.action == "visit" or (t.action == "dispatch" and before == wf.DISPATCHED)
        overdue = not keeps and state.deadline is not None and at > state.deadline
        if t.action == "dispatch":
            assignee = dispatched = staff_code
        elif status in (wf.REPORTED, wf.ACCEPTED) or t.action == "escalate":
            assignee = None
    deadline = state.deadline if keeps else limits.deadline(calendar, status, state.category, state.urgency, at)
    if status != before:
        state.closed_at = at if status == wf.CLOSED else (None if before == wf.CLOSED else state.closed_at)
    if action != wf.AUTO_ESCALATION:
        state.review_on = review_on if status == wf.PARKED else None
    state.status, state.level, state.assignee, state.deadline = status, level, assignee, deadline
    state.step_started_at = state.step_started_at if keeps else at
    state.version += 1
    state.last_at = at
    return Recorded(at, action, before, status, level_before, level, dispatched, note or None, deadline, overdue,
                    state.review_on if status == wf.PARKED else None)  # fmt: skip
