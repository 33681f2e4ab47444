"""Dated staff posts: adding, ending and handing over a post; the board and the ledger show who held it on a day."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, Forbidden, InvalidInput
from gridgov.grids.staffing import staffing_findings
from gridgov.history import day_of
from gridgov.ledger.report import build_ledger
from gridgov.print.data import board_data
from gridgov.records.roles import add_role, end_role, grid_roles, hand_over
from gridgov.records.service import retire_record

from tests.factories import make_street

ADMIN = Actor.system("tests")
G = "610103006001001"


def test_a_hand_over_changes_board_and_ledger_from_its_day(clean_engine: Engine) -> None:
    today = day_of(None)
    earlier, handed = today - dt.timedelta(days=40), today - dt.timedelta(days=10)
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))
        add_role(s, ADMIN, grid_code=G, role="网格长", name="张长", phone="13900000001", since=earlier)
        add_role(s, ADMIN, grid_code=G, role="网格管理员", name="李旧", phone="13900000002", since=earlier)
        done = hand_over(s, ADMIN, grid_code=G, role="网格员", to_name="王新", to_phone="13900000003", on_day=handed)
        assert [r.staff_name for r in done.ended] == ["李旧"] and done.started.staff_name == "王新"

        def board(day: dt.date) -> list[str]:
            return [f"{x.role}:{x.name}" for x in board_data(s, G, on_day=day).staff]

        def ledger(day: dt.date) -> str:
            moment = dt.datetime.combine(day, dt.time(12), dt.UTC)
            return next(r.staff for r in build_ledger(s, as_of=moment, with_patrol=False).rows if r.code == G)

        assert board(handed - dt.timedelta(days=1)) == ["网格长:张长", "网格员:李旧"]
        assert board(handed) == ["网格长:张长", "网格员:王新"]
        assert board(today) == ["网格长:张长", "网格员:王新"]
        assert "李旧" in ledger(handed - dt.timedelta(days=1)) and "王新" not in ledger(handed - dt.timedelta(days=1))
        assert "王新" in ledger(today) and "李旧" not in ledger(today)
        rows = s.execute(text("SELECT s.name, r.since, r.until, r.end_reason FROM grid_role r "
                              "JOIN staff s ON s.id = r.staff_id WHERE r.role = '网格员' ORDER BY r.since")).all()
        assert [tuple(r) for r in rows] == [("李旧", earlier, handed, "交接"), ("王新", handed, None, None)]
        assert [r.staff_name for r in grid_roles(s, G, ADMIN, include_ended=True) if r.role == "网格员"] == [
            "王新", "李旧"]  # fmt: skip


def test_staffing_findings_follow_ended_posts(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        head = add_role(s, ADMIN, grid_code=G, role="网格长", name="张长", phone="13900000001")
        add_role(s, ADMIN, grid_code=G, role="网格员", name="李", phone="13900000002")
        assert staffing_findings(s, [G]) == []
        end_role(s, ADMIN, head.id, reason="调离")
        assert [f.problems for f in staffing_findings(s, [G])] == [("no_head",)]


def test_posts_are_checked(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        gid = s.execute(text("SELECT id FROM grid WHERE code = '610103006002' AND valid_to IS NULL")).scalar_one()
        other = Actor(name="user:c2", role="community", scope_grid_id=gid, scope_code="610103006002")
        with pytest.raises(InvalidInput, match="未知的岗位"):
            add_role(s, ADMIN, grid_code=G, role="总经理", name="某", phone="13900000001")
        with pytest.raises(Forbidden):
            add_role(s, other, grid_code=G, role="网格员", name="某", phone="13900000001")
        r = add_role(s, ADMIN, grid_code=G, role="网格员", name="某", phone="13900000001")
        with pytest.raises(Conflict):
            add_role(s, ADMIN, grid_code=G, role="网格员", name="某", phone="13900000001")
        with pytest.raises(InvalidInput, match="结束原因"):
            end_role(s, ADMIN, r.id, reason="")


def test_a_staff_member_who_leaves_ends_every_post(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        r = add_role(s, ADMIN, grid_code=G, role="网格员", name="某", phone="13900000001")
        add_role(s, ADMIN, grid_code="610103006001002", role="网格员", staff_code=r.staff_code)
        retire_record(s, "staff", r.staff_code or "", ADMIN, reason="离职", expected_version=None)
        assert s.execute(text("SELECT count(*) FROM grid_role WHERE until IS NULL")).scalar_one() == 0
        assert grid_roles(s, G, ADMIN) == []
