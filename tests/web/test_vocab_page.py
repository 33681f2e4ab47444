"""词表维护 (/vocab): the administrator adds a street's own terms and synonyms and stops them; the words are rows of
``vocab_term``, every other role is refused, and a form without the CSRF token writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.web.conftest import csrf_of, login

SAFETY = "网格安全员"


@pytest.fixture
def web_vocab(web: TestClient, clean_engine: Engine) -> TestClient:
    """The workspace client (clean_engine puts the built-in terms back as seeded)."""
    return web


def rows(engine: Engine, term: str) -> list[Any]:
    """The ``vocab_term`` rows of a term: (vocabulary, synonyms, public, builtin, created_by, retired)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT vocabulary, synonyms, public, builtin, created_by, retired_at IS NOT NULL FROM vocab_term "
            "WHERE term = :t ORDER BY vocabulary"), {"t": term})]  # fmt: skip


def row_of(html: str, term: str) -> str:
    """The table row of a term on the page ('' when absent)."""
    start = html.find(f'<tr data-term="{term}">')
    return "" if start < 0 else html[start : html.index("</tr>", start)]


def test_admin_adds_a_post_a_synonym_and_stops_the_post(web_vocab: TestClient, users: dict,
                                                         clean_engine: Engine) -> None:  # fmt: skip
    login(web_vocab, "admin")
    page = web_vocab.get("/vocab")
    assert page.status_code == 200
    assert "词表维护" in page.text and "网格工作人员角色" in page.text and "事件类别" in page.text
    assert "网格管理员" in row_of(page.text, "网格员") and "内置" in row_of(page.text, "网格员")
    assert "不公示" in row_of(page.text, "楼栋长") and "公示" in row_of(page.text, "网格长")
    assert 'href="/vocab" aria-current="page">词表</a>' in page.text  # the navigation entry
    token = csrf_of(page.text)

    form = {"csrftoken": token, "term": SAFETY, "synonyms": "安全员、平安员", "public": "true"}
    added = web_vocab.post("/vocab/staff_roles/terms", data=form)
    assert added.status_code == 303 and added.headers["location"].startswith("/vocab?done=")
    assert added.headers["location"].endswith("#staff_roles")
    assert rows(clean_engine, SAFETY) == [("staff_roles", ["安全员", "平安员"], True, False, "user:admin", False)]
    shown = web_vocab.get(added.headers["location"])
    assert f"已在网格工作人员角色中添加「{SAFETY}」" in shown.text
    mine = row_of(shown.text, SAFETY)
    assert "本街道添加" in mine and "公示" in mine and "不公示" not in mine and "安全员" in mine and "停用" in mine
    assert "停用" not in row_of(shown.text, "网格员")  # built-in terms cannot be stopped

    more = web_vocab.post("/vocab/staff_roles/synonyms", data={"csrftoken": token, "term": "网格员",
                                                               "synonyms": "网格专职人员，网格协理员"})  # fmt: skip
    assert more.status_code == 303
    (built_in,) = rows(clean_engine, "网格员")
    assert {"网格专职人员", "网格协理员"} <= set(built_in[1]) and built_in[3] is True
    marked = '<span class="badge text-bg-success fw-normal">网格协理员</span>'  # an added synonym
    assert marked in row_of(web_vocab.get("/vocab").text, "网格员")

    taken = web_vocab.post("/vocab/staff_roles/terms", data={"csrftoken": token, "term": "网格管理员"})
    assert taken.status_code == 422 and "「网格管理员」已在网格工作人员角色中（即「网格员」）" in taken.text
    assert 'value="网格管理员"' in taken.text  # the form comes back as typed
    assert rows(clean_engine, "网格管理员") == []
    built_in_stop = web_vocab.post("/vocab/staff_roles/retire", data={"csrftoken": token, "term": "网格员"})
    assert built_in_stop.status_code == 422 and "只能停用本街道添加的词条" in built_in_stop.text

    stopped = web_vocab.post("/vocab/staff_roles/retire", data={"csrftoken": token, "term": SAFETY})
    assert stopped.status_code == 303
    assert rows(clean_engine, SAFETY) == [("staff_roles", ["安全员", "平安员"], True, False, "user:admin", True)]
    after = web_vocab.get(stopped.headers["location"])
    assert f"已停用网格工作人员角色「{SAFETY}」" in after.text and row_of(after.text, SAFETY) == ""


def test_a_household_kind_has_no_public_setting(web_vocab: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web_vocab, "admin")
    token = csrf_of(web_vocab.get("/vocab").text)
    r = web_vocab.post("/vocab/household_kinds/terms", data={"csrftoken": token, "term": "群租房", "public": "true"})
    assert r.status_code == 303
    assert rows(clean_engine, "群租房") == [("household_kinds", [], None, False, "user:admin", False)]
    page = web_vocab.get("/vocab").text
    assert "本街道添加" in row_of(page, "群租房") and "公示" not in row_of(page, "群租房")
    unknown = web_vocab.post("/vocab/colours/terms", data={"csrftoken": token, "term": "红"})
    assert unknown.status_code == 422 and "未知的词表：colours" in unknown.text


@pytest.mark.parametrize("name", ["street", "comm1", "viewer"])
def test_other_roles_are_refused(web_vocab: TestClient, users: dict, clean_engine: Engine, name: str) -> None:
    login(web_vocab, name)
    page = web_vocab.get("/vocab")
    assert page.status_code == 403 and "没有权限" in page.text
    assert "/vocab" not in web_vocab.get("/").text  # no entry in their navigation
    token = csrf_of(web_vocab.get("/").text)
    r = web_vocab.post("/vocab/staff_roles/terms", data={"csrftoken": token, "term": SAFETY, "public": "true"})
    assert r.status_code == 403 and "没有权限" in r.text
    assert rows(clean_engine, SAFETY) == []


def test_a_form_without_the_csrf_token_is_refused(web_vocab: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web_vocab, "admin")
    web_vocab.get("/vocab")
    r = web_vocab.post("/vocab/staff_roles/terms", data={"term": SAFETY, "public": "true"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert rows(clean_engine, SAFETY) == []
