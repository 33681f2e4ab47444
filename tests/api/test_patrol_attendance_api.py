"""``/api/patrol/attendance`` (a night, a month with the allowance), ``/api/patrol/attendance/file`` (the 考勤表), and
``/api/import/tracks`` with CSV files, daytime inspections and the cleaning's report."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.factories import X0, Y0, D
from tests.patrol.test_attendance import build


@pytest.fixture
def api(clean_engine: Engine, settings_for: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    with session_scope(clean_engine) as s:
        build(s, tmp_path)
        viewer = create_token(s, Actor.system(), "只读", "viewer")[0]
        leader = create_token(s, Actor.system(), "巡逻队长", "patrol", "610103006001")[0]
    with TestClient(create_app(settings_for, clean_engine)) as c:
        yield c, {"viewer": {"Authorization": f"Bearer {viewer}"}, "patrol": {"Authorization": f"Bearer {leader}"}}


def test_a_night(api: tuple[TestClient, dict[str, dict]]) -> None:
    client, h = api
    r = client.get("/api/patrol/attendance", params={"date": "2026-10-14"}, headers=h["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["date"], body["month"], body["allowance_total"], body["late_grace_minutes"]) == (
        "2026-10-14", None, None, 15.0)
    assert [(e["team_code"], e["status"]) for e in body["entries"]] == [
        ("T1", "出勤"), ("T2", "迟到"), ("T4", "缺勤"), ("T3", "早退"), ("T5", "出勤")]
    t2 = body["entries"][1]
    assert (t2["first_seen"], t2["minutes_inside"], t2["coverage"], t2["unvisited"]) == (
        "2026-10-14T20:20:00+08:00", 185.0, 1.0, [])
    t5 = {p["staff_code"]: (p["role"], p["status"], p["on_leave"], p["replaced_by"], p["substitute_for"])
          for p in body["entries"][4]["people"]}  # fmt: skip
    assert t5["S52"] == ("队员", "缺勤", True, None, None) and t5["S55"] == ("替班", "出勤", False, None, "王八")
    one = client.get("/api/patrol/attendance", params={"date": "2026-10-15", "team": "T2"}, headers=h["patrol"])
    assert [(e["team_code"], e["status"], e["tracks"]) for e in one.json()["entries"]] == [("T2", "缺勤", 0)]


def test_a_month_and_its_workbook(api: tuple[TestClient, dict[str, dict]]) -> None:
    client, h = api
    r = client.get("/api/patrol/attendance", params={"month": "2026-10"}, headers=h["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["first"], body["last"], len(body["entries"]), body["allowance_total"]) == (
        "2026-10-01", "2026-10-31", 7, 560.0)  # no probation by default: S56 is paid too
    paid = {p["staff_code"]: p["allowance"] for p in body["people"]}
    assert paid == {"S11": 80.0, "S12": 80.0, "S21": 80.0, "S31": 80.0, "S41": 0.0, "S51": 80.0, "S52": 0.0,
                    "S53": 0.0, "S55": 80.0, "S56": 80.0}  # fmt: skip
    f = client.get("/api/patrol/attendance/file", params={"month": "2026-10"}, headers=h["patrol"])
    assert f.status_code == 200 and f.content[:2] == b"PK"
    assert unquote(f.headers["content-disposition"]).endswith("文艺路街道巡逻考勤表_2026-10.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(f.content))
    sheet = wb["考勤汇总"]
    assert sheet["A1"].value == "文艺路街道巡逻考勤表（2026-10）"
    assert [c.value for c in sheet[sheet.max_row]][:1] == ["合计"] and sheet.cell(sheet.max_row, 13).value == 560


def test_wrong_requests(api: tuple[TestClient, dict[str, dict]]) -> None:
    client, h = api
    assert client.get("/api/patrol/attendance", params={"date": "2026-10-14"}).status_code == 401
    for params in ({}, {"date": "2026-10-14", "month": "2026-10"}):
        r = client.get("/api/patrol/attendance", params=params, headers=h["viewer"])
        assert r.status_code == 422 and "请指定 date" in r.json()["detail"]
    bad = client.get("/api/patrol/attendance", params={"month": "2026-13"}, headers=h["viewer"])
    assert bad.status_code == 422 and "月份格式" in bad.json()["detail"]
    team = client.get("/api/patrol/attendance", params={"date": "2026-10-14", "team": "T9"}, headers=h["viewer"])
    assert team.status_code == 404 and team.json()["detail"] == "巡逻队不存在：T9"


def test_importing_a_csv_of_daytime_inspections(api: tuple[TestClient, dict[str, dict]], clean_engine: Engine) -> None:
    client, h = api
    rows = ["time,lon,lat,person"] + [f"2026-10-15 09:{m:02d}:00,{X0 + 0.001 + 0.0003 * (m % 10):.7f},{Y0 + D / 2},S11"
                                      for m in range(20)]  # fmt: skip
    rows[11] = rows[11].replace("09:10:00", "09:25:00")  # rows 12–21 come after a pause: a gap at 09:25
    rows[12:] = [r.replace(f"09:{m:02d}", f"09:{m + 15:02d}") for m, r in zip(range(11, 20), rows[12:], strict=True)]
    files = {"file": ("巡查.csv", "\n".join(rows).encode("utf-8"), "text/csv")}
    r = client.post("/api/import/tracks", files=files, data={"kind": "日巡查"}, headers=h["patrol"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["tracks"], body["points"], body["jumps"], body["gaps"]) == ("日巡查", 1, 20, 0, 1)
    item = body["items"][0]
    assert (item["staff_code"], item["shift"], item["gaps"]) == (
        "S11", None, [{"after": "2026-10-15T09:09:00+08:00", "at": "2026-10-15T09:25:00+08:00"}])
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_track WHERE kind = '日巡查'")).scalar_one() == 1
    missing = client.post("/api/import/tracks", files=files, data={"team": "T9"}, headers=h["patrol"])
    assert missing.status_code == 404 and "gridgov patrol team add T9" in missing.json()["detail"]
