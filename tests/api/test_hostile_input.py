"""Hostile or extreme input over HTTP: dates at the edges, too many vertices, empty or malformed geometries.

Every refusal is a 422 whose JSON body carries the Chinese reason (the body's exact shape belongs to the error
handlers; these tests look for the message anywhere in it) and nothing is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings

from tests.factories import X0, Y0, D

CAP = 500  # a small cap keeps the payloads small; the rule is the same at 20 000
COMPOUND = "610103006001001"
COMMUNITY = "610103006001"


@pytest.fixture
def capped(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    """The app with a vertex cap of ``CAP``."""
    with TestClient(create_app(settings_for.model_copy(update={"max_grid_vertices": CAP}), clean_engine)) as c:
        yield c


def body_text(r: httpx.Response) -> str:
    """The whole JSON body as text (Chinese kept), wherever the handler puts the message."""
    return json.dumps(r.json(), ensure_ascii=False)


def circle(n: int, cx: float = X0 + D / 4, cy: float = Y0 + D / 2, radius: float = D / 8) -> dict[str, Any]:
    """A GeoJSON polygon of ``n`` distinct vertices (``n + 1`` coordinates with the closing one)."""
    angles = [2 * math.pi * k / n for k in range(n)]
    ring = [[round(cx + radius * math.cos(a), 9), round(cy + radius * math.sin(a), 9)] for a in angles]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def grid_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM grid")).scalar_one())


# --- dates ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"to": "9999-12-31"}, "日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31"),
        ({"as_of": "9999-12-31"}, "日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31"),
        ({"as_of": "0.5"}, "日期格式应为 YYYY-MM-DD：0.5"),
        ({"to": "0"}, "日期格式应为 YYYY-MM-DD：0"),
        ({"from": "1700000000"}, "日期格式应为 YYYY-MM-DD：1700000000"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "起始日期 2025-02-01 晚于结束日期 2025-01-01"),
    ],
)
@pytest.mark.parametrize("path", ["/api/ledger", "/api/ledger/file"])
def test_ledger_dates_at_the_edges(
    client: TestClient, tokens: dict[str, dict[str, str]], path: str, params: dict[str, str], message: str
) -> None:
    r = client.get(path, params=params, headers=tokens["admin"])
    assert r.status_code == 422, r.text
    assert message in body_text(r)


def test_ledger_accepts_dates_inside_the_range(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    r = client.get("/api/ledger", params={"as_of": "2100-12-31", "from": "2000-01-01", "to": "2025-12-31"},
                   headers=tokens["admin"])  # fmt: skip
    assert r.status_code == 200, r.text
    assert "610103006" in r.text


def test_grid_as_of_takes_a_date_or_a_time_in_range(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    h = tokens["admin"]
    assert client.get("/api/grids", params={"as_of": "2000-01-01"}, headers=h).json() == []  # before the grids
    later = client.get("/api/grids", params={"as_of": "2100-12-31", "level": "street"}, headers=h).json()
    assert [g["code"] for g in later] == ["610103006"]
    moment = client.get("/api/grids", params={"as_of": "2100-01-01T12:00:00+08:00", "level": "street"}, headers=h)
    assert [g["code"] for g in moment.json()] == ["610103006"]
    for path in ("/api/grids", f"/api/grids/{COMPOUND}", "/api/grids/export"):
        r = client.get(path, params={"as_of": "9999-12-31"}, headers=h)
        assert r.status_code == 422 and "日期超出范围（2000-01-01 至 2100-12-31）：9999-12-31" in body_text(r), path
        r = client.get(path, params={"as_of": "0.5"}, headers=h)
        assert r.status_code == 422 and "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS：0.5" in body_text(r), path


def test_map_dates_at_the_edges(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    h = tokens["admin"]
    r = client.get("/maps/coverage", params={"to": "9999-12-31"}, headers=h)
    assert r.status_code == 422 and "日期超出范围" in body_text(r)
    r = client.get("/maps/coverage", params={"from": "2025-02-01", "to": "2025-01-01"}, headers=h)
    assert r.status_code == 422 and "晚于结束日期" in body_text(r)
    r = client.get("/maps/patrol", params={"date": "0"}, headers=h)
    assert r.status_code == 422 and "日期格式应为 YYYY-MM-DD：0" in body_text(r)


# --- vertices -------------------------------------------------------------------------------------------------------


def test_too_many_vertices_are_refused_on_create_and_update(
    capped: TestClient, tokens: dict[str, dict[str, str]], clean_engine: Engine
) -> None:
    h = tokens["admin"]
    before = grid_rows(clean_engine)
    body = {"name": "千边形", "level": "compound", "parent_code": COMMUNITY, "geometry": circle(CAP + 100)}
    r = capped.post("/api/grids", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert f"网格顶点过多：{CAP + 101} 个（上限 {CAP}），请先简化边界" in body_text(r)
    assert grid_rows(clean_engine) == before
    ok = capped.post("/api/grids", json=body | {"geometry": circle(CAP - 10)}, headers=h)
    assert ok.status_code == 201, ok.text  # under the cap: fine
    version = capped.get(f"/api/grids/{COMPOUND}", headers=h).json()["version"]
    r = capped.patch(f"/api/grids/{COMPOUND}", json={"version": version, "geometry": circle(CAP * 2)}, headers=h)
    assert r.status_code == 422 and f"网格顶点过多：{CAP * 2 + 1} 个（上限 {CAP}）" in body_text(r)
    assert capped.get(f"/api/grids/{COMPOUND}", headers=h).json()["version"] == version


def test_too_many_vertices_in_a_draft_is_a_finding(capped: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    draft = {"code": COMPOUND, "name": "第一网格", "level": "compound", "parent_code": COMMUNITY,
             "geometry": circle(CAP + 1)}  # fmt: skip
    r = capped.post("/api/grids/validate", json={"grids": [draft]}, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    bad = [f for f in r.json()["findings"] if f["rule"] == "invalid_geometry"]
    assert [f["codes"] for f in bad] == [[COMPOUND]]
    assert f"网格顶点过多：{CAP + 2} 个（上限 {CAP}）" in bad[0]["message"]


def test_too_many_vertices_refuse_an_import(
    capped: TestClient, tokens: dict[str, dict[str, str]], clean_engine: Engine, tmp_path: Path
) -> None:
    features = [
        {"type": "Feature", "properties": {"code": "610103006001003", "name": "小", "level": "compound",
                                           "parent_code": COMMUNITY}, "geometry": circle(40)},
        {"type": "Feature", "properties": {"code": "610103006001004", "name": "大", "level": "compound",
                                           "parent_code": COMMUNITY}, "geometry": circle(CAP + 50)},
    ]  # fmt: skip
    path = tmp_path / "big.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    before = grid_rows(clean_engine)
    r = capped.post("/api/grids/import", files={"file": ("big.geojson", path.read_bytes())}, headers=tokens["admin"])
    assert r.status_code == 422, r.text
    bad = [f for f in r.json()["findings"] if f["rule"] == "invalid_geometry"]
    assert [(f["codes"], f["rows"]) for f in bad] == [(["610103006001004"], [2])]
    assert f"网格顶点过多：{CAP + 51} 个（上限 {CAP}）" in bad[0]["message"]
    assert grid_rows(clean_engine) == before


# --- empty and malformed geometries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Polygon", "coordinates": []}, "几何为空"),
        ({"type": "MultiPolygon", "coordinates": [[[]]]}, "几何为空"),
        ({"type": "Polygon", "coordinates": [[[108.95, 34.24], [108.96]]]}, "无法解析几何：坐标格式不正确"),
        ({"type": "Polygon", "coordinates": [[[108.95, 34.24], [108.96, 34.25]]]}, "无法解析几何：环的点数过少"),
        ({"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [1, 3], [1, 2]]]}, "无法解析几何：坐标格式不正确"),
        ({"type": "Polygon"}, "无法解析几何：缺少 coordinates 字段"),
        ({"coordinates": []}, "无法解析几何：缺少 type 字段"),
    ],
)
def test_empty_or_malformed_geometry_is_a_chinese_message(
    client: TestClient, tokens: dict[str, dict[str, str]], clean_engine: Engine, geometry: dict[str, Any], message: str
) -> None:
    h = tokens["admin"]
    before = grid_rows(clean_engine)
    r = client.post("/api/grids", json={"name": "空", "level": "compound", "parent_code": COMMUNITY,
                                        "geometry": geometry}, headers=h)  # fmt: skip
    assert r.status_code == 422, r.text
    text_ = body_text(r)
    assert message in text_
    for python in ("object has no attribute", "NoneType", "array", "sequence", "could not convert", "linearring"):
        assert python not in text_
    version = client.get(f"/api/grids/{COMPOUND}", headers=h).json()["version"]
    r = client.patch(f"/api/grids/{COMPOUND}", json={"version": version, "geometry": geometry}, headers=h)
    assert r.status_code == 422 and message in body_text(r)
    assert grid_rows(clean_engine) == before
