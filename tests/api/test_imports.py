"""HTTP imports of entities: GBK CSV, a bad row refuses the file (422 with row numbers), scope, size."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factories import X0, Y0

CSV = (
    "编码,地址,户籍类型,经度,纬度\n"
    f"H1,文艺北路45号院1号楼101室,常住户,{X0 + 0.002},{Y0 + 0.005}\n"
    f"H2,城外某处,租房户,{X0 - 0.01},{Y0 - 0.01}\n"
)


def households(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM household")).scalar_one())


def test_gbk_upload_imports_and_lists_unassigned(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    r = client.post("/api/import/households", files={"file": ("户.csv", CSV.encode("gbk"))}, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == 2 and body["assigned"] == 1 and body["unassigned_rows"] == [{"row": 3, "code": "H2"}]
    assert households(clean_engine) == 2


def test_bad_row_is_422_and_nothing_is_written(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    bad = CSV.replace("租房户", "宿舍")
    r = client.post("/api/import/households", files={"file": ("h.csv", bad.encode())}, headers=tokens["admin"])
    assert r.status_code == 422
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, "kind")]
    assert households(clean_engine) == 0


def test_scope_size_and_auth(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    files = {"file": ("h.csv", CSV.encode())}
    assert client.post("/api/import/households", files=files).status_code == 401
    r = client.post("/api/import/households", files=files, headers=tokens["editor1"])
    assert r.status_code == 403 and "超出权限范围" in r.json()["detail"]
    assert households(clean_engine) == 0
    big = {"file": ("h.csv", b"x" * (2 * 1024 * 1024))}
    assert client.post("/api/import/households", files=big, headers=tokens["admin"]).status_code == 413
    assert client.post("/api/import/pets", files=files, headers=tokens["admin"]).status_code == 422


def test_gpx_upload(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    import gpxpy.gpx

    with clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO patrol_team (code, name) VALUES ('PT09', '测试巡逻队')"))
    gpx = gpxpy.gpx.GPX()
    trk = gpxpy.gpx.GPXTrack(name="2026-10-01 上半夜")
    seg = gpxpy.gpx.GPXTrackSegment()
    start = dt.datetime(2026, 10, 1, 12, 30, tzinfo=dt.UTC)  # 20:30 CST
    for i in range(20):
        seg.points.append(
            gpxpy.gpx.GPXTrackPoint(Y0 + 0.005, X0 + 0.001 + i * 0.0002, time=start + dt.timedelta(seconds=15 * i))
        )
    trk.segments.append(seg)
    gpx.tracks.append(trk)
    files = {"file": ("t.gpx", gpx.to_xml().encode())}
    r = client.post("/api/import/tracks", files=files, data={"team": "PT09"}, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["tracks"] == 1 and r.json()["points"] == 20 and r.json()["shifts"] == {"上半夜": 1}
    again = client.post("/api/import/tracks", files=files, data={"team": "PT09"}, headers=tokens["admin"])
    assert again.status_code == 409
