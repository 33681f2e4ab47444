"""HTTP: validate (with drafts), import uploads (atomic, size-limited, scoped), export, repairs."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

from tests.factories import X0, Y0, D


def test_validate_live_is_clean_and_a_draft_overlap_is_reported(client: TestClient, tokens: dict) -> None:
    r = client.post("/api/grids/validate", json={"parent": "610103006"}).json()
    assert r["findings"] == []  # the factory street has no staff: every compound is a staffing warning, not a finding
    assert [w["code"] for w in r["staffing"]] == ["610103006001001", "610103006001002", "610103006002001"]
    draft = mapping(box(X0 + 0.004, Y0 + 0.002, X0 + 0.006, Y0 + 0.004))  # straddles 001001 | 001002
    r = client.post(
        "/api/grids/validate",
        json={
            "grids": [
                {"code": None, "name": "新院", "level": "compound", "parent_code": "610103006001", "geometry": draft}
            ]
        },
    )
    findings = r.json()["findings"]
    overlaps = sorted(tuple(f["codes"]) for f in findings if f["rule"] == "overlap")
    assert overlaps == [("610103006001001", "draft-1"), ("610103006001002", "draft-1")]
    assert all(
        f["area_m2"] > 0 and f["geometry"]["type"].endswith("Polygon") for f in findings if f["rule"] == "overlap"
    )


def test_import_upload_is_atomic_and_reports_rows(
    client: TestClient, tokens: dict, tmp_path: Path, clean_engine: Engine
) -> None:
    path = tmp_path / "new.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "编码": "610103006002002",
                            "名称": "好院",
                            "层级": "楼院",
                            "上级编码": "610103006002",
                        },
                        "geometry": mapping(box(X0 + D + 0.001, Y0 + 0.001, X0 + D + 0.002, Y0 + 0.002)),
                    },
                    {
                        "type": "Feature",
                        "properties": {
                            "编码": "610103006002003",
                            "名称": "坏院",
                            "层级": "楼院",
                            "上级编码": "610103006002",
                        },
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[108.96, 34.24], [108.97, 34.25], [108.97, 34.24], [108.96, 34.25], [108.96, 34.24]]
                            ],
                        },
                    },
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    with clean_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM grid")).scalar()
    r = client.post("/api/grids/import", files={"file": ("new.geojson", path.read_bytes())}, headers=tokens["admin"])
    assert r.status_code == 422
    body = r.json()
    assert body["refused"] is True and body["written"] is False
    assert [(f["rule"], f["rows"]) for f in body["findings"] if f["rule"] == "invalid_geometry"] == [
        ("invalid_geometry", [2])
    ]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar() == before


def test_import_scope_size_and_success(client: TestClient, tokens: dict, tmp_path: Path) -> None:
    good = tmp_path / "good.geojson"
    good.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "code": "610103006002002",
                            "name": "好院",
                            "level": "compound",
                            "parent_code": "610103006002",
                        },
                        "geometry": mapping(box(X0 + D + 0.001, Y0 + 0.001, X0 + D + 0.002, Y0 + 0.002)),
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    files = {"file": ("good.geojson", good.read_bytes())}
    r = client.post("/api/grids/import", files=files, headers=tokens["editor1"])
    assert r.status_code == 403 and "超出权限范围" in r.json()["detail"]
    dry = client.post("/api/grids/import", files=files, data={"dry_run": "true"}, headers=tokens["admin"])
    assert dry.status_code == 200 and dry.json()["written"] is False and dry.json()["created"] == ["610103006002002"]
    r = client.post("/api/grids/import", files=files, headers=tokens["admin"])
    assert r.status_code == 200 and r.json()["written"] is True
    assert {f["rule"] for f in r.json()["findings"]} == {"overlap"}  # drawn inside …002001: stored, not blocking
    stored = client.get("/api/grids/findings", params={"code": "610103006002002"}).json()["findings"]
    assert [f["rule"] for f in stored] == ["overlap"]
    big = {"file": ("big.geojson", b" " * (2 * 1024 * 1024))}
    r = client.post("/api/grids/import", files=big, headers=tokens["admin"])
    assert r.status_code == 413 and "过大" in r.json()["detail"]
    r = client.post("/api/grids/import", files={"file": ("x.txt", b"hello")}, headers=tokens["admin"])
    assert r.status_code == 422 and "不支持的文件格式" in r.json()["detail"]


def test_export_round_trips(client: TestClient, tokens: dict, tmp_path: Path) -> None:
    for fmt in ("geojson", "gpkg"):
        r = client.get("/api/grids/export", params={"format": fmt, "level": "compound"})
        assert r.status_code == 200
        out = tmp_path / f"grids.{fmt}"
        out.write_bytes(r.content)
        df = pyogrio.read_dataframe(out)
        assert sorted(df.code) == ["610103006001001", "610103006001002", "610103006002001"]
        assert list(df.columns) == ["code", "name", "level", "parent_code", "geometry"]


def test_repair_preview_then_apply(client: TestClient, tokens: dict) -> None:
    body = {"operation": "merge", "codes": ["610103006001001", "610103006001002"], "name": "合并院"}
    preview = client.post("/api/grids/repair", json=body, headers=tokens["editor1"]).json()
    assert preview["applied"] is False and [c["action"] for c in preview["changes"]] == ["update", "retire"]
    assert client.get("/api/grids/610103006001002").status_code == 200
    done = client.post("/api/grids/repair", json=body | {"apply": True}, headers=tokens["editor1"])
    assert done.status_code == 200 and done.json()["applied"] is True
    assert client.get("/api/grids/610103006001002").status_code == 404
    other = {"operation": "clip", "code": "610103006002001", "apply": True}
    assert client.post("/api/grids/repair", json=other, headers=tokens["editor1"]).status_code == 403


def test_export_as_of_reproduces_the_old_map(
    client: TestClient, tokens: dict, clean_engine: Engine, tmp_path: Path
) -> None:
    with clean_engine.connect() as conn:
        before = conn.execute(text("SELECT now()")).scalar()
    r = client.patch("/api/grids/610103006001001", json={"version": 1, "name": "新名字"}, headers=tokens["admin"])
    assert r.status_code == 200
    old = tmp_path / "old.geojson"
    old.write_bytes(client.get("/api/grids/export", params={"as_of": before.isoformat()}).content)
    now = tmp_path / "now.geojson"
    now.write_bytes(client.get("/api/grids/export").content)
    names_old = dict(zip(*pyogrio.read_dataframe(old)[["code", "name"]].T.values, strict=True))
    names_now = dict(zip(*pyogrio.read_dataframe(now)[["code", "name"]].T.values, strict=True))
    assert names_old["610103006001001"] == "第一网格" and names_now["610103006001001"] == "新名字"
    assert len(names_old) == len(names_now) == 6
