"""Incident figures (事件考核) on hand-made cases: every figure exactly, per grid, community and street, as of the
end of October 2026 and as of an earlier moment, working-day step times across a weekend, the 国庆 holiday and
its make-up Saturday, and the same period last year."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.incidents import cases, kpi
from gridgov.incidents.cases import NewCase, Rules, Step
from gridgov.incidents.sweep import escalate_overdue
from gridgov.workdays import WorkCalendar, load_calendar

from tests.factories import X0, Y0, make_street

TZ = ZoneInfo("Asia/Shanghai")
A, B, C = "610103006001001", "610103006001002", "610103006002001"  # compounds; A and B in community …001
PLACE = {A: (X0 + 0.002, Y0 + 0.005), B: (X0 + 0.007, Y0 + 0.005), C: (X0 + 0.015, Y0 + 0.005)}
OCTOBER = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
END = dt.datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=TZ)  # --as-of 2026-10-31: the end of that day
EARLIER = dt.datetime(2026, 10, 20, 18, 0, tzinfo=TZ)


def at(day: str, clock: str) -> dt.datetime:
    """A local moment."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ)


def _actor(s: Session, name: str, role: str, scope: str | None) -> Actor:
    gid = s.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": scope}) if scope else None
    return Actor(name=f"user:{name}", role=role, scope_grid_id=gid, scope_code=scope)


@dataclass
class Loop:
    """Takes the steps of hand-made cases as a grid worker of the case's grid and its community's staff."""

    s: Session
    rules: Rules

    def report(self, grid: str, when: dt.datetime) -> int:
        lon, lat = PLACE[grid]
        return cases.report(self.s, _actor(self.s, "w", "grid", grid), NewCase(lon, lat, "市容环境/暴露垃圾", "垃圾"),
                            self.rules, now=when)  # fmt: skip

    def step(self, case: int, who: str, action: str, when: dt.datetime, **kw: Any) -> None:
        grid = self.s.scalar(text("SELECT g.code FROM incident i JOIN grid g ON g.id = i.grid_id WHERE i.id = :i"),
                             {"i": case})  # fmt: skip
        actor = _actor(self.s, who, "grid", grid) if who == "worker" else _actor(self.s, who, "community", grid[:12])
        note = "说明" if action in ("handle", "rework", "escalate", "hang") else None
        cases.act(self.s, actor, case, Step(action, note=note, to_staff="S1" if action == "dispatch" else None, **kw),
                  self.rules, now=when)  # fmt: skip

    def run(self, case: int, *steps: tuple[str, str, str, str]) -> int:
        for who, action, day, clock in steps:
            self.step(case, who, action, at(day, clock))
        return case


def build(s: Session) -> None:
    """Eight cases (working hours 08:30–17:30; 0.5 working day = 4.5 h; every step at 08:30, 13:00 or 17:30):

    1 (A) reported 2026-09-30, 处置 across the 国庆 holiday (2 days: 10-08, 10-09), 核查 and 结案 on the make-up
      Saturday 10-10: closed at 网格 on time.
    2 (A) 处置 late (4.5 days across a weekend, deadline 10-15 17:30): closed at 网格 10-20 13:00, not on time.
    3 (B) 返工 once, then closed at 网格 on time, 结案 across a weekend.
    4 (B) accepted 10-20, 挂账 10-21 (overdue at 10-20 18:00: 派遣 was due at 17:30).
    5 (C) escalated by hand to 社区 while waiting for 派遣 (the step goes on), closed there on time.
    6 (C) reported 10-26, never accepted: escalated by the deadline sweep to 街道, overdue.
    7 (A) 2025-10-14, closed on time at 网格. 8 (A) 2025-10-20, never accepted (escalated by the same sweep).
    """
    make_street(s)
    s.execute(text("INSERT INTO staff (code, name) VALUES ('S1', '王网格')"))
    loop = Loop(s, Rules(load_calendar(s, "Asia/Shanghai")))
    w, c = "worker", "community"
    loop.run(loop.report(A, at("2025-10-14", "08:30")), (w, "accept", "2025-10-14", "13:00"),
             (w, "dispatch", "2025-10-14", "17:30"), (w, "handle", "2025-10-15", "17:30"),
             (c, "verify", "2025-10-16", "13:00"), (c, "close", "2025-10-16", "17:30"))  # fmt: skip
    loop.report(A, at("2025-10-20", "08:30"))
    loop.run(loop.report(A, at("2026-09-30", "08:30")), (w, "accept", "2026-09-30", "13:00"),
             (w, "dispatch", "2026-09-30", "17:30"), (w, "handle", "2026-10-09", "17:30"),
             (c, "verify", "2026-10-10", "13:00"), (c, "close", "2026-10-10", "17:30"))  # fmt: skip
    loop.run(loop.report(A, at("2026-10-12", "08:30")), (w, "accept", "2026-10-12", "13:00"),
             (w, "dispatch", "2026-10-12", "17:30"), (w, "handle", "2026-10-19", "13:00"),
             (c, "verify", "2026-10-19", "17:30"), (c, "close", "2026-10-20", "13:00"))  # fmt: skip
    loop.run(loop.report(B, at("2026-10-13", "08:30")), (w, "accept", "2026-10-13", "13:00"),
             (w, "dispatch", "2026-10-13", "17:30"), (w, "handle", "2026-10-14", "17:30"),
             (c, "rework", "2026-10-15", "13:00"), (w, "handle", "2026-10-16", "13:00"),
             (c, "verify", "2026-10-16", "17:30"), (c, "close", "2026-10-19", "13:00"))  # fmt: skip
    parked = loop.run(loop.report(B, at("2026-10-20", "08:30")), (w, "accept", "2026-10-20", "13:00"))
    loop.step(parked, c, "hang", at("2026-10-21", "08:30"), review_on=dt.date(2026, 11, 20))
    loop.run(loop.report(C, at("2026-10-21", "08:30")), (w, "accept", "2026-10-21", "13:00"),
             (w, "escalate", "2026-10-21", "17:30"), (c, "dispatch", "2026-10-22", "13:00"),
             (c, "handle", "2026-10-23", "13:00"), (c, "verify", "2026-10-23", "17:30"),
             (c, "close", "2026-10-26", "13:00"))  # fmt: skip
    loop.report(C, at("2026-10-26", "08:30"))
    assert escalate_overdue(s, loop.rules.calendar, now=at("2026-10-28", "09:00")).escalated == \
        {"社区": 2, "街道": 2}


@pytest.fixture
def made(clean_engine: Engine) -> Iterator[Engine]:
    """The cases of ``build`` on the factory street."""
    with Session(clean_engine) as s, s.begin():
        build(s)
    yield clean_engine


def _calendar(s: Session) -> WorkCalendar:
    return load_calendar(s, "Asia/Shanghai")


def _rows(s: Session, level: str | None, as_of: dt.datetime = END, parent: str | None = None,
          period: tuple[dt.date, dt.date] = OCTOBER) -> dict[str, kpi.KpiRow]:  # fmt: skip
    got = kpi.kpis(s, Actor.system("t"), parent, date_from=period[0], date_to=period[1], as_of=as_of, level=level,
                   calendar=_calendar(s))  # fmt: skip
    return {r.code: r for r in got}


def _counts(f: kpi.Figures | None) -> tuple[int, ...] | None:
    """reported, closed, on time, overdue now, 返工, 挂账, closed at 网格, closed at 社区 or below."""
    if f is None:
        return None
    return (f.reported, f.closed, f.closed_on_time, f.overdue_now, f.rework, f.parked, f.closed_at_grid,
            f.closed_in_community)  # fmt: skip


def test_every_figure_per_grid_community_and_street(made: Engine) -> None:
    with Session(made) as s:
        rows = _rows(s, None)
    assert list(rows) == ["610103006", "610103006001", "610103006002", A, B, C]
    assert _counts(rows[A].figures) == (1, 2, 1, 1, 0, 0, 2, 2)  # case 8 of 2025 is still overdue
    assert _counts(rows[B].figures) == (2, 1, 1, 0, 1, 1, 1, 1)
    assert _counts(rows[C].figures) == (2, 1, 1, 1, 0, 0, 0, 1)
    assert _counts(rows["610103006001"].figures) == (3, 3, 2, 1, 1, 1, 3, 3)
    assert _counts(rows["610103006002"].figures) == (2, 1, 1, 1, 0, 0, 0, 1)
    street = rows["610103006"].figures
    assert _counts(street) == (5, 4, 3, 2, 1, 1, 3, 4)
    assert (street.on_time_rate, street.closed_at_grid_rate, street.closed_in_community_rate) == (0.75, 0.75, 1.0)
    assert rows["610103006001"].figures.on_time_rate == pytest.approx(2 / 3)
    assert rows[A].figures.on_time_rate == 0.5 and rows[C].figures.closed_at_grid_rate == 0.0
    assert (rows[B].parent_code, rows[B].level, rows[B].name) == ("610103006001", "compound", "第二网格")


def test_working_day_averages_across_a_weekend_and_a_holiday(made: Engine) -> None:
    with Session(made) as s:
        rows = _rows(s, None)
    # A: case 1's 处置 runs 2026-09-30 17:30 → 10-09 17:30 over 国庆 (10-01…07 off): 2 working days; case 2's
    # 10-12 17:30 → 10-19 13:00 over a weekend: 4.5. 受理 and 派遣 of case 1 were done in September.
    assert rows[A].figures.avg_days == {"受理": 0.5, "派遣": 0.5, "处置": 3.25, "核查": 0.5, "结案": 0.5}
    assert rows[A].figures.steps_done == {"受理": 1, "派遣": 1, "处置": 2, "核查": 2, "结案": 2}
    # B: 返工 ends a 核查 (0.5) and starts a new 处置 (1.0); 结案 Friday 17:30 → Monday 13:00 is 0.5
    assert rows[B].figures.avg_days == {"受理": 0.5, "派遣": 0.5, "处置": 1.0, "核查": 0.5, "结案": 0.5}
    assert rows[B].figures.steps_done == {"受理": 2, "派遣": 1, "处置": 2, "核查": 2, "结案": 1}
    # C: 派遣 waited from the 立案 at 13:00 through the escalation at 17:30 to the dispatch next day 13:00: 1.0
    assert rows[C].figures.avg_days == {"受理": 0.5, "派遣": 1.0, "处置": 1.0, "核查": 0.5, "结案": 0.5}
    street = rows["610103006"].figures
    assert street.avg_days["处置"] == pytest.approx(9.5 / 5) and street.avg_days["派遣"] == pytest.approx(2 / 3)
    assert street.steps_done == {"受理": 4, "派遣": 3, "处置": 5, "核查": 5, "结案": 4}
    assert rows["610103006001"].figures.avg_days["处置"] == pytest.approx(8.5 / 4)


def test_as_of_reads_the_cases_as_they_stood(made: Engine) -> None:
    with Session(made) as s:
        rows = _rows(s, None, as_of=EARLIER)
    # at 10-20 18:00: case 4 waits for 派遣 (due 17:30, not yet parked); case 5 and 6 not reported yet
    assert _counts(rows[B].figures) == (2, 1, 1, 1, 1, 0, 1, 1)
    assert _counts(rows[C].figures) == (0, 0, 0, 0, 0, 0, 0, 0)
    assert _counts(rows["610103006"].figures) == (3, 3, 2, 2, 1, 0, 3, 3)
    assert rows[C].figures.avg_days == {}
    with Session(made) as s:
        before_close = _rows(s, "compound", as_of=at("2026-10-20", "12:59"))
    assert _counts(before_close[A].figures) == (1, 1, 1, 1, 0, 0, 1, 1)  # case 2 not closed yet


def test_same_period_last_year(made: Engine) -> None:
    with Session(made) as s:
        rows = _rows(s, "compound")
        community2 = _rows(s, None, parent="610103006002")
    assert list(rows) == [A, B, C]
    # case 7 closed on time at 网格; case 8 still waiting for 受理 at 2025-10-31 (escalated to 街道 by deadline)
    assert _counts(rows[A].last_year) == (2, 1, 1, 1, 0, 0, 1, 1)
    assert rows[A].last_year is not None
    assert rows[A].last_year.avg_days == {"受理": 0.5, "派遣": 0.5, "处置": 1.0, "核查": 0.5, "结案": 0.5}
    assert _counts(rows[B].last_year) == (0, 0, 0, 0, 0, 0, 0, 0)  # the street has data then: B had nothing
    # community …002 had no case at all by the end of October 2025: nothing to compare with
    assert community2["610103006002"].last_year is None and community2[C].last_year is None
    d = rows[A].as_dict()
    assert d["on_time_rate"] == 0.5 and d["last_year"]["on_time_rate"] == 1.0
    assert d["avg_days"]["处置"] == 3.25 and d["level_zh"] == "楼院"


def test_scope_and_bad_input(made: Engine) -> None:
    cal = WorkCalendar()
    with Session(made) as s:
        comm2 = _actor(s, "c2", "community", "610103006002")
        mine = kpi.kpis(s, comm2, None, date_from=OCTOBER[0], date_to=OCTOBER[1], as_of=END, level=None,
                        calendar=cal)  # fmt: skip
        assert [r.code for r in mine] == ["610103006002", C]
        with pytest.raises(Forbidden, match="超出权限范围"):
            kpi.kpis(s, comm2, "610103006001", date_from=None, date_to=None, as_of=END, calendar=cal)
        with pytest.raises(NotFound, match="网格不存在"):
            kpi.kpis(s, Actor.system("t"), "999", date_from=None, date_to=None, as_of=END, calendar=cal)
        with pytest.raises(InvalidInput, match="起始日期"):
            kpi.kpis(s, Actor.system("t"), None, date_from=OCTOBER[1], date_to=OCTOBER[0], as_of=END, calendar=cal)
        with pytest.raises(InvalidInput, match="未知层级"):
            kpi.kpis(s, Actor.system("t"), None, date_from=None, date_to=None, as_of=END, level="x", calendar=cal)
        # no period: every case ever, no 同比
        everything = _rows(s, "street", period=(None, None))  # type: ignore[arg-type]
    assert _counts(everything["610103006"].figures) == (8, 5, 4, 2, 1, 1, 4, 5)
    assert everything["610103006"].last_year is None


def test_the_clock_is_the_calendars_working_time(made: Engine) -> None:
    with Session(made) as s:
        cal = _calendar(s)
    clock = kpi.work_clock(cal, dt.date(2026, 9, 20), dt.date(2026, 10, 20))

    def reading(t: dt.datetime) -> float:
        local = t.astimezone(TZ)
        k = (local.date() - clock.first).days
        since = local.hour * 3600 + local.minute * 60 + local.second - clock.day_start
        return clock.cumulative[k] + (min(max(since, 0), clock.day_length) if clock.working[k] else 0)

    rnd = random.Random(16)
    start = at("2026-09-20", "00:00")
    for _ in range(200):
        a, b = sorted(start + dt.timedelta(minutes=rnd.randrange(0, 30 * 24 * 60)) for _ in range(2))
        assert (reading(b) - reading(a)) / clock.day_length == pytest.approx(cal.between(a, b))


def test_time_windows_come_from_the_shifts() -> None:
    assert kpi.time_windows() == {"上半夜": (dt.time(20), dt.time(23, 30)), "下半夜": (dt.time(23, 30), dt.time(6)),
                                  "白天": (dt.time(6), dt.time(20))}  # fmt: skip
    assert kpi.parse_window("daytime") == kpi.TimeWindow("白天", dt.time(6), dt.time(20))
    assert kpi.parse_window("21:00-02:00") == kpi.TimeWindow("21:00–次日 02:00", dt.time(21), dt.time(2))
    assert kpi.parse_window("") is None
    with pytest.raises(InvalidInput, match="上半夜（20:00–23:30）"):
        kpi.parse_window("半夜")


def test_the_ledger_shows_on_time_overdue_and_closed_at_grid(made: Engine) -> None:
    from gridgov.ledger.report import HEADERS, build_ledger
    from gridgov.periods import day_range

    start, end = day_range(*OCTOBER, "Asia/Shanghai")
    with Session(made) as s:
        # now (November 2026: nothing happened after October; case 4 still parked, 6 and 8 still overdue); an
        # as-of ledger needs grids that existed then (these were drawn today)
        ledger = build_ledger(s, date_from=start, date_to=end, with_patrol=False)
        community2 = build_ledger(s, parent="610103006002", date_from=start, date_to=end, with_patrol=False)
    rows = {r.code: r.as_dict() for r in ledger.rows}
    figures = ("incidents_on_time_pct", "incidents_overdue", "incidents_closed_at_grid_pct")
    assert [HEADERS[k] for k in figures] == ["按期结案率(%)", "超期事件", "网格内结案率(%)"]
    assert [rows["610103006"][k] for k in figures] == [75.0, 2, 75.0]
    assert [rows["610103006001"][k] for k in figures] == [66.7, 1, 100.0]
    assert [rows[C][k] for k in figures] == [100.0, 1, 0.0]
    assert [(r.code, r.incidents_overdue, r.incidents_on_time_rate) for r in community2.rows] == [
        ("610103006002", 1, 1.0), (C, 1, 1.0)]


def test_hotspots_by_time_of_day_and_patrol_coverage(made: Engine) -> None:
    from gridgov.patrol.tracks import Coverage

    with Session(made) as s, s.begin():
        loop = Loop(s, Rules(load_calendar(s, "Asia/Shanghai")))
        loop.report(C, at("2026-10-27", "21:00"))  # 上半夜
        loop.report(C, at("2026-10-28", "01:00"))  # 下半夜 (of the night of the 27th)
        loop.report(C, at("2026-10-28", "23:45"))  # 下半夜
        system = Actor.system("t")
        every = kpi.hotspots(s, system, None, date_from=OCTOBER[0], date_to=OCTOBER[1], timezone="Asia/Shanghai")
        late = kpi.hotspots(s, system, None, date_from=OCTOBER[0], date_to=OCTOBER[1], timezone="Asia/Shanghai",
                            window=kpi.parse_window("下半夜"))  # fmt: skip
        mine = kpi.hotspots(s, _actor(s, "c1", "community", "610103006001"), None, date_from=OCTOBER[0],
                            date_to=OCTOBER[1], timezone="Asia/Shanghai")  # fmt: skip
        ids = dict(s.execute(text("SELECT code, id FROM grid WHERE code = ANY(:c)"), {"c": [A, B, C]}).all())
    # no patrol tracks at all: every grid's coverage is 0, so the score is the count
    assert [(h.code, h.cases, h.by_window, h.peak, h.coverage, h.score) for h in every] == [
        (C, 5, {"上半夜": 1, "下半夜": 2, "白天": 2}, "下半夜", 0.0, 5.0),
        (B, 2, {"上半夜": 0, "下半夜": 0, "白天": 2}, "白天", 0.0, 2.0),
        (A, 1, {"上半夜": 0, "下半夜": 0, "白天": 1}, "白天", 0.0, 1.0)]
    assert [(h.code, h.cases) for h in late] == [(C, 2)]
    assert [h.code for h in mine] == [B, A]
    # with coverage: C well patrolled (80 %) falls below B; a fully covered grid is no hotspot
    grids = [SimpleNamespace(id=ids[c], code=c, name=c, level="compound") for c in (A, B, C)]
    cover = {ids[C]: Coverage(0, 0, 0.8, 0, 0), ids[A]: Coverage(0, 0, 1.0, 0, 0)}
    counts = {ids[A]: {"": 3}, ids[B]: {"": 2}, ids[C]: {"": 5, "上半夜": 5}}
    ranked = kpi.rank_hotspots(grids, counts, cover)
    assert [(h.code, h.score, h.coverage, h.peak) for h in ranked] == [(B, 2.0, None, None),
                                                                       (C, pytest.approx(1.0), 0.8, "上半夜")]
