"""The Party activity API on the factory street: volunteer teams with members and activities, meetings with
minutes (multipart in, the file back only in scope), the schedule, and 党员责任区 as GeoJSON in and out with their
topology check; each checked on the rows in PostGIS and on the answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope

from tests.factories import X0, Y0, D
from tests.party.test_check import _members, _org
from tests.party.test_meetings import PDF

A, C = "610103006001001", "610103006002001"
Headers = dict[str, dict[str, str]]


@pytest.fixture
def party(tokens: Headers, clean_engine: Engine) -> Headers:
    """Branches BA (compound A) and BC (C) on record since 2020, members W-P1..W-P3 in A and E-P1 in C; tokens of
    the admin, the …001 editor, a …002 community user and a viewer."""
    with session_scope(clean_engine) as s:
        _members(s, "A", 3, prefix="W")
        _members(s, "C", 1, prefix="E")
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        _org(s, "BC", "党支部", "楼院党支部", [C], [])
        s.execute(text("UPDATE party_org SET valid_from = DATE '2020-01-01'"))
        s.execute(text("UPDATE grid SET valid_from = DATE '2020-01-01'"))
        east = create_token(s, Actor.system(), "二社区", "community", "610103006002")[0]
        viewer = create_token(s, Actor.system(), "只读", "viewer")[0]
    return tokens | {"editor2": {"Authorization": f"Bearer {east}"}, "viewer": {"Authorization": f"Bearer {viewer}"}}


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_a_team_round_trip(client: TestClient, party: Headers, clean_engine: Engine) -> None:
    h = party["editor1"]
    made = client.post("/api/party/teams", headers=h, json={"code": "ZY1", "name": "环境志愿队", "kind": "环境",
                                                            "grid": A, "org": "BA", "leader": "W-P1",
                                                            "effective": "2026-01-01"})
    assert made.status_code == 201, made.text
    assert made.headers["ETag"] == '"1"' and made.headers["Location"] == "/api/party/teams/ZY1"
    assert (made.json()["kind"], made.json()["leader_name"]) == ("环境维护", "党员W-H1")
    for person, since in (("W-P1", "2026-09-01"), ("W-P2", "2026-09-01"), ("W-P3", "2026-10-15")):
        r = client.post("/api/party/teams/ZY1/members", headers=h, json={"person": person, "since": since})
        assert r.status_code == 201, r.text
    left = client.post("/api/party/teams/ZY1/members/W-P2/leave", headers=h,
                       json={"until": "2026-10-20", "reason": "搬离"})  # fmt: skip
    assert left.status_code == 200 and left.json()["until"] == "2026-10-20"
    for day, hours in (("2026-10-05", 4.5), ("2026-10-25", 2.0), ("2026-11-02", 1.0)):
        r = client.post("/api/party/activities", headers=h, json={"team": "ZY1", "day": day, "hours": hours,
                                                                  "title": "清扫楼道", "participants": 8})
        assert r.status_code == 201, r.text
    stale = client.patch("/api/party/teams/ZY1", headers={**h, "If-Match": '"9"'}, json={"name": "改"})
    assert stale.status_code == 412
    renamed = client.patch("/api/party/teams/ZY1", headers={**h, "If-Match": '"1"'}, json={"name": "楼道志愿队"})
    assert renamed.status_code == 200 and renamed.headers["ETag"] == '"2"'
    october = client.get("/api/party/activities?team=ZY1&month=2026-10", headers=h).json()
    figures = client.get("/api/party/activities/figures?month=2026-10", headers=h).json()
    members = client.get("/api/party/teams/ZY1/members?include_ended=true&on=2026-11-01", headers=h).json()
    listed = client.get("/api/party/teams", headers=h).json()
    assert [a["day"] for a in october] == ["2026-10-25", "2026-10-05"]
    assert [(f["team_code"], f["people"], f["activities"], f["hours"], f["longest"], f["size_ok"], f["activity_ok"])
            for f in figures] == [("ZY1", 2, 2, 6.5, 4.5, False, True)]  # fmt: skip
    assert [(m["person_code"], m["in_force"], m["end_reason"]) for m in members] == \
        [("W-P1", True, None), ("W-P3", True, None), ("W-P2", False, "搬离")]
    assert [(t["code"], t["name"], t["members"]) for t in listed] == [("ZY1", "楼道志愿队", 2)]
    gone = client.delete("/api/party/teams/ZY1?reason=合并", headers={**h, "If-Match": '"2"'})
    assert gone.status_code == 200 and gone.json()["retired"] is True
    assert rows(clean_engine, "SELECT count(*) FROM volunteer_team_member WHERE until IS NULL") == [(0,)]
    assert rows(clean_engine, "SELECT count(*) FROM volunteer_activity") == [(3,)]
    # reading names is logged; other communities and viewers are refused
    assert rows(clean_engine, "SELECT count(*) > 0 FROM audit_log WHERE action = 'view' AND table_name = "
                              "'volunteer_team'") == [(True,)]  # fmt: skip
    assert client.get("/api/party/teams/ZY1", headers=party["editor2"]).status_code == 403
    assert client.get("/api/party/teams", headers=party["viewer"]).status_code == 403
    assert client.get("/api/party/teams").status_code == 401


def test_meetings_with_minutes_cancelled_and_scheduled(client: TestClient, party: Headers,
                                                      clean_engine: Engine) -> None:  # fmt: skip
    h = party["editor1"]
    made = client.post("/api/party/meetings", headers=h, data={"org": "BA", "kind": "支委会", "held_on": "2026-10-30",
                                                               "topic": "学习", "attendees": "3", "expected": "5"},
                       files={"minutes": ("会议纪要.pdf", PDF, "application/pdf")})  # fmt: skip
    assert made.status_code == 201, made.text
    meeting = made.json()
    assert (meeting["kind"], meeting["minutes_name"], meeting["minutes_size"]) == \
        ("支部委员会", "会议纪要.pdf", len(PDF))
    bad = client.post("/api/party/meetings", headers=h, data={"org": "BA", "kind": "党课", "held_on": "2026-10-01"},
                      files={"minutes": ("纪要.pdf", "不是PDF".encode(), "application/pdf")})  # fmt: skip
    assert bad.status_code == 422 and "格式不受支持" in bad.json()["detail"]
    other = client.post("/api/party/meetings", headers=h, data={"org": "BC", "kind": "党课", "held_on": "2026-10-01"})
    assert other.status_code == 403
    got = client.get(f"/api/party/meetings/{meeting['id']}/minutes", headers=h)
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81.pdf" in got.headers["content-disposition"]
    assert client.get(f"/api/party/meetings/{meeting['id']}/minutes", headers=party["editor2"]).status_code == 403
    assert client.get(f"/api/party/meetings/{meeting['id']}/minutes", headers=party["viewer"]).status_code == 403
    wrong = client.post("/api/party/meetings", headers=h, data={"org": "BA", "kind": "支部委员会",
                                                                "held_on": "2026-11-20"}).json()  # fmt: skip
    cancelled = client.post(f"/api/party/meetings/{wrong['id']}/cancel", headers=h, json={"reason": "录入错误"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    assert client.post(f"/api/party/meetings/{wrong['id']}/cancel", headers=h, json={"reason": "再"}).status_code == 409
    replaced = client.put(f"/api/party/meetings/{meeting['id']}/minutes", headers=h,
                          files={"minutes": ("纪要.docx", b"PK\x03\x04 not a zip", "application/octet-stream")})
    assert replaced.status_code == 422
    schedule = client.get("/api/party/meetings/schedule?org=BA&as_of=2026-12-01", headers=h).json()
    due = {r["kind"]: (r["last_held"], r["due_by"], r["overdue"]) for r in schedule}
    assert due["支部委员会"] == ("2026-10-30", "2026-11-30", True)  # the cancelled 11-20 meeting does not count
    listed = client.get("/api/party/meetings?from=2026-10-01&to=2026-11-30", headers=h).json()
    assert [(m["held_on"], m["cancelled"]) for m in listed] == [("2026-11-20", True), ("2026-10-30", False)]
    assert rows(clean_engine, "SELECT count(*), count(*) FILTER (WHERE cancelled_at IS NOT NULL) FROM party_meeting") \
        == [(2, 1)]


def test_duty_areas_geojson_in_and_out_and_their_check(client: TestClient, party: Headers,
                                                       clean_engine: Engine) -> None:  # fmt: skip
    h = party["editor1"]
    south, north = box(X0, Y0, X0 + D / 2, Y0 + 0.6 * D), box(X0, Y0 + 0.5 * D, X0 + D / 2, Y0 + D)
    feature = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                          "geometry": mapping(south)}]}  # fmt: skip
    made = client.post("/api/party/duty-areas", headers=h, json={"code": "Z1", "name": "南区", "duty": "环境维护",
                                                                 "geometry": feature, "org": "BA",
                                                                 "members": ["W-P1", "W-P2"]})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["compounds"] == [A] and made.json()["member_names"] == ["党员W-H1", "党员W-H2"]
    client.post("/api/party/duty-areas", headers=h, json={"code": "Z2", "name": "北区", "duty": "治安",
                                                          "geometry": mapping(north)})  # fmt: skip
    east = box(X0 + 1.1 * D, Y0 + 0.1 * D, X0 + 1.3 * D, Y0 + 0.3 * D)
    refused = client.post("/api/party/duty-areas", headers=h, json={"code": "Z9", "name": "东", "duty": "环境维护",
                                                                    "geometry": mapping(east)})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["detail"].startswith("超出权限范围")
    out = client.get("/api/party/duty-areas/features", headers=h)
    assert out.status_code == 200 and out.headers["content-type"].startswith("application/geo+json")
    collection = json.loads(out.text)
    assert [f["properties"]["code"] for f in collection["features"]] == ["Z1", "Z2"]
    assert shape(collection["features"][0]["geometry"]).hausdorff_distance(south) < 1e-7
    findings = client.get("/api/party/duty-areas/check?parent=610103006001", headers=h).json()
    assert [(f["rule"], f["codes"]) for f in findings] == [("overlap", ["Z1", "Z2", A]),
                                                           ("gap", ["610103006001002"])]
    assert findings[0]["rule_zh"] == "责任区重叠" and findings[0]["geometry"]["type"] == "Polygon"
    changed = client.patch("/api/party/duty-areas/Z2", headers={**h, "If-Match": '"1"'},
                           json={"members": ["W-P3"], "geometry": mapping(box(X0, Y0 + 0.6 * D, X0 + D / 2,
                                                                               Y0 + D))})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert client.get("/api/party/duty-areas/check?parent=" + A, headers=h).json() == []
    foreign = client.patch("/api/party/duty-areas/Z2", headers={**h, "If-Match": '"2"'}, json={"members": ["E-P1"]})
    assert foreign.status_code == 403
    gone = client.delete("/api/party/duty-areas/Z1?reason=调整", headers={**h, "If-Match": '"1"'})
    assert gone.status_code == 200 and gone.json()["retired"] is True
    history = client.get("/api/party/duty-areas/Z2/history", headers=h).json()
    assert [v["version"] for v in history] == [1, 2]
    assert rows(clean_engine, "SELECT code, version, valid_to IS NULL FROM party_duty_area WHERE lineage_id IS NULL "
                              "ORDER BY code") == [("Z1", 2, False), ("Z2", 2, True)]  # fmt: skip
    assert client.get("/api/party/duty-areas/Z2", headers=party["editor2"]).status_code == 403
