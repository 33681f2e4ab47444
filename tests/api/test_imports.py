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


def test_a_field_map_names_the_columns(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    odd = CSV.replace("编码,地址,户籍类型", "档案号,门牌,类别")
    files = {"file": ("h.csv", odd.encode())}
    r = client.post("/api/import/households", files=files, headers=tokens["admin"])
    assert r.status_code == 422 and "缺少必需列：编码（code）、户籍类型（kind）" in r.json()["detail"]
    mapped = {"map": ["档案号=code", "门牌=address", "类别=kind"]}
    r = client.post("/api/import/households", files=files, data=mapped, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT code, address, kind FROM household ORDER BY code")).tuples().all()
    assert rows == [("H1", "文艺北路45号院1号楼101室", "常住户"), ("H2", "城外某处", "租房户")]
    unknown = client.post("/api/import/households", files=files, data={"map": ["档案号=户号"]}, headers=tokens["admin"])
    assert unknown.status_code == 422
    assert "没有目标列 户号（可用：code, address, building_code, kind, lon, lat, geometry）" in unknown.json()["detail"]
    malformed = client.post("/api/import/households", files=files, data={"map": "档案号"}, headers=tokens["admin"])
    assert malformed.status_code == 422 and "源列=目标列" in malformed.json()["detail"]
    assert households(clean_engine) == 2


def test_a_refused_file_carries_its_totals(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    rows = "".join(f"H{i},某院,{'宿舍' if i % 2 else '常住户'},{Y0 + 0.005},{X0 + 0.002}\n" for i in range(150))
    swapped = ("编码,地址,户籍类型,经度,纬度\n" + rows).encode()
    r = client.post("/api/import/households", files={"file": ("h.csv", swapped)}, headers=tokens["admin"])
    assert r.status_code == 422
    body = r.json()
    assert body["refused"] and body["error_count"] == 225 and len(body["errors"]) == 100
    assert body["error_summary"] == [
        {"column": "lon/lat", "reason": "经纬度颠倒", "count": 150},
        {"column": "kind", "reason": "取值应为 常住户 / 租房户 / 空房户 / 底商", "count": 75},
    ]
    assert body["errors"][0] == {"row": 2, "column": "lon/lat", "reason": body["errors"][0]["reason"]}
    assert "请交换经度和纬度" in body["errors"][0]["reason"]
    assert households(clean_engine) == 0


def test_a_refused_grid_file_lists_100_findings_and_counts_them(
    client: TestClient, tokens: dict, clean_engine: Engine
) -> None:
    import json

    from shapely.geometry import box, mapping

    def feature(i: int, level: str) -> dict:
        cell = box(X0 + i * 1e-4, Y0, X0 + (i + 1) * 1e-4, Y0 + 1e-4)
        return {"type": "Feature", "properties": {"code": "" if level == "compound" else f"9{i:08d}", "level": level},
                "geometry": mapping(cell)}  # fmt: skip

    features = [feature(i, "compound") for i in range(110)] + [feature(i, "楼层") for i in range(110, 140)]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    r = client.post("/api/grids/import", files={"file": ("grids.geojson", body)}, headers=tokens["admin"])
    assert r.status_code == 422
    report = r.json()
    assert report["refused"] and report["finding_count"] == 140 and len(report["findings"]) == 100
    assert report["finding_summary"] == [
        {"rule": "invalid_geometry", "reason": "几何无效", "count": 110},
        {"rule": "level_mismatch", "reason": "层级不匹配", "count": 30},
    ]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == 6  # the fixture's street only


def test_upsert_and_sync_through_the_api_report_the_diff(
    client: TestClient, tokens: dict, clean_engine: Engine
) -> None:
    first = CSV + f"H3,文艺北路47号院,空房户,{X0 + 0.007},{Y0 + 0.005}\n"
    assert client.post("/api/import/households", files={"file": ("h.csv", first.encode())},
                       headers=tokens["admin"]).status_code == 200  # fmt: skip
    body = CSV.replace("常住户", "出租")  # H1 becomes rented, H2 stays, H3 is left out
    files = {"file": ("h.csv", body.encode())}
    sync = {"mode": "sync", "scope": "610103006001", "dry_run": "true"}
    dry = client.post("/api/import/households", files=files, data=sync, headers=tokens["editor1"])
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["mode"] == "sync" and report["error_count"] == 0 and report["error_summary"] == []
    diff = report["diff"]
    assert (diff["created"]["count"], diff["updated"]["count"], diff["retired"]["count"]) == (0, 1, 1)
    assert diff["updated"]["rows"][0]["changes"] == [{"field": "kind", "label": "户籍类型", "old": "常住户",
                                                      "new": "租房户"}]  # fmt: skip
    assert diff["retired"]["rows"][0]["code"] == "H3" and diff["unchanged"]["rows"][0]["code"] == "H2"
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM household WHERE valid_to IS NOT NULL")).scalar_one() == 0
    done = client.post("/api/import/households", files=files, data=sync | {"dry_run": "false"},
                       headers=tokens["editor1"])  # fmt: skip
    assert done.status_code == 200 and done.json()["written"] and done.json()["imported"] == 1
    with clean_engine.connect() as conn:
        got = conn.execute(text("SELECT code, kind, end_reason FROM household WHERE lineage_id IS NULL ORDER BY code"))
        assert got.tuples().all() == [("H1", "租房户", None), ("H2", "租房户", None), ("H3", "空房户", "同步移除")]


def test_api_import_options_are_checked(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    files = {"file": ("h.csv", CSV.encode())}
    other = client.post("/api/import/households", files=files, data={"mode": "sync", "scope": "610103006002"},
                        headers=tokens["editor1"])  # fmt: skip
    assert other.status_code == 403 and "超出权限范围" in other.json()["detail"]
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    late = client.post("/api/import/households", files=files, data={"mode": "upsert", "effective": future},
                       headers=tokens["admin"])  # fmt: skip
    assert late.status_code == 422 and "生效日期不能晚于今天" in late.json()["detail"]
    bad_day = client.post("/api/import/households", files=files, data={"effective": "2026-02-30"},
                          headers=tokens["admin"])  # fmt: skip
    assert bad_day.status_code == 422 and "日期不存在" in bad_day.json()["detail"]
    unknown = client.post("/api/import/households", files=files, data={"mode": "replace"}, headers=tokens["admin"])
    assert unknown.status_code == 422
    incidents = {"file": ("e.csv", f"code,category,reported_at,lon,lat\nE1,市容环境,2026-10-01 10:00,{X0 + 0.002},"
                                   f"{Y0 + 0.005}\n".encode())}  # fmt: skip
    r = client.post("/api/import/incidents", files=incidents, data={"mode": "upsert"}, headers=tokens["admin"])
    assert r.status_code == 422 and "事件还没有历史记录" in r.json()["detail"]
    assert households(clean_engine) == 0


def test_a_grid_import_answers_its_totals(client: TestClient, tokens: dict, clean_engine: Engine) -> None:
    import json

    from shapely.geometry import box, mapping

    cell = box(X0 + 0.0001, Y0 + 0.0001, X0 + 0.0049, Y0 + 0.0099)
    feature = {"type": "Feature", "properties": {"code": "610103006001001", "name": "第一网格", "level": "compound",
                                                 "parent_code": "610103006001"}, "geometry": mapping(cell)}  # fmt: skip
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    r = client.post("/api/grids/import", files={"file": ("g.geojson", body)}, data={"dry_run": "true"},
                    headers=tokens["admin"])  # fmt: skip
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["finding_count"] == len(report["findings"]) == sum(k["count"] for k in report["finding_summary"])
