"""Headless Chromium (offline: every non-local request blocked) through the 党建 pages as community staff: a
branch is created on a compound through /party/orgs/new, members are put in it, a member is linked to two
households on the member page, and the compliance page then shows the branch rule passing for that compound and
the 联系户 findings changed; a viewer and a patrol leader are refused the Party pages, and the public grid map
they see shows no names. The check page is screenshotted at 1366×768 to /tmp/t20/shots/."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.config import Settings

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.factories import X0, Y0, D
from tests.party.test_check import _members
from tests.web.conftest import PASSWORD

A = "610103006001001"
SHOTS = Path("/tmp/t20/shots")
MEMBERS = ["M-P1", "M-P2", "M-P3"]
HOMES = ["K-H1", "K-H2"]  # two households of compound A with no member in them
BRANCH = {"code": "BA", "name": "第一网格党支部", "kind": "党支部", "form": "楼院党支部", "grids": A}  # #no-<field>


@pytest.fixture
def base(users: dict, clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The users' street with three members in compound A (M-P1…M-P3, households of their own) and two more
    households there; the app served on a free port."""
    with Session(clean_engine) as s, s.begin():
        _members(s, "A", 3, prefix="M", member_type="在职")
        s.execute(text("INSERT INTO household (code, kind, address, geom) SELECT c, '常住户', '一网格 ' || c, "
                       "ST_SetSRID(ST_MakePoint(:x, :y), 4326) FROM unnest(CAST(:c AS text[])) AS c"),
                  {"c": HOMES, "x": X0 + D / 8, "y": Y0 + D / 3})  # fmt: skip
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def _login(page: Any, base: str, name: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + target)


def _status(page: Any, rule: str) -> str:
    return str(page.locator(f"[data-testid=status-{rule}]").inner_text()).strip()


def _records(page: Any, rule: str) -> list[str]:
    group = page.locator(f"[data-testid=group-{rule}]")
    return [str(x) for x in group.locator("[data-record]").evaluate_all("(xs) => xs.map((x) => x.dataset.record)")] \
        if group.count() else []


def _unlinked(page: Any) -> str:
    group = page.locator("[data-testid=group-unlinked_households]")
    return str(group.locator("[data-testid=value]").inner_text()).strip() if group.count() else "0"


def test_community_staff_build_a_branch_and_the_check_follows(base: str, clean_engine: Engine) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            _login(page, base, "comm1", "/party")
            page.click("a[data-section='/party/check']")
            page.wait_for_url(base + "/party/check")
            page.select_option("#ck-parent", A)
            page.click("[data-testid=check-form] button[type=submit]")
            page.wait_for_url(f"{base}/party/check?parent={A}*")
            assert (_status(page, "grid_branch"), _status(page, "contacts")) == ("未通过", "未通过")
            assert _records(page, "contacts") == MEMBERS and _unlinked(page) == "5"  # 3 members' homes + 2

            page.goto(base + "/party/orgs/new")
            for field, value in BRANCH.items():
                (page.select_option if field in ("kind", "form") else page.fill)(f"#no-{field}", value)
            page.click("[data-testid=do-add-org]")
            page.wait_for_url(f"{base}/party/orgs/BA?done=*")
            for member in MEMBERS:
                page.fill("#jm-person", member)
                page.click("[data-testid=do-join]")
                page.wait_for_url(f"{base}/party/orgs/BA?done=*")
                assert f"（{member}）" in page.locator(".alert-success").inner_text()

            page.goto(f"{base}/party/members/{MEMBERS[0]}")
            for home in HOMES:
                page.fill("#ml-household", home)
                page.click("[data-testid=do-link]")
                page.wait_for_url(f"{base}/party/members/{MEMBERS[0]}?done=*")
            assert page.locator(f"[data-household='{HOMES[1]}']").count() == 1

            page.goto(f"{base}/party/check?parent={A}")
            assert _status(page, "grid_branch") == "通过"
            assert page.locator("[data-testid=checked-grid_branch]").inner_text().strip() == "1"
            assert (_status(page, "branch_min"), _status(page, "members_without_org")) == ("通过", "通过")
            assert _records(page, "contacts") == MEMBERS[1:]  # M-P1 links two households now
            assert _unlinked(page) == "3"
            assert page.locator("[data-testid=gap-count]").inner_text() == "（1 处）"  # no 责任区 yet
            page.wait_for_function("() => document.querySelectorAll('#check-map path').length >= 2")
            assert page.locator(f"a[href='/grids/{A}']").count() >= 1
            page.screenshot(path=str(SHOTS / "party-check.png"))
            page.screenshot(path=str(SHOTS / "party-check-full.png"), full_page=True)
            with page.expect_download() as got:
                page.click("[data-testid=check-file]")
            assert got.value.suggested_filename.startswith(f"党建合规检查_{A}_")
            wb = openpyxl.load_workbook(io.BytesIO(got.value.path().read_bytes()))
            summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
            assert summary["支部建在网格上"] == "通过"
        finally:
            page.context.close()
    log.assert_clean()
    assert_not_blank((SHOTS / "party-check.png").read_bytes())
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM party_contact")).scalar_one() == 2
        views = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'party_check' "
                                  "AND actor = 'user:comm1'")).scalar_one()  # fmt: skip
    assert views >= 3


def test_viewers_and_patrol_leaders_see_no_party_data(base: str, clean_engine: Engine) -> None:
    with Session(clean_engine) as s, s.begin():  # a branch with a secretary, to be sure nothing of it leaks
        s.execute(text("INSERT INTO party_org (code, name, kind, form, grid_ids, secretary_person_id) "
                       "SELECT 'BA', '第一网格党支部', '党支部', '楼院党支部', ARRAY[g.id], p.id FROM grid g, person p "
                       "WHERE g.code = :a AND g.valid_to IS NULL AND p.code = 'M-P1'"), {"a": A})  # fmt: skip
    names = ["第一网格党支部", "党员M-H1", "党员M-H2", "党员M-H3"]
    log = PageLog()
    with chromium() as browser:
        for who in ("viewer", "patrol1"):
            page = open_page(browser, base + "/login", log, viewport=(1366, 768))
            try:
                _login(page, base, who, "/")
                assert page.locator("nav a[href='/party']").count() == 0
                for url in ("/party", "/party/check", f"/party/check?parent={A}", "/party/orgs"):
                    response = page.goto(base + url)
                    assert response.status == 403 and "没有权限" in page.content(), (who, url)
                response = page.goto(base + "/maps/grid")
                assert response.status == 200
                page.wait_for_selector(".leaflet-control-layers-overlays")
                assert "党建" not in page.locator(".leaflet-control-layers-overlays").inner_text()
                content = page.content()
                assert [n for n in names if n in content or json.dumps(n)[1:-1] in content] == []
                assert re.search(r"楼院（\d+）", page.locator(".leaflet-control-layers-overlays").inner_text())
                refused = page.goto(base + "/maps/grid?layers=party")
                assert refused.status == 403
            finally:
                page.context.close()
    log.errors = [e for e in log.errors if "403" not in e]  # the refused pages' own status, nothing else
    log.assert_clean()
