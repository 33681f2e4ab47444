"""用户 (administrators only): add, change role and scope, reset a password, disable; everyone else is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.web.conftest import PASSWORD, csrf_of, login


def test_admin_manages_users_through_the_page(web: TestClient, users: dict, clean_engine: Engine) -> None:
    page = login(web, "admin").get("/users")
    assert page.status_code == 200 and 'data-user="comm1"' in page.text and "社区工作人员" in page.text
    token = csrf_of(page.text)
    form = {"csrftoken": token, "username": "wang.wu", "display_name": "王五", "role": "grid",
            "scope": "610103006001002", "password": "Wangwu2026x"}  # fmt: skip
    added = web.post("/users", data=form)
    assert added.status_code == 303
    listed = web.get(added.headers["location"])
    assert "已添加用户 wang.wu" in listed.text and 'data-user="wang.wu"' in listed.text and "王五" in listed.text
    refused = web.post("/users", data={"csrftoken": token, "username": "li", "role": "community", "scope": "",
                                       "password": "Lisi2026xx"})  # fmt: skip
    assert refused.status_code == 422 and "必须指定范围" in refused.text
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM app_user WHERE username = 'li'")).scalar() == 0
        role = conn.execute(text("SELECT u.role, g.code FROM app_user u JOIN grid g ON g.id = u.scope_grid_id "
                                 "WHERE username = 'wang.wu'")).one()  # fmt: skip
        assert tuple(role) == ("grid", "610103006001002")
    worker = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
    login(worker, "wang.wu", "Wangwu2026x")
    assert web.post("/users/wang.wu/role", data={"csrftoken": token, "role": "community",
                                                 "scope": "610103006002"}).status_code == 303  # fmt: skip
    assert worker.get("/").status_code == 303  # a role change ends the user's sessions
    login(worker, "wang.wu", "Wangwu2026x")
    assert web.post("/users/wang.wu/password", data={"csrftoken": token, "password": "Newpass2027"}).status_code == 303
    assert worker.get("/").status_code == 303
    login(worker, "wang.wu", "Newpass2027")
    assert web.post("/users/wang.wu/disable", data={"csrftoken": token}).status_code == 303
    assert worker.get("/").status_code == 303
    fresh = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
    form = fresh.get("/login")
    r = fresh.post("/login", data={"csrftoken": csrf_of(form.text), "username": "wang.wu", "password": "Newpass2027"})
    assert r.status_code == 401 and "已停用" in r.text
    with clean_engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE table_name = 'app_user' AND actor = "
                                    "'user:admin' ORDER BY id")).scalars().all()  # fmt: skip
    assert actions == ["user_add", "user_role", "user_password", "user_disable"]


def test_the_last_admin_cannot_be_disabled_or_demoted(web: TestClient, users: dict) -> None:
    page = login(web, "admin").get("/users")
    token = csrf_of(page.text)
    self_off = web.post("/users/admin/disable", data={"csrftoken": token})
    assert self_off.status_code == 422 and "不能停用自己的账号" in self_off.text
    demote = web.post("/users/admin/role", data={"csrftoken": token, "role": "viewer", "scope": ""})
    assert demote.status_code == 422 and "最后一个" in demote.text


def test_other_roles_cannot_reach_users(web: TestClient, users: dict) -> None:
    for name in ("street", "comm1", "grid1", "patrol1", "viewer"):
        client = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
        login(client, name)
        page = client.get("/users")
        assert page.status_code == 403 and "没有权限" in page.text and "系统管理员" in page.text, name
        token = client.cookies.get("csrftoken")
        post = client.post("/users", data={"csrftoken": token, "username": "x1", "role": "admin",
                                           "password": PASSWORD})  # fmt: skip
        assert post.status_code == 403, name
