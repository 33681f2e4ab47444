"""``gridgov patrol roster``: generate a month, set and remove entries, leave and substitution, the notice list and the
month's files from the shell, on the hand-made rota street of tests/patrol/test_rosters.py; errors as Chinese
messages with the exit codes of gridgov.cli.errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope

from tests.db.test_embedded import run_cli
from tests.patrol.test_rosters import build_rota_street


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The rota street, and the CLI's environment (the local operator)."""
    with session_scope(clean_engine) as s:
        build_rota_street(s)
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = run_cli([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def refused(args: list[str], env: dict[str, str], code: int, message: str) -> None:
    """The command fails with ``code`` and a Chinese ``message``, without a traceback."""
    r = run_cli(args, env)
    assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_month_from_the_shell(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    roster = ["patrol", "roster"]
    made = cli_json([*roster, "generate", "--month", "2026-10"], env)
    assert made == {"month": "2026-10", "grid": None, "created": 93, "replaced": 0, "kept": 0, "planned": 93}
    hand = cli_json([*roster, "set", "--date", "2026-10-06", "--shift", "上半夜", "--team", "E3", "--note", "与E2对调"],
                    env)  # fmt: skip
    assert (hand["team_code"], hand["source"], hand["note"]) == ("E3", "手工", "与E2对调")
    assert hand["leader"]["name"] == "李三"
    left = run_cli([*roster, "leave", "--date", "2026-10-02", "--shift", "上半夜", "--team", "E1", "--staff", "EM1",
                    "--note", "年假"], env)  # fmt: skip
    assert left.returncode == 0, left.stderr
    assert "已登记请假：2026-10-02 上半夜 第一干部巡逻队（E1）" in left.stdout
    assert "队员 周队员（EM1，13900000004）：请假" in left.stdout
    sub = cli_json([*roster, "substitute", "--date", "2026-10-02", "--shift", "下半夜", "--team", "L2", "--staff", "V2",
                    "--by", "X"], env)  # fmt: skip
    assert [c["text"] for c in sub["changes"]] == ["韩替替沈二"]
    assert [(p["name"], p["duty"], p["status"]) for p in sub["crew"]] == [("沈二", "带队", "已替班"),
                                                                          ("韩替", "带队", "替班")]
    night = cli_json([*roster, "list", "--date", "2026-10-02"], env)
    assert [(e["shift"], e["team_code"], e["duty_cadre"]["name"]) for e in night["entries"]] == [
        ("上半夜", "E1", "孙二"), ("下半夜", "L1B", "孙二"), ("下半夜", "L2", "孙二")]
    month = run_cli([*roster, "list", "--month", "2026-10"], env)
    assert month.returncode == 0, month.stderr
    assert month.stdout.startswith("2026-10-01 星期四\n  上半夜 20:00–23:30  第一干部巡逻队（E1）  区域：干部巡逻区")
    assert "第三干部巡逻队（E3）" in month.stdout and "[手工]" in month.stdout and "变动：韩替替沈二" in month.stdout

    sheet = tmp_path / "out" / "通知.xlsx"
    told = run_cli([*roster, "notice", "--date", "2026-10-02", "-o", str(sheet)], env)
    assert told.returncode == 0, told.stderr
    title = "文艺路街道2026年10月2日（星期五）夜间巡逻通知名单（应通知 6 人）"
    assert told.stdout.startswith(f"{title}\n【区政府办公室】\n")
    assert "    带队：钱一 13900000001\n    不到岗：周队员（请假）\n" in told.stdout
    assert "    带队，替沈二：韩替 13900000014\n" in told.stdout and "【值班人员】\n    值班领导：孙二" in told.stdout
    ws = openpyxl.load_workbook(sheet).active
    assert ws is not None and ws["G4"].value == "钱一" and ws["I4"].value == "13900000001"
    assert cli_json([*roster, "notice", "--date", "2026-10-02"], env)["people"] == 6

    xlsx, pdf = tmp_path / "roster.xlsx", tmp_path / "roster.pdf"
    for out in (xlsx, pdf):
        r = run_cli([*roster, "export", "--month", "2026-10", "-o", str(out)], env)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"已写出 {out}：文艺路街道2026年10月夜间巡逻排班表，94 条排班"
    ws = openpyxl.load_workbook(xlsx).active
    assert ws is not None and ws["A1"].value == "文艺路街道2026年10月夜间巡逻排班表" and ws.max_row == 3 + 94
    pages = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "Pages:           5" in pages

    gone = run_cli([*roster, "remove", "--date", "2026-10-06", "--shift", "上半夜", "--team", "E3"], env)
    assert gone.returncode == 0 and "已删除排班：2026-10-06 上半夜 第三干部巡逻队（E3）" in gone.stdout
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE source = '手工'), "
                                 "(SELECT count(*) FROM roster_change) FROM patrol_roster")).one()  # fmt: skip
    assert tuple(rows) == (93, 0, 2)


def test_refusals_are_messages_with_exit_codes(clean_engine: Engine, env: dict[str, str]) -> None:
    roster = ["patrol", "roster"]
    refused([*roster, "generate", "--month", "2026-13"], env, 1, "错误：月份格式应为 YYYY-MM")
    assert run_cli([*roster, "generate", "--month", "2026-10"], env).returncode == 0
    one = ["--date", "2026-10-01", "--shift", "下半夜", "--team", "L1A"]
    refused([*roster, "leave", *one, "--staff", "M2"], env, 1, "错误：M2 不在 2026-10-01 下半夜巡逻队 L1A 的排班中")
    refused([*roster, "leave", *one, "--staff", "NOBODY"], env, 4, "错误：人员不存在：NOBODY")
    refused([*roster, "set", "--date", "2026-10-01", "--shift", "下半夜", "--team", "NEW"], env, 4,
            "巡逻队不存在：NEW（新建：gridgov patrol team add NEW --name 名称）")
    refused([*roster, "set", "--date", "2026-10-01", "--shift", "白班", "--team", "L1A"], env, 1,
            "班次应为上半夜或下半夜")
    refused([*roster, "remove", "--date", "2026-10-01", "--shift", "上半夜", "--team", "E2"], env, 4,
            "2026-10-01 上半夜没有巡逻队 E2 的排班")
    refused([*roster, "substitute", *one, "--staff", "V1", "--by", "M1"], env, 6, "已在本班次的排班中")
    refused([*roster, "list"], env, 2, "--month")
    refused([*roster, "export", "--month", "2026-10", "-o", "roster.csv"], env, 1, "排班表格式应为 .xlsx 或 .pdf")
    with session_scope(clean_engine) as s:
        token = create_token(s, Actor.system("tests"), "一社区", "community", "610103006001")[0]
    scoped = env | {"GRIDGOV_TOKEN": token}
    refused([*roster, "generate", "--month", "2026-11", "--grid", "610103006002"], scoped, 5, "超出权限范围")
    refused([*roster, "set", "--date", "2026-10-01", "--shift", "下半夜", "--team", "L2"], scoped, 5, "超出权限范围")
    assert cli_json([*roster, "generate", "--month", "2026-11", "--grid", "610103006001"], scoped)["created"] == 30
