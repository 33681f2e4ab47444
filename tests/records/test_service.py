"""One record at a time: create, change and retire households, persons, buildings and staff, with history kept in
PostGIS (the former state as a history row, the removal as a retirement) and the scope and version rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from gridgov.history import day_of
from gridgov.ledger.report import build_ledger
from gridgov.records.service import (
    create_record,
    get_record,
    list_records,
    record_history,
    retire_record,
    update_record,
)

from tests.factories import X0, Y0, D, make_street

ADMIN = Actor.system("tests")
# Scoped to community …001 (the west half): compounds …001001 and …001002.
COMMUNITY = Actor(name="user:c1", role="community", scope_grid_id=None, scope_code="610103006001")
IN_001001 = (X0 + D / 4, Y0 + D / 2)  # inside compound 610103006001001
IN_002001 = (X0 + 1.5 * D, Y0 + D / 2)  # inside compound 610103006002001 (east community)


def _community(s: Session) -> Actor:
    gid = s.execute(text("SELECT id FROM grid WHERE code = '610103006001' AND valid_to IS NULL")).scalar_one()
    return Actor(name="user:c1", role="community", scope_grid_id=gid, scope_code="610103006001")


def _household(s: Session, code: str, at: tuple[float, float], *, effective: dt.date | None = None) -> None:
    create_record(s, "households", {"code": code, "kind": "常住户", "address": f"{code} 号", "lon": at[0],
                                    "lat": at[1]}, ADMIN, effective=effective)  # fmt: skip


def _rows(s: Session, table: str, code: str) -> list[tuple]:
    return [tuple(r) for r in s.execute(text(
        f"SELECT lineage_id IS NULL, valid_to IS NULL, end_reason, version FROM {table} WHERE code = :c "
        "ORDER BY valid_from, lineage_id IS NULL, id"), {"c": code})]  # fmt: skip


def test_a_change_keeps_the_former_state_as_history(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001)
        rec = get_record(s, "households", "H1", ADMIN)
        assert rec.grid_code == "610103006001001" and rec.version == 1
        moved = update_record(s, "households", "H1", {"lon": IN_002001[0], "lat": IN_002001[1], "kind": "租房户"},
                              ADMIN, expected_version=1)  # fmt: skip
        assert moved.grid_code == "610103006002001" and moved.version == 2 and moved.values["kind"] == "租房户"
        rows = s.execute(text("SELECT lineage_id, kind, valid_to, grid_id FROM household WHERE code = 'H1' "
                              "ORDER BY valid_from, lineage_id IS NULL, id")).all()  # fmt: skip
        assert len(rows) == 2
        assert rows[0].lineage_id == rec.id and rows[0].kind == "常住户" and rows[0].valid_to is not None
        assert rows[1].lineage_id is None and rows[1].kind == "租房户" and rows[1].valid_to is None
        history = record_history(s, "households", "H1", ADMIN)
        assert [h.values["kind"] for h in history] == ["常住户", "租房户"]


def test_a_stale_version_writes_nothing(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001)
        update_record(s, "households", "H1", {"address": "新地址"}, ADMIN, expected_version=1)
        with pytest.raises(StaleVersion):
            update_record(s, "households", "H1", {"address": "旧页面的地址"}, ADMIN, expected_version=1)
        assert get_record(s, "households", "H1", ADMIN).values["address"] == "新地址"


def test_moving_out_retires_the_household_and_its_residents(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001)
        for i in range(2):
            create_record(s, "persons", {"code": f"P{i}", "household_code": "H1", "name": f"居民{i}"}, ADMIN)
        before = build_ledger(s, with_patrol=False)
        retire_record(s, "households", "H1", Actor.system("retirer"), reason="搬离", expected_version=1)
        after = build_ledger(s, with_patrol=False)
        editors = s.execute(text("SELECT updated_by FROM household WHERE code = 'H1' ORDER BY valid_from, "
                                 "lineage_id IS NULL")).scalars().all()  # fmt: skip
        assert editors == ["tests", "retirer"]  # who made the last state, and who retired it
        # the last state kept as history (with its editor), the live row the retirement itself
        assert _rows(s, "household", "H1") == [(False, False, None, 1), (True, False, "搬离", 2)]
        assert _rows(s, "person", "P0") == [(False, False, None, 1), (True, False, "搬离", 2)]
        row = lambda ledger: next(r for r in ledger.rows if r.code == "610103006001001")  # noqa: E731
        assert (row(before).households, row(before).persons) == (1, 2)
        assert (row(after).households, row(after).persons) == (0, 0)
        with pytest.raises(Conflict):
            update_record(s, "households", "H1", {"address": "x"}, ADMIN, expected_version=None)
        with pytest.raises(Conflict, match="已存在（已注销）"):
            _household(s, "H1", IN_001001)


def test_the_ledger_as_of_a_past_day_counts_what_was_true_then(clean_engine: Engine) -> None:
    today = day_of(None)
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))
        _household(s, "H1", IN_001001, effective=today - dt.timedelta(days=60))
        _household(s, "H2", IN_001001, effective=today - dt.timedelta(days=60))
        retire_record(s, "households", "H2", ADMIN, reason="搬离", expected_version=None,
                      effective=today - dt.timedelta(days=30))  # fmt: skip
        update_record(s, "households", "H1", {"lon": IN_002001[0], "lat": IN_002001[1]}, ADMIN,
                      expected_version=None, effective=today - dt.timedelta(days=10))  # fmt: skip

        def counts(days_ago: int | None) -> tuple[int, int]:
            moment = None if days_ago is None else dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
            rows = {r.code: r.households for r in build_ledger(s, as_of=moment, with_patrol=False).rows}
            return rows["610103006001001"], rows["610103006002001"]

        assert counts(70) == (0, 0)
        assert counts(45) == (2, 0)
        assert counts(20) == (1, 0)
        assert counts(5) == (0, 1)
        assert counts(None) == (0, 1)


def test_effective_dates_follow_the_record_s_order(clean_engine: Engine) -> None:
    today = day_of(None)
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001, effective=today - dt.timedelta(days=10))
        update_record(s, "households", "H1", {"address": "甲"}, ADMIN, expected_version=None,
                      effective=today - dt.timedelta(days=5))  # fmt: skip
        with pytest.raises(InvalidInput, match="早于该记录上次变更"):
            update_record(s, "households", "H1", {"address": "乙"}, ADMIN, expected_version=None,
                          effective=today - dt.timedelta(days=7))  # fmt: skip
        with pytest.raises(InvalidInput, match="不能晚于今天"):
            update_record(s, "households", "H1", {"address": "丙"}, ADMIN, expected_version=None,
                          effective=today + dt.timedelta(days=1))  # fmt: skip


def test_writes_stay_in_the_actor_s_scope(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        who = _community(s)
        _household(s, "H1", IN_001001)
        _household(s, "H2", IN_002001)
        update_record(s, "households", "H1", {"address": "可以"}, who, expected_version=None)
        with pytest.raises(Forbidden):  # the target lies outside
            update_record(s, "households", "H2", {"address": "不行"}, who, expected_version=None)
        with pytest.raises(Forbidden):  # the new place lies outside
            update_record(s, "households", "H1", {"lon": IN_002001[0], "lat": IN_002001[1]}, who,
                          expected_version=None)  # fmt: skip
        with pytest.raises(Forbidden):  # a person joining a household outside
            create_record(s, "persons", {"code": "P9", "household_code": "H2", "name": "某"}, who)
        records, total = list_records(s, "households", who)
        assert [r.code for r in records] == ["H1"] and total == 1
        assert get_record(s, "households", "H1", ADMIN).values["address"] == "可以"


def test_search_finds_households_by_resident_name_and_phone(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001)
        _household(s, "H2", IN_001001)
        create_record(s, "persons", {"code": "P1", "household_code": "H2", "name": "王小明", "phone": "13900001111"},
                      ADMIN)  # fmt: skip
        assert [r.code for r in list_records(s, "households", ADMIN, q="小明")[0]] == ["H2"]
        assert [r.code for r in list_records(s, "households", ADMIN, q="0001111")[0]] == ["H2"]
        assert [r.code for r in list_records(s, "persons", ADMIN, household="H2")[0]] == ["P1"]


def test_field_rules_are_checked(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _household(s, "H1", IN_001001)
        with pytest.raises(InvalidInput, match="户类型"):
            update_record(s, "households", "H1", {"kind": "别墅"}, ADMIN, expected_version=None)
        with pytest.raises(InvalidInput, match="身份证"):
            create_record(s, "persons", {"code": "P1", "household_code": "H1", "name": "某", "id_number": "123"},
                          ADMIN)  # fmt: skip
        with pytest.raises(InvalidInput, match="党员类型"):
            create_record(s, "persons", {"code": "P1", "household_code": "H1", "name": "某",
                                         "is_party_member": True}, ADMIN)  # fmt: skip
        p = create_record(s, "persons", {"code": "P1", "household_code": "H1", "name": "某", "is_party_member": "是",
                                         "member_type": "退休"}, ADMIN)  # fmt: skip
        assert p.values["member_type"] == "离退休"
        p = update_record(s, "persons", "P1", {"is_party_member": False}, ADMIN, expected_version=p.version)
        assert p.values["member_type"] is None and p.values["is_party_member"] is False
