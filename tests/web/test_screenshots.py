"""Every workspace page in offline Chromium at 1366×768 (the report page at a phone's 412×915), as the user guide
shows them: each page loads without a request leaving the machine and without a script error, and its screenshot is
not blank.

The incident pictures follow a case on a copy of the sample street (the grid worker reports from a phone and handles
a case dispatched to them with a photo; community staff find it to verify); the Party, 考核 and settings pages are
read on the shared sample street; the 开始使用 guide is the home page of a street just set up by
``gridgov.ops.install`` with no grids yet. The screenshots go to a temporary folder; ``scripts/screenshots.sh``
runs this module with GRIDGOV_SCREENSHOTS set to ``docs/images`` to refresh the guide's pictures.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.ops.install import init_installation

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.conftest import sample_database
from tests.web.conftest import PASSWORD, app_with_users

COMMUNITY, COMPOUND = "610103006001", "610103006001002"
STREET = "610103006"
USERS = {"shot_admin": ("admin", None, "李管理"), "shot_comm": ("community", COMMUNITY, "王社区"),
         "shot_street": ("street", STREET, "赵街道")}  # fmt: skip
VIEW = (1366, 768)
PHONE = (412, 915)
ORG = "DJ610103006001-04"  # a 党支部 of the sample with 党小组 under it
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
SYSTEM = Actor.system("tests")


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _settings(engine: Engine, home: Path) -> Settings:
    """The app's settings: no escalation sweep, so that the sample street stays as it was loaded."""
    return Settings(database_url=_url(engine), home=home / "home", maps_dir=home / "maps", node_modules=NODE_MODULES,
                    escalate_overdue=False)  # fmt: skip


@pytest.fixture(scope="module")
def app(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app on the sample street with this module's users (removed afterwards, with their sessions and jobs)."""
    home = tmp_path_factory.mktemp("app")
    with app_with_users(sample_engine, home, USERS):
        yield create_app(_settings(sample_engine, home), sample_engine)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pictures go."""
    target = os.environ.get("GRIDGOV_SCREENSHOTS")
    path = Path(target) if target else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _shoot(page: Any, out: Path, name: str, *, full_page: bool = False) -> None:
    png = page.screenshot(full_page=full_page)
    (out / f"{name}.png").write_bytes(png)
    assert_not_blank(png, 30)


def _login(page: Any, base: str, name: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + "/")


def test_staff_pages(app: FastAPI, sample_engine: Engine, out: Path, tmp_path: Path) -> None:
    with sample_engine.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(h.geom), ST_Y(h.geom) FROM household h JOIN grid g ON g.id = h.grid_id "
                                 "WHERE g.code = :c LIMIT 1"), {"c": COMPOUND}).one()  # fmt: skip
        household = conn.execute(text(  # one with residents and a history (the sample's kind changes)
            "SELECT h.code FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code = :c AND h.valid_to IS NULL "
            "AND EXISTS (SELECT 1 FROM person p WHERE p.household_id = h.id) ORDER BY h.version DESC, h.code LIMIT 1"),
            {"c": COMPOUND}).scalar_one()  # fmt: skip
    upload = tmp_path / "新增住户.csv"
    rows = [("SHOT0001", "常住户"), ("SHOT0002", "租房户"), ("SHOT0003", "空屋")]  # the last one is refused
    lines = "".join(f"{code},{kind},文艺北路1号,{x},{y}\n" for code, kind in rows)
    upload.write_text("户编码,户籍类型,地址,经度,纬度\n" + lines, encoding="utf-8")
    log = PageLog()
    with serve(app) as base, chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=VIEW)
        try:
            _shoot(page, out, "01-登录")
            _login(page, base, "shot_comm")
            _shoot(page, out, "02-首页")
            page.goto(base + "/grids")
            _shoot(page, out, "03-网格")
            page.goto(base + f"/grids/{COMPOUND}")
            page.frame_locator("iframe").locator(".leaflet-container").first.wait_for(timeout=180_000)
            _shoot(page, out, "04-网格详情")
            page.goto(base + f"/ledger?parent={COMMUNITY}")
            _shoot(page, out, "05-台帐")
            page.click("text=下载 Excel")
            page.wait_for_selector("[data-job-download]:not([hidden])", timeout=180_000)
            _shoot(page, out, "06-任务进度")
            page.goto(base + f"/boards?code={COMPOUND}&paper=A4&landscape=false&format=pdf")
            page.wait_for_selector("[data-testid=preview-img]", timeout=180_000)
            page.wait_for_function("() => document.querySelector('[data-testid=preview-img]').complete")
            _shoot(page, out, "07-公示牌")
            page.goto(base + "/maps")
            page.click("[data-testid=open-grid]")
            frame = page.frame_locator("iframe[name=mapframe]")
            frame.locator(".leaflet-container").first.wait_for(timeout=180_000)
            map_frame = page.frame(name="mapframe")
            assert map_frame is not None
            map_frame.wait_for_function(  # the labels placed (shown ones exist once sizes are known)
                "() => document.querySelector('.gridgov-label:not(.gridgov-label-off)') !== null", timeout=30_000)
            page.wait_for_timeout(1000)  # the opening zoom animation ends (labels are placed again after it)
            _shoot(page, out, "08-地图")
            page.goto(base + "/imports")
            _shoot(page, out, "09-数据导入")
            page.select_option("#entity", "households")
            page.set_input_files("#file", str(upload))
            page.click("form[action='/imports/check'] button[type=submit]")
            page.wait_for_load_state("load")
            assert "空屋" in page.content() or "户籍类型" in page.content()
            _shoot(page, out, "10-导入检查")
            page.goto(base + "/jobs")
            _shoot(page, out, "11-任务")
            page.goto(base + "/account/password")
            _shoot(page, out, "12-修改密码")
            page.goto(base + "/users")
            assert "没有权限" in page.content()
            _shoot(page, out, "13-没有权限")
            page.goto(base + f"/editor?parent={COMMUNITY}")
            page.wait_for_function("() => window.gridEditor && window.gridEditor.ready === true", timeout=180_000)
            page.wait_for_load_state("networkidle")  # the editor's first validation request
            _shoot(page, out, "14-网格编辑")
            page.goto(base + f"/households?grid={COMPOUND}")
            _shoot(page, out, "17-住户")
            page.goto(base + f"/households/{household}")
            _shoot(page, out, "18-住户详情")
            page.goto(base + f"/grids/{COMPOUND}/staff")
            _shoot(page, out, "19-网格人员")
        except Exception:
            (out / "failed.png").write_bytes(page.screenshot(full_page=True))
            raise
        finally:
            page.context.close()
        page = open_page(browser, base + "/login", log, viewport=VIEW)
        try:
            _login(page, base, "shot_admin")
            page.goto(base + "/users")
            _shoot(page, out, "15-用户")
            page.goto(base + "/")
            _shoot(page, out, "16-首页-街道")
            page.goto(base + "/vocab")
            _shoot(page, out, "20-词表")
        finally:
            page.context.close()
    # The refused import check (422) and the 403 page are shown on purpose; the browser logs their status.
    expected = ("status of 422", "status of 403")
    log.errors = [e for e in log.errors if not any(x in e for x in expected)]
    log.assert_clean()
    assert len(list(out.glob("*.png"))) >= 20


# ------------------------------------------------------------------------------------------------ 事件处置


@dataclass(frozen=True)
class Worker:
    """The grid worker of the incident pictures: their staff record, their compound and a point inside it."""

    staff: str
    grid: str
    lon: float
    lat: float

    @property
    def community(self) -> str:
        """The compound's community (its code's first 12 digits)."""
        return self.grid[:12]


class Located:
    """A browser whose new contexts stand at a fixed place with the location permission granted (a phone)."""

    def __init__(self, browser: Any, lon: float, lat: float) -> None:
        self.browser, self.place = browser, {"longitude": lon, "latitude": lat, "accuracy": 8}

    def new_context(self, **options: Any) -> Any:
        """A context at the place, allowed to read it."""
        return self.browser.new_context(**options, geolocation=self.place, permissions=["geolocation"])


@dataclass
class Copy:
    """A copy of the sample street the incident pictures may change, its app and its grid worker."""

    engine: Engine
    app: FastAPI
    worker: Worker


@pytest.fixture(scope="module")
def copy(server_url: str, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    """The sample street copied (dropped afterwards) with a grid worker linked to the staff member who has the most
    cases dispatched in their own compound, and a community user of that compound's community."""
    with sample_database(server_url, sample_dir, "gridgov_shots") as engine:
        with Session(engine) as s, s.begin():
            row = s.execute(text("""
                SELECT st.code AS staff, st.name, g.code AS grid, ST_X(ST_PointOnSurface(g.geom)) AS lon,
                       ST_Y(ST_PointOnSurface(g.geom)) AS lat
                  FROM incident i
                  JOIN staff st ON st.id = i.assignee_staff_id AND st.valid_to IS NULL
                  JOIN grid_role r ON r.staff_id = st.id AND r.until IS NULL AND r.role = '网格员'
                  JOIN grid g ON g.id = r.grid_id AND g.id = i.grid_id
                 WHERE i.status = '派遣'
                 GROUP BY st.code, st.name, g.code, g.geom
                 ORDER BY count(*) DESC, st.code LIMIT 1""")).one()  # fmt: skip
            worker = Worker(row.staff, row.grid, row.lon, row.lat)
            add_user(s, SYSTEM, "shot_grid", PASSWORD, "grid", worker.grid, row.name, staff_code=worker.staff)
            add_user(s, SYSTEM, "shot_comm2", PASSWORD, "community", worker.community, "刘社区")
        yield Copy(engine, create_app(_settings(engine, tmp_path_factory.mktemp("copy")), engine), worker)


def _photo(name: str, sky: tuple[int, int, int]) -> dict[str, Any]:
    """A made-up site photo (a JPEG with a kerb, a bin and litter) as Playwright hands a file to a file field."""
    img = Image.new("RGB", (800, 600), sky)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 380, 800, 600), fill=(128, 128, 120))
    draw.rectangle((0, 360, 800, 380), fill=(190, 190, 180))
    draw.rectangle((320, 210, 470, 380), fill=(40, 110, 60))
    for i in range(14):
        x, y = 200 + (i * 53) % 420, 400 + (i * 37) % 150
        draw.ellipse((x, y, x + 24, y + 16), fill=(220 - i * 7, 200, 90 + i * 8))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return {"name": name, "mimeType": "image/jpeg", "buffer": out.getvalue()}


@contextlib.contextmanager
def _session(browser: Any, base: str, user: str, log: PageLog, out: Path,
             viewport: tuple[int, int] = VIEW) -> Iterator[Any]:  # fmt: skip
    """A page logged in as ``user``; on a failure its full page is kept as failed.png."""
    page = open_page(browser, base + "/login", log, viewport=viewport)
    try:
        _login(page, base, user)
        yield page
    except Exception:
        (out / "failed.png").write_bytes(page.screenshot(full_page=True))
        raise
    finally:
        page.context.close()


def test_incident_pages(copy: Copy, out: Path) -> None:
    worker = copy.worker
    with copy.engine.connect() as conn:
        mine = conn.execute(text(  # the case dispatched to the worker with the earliest deadline
            "SELECT i.code FROM incident i JOIN staff st ON st.id = i.assignee_staff_id JOIN grid g ON g.id = i.grid_id"
            " WHERE i.status = '派遣' AND st.code = :s AND g.code = :g ORDER BY i.deadline, i.code LIMIT 1"),
            {"s": worker.staff, "g": worker.grid}).scalar_one()  # fmt: skip
    log = PageLog()
    with serve(copy.app) as base, chromium() as browser:
        with _session(Located(browser, worker.lon, worker.lat), base, "shot_grid", log, out, PHONE) as phone:
            phone.goto(base + "/incidents/new")
            phone.wait_for_selector("#ir-map[data-ready='1']")
            phone.wait_for_function(f"document.getElementById('ir-grid').textContent.includes('{worker.grid}')")
            assert "已使用手机定位" in phone.locator("#ir-place-status").inner_text()
            phone.select_option("#ir-category", "市容环境")
            phone.select_option("#ir-subcategory", "市容环境/暴露垃圾")
            phone.fill("#ir-description", "3 号楼东侧垃圾桶满溢，垃圾散落路面")
            phone.set_input_files("#ir-photos", files=[_photo("现场.jpg", (150, 190, 230))])
            phone.wait_for_selector("#ir-previews img")
            _shoot(phone, out, "21-上报事件", full_page=True)

        with _session(browser, base, "shot_grid", log, out) as desk:
            desk.goto(base + "/incidents")
            assert desk.locator("[data-box=mine].active").count() == 1
            assert desk.locator(f"tr[data-case={mine}]").count() == 1
            _shoot(desk, out, "22-事件待办")
            desk.click(f"tr[data-case={mine}] a")
            desk.wait_for_url(f"{base}/incidents/{mine}")
            desk.wait_for_selector("#ir-case-map[data-ready='1']")
            assert desk.locator("details[data-action=handle][open]").count() == 1
            desk.fill("#ia-handle-note", "已清运，地面已冲洗")
            desk.set_input_files("#ia-handle-photos", files=[_photo("处置后.jpg", (160, 200, 235))])
            _shoot(desk, out, "23-事件处置")
            desk.locator("details[data-action=handle] button[type=submit]").click()
            desk.wait_for_url(re.compile(rf".*/incidents/{mine}\?done=.*"))
            assert "现为「处置」" in desk.locator(".alert-success").inner_text()

        with _session(browser, base, "shot_comm2", log, out) as desk:
            desk.goto(base + "/incidents?box=verify")
            desk.click(f"tr[data-case={mine}] a")
            desk.wait_for_url(f"{base}/incidents/{mine}")
            desk.wait_for_selector("#ir-case-map[data-ready='1']")
            desk.locator("[data-testid=photos] img").first.wait_for()
            desk.wait_for_function("[...document.querySelectorAll('[data-testid=photos] img')]"
                                   ".every(img => img.complete && img.naturalWidth > 0)")  # fmt: skip
            assert desk.locator("details[data-action=verify]").count() == 1
            assert desk.locator("details[data-action=rework]").count() == 1
            _shoot(desk, out, "24-事件核查", full_page=True)
    log.assert_clean()
    with copy.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM incident WHERE code = :c"), {"c": mine}).scalar_one()
    assert status == "处置"


# ------------------------------------------------------------------------------------------------ 考核, 设置, 党建


def test_review_settings_and_party_pages(app: FastAPI, sample_engine: Engine, out: Path) -> None:
    with sample_engine.connect() as conn:
        member = conn.execute(text(  # a member of ORG who links households (a 联系户 list to show)
            "SELECT p.code FROM party_membership m JOIN person p ON p.id = m.person_id "
            "JOIN party_org o ON o.id = m.org_id "
            "WHERE o.code = :o AND o.valid_to IS NULL AND m.until IS NULL AND p.valid_to IS NULL "
            "ORDER BY (SELECT count(*) FROM party_contact c WHERE c.person_id = p.id) DESC, p.code LIMIT 1"),
            {"o": ORG}).scalar_one()  # fmt: skip
        team = conn.execute(text("SELECT t.code FROM volunteer_team t WHERE t.code LIKE :c ORDER BY t.code LIMIT 1"),
                            {"c": f"ZY{COMMUNITY}%"}).scalar_one()  # fmt: skip
        last = conn.execute(text("SELECT max(reported_at) FROM incident")).scalar_one()
    month = last.date().replace(day=1)
    log = PageLog()
    with serve(app) as base, chromium() as browser:
        with _session(browser, base, "shot_street", log, out) as page:
            page.goto(base + f"/incident-kpi?level=community&from={month}&to={last.date()}")
            assert page.locator("[data-testid=kpi-table]").count() == 1
            _shoot(page, out, "25-事件考核")
            page.goto(base + "/party/check")
            page.wait_for_selector("#check-map path.leaflet-interactive", state="attached")
            _shoot(page, out, "38-党建合规检查")
        with _session(browser, base, "shot_admin", log, out) as page:
            page.goto(base + "/admin/calendar")
            _shoot(page, out, "26-工作日历")
            page.goto(base + "/admin/incident-rules")
            _shoot(page, out, "27-时限与派遣规则")
        with _session(browser, base, "shot_comm", log, out) as page:
            party = (("/party", "28-党建"), ("/party/orgs", "29-党组织"), (f"/party/orgs/{ORG}", "30-党组织详情"),
                     ("/party/members", "31-党员"), (f"/party/members/{member}", "32-党员详情"),
                     ("/party/contacts", "33-党员联系户"), ("/party/activity", "34-志愿服务与会议"),
                     (f"/party/teams/{team}", "35-志愿服务队"))  # fmt: skip
            for path, name in party:
                page.goto(base + path)
                _shoot(page, out, name)
            page.goto(base + "/party/meetings")
            _shoot(page, out, "36-党组织会议")
            page.goto(base + "/party/duty-areas")
            page.wait_for_selector("#duty-map path.leaflet-interactive", state="attached")
            _shoot(page, out, "37-党员责任区")
            page.goto(base + f"/boards?kind=party&code={COMPOUND}&paper=A4&landscape=false&format=pdf")
            page.wait_for_selector("[data-testid=preview-img]", timeout=180_000)
            page.wait_for_function("() => document.querySelector('[data-testid=preview-img]').complete")
            _shoot(page, out, "39-党建公示牌")
    log.assert_clean()


# ------------------------------------------------------------------------------------------------ 新街道上线


def test_new_street_home(clean_engine: Engine, settings_for: Settings, out: Path) -> None:
    with Session(clean_engine) as s, s.begin():
        init_installation(s, SYSTEM, STREET, node_modules=NODE_MODULES)
        add_user(s, SYSTEM, "shot_admin", PASSWORD, "admin", None, "李管理")
    app = create_app(settings_for.model_copy(update={"node_modules": NODE_MODULES}), clean_engine)
    log = PageLog()
    with serve(app) as base, chromium() as browser, _session(browser, base, "shot_admin", log, out) as page:
        assert "开始使用：文艺路街道（610103006）" in page.locator("[data-testid=getting-started]").inner_text()
        _shoot(page, out, "40-首页-开始使用")
    log.assert_clean()
