"""The incident workflow as data: which action moves a case from which status to which, what it is recorded as,
and what it needs (a note, a staff member, a review date). No database here: ``cases`` applies it.

The shape follows the 数字城管 standard (CJ/T 315) and common grid practice::

    上报 ─立案→ 立案 ─派遣→ 派遣 ─处置→ 处置 ─核查通过→ 核查 ─结案→ 结案 ─重新打开→ 立案
      └不予立案→ 作废        └挂账→ 挂账 ─解除挂账→ 立案     └返工→ 派遣
    退回: one step back (立案→上报, 派遣→立案, 处置→派遣, 核查→处置), with the reason.
    上报上级: the level goes up (网格→社区→街道); a dispatched case comes back to 立案 for the new level to dispatch.
    回访: a note on a closed case; it stays closed.

A case's level says who handles it: an actor whose scope is a 楼院/楼栋 grid handles 网格-level cases, a
community's staff 社区 and below, the street's staff every level. The staff member a case is dispatched to may
handle it (or send it back) whatever their level. 核查 is done by someone other than who recorded the 处置.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridgov.vocab import INCIDENT_LEVELS, INCIDENT_WAITING, LEVELS

REPORTED, ACCEPTED, DISPATCHED, HANDLED, VERIFIED, CLOSED, PARKED, VOID = (
    "上报", "立案", "派遣", "处置", "核查", "结案", "挂账", "作废")  # fmt: skip
GRID_LEVEL, COMMUNITY_LEVEL, STREET_LEVEL = INCIDENT_LEVELS.terms
OPEN = (REPORTED, ACCEPTED, DISPATCHED, HANDLED, VERIFIED, PARKED)
# The grid level whose staff handle each case level (a 楼院 grid's staff: 网格).
LEVEL_OF_SCOPE = {LEVELS[0]: STREET_LEVEL, LEVELS[1]: COMMUNITY_LEVEL, LEVELS[2]: GRID_LEVEL, LEVELS[3]: GRID_LEVEL}


@dataclass(frozen=True)
class Transition:
    """An action: the statuses it starts from, the status it leaves (None: as it was), what the timeline records,
    and what it needs."""

    action: str
    label: str
    recorded: str
    sources: tuple[str, ...]
    target: str | None
    note: bool = False  # a reason is required
    staff: bool = False  # dispatches to a staff member
    review: bool = False  # needs a review date (挂账)
    photos: bool = False  # may carry photos
    by_assignee: bool = False  # the staff it is dispatched to may do it at any level


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("accept", "受理立案", "立案", (REPORTED,), ACCEPTED),
    Transition("reject", "不予立案", "不予立案", (REPORTED,), VOID, note=True),
    Transition("dispatch", "派遣", "派遣", (ACCEPTED, DISPATCHED), DISPATCHED, staff=True),
    Transition("handle", "处置完毕", "处置", (DISPATCHED,), HANDLED, note=True, photos=True, by_assignee=True),
    Transition("verify", "核查通过", "核查通过", (HANDLED,), VERIFIED, photos=True),
    Transition("rework", "核查不通过（返工）", "返工", (HANDLED,), DISPATCHED, note=True, photos=True),
    Transition("close", "结案", "结案", (VERIFIED,), CLOSED),
    Transition("return", "退回", "退回", (ACCEPTED, DISPATCHED, HANDLED, VERIFIED), None, note=True,
               by_assignee=True),
    Transition("escalate", "上报上级", "上报上级", (REPORTED, ACCEPTED, DISPATCHED), None, note=True),
    Transition("hang", "挂账", "挂账", (ACCEPTED, DISPATCHED), PARKED, note=True, review=True),
    Transition("resume", "解除挂账", "解除挂账", (PARKED,), ACCEPTED),
    Transition("reopen", "重新打开", "重新打开", (CLOSED,), ACCEPTED, note=True),
    Transition("visit", "回访", "回访", (CLOSED,), CLOSED, note=True),
)}  # fmt: skip
ACTION_NAMES = tuple(TRANSITIONS)
# 退回 goes one step back.
RETURNS_TO = {ACCEPTED: REPORTED, DISPATCHED: ACCEPTED, HANDLED: DISPATCHED, VERIFIED: HANDLED}
AUTO_ESCALATION = "超期上报"  # recorded when a deadline escalates a case
IMPORTED = "导入"


def next_level(level: str) -> str | None:
    """The level above ``level`` (None at 街道)."""
    i = INCIDENT_LEVELS.terms.index(level)
    return INCIDENT_LEVELS.terms[i + 1] if i + 1 < len(INCIDENT_LEVELS.terms) else None


def target_of(t: Transition, status: str) -> str:
    """The status ``t`` leaves a case in that is at ``status``."""
    if t.action == "return":
        return RETURNS_TO[status]
    if t.action == "escalate":
        return ACCEPTED if status == DISPATCHED else status
    assert t.target is not None
    return t.target


def allowed(status: str, level: str) -> list[Transition]:
    """The actions a case at ``status`` and ``level`` allows (by anyone: who may is ``cases``' question)."""
    return [t for t in TRANSITIONS.values()
            if status in t.sources and not (t.action == "escalate" and next_level(level) is None)]  # fmt: skip


def waiting_step(status: str) -> str | None:
    """The step a case at ``status`` waits for (None when nothing waits: closed, void, parked)."""
    return INCIDENT_WAITING.get(status)


def reaches(scope_level: str | None, case_level: str) -> bool:
    """Whether staff scoped to a grid of ``scope_level`` (None: unscoped) handle cases at ``case_level``."""
    mine = STREET_LEVEL if scope_level is None else LEVEL_OF_SCOPE[scope_level]
    return INCIDENT_LEVELS.terms.index(mine) >= INCIDENT_LEVELS.terms.index(case_level)
