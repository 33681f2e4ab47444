"""``gridgov household|person|building|staff``: add, edit, retire and hand over from the shell, with history kept in
PostGIS, ``--json`` output, and errors as Chinese messages with the exit codes of gridgov.cli.errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.history import day_of

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D, make_street

G1 = "610103006001001"
LON, LAT = str(X0 + D / 4), str(Y0 + D / 2)  # inside compound …001001


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street, and the CLI's environment (the local operator)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = run_cli([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def test_add_edit_retire_a_household_keeps_its_history(clean_engine: Engine, env: dict[str, str]) -> None:
    week_ago = (day_of(None) - dt.timedelta(days=7)).isoformat()
    made = cli_json(["household", "add", "--set", "code=H1", "--set", "户类型=常住户", "--set", "address=文艺北路 1 号",
                     "--lon", LON, "--lat", LAT, "--effective", week_ago], env)  # fmt: skip
    assert (made["code"], made["grid_code"], made["version"], made["kind"]) == ("H1", G1, 1, "常住户")
    person = cli_json(["person", "add", "-s", "code=P1", "-s", "household_code=H1", "-s", "姓名=张三", "-s",
                       "is_party_member=是", "-s", "member_type=退休", "-s", "tags=低保户;独居老人"], env)  # fmt: skip
    assert (person["name"], person["member_type"]) == ("张三", "离退休") and person["tags"] == ["低保户", "独居老人"]

    edited = cli_json(["household", "edit", "H1", "--set", "kind=出租", "--set", "address=文艺北路 2 号"], env)
    assert (edited["version"], edited["kind"], edited["address"]) == (2, "租房户", "文艺北路 2 号")
    stale = run_cli(["household", "edit", "H1", "--set", "address=旧", "--version", "1"], env)
    assert stale.returncode == 6 and "已被他人修改" in stale.stderr and "Traceback" not in stale.stderr
    shown = run_cli(["household", "show", "H1"], env)
    assert shown.returncode == 0 and "户类型：租房户" in shown.stdout and "在册人数：1" in shown.stdout
    history = run_cli(["household", "history", "H1"], env)
    assert history.returncode == 0, history.stderr
    assert "户类型：常住户 → 租房户" in history.stdout and "地址：文艺北路 1 号 → 文艺北路 2 号" in history.stdout

    retired = cli_json(["household", "retire", "H1", "--reason", "搬离"], env)
    assert retired["retired"] is True and retired["end_reason"] == "搬离" and retired["version"] == 3
    with clean_engine.connect() as conn:
        stored = conn.execute(text("SELECT address, kind, version, valid_to IS NOT NULL AS closed, end_reason, "
                                   "lineage_id IS NULL AS live FROM household WHERE code = 'H1' "
                                   "ORDER BY valid_from, lineage_id IS NULL, id")).all()  # fmt: skip
        person_end = conn.execute(text("SELECT end_reason FROM person WHERE code = 'P1' AND lineage_id IS NULL")
                                  ).scalar_one()  # fmt: skip
    assert [tuple(r) for r in stored] == [("文艺北路 1 号", "常住户", 1, True, None, False),
                                          ("文艺北路 2 号", "租房户", 2, True, None, False),
                                          ("文艺北路 2 号", "租房户", 3, True, "搬离", True)]  # fmt: skip
    assert person_end == "搬离"
    listed = cli_json(["household", "list"], env)
    assert listed == {"items": [], "total": 0}
    everything = cli_json(["household", "list", "--all"], env)
    assert [(x["code"], x["retired"]) for x in everything["items"]] == [("H1", True)]
    again = run_cli(["household", "retire", "H1", "--reason", "搬离"], env)
    assert again.returncode == 6 and "已于" in again.stderr


def test_refused_values_are_messages(clean_engine: Engine, env: dict[str, str]) -> None:
    no_place = run_cli(["household", "add", "--set", "code=H1", "--set", "kind=常住户"], env)
    assert no_place.returncode == 1 and "经纬度" in no_place.stderr and "Traceback" not in no_place.stderr
    unknown = run_cli(["building", "add", "--set", "code=B1", "--set", "colour=红", "--lon", LON, "--lat", LAT], env)
    assert unknown.returncode == 1 and "没有字段 colour" in unknown.stderr
    bad_pair = run_cli(["staff", "add", "--set", "name"], env)
    assert bad_pair.returncode == 2 and "字段=值" in bad_pair.stderr
    future = run_cli(["staff", "add", "--set", "code=S1", "--set", "name=李", "--effective", "2099-01-01"], env)
    assert future.returncode == 1 and "不能晚于今天" in future.stderr
    missing = run_cli(["person", "show", "P404"], env)
    assert missing.returncode == 4 and "人员不存在" in missing.stderr
    fields = cli_json(["person", "fields"], env)
    assert {"name": "name", "label": "姓名", "type": "text", "required": True, "terms": None} in fields
    with clean_engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM household) + (SELECT count(*) FROM building) "
                                   "+ (SELECT count(*) FROM staff)")).scalar_one()  # fmt: skip
    assert counts == 0


def test_staff_posts_and_a_hand_over(clean_engine: Engine, env: dict[str, str]) -> None:
    today = day_of(None)
    month_ago = (today - dt.timedelta(days=30)).isoformat()
    staff = cli_json(["staff", "add", "--set", "code=S1", "--set", "name=李旧", "--set", "phone=13900000002"], env)
    assert staff["code"] == "S1"
    post = cli_json(["staff", "assign", G1, "--role", "网格管理员", "--staff", "S1", "--since", month_ago], env)
    assert (post["role"], post["staff_name"], post["since"]) == ("网格员", "李旧", month_ago)
    head = cli_json(["staff", "assign", G1, "--role", "网格长", "--name", "张长", "--phone", "13900000001"], env)

    done = cli_json(["staff", "handover", G1, "--role", "网格员", "--to-name", "王新", "--to-phone", "13900000003"],
                    env)  # fmt: skip
    assert [r["staff_name"] for r in done["ended"]] == ["李旧"] and done["started"]["staff_name"] == "王新"
    assert done["ended"][0]["until"] == today.isoformat() and done["ended"][0]["end_reason"] == "交接"
    now = cli_json(["staff", "roles", G1], env)
    assert [(p["role"], p["staff_name"]) for p in now] == [("网格长", "张长"), ("网格员", "王新")]
    before = cli_json(["staff", "roles", G1, "--on", (today - dt.timedelta(days=1)).isoformat()], env)
    assert [(p["role"], p["staff_name"]) for p in before] == [("网格员", "李旧")]
    text_roles = run_cli(["staff", "roles", G1, "--all"], env)
    assert text_roles.returncode == 0 and "李旧" in text_roles.stdout and "（交接）" in text_roles.stdout

    ended = cli_json(["staff", "end", str(head["id"]), "--reason", "调离"], env)
    assert ended["until"] == today.isoformat() and ended["end_reason"] == "调离"
    shown = run_cli(["staff", "show", "S1"], env)
    assert shown.returncode == 0 and "姓名：李旧" in shown.stdout
    with clean_engine.connect() as conn:
        posts = conn.execute(text("SELECT s.name, r.role, r.until IS NULL FROM grid_role r JOIN staff s "
                                  "ON s.id = r.staff_id ORDER BY r.id")).all()  # fmt: skip
    assert [tuple(p) for p in posts] == [("李旧", "网格员", False), ("张长", "网格长", False), ("王新", "网格员", True)]
    twice = run_cli(["staff", "end", str(head["id"]), "--reason", "调离"], env)
    assert twice.returncode == 6 and "已于" in twice.stderr
