"""The 住户, 人员 and 网格人员 pages on the factory street: list and search inside the user's scope, edit with the
version read (a stale one is refused with the 412 message and nothing written), move out, add residents, move and
retire them, and the grid's posts: add, end, change and hand over. Each checked on the rows in PostGIS."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.history import day_of
from gridgov.records.roles import add_role
from gridgov.records.service import create_record

from tests.factories import X0, Y0, D
from tests.web.conftest import csrf_of, login

LoginAs = Callable[[str], TestClient]
ADMIN = Actor.system("tests")
WEST, EAST, OTHER = "610103006001001", "610103006001002", "610103006002001"
IN_WEST = (X0 + D / 4, Y0 + D / 2)
IN_EAST = (X0 + 3 * D / 4, Y0 + D / 2)
IN_OTHER = (X0 + 1.5 * D, Y0 + D / 2)
TODAY = day_of(None)
MONTH_AGO = TODAY - dt.timedelta(days=30)


@pytest.fixture
def as_user(web: TestClient, users: dict) -> LoginAs:
    """A function: a new client of the app, logged in as that user (one client per user, as browsers are)."""
    return lambda name: login(TestClient(web.app, headers=dict(web.headers), follow_redirects=False), name)


@pytest.fixture
def records(users: dict, clean_engine: Engine) -> None:
    """Households HW1, HW2 (west compound, community …001), HX1 (east compound, …001) and HO1 (community …002),
    recorded a month ago, and residents of HW1 and HW2."""
    with session_scope(clean_engine) as s:
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))
        for code, at, address in (("HW1", IN_WEST, "文艺北路 1 号 101"), ("HW2", IN_WEST, "文艺北路 1 号 102"),
                                  ("HX1", IN_EAST, "文艺北路 3 号"), ("HO1", IN_OTHER, "建设路 9 号")):  # fmt: skip
            create_record(s, "households", {"code": code, "kind": "常住户", "address": address, "lon": at[0],
                                            "lat": at[1]}, ADMIN, effective=MONTH_AGO)  # fmt: skip
        for code, household, name, phone in (("P1", "HW1", "张大山", "13900001111"), ("P2", "HW1", "李秀兰", None),
                                             ("P3", "HW2", "王小明", "13900002222")):  # fmt: skip
            create_record(s, "persons", {"code": code, "household_code": household, "name": name, "phone": phone},
                          ADMIN, effective=MONTH_AGO)  # fmt: skip


def listed(html: str) -> list[str]:
    """The household codes of the list, in page order."""
    return re.findall(r'<tr data-household="([^"]+)"', html)


def alert(html: str) -> str:
    """The text of the page's first alert."""
    m = re.search(r'<div class="alert alert-\w+ py-2" role="alert">([^<]*)</div>', html)
    return m.group(1) if m else ""


def on_day(html: str) -> str:
    """The table of the posts held on the page's day."""
    return html.split('data-testid="posts-on-day"', 1)[1].split("</table>", 1)[0]


def household_row(engine: Engine, code: str) -> dict:
    """The live row of a household, and how many rows (history included) it has."""
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT h.kind, h.address, h.version, h.valid_to IS NOT NULL AS retired, h.end_reason, g.code AS grid, "
            "(SELECT count(*) FROM household x WHERE x.code = h.code) AS rows "
            "FROM household h LEFT JOIN grid g ON g.id = h.grid_id WHERE h.code = :c AND h.lineage_id IS NULL"),
            {"c": code}).mappings().one())  # fmt: skip


def test_the_list_shows_the_users_households_and_finds_them(as_user: LoginAs, records: None) -> None:
    comm1 = as_user("comm1")
    page = comm1.get("/households")
    assert page.status_code == 200, page.text[:500]
    assert listed(page.text) == ["HW1", "HW2", "HX1"] and "共 3 户" in page.text
    assert 'aria-current="page">住户<' in page.text and "文艺北路 1 号 101" in page.text
    assert listed(comm1.get("/households", params={"q": "小明"}).text) == ["HW2"]  # a resident's name
    assert listed(comm1.get("/households", params={"q": "0001111"}).text) == ["HW1"]  # a resident's phone
    assert listed(comm1.get("/households", params={"q": "3 号"}).text) == ["HX1"]  # the address
    assert listed(comm1.get("/households", params={"q": "hw2"}).text) == ["HW2"]  # the code
    assert listed(comm1.get("/households", params={"grid": EAST}).text) == ["HX1"]
    assert "没有符合「建设路」的户" in comm1.get("/households", params={"q": "建设路"}).text  # …002 is not comm1's
    outside = comm1.get("/households", params={"grid": OTHER})
    assert outside.status_code == 403 and "超出权限范围" in outside.text
    assert listed(as_user("street").get("/households").text) == ["HO1", "HW1", "HW2", "HX1"]
    assert listed(as_user("grid1").get("/households").text) == ["HW1", "HW2"]
    picker = re.findall(r'<option value="(\d+)"', page.text.split('id="hh-grid"', 1)[1].split("</select>", 1)[0])
    assert picker == ["610103006001", WEST, EAST]  # the grids of comm1's scope


def test_moved_out_households_on_request_and_pages(as_user: LoginAs, records: None, clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        for i in range(52):
            create_record(s, "households", {"code": f"HZ{i:03d}", "kind": "租房户", "lon": IN_WEST[0],
                                            "lat": IN_WEST[1]}, ADMIN)  # fmt: skip
    comm1 = as_user("comm1")
    first = comm1.get("/households")
    assert len(listed(first.text)) == 50 and "第 1 / 2 页" in first.text
    second = comm1.get("/households", params={"page": 2})
    assert listed(second.text) == [f"HZ{i:03d}" for i in range(47, 52)] and "第 2 / 2 页" in second.text
    page = comm1.get("/households/HW2")
    form = {"csrftoken": csrf_of(page.text), "version": "1", "reason": "搬离", "reason_other": "", "effective": ""}
    assert comm1.post("/households/HW2/retire", data=form).status_code == 303
    assert "HW2" not in listed(comm1.get("/households", params={"q": "HW"}).text)
    again = comm1.get("/households", params={"q": "HW", "retired": "1"})
    assert listed(again.text) == ["HW1", "HW2"] and "已注销" in again.text and "搬离" in again.text


def test_an_edit_makes_a_new_version_and_a_stale_one_is_refused(as_user: LoginAs, records: None,
                                                                clean_engine: Engine) -> None:  # fmt: skip
    comm1 = as_user("comm1")
    page = comm1.get("/households/HW1")
    assert page.status_code == 200, page.text[:500]
    assert 'data-person="P1"' in page.text and "张大山" in page.text and 'name="version" value="1"' in page.text
    token = csrf_of(page.text)
    lon, lat = re.search(r'name="lon" value="([^"]*)"', page.text), re.search(r'name="lat" value="([^"]*)"', page.text)
    assert lon and lat
    edit = {"csrftoken": token, "version": "1", "kind": "租房户", "address": "文艺北路 1 号 101 室",
            "building_code": "", "lon": lon.group(1), "lat": lat.group(1), "effective": ""}  # fmt: skip
    saved = comm1.post("/households/HW1/edit", data=edit)
    assert saved.status_code == 303, saved.text[:500]
    shown = comm1.get(saved.headers["location"])
    assert "已保存户 HW1 的修改（户类型、地址），现为第 2 版" in alert(shown.text)
    assert "户类型：常住户 → 租房户" in shown.text and "测试comm1" in shown.text
    after = household_row(clean_engine, "HW1")
    assert (after["kind"], after["address"], after["version"]) == ("租房户", "文艺北路 1 号 101 室", 2)
    assert after["rows"] == 2  # the former state kept as a history row

    stale = comm1.post("/households/HW1/edit", data={**edit, "kind": "空房户", "address": "旧页面"})
    assert stale.status_code == 412, stale.text[:500]
    assert "已被他人修改（当前版本 2，您编辑的是版本 1）" in alert(stale.text)
    assert 'name="version" value="2"' in stale.text and 'value="文艺北路 1 号 101 室"' in stale.text  # the current one
    assert household_row(clean_engine, "HW1") == after  # nothing overwritten

    same = comm1.post("/households/HW1/edit", data={**edit, "version": "2"})
    assert same.status_code == 303 and "%E6%9C%AA%E4%BD%9C%E6%94%B9%E5%8A%A8" in same.headers["location"]  # 未作改动
    assert household_row(clean_engine, "HW1")["rows"] == 2

    back = comm1.post("/households/HW1/edit", data={**edit, "version": "2", "kind": "常住户",
                                                    "effective": (TODAY - dt.timedelta(days=40)).isoformat()})
    assert back.status_code == 422 and "早于该记录上次变更的日期" in alert(back.text)
    assert 'value="常住户" selected' in back.text.split('id="he-kind"', 1)[1]  # what was typed is kept
    moved = comm1.post("/households/HW1/edit", data={**edit, "version": "2", "lon": str(IN_OTHER[0]),
                                                     "lat": str(IN_OTHER[1])})  # fmt: skip
    assert moved.status_code == 403 and "超出权限范围" in moved.text  # the new place is another community's
    assert household_row(clean_engine, "HW1") == {**after, "rows": 2}


def test_an_edit_dated_earlier_closes_the_former_state_then(as_user: LoginAs, records: None,
                                                            clean_engine: Engine) -> None:  # fmt: skip
    comm1 = as_user("comm1")
    page = comm1.get("/households/HX1")
    day = TODAY - dt.timedelta(days=10)
    r = comm1.post("/households/HX1/edit", data={"csrftoken": csrf_of(page.text), "version": "1", "kind": "空房户",
                                                 "address": "文艺北路 3 号", "effective": day.isoformat()})
    assert r.status_code == 303, r.text[:500]
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, valid_from, valid_to FROM household WHERE code = 'HX1' "
                                 "ORDER BY valid_from")).all()  # fmt: skip
    tz = "Asia/Shanghai"
    assert [r.kind for r in rows] == ["常住户", "空房户"]
    assert day_of(rows[0].valid_to, tz) == day and rows[1].valid_from == rows[0].valid_to
    history = comm1.get("/households/HX1").text.split('data-testid="history"', 1)[1]
    assert history.index("第 2 版") < history.index("第 1 版") and f"{day.isoformat()} 00:00" in history


def test_moving_out_retires_the_household_and_its_residents(as_user: LoginAs, records: None,
                                                           clean_engine: Engine) -> None:  # fmt: skip
    comm1 = as_user("comm1")
    page = comm1.get("/households/HW1")
    token = csrf_of(page.text)
    form = {"csrftoken": token, "version": "1", "reason": "其他", "reason_other": "", "effective": ""}
    empty = comm1.post("/households/HW1/retire", data=form)
    assert empty.status_code == 422 and "选「其他」时请填写具体原因" in alert(empty.text)
    assert not household_row(clean_engine, "HW1")["retired"]
    done = comm1.post("/households/HW1/retire", data={**form, "reason_other": "整户出国"})
    assert done.status_code == 303, done.text[:500]
    row = household_row(clean_engine, "HW1")
    assert row["retired"] and row["end_reason"] == "整户出国" and row["version"] == 2
    with clean_engine.connect() as conn:
        people = conn.execute(text("SELECT code, end_reason FROM person WHERE household_id = "
                                   "(SELECT id FROM household WHERE code = 'HW1' AND lineage_id IS NULL) "
                                   "AND lineage_id IS NULL ORDER BY code")).all()  # fmt: skip
    assert [tuple(p) for p in people] == [("P1", "整户出国"), ("P2", "整户出国")]
    shown = comm1.get(done.headers["location"]).text
    assert "户 HW1 已注销（整户出国）" in alert(shown) and "注销：整户出国" in shown
    # the history lists the retirement once and each version once (the state before it, then the retirement)
    assert re.findall(r'<tr data-version="(\d+)"', shown) == ["2", "1"]
    assert 'data-testid="edit-household"' not in shown and "不能再修改" in shown
    again = comm1.post("/households/HW1/retire", data={**form, "version": "2", "reason": "搬离"})
    assert again.status_code == 409 and "已于" in alert(again.text)


def test_households_and_residents_are_added_and_refused_with_reasons(as_user: LoginAs, records: None,
                                                                    clean_engine: Engine) -> None:  # fmt: skip
    comm1 = as_user("comm1")
    new = comm1.get("/households/new")
    assert new.status_code == 200 and 'data-testid="new-household"' in new.text
    token = csrf_of(new.text)
    form = {"csrftoken": token, "code": "HN1", "kind": "租住", "address": "新楼 5 号", "building_code": "",
            "lon": str(IN_EAST[0]), "lat": str(IN_EAST[1]), "effective": ""}  # fmt: skip
    added = comm1.post("/households/new", data=form)
    assert added.status_code == 303 and added.headers["location"].startswith("/households/HN1?")
    assert household_row(clean_engine, "HN1") == {"kind": "租房户", "address": "新楼 5 号", "version": 1,
                                                  "retired": False, "end_reason": None, "grid": EAST, "rows": 1}
    dup = comm1.post("/households/new", data=form)
    assert dup.status_code == 409 and "户编码已存在：HN1" in alert(dup.text) and 'value="新楼 5 号"' in dup.text
    far = comm1.post("/households/new", data={**form, "code": "HN2", "lon": str(IN_OTHER[0])})
    assert far.status_code == 403
    nowhere = comm1.post("/households/new", data={**form, "code": "HN3", "lon": "", "lat": ""})
    assert nowhere.status_code == 422 and "户须给出位置" in alert(nowhere.text)

    person = {"csrftoken": token, "code": "P9", "name": "赵六", "sex": "女", "birth_year": "1960",
              "phone": "12345", "id_number": "", "tags": "独居老人；低保", "member_type": "", "effective": ""}
    bad = comm1.post("/households/HN1/persons", data=person)
    assert bad.status_code == 422 and "电话号码格式错误" in alert(bad.text) and 'value="赵六"' in bad.text
    ok = comm1.post("/households/HN1/persons", data={**person, "phone": "13900003333", "is_party_member": "on",
                                                      "member_type": "离退休"})  # fmt: skip
    assert ok.status_code == 303, ok.text[:500]
    with clean_engine.connect() as conn:
        p = conn.execute(text("SELECT p.name, p.phone, p.sensitive_tags, p.is_party_member, p.member_type, h.code "
                              "FROM person p JOIN household h ON h.id = p.household_id WHERE p.code = 'P9'")).one()
        assert tuple(p) == ("赵六", "13900003333", ["独居老人", "低保户"], True, "离退休", "HN1")
        assert conn.execute(text("SELECT count(*) FROM household WHERE code IN ('HN2', 'HN3')")).scalar() == 0


def test_a_resident_is_edited_moved_and_retired(as_user: LoginAs, records: None, clean_engine: Engine) -> None:
    comm1 = as_user("comm1")
    page = comm1.get("/persons/P1")
    assert page.status_code == 200 and "张大山" in page.text and 'href="/households/HW1"' in page.text
    token = csrf_of(page.text)
    edit = {"csrftoken": token, "version": "1", "name": "张大山", "sex": "男", "birth_year": "1950",
            "phone": "13900001111", "id_number": "", "tags": "", "member_type": "", "effective": "",
            "is_volunteer": "on"}  # fmt: skip
    assert comm1.post("/persons/P1/edit", data=edit).status_code == 303
    moved = comm1.post("/persons/P1/move", data={"csrftoken": token, "version": "2", "household_code": "HX1"})
    assert moved.status_code == 303, moved.text[:500]
    far = comm1.post("/persons/P1/move", data={"csrftoken": token, "version": "3", "household_code": "HO1"})
    assert far.status_code == 403  # a household of another community
    shown = comm1.get("/persons/P1").text
    assert "所属户：HW1 → HX1" in shown and "志愿者：否 → 是" in shown and "性别：（空） → 男" in shown
    gone = comm1.post("/persons/P1/retire", data={"csrftoken": token, "version": "3", "reason": "死亡"})
    assert gone.status_code == 303
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT h.code, p.sex, p.is_volunteer, p.valid_to IS NOT NULL, p.end_reason "
                                 "FROM person p JOIN household h ON h.id = p.household_id WHERE p.code = 'P1' "
                                 "ORDER BY p.valid_from, p.lineage_id IS NULL")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("HW1", None, False, True, None), ("HW1", "男", True, True, None),
                                       ("HX1", "男", True, True, None), ("HX1", "男", True, True, "死亡")]  # fmt: skip
    assert 'data-person="P1"' not in comm1.get("/households/HW1").text
    assert "已注销" in comm1.get("/households/HX1").text.split('data-person="P1"', 1)[1][:2000]


def test_the_grids_posts_are_added_changed_ended_and_handed_over(as_user: LoginAs, users: dict,
                                                                 clean_engine: Engine) -> None:  # fmt: skip
    with session_scope(clean_engine) as s:
        add_role(s, ADMIN, grid_code=WEST, role="网格长", name="张长", phone="13900000001", since=MONTH_AGO)
        add_role(s, ADMIN, grid_code=WEST, role="网格员", name="李旧", phone="13900000002", since=MONTH_AGO)
    comm1 = as_user("comm1")
    grid_page = comm1.get(f"/grids/{WEST}")
    assert f'href="/grids/{WEST}/staff"' in grid_page.text
    page = comm1.get(f"/grids/{WEST}/staff")
    assert page.status_code == 200, page.text[:500]
    assert re.findall(r'data-role="([^"]+)"', page.text) == ["网格长", "网格员"] and "李旧" in page.text
    token = csrf_of(page.text)

    handed = comm1.post(f"/grids/{WEST}/staff/handover", data={"csrftoken": token, "role": "网格管理员",
                        "staff_code": "", "name": "王新", "phone": "13900000003", "day": TODAY.isoformat()})
    assert handed.status_code == 303, handed.text[:500]
    assert "网格员已交接：李旧" in comm1.get(handed.headers["location"]).text
    with clean_engine.connect() as conn:
        posts = conn.execute(text("SELECT s.name, r.role, r.since, r.until, r.end_reason FROM grid_role r "
                                  "JOIN staff s ON s.id = r.staff_id ORDER BY r.id")).all()  # fmt: skip
    assert [tuple(p) for p in posts] == [("张长", "网格长", MONTH_AGO, None, None),
                                         ("李旧", "网格员", MONTH_AGO, TODAY, "交接"),
                                         ("王新", "网格员", TODAY, None, None)]  # fmt: skip
    before = comm1.get(f"/grids/{WEST}/staff", params={"day": (TODAY - dt.timedelta(days=1)).isoformat()}).text
    assert "李旧" in on_day(before) and "王新" not in on_day(before)

    ids = {p: int(i) for i, p in re.findall(r'data-post="(\d+)" data-role="([^"]+)"', on_day(comm1.get(
        f"/grids/{WEST}/staff").text))}  # fmt: skip
    changed = comm1.post(f"/grids/{WEST}/staff/{ids['网格员']}/change",
                         data={"csrftoken": token, "role": "网格督导员", "day": TODAY.isoformat()})
    assert changed.status_code == 303, changed.text[:500]
    same = comm1.post(f"/grids/{WEST}/staff/{ids['网格长']}/change", data={"csrftoken": token, "role": "网格长"})
    assert same.status_code == 422 and "新岗位与原岗位相同" in alert(same.text)
    empty = comm1.post(f"/grids/{WEST}/staff/{ids['网格长']}/end", data={"csrftoken": token, "reason": "其他"})
    assert empty.status_code == 422 and "请填写具体原因" in alert(empty.text)
    ended = comm1.post(f"/grids/{WEST}/staff/{ids['网格长']}/end", data={"csrftoken": token, "reason": "调离",
                                                                        "until": TODAY.isoformat()})
    assert ended.status_code == 303
    added = comm1.post(f"/grids/{WEST}/staff", data={"csrftoken": token, "role": "楼栋长", "name": "孙居民",
                                                     "phone": "13900000004", "day": ""})  # fmt: skip
    assert added.status_code == 303
    with clean_engine.connect() as conn:
        live = conn.execute(text("SELECT s.name, r.role, r.end_reason FROM grid_role r JOIN staff s ON "
                                 "s.id = r.staff_id ORDER BY r.id")).all()  # fmt: skip
    assert [tuple(p) for p in live] == [("张长", "网格长", "调离"), ("李旧", "网格员", "交接"),
                                        ("王新", "网格员", "改任网格督导员"), ("王新", "网格督导员", None),
                                        ("孙居民", "楼栋长", None)]  # fmt: skip
    comm2 = as_user("comm2")
    elsewhere = comm2.post(f"/grids/{WEST}/staff", data={"csrftoken": csrf_of(comm2.get("/").text), "role": "网格员",
                                                          "name": "某", "phone": "13900000005"})  # fmt: skip
    assert elsewhere.status_code == 403 and "超出权限范围" in elsewhere.text
    wrong_grid = comm1.post(f"/grids/{EAST}/staff/{ids['网格员']}/end", data={"csrftoken": token, "reason": "调离"})
    assert wrong_grid.status_code == 404 and "没有这条任职记录" in alert(wrong_grid.text)
    viewer = as_user("viewer").get(f"/grids/{WEST}/staff").text
    assert "王新" in viewer and "孙居民" not in viewer and 'data-testid="hand-over"' not in viewer  # resident: private


def test_residents_data_only_for_personal_rights_and_scope(as_user: LoginAs, records: None,
                                                          clean_engine: Engine) -> None:  # fmt: skip
    viewer = as_user("viewer")
    for url in ("/households", "/households/HW1", "/persons/P1"):
        r = viewer.get(url)
        assert r.status_code == 403 and "没有权限" in r.text and "查看个人信息" in r.text, url
    assert "/households" not in viewer.get("/").text.split("</nav>", 1)[0]
    comm1 = as_user("comm1")
    assert 'href="/households"' in comm1.get("/").text.split("</nav>", 1)[0]
    assert comm1.get("/households/HW1").status_code == 200 and comm1.get("/households").status_code == 200
    patrol = as_user("patrol1")
    assert patrol.get("/households").status_code == 403
    r = viewer.post("/households/HW1/edit", data={"csrftoken": csrf_of(viewer.get("/").text), "version": "1",
                                                  "kind": "空房户"})  # fmt: skip
    assert r.status_code == 403 and "权限不足" in r.text
    comm2 = as_user("comm2")
    for url in ("/households/HW1", "/persons/P1"):
        r = comm2.get(url)
        assert r.status_code == 403 and "超出权限范围" in r.text, url
    assert comm2.get("/households/NOPE").status_code == 404
    with clean_engine.connect() as conn:
        views = conn.execute(text("SELECT table_name, new->>'page' FROM audit_log WHERE action = 'view' "
                                  "AND actor = 'user:comm1' ORDER BY id")).all()  # fmt: skip
    assert [tuple(v) for v in views if v[1].startswith("/households")] == [
        ("household", "/households/HW1"), ("person", "/households/HW1"), ("household", "/households")]  # fmt: skip
    assert household_row(clean_engine, "HW1")["version"] == 1


def test_forms_without_the_csrf_token_are_refused(as_user: LoginAs, records: None, clean_engine: Engine) -> None:
    comm1 = as_user("comm1")
    comm1.get("/households/HW1")
    for url, data in (("/households/HW1/edit", {"version": "1", "kind": "空房户"}),
                      ("/households/HW1/retire", {"version": "1", "reason": "搬离"}),
                      (f"/grids/{WEST}/staff/handover", {"role": "网格员", "name": "某", "phone": "13900000005"})):
        r = comm1.post(url, data=data)
        assert r.status_code == 403 and "CSRF" in r.text, url
    row = household_row(clean_engine, "HW1")
    assert (row["kind"], row["retired"]) == ("常住户", False)
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid_role")).scalar() == 0
