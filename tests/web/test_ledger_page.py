"""台帐 page: the ledger of the user's scope as tables with totals, refused outside it, private staff only to
those who may see them, and the Excel file made in the background equal to the page."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor, resolve_scope
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.ledger.export import COLUMNS, totals
from gridgov.ledger.report import COUNTS, HEADERS, Ledger, LedgerRow, build_ledger
from gridgov.periods import day_range
from gridgov.vocab import PUBLIC_STAFF_ROLES, STAFF_ROLE_ORDER
from gridgov.web.pages.ledger import sections

from tests.browser import PageLog, chromium, open_page, serve
from tests.web.conftest import PASSWORD, csrf_of, login

PRIVATE_ROLES = [r for r in STAFF_ROLE_ORDER if r not in PUBLIC_STAFF_ROLES]
# username → (role, scope) on the sample street
PEOPLE = {"ledgerpage_admin": ("admin", None), "ledgerpage_comm1": ("community", "610103006001"),
          "ledgerpage_viewer": ("viewer", None)}  # fmt: skip
COMMUNITY = "610103006001"
SHOWN_COUNTS = [c.key for c in COLUMNS if c.key in COUNTS]


class LedgerTables(HTMLParser):
    """The ledger tables of a page: level → {grid code, or 合计 → the cells' texts}."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self._level: str | None = None
        self._key: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a ledger table, a row or a cell."""
        a = dict(attrs)
        if tag == "table" and a.get("data-level"):
            self._level = str(a["data-level"])
            self.tables[self._level] = {}
        elif tag == "tr" and self._level is not None:
            self._row, self._key = [], a.get("data-code") or ("合计" if "data-total" in a else None)
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_data(self, data: str) -> None:
        """Text inside a cell."""
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Close a cell, a row or a table."""
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._key is not None and self._level is not None:
                self.tables[self._level][self._key] = self._row
            self._row = None
        elif tag == "table":
            self._level = None


def figure(cell: str) -> int:
    """A count as the page shows it (grouped digits) as a number."""
    return int(cell.replace(",", ""))


def column(key: str) -> int:
    """0-based position of a ledger field in the table."""
    return list(HEADERS).index(key)


@pytest.fixture(scope="module")
def sample_web(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the sample street, with an administrator, a worker of community …001 and a viewer."""
    with session_scope(sample_engine) as s:
        for name, (role, scope) in PEOPLE.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, f"台帐{role}")
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    settings = Settings(database_url=url, home=tmp_path_factory.mktemp("ledger-home"))
    try:
        with TestClient(create_app(settings, sample_engine), headers={"Accept": "text/html,application/xhtml+xml"},
                        follow_redirects=False) as client:  # fmt: skip
            yield client
    finally:
        with sample_engine.begin() as conn:
            names = list(PEOPLE)
            conn.execute(text("DELETE FROM job WHERE actor = ANY(:n)"), {"n": [f"user:{n}" for n in names]})
            conn.execute(text("DELETE FROM user_session WHERE user_id IN (SELECT id FROM app_user "
                              "WHERE username = ANY(:n))"), {"n": names})  # fmt: skip
            conn.execute(text("DELETE FROM app_user WHERE username = ANY(:n)"), {"n": names})


def as_user(client: TestClient, name: str) -> TestClient:
    """The client logged in as ``name`` (anyone logged in before is forgotten)."""
    client.cookies.clear()
    return login(client, name)


def views(engine: Engine, name: str, page: str) -> int:
    """How many views of private staff ``name`` left in the audit log from ``page``."""
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'grid_role' "
                             "AND actor = :a AND new->>'page' = :p"), {"a": f"user:{name}", "p": page})  # fmt: skip
    return int(n or 0)


def comm1_reader(engine: Engine) -> Actor:
    """The community worker as a reader of the ledger."""
    with Session(engine) as s:
        gid, code = resolve_scope(s, "community", COMMUNITY)
    return Actor("user:ledgerpage_comm1", "community", gid, code)


def expected(engine: Engine, **kw: Any) -> Ledger:
    """The ledger as the service builds it."""
    with Session(engine) as s:
        return build_ledger(s, patrol_buffer_m=Settings().patrol_buffer_m, **kw)


def test_a_long_level_lists_its_first_rows_and_totals_them_all() -> None:
    rows = [LedgerRow(i, f"610103006001{i:03d}", f"第{i}网格", "compound", COMMUNITY, households=1000 * i,
                      staff="网格长：甲（13800000000）；楼栋长：乙") for i in range(1, 6)]  # fmt: skip
    (table,) = sections(Ledger(rows, None, None, None), limit=2)
    assert [code for code, _ in table["rows"]] == ["610103006001001", "610103006001002"]
    assert table["count"] == 5 and table["more"] == 3
    assert table["total"][column("households")].text == "15,000" and table["total"][column("name")].text == "5 个网格"
    roster = table["rows"][0][1][column("staff")]
    assert roster.entries == ("网格长：甲（13800000000）", "楼栋长：乙")  # one a line, folded on the page


def test_anonymous_visitors_are_sent_to_the_login_page(sample_web: TestClient) -> None:
    sample_web.cookies.clear()
    r = sample_web.get("/ledger", params={"level": "community"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fledger%3Flevel%3Dcommunity")
    assert sample_web.post("/ledger/file", data={}).status_code in (401, 403)


def test_a_community_worker_sees_its_community_with_the_services_figures(
    sample_web: TestClient, sample_engine: Engine
) -> None:
    before = views(sample_engine, "ledgerpage_comm1", "台帐")
    page = as_user(sample_web, "ledgerpage_comm1").get("/ledger")
    assert page.status_code == 200 and "台帐" in page.text
    ledger = expected(sample_engine, parent=COMMUNITY, reader=comm1_reader(sample_engine))
    tables = LedgerTables(page.text).tables
    top = next(r for r in ledger.rows if r.code == COMMUNITY)
    assert f"{top.name}网格台帐" in page.text and "统计时点：<strong>当前（制表时）" in page.text
    assert f'<option value="{COMMUNITY}" selected>' in page.text and "610103006002" not in page.text
    shown = {code: cells for rows in tables.values() for code, cells in rows.items() if code != "合计"}
    assert sorted(shown) == sorted(r.code for r in ledger.rows) and all(c.startswith(COMMUNITY) for c in shown)
    assert set(tables) == {r.level for r in ledger.rows} and len(tables["compound"]) > 2
    for r in ledger.rows:
        d, cells = r.as_dict(), shown[r.code]
        assert {k: figure(cells[column(k)]) for k in SHOWN_COUNTS} == {k: d[k] for k in SHOWN_COUNTS}, r.code
        roster = d["staff"]  # folded behind its head count
        assert cells[column("staff")] == (f"{len(roster.split('；'))} 人{roster}" if roster else "—"), r.code
    for level, rows in tables.items():
        want = totals([r.as_dict() for r in ledger.rows if r.level == level])
        assert {k: figure(rows["合计"][column(k)]) for k in SHOWN_COUNTS} == {k: want[k] for k in SHOWN_COUNTS}
    assert figure(tables["compound"]["合计"][column("households")]) == top.households > 0
    assert [role for role in PRIVATE_ROLES if f"{role}：" in page.text]  # its own residents' posts
    assert views(sample_engine, "ledgerpage_comm1", "台帐") == before + 1


def test_filters_narrow_the_level_and_the_period(sample_web: TestClient, sample_engine: Engine) -> None:
    client = as_user(sample_web, "ledgerpage_comm1")
    page = client.get("/ledger", params={"level": "compound", "parent": "", "as_of": "", "from": "2026-09-01",
                                         "to": "2026-10-31"})  # fmt: skip
    assert page.status_code == 200 and "2026-09-01 至 2026-10-31" in page.text
    start, end = day_range(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    ledger = expected(sample_engine, level="compound", parent=COMMUNITY, date_from=start, date_to=end)
    tables = LedgerTables(page.text).tables
    assert list(tables) == ["compound"]
    for r in ledger.rows:
        cells = tables["compound"][r.code]
        assert (figure(cells[column("incidents_open")]), figure(cells[column("incidents_closed")])) == (
            r.incidents_open, r.incidents_closed)  # fmt: skip
    everything = expected(sample_engine, level="compound", parent=COMMUNITY)
    assert sum(r.incidents_open + r.incidents_closed for r in ledger.rows) < sum(
        r.incidents_open + r.incidents_closed for r in everything.rows)  # fmt: skip
    reversed_ = client.get("/ledger", params={"from": "2026-10-31", "to": "2026-09-01"})
    assert reversed_.status_code == 422 and "晚于结束日期" in reversed_.text and 'name="level"' in reversed_.text
    bad = client.get("/ledger", params={"as_of": "2026-13-01"})
    assert bad.status_code == 422 and "输入有误" in bad.text


def test_a_parent_outside_the_scope_is_refused(sample_web: TestClient, sample_engine: Engine) -> None:
    client = as_user(sample_web, "ledgerpage_comm1")
    page = client.get("/ledger", params={"parent": "610103006002"})
    assert page.status_code == 403 and "没有权限" in page.text and "超出权限范围" in page.text
    assert 'data-level="' not in page.text
    csrf = csrf_of(client.get("/ledger").text)
    with sample_engine.connect() as conn:
        jobs = conn.scalar(text("SELECT count(*) FROM job"))
    r = client.post("/ledger/file", data={"csrftoken": csrf, "parent": "610103006002"})
    assert r.status_code == 403 and "超出权限范围" in r.text
    with sample_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM job")) == jobs


def test_a_viewer_sees_no_private_staff(sample_web: TestClient, sample_engine: Engine) -> None:
    admin = as_user(sample_web, "ledgerpage_admin").get("/ledger", params={"parent": COMMUNITY}).text
    assert [role for role in PRIVATE_ROLES if f"{role}：" in admin]  # there are private posts to hide
    assert '<option value="">全部网格</option>' in admin  # an unscoped reader may choose everything
    before = views(sample_engine, "ledgerpage_viewer", "台帐")
    viewer = as_user(sample_web, "ledgerpage_viewer").get("/ledger", params={"parent": COMMUNITY})
    assert viewer.status_code == 200 and "网格员：" in viewer.text
    assert not [role for role in PRIVATE_ROLES if f"{role}：" in viewer.text]
    assert views(sample_engine, "ledgerpage_viewer", "台帐") == before
    assert 'name="csrftoken"' in viewer.text and "下载 Excel" in viewer.text  # reading is enough to download


def wait_for(client: TestClient, job_id: int) -> dict[str, Any]:
    """The job's state once it has finished (polled like the progress page does)."""
    for _ in range(1500):
        state: dict[str, Any] = client.get(f"/api/jobs/{job_id}", headers={"Accept": "application/json"}).json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"任务 {job_id} 未结束：{state}")


def test_the_excel_job_writes_the_ledger_the_page_shows(sample_web: TestClient, sample_engine: Engine) -> None:
    client = as_user(sample_web, "ledgerpage_comm1")
    params = {"from": "2026-09-01", "to": "2026-10-31"}
    page = client.get("/ledger", params=params)
    tables = LedgerTables(page.text).tables
    assert '<input type="hidden" name="from" value="2026-09-01">' in page.text
    before = views(sample_engine, "ledgerpage_comm1", "台帐 Excel")
    r = client.post("/ledger/file", data={"csrftoken": csrf_of(page.text), "level": "", "parent": "", **params})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert "网格台帐（Excel）" in client.get(r.headers["location"]).text
    state = wait_for(client, job_id)
    assert state["status"] == "done" and state["kind"] == "ledger", state
    assert state["message"].startswith("已完成") and state["download_url"] == f"/api/jobs/{job_id}/file"
    file = client.get(state["download_url"])
    assert file.status_code == 200 and "xlsx" in file.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(file.content))
    values = openpyxl.load_workbook(io.BytesIO(file.content), data_only=True)
    name = next(r.name for r in expected(sample_engine, level="community", parent=COMMUNITY).rows)
    assert wb.sheetnames[-1] == "说明" and "社区台帐" in wb.sheetnames and "楼院台帐" in wb.sheetnames
    for sheet, level in (("社区台帐", "community"), ("楼院台帐", "compound")):
        ws = wb[sheet]
        assert ws["A1"].value == f"{name}网格台帐" and "2026-09-01 至 2026-10-31" in ws["A2"].value
        assert ws.freeze_panes == "C4" and ws.print_title_rows == "$3:$3"
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1) == 1 and ws.page_setup.fitToHeight == 0
        assert [c.value for c in ws[3]] == list(HEADERS.values())
        lines = list(values[sheet].iter_rows(min_row=4, values_only=True))
        assert [line[0] for line in lines] == list(tables[level])  # the grids in the page's order, then 合计
        for line in lines:
            cells = tables[level][line[0]]
            assert {k: line[column(k)] for k in SHOWN_COUNTS} == {k: figure(cells[column(k)]) for k in SHOWN_COUNTS}
    notes = {row[0]: row[1] for row in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["单位"] == name and notes["事件/巡逻期间"].startswith("2026-09-01 至 2026-10-31")
    assert views(sample_engine, "ledgerpage_comm1", "台帐 Excel") == before + 1


def test_in_a_browser_the_table_scrolls_under_its_header_and_the_download_finishes(
    sample_web: TestClient, sample_engine: Engine, tmp_path: Path
) -> None:
    """Offline Chromium at 1366×768: log in, read the table (its header stays in view), download the Excel file."""
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with serve(create_app(Settings(database_url=url, home=tmp_path / "home"), sample_engine)) as base, chromium() as b:
        log = PageLog()
        page = open_page(b, f"{base}/login?next=/ledger", log, viewport=(1366, 768))
        page.fill("#username", "ledgerpage_comm1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/ledger")
        table = page.locator('table[data-level="compound"]')
        box = table.locator("xpath=..")
        box.evaluate("el => { el.scrollTop = 300; }")
        header, frame = table.locator("thead th").first.bounding_box(), box.bounding_box()
        assert header is not None and frame is not None and abs(header["y"] - frame["y"]) <= 2  # sticky header
        assert table.locator("tbody tr").count() > 2 and "合计" in table.locator("tfoot").inner_text()
        page.get_by_role("button", name="下载 Excel").click()
        page.wait_for_url("**/jobs/*")
        link = page.locator("[data-job-download]")
        link.wait_for(state="visible", timeout=300_000)  # the job's progress page polls until the file is there
        href = link.get_attribute("href") or ""
        assert href.startswith("/api/jobs/")
        file = page.request.get(base + href)
        assert file.ok and file.body()[:2] == b"PK" and "xlsx" in file.headers["content-disposition"]
        log.assert_clean()
