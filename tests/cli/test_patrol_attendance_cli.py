"""``gridgov patrol attendance`` (a night as JSON records, a month with the 考勤表 workbook) and ``gridgov import
tracks`` for CSV files, daytime inspections and a team that does not exist, through the real command."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from gridgov.db.engine import session_scope

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D
from tests.patrol.test_attendance import build


@pytest.fixture
def env(clean_engine: Engine, tmp_path: Path) -> dict[str, str]:
    with session_scope(clean_engine) as s:
        build(s, tmp_path)
    url = clean_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home"), "GRIDGOV_PROBATION_MONTHS": "1"}


def test_a_night_as_json_records_and_as_text(env: dict[str, str]) -> None:
    r = run_cli(["patrol", "attendance", "--date", "2026-10-14", "--json"], env)
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)
    assert [(x["shift"], x["team_code"], x["status"], x["late"], x["left_early"]) for x in records] == [
        ("上半夜", "T1", "出勤", False, False), ("上半夜", "T2", "迟到", True, False),
        ("上半夜", "T4", "缺勤", False, False), ("下半夜", "T3", "早退", False, True),
        ("下半夜", "T5", "出勤", False, False)]  # fmt: skip
    t1 = records[0]
    assert {k: t1[k] for k in ("night", "team_name", "first_seen", "last_seen", "minutes_inside", "coverage",
                               "unvisited")} == {  # fmt: skip
        "night": "2026-10-14", "team_name": "机关一队", "first_seen": "2026-10-14T20:10:00+08:00",
        "last_seen": "2026-10-14T23:25:00+08:00", "minutes_inside": 175.0, "coverage": 0.5,
        "unvisited": ["610103006001002"]}
    assert t1["metres"] > 0 and records[2]["first_seen"] is None and records[2]["metres"] == 0
    assert [p["staff_code"] for p in records[4]["people"]] == ["S51", "S52", "S53", "S56", "S55"]
    text = run_cli(["patrol", "attendance", "--date", "2026-10-14", "--team", "T2"], env)
    assert text.returncode == 0, text.stderr
    night, line = text.stdout.splitlines()
    assert night == "2026-10-14"
    assert line.startswith("  上半夜 机关二队（T2）  迟到  到达 20:20 离开 23:25，区域内 185 分钟、")
    assert line.endswith("米，覆盖 100%")
    late_night = run_cli(["patrol", "attendance", "--date", "2026-10-14", "--team", "T3"], env).stdout.splitlines()
    assert "  早退  到达 23:40 离开 次日 05:30，" in late_night[1]  # after midnight: the night's clock


def test_a_month_writes_the_workbook(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "考勤表.xlsx"
    r = run_cli(["patrol", "attendance", "--month", "2026-10", "-o", str(out), "--json"], env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["allowance_total"] == 480.0 and len(data["entries"]) == 7 and data["file"] == str(out)
    assert {p["staff_code"]: p["allowance"] for p in data["people"]}["S56"] == 0.0  # probation from the setting
    sheet = openpyxl.load_workbook(out)["考勤汇总"]
    assert [c.value for c in sheet[4]][:2] == ["S11", "赵一"]
    plain = run_cli(["patrol", "attendance", "--month", "2026-10"], env)
    assert plain.returncode == 0 and "补贴合计 480 元（10 人，每人每班 80 元）" in plain.stdout


def test_wrong_requests(env: dict[str, str]) -> None:
    both = run_cli(["patrol", "attendance", "--date", "2026-10-14", "--month", "2026-10"], env)
    assert both.returncode == 2 and "--date 或 --month" in both.stderr
    team = run_cli(["patrol", "attendance", "--date", "2026-10-14", "--team", "T9"], env)
    assert team.returncode == 4 and "巡逻队不存在：T9" in team.stderr
    month = run_cli(["patrol", "attendance", "--month", "2026-13"], env)
    assert month.returncode == 1 and "月份格式应为 YYYY-MM" in month.stderr


def test_importing_csv_tracks(env: dict[str, str], tmp_path: Path) -> None:
    rows = ["时间,经度,纬度"] + [f"2026-10-15 10:{m:02d}:00,{X0 + 0.001 + 0.0003 * (m % 10):.7f},{Y0 + D / 2}"
                                for m in range(31)]  # fmt: skip
    rows[12] = f"2026-10-15 10:11:00,{X0 + 0.015:.7f},{Y0 + D / 2}"  # row 13: a jump 1.2 km east
    path = tmp_path / "巡查.csv"
    path.write_text("\n".join(rows) + "\n", encoding="gbk")
    r = run_cli(["import", "tracks", str(path), "--kind", "日巡查", "--person", "S12"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "巡查.csv：已导入 1 条轨迹、31 个点，1 天日巡查；跳点 1 个，断点 0 处",
        "  S12 2026-10-15：2026-10-15 日巡查 钱二（S12），31 个点；跳点 1 个（10:11:00，不计入轨迹）",
    ]
    missing = run_cli(["import", "tracks", str(path), "--team", "T9"], env)
    assert missing.returncode == 4
    how = "巡逻队不存在：T9。请先创建：gridgov patrol team add T9 --name 名称（或在「巡逻队」页面新建）"
    assert how in missing.stderr
