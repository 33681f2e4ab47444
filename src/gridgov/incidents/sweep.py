"""Escalation by deadline (超期上报): a case at 网格 or 社区 level still waiting to be accepted, dispatched or
handled when its step's deadline passes goes up one level, at the moment of the deadline, with a new deadline
from there; a case that is overdue again at 社区 goes on to 街道 in the same sweep. Cases waiting for 核查 or
结案 are marked overdue (their deadline has passed) but stay where they are: escalating would not help.

The server sweeps every few minutes (``IncidentSettings.sweep_minutes``); ``gridgov incident sweep`` does the
same from cron or by hand. Recording the step at the deadline, not at the sweep, makes the result the same
whenever the sweep runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.incidents import workflow as wf
from gridgov.incidents.limits import load_limits
from gridgov.workdays import WorkCalendar

ESCALATING = (wf.REPORTED, wf.ACCEPTED, wf.DISPATCHED)

_DUE = text("""SELECT id, status, level, category, urgency, deadline FROM incident
                WHERE status = ANY(CAST(:statuses AS text[])) AND level <> :top AND deadline < :now
                ORDER BY id FOR UPDATE SKIP LOCKED""")
_APPLY = text("""UPDATE incident i SET status = u.status, level = u.level, deadline = u.deadline,
                        step_started_at = u.at, assignee_staff_id = NULL, version = i.version + 1
                   FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:levels AS text[]),
                               CAST(:deadlines AS timestamptz[]), CAST(:ats AS timestamptz[]))
                        AS u(id, status, level, deadline, at)
                  WHERE i.id = u.id""")
_RECORD = text("""INSERT INTO incident_event (incident_id, at, action, from_status, to_status, from_level, to_level,
                                              actor, note, deadline, overdue)
                  SELECT u.id, u.at, :action, u.from_status, u.status, u.from_level, u.level, :actor, :note,
                         u.deadline, true
                    FROM unnest(CAST(:ids AS bigint[]), CAST(:ats AS timestamptz[]), CAST(:from_statuses AS text[]),
                                CAST(:statuses AS text[]), CAST(:from_levels AS text[]), CAST(:levels AS text[]),
                                CAST(:deadlines AS timestamptz[]))
                         AS u(id, at, from_status, status, from_level, level, deadline)""")


@dataclass(frozen=True)
class SweepResult:
    """How many cases went up a level, by the level they reached."""

    escalated: dict[str, int]

    @property
    def total(self) -> int:
        """Escalations in all."""
        return sum(self.escalated.values())


def escalate_overdue(session: Session, calendar: WorkCalendar, *, now: dt.datetime | None = None,
                     actor: Actor | None = None) -> SweepResult:  # fmt: skip
    """Escalate every case whose step is overdue at ``now`` (one read and two writes per level passed)."""
    now = now or dt.datetime.now(dt.UTC)
    who = (actor or Actor.system()).audit_name
    limits = load_limits(session)
    counts: dict[str, int] = {}
    for _ in range(len(wf.INCIDENT_LEVELS.terms)):
        due = session.execute(_DUE, {"statuses": list(ESCALATING), "top": wf.STREET_LEVEL, "now": now}).all()
        if not due:
            break
        cols: dict[str, list[object]] = {k: [] for k in ("ids", "ats", "from_statuses", "statuses", "from_levels",
                                                          "levels", "deadlines")}  # fmt: skip
        for r in due:
            level = wf.next_level(r.level)
            assert level is not None
            status = wf.ACCEPTED if r.status == wf.DISPATCHED else r.status
            for key, value in (("ids", r.id), ("ats", r.deadline), ("from_statuses", r.status), ("statuses", status),
                               ("from_levels", r.level), ("levels", level),
                               ("deadlines", limits.deadline(calendar, status, r.category, r.urgency, r.deadline))):
                cols[key].append(value)  # fmt: skip
            counts[level] = counts.get(level, 0) + 1
        session.execute(_APPLY, {k: cols[k] for k in ("ids", "statuses", "levels", "deadlines", "ats")})
        session.execute(_RECORD, cols | {"action": wf.AUTO_ESCALATION, "actor": who,
                                         "note": "处置时限已过，自动上报上一级"})  # fmt: skip
    return SweepResult(counts)
