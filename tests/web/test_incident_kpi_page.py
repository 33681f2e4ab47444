"""The 事件考核 page (/incident-kpi) on the hand-made cases of tests/incidents/test_kpi.py: the street's total on
top, a line per grid, 同比 under each figure, the Excel link, scope and bad input."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.web.pages import incident_kpi

from tests.incidents.test_kpi import A, B, C, build
from tests.web.conftest import PASSWORD, login

OCTOBER = "from=2026-10-01&to=2026-10-31&as_of=2026-10-31"
USERS = {"viewer": ("viewer", None), "comm2": ("community", "610103006002")}


@pytest.fixture
def site(clean_engine: Engine, settings_for: Settings) -> Iterator[Callable[[str], TestClient]]:
    """The app on the hand-made cases with a viewer and a community …002 user; a function logging a client in."""
    with session_scope(clean_engine) as s:
        build(s)
        for name, (role, scope) in USERS.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope)
    app = create_app(settings_for, clean_engine)
    if not any(getattr(r, "path", "") == "/incident-kpi" for r in app.routes):  # until the factory has it
        app.include_router(incident_kpi.router)
    clients: list[TestClient] = []

    def as_user(name: str) -> TestClient:
        c = TestClient(app, headers={"Accept": "text/html"}, follow_redirects=False)
        c.__enter__()
        clients.append(c)
        return login(c, name)

    yield as_user
    for c in clients:
        c.__exit__(None, None, None)


def cells(html: str, code: str) -> list[str]:
    """The text of the cells of the table line of grid ``code`` (each figure followed by last year's)."""
    row = re.search(rf'<tr[^>]*data-code="{code}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, code
    tds = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in tds]


def test_the_street_on_top_and_a_line_per_compound(site: Callable[[str], TestClient]) -> None:
    r = site("viewer").get(f"/incident-kpi?{OCTOBER}")
    assert r.status_code == 200, r.text
    page = r.text
    assert "文艺路街道事件考核表" in page
    assert ("统计期间：2026-10-01 至 2026-10-31    统计时点：2026-10-31 23:59    "
            "去年同期：2025-10-01 至 2025-10-31") in page
    codes = re.findall(r'<tr[^>]*data-code="(\d+)"', page)
    assert codes == ["610103006", A, B, C]
    # code, name, level, then each figure with last year's below it
    assert cells(page, "610103006")[:9] == ["610103006", "文艺路街道（合计）", "街道", "5 2", "4 1", "75.0% 100.0%",
                                            "2 1", "1 0", "1 0"]  # fmt: skip
    assert cells(page, A)[3:6] == ["1 2", "2 1", "50.0% 100.0%"]
    assert cells(page, B)[-5:] == ["0.50 —", "0.50 —", "1.00 —", "0.50 —", "0.50 —"]
    assert "按期结案率" in page and "网格内结案率" in page and "处置用时(工作日)" in page
    assert 'href="/incident-kpi/file?' in page and "kpi=on_time" in page and "window.print()" in page
    communities = site("viewer").get(f"/incident-kpi?{OCTOBER}&level=community").text
    assert re.findall(r'<tr[^>]*data-code="(\d+)"', communities) == ["610103006", "610103006001", "610103006002"]


def test_the_excel_link(site: Callable[[str], TestClient]) -> None:
    client = site("viewer")
    page = client.get(f"/incident-kpi?{OCTOBER}").text
    link = re.search(r'href="(/incident-kpi/file\?[^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    r = client.get(link)
    assert r.status_code == 200 and "filename*=utf-8''" in r.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["事件考核"]
    assert ws["A1"].value == "文艺路街道事件考核表" and ws.cell(5, 1).value == "610103006"
    assert [ws.cell(row, 1).value for row in range(5, ws.max_row + 1)] == [
        "610103006", "610103006001", "610103006002", A, B, C]


def test_scope_and_bad_input(site: Callable[[str], TestClient]) -> None:
    client = site("comm2")
    mine = client.get(f"/incident-kpi?{OCTOBER}").text
    assert re.findall(r'<tr[^>]*data-code="(\d+)"', mine) == ["610103006002", C]
    assert "文艺北路二社区事件考核表" in mine
    other = client.get(f"/incident-kpi?{OCTOBER}&parent=610103006001")
    assert other.status_code == 403 and "没有权限" in other.text
    bad = client.get("/incident-kpi?from=2026-10-31&to=2026-10-01")
    assert bad.status_code == 422 and "起始日期 2026-10-31 晚于结束日期 2026-10-01" in bad.text
    anonymous = TestClient(client.app, follow_redirects=False).get("/incident-kpi", headers={"Accept": "text/html"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_the_maps_form_asks_for_a_time_window_and_a_kpi_layer(site: Callable[[str], TestClient]) -> None:
    client = site("viewer")
    form = client.get("/maps").text
    assert '<option value="上半夜">上半夜（20:00–23:30）</option>' in form
    assert '<option value="下半夜">下半夜（23:30–次日 06:00）</option>' in form
    assert '<option value="白天">白天（06:00–20:00）</option>' in form and '<option value="on_time">' in form
    r = client.get("/maps/open/coverage", params={"from": "2026-10-01", "shift": "下半夜", "kpi": "overdue"})
    assert r.status_code == 303
    assert r.headers["location"] == "/maps/coverage?from=2026-10-01&shift=%E4%B8%8B%E5%8D%8A%E5%A4%9C&kpi=overdue"
