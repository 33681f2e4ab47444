"""/api/admin: the working-day calendar, time limits and dispatch rules over HTTP. Every logged-in caller reads
them; only administrators change them (403 otherwise, and nothing changes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

Headers = dict[str, str]
LIST_2027 = "日期,至,类型,名称\n2027-01-01,2027-01-03,休,元旦\n2027-02-06,2027-02-14,休,春节\n2027-02-20,,班,春节\n"


def table(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def settings_rows(engine: Engine) -> tuple[list[Any], ...]:
    """Every row the settings routes write."""
    return (table(engine, "SELECT day, kind, name FROM work_calendar ORDER BY day"),
            table(engine, "SELECT category, step, urgency, working_days FROM incident_time_limit ORDER BY 1, 2, 3"),
            table(engine, "SELECT category, staff_role FROM incident_dispatch_rule ORDER BY 1"))  # fmt: skip


def test_the_calendar_over_http(client: TestClient, tokens: dict[str, Headers], clean_engine: Engine) -> None:
    admin, editor = tokens["admin"], tokens["editor1"]
    year = client.get("/api/admin/calendar?year=2026", headers=editor)
    assert year.status_code == 200, year.text
    body = year.json()
    assert (body["year"], body["holidays"], body["makeup_days"], body["entered"]) == (2026, 33, 6, True)
    assert body["days"][0] == {"day": "2026-01-01", "weekday": "四", "kind": "休", "name": "元旦"}
    assert client.get("/api/admin/calendar?year=2027", headers=editor).json()["entered"] is False

    put = client.put("/api/admin/calendar", headers=admin,
                     json={"first": "2027-01-01", "last": "2027-01-03", "kind": "休", "name": "元旦"})  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json() == {"changed": 3, "days": ["2027-01-01", "2027-01-02", "2027-01-03"]}
    assert table(clean_engine, "SELECT day::text, kind, name, updated_by FROM work_calendar WHERE day >= '2027-01-01'"
                 ) == [(f"2027-01-0{i}", "休", "元旦", "token:管理员") for i in (1, 2, 3)]  # fmt: skip
    weekday = client.put("/api/admin/calendar", headers=admin, json={"first": "2027-01-05", "kind": "班"})
    assert weekday.status_code == 422 and "调休上班日应为周六或周日" in weekday.json()["detail"]

    gone = client.delete("/api/admin/calendar?first=2027-01-02&last=2027-01-10", headers=admin)
    assert gone.status_code == 200 and gone.json() == {"changed": 2, "days": ["2027-01-02", "2027-01-03"]}
    nothing = client.delete("/api/admin/calendar?first=2027-01-02", headers=admin)
    assert nothing.status_code == 404 and "日历中没有这些日期" in nothing.json()["detail"]

    check = client.get("/api/admin/calendar/check?date_from=2026-10-01&date_to=2026-10-11"
                       "&start=2026-11-06T16:30&add=2.5", headers=editor)  # fmt: skip
    assert check.status_code == 200, check.text
    c = check.json()
    # 10-08, 10-09 and the make-up Saturday 10-10; Friday 16:30 + 2.5 working days = Wednesday 12:00
    assert c["working_days"] == 3 and c["deadline"] == "2026-11-11T12:00:00+08:00"
    assert c["start"] == "2026-11-06T16:30:00+08:00" and c["workday_start"] == "08:30"


def test_a_years_list_over_http(client: TestClient, tokens: dict[str, Headers], clean_engine: Engine) -> None:
    admin = tokens["admin"]
    bad = client.post("/api/admin/calendar/import", headers=admin,
                      files={"file": ("2027.csv", (LIST_2027 + "2027-02-30,,休,春节\n").encode())})  # fmt: skip
    assert bad.status_code == 422
    assert "第 5 行日期：日期不存在：2027-02-30" in bad.json()["detail"]
    assert bad.json()["details"] == [{"row": 5, "column": "day", "reason": "日期不存在：2027-02-30"}]
    assert table(clean_engine, "SELECT * FROM work_calendar WHERE day >= '2027-01-01'") == []
    ok = client.post("/api/admin/calendar/import", headers=admin, data={"replace_year": "2027"},
                     files={"file": ("2027.csv", LIST_2027.encode())})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"holidays": 12, "makeup_days": 1, "years": [2027], "removed": 0}
    assert client.get("/api/admin/calendar?year=2027", headers=tokens["editor1"]).json()["entered"] is True


def test_limits_and_rules_over_http(client: TestClient, tokens: dict[str, Headers], clean_engine: Engine) -> None:
    admin, editor = tokens["admin"], tokens["editor1"]
    listed = client.get("/api/admin/time-limits", headers=editor).json()
    assert (listed["workday_start"], listed["workday_end"], listed["hours_per_day"]) == ("08:30", "17:30", 9)
    assert {"step": "处置", "category": None, "urgency": "紧急", "working_days": 1} in listed["limits"]
    put = client.put("/api/admin/time-limits", headers=admin,
                     json={"step": "处置", "working_days": 1.5, "category": "施工", "urgency": "紧急"})  # fmt: skip
    assert put.status_code == 200 and put.json() == {"step": "处置", "category": "施工管理", "urgency": "紧急",
                                                     "working_days": 1.5}  # fmt: skip
    assert table(clean_engine, "SELECT working_days FROM incident_time_limit WHERE category = '施工管理'") == [(1.5,)]
    unknown = client.put("/api/admin/time-limits", headers=admin, json={"step": "办理", "working_days": 1})
    assert unknown.status_code == 422 and "未知的环节" in unknown.json()["detail"]
    gone = client.delete(f"/api/admin/time-limits?step={quote('处置')}&category={quote('施工管理')}"
                         f"&urgency={quote('紧急')}", headers=admin)  # fmt: skip
    assert gone.status_code == 204
    assert table(clean_engine, "SELECT * FROM incident_time_limit WHERE category = '施工管理'") == []

    rules = client.get("/api/admin/dispatch-rules", headers=editor).json()
    assert rules["default_role"] == "网格员"
    assert {"category": "治安隐患", "staff_role": "网格警员"} in rules["rules"]
    put = client.put(f"/api/admin/dispatch-rules/{quote('街面秩序')}", headers=admin, json={"staff_role": "协管员"})
    assert put.status_code == 200 and {"category": "街面秩序", "staff_role": "协管员"} in put.json()["rules"]
    cleared = client.delete(f"/api/admin/dispatch-rules/{quote('治安')}", headers=admin)
    assert cleared.status_code == 200 and "治安隐患" not in [r["category"] for r in cleared.json()["rules"]]
    assert dict(table(clean_engine, "SELECT category, staff_role FROM incident_dispatch_rule")) == {
        "市容环境": "环境管理员", "街面秩序": "协管员", "消防安全": "网格消防员", "矛盾纠纷": "调解员"}


WRITES: dict[str, Callable[[TestClient, Headers], Any]] = {
    "PUT calendar": lambda c, h: c.put("/api/admin/calendar", headers=h, json={"first": "2027-01-01", "kind": "休"}),
    "DELETE calendar": lambda c, h: c.delete("/api/admin/calendar?first=2026-10-01", headers=h),
    "POST import": lambda c, h: c.post("/api/admin/calendar/import", headers=h,
                                       files={"file": ("l.csv", LIST_2027.encode())}),
    "PUT limit": lambda c, h: c.put("/api/admin/time-limits", headers=h, json={"step": "处置", "working_days": 9}),
    "DELETE limit": lambda c, h: c.delete(f"/api/admin/time-limits?step={quote('受理')}", headers=h),
    "PUT rule": lambda c, h: c.put(f"/api/admin/dispatch-rules/{quote('治安隐患')}", headers=h,
                                   json={"staff_role": "网格员"}),
    "DELETE rule": lambda c, h: c.delete(f"/api/admin/dispatch-rules/{quote('治安隐患')}", headers=h),
}


@pytest.mark.parametrize("write", WRITES)
def test_only_administrators_change_the_settings(client: TestClient, tokens: dict[str, Headers],
                                                 clean_engine: Engine, write: str) -> None:  # fmt: skip
    before = settings_rows(clean_engine)
    anonymous = WRITES[write](client, {})
    assert anonymous.status_code == 401
    r = WRITES[write](client, tokens["editor1"])
    assert r.status_code == 403 and r.json()["detail"].startswith("权限不足"), r.text
    assert settings_rows(clean_engine) == before
    for read in ("/api/admin/calendar", "/api/admin/time-limits", "/api/admin/dispatch-rules"):
        assert client.get(read).status_code == 401
