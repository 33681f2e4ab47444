"""``gridgov incident report|accept|…|show|list|sweep`` from the shell on the factory street: a case with a photo
worked to closure, printed as JSON and read back with its timeline; refusals as Chinese messages with the exit codes
of gridgov.cli.errors, changing nothing."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.cli import incident_cases
from gridgov.incidents import cases

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, make_street

LON, LAT = X0 + 0.002, Y0 + 0.005  # in compound 610103006001001
LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street with 网格员 S1 on compound …001001, and the CLI's environment (the local operator)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001')"))
        s.execute(text("INSERT INTO grid_role (grid_id, staff_id, role, since) SELECT g.id, st.id, '网格员', "
                       "DATE '2020-01-01' FROM grid g, staff st WHERE g.code = '610103006001001' "
                       "AND g.valid_to IS NULL AND st.code = 'S1'"))  # fmt: skip
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = run_cli([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def state(engine: Engine) -> tuple[Any, ...]:
    """Every case's status and version, the timeline's length and the photos."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT string_agg(code || ':' || status || ':' || version, ',') FROM incident), "
            "(SELECT count(*) FROM incident_event), (SELECT count(*) FROM incident_photo)")).one())  # fmt: skip


def test_a_case_from_report_to_close(env: dict[str, str], clean_engine: Engine, tmp_path: Path) -> None:
    photo = tmp_path / "现场.png"
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(out, "PNG")
    photo.write_bytes(out.getvalue())
    made = cli_json(["incident", "report", "--lon", str(LON), "--lat", str(LAT), "--category", "市容环境/暴露垃圾",
                     "--description", "楼下垃圾桶满溢", "--urgency", "紧急", "--reporter-name", "张三",
                     "--photo", str(photo)], env)  # fmt: skip
    code = made["code"]
    assert re.fullmatch(r"E\d{12}", code) and isinstance(made["id"], int)
    assert (made["grid_code"], made["status"], made["level"], made["waiting"], made["version"]) == (
        "610103006001001", "上报", "网格", "受理", 1)  # fmt: skip
    assert LOCAL.match(made["deadline"]) and made["reporter_name"] == "张三" and len(made["photos"]) == 1

    plain = run_cli(["incident", "accept", code], env)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().startswith(f"事件 {code} 已「受理立案」：现为「立案」（网格层级），派遣时限 ")
    dispatched = cli_json(["incident", "dispatch", str(made["id"]), "--version", "2"], env)
    assert (dispatched["status"], dispatched["assignee_code"], dispatched["version"]) == ("派遣", "S1", 3)
    handled = cli_json(["incident", "handle", code, "--note", "已清运", "--photo", str(photo)], env)
    assert handled["status"] == "处置" and [p["action"] for p in handled["photos"]] == ["上报", "处置"]
    reworked = cli_json(["incident", "verify", code, "--fail", "--note", "仍有垃圾"], env)
    assert reworked["status"] == "派遣" and reworked["timeline"][-1]["action"] == "返工"
    cli_json(["incident", "handle", code, "--note", "已彻底清运"], env)
    cli_json(["incident", "verify", code], env)
    closed = cli_json(["incident", "close", code], env)
    assert closed["status"] == "结案" and LOCAL.match(closed["closed_at"]) and closed["actions"] == ["reopen", "visit"]

    shown = cli_json(["incident", "show", code], env)
    assert [s["action"] for s in shown["timeline"]] == ["上报", "立案", "派遣", "处置", "返工", "处置", "核查通过",
                                                        "结案"]  # fmt: skip
    assert shown["timeline"][3]["note"] == "已清运" and shown["timeline"][2]["staff_code"] == "S1"
    text_ = run_cli(["incident", "show", code], env)
    assert text_.returncode == 0 and "时间线：" in text_.stdout and "已彻底清运" in text_.stdout
    assert "描述：楼下垃圾桶满溢" in text_.stdout and "照片：2 张" in text_.stdout

    listed = cli_json(["incident", "list", "--status", "结案"], env)
    assert listed["total"] == 1 and [r["code"] for r in listed["items"]] == [code]
    assert cli_json(["incident", "list", "--open"], env)["total"] == 0
    table = run_cli(["incident", "list"], env)
    assert table.returncode == 0 and code in table.stdout and "共 1 件" in table.stdout

    before = state(clean_engine)
    again = run_cli(["incident", "close", code], env)
    assert again.returncode == 6 and "当前为「结案」" in again.stderr and "不能「结案」" in again.stderr
    stale = run_cli(["incident", "visit", code, "--note", "回访满意", "--version", "3"], env)
    assert stale.returncode == 6 and "已被他人处理" in stale.stderr
    no_note = run_cli(["incident", "reopen", code], env)
    assert no_note.returncode == 1 and "请填写说明" in no_note.stderr
    wrong = run_cli(["incident", "accept", code, "--to", "S1"], env)
    assert wrong.returncode == 2 and "不使用 --to" in wrong.stderr
    missing = run_cli(["incident", "show", "E000"], env)
    assert missing.returncode == 4 and "事件不存在" in missing.stderr
    far = run_cli(["incident", "report", "--lon", str(X0 + 3), "--lat", str(LAT), "--category", "市容环境",
                   "--description", "远处"], env)  # fmt: skip
    assert far.returncode == 1 and "事件位置不可信" in far.stderr and "Traceback" not in far.stderr
    assert state(clean_engine) == before

    swept = run_cli(["incident", "sweep"], env)
    assert swept.returncode == 0 and swept.stdout.strip() == "没有需要超期上报的事件"


def test_the_cli_keeps_the_inbox_names_of_the_service() -> None:
    """The CLI names the inbox boxes without importing the service (start time): the same names."""
    assert incident_cases.BOXES == cases.BOXES
