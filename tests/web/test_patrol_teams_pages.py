"""The 巡逻队与区域 pages on the factory street: a patrol leader adds a team (its community: the leader's scope), edits
it on the version read (a stale one is refused and nothing written), adds and ends members, adds an area from an
uploaded file and from pasted GeoJSON, sets and clears its route, and retires the team (refused while it has
rosters ahead, unless told to cancel them); checked on the rows in PostGIS and the text of the pages. Outside the
scope, and for roles without patrol rights, the pages refuse. A Chromium test adds a team through the page."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import LineString, box, mapping
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.history import day_of

from tests.browser import PageLog, chromium, open_page, serve
from tests.factories import X0, Y0, D
from tests.web.conftest import PASSWORD, csrf_of, login

LoginAs = Callable[[str], TestClient]
OWN, OTHER = "610103006001", "610103006002"
TODAY = day_of(None)
WEST = box(X0 + 0.1 * D, Y0 + 0.1 * D, X0 + 0.4 * D, Y0 + 0.4 * D)
EAST = box(X0 + 1.1 * D, Y0 + 0.1 * D, X0 + 1.4 * D, Y0 + 0.4 * D)
ROUTE = LineString([(X0 + 0.15 * D, Y0 + 0.2 * D), (X0 + 0.35 * D, Y0 + 0.2 * D)])


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


@pytest.fixture
def street(users: dict, clean_engine: Engine) -> None:
    """Staff S1–S3 and team TE of community …002 (plain SQL)."""
    with session_scope(clean_engine) as s:
        s.execute(text("INSERT INTO staff (code, name, phone, organisation) VALUES ('S1', '张队', '13900000001', "
                       "'街道办'), ('S2', '王员', '13900000002', NULL), ('S3', '李员', NULL, NULL)"))  # fmt: skip
        s.execute(text("INSERT INTO patrol_team (code, name, grid_id) SELECT 'TE', '东队', id FROM grid "
                       "WHERE code = :g"), {"g": OTHER})  # fmt: skip


def geodesic_m2(geom: Any) -> float:
    """The area on the WGS84 spheroid (what PostGIS's geography area gives)."""
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0])


def alert(html: str) -> str:
    """The text of the page's first alert."""
    m = re.search(r'<div class="alert alert-\w+ py-2" role="alert">([^<]*)</div>', html)
    return m.group(1) if m else ""


def post(client: TestClient, page: str, url: str, data: dict[str, str], **kw: Any) -> Any:
    """POST a form of ``page`` (its CSRF token first, as browsers send it)."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrftoken": token, **data}, **kw)


def one(engine: Engine, sql: str, **params: Any) -> tuple[Any, ...]:
    """The one row of a query."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(sql), params).one())


def test_a_patrol_leader_adds_and_edits_a_team(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    c = as_user("patrol1")
    page = c.get("/patrol/teams")
    assert page.status_code == 200 and "东队" in page.text and 'data-testid="add-team"' in page.text
    r = post(
        c,
        "/patrol/teams",
        "/patrol/teams",
        {
            "code": "TW",
            "name": "西队",
            "kind": "干部",
            "shift": "上半夜",
            "unit": "街道办",
            "grid": "",
            "leader": "S1",
            "effective": "",
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/patrol/teams/TW?done=")
    shown = c.get(r.headers["location"])
    assert alert(shown.text) == "已新建巡逻队 TW 西队"
    assert "张队 13900000001（S1）" in shown.text and "上半夜（20:00–23:30）" in shown.text
    assert one(clean_engine, "SELECT t.kind, g.code, t.updated_by FROM patrol_team t JOIN grid g ON g.id = t.grid_id "
                             "WHERE t.code = 'TW'") == ("机关干部", OWN, "user:patrol1")  # fmt: skip

    refused = post(c, "/patrol/teams", "/patrol/teams", {"code": "T2", "name": "二队", "kind": "特警"})
    assert refused.status_code == 422 and "未新建：巡逻队类型：未知的取值 特警" in alert(refused.text)
    assert 'value="T2"' in refused.text  # what was typed stays

    edit = {"name": "西队（夜）", "kind": "机关干部", "shift": "下半夜", "unit": "街道办", "grid": OWN, "leader": "S1",
            "effective": TODAY.isoformat(), "version": "1"}  # fmt: skip
    saved = post(c, "/patrol/teams/TW", "/patrol/teams/TW/edit", edit)
    assert saved.status_code == 303
    assert alert(c.get(saved.headers["location"]).text) == "已保存修改（名称、班次），现为第 2 版"
    stale = post(c, "/patrol/teams/TW", "/patrol/teams/TW/edit", edit | {"name": "旧名"})
    assert stale.status_code == 412 and "已被他人修改（当前版本 2，您编辑的是版本 1）" in alert(stale.text)
    history = c.get("/patrol/teams/TW").text.split('data-testid="history"', 1)[1]
    assert "名称：西队 → 西队（夜）；班次：上半夜 → 下半夜" in history
    assert one(clean_engine, "SELECT name, version FROM patrol_team WHERE code = 'TW' AND lineage_id IS NULL") == (
        "西队（夜）", 2)  # fmt: skip

    other = post(c, "/patrol/teams/TW", "/patrol/teams/TE/edit", edit | {"grid": OTHER, "version": "1"})
    assert other.status_code == 403 and "超出权限范围" in other.text and "<html" in other.text
    for name, want in (("viewer", 403), ("comm2", 200)):
        assert as_user(name).get("/patrol/teams").status_code == want


def test_members_join_and_leave_through_the_forms(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    c = as_user("comm1")
    post(c, "/patrol/teams", "/patrol/teams", {"code": "TW", "name": "西队"})
    added = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", {"staff_code": "S2", "role": "队长",
                                                                     "day": TODAY.isoformat()})  # fmt: skip
    assert added.status_code == 303
    page = c.get(added.headers["location"]).text
    assert alert(page) == f"已加入：队长 王员（S2），自 {TODAY.isoformat()} 起"
    assert "王员 13900000002（S2）" in page and "队内职务为队长" in page  # the leader, by role
    again = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", {"staff_code": "S2", "role": "队员"})
    assert again.status_code == 409 and "S2 已是巡逻队 TW 的队员" in alert(again.text)
    left = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members/S2/end", {"reason": "其他", "reason_other": "调岗",
                                                                           "day": TODAY.isoformat()})  # fmt: skip
    assert left.status_code == 303
    assert alert(c.get(left.headers["location"]).text) == f"王员（S2）自 {TODAY.isoformat()} 起离队（调岗）"
    assert one(clean_engine, "SELECT m.role, m.since, m.until, m.end_reason FROM patrol_team_member m "
                             "JOIN staff s ON s.id = m.staff_id WHERE s.code = 'S2'") == (
        "队长", TODAY, TODAY, "调岗")  # fmt: skip


def test_a_volunteer_joins_in_one_step(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    """「新队员（未登记的志愿者）」: the staff record and the membership in one step, in the team's scope only."""
    c = as_user("patrol1")
    post(c, "/patrol/teams", "/patrol/teams", {"code": "TW", "name": "西队"})
    page = c.get("/patrol/teams/TW").text
    assert 'data-testid="add-volunteer"' in page and "新队员（未登记的志愿者）" in page
    volunteer = {"name": "赵志愿", "phone": "13912345678", "organisation": "西社区", "role": "队员",
                 "day": TODAY.isoformat()}  # fmt: skip
    added = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", volunteer)
    assert added.status_code == 303, alert(added.text)
    code, organisation, by = one(clean_engine, "SELECT code, organisation, updated_by FROM staff "
                                               "WHERE name = '赵志愿' AND phone = '13912345678'")  # fmt: skip
    assert code.startswith("S-") and (organisation, by) == ("西社区", "user:patrol1")
    shown = c.get(added.headers["location"]).text
    assert alert(shown) == f"已加入：队员 赵志愿（{code}），自 {TODAY.isoformat()} 起"
    assert one(clean_engine, "SELECT t.code, m.role, m.since FROM patrol_team_member m JOIN patrol_team t "
                             "ON t.id = m.team_id JOIN staff s ON s.id = m.staff_id WHERE s.code = :c", c=code) == (
        "TW", "队员", TODAY)  # fmt: skip
    assert f'data-member="{code}"' in shown

    again = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", volunteer)  # the same person: the same record
    assert again.status_code == 409 and f"赵志愿（{code}） 已是巡逻队 TW 的队员" in alert(again.text)
    no_phone = post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", {"name": "钱志愿", "phone": ""})
    assert no_phone.status_code == 422 and "请填写电话" in alert(no_phone.text)
    assert 'value="钱志愿"' in no_phone.text and "<details class=\"mb-4 no-print\" open>" in no_phone.text
    outside = post(c, "/patrol/teams/TW", "/patrol/teams/TE/members", volunteer | {"name": "孙志愿"})
    assert outside.status_code == 403 and "超出权限范围" in outside.text
    assert one(clean_engine, "SELECT count(*) FROM staff WHERE name IN ('钱志愿', '孙志愿')") == (0,)
    assert one(clean_engine, "SELECT count(*) FROM patrol_team_member") == (1,)


def test_an_area_from_a_file_and_from_pasted_geojson(as_user: LoginAs, street: None, clean_engine: Engine) -> None:
    c = as_user("street")  # an area shared by two communities: the street's staff set it up
    post(c, "/patrol/teams", "/patrol/teams", {"code": "TW", "name": "西队", "grid": OWN})
    assert 'value="TW" selected' in c.get("/patrol/areas/new?team=TW").text
    upload = json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(WEST)}).encode()
    made = post(c, "/patrol/areas/new", "/patrol/areas/new",
                {"code": "AW", "name": "西区", "team": "TW", "rota_odd": OWN, "rota_even": OTHER, "crs": ""},
                files={"file": ("west.geojson", upload, "application/geo+json")})  # fmt: skip
    assert made.status_code == 303, made.text[:300]
    page = c.get(made.headers["location"]).text
    assert alert(page).startswith("已新建巡逻区域 AW（")
    assert f"单月：文艺北路一社区（{OWN}）；双月：文艺北路二社区（{OTHER}）" in page
    assert page.count('data-kind="area"') == 1 and page.count('data-kind="community"') == 1  # the map, in context
    listed = c.get("/patrol/teams/TW").text.split('data-testid="team-areas"', 1)[1].split("</ul>", 1)[0]
    assert re.sub(r"<[^>]+>", "", listed).lstrip(">").strip() == (
        f"AW 西区：{geodesic_m2(WEST) / 1e4:.2f} 公顷，轮值牵头：文艺北路一社区 / 文艺北路二社区"
    )

    leader = as_user("patrol1")
    pasted = post(
        leader,
        "/patrol/areas/new",
        "/patrol/areas/new",
        {"code": "AE", "name": "东区", "geojson": json.dumps(mapping(EAST))},
    )
    assert pasted.status_code == 403 and "超出权限范围" in pasted.text  # community …002 is not patrol1's
    shared = post(leader, "/patrol/areas/AW", "/patrol/areas/AW/edit", {"version": "1", "name": "西区（改）"})
    assert shared.status_code == 403  # its rota names community …002 too
    nothing = post(leader, "/patrol/areas/new", "/patrol/areas/new", {"code": "A0", "name": "空"})
    assert nothing.status_code == 422 and "请上传区域文件，或粘贴 GeoJSON" in alert(nothing.text)

    routed = post(
        c, "/patrol/areas/AW", "/patrol/areas/AW/route", {"version": "1", "geojson": json.dumps(mapping(ROUTE))}
    )
    assert routed.status_code == 303
    page = c.get(routed.headers["location"]).text
    assert alert(page).startswith("已设置计划路线（") and page.count('data-kind="route"') == 1
    cleared = post(c, "/patrol/areas/AW", "/patrol/areas/AW/route", {"version": "2", "clear": "1"})
    assert alert(c.get(cleared.headers["location"]).text) == "已清除计划路线"
    assert one(clean_engine, "SELECT version, route IS NULL, cardinality(rota_grid_ids) FROM patrol_area "
                             "WHERE code = 'AW' AND lineage_id IS NULL") == (3, True, 2)  # fmt: skip
    history = c.get("/patrol/areas/AW").text.split('data-testid="history"', 1)[1]
    assert "计划路线：已清除" in history and "新建" in history


def test_a_team_with_rosters_ahead_is_retired_only_when_told(as_user: LoginAs, street: None,
                                                             clean_engine: Engine) -> None:  # fmt: skip
    c = as_user("patrol1")
    post(c, "/patrol/teams", "/patrol/teams", {"code": "TW", "name": "西队"})
    post(c, "/patrol/teams/TW", "/patrol/teams/TW/members", {"staff_code": "S3"})
    later = TODAY + dt.timedelta(days=2)
    with clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO patrol_roster (night, shift, team_id) SELECT :n, '上半夜', id FROM patrol_team "
                          "WHERE code = 'TW'"), {"n": later})  # fmt: skip
    form = {"version": "1", "reason": "合并", "day": TODAY.isoformat()}
    refused = post(c, "/patrol/teams/TW", "/patrol/teams/TW/retire", form)
    assert refused.status_code == 409
    assert f"未撤销：巡逻队 TW 在 {TODAY.isoformat()} 及以后还有排班：{later.isoformat()}（1 个夜晚）" in alert(
        refused.text
    )
    done = post(c, "/patrol/teams/TW", "/patrol/teams/TW/retire", form | {"cancel_rosters": "true"})
    assert done.status_code == 303
    page = c.get(done.headers["location"]).text
    assert alert(page) == "巡逻队 TW 已撤销（合并）" and 'data-testid="edit-team"' not in page
    assert one(clean_engine, "SELECT (SELECT count(*) FROM patrol_roster), (SELECT until FROM patrol_team_member), "
                             "(SELECT end_reason FROM patrol_team WHERE code = 'TW' AND lineage_id IS NULL)") == (
        0, TODAY, "合并")  # fmt: skip
    listed = c.get("/patrol/teams").text
    assert 'data-team="TW"' not in listed and 'data-team="TW"' in c.get("/patrol/teams?retired=1").text
    history = page.split('data-testid="history"', 1)[1]
    assert re.findall(r'<tr data-version="(\d)"( class="table-secondary" data-retirement="1")?', history) == [
        ("2", ' class="table-secondary" data-retirement="1"'),
        ("1", ""),
    ]  # the retirement, then the state it ended
    assert "撤销：合并" in history


@pytest.fixture
def base(users: dict, street: None, clean_engine: Engine, settings_for: Settings) -> Iterator[str]:
    """The app served on a free port."""
    with serve(create_app(settings_for, clean_engine)) as url:
        yield url


def test_a_team_is_added_through_the_page_in_chromium(base: str, clean_engine: Engine) -> None:
    log = PageLog()
    with chromium() as browser:
        page = open_page(browser, base + "/login", log, viewport=(1366, 768))
        try:
            page.goto(f"{base}/login?next=/patrol/teams")
            page.fill("input[name=username]", "patrol1")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url(base + "/patrol/teams")
            page.click("details:has([data-testid=add-team]) summary")
            page.fill("#nt-code", "PT7")
            page.fill("#nt-name", "文艺北路平安巡逻队")
            page.select_option("#nt-kind", "社区志愿者")
            page.select_option("#nt-shift", "下半夜")
            page.fill("#nt-leader", "S1")
            page.click("[data-testid=do-add-team]")
            page.wait_for_url(f"{base}/patrol/teams/PT7?done=*")
            assert "已新建巡逻队 PT7 文艺北路平安巡逻队" in page.locator(".alert-success").inner_text()
            page.click("nav[aria-label=所在位置] >> text=巡逻队与区域")
            page.wait_for_url(base + "/patrol/teams")
            row = page.locator("[data-team=PT7]").inner_text()
            assert all(word in row for word in ("文艺北路平安巡逻队", "社区志愿者", "下半夜", "文艺北路一社区", "张队"))
        finally:
            page.context.close()
    log.assert_clean()
    assert one(clean_engine, "SELECT t.name, t.kind, t.shift, s.code FROM patrol_team t JOIN staff s "
                             "ON s.id = t.leader_staff_id WHERE t.code = 'PT7'") == (
        "文艺北路平安巡逻队", "社区志愿者", "下半夜", "S1")  # fmt: skip
