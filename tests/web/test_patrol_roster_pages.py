"""The 巡逻排班 pages on the hand-made rota street (tests/patrol/test_rosters.py): the month table, generating it,
a night's entries with their forms (set, add, remove, leave, substitution), the notice list and the files; each
checked on the page text and on the rows in PostGIS. Last, a Chromium walk through the month page at 1366×768."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.patrol.test_rosters import build_rota_street
from tests.web.conftest import PASSWORD, csrf_of, login

LoginAs = Callable[[str], TestClient]
OP = Actor.system("tests")
USERS = {"admin": ("admin", None), "comm1": ("community", "610103006001"), "patrol1": ("patrol", "610103006001"),
         "viewer": ("viewer", None)}  # fmt: skip


def _street_with_users(engine: Engine) -> None:
    with session_scope(engine) as s:
        build_rota_street(s)
        for name, (role, scope) in USERS.items():
            add_user(s, OP, name, PASSWORD, role, scope, f"测试{name}")


@pytest.fixture
def as_user(web: TestClient, clean_engine: Engine) -> LoginAs:
    """The rota street with a user per role; a function: a new client logged in as that user."""
    _street_with_users(clean_engine)
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


def post_form(client: TestClient, page: str, action: str, data: dict[str, str]) -> Any:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action``."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrftoken": token, **data})


def plain(html: str) -> str:
    """The page's text without tags and spaces."""
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", " ", html))


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_generating_the_month_and_reading_it(as_user: LoginAs, clean_engine: Engine) -> None:
    patrol = as_user("patrol1")
    empty = patrol.get("/patrol/roster?month=2026-11")
    assert empty.status_code == 200 and "2026年11月还没有排班" in empty.text and 'data-testid="generate"' in empty.text
    assert '<option value="610103006001">文艺北路一社区（610103006001）的巡逻队</option>' in empty.text
    assert "全部巡逻队" not in empty.text  # a scoped user generates for its community only
    october = post_form(patrol, "/patrol/roster?month=2026-10", "/patrol/roster/generate",
                        {"month": "2026-10", "grid": "610103006001"})  # fmt: skip
    assert october.status_code == 403 and "超出权限范围" in october.text  # …002 leads the shared area in October
    r = post_form(patrol, "/patrol/roster?month=2026-11", "/patrol/roster/generate",
                  {"month": "2026-11", "grid": "610103006001"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/patrol/roster?month=2026-11&done=")
    page = patrol.get(r.headers["location"])
    assert "已按规则生成2026年11月排班 30 条（替换原规则排班 0 条）" in page.text
    text_ = plain(page.text)
    assert "11月1日星期日未排班一社区志愿队乙带队：—" in text_
    assert "11月2日星期一未排班一社区志愿队甲·一二社区联防区（文艺北路一社区牵头）带队：陈志愿" in text_
    assert rows(clean_engine, "SELECT count(*), min(updated_by), max(updated_by) FROM patrol_roster") == [
        (30, "user:patrol1", "user:patrol1")]

    admin = as_user("admin")
    r = post_form(admin, "/patrol/roster?month=2026-10", "/patrol/roster/generate", {"month": "2026-10", "grid": ""})
    assert r.status_code == 303
    month = admin.get("/patrol/roster?month=2026-10")
    assert month.status_code == 200 and "文艺路街道2026年10月夜间巡逻排班表" in month.text
    assert len(re.findall(r'<tr data-night="2026-10-\d\d"', month.text)) == 31
    assert 'data-entry="2026-10-01/上半夜/E1"' in month.text and 'href="/patrol/roster?month=2026-11"' in month.text
    first = plain(month.text.split('data-night="2026-10-01">')[1].split("</tr>")[0])
    assert first == ("10月1日星期四第一干部巡逻队·干部巡逻区带队：钱一"
                     "一社区志愿队甲·一二社区联防区（文艺北路二社区牵头）带队：陈志愿"
                     "二社区志愿队·二社区巡逻区（文艺北路二社区牵头）带队：沈二钱一赵街道、冯社区")  # fmt: skip

    viewer = as_user("viewer")
    seen = viewer.get("/patrol/roster?month=2026-10")
    assert seen.status_code == 200 and "第一干部巡逻队" in seen.text and 'data-testid="generate"' not in seen.text
    night = viewer.get("/patrol/roster/night?date=2026-10-02")
    assert night.status_code == 200 and "钱一" in night.text and 'action="/patrol/roster/leave"' not in night.text
    refused = viewer.post("/patrol/roster/generate", data={"csrftoken": csrf_of(seen.text), "month": "2026-10"})
    assert refused.status_code == 403 and "权限不足" in refused.text

    bad = admin.get("/patrol/roster?month=2026-13")
    assert bad.status_code == 422 and "月份格式应为 YYYY-MM" in bad.text
    anonymous = TestClient(admin.app, headers={"Accept": "text/html"}, follow_redirects=False).get("/patrol/roster")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")


def test_a_nights_forms(as_user: LoginAs, clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        from gridgov.patrol.rosters import generate_month

        generate_month(s, dt.date(2026, 10, 1), OP)
    comm = as_user("comm1")
    page_url = "/patrol/roster/night?date=2026-10-02"
    page = comm.get(page_url)
    assert page.status_code == 200 and "2026年10月2日（星期五）夜间巡逻排班" in page.text
    # only …001's entry has forms: the cadre team serves the street, L2 the other community
    assert page.text.count('action="/patrol/roster/leave"') == 1 and 'data-entry="下半夜/L1B"' in page.text
    assert '<option value="EM1">周队员</option>' in page.text and '<option value="P1">' not in page.text

    done = post_form(comm, page_url, "/patrol/roster/set", {
        "night": "2026-10-02", "shift": "下半夜", "team": "L1B", "area": "Z-L1A", "leader": "C1A",
        "duty_cadre": "SE1", "community_staff": "", "note": "临时调整"})  # fmt: skip
    assert done.status_code == 303, done.text
    assert rows(clean_engine, """SELECT a.code, l.code, d.code, r.community_staff_id, r.note, r.source, r.updated_by
                                   FROM patrol_roster r JOIN patrol_team t ON t.id = r.team_id
                                   LEFT JOIN patrol_area a ON a.id = r.area_id
                                   LEFT JOIN staff l ON l.id = r.leader_staff_id
                                   LEFT JOIN staff d ON d.id = r.duty_cadre_staff_id
                                  WHERE r.night = '2026-10-02' AND t.code = 'L1B'""") == [
        ("Z-L1A", "C1A", "SE1", None, "临时调整", "手工", "user:comm1")]  # fmt: skip
    shown = comm.get(done.headers["location"])
    assert "已保存排班：下半夜 一社区志愿队乙（手工）" in shown.text

    left = post_form(comm, page_url, "/patrol/roster/leave",
                     {"night": "2026-10-02", "shift": "下半夜", "team": "L1B", "staff": "C1A", "note": "发烧"})
    assert left.status_code == 303
    assert "已登记：吴网格请假（发烧）（下半夜 一社区志愿队乙）" in comm.get(left.headers["location"]).text
    outsider = post_form(comm, page_url, "/patrol/roster/substitute",
                         {"night": "2026-10-02", "shift": "下半夜", "team": "L1B", "staff": "M1", "substitute": "X"})
    assert outsider.status_code == 422
    assert "未登记替班：M1 不在 2026-10-02 下半夜巡逻队 L1B 的排班中" in outsider.text
    sub = post_form(comm, page_url, "/patrol/roster/substitute",
                    {"night": "2026-10-02", "shift": "下半夜", "team": "L1B", "staff": "SE1", "substitute": "X"})
    assert sub.status_code == 303
    after = plain(comm.get(page_url).text)
    assert "变动：吴网格请假（发烧）；韩替替钱一" in after

    shared = post_form(comm, page_url, "/patrol/roster/set",
                       {"night": "2026-10-02", "shift": "上半夜", "team": "L1A", "adding": "1", "note": ""})
    assert shared.status_code == 403 and "超出权限范围" in shared.text  # …002 leads L1A's area in October
    added = post_form(comm, page_url, "/patrol/roster/set",
                      {"night": "2026-10-02", "shift": "上半夜", "team": "L1B", "adding": "1", "leader": "",
                       "note": ""})  # fmt: skip
    assert added.status_code == 303, added.text
    assert rows(clean_engine, """SELECT a.code, l.code, d.code, c.code, r.source FROM patrol_roster r
                                   JOIN patrol_team t ON t.id = r.team_id LEFT JOIN patrol_area a ON a.id = r.area_id
                                   LEFT JOIN staff l ON l.id = r.leader_staff_id
                                   LEFT JOIN staff d ON d.id = r.duty_cadre_staff_id
                                   LEFT JOIN staff c ON c.id = r.community_staff_id
                                  WHERE r.night = '2026-10-02' AND r.shift = '上半夜' AND t.code = 'L1B'""") == [
        (None, None, "SE2", "C1B", "手工")]  # taken from the rules
    removed = post_form(comm, page_url, "/patrol/roster/remove",
                        {"night": "2026-10-02", "shift": "上半夜", "team": "L1B"})  # fmt: skip
    assert removed.status_code == 303
    assert "已删除排班：上半夜 一社区志愿队乙" in comm.get(removed.headers["location"]).text
    assert rows(clean_engine, "SELECT count(*) FROM patrol_roster WHERE night = '2026-10-02'") == [(3,)]


def test_the_notice_list_and_the_files(as_user: LoginAs, clean_engine: Engine) -> None:
    from gridgov.patrol.rosters import generate_month, record_leave, record_substitution

    night = dt.date(2026, 10, 2)
    with session_scope(clean_engine) as s:
        generate_month(s, dt.date(2026, 10, 1), OP)
        record_leave(s, OP, night, "上半夜", "E1", "EM1", "年假")
        record_substitution(s, OP, night, "下半夜", "L2", "V2", "X")
    viewer = as_user("viewer")
    page = viewer.get("/patrol/notice?date=2026-10-02")
    assert page.status_code == 200
    assert "文艺路街道2026年10月2日（星期五）夜间巡逻通知名单" in page.text
    assert '<strong data-testid="notice-count">6</strong>' in page.text
    listed = re.findall(r'<tr data-unit="([^"]+)" data-team="([^"]+)"(?: data-staff="([^"]+)")?', page.text)
    assert listed == [("区政府办公室", "E1", "SE1"), ("文艺北路一社区", "L1B", ""), ("文艺北路二社区", "L2", "X")]
    on_duty = re.findall(r'<tr data-unit="值班人员" data-staff="([^"]+)"', page.text)
    assert on_duty == ["SE2", "C1B", "C2", "S0"]
    body = plain(page.text)
    assert "钱一带队13900000001不到岗：周队员（请假）□" in body
    assert "韩替带队（替沈二）13900000014不到岗：沈二（已替班）□" in body
    assert 'href="/patrol/notice/file?date=2026-10-02"' in page.text
    sheet = viewer.get("/patrol/notice/file?date=2026-10-02")
    assert sheet.status_code == 200
    assert sheet.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''2026-10-02%E5%B7%A1%E9%80%BB%E9%80%9A%E7%9F%A5%E5%90%8D%E5%8D%95.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).active
    assert ws is not None and [ws["G4"].value, ws["H4"].value, ws["I4"].value] == ["钱一", "带队", "13900000001"]
    empty = viewer.get("/patrol/notice?date=2026-12-01")
    assert empty.status_code == 200 and "当晚没有排班，无需通知" in empty.text

    xlsx = viewer.get("/patrol/roster/file?month=2026-10&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws["A1"].value == "文艺路街道2026年10月夜间巡逻排班表" and ws.max_row == 3 + 93
    pdf = viewer.get("/patrol/roster/file?month=2026-10&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "%E5%B7%A1%E9%80%BB%E6%8E%92%E7%8F%AD%E8%A1%A8.pdf" in pdf.headers["content-disposition"]


@pytest.fixture
def served(clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The rota street with its users, the app served on a free port."""
    _street_with_users(clean_engine)
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def test_the_month_page_in_chromium(served: str, clean_engine: Engine) -> None:
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, served + "/login", log, viewport=(1366, 768))
        try:
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(served + "/")
            page.goto(served + "/patrol/roster?month=2026-10")
            assert "2026年10月还没有排班" in page.locator("[data-testid=no-entries]").inner_text()
            page.once("dialog", lambda d: d.accept())  # the generate form asks before replacing
            page.click("[data-testid=do-generate]")
            page.wait_for_url(served + "/patrol/roster?month=2026-10&done=*")
            assert "已按规则生成2026年10月排班 93 条" in page.locator(".alert-success").inner_text()
            table = page.locator("[data-testid=roster-month]")
            assert table.locator("tbody tr").count() == 31
            assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # no sideways scrolling
            page.click("[data-entry='2026-10-02/下半夜/L2']")
            page.wait_for_url(served + "/patrol/roster/night?date=2026-10-02*")
            card = page.locator("[data-testid=entry][data-entry='下半夜/L2']")
            card.locator("[data-testid=substitute] select[name=staff]").select_option("V2")
            card.locator("[data-testid=substitute] input[name=substitute]").fill("X")
            card.locator("[data-testid=substitute] button[type=submit]").click()
            page.wait_for_url(served + "/patrol/roster/night?date=2026-10-02&done=*")
            assert "已登记：韩替替沈二（下半夜 二社区志愿队）" in page.locator(".alert-success").inner_text()
            crew = page.locator("[data-testid=entry][data-entry='下半夜/L2'] [data-testid=crew]").inner_text()
            assert "韩替" in crew and "替沈二" in crew and "已替班" in crew
            page.goto(served + "/patrol/roster?month=2026-10")
            cell = page.locator("tr[data-night='2026-10-02'] td").last.inner_text()
            assert cell == "二社区志愿队：韩替替沈二"
            assert_not_blank(page.screenshot(full_page=False))
            page.goto(served + "/patrol/notice?date=2026-10-02")
            assert page.locator("[data-testid=notice-count]").inner_text() == "7"  # no leave here
        finally:
            page.context.close()
    log.assert_clean()
    assert rows(clean_engine, "SELECT count(*) FROM roster_change WHERE created_by = 'user:admin'") == [(1,)]
