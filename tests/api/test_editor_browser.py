"""The browser grid editor in real headless Chromium against the real app and PostGIS (no mocks).

The app runs under uvicorn in a thread; every request that is not to this server is aborted and
recorded (the users' intranet has no internet), and console errors / page errors fail the test.
Each user has a browser of their own (cookies) and logs in through /login as people do; the editor then
works with that login session (no token anywhere). Geoman is driven with real mouse events at points
computed from lat/lngs on the page's map.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.maps.assets import external_urls

from tests.browser import CHROMIUM_ARGS, LOCAL_HOSTS, serve
from tests.factories import X0, Y0, D, make_street

COMMUNITY = "610103006001"
WEST, EAST = "610103006001001", "610103006001002"
TIMEOUT_MS = 15_000
PASSWORD = "Gridgov2026pw"
# user name → (role, scope, display name): editors of the two communities, and a viewer who may not edit.
USERS = {
    "comm1": ("community", COMMUNITY, "一社区编辑员"),
    "comm2": ("community", "610103006002", "二社区编辑员"),
    "viewer1": ("viewer", None, "只读用户"),
}


# ----------------------------------------------------------------------------------------- server


@pytest.fixture
def editor_users(clean_engine: Engine) -> dict[str, tuple[str, str | None, str]]:
    """The factory street and the users of ``USERS`` (password ``PASSWORD``)."""
    with session_scope(clean_engine) as s:
        make_street(s)
        for name, (role, scope, display) in USERS.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, display)
    return USERS


@pytest.fixture
def base_url(clean_engine: Engine, settings_for: Settings, editor_users: dict) -> Iterator[str]:
    """The real app served by uvicorn on a free port, in a background thread."""
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


# ---------------------------------------------------------------------------------------- browser


@dataclass
class Watch:
    """What the pages did that they must not: external requests, console errors, uncaught errors."""

    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    expected_console: list[re.Pattern[str]] = field(default_factory=list)
    expected_seen: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        line = f"{msg.text} @ {msg.location.get('url', '')}"
        if any(p.search(line) for p in self.expected_console):
            self.expected_seen.append(line)
            return
        self.console_errors.append(line)

    def assert_clean(self) -> None:
        assert self.external == [], f"requests to other hosts: {self.external}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@dataclass
class Browser:
    new_page: Any  # (user name) -> a new tab in that user's own browser context (cookies are per user)
    watch: Watch


@pytest.fixture
def browser() -> Iterator[Browser]:
    watch = Watch()
    contexts: dict[str, Any] = {}

    def route(r: Route, request: Request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            watch.external.append(request.url)
            r.abort()

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

        def new_page(user: str) -> Page:
            if user not in contexts:
                contexts[user] = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
                contexts[user].set_default_timeout(TIMEOUT_MS)
                contexts[user].route("**/*", route)
            page = contexts[user].new_page()
            page.on("console", watch.on_console)
            page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
            return page

        try:
            yield Browser(new_page, watch)
        finally:
            for context in contexts.values():
                context.close()
            b.close()


# ----------------------------------------------------------------------------------------- helpers


def wait_for(page: Page, predicate: str, timeout_s: float = TIMEOUT_MS / 1000) -> None:
    """Wait until a JS predicate ("() => …") holds in the page (Playwright sends it over the protocol,
    so the page's CSP, which forbids eval, does not stop it)."""
    try:
        page.wait_for_function(predicate, timeout=timeout_s * 1000)
    except PlaywrightTimeoutError as e:
        raise AssertionError(f"timed out waiting for {predicate}") from e


def log_in(page: Page, user: str) -> Response | None:
    """Fill in and send the login form the page shows; the response of the page it leads to."""
    assert urlparse(page.url).path == "/login", page.url
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    with page.expect_navigation() as nav:
        page.click("form[action='/login'] button[type=submit]")
    return nav.value


def open_editor(br: Browser, base_url: str, user: str) -> Page:
    """A new tab of ``user``'s browser on the editor of the west community, logging in first if need be (the
    editor sends a browser without a session to the login page, which comes back to the editor)."""
    page = br.new_page(user)
    resp = page.goto(f"{base_url}/editor?parent={COMMUNITY}")
    if urlparse(page.url).path == "/login":
        resp = log_in(page, user)
    assert urlparse(page.url).path == "/editor", page.url
    assert resp is not None and resp.status == 200
    assert "connect-src 'self'" in resp.headers["content-security-policy"]
    wait_for(page, "() => window.gridEditor && window.gridEditor.ready === true")
    wait_for(page, "() => document.querySelector('#gg-check-state').textContent === '通过'")
    assert page.locator("#gg-token").count() == 0  # no token box any more: the login session is enough
    return page


def xy(page: Page, lng: float, lat: float) -> tuple[float, float]:
    """Page coordinates of a lon/lat on the editor's map."""
    x, y = page.evaluate(
        """([lat, lng]) => {
            const m = window.gridEditor.map;
            const p = m.latLngToContainerPoint([lat, lng]);
            const r = m.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lng],
    )
    return float(x), float(y)


def click_at(page: Page, lng: float, lat: float) -> None:
    x, y = xy(page, lng, lat)
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y, steps=3)
    page.mouse.click(x, y)


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    (x0, y0), (x1, y1) = xy(page, *start), xy(page, *end)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 4, y0 + 4, steps=2)
    page.mouse.move(x1, y1, steps=15)
    page.mouse.up()


def tool(page: Page, title: str) -> None:
    """Click a Geoman toolbar button by its (Chinese) title."""
    page.locator(f".leaflet-pm-toolbar .button-container[title='{title}'] a.leaflet-buttons-control-button").click()


def draw_polygon(page: Page, pts: list[tuple[float, float]]) -> None:
    tool(page, "绘制新网格")
    for lng, lat in pts:
        click_at(page, lng, lat)
    click_at(page, *pts[0])  # clicking the first vertex finishes the polygon


def wait_checked(page: Page) -> None:
    """Wait until the live validation of what is on screen has come back."""
    page.evaluate("() => window.gridEditor.settleValidation()")
    state = page.locator("#gg-check-state").inner_text()
    assert state == "通过" or re.fullmatch(r"发现 \d+ 个问题", state), state


def findings(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#gg-findings li')).map(li => ({
            rule: li.dataset.rule, codes: li.dataset.codes.split(' '), text: li.innerText }))"""
    )


def latin_words(page: Page) -> list[str]:
    """Latin words a user can see: page text, titles, placeholders, button labels (Geoman's included)."""
    found: list[str] = page.evaluate(
        """() => {
            const parts = [document.body.innerText, document.title];
            for (const el of document.querySelectorAll('[title],[placeholder],[aria-label],[alt]')) {
                for (const a of ['title', 'placeholder', 'aria-label', 'alt'])
                    if (el.getAttribute(a)) parts.push(el.getAttribute(a));
            }
            return parts.join('\\n').match(/[A-Za-z]{2,}/g) || [];
        }"""
    )
    return sorted(set(found) - {"km"})  # the scale bar's unit


def geojson_area_m2(engine: Engine, ring: list[tuple[float, float]]) -> float:
    geom = {"type": "Polygon", "coordinates": [[list(p) for p in [*ring, ring[0]]]]}
    sql = text("SELECT ST_Area(ST_GeomFromGeoJSON(:g)::geography)")
    with engine.connect() as conn:
        return float(conn.execute(sql, {"g": json.dumps(geom)}).scalar_one())


# ------------------------------------------------------------------------------------------- tests


def client_login(client: TestClient, user: str) -> None:
    """Log a test client in through the login form."""
    form = client.get("/login").text
    token = re.search(r'name="csrftoken" value="([^"]+)"', form)
    assert token, form[:300]
    r = client.post("/login", data={"csrftoken": token.group(1), "username": user, "password": PASSWORD})
    assert r.status_code == 303, r.text[:300]


def test_editor_files_are_served_from_a_fixed_list(
    settings_for: Settings, clean_engine: Engine, editor_users: dict
) -> None:
    app = create_app(settings_for, clean_engine)
    html = {"Accept": "text/html"}
    with TestClient(app, follow_redirects=False) as client:
        anonymous = client.get("/editor", params={"parent": COMMUNITY}, headers=html)
        assert anonymous.status_code == 303  # a browser without a session goes to the login page, and back
        assert anonymous.headers["location"].startswith(f"/login?next=%2Feditor%3Fparent%3D{COMMUNITY}")
        assert client.get("/editor").status_code == 401  # not a browser: no page

        client_login(client, "comm1")
        page = client.get("/editor", params={"parent": COMMUNITY}, headers=html)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert external_urls(page.text) == []
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert csrf and csrf.group(1) == client.cookies.get("csrftoken")  # this session's token, filled in
        assert "{{" not in page.text and "gg-token" not in page.text and "令牌" not in page.text
        # what editor.js does: the session cookie and the page's token let a write through, without either not
        body = {"parent": COMMUNITY, "grids": []}
        ok = client.post("/api/grids/validate", json=body, headers={"x-csrftoken": csrf.group(1)})
        assert ok.status_code == 200 and ok.json()["findings"] == [], ok.text
        assert client.post("/api/grids/validate", json=body).status_code == 403
        assert client.get("/static/editor/editor.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/static/editor/editor.css").headers["content-type"].startswith("text/css")
        for bad in ("editor.html", "editor.py", "..%2F__init__.py", "%2e%2e%2Fapi%2Froutes%2Feditor.py", "EDITOR.JS",
                    "editor.js%00"):  # fmt: skip
            assert client.get(f"/static/editor/{bad}").status_code == 404, bad
        for name in ("editor.js", "editor.css"):
            body = client.get(f"/static/editor/{name}").text
            assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", body), name  # no external URLs
        for src in re.findall(r'(?:src|href)="(static/[^"]+)"', page.text):
            assert client.get("/" + src).status_code == 200, src  # every linked file is served (whitelisted)

    with TestClient(app, follow_redirects=False) as viewer:
        client_login(viewer, "viewer1")
        refused = viewer.get("/editor", params={"parent": COMMUNITY}, headers=html)
        assert refused.status_code == 403 and "没有权限" in refused.text and "只读" in refused.text


# The west compound 001 is x∈[X0, X0+D/2]; its top edge's midpoint carries Geoman's middle marker.
TOP_MID = (X0 + D / 4, Y0 + D)
NOTCH_A = (X0 + D / 4, Y0 + 3 * D / 4)  # where test 1 / tab A pulls that point
NOTCH_B = (X0 + D / 4, Y0 + D / 2)  # where tab B pulls it


def test_draw_check_and_save_a_new_compound(browser: Browser, base_url: str, clean_engine: Engine) -> None:
    page = open_editor(browser, base_url, "comm1")
    assert page.locator("#gg-title").inner_text() == "文艺北路一社区（610103006001）· 楼院网格"
    rows = page.locator("#gg-grid-list tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in rows] == [["第一网格", WEST, "1"], ["第二网格", EAST, "1"]]
    assert page.locator(".leaflet-tooltip.gg-label").count() == 2  # permanent labels: name + code
    assert WEST in page.locator(".leaflet-tooltip.gg-label").first.inner_text()

    # 1. A polygon across the two compounds: the overlaps are shown before anything is saved.
    c, h = X0 + D / 2, D / 8
    square = [(c - h, Y0 + D / 2 - h), (c + h, Y0 + D / 2 - h), (c + h, Y0 + D / 2 + h), (c - h, Y0 + D / 2 + h)]
    tool(page, "绘制新网格")
    click_at(page, *square[0])
    click_at(page, *square[1])
    assert latin_words(page) == []  # Geoman's toolbar, actions and drawing tooltip are Chinese too
    for pt in square[2:]:
        click_at(page, *pt)
    click_at(page, *square[0])
    wait_checked(page)
    found = findings(page)
    overlaps = sorted(sorted(f["codes"]) for f in found if f["rule"] == "overlap")
    draft = "610103006001003"  # the code the dry run of the save gives the new grid
    assert overlaps == [[WEST, draft], [EAST, draft]], found
    assert all("“新网格1”" in f["text"] for f in found if f["rule"] == "overlap")  # its name, not the code
    assert all("同级网格重叠" in f["text"] and "平方米" in f["text"] for f in found if f["rule"] == "overlap")
    assert page.locator("path.gg-problem-area").count() >= 2  # hatched problem areas
    assert page.locator(".gg-finding-marker").count() == len(found)
    red = page.evaluate(f"window.gridEditor.layerOf('{WEST}').options.color")
    assert red == "#d32f2f"  # involved grid outlined in red
    page.screenshot(path="/tmp/editor.png")
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == 6  # nothing written yet

    # 2. Remove the draft (Geoman removal mode): clean again.
    tool(page, "删除网格（已有网格可并入相邻网格）")
    click_at(page, c, Y0 + D / 2 + h / 2)
    tool(page, "删除网格（已有网格可并入相邻网格）")
    wait_checked(page)
    assert findings(page) == []
    assert page.locator("path.gg-problem-area").count() == 0
    assert page.evaluate(f"window.gridEditor.layerOf('{WEST}').options.color") != "#d32f2f"

    # 3. Pull the middle of compound 001's top edge down (Geoman edit mode): a gap appears.
    tool(page, "编辑顶点")
    drag(page, TOP_MID, NOTCH_A)
    tool(page, "编辑顶点")
    wait_checked(page)
    gaps = [f for f in findings(page) if f["rule"] == "gap"]
    assert gaps and all(WEST in f["codes"] for f in gaps), findings(page)

    # 4. Fill the gap with a new compound, snapping to the neighbours' vertices: clean.
    triangle = [(X0, Y0 + D), NOTCH_A, (X0 + D / 2, Y0 + D)]
    draw_polygon(page, triangle)
    wait_checked(page)
    assert findings(page) == []
    assert page.locator("#gg-findings-empty").inner_text() == "未发现问题。"
    page.fill("#gg-name", "文艺北路45号院")

    # 5. Save: one batch with 001 (version 1) and the new one without a code.
    page.click("#gg-save")
    wait_for(page, "() => document.querySelector('#gg-status').textContent.startsWith('已保存')")
    assert page.locator("#gg-status").inner_text() == "已保存（2 个网格）。"
    rows = page.locator("#gg-grid-list tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in rows] == [
        ["第一网格", WEST, "2"],
        ["第二网格", EAST, "1"],
        ["文艺北路45号院", "610103006001003", "1"],
    ]
    wait_checked(page)
    assert findings(page) == []
    page.screenshot(path="/tmp/editor-saved.png")

    with clean_engine.connect() as conn:
        row = conn.execute(
            text(
                """SELECT g.code, g.level, p.code, g.version, g.updated_by, ST_Area(g.geom::geography)
                   FROM grid g JOIN grid p ON p.id = g.parent_id
                   WHERE g.name = '文艺北路45号院' AND g.valid_to IS NULL AND g.lineage_id IS NULL"""
            )
        ).one()
        actors = conn.execute(
            text("SELECT action, actor FROM audit_log WHERE table_name = 'grid' AND actor LIKE 'user:%' ORDER BY id")
        ).all()
        west_version = conn.execute(
            text("SELECT version FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"), {"c": WEST}
        ).scalar_one()
    code, level, parent, version, updated_by, area = row
    assert (code, level, parent, version, updated_by) == ("610103006001003", "compound", COMMUNITY, 1, "user:comm1")
    expected = geojson_area_m2(clean_engine, triangle)
    assert abs(area - expected) / expected < 0.01, (area, expected)
    assert west_version == 2
    assert ("insert", "user:comm1") in [tuple(a) for a in actors]  # the logged-in user, through the session
    assert {a[1] for a in actors} == {"user:comm1"}
    assert latin_words(page) == []
    browser.watch.assert_clean()


def test_stale_version_is_refused_and_the_edit_kept(browser: Browser, base_url: str, clean_engine: Engine) -> None:
    # The browser itself logs a refused fetch ("Failed to load resource … 412"): that one line is expected.
    browser.watch.expected_console.append(
        re.compile(r"^Failed to load resource: the server responded with a status of 412 .*/api/grids/batch$")
    )
    tab_a = open_editor(browser, base_url, "comm1")
    tab_b = open_editor(browser, base_url, "comm1")  # a second tab of the same logged-in browser
    for tab, target in ((tab_a, NOTCH_A), (tab_b, NOTCH_B)):
        tab.bring_to_front()
        tool(tab, "编辑顶点")
        drag(tab, TOP_MID, target)
        tool(tab, "编辑顶点")
        wait_checked(tab)
        assert any(f["rule"] == "gap" for f in findings(tab))

    def save(tab: Page) -> str:
        tab.bring_to_front()
        tab.click("#gg-save")  # first click: "there are findings" warning, the button turns into 仍要保存
        wait_for(tab, "() => document.querySelector('#gg-save').textContent === '仍要保存'")
        assert "校验问题" in tab.locator("#gg-status").inner_text()
        tab.click("#gg-save")
        wait_for(tab, "() => /^(已保存|保存失败)/.test(document.querySelector('#gg-status').textContent)")
        return tab.locator("#gg-status").inner_text()

    assert save(tab_a) == "已保存（1 个网格）。"
    message = save(tab_b)
    assert message.startswith("保存失败，所有修改均未保存：网格 610103006001001 已被他人修改（当前版本 2"), message
    assert "请刷新后重试" in message
    assert "已被他人修改" in tab_b.locator("#gg-status").inner_text()
    row_b = tab_b.locator(f"#gg-grid-list tr[data-code='{WEST}']").inner_text().split("\t")
    assert row_b[2:] == ["1", "保存失败"]
    # Tab B keeps its own shape on screen (its notch at NOTCH_B), nothing reloaded over it.
    lats_b = tab_b.evaluate(
        f"window.gridEditor.layerOf('{WEST}').toGeoJSON(false).geometry.coordinates.flat(3).filter((_, i) => i % 2)"
    )
    assert min(abs(lat - NOTCH_B[1]) for lat in lats_b) < 1e-5

    with clean_engine.connect() as conn:
        version, area, ymin_notch = conn.execute(
            text(
                """SELECT version, ST_Area(geom::geography),
                          (SELECT min(ST_Y(d.geom)) FROM ST_DumpPoints(geom) d
                           WHERE ST_X(d.geom) > :x0 + 1e-6 AND ST_X(d.geom) < :x1 - 1e-6)
                   FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"""
            ),
            {"c": WEST, "x0": X0, "x1": X0 + D / 2},
        ).one()
        n_versions = conn.execute(text("SELECT count(*) FROM grid WHERE code = :c"), {"c": WEST}).scalar_one()
    assert version == 2 and n_versions == 2
    assert abs(ymin_notch - NOTCH_A[1]) < 2e-5, ymin_notch  # tab A's geometry, not tab B's
    full = geojson_area_m2(clean_engine, [(X0, Y0), (X0 + D / 2, Y0), (X0 + D / 2, Y0 + D), (X0, Y0 + D)])
    notch_a = geojson_area_m2(clean_engine, [(X0, Y0 + D), NOTCH_A, (X0 + D / 2, Y0 + D)])
    assert abs(area - (full - notch_a)) / (full - notch_a) < 0.01
    for tab in (tab_a, tab_b):
        assert latin_words(tab) == []
    browser.watch.assert_clean()


def test_scope_and_login_errors_show_the_servers_reason_and_a_rename_saves(
    browser: Browser, base_url: str, clean_engine: Engine
) -> None:
    browser.watch.expected_console.append(
        re.compile(r"^Failed to load resource: the server responded with a status of 40[13] .*/api/grids/batch$")
    )

    def rename(page: Page) -> None:
        page.locator(f"#gg-grid-list tr[data-code='{EAST}']").click()
        page.fill("#gg-name", "文艺北路46号院")
        assert "文艺北路46号院" in page.locator(".leaflet-tooltip.gg-label").nth(1).inner_text()  # label follows

    def save(page: Page) -> str:
        page.bring_to_front()
        page.evaluate("() => { document.querySelector('#gg-status').textContent = ''; }")
        page.click("#gg-save")
        wait_for(page, "() => document.querySelector('#gg-status').textContent !== ''")
        wait_for(page, "() => document.querySelector('#gg-status').textContent !== '正在保存…'")
        return page.locator("#gg-status").inner_text()

    def east_versions() -> int:
        with clean_engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM grid WHERE code = :c"), {"c": EAST}).scalar_one())

    # The editor of the other community may open this one, but the server refuses the save, saying why.
    other = open_editor(browser, base_url, "comm2")
    rename(other)
    refused = f"保存失败，所有修改均未保存：超出权限范围：610103006001、{EAST} 不在 610103006002 及其下级网格内"
    assert save(other) == refused
    assert other.locator(f"#gg-grid-list tr[data-code='{EAST}']").inner_text().split("\t")[2:] == ["1", "保存失败"]
    assert east_versions() == 1

    # A login that ended while editing: the edit stays on the map; logging in again in another tab lets it save.
    page = open_editor(browser, base_url, "comm1")
    rename(page)
    with clean_engine.begin() as conn:
        conn.execute(text("UPDATE user_session SET revoked_at = now() WHERE user_id = "
                          "(SELECT id FROM app_user WHERE username = 'comm1')"))  # fmt: skip
    message = save(page)
    assert message.startswith("保存失败：登录已失效，请重新登录。"), message
    assert "请不要刷新本页" in message
    assert east_versions() == 1
    again = browser.new_page("comm1")
    again.goto(f"{base_url}/login")
    log_in(again, "comm1")
    assert urlparse(again.url).path == "/"
    assert page.evaluate("() => window.sessionStorage.length + window.localStorage.length") == 0  # nothing stored
    assert save(page) == "已保存（1 个网格）。"
    with clean_engine.connect() as conn:
        name, version, updated_by = conn.execute(
            text(
                "SELECT name, version, updated_by FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"
            ),
            {"c": EAST},
        ).one()
    assert (name, version, updated_by) == ("文艺北路46号院", 2, "user:comm1")
    assert page.locator(f"#gg-grid-list tr[data-code='{EAST}']").inner_text().split("\t")[:3] == [
        "文艺北路46号院",
        EAST,
        "2",
    ]
    browser.watch.assert_clean()


# ------------------------------------------------------------------------------- topological editing

MID = (X0 + D / 2, Y0 + D / 2)  # a vertex of the west compound on the edge it shares with the east one
BULGE = (X0 + D / 2 + 0.001, Y0 + D / 2)  # where the tests drag it: the west compound grows by a triangle
IN_STRIP = (X0 + D / 2 + 0.0005, Y0 + D / 2)  # a household in the east compound that the triangle takes


def shared_edge_with_a_vertex(engine: Engine) -> None:
    """Give the west compound a vertex in the middle of the edge it shares with the east one (the east one has
    none there: a T-junction), and put a household with three residents just east of that edge."""
    from shapely.geometry import Polygon

    from gridgov.grids import service

    x = X0 + D / 2
    west = Polygon([(X0, Y0), (x, Y0), MID, (x, Y0 + D), (X0, Y0 + D)])
    with session_scope(engine) as s:
        service.update_grid(s, WEST, expected_version=1, actor=Actor.system("tests"), geometry=west.__geo_interface__)
        hid = s.execute(text("INSERT INTO household (code, kind, geom) VALUES ('HX', '常住户', "
                             "ST_SetSRID(ST_Point(:x, :y), 4326)) RETURNING id"),
                        {"x": IN_STRIP[0], "y": IN_STRIP[1]}).scalar_one()  # fmt: skip
        for i in range(3):
            s.execute(text("INSERT INTO person (code, household_id, name) VALUES (:c, :h, '居民')"),
                      {"c": f"PX{i}", "h": hid})  # fmt: skip


def live_grids(engine: Engine) -> dict[str, tuple[int, float]]:
    """The west community's live compounds: code → (version, area m²)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, version, ST_Area(geom::geography) FROM grid WHERE valid_to IS NULL "
                                 "AND lineage_id IS NULL AND level = 'compound' AND code LIKE :c || '%'"),
                            {"c": COMMUNITY})  # fmt: skip
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}


def grid_of(engine: Engine, household: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id "
                                 "WHERE h.code = :c AND h.valid_to IS NULL"), {"c": household}).scalar()  # fmt: skip


def drag_shared_vertex(page: Page) -> None:
    tool(page, "编辑顶点")
    drag(page, MID, BULGE)
    tool(page, "编辑顶点")
    wait_checked(page)


def validate_community(engine: Engine) -> list[Any]:
    from gridgov.grids.checks import check_live

    with session_scope(engine) as s:
        return check_live(s, parent_code=COMMUNITY)


def test_a_shared_vertex_moves_both_grids_and_the_counts_show_before_saving(
    browser: Browser, base_url: str, clean_engine: Engine
) -> None:
    shared_edge_with_a_vertex(clean_engine)
    before = live_grids(clean_engine)
    page = open_editor(browser, base_url, "comm1")
    assert page.locator("#gg-moves-total").inner_text() == "尚无修改。"
    drag_shared_vertex(page)
    assert findings(page) == []  # no gap, no overlap: the east compound followed
    rows = page.locator("#gg-grid-list tr").all_inner_texts()
    assert [r.split("\t")[3] for r in rows] == ["已修改", "已修改"]
    def vertices(code: str) -> set[tuple[float, float]]:
        flat = page.evaluate(f"window.gridEditor.layerOf('{code}').toGeoJSON(false).geometry.coordinates.flat(3)")
        return {(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)}

    moved = min(vertices(WEST), key=lambda v: abs(v[0] - BULGE[0]) + abs(v[1] - BULGE[1]))
    assert abs(moved[0] - BULGE[0]) < 5e-5 and abs(moved[1] - BULGE[1]) < 5e-5  # within a pixel or so
    assert moved in vertices(EAST)  # the very same vertex in the east compound
    # Before saving: one household with three residents will move from the east compound to the west one.
    assert page.locator("#gg-moves-total").inner_text() == "保存后将有 1 户、3 人改属其他网格："
    moves = [r.split("\t") for r in page.locator("#gg-moves tr").all_inner_texts()]
    assert moves == [["第一网格", "—", "1 / 3"], ["第二网格", "1 / 3", "—"]]
    assert live_grids(clean_engine) == before and grid_of(clean_engine, "HX") == EAST  # nothing written yet

    page.click("#gg-save")
    wait_for(page, "() => document.querySelector('#gg-status').textContent.startsWith('已保存')")
    assert page.locator("#gg-status").inner_text() == "已保存（2 个网格）。"
    after = live_grids(clean_engine)
    assert after[WEST][0] == before[WEST][0] + 1 and after[EAST][0] == before[EAST][0] + 1  # both new versions
    grown = after[WEST][1] - before[WEST][1]
    assert grown > 1000 and abs(grown + (after[EAST][1] - before[EAST][1])) < 0.5  # what one gains, the other loses
    assert validate_community(clean_engine) == []
    assert grid_of(clean_engine, "HX") == WEST
    wait_checked(page)
    assert page.locator("#gg-moves-total").inner_text() == "尚无修改。"
    assert latin_words(page) == []
    browser.watch.assert_clean()


def test_a_save_that_fails_on_the_second_grid_changes_no_grid(
    browser: Browser, base_url: str, clean_engine: Engine
) -> None:
    browser.watch.expected_console.append(
        re.compile(r"^Failed to load resource: the server responded with a status of 412 .*/api/grids/batch$")
    )
    shared_edge_with_a_vertex(clean_engine)
    page = open_editor(browser, base_url, "comm1")
    drag_shared_vertex(page)
    from gridgov.grids import service

    with session_scope(clean_engine) as s:  # meanwhile someone renames the east compound
        service.update_grid(s, EAST, expected_version=1, actor=Actor.system("tests"), name="第二网格（改）")
    before = live_grids(clean_engine)
    with clean_engine.connect() as conn:
        rows_before = conn.execute(text("SELECT count(*) FROM grid")).scalar_one()
    page.click("#gg-save")
    wait_for(page, "() => document.querySelector('#gg-status').textContent.startsWith('保存失败')")
    message = page.locator("#gg-status").inner_text()
    assert message.startswith(f"保存失败，所有修改均未保存：网格 {EAST} 已被他人修改"), message
    assert live_grids(clean_engine) == before  # the west compound was not written either
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == rows_before
    assert grid_of(clean_engine, "HX") == EAST
    states = {r.split("\t")[1]: r.split("\t")[3] for r in page.locator("#gg-grid-list tr").all_inner_texts()}
    assert states == {WEST: "已修改", EAST: "保存失败"}  # the edit stays on the map
    browser.watch.assert_clean()


def test_delete_a_grid_giving_its_area_to_a_neighbour(browser: Browser, base_url: str, clean_engine: Engine) -> None:
    shared_edge_with_a_vertex(clean_engine)
    before = live_grids(clean_engine)
    page = open_editor(browser, base_url, "comm1")
    page.locator(f"#gg-grid-list tr[data-code='{EAST}']").click()
    page.click("#gg-del")
    options = page.locator("#gg-del-to option").all_inner_texts()
    assert options == [f"并入 第一网格（{WEST}）", "不并入，留作空隙（校验将报告空隙）"]
    page.select_option("#gg-del-to", WEST)
    page.click("#gg-del-go")
    wait_for(page, f"() => !!window.gridEditor.state.grids.get('{EAST}').retired")
    wait_checked(page)
    assert findings(page) == []
    assert page.locator(f"#gg-grid-list tr[data-code='{EAST}']").inner_text().split("\t")[3] == f"待删除（并入 {WEST}）"
    assert page.locator("#gg-moves-total").inner_text() == "保存后将有 1 户、3 人改属其他网格："
    page.click("#gg-save")
    wait_for(page, "() => document.querySelector('#gg-status').textContent.startsWith('已保存')")
    assert page.locator("#gg-status").inner_text() == "已保存（2 个网格，其中删除 1 个）。"
    after = live_grids(clean_engine)
    assert set(after) == {WEST} and after[WEST][0] == before[WEST][0] + 1
    assert abs(after[WEST][1] - (before[WEST][1] + before[EAST][1])) < 0.5
    with clean_engine.connect() as conn:
        retired = conn.execute(text("SELECT valid_to IS NOT NULL, updated_by FROM grid WHERE code = :c AND "
                                    "lineage_id IS NULL"), {"c": EAST}).one()  # fmt: skip
    assert tuple(retired) == (True, "user:comm1")  # retired, not deleted
    assert validate_community(clean_engine) == []
    assert grid_of(clean_engine, "HX") == WEST
    assert [r.split("\t")[1] for r in page.locator("#gg-grid-list tr").all_inner_texts()] == [WEST]
    browser.watch.assert_clean()


def test_split_along_a_line_keeps_the_outer_boundary(browser: Browser, base_url: str, clean_engine: Engine) -> None:
    before = live_grids(clean_engine)
    page = open_editor(browser, base_url, "comm1")
    page.locator(f"#gg-grid-list tr[data-code='{EAST}']").click()
    page.click("#gg-split")
    y = Y0 + 0.3 * D
    start, end = (X0 + D / 2 - 0.0008, y), (X0 + D + 0.0008, y)
    click_at(page, *start)
    x1, y1 = xy(page, *end)
    page.mouse.move(x1, y1, steps=3)
    page.mouse.dblclick(x1, y1)
    wait_for(page, "() => window.gridEditor.state.drafts.length === 1")
    wait_checked(page)
    assert findings(page) == []
    assert page.locator("#gg-name").input_value() == "第二网格（分2）"
    page.fill("#gg-name", "第二网格南院")
    page.click("#gg-save")
    wait_for(page, "() => document.querySelector('#gg-status').textContent.startsWith('已保存')")
    after = live_grids(clean_engine)
    assert set(after) == {WEST, EAST, "610103006001003"}
    assert abs(after[EAST][1] + after["610103006001003"][1] - before[EAST][1]) < 0.5
    assert validate_community(clean_engine) == []
    browser.watch.assert_clean()
