"""Living records over HTTP: create, read with an ETag, change with If-Match (stale → 412, missing → 428), retire
(the row stays, the ledger drops it), the scope rule per role, and dated staff posts with a hand-over.

The factory street (tests.factories): community …001 (compounds …001001 west, …001002) and …002 (…002001 east).
Tokens: admin; editor1 = community …001 (tests/api/conftest); here also comm2 (community …002), grid1 (compound
…001001) and a viewer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.auth.users import add_user
from gridgov.db.engine import session_scope
from gridgov.history import day_of
from gridgov.ledger.report import build_ledger

from tests.factories import X0, Y0, D
from tests.web.conftest import PASSWORD, login

G1, G2, EAST = "610103006001001", "610103006001002", "610103006002001"
IN_G1 = {"lon": X0 + D / 4, "lat": Y0 + D / 2}
IN_G2 = {"lon": X0 + 0.75 * D, "lat": Y0 + D / 2}
IN_EAST = {"lon": X0 + 1.5 * D, "lat": Y0 + D / 2}
OP = Actor.system("tests")


@pytest.fixture
def who(tokens: dict[str, dict[str, str]], clean_engine: Engine) -> dict[str, dict[str, str]]:
    """Auth headers per actor: admin, editor1 (…001), comm2 (…002), grid1 (…001001), viewer."""
    extra = {"comm2": ("community", "610103006002"), "grid1": ("grid", G1), "viewer": ("viewer", None)}
    with session_scope(clean_engine) as s:
        plain = {name: create_token(s, OP, name, role, scope)[0] for name, (role, scope) in extra.items()}
    return tokens | {name: {"Authorization": f"Bearer {p}"} for name, p in plain.items()}


def household(client: TestClient, headers: dict[str, str], code: str, at: dict[str, float], **fields: Any) -> Any:
    """POST a household; the response."""
    body = {"code": code, "kind": "常住户", "address": f"{code} 号", **at, **fields}
    return client.post("/api/households", json=body, headers=headers)


def rows(engine: Engine, table: str, code: str) -> list[Any]:
    """Every row (history and live) of a record, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            f"SELECT * FROM {table} WHERE code = :c ORDER BY valid_from, lineage_id IS NULL, id"), {"c": code}
        ).mappings())  # fmt: skip


def ledger(engine: Engine, code: str) -> tuple[int, int]:
    """(households, persons) of a grid in today's ledger."""
    with session_scope(engine) as s:
        row = next(r for r in build_ledger(s, with_patrol=False).rows if r.code == code)
    return row.households, row.persons


def test_create_read_change_with_etag_and_history(client: TestClient, who: dict, clean_engine: Engine) -> None:
    h = who["editor1"]
    made = household(client, h, "H1", IN_G1)
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == '"1"' and made.headers["location"] == "/api/households/H1"
    assert made.json()["grid_code"] == G1 and made.json()["kind"] == "常住户" and made.json()["version"] == 1

    got = client.get("/api/households/H1", headers=h)
    assert got.status_code == 200 and got.json()["address"] == "H1 号" and got.json()["retired"] is False
    etag = got.headers["etag"]
    changed = client.patch("/api/households/H1", json={"address": "文艺北路 1 号", "kind": "出租"},
                           headers={**h, "If-Match": etag})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"' and changed.json()["kind"] == "租房户"  # the synonym's term

    stored = rows(clean_engine, "household", "H1")
    assert [(r["address"], r["kind"], r["version"]) for r in stored] == [("H1 号", "常住户", 1),
                                                                         ("文艺北路 1 号", "租房户", 2)]  # fmt: skip
    assert stored[0]["lineage_id"] == stored[1]["id"] and stored[0]["valid_to"] is not None
    assert stored[1]["lineage_id"] is None and stored[1]["valid_to"] is None
    history = client.get("/api/households/H1/history", headers=h).json()
    assert [(v["version"], v["address"]) for v in history] == [(1, "H1 号"), (2, "文艺北路 1 号")]

    stale = client.patch("/api/households/H1", json={"address": "旧页面"}, headers={**h, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"] == "StaleVersion", stale.text
    assert "已被他人修改" in stale.json()["detail"] and stale.json()["details"] == {"current_version": 2}
    missing = client.patch("/api/households/H1", json={"address": "无版本"}, headers=h)
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"], missing.text
    garbled = client.patch("/api/households/H1", json={"address": "乱码"}, headers={**h, "If-Match": "abc"})
    assert garbled.status_code == 422 and "ETag" in garbled.json()["detail"]
    unknown = client.patch("/api/households/H1", json={"owner": "某"}, headers={**h, "If-Match": '"2"'})
    assert unknown.status_code == 422 and unknown.json()["error"] == "InvalidInput"
    assert rows(clean_engine, "household", "H1") == stored  # nothing written by the refused changes

    moved = client.patch("/api/households/H1", json=IN_G2, headers={**h, "If-Match": 'W/"2"'})
    assert moved.status_code == 200 and moved.json()["grid_code"] == G2 and moved.json()["version"] == 3
    assert client.get("/api/villages", headers=h).status_code == 404
    assert "不存在" in client.get("/api/households/H404", headers=h).json()["detail"]


def test_retiring_keeps_the_row_and_the_ledger_drops_it(client: TestClient, who: dict, clean_engine: Engine) -> None:
    h = who["editor1"]
    today = day_of(None)
    assert household(client, h, "H1", IN_G1, effective=(today - dt.timedelta(days=10)).isoformat()).status_code == 201
    for code, name in (("P1", "张三"), ("P2", "李四")):
        r = client.post("/api/persons", json={"code": code, "household_code": "H1", "name": name, "sex": "男",
                                              "phone": "13800000001", "tags": ["低保"]}, headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
    assert ledger(clean_engine, G1) == (1, 2)
    found = client.get("/api/households", params={"q": "李四"}, headers=h).json()
    assert [x["code"] for x in found["items"]] == ["H1"] and found["total"] == 1 and found["items"][0]["residents"] == 2

    assert client.delete("/api/households/H1?reason=搬离", headers=h).status_code == 428
    no_reason = client.delete("/api/households/H1", headers={**h, "If-Match": '"1"'})
    assert no_reason.status_code == 422 and "注销原因" in no_reason.json()["detail"]
    gone = client.delete("/api/households/H1", params={"reason": "搬离"}, headers={**h, "If-Match": '"1"'})
    assert gone.status_code == 200, gone.text
    assert gone.json()["retired"] is True and gone.json()["end_reason"] == "搬离" and gone.headers["etag"] == '"2"'

    last, row = rows(clean_engine, "household", "H1")  # the last state kept as history, then the retirement
    assert row["valid_to"] is not None and row["end_reason"] == "搬离" and row["lineage_id"] is None
    assert last["lineage_id"] == row["id"] and last["end_reason"] is None and last["valid_to"] == row["valid_to"]
    assert [r["end_reason"] for r in rows(clean_engine, "person", "P1")] == [None, "搬离"]
    assert ledger(clean_engine, G1) == (0, 0)
    assert client.get("/api/households", headers=h).json()["total"] == 0
    listed = client.get("/api/households", params={"include_retired": "true"}, headers=h).json()
    assert [(x["code"], x["retired"]) for x in listed["items"]] == [("H1", True)]
    again = client.patch("/api/households/H1", json={"address": "x"}, headers={**h, "If-Match": '"2"'})
    assert again.status_code == 409 and "已于" in again.json()["detail"]


def test_a_retirement_in_the_body_takes_its_date(client: TestClient, who: dict, clean_engine: Engine) -> None:
    h = who["admin"]
    today = day_of(None)
    assert household(client, h, "H1", IN_G1).status_code == 201
    r = client.post("/api/persons", json={"code": "P1", "household_code": "H1", "name": "王五",
                                          "effective": (today - dt.timedelta(days=10)).isoformat()}, headers=h)
    assert r.status_code == 201, r.text
    ended = today - dt.timedelta(days=3)
    gone = client.request("DELETE", "/api/persons/P1", json={"reason": "死亡", "effective": ended.isoformat()},
                          headers={**h, "If-Match": r.headers["etag"]})  # fmt: skip
    assert gone.status_code == 200, gone.text
    _, row = rows(clean_engine, "person", "P1")
    assert row["end_reason"] == "死亡" and day_of(row["valid_to"]) == ended
    future = client.post("/api/persons", json={"code": "P2", "household_code": "H1", "name": "赵六",
                                               "effective": (today + dt.timedelta(days=1)).isoformat()}, headers=h)
    assert future.status_code == 422 and "不能晚于今天" in future.json()["detail"]
    bad_day = client.post("/api/persons", json={"code": "P2", "household_code": "H1", "name": "赵六",
                                                "effective": "2025-02-30"}, headers=h)  # fmt: skip
    assert bad_day.status_code == 422 and "日期不存在" in bad_day.json()["detail"]
    assert rows(clean_engine, "person", "P2") == []


def test_writes_outside_the_scope_are_403(client: TestClient, who: dict, clean_engine: Engine) -> None:
    assert household(client, who["editor1"], "H1", IN_G1).status_code == 201
    assert household(client, who["editor1"], "H2", IN_G2).status_code == 201
    before = rows(clean_engine, "household", "H1")

    v1 = {"If-Match": '"1"'}
    other = client.patch("/api/households/H1", json={"address": "二社区改"}, headers={**who["comm2"], **v1})
    assert other.status_code == 403 and other.json()["detail"].startswith("超出权限范围"), other.text
    assert household(client, who["comm2"], "H3", IN_G1).status_code == 403
    retire = client.delete("/api/households/H1?reason=搬离", headers={**who["comm2"], **v1})
    assert retire.status_code == 403
    assert rows(clean_engine, "household", "H1") == before and rows(clean_engine, "household", "H3") == []

    outside = client.patch("/api/households/H2", json={"address": "网格员改"}, headers={**who["grid1"], **v1})
    assert outside.status_code == 403 and outside.json()["error"] == "Forbidden"
    moved_out = client.patch("/api/households/H1", json=IN_G2, headers={**who["grid1"], **v1})
    assert moved_out.status_code == 403
    own = client.patch("/api/households/H1", json={"address": "网格员改"}, headers={**who["grid1"], **v1})
    assert own.status_code == 200, own.text
    assert [r["address"] for r in rows(clean_engine, "household", "H2")] == ["H2 号"]
    assert rows(clean_engine, "household", "H1")[-1]["updated_by"] == "token:grid1"

    viewer = client.post("/api/buildings", json={"code": "B1", **IN_G1}, headers=who["viewer"])
    assert viewer.status_code == 403 and viewer.json()["detail"].startswith("权限不足")
    assert client.post("/api/buildings", json={"code": "B1", **IN_G1}).status_code == 401


def test_residents_need_personal_rights(client: TestClient, who: dict, clean_engine: Engine) -> None:
    assert household(client, who["admin"], "H1", IN_G1).status_code == 201
    assert household(client, who["admin"], "H9", IN_EAST).status_code == 201
    for code, home in (("P1", "H1"), ("P9", "H9")):
        r = client.post("/api/persons", json={"code": code, "household_code": home, "name": f"居民{code}",
                                              "id_number": "11010519491231002X"}, headers=who["admin"])  # fmt: skip
        assert r.status_code == 201, r.text

    refused = client.get("/api/persons", headers=who["viewer"])
    assert refused.status_code == 403 and "查看个人信息" in refused.json()["detail"]
    assert client.get("/api/persons/P1", headers=who["viewer"]).status_code == 403
    assert client.get("/api/persons").status_code == 401
    mine = client.get("/api/persons", headers=who["editor1"]).json()
    assert [(p["code"], p["household_code"], p["id_number"]) for p in mine["items"]] == [
        ("P1", "H1", "11010519491231002X")]  # fmt: skip
    assert client.get("/api/persons", params={"grid": EAST}, headers=who["editor1"]).status_code == 403
    assert client.get("/api/persons/P9", headers=who["editor1"]).status_code == 403
    members = client.get("/api/persons", params={"household": "H1"}, headers=who["admin"]).json()
    assert [p["name"] for p in members["items"]] == ["居民P1"]
    with clean_engine.connect() as conn:
        views = conn.execute(text("SELECT actor, new ->> 'rows' FROM audit_log WHERE action = 'view' "
                                  "AND table_name = 'person' ORDER BY id")).all()  # fmt: skip
    assert [tuple(v) for v in views] == [("token:一社区", "1"), ("token:管理员", "1")]  # the list, then H1's members
    assert client.get("/api/buildings", headers=who["viewer"]).status_code == 200


def test_staff_records_and_buildings(client: TestClient, who: dict, clean_engine: Engine) -> None:
    h = who["admin"]
    staff = client.post("/api/staff", json={"code": "S1", "name": "李明", "phone": "13900000001"}, headers=h)
    assert staff.status_code == 201 and staff.json()["kind"] == "staff", staff.text
    bad = client.post("/api/staff", json={"code": "S2", "name": "王", "phone": "电话"}, headers=h)
    assert bad.status_code == 422 and "电话号码格式错误" in bad.json()["detail"]
    assert client.post("/api/staff", json={"code": "S1", "name": "重复"}, headers=h).status_code == 409
    nul = client.post("/api/staff", json={"code": "S\u00003", "name": "空"}, headers=h)
    assert nul.status_code == 422 and "空字符" in nul.json()["detail"]
    square = {"type": "Polygon", "coordinates": [[[X0 + 0.001, Y0 + 0.001], [X0 + 0.002, Y0 + 0.001],
                                                 [X0 + 0.002, Y0 + 0.002], [X0 + 0.001, Y0 + 0.002],
                                                 [X0 + 0.001, Y0 + 0.001]]]}  # fmt: skip
    b = client.post("/api/buildings", json={"code": "B1", "name": "1 号楼", "floors": 6, "geometry": square}, headers=h)
    assert b.status_code == 201 and b.json()["grid_code"] == G1 and b.json()["geometry"]["type"] == "Polygon", b.text
    inside = client.post("/api/households", json={"code": "H1", "kind": "常住户", "building_code": "B1"}, headers=h)
    assert inside.status_code == 201 and inside.json()["building_code"] == "B1"
    busy = client.delete("/api/buildings/B1?reason=拆迁", headers={**h, "If-Match": '"1"'})
    assert busy.status_code == 409 and "还有 1 户" in busy.json()["detail"]
    assert [r["valid_to"] for r in rows(clean_engine, "building", "B1")] == [None]


def test_a_hand_over_changes_the_staff_from_its_day(client: TestClient, who: dict, clean_engine: Engine) -> None:
    h = who["editor1"]
    today = day_of(None)
    yesterday = today - dt.timedelta(days=1)
    first = client.post(f"/api/grids/{G1}/staff", json={"role": "网格员", "name": "李旧", "phone": "13900000002",
                                                       "since": (today - dt.timedelta(days=30)).isoformat()},
                        headers=h)  # fmt: skip
    assert first.status_code == 201 and first.json()["staff_name"] == "李旧", first.text
    head = client.post(f"/api/grids/{G1}/staff", json={"role": "网格长", "name": "张长", "phone": "13900000001"},
                       headers=h)  # fmt: skip
    assert head.status_code == 201

    def on(day: dt.date | None) -> list[tuple[str, str]]:
        params = {"on": day.isoformat()} if day else {}
        r = client.get(f"/api/grids/{G1}/staff", params=params, headers=who["viewer"])
        assert r.status_code == 200, r.text
        return [(p["role"], p["staff_name"]) for p in r.json()]

    assert on(None) == [("网格长", "张长"), ("网格员", "李旧")]
    done = client.post(f"/api/grids/{G1}/handover", json={"role": "网格管理员", "to_name": "王新",
                                                          "to_phone": "13900000003"}, headers=h)  # fmt: skip
    assert done.status_code == 200, done.text
    assert [r["staff_name"] for r in done.json()["ended"]] == ["李旧"]
    assert done.json()["started"]["staff_name"] == "王新"
    assert on(None) == [("网格长", "张长"), ("网格员", "王新")]
    assert on(yesterday) == [("网格员", "李旧")]  # 张长 began today
    with clean_engine.connect() as conn:
        posts = conn.execute(text("SELECT s.name, r.since, r.until, r.end_reason FROM grid_role r "
                                  "JOIN staff s ON s.id = r.staff_id WHERE r.role = '网格员' ORDER BY r.since")).all()
    assert [tuple(p) for p in posts] == [("李旧", today - dt.timedelta(days=30), today, "交接"),
                                         ("王新", today, None, None)]  # fmt: skip

    everything = client.get(f"/api/grids/{G1}/staff", params={"all": "true"}, headers=h).json()
    assert sorted(p["staff_name"] for p in everything) == ["张长", "李旧", "王新"]
    ended = client.post(f"/api/grid-roles/{head.json()['id']}/end", json={"reason": "调离"}, headers=h)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["until"], ended.json()["end_reason"]) == (today.isoformat(), "调离")
    assert on(None) == [("网格员", "王新")]
    twice = client.post(f"/api/grid-roles/{head.json()['id']}/end", json={"reason": "调离"}, headers=h)
    assert twice.status_code == 409
    foreign = client.post(f"/api/grids/{EAST}/handover", headers=h,
                          json={"role": "网格员", "to_name": "某", "to_phone": "13900000009"})  # fmt: skip
    assert foreign.status_code == 403
    unknown = client.post(f"/api/grids/{G1}/staff", json={"role": "总经理", "name": "某"}, headers=h)
    assert unknown.status_code == 422 and "未知的岗位" in unknown.json()["detail"]


def test_a_browser_session_changes_a_record_with_the_csrf_header(
    client: TestClient, who: dict, clean_engine: Engine
) -> None:
    with session_scope(clean_engine) as s:
        add_user(s, OP, "comm1", PASSWORD, "community", "610103006001")
    assert household(client, who["admin"], "H1", IN_G1).status_code == 201
    browser = TestClient(client.app, follow_redirects=False)
    login(browser, "comm1")
    json_ = {"Accept": "application/json", "If-Match": '"1"'}
    refused = browser.patch("/api/households/H1", json={"address": "会话改"}, headers=json_)
    assert refused.status_code == 403 and "x-csrftoken" in refused.json()["detail"]
    token = browser.cookies.get("csrftoken") or ""
    ok = browser.patch("/api/households/H1", json={"address": "会话改"}, headers={**json_, "x-csrftoken": token})
    assert ok.status_code == 200, ok.text
    live = rows(clean_engine, "household", "H1")[-1]
    assert (live["address"], live["updated_by"], live["version"]) == ("会话改", "user:comm1", 2)
