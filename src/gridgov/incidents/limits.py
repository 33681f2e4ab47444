"""Time limits and dispatch rules of the incident loop, as the administrator keeps them: a step's limit in working
days per category and urgency (the most specific row wins: category and urgency, category, urgency, neither),
and the staff role each category is dispatched to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.errors import InvalidInput, NotFound
from gridgov.incidents import workflow as wf
from gridgov.terms import stored_vocabulary
from gridgov.vocab import INCIDENT_STEPS, INCIDENT_URGENCIES
from gridgov.workdays import WorkCalendar

ANY = ""  # a row for every category or either urgency


@dataclass(frozen=True)
class LimitRow:
    """One stored limit."""

    category: str
    step: str
    urgency: str
    working_days: float


@dataclass(frozen=True)
class TimeLimits:
    """Every stored limit, read once; ``days`` picks the one that applies."""

    rows: tuple[LimitRow, ...]

    def applies(self, step: str, category: str, urgency: str) -> LimitRow | None:
        """The row that sets the limit of ``step`` for a case of ``category`` and ``urgency`` (the most specific)."""
        best: tuple[int, LimitRow] | None = None
        for r in self.rows:
            if r.step == step and r.category in (ANY, category) and r.urgency in (ANY, urgency):
                rank = 2 * (r.category != ANY) + (r.urgency != ANY)
                if best is None or rank > best[0]:
                    best = (rank, r)
        return None if best is None else best[1]

    def days(self, step: str, category: str, urgency: str) -> float | None:
        """The limit of ``step`` for a case of ``category`` and ``urgency`` (None: no limit)."""
        row = self.applies(step, category, urgency)
        return None if row is None else row.working_days

    def deadline(self, calendar: WorkCalendar, status: str, category: str, urgency: str,
                 start: dt.datetime) -> dt.datetime | None:  # fmt: skip
        """When the step a case at ``status`` waits for is due, counted from ``start`` (None: nothing waits)."""
        step = wf.waiting_step(status)
        days = None if step is None else self.days(step, category, urgency)
        return None if days is None else calendar.add(start, days)


def load_limits(session: Session) -> TimeLimits:
    """The stored limits (one query), in the order of the steps, the row for every category first."""
    rows = session.execute(text("SELECT category, step, urgency, working_days FROM incident_time_limit "
                                "ORDER BY array_position(CAST(:steps AS text[]), step), category <> '', category, "
                                "array_position(CAST(:urgencies AS text[]), urgency) NULLS FIRST"),
                           {"steps": list(INCIDENT_STEPS), "urgencies": list(INCIDENT_URGENCIES)})  # fmt: skip
    return TimeLimits(tuple(LimitRow(r.category, r.step, r.urgency, float(r.working_days)) for r in rows))


def _key(session: Session, step: str, category: str, urgency: str) -> tuple[str, str, str]:
    """A limit's step, category ('' for every one) and urgency ('' for either), checked and as stored."""
    step, category, urgency = step.strip(), category.strip(), urgency.strip()
    if step not in INCIDENT_STEPS:
        raise InvalidInput(f"未知的环节：{step or '（空）'}（可选：{'、'.join(INCIDENT_STEPS)}）")
    if urgency and urgency not in INCIDENT_URGENCIES:
        raise InvalidInput(f"未知的紧急程度：{urgency}（可选：{'、'.join(INCIDENT_URGENCIES)}，或留空表示不限）")
    if category:
        category = stored_vocabulary(session, "incident_categories").canonical(category)
    return step, category, urgency


def set_limit(session: Session, actor: Actor, step: str, working_days: float, *, category: str = ANY,
              urgency: str = ANY) -> LimitRow:  # fmt: skip
    """Set a step's limit for a category (or every category) and urgency (or either); administrators only.
    Steps already under way keep the deadline they were given; the limit applies to steps started from now."""
    authorize(session, actor, "admin", anywhere=True)
    step, category, urgency = _key(session, step, category, urgency)
    if not (0.001 <= round(working_days, 3) <= 365):  # as stored: numeric(6, 3)
        raise InvalidInput(f"时限应在 0.001 到 365 个工作日之间：{working_days:g}")
    working_days = round(working_days, 3)
    session.execute(text("""INSERT INTO incident_time_limit (category, step, urgency, working_days, updated_by)
                            VALUES (:c, :s, :u, :d, :by)
                            ON CONFLICT (category, step, urgency) DO UPDATE
                               SET working_days = EXCLUDED.working_days, updated_by = EXCLUDED.updated_by"""),
                    {"c": category, "s": step, "u": urgency, "d": working_days, "by": actor.audit_name})  # fmt: skip
    return LimitRow(category, step, urgency, working_days)


def remove_limit(session: Session, actor: Actor, step: str, *, category: str = ANY, urgency: str = ANY) -> None:
    """Remove a limit row (the less specific one then applies); administrators only."""
    authorize(session, actor, "admin", anywhere=True)
    step, category, urgency = _key(session, step, category, urgency)
    n = session.execute(text("DELETE FROM incident_time_limit WHERE step = :s AND category = :c AND urgency = :u"),
                        {"s": step, "c": category, "u": urgency}).rowcount  # type: ignore[attr-defined]
    if not n:
        raise NotFound(f"没有这条时限：{category or '全部类别'}·{step}·{urgency or '不限紧急程度'}")


def dispatch_rules(session: Session) -> dict[str, str]:
    """The role each category is dispatched to by default (categories not listed: 网格员)."""
    return dict(session.execute(text("SELECT category, staff_role FROM incident_dispatch_rule ORDER BY category"))
                .tuples().all())  # fmt: skip


def set_dispatch_rule(session: Session, actor: Actor, category: str, staff_role: str | None) -> None:
    """Dispatch a category's cases to holders of ``staff_role`` by default (None: back to 网格员); admins only."""
    authorize(session, actor, "admin", anywhere=True)
    category = stored_vocabulary(session, "incident_categories").canonical(category)
    if staff_role is None or not staff_role.strip():
        session.execute(text("DELETE FROM incident_dispatch_rule WHERE category = :c"), {"c": category})
        return
    role = stored_vocabulary(session, "staff_roles").canonical(staff_role)
    session.execute(text("""INSERT INTO incident_dispatch_rule (category, staff_role, updated_by) VALUES (:c, :r, :by)
                            ON CONFLICT (category) DO UPDATE SET staff_role = EXCLUDED.staff_role,
                                                                 updated_by = EXCLUDED.updated_by"""),
                    {"c": category, "r": role, "by": actor.audit_name})  # fmt: skip
