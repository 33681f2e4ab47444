"""巡逻日报 (/patrol/report): the absent and late teams first and marked, times after midnight, the grids not
visited, yesterday by default, the date picker, and in Chromium a patrol leader finding them and downloading the
month's 考勤表."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.browser import PageLog, chromium, open_page, serve
from tests.patrol.test_attendance import NIGHT, build
from tests.web.conftest import PASSWORD, login

TZ = ZoneInfo("Asia/Shanghai")


def yesterday() -> dt.date:
    return dt.datetime.now(TZ).date() - dt.timedelta(days=1)


def street(engine: Engine, tmp: Path, night: dt.date) -> None:
    """The attendance scenario on ``night`` and a patrol leader and a viewer to read it."""
    with session_scope(engine) as s:
        build(s, tmp, night)
        add_user(s, Actor.system("tests"), "leader", PASSWORD, "patrol", "610103006001", "巡逻队长")
        add_user(s, Actor.system("tests"), "reader", PASSWORD, "viewer", None)


@pytest.fixture
def client(clean_engine: Engine, settings_for: Settings, tmp_path: Path) -> Iterator[TestClient]:
    street(clean_engine, tmp_path, NIGHT)
    app = create_app(settings_for, clean_engine)
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False) as c:
        yield c


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="[^"]*" data-team="([^"]+)" data-status="([^"]+)">', html)


def test_the_worst_come_first_and_are_marked(client: TestClient) -> None:
    login(client, "leader")
    page = client.get("/patrol/report", params={"date": NIGHT.isoformat()})
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "巡逻日报 2026-10-14（星期三）" in html
    assert rows(html) == [("T4", "缺勤"), ("T2", "迟到"), ("T3", "早退"), ("T1", "出勤"), ("T5", "出勤")]
    assert '<tr class="table-danger" data-team="T4"' in html and '<tr class="table-warning" data-team="T2"' in html
    counts = dict(re.findall(r'data-count="([^"]+)">(\d+)<', html))
    assert counts == {"出勤": "2", "迟到": "1", "早退": "1", "缺勤": "1"}
    t3 = html.split('data-team="T3"')[1].split("</tr>")[0]
    assert '<td class="text-nowrap" data-first>23:40</td>' in t3
    assert 'fw-bold text-danger" data-last>次日 05:30' in t3  # left early: marked
    t1 = html.split('data-team="T1"')[1].split("</tr>")[0]
    assert "第二网格（610103006001002）" in t1 and ">175<" in t1 and ">50%<" in t1
    t5 = html.split('data-team="T5"')[1].split("</tr>")[0]
    assert "郑七（队员 请假）" in t5 and "王八（队员 由冯九替班）" in t5 and "冯九（替王八 出勤）" in t5
    assert 'href="/api/patrol/attendance/file?month=2026-10"' in html
    assert 'href="/patrol/report?date=2026-10-13"' in html and 'href="/patrol/report?date=2026-10-15"' in html


def test_yesterday_by_default_and_a_night_without_roster(client: TestClient) -> None:
    login(client, "reader")  # reading is enough
    page = client.get("/patrol/report")
    assert page.status_code == 200
    # yesterday had no roster: the latest night that had one is shown, and the page says so
    assert f"昨日（{yesterday().isoformat()}）没有排班，显示最近有排班的一晚。" in page.text
    assert "巡逻日报 2026-10-15" in page.text and 'value="2026-10-15"' in page.text
    empty = client.get("/patrol/report", params={"date": "2026-10-20"})
    assert "2026-10-20 没有排班。" in empty.text and rows(empty.text) == []
    none = client.get("/patrol/report", params={"date": "2026-10-15"})  # rostered, no tracks: all absent
    assert rows(none.text) == [("T1", "缺勤"), ("T2", "缺勤")]


def test_anonymous_visitors_log_in_first_and_bad_dates_are_refused(client: TestClient) -> None:
    r = client.get("/patrol/report")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fpatrol%2Freport")
    login(client, "leader")
    bad = client.get("/patrol/report", params={"date": "2026-02-30"})
    assert bad.status_code == 422 and "日期不存在：2026-02-30" in bad.text


def test_in_chromium_a_patrol_leader_reads_yesterday_and_downloads_the_month(
    clean_engine: Engine, settings_for: Settings, tmp_path: Path
) -> None:
    night = yesterday()
    street(clean_engine, tmp_path, night)
    with serve(create_app(settings_for, clean_engine)) as base, chromium() as browser:
        log = PageLog()
        page = open_page(browser, f"{base}/login?next=/patrol/report", log, viewport=(1366, 768))
        page.fill("#username", "leader")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/patrol/report")
        assert page.locator("[data-testid=title]").inner_text().startswith(f"巡逻日报 {night.isoformat()}")
        table = page.locator("[data-testid=report] tbody tr")
        assert [table.nth(i).get_attribute("data-status") for i in range(2)] == ["缺勤", "迟到"]
        absent, late = table.nth(0), table.nth(1)
        assert "机关四队" in absent.inner_text() and "机关二队" in late.inner_text()
        assert "20:20" in late.locator("[data-first]").inner_text()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        box = page.locator("[data-testid=report]").bounding_box()
        assert box is not None and box["width"] <= 1366  # fits the office screen without scrolling sideways
        with page.expect_download() as got:
            page.locator("[data-testid=month-file]").click()
        wb = openpyxl.load_workbook(io.BytesIO(got.value.path().read_bytes()))
        assert wb.sheetnames == ["考勤汇总", "每日考勤", "说明"]
        assert wb["考勤汇总"]["A1"].value == f"文艺路街道巡逻考勤表（{night:%Y-%m}）"
        assert got.value.suggested_filename == f"文艺路街道巡逻考勤表_{night:%Y-%m}.xlsx"
        log.assert_clean()
