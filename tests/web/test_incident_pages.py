"""The 事件 pages through the forms: a report with a photo, the case page with its timeline and photos, the loop
(受理, 派遣, 处置, 核查, 结案) by users of the right roles, a stale version (409, nothing changed, nothing lost),
refusals out of scope, what a viewer and a patrol leader see, and the inbox tabs.

The factory street (tests/web/conftest): grid1 works compound …001001 and is the staff member S1 (网格员 there),
comm1 is community …001's staff, comm2 community …002's.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.incidents import cases
from gridgov.incidents.cases import NewCase, Step
from gridgov.incidents.photos import Photo

from tests.factories import X0, Y0, D
from tests.web.conftest import csrf_of, login

TZ = ZoneInfo("Asia/Shanghai")
WEST = (X0 + D / 4, Y0 + D / 2)  # in compound 610103006001001
EAST = (X0 + 1.5 * D, Y0 + D / 2)  # in community 610103006002


def png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small PNG photo."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def app(users: dict, clean_engine: Engine, settings_for: Settings) -> FastAPI:
    """The app on the factory street with staff S1 (网格员 of …001001, grid1's own record) and S3 (网格长 of …001);
    no background escalation (the cases made in the past below must stay where the test puts them)."""
    with Session(clean_engine) as s, s.begin():
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001'), "
                       "('S3', '赵社区', '13800000003')"))
        s.execute(text("""INSERT INTO grid_role (grid_id, staff_id, role, since)
                          SELECT g.id, st.id, r.role, DATE '2020-01-01'
                            FROM (VALUES ('610103006001001', 'S1', '网格员'), ('610103006001', 'S3', '网格长'))
                                 AS r(grid, staff, role)
                            JOIN grid g ON g.code = r.grid AND g.valid_to IS NULL
                            JOIN staff st ON st.code = r.staff"""))
        s.execute(text("UPDATE app_user SET staff_id = (SELECT id FROM staff WHERE code = 'S1') "
                       "WHERE username = 'grid1'"))
    application = create_app(settings_for.model_copy(update={"escalate_overdue": False}), clean_engine)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """A function: a new browser-like client logged in as that user."""
    made: list[TestClient] = []

    def make(name: str) -> TestClient:
        c = TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
        c.__enter__()
        made.append(c)
        return login(c, name)

    yield make
    for c in made:
        c.__exit__(None, None, None)


def report(c: TestClient, where: tuple[float, float], **fields: str) -> Response:
    """POST the report form (the token first, then the fields, then a photo)."""
    page = c.get("/incidents/new")
    assert page.status_code == 200, page.text[:300]
    data = {"csrftoken": csrf_of(page.text), "category": "市容环境", "subcategory": "市容环境/暴露垃圾",
            "description": "3 号楼东侧垃圾桶满溢", "urgency": "一般", "lon": str(where[0]), "lat": str(where[1]),
            "located": "gps", "reporter_name": "刘居民", "reporter_phone": "13912345678", **fields}  # fmt: skip
    return c.post("/incidents/new", data=data, files=[("photos", ("现场.png", png(), "image/png"))])


def act(c: TestClient, code: str, action: str, *, photo: bool = False, **fields: str) -> Response:
    """Take a step through the case page's form (its token and the version it shows)."""
    page = c.get(f"/incidents/{code}")
    assert page.status_code == 200, page.text[:300]
    assert f'data-action="{action}"' in page.text, f"{action} not offered"
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    data = {"csrftoken": csrf_of(page.text), "action": action, "version": version.group(1), **fields}
    files = [("photos", ("处置后.png", png((30, 160, 60)), "image/png"))] if photo else None
    return c.post(f"/incidents/{code}/act", data=data, files=files)


def follow(c: TestClient, r: Response) -> str:
    """The page a 303 leads to."""
    assert r.status_code == 303, r.text[:500]
    return c.get(r.headers["location"]).text


def state(engine: Engine, code: str) -> tuple[str, str, int, int]:
    """A case's status, level, version and number of timeline steps."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, level, version, (SELECT count(*) FROM incident_event e "
                                "WHERE e.incident_id = i.id) AS steps FROM incident i WHERE code = :c"),
                           {"c": code}).one()  # fmt: skip
    return row.status, row.level, row.version, row.steps


def reported(engine: Engine) -> str:
    """The code of the only case."""
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT code FROM incident")).scalar_one())


def test_a_report_with_a_photo_lands_on_its_case_page(client: Callable[[str], TestClient],
                                                      clean_engine: Engine) -> None:  # fmt: skip
    grid1 = client("grid1")
    form = grid1.get("/incidents/new").text
    assert 'accept="image/*" capture="environment" multiple' in form
    assert "<option>市容环境</option>" in form and 'value="消防安全/楼道堆物"' in form
    r = report(grid1, WEST, address="文艺北路 8 号院")
    code = reported(clean_engine)
    assert r.headers["location"].startswith(f"/incidents/{code}?done=")
    page = follow(grid1, r)
    assert f"已上报事件 {code}（第一网格），受理时限" in page
    assert 'data-testid="status">上报<' in page and "暴露垃圾" in page and "文艺北路 8 号院" in page
    assert "3 号楼东侧垃圾桶满溢" in page and "刘居民 13912345678" in page
    assert '<li data-step="上报">' in page
    with clean_engine.connect() as conn:
        row = conn.execute(text("""SELECT i.category, i.subcategory, i.source, g.code AS grid, i.reporter_phone,
                                          ST_X(i.geom) AS lon, p.id AS photo, p.filename, p.content_type
                                     FROM incident i JOIN grid g ON g.id = i.grid_id
                                     JOIN incident_photo p ON p.incident_id = i.id""")).one()  # fmt: skip
        seen = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'view' AND table_name = 'incident'"))
        assert seen.scalar_one() >= 1
    assert (row.category, row.subcategory, row.source, row.grid) == ("市容环境", "暴露垃圾", "网格员上报",
                                                                     "610103006001001")  # fmt: skip
    assert row.reporter_phone == "13912345678" and abs(row.lon - WEST[0]) < 1e-7
    assert (row.filename, row.content_type) == ("现场.png", "image/png")
    assert f'href="/incidents/photos/{row.photo}"' in page and f'src="/incidents/photos/{row.photo}/thumb"' in page
    thumb = grid1.get(f"/incidents/photos/{row.photo}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (64, 48)
    full = grid1.get(f"/incidents/photos/{row.photo}")
    assert full.content == png() and full.headers["content-type"] == "image/png"


def test_a_refused_report_keeps_what_was_typed_and_stores_nothing(app: FastAPI, client: Callable[[str], TestClient],
                                                                  clean_engine: Engine) -> None:  # fmt: skip
    grid1 = client("grid1")
    r = report(grid1, WEST, lon="", lat="", description="井盖缺失，有人绊倒")
    assert r.status_code == 422 and "未上报：请选择事件位置：使用手机定位，或在地图上点选" in r.text
    assert "井盖缺失，有人绊倒</textarea>" in r.text and 'value="13912345678"' in r.text
    r = report(grid1, EAST)
    assert r.status_code == 403 and "未上报：超出权限范围" in r.text
    assert f'name="lon" id="ir-lon" value="{EAST[0]}"' in r.text
    page = grid1.get("/incidents/new")
    bad = grid1.post("/incidents/new", data={"csrftoken": csrf_of(page.text), "category": "市容环境",
                                             "description": "x", "lon": str(WEST[0]), "lat": str(WEST[1])},
                     files=[("photos", ("a.png", b"not an image", "image/png"))])  # fmt: skip
    assert bad.status_code == 422 and "照片「a.png」不是可读的图片文件" in bad.text
    app.state.settings = app.state.settings.model_copy(update={"photo_max_mb": 0.0001})  # about 100 bytes
    r = report(grid1, WEST, description="楼道堆物")
    assert r.status_code == 413 and re.search(r"未上报：照片「现场.png」有 [0-9.]+ MB，超过上限 [0-9.e-]+ MB", r.text)
    assert "楼道堆物</textarea>" in r.text
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident")).scalar_one() == 0


def test_a_case_runs_the_loop_through_the_forms(client: Callable[[str], TestClient], clean_engine: Engine) -> None:
    grid1, comm1 = client("grid1"), client("comm1")
    report(grid1, WEST)
    code = reported(clean_engine)
    page = follow(comm1, act(comm1, code, "accept"))
    assert f"已受理立案：事件 {code} 现为「立案」（网格层级）" in page
    # dispatch: the rule's default (the grid's 网格员) is offered first and selected; S3 above is offered too
    assert '<option value="">按规则派遣：王网格（网格员）</option>' in page
    assert '<option value="S3">赵社区（网格长 · 社区 文艺北路一社区）</option>' in page
    page = follow(comm1, act(comm1, code, "dispatch"))
    assert 'data-testid="assignee">王网格' in page and '派遣给 <span class="text-body">王网格</span>（S1）' in page
    # the grid worker handles it with a photo; they may not verify their own work
    page = follow(grid1, act(grid1, code, "handle", photo=True, note="已清运，地面已冲洗"))
    assert "已处置完毕" in page and "已清运，地面已冲洗" in page and 'data-action="verify"' not in page
    assert page.count("/thumb") == 4  # two photos, each in the photo list and in its step
    follow(comm1, act(comm1, code, "verify", note="现场已整洁"))
    page = follow(comm1, act(comm1, code, "close"))
    assert f"已结案：事件 {code} 现为「结案」" in page and 'data-action="reopen"' in page
    assert state(clean_engine, code) == ("结案", "网格", 6, 6)
    steps = re.findall(r'<li data-step="([^"]+)">', page)
    assert steps == ["上报", "立案", "派遣", "处置", "核查通过", "结案"]


def test_a_stale_version_is_a_409_notice_that_changes_nothing(client: Callable[[str], TestClient],
                                                             clean_engine: Engine) -> None:  # fmt: skip
    grid1, comm1, street = client("grid1"), client("comm1"), client("street")
    report(grid1, WEST)
    code = reported(clean_engine)
    seen = street.get(f"/incidents/{code}").text  # the street's staff open the case at version 1 …
    follow(comm1, act(comm1, code, "accept"))  # … and community staff accept it meanwhile
    before = state(clean_engine, code)
    r = street.post(f"/incidents/{code}/act", data={"csrftoken": csrf_of(seen), "action": "escalate", "version": "1",
                                                    "note": "需街道协调城管"})  # fmt: skip
    assert r.status_code == 409
    assert f"未能上报上级：事件 {code} 已被他人处理（当前为第 2 版，您看到的是第 1 版，现状态：立案）" in r.text
    assert "需街道协调城管</textarea>" in r.text and 'name="version" value="2"' in r.text
    assert state(clean_engine, code) == before == ("立案", "网格", 2, 2)
    # a step that no longer applies keeps its note on the page too
    r = street.post(f"/incidents/{code}/act", data={"csrftoken": csrf_of(seen), "action": "reject", "version": "1",
                                                    "note": "重复上报"})  # fmt: skip
    assert r.status_code == 409 and "重复上报" in r.text and state(clean_engine, code) == before


def test_outside_the_scope_is_a_403_page(client: Callable[[str], TestClient], clean_engine: Engine) -> None:
    grid1 = client("grid1")
    report(grid1, WEST)
    code = reported(clean_engine)
    comm2 = client("comm2")
    r = comm2.get(f"/incidents/{code}")
    assert r.status_code == 403 and "没有权限" in r.text and "超出权限范围" in r.text
    page = comm2.get("/incidents").text
    r = comm2.post(f"/incidents/{code}/act", data={"csrftoken": csrf_of(page), "action": "accept", "version": "1"})
    assert r.status_code == 403 and "超出权限范围" in r.text
    with clean_engine.connect() as conn:
        photo = conn.execute(text("SELECT id FROM incident_photo")).scalar_one()
    assert comm2.get(f"/incidents/photos/{photo}/thumb").status_code == 403
    assert state(clean_engine, code) == ("上报", "网格", 1, 1)
    assert comm2.get("/incidents/E000").status_code == 404


def test_a_viewer_sees_the_case_without_personal_data_and_a_patrol_leader_cannot_act(
    client: Callable[[str], TestClient], clean_engine: Engine
) -> None:
    report(client("grid1"), WEST)
    code = reported(clean_engine)
    viewer = client("viewer")
    page = viewer.get(f"/incidents/{code}")
    assert page.status_code == 200 and 'data-testid="status">上报<' in page.text and "暴露垃圾" in page.text
    for private in ("刘居民", "13912345678", "垃圾桶满溢", "/thumb"):
        assert private not in page.text, private
    assert "描述、反映人和照片仅对本事件所在范围内" in page.text and "只能查看事件" in page.text
    with clean_engine.connect() as conn:
        photo = conn.execute(text("SELECT id FROM incident_photo")).scalar_one()
    assert viewer.get(f"/incidents/photos/{photo}").status_code == 403
    assert viewer.get("/incidents/new").status_code == 403
    r = viewer.post(f"/incidents/{code}/act", data={"csrftoken": csrf_of(page.text), "action": "accept"})
    assert r.status_code == 403 and "权限不足" in r.text
    patrol = client("patrol1")
    page = patrol.get(f"/incidents/{code}")
    assert page.status_code == 200 and "data-action=" not in page.text and "13912345678" not in page.text
    r = patrol.post(f"/incidents/{code}/act", data={"csrftoken": csrf_of(page.text), "action": "accept"})
    assert r.status_code == 403
    r = report(patrol, WEST, description="路口有可疑人员徘徊", category="治安隐患", subcategory="")
    assert r.status_code == 303
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM incident WHERE category = '治安隐患'")).scalar_one() == "巡逻发现"
    assert state(clean_engine, code) == ("上报", "网格", 1, 1)


@pytest.fixture
def inbox_cases(app: FastAPI, clean_engine: Engine) -> dict[str, str]:
    """Cases in every box: A reported (网格), B dispatched to S1, C handled by grid1, D reported ten days ago (overdue),
    F escalated to 社区, E in community …002."""
    rules_now = dt.datetime.now(dt.UTC)
    out = {}
    with Session(clean_engine) as s, s.begin():
        rules = cases.rules_for(s, app.state.settings)
        uid: dict[str, int] = {r.username: r.id for r in s.execute(text("SELECT username, id FROM app_user"))}
        s1 = s.scalar(text("SELECT id FROM staff WHERE code = 'S1'"))
        live = s.execute(text("SELECT code, id FROM grid WHERE valid_to IS NULL"))
        gid: dict[str, int] = {r.code: r.id for r in live}
        worker = Actor("user:grid1", "grid", gid["610103006001001"], "610103006001001", user_id=uid["grid1"],
                       staff_id=s1)  # fmt: skip
        community = Actor("user:comm1", "community", gid["610103006001"], "610103006001", user_id=uid["comm1"])
        east = Actor("user:comm2", "community", gid["610103006002"], "610103006002", user_id=uid["comm2"])

        def new(who: Actor, where: tuple[float, float], what: str, when: dt.datetime = rules_now) -> int:
            return cases.report(s, who, NewCase(*where, "市容环境", what, photos=[Photo("p.png", png())]), rules,
                                now=when)  # fmt: skip

        ids = {
            "A": new(worker, WEST, "A"),
            "B": new(worker, WEST, "B"),
            "C": new(worker, WEST, "C"),
            "D": new(worker, WEST, "D", rules_now - dt.timedelta(days=10)),
            "F": new(worker, WEST, "F"),
            "E": new(east, EAST, "E"),
        }
        for key in ("B", "C"):
            cases.act(s, community, ids[key], Step("accept"), rules)
            cases.act(s, community, ids[key], Step("dispatch"), rules)
        cases.act(s, worker, ids["C"], Step("handle", note="已处理"), rules)
        cases.act(s, worker, ids["F"], Step("escalate", note="需社区协调"), rules)
        for key, cid in ids.items():
            out[key] = s.scalar(text("SELECT code FROM incident WHERE id = :i"), {"i": cid})
    return out


def listed(c: TestClient, query: str) -> list[str]:
    """The case codes a list shows, in order."""
    r = c.get(f"/incidents?{query}")
    assert r.status_code == 200, r.text[:300]
    return re.findall(r'<tr data-case="([^"]+)"', r.text)


def test_the_inbox_tabs_list_the_right_cases(client: Callable[[str], TestClient], inbox_cases: dict[str, str]) -> None:
    k = inbox_cases
    grid1, comm1 = client("grid1"), client("comm1")
    page = grid1.get("/incidents").text
    assert '<a class="nav-link active" href="/incidents?box=mine"' in page  # the worker's own cases come first
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page))
    assert counts == {"mine": "1", "level": "2", "verify": "0", "overdue": "1"}
    assert listed(grid1, "box=mine") == [k["B"]]
    assert listed(grid1, "box=level") == [k["D"], k["A"]]  # overdue first, then by deadline
    assert listed(grid1, "box=verify") == []  # C is grid1's own work
    assert listed(grid1, "box=overdue") == [k["D"]]
    overdue = grid1.get("/incidents?box=overdue").text
    assert 'class="ir-row-overdue"' in overdue and "已超期 " in overdue
    assert set(listed(comm1, "box=all")) == {k[x] for x in "ABCDF"}
    assert listed(comm1, "box=level") == [k["F"]]
    assert listed(comm1, "box=verify") == [k["C"]]
    assert listed(comm1, "box=all&status=派遣") == [k["B"]]
    assert listed(comm1, "box=all&level=社区") == [k["F"]]
    assert listed(comm1, "box=all&grid=610103006001002") == []
    assert "mine" not in dict(re.findall(r'data-count="(\w+)">(\d+)<', comm1.get("/incidents").text))
    assert k["E"] in listed(client("street"), "box=all") and k["E"] not in listed(comm1, "box=all")
    r = comm1.get("/incidents?box=all&date_from=2026-13-01")
    assert r.status_code == 422 and "未能查询" in r.text
    viewer = client("viewer")
    page = viewer.get("/incidents").text
    assert 'data-box="level"' not in page and "上报事件" not in page and len(listed(viewer, "")) == 6
