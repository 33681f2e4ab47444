"""The one scope rule on every write: each API write route and CLI write command, in scope and out of scope.

The street (tests.factories): community …001 (west: compounds …001001, …001002) and …002 (east: …002001, and
…002002 added here). The editor token is scoped to …001. Out-of-scope writes answer 403 and change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gpxpy.gpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

from gridgov.api.dependencies import get_actor
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope
from gridgov.grids import service
from gridgov.incidents import cases as incident_cases
from gridgov.incidents.workflow import ACTION_NAMES
from gridgov.records.service import create_record
from gridgov.workdays import load_calendar

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D, square

OP = Actor.system("test")
OWN, OTHER = "610103006001", "610103006002"
# Inside community …002 (east half of the street), and inside …001.
EAST_LON, WEST_LON, LAT = X0 + 1.25 * D, X0 + 0.25 * D, Y0 + 0.5 * D
EAST_GRID = "610103006002001"
V1 = {"If-Match": '"1"'}  # the version of every record the street starts with


@pytest.fixture
def street(patrol_street: dict[str, dict[str, str]], clean_engine: Engine) -> dict[str, dict[str, str]]:
    """The patrol street (tests/api/conftest.py: a patrol team per community, staff member SE with a post in …002)
    with two compounds in …002 and a household with a resident in each community, and a building in …002."""
    tokens = patrol_street
    with session_scope(clean_engine) as s:
        rec = service.get_grid(s, "610103006002001")
        service.update_grid(s, rec.code, expected_version=rec.version, actor=OP, geometry=square(X0 + D, Y0, D / 2, D))
        service.create_grid(s, code="610103006002002", name="第二网格", level="compound", parent_code=OTHER,
                            geometry=square(X0 + 1.5 * D, Y0, D / 2, D), actor=OP)  # fmt: skip
        s.execute(text(
            "INSERT INTO household (code, address, kind, geom) VALUES "
            f"('HW', '西', '常住户', ST_SetSRID(ST_Point({WEST_LON}, {LAT}), 4326)), "
            f"('HE', '东', '常住户', ST_SetSRID(ST_Point({EAST_LON}, {LAT}), 4326))"))  # fmt: skip
        for code, home in (("PW", "HW"), ("PE", "HE")):
            create_record(s, "persons", {"code": code, "household_code": home, "name": f"居民{code}",
                                         "is_party_member": True, "member_type": "在职"}, OP)  # fmt: skip
        create_record(s, "buildings", {"code": "BE", "name": "东楼", "lon": EAST_LON, "lat": LAT + 0.2 * D}, OP)
        # Party (gridgov.party.orgs, units, contacts): PW and PE (above) are members; PE is in branch OE (on
        # …002001) and its 书记, and links household HE; unit UE stands in community …002.
        s.execute(text("INSERT INTO party_org (code, name, kind, form, grid_ids) SELECT 'OE', '东支部', '党支部', "
                       "'网格党支部', ARRAY[id] FROM grid WHERE code = :g AND valid_to IS NULL"), {"g": EAST_GRID})
        s.execute(text("INSERT INTO party_membership (person_id, org_id, since) SELECT p.id, o.id, DATE '2025-01-01' "
                       "FROM person p, party_org o WHERE p.code = 'PE' AND p.valid_to IS NULL AND o.code = 'OE'"))
        s.execute(text("INSERT INTO party_org_post (org_id, post, person_id) SELECT o.id, '书记', p.id FROM person p, "
                       "party_org o WHERE p.code = 'PE' AND p.valid_to IS NULL AND o.code = 'OE'"))
        s.execute(text("INSERT INTO party_contact (person_id, household_id) SELECT p.id, h.id "
                       "FROM person p, household h "
                       "WHERE p.code = 'PE' AND p.valid_to IS NULL AND h.code = 'HE' AND h.valid_to IS NULL"))
        s.execute(text("INSERT INTO resident_unit (code, name, kind, geom) VALUES "
                       f"('UE', '东单位', '学校', ST_SetSRID(ST_Point({EAST_LON}, {LAT}), 4326))"))
        tokens["admin_id"] = {"id": str(create_token(s, OP, "待吊销", "viewer")[1].id)}
        east_case = incident_cases.report(s, OP, incident_cases.NewCase(EAST_LON, LAT, "市容环境", "东边的事件"),
                                          incident_cases.Rules(load_calendar(s, "Asia/Shanghai")))  # fmt: skip
        tokens["east_case"] = {"code": s.scalar(text("SELECT code FROM incident WHERE id = :i"), {"i": east_case})}
        # Party activity (gridgov.party.volunteers, meetings, duty_areas): in community …002 a branch PO-E on
        # …002001 with a meeting, a volunteer team VT-E with resident PE, and a 责任区 DA-E over …002001.
        s.execute(text("INSERT INTO party_org (code, name, kind, form, grid_ids) SELECT 'PO-E', '东支部', '党支部', "
                       "'楼院党支部', ARRAY[id] FROM grid WHERE code = :g AND valid_to IS NULL"), {"g": EAST_GRID})
        s.execute(text("INSERT INTO volunteer_team (code, name, kind, grid_id) SELECT 'VT-E', '东志愿队', '其他', id "
                       "FROM grid WHERE code = :g AND valid_to IS NULL"), {"g": OTHER})
        s.execute(text("INSERT INTO volunteer_team_member (team_id, person_id) SELECT t.id, p.id "
                       "FROM volunteer_team t, person p "
                       "WHERE t.code = 'VT-E' AND p.code = 'PE' AND p.valid_to IS NULL"))
        s.execute(text("INSERT INTO party_duty_area (code, name, duty, geom) SELECT 'DA-E', '东责任区', '环境维护', "
                       "ST_Multi(geom) FROM grid WHERE code = :g AND valid_to IS NULL"), {"g": EAST_GRID})
        meeting = s.execute(text("INSERT INTO party_meeting (org_id, kind, held_on) "
                                 "SELECT id, '党课', DATE '2026-10-01' FROM party_org WHERE code = 'PO-E' "
                                 "RETURNING id")).scalar_one()
        tokens["east_meeting"] = {"id": str(meeting)}
    return tokens


def fingerprint(engine: Engine) -> dict[str, Any]:
    """Everything a write could change, summed up."""
    with engine.connect() as conn:
        return dict(conn.execute(text(
            """SELECT (SELECT count(*) FROM grid) AS grid_rows,
                      (SELECT string_agg(code || ':' || version || ':' || coalesce(parent_id, 0), ',' ORDER BY code)
                         FROM grid WHERE valid_to IS NULL) AS live,
                      (SELECT count(*) FROM household) AS households, (SELECT count(*) FROM person) AS persons,
                      (SELECT count(*) FROM building) AS buildings, (SELECT count(*) FROM incident) AS incidents,
                      (SELECT string_agg(code || ':' || status || ':' || level || ':' || version, ',' ORDER BY id)
                         FROM incident) AS incident_states,
                      (SELECT count(*) FROM incident_event) AS incident_steps,
                      (SELECT string_agg(day || kind || coalesce(name, ''), ',' ORDER BY day) FROM work_calendar)
                         AS calendar,
                      (SELECT string_agg(category || step || urgency || working_days, ',' ORDER BY 1)
                         FROM incident_time_limit) AS limits,
                      (SELECT string_agg(category || staff_role, ',' ORDER BY 1) FROM incident_dispatch_rule) AS rules,
                      (SELECT string_agg(username || ':' || coalesce(staff_id, 0), ',' ORDER BY username)
                         FROM app_user) AS user_staff,
                      (SELECT count(*) FROM staff) AS staff, (SELECT count(*) FROM grid_role) AS roles,
                      (SELECT count(*) FROM patrol_track) AS tracks,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM patrol_team) AS teams,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM patrol_area) AS areas,
                      (SELECT count(*) FROM patrol_team_member) AS members,
                      (SELECT count(*) FROM patrol_roster) AS rosters,
                      (SELECT count(*) FROM roster_change) AS roster_changes,
                      (SELECT count(*) FROM api_token WHERE revoked_at IS NULL) AS tokens,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM volunteer_team)
                         AS volunteer_teams,
                      (SELECT count(*) FROM volunteer_team_member) AS volunteer_members,
                      (SELECT count(*) FROM volunteer_activity) AS volunteer_activities,
                      (SELECT string_agg(id || ':' || coalesce(cancel_reason, '') || ':' || coalesce(minutes_name, ''),
                                         ',' ORDER BY id) FROM party_meeting) AS meetings,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM party_duty_area) AS duty_areas,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM party_org) AS party_orgs,
                      (SELECT string_agg(code || ':' || version, ',' ORDER BY id) FROM resident_unit) AS units,
                      (SELECT count(*) || ':' || count(until) FROM party_membership) AS memberships,
                      (SELECT count(*) || ':' || count(until) FROM party_org_post) AS posts,
                      (SELECT count(*) FROM party_register) AS registers,
                      (SELECT count(*) FROM party_contact) AS contacts,
                      (SELECT count(*) FROM party_contact_visit) AS visits,
                      (SELECT count(*) FROM vocab_term WHERE retired_at IS NULL) AS terms,
                      (SELECT sum(cardinality(synonyms)) FROM vocab_term) AS synonyms"""
        )).mappings().one())  # fmt: skip


def gpx_file(lon: float) -> bytes:
    """One 上半夜 track of 20 points heading east from ``lon``."""
    g = gpxpy.gpx.GPX()
    trk, seg = gpxpy.gpx.GPXTrack(name="2026-10-01 上半夜"), gpxpy.gpx.GPXTrackSegment()
    start = dt.datetime(2026, 10, 1, 12, 30, tzinfo=dt.UTC)
    seg.points = [gpxpy.gpx.GPXTrackPoint(LAT, lon + i * 0.0001, time=start + dt.timedelta(seconds=15 * i))
                  for i in range(20)]  # fmt: skip
    trk.segments.append(seg)
    g.tracks.append(trk)
    return g.to_xml().encode()


def grid_file(*features: tuple[str, str, str, str | None, Any]) -> bytes:
    """A GeoJSON grid file of (code, name, level, parent_code, geometry) features."""
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": c, "name": n, "level": lv, "parent_code": p}, "geometry": g}
        for c, n, lv, p, g in features]}, ensure_ascii=False).encode()  # fmt: skip


OVER_THE_BORDER = square(X0 + 0.5 * D, Y0, 0.75 * D, D)  # …001002 stretched 0.25 D into community …002
WEST_SQUARE = mapping(box(X0 + 0.1 * D, Y0 + 0.1 * D, X0 + 0.4 * D, Y0 + 0.4 * D))  # inside …001
EAST_TRIANGLE = {"type": "Polygon", "coordinates": [[[X0 + 1.1 * D, Y0 + 0.1 * D], [X0 + 1.3 * D, Y0 + 0.1 * D],
                                                     [X0 + 1.3 * D, Y0 + 0.3 * D], [X0 + 1.1 * D, Y0 + 0.1 * D]]]}
EAST_LINE = {"type": "LineString", "coordinates": [[X0 + 1.2 * D, Y0 + 0.2 * D], [X0 + 1.3 * D, Y0 + 0.3 * D]]}
ACROSS_LINE = {"type": "LineString", "coordinates": [[X0 + 0.5 * D, Y0 + 0.5 * D], [X0 + 1.5 * D, Y0 + 0.5 * D]]}
Request = Callable[[TestClient, dict[str, str], dict[str, dict[str, str]]], Any]


def _post_file(path: str, name: str, body: bytes, data: dict[str, str] | None = None) -> Request:
    return lambda c, h, t: c.post(path, files={"file": (name, body)}, data=data or {}, headers=h)


# Every write route, with requests that are out of the …001 editor's scope. A new write route must be added
# here (test_every_write_route_is_listed fails otherwise), so it cannot ship without a scope test.
ORGS_FILE = f"code,name,kind,form,grid_codes\nO9,支部,党支部,网格党支部,{EAST_GRID}\n".encode()
OUT_OF_SCOPE: dict[tuple[str, str], dict[str, Request]] = {
    # Party organisations, members, registers, 联系户 and units (gridgov.party.orgs, units, registers, contacts).
    ("POST", "/api/party/orgs"): {
        "an organisation on another community's grid": lambda c, h, t: c.post("/api/party/orgs", headers=h, json={
            "code": "O9", "name": "新支部", "kind": "党支部", "form": "网格党支部", "grids": [EAST_GRID]}),
        "a branch under another community's organisation": lambda c, h, t: c.post("/api/party/orgs", headers=h,
            json={"code": "O9", "name": "新支部", "kind": "党支部", "form": "网格党支部", "parent": "OE"}),
    },
    ("PATCH", "/api/party/orgs/{code}"): {
        "another community's organisation": lambda c, h, t: c.patch("/api/party/orgs/OE", headers={**h, **V1},
                                                                    json={"name": "改"}),
    },
    ("DELETE", "/api/party/orgs/{code}"): {
        "another community's organisation": lambda c, h, t: c.delete("/api/party/orgs/OE?reason=合并",
                                                                     headers={**h, **V1}),
    },
    ("POST", "/api/party/orgs/{code}/members"): {
        "own member into another community's organisation": lambda c, h, t: c.post(
            "/api/party/orgs/OE/members", headers=h, json={"person": "PW"}),
    },
    ("POST", "/api/party/orgs/{code}/posts"): {
        "a post of another community's organisation": lambda c, h, t: c.post(
            "/api/party/orgs/OE/posts", headers=h, json={"post": "委员", "holder": "PW"}),
    },
    ("POST", "/api/party/orgs/{code}/posts/{post_id}/end"): {
        "a post of another community's organisation": lambda c, h, t: c.post(
            "/api/party/orgs/OE/posts/1/end", headers=h, json={"reason": "换届"}),
    },
    ("POST", "/api/party/members/{code}/leave"): {
        "another community's member": lambda c, h, t: c.post("/api/party/members/PE/leave", headers=h,
                                                             json={"reason": "转出"}),
    },
    ("PATCH", "/api/party/members/{code}/register"): {
        "another community's member": lambda c, h, t: c.patch("/api/party/members/PE/register", headers=h,
                                                              json={"employer": "某单位"}),
    },
    ("POST", "/api/party/contacts"): {
        "own member linking another community's household": lambda c, h, t: c.post(
            "/api/party/contacts", headers=h, json={"person": "PW", "household": "HE"}),
    },
    ("DELETE", "/api/party/contacts/{person}/{household}"): {
        "another community's link": lambda c, h, t: c.delete("/api/party/contacts/PE/HE", headers=h),
    },
    ("POST", "/api/party/contacts/{person}/{household}/visits"): {
        "another community's link": lambda c, h, t: c.post("/api/party/contacts/PE/HE/visits", headers=h,
                                                           json={"note": "走访"}),
    },
    ("POST", "/api/party/units"): {
        "a unit in another community": lambda c, h, t: c.post("/api/party/units", headers=h, json={
            "code": "U9", "name": "单位", "kind": "学校", "lon": EAST_LON, "lat": LAT}),
    },
    ("PATCH", "/api/party/units/{code}"): {
        "another community's unit": lambda c, h, t: c.patch("/api/party/units/UE", headers={**h, **V1},
                                                            json={"name": "改"}),
    },
    ("DELETE", "/api/party/units/{code}"): {
        "another community's unit": lambda c, h, t: c.delete("/api/party/units/UE?reason=搬迁", headers={**h, **V1}),
    },
    ("POST", "/api/party/units/{code}/join"): {
        "another community's unit": lambda c, h, t: c.post("/api/party/units/UE/join", headers=h, json={"org": None}),
    },
    ("POST", "/api/party/import/{kind}"): {
        "organisations on another community's grid": _post_file(
            "/api/party/import/orgs", "o.csv", ORGS_FILE),
        "own member linking another community's household": _post_file(
            "/api/party/import/contacts", "c.csv", b"person_code,household_code\nPW,HE\n"),
        "another community's member moved": _post_file(
            "/api/party/import/members", "m.csv", b"person_code,org_code\nPE,OE\nPW,OE\n"),
    },
    ("POST", "/party/orgs/new"): {
        "an organisation on another community's grid": lambda c, h, t: c.post("/party/orgs/new", headers=h, data={
            "code": "O9", "name": "新支部", "kind": "党支部", "form": "网格党支部", "grids": EAST_GRID}),
    },
    ("POST", "/party/orgs/{code}/edit"): {
        "another community's organisation": lambda c, h, t: c.post("/party/orgs/OE/edit", headers=h,
                                                                   data={"version": "1", "name": "改"}),
    },
    ("POST", "/party/orgs/{code}/dissolve"): {
        "another community's organisation": lambda c, h, t: c.post("/party/orgs/OE/dissolve", headers=h,
                                                                   data={"version": "1", "reason": "合并"}),
    },
    ("POST", "/party/orgs/{code}/members"): {
        "own member into another community's organisation": lambda c, h, t: c.post(
            "/party/orgs/OE/members", headers=h, data={"person": "PW"}),
    },
    ("POST", "/party/orgs/{code}/members/{person}/leave"): {
        "another community's member": lambda c, h, t: c.post("/party/orgs/OE/members/PE/leave", headers=h,
                                                             data={"reason": "转出"}),
    },
    ("POST", "/party/orgs/{code}/posts"): {
        "a post of another community's organisation": lambda c, h, t: c.post(
            "/party/orgs/OE/posts", headers=h, data={"post": "委员", "person": "PW"}),
    },
    ("POST", "/party/orgs/{code}/posts/{post_id}/end"): {
        "a post of another community's organisation": lambda c, h, t: c.post(
            "/party/orgs/OE/posts/1/end", headers=h, data={"reason": "换届"}),
    },
    ("POST", "/party/members/{code}/join"): {
        "own member into another community's organisation": lambda c, h, t: c.post(
            "/party/members/PW/join", headers=h, data={"org": "OE"}),
    },
    ("POST", "/party/members/{code}/leave"): {
        "another community's member": lambda c, h, t: c.post("/party/members/PE/leave", headers=h,
                                                             data={"reason": "转出"}),
    },
    ("POST", "/party/members/{code}/register"): {
        "another community's member": lambda c, h, t: c.post("/party/members/PE/register", headers=h,
                                                             data={"employer": "某单位"}),
    },
    ("POST", "/party/members/{code}/contacts"): {
        "own member linking another community's household": lambda c, h, t: c.post(
            "/party/members/PW/contacts", headers=h, data={"household": "HE"}),
    },
    ("POST", "/party/members/{code}/contacts/{household}/unlink"): {
        "another community's link": lambda c, h, t: c.post("/party/members/PE/contacts/HE/unlink", headers=h),
    },
    ("POST", "/party/members/{code}/contacts/{household}/visit"): {
        "another community's link": lambda c, h, t: c.post("/party/members/PE/contacts/HE/visit", headers=h,
                                                           data={"note": "走访"}),
    },
    ("POST", "/party/units"): {
        "a unit in another community": lambda c, h, t: c.post("/party/units", headers=h, data={
            "code": "U9", "name": "单位", "kind": "学校", "lon": str(EAST_LON), "lat": str(LAT)}),
    },
    ("POST", "/party/units/{code}/edit"): {
        "another community's unit": lambda c, h, t: c.post("/party/units/UE/edit", headers=h,
                                                           data={"version": "1", "name": "改"}),
    },
    ("POST", "/party/units/{code}/retire"): {
        "another community's unit": lambda c, h, t: c.post("/party/units/UE/retire", headers=h,
                                                           data={"version": "1", "reason": "搬迁"}),
    },
    ("POST", "/party/units/{code}/join"): {
        "another community's unit": lambda c, h, t: c.post("/party/units/UE/join", headers=h, data={}),
    },
    ("POST", "/party/import"): {
        "organisations on another community's grid": _post_file(
            "/party/import", "o.csv", ORGS_FILE, {"kind": "orgs"}),
    },
    ("POST", "/api/grids"): {
        "parent in another community": lambda c, h, t: c.post("/api/grids", headers=h, json={
            "name": "新网格", "level": "compound", "parent_code": OTHER, "geometry": square(X0 + 1.1 * D, Y0)}),
        "own parent, area over the border": lambda c, h, t: c.post("/api/grids", headers=h, json={
            "name": "新网格", "level": "compound", "parent_code": OWN, "geometry": OVER_THE_BORDER}),
        "a street": lambda c, h, t: c.post("/api/grids", headers=h, json={
            "code": "610103007", "name": "新街道", "level": "street", "geometry": square(X0 + 3 * D, Y0)}),
    },
    ("PATCH", "/api/grids/{code}"): {
        "another community's grid": lambda c, h, t: c.patch("/api/grids/610103006002001", headers=h,
                                                             json={"version": 2, "name": "改名"}),
        "own grid moved over the border": lambda c, h, t: c.patch("/api/grids/610103006001002", headers=h,
                                                                   json={"version": 1, "geometry": OVER_THE_BORDER}),
    },
    ("DELETE", "/api/grids/{code}"): {
        "another community's grid": lambda c, h, t: c.delete("/api/grids/610103006002002?version=1", headers=h),
    },
    ("POST", "/api/grids/import"): {
        "another community's grid": _post_file("/api/grids/import", "g.geojson", grid_file(
            ("610103006002001", "改名", "compound", OTHER, square(X0 + D, Y0, D / 2, D)))),
        "re-parent a foreign grid under its own": _post_file("/api/grids/import", "g.geojson", grid_file(
            ("610103006002001", "第一网格", "compound", OWN, square(X0 + D, Y0, D / 2, D)))),
        "own grid moved over the border": _post_file("/api/grids/import", "g.geojson", grid_file(
            ("610103006001002", "第二网格", "compound", OWN, OVER_THE_BORDER))),
    },
    ("POST", "/api/grids/batch"): {
        "another community's grid among its own": lambda c, h, t: c.post("/api/grids/batch", headers=h, json={
            "update": [{"code": "610103006001001", "version": 1, "name": "改名"},
                       {"code": "610103006002001", "version": 2, "name": "改名"}]}),
        "own grid moved over the border": lambda c, h, t: c.post("/api/grids/batch", headers=h, json={
            "update": [{"code": "610103006001002", "version": 1, "geometry": OVER_THE_BORDER}],
            "accept_findings": True}),
        "a new grid under another community": lambda c, h, t: c.post("/api/grids/batch", headers=h, json={
            "create": [{"key": "k", "name": "新网格", "level": "compound", "parent_code": OTHER,
                        "geometry": square(X0 + 1.1 * D, Y0, D / 4, D / 4)}], "accept_findings": True}),
        "retire a foreign grid into another foreign one": lambda c, h, t: c.post("/api/grids/batch", headers=h, json={
            "retire": [{"code": "610103006002002", "version": 1, "give_to": "610103006002001"}]}),
        "even as a preview": lambda c, h, t: c.post("/api/grids/batch", headers=h, json={
            "retire": [{"code": "610103006002002", "version": 1}], "dry_run": True}),
    },
    # Patrol teams and areas (gridgov.patrol.teams): the team's community (else its areas), the area's geometry,
    # its route and its rota communities are touched.
    ("POST", "/api/patrol/teams"): {
        "a team serving another community": lambda c, h, t: c.post("/api/patrol/teams", headers=h, json={
            "code": "T9", "name": "新队", "grid": OTHER}),
    },
    ("PATCH", "/api/patrol/teams/{code}"): {
        "another community's team (where its area is)": lambda c, h, t: c.patch(
            "/api/patrol/teams/TE", headers={**h, **V1}, json={"name": "改"}),
        "own team moved to another community": lambda c, h, t: c.patch(
            "/api/patrol/teams/TW", headers={**h, **V1}, json={"grid": OTHER}),
    },
    ("DELETE", "/api/patrol/teams/{code}"): {
        "another community's team": lambda c, h, t: c.delete("/api/patrol/teams/TE?reason=合并", headers={**h, **V1}),
    },
    ("POST", "/api/patrol/teams/{code}/members"): {
        "a member for another community's team": lambda c, h, t: c.post(
            "/api/patrol/teams/TE/members", headers=h, json={"staff_code": "SE"}),
    },
    ("POST", "/api/patrol/teams/{code}/members/{staff_code}/end"): {
        "a member of another community's team": lambda c, h, t: c.post(
            "/api/patrol/teams/TE/members/SE/end", headers=h, json={"reason": "离队"}),
    },
    ("POST", "/api/patrol/areas"): {
        "an area over the border": lambda c, h, t: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": OVER_THE_BORDER}),
        "own area for another community's team": lambda c, h, t: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": WEST_SQUARE, "team": "TE"}),
        "own area led in turn by another community": lambda c, h, t: c.post("/api/patrol/areas", headers=h, json={
            "code": "A9", "name": "新区", "geometry": WEST_SQUARE, "rota": [OWN, OTHER]}),
    },
    ("PATCH", "/api/patrol/areas/{code}"): {
        "another community's area": lambda c, h, t: c.patch("/api/patrol/areas/A-2", headers={**h, **V1},
                                                            json={"name": "改"}),
        "own area stretched over the border": lambda c, h, t: c.patch("/api/patrol/areas/A-1", headers={**h, **V1},
                                                                      json={"geometry": OVER_THE_BORDER}),
    },
    ("DELETE", "/api/patrol/areas/{code}"): {
        "another community's area": lambda c, h, t: c.delete("/api/patrol/areas/A-2?reason=调整", headers={**h, **V1}),
    },
    ("PUT", "/api/patrol/areas/{code}/route"): {
        "a route on another community's area": lambda c, h, t: c.put("/api/patrol/areas/A-2/route", headers=h,
                                                                     json={"geometry": EAST_LINE}),
        "own area's route into another community": lambda c, h, t: c.put("/api/patrol/areas/A-1/route", headers=h,
                                                                          json={"geometry": ACROSS_LINE}),
    },
    ("DELETE", "/api/patrol/areas/{code}/route"): {
        "another community's area": lambda c, h, t: c.delete("/api/patrol/areas/A-2/route", headers=h),
    },
    ("POST", "/patrol/teams"): {
        "a team serving another community": lambda c, h, t: c.post("/patrol/teams", headers=h, data={
            "code": "T9", "name": "新队", "grid": OTHER}),
    },
    ("POST", "/patrol/teams/{code}/edit"): {
        "another community's team": lambda c, h, t: c.post("/patrol/teams/TE/edit", headers=h,
                                                           data={"version": "1", "name": "改"}),
    },
    ("POST", "/patrol/teams/{code}/retire"): {
        "another community's team": lambda c, h, t: c.post("/patrol/teams/TE/retire", headers=h,
                                                           data={"version": "1", "reason": "合并"}),
    },
    ("POST", "/patrol/teams/{code}/members"): {
        "a member for another community's team": lambda c, h, t: c.post("/patrol/teams/TE/members", headers=h,
                                                                        data={"staff_code": "SE"}),
    },
    ("POST", "/patrol/teams/{code}/members/{staff_code}/end"): {
        "a member of another community's team": lambda c, h, t: c.post("/patrol/teams/TE/members/SE/end",
                                                                       headers=h, data={"reason": "离队"}),
    },
    ("POST", "/patrol/areas/new"): {
        "an area in another community": lambda c, h, t: c.post("/patrol/areas/new", headers=h, data={
            "code": "A9", "name": "新区", "geojson": json.dumps(EAST_TRIANGLE)}),
    },
    ("POST", "/patrol/areas/{code}/edit"): {
        "another community's area": lambda c, h, t: c.post("/patrol/areas/A-2/edit", headers=h,
                                                           data={"version": "1", "name": "改"}),
    },
    ("POST", "/patrol/areas/{code}/route"): {
        "own area's route into another community": lambda c, h, t: c.post("/patrol/areas/A-1/route", headers=h,
                                                                           data={"version": "1",
                                                                                 "geojson": json.dumps(ACROSS_LINE)}),
    },
    ("POST", "/patrol/areas/{code}/retire"): {
        "another community's area": lambda c, h, t: c.post("/patrol/areas/A-2/retire", headers=h,
                                                           data={"version": "1", "reason": "调整"}),
    },
    # Patrol rosters (gridgov.patrol.rosters): the team's community and the lead community are touched.
    # Party activity (gridgov.party.volunteers, meetings, duty_areas): the team's grid, the organisation's grids,
    # the 责任区 polygon.
    ("POST", "/api/party/teams"): {
        "a team on another community's grid": lambda c, h, t: c.post("/api/party/teams", headers=h, json={
            "code": "VT9", "name": "新队", "kind": "其他", "grid": OTHER}),
    },
    ("PATCH", "/api/party/teams/{code}"): {
        "another community's team": lambda c, h, t: c.patch("/api/party/teams/VT-E", headers={**h, **V1},
                                                            json={"name": "改"}),
    },
    ("DELETE", "/api/party/teams/{code}"): {
        "another community's team": lambda c, h, t: c.delete("/api/party/teams/VT-E?reason=合并", headers={**h, **V1}),
    },
    ("POST", "/api/party/teams/{code}/members"): {
        "a member for another community's team": lambda c, h, t: c.post("/api/party/teams/VT-E/members", headers=h,
                                                                        json={"person": "PW"}),
    },
    ("POST", "/api/party/teams/{code}/members/{person}/leave"): {
        "a member of another community's team": lambda c, h, t: c.post("/api/party/teams/VT-E/members/PE/leave",
                                                                       headers=h, json={}),
    },
    ("POST", "/api/party/activities"): {
        "an activity of another community's team": lambda c, h, t: c.post("/api/party/activities", headers=h, json={
            "team": "VT-E", "day": "2026-10-01", "hours": 2, "title": "活动"}),
    },
    ("POST", "/api/party/meetings"): {
        "a meeting of another community's branch": lambda c, h, t: c.post("/api/party/meetings", headers=h, data={
            "org": "PO-E", "kind": "党课", "held_on": "2026-10-01"}),
    },
    ("POST", "/api/party/meetings/{meeting_id}/cancel"): {
        "another community's meeting": lambda c, h, t: c.post(f"/api/party/meetings/{t['east_meeting']['id']}/cancel",
                                                              headers=h, json={"reason": "录入错误"}),
    },
    ("PUT", "/api/party/meetings/{meeting_id}/minutes"): {
        "minutes of another community's meeting": lambda c, h, t: c.put(
            f"/api/party/meetings/{t['east_meeting']['id']}/minutes", headers=h,
            files={"minutes": ("纪要.pdf", b"%PDF-1.4\n%%EOF\n")}),
    },
    ("POST", "/api/party/duty-areas"): {
        "an area in another community": lambda c, h, t: c.post("/api/party/duty-areas", headers=h, json={
            "code": "DA9", "name": "新", "duty": "其他", "geometry": EAST_TRIANGLE}),
        "an area over the border": lambda c, h, t: c.post("/api/party/duty-areas", headers=h, json={
            "code": "DA9", "name": "新", "duty": "其他", "geometry": OVER_THE_BORDER}),
    },
    ("PATCH", "/api/party/duty-areas/{code}"): {
        "another community's area": lambda c, h, t: c.patch("/api/party/duty-areas/DA-E", headers={**h, **V1},
                                                            json={"name": "改"}),
    },
    ("DELETE", "/api/party/duty-areas/{code}"): {
        "another community's area": lambda c, h, t: c.delete("/api/party/duty-areas/DA-E?reason=调整",
                                                             headers={**h, **V1}),
    },
    ("POST", "/party/teams"): {
        "a team on another community's grid": lambda c, h, t: c.post("/party/teams", headers=h, data={
            "code": "VT9", "name": "新队", "kind": "其他", "grid": OTHER}),
    },
    ("POST", "/party/teams/{code}/edit"): {
        "another community's team": lambda c, h, t: c.post("/party/teams/VT-E/edit", headers=h,
                                                           data={"version": "1", "name": "改", "kind": "其他"}),
    },
    ("POST", "/party/teams/{code}/retire"): {
        "another community's team": lambda c, h, t: c.post("/party/teams/VT-E/retire", headers=h,
                                                           data={"version": "1", "reason": "合并"}),
    },
    ("POST", "/party/teams/{code}/members"): {
        "a member for another community's team": lambda c, h, t: c.post("/party/teams/VT-E/members", headers=h,
                                                                        data={"person": "PW"}),
    },
    ("POST", "/party/teams/{code}/members/{person}/leave"): {
        "a member of another community's team": lambda c, h, t: c.post("/party/teams/VT-E/members/PE/leave",
                                                                       headers=h, data={"reason": "退出"}),
    },
    ("POST", "/party/teams/{code}/activities"): {
        "an activity of another community's team": lambda c, h, t: c.post("/party/teams/VT-E/activities", headers=h,
            data={"day": "2026-10-01", "hours": "2", "title": "活动"}),
    },
    ("POST", "/party/meetings"): {
        "a meeting of another community's branch": lambda c, h, t: c.post("/party/meetings", headers=h, data={
            "org": "PO-E", "kind": "党课", "held_on": "2026-10-01"}),
    },
    ("POST", "/party/meetings/{meeting_id}/cancel"): {
        "another community's meeting": lambda c, h, t: c.post(f"/party/meetings/{t['east_meeting']['id']}/cancel",
                                                              headers=h, data={"reason": "录入错误"}),
    },
    ("POST", "/party/meetings/{meeting_id}/minutes"): {
        "minutes of another community's meeting": lambda c, h, t: c.post(
            f"/party/meetings/{t['east_meeting']['id']}/minutes", headers=h,
            files={"minutes": ("纪要.pdf", b"%PDF-1.4\n%%EOF\n")}),
    },
    ("POST", "/party/duty-areas"): {
        "an area in another community": lambda c, h, t: c.post("/party/duty-areas", headers=h, data={
            "code": "DA9", "name": "新", "duty": "其他", "geojson": json.dumps(EAST_TRIANGLE)}),
    },
    ("POST", "/party/duty-areas/{code}/edit"): {
        "another community's area": lambda c, h, t: c.post("/party/duty-areas/DA-E/edit", headers=h,
                                                           data={"version": "1", "name": "改", "duty": "其他"}),
    },
    ("POST", "/party/duty-areas/{code}/retire"): {
        "another community's area": lambda c, h, t: c.post("/party/duty-areas/DA-E/retire", headers=h,
                                                           data={"version": "1", "reason": "调整"}),
    },
    ("POST", "/api/patrol/roster/generate"): {
        "another community's teams": lambda c, h, t: c.post("/api/patrol/roster/generate", headers=h, json={
            "month": "2026-10", "grid": OTHER}),
    },
    ("PUT", "/api/patrol/roster/{night}/{shift}/{team}"): {
        "a team patrolling another community": lambda c, h, t: c.put("/api/patrol/roster/2026-10-01/下半夜/TE",
                                                                      headers=h, json={}),
    },
    ("DELETE", "/api/patrol/roster/{night}/{shift}/{team}"): {
        "a team patrolling another community": lambda c, h, t: c.delete("/api/patrol/roster/2026-10-01/下半夜/TE",
                                                                         headers=h),
    },
    ("POST", "/api/patrol/roster/{night}/{shift}/{team}/leave"): {
        "a team patrolling another community": lambda c, h, t: c.post(
            "/api/patrol/roster/2026-10-01/下半夜/TE/leave", headers=h, json={"staff": "SE"}),
    },
    ("POST", "/api/patrol/roster/{night}/{shift}/{team}/substitute"): {
        "a team patrolling another community": lambda c, h, t: c.post(
            "/api/patrol/roster/2026-10-01/下半夜/TE/substitute", headers=h, json={"staff": "SE", "substitute": "SE"}),
    },
    ("POST", "/patrol/roster/generate"): {
        "another community's teams": lambda c, h, t: c.post("/patrol/roster/generate", headers=h, data={
            "month": "2026-10", "grid": OTHER}),
    },
    ("POST", "/patrol/roster/set"): {
        "a team patrolling another community": lambda c, h, t: c.post("/patrol/roster/set", headers=h, data={
            "night": "2026-10-01", "shift": "下半夜", "team": "TE", "adding": "1"}),
    },
    ("POST", "/patrol/roster/remove"): {
        "a team patrolling another community": lambda c, h, t: c.post("/patrol/roster/remove", headers=h, data={
            "night": "2026-10-01", "shift": "下半夜", "team": "TE"}),
    },
    ("POST", "/patrol/roster/leave"): {
        "a team patrolling another community": lambda c, h, t: c.post("/patrol/roster/leave", headers=h, data={
            "night": "2026-10-01", "shift": "下半夜", "team": "TE", "staff": "SE"}),
    },
    ("POST", "/patrol/roster/substitute"): {
        "a team patrolling another community": lambda c, h, t: c.post("/patrol/roster/substitute", headers=h, data={
            "night": "2026-10-01", "shift": "下半夜", "team": "TE", "staff": "SE", "substitute": "SE"}),
    },
    ("POST", "/api/grids/repair"): {
        "merge another community's grids": lambda c, h, t: c.post("/api/grids/repair", headers=h, json={
            "operation": "merge", "code": "610103006001001", "codes": ["610103006002001", "610103006002002"],
            "apply": True}),
        "renumber another community": lambda c, h, t: c.post("/api/grids/repair", headers=h, json={
            "operation": "renumber", "parent": OTHER, "apply": True}),
    },
    ("POST", "/api/tokens"): {
        "not an administrator": lambda c, h, t: c.post("/api/tokens", headers=h,
                                                       json={"name": "x", "role": "community", "scope_code": OWN}),
    },
    ("DELETE", "/api/tokens/{token_id}"): {
        "not an administrator": lambda c, h, t: c.delete(f"/api/tokens/{t['admin_id']['id']}", headers=h),
    },
    ("POST", "/api/import/tracks"): {
        "a team patrolling another community": _post_file("/api/import/tracks", "t.gpx", gpx_file(EAST_LON),
                                                          {"team": "TE"}),
    },
    ("POST", "/api/import/{entity}"): {
        "households in another community": _post_file(
            "/api/import/households", "h.csv", f"code,address,kind,lon,lat\nH9,东,常住户,{EAST_LON},{LAT}\n".encode()),
        "persons into another community's household": _post_file(
            "/api/import/persons", "p.csv", "code,household_code,name,sex,birth_year\nP9,HE,张三,男,1980\n".encode()),
        "staff onto another community's grid": _post_file(
            "/api/import/staff", "s.csv", "staff_code,name,phone,grid_code,role\nS9,李四,13800000000,"
            "610103006002001,网格员\n".encode()),
        "incidents in another community": _post_file(
            "/api/import/incidents", "e.csv", "code,category,reported_at,lon,lat\n"
            f"E9,市容环境,2026-10-01 10:00,{EAST_LON},{LAT}\n".encode()),
        "a building over the border": _post_file("/api/import/buildings", "b.geojson", json.dumps({
            "type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "B9", "name": "楼"},
            "geometry": mapping(box(X0 + 0.9 * D, Y0 + 0.4 * D, X0 + 1.2 * D, Y0 + 0.6 * D))}]}).encode()),
    },
    # Living records (gridgov.records): every write names the grids of the record before and after.
    ("POST", "/api/households"): {
        "a household in another community": lambda c, h, t: c.post("/api/households", headers=h, json={
            "code": "H9", "kind": "常住户", "lon": EAST_LON, "lat": LAT}),
        "in another community's building": lambda c, h, t: c.post("/api/households", headers=h, json={
            "code": "H9", "kind": "常住户", "building_code": "BE"}),
    },
    ("PATCH", "/api/households/{code}"): {
        "another community's household": lambda c, h, t: c.patch("/api/households/HE", headers={**h, **V1},
                                                                  json={"address": "改"}),
        "own household moved into another community": lambda c, h, t: c.patch(
            "/api/households/HW", headers={**h, **V1}, json={"lon": EAST_LON, "lat": LAT}),
    },
    ("DELETE", "/api/households/{code}"): {
        "another community's household": lambda c, h, t: c.delete("/api/households/HE?reason=搬离",
                                                                   headers={**h, **V1}),
    },
    ("POST", "/api/persons"): {
        "into another community's household": lambda c, h, t: c.post("/api/persons", headers=h, json={
            "code": "P9", "household_code": "HE", "name": "张三"}),
    },
    ("PATCH", "/api/persons/{code}"): {
        "another community's resident": lambda c, h, t: c.patch("/api/persons/PE", headers={**h, **V1},
                                                                json={"name": "改"}),
        "own resident moved into another community's household": lambda c, h, t: c.patch(
            "/api/persons/PW", headers={**h, **V1}, json={"household_code": "HE"}),
    },
    ("DELETE", "/api/persons/{code}"): {
        "another community's resident": lambda c, h, t: c.delete("/api/persons/PE?reason=搬离", headers={**h, **V1}),
    },
    ("POST", "/api/buildings"): {
        "a building in another community": lambda c, h, t: c.post("/api/buildings", headers=h, json={
            "code": "B9", "lon": EAST_LON, "lat": LAT}),
        "a building over the border": lambda c, h, t: c.post("/api/buildings", headers=h, json={
            "code": "B9", "geometry": mapping(box(X0 + 0.9 * D, Y0 + 0.4 * D, X0 + 1.2 * D, Y0 + 0.6 * D))}),
    },
    ("PATCH", "/api/buildings/{code}"): {
        "another community's building": lambda c, h, t: c.patch("/api/buildings/BE", headers={**h, **V1},
                                                                json={"name": "改"}),
    },
    ("DELETE", "/api/buildings/{code}"): {
        "another community's building": lambda c, h, t: c.delete("/api/buildings/BE?reason=拆迁",
                                                                  headers={**h, **V1}),
    },
    ("PATCH", "/api/staff/{code}"): {
        "staff with a post in another community": lambda c, h, t: c.patch("/api/staff/SE", headers={**h, **V1},
                                                                          json={"phone": "13800000009"}),
    },
    ("DELETE", "/api/staff/{code}"): {
        "staff with a post in another community": lambda c, h, t: c.delete("/api/staff/SE?reason=离职",
                                                                           headers={**h, **V1}),
    },
    ("POST", "/api/grids/{code}/staff"): {
        "a post on another community's grid": lambda c, h, t: c.post(f"/api/grids/{EAST_GRID}/staff", headers=h,
                                                                     json={"role": "网格长", "staff_code": "SE"}),
    },
    ("POST", "/api/grid-roles/{role_id}/end"): {
        "a post on another community's grid": lambda c, h, t: c.post(f"/api/grid-roles/{t['east_post']['id']}/end",
                                                                     headers=h, json={"reason": "调离"}),
    },
    ("POST", "/api/grids/{code}/handover"): {
        "another community's grid": lambda c, h, t: c.post(f"/api/grids/{EAST_GRID}/handover", headers=h, json={
            "role": "网格员", "to_name": "李四", "to_phone": "13800000009"}),
    },
    # Vocabularies: administrators only (the caller is a community editor).
    ("POST", "/api/vocab/{name}/terms"): {
        "a vocabulary term (administrators only)": lambda c, h, t: c.post(
            "/api/vocab/staff_roles/terms", headers=h, json={"term": "网格安全员", "public": True}),
    },
    ("POST", "/api/vocab/{name}/terms/{term:path}/synonyms"): {
        "a synonym (administrators only)": lambda c, h, t: c.post(
            "/api/vocab/staff_roles/terms/网格员/synonyms", headers=h, json={"synonyms": ["网格联络员"]}),
    },
    ("DELETE", "/api/vocab/{name}/terms/{term:path}"): {
        "stopping a term (administrators only)": lambda c, h, t: c.delete(
            "/api/vocab/household_kinds/terms/底商", headers=h),
    },
    ("POST", "/vocab/{name}/terms"): {
        "a vocabulary term (administrators only)": lambda c, h, t: c.post(
            "/vocab/staff_roles/terms", headers=h, data={"term": "网格安全员"}),
    },
    ("POST", "/vocab/{name}/synonyms"): {
        "a synonym (administrators only)": lambda c, h, t: c.post(
            "/vocab/staff_roles/synonyms", headers=h, data={"term": "网格员", "synonyms": "网格联络员"}),
    },
    ("POST", "/vocab/{name}/retire"): {
        "stopping a term (administrators only)": lambda c, h, t: c.post(
            "/vocab/household_kinds/retire", headers=h, data={"term": "底商"}),
    },
    # The records pages' forms (a token skips CSRF; a field a form does not send is left as it is).
    ("POST", "/households/new"): {
        "a household in another community": lambda c, h, t: c.post("/households/new", headers=h, data={
            "code": "H9", "kind": "常住户", "lon": str(EAST_LON), "lat": str(LAT)}),
    },
    ("POST", "/households/{code}/edit"): {
        "another community's household": lambda c, h, t: c.post("/households/HE/edit", headers=h,
                                                                 data={"version": "1", "address": "改"}),
        "own household moved into another community": lambda c, h, t: c.post("/households/HW/edit", headers=h,
            data={"version": "1", "lon": str(EAST_LON), "lat": str(LAT)}),
    },
    ("POST", "/households/{code}/retire"): {
        "another community's household": lambda c, h, t: c.post("/households/HE/retire", headers=h,
                                                                 data={"version": "1", "reason": "搬离"}),
    },
    ("POST", "/households/{code}/persons"): {
        "a resident of another community's household": lambda c, h, t: c.post("/households/HE/persons",
            headers=h, data={"code": "P9", "name": "张三"}),
    },
    ("POST", "/persons/{code}/edit"): {
        "another community's resident": lambda c, h, t: c.post("/persons/PE/edit", headers=h,
                                                                data={"version": "1", "name": "改名"}),
    },
    ("POST", "/persons/{code}/move"): {
        "own resident into another community's household": lambda c, h, t: c.post("/persons/PW/move", headers=h,
            data={"version": "1", "household_code": "HE"}),
        "another community's resident": lambda c, h, t: c.post("/persons/PE/move", headers=h,
                                                                data={"version": "1", "household_code": "HW"}),
    },
    ("POST", "/persons/{code}/retire"): {
        "another community's resident": lambda c, h, t: c.post("/persons/PE/retire", headers=h,
                                                                data={"version": "1", "reason": "死亡"}),
    },
    ("POST", "/grids/{code}/staff"): {
        "a post on another community's grid": lambda c, h, t: c.post(f"/grids/{EAST_GRID}/staff", headers=h,
            data={"role": "网格员", "name": "某", "phone": "13800000009"}),
    },
    ("POST", "/grids/{code}/staff/handover"): {
        "another community's grid": lambda c, h, t: c.post(f"/grids/{EAST_GRID}/staff/handover", headers=h,
            data={"role": "网格员", "name": "某", "phone": "13800000009"}),
    },
    ("POST", "/grids/{code}/staff/{role_id}/end"): {
        "a post on another community's grid": lambda c, h, t: c.post(
            f"/grids/{EAST_GRID}/staff/{t['east_post']['id']}/end", headers=h, data={"reason": "调离"}),
    },
    ("POST", "/grids/{code}/staff/{role_id}/change"): {
        "a post on another community's grid": lambda c, h, t: c.post(
            f"/grids/{EAST_GRID}/staff/{t['east_post']['id']}/change", headers=h, data={"role": "网格长"}),
    },
    # The workspace's forms (a token skips CSRF: it carries no ambient authority, as a cookie does).
    ("POST", "/ledger/file"): {
        "another community's ledger": lambda c, h, t: c.post("/ledger/file", headers=h, data={"parent": OTHER}),
    },
    ("POST", "/boards/batch"): {
        "another community's boards": lambda c, h, t: c.post("/boards/batch", headers=h, data={"parent": OTHER}),
    },
    ("POST", "/imports/check"): {
        "households in another community": _post_file(
            "/imports/check", "h.csv", f"code,kind,lon,lat\nH9,常住户,{EAST_LON},{LAT}\n".encode(),
            {"entity": "households"}),
    },
    ("POST", "/users"): {
        "a user (administrators only)": lambda c, h, t: c.post("/users", headers=h, data={
            "username": "someone", "role": "community", "scope": OWN, "password": "Someone2026x"}),
    },
    **{("POST", f"/users/{{username}}/{verb}"): {
        "another user (administrators only)": lambda c, h, t, verb=verb: c.post(
            f"/users/nobody/{verb}", headers=h, data={"role": "viewer", "password": "Someone2026x"}),
    } for verb in ("role", "password", "disable", "enable", "staff")},
    # Incidents: a report in, or a step on a case of, another community; settings are administrators'.
    ("POST", "/api/incidents"): {
        "a report in another community": lambda c, h, t: c.post("/api/incidents", headers=h, data={
            "lon": str(EAST_LON), "lat": str(LAT), "category": "市容环境", "description": "东边"}),
    },
    ("POST", "/api/incidents/{id_or_code}/{action}"): {
        f"{action} on another community's case": lambda c, h, t, action=action: c.post(
            f"/api/incidents/{t['east_case']['code']}/{action}", headers=h, data={"note": "越权"})
        for action in ("accept", "reject", "escalate")
    },
    ("POST", "/api/incidents/sweep"): {
        "a sweep (administrators only)": lambda c, h, t: c.post("/api/incidents/sweep", headers=h),
    },
    ("POST", "/incidents/new"): {
        "a report in another community": lambda c, h, t: c.post("/incidents/new", headers=h, data={
            "category": "市容环境", "description": "东边的事件", "lon": str(EAST_LON), "lat": str(LAT)}),
    },
    ("POST", "/incidents/{code}/act"): {
        "a case in another community": lambda c, h, t: c.post(f"/incidents/{t['east_case']['code']}/act", headers=h,
                                                              data={"action": "accept", "version": "1"}),
    },
    ("PUT", "/api/admin/calendar"): {
        "the working-day calendar (administrators only)": lambda c, h, t: c.put(
            "/api/admin/calendar", headers=h, json={"first": "2027-01-01", "kind": "休", "name": "元旦"}),
    },
    ("DELETE", "/api/admin/calendar"): {
        "the working-day calendar (administrators only)": lambda c, h, t: c.delete(
            "/api/admin/calendar?first=2026-10-01", headers=h),
    },
    ("POST", "/api/admin/calendar/import"): {
        "a year's holidays (administrators only)": _post_file(
            "/api/admin/calendar/import", "h.csv", "日期,类型,名称\n2027-01-01,休,元旦\n".encode()),
    },
    ("PUT", "/api/admin/time-limits"): {
        "a time limit (administrators only)": lambda c, h, t: c.put(
            "/api/admin/time-limits", headers=h, json={"step": "处置", "working_days": 9}),
    },
    ("DELETE", "/api/admin/time-limits"): {
        "a time limit (administrators only)": lambda c, h, t: c.delete("/api/admin/time-limits?step=受理", headers=h),
    },
    ("PUT", "/api/admin/dispatch-rules/{category:path}"): {
        "a dispatch rule (administrators only)": lambda c, h, t: c.put(
            "/api/admin/dispatch-rules/治安隐患", headers=h, json={"staff_role": "网格员"}),
    },
    ("DELETE", "/api/admin/dispatch-rules/{category:path}"): {
        "a dispatch rule (administrators only)": lambda c, h, t: c.delete("/api/admin/dispatch-rules/治安隐患",
                                                                          headers=h),
    },
    ("POST", "/admin/calendar/days"): {
        "the working-day calendar (administrators only)": lambda c, h, t: c.post(
            "/admin/calendar/days", headers=h, data={"first": "2027-01-01", "kind": "休", "name": "元旦"}),
    },
    ("POST", "/admin/calendar/clear"): {
        "the working-day calendar (administrators only)": lambda c, h, t: c.post(
            "/admin/calendar/clear", headers=h, data={"first": "2026-10-01"}),
    },
    ("POST", "/admin/calendar/import"): {
        "a year's holidays (administrators only)": _post_file(
            "/admin/calendar/import", "h.csv", "日期,类型,名称\n2027-01-01,休,元旦\n".encode()),
    },
    ("POST", "/admin/incident-rules/limits"): {
        "a time limit (administrators only)": lambda c, h, t: c.post(
            "/admin/incident-rules/limits", headers=h, data={"step": "处置", "working_days": "9"}),
    },
    ("POST", "/admin/incident-rules/limits/remove"): {
        "a time limit (administrators only)": lambda c, h, t: c.post(
            "/admin/incident-rules/limits/remove", headers=h, data={"step": "受理"}),
    },
    ("POST", "/admin/incident-rules/dispatch"): {
        "a dispatch rule (administrators only)": lambda c, h, t: c.post(
            "/admin/incident-rules/dispatch", headers=h, data={"category": "治安隐患", "staff_role": "网格员"}),
    },
}  # fmt: skip
# Write routes that identify their caller their own way, and how they are tested.
OWN_CALLER = {
    ("POST", "/open311/v2/requests.{fmt}"): "Open311 takes the API token as its api_key form field (or Bearer) and "
    "answers errors in Open311's shape; a missing, read-only or out-of-scope key is refused and writes nothing "
    "(tests/api/test_open311.py::test_errors_have_open311_shape_and_write_nothing)",
}
# POST routes that write nothing (checked below: the database is unchanged after them).
READ_ONLY_POSTS = {
    ("POST", "/api/grids/validate"): "drafts are checked, never stored",
    ("POST", "/api/grids/shapes/split"): "computes shapes from the request, reads and writes no table",
    ("POST", "/api/grids/shapes/merge"): "computes shapes from the request, reads and writes no table",
}
# POST routes that touch no grid data, with what guards them instead (a test of each is named).
NOT_GRID_WRITES = {
    ("POST", "/login"): "starts a session; CSRF and the lock after failures (tests/web/test_login.py)",
    ("POST", "/logout"): "ends the caller's own session (tests/web/test_login.py)",
    ("POST", "/account/password"): "the caller's own password, old one required (tests/web/test_login.py)",
    ("POST", "/api/staff"): "a staff member without a post lies in no grid, so any editor may enter one; their posts "
    "are scoped (POST /api/grids/{code}/staff above)",
    ("POST", "/imports/confirm"): "imports only an upload its own user checked, through the scoped import service "
    "(tests/web/test_imports_page.py)",
}


def write_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every API route (through included routers) whose methods include a write."""
    for r in routes:
        if hasattr(r, "original_router"):
            yield from write_routes(r.original_router.routes)
        elif isinstance(r, APIRoute) and r.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            yield r


def dependency_calls(dep: Any) -> Iterator[Any]:
    """Every callable in a route's dependency tree."""
    yield dep.call
    for d in dep.dependencies:
        yield from dependency_calls(d)


def test_every_write_route_is_listed_and_needs_a_caller(client: TestClient) -> None:
    found = {(m, r.path) for r in write_routes(client.app.routes) for m in r.methods - {"HEAD", "OPTIONS"}}  # type: ignore[attr-defined]
    missing = found - set(OUT_OF_SCOPE) - set(READ_ONLY_POSTS) - set(NOT_GRID_WRITES) - set(OWN_CALLER)
    assert not missing, f"write routes without a scope test case in OUT_OF_SCOPE: {sorted(missing)}"
    assert not (set(OUT_OF_SCOPE) - found), "OUT_OF_SCOPE lists routes that no longer exist"
    for r in write_routes(client.app.routes):  # type: ignore[attr-defined]
        if next(iter(r.methods)) == "POST" and (("POST", r.path) in READ_ONLY_POSTS or r.path in ("/login", "/logout")):
            continue
        if ("POST", r.path) in OWN_CALLER:
            continue
        assert get_actor in set(dependency_calls(r.dependant)), f"{r.path} does not identify its caller"


@pytest.mark.parametrize(
    ("route", "case"), [(route, case) for route, cases in OUT_OF_SCOPE.items() for case in cases]
)
def test_out_of_scope_writes_are_403_and_change_nothing(
    client: TestClient, street: dict[str, dict[str, str]], clean_engine: Engine, route: tuple[str, str], case: str
) -> None:
    before = fingerprint(clean_engine)
    send = OUT_OF_SCOPE[route][case]
    anonymous = send(client, {}, street)
    assert anonymous.status_code == 401, anonymous.text
    r = send(client, street["editor1"], street)
    assert r.status_code == 403, r.text
    assert r.json()["detail"].startswith(("超出权限范围", "权限不足")), r.json()
    assert fingerprint(clean_engine) == before


def test_read_only_posts_write_nothing(client: TestClient, street: dict[str, dict[str, str]],
                                       clean_engine: Engine) -> None:  # fmt: skip
    before = fingerprint(clean_engine)
    r = client.post("/api/grids/validate", json={"parent": OTHER, "grids": []}, headers=street["editor1"])
    assert r.status_code == 200 and fingerprint(clean_engine) == before


def test_in_scope_writes_succeed(client: TestClient, street: dict[str, dict[str, str]], clean_engine: Engine) -> None:
    """The same kinds of writes inside community …001 go through (the rule refuses the outside, not everything)."""
    h = street["editor1"]
    before = fingerprint(clean_engine)
    ok = [
        _post_file("/api/import/persons", "p.csv", "code,household_code,name,sex,birth_year\nP1,HW,王五,男,1980\n"
                   .encode())(client, h, street),
        _post_file("/api/import/staff", "s.csv", "staff_code,name,phone,grid_code,role\nS1,赵六,13800000001,"
                   "610103006001001,网格员\n".encode())(client, h, street),
        _post_file("/api/import/tracks", "t.gpx", gpx_file(WEST_LON), {"team": "TW"})(client, h, street),
        client.post("/api/grids/repair", headers=h, json={
            "operation": "merge", "codes": ["610103006001001", "610103006001002"], "apply": True}),
        client.patch("/api/grids/610103006001001", headers=h, json={"version": 2, "name": "合并网格"}),
    ]
    assert [r.status_code for r in ok] == [200] * 5, [r.text for r in ok]
    records = [
        client.patch("/api/households/HW", headers={**h, **V1}, json={"address": "西改"}),
        client.post("/api/persons", headers=h, json={"code": "P2", "household_code": "HW", "name": "钱七"}),
        client.post("/api/grids/610103006001001/handover", headers=h, json={
            "role": "网格员", "to_name": "孙八", "to_phone": "13800000002"}),
    ]  # fmt: skip
    assert [r.status_code for r in records] == [200, 201, 200], [r.text for r in records]
    after = fingerprint(clean_engine)
    # persons: P1 and P2; staff: S1 and 孙八, each with a post; the household's former state is a history row.
    assert {k: after[k] - before[k] for k in ("persons", "staff", "roles", "tracks", "households")} == {
        "persons": 2, "staff": 2, "roles": 2, "tracks": 1, "households": 1}  # fmt: skip
    assert "610103006001002" not in after["live"]


def test_a_parent_change_alone_is_a_change(client: TestClient, street: dict[str, dict[str, str]],
                                           clean_engine: Engine) -> None:  # fmt: skip
    """An import that changes only parent_code moves the grid (an admin moving …002002 under …001)."""
    body = grid_file(("610103006002002", "第二网格", "compound", OWN, square(X0 + 1.5 * D, Y0, D / 2, D)))
    r = client.post("/api/grids/import", files={"file": ("g.geojson", body)}, headers=street["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == ["610103006002002"] and r.json()["unchanged"] == []
    with clean_engine.connect() as conn:
        parent = conn.execute(text(
            "SELECT p.code FROM grid g JOIN grid p ON p.id = g.parent_id WHERE g.code = '610103006002002' "
            "AND g.valid_to IS NULL")).scalar_one()  # fmt: skip
    assert parent == OWN


# CLI commands that write nothing to the database (or only operate the server, which needs the server's shell).
CLI_READ_ONLY = {
    "ledger": "reads (private staff only within the token's scope)", "serve": "starts the server",
    "version": "prints", "db up": "server", "db down": "server", "db status": "server", "db url": "server",
    "db migrate": "server", "grids export": "reads", "grids history": "reads", "grids list": "reads",
    "sample generate": "writes files only", "token list": "reads", "map grid": "reads",
    "map coverage": "reads", "map patrol": "reads", "export board": "reads public data", "user list": "reads",
    **{f"{kind} {verb}": "reads (the service checks the scope)" for kind in ("household", "person", "building", "staff")
       for verb in ("list", "show", "history", "fields")},
    "staff roles": "reads (private posts only within the token's scope)",
    "vocab list": "reads",
    "party check": "reads (personal data rights needed; member codes only within the token's scope)",
    **{f"party {what}": "reads personal data, only in the token's scope (gridgov.party.orgs, members, contacts)"
       for what in ("org list", "org show", "member history", "register unreported", "register flowing",
                    "contact list", "unit list")},
    **{f"party {what}": "reads personal data, only in the token's scope (gridgov.party.volunteers etc.)"
       for what in ("team list", "team show", "activity list", "meeting list", "meeting schedule", "duty-area list",
                    "duty-area check")},
    **{f"patrol {what}": "reads" for what in (
        "team list", "team show", "team history", "team member list", "area list", "area show", "area history",
        "roster list", "roster notice", "roster export", "attendance")},
    "incident show": "reads (the service checks the scope)", "incident list": "reads (the service checks the scope)",
    "incident kpi": "reads (the service checks the scope)",
    "calendar list": "reads", "calendar check": "reads", "incident limit list": "reads",
    "incident dispatch-rule list": "reads",
    "deploy systemd": "writes unit files (and the 0600 environment file) only, no database rows",
    "db run": "server (runs the embedded PostgreSQL in the foreground, for systemd)",
}
# CLI write commands that touch no grid, with why (as NOT_GRID_WRITES for the API).
CLI_NOT_SCOPED = {"staff add": "a staff member without a post lies in no grid; posts are scoped (staff assign)"}


def cli_commands() -> list[str]:
    """Every ``gridgov`` command, as its words."""
    import typer

    from gridgov.cli.main import app

    def walk(c: Any, words: tuple[str, ...]) -> Iterator[str]:
        if hasattr(c, "list_commands"):
            for n in c.list_commands(None):
                yield from walk(c.get_command(None, n), (*words, n))
        else:
            yield " ".join(words)

    return list(walk(typer.main.get_command(app), ()))


def test_cli_acts_with_the_token_it_is_given(
    street: dict[str, dict[str, str]], clean_engine: Engine, tmp_path: Path
) -> None:
    """``GRIDGOV_TOKEN`` makes the CLI act as that token: every write command refuses out-of-scope work in Chinese
    and writes nothing; a new write command without a case here fails the test."""
    url = clean_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    token = street["editor1"]["Authorization"].removeprefix("Bearer ")
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path / "home"), "GRIDGOV_TOKEN": token}
    files = {
        "east.csv": f"code,address,kind,lon,lat\nH9,东,常住户,{EAST_LON},{LAT}\n",
        "west.csv": f"code,address,kind,lon,lat\nH8,西,常住户,{WEST_LON},{LAT}\n",
        "persons.csv": "code,household_code,name,sex,birth_year\nP9,HE,张三,男,1980\n",
        "staff.csv": "staff_code,name,phone,grid_code,role\nS9,李四,13800000000,610103006002001,网格员\n",
        "incidents.csv": f"code,category,reported_at,lon,lat\nE9,市容环境,2026-10-01 10:00,{EAST_LON},{LAT}\n",
        "buildings.csv": f"code,name,lon,lat\nB9,楼,{EAST_LON},{LAT}\n",
        "orgs.csv": ORGS_FILE.decode(),
    }
    files["east_area.geojson"] = json.dumps(EAST_TRIANGLE)
    files["east_route.geojson"] = json.dumps(EAST_LINE)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    grids = tmp_path / "g.geojson"
    grids.write_bytes(grid_file(("610103006002001", "第一网格", "compound", OWN, square(X0 + D, Y0, D / 2, D))))
    track = tmp_path / "t.gpx"
    track.write_bytes(gpx_file(EAST_LON))
    line = f"{X0 + 1.25 * D} {Y0 - 0.001},{X0 + 1.25 * D} {Y0 + D + 0.001}"
    refused = {
        "assign": ["assign"],
        "grids import": ["grids", "import", str(grids)],
        "grids validate": ["grids", "validate", "--parent", OTHER],
        "grids repair clip": ["grids", "repair", "clip", "610103006002001", "--apply"],
        "grids repair snap": ["grids", "repair", "snap", "610103006002001", "--apply"],
        "grids repair fill-gap": ["grids", "repair", "fill-gap", OTHER, "--apply"],
        "grids repair split": ["grids", "repair", "split", "610103006002001", "--line", line, "--apply"],
        "grids repair merge": ["grids", "repair", "merge", "610103006002001", "610103006002002", "--apply"],
        "grids repair renumber": ["grids", "repair", "renumber", OTHER, "--apply"],
        "import households": ["import", "households", str(tmp_path / "east.csv")],
        "import buildings": ["import", "buildings", str(tmp_path / "buildings.csv")],
        "import persons": ["import", "persons", str(tmp_path / "persons.csv")],
        "import incidents": ["import", "incidents", str(tmp_path / "incidents.csv")],
        "import staff": ["import", "staff", str(tmp_path / "staff.csv")],
        "import tracks": ["import", "tracks", str(track), "--team", "TE"],
        "sample load": ["sample", "load", "--dir", str(tmp_path)],
        "sample remove": ["sample", "remove", "--yes"],
        "init": ["init", "--street", "610103006"],
        "backup": ["backup", "-o", str(tmp_path)],
        "restore": ["restore", str(tmp_path / "none.gridgov-backup")],
        "token create": ["token", "create", "--name", "x", "--role", "viewer"],
        "token revoke": ["token", "revoke", street["admin_id"]["id"]],
        "user add": ["user", "add", "someone", "--role", "viewer", "--password-stdin"],
        "user disable": ["user", "disable", "nobody"],
        "user enable": ["user", "enable", "nobody"],
        "user set-password": ["user", "set-password", "nobody", "--password-stdin"],
        "user set-role": ["user", "set-role", "nobody", "--role", "viewer"],
        "household add": ["household", "add", "--set", "code=H9", "--set", "kind=常住户", "--lon", str(EAST_LON),
                          "--lat", str(LAT)],
        "household edit": ["household", "edit", "HE", "--set", "address=改"],
        "household retire": ["household", "retire", "HE", "--reason", "搬离"],
        "person add": ["person", "add", "--set", "code=P9", "--set", "household_code=HE", "--set", "name=张三"],
        "person edit": ["person", "edit", "PW", "--set", "household_code=HE"],
        "person retire": ["person", "retire", "PE", "--reason", "搬离"],
        "building add": ["building", "add", "--set", "code=B9", "--lon", str(EAST_LON), "--lat", str(LAT)],
        "building edit": ["building", "edit", "BE", "--set", "name=改"],
        "building retire": ["building", "retire", "BE", "--reason", "拆迁"],
        "staff edit": ["staff", "edit", "SE", "--set", "phone=13800000009"],
        "staff retire": ["staff", "retire", "SE", "--reason", "离职"],
        "staff assign": ["staff", "assign", EAST_GRID, "--role", "网格长", "--staff", "SE"],
        "staff end": ["staff", "end", street["east_post"]["id"], "--reason", "调离"],
        "staff handover": ["staff", "handover", EAST_GRID, "--role", "网格员", "--to-name", "李四", "--to-phone",
                           "13800000009"],
        "vocab add": ["vocab", "add", "staff_roles", "网格安全员"],
        "vocab synonym": ["vocab", "synonym", "staff_roles", "网格员", "网格联络员"],
        "vocab retire": ["vocab", "retire", "household_kinds", "底商"],
        "party org add": ["party", "org", "add", "O9", "--name", "新支部", "--kind", "党支部", "--form", "网格党支部",
                          "--grids", EAST_GRID],
        "party org edit": ["party", "org", "edit", "OE", "--name", "改"],
        "party org dissolve": ["party", "org", "dissolve", "OE", "--reason", "合并"],
        "party member join": ["party", "member", "join", "PW", "--org", "OE"],
        "party member leave": ["party", "member", "leave", "PE", "--reason", "转出"],
        "party post add": ["party", "post", "add", "OE", "--post", "委员", "--holder", "PW"],
        "party post end": ["party", "post", "end", "OE", "1"],
        "party register set": ["party", "register", "set", "PE", "--employer", "某单位"],
        "party contact link": ["party", "contact", "link", "PW", "HE"],
        "party contact unlink": ["party", "contact", "unlink", "PE", "HE"],
        "party contact visit": ["party", "contact", "visit", "PE", "HE", "--note", "走访"],
        "party unit add": ["party", "unit", "add", "U9", "--name", "单位", "--kind", "学校", "--lon", str(EAST_LON),
                           "--lat", str(LAT)],
        "party unit edit": ["party", "unit", "edit", "UE", "--name", "改"],
        "party unit retire": ["party", "unit", "retire", "UE", "--reason", "搬迁"],
        "party unit join": ["party", "unit", "join", "UE", "--leave"],
        "party import": ["party", "import", "orgs", str(tmp_path / "orgs.csv")],
        "party team add": ["party", "team", "add", "VT9", "--name", "新队", "--kind", "其他", "--grid", OTHER],
        "party team edit": ["party", "team", "edit", "VT-E", "--name", "改"],
        "party team retire": ["party", "team", "retire", "VT-E", "--reason", "合并"],
        "party team join": ["party", "team", "join", "VT-E", "--person", "PW"],
        "party team leave": ["party", "team", "leave", "VT-E", "--person", "PE"],
        "party activity add": ["party", "activity", "add", "VT-E", "--date", "2026-10-01", "--hours", "2", "--title",
                               "活动"],
        "party meeting add": ["party", "meeting", "add", "PO-E", "--kind", "党课", "--date", "2026-10-01"],
        "party meeting cancel": ["party", "meeting", "cancel", street["east_meeting"]["id"], "--reason", "录入错误"],
        "party duty-area add": ["party", "duty-area", "add", "DA9", "--name", "新", "--duty", "其他", "--file",
                                str(tmp_path / "east_area.geojson")],
        "party duty-area edit": ["party", "duty-area", "edit", "DA-E", "--name", "改"],
        "party duty-area retire": ["party", "duty-area", "retire", "DA-E", "--reason", "调整"],
        "patrol team add": ["patrol", "team", "add", "T9", "--name", "新队", "--grid", OTHER],
        "patrol team edit": ["patrol", "team", "edit", "TE", "--name", "改"],
        "patrol team retire": ["patrol", "team", "retire", "TE", "--reason", "合并"],
        "patrol team member add": ["patrol", "team", "member", "add", "TE", "--staff", "SE"],
        "patrol team member end": ["patrol", "team", "member", "end", "TE", "--staff", "SE"],
        "patrol area add": ["patrol", "area", "add", "A9", "--name", "新区", "--file",
                            str(tmp_path / "east_area.geojson")],
        "patrol area edit": ["patrol", "area", "edit", "A-2", "--name", "改"],
        "patrol area retire": ["patrol", "area", "retire", "A-2", "--reason", "调整"],
        "patrol route set": ["patrol", "route", "set", "A-2", "--file", str(tmp_path / "east_route.geojson")],
        "patrol route clear": ["patrol", "route", "clear", "A-2"],
        "patrol roster generate": ["patrol", "roster", "generate", "--month", "2026-10", "--grid", OTHER],
        "patrol roster set": ["patrol", "roster", "set", "--date", "2026-10-01", "--shift", "下半夜", "--team", "TE"],
        "patrol roster remove": ["patrol", "roster", "remove", "--date", "2026-10-01", "--shift", "下半夜",
                                 "--team", "TE"],
        "patrol roster leave": ["patrol", "roster", "leave", "--date", "2026-10-01", "--shift", "下半夜", "--team",
                                "TE", "--staff", "SE"],
        "patrol roster substitute": ["patrol", "roster", "substitute", "--date", "2026-10-01", "--shift", "下半夜",
                                     "--team", "TE", "--staff", "SE", "--by", "SE"],
        "user edit": ["user", "edit", "nobody", "--staff", "SE"],
        "calendar set": ["calendar", "set", "2027-01-01", "--kind", "休", "--name", "元旦"],
        "calendar clear": ["calendar", "clear", "2026-10-01"],
        "calendar import": ["calendar", "import", str(tmp_path / "east.csv")],
        "incident limit set": ["incident", "limit", "set", "--step", "受理", "--days", "9"],
        "incident limit remove": ["incident", "limit", "remove", "--step", "受理"],
        "incident dispatch-rule set": ["incident", "dispatch-rule", "set", "--category", "治安隐患", "--role",
                                       "网格员"],
        "incident dispatch-rule clear": ["incident", "dispatch-rule", "clear", "--category", "治安隐患"],
        "incident report": ["incident", "report", "--lon", str(EAST_LON), "--lat", str(LAT), "--category", "市容环境",
                            "--description", "东边"],
        **{f"incident {action}": ["incident", action, street["east_case"]["code"], "--note", "越权"]
           for action in ACTION_NAMES},
        "incident sweep": ["incident", "sweep"],
    }  # fmt: skip
    commands = cli_commands()
    listed = set(refused) | set(CLI_READ_ONLY) | set(CLI_NOT_SCOPED)
    assert not set(commands) - listed, "CLI commands without a scope case"
    assert not listed - set(commands), "cases for commands that no longer exist"
    before = fingerprint(clean_engine)
    for what, args in refused.items():
        r = run_cli(args, env)
        assert r.returncode == 5 and ("超出权限范围" in r.stderr or "权限不足" in r.stderr), (what, r.stderr)
        assert "Traceback" not in r.stderr
    assert fingerprint(clean_engine) == before
    ok = run_cli(["import", "households", str(tmp_path / "west.csv"), "--json"], env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["assigned"] == 1
