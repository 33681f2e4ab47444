"""The Party API (/api/party/…): organisations with ETag / If-Match versions, posts, memberships, registers, 联系户
with the rule's refusal, resident units and the atomic import; a viewer reads the structure without names and no
personal data. Also: every Party write route and form, out of the …001 editor's scope, answers 403 and changes
nothing (the cases proposed for tests/api/test_scope.py, run here with its test)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token

import tests.api.test_scope as scope
from tests.factories import X0, Y0, D
from tests.party.test_check import _members

street = scope.street  # the scope tests' street (a fixture): households HW / HE, residents PW / PE
OWN, OTHER = "610103006001", "610103006002"
A = "610103006001001"
EAST_GRID, EAST_LON, WEST_LON, LAT = scope.EAST_GRID, X0 + 1.25 * D, X0 + 0.25 * D, Y0 + 0.5 * D
V1 = {"If-Match": '"1"'}
Request = Callable[[TestClient, dict[str, str], dict[str, dict[str, str]]], Any]
ORGS_FILE = f"code,name,kind,form,grid_codes\nO9,支部,党支部,网格党支部,{EAST_GRID}\n".encode()


def _file(path: str, name: str, body: bytes, data: dict[str, str] | None = None) -> Request:
    return lambda c, h, t: c.post(path, files={"file": (name, body)}, data=data or {}, headers=h)


# ------------------------------------------------------------------------------------------------ the flows


@pytest.fixture
def party(tokens: dict[str, dict[str, str]], clean_engine: Engine) -> dict[str, Any]:
    """The factory street with members M-P1…M-P4 (compound …001001) and households X-H1…X-H4 to link, and a viewer
    token; the auth headers."""
    with Session(clean_engine) as s, s.begin():
        _members(s, "A", 4, prefix="M", member_type="在职")
        _members(s, "A", 4, prefix="X")
        viewer = create_token(s, Actor.system(), "只读", "viewer")[0]
    return tokens | {"viewer": {"Authorization": f"Bearer {viewer}"}}


def test_organisations_with_versions(client: TestClient, party: dict[str, Any]) -> None:
    h, v = party["editor1"], party["viewer"]
    made = client.post("/api/party/orgs", headers=h, json={"code": "CP", "name": "一社区党委", "kind": "党委",
                                                            "form": "社区党组织", "grids": [OWN]})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.headers["ETag"] == '"1"' and made.headers["Location"] == "/api/party/orgs/CP"
    branch = client.post("/api/party/orgs", headers=h, json={
        "code": "BA", "name": "第一网格党支部", "kind": "支部", "form": "楼院党支部", "parent": "CP", "grids": [A],
        "secretary": "M-P1", "phone": "029-88886666", "founded_on": "1998-07-01"})  # fmt: skip
    assert branch.status_code == 201 and branch.json()["kind"] == "党支部"
    group = client.post("/api/party/orgs", headers=h, json={"code": "G1", "name": "小组", "kind": "党小组",
                                                             "form": "楼栋党小组", "parent": "CP"})  # fmt: skip
    assert group.status_code == 422 and "党小组的上级组织应为党支部" in group.json()["detail"]
    assert client.patch("/api/party/orgs/BA", headers=h, json={"name": "改"}).status_code == 428
    changed = client.patch("/api/party/orgs/BA", headers={**h, **V1}, json={"name": "一网格党支部"})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = client.patch("/api/party/orgs/BA", headers={**h, **V1}, json={"name": "又改"})
    assert stale.status_code == 412
    for code in ("M-P1", "M-P2", "M-P3"):
        assert client.post("/api/party/orgs/BA/members", headers=h, json={"person": code}).status_code == 201
    post = client.post("/api/party/orgs/BA/posts", headers=h, json={"post": "书记", "holder": "M-P1"})
    assert post.status_code == 201 and post.json()["holder_name"] == "党员M-H1"
    listed = client.get("/api/party/orgs", headers=h).json()
    assert [(o["code"], o["members"], o["members_total"], o["secretary_name"]) for o in listed] == [
        ("BA", 3, 3, "党员M-H1"), ("CP", 0, 3, None)]
    seen = client.get("/api/party/orgs/BA", headers=v).json()
    assert (seen["secretary_name"], seen["secretary_code"], seen["phone"], seen["personal"]) == (None, None, None,
                                                                                                  False)
    assert "党员M-H1" not in json.dumps(client.get("/api/party/orgs/BA/history", headers=v).json(),
                                        ensure_ascii=False)  # fmt: skip
    for url in ("/api/party/orgs/BA/members", "/api/party/orgs/BA/posts", "/api/party/members/M-P1",
                "/api/party/members", "/api/party/contacts/unlinked"):  # fmt: skip
        assert client.get(url, headers=v).status_code == 403, url
    members = client.get("/api/party/orgs/BA/members", headers=h).json()
    assert [m["person_code"] for m in members] == ["M-P1", "M-P2", "M-P3"]
    ended = client.post(f"/api/party/orgs/BA/posts/{post.json()['id']}/end", headers=h, json={"reason": "换届"})
    assert ended.status_code == 200 and ended.json()["in_force"] is False
    refused = client.request("DELETE", "/api/party/orgs/CP", headers={**h, **V1}, json={"reason": "合并"})
    assert refused.status_code == 409 and "下还有 BA" in refused.json()["detail"]
    gone = client.delete("/api/party/orgs/BA?reason=合并", headers={**h, "If-Match": '"2"'})
    assert gone.status_code == 200 and gone.json()["retired"] and gone.headers["ETag"] == '"3"'


def test_members_registers_and_contacts(client: TestClient, party: dict[str, Any]) -> None:
    h = party["editor1"]
    reg = client.patch("/api/party/members/M-P1/register", headers=h, json={
        "employer": "市统计局", "reported_on": "2025-03-01", "shows_identity": True, "joined_party_on": "1985-07-01"})
    assert reg.status_code == 200 and reg.json()["shows_identity"] is True
    assert [r["person_code"] for r in client.get("/api/party/registers/unreported", headers=h).json()] == \
        ["M-P2", "M-P3", "M-P4"]
    for home in ("X-H1", "X-H2", "X-H3"):
        assert client.post("/api/party/contacts", headers=h, json={"person": "M-P1", "household": home}).status_code \
            == 201
    fourth = client.post("/api/party/contacts", headers=h, json={"person": "M-P1", "household": "X-H4"})
    assert fourth.status_code == 409
    assert fourth.json()["detail"].endswith("：每名党员联系 1–3 户")
    visit = client.post("/api/party/contacts/M-P1/X-H1/visits", headers=h, json={"day": "2025-04-01", "note": "走访"})
    assert visit.status_code == 201 and visit.json()["visited_on"] == "2025-04-01"
    assert client.delete("/api/party/contacts/M-P1/X-H3", headers=h).json()["household_code"] == "X-H3"
    profile = client.get("/api/party/members/M-P1", headers=h).json()
    assert [x["household_code"] for x in profile["links"]] == ["X-H1", "X-H2"]
    assert profile["party_register"]["employer"] == "市统计局" and profile["visits"][0]["note"] == "走访"
    unlinked = client.get("/api/party/contacts/unlinked", headers=h).json()
    assert unlinked["total"] == 6 and "X-H3" in [x["code"] for x in unlinked["households"]]
    listing = client.get("/api/party/members?show=unlinked", headers=h).json()
    assert [m["code"] for m in listing["members"]] == ["M-P2", "M-P3", "M-P4", "X-P1", "X-P2", "X-P3", "X-P4"]


def test_units_and_the_import(client: TestClient, party: dict[str, Any], clean_engine: Engine) -> None:
    h, v = party["editor1"], party["viewer"]
    made = client.post("/api/party/units", headers=h, json={"code": "U1", "name": "市一院", "kind": "医院",
                                                             "lon": WEST_LON, "lat": LAT, "contact_name": "王联络"})
    assert made.status_code == 201 and made.json()["grid_code"] == A
    assert client.get("/api/party/units/U1", headers=v).json()["contact_name"] is None
    moved = client.patch("/api/party/units/U1", headers={**h, **V1}, json={"lon": EAST_LON, "lat": LAT})
    assert moved.status_code == 403  # into the other community
    client.post("/api/party/orgs", headers=h, json={"code": "CP", "name": "党委", "kind": "党委",
                                                     "form": "社区党组织", "grids": [OWN]})  # fmt: skip
    joined = client.post("/api/party/units/U1/join", headers=h, json={"org": "CP", "joined_on": "2025-01-01"})
    assert joined.status_code == 200 and joined.json()["member_of_code"] == "CP" and joined.headers["ETag"] == '"2"'
    body = b"person_code,org_code,since\nM-P1,CP,2025-01-01\nM-P2,ZZ,\nM-P2,CP,\n"
    refused = client.post("/api/party/import/members", headers=h, files={"file": ("m.csv", body)})
    assert refused.status_code == 422 and refused.json()["refused"] is True
    assert sorted((e["row"], e["column"]) for e in refused.json()["errors"]) == [
        (3, "org_code"), (3, "person_code"), (4, "person_code")]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM party_membership")).scalar() == 0
    done = client.post("/api/party/import/members", headers=h,
                       files={"file": ("m.csv", b"person_code,org_code\nM-P1,CP\nM-P2,CP\n")})  # fmt: skip
    assert done.status_code == 200 and (done.json()["imported"], done.json()["written"]) == (2, True)


