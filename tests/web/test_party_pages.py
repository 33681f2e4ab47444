"""The 党建 pages on the factory street: community staff build an organisation tree through the forms (a branch on
their compound, members put in it, a post, an edit on the version read, a dissolution), a member's page (registers,
three 联系户 and the fourth refused quoting the rule, a visit), resident units, the unlinked households and the
Excel import (a bad row refuses the file, naming its row); checked on the rows in PostGIS and the text of the pages.
Viewers and patrol leaders get 403; another community's grids and households are refused. Every Party GET route
reaches exactly who may (the entries proposed for tests/web/test_access.py, run with its test), and Chromium
creates a branch and links a member to a household through the pages."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.config import Settings

import tests.web.test_access as access
from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.factories import X0, Y0, D
from tests.party.test_check import _members
from tests.web.conftest import PASSWORD, csrf_of, login

records = access.records  # the access tests' records (a fixture): a household, resident, … in IN and in OUT
LoginAs = Callable[[str], TestClient]
OWN, OTHER = "610103006001", "610103006002"
A, C = "610103006001001", "610103006002001"


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


@pytest.fixture
def people(users: dict, clean_engine: Engine) -> dict[str, list[str]]:
    """Party members in compound A (community …001: 4 在职, households of their own; 4 more households) and C."""
    with Session(clean_engine) as s, s.begin():
        made = {"A": _members(s, "A", 4, prefix="M", member_type="在职"), "X": _members(s, "A", 4, prefix="X"),
                "C": _members(s, "C", 1, prefix="E")}  # fmt: skip
        return {k: list(s.scalars(text("SELECT code FROM person WHERE id = ANY(:i) ORDER BY id"), {"i": v}))
                for k, v in made.items()}  # fmt: skip


def alert(html: str) -> str:
    """The text of the page's first alert."""
    m = re.search(r'<div class="alert alert-\w+ py-2" role="alert">([^<]*)</div>', html)
    return m.group(1) if m else ""


def send(client: TestClient, page: str, url: str, data: dict[str, Any], **kw: Any) -> Any:
    """POST a form of ``page`` (its CSRF token first, as browsers send it), following the redirect when done."""
    r = client.post(url, data={"csrftoken": csrf_of(client.get(page).text), **data}, **kw)
    return client.get(r.headers["location"]) if r.status_code == 303 else r


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_the_hub_and_who_may_see_it(as_user: LoginAs, web: TestClient, users: dict) -> None:
    hub = as_user("comm1").get("/party")
    assert hub.status_code == 200
    for link in ("/party/orgs", "/party/members", "/party/units", "/party/contacts", "/party/activity",
                 "/party/check", "/party/import"):  # fmt: skip
        assert f'href="{link}"' in hub.text
    for name in ("viewer", "patrol1"):
        c = as_user(name)
        for url in ("/party", "/party/orgs", "/party/members", "/party/units", "/party/import"):
            r = c.get(url)
            assert r.status_code == 403 and "没有权限" in r.text, (name, url)
    anonymous = web.get("/party/orgs")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_community_staff_build_an_organisation(as_user: LoginAs, people: dict[str, list[str]],
                                               clean_engine: Engine) -> None:  # fmt: skip
    c = as_user("comm1")
    made = send(c, "/party/orgs/new", "/party/orgs/new", {
        "code": "CP", "name": "一社区党委", "kind": "党委", "form": "社区党组织", "grids": OWN})
    assert "已新建党组织 CP" in alert(made.text)
    refused = send(c, "/party/orgs/new", "/party/orgs/new", {
        "code": "G1", "name": "小组", "kind": "党小组", "form": "楼栋党小组", "parent": "CP"})
    assert refused.status_code == 422 and "党小组的上级组织应为党支部，CP 是党委" in alert(refused.text)
    assert 'value="小组"' in refused.text  # what was typed stays
    far = send(c, "/party/orgs/new", "/party/orgs/new", {
        "code": "BC", "name": "二社区支部", "kind": "党支部", "form": "网格党支部", "grids": C})
    assert far.status_code == 403 and "超出权限范围" in far.text
    branch = send(c, "/party/orgs/new", "/party/orgs/new", {
        "code": "BA", "name": "第一网格党支部", "kind": "支部", "form": "楼院党支部", "parent": "CP", "grids": A,
        "founded_on": "1998-07-01"})  # fmt: skip
    assert "第一网格党支部" in branch.text and "1998-07-01" in branch.text
    for code in people["A"][:3]:
        joined = send(c, "/party/orgs/BA", "/party/orgs/BA/members", {"person": code, "day": "2025-01-01"})
        assert f"已编入：党员{code.replace('-P', '-H')}（{code}）" in alert(joined.text)
    posted = send(c, "/party/orgs/BA", "/party/orgs/BA/posts", {"post": "书记", "person": people["A"][0]})
    assert "已任职：书记" in alert(posted.text)
    edited = send(c, "/party/orgs/BA", "/party/orgs/BA/edit", {
        "version": "1", "name": "一网格党支部", "kind": "党支部", "form": "楼院党支部", "parent": "CP", "grids": A,
        "secretary": people["A"][0], "founded_on": "1998-07-01"})  # fmt: skip
    assert "已保存修改（名称、书记），现为第 2 版" in alert(edited.text)
    stale = send(c, "/party/orgs/BA", "/party/orgs/BA/edit", {
        "version": "1", "name": "又改", "kind": "党支部", "form": "楼院党支部", "grids": A})
    assert stale.status_code == 412 and "已被他人修改" in alert(stale.text)
    left = send(c, "/party/orgs/BA", f"/party/orgs/BA/members/{people['A'][2]}/leave", {"reason": "转出"})
    assert "离开 BA（转出）" in alert(left.text)
    tree = c.get("/party/orgs")
    assert re.search(r'data-org="CP".*?data-org="BA"', tree.text, re.S)
    assert "党员M-H1" in tree.text and "党员不足 3 名" in tree.text  # the secretary's name; 2 members left
    refused_dissolve = send(c, "/party/orgs/CP", "/party/orgs/CP/dissolve", {"version": "1", "reason": "合并"})
    assert refused_dissolve.status_code == 409 and "下还有 BA" in alert(refused_dissolve.text)
    gone = send(c, "/party/orgs/BA", "/party/orgs/BA/dissolve", {"version": "2", "reason": "其他",
                                                                 "reason_other": "并入新支部"})  # fmt: skip
    assert "已撤销（并入新支部）" in alert(gone.text) and 'data-retirement="1"' in gone.text
    assert rows(clean_engine, "SELECT version, lineage_id IS NULL FROM party_org WHERE code = 'BA' "
                              "ORDER BY version") == [(1, False), (2, False), (3, True)]  # fmt: skip
    assert rows(clean_engine, "SELECT count(*) FROM party_membership WHERE until IS NULL") == [(0,)]
    assert rows(clean_engine, "SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'party_org' "
                              "AND actor = 'user:comm1'")[0][0] >= 5  # fmt: skip


def test_a_members_page_registers_and_links(as_user: LoginAs, people: dict[str, list[str]],
                                            clean_engine: Engine) -> None:  # fmt: skip
    c = as_user("comm1")
    who = people["A"][0]
    page = c.get(f"/party/members/{who}")
    assert page.status_code == 200 and "未编入党组织" in page.text
    token = csrf_of(page.text)
    form = {"csrftoken": token, "employer": "市统计局", "reported_on": "2025-03-01", "joined_party_on": "1990-07-01",
            "shows_identity": ["false", "true"]}  # the hidden field, then the ticked box, as a browser sends them
    saved = c.get(c.post(f"/party/members/{who}/register", data=form).headers["location"])
    assert alert(saved.text) == "已保存党员登记信息" and 'value="1990-07-01"' in saved.text
    homes = [h.replace("-P", "-H") for h in people["X"]]
    for home in homes[:3]:
        linked = send(c, f"/party/members/{who}", f"/party/members/{who}/contacts", {"household": home})
        assert f"已联系户 {home}" in alert(linked.text)
    fourth = c.post(f"/party/members/{who}/contacts",
                    data={"csrftoken": csrf_of(c.get(f"/party/members/{who}").text), "household": homes[3]})
    assert fourth.status_code == 409
    assert alert(fourth.text).endswith("每名党员联系 1–3 户")
    far = send(c, f"/party/members/{who}", f"/party/members/{who}/contacts", {"household": "E-H1"})
    assert far.status_code == 403 and "超出权限范围" in far.text
    visited = send(c, f"/party/members/{who}", f"/party/members/{who}/contacts/{homes[0]}/visit",
                   {"day": "2025-04-01", "note": "了解供暖"})  # fmt: skip
    assert "已登记 2025-04-01 走访户" in alert(visited.text) and "了解供暖" in visited.text
    unlinked = send(c, f"/party/members/{who}", f"/party/members/{who}/contacts/{homes[2]}/unlink", {})
    assert f"已取消联系户 {homes[2]}" in alert(unlinked.text)
    assert rows(clean_engine, "SELECT r.employer, r.shows_identity FROM party_register r") == [("市统计局", True)]
    assert rows(clean_engine, "SELECT count(*) FROM party_contact") == [(2,)]
    listed = c.get("/party/members?show=unreported")
    assert who not in listed.text and people["A"][1] in listed.text
    other = as_user("comm2").get(f"/party/members/{who}")
    assert other.status_code == 403


def test_units_contacts_and_the_import(as_user: LoginAs, people: dict[str, list[str]], clean_engine: Engine) -> None:
    c = as_user("comm1")
    made = send(c, "/party/units", "/party/units", {"code": "U1", "name": "市第一医院", "kind": "医院",
                                                     "lon": str(X0 + D / 4), "lat": str(Y0 + D / 2),
                                                     "contact_name": "王联络", "contact_phone": "13800000001"})
    assert "已新建 U1 市第一医院（第一网格）" in alert(made.text) and "王联络" in made.text
    edited = send(c, "/party/units/U1", "/party/units/U1/edit", {"version": "1", "name": "市一院", "kind": "医院",
                                                                  "lon": str(X0 + D / 4), "lat": str(Y0 + D / 2),
                                                                  "contact_name": "王联络",
                                                                  "contact_phone": "13800000001"})  # fmt: skip
    assert "现为第 2 版" in alert(edited.text)
    contacts = c.get("/party/contacts")
    assert contacts.status_code == 200 and "共 8 户" in contacts.text  # no member links any household yet
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["党组织编码", "党组织名称", "类别", "形式", "所建网格"], ["BA", "支部", "党支部", "楼院党支部", A],
                ["BB", "支部", "党支部", "楼院党支部", "999"]):  # fmt: skip
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    token = csrf_of(c.get("/party/import").text)
    xlsx = ("orgs.xlsx", data.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    bad = c.post("/party/import", data={"csrftoken": token, "kind": "orgs"}, files={"file": xlsx})
    assert bad.status_code == 422 and 'data-row="3"' in bad.text and "网格不存在：999" in bad.text
    assert rows(clean_engine, "SELECT count(*) FROM party_org") == [(0,)]
    template = c.get("/party/import/template/orgs.xlsx")
    assert template.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(template.content)).worksheets[0].cell(1, 1).value == "党组织编码"
    sheet.delete_rows(3)
    data = io.BytesIO()
    workbook.save(data)
    good = c.post("/party/import", data={"csrftoken": token, "kind": "orgs"},
                  files={"file": ("orgs.xlsx", data.getvalue(), xlsx[2])})  # fmt: skip
    assert good.status_code == 200 and "orgs.xlsx：已导入 1 条党组织" in alert(good.text)
    assert rows(clean_engine, "SELECT code, updated_by FROM party_org") == [("BA", "user:comm1")]




@pytest.fixture
def base(people: dict[str, list[str]], clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The app served on a free port, with the members of ``people``."""
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def test_a_branch_and_its_contacts_through_the_pages_in_chromium(base: str, people: dict[str, list[str]],
                                                                  clean_engine: Engine, tmp_path: Path) -> None:
    who, home = people["A"][0], people["X"][0].replace("-P", "-H")
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            page.goto(f"{base}/login?next=/party/orgs/new")
            page.fill("input[name=username]", "comm1")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(base + "/party/orgs/new")
            page.fill("#no-code", "BA")
            page.fill("#no-name", "第一网格党支部")
            page.select_option("#no-kind", "党支部")
            page.select_option("#no-form", "楼院党支部")
            page.fill("#no-grids", A)
            page.click("[data-testid=do-add-org]")
            page.wait_for_url(f"{base}/party/orgs/BA?done=*")
            assert "已新建党组织 BA 第一网格党支部" in page.locator(".alert-success").inner_text()
            page.fill("#jm-person", who)
            page.click("[data-testid=do-join]")
            page.wait_for_url(f"{base}/party/orgs/BA?done=*")
            page.screenshot(path=str(tmp_path / "party-org.png"), full_page=True)
            page.click(f"[data-member='{who}'] a")
            page.wait_for_url(f"{base}/party/members/{who}")
            page.fill("#ml-household", home)
            page.click("[data-testid=do-link]")
            page.wait_for_url(f"{base}/party/members/{who}?done=*")
            assert page.locator(f"[data-household='{home}']").count() == 1
            page.screenshot(path=str(tmp_path / "party-member.png"), full_page=True)
            page.goto(base + "/party/orgs")
            assert "第一网格党支部" in page.locator("[data-org=BA]").inner_text()
            page.screenshot(path=str(tmp_path / "party-orgs.png"), full_page=True)
            for path in ("/party", "/party/members", "/party/contacts", "/party/units", "/party/import"):
                page.goto(base + path)
                assert page.locator("h1").count() == 1, path
                page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"), full_page=True)
            for png in tmp_path.glob("*.png"):
                assert_not_blank(png.read_bytes())
        finally:
            page.context.close()
    log.assert_clean()
    assert rows(clean_engine, "SELECT p.code, h.code FROM party_contact c JOIN person p ON p.id = c.person_id "
                              "JOIN household h ON h.id = c.household_id") == [(who, home)]  # fmt: skip
