"""What is public is what the 公示 board shows: every face follows it. Expensive routes need a role and a slot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.auth.tokens import hash_token
from gridgov.config import Settings
from gridgov.vocab import PUBLIC_STAFF_ROLES, STAFF_ROLE_ORDER

PRIVATE_ROLES = [r for r in STAFF_ROLE_ORDER if r not in PUBLIC_STAFF_ROLES]


@pytest.fixture(scope="module")
def sample_client(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on the sample street."""
    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    settings = Settings(database_url=url, home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(settings, sample_engine)) as c:
        yield c


def _roles(rows: list[dict[str, object]]) -> dict[str, set[str]]:
    """Roles listed in each grid's staff column."""
    return {str(r["code"]): {s.split("：")[0] for s in str(r["staff"] or "").split("；") if s} for r in rows}


def test_the_ledger_needs_a_role_and_shows_private_staff_only_in_scope(
    sample_client: TestClient, sample_tokens: dict[str, dict[str, str]]
) -> None:
    params = {"level": "compound"}
    assert sample_client.get("/api/ledger", params=params).status_code == 401
    assert sample_client.get("/api/ledger/file", params=params).status_code == 401
    viewer = _roles(sample_client.get("/api/ledger", params=params, headers=sample_tokens["viewer"]).json()["rows"])
    admin = _roles(sample_client.get("/api/ledger", params=params, headers=sample_tokens["admin"]).json()["rows"])
    editor = _roles(sample_client.get("/api/ledger", params=params, headers=sample_tokens["editor1"]).json()["rows"])
    assert set().union(*viewer.values()) <= set(PUBLIC_STAFF_ROLES)
    assert set(PRIVATE_ROLES) & set().union(*admin.values())
    for code, roles in editor.items():
        expected = admin[code] if code.startswith("610103006001") else admin[code] & set(PUBLIC_STAFF_ROLES)
        assert roles == expected, code
    assert any(roles & set(PRIVATE_ROLES) for code, roles in editor.items() if code.startswith("610103006001"))


def test_the_public_grid_map_lists_only_public_staff(sample_client: TestClient) -> None:
    html = sample_client.get("/maps/grid", params={"parent": "610103006001"}).text

    def shown(word: str) -> bool:  # popups travel inside JSON, maybe \u-escaped
        return word in html or json.dumps(word)[1:-1] in html

    assert shown("网格员：")
    assert not [r for r in PRIVATE_ROLES if shown(f"{r}：")]


def test_a_client_gets_only_its_share_of_expensive_requests(
    sample_client: TestClient, sample_tokens: dict[str, dict[str, str]]
) -> None:
    """With its slots taken, a client is told to wait (429, Chinese JSON); another client is served."""
    viewer = sample_tokens["viewer"]
    key = "token:" + hash_token(viewer["Authorization"].removeprefix("Bearer "))
    limiter = sample_client.app.state.limiter  # type: ignore[attr-defined]
    limit = sample_client.app.state.settings.client_concurrency  # type: ignore[attr-defined]
    with ExitStack() as held:
        for _ in range(limit):
            held.enter_context(limiter.slot(key, limit))
        r = sample_client.get("/api/ledger", params={"level": "street"}, headers=viewer)
        assert r.status_code == 429 and "请等待完成后再试" in r.json()["detail"]
        assert r.json()["error"] == "TooManyRequests"
        other = sample_client.get("/api/ledger", params={"level": "street"}, headers=sample_tokens["admin"])
        assert other.status_code == 200
    assert sample_client.get("/api/ledger", params={"level": "street"}, headers=viewer).status_code == 200



def test_one_grids_public_row_for_map_popups(
    sample_client: TestClient, sample_tokens: dict[str, dict[str, str]]
) -> None:
    """The tile map's popups read one grid's row without a token: the same figures, public staff only."""
    code = "610103006001001"
    row = sample_client.get(f"/api/ledger/grid/{code}").json()
    full = sample_client.get("/api/ledger", params={"parent": code, "level": "compound"},
                             headers=sample_tokens["admin"]).json()["rows"][0]  # fmt: skip
    assert {k: row[k] for k in ("code", "households", "persons", "party_members")} == {
        k: full[k] for k in ("code", "households", "persons", "party_members")
    }
    assert _roles([row])[code] == _roles([full])[code] & set(PUBLIC_STAFF_ROLES)
    assert sample_client.get("/api/ledger/grid/nope").status_code == 404
