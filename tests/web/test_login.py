"""Logging in and out: sessions, cookie flags, CSRF, the lock after wrong passwords, and no password in clear."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.web.conftest import PASSWORD, csrf_of, login


def test_login_sets_a_protected_session_and_logout_revokes_it(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    page = web.get("/login?next=/account/password")
    assert page.status_code == 200 and "登录" in page.text and 'name="csrftoken"' in page.text
    r = web.post("/login", data={"csrftoken": csrf_of(page.text), "username": "comm1", "password": PASSWORD,
                                 "next": "/account/password"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("gridgov_session="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "max-age=43200" in flags and "path=/" in flags
    old = web.cookies.get("gridgov_session")
    account = web.get("/account/password")
    assert account.status_code == 200 and "测试comm1" in account.text and "社区工作人员" in account.text
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT last_login_at IS NOT NULL, failed_logins FROM app_user WHERE username='comm1'"))
        assert row.one() == (True, 0)
        assert conn.execute(text("SELECT count(*) FROM user_session WHERE revoked_at IS NULL")).scalar() == 1
    out = web.post("/logout", data={"csrftoken": csrf_of(account.text)})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_session WHERE revoked_at IS NULL")).scalar() == 0
    web.cookies.set("gridgov_session", old)  # a copy of the old cookie no longer works
    again = web.get("/account/password")
    assert again.status_code == 303 and again.headers["location"].startswith("/login?next=%2Faccount%2Fpassword")


def test_forms_need_the_csrf_token(web: TestClient, users: dict) -> None:
    web.get("/login")
    r = web.post("/login", data={"username": "comm1", "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text and "表单已过期" in r.text
    r = web.post("/login", data={"csrftoken": "forged", "username": "comm1", "password": PASSWORD})
    assert r.status_code == 403
    cold = TestClient(web.app, headers={"Accept": "text/html"})  # no cookie at all: /login is still protected
    assert cold.post("/login", data={"username": "comm1", "password": PASSWORD}).status_code == 403
    login(web, "comm1")
    r = web.post("/logout", data={})
    assert r.status_code == 403
    api = web.post("/api/grids/validate", json={"parent_code": "610103006001"}, headers={"Accept": "application/json"})
    assert api.status_code == 403 and "x-csrftoken" in api.json()["detail"] and api.json()["error"] == "Forbidden"
    token = web.cookies.get("csrftoken")
    ok = web.post("/api/grids/validate", json={"parent_code": "610103006001"},
                  headers={"Accept": "application/json", "x-csrftoken": token})  # fmt: skip
    assert ok.status_code == 200, ok.text


def test_wrong_passwords_lock_the_account(web: TestClient, users: dict, clean_engine: Engine) -> None:
    page = web.get("/login")
    token = csrf_of(page.text)
    for _ in range(4):
        r = web.post("/login", data={"csrftoken": token, "username": "grid1", "password": "wrong-pass-1"})
        assert r.status_code == 401 and "用户名或密码不正确" in r.text
    unknown = web.post("/login", data={"csrftoken": token, "username": "nobody", "password": "wrong-pass-1"})
    assert unknown.status_code == 401 and "用户名或密码不正确" in unknown.text  # the same words: names are not told
    fifth = web.post("/login", data={"csrftoken": token, "username": "grid1", "password": "wrong-pass-1"})
    assert fifth.status_code == 401 and "已锁定" in fifth.text
    right = web.post("/login", data={"csrftoken": token, "username": "grid1", "password": PASSWORD})
    assert right.status_code == 401 and "锁定" in right.text  # the right password waits too
    with clean_engine.begin() as conn:
        assert conn.execute(text("SELECT locked_until > now() FROM app_user WHERE username='grid1'")).scalar()
        conn.execute(text("UPDATE app_user SET locked_until = now() - interval '1 second' WHERE username='grid1'"))
    login(web, "grid1")


def test_passwords_are_never_stored_or_logged_in_clear(
    web: TestClient, users: dict, clean_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = web.get("/login")
    web.post("/login", data={"csrftoken": csrf_of(page.text), "username": "comm1", "password": "Wrong-but-secret-9"})
    login(web, "comm1")
    with clean_engine.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM app_user")).scalars().all()
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        dump = conn.execute(text(
            "SELECT string_agg(t::text, ' ') FROM (SELECT to_jsonb(a) t FROM audit_log a UNION ALL "
            "SELECT to_jsonb(u) FROM user_session u UNION ALL SELECT to_jsonb(u) FROM app_user u) s"
        )).scalar()  # fmt: skip
    assert PASSWORD not in dump and "Wrong-but-secret-9" not in dump
    assert PASSWORD not in caplog.text and "Wrong-but-secret-9" not in caplog.text


def test_next_never_leaves_the_site(web: TestClient, users: dict) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"):
        fresh = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
        page = fresh.get("/login")
        r = fresh.post("/login", data={"csrftoken": csrf_of(page.text), "username": "viewer", "password": PASSWORD,
                                     "next": target})  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_own_password_change_ends_other_sessions(web: TestClient, users: dict, clean_engine: Engine) -> None:
    other = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
    login(other, "street")
    login(web, "street")
    form = web.get("/account/password")
    bad = web.post("/account/password", data={"csrftoken": csrf_of(form.text), "old": "nope", "new": "NewPass2027",
                                              "again": "NewPass2027"})  # fmt: skip
    assert bad.status_code == 422 and "原密码不正确" in bad.text
    weak = web.post("/account/password", data={"csrftoken": csrf_of(form.text), "old": PASSWORD, "new": "12345678",
                                               "again": "12345678"})  # fmt: skip
    assert weak.status_code == 422 and "字母和数字" in weak.text
    ok = web.post("/account/password", data={"csrftoken": csrf_of(form.text), "old": PASSWORD, "new": "NewPass2027",
                                             "again": "NewPass2027"})  # fmt: skip
    assert ok.status_code == 200 and "密码已修改" in ok.text
    assert web.get("/account/password").status_code == 200  # this browser stays logged in
    assert other.get("/account/password").status_code == 303  # the other one must log in again
    login(other, "street", "NewPass2027")
