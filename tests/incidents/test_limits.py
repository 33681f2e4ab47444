"""Time limits and dispatch rules as the administrator keeps them: rows set and removed, the most specific row
wins, a case reported after a change gets the new deadline, and a dispatch rule decides the default assignee."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.incidents import cases
from gridgov.incidents.cases import NewCase, Rules
from gridgov.incidents.limits import ANY, dispatch_rules, load_limits, remove_limit, set_dispatch_rule, set_limit
from gridgov.workdays import load_calendar

from tests.factories import X0, Y0, make_street

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = Actor.system("tests")
STREET = Actor(name="user:st", role="street")
LON, LAT = X0 + 0.002, Y0 + 0.005  # in compound 610103006001001


def at(day: str, clock: str = "09:00") -> dt.datetime:
    """A local moment."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ)


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    """The factory street with a 网格员 (S1), a 网格警员 (S2) and an 环境管理员 (S4) on compound …001001, and a
    调解员 (S3) on community …001 (and no 网格员 on compound …001002)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001'), "
                       "('S2', '李警员', '13800000002'), ('S3', '赵调解', '13800000003'), "
                       "('S4', '钱环境', '13800000004')"))  # fmt: skip
        s.execute(text("""INSERT INTO grid_role (grid_id, staff_id, role, since)
                          SELECT g.id, st.id, r.role, DATE '2020-01-01'
                            FROM (VALUES ('610103006001001', 'S1', '网格员'), ('610103006001001', 'S2', '网格警员'),
                                         ('610103006001001', 'S4', '环境管理员'), ('610103006001', 'S3', '调解员'))
                                 AS r(grid, staff, role)
                            JOIN grid g ON g.code = r.grid AND g.valid_to IS NULL
                            JOIN staff st ON st.code = r.staff"""))
    yield clean_engine


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    """The limit rows: (category, step, urgency, days, updated_by)."""
    with engine.connect() as conn:
        return [(c, st, u, float(d), by) for c, st, u, d, by in conn.execute(text(
            "SELECT category, step, urgency, working_days, updated_by FROM incident_time_limit "
            "ORDER BY step, category, urgency"))]  # fmt: skip


def test_set_and_remove_limits_and_the_most_specific_wins(clean_engine: Engine) -> None:
    with Session(clean_engine) as s:
        seeded = load_limits(s)
    assert seeded.days("处置", "市容环境", "一般") == 3 and seeded.days("处置", "市容环境", "紧急") == 1
    assert seeded.days("处置", "矛盾纠纷", "一般") == 5 and seeded.days("处置", "突发事件", "紧急") == 0.25
    with Session(clean_engine) as s, s.begin():
        row = set_limit(s, ADMIN, "处置", 2, category="市容")  # a synonym of 市容环境
        assert (row.category, row.step, row.urgency, row.working_days) == ("市容环境", "处置", ANY, 2)
        set_limit(s, ADMIN, "处置", 0.5, category="市容环境", urgency="紧急")
        set_limit(s, ADMIN, "受理", 0.25)  # the row for every category changes
    assert ("市容环境", "处置", "", 2.0, "tests") in stored(clean_engine)
    assert ("", "受理", "", 0.25, "tests") in stored(clean_engine)
    with Session(clean_engine) as s:
        table = load_limits(s)
        assert table.days("处置", "市容环境", "一般") == 2  # category beats urgency
        assert table.days("处置", "市容环境", "紧急") == 0.5  # category and urgency beat category
        assert table.days("处置", "街面秩序", "紧急") == 1 and table.days("受理", "街面秩序", "一般") == 0.25
        applies = table.applies("处置", "市容环境", "紧急")
        assert applies is not None and (applies.category, applies.urgency) == ("市容环境", "紧急")
    with Session(clean_engine) as s, s.begin():
        remove_limit(s, ADMIN, "处置", category="市容环境", urgency="紧急")
        remove_limit(s, ADMIN, "处置", category="市容", urgency="")
        remove_limit(s, ADMIN, "核查")
    with Session(clean_engine) as s:
        table = load_limits(s)
        assert table.days("处置", "市容环境", "紧急") == 1 and table.days("处置", "市容环境", "一般") == 3
        assert table.days("核查", "市容环境", "一般") is None  # no row left: the step has no limit
    assert not [r for r in stored(clean_engine) if r[0] == "市容环境" or r[1] == "核查"]


def test_limit_refusals_change_nothing(clean_engine: Engine) -> None:
    before = stored(clean_engine)
    with Session(clean_engine) as s, s.begin():
        with pytest.raises(InvalidInput, match="未知的环节：办理"):
            set_limit(s, ADMIN, "办理", 1)
        with pytest.raises(InvalidInput, match="未知的紧急程度：特急"):
            set_limit(s, ADMIN, "处置", 1, urgency="特急")
        with pytest.raises(InvalidInput, match="未知的"):
            set_limit(s, ADMIN, "处置", 1, category="外星人")
        with pytest.raises(InvalidInput, match="时限应在 0.001 到 365 个工作日之间：0"):
            set_limit(s, ADMIN, "处置", 0)
        with pytest.raises(NotFound, match="没有这条时限：街面秩序·处置·不限紧急程度"):
            remove_limit(s, ADMIN, "处置", category="街面秩序")
        with pytest.raises(Forbidden, match="权限不足"):
            set_limit(s, STREET, "处置", 9)
        with pytest.raises(Forbidden, match="权限不足"):
            remove_limit(s, STREET, "受理")
        with pytest.raises(Forbidden, match="权限不足"):
            set_dispatch_rule(s, STREET, "治安隐患", "网格员")
    assert stored(clean_engine) == before


def test_a_case_reported_after_a_change_gets_the_new_deadline(street: Engine) -> None:
    worker = Actor(name="user:w", role="grid")
    with Session(street) as s, s.begin():
        rules = Rules(load_calendar(s, "Asia/Shanghai"))
        first = cases.report(s, worker, NewCase(LON, LAT, "市容环境/暴露垃圾", "垃圾"), rules,
                             now=at("2026-11-02", "09:00"))  # fmt: skip
        set_limit(s, ADMIN, "受理", 2, category="市容环境")
        second = cases.report(s, worker, NewCase(LON, LAT, "市容环境/暴露垃圾", "垃圾"), rules,
                              now=at("2026-11-02", "09:00"))  # fmt: skip
        other = cases.report(s, worker, NewCase(LON, LAT, "街面秩序/占道经营", "摊点"), rules,
                             now=at("2026-11-02", "09:00"))  # fmt: skip
        due = dict(s.execute(text("SELECT id, deadline FROM incident")).tuples().all())
    # 0.5 working day (4.5 h) before the change; 2 working days after it, for 市容环境 only. The first case keeps
    # the deadline it was given.
    assert due[first].astimezone(TZ) == at("2026-11-02", "13:30")
    assert due[second].astimezone(TZ) == at("2026-11-04", "09:00")
    assert due[other].astimezone(TZ) == at("2026-11-02", "13:30")


def test_a_dispatch_rule_decides_the_default_assignee(street: Engine) -> None:
    day = dt.date(2026, 11, 2)
    with Session(street) as s, s.begin():
        grid_id = s.scalar(text("SELECT id FROM grid WHERE code = '610103006001001' AND valid_to IS NULL"))
        assert dispatch_rules(s)["治安隐患"] == "网格警员"

        def assignee(category: str) -> str | None:
            found = cases.default_assignee(s, grid_id, category, day)
            return None if found is None else found[1]

        assert assignee("治安隐患") == "李警员（网格警员）"
        assert assignee("市容环境") == "钱环境（环境管理员）"
        assert assignee("矛盾纠纷") == "王网格（网格员）"  # no 调解员 in the grid: its 网格员 before the grid above
        assert assignee("街面秩序") == "王网格（网格员）"
        other = s.scalar(text("SELECT id FROM grid WHERE code = '610103006001002' AND valid_to IS NULL"))
        up = cases.default_assignee(s, other, "矛盾纠纷", day)
        assert up is not None and up[1] == "赵调解（调解员）"  # nobody in the grid: the community above
        set_dispatch_rule(s, ADMIN, "治安", "环境管理员")  # 治安 is a synonym of 治安隐患
        set_dispatch_rule(s, ADMIN, "街面秩序", "网格警员")
        set_dispatch_rule(s, ADMIN, "市容环境", None)
        assert dispatch_rules(s) == {"街面秩序": "网格警员", "消防安全": "网格消防员", "治安隐患": "环境管理员",
                                     "矛盾纠纷": "调解员"}  # fmt: skip
        assert assignee("治安隐患") == "钱环境（环境管理员）"
        assert assignee("街面秩序") == "李警员（网格警员）"
        assert assignee("市容环境") == "王网格（网格员）"
        with pytest.raises(InvalidInput, match="未知的"):
            set_dispatch_rule(s, ADMIN, "街面秩序", "宇航员")
    with street.connect() as conn:
        assert conn.execute(text("SELECT updated_by FROM incident_dispatch_rule WHERE category = '街面秩序'")
                            ).scalar_one() == "tests"  # fmt: skip
