"""API fixtures: a test client on an empty database (1 MB upload limit), tokens on a small street, and that street
with a patrol team per community and a staff member posted in the other community (the scope tests' street)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.records.roles import add_role
from gridgov.records.service import create_record

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


@pytest.fixture
def patrol_street(tokens: dict[str, dict[str, str]], clean_engine: Engine) -> dict[str, dict[str, str]]:
    """The ``tokens`` street with patrol teams TW and TE (serving no grid) patrolling areas A-<team id> over
    communities …001 and …002, and staff member SE with a 网格员 post on …002001; the tokens, with the post's id
    under ``east_post``."""
    with session_scope(clean_engine) as s:
        for team, grid in (("TW", "610103006001"), ("TE", "610103006002")):
            tid = s.execute(text("INSERT INTO patrol_team (code, name) VALUES (:c, :n) RETURNING id"),
                            {"c": team, "n": team}).scalar_one()  # fmt: skip
            s.execute(text("INSERT INTO patrol_area (code, team_id, geom) SELECT 'A-' || :t, :t, geom FROM grid "
                           "WHERE code = :g AND valid_to IS NULL"), {"t": tid, "g": grid})  # fmt: skip
        create_record(s, "staff", {"code": "SE", "name": "东网格员", "phone": "13800000008"}, Actor.system("test"))
        post = add_role(s, Actor.system("test"), grid_code="610103006002001", role="网格员", staff_code="SE")
    return tokens | {"east_post": {"id": str(post.id)}}
