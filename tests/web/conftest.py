"""Workspace fixtures: users of every role on the factory street, and a logged-in test client per role."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.factories import make_street

PASSWORD = "Gridgov2026pw"
# username → (role, scope): one user per role on the factory street (street 610103006, communities …001/…002).
USERS = {
    "admin": ("admin", None),
    "street": ("street", "610103006"),
    "comm1": ("community", "610103006001"),
    "comm2": ("community", "610103006002"),
    "grid1": ("grid", "610103006001001"),
    "patrol1": ("patrol", "610103006001"),
    "viewer": ("viewer", None),
}


def csrf_of(html: str) -> str:
    """The CSRF token a page put in its forms."""
    m = re.search(r'name="csrftoken" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "页面没有 CSRF 令牌"
    return m.group(1)


@pytest.fixture
def users(clean_engine: Engine) -> dict[str, tuple[str, str | None]]:
    """The factory street and one user per role (password ``PASSWORD``)."""
    with session_scope(clean_engine) as s:
        make_street(s)
        for name, (role, scope) in USERS.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, f"测试{name}")
    return USERS


@pytest.fixture
def web(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    """The app on the emptied test database; the client sends Accept: text/html like a browser."""
    app = create_app(settings_for, clean_engine)
    with TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/") -> TestClient:
    """Log the client in through the form (GET for the CSRF cookie, then POST); asserts it worked."""
    page = client.get("/login")
    r = client.post("/login", data={"csrftoken": csrf_of(page.text), "username": username, "password": password,
                                    "next": next_})  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    return client


@pytest.fixture
def logged_in(web: TestClient, users: dict[str, tuple[str, str | None]]) -> Callable[[str], TestClient]:
    """A function: the web client logged in as that user."""
    return lambda name: login(web, name)


@contextlib.contextmanager
def app_with_users(sample_engine: Engine, home: Path, users: Mapping[str, tuple[Any, ...]]) -> Iterator[FastAPI]:
    """The app on the shared sample street with ``users`` (name → (role, scope[, display name])), all password
    ``PASSWORD``; afterwards the users are removed with their sessions and jobs (the street stays as it was)."""
    with Session(sample_engine) as s, s.begin():
        for name, (role, scope, *display) in users.items():
            add_user(s, Actor.system("tests"), name, PASSWORD, role, scope, display[0] if display else None)
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        # the sample's open cases are all overdue today: the server's sweep must not move the shared street's cases
        settings = Settings(database_url=url, home=home / "home", maps_dir=home / "maps", escalate_overdue=False)
        yield create_app(settings, sample_engine)
    finally:
        names = list(users)
        with sample_engine.begin() as conn:
            conn.execute(text("DELETE FROM job WHERE actor = ANY(:a)"), {"a": [f"user:{n}" for n in names]})
            conn.execute(text("DELETE FROM user_session WHERE user_id IN (SELECT id FROM app_user "
                              "WHERE username = ANY(:n))"), {"n": names})  # fmt: skip
            conn.execute(text("DELETE FROM app_user WHERE username = ANY(:n)"), {"n": names})
