"""``/api/patrol/roster…`` and ``/api/patrol/notice…`` on the hand-made rota street (tests/patrol/test_rosters.py):
reads, generation, an entry set and removed by hand, leave and substitution, the notice list and the files, the
refusals (Chinese messages with their status codes) and the scope rule; last, writes inside the scope on the street
of tests/api/test_scope.py (whose OUT_OF_SCOPE holds these routes' refusals)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope

from tests.patrol.test_rosters import build_rota_street

OP = Actor.system("tests")
Headers = dict[str, str]
ENTRY = "/api/patrol/roster/2026-10-02/上半夜/E1"


@pytest.fixture
def who(client: TestClient, clean_engine: Engine) -> dict[str, Headers]:
    """The rota street, and auth headers: an administrator, a community worker and a patrol leader of …001, and a
    viewer."""
    with session_scope(clean_engine) as s:
        build_rota_street(s)
        made = {name: create_token(s, OP, name, role, scope)[0] for name, role, scope in (
            ("admin", "admin", None), ("comm1", "community", "610103006001"), ("patrol1", "patrol", "610103006001"),
            ("viewer", "viewer", None))}  # fmt: skip
    return {name: {"Authorization": f"Bearer {t}"} for name, t in made.items()}


def ok(r: Any, status: int = 200) -> Any:
    """The response's JSON, asserting the status."""
    assert r.status_code == status, r.text
    return r.json()


def test_reads_writes_and_files(client: TestClient, who: dict[str, Headers], tmp_path: Path) -> None:
    admin = who["admin"]
    made = ok(client.post("/api/patrol/roster/generate", headers=admin, json={"month": "2026-10"}))
    assert made == {"month": "2026-10", "grid": None, "created": 93, "replaced": 0, "kept": 0, "planned": 93,
                    "message": "已按规则生成2026年10月排班 93 条（替换原规则排班 0 条）"}  # fmt: skip
    month = ok(client.get("/api/patrol/roster", params={"month": "2026-10"}, headers=who["viewer"]))
    assert (month["title"], len(month["entries"])) == ("文艺路街道2026年10月夜间巡逻排班表", 93)
    first = month["entries"][0]
    assert {k: first[k] for k in ("night", "weekday", "shift", "hours", "team_code", "unit", "area_code",
                                  "lead_grid_code", "source", "crew")} == {
        "night": "2026-10-01", "weekday": "星期四", "shift": "上半夜", "hours": "20:00–23:30", "team_code": "E1",
        "unit": "区政府办公室", "area_code": "A-E1", "lead_grid_code": None, "source": "规则", "crew": None}
    assert first["leader"] == first["duty_cadre"] == {"code": "SE1", "name": "钱一", "phone": "13900000001"}
    assert [p["name"] for p in first["on_duty"]] == ["钱一", "赵街道"]

    left = ok(client.post(f"{ENTRY}/leave", headers=admin, json={"staff": "EM1", "note": "年假"}))
    assert [c["text"] for c in left["changes"]] == ["周队员请假（年假）"]
    sub = ok(client.post("/api/patrol/roster/2026-10-02/下半夜/L2/substitute", headers=admin,
                         json={"staff": "V2", "substitute": "X"}))  # fmt: skip
    assert [(p["name"], p["status"], p["replaces"]) for p in sub["crew"]] == [
        ("沈二", "已替班", None), ("韩替", "替班", {"code": "V2", "name": "沈二", "phone": "13900000013"})]
    put = ok(client.put("/api/patrol/roster/2026-10-06/上半夜/E3", headers=admin, json={"note": "与E2对调"}))
    assert (put["source"], put["note"], put["leader"]["code"], put["duty_cadre"]["code"]) == ("手工", "与E2对调", "SE3",
                                                                                             "SE3")  # fmt: skip
    cleared = ok(client.put("/api/patrol/roster/2026-10-06/上半夜/E3", headers=admin,
                            json={"duty_cadre": "", "community_staff": "C2"}))  # fmt: skip
    assert (cleared["duty_cadre"], cleared["community_staff"]["code"], cleared["note"]) == (None, "C2", "与E2对调")
    gone = ok(client.delete("/api/patrol/roster/2026-10-06/上半夜/E3", headers=admin))
    assert gone["team_code"] == "E3"
    night = ok(client.get("/api/patrol/roster/night", params={"date": "2026-10-02"}, headers=who["viewer"]))
    assert [(e["shift"], e["team_code"], [p["name"] for p in e["crew"]]) for e in night["entries"]] == [
        ("上半夜", "E1", ["钱一", "周队员"]), ("下半夜", "L1B", []), ("下半夜", "L2", ["沈二", "韩替"])]

    notice = ok(client.get("/api/patrol/notice", params={"date": "2026-10-02"}, headers=who["viewer"]))
    assert (notice["title"], notice["people"]) == ("文艺路街道2026年10月2日（星期五）夜间巡逻通知名单", 6)
    assert [(u["unit"], [(t["team_code"], [p["name"] for p in t["to_call"]], [p["name"] for p in t["away"]])
                         for t in u["teams"]]) for u in notice["units"]] == [
        ("区政府办公室", [("E1", ["钱一"], ["周队员"])]), ("文艺北路一社区", [("L1B", [], [])]),
        ("文艺北路二社区", [("L2", ["韩替"], ["沈二"])])]  # fmt: skip
    assert [(p["name"], p["duty"]) for p in notice["on_duty"]] == [("孙二", "值班领导"), ("郑社长", "社区值班"),
                                                                  ("冯社区", "社区值班"), ("赵街道", "社区值班")]
    sheet = client.get("/api/patrol/notice/file", params={"date": "2026-10-02"}, headers=who["viewer"])
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert sheet.headers["content-disposition"].endswith("%E5%90%8D%E5%8D%95.xlsx")  # …名单.xlsx
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    assert ws is not None and (ws["C4"].value, ws["G4"].value) == ("第一干部巡逻队", "钱一")

    xlsx = client.get("/api/patrol/roster/file", params={"month": "2026-10"}, headers=who["viewer"])
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws.max_row == 3 + 93 and ws["E4"].value == "第一干部巡逻队"
    pdf = client.get("/api/patrol/roster/file", params={"month": "2026-10", "format": "pdf"}, headers=who["viewer"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    info = subprocess.run(["pdfinfo", str(tmp_path / "r.pdf")], check=True, capture_output=True, text=True).stdout
    assert "Pages:           5" in info


def test_refusals(client: TestClient, who: dict[str, Headers], clean_engine: Engine) -> None:
    admin = who["admin"]
    ok(client.post("/api/patrol/roster/generate", headers=admin, json={"month": "2026-10"}))
    cases: list[tuple[Callable[[], Any], int, str]] = [
        (lambda: client.get("/api/patrol/roster", params={"month": "2026-13"}, headers=admin), 422,
         "月份格式应为 YYYY-MM"),
        (lambda: client.put("/api/patrol/roster/2026-02-30/上半夜/E1", headers=admin, json={}), 422, "日期不存在"),
        (lambda: client.put("/api/patrol/roster/2026-10-01/白天/E1", headers=admin, json={}), 422,
         "班次应为上半夜或下半夜"),
        (lambda: client.put("/api/patrol/roster/2026-10-01/上半夜/NEW", headers=admin, json={}), 404,
         "巡逻队不存在：NEW（新建：gridgov patrol team add NEW --name 名称）"),
        (lambda: client.put(ENTRY, headers=admin, json={"leader": "NOBODY"}), 404, "人员不存在：NOBODY"),
        (lambda: client.put(ENTRY, headers=admin, json={"colour": "红"}), 422, ""),
        (lambda: client.post(f"{ENTRY}/leave", headers=admin, json={"staff": "M1"}), 422,
         "M1 不在 2026-10-02 上半夜巡逻队 E1 的排班中"),
        (lambda: client.post(f"{ENTRY}/substitute", headers=admin, json={"staff": "SE1", "substitute": "EM1"}), 409,
         "周队员（EM1）已在本班次的排班中，不能再替班"),
        (lambda: client.delete("/api/patrol/roster/2026-10-02/上半夜/E2", headers=admin), 404,
         "2026-10-02 上半夜没有巡逻队 E2 的排班"),
        (lambda: client.post("/api/patrol/roster/generate", headers=who["viewer"], json={"month": "2026-10"}), 403,
         "权限不足"),
        (lambda: client.put(ENTRY, headers=who["patrol1"], json={}), 403, "超出权限范围"),
        (lambda: client.post("/api/patrol/roster/generate", headers=who["comm1"], json={"month": "2026-10"}), 403,
         "超出权限范围"),
        (lambda: client.get("/api/patrol/roster", params={"month": "2026-10"}), 401, "需要登录"),
    ]
    for send, status, message in cases:
        r = send()
        assert r.status_code == status and message in r.json()["detail"], r.text
    assert ok(client.post("/api/patrol/roster/generate", headers=who["patrol1"],
                          json={"month": "2026-11", "grid": "610103006001"}))["created"] == 30  # fmt: skip
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roster_change")).scalar_one() == 0


# The out-of-scope writes of these routes are cases of tests/api/test_scope.py's OUT_OF_SCOPE, on its street; the
# same writes inside the editor's community (…001) go through, on the part of that street they touch.


def test_the_same_writes_inside_the_scope_go_through(client: TestClient,
                                                     patrol_street: dict[str, Headers]) -> None:  # fmt: skip
    h = patrol_street["editor1"]
    ok(client.put("/api/patrol/roster/2026-10-01/下半夜/TW", headers=h, json={"note": "本社区"}))
    refused = client.post("/api/patrol/roster/2026-10-01/下半夜/TW/leave", headers=h, json={"staff": "SE"})
    assert refused.status_code == 422  # in scope; SE is simply not on TW's shift
    assert ok(client.delete("/api/patrol/roster/2026-10-01/下半夜/TW", headers=h))["note"] == "本社区"
