"""Living records through the pages only, in offline Chromium at 1366×768: community staff find a household, change
its kind and address, and hand their grid's 网格员 post to a new person; PostGIS then holds the household's new
version with the former state as a history row, and the old post ended on the day the new one began."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.history import day_of
from gridgov.records.roles import add_role
from gridgov.records.service import create_record

from tests.browser import PageLog, chromium, open_page, serve
from tests.factories import X0, Y0, D, make_street
from tests.web.conftest import PASSWORD

WEST = "610103006001001"
OP = Actor.system("tests")
TODAY = day_of(None)
MONTH_AGO = TODAY - dt.timedelta(days=30)


@pytest.fixture
def base(clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The factory street with a household and a 网格员 on record a month ago, a community user, and the app served
    on a free port."""
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))
        add_user(s, OP, "records_comm", PASSWORD, "community", "610103006001", "社区王老师")
        create_record(s, "households", {"code": "HB1", "kind": "常住户", "address": "文艺北路 8 号 2 单元 301",
                                        "lon": X0 + D / 4, "lat": Y0 + D / 2}, OP, effective=MONTH_AGO)  # fmt: skip
        add_role(s, OP, grid_code=WEST, role="网格长", name="张长", phone="13900000001", since=MONTH_AGO)
        add_role(s, OP, grid_code=WEST, role="网格员", name="李旧", phone="13900000002", since=MONTH_AGO)
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def _login(page: Any, base: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", "records_comm")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + then)


def test_a_household_is_edited_and_a_grid_handed_over_through_the_pages(base: str, clean_engine: Engine) -> None:
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            _login(page, base, "/households")
            page.fill("#hh-q", "8 号")
            page.click("form[action='/households'] button[type=submit]")
            page.click("[data-household=HB1] a")
            page.wait_for_url(f"{base}/households/HB1")
            page.select_option("#he-kind", "租房户")
            page.fill("#he-address", "文艺北路 8 号 2 单元 302")
            page.click("[data-testid=save-household]")
            page.wait_for_url(f"{base}/households/HB1?done=*")
            saved = page.locator(".alert-success").inner_text()
            assert "已保存户 HB1 的修改（户类型、地址），现为第 2 版" in saved
            assert page.locator("[data-testid=kind]").inner_text() == "租房户"
            assert "户类型：常住户 → 租房户" in page.locator("[data-testid=history]").inner_text()

            page.goto(f"{base}/grids/{WEST}")
            page.frame_locator("iframe").locator(".leaflet-container").first.wait_for(timeout=180_000)
            page.wait_for_load_state("networkidle")  # leaving while the map loads its icons would abort them
            page.click("[data-testid=staff-page]")
            page.wait_for_url(f"{base}/grids/{WEST}/staff")
            form = page.locator("[data-testid=hand-over]")
            form.locator("#ho-role").select_option("网格员")
            form.locator("#ho-name").fill("王新")
            form.locator("#ho-phone").fill("13900000003")
            assert form.locator("#ho-day").input_value() == TODAY.isoformat()
            page.click("[data-testid=do-hand-over]")
            page.wait_for_url(f"{base}/grids/{WEST}/staff?done=*")
            assert "网格员已交接：李旧" in page.locator(".alert-success").inner_text()
            held = page.locator("[data-testid=posts-on-day]").inner_text()
            assert "王新" in held and "李旧" not in held and "张长" in held
        finally:
            page.context.close()
    log.assert_clean()
    with clean_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT lineage_id IS NULL AS live, kind, address, version, valid_from, valid_to, updated_by "
            "FROM household WHERE code = 'HB1' ORDER BY valid_from")).all()  # fmt: skip
        posts = conn.execute(text("SELECT s.name, r.role, r.since, r.until, r.end_reason FROM grid_role r "
                                  "JOIN staff s ON s.id = r.staff_id JOIN grid g ON g.id = r.grid_id "
                                  "WHERE g.code = :g ORDER BY r.id"), {"g": WEST}).all()  # fmt: skip
    former, current = rows
    assert (former.live, former.kind, former.version, current.live, current.kind, current.version) == (
        False, "常住户", 1, True, "租房户", 2)  # fmt: skip
    assert (former.address, current.address) == ("文艺北路 8 号 2 单元 301", "文艺北路 8 号 2 单元 302")
    assert former.valid_to == current.valid_from and current.valid_to is None
    assert day_of(former.valid_from) == MONTH_AGO and current.updated_by == "user:records_comm"
    assert [tuple(p) for p in posts] == [("张长", "网格长", MONTH_AGO, None, None),
                                         ("李旧", "网格员", MONTH_AGO, TODAY, "交接"),
                                         ("王新", "网格员", TODAY, None, None)]  # fmt: skip
