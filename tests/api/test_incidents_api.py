"""The incident loop over HTTP (/api/incidents), with logged-in users of every role on the factory street: a case
reported with a photo, worked to closure and read back with its timeline and photos; stale versions, illegal
steps, scope, personal data and hostile input refused with Chinese messages and nothing written."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.factories import X0, Y0, D, make_street
from tests.web.conftest import PASSWORD, USERS, login

# A point in compound 610103006001001 (community …001), and one in community …002.
LON, LAT = X0 + 0.002, Y0 + 0.005
EAST_LON = X0 + 1.25 * D
CATEGORY = "市容环境/暴露垃圾"
LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG photo."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "PNG")
    return out.getvalue()


def counts(engine: Engine) -> tuple[int, int, int, str | None]:
    """Cases, timeline steps, photos, and every case's code:status:version."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(  # type: ignore[return-value]
                    "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_event), "
                    "(SELECT count(*) FROM incident_photo), "
                    "(SELECT string_agg(code || ':' || status || ':' || version, ',' ORDER BY id) FROM incident)"
                )
            ).one()
        )


@pytest.fixture
def as_user(clean_engine: Engine, settings_for: Settings) -> Iterator[Callable[[str], TestClient]]:
    """The factory street with staff S1 (网格员, the user grid1's own record) and S2 (网格警员) on …001001 and S3
    (网格长) on community …001, one user per role (tests/web/conftest.py), and a function giving a client
    logged in as one of them (JSON, with the CSRF header a page's script sends)."""
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(
            text(
                "INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001'), "
                "('S2', '李警员', '13800000002'), ('S3', '赵社区', '13800000003')"
            )
        )
        s.execute(
            text("""INSERT INTO grid_role (grid_id, staff_id, role, since)
                          SELECT g.id, st.id, r.role, DATE '2020-01-01'
                            FROM (VALUES ('610103006001001', 'S1', '网格员'), ('610103006001001', 'S2', '网格警员'),
                                         ('610103006001', 'S3', '网格长')) AS r(grid, staff, role)
                            JOIN grid g ON g.code = r.grid AND g.valid_to IS NULL
                            JOIN staff st ON st.code = r.staff""")
        )
        for name, (role, scope) in USERS.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, f"测试{name}")
        s.execute(text("UPDATE app_user SET staff_id = (SELECT id FROM staff WHERE code = 'S1') "
                       "WHERE username = 'grid1'"))  # fmt: skip
    app = create_app(settings_for, clean_engine)
    with ExitStack() as stack:

        def client(name: str) -> TestClient:
            c = stack.enter_context(TestClient(app, follow_redirects=False))
            login(c, name)
            c.headers["x-csrftoken"] = c.cookies.get("csrftoken") or ""
            return c

        yield client


def report(c: TestClient, **fields: Any) -> Any:
    """POST /api/incidents as a form with one photo (unless ``photos`` says otherwise)."""
    photos = fields.pop("photos", [("before.png", png())])
    data = {"lon": str(LON), "lat": str(LAT), "category": CATEGORY, "description": "楼下垃圾桶满溢",
            "reporter_name": "张三", "reporter_phone": "13900000009", "urgency": "紧急"} | fields  # fmt: skip
    return c.post("/api/incidents", data=data, files=[("photos", (n, b, "image/png")) for n, b in photos] or None)


def step(c: TestClient, code: str, action: str, files: list[tuple[str, bytes]] = (), **data: Any) -> Any:  # type: ignore[assignment]
    """POST /api/incidents/{code}/{action} as a form (``if_match`` becomes the If-Match header)."""
    headers = {"If-Match": f'"{data.pop("if_match")}"'} if "if_match" in data else {}
    return c.post(f"/api/incidents/{code}/{action}", data={k: str(v) for k, v in data.items()}, headers=headers,
                  files=[("photos", (n, b, "image/png")) for n, b in files] or None)  # fmt: skip


def test_a_case_goes_round_the_loop_through_the_api(as_user: Callable[[str], TestClient], clean_engine: Engine) -> None:
    grid1, comm1 = as_user("grid1"), as_user("comm1")
    before, after = png((200, 30, 30)), png((30, 160, 30))
    r = report(grid1, photos=[("before.png", before)])
    assert r.status_code == 201, r.text
    case = r.json()
    code = case["code"]
    assert re.fullmatch(r"E\d{12}", code)
    assert (case["grid_code"], case["status"], case["level"], case["urgency"], case["version"]) == (
        "610103006001001", "上报", "网格", "紧急", 1)  # fmt: skip
    assert case["waiting"] == "受理" and LOCAL.match(case["deadline"]) and LOCAL.match(case["reported_at"])
    assert r.headers["ETag"] == '"1"' and r.headers["Location"] == f"/api/incidents/{code}"
    assert case["personal"] is True and case["reporter_name"] == "张三" and len(case["photos"]) == 1
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT reporter_phone, source, reported_by FROM incident WHERE code = :c"),
                           {"c": code}).one()  # fmt: skip
    assert tuple(row) == ("13900000009", "网格员上报", "user:grid1")

    r = step(comm1, code, "accept", if_match=1)
    assert r.status_code == 200 and r.json()["status"] == "立案" and r.headers["ETag"] == '"2"', r.text
    r = step(comm1, code, "dispatch", version=2)
    assert (r.json()["status"], r.json()["assignee_code"], r.json()["waiting"]) == ("派遣", "S1", "处置")
    mine = grid1.get("/api/incidents", params={"box": "mine"})
    assert mine.status_code == 200, mine.text
    assert [c["code"] for c in mine.json()["items"]] == [code] and mine.json()["box_label"] == "待我处置"
    r = step(grid1, code, "handle", note="已清运", files=[("after.png", after)])
    assert r.status_code == 200 and r.json()["status"] == "处置", r.text
    own = step(grid1, code, "verify")
    assert own.status_code == 403 and "核查须由处置人以外的人员进行" in own.json()["detail"]
    assert [c["code"] for c in comm1.get("/api/incidents?box=verify").json()["items"]] == [code]
    assert step(comm1, code, "verify").json()["status"] == "核查"
    closed = step(comm1, code, "close")
    assert closed.status_code == 200 and closed.json()["status"] == "结案" and LOCAL.match(closed.json()["closed_at"])

    shown = comm1.get(f"/api/incidents/{code}")
    assert shown.status_code == 200 and shown.headers["ETag"] == '"6"'
    case = shown.json()
    assert [(s["action"], s["to_status"]) for s in case["timeline"]] == [
        ("上报", "上报"),
        ("立案", "立案"),
        ("派遣", "派遣"),
        ("处置", "处置"),
        ("核查通过", "核查"),
        ("结案", "结案"),
    ]
    assert case["timeline"][3]["note"] == "已清运" and case["timeline"][2]["staff_code"] == "S1"
    assert all(LOCAL.match(s["at"]) for s in case["timeline"])
    assert [a["action"] for a in case["actions"]] == ["reopen", "visit"]
    assert [(p["step"], p["content_type"], p["width"]) for p in case["photos"]] == [
        ("上报", "image/png", 640), ("处置", "image/png", 640)]  # fmt: skip
    assert case["timeline"][0]["photo_ids"] == [case["photos"][0]["id"]]
    original = comm1.get(case["photos"][1]["url"])
    assert original.status_code == 200 and original.content == after
    assert original.headers["content-type"] == "image/png"
    thumb = comm1.get(case["photos"][0]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    with Image.open(io.BytesIO(thumb.content)) as img:
        assert max(img.size) == 320
    with clean_engine.connect() as conn:
        viewed = conn.execute(text("SELECT table_name, count(*) FROM audit_log WHERE action = 'view' "
                                   "AND actor = 'user:comm1' GROUP BY 1 ORDER BY 1")).all()  # fmt: skip
    assert dict(viewed) == {"incident": 5, "incident_photo": 1}  # accept…close and GET; the full-size photo
    listed = comm1.get("/api/incidents", params={"status": "已结案", "from": "2000-01-01"}).json()
    assert listed["total"] == 1 and listed["items"][0]["code"] == code and listed["items"][0]["overdue"] is False


def test_a_stale_version_or_an_illegal_step_is_409_and_changes_nothing(
    as_user: Callable[[str], TestClient], clean_engine: Engine
) -> None:
    comm1 = as_user("comm1")
    code = report(comm1).json()["code"]
    assert step(comm1, code, "accept", if_match=1).status_code == 200
    before = counts(clean_engine)
    stale = step(comm1, code, "dispatch", if_match=1)
    assert stale.status_code == 409, stale.text
    assert "已被他人处理" in stale.json()["detail"] and stale.json()["details"] == {"version": 2, "status": "立案"}
    illegal = step(comm1, code, "close", if_match=2)
    assert illegal.status_code == 409 and "不能「结案」" in illegal.json()["detail"]
    assert "派遣" in illegal.json()["detail"]  # what may be done instead
    mixed = step(comm1, code, "dispatch", if_match=2, version=1)
    assert mixed.status_code == 422 and "不一致" in mixed.json()["detail"]
    assert counts(clean_engine) == before


def test_outside_the_scope_is_403_and_writes_nothing(
    as_user: Callable[[str], TestClient], clean_engine: Engine
) -> None:
    code = report(as_user("grid1")).json()["code"]
    comm2 = as_user("comm2")
    before = counts(clean_engine)
    r = step(comm2, code, "accept")
    assert r.status_code == 403 and r.json()["detail"].startswith("超出权限范围")
    assert comm2.get(f"/api/incidents/{code}").status_code == 403
    assert comm2.get("/api/incidents", params={"parent": "610103006001"}).status_code == 403
    assert comm2.get("/api/incidents").json()["total"] == 0  # its own scope: no case there
    far = report(comm2)
    assert far.status_code == 403 and far.json()["detail"].startswith("超出权限范围")
    viewer = as_user("viewer")
    refused = report(viewer, lon=str(EAST_LON))
    assert refused.status_code == 403 and refused.json()["detail"].startswith("权限不足")
    assert step(viewer, code, "accept").status_code == 403
    assert counts(clean_engine) == before


def test_personal_data_only_for_those_who_may_see_it(
    as_user: Callable[[str], TestClient], clean_engine: Engine
) -> None:
    grid1 = as_user("grid1")
    case = report(grid1).json()
    photo = case["photos"][0]
    for name in ("viewer", "patrol1"):
        c = as_user(name)
        seen = c.get(f"/api/incidents/{case['code']}")
        assert seen.status_code == 200, (name, seen.text)
        body = seen.json()
        assert body["personal"] is False and body["photos"] == [] and body["timeline"][0]["photo_ids"] == []
        assert (body["description"], body["reporter_name"], body["reporter_phone"]) == (None, None, None)
        assert "张三" not in seen.text and "13900000009" not in seen.text and "垃圾桶满溢" not in seen.text
        assert body["actions"] == [] and body["status"] == "上报"  # may read, not work
        assert c.get(photo["url"]).status_code == 403
    comm2 = as_user("comm2")
    outside = comm2.get(photo["thumbnail_url"])
    assert outside.status_code == 403 and outside.json()["detail"].startswith("超出权限范围")
    assert as_user("street").get(photo["url"]).status_code == 200
    assert grid1.get("/api/incidents/photos/999999").status_code == 404


@pytest.mark.parametrize(
    ("fields", "photos", "message"),
    [
        ({"lon": "abc"}, None, "格式或类型不正确"),
        ({"lon": "999"}, None, "经度应在 -180 到 180 之间"),
        ({"lon": str(X0 + 3)}, None, "事件位置不可信"),
        ({"category": "外星人入侵"}, None, "未知的事件类别"),
        ({"category": "市容环境/外星人"}, None, "下没有小类"),
        ({"description": "  "}, None, "请填写事件描述"),
        ({"description": "长" * 2001}, None, "事件描述过长"),
        ({"urgency": "特急"}, None, "未知的紧急程度"),
        ({}, [("x.png", b"not an image at all")], "不是可读的图片文件"),
        ({}, [("x.txt", b"")], "是空文件"),
    ],
)
def test_hostile_reports_are_422_in_chinese_and_store_nothing(
    as_user: Callable[[str], TestClient], clean_engine: Engine, fields: dict[str, str],
    photos: list[tuple[str, bytes]] | None, message: str,
) -> None:  # fmt: skip
    r = report(as_user("grid1"), **fields, **({"photos": photos} if photos is not None else {}))
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"], r.json()
    assert counts(clean_engine) == (0, 0, 0, None)


def test_hostile_steps_are_422_and_change_nothing(as_user: Callable[[str], TestClient], clean_engine: Engine) -> None:
    comm1 = as_user("comm1")
    code = report(comm1).json()["code"]
    step(comm1, code, "accept")
    step(comm1, code, "dispatch", to_staff="S2")
    before = counts(clean_engine)
    for data, files, status, message in (
        ({"note": "办" * 2001}, (), 422, "说明过长"),
        ({"note": "已处理"}, [("x.png", b"GIF89a-not-really")], 422, "不是可读的图片文件"),
        ({}, (), 422, "请填写说明"),
    ):
        r = step(comm1, code, "handle", files, **data)
        assert r.status_code == status and message in r.json()["detail"], r.text
    for action, data, message in (("hang", {"note": "等配合"}, "挂账须填写复查日期"),
                                  ("hang", {"note": "等配合", "review_on": "2026-02-30"}, "日期不存在"),
                                  ("dispatch", {"to_staff": "NOBODY"}, "工作人员不存在"),
                                  ("fly", {}, "未知的操作")):  # fmt: skip
        r = step(comm1, code, action, **data)
        assert r.status_code in (404, 422) and message in r.json()["detail"], r.text
    assert comm1.get("/api/incidents/E000").status_code == 404
    assert counts(clean_engine) == before


def test_an_admin_sweeps_overdue_cases_up_a_level(as_user: Callable[[str], TestClient], clean_engine: Engine) -> None:
    grid1 = as_user("grid1")
    code = report(grid1).json()["code"]
    with clean_engine.begin() as conn:
        conn.execute(text("UPDATE incident SET deadline = now() - interval '1 hour' WHERE code = :c"), {"c": code})
    assert grid1.get("/api/incidents", params={"box": "overdue"}).json()["items"][0]["code"] == code
    refused = as_user("comm1").post("/api/incidents/sweep")
    assert refused.status_code == 403 and refused.json()["detail"].startswith("权限不足")
    r = as_user("admin").post("/api/incidents/sweep")
    assert r.status_code == 200 and r.json() == {"escalated": {"社区": 1}, "total": 1}, r.text
    case = as_user("comm1").get(f"/api/incidents/{code}").json()
    escalated = [(s["to_level"], s["actor"], s["overdue"]) for s in case["timeline"] if s["action"] == "超期上报"]
    assert case["level"] == "社区" and escalated == [("社区", "user:admin", True)]
    assert as_user("admin").post("/api/incidents/sweep").json()["total"] == 0


def test_a_parked_case_has_no_deadline_and_comes_back(as_user: Callable[[str], TestClient]) -> None:
    comm1 = as_user("comm1")
    code = report(comm1).json()["code"]
    step(comm1, code, "accept")
    parked = step(comm1, code, "hang", note="需住建部门配合", review_on="2099-01-05")
    assert parked.status_code == 200, parked.text
    body = parked.json()
    assert (body["status"], body["deadline"], body["overdue"], body["review_on"], body["waiting"]) == (
        "挂账", None, False, "2099-01-05", None)  # fmt: skip
    listed = comm1.get("/api/incidents", params={"status": "挂账", "open": "true"})
    assert listed.status_code == 200 and [(c["code"], c["overdue"]) for c in listed.json()["items"]] == [(code, False)]
    assert [a["action"] for a in body["actions"]] == ["resume"]
    assert step(comm1, code, "resume").json()["status"] == "立案"
