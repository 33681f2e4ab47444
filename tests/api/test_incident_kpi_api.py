"""``/api/incident-kpi`` (figures, the Excel sheet, hotspots) and the coverage map's incident parts (time-of-day
filter, KPI layers, hotspot list) on the hand-made cases of tests/incidents/test_kpi.py."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.api.routes import incident_kpi
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.incidents.test_kpi import A, B, C, build

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31", "as_of": "2026-10-31"}


def js(text: str) -> str:
    """How a map's script writes a text (Jinja's tojson: non-ASCII as \\u escapes)."""
    return json.dumps(text)[1:-1]


@pytest.fixture
def api(clean_engine: Engine, settings_for: Settings) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """The app on the hand-made cases, and headers for a viewer and a community …001 token."""
    with session_scope(clean_engine) as s:
        build(s)
        viewer = create_token(s, Actor.system(), "只读", "viewer")[0]
        comm1 = create_token(s, Actor.system(), "一社区", "community", "610103006001")[0]
    app = create_app(settings_for, clean_engine)
    if not any(getattr(r, "path", "") == "/api/incident-kpi" for r in app.routes):  # until the factory has it
        app.include_router(incident_kpi.router)
    with TestClient(app) as c:
        yield c, {"viewer": {"Authorization": f"Bearer {viewer}"}, "comm1": {"Authorization": f"Bearer {comm1}"}}


def test_figures_of_every_level_with_last_year(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, who = api
    r = client.get("/api/incident-kpi", params=OCTOBER | {"level": "all"}, headers=who["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"]["from"] == "2026-10-01" and body["period"]["as_of"].startswith("2026-10-31T23:59:59")
    assert body["last_year"]["from"] == "2025-10-01" and body["last_year"]["to"] == "2025-10-31"
    rows = {x["code"]: x for x in body["rows"]}
    assert list(rows) == ["610103006", "610103006001", "610103006002", A, B, C]
    street = rows["610103006"]
    assert {k: street[k] for k in ("reported", "closed", "closed_on_time", "on_time_rate", "overdue_now", "rework",
                                   "parked", "closed_at_grid_rate", "closed_in_community_rate")} == {  # fmt: skip
        "reported": 5, "closed": 4, "closed_on_time": 3, "on_time_rate": 0.75, "overdue_now": 2, "rework": 1,
        "parked": 1, "closed_at_grid_rate": 0.75, "closed_in_community_rate": 1.0}
    assert street["avg_days"] == {"受理": 0.5, "派遣": 0.667, "处置": 1.9, "核查": 0.5, "结案": 0.5}
    assert street["last_year"]["reported"] == 2 and rows["610103006002"]["last_year"]["reported"] == 0
    earlier = client.get("/api/incident-kpi", params=OCTOBER | {"as_of": "2026-10-20T18:00:00+08:00",
                                                                "level": "street"}, headers=who["viewer"]).json()
    assert [(x["code"], x["reported"], x["overdue_now"], x["parked"]) for x in earlier["rows"]] == [
        ("610103006", 3, 2, 0)]


def test_the_callers_scope(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, who = api
    mine = client.get("/api/incident-kpi", params=OCTOBER, headers=who["comm1"]).json()
    assert [x["code"] for x in mine["rows"]] == [A, B]
    r = client.get("/api/incident-kpi", params=OCTOBER | {"parent": "610103006002"}, headers=who["comm1"])
    assert r.status_code == 403 and r.json()["error"] == "Forbidden" and "超出权限范围" in r.json()["detail"]
    assert client.get("/api/incident-kpi").status_code == 401
    bad = client.get("/api/incident-kpi", params={"level": "城市"}, headers=who["viewer"])
    assert bad.status_code == 422 and "未知层级" in bad.json()["detail"]
    reversed_ = client.get("/api/incident-kpi", params={"from": "2026-10-31", "to": "2026-10-01"},
                           headers=who["viewer"])  # fmt: skip
    assert reversed_.status_code == 422 and "起始日期" in reversed_.json()["detail"]


def test_the_excel_sheet(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, who = api
    r = client.get("/api/incident-kpi/file", params=OCTOBER, headers=who["viewer"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in r.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["事件考核"]
    assert ws["A1"].value == "文艺路街道事件考核表"
    assert ws["A2"].value.startswith("统计期间：2026-10-01 至 2026-10-31    统计时点：2026-10-31 23:59")
    assert [ws.cell(3, c).value for c in (1, 4, 6, 8)] == ["网格编码", "上报", "结案", "按期结案率"]
    assert [ws.cell(4, c).value for c in (4, 5)] == ["本期", "去年同期"]
    assert [ws.cell(5, c).value for c in range(1, 10)] == ["610103006", "文艺路街道", "街道", 5, 2, 4, 1, 0.75, 1]
    assert ws.cell(5, 8).number_format == "0.0%"
    codes = [ws.cell(row, 1).value for row in range(5, ws.max_row + 1)]
    assert codes == ["610103006", "610103006001", "610103006002", A, B, C]
    assert ws.cell(7, 9).value == "—"  # community …002: nothing closed last year


def test_hotspots(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, who = api
    r = client.get("/api/incident-kpi/hotspots", params={"from": "2026-10-01", "to": "2026-10-31", "shift": "白天"},
                   headers=who["viewer"])  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == "白天"
    assert [(x["code"], x["cases"], x["peak"], x["coverage"]) for x in body["rows"]] == [
        (B, 2, "白天", 0.0), (C, 2, "白天", 0.0), (A, 1, "白天", 0.0)]
    night = client.get("/api/incident-kpi/hotspots", params={"from": "2026-10-01", "to": "2026-10-31",
                                                             "shift": "上半夜"}, headers=who["viewer"]).json()
    assert night["rows"] == []
    bad = client.get("/api/incident-kpi/hotspots", params={"shift": "半夜"}, headers=who["viewer"])
    assert bad.status_code == 422 and "上半夜（20:00–23:30）" in bad.json()["detail"]


def test_the_coverage_map_filters_the_heat_by_time_and_shows_the_figures(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, _ = api
    base = {"from": "2026-10-01", "to": "2026-10-31"}
    r = client.get("/maps/coverage", params=base | {"shift": "白天", "kpi": "on_time"})
    assert r.status_code == 200, r.text
    page = r.text
    assert js("事件时段：白天（06:00–20:00）") in page and js("事件热力：5 起（1 类，按日，白天）") in page
    assert js("事件考核：按期结案率") in page and js("事件考核：超期事件") in page and js("按期结案率 ≥ 90%") in page
    assert js("事件多发、巡逻薄弱（白天）") in page
    start = page.rindex("var rows = ", 0, page.index("gridgov-hotspots")) + len("var rows = ")
    hot = json.loads(page[start:page.index(";\n", start)])
    assert [(x["code"], x["pct"]) for x in hot] == [(B, "2 起"), (C, "2 起"), (A, "1 起")]
    # the KPI layer's colours: A 50 % on time (red), B and C 100 % (green)
    fills = re.findall(r'"code": "(\d+)", "fill": "(#[0-9a-f]{6})"', page)
    assert fills[:3] == [(A, "#d73027"), (B, "#1a9850"), (C, "#1a9850")]
    # and by overdue cases: A (case 8 of 2025) and C (case 6) one each, B none
    assert fills[3:] == [(A, "#fd8d3c"), (B, "#f8f9fa"), (C, "#fd8d3c")]
    night = client.get("/maps/coverage", params=base | {"shift": "21:00-02:00"}).text
    assert js("事件时段：21:00–次日 02:00") in night and js("事件热力：0 起") in night
    assert "E2026" not in page and "垃圾" not in page.replace("暴露垃圾", "")  # no case codes or descriptions
    bad = client.get("/maps/coverage", params={"shift": "夜里"})
    assert bad.status_code == 422 and "时段应为" in bad.text
    assert client.get("/maps/coverage", params={"kpi": "x"}).status_code == 422
