"""The 志愿服务、会议与责任区 pages on the factory street: community staff add a team, members join and leave, an
activity is recorded and the month's status shown; a meeting is recorded with its minutes, the schedule shows the
overdue ones in red, a meeting is cancelled, the minutes are downloaded only in scope; 责任区 come from a file, show
on the map with the uncovered parts, are edited and retired; outside the scope and for viewers the pages refuse.
A Chromium test draws a 责任区 on the map and saves it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.browser import PageLog, chromium, open_page, serve
from tests.factories import X0, Y0, D
from tests.party.test_check import _members, _org
from tests.party.test_meetings import PDF
from tests.web.conftest import PASSWORD, csrf_of, login

LoginAs = Callable[[str], TestClient]
A, B, C = "610103006001001", "610103006001002", "610103006002001"


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


@pytest.fixture
def street(users: dict, clean_engine: Engine) -> None:
    """Branches BA (compound A) and BC (C) on record since 2020; members W-P1..W-P3 in A, E-P1 in C."""
    with session_scope(clean_engine) as s:
        _members(s, "A", 3, prefix="W")
        _members(s, "C", 1, prefix="E")
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        _org(s, "BC", "党支部", "楼院党支部", [C], [])
        s.execute(text("UPDATE party_org SET valid_from = DATE '2020-01-01'"))


def alert(html: str) -> str:
    """The text of the page's first alert."""
    m = re.search(r'<div class="alert alert-\w+ py-2" role="alert">([^<]*)</div>', html)
    return m.group(1) if m else ""


def post(client: TestClient, page: str, url: str, data: dict[str, str], **kw: Any) -> Any:
    """POST a form of ``page`` (its CSRF token first, as browsers send it)."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrftoken": token, **data}, **kw)


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_a_team_its_members_and_its_month(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    c = as_user("comm1")
    page = c.get("/party/teams")
    assert page.status_code == 200 and 'data-testid="add-team"' in page.text and "还没有志愿服务队" in page.text
    made = post(c, "/party/teams", "/party/teams", {"code": "ZY1", "name": "环境志愿队", "kind": "环境维护", "grid": A,
                                                   "org": "BA", "leader": "W-P1", "effective": "2026-01-01"})
    assert made.status_code == 303 and made.headers["location"].startswith("/party/teams/ZY1?done=")
    refused = post(c, "/party/teams", "/party/teams", {"code": "ZY1", "name": "重复", "kind": "其他"})
    assert refused.status_code == 409 and "未新建：志愿服务队编码已存在：ZY1" in alert(refused.text)
    for person, day in (("W-P1", "2026-09-01"), ("W-P2", "2026-09-01")):
        r = post(c, "/party/teams/ZY1", "/party/teams/ZY1/members", {"person": person, "day": day})
        assert r.status_code == 303, alert(r.text)
    missing = post(c, "/party/teams/ZY1", "/party/teams/ZY1/members", {"person": "X-P9", "day": ""})
    assert missing.status_code == 422 and "不存在或已注销：X-P9" in alert(missing.text)
    assert 'value="X-P9"' in missing.text  # what was typed comes back
    for day, hours, title in (("2026-10-05", "4.5", "清扫楼道"), ("2026-10-20", "1", "宣传")):
        r = post(c, "/party/teams/ZY1", "/party/teams/ZY1/activities", {"day": day, "hours": hours, "title": title,
                                                                       "participants": "6", "note": ""})
        assert r.status_code == 303 and r.headers["location"].startswith("/party/teams/ZY1?month=2026-10&done="), \
            alert(r.text)
    bad = post(c, "/party/teams/ZY1", "/party/teams/ZY1/activities", {"day": "2026-10-05", "hours": "两小时",
                                                                     "title": "巡逻"})
    assert bad.status_code == 422 and "活动时长应为小时数" in alert(bad.text)
    left = post(c, "/party/teams/ZY1", "/party/teams/ZY1/members/W-P2/leave", {"day": "2026-10-25", "reason": "搬离"})
    assert left.status_code == 303
    october = c.get("/party/teams/ZY1?month=2026-10").text
    status = october.split('data-testid="month-status"', 1)[1].split('<h2 class="h6">队员</h2>', 1)[0]
    assert "人数 <b>1</b>（2026-10-31）" in status and "不足 15 人" in status and "最长 <b>4.5</b> 小时" in status
    activities = october.split('data-testid="activities"', 1)[1].split("</table>", 1)[0]
    assert "清扫楼道" in activities and "宣传" in activities
    members = october.split('data-testid="members"', 1)[1].split("</table>", 1)[0]
    assert "党员W-H1" in members and "搬离" in members
    listed = c.get("/party/teams?month=2026-10").text
    assert re.search(r'data-team="ZY1".*?环境志愿队.*?党员W-H1.*?>1</td>.*?2 / 5\.5', listed, re.S)
    retired = post(c, "/party/teams/ZY1", "/party/teams/ZY1/retire", {"version": "1", "reason": "合并"})
    assert retired.status_code == 303
    assert rows(clean_engine, "SELECT p.code, m.since, m.until, m.end_reason FROM volunteer_team_member m "
                              "JOIN person p ON p.id = m.person_id ORDER BY p.code") == [
        ("W-P1", *rows(clean_engine, "SELECT DATE '2026-09-01', CURRENT_DATE")[0], "合并"),
        ("W-P2", *rows(clean_engine, "SELECT DATE '2026-09-01', DATE '2026-10-25'")[0], "搬离")]  # fmt: skip
    assert rows(clean_engine, "SELECT count(*), sum(hours) FROM volunteer_activity")[0][0] == 2
    # the views of members' names were logged; another community and a viewer are refused
    assert rows(clean_engine, "SELECT count(*) > 0 FROM audit_log WHERE action = 'view' AND actor = 'user:comm1' "
                              "AND table_name = 'volunteer_team_member'") == [(True,)]  # fmt: skip
    assert as_user("comm2").get("/party/teams/ZY1").status_code == 403
    assert as_user("viewer").get("/party/teams").status_code == 403


def test_meetings_schedule_minutes_and_cancel(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    c = as_user("comm1")
    page = c.get("/party/meetings")
    assert page.status_code == 200 and "党组织会议（三会一课）" in page.text
    token = csrf_of(page.text)
    made = c.post("/party/meetings", data={"csrftoken": token, "org": "BA", "kind": "支部委员会",
                                           "held_on": "2026-09-10", "topic": "学习", "attendees": "3", "expected": "4"},
                  files={"minutes": ("九月支委会.pdf", PDF, "application/pdf")})  # fmt: skip
    assert made.status_code == 303, alert(made.text)
    c.post("/party/meetings", data={"csrftoken": token, "org": "BA", "kind": "党员大会", "held_on": "2026-11-20"})
    wrong = c.post("/party/meetings", data={"csrftoken": token, "org": "BA", "kind": "支部委员会",
                                            "held_on": "2026-11-25"})  # fmt: skip
    assert wrong.status_code == 303
    ids = dict(rows(clean_engine, "SELECT held_on::text, id FROM party_meeting"))
    cancelled = post(c, "/party/meetings", f"/party/meetings/{ids['2026-11-25']}/cancel", {"reason": "录入错误"})
    assert cancelled.status_code == 303
    other = post(c, "/party/meetings", "/party/meetings", {"org": "BC", "kind": "党课", "held_on": "2026-11-01"})
    assert other.status_code == 403
    html = c.get("/party/meetings?org=BA").text
    schedule = html.split('data-testid="schedule"', 1)[1].split("</table>", 1)[0]
    committee = re.search(r'<tr class="table-danger" data-overdue="1" data-kind="支部委员会">(.*?)</tr>', schedule,
                          re.S)
    assert committee and "2026-09-10" in committee.group(1) and "超期" in committee.group(1)  # 11-25 was cancelled
    assert re.search(r'<tr data-kind="党员大会">.*?2026-11-20.*?按期', schedule, re.S)
    listed = html.split('data-testid="meetings"', 1)[1]
    assert re.search(rf'data-meeting="{ids["2026-11-25"]}" class="[^"]*line-through[^"]*" data-cancelled="1"', listed)
    assert "已取消：录入错误" in listed and "九月支委会.pdf" in listed
    got = c.get(f"/party/meetings/{ids['2026-09-10']}/minutes")
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert as_user("comm2").get(f"/party/meetings/{ids['2026-09-10']}/minutes").status_code == 403
    assert as_user("viewer").get("/party/meetings").status_code == 403
    upload = c.post(f"/party/meetings/{ids['2026-11-20']}/minutes", data={"csrftoken": token},
                    files={"minutes": ("纪要.txt", "文本".encode(), "text/plain")})  # fmt: skip
    assert upload.status_code == 422 and "格式不受支持" in alert(upload.text)
    assert rows(clean_engine, "SELECT held_on::text, minutes_name, cancel_reason FROM party_meeting ORDER BY held_on") \
        == [("2026-09-10", "九月支委会.pdf", None), ("2026-11-20", None, None), ("2026-11-25", None, "录入错误")]


def test_duty_areas_from_a_file_on_the_map_edited_and_retired(as_user: LoginAs, street: None,
                                                               clean_engine: Engine) -> None:  # fmt: skip
    c = as_user("comm1")
    south = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
             "geometry": mapping(box(X0, Y0, X0 + D / 2, Y0 + 0.6 * D))}]}  # fmt: skip
    token = csrf_of(c.get("/party/duty-areas").text)
    made = c.post("/party/duty-areas", data={"csrftoken": token, "code": "Z1", "name": "南区", "duty": "环境维护",
                                             "org": "BA", "members": "W-P1, W-P2", "crs": "", "geojson": ""},
                  files={"file": ("南区.geojson", json.dumps(south).encode(), "application/geo+json")})  # fmt: skip
    assert made.status_code == 303, alert(made.text)
    east = mapping(box(X0 + 1.1 * D, Y0 + 0.1 * D, X0 + 1.3 * D, Y0 + 0.3 * D))
    refused = c.post("/party/duty-areas", data={"csrftoken": token, "code": "Z9", "name": "东", "duty": "环境维护",
                                                "geojson": json.dumps(east)})  # fmt: skip
    assert refused.status_code == 403
    html = c.get("/party/duty-areas").text
    assert 'id="duty-map"' in html and "/static/app/party_duty.js" in html
    assert "leaflet/dist/leaflet.js" in html and "leaflet-geoman.min.js" in html
    layers = json.loads(html.split('<script type="application/json" id="duty-data">', 1)[1].split("</script>", 1)[0])
    assert [f["properties"]["code"] for f in layers["areas"]["features"]] == ["Z1"]
    assert layers["areas"]["features"][0]["properties"]["members"] == "党员W-H1、党员W-H2"
    assert sorted(f["properties"]["rule"] for f in layers["problems"]["features"]) == ["gap", "gap"]
    assert {f["properties"]["code"] for f in layers["compounds"]["features"]} == {A, B}
    findings = html.split('data-testid="findings"', 1)[1].split("</ol>", 1)[0]
    assert f"楼院 第二网格（{B}）没有党员责任区" in findings and "相邻责任区：Z1" in findings
    assert "党员W-H1、党员W-H2" in html.split('data-testid="members-Z1"', 1)[1].split("</td>", 1)[0]
    edited = post(c, "/party/duty-areas", "/party/duty-areas/Z1/edit", {"version": "1", "name": "南区",
                                                                       "duty": "治安防范", "org": "BA",
                                                                       "members": "W-P3"})
    assert edited.status_code == 303 and "职责、责任党员" in unquote(edited.headers["location"])
    foreign = post(c, "/party/duty-areas", "/party/duty-areas/Z1/edit", {"version": "2", "name": "南区",
                                                                        "duty": "治安防范", "members": "E-P1"})
    assert foreign.status_code == 403
    retired = post(c, "/party/duty-areas", "/party/duty-areas/Z1/retire", {"version": "2", "reason": "调整"})
    assert retired.status_code == 303
    assert rows(clean_engine, "SELECT code, duty, version, end_reason, cardinality(person_ids) FROM party_duty_area "
                              "WHERE lineage_id IS NULL") == [("Z1", "治安防范", 3, "调整", 1)]  # fmt: skip
    assert as_user("viewer").get("/party/duty-areas").status_code == 403


def test_the_hub(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        s.execute(text("INSERT INTO volunteer_team (code, name, kind, grid_id) SELECT 'ZY1', '一队', '其他', id "
                       "FROM grid WHERE code = :g"), {"g": A})  # fmt: skip
    html = as_user("comm1").get("/party/activity").text
    teams = html.split('data-testid="card-teams"', 1)[1].split("</div>", 2)[0]
    meetings = html.split('data-testid="card-meetings"', 1)[1].split("</div>", 2)[0]
    assert "1 <span" in teams and "人数达标（≥ 15 人）\n          <b>0</b>" in teams
    assert "4 <span" in meetings  # BA's four kinds, never held
    assert html.count('<tr class="table-danger">') == 4
    assert as_user("comm2").get("/party/activity?parent=610103006001").status_code == 403


@pytest.fixture
def base(street: None, clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The app served on a free port."""
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def test_a_duty_area_is_drawn_and_saved_in_chromium(base: str, clean_engine: Engine) -> None:
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            page.goto(f"{base}/login?next=/party/duty-areas")
            page.fill("input[name=username]", "comm1")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(base + "/party/duty-areas")
            page.click(".leaflet-pm-icon-polygon")
            box_ = page.locator("#duty-map").bounding_box()
            assert box_ is not None
            corners = [(0.5, 0.3), (0.58, 0.3), (0.58, 0.6), (0.5, 0.6), (0.5, 0.3)]
            for fx, fy in corners:
                page.mouse.click(box_["x"] + fx * box_["width"], box_["y"] + fy * box_["height"])
            page.wait_for_selector("[data-testid=draw-panel]:not([hidden])")
            page.fill("#dr-code", "ZD1")
            page.fill("#dr-name", "画的责任区")
            page.select_option("#dr-duty", "纠纷调解")
            page.fill("#dr-members", "W-P1")
            page.click("[data-testid=draw-save]")
            page.wait_for_url(f"{base}/party/duty-areas?done=*")
            assert "已新建党员责任区 ZD1 画的责任区" in page.locator(".alert-success").inner_text()
            assert "党员W-H1" in page.locator("[data-testid=members-ZD1]").inner_text()
        finally:
            page.context.close()
    log.assert_clean()
    assert rows(clean_engine, "SELECT code, duty, ST_GeometryType(geom), ST_Area(geom::geography) > 0 "
                              "FROM party_duty_area") == [("ZD1", "纠纷调解", "ST_MultiPolygon", True)]  # fmt: skip

