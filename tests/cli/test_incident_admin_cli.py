"""``gridgov calendar`` and ``gridgov incident limit|dispatch-rule``: the loop's settings from the shell, with
``--json`` that matches the tables, a year's list imported in one go (a bad row refuses it, naming the row), the
deadline trial, and administrators only (a token of another role is refused with exit code 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token

from tests.cli.test_vocab_cli import cli_json, gridgov
from tests.factories import make_street

LIST_2027 = "日期,至,类型,名称\n2027-01-01,2027-01-03,休,元旦\n2027-02-06,2027-02-14,休,春节\n2027-02-20,,班,春节\n"


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street and the CLI's environment (the local operator)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_calendar_commands(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    listed = gridgov(["calendar", "list", "--year", "2026"], env)
    assert listed.returncode == 0, listed.stderr
    assert "2026-10-10（星期六）\t班\t国庆节" in listed.stdout and "共 39 天：休 33 天，班 6 天" in listed.stdout
    assert "提示：2027 年的法定节假日尚未录入" in listed.stderr

    done = cli_json(["calendar", "set", "2027-01-01", "--to", "2027-01-03", "--kind", "放假", "--name", "元旦"], env)
    assert done == {"changed": 3, "days": ["2027-01-01", "2027-01-02", "2027-01-03"], "kind": "休", "name": "元旦"}
    assert cli_json(["calendar", "list", "--year", "2027"], env) == [
        {"day": f"2027-01-0{i}", "kind": "休", "name": "元旦"} for i in (1, 2, 3)]  # fmt: skip
    weekday = gridgov(["calendar", "set", "2027-01-04", "--kind", "班"], env)
    assert weekday.returncode == 1 and "调休上班日应为周六或周日" in weekday.stderr
    cleared = gridgov(["calendar", "clear", "2027-01-03"], env)
    assert cleared.returncode == 0 and "已恢复 1 天为平常日" in cleared.stdout
    assert rows(clean_engine, "SELECT day::text FROM work_calendar WHERE day >= '2027-01-01' ORDER BY day") == [
        ("2027-01-01",), ("2027-01-02",)]  # fmt: skip

    bad = tmp_path / "bad.csv"
    bad.write_text(LIST_2027 + "2027-13-01,,休,春节\n", encoding="utf-8")
    refused = gridgov(["calendar", "import", str(bad)], env)
    assert refused.returncode == 1
    assert "bad.csv 有 1 处错误，整份未导入：第 5 行日期：日期不存在：2027-13-01" in refused.stderr
    assert len(rows(clean_engine, "SELECT * FROM work_calendar WHERE day >= '2027-01-01'")) == 2
    good = tmp_path / "2027.csv"
    good.write_text(LIST_2027, encoding="utf-8")
    imported = cli_json(["calendar", "import", str(good), "--replace-year", "2027"], env)
    assert imported == {"holidays": 12, "makeup_days": 1, "years": [2027], "removed": 0}
    assert rows(clean_engine, "SELECT kind, count(*) FROM work_calendar WHERE day >= '2027-01-01' GROUP BY kind "
                              "ORDER BY kind") == [("休", 12), ("班", 1)]  # fmt: skip


def test_the_deadline_trial(env: dict[str, str]) -> None:
    r = gridgov(["calendar", "check", "--from", "2026-10-01", "--to", "2026-10-11", "--add", "2.5", "--start",
                 "2026-11-06 16:30"], env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "2026-10-01（星期四） 至 2026-10-11（星期日）：3 个工作日" in r.stdout
    assert "自 2026-11-06 16:30 起 2.5 个工作日：2026-11-11（星期三） 12:00 到期（工作时间 08:30–17:30）" in r.stdout
    out = cli_json(["calendar", "check", "--add", "0.5", "--start", "2026-09-30T17:00"], env)
    assert out["deadline"] == "2026-10-08 12:30:00+08:00" and "working_days" not in out
    half = gridgov(["calendar", "check", "--add", "1"], env)
    assert half.returncode == 2 and "--add 与 --start 须同时给出" in half.stderr


def test_limit_and_dispatch_rule_commands(clean_engine: Engine, env: dict[str, str]) -> None:
    assert {"step": "处置", "category": "矛盾纠纷", "urgency": "一般", "working_days": 5.0} in cli_json(
        ["incident", "limit", "list"], env)
    row = cli_json(["incident", "limit", "set", "--step", "处置", "--days", "1.5", "--category", "施工",
                    "--urgency", "紧急"], env)  # fmt: skip
    assert row == {"step": "处置", "category": "施工管理", "urgency": "紧急", "working_days": 1.5}
    assert rows(clean_engine, "SELECT working_days, updated_by FROM incident_time_limit WHERE category = '施工管理'"
                ) == [(1.5, "cli")]  # fmt: skip
    text_list = gridgov(["incident", "limit", "list"], env)
    assert "处置\t施工管理\t紧急\t1.5 个工作日" in text_list.stdout
    assert "1 个工作日 = 08:30–17:30，9 小时" in text_list.stdout
    removed = gridgov(["incident", "limit", "remove", "--step", "处置", "--category", "施工管理", "--urgency", "紧急"],
                      env)  # fmt: skip
    assert removed.returncode == 0 and "已删除时限" in removed.stdout
    again = gridgov(["incident", "limit", "remove", "--step", "处置", "--category", "施工管理"], env)
    assert again.returncode == 4 and "没有这条时限" in again.stderr

    dispatched = gridgov(["incident", "dispatch-rule", "set", "--category", "治安", "--role", "社区民警"], env)
    assert dispatched.returncode == 0 and "治安隐患 类事件默认派给：网格警员" in dispatched.stdout
    assert gridgov(["incident", "dispatch-rule", "set", "--category", "街面秩序", "--role", "协管员"],
                   env).returncode == 0  # fmt: skip
    assert gridgov(["incident", "dispatch-rule", "clear", "--category", "市容环境"], env).returncode == 0
    listed = cli_json(["incident", "dispatch-rule", "list"], env)
    assert listed["default_role"] == "网格员"
    assert {r["category"]: r["staff_role"] for r in listed["rules"]} == dict(
        rows(clean_engine, "SELECT category, staff_role FROM incident_dispatch_rule")) == {
        "治安隐患": "网格警员", "街面秩序": "协管员", "消防安全": "网格消防员", "矛盾纠纷": "调解员"}  # fmt: skip


def test_a_token_of_another_role_is_refused(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    with Session(clean_engine) as s, s.begin():
        token = create_token(s, Actor.system(), "街道", "street", "610103006")[0]
    (tmp_path / "l.csv").write_text(LIST_2027, encoding="utf-8")
    before = [rows(clean_engine, f"SELECT * FROM {t} ORDER BY 1, 2")
              for t in ("work_calendar", "incident_time_limit", "incident_dispatch_rule")]  # fmt: skip
    scoped = env | {"GRIDGOV_TOKEN": token}
    for args in (["calendar", "set", "2027-01-01", "--kind", "休"], ["calendar", "clear", "2026-10-01"],
                 ["calendar", "import", str(tmp_path / "l.csv")],
                 ["incident", "limit", "set", "--step", "受理", "--days", "9"],
                 ["incident", "limit", "remove", "--step", "受理"],
                 ["incident", "dispatch-rule", "set", "--category", "治安隐患", "--role", "网格员"],
                 ["incident", "dispatch-rule", "clear", "--category", "治安隐患"]):  # fmt: skip
        r = gridgov(args, scoped)
        assert r.returncode == 5 and "权限不足" in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert before == [rows(clean_engine, f"SELECT * FROM {t} ORDER BY 1, 2")
                      for t in ("work_calendar", "incident_time_limit", "incident_dispatch_rule")]  # fmt: skip
    assert json.loads(gridgov(["calendar", "list", "--year", "2026", "--json"], scoped).stdout)[0]["name"] == "元旦"
