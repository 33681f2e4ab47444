"""Incident imports: urgency, source, address and reporter columns, and the first step of each case's timeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.importing.entities import import_entities
from gridgov.incidents.limits import load_limits
from gridgov.workdays import load_calendar

from tests.factories import X0, Y0, make_street

TZ = ZoneInfo("Asia/Shanghai")
IN_A = (X0 + 0.002, Y0 + 0.005)  # inside 610103006001001
IN_C = (X0 + 0.015, Y0 + 0.005)  # inside 610103006002001


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    with session_scope(clean_engine) as s:
        make_street(s)
    return clean_engine


def cases_frame(reported: list[str]) -> pd.DataFrame:
    """Four cases as a hotline or another system exports them, with Chinese headers and synonyms."""
    return pd.DataFrame({
        "编号": ["E1", "E2", "E3", "E4"],
        "事件类别": ["市容环境", "街面秩序", "市容环境", "治安隐患"],
        "小类": ["暴露垃圾", "乱停车辆", "暴露垃圾", "群租房"],
        "上报时间": reported,
        "状态": ["", "已派遣", "办结", "挂账"],
        "级别": ["", "社区", "网格", "网格"],
        "来源": ["热线", "网格员", "12345", "居民"],
        "紧急程度": ["急", "一般", "", "普通"],
        "地址": ["文艺北路45号院门口", "", "文艺南路2号院3号楼", ""],
        "反映人": ["张三", "", "李四", ""],
        "反映人电话": ["13800000001", "", "029-88886666", ""],
        "经度": [IN_A[0], IN_C[0], IN_A[0], IN_C[0]],
        "纬度": [IN_A[1], IN_C[1], IN_A[1], IN_C[1]],
    })  # fmt: skip


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_each_imported_case_gets_its_first_step_and_a_deadline_when_open(street: Engine, tmp_path: Path) -> None:
    fresh = (dt.datetime.now(TZ) - dt.timedelta(minutes=20)).replace(microsecond=0)
    path = tmp_path / "事件.csv"
    cases_frame([fresh.strftime("%Y-%m-%d %H:%M:%S"), "2026-10-01 21:30", "2026-09-01 08:00",
                 "2026-09-02 10:00"]).to_csv(path, index=False)  # fmt: skip
    before = dt.datetime.now(dt.UTC)
    with session_scope(street) as s:
        report = import_entities(s, "incidents", path, actor=Actor.system("importer"))
    after = dt.datetime.now(dt.UTC)
    assert report.written and report.imported == 4 and report.assigned == 4
    with street.connect() as conn:
        got = {r.code: r for r in conn.execute(text(
            """SELECT code, status, level, urgency, source, address, reporter_name, reporter_phone, reported_at,
                      step_started_at, deadline, version FROM incident""")).all()}  # fmt: skip
        steps = conn.execute(text(
            """SELECT i.code, e.action, e.at, e.from_status, e.to_status, e.from_level, e.to_level, e.actor,
                      e.deadline, e.overdue, e.staff_id FROM incident_event e JOIN incident i ON i.id = e.incident_id
                ORDER BY i.code""")).all()  # fmt: skip
    assert {c: (r.status, r.level, r.urgency, r.source) for c, r in got.items()} == {
        "E1": ("上报", "网格", "紧急", "12345热线"), "E2": ("派遣", "社区", "一般", "网格员上报"),
        "E3": ("结案", "网格", "一般", "12345热线"), "E4": ("挂账", "网格", "一般", "居民反映")}  # fmt: skip
    assert (got["E1"].address, got["E1"].reporter_name, got["E1"].reporter_phone) == (
        "文艺北路45号院门口", "张三", "13800000001")  # fmt: skip
    assert got["E2"].address is None and got["E3"].reporter_phone == "029-88886666"
    # one 导入 step per case, at its report, into the status and level it was imported with
    assert [(e.code, e.action, e.at, e.from_status, e.to_status, e.from_level, e.to_level, e.actor, e.overdue,
             e.staff_id) for e in steps] == [
        (c, "导入", got[c].reported_at, None, got[c].status, None, got[c].level, "importer", False, None)
        for c in ("E1", "E2", "E3", "E4")]  # fmt: skip
    assert all(e.deadline == got[e.code].deadline for e in steps)
    assert all(r.step_started_at == r.reported_at and r.version == 1 for r in got.values())
    # open cases: the limit of the step they wait for, from the later of the report and the import
    with Session(street) as s:
        calendar, limits = load_calendar(s, "Asia/Shanghai"), load_limits(s)
    for code, status, category, urgency in (("E1", "上报", "市容环境", "紧急"), ("E2", "派遣", "街面秩序", "一般")):
        earliest = limits.deadline(calendar, status, category, urgency, before)
        latest = limits.deadline(calendar, status, category, urgency, after)
        assert earliest is not None and latest is not None
        assert earliest <= got[code].deadline <= latest, code
    assert got["E2"].deadline > after  # reported weeks ago: not overdue on arrival
    assert got["E3"].deadline is None and got["E4"].deadline is None  # closed, parked: nothing waits


def test_a_bad_urgency_source_or_reporter_phone_refuses_the_file_with_its_row(street: Engine, tmp_path: Path) -> None:
    frame = cases_frame(["2026-10-01 08:00"] * 4)
    frame.loc[1, "紧急程度"] = "特急"
    frame.loc[2, "来源"] = "微信群"
    frame.loc[3, "反映人电话"] = "打电话"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with session_scope(street) as s:
        report = import_entities(s, "incidents", path, actor=Actor.system("importer"))
    assert report.refused and not report.written
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (3, "urgency", "取值应为 一般 / 紧急：特急"),
        (4, "source", "取值应为 网格员上报 / 巡逻发现 / 居民反映 / 12345热线 / 其他系统 / 导入：微信群"),
        (5, "reporter_phone", "电话号码格式错误：打电话"),
    ]
    assert (count(street, "incident"), count(street, "incident_event")) == (0, 0)
