"""HTTP: health, token-protected writes, scopes, optimistic locking, history and the domain-error table."""

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
from gridgov.db.migrate import head

from tests.factories import X0, Y0, make_street, square


@pytest.fixture
def client(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for, clean_engine)) as c:
        yield c


@pytest.fixture
def tokens(clean_engine: Engine) -> dict[str, str]:
    with session_scope(clean_engine) as s:
        make_street(s)
        return {
            "admin": create_token(s, Actor.system(), "管理员", "admin")[0],
            "editor1": create_token(s, Actor.system(), "一社区", "community", "610103006001")[0],
            "viewer": create_token(s, Actor.system(), "只读", "viewer")[0],
        }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_healthz_reports_postgis(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["schema_revision"] == head()
    assert body["postgis_version"].startswith('POSTGIS="3.')


def test_list_and_get(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/api/grids", params={"parent": "610103006001"})
    assert [g["code"] for g in r.json()] == ["610103006001001", "610103006001002"]
    g = client.get("/api/grids/610103006001002").json()
    assert g["name"] == "第二网格" and g["parent_code"] == "610103006001" and g["version"] == 1
    assert g["geometry"]["type"] == "MultiPolygon"
    assert client.get("/api/grids/999").status_code == 404


def test_writes_need_a_token_and_the_right_scope(client: TestClient, tokens: dict[str, str]) -> None:
    body = {
        "code": "610103006001003",
        "name": "第三网格",
        "level": "compound",
        "parent_code": "610103006001",
        "geometry": square(X0, Y0, 0.001, 0.001),
    }
    r = client.post("/api/grids", json=body)
    assert r.status_code == 401 and "令牌" in r.json()["detail"]
    assert client.post("/api/grids", json=body, headers=auth("ggv_wrong")).status_code == 401
    assert client.post("/api/grids", json=body, headers=auth(tokens["viewer"])).status_code == 403
    outside = body | {"code": "610103006002002", "parent_code": "610103006002"}
    r = client.post("/api/grids", json=outside, headers=auth(tokens["editor1"]))
    assert r.status_code == 403 and "超出权限范围" in r.json()["detail"]
    r = client.post("/api/grids", json=body, headers=auth(tokens["editor1"]))
    assert r.status_code == 201 and r.json()["code"] == "610103006001003"
    assert client.post("/api/grids", json=body, headers=auth(tokens["admin"])).status_code == 409


def test_bad_geometry_is_a_clear_422(client: TestClient, tokens: dict[str, str]) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[108.95, 34.24], [108.96, 34.25], [108.96, 34.24], [108.95, 34.25], [108.95, 34.24]]],
    }
    swapped = {"type": "Polygon", "coordinates": [[[34.24, 108.95], [34.25, 108.95], [34.25, 108.96], [34.24, 108.95]]]}
    base = {"code": "610103006001009", "name": "x", "level": "compound", "parent_code": "610103006001"}
    r = client.post("/api/grids", json=base | {"geometry": bowtie}, headers=auth(tokens["admin"]))
    assert r.status_code == 422 and "几何无效" in r.json()["detail"]
    r = client.post("/api/grids", json=base | {"geometry": swapped}, headers=auth(tokens["admin"]))
    assert r.status_code == 422 and "颠倒" in r.json()["detail"]


def test_stale_version_is_refused_and_history_is_kept(
    client: TestClient, tokens: dict[str, str], clean_engine: Engine
) -> None:
    h = auth(tokens["editor1"])
    r = client.patch("/api/grids/610103006001001", json={"version": 1, "name": "文艺北路45号院"}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = client.patch("/api/grids/610103006001001", json={"version": 1, "name": "旧页面"}, headers=h)
    assert stale.status_code == 412 and "已被他人修改" in stale.json()["detail"]
    assert stale.json()["details"] == {"current_version": 2, "code": "610103006001001"}  # which grid is stale
    assert client.get("/api/grids/610103006001001").json()["name"] == "文艺北路45号院"
    hist = client.get("/api/grids/610103006001001/history").json()
    assert [(v["version"], v["name"], v["valid_to"] is None) for v in hist] == [
        (1, "第一网格", False),
        (2, "文艺北路45号院", True),
    ]
    with clean_engine.connect() as conn:
        actors = (
            conn.execute(text("SELECT DISTINCT actor FROM audit_log WHERE table_name = 'grid' AND action = 'update'"))
            .scalars()
            .all()
        )
    assert actors == ["token:一社区"]


def test_as_of_returns_the_old_version(client: TestClient, tokens: dict[str, str], clean_engine: Engine) -> None:
    with clean_engine.connect() as conn:
        before = conn.execute(text("SELECT now()")).scalar()
    client.patch("/api/grids/610103006001001", json={"version": 1, "name": "新名"}, headers=auth(tokens["admin"]))
    old = client.get("/api/grids/610103006001001", params={"as_of": before.isoformat()}).json()
    assert old["name"] == "第一网格" and old["version"] == 1


def test_retire_needs_no_live_children(client: TestClient, tokens: dict[str, str]) -> None:
    h = auth(tokens["admin"])
    r = client.delete("/api/grids/610103006001", params={"version": 1}, headers=h)
    assert r.status_code == 409 and "下级网格" in r.json()["detail"]
    assert client.delete("/api/grids/610103006001002", params={"version": 1}, headers=h).status_code == 204
    assert client.get("/api/grids/610103006001002").status_code == 404
    assert [g["code"] for g in client.get("/api/grids", params={"parent": "610103006001"}).json()] == [
        "610103006001001"
    ]


def test_admin_creates_tokens_over_http(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"name": "二社区", "role": "community", "scope_code": "610103006002"}
    assert client.post("/api/tokens", json=body, headers=auth(tokens["editor1"])).status_code == 403
    r = client.post("/api/tokens", json=body, headers=auth(tokens["admin"]))
    assert r.status_code == 201
    new = r.json()["token"]
    ok = client.patch("/api/grids/610103006002001", json={"version": 1, "name": "改"}, headers=auth(new))
    assert ok.status_code == 200


def test_openapi_documents_routes_in_chinese(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/grids/{code}" in spec["paths"] and "/healthz" in spec["paths"]
    assert spec["paths"]["/api/grids"]["post"]["summary"] == "新建网格"
