"""Incident timelines (事件处置过程): each sample case played forward from its report through the workflow of
:mod:`gridgov.incidents.workflow`, with the time limits, dispatch rules and working-day calendar a new database is
seeded with (migration 0012), up to the end of the sample's last day.

The play keeps the rules the running system keeps:

* every step is one the workflow allows from the case's status and level (退回 one step back, 上报上级 one level up,
  a dispatched case that goes up comes back to 立案 for the new level to dispatch);
* a case waiting to be accepted, dispatched or handled at 网格 or 社区 level whose deadline passes goes up a level
  at that moment (超期上报), as the server's sweep does (:mod:`gridgov.incidents.sweep`); a case waiting for 核查 or
  结案, or at 街道, is late without going up (its next step is recorded overdue);
* dispatch goes to the category's role (``incident_dispatch_rule``; else 网格员) at the case's compound, at its
  community for some cases handled at 社区 level, at the street for some at 街道; a reassignment to another holder.

Staff act in working hours (urgent cases also at night, within hours); most steps take a fraction of their limit,
a few take longer. Cases of the last weeks are still open at the end, in every state; some parked (挂账) cases wait
for a review date after it. One random stream, cases in code order: the same seed gives the same timelines.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from zoneinfo import ZoneInfo

import numpy as np

from gridgov.incidents import workflow as wf
from gridgov.incidents.limits import LimitRow, TimeLimits
from gridgov.sample.steps import ESCALATING, CaseState, take
from gridgov.workdays import WorkCalendar, date_span

FALLBACK_ROLE = "网格员"  # gridgov.incidents.cases: dispatch goes to 网格员 where the category names no role
AUTO_NOTE = "处置时限已过，自动上报上一级"  # the sweep's note
RECENT_DAYS = 21  # cases reported this close to the end may be stalled (still open, late)
MAX_STEPS = 40

REJECT_NOTES = ("经核实不属于受理范围", "重复上报，已并入前案办理", "现场核实问题已消除，不予立案")
OUTSIDE_NOTE = "事发地点不在本街道辖区，已告知反映人向属地街道反映"
ESCALATE_NOTES = {
    wf.GRID_LEVEL: ("需多部门联合处置，提请社区协调", "涉及产权单位，网格内无法协调", "当事人拒不配合，请社区出面"),
    wf.COMMUNITY_LEVEL: ("涉及市政设施，需街道协调职能部门", "问题跨社区，请街道统筹"),
}
HANG_NOTES = ("需纳入老旧小区改造计划，暂无法处置", "维修资金未落实，待下季度安排", "产权单位正在走维修审批程序")
RETURN_NOTES = {
    wf.ACCEPTED: "信息不全，请补充具体位置和照片",
    wf.DISPATCHED: "不属于本人职责范围，请改派",
    wf.HANDLED: "处置材料不全，请补充处置后照片",
    wf.VERIFIED: "核查意见有误，退回重新核查",
}
REWORK_NOTES = ("现场核查仍有遗留，需继续处置", "整改不彻底，群众仍有反映", "处置后照片与现场不符，请重新处置")
REOPEN_NOTES = ("反映人称问题复发", "回访发现问题未彻底解决")
VISIT_NOTES = ("电话回访，反映人表示满意", "上门回访，群众对处置结果满意", "电话回访，反映人基本满意")
HANDLED_NOTES = {
    "市容环境": ("已联系环卫清运完毕", "已督促责任单位清理完毕"),
    "宣传广告": ("已组织清除完毕", "已责令商户拆除"),
    "施工管理": ("已联系施工单位整改", "已联系养护单位修复"),
    "街面秩序": ("已劝离并督促整改", "已联系车主挪车，现场恢复畅通"),
    "突发事件": ("已设置警示并联系抢修单位处置完毕", "已联系专业单位抢修完毕"),
    "园林绿化": ("已联系园林养护单位处理完毕",),
    "治安隐患": ("已会同民警上门核查处置", "已登记并督促整改"),
    "矛盾纠纷": ("已上门调解，双方达成一致", "已组织双方调解，签订调解协议"),
    "民生服务": ("已联系相关单位修复", "已上门协助解决"),
    "消防安全": ("已督促清理，通道恢复畅通", "已劝导整改并张贴安全提示"),
}
DEFAULT_HANDLED = ("已现场处置完毕",)


def _seed() -> ModuleType:
    """Migration 0012: the limits, dispatch rules and calendar a new database starts with (the sample's
    timelines follow them, so the deadlines the loader computes from the database agree with the play)."""
    return importlib.import_module("gridgov.db.migrations.versions.0012_incident_workflow")


def seeded_calendar(timezone: str = "Asia/Shanghai") -> WorkCalendar:
    """The working-day calendar as migration 0012 seeds it (holidays and make-up working days, default hours)."""
    seed = _seed()
    holidays = {d for spans in seed.HOLIDAYS.values() for a, b in spans
                for d in date_span(dt.date.fromisoformat(a), dt.date.fromisoformat(b))}  # fmt: skip
    makeup = {dt.date.fromisoformat(d) for d, _ in seed.MAKEUP_DAYS}
    return WorkCalendar(timezone, holidays=frozenset(holidays), makeup=frozenset(makeup))


def seeded_limits() -> TimeLimits:
    """The time limits as migration 0012 seeds them."""
    return TimeLimits(tuple(LimitRow(c, s, u, float(d)) for c, s, u, d in _seed().TIME_LIMITS))


def seeded_dispatch() -> dict[str, str]:
    """The role each category is dispatched to, as migration 0012 seeds it."""
    return dict(_seed().DISPATCH)


@dataclass(frozen=True)
class Step:
    """One step of a case's timeline, as incident_events.csv writes it (level: the case's level after it)."""

    at: dt.datetime
    action: str
    level: str
    staff_code: str = ""
    note: str = ""
    review_on: dt.date | None = None


@dataclass
class Case:
    """A case being played: where it is (compound, community, street codes; empty outside every grid), a status
    it gets stuck in (recent cases only), its state after the steps so far and those steps."""

    state: CaseState
    grids: tuple[str, ...]
    stall: str | None = None
    steps: list[Step] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)  # how often each action was taken

    @property
    def status(self) -> str:
        """The status after the last step."""
        assert self.state.status is not None
        return self.state.status

    @property
    def level(self) -> str:
        """The level after the last step."""
        assert self.state.level is not None
        return self.state.level

    @property
    def last_at(self) -> dt.datetime:
        """When the last step was taken."""
        return self.steps[-1].at


class Player:
    """Plays cases forward (see the module docstring); one random stream for all of them."""

    def __init__(self, rng: np.random.Generator, end: dt.datetime, posts: Sequence[tuple[str, str, str]],
                 calendar: WorkCalendar | None = None, limits: TimeLimits | None = None,
                 dispatch: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.rng = rng
        self.end = end
        self.calendar = calendar or seeded_calendar()
        self.limits = limits or seeded_limits()
        self.dispatch = dict(seeded_dispatch() if dispatch is None else dispatch)
        holders: dict[tuple[str, str], set[str]] = {}
        for code, grid, role in posts:
            holders.setdefault((grid, role), set()).add(code)
        self.holders = {k: sorted(v) for k, v in holders.items()}

    def play(self, case: Case, reported_at: dt.datetime) -> Case:
        """The case's timeline up to the end: its report, then one step after another."""
        self._apply(case, "report", reported_at)
        for _ in range(MAX_STEPS):
            plan = self._next(case)
            if plan is None:
                break
            action, at, extra = plan
            due = case.state.deadline
            swept = case.status in ESCALATING and case.level != wf.STREET_LEVEL
            if swept and due is not None and due < min(at, self.end):
                self._apply(case, wf.AUTO_ESCALATION, due, note=AUTO_NOTE)
                continue  # the new level decides afresh
            if at >= self.end:
                break
            self._apply(case, action, at, **extra)  # type: ignore[arg-type]
        return case

    # -- steps ---------------------------------------------------------------------------------------------

    def _apply(self, case: Case, action: str, at: dt.datetime, *, staff: str = "", note: str = "",
               review_on: dt.date | None = None) -> None:  # fmt: skip
        """Take one step (gridgov.sample.steps: as the report, cases.act or the sweep would)."""
        word = {"report": wf.REPORTED, wf.AUTO_ESCALATION: wf.AUTO_ESCALATION}.get(action)
        word = word or wf.TRANSITIONS[action].recorded
        step = take(case.state, word, at, self.limits, self.calendar, staff_code=staff or None, note=note or None,
                    review_on=review_on)  # fmt: skip
        case.steps.append(Step(at, word, step.to_level, staff, note, review_on))
        case.done[action] = case.done.get(action, 0) + 1

    def _next(self, case: Case) -> tuple[str, dt.datetime, dict[str, object]] | None:
        """The step the case would take next, when, and with what (None: nothing more happens to it)."""
        r = float(self.rng.random())
        s, done = case.status, case.done
        up = wf.next_level(case.level) is not None and not done.get("escalate")
        if s == wf.REPORTED:
            if not case.grids:
                return "reject", self._when(case, 0.05), {"note": OUTSIDE_NOTE}
            if r < 0.04:
                return "reject", self._when(case, 0.02), {"note": self._pick(REJECT_NOTES)}
            if r < 0.05 and up:
                return "escalate", self._when(case, 0.0), {"note": self._pick(ESCALATE_NOTES[case.level])}
            return "accept", self._when(case, 0.02), {}
        if s == wf.ACCEPTED:
            if r < 0.012 and not done.get("hang"):
                return self._hang(case)
            if r < 0.032 and up:
                return "escalate", self._when(case, 0.0), {"note": self._pick(ESCALATE_NOTES[case.level])}
            if r < 0.042 and not done.get("return"):
                return "return", self._when(case, 0.0), {"note": RETURN_NOTES[s]}
            return "dispatch", self._when(case, 0.015), {"staff": self._staff(case, avoid=self._sent_back(case))}
        if s == wf.DISPATCHED:
            if r < 0.03 and not done.get("return"):
                return "return", self._when(case, 0.0, scale=0.3), {"note": RETURN_NOTES[s]}
            if r < 0.05 and up:
                note = self._pick(ESCALATE_NOTES[case.level])
                return "escalate", self._when(case, 0.0, scale=0.5), {"note": note}
            if r < 0.06 and not done.get("hang"):
                return self._hang(case, scale=0.5)
            if r < 0.085 and done.get("dispatch", 0) < 3:
                other = self._staff(case, avoid=case.state.assignee)
                return "dispatch", self._when(case, 0.0, scale=0.2), {"staff": other}
            note = self._pick(HANDLED_NOTES.get(case.state.category, DEFAULT_HANDLED))
            return "handle", self._when(case, 0.025), {"note": note}
        if s == wf.HANDLED:
            if r < 0.10 and done.get("rework", 0) < 2:
                return "rework", self._when(case, 0.03), {"note": self._pick(REWORK_NOTES)}
            if r < 0.11 and not done.get("return"):
                return "return", self._when(case, 0.0), {"note": RETURN_NOTES[s]}
            return "verify", self._when(case, 0.07), {}
        if s == wf.VERIFIED:
            if r < 0.01 and not done.get("return"):
                return "return", self._when(case, 0.0), {"note": RETURN_NOTES[s]}
            return "close", self._when(case, 0.05), {}
        if s == wf.CLOSED:
            if done.get("visit") or done.get("close", 0) > 1:
                return None
            if r < 0.10:
                return "visit", self._later(case, 1, 5), {"note": self._pick(VISIT_NOTES)}
            if r < 0.125 and not done.get("reopen"):
                return "reopen", self._later(case, 2, 10), {"note": self._pick(REOPEN_NOTES)}
            return None
        if s == wf.PARKED:
            review = case.steps[-1].review_on
            assert review is not None
            opens = dt.datetime.combine(review, self.calendar.start, tzinfo=self.calendar.zone)
            return "resume", self._second(self.calendar.add(opens, float(self.rng.uniform(0.05, 6.0)))), {}
        return None  # 作废

    def _hang(self, case: Case, scale: float = 1.0) -> tuple[str, dt.datetime, dict[str, object]]:
        """挂账, with a review date three to nine weeks after the day it is parked."""
        at = self._when(case, 0.0, scale=scale)
        review = at.astimezone(self.calendar.zone).date() + dt.timedelta(days=int(self.rng.integers(21, 64)))
        return "hang", at, {"note": self._pick(HANG_NOTES), "review_on": review}

    # -- times and people ------------------------------------------------------------------------------------

    def _when(self, case: Case, late: float, *, scale: float = 1.0) -> dt.datetime:
        """When the next step is taken: a share of the waiting step's limit (more than all of it with probability
        ``late``; weeks when the case is stuck here), in working time, or within hours for urgent cases."""
        step = wf.waiting_step(case.status)
        days = (self.limits.days(step, case.state.category, case.state.urgency) if step else None) or 1.0
        if case.stall == case.status:  # weeks, whatever the limit
            share = float(self.rng.uniform(8.0, 30.0)) / days
        elif self.rng.random() < late:
            share = float(self.rng.uniform(1.1, 2.5))
        else:
            share = scale * (0.03 + 0.9 * float(self.rng.beta(2.0, 5.0)))
        start = case.last_at
        if case.state.urgency == "紧急" and case.status in ESCALATING and self.rng.random() < 0.6:
            at = start + share * days * self.calendar.day_length
        else:
            at = self.calendar.add(start, share * days)
        return self._second(at, after=start)

    def _later(self, case: Case, low: int, high: int) -> dt.datetime:
        """Some working days after the last step (回访, 重新打开)."""
        return self._second(self.calendar.add(case.last_at, float(self.rng.uniform(low, high))), after=case.last_at)

    @staticmethod
    def _second(at: dt.datetime, after: dt.datetime | None = None) -> dt.datetime:
        """``at`` to the second, and at least a minute after ``after``."""
        at = at.replace(microsecond=0)
        return max(at, after + dt.timedelta(minutes=1)) if after is not None else at

    def _pick(self, choices: Sequence[str]) -> str:
        return choices[int(self.rng.integers(len(choices)))]

    @staticmethod
    def _sent_back(case: Case) -> str | None:
        """Who sent the case back, when its last step was 退回 by the staff it was dispatched to."""
        if len(case.steps) < 2 or case.steps[-1].action != "退回":
            return None
        return next((s.staff_code for s in reversed(case.steps) if s.staff_code), None)

    def _staff(self, case: Case, *, avoid: str | None = None) -> str:
        """Whom the case is dispatched to: the category's role (else 网格员) at the first grid, by level, that has
        one; the first of them by code (with ``avoid``: someone else, at random)."""
        compound, community, street = case.grids
        own = self.rng.random() < 0.5  # at 社区 or 街道: that level's own staff, or the compound's
        order = {wf.GRID_LEVEL: (compound, community, street),
                 wf.COMMUNITY_LEVEL: (community, compound, street) if own else (compound, community, street),
                 wf.STREET_LEVEL: (street, community, compound) if own else (compound, community, street),
                 }[case.level]  # fmt: skip
        role = self.dispatch.get(case.state.category, FALLBACK_ROLE)
        for grid in order:
            wanted = self.holders.get((grid, role), [])
            fallback = self.holders.get((grid, FALLBACK_ROLE), [])
            if avoid is None:
                if wanted or fallback:
                    return (wanted or fallback)[0]
                continue
            pool = [c for c in dict.fromkeys(wanted + fallback) if c != avoid]
            if pool:
                return pool[int(self.rng.integers(len(pool)))]
        raise ValueError(f"no staff to dispatch to on {order}")


def local(value: np.datetime64, zone: ZoneInfo) -> dt.datetime:
    """A naive local datetime64 as an aware datetime in ``zone``."""
    return dt.datetime.fromisoformat(str(value.astype("datetime64[s]"))).replace(tzinfo=zone)
