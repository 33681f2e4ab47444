"""``gridgov party team|activity|meeting|duty-area`` from the shell on the factory street: a team with members and
activities, a meeting with its minutes file, cancelled, and the schedule, a 责任区 from a GeoJSON file and its check;
errors as Chinese messages with the exit codes of gridgov.cli.errors, and a token scoped to another community
refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D, make_street
from tests.party.test_check import _members, _org
from tests.party.test_meetings import PDF

A = "610103006001001"


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street with branch BA on compound A (since 2020) and members W-P1, W-P2 there; the CLI's
    environment (the local operator)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        _members(s, "A", 2, prefix="W")
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        s.execute(text("UPDATE party_org SET valid_from = DATE '2020-01-01'"))
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = run_cli([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def test_teams_activities_and_meetings(env: dict[str, str], clean_engine: Engine, tmp_path: Path) -> None:
    team = cli_json(["party", "team", "add", "ZY1", "--name", "环境志愿队", "--kind", "环境", "--grid", A,
                     "--org", "BA", "--leader", "W-P1", "--date", "2026-01-01"], env)  # fmt: skip
    assert (team["kind"], team["leader_name"], team["version"]) == ("环境维护", "党员W-H1", 1)
    cli_json(["party", "team", "join", "ZY1", "--person", "W-P1", "--since", "2026-09-01"], env)
    cli_json(["party", "team", "join", "ZY1", "--person", "W-P2", "--since", "2026-09-01"], env)
    left = cli_json(["party", "team", "leave", "ZY1", "--person", "W-P2", "--date", "2026-10-10", "--reason", "搬离"],
                    env)  # fmt: skip
    assert (left["until"], left["end_reason"]) == ("2026-10-10", "搬离")
    cli_json(["party", "activity", "add", "ZY1", "--date", "2026-10-03", "--hours", "4", "--title", "清扫"], env)
    listed = cli_json(["party", "activity", "list", "--team", "ZY1", "--month", "2026-10"], env)
    assert [(a["day"], a["hours"], a["title"]) for a in listed] == [("2026-10-03", 4.0, "清扫")]
    shown = cli_json(["party", "team", "show", "ZY1", "--month", "2026-10"], env)
    assert [(m["person_code"]) for m in shown["member_list"]] == ["W-P1"]
    assert [(f["people"], f["longest"], f["size_ok"], f["activity_ok"]) for f in shown["month"]] == \
        [(1, 4.0, False, True)]
    text_out = run_cli(["party", "team", "show", "ZY1", "--month", "2026-10"], env).stdout
    assert "2026年10月：1 人（不足 15 人），活动 1 次共 4 小时，最长 4 小时（达标）" in text_out
    edited = cli_json(["party", "team", "edit", "ZY1", "--name", "楼道志愿队", "--version", "1"], env)
    assert (edited["name"], edited["version"]) == ("楼道志愿队", 2)
    stale = run_cli(["party", "team", "edit", "ZY1", "--name", "又改", "--version", "1"], env)
    assert stale.returncode == 6 and "已被他人修改" in stale.stderr
    bad = run_cli(["party", "team", "add", "ZY2", "--name", "队", "--kind", "跳舞", "--grid", A], env)
    assert bad.returncode == 1 and "志愿服务队类型：未知的取值 跳舞" in bad.stderr and "Traceback" not in bad.stderr

    (tmp_path / "纪要.pdf").write_bytes(PDF)
    held = cli_json(["party", "meeting", "add", "BA", "--kind", "支委会", "--date", "2026-10-15", "--topic", "学习",
                     "--attendees", "3", "--expected", "3", "--minutes", str(tmp_path / "纪要.pdf")], env)  # fmt: skip
    assert (held["kind"], held["minutes_name"], held["minutes_size"]) == ("支部委员会", "纪要.pdf", len(PDF))
    wrong = cli_json(["party", "meeting", "add", "BA", "--kind", "支部委员会", "--date", "2026-11-20"], env)
    cli_json(["party", "meeting", "cancel", str(wrong["id"]), "--reason", "录入错误"], env)
    meetings = cli_json(["party", "meeting", "list", "--org", "BA"], env)
    assert [(m["held_on"], m["cancelled"]) for m in meetings] == [("2026-11-20", True), ("2026-10-15", False)]
    due = {r["kind"]: r for r in cli_json(["party", "meeting", "schedule", "--org", "BA", "--as-of", "2026-11-16"],
                                          env)}  # fmt: skip
    assert (due["支部委员会"]["last_held"], due["支部委员会"]["due_by"], due["支部委员会"]["overdue"]) == \
        ("2026-10-15", "2026-11-15", True)
    listing = run_cli(["party", "meeting", "schedule", "--org", "BA", "--as-of", "2026-11-15"], env).stdout
    assert "支部委员会\t每 1 个月\t上次 2026-10-15\t最迟 2026-11-15\n" in listing and "超期 3 项" in listing
    retired = cli_json(["party", "team", "retire", "ZY1", "--reason", "合并"], env)
    assert retired["retired"] is True
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM volunteer_team_member WHERE until IS NULL")).scalar() == 0
        stored = conn.execute(text("SELECT minutes FROM party_meeting WHERE id = :i"), {"i": held["id"]}).scalar()
    assert bytes(stored) == PDF


def test_duty_areas_from_a_file_and_their_check(env: dict[str, str], clean_engine: Engine, tmp_path: Path) -> None:
    south = tmp_path / "south.geojson"
    south.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                     "geometry": mapping(box(X0, Y0, X0 + D / 2, Y0 + 0.6 * D))}]}), encoding="utf-8")  # fmt: skip
    north = tmp_path / "north.geojson"
    north.write_text(json.dumps(mapping(box(X0, Y0 + 0.5 * D, X0 + D / 2, Y0 + D))), encoding="utf-8")
    made = cli_json(["party", "duty-area", "add", "Z1", "--name", "南区", "--duty", "环境", "--file", str(south),
                     "--org", "BA", "--members", "W-P1,W-P2"], env)  # fmt: skip
    assert (made["duty"], made["member_codes"], made["compounds"]) == ("环境维护", ["W-P1", "W-P2"], [A])
    cli_json(["party", "duty-area", "add", "Z2", "--name", "北区", "--duty", "治安防范", "--file", str(north)], env)
    found = cli_json(["party", "duty-area", "check", "--parent", "610103006001"], env)
    assert [(f["rule"], f["codes"]) for f in found] == [("overlap", ["Z1", "Z2", A]), ("gap", ["610103006001002"])]
    out = run_cli(["party", "duty-area", "check", "--parent", A], env).stdout
    assert out.startswith(f"责任区重叠\t楼院 第一网格（{A}）内，责任区 Z1 与 Z2 重叠")
    not_member = run_cli(["party", "duty-area", "edit", "Z2", "--members", "NOBODY"], env)
    assert not_member.returncode == 1 and "人员不存在或已注销：NOBODY" in not_member.stderr
    edited = cli_json(["party", "duty-area", "edit", "Z2", "--members", "W-P2", "--version", "1"], env)
    assert (edited["member_codes"], edited["version"]) == (["W-P2"], 2)
    listed = cli_json(["party", "duty-area", "list", "--geometry"], env)
    assert [a["code"] for a in listed] == ["Z1", "Z2"] and listed[0]["geometry"]["type"] == "MultiPolygon"
    cli_json(["party", "duty-area", "retire", "Z1", "--reason", "调整"], env)
    assert [a["code"] for a in cli_json(["party", "duty-area", "list"], env)] == ["Z2"]

    # a token scoped to the other community: refused, nothing written
    with Session(clean_engine) as s, s.begin():
        token = create_token(s, Actor.system(), "二社区", "community", "610103006002")[0]
    scoped = env | {"GRIDGOV_TOKEN": token}
    east = tmp_path / "east.geojson"
    east.write_text(json.dumps(mapping(box(X0 + 1.1 * D, Y0, X0 + 1.3 * D, Y0 + 0.2 * D))), encoding="utf-8")
    for args in (["party", "duty-area", "add", "Z9", "--name", "西", "--duty", "其他", "--file", str(south)],
                 ["party", "duty-area", "retire", "Z2", "--reason", "调整"],
                 ["party", "meeting", "add", "BA", "--kind", "党课", "--date", "2026-11-01"],
                 ["party", "team", "add", "ZY9", "--name", "队", "--kind", "其他", "--grid", A]):
        r = run_cli(args, scoped)
        assert r.returncode == 5 and "超出权限范围" in r.stderr, (args, r.stderr)
    ok = cli_json(["party", "duty-area", "add", "ZE", "--name", "东", "--duty", "其他", "--file", str(east)], scoped)
    assert ok["compounds"] == ["610103006002001"]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT string_agg(code, ',' ORDER BY code) FROM party_duty_area "
                                 "WHERE lineage_id IS NULL")).scalar() == "Z1,Z2,ZE"  # fmt: skip
        assert conn.execute(text("SELECT count(*) FROM party_meeting")).scalar() == 0
