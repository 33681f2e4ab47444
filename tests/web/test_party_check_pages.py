"""The 党建合规检查 page on the hand-made community of tests/party/test_check_export.py: the summary (result,
numbers, the settings' threshold per rule), the findings per rule with links to the records to fix, the 责任区
gaps for the map, the grid picker within the user's scope, an earlier day, the Excel download; viewers and patrol
leaders are refused, another community's grid too, and the entries proposed for tests/web/test_access.py reach
exactly who may (run with that test's own check)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import tests.web.test_access as access
from tests.party.test_check_export import DAY, OWN, A, B, C, make_check_data
from tests.web.conftest import USERS, login

records = access.records  # the access tests' records (a fixture): a household, resident, … in IN and in OUT
LoginAs = Callable[[str], TestClient]
# The entries for tests/web/test_access.py ROUTES.
ROUTES = {
    "/party/check": ("/party/check?parent={code}", "personal", True, True),
    "/party/check/file": ("/party/check/file?parent={code}", "personal", True, True),
    "/api/party/check": ("/api/party/check?parent={code}", "personal", True, False),
    "/api/party/check/file": ("/api/party/check/file?parent={code}", "personal", True, False),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


@pytest.fixture
def data(users: dict, clean_engine: Engine) -> None:
    """The hand-made community on the users' street, and a volunteer team VT in compound A with nobody in it."""
    with Session(clean_engine) as s, s.begin():
        make_check_data(s, street=False)
        s.execute(text("INSERT INTO volunteer_team (code, name, kind, grid_id) "
                       "SELECT 'VT', '一网格巡逻队', '治安巡逻', id FROM grid WHERE code = :a AND valid_to IS NULL"),
                  {"a": A})  # fmt: skip


def _cell(html: str, testid: str) -> str:
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, re.S)
    assert m, testid
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def _layers(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="check-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))


def test_community_staff_see_the_check_of_their_community(as_user: LoginAs, data: None) -> None:
    page = as_user("comm1").get("/party/check")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    assert f"网格 {OWN}，截至 {DAY.isoformat()}" in html
    assert (_cell(html, "status-branch_min"), _cell(html, "checked-branch_min"), _cell(html, "failed-branch_min"),
            _cell(html, "threshold-branch_min")) == ("未通过", "2", "1", "党支部 ≥ 3 名党员")  # fmt: skip
    assert (_cell(html, "status-grid_branch"), _cell(html, "checked-grid_branch")) == ("通过", "2")
    assert _cell(html, "status-unlinked_households") == "参考"
    assert (_cell(html, "status-team_size"), _cell(html, "threshold-team_size")) == ("未通过", "每队 ≥ 15 人")
    assert _cell(html, "status-flow_certificate") == "无检查对象"
    # the findings, with links to fix them
    assert 'href="/party/orgs/BB"' in html and "BB党组织只有 2 名党员，党支部至少需要 3 名" in html
    assert f'href="/grids/{A}"' in html and f'href="/grids/{B}"' in html
    for member in ("A-P2", "A-P3", "A-P4", "B-P1", "B-P2"):
        assert f'<a href="/party/members/{member}" data-record="{member}">{member}</a>' in html
    assert '<a href="/party/teams/VT" data-record="VT">VT</a>' in html
    group = re.search(r'data-testid="group-reported".*?</section>', html, re.S)
    assert group and "3 名在职党员未到社区报到" in group.group(0) and 'data-record="A-P1"' not in group.group(0)
    # the map: the two compounds and their uncovered parts
    layers = _layers(html)
    assert sorted(f["properties"]["code"] for f in layers["compounds"]["features"]) == [A, B]
    assert [f["properties"]["code"] for f in layers["gaps"]["features"]] == [A, B]
    assert "（2 处）" in html
    # the picker offers the user's scope only; the download keeps the scope
    options = re.findall(r'<option value="(\d+)"', html)
    assert options == [OWN, A, B]
    assert 'href="/party/check/file?parent=610103006001"' in html


def test_another_grid_an_earlier_day_and_the_download(as_user: LoginAs, data: None) -> None:
    c = as_user("comm1")
    one = c.get("/party/check", params={"parent": A})
    assert one.status_code == 200 and f"网格 {A}" in one.text
    assert [f["properties"]["code"] for f in _layers(one.text)["gaps"]["features"]] == [A]
    assert re.search(rf'<option value="{A}" selected>', one.text)
    yesterday = (DAY - dt.timedelta(days=1)).isoformat()
    before = c.get("/party/check", params={"as_of": yesterday})
    assert f"截至 {yesterday}" in before.text and "未发现问题" in before.text  # the grids were drawn today
    bad = c.get("/party/check", params={"as_of": "2026-02-30"})
    assert bad.status_code == 422 and "日期" in bad.text and "<html" in bad.text
    file = c.get("/party/check/file", params={"parent": OWN})
    assert file.status_code == 200 and file.headers["content-type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(file.content))
    listed = list(wb["问题清单"].iter_rows(min_row=3, values_only=True))
    assert ("志愿服务队人数", "未通过", A, None, 0, 15, "一网格巡逻队只有 0 人", "VT") in listed
    grid = as_user("grid1").get("/party/check")  # a grid worker: their compound only
    assert f"网格 {A}" in grid.text and 'href="/party/members/B-P1"' not in grid.text


def test_who_may_not(as_user: LoginAs, web: TestClient, data: None) -> None:
    far = as_user("comm2").get("/party/check", params={"parent": OWN})
    assert far.status_code == 403 and "超出权限范围" in far.text
    own = as_user("comm2").get("/party/check")
    assert own.status_code == 200 and f'href="/grids/{C}"' in own.text and "BB党组织" not in own.text
    for name in ("viewer", "patrol1"):
        for url in ("/party/check", "/party/check/file"):
            r = as_user(name).get(url)
            assert r.status_code == 403 and "没有权限" in r.text, (name, url)
    anonymous = web.get("/party/check")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    hub = as_user("comm1").get("/party")
    assert 'href="/party/check"' in hub.text


@pytest.mark.parametrize("name", ["anonymous", *USERS])
def test_the_access_entries(web: TestClient, records: None, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "ROUTES", ROUTES)
    access.test_each_role_reaches_exactly_what_it_may(web, records, name)
