"""POST /api/grids/batch and the editor's shape requests: one save for several grids, all or nothing."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text

from tests.factories import X0, Y0, D

A, B, C = "610103006001001", "610103006001002", "610103006002001"


def live_versions(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, version FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL"))
        return {r[0]: r[1] for r in rows}


def edge_moved(version_b: int = 1) -> dict[str, object]:
    mid = X0 + D / 2 + 0.002
    return {"update": [{"code": A, "version": 1, "geometry": mapping(box(X0, Y0, mid, Y0 + D))},
                       {"code": B, "version": version_b, "geometry": mapping(box(mid, Y0, X0 + D, Y0 + D))}]}


def test_batch_saves_all_or_nothing(client: TestClient, tokens: dict[str, dict[str, str]],
                                    clean_engine: Engine) -> None:  # fmt: skip
    h = tokens["editor1"]
    before = live_versions(clean_engine)
    stale = client.post("/api/grids/batch", headers=h, json=edge_moved(version_b=7))
    assert stale.status_code == 412 and B in stale.json()["detail"], stale.text
    assert live_versions(clean_engine) == before  # A was valid, yet not written either
    preview = client.post("/api/grids/batch", headers=h, json=edge_moved() | {"dry_run": True})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["applied"] is False and body["findings"] == [] and body["moves"]["households"] == 0
    assert live_versions(clean_engine) == before
    saved = client.post("/api/grids/batch", headers=h, json=edge_moved())
    assert saved.status_code == 200, saved.text
    assert {c["code"]: c["version"] for c in saved.json()["changes"]} == {A: 2, B: 2}
    assert live_versions(clean_engine) == before | {A: 2, B: 2}


def test_findings_refuse_until_accepted_and_errors_are_chinese(client: TestClient, tokens: dict[str, dict[str, str]],
                                                               clean_engine: Engine) -> None:  # fmt: skip
    h = tokens["editor1"]
    overlap = {"update": [{"code": A, "version": 1, "geometry": mapping(box(X0, Y0, X0 + 0.7 * D, Y0 + D))}]}
    r = client.post("/api/grids/batch", headers=h, json=overlap)
    assert r.status_code == 409 and "重叠" in r.json()["detail"]
    assert [f["rule"] for f in r.json()["details"]["findings"]] == ["overlap"]
    bowtie = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + D, Y0 + D], [X0 + D, Y0], [X0, Y0 + D], [X0, Y0]]]}
    r = client.post("/api/grids/batch", headers=h, json={"update": [{"code": A, "version": 1, "geometry": bowtie}]})
    assert r.status_code == 422 and "自相交" in r.json()["detail"], r.text
    r = client.post("/api/grids/batch", headers=h, json=overlap | {"accept_findings": True})
    assert r.status_code == 200 and r.json()["applied"] is True


def test_delete_with_neighbour_through_the_api(client: TestClient, tokens: dict[str, dict[str, str]],
                                               clean_engine: Engine) -> None:  # fmt: skip
    r = client.post("/api/grids/batch", headers=tokens["editor1"],
                    json={"retire": [{"code": B, "version": 1, "give_to": A}]})  # fmt: skip
    assert r.status_code == 200, r.text
    changes = {c["code"]: c for c in r.json()["changes"]}
    assert changes[B]["action"] == "retire" and changes[B]["given_to"] == A
    total = changes[A]["area_before_m2"] + changes[B]["area_before_m2"]
    assert abs(changes[A]["area_after_m2"] - total) < 0.05  # m², rounding of the three figures
    assert B not in live_versions(clean_engine)


def test_shape_requests_split_and_merge(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    h = tokens["editor1"]
    square_ = mapping(box(X0, Y0, X0 + D, Y0 + D))
    line = {"type": "LineString", "coordinates": [[X0 + 0.3 * D, Y0 - 0.001], [X0 + 0.3 * D, Y0 + D + 0.001]]}
    r = client.post("/api/grids/shapes/split", headers=h, json={"geometry": square_, "line": line})
    assert r.status_code == 200, r.text
    pieces = [shape(g) for g in r.json()["geometries"]]
    assert len(pieces) == 2 and pieces[0].area > pieces[1].area  # largest first
    assert shapely.union_all(pieces).equals(shape(square_))
    merged = client.post("/api/grids/shapes/merge", headers=h, json={"geometries": [mapping(p) for p in pieces]})
    assert merged.status_code == 200 and shape(merged.json()["geometries"][0]).equals(shape(square_))
    short = {"type": "LineString", "coordinates": [[X0 + 0.3 * D, Y0 - 0.001], [X0 + 0.3 * D, Y0 + 0.5 * D]]}
    r = client.post("/api/grids/shapes/split", headers=h, json={"geometry": square_, "line": short})
    assert r.status_code == 422 and "没有穿过" in r.json()["detail"]
    apart = [mapping(box(X0, Y0, X0 + 0.1 * D, Y0 + 0.1 * D)),
             mapping(box(X0 + 0.5 * D, Y0, X0 + 0.6 * D, Y0 + 0.1 * D))]
    r = client.post("/api/grids/shapes/merge", headers=h, json={"geometries": apart})
    assert r.status_code == 422 and "不相邻" in r.json()["detail"]
    assert client.post("/api/grids/shapes/merge", json={"geometries": apart}).status_code == 401
