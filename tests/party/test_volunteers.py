"""Volunteer teams on the factory street: members joining and leaving (history kept), activities per month and a
team's figures against the rules (15 people, an activity of 4 hours), edits with history, and the scope rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from gridgov.party import volunteers as svc
from gridgov.party.rules import PartyRules

from tests.factories import make_street
from tests.party.test_check import _members, _org

ADMIN = Actor.system("tests")
A, B, C = "610103006001001", "610103006001002", "610103006002001"
OWN, OTHER = "610103006001", "610103006002"


def scoped(s: Session, role: str, scope: str) -> Actor:
    """A user of ``role`` scoped to the grid ``scope``."""
    gid = s.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": scope})
    return Actor(f"user:{role}-{scope}", role, gid, scope)


def codes_of(s: Session, ids: list[int]) -> list[str]:
    """The person codes of these ids, in order."""
    found = dict(s.execute(text("SELECT id, code FROM person WHERE id = ANY(:i)"), {"i": ids}).all())
    return [found[i] for i in ids]


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        _org(s, "BC", "党支部", "楼院党支部", [C], [])
    yield clean_engine


def test_members_join_and_leave_with_their_history(street: Engine) -> None:
    with Session(street) as s, s.begin():
        west = codes_of(s, _members(s, "A", 3, prefix="W"))
        team = svc.create_team(s, ADMIN, code="V1", name="环境志愿队", kind="环境", grid=A, org="BA", leader=west[0])
        assert (team.kind, team.grid_code, team.org_code, team.leader_code, team.members) == \
            ("环境维护", A, "BA", "W-P1", 0)
        svc.join_team(s, "V1", ADMIN, person=west[0], since=dt.date(2026, 3, 1))
        svc.join_team(s, "V1", ADMIN, person=west[1], since=dt.date(2026, 4, 1))
        svc.join_team(s, "V1", ADMIN, person=west[2], since=dt.date(2026, 5, 1))
        with pytest.raises(Conflict, match="已是志愿服务队 V1 的队员"):
            svc.join_team(s, "V1", ADMIN, person=west[1], since=dt.date(2026, 6, 1))
        with pytest.raises(InvalidInput, match="早于加入日期"):
            svc.leave_team(s, "V1", ADMIN, person=west[1], until=dt.date(2026, 3, 1))
        left = svc.leave_team(s, "V1", ADMIN, person=west[1], until=dt.date(2026, 8, 1), reason="搬离")
        assert (left.until, left.end_reason, left.in_force) == (dt.date(2026, 8, 1), "搬离", False)
        s.execute(text("UPDATE person SET valid_to = now(), end_reason = '搬离' WHERE code = 'W-P3'"))
        with pytest.raises(InvalidInput, match="不存在或已注销：W-P3"):
            svc.join_team(s, "V1", ADMIN, person="W-P3")
        on_june = svc.team_members(s, "V1", ADMIN, on_day=dt.date(2026, 6, 15))
        on_sept = svc.team_members(s, "V1", ADMIN, on_day=dt.date(2026, 9, 1))
        every = svc.team_members(s, "V1", ADMIN, include_ended=True, on_day=dt.date(2026, 9, 1))
        rows = s.execute(text("SELECT p.code, m.since, m.until, m.end_reason FROM volunteer_team_member m "
                              "JOIN person p ON p.id = m.person_id ORDER BY p.code")).all()  # fmt: skip
    assert [m.person_code for m in on_june] == ["W-P1", "W-P2", "W-P3"]
    assert [m.person_code for m in on_sept] == ["W-P1", "W-P3"]
    assert [(m.person_code, m.in_force) for m in every] == [("W-P1", True), ("W-P3", True), ("W-P2", False)]
    assert [tuple(r) for r in rows] == [("W-P1", dt.date(2026, 3, 1), None, None),
                                        ("W-P2", dt.date(2026, 4, 1), dt.date(2026, 8, 1), "搬离"),
                                        ("W-P3", dt.date(2026, 5, 1), None, None)]  # fmt: skip


@pytest.mark.parametrize(("people", "longest", "size_ok", "activity_ok"),
                         [(14, 4.0, False, True), (15, 3.9, True, False), (15, 4.0, True, True)])  # fmt: skip
def test_a_months_figures_against_the_rules(street: Engine, people: int, longest: float, size_ok: bool,
                                            activity_ok: bool) -> None:  # fmt: skip
    with Session(street) as s, s.begin():
        residents = codes_of(s, _members(s, "A", people + 1, prefix="R"))
        svc.create_team(s, ADMIN, code="V1", name="巡逻志愿队", kind="治安巡逻", grid=A, effective=dt.date(2026, 1, 1))
        svc.create_team(s, ADMIN, code="V2", name="另一队", kind="其他", grid=C, effective=dt.date(2026, 1, 1))
        svc.create_team(s, ADMIN, code="V3", name="十一月成立", kind="其他", grid=C)  # not in force in October
        for code in residents[:people]:
            svc.join_team(s, "V1", ADMIN, person=code, since=dt.date(2026, 9, 1))
        svc.join_team(s, "V1", ADMIN, person=residents[people], since=dt.date(2026, 11, 1))  # after October
        for day, hours, title in ((dt.date(2026, 10, 3), 2.5, "巡逻"), (dt.date(2026, 10, 17), longest, "大巡逻"),
                                  (dt.date(2026, 11, 2), 6.0, "十一月活动"), (dt.date(2026, 9, 30), 8.0, "九月")):
            svc.add_activity(s, "V1", ADMIN, day=day, hours=hours, title=title, participants=10)
        october = svc.month_figures(s, ADMIN, PartyRules(), month="2026-10", parent=OWN)
        listed = svc.list_activities(s, ADMIN, team="V1", month="2026-10")
        everywhere = svc.month_figures(s, ADMIN, PartyRules(), month="2026-10")
    assert [(f.team_code, f.counted_on, f.people, f.activities, f.hours, f.longest) for f in october] == \
        [("V1", dt.date(2026, 10, 31), people, 2, 2.5 + longest, longest)]
    assert (october[0].size_ok, october[0].activity_ok) == (size_ok, activity_ok)
    assert [(a.day, a.title) for a in listed] == [(dt.date(2026, 10, 17), "大巡逻"), (dt.date(2026, 10, 3), "巡逻")]
    assert [(f.team_code, f.people, f.activities) for f in everywhere] == [("V1", people, 2), ("V2", 0, 0)]


def test_activities_are_checked(street: Engine) -> None:
    with Session(street) as s, s.begin():
        svc.create_team(s, ADMIN, code="V1", name="队", kind="其他", grid=A)
        for hours, message in ((0, "0.1–24"), (25, "0.1–24"), ("两小时", "小时数")):
            with pytest.raises(InvalidInput, match=message):
                svc.add_activity(s, "V1", ADMIN, day=dt.date(2026, 10, 1), hours=hours, title="活动")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="不能晚于今天"):
            svc.add_activity(s, "V1", ADMIN, day=dt.date(2100, 1, 1), hours=2, title="活动")
        with pytest.raises(InvalidInput, match="活动内容"):
            svc.add_activity(s, "V1", ADMIN, day=dt.date(2026, 10, 1), hours=2, title=" ")
        assert s.scalar(text("SELECT count(*) FROM volunteer_activity")) == 0


def test_edits_keep_history_and_a_retired_team_ends_its_memberships(street: Engine) -> None:
    with Session(street) as s, s.begin():
        member = codes_of(s, _members(s, "A", 1, prefix="M"))[0]
        svc.create_team(s, ADMIN, code="V1", name="旧名", kind="其他", grid=A, effective=dt.date(2026, 1, 1))
        svc.join_team(s, "V1", ADMIN, person=member, since=dt.date(2026, 2, 1))
        edited = svc.update_team(s, "V1", {"name": "新名", "kind": "助老", "org": "BA"}, ADMIN, expected_version=1,
                                 effective=dt.date(2026, 6, 1))  # fmt: skip
        with pytest.raises(StaleVersion, match="已被他人修改"):
            svc.update_team(s, "V1", {"name": "又一名"}, ADMIN, expected_version=1)
        with pytest.raises(InvalidInput, match="未知字段"):
            svc.update_team(s, "V1", {"colour": "红"}, ADMIN, expected_version=2)
        retired = svc.retire_team(s, "V1", ADMIN, reason="合并", expected_version=2, day=dt.date(2026, 9, 1))
        with pytest.raises(Conflict, match="已于 2026-09-01 撤销"):
            svc.join_team(s, "V1", ADMIN, person=member)
        history = svc.team_history(s, "V1", ADMIN)
        membership = s.execute(text("SELECT until, end_reason FROM volunteer_team_member")).one()
        listed = [t.code for t in svc.list_teams(s, ADMIN)], [t.code for t in svc.list_teams(s, ADMIN,
                                                                                               include_retired=True)]
    assert (edited.version, edited.name, edited.kind, edited.org_code) == (2, "新名", "为老服务", "BA")
    assert (retired.retired, retired.end_reason) == (True, "合并")
    assert [svc.team_changes(a, b) for a, b in zip([None, *history], history, strict=False)][:2] == [
        ["新建"], ["名称：旧名 → 新名", "类型：其他 → 为老服务", "牵头党组织：（空） → BA党组织（BA）"]]
    assert tuple(membership) == (dt.date(2026, 9, 1), "合并")
    assert listed == ([], ["V1"])


def test_the_scope_rule(street: Engine) -> None:
    with Session(street) as s, s.begin():
        west = codes_of(s, _members(s, "A", 1, prefix="W"))[0]
        east = codes_of(s, _members(s, "C", 1, prefix="E"))[0]
        svc.create_team(s, ADMIN, code="VE", name="东队", kind="其他", grid=C)
        comm1 = scoped(s, "community", OWN)
        own = svc.create_team(s, comm1, code="VW", name="西队", kind="其他")  # on the actor's scope by default
        svc.join_team(s, "VW", comm1, person=west)
        refusals = [
            lambda: svc.create_team(s, comm1, code="V9", name="队", kind="其他", grid=C),
            lambda: svc.create_team(s, comm1, code="V9", name="队", kind="其他", grid=A, org="BC"),
            lambda: svc.create_team(s, comm1, code="V9", name="队", kind="其他", grid=A, leader=east),
            lambda: svc.join_team(s, "VW", comm1, person=east),
            lambda: svc.join_team(s, "VE", comm1, person=west),
            lambda: svc.update_team(s, "VW", {"grid": OTHER}, comm1, expected_version=1),
            lambda: svc.retire_team(s, "VE", comm1, reason="合并"),
            lambda: svc.add_activity(s, "VE", comm1, day=dt.date(2026, 10, 1), hours=2, title="活动"),
            lambda: svc.get_team(s, "VE", comm1),
            lambda: svc.list_teams(s, comm1, parent=OTHER),
            lambda: svc.list_teams(s, Actor("user:v", "viewer")),
        ]
        for refuse in refusals:
            with pytest.raises(Forbidden), s.begin_nested():
                refuse()
        visible = [t.code for t in svc.list_teams(s, comm1)]
        teams = s.scalar(text("SELECT string_agg(code || ':' || version, ',' ORDER BY code) FROM volunteer_team"))
        members = s.scalar(text("SELECT count(*) FROM volunteer_team_member"))
        activities = s.scalar(text("SELECT count(*) FROM volunteer_activity"))
    assert own.grid_code == OWN and visible == ["VW"]
    assert (teams, members, activities) == ("VE:1,VW:1", 1, 0)
