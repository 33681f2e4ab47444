"""The documented contract, checked directly: one error table on every route, ErrorPublic bodies (422 included),
the vector tile's media type, and OPTIONS / HEAD / 405 reporting the methods a path really has."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from gridgov.api.responses import ERRORS, MVT_MEDIA_TYPE

from tests.factories import X0, Y0

ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}}
HAN = re.compile(r"[\u4e00-\u9fff]")
IMPLICIT = {"HEAD", "OPTIONS"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, METHOD, operation) for every operation in an OpenAPI document."""
    return [(path, method.upper(), op) for path, item in doc["paths"].items() for method, op in item.items()]


def concrete(path: str) -> str:
    """A request path for an OpenAPI path template ("1" fits every parameter: codes, ids, tile numbers)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def allow(response: Any) -> set[str]:
    """The methods of an ``Allow`` header."""
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


def assert_error_public(body: Any) -> None:
    """The body is ``{"detail": <中文>, "error": str, "details": …}``."""
    assert isinstance(body, dict) and {"detail", "error", "details"} <= set(body), body
    assert isinstance(body["detail"], str) and HAN.search(body["detail"]), body
    assert isinstance(body["error"], str) and body["error"], body


# Open311 answers its errors in its own shape ([{"code", "description"}], JSON or XML), as the spec says.
OPEN311_ERRORS = {
    ("/open311/v2/services.{fmt}", "GET"): {404},
    ("/open311/v2/requests.{fmt}", "POST"): {400, 403, 404},
    ("/open311/v2/requests.{fmt}", "GET"): {400, 404},
    ("/open311/v2/requests/{service_request_id}.{fmt}", "GET"): {404},
}


def test_every_operation_documents_every_error_as_error_public(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "ErrorPublic" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in str(doc), "FastAPI 的 422 模式仍在文档中"
    for path, method, op in operations(doc):
        for code in ERRORS:
            response = op["responses"].get(str(code))
            assert response is not None, f"{method} {path} 未声明 {code}"
            assert response["description"]
            if (path, code) == ("/healthz", 503):
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Health")
            elif code in OPEN311_ERRORS.get((path, method), ()):
                assert response["content"]["application/json"]["schema"]["items"]["$ref"].endswith("/Open311Error")
                assert set(response["content"]) == {"application/json", "text/xml"}, f"{method} {path} {code}"
            else:
                assert response["content"] == ERROR_JSON, f"{method} {path} {code}: {response}"


def test_validation_errors_have_the_documented_body(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    r = client.get("/api/grids", params={"level": "城市"})
    assert r.status_code == 422
    body = r.json()
    assert_error_public(body)
    assert body["error"] == "InvalidInput"
    assert isinstance(body["details"], list) and body["details"]
    for item in body["details"]:
        assert {"loc", "msg", "type"} <= set(item)
    assert any("level" in item["loc"] for item in body["details"])

    r = client.post("/api/tokens", json={"name": "", "role": "root"}, headers=tokens["admin"])
    assert r.status_code == 422
    assert_error_public(r.json())
    assert {tuple(item["loc"][-1:]) for item in r.json()["details"]} >= {("name",), ("role",)}


def test_an_unreadable_body_has_the_documented_body(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    r = client.post(
        "/api/tokens", content=b"\xff\xfe{", headers={**tokens["admin"], "Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422)
    assert_error_public(r.json())


def test_a_refused_import_has_the_documented_body(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    bad = f"编码,地址,户籍类型,经度,纬度\nH1,文艺北路45号院1号楼101室,宿舍,{X0 + 0.002},{Y0 + 0.005}\n"
    r = client.post("/api/import/households", files={"file": ("h.csv", bad.encode())}, headers=tokens["admin"])
    assert r.status_code == 422
    assert_error_public(r.json())


def test_the_vector_tile_declares_its_media_type(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ok = doc["paths"]["/api/tiles/grids/{z}/{x}/{y}.mvt"]["get"]["responses"]["200"]
    assert set(ok["content"]) == {MVT_MEDIA_TYPE}
    r = client.get("/api/tiles/grids/0/0/0.mvt")
    assert r.status_code == 200 and r.headers["content-type"] == MVT_MEDIA_TYPE


def test_options_lists_the_documented_methods_of_every_path(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in item}
        r = client.options(concrete(path))
        assert r.status_code == 204, (path, r.status_code, r.text)
        expected = documented | {"OPTIONS"} | ({"HEAD"} if "GET" in documented else set())
        assert allow(r) == expected, (path, r.headers.get("allow"))
    assert allow(client.options("/api/grids/610103006001")) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}
    assert allow(client.options("/api/grids/validate")) == {"POST", "OPTIONS"}
    r = client.options("/没有/这个/路径")
    assert r.status_code == 404
    assert_error_public(r.json())


def test_head_and_405_follow_the_allowed_methods(client: TestClient) -> None:
    r = client.head("/healthz")
    assert r.status_code == 200 and r.content == b"" and r.headers["content-type"].startswith("application/json")
    r = client.put("/api/grids/610103006001", json={})
    assert r.status_code == 405
    assert allow(r) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}
    r = client.head("/api/grids/validate")
    assert r.status_code == 405 and allow(r) == {"POST", "OPTIONS"}
