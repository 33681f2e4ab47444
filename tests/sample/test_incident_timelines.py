"""The sample street's cases: months of cases in every state, each with a timeline the workflow allows, dispatched
to real staff of its grid, with the deadlines, closing times and versions the loop itself would have stored."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.incidents import workflow as wf
from gridgov.incidents.cases import list_cases
from gridgov.vocab import INCIDENT_ACTIONS, INCIDENT_STATUSES, INCIDENT_SUBCATEGORIES
from gridgov.workdays import load_calendar

TZ = ZoneInfo("Asia/Shanghai")
END = dt.datetime(2026, 11, 1, tzinfo=TZ)  # the end of the sample's last day (2026-10-31)
OPEN = ("上报", "立案", "派遣", "处置", "核查", "挂账")
BY_WORD = {t.recorded: t for t in wf.TRANSITIONS.values()}


def after(action: str, status: str | None, level: str | None) -> tuple[str, str]:
    """The status and level a step leaves a case in, by gridgov.incidents.workflow alone (AssertionError when
    the step cannot be taken from ``status`` at ``level``)."""
    if action == "上报":
        assert status is None, "上报 is the first step only"
        return "上报", "网格"
    assert status is not None and level is not None, f"{action} before 上报"
    if action == wf.AUTO_ESCALATION:
        assert status in ("上报", "立案", "派遣") and level != "街道", (action, status, level)
        return ("立案" if status == "派遣" else status), str(wf.next_level(level))
    t = BY_WORD[action]
    assert status in t.sources, (action, status)
    if t.action == "escalate":
        assert level != "街道", (action, level)
        return ("立案" if status == "派遣" else status), str(wf.next_level(level))
    if t.action == "return":
        return wf.RETURNS_TO[status], level
    assert t.target is not None
    return t.target, level


def replay(actions: Iterable[str]) -> list[tuple[str, str]]:
    """The status and level after each step of one timeline."""
    out: list[tuple[str, str]] = []
    status: str | None = None
    level: str | None = None
    for a in actions:
        status, level = after(a, status, level)
        out.append((status, level))
    return out


def rows(engine: Engine, sql: str, **params: object) -> Sequence:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_the_files_timelines_are_legal_and_end_where_the_cases_stand(sample_dir: Path) -> None:
    with (sample_dir / "incidents.csv").open(encoding="utf-8") as f:
        cases = {r["code"]: r for r in csv.DictReader(f)}
    with (sample_dir / "incident_events.csv").open(encoding="utf-8") as f:
        events = list(csv.DictReader(f))
    by_case: dict[str, list[dict[str, str]]] = {}
    for e in events:
        by_case.setdefault(e["code"], []).append(e)
    assert set(by_case) == set(cases)
    for code, steps in by_case.items():
        assert [int(s["seq"]) for s in steps] == list(range(1, len(steps) + 1)), code
        times = [dt.datetime.fromisoformat(s["at"]) for s in steps]
        assert times[0] == dt.datetime.fromisoformat(cases[code]["reported_at"]) and times == sorted(set(times))
        assert times[-1] < END
        states = replay(s["action"] for s in steps)
        assert [lvl for _, lvl in states] == [s["level"] for s in steps], code
        assert states[-1] == (cases[code]["status"], cases[code]["level"]), code
        for s in steps:
            t = BY_WORD.get(s["action"])
            assert bool(s["staff_code"]) == (s["action"] == "派遣"), (code, s)
            assert not (t and t.note) or s["note"], (code, s)  # the steps that need a reason have one
            assert bool(s["review_on"]) == (s["action"] == "挂账"), (code, s)
    assert {e["action"] for e in events} == set(INCIDENT_ACTIONS.terms) - {wf.IMPORTED}
    pairs = {f"{c['category']}/{c['subcategory']}" for c in cases.values()}
    assert pairs <= set(INCIDENT_SUBCATEGORIES.terms)
    assert {c["category"] for c in cases.values()} >= {"治安隐患", "矛盾纠纷", "消防安全", "市容环境", "突发事件"}


def test_every_state_is_present_and_recent_cases_are_open_in_every_one(sample_engine: Engine) -> None:
    counts = dict(rows(sample_engine, "SELECT status, count(*) FROM incident GROUP BY 1"))
    total = sum(counts.values())
    assert set(counts) == set(INCIDENT_STATUSES.terms)
    assert counts["结案"] > 0.8 * total and counts["作废"] >= 50
    assert min(counts[s] for s in OPEN) >= 5, counts
    recent = dict(rows(sample_engine, "SELECT status, count(*) FROM incident WHERE reported_at >= :since GROUP BY 1",
                       since=END - dt.timedelta(days=21)))  # fmt: skip
    assert all(recent.get(s, 0) >= 5 for s in OPEN), recent
    levels = dict(rows(sample_engine, "SELECT level, count(*) FROM incident GROUP BY 1"))
    assert levels["网格"] > 0.8 * total and levels["社区"] >= 50 and levels["街道"] >= 10, levels
    parked = rows(sample_engine, "SELECT review_on FROM incident WHERE status = '挂账'")
    assert all(p.review_on is not None for p in parked)
    assert any(p.review_on > END.date() for p in parked) and any(p.review_on < END.date() for p in parked)


def test_every_stored_timeline_replays_through_the_workflow(sample_engine: Engine) -> None:
    steps = rows(sample_engine, """SELECT i.code, i.status, i.level, i.version, i.reported_at, e.action, e.at,
                                          e.from_status, e.to_status, e.from_level, e.to_level
                                     FROM incident i JOIN incident_event e ON e.incident_id = i.id
                                    ORDER BY i.code, e.at, e.id""")  # fmt: skip
    by_case: dict[str, list] = {}
    for s in steps:
        by_case.setdefault(s.code, []).append(s)
    assert len(by_case) == rows(sample_engine, "SELECT count(*) FROM incident")[0][0]
    for code, timeline in by_case.items():
        states = replay(s.action for s in timeline)
        assert [(s.to_status, s.to_level) for s in timeline] == states, code
        assert [(s.from_status, s.from_level) for s in timeline] == [(None, None), *states[:-1]], code
        first, last = timeline[0], timeline[-1]
        assert first.at == first.reported_at and (last.status, last.level) == states[-1], code
        assert last.version == len(timeline), code
    actions = Counter(s.action for s in steps)
    assert actions["超期上报"] >= 50 and actions["上报上级"] >= 50 and actions["返工"] >= 100, actions
    assert actions["退回"] >= 50 and actions["重新打开"] >= 10 and actions["回访"] >= 50, actions
    assert wf.IMPORTED not in actions  # the importer's first step gave way to the timelines


def test_closed_cases_close_at_their_last_close_and_open_ones_have_a_deadline(sample_engine: Engine) -> None:
    (wrong_close, closed_open, no_deadline, parked_deadline, not_last, started) = rows(sample_engine, """
        WITH last AS (SELECT DISTINCT ON (incident_id) incident_id, deadline, at FROM incident_event
                       ORDER BY incident_id, at DESC, id DESC)
        SELECT count(*) FILTER (WHERE i.status = '结案' AND i.closed_at IS DISTINCT FROM (
                   SELECT max(e.at) FROM incident_event e WHERE e.incident_id = i.id AND e.action = '结案')),
               count(*) FILTER (WHERE i.status <> '结案' AND i.closed_at IS NOT NULL),
               count(*) FILTER (WHERE i.status IN ('上报', '立案', '派遣', '处置', '核查') AND i.deadline IS NULL),
               count(*) FILTER (WHERE i.status IN ('挂账', '作废', '结案') AND i.deadline IS NOT NULL),
               count(*) FILTER (WHERE i.deadline IS DISTINCT FROM l.deadline),
               count(*) FILTER (WHERE NOT i.step_started_at BETWEEN i.reported_at AND l.at)
          FROM incident i JOIN last l ON l.incident_id = i.id""")[0]  # fmt: skip
    assert (wrong_close, closed_open, no_deadline, parked_deadline, not_last, started) == (0, 0, 0, 0, 0, 0)


def test_escalations_by_deadline_happen_at_the_deadline_and_late_steps_are_marked(sample_engine: Engine) -> None:
    steps = rows(sample_engine, """SELECT e.action, e.at, e.overdue,
                                          lag(e.deadline) OVER (PARTITION BY e.incident_id ORDER BY e.at, e.id) AS due,
                                          lag(e.action) OVER (PARTITION BY e.incident_id ORDER BY e.at, e.id) AS prev,
                                          e.from_status
                                     FROM incident_event e""")  # fmt: skip
    auto = [s for s in steps if s.action == wf.AUTO_ESCALATION]
    assert auto and all(s.at == s.due and s.overdue for s in auto)
    for s in steps:
        keeps_clock = s.action == "回访" or (s.action == "派遣" and s.from_status == "派遣")  # never late
        if s.action in ("上报", wf.AUTO_ESCALATION) or keeps_clock:
            continue
        assert s.overdue == (s.due is not None and s.at > s.due), s
    late = [s for s in steps if s.overdue and s.action != wf.AUTO_ESCALATION]
    assert len(late) >= 100  # steps taken after their deadline (核查, 结案, and anything at 街道)
    # as the sweep keeps it: nothing waits at 网格 or 社区 for acceptance, dispatch or handling past its deadline
    stale = rows(sample_engine, "SELECT count(*) FROM incident WHERE status IN ('上报', '立案', '派遣') "
                                "AND level <> '街道' AND deadline < :end", end=END)[0][0]  # fmt: skip
    assert stale == 0


def test_cases_are_dispatched_to_staff_of_their_grid_or_above_in_the_rules_role(sample_engine: Engine) -> None:
    unknown, elsewhere, dispatched, stray = rows(sample_engine, """
        WITH RECURSIVE up(incident_id, grid_id, parent_id) AS (
            SELECT i.id, g.id, g.parent_id FROM incident i JOIN grid g ON g.id = i.grid_id
            UNION ALL
            SELECT up.incident_id, g.id, g.parent_id FROM up JOIN grid g ON g.id = up.parent_id)
        SELECT count(*) FILTER (WHERE e.action = '派遣' AND e.staff_id IS NULL),
               count(*) FILTER (WHERE e.action = '派遣' AND NOT EXISTS (
                   SELECT 1 FROM up JOIN grid_role r ON r.grid_id = up.grid_id
                    WHERE up.incident_id = e.incident_id AND r.staff_id = e.staff_id
                      AND r.role IN (coalesce(d.staff_role, '网格员'), '网格员'))),
               count(*) FILTER (WHERE e.action = '派遣'),
               count(*) FILTER (WHERE e.action <> '派遣' AND e.staff_id IS NOT NULL)
          FROM incident_event e JOIN incident i ON i.id = e.incident_id
          LEFT JOIN incident_dispatch_rule d ON d.category = i.category""")[0]  # fmt: skip
    assert (unknown, elsewhere, stray) == (0, 0, 0) and dispatched >= 2000
    roles = dict(rows(sample_engine, """SELECT r.role, count(DISTINCT e.id) FROM incident_event e
                                         JOIN grid_role r ON r.staff_id = e.staff_id
                                         JOIN incident i ON i.id = e.incident_id AND i.category = '治安隐患'
                                        WHERE e.action = '派遣' GROUP BY 1"""))  # fmt: skip
    assert roles.get("网格警员", 0) > 0  # the dispatch rule of 治安隐患
    open_assigned = rows(sample_engine, "SELECT count(*) FROM incident WHERE status IN ('派遣', '处置', '核查') "
                                        "AND assignee_staff_id IS NULL")[0][0]  # fmt: skip
    assert open_assigned == 0


def test_staff_work_in_working_hours_mostly(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        calendar = load_calendar(s, "Asia/Shanghai")
    steps = rows(sample_engine, "SELECT e.at FROM incident_event e JOIN incident i ON i.id = e.incident_id "
                                "WHERE e.action NOT IN ('上报', '超期上报') AND i.urgency = '一般'")  # fmt: skip
    local = [s.at.astimezone(TZ) for s in steps]
    inside = [calendar.is_working_day(t.date()) and calendar.start <= t.time() <= calendar.end for t in local]
    assert sum(inside) / len(inside) > 0.97


def test_the_inbox_of_a_grid_worker_shows_the_cases_dispatched_to_them(sample_engine: Engine) -> None:
    case = rows(sample_engine, """SELECT i.id, i.assignee_staff_id, g.id AS grid_id, g.code AS grid_code
                                    FROM incident i JOIN grid g ON g.id = i.grid_id
                                   WHERE i.status = '派遣' AND i.level = '网格'
                                   ORDER BY i.code LIMIT 1""")[0]  # fmt: skip
    worker = Actor("user:sample-grid", "grid", case.grid_id, case.grid_code, user_id=None,
                   staff_id=case.assignee_staff_id)  # fmt: skip
    with Session(sample_engine) as s:
        mine = list_cases(s, worker, box="mine", now=END)
    assert case.id in [r.id for r in mine.rows] and all(r.status == "派遣" for r in mine.rows)


@pytest.mark.parametrize("box", ["level", "verify", "overdue"])
def test_the_street_inboxes_are_not_empty(sample_engine: Engine, box: str) -> None:
    street = rows(sample_engine, "SELECT id, code FROM grid WHERE level = 'street' AND valid_to IS NULL")[0]
    with Session(sample_engine) as s:
        found = list_cases(s, Actor("user:sample-street", "street", street.id, street.code), box=box, now=END)
    assert found.total > 0


# --------------------------------------------------------------------------------------------- the loader's replay

STAFF_CSV = "staff_code,name,phone,grid_code,role\nS1,王网格,13700000001,610103006001001,网格员\n"
CASES_CSV = ("code,category,reported_at,status,level,urgency,lon,lat\n"
             "E1,市容环境,2026-10-30T16:30:00+08:00,结案,网格,一般,108.952,34.245\n"
             "E2,市容环境,2026-10-30T10:00:00+08:00,上报,社区,一般,108.952,34.245\n")  # fmt: skip
EVENTS = [  # code, seq, action, at, level, staff_code, note, review_on
    ("E1", 1, "上报", "2026-10-30T16:30:00+08:00", "网格", "", "", ""),  # a Friday: 受理 due Monday 12:00
    ("E1", 2, "立案", "2026-11-02T09:00:00+08:00", "网格", "", "", ""),
    ("E1", 3, "派遣", "2026-11-02T10:00:00+08:00", "网格", "S1", "", ""),
    ("E1", 4, "处置", "2026-11-04T15:00:00+08:00", "网格", "", "已清运", ""),
    ("E1", 5, "核查通过", "2026-11-05T16:00:00+08:00", "网格", "", "", ""),  # 核查 was due at 15:00
    ("E1", 6, "结案", "2026-11-06T09:00:00+08:00", "网格", "", "", ""),
    ("E2", 1, "上报", "2026-10-30T10:00:00+08:00", "网格", "", "", ""),
    ("E2", 2, "超期上报", "2026-10-30T14:30:00+08:00", "社区", "", "处置时限已过，自动上报上一级", ""),
]


def _load_small(engine: Engine, tmp_path: Path, events: list[tuple[object, ...]]) -> int:
    from gridgov.importing.entities import import_entities
    from gridgov.sample.load import load_incident_events

    from tests.factories import make_street

    (tmp_path / "staff.csv").write_text(STAFF_CSV, encoding="utf-8")
    (tmp_path / "incidents.csv").write_text(CASES_CSV, encoding="utf-8")
    with (tmp_path / "incident_events.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "seq", "action", "at", "level", "staff_code", "note", "review_on"])
        w.writerows(events)
    actor = Actor.system("sample")
    with Session(engine) as s, s.begin():
        make_street(s)
        for entity in ("staff", "incidents"):
            assert import_entities(s, entity, tmp_path / f"{entity}.csv", actor=actor).written
        return load_incident_events(s, tmp_path / "incident_events.csv", actor, load_calendar(s, "Asia/Shanghai"))


def test_the_loader_replays_a_timeline_into_steps_deadlines_and_the_case(clean_engine: Engine, tmp_path: Path) -> None:
    assert _load_small(clean_engine, tmp_path, EVENTS) == len(EVENTS)
    at = lambda s: dt.datetime.fromisoformat(s)  # noqa: E731
    steps = rows(clean_engine, """SELECT i.code, e.action, e.from_status, e.to_status, e.to_level, e.deadline,
                                         e.overdue, s.code AS staff, e.actor
                                    FROM incident_event e JOIN incident i ON i.id = e.incident_id
                                    LEFT JOIN staff s ON s.id = e.staff_id ORDER BY i.code, e.at""")  # fmt: skip
    assert [tuple(s) for s in steps] == [
        ("E1", "上报", None, "上报", "网格", at("2026-11-02T12:00:00+08:00"), False, None, "sample"),
        ("E1", "立案", "上报", "立案", "网格", at("2026-11-02T13:30:00+08:00"), False, None, "sample"),
        ("E1", "派遣", "立案", "派遣", "网格", at("2026-11-05T10:00:00+08:00"), False, "S1", "sample"),
        ("E1", "处置", "派遣", "处置", "网格", at("2026-11-05T15:00:00+08:00"), False, None, "sample"),
        ("E1", "核查通过", "处置", "核查", "网格", at("2026-11-06T11:30:00+08:00"), True, None, "sample"),
        ("E1", "结案", "核查", "结案", "网格", None, False, None, "sample"),
        ("E2", "上报", None, "上报", "网格", at("2026-10-30T14:30:00+08:00"), False, None, "sample"),
        ("E2", "超期上报", "上报", "上报", "社区", at("2026-11-02T10:00:00+08:00"), True, None, "sample"),
    ]
    cases = {r.code: r for r in rows(clean_engine, "SELECT code, status, level, closed_at, deadline, version, "
                                                   "step_started_at, assignee_staff_id FROM incident")}  # fmt: skip
    assert (cases["E1"].status, cases["E1"].closed_at, cases["E1"].deadline, cases["E1"].version) == (
        "结案", at("2026-11-06T09:00:00+08:00"), None, 6)  # fmt: skip
    assert (cases["E2"].status, cases["E2"].level, cases["E2"].deadline, cases["E2"].version) == (
        "上报", "社区", at("2026-11-02T10:00:00+08:00"), 2)  # fmt: skip
    assert cases["E2"].step_started_at == at("2026-10-30T14:30:00+08:00") and cases["E2"].closed_at is None


def test_the_loader_refuses_a_step_the_workflow_does_not_allow(clean_engine: Engine, tmp_path: Path) -> None:
    from gridgov.errors import InvalidInput

    bad = [*EVENTS[:6], ("E2", 1, "上报", "2026-10-30T10:00:00+08:00", "网格", "", "", ""),
           ("E2", 2, "派遣", "2026-10-30T11:00:00+08:00", "网格", "S1", "", "")]  # fmt: skip
    bad[4] = ("E1", 5, "结案", "2026-11-05T16:00:00+08:00", "网格", "", "", "")  # 结案 before 核查
    with pytest.raises(InvalidInput) as refused:
        _load_small(clean_engine, tmp_path, bad)
    assert refused.value.details == [
        "第 6 行 E1：事件当前为「处置」（网格层级），不能「结案」；可进行的操作：核查通过、返工、退回",
        "第 9 行 E2：事件当前为「上报」（网格层级），不能「派遣」；可进行的操作：立案、不予立案、上报上级",
    ]
    assert rows(clean_engine, "SELECT count(*) FROM incident")[0][0] == 0  # one transaction: nothing written
