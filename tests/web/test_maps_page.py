"""地图 page on the sample street: the choices per map kind, the map address built from them, the Party layer
only for roles that may see it, and the coverage map opened from the page in offline Chromium."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.maps.assets import external_urls

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve, settle
from tests.web.conftest import PASSWORD, app_with_users, login

COMMUNITY = "610103006001"
# Users of this module on the shared sample street (names of their own, removed afterwards).
SAMPLE_USERS = {"maps_comm1": ("community", COMMUNITY), "maps_viewer": ("viewer", None),
                "maps_patrol": ("patrol", COMMUNITY)}  # fmt: skip


@pytest.fixture(scope="module")
def sample_app(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app on the sample street, with this module's users."""
    with app_with_users(sample_engine, tmp_path_factory.mktemp("sample_app"), SAMPLE_USERS) as app:
        yield app


def _client(app: FastAPI, username: str) -> TestClient:
    return login(TestClient(app, headers={"Accept": "text/html"}, follow_redirects=False), username)


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _shows(html: str, words: str) -> bool:
    """Whether a map page carries ``words`` (as text or JSON-escaped in its script)."""
    return words in html or json.dumps(words)[1:-1] in html


def _input(html: str, name: str) -> str:
    """The tag of the input ``name``."""
    m = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert m, f"没有输入框 {name}"
    return m.group(0)


def test_page_offers_dates_teams_and_the_party_layer_only_to_personal_roles(
    sample_app: FastAPI, sample_engine: Engine
) -> None:
    page = _client(sample_app, "maps_comm1").get("/maps")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    for label in ("网格图", "巡逻覆盖率图", "巡逻路线图", "打开"):
        assert label in html
    night: dt.date = _scalar(sample_engine, "SELECT max(night) FROM patrol_track")
    assert f'value="{night.isoformat()}"' in _input(html, "date") and 'type="date"' in _input(html, "date")
    assert f'value="{(night - dt.timedelta(days=29)).isoformat()}"' in _input(html, "from")
    assert f'value="{night.isoformat()}"' in _input(html, "to") and 'type="date"' in _input(html, "to")
    teams = _scalar(sample_engine, "SELECT array_agg(code ORDER BY code) FROM patrol_team")
    assert all(f'<option value="{t}">' in html for t in teams)
    assert 'value="party"' in html and "党建图层" in html
    parents = set(re.findall(r'<option value="(\d+)"', html))
    assert COMMUNITY in parents and "610103006" not in parents and "610103006002" not in parents
    assert "全部网格" not in html  # a scoped user starts from their community

    for name in ("maps_viewer", "maps_patrol"):
        other = _client(sample_app, name).get("/maps")
        assert other.status_code == 200 and 'type="date"' in other.text
        assert 'value="party"' not in other.text and "党建" not in other.text
    assert "全部网格" in _client(sample_app, "maps_viewer").get("/maps").text


def test_the_chosen_values_reach_the_map_address(sample_app: FastAPI) -> None:
    web = _client(sample_app, "maps_comm1")
    r = web.get("/maps/open/coverage", params={"parent": COMMUNITY, "from": "2026-10-03", "to": "2026-10-09",
                                               "team": ""})  # fmt: skip
    assert r.status_code == 303
    assert r.headers["location"] == f"/maps/coverage?parent={COMMUNITY}&from=2026-10-03&to=2026-10-09"
    coverage = web.get(r.headers["location"])
    assert coverage.status_code == 200 and "2026-10-03" in coverage.text and "2026-10-09" in coverage.text
    assert "帧/秒" in coverage.text  # the time slider's speed label in Chinese
    assert external_urls(coverage.text) == []

    r = web.get("/maps/open/patrol", params={"date": "2026-10-05", "team": "PT02"})
    assert r.headers["location"] == "/maps/patrol?date=2026-10-05&team=PT02"
    patrol = web.get(r.headers["location"])
    assert patrol.status_code == 200 and "2026-10-05" in patrol.text and "PT02" in patrol.text

    r = web.get("/maps/open/grid", params=[("parent", COMMUNITY), ("layers", "buildings"), ("layers", "party")])
    assert r.headers["location"] == f"/maps/grid?parent={COMMUNITY}&layers=buildings%2Cparty"
    grid = web.get(r.headers["location"])  # the browser session is enough for the Party layer
    assert grid.status_code == 200 and _shows(grid.text, "党建（党员户") and _shows(grid.text, "楼栋（")
    seen = "SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'party' AND actor = 'user:maps_comm1'"
    assert _scalar(sample_app.state.engine, seen) >= 1  # who looked at the Party layer is on record

    assert web.get("/maps/open/patrol", params={"date": ""}).headers["location"] == "/maps/patrol"
    bad = web.get("/maps/open/coverage", params={"from": "2026-10-09", "to": "2026-10-03"})
    assert bad.status_code == 422 and "起始日期" in bad.text and "晚于" in bad.text
    typo = web.get("/maps/open/patrol", params={"date": "2026-13-01"})
    assert typo.status_code == 422 and "巡逻日期" in typo.text

    day = (dt.date.today() - dt.timedelta(days=30)).isoformat()  # within the sample's history
    r = web.get("/maps/open/grid", params={"parent": COMMUNITY, "as_of": day})
    assert r.headers["location"] == f"/maps/grid?parent={COMMUNITY}&as_of={day}"
    then = web.get(r.headers["location"])
    assert then.status_code == 200 and f"（{day}）" in then.text  # the title says which day it shows

    viewer = _client(sample_app, "maps_viewer")
    refused = viewer.get("/maps/open/grid", params={"layers": "party"})
    assert refused.status_code == 403 and "查看个人信息" in refused.text
    plain = viewer.get("/maps/open/grid", params={"parent": "", "layers": "buildings"})
    assert plain.headers["location"] == "/maps/grid?layers=buildings"
    anonymous = TestClient(sample_app, headers={"Accept": "text/html"}, follow_redirects=False).get("/maps")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_coverage_map_opens_from_the_page_offline(sample_app: FastAPI) -> None:
    log = PageLog()
    with serve(sample_app) as base, chromium() as browser:
        page = open_page(browser, base + "/login?next=/maps", log, viewport=(1366, 768))
        try:
            page.fill("input[name=username]", "maps_comm1")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/maps")
            page.click("#tab-coverage")
            page.wait_for_selector("#coverage-from", state="visible")
            page.fill("#coverage-from", "2026-10-10")
            page.fill("#coverage-to", "2026-10-20")
            page.click("[data-testid=open-coverage]")
            frame = page.frame_locator("iframe[name=mapframe]")
            frame.locator(".leaflet-overlay-pane canvas").first.wait_for(state="attached", timeout=180_000)
            inner = next(f for f in page.frames if "/maps/coverage" in f.url)
            assert "from=2026-10-10" in inner.url and "to=2026-10-20" in inner.url
            name = inner.evaluate("() => Object.keys(window).find((k) => k.startsWith('map_'))")
            settle(inner, name)
            subtitle = inner.locator(".gridgov-title").inner_text()
            speed = inner.locator(".timecontrol-speed .speed").inner_text()
            png = page.locator("iframe[name=mapframe]").screenshot()
            Path("/tmp/maps_page_coverage.png").write_bytes(page.screenshot())
        finally:
            page.context.close()
    log.assert_clean()
    assert "2026-10-10 至 2026-10-20" in subtitle
    assert "帧/秒" in speed and "fps" not in speed
    assert_not_blank(png)
