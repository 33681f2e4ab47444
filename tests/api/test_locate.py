"""GET /api/locate: every level for a point, the boundary rule, 200 + [] outside, Chinese 422s, fresh after edits.

Outside every grid is a normal answer (HTTP 200, ``grids: []``): an external system asking about a point beyond
the street has made no mistake, and a 404 would be confused with a wrong URL. Bad coordinates are 422.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.api.routes.locate import plain_point
from gridgov.api.schemas import LocatePublic
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.geo.crs import GCJ02, from_wgs84
from gridgov.grids import service
from gridgov.vocab import LEVEL_ZH

from tests.factories import X0, Y0, D, make_street, square

A, B = "610103006001001", "610103006001002"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def locate_client(clean_engine: Engine, settings_for: Settings) -> Iterator[TestClient]:
    """The app on the factory street, checking the grids' revision on every lookup (max age 0)."""
    with session_scope(clean_engine) as s:
        make_street(s)
    with TestClient(create_app(settings_for.model_copy(update={"locate_max_age_s": 0.0}), clean_engine)) as c:
        yield c


def locate(c: TestClient, lon: float, lat: float, **extra: str) -> dict:  # type: ignore[type-arg]
    r = c.get("/api/locate", params={"lon": lon, "lat": lat, **extra})
    assert r.status_code == 200, r.text
    LocatePublic.model_validate(r.json())
    return r.json()  # type: ignore[no-any-return]


def test_a_point_in_a_compound_gives_street_community_compound(locate_client: TestClient) -> None:
    body = locate(locate_client, X0 + D / 4, Y0 + D / 2)
    assert body["lon"] == X0 + D / 4 and body["lat"] == Y0 + D / 2
    assert [(g["level"], g["code"]) for g in body["grids"]] == [
        ("street", "610103006"), ("community", "610103006001"), ("compound", A)]  # fmt: skip
    assert [g["level_zh"] for g in body["grids"]] == [LEVEL_ZH["street"], LEVEL_ZH["community"], LEVEL_ZH["compound"]]
    assert body["grids"][-1]["name"] == "第一网格"


def test_the_shared_edge_goes_to_the_smaller_code_without_a_token(locate_client: TestClient) -> None:
    assert locate(locate_client, round(X0 + D / 2, 7), Y0 + D / 2)["grids"][-1]["code"] == A
    assert locate(locate_client, round(X0 + D, 7), Y0 + D / 2)["grids"][-1]["code"] == B


def test_outside_every_grid_is_200_and_an_empty_list(locate_client: TestClient) -> None:
    assert locate(locate_client, X0 - D, Y0 - D)["grids"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"lon": "181", "lat": "34"},
        {"lon": "108.9", "lat": "-91"},
        {"lon": "nan", "lat": "34"},
        {"lon": "108.9", "lat": "inf"},
        {"lon": "东经108度", "lat": "34"},
        {"lon": "108.9"},
        {},
        {"lon": "108.9", "lat": "34.2", "crs": "EPSG:4547"},
        {"lon": "108.9", "lat": "34.2", "crs": "EPSG:3857"},
        {"lon": "108.9", "lat": "34.2", "crs": "x" * 40},
        {"lon": "2.35", "lat": "48.85", "crs": "gcj02"},
    ],
)
def test_bad_coordinates_are_422_in_chinese(locate_client: TestClient, params: dict[str, str]) -> None:
    r = locate_client.get("/api/locate", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "InvalidInput" and HAN.search(r.json()["detail"]), r.json()


def test_gcj02_coordinates(locate_client: TestClient) -> None:
    p = from_wgs84([shapely.Point(X0 + D / 4, Y0 + D / 2)], GCJ02)[0]
    body = locate(locate_client, p.x, p.y, crs="gcj02")
    assert body["grids"][-1]["code"] == A
    assert body["lon"] == pytest.approx(X0 + D / 4, abs=1e-7)


def test_an_edit_is_seen_by_the_next_lookup_with_max_age_0(locate_client: TestClient, clean_engine: Engine) -> None:
    x, y = X0 + 0.6 * D, Y0 + D / 2
    assert locate(locate_client, x, y)["grids"][-1]["code"] == B
    with session_scope(clean_engine) as s:
        a = service.get_grid(s, A)
        service.change_grid(s, A, expected_version=a.version, actor="test", geometry=square(X0, Y0, 0.75 * D, D),
                            name="扩大的网格")  # fmt: skip
    last = locate(locate_client, x, y)["grids"][-1]
    assert (last["code"], last["name"]) == (A, "扩大的网格")


def test_the_rule_is_documented(locate_client: TestClient) -> None:
    op = locate_client.get("/openapi.json").json()["paths"]["/api/locate"]["get"]
    assert "边界上的点归编码最小的网格" in op["description"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/LocatePublic")
    params = {p["name"]: p for p in op["parameters"]}
    assert params["lon"]["required"] and params["lat"]["required"] and not params["crs"]["required"]
    assert all(HAN.search(p["description"]) for p in params.values())


@pytest.mark.parametrize(
    ("query", "point"),
    [
        (b"lon=108.955&lat=34.245", (108.955, 34.245)),
        (b"lat=-34.2&lon=-108", (-108.0, -34.2)),
        (b"lon=108.96615904676045&lat=34.250811850000005&crs=4326", (108.96615904676045, 34.250811850000005)),
        (b"lon=181&lat=34", None),
        (b"lon=1e2&lat=34", None),
        (b"lon=108.9&lat=34&lat=35", None),
        (b"lon=108.9&lat=34&crs=gcj02", None),
        (b"lon=108.9&lat=34&extra=1", None),
        (b"lon=108%2E9&lat=34", None),
        (b"lon=nan&lat=34", None),
        (b"lon=108.9", None),
        (b"lon=108.9&lat", None),
        ("lon=108.9&lat=三十四".encode(), None),
        (b"", None),
    ],
)
def test_the_fast_path_takes_only_plain_queries(query: bytes, point: tuple[float, float] | None) -> None:
    assert plain_point(query) == point


def test_fast_and_framework_paths_answer_alike(clean_engine: Engine, settings_for: Settings) -> None:
    """A plain query is answered by the fast path once the index is built, anything else by the route: same bytes."""
    with session_scope(clean_engine) as s:
        make_street(s)
    app = create_app(settings_for.model_copy(update={"locate_max_age_s": 3600.0}), clean_engine)
    with TestClient(app) as c:
        lon, lat = X0 + D / 4, Y0 + D / 2
        first = c.get(f"/api/locate?lon={lon}&lat={lat}")  # builds the index (framework path)
        index = app.state.locate_index
        assert not index.due()
        fast = c.get(f"/api/locate?lon={lon}&lat={lat}")
        routed = c.get(f"/api/locate?lat={lat}&lon={lon}&crs=EPSG:4326&unused=1")
        outside = c.get(f"/api/locate?lon={X0 - D}&lat={Y0}")
    for r in (first, fast, routed):
        assert r.status_code == 200
        assert (r.content, r.headers["content-type"], r.headers["content-length"]) == (
            fast.content, "application/json", str(len(fast.content)))  # fmt: skip
    assert fast.json()["grids"][-1]["code"] == A
    assert outside.status_code == 200 and outside.json()["grids"] == []
    assert index.builds == 1


def test_the_fast_path_sees_an_edit_after_max_age(clean_engine: Engine, settings_for: Settings) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    with TestClient(create_app(settings_for.model_copy(update={"locate_max_age_s": 0.3}), clean_engine)) as c:
        x, y = X0 + 0.6 * D, Y0 + D / 2
        assert locate(c, x, y)["grids"][-1]["code"] == B
        with session_scope(clean_engine) as s:
            a = service.get_grid(s, A)
            service.change_grid(s, A, expected_version=a.version, actor="test", geometry=square(X0, Y0, 0.75 * D, D))
        time.sleep(0.35)
        assert locate(c, x, y)["grids"][-1]["code"] == A
