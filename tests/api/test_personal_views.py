"""Personal data is shown only to staff roles inside their scope, and every showing is logged with who looked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope
from gridgov.ledger.report import build_ledger

from tests.factories import make_street


def _views(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, table_name, new->>'where' FROM audit_log WHERE action = 'view' "
                                 "ORDER BY id")).all()  # fmt: skip
    return [tuple(r) for r in rows]


def test_party_layer_needs_a_staff_role_and_is_logged(client: TestClient, clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        plain = {role: create_token(s, Actor.system(), f"t-{role}", role, scope)[0] for role, scope in
                 (("viewer", None), ("patrol", "610103006001"), ("community", "610103006001"))}  # fmt: skip
    bearer = {k: {"Authorization": f"Bearer {v}"} for k, v in plain.items()}
    for role in ("viewer", "patrol"):
        r = client.get("/maps/grid", params={"layers": "party"}, headers=bearer[role])
        assert r.status_code == 403 and "查看个人信息" in r.json()["detail"], role
    assert client.get("/maps/grid", params={"layers": "party"}).status_code == 401
    out = client.get("/maps/grid", params={"layers": "party", "parent": "610103006002"}, headers=bearer["community"])
    assert out.status_code == 403 and "超出权限范围" in out.json()["detail"]
    assert _views(clean_engine) == []
    ok = client.get("/maps/grid", params={"layers": "party"}, headers=bearer["community"])
    assert ok.status_code == 200
    assert _views(clean_engine) == [("token:t-community", "party", "610103006001")]


def test_a_ledger_with_private_staff_is_logged(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        gid = s.execute(text("SELECT id FROM grid WHERE code = '610103006001'")).scalar()
        staff = Actor(name="user:zhang", role="community", scope_code="610103006001", scope_grid_id=gid)
        build_ledger(s, parent="610103006001", reader=staff)
        build_ledger(s, parent="610103006001", reader=Actor(name="user:v", role="viewer"))  # no private names
        build_ledger(s, parent="610103006001")
    assert _views(clean_engine) == [("user:zhang", "grid_role", "610103006001")]
