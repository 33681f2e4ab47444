"""/api/vocab and /api/meta: an administrator extends a vocabulary over HTTP, /api/meta then serves the street's
terms and synonyms (and its public posts), and every other role may read but not change them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.db.engine import session_scope

SAFETY = "网格安全员"


@pytest.fixture
def api(client: TestClient, tokens: dict[str, dict[str, str]], clean_engine: Engine) -> Iterator[dict[str, Any]]:
    """The client and headers per caller: admin, a street token, the community editor, and none."""
    with session_scope(clean_engine) as s:
        street = create_token(s, Actor.system(), "街道", "street", "610103006")[0]
    yield {"client": client, "admin": tokens["admin"], "street": {"Authorization": f"Bearer {street}"},
           "editor": tokens["editor1"], "anonymous": {}}  # fmt: skip


def stored(engine: Engine, term: str) -> list[tuple[Any, ...]]:
    """(vocabulary, synonyms, public, builtin, retired) of a term's rows."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT vocabulary, synonyms, public, builtin, retired_at IS NOT NULL FROM vocab_term WHERE term = :t "
            "ORDER BY vocabulary"), {"t": term})]  # fmt: skip


def test_an_added_term_is_served_by_meta_and_the_list(api: dict[str, Any], clean_engine: Engine) -> None:
    c: TestClient = api["client"]
    before = c.get("/api/meta").json()
    assert SAFETY not in [t["term"] for t in before["vocabularies"]["staff_roles"]["terms"]]

    r = c.post("/api/vocab/staff_roles/terms", headers=api["admin"],
               json={"term": SAFETY, "synonyms": ["安全员"], "public": True})  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["label"]) == ("staff_roles", "网格工作人员角色")
    assert body["terms"][-1] == {"term": SAFETY, "builtin": False, "public": True, "synonyms": ["安全员"],
                                 "added_synonyms": ["安全员"]}  # fmt: skip
    assert stored(clean_engine, SAFETY) == [("staff_roles", ["安全员"], True, False, False)]
    r = c.post(f"/api/vocab/person_tags/terms/{quote('低保户')}/synonyms", headers=api["admin"],
               json={"synonyms": ["最低生活保障户"]})  # fmt: skip
    assert r.status_code == 200, r.text
    low = next(t for t in r.json()["terms"] if t["term"] == "低保户")
    assert low["synonyms"][0] == "低保" and low["added_synonyms"] == ["最低生活保障户"] and low["public"] is None
    assert "最低生活保障户" in stored(clean_engine, "低保户")[0][1]

    meta = c.get("/api/meta").json()  # public: no login
    staff = meta["vocabularies"]["staff_roles"]
    assert [t["term"] for t in staff["terms"]][-1] == SAFETY
    assert staff["synonyms"]["安全员"] == SAFETY and staff["synonyms"]["网格管理员"] == "网格员"
    assert meta["vocabularies"]["person_tags"]["synonyms"]["最低生活保障户"] == "低保户"
    assert SAFETY in meta["public_staff_roles"] and "楼栋长" not in meta["public_staff_roles"]
    assert meta["vocabularies"]["levels"] == before["vocabularies"]["levels"]

    listed = c.get("/api/vocab", headers=api["editor"])
    assert listed.status_code == 200
    assert [v["name"] for v in listed.json()] == ["staff_roles", "household_kinds", "person_tags",
                                                  "incident_categories", "incident_subcategories"]  # fmt: skip
    assert listed.json()[0]["terms"][-1]["term"] == SAFETY
    assert c.get("/api/vocab").status_code == 401

    gone = c.delete(f"/api/vocab/staff_roles/terms/{quote(SAFETY)}", headers=api["admin"])
    assert gone.status_code == 200 and SAFETY not in [t["term"] for t in gone.json()["terms"]]
    assert stored(clean_engine, SAFETY) == [("staff_roles", ["安全员"], True, False, True)]
    assert SAFETY not in c.get("/api/meta").json()["public_staff_roles"]


@pytest.mark.parametrize("caller", ["street", "editor", "anonymous"])
def test_only_administrators_change_a_vocabulary(api: dict[str, Any], clean_engine: Engine, caller: str) -> None:
    c: TestClient = api["client"]
    h = api[caller]
    want = 401 if caller == "anonymous" else 403
    assert c.post("/api/vocab/staff_roles/terms", headers=h, json={"term": SAFETY}).status_code == want
    assert c.post(f"/api/vocab/staff_roles/terms/{quote('网格员')}/synonyms", headers=h,
                  json={"synonyms": ["网格联络员"]}).status_code == want  # fmt: skip
    assert c.delete(f"/api/vocab/household_kinds/terms/{quote('底商')}", headers=h).status_code == want
    assert stored(clean_engine, SAFETY) == []
    assert "网格联络员" not in stored(clean_engine, "网格员")[0][1]


def test_refusals_are_chinese_and_write_nothing(api: dict[str, Any], clean_engine: Engine) -> None:
    c: TestClient = api["client"]
    admin = api["admin"]
    public_kind = c.post("/api/vocab/household_kinds/terms", headers=admin, json={"term": "群租房", "public": True})
    assert public_kind.status_code == 422 and "只有网格工作人员角色有" in public_kind.json()["detail"]
    taken = c.post("/api/vocab/incident_categories/terms", headers=admin, json={"term": "占道", "synonyms": ["消防"]})
    assert taken.status_code == 409 and "同义词已被使用：消防" in taken.json()["detail"]
    unknown = c.post("/api/vocab/colours/terms", headers=admin, json={"term": "红"})
    assert unknown.status_code == 422 and "未知的词表：colours" in unknown.json()["detail"]
    no_term = c.post(f"/api/vocab/staff_roles/terms/{quote('总经理')}/synonyms", headers=admin,
                     json={"synonyms": ["老总"]})  # fmt: skip
    assert no_term.status_code == 404 and "没有「总经理」" in no_term.json()["detail"]
    built_in = c.delete(f"/api/vocab/staff_roles/terms/{quote('网格员')}", headers=admin)
    assert built_in.status_code == 422 and "内置" in built_in.json()["detail"]
    assert stored(clean_engine, "群租房") == [] and stored(clean_engine, "占道") == []
    assert stored(clean_engine, "网格员")[0][3:] == (True, False)  # built in, not stopped


def test_a_term_with_a_slash_is_one_path_segment(api: dict[str, Any], clean_engine: Engine) -> None:
    c: TestClient = api["client"]
    admin, term = api["admin"], "保洁/清运员"
    assert c.post("/api/vocab/staff_roles/terms", headers=admin, json={"term": term}).status_code == 201
    more = c.post(f"/api/vocab/staff_roles/terms/{quote(term)}/synonyms", headers=admin, json={"synonyms": ["保洁员"]})
    assert more.status_code == 200, more.text
    assert stored(clean_engine, term) == [("staff_roles", ["保洁员"], None, False, False)]
    assert c.delete(f"/api/vocab/staff_roles/terms/{quote(term)}", headers=admin).status_code == 200
    assert stored(clean_engine, term) == [("staff_roles", ["保洁员"], None, False, True)]
