"""``/api/patrol`` teams, members, areas and routes on the factory street: create, read with an ETag, change with
If-Match (428 without it, 412 on a stale one, nothing written), history, members, routes, retirement; and every
write route refused outside the caller's scope (the cases proposed for tests/api/test_scope.py's OUT_OF_SCOPE,
run here on the same kind of street: teams TW and TE without a grid, areas A-1 and A-2 on communities …001 and
…002)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import LineString, box, mapping
from sqlalchemy import Engine, text

from gridgov.db.engine import session_scope

from tests.factories import X0, Y0, D, square

OWN, OTHER = "610103006001", "610103006002"
V1 = {"If-Match": '"1"'}
WEST = box(X0 + 0.1 * D, Y0 + 0.1 * D, X0 + 0.4 * D, Y0 + 0.4 * D)
WEST_ROUTE = LineString([(X0 + 0.2 * D, Y0 + 0.2 * D), (X0 + 0.3 * D, Y0 + 0.3 * D)])
ACROSS_ROUTE = {"type": "LineString", "coordinates": [[X0 + 0.5 * D, Y0 + 0.5 * D], [X0 + 1.5 * D, Y0 + 0.5 * D]]}
OVER_THE_BORDER = square(X0 + 0.5 * D, Y0, 0.75 * D, D)
GEOD = Geod(ellps="WGS84")


@pytest.fixture
def street(tokens: dict[str, dict[str, str]], clean_engine: Engine) -> dict[str, dict[str, str]]:
    """Staff SW and SE, and a patrol team per community without a grid, each with its community as its area
    (A-1 for TW, A-2 for TE): the patrol part of test_scope.py's street."""
    with session_scope(clean_engine) as s:
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('SW', '西员', '13800000007'), "
                       "('SE', '东员', '13800000008')"))  # fmt: skip
        for team, grid in (("TW", OWN), ("TE", OTHER)):
            tid = s.execute(text("INSERT INTO patrol_team (code, name) VALUES (:c, :n) RETURNING id"),
                            {"c": team, "n": team}).scalar_one()  # fmt: skip
            s.execute(text("INSERT INTO patrol_area (code, team_id, geom) SELECT 'A-' || :t, :t, geom FROM grid "
                           "WHERE code = :g AND valid_to IS NULL"), {"t": tid, "g": grid})  # fmt: skip
    return tokens


def test_a_team_over_http(client: TestClient, street: dict[str, dict[str, str]], clean_engine: Engine) -> None:
    h = street["editor1"]
    made = client.post("/api/patrol/teams", headers=h, json={"code": "T1", "name": "一队", "kind": "干部",
                                                              "shift": "上半夜", "leader": "SW"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert (made.headers["ETag"], made.headers["Location"]) == ('"1"', "/api/patrol/teams/T1")
    body = made.json()
    assert (body["kind"], body["grid_code"], body["leader_name"], body["retired"]) == ("机关干部", OWN, "西员", False)
    assert client.get("/api/patrol/teams/T1").status_code == 401

    missing = client.patch("/api/patrol/teams/T1", headers=h, json={"name": "改"})
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    changed = client.patch("/api/patrol/teams/T1", headers={**h, **V1}, json={"name": "一队（夜）", "unit": None})
    assert (changed.status_code, changed.headers["ETag"], changed.json()["name"]) == (200, '"2"', "一队（夜）")
    stale = client.patch("/api/patrol/teams/T1", headers={**h, **V1}, json={"name": "旧"})
    assert stale.status_code == 412 and stale.json()["details"] == {"current_version": 2}
    unknown = client.patch("/api/patrol/teams/T1", headers={**h, "If-Match": '"2"'}, json={"shift": "白班"})
    assert unknown.status_code == 422 and "可选：上半夜、下半夜" in unknown.json()["detail"]
    assert [v["version"] for v in client.get("/api/patrol/teams/T1/history", headers=h).json()] == [1, 2]

    joined = client.post("/api/patrol/teams/T1/members", headers=h, json={"staff_code": "SW", "role": "队长"})
    assert joined.status_code == 201 and (joined.json()["staff_name"], joined.json()["role"]) == ("西员", "队长")
    members = client.get("/api/patrol/teams/T1/members", headers=h).json()
    assert [(m["staff_code"], m["role"], m["in_force"]) for m in members] == [("SW", "队长", True)]
    ended = client.post("/api/patrol/teams/T1/members/SW/end", headers=h, json={"reason": "调离"})
    assert ended.status_code == 200 and ended.json()["end_reason"] == "调离"
    assert client.get("/api/patrol/teams/T1/members", headers=h).json() == []

    no_reason = client.delete("/api/patrol/teams/T1", headers={**h, "If-Match": '"2"'})
    assert no_reason.status_code == 422 and "请填写撤销原因" in no_reason.json()["detail"]
    retired = client.delete("/api/patrol/teams/T1?reason=合并", headers={**h, "If-Match": '"2"'})
    assert retired.status_code == 200 and (retired.json()["retired"], retired.json()["version"]) == (True, 3)
    codes = [t["code"] for t in client.get("/api/patrol/teams", headers=h).json()]
    assert codes == ["TE", "TW"]
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT version, name, unit, valid_to IS NULL, end_reason FROM patrol_team "
                                 "WHERE code = 'T1' ORDER BY version")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(1, "一队", None, False, None), (2, "一队（夜）", None, False, None),
                                        (3, "一队（夜）", None, False, "合并")]  # fmt: skip


def test_a_volunteer_joins_over_http(client: TestClient, street: dict[str, dict[str, str]],
                                     clean_engine: Engine) -> None:  # fmt: skip
    """A volunteer not on record joins by name and phone: the staff row and the membership in one request."""
    h = street["editor1"]
    joined = client.post("/api/patrol/teams/TW/members", headers=h, json={
        "name": "赵志愿", "phone": "13912345678", "organisation": "西社区", "role": "队长"})  # fmt: skip
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert (body["staff_name"], body["phone"], body["organisation"], body["role"], body["in_force"]) == (
        "赵志愿", "13912345678", "西社区", "队长", True)  # fmt: skip
    with clean_engine.connect() as conn:
        staff = conn.execute(text("SELECT code, organisation, updated_by, version FROM staff "
                                  "WHERE name = '赵志愿'")).all()  # fmt: skip
        member = conn.execute(text("SELECT t.code, m.role FROM patrol_team_member m JOIN patrol_team t "
                                   "ON t.id = m.team_id JOIN staff s ON s.id = m.staff_id "
                                   "WHERE s.name = '赵志愿'")).all()  # fmt: skip
    assert [tuple(r) for r in staff] == [(body["staff_code"], "西社区", "token:一社区", 1)]
    assert body["staff_code"].startswith("S-") and [tuple(r) for r in member] == [("TW", "队长")]

    cases = [({"staff_code": "SW", "name": "钱志愿", "phone": "13912345679"}, 422, "只给出人员编码"),
             ({"name": "钱志愿"}, 422, "请填写电话"), ({"name": "钱志愿", "phone": "12"}, 422, "电话号码格式错误"),
             ({"phone": "13912345679"}, 422, "姓名：必填项为空")]  # fmt: skip
    for sent, status, message in cases:
        r = client.post("/api/patrol/teams/TW/members", headers=h, json=sent)
        assert r.status_code == status and message in r.json()["detail"], (sent, r.text)
    outside = client.post("/api/patrol/teams/TE/members", headers=h, json={"name": "孙志愿", "phone": "13912345670"})
    assert outside.status_code == 403 and outside.json()["detail"].startswith("超出权限范围"), outside.text
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM staff WHERE name IN ('钱志愿', '孙志愿')")).scalar_one() == 0


def test_an_area_and_its_route_over_http(client: TestClient, street: dict[str, dict[str, str]],
                                         clean_engine: Engine) -> None:  # fmt: skip
    h = street["editor1"]
    client.post("/api/patrol/teams", headers=h, json={"code": "T1", "name": "一队"})
    made = client.post("/api/patrol/areas", headers=h, json={
        "code": "AW", "name": "西区", "team": "T1", "rota": [OWN],
        "geometry": {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                                "geometry": mapping(WEST)}]}})  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["team_code"], body["rota_codes"], body["has_route"], body["communities"]) == (
        "T1", [OWN], False, [f"{OWN} 文艺北路一社区"])  # fmt: skip
    assert body["area_m2"] == pytest.approx(abs(GEOD.geometry_area_perimeter(WEST)[0]), rel=1e-6)
    listed = client.get("/api/patrol/areas?team=T1", headers=h).json()
    assert [(a["code"], a["geometry"]) for a in listed] == [("AW", None)]
    shaped = client.get("/api/patrol/areas?team=T1&geometry=true", headers=h).json()
    assert shaped[0]["geometry"]["type"] == "MultiPolygon"

    routed = client.put("/api/patrol/areas/AW/route", headers=h, json={"geometry": mapping(WEST_ROUTE)})
    assert routed.status_code == 200 and routed.headers["ETag"] == '"2"'
    assert routed.json()["route_m"] == pytest.approx(GEOD.geometry_length(WEST_ROUTE), rel=1e-6)
    stale = client.delete("/api/patrol/areas/AW/route", headers={**h, **V1})
    assert stale.status_code == 412
    cleared = client.delete("/api/patrol/areas/AW/route", headers={**h, "If-Match": '"2"'})
    assert (cleared.json()["has_route"], cleared.json()["version"]) == (False, 3)
    moved = client.patch("/api/patrol/areas/AW", headers={**h, "If-Match": '"3"'},
                         json={"geometry": mapping(box(X0 + 0.2 * D, Y0 + 0.2 * D, X0 + 0.3 * D, Y0 + 0.3 * D)),
                               "rota": []})  # fmt: skip
    assert moved.status_code == 200 and moved.json()["rota_codes"] == []
    retired = client.delete("/api/patrol/areas/AW", headers={**h, "If-Match": '"4"'}, params={"reason": "调整"})
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert client.get("/api/patrol/teams/T1", headers=h).json()["areas"] == []
    with clean_engine.connect() as conn:
        versions = conn.execute(text("SELECT version, route IS NULL, rota_grid_ids FROM patrol_area WHERE code = 'AW' "
                                     "ORDER BY version")).all()  # fmt: skip
    assert [tuple(v) for v in versions] == [(1, True, [2]), (2, False, [2]), (3, True, [2]), (4, True, None),
                                            (5, True, None)]  # fmt: skip


Send = Callable[[TestClient, dict[str, str]], Any]
AREA_EAST = {
    "type": "Polygon",
    "coordinates": [
        [
            [X0 + 1.1 * D, Y0 + 0.1 * D],
            [X0 + 1.3 * D, Y0 + 0.1 * D],
            [X0 + 1.3 * D, Y0 + 0.3 * D],
            [X0 + 1.1 * D, Y0 + 0.1 * D],
        ]
    ],
}
AREA_WEST = mapping(WEST)
# The cases proposed for tests/api/test_scope.py's OUT_OF_SCOPE (the editor is scoped to community …001).
SCOPE_CASES: dict[tuple[str, str], dict[str, Send]] = {
    ("POST", "/api/patrol/teams"): {
        "a team serving another community": lambda c, h: c.post("/api/patrol/teams", headers=h, json={
            "code": "T9", "name": "新队", "grid": OTHER}),
    },
    ("PATCH", "/api/patrol/teams/{code}"): {
        "another community's team (where its area is)": lambda c, h: c.patch(
            "/api/patrol/teams/TE", headers={**h, **V1}, json={"name": "改"}),
        "own team moved to another community": lambda c, h: c.patch(
            "/api/patrol/teams/TW", headers={**h, **V1}, json={"grid": OTHER}),
    },
    ("DELETE", "/api/patrol/teams/{code}"): {
        "another community's team": lambda c, h: c.delete("/api/patrol/teams/TE?reason=合并", headers={**h, **V1}),
    },
    ("POST", "/api/patrol/teams/{code}/members"): {
        "a member for another community's team": lambda c, h: c.post(
            "/api/patrol/teams/TE/members", headers=h, json={"staff_code": "SE"}),
    },
    ("POST", "/api/patrol/teams/{code}/members/{staff_code}/end"): {
        "a member of another community's team": lambda c, h: c.post(
            "/api/patrol/teams/TE/members/SE/end", headers=h, json={"reason": "离队"}),
    },
    ("POST", "/api/patrol/areas"): {
        "an area over the border": lambda c, h: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": OVER_THE_BORDER}),
        "own area for another community's team": lambda c, h: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": AREA_WEST, "team": "TE"}),
        "own area led in turn by another community": lambda c, h: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": AREA_WEST, "rota": [OWN, OTHER]}),
    },
    ("PATCH", "/api/patrol/areas/{code}"): {
        "another community's area": lambda c, h: c.patch("/api/patrol/areas/A-2", headers={**h, **V1},
                                                         json={"name": "改"}),
        "own area stretched over the border": lambda c, h: c.patch("/api/patrol/areas/A-1", headers={**h, **V1},
                                                                   json={"geometry": OVER_THE_BORDER}),
    },
    ("DELETE", "/api/patrol/areas/{code}"): {
        "another community's area": lambda c, h: c.delete("/api/patrol/areas/A-2?reason=调整", headers={**h, **V1}),
    },
    ("PUT", "/api/patrol/areas/{code}/route"): {
        "a route on another community's area": lambda c, h: c.put("/api/patrol/areas/A-2/route", headers=h, json={
            "geometry": {"type": "LineString", "coordinates": [[X0 + 1.2 * D, Y0 + 0.2 * D],
                                                               [X0 + 1.3 * D, Y0 + 0.3 * D]]}}),
        "own area's route into another community": lambda c, h: c.put(
            "/api/patrol/areas/A-1/route", headers=h, json={"geometry": ACROSS_ROUTE}),
    },
    ("DELETE", "/api/patrol/areas/{code}/route"): {
        "another community's area": lambda c, h: c.delete("/api/patrol/areas/A-2/route", headers=h),
    },
    # The pages' forms (a token skips CSRF).
    ("POST", "/patrol/teams"): {
        "a team serving another community": lambda c, h: c.post("/patrol/teams", headers=h, data={
            "code": "T9", "name": "新队", "grid": OTHER}),
    },
    ("POST", "/patrol/teams/{code}/edit"): {
        "another community's team": lambda c, h: c.post("/patrol/teams/TE/edit", headers=h, data={
            "version": "1", "name": "改"}),
    },
    ("POST", "/patrol/teams/{code}/retire"): {
        "another community's team": lambda c, h: c.post("/patrol/teams/TE/retire", headers=h, data={
            "version": "1", "reason": "合并"}),
    },
    ("POST", "/patrol/teams/{code}/members"): {
        "a member for another community's team": lambda c, h: c.post("/patrol/teams/TE/members", headers=h, data={
            "staff_code": "SE"}),
    },
    ("POST", "/patrol/teams/{code}/members/{staff_code}/end"): {
        "a member of another community's team": lambda c, h: c.post("/patrol/teams/TE/members/SE/end", headers=h,
                                                                    data={"reason": "离队"}),
    },
    ("POST", "/patrol/areas/new"): {
        "an area in another community": lambda c, h: c.post("/patrol/areas/new", headers=h, data={
            "code": "A9", "name": "新区", "geojson": json.dumps(AREA_EAST)}),
    },
    ("POST", "/patrol/areas/{code}/edit"): {
        "another community's area": lambda c, h: c.post("/patrol/areas/A-2/edit", headers=h, data={
            "version": "1", "name": "改"}),
    },
    ("POST", "/patrol/areas/{code}/route"): {
        "own area's route into another community": lambda c, h: c.post("/patrol/areas/A-1/route", headers=h, data={
            "version": "1", "geojson": json.dumps(ACROSS_ROUTE)}),
    },
    ("POST", "/patrol/areas/{code}/retire"): {
        "another community's area": lambda c, h: c.post("/patrol/areas/A-2/retire", headers=h, data={
            "version": "1", "reason": "调整"}),
    },
}  # fmt: skip


def patrol_fingerprint(engine: Engine) -> tuple[Any, ...]:
    """Every patrol row a write could change, summed up."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT (SELECT string_agg(code || ':' || version || ':' || coalesce(grid_id, 0), ',' ORDER BY id) "
            "FROM patrol_team), (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM patrol_area), "
            "(SELECT count(*) FROM patrol_team_member)")).one())  # fmt: skip


def routes(found: list[Any]) -> Iterator[APIRoute]:
    """Every route of the app, through included routers."""
    for r in found:
        if hasattr(r, "original_router"):
            yield from routes(r.original_router.routes)
        elif isinstance(r, APIRoute):
            yield r


def test_every_patrol_write_route_has_a_scope_case(client: TestClient) -> None:
    """Each write route of the patrol teams API and pages is among SCOPE_CASES."""
    mine = ("/api/patrol/teams", "/api/patrol/areas", "/patrol/teams", "/patrol/areas")
    found = {(m, r.path) for r in routes(client.app.routes) for m in r.methods - {"GET", "HEAD", "OPTIONS"}
             if r.path.startswith(mine)}  # fmt: skip
    assert found == set(SCOPE_CASES)


@pytest.mark.parametrize(("route", "case"), [(r, c) for r, cases in SCOPE_CASES.items() for c in cases])
def test_out_of_scope_patrol_writes_are_403_and_change_nothing(
    client: TestClient, street: dict[str, dict[str, str]], clean_engine: Engine, route: tuple[str, str], case: str
) -> None:
    before = patrol_fingerprint(clean_engine)
    send = SCOPE_CASES[route][case]
    assert send(client, {}).status_code == 401
    r = send(client, street["editor1"])
    assert r.status_code == 403, r.text
    assert r.json()["detail"].startswith(("超出权限范围", "权限不足")), r.json()
    assert patrol_fingerprint(clean_engine) == before


def test_the_routes_are_documented(client: TestClient) -> None:
    """Each patrol teams operation is in the OpenAPI document with the shared error table and its models."""
    doc = client.get("/openapi.json").json()
    mine = {p: item for p, item in doc["paths"].items() if p.startswith(("/api/patrol/teams", "/api/patrol/areas"))}
    assert {(p, m.upper()) for p, item in mine.items() for m in item} == {
        ("/api/patrol/teams", "GET"), ("/api/patrol/teams", "POST"), ("/api/patrol/teams/{code}", "GET"),
        ("/api/patrol/teams/{code}", "PATCH"), ("/api/patrol/teams/{code}", "DELETE"),
        ("/api/patrol/teams/{code}/history", "GET"), ("/api/patrol/teams/{code}/members", "GET"),
        ("/api/patrol/teams/{code}/members", "POST"), ("/api/patrol/teams/{code}/members/{staff_code}/end", "POST"),
        ("/api/patrol/areas", "GET"), ("/api/patrol/areas", "POST"), ("/api/patrol/areas/{code}", "GET"),
        ("/api/patrol/areas/{code}", "PATCH"), ("/api/patrol/areas/{code}", "DELETE"),
        ("/api/patrol/areas/{code}/route", "PUT"), ("/api/patrol/areas/{code}/route", "DELETE")}  # fmt: skip
    for item in mine.values():
        for op in item.values():
            assert op["tags"] == ["巡逻勤务"] and op["summary"]
            for code in ("401", "403", "404", "412", "422"):
                schema = op["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorPublic"}, (op["summary"], code)
    assert {
        "TeamCreate",
        "TeamUpdate",
        "TeamPublic",
        "AreaCreate",
        "AreaUpdate",
        "AreaPublic",
        "MemberCreate",
        "MemberPublic",
        "RoutePut",
    } <= set(doc["components"]["schemas"])
