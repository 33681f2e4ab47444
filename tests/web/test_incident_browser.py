"""The incident loop in offline Chromium: the grid worker reports a case with a photo from the report page on a phone
(390×844) using the phone's location (a fixed position inside compound …001001), and sees it on the case page;
community staff (whose browser may not use the location: they tap the map instead) accept and dispatch it; the worker
handles it from their inbox (待我处置) with an after photo; community staff verify and close it from theirs (待核查).
PostGIS then holds the case as 结案 with its six steps. Screenshots of the report page, the case page (and its print
view) and the inbox go to /tmp/t20/shots/ for a look."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.config import Settings

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.factories import X0, Y0, D
from tests.web.conftest import PASSWORD

HERE = {"longitude": X0 + D / 4, "latitude": Y0 + D / 2, "accuracy": 12}  # inside compound 610103006001001
PHONE = (390, 844)
DESK = (1366, 768)
SHOTS = Path("/tmp/t20/shots")
DONE = re.compile(r".*/incidents/E\d+\?done=.*")


def photo(colour: tuple[int, int, int]) -> dict[str, Any]:
    """A JPEG as Playwright hands a file to a file field."""
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, "JPEG")
    return {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


class Located:
    """A browser whose new contexts know where they are (a fixed position, geolocation allowed): what
    ``open_page`` needs to report with the phone's location, without changing the shared harness."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_context(self, **options: Any) -> Any:
        """A context at ``HERE`` with the geolocation permission granted."""
        return self.browser.new_context(**options, geolocation=HERE, permissions=["geolocation"])


@pytest.fixture
def base(users: dict, clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The factory street with the 网格员 S1 (grid1's own staff record) and the app served on a free port."""
    with Session(clean_engine) as s, s.begin():
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001')"))
        s.execute(text("""INSERT INTO grid_role (grid_id, staff_id, role, since)
                          SELECT g.id, st.id, '网格员', DATE '2020-01-01' FROM grid g, staff st
                           WHERE g.code = '610103006001001' AND g.valid_to IS NULL AND st.code = 'S1'"""))
        s.execute(text("UPDATE app_user SET staff_id = (SELECT id FROM staff WHERE code = 'S1') "
                       "WHERE username = 'grid1'"))
    app = create_app(settings_for.model_copy(update={"escalate_overdue": False}), clean_engine)
    with serve(app) as url:
        yield url


def login(page: Any, base: str, user: str, then: str) -> None:
    """Log in through the form and land on ``then``."""
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + then)


def take(page: Any, action: str, note: str | None = None, photo_file: dict[str, Any] | None = None) -> str:
    """Take a step through its form on the case page; the notice it leads to."""
    form = page.locator(f"details[data-action={action}]")
    form.evaluate("el => { el.open = true; }")
    if note is not None:
        page.fill(f"#ia-{action}-note", note)
    if photo_file is not None:
        page.set_input_files(f"#ia-{action}-photos", files=[photo_file])
    form.locator("button[type=submit]").click()
    page.wait_for_url(DONE)
    return str(page.locator(".alert-success").inner_text())


def shot(page: Any, name: str) -> None:
    """A full-page screenshot for a human look (and not blank)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SHOTS / name), full_page=True)
    assert_not_blank(png)


def test_a_case_is_reported_from_a_phone_handled_verified_and_closed(base: str, clean_engine: Engine) -> None:
    log = PageLog()
    with chromium() as browser:
        phone = open_page(Located(browser), base + "/login", log, viewport=PHONE)
        desk = open_page(browser, base + "/login", log, viewport=DESK)
        try:
            login(phone, base, "grid1", "/incidents/new")
            # the phone's location is taken as the page opens, and its grid named
            phone.wait_for_function("document.getElementById('ir-grid').textContent.includes('第一网格')")
            assert "已使用手机定位（精度约 12 米）" in phone.locator("#ir-place-status").inner_text()
            assert phone.locator("#ir-grid").inner_text() == "文艺路街道 › 文艺北路一社区 › 第一网格（610103006001001）"
            phone.wait_for_selector("#ir-map[data-ready='1']")
            phone.select_option("#ir-category", "市容环境")
            phone.select_option("#ir-subcategory", "市容环境/暴露垃圾")
            phone.fill("#ir-description", "3 号楼东侧垃圾桶满溢，垃圾散落路面")
            phone.set_input_files("#ir-photos", files=[photo((200, 40, 40))])
            phone.wait_for_selector("#ir-previews img")
            assert phone.locator("#ir-photo-count").inner_text() == "已选 1 张"
            for narrow in (360, PHONE[0]):  # no sideways scrolling down to the narrowest phones
                phone.set_viewport_size({"width": narrow, "height": PHONE[1]})
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= narrow, f"the report page is {width} px wide on a {narrow} px phone"
            shot(phone, "report-phone.png")
            phone.click("#ir-submit")
            phone.wait_for_url(DONE)
            code = phone.locator("[data-testid=code]").inner_text()
            assert phone.locator(".alert-success").inner_text().startswith(f"已上报事件 {code}（第一网格），受理时限")
            assert phone.locator("[data-testid=status]").inner_text() == "上报"
            phone.wait_for_selector("#ir-case-map[data-ready='1']")
            thumb = phone.locator("[data-testid=photos] img").first
            thumb.wait_for()
            assert thumb.evaluate("img => img.complete && img.naturalWidth") == 320
            shot(phone, "case-phone.png")

            # without the location permission the page says so, and a tap on the map places the point instead
            login(desk, base, "comm1", "/incidents/new")
            desk.wait_for_selector("#ir-map[data-ready='1']")
            desk.wait_for_function("document.getElementById('ir-place-status').textContent.includes('定位权限被拒绝')")
            box = desk.locator(".ir-grid-label", has_text="第二网格").bounding_box()
            desk.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 30)
            desk.wait_for_function("document.getElementById('ir-grid').textContent.includes('第二网格（610103006001002）')")
            assert desk.locator("#ir-place-status").inner_text().startswith("已在地图上选定位置")
            assert "（地图选点）" in desk.locator("#ir-coords").inner_text()

            desk.goto(base + "/incidents")
            desk.click("[data-box=all]")
            desk.wait_for_url(f"{base}/incidents?box=all")
            desk.click(f"tr[data-case={code}] a")
            desk.wait_for_url(f"{base}/incidents/{code}")
            assert "已受理立案" in take(desk, "accept")
            assert "现为「派遣」" in take(desk, "dispatch")

            phone.goto(base + "/incidents")
            assert phone.locator("[data-box=mine].active").count() == 1
            phone.click(f"tr[data-case={code}] a")
            phone.wait_for_url(f"{base}/incidents/{code}")
            assert phone.locator("details[data-action=handle][open]").count() == 1  # the assignee's step first
            assert "现为「处置」" in take(phone, "handle", "已清运，地面已冲洗", photo((40, 160, 60)))

            desk.goto(base + "/incidents?box=verify")
            desk.click(f"tr[data-case={code}] a")
            desk.wait_for_url(f"{base}/incidents/{code}")
            assert desk.locator("[data-testid=photos] img").count() == 2  # before and after, side by side
            assert "现为「核查」" in take(desk, "verify", "现场已整洁")
            assert "现为「结案」" in take(desk, "close")
            desk.wait_for_selector("#ir-case-map[data-ready='1']")
            shot(desk, "case-desk.png")
            steps = desk.locator("[data-testid=timeline] > li").evaluate_all("els => els.map(e => e.dataset.step)")
            assert steps == ["上报", "立案", "派遣", "处置", "核查通过", "结案"]
            desk.emulate_media(media="print")  # the case sheet: facts, map, photos and timeline; no forms
            assert not desk.locator("details[data-action]").first.is_visible()
            assert desk.locator("[data-testid=timeline]").is_visible() and not desk.locator(".alert").is_visible()
            shot(desk, "case-print.png")
            desk.emulate_media(media="screen")
            # the 考核 page counts the case this month: reported, closed on time, inside the grid
            desk.goto(base + "/incident-kpi")
            figures = desk.locator("tr[data-code='610103006001001']").evaluate(
                """tr => { const keys = [...document.querySelectorAll('[data-testid=kpi-table] th[data-key]')]
                                       .map(th => th.dataset.key);
                           const cells = [...tr.querySelectorAll('td.fig')]
                                       .map(td => td.firstChild ? td.firstChild.textContent.trim() : '');
                           return Object.fromEntries(keys.map((k, i) => [k, cells[i]])); }""")
            assert {k: figures[k] for k in ("reported", "closed", "on_time_rate", "closed_at_grid_rate")} == {
                "reported": "1", "closed": "1", "on_time_rate": "100.0%", "closed_at_grid_rate": "100.0%"}
            shot(desk, "kpi-desk.png")
            phone.goto(base + "/incidents?box=all")
            assert phone.locator(f"tr[data-case={code}] [data-status]").inner_text() == "结案"
            shot(phone, "inbox-phone.png")
        finally:
            phone.context.close()
            desk.context.close()
    log.assert_clean()
    with clean_engine.connect() as conn:
        row = conn.execute(text("""SELECT i.status, i.level, count(DISTINCT p.id) AS photos,
                                          i.closed_at IS NOT NULL AS closed,
                                          (SELECT s.code FROM staff s WHERE s.id = i.assignee_staff_id) AS assignee
                                     FROM incident i LEFT JOIN incident_photo p ON p.incident_id = i.id
                                    WHERE i.code = :c GROUP BY i.id"""), {"c": code}).one()  # fmt: skip
    assert (row.status, row.level, row.photos, row.closed, row.assignee) == ("结案", "网格", 2, True, "S1")
