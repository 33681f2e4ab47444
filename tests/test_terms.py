"""Vocabularies a street extends: new terms and synonyms are accepted everywhere, unknown words are refused with
the list, and the database refuses a role or household kind outside the table."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, Forbidden, InvalidInput
from gridgov.print.data import board_data
from gridgov.records.roles import add_role
from gridgov.records.service import create_record
from gridgov.terms import add_synonyms, add_term, retire_term, stored_vocabulary

from tests.factories import X0, Y0, D, make_street

ADMIN = Actor.system("tests")
G = "610103006001001"


def test_a_street_s_own_post_is_accepted_and_shown_when_public(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="未知的岗位：网格安全员（可选：网格长、"):
            add_role(s, ADMIN, grid_code=G, role="网格安全员", name="某", phone="13900000001")
        add_term(s, ADMIN, "staff_roles", "网格安全员", synonyms=("安全员",), public=True)
        add_role(s, ADMIN, grid_code=G, role="安全员", name="某", phone="13900000001")
        assert [(x.role, x.name) for x in board_data(s, G).staff] == [("网格安全员", "某")]
        add_synonyms(s, ADMIN, "staff_roles", "网格员", ("网格专干",))
        assert stored_vocabulary(s, "staff_roles").canonical("网格专干") == "网格员"
        with pytest.raises(Conflict):
            add_term(s, ADMIN, "staff_roles", "网格专干")
        retire_term(s, ADMIN, "staff_roles", "网格安全员")
        with pytest.raises(InvalidInput):
            stored_vocabulary(s, "staff_roles").canonical("网格安全员")
        with pytest.raises(InvalidInput, match="内置"):
            retire_term(s, ADMIN, "staff_roles", "网格员")


def test_tags_and_kinds_use_the_stored_words(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        add_term(s, ADMIN, "household_kinds", "群租房")
        create_record(s, "households", {"code": "H1", "kind": "群租房", "lon": X0 + D / 4, "lat": Y0 + D / 2}, ADMIN)
        p = create_record(s, "persons", {"code": "P1", "household_code": "H1", "name": "某", "tags": "低保；空巢"},
                          ADMIN)  # fmt: skip
        assert p.values["tags"] == ["低保户", "空巢老人"]
        with pytest.raises(InvalidInput, match="未知的标签 火星人"):
            create_record(s, "persons", {"code": "P2", "household_code": "H1", "name": "某", "tags": "火星人"}, ADMIN)


def test_only_administrators_extend_and_the_database_refuses_unknown_words(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        gid = s.execute(text("SELECT id FROM grid WHERE code = '610103006' AND valid_to IS NULL")).scalar_one()
        street = Actor(name="user:s", role="street", scope_grid_id=gid, scope_code="610103006")
        with pytest.raises(Forbidden):
            add_term(s, street, "staff_roles", "网格安全员")
    with pytest.raises(IntegrityError, match="未知的取值「总经理」"), session_scope(clean_engine) as s:
        s.execute(text("INSERT INTO staff (code, name) VALUES ('S1', '某')"))
        s.execute(text("INSERT INTO grid_role (grid_id, staff_id, role) SELECT g.id, s.id, '总经理' "
                       "FROM grid g, staff s WHERE g.code = :g"), {"g": G})  # fmt: skip


def test_a_stopped_term_can_be_added_again(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        add_term(s, ADMIN, "person_tags", "新就业群体")
        retire_term(s, ADMIN, "person_tags", "新就业群体")
        again = add_term(s, ADMIN, "person_tags", "新就业群体", synonyms=("外卖骑手",))
        assert again.canonical("外卖骑手") == "新就业群体"
        assert s.execute(text("SELECT count(*) FROM vocab_term WHERE term = '新就业群体' AND retired_at IS NULL")
                         ).scalar_one() == 1  # fmt: skip
