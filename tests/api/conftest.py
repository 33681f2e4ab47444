"""API fixtures: a test client on an empty database (1 MB upload limit) and tokens on a small street."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope

from tests.factories import make_street


@pytest.fixture
def client(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    """The app on the emptied test database, with a 1 MB upload limit."""
    with TestClient(create_app(settings_for.model_copy(update={"max_upload_mb": 1}), clean_engine)) as c:
        yield c


@pytest.fixture
def tokens(clean_engine: Engine) -> dict[str, dict[str, str]]:
    """The factory street, and auth headers for an admin and an editor scoped to community …001."""
    with session_scope(clean_engine) as s:
        make_street(s)
        admin = create_token(s, Actor.system(), "管理员", "admin")[0]
        editor = create_token(s, Actor.system(), "一社区", "community", "610103006001")[0]
    return {"admin": {"Authorization": f"Bearer {admin}"}, "editor1": {"Authorization": f"Bearer {editor}"}}
