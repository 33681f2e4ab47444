"""Rosters from the rules on a hand-made street with exact expected results: the weekly 上半夜 rotation across a
month boundary, each community's nightly 下半夜 rota, the lead community of a shared area by odd/even month, the
leader, duty cadre and community staff in turn; regeneration keeping hand-set entries; leave and substitution
rules; the notice list; the scope rule.

October 2026: the 1st is a Thursday, 9768 days after the epoch Monday 2000-01-03 (week 1395); the week of Monday
5 October is week 1396; Monday 2 November begins week 1400. October is an even month (the second rota community
leads), November an odd one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridgov.patrol import rosters
from gridgov.patrol.rosters import EPOCH
from gridgov.periods import parse_month

from tests.factories import make_street

OP = Actor.system("tests")
STREET, C1, C2 = "610103006", "610103006001", "610103006002"
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)

# code → (name, phone)
STAFF = {
    "S0": ("赵街道", "13900000000"), "SE1": ("钱一", "13900000001"), "SE2": ("孙二", "13900000002"),
    "SE3": ("李三", "13900000003"), "EM1": ("周队员", "13900000004"), "C1A": ("吴网格", "13900000005"),
    "C1B": ("郑社长", "13900000006"), "P1": ("王楼长", "13900000007"), "C2": ("冯社区", "13900000008"),
    "V1": ("陈志愿", "13900000009"), "M1": ("褚一", "13900000010"), "M2": ("卫二", "13900000011"),
    "M3": ("蒋三", "13900000012"), "V2": ("沈二", "13900000013"), "X": ("韩替", "13900000014"),
}  # fmt: skip
# code → (name, shift, unit, grid, leader)
TEAMS = {
    "E1": ("第一干部巡逻队", "上半夜", "区政府办公室", STREET, "SE1"),
    "E2": ("第二干部巡逻队", "上半夜", "区财政局", STREET, None),
    "E3": ("第三干部巡逻队", "上半夜", "区政府办公室", STREET, "SE3"),
    "L1A": ("一社区志愿队甲", "下半夜", None, C1, "V1"),
    "L1B": ("一社区志愿队乙", "下半夜", None, C1, None),
    "L2": ("二社区志愿队", "下半夜", None, C2, "V2"),
    "N": ("无班次队", None, None, C1, None),
}


def build_rota_street(s: Session) -> None:
    """The factory street with staff, posts, teams (three 上半夜 cadre teams, two 下半夜 teams in community …001 and
    one in …002, a team without a shift, a retired 上半夜 team), members with dates, and areas (…001's first team
    patrols both communities, led in turn)."""
    make_street(s)
    s.execute(text("INSERT INTO staff (code, name, phone) SELECT * FROM unnest(CAST(:c AS text[]), "
                   "CAST(:n AS text[]), CAST(:p AS text[]))"),
              {"c": list(STAFF), "n": [v[0] for v in STAFF.values()], "p": [v[1] for v in STAFF.values()]})
    posts = [("S0", STREET, "网格长"), ("C1A", C1, "网格员"), ("C1B", C1, "网格长"), ("P1", C1, "楼栋长"),
             ("C2", C2, "网格员")]
    for staff, grid, role in posts:
        s.execute(text("INSERT INTO grid_role (grid_id, staff_id, role, since) SELECT g.id, st.id, :r, '2026-01-01' "
                       "FROM grid g, staff st WHERE g.code = :g AND g.valid_to IS NULL AND st.code = :s"),
                  {"r": role, "g": grid, "s": staff})
    for code, (name, shift, unit, grid, leader) in TEAMS.items():
        s.execute(text("""INSERT INTO patrol_team (code, name, kind, shift, unit, grid_id, leader_staff_id)
                          VALUES (:c, :n, :k, :s, :u, (SELECT id FROM grid WHERE code = :g AND valid_to IS NULL),
                                  (SELECT id FROM staff WHERE code = :l))"""),
                  {"c": code, "n": name, "k": "机关干部" if code.startswith("E") else "社区志愿者", "s": shift,
                   "u": unit, "g": grid, "l": leader})
    s.execute(text("INSERT INTO patrol_team (code, name, shift, valid_to, end_reason) "
                   "VALUES ('E0', '已撤销干部队', '上半夜', now(), '撤销')"))
    members = [("E2", "SE2", "队长", "2026-01-01", None), ("E1", "EM1", "队员", "2026-01-01", None),
               ("L1A", "M1", "队员", "2026-01-01", None), ("L1A", "M2", "队员", "2026-10-15", None),
               ("L1A", "M3", "队员", "2026-01-01", "2026-10-01"), ("L1A", "V1", "队长", "2026-01-01", None)]
    for team, staff, role, since, until in members:
        s.execute(text("INSERT INTO patrol_team_member (team_id, staff_id, role, since, until) "
                       "SELECT t.id, st.id, :r, CAST(:a AS date), CAST(:b AS date) FROM patrol_team t, staff st "
                       "WHERE t.code = :t AND t.valid_to IS NULL AND st.code = :s"),
                  {"t": team, "s": staff, "r": role, "a": since, "b": until})
    areas = [("A-E1", "干部巡逻区", "E1", [STREET], []), ("A-L1A", "一二社区联防区", "L1A", [C1, C2], [C1, C2]),
             ("Z-L1A", "一社区备用区", "L1A", [C1], []), ("A-L2", "二社区巡逻区", "L2", [C2], [C2])]
    for code, name, team, grids, rota in areas:
        s.execute(text(
            """INSERT INTO patrol_area (code, name, team_id, geom, rota_grid_ids)
               SELECT :c, :n, (SELECT id FROM patrol_team WHERE code = :t AND valid_to IS NULL),
                      (SELECT ST_Multi(ST_Union(geom)) FROM grid WHERE code = ANY(:g) AND valid_to IS NULL),
                      (SELECT array_agg(id ORDER BY array_position(CAST(:r AS text[]), CAST(code AS text)))
                         FROM grid WHERE code = ANY(:r) AND valid_to IS NULL)"""),
            {"c": code, "n": name, "t": team, "g": grids, "r": rota})


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    """The rota street on the emptied test database."""
    with session_scope(clean_engine) as s:
        build_rota_street(s)
    return clean_engine


def community_actor(s: Session, code: str = C1) -> Actor:
    """A community worker scoped to ``code``."""
    gid = s.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code})
    return Actor(name="user:comm", role="community", scope_grid_id=gid, scope_code=code)


def summary(e: rosters.RosterEntry) -> tuple[Any, ...]:
    """An entry as (night, shift, team, area, lead community, leader, duty cadre, community staff, source)."""
    code = lambda p: p.code if p else None  # noqa: E731
    return (e.night.day, e.shift, e.team_code, e.area_code, e.lead_grid_code, code(e.leader), code(e.duty_cadre),
            code(e.community_staff), e.source)


def test_a_month_follows_the_rules(street: Engine) -> None:
    assert (OCT - EPOCH).days == 9768 and OCT.weekday() == 3 and (dt.date(2026, 10, 5) - EPOCH).days // 7 == 1396
    with session_scope(street) as s:
        report = rosters.generate_month(s, OCT, OP)
        month = rosters.month_roster(s, OCT)
    assert (report.created, report.replaced, report.kept, report.planned) == (93, 0, 0, 93)
    assert month.street == "文艺路街道" and month.title == "文艺路街道2026年10月夜间巡逻排班表"
    got = [summary(e) for e in month.entries]
    assert got[:9] == [
        (1, "上半夜", "E1", "A-E1", None, "SE1", "SE1", "S0", "规则"),
        (1, "下半夜", "L1A", "A-L1A", C2, "V1", "SE1", "C2", "规则"),  # October: the second community leads
        (1, "下半夜", "L2", "A-L2", C2, "V2", "SE1", "C2", "规则"),
        (2, "上半夜", "E1", "A-E1", None, "SE1", "SE2", "S0", "规则"),  # E2's leader is its 队长 member
        (2, "下半夜", "L1B", None, None, None, "SE2", "C1B", "规则"),  # no area: the team's community's staff
        (2, "下半夜", "L2", "A-L2", C2, "V2", "SE2", "C2", "规则"),
        (3, "上半夜", "E1", "A-E1", None, "SE1", "SE3", "S0", "规则"),
        (3, "下半夜", "L1A", "A-L1A", C2, "V1", "SE3", "C2", "规则"),
        (3, "下半夜", "L2", "A-L2", C2, "V2", "SE3", "C2", "规则"),
    ]
    early = {e.night.day: e.team_code for e in month.entries if e.shift == "上半夜"}
    assert early == {d: "E1" if d <= 4 or 19 <= d <= 25 else "E2" if 5 <= d <= 11 or d >= 26 else "E3"
                     for d in range(1, 32)}  # fmt: skip
    late_c1 = [e.team_code for e in month.entries if e.shift == "下半夜" and e.team_grid_code == C1]
    assert late_c1 == ["L1A", "L1B"] * 15 + ["L1A"]
    assert all(e.team_code == "L2" for e in month.entries if e.shift == "下半夜" and e.team_grid_code == C2)
    staff_c1 = {e.night.day: e.community_staff.code for e in month.entries if e.team_code == "L1B"}  # type: ignore[union-attr]
    assert set(staff_c1.values()) == {"C1B"}  # L1B patrols on odd-numbered days since the epoch: always C1B's turn


def test_the_next_month_continues_the_rotation_and_the_other_community_leads(street: Engine) -> None:
    with session_scope(street) as s:
        rosters.generate_month(s, OCT, OP)
        rosters.generate_month(s, NOV, OP)
        oct_ = rosters.month_roster(s, OCT)
        nov = rosters.month_roster(s, NOV)
    early = [(e.night, e.team_code) for m in (oct_, nov) for e in m.entries if e.shift == "上半夜"]
    around = {d.isoformat(): t for d, t in early if dt.date(2026, 10, 24) <= d <= dt.date(2026, 11, 10)}
    assert around == {
        "2026-10-24": "E1", "2026-10-25": "E1", "2026-10-26": "E2", "2026-10-27": "E2", "2026-10-28": "E2",
        "2026-10-29": "E2", "2026-10-30": "E2", "2026-10-31": "E2", "2026-11-01": "E2",  # one week over the month
        "2026-11-02": "E3", "2026-11-03": "E3", "2026-11-04": "E3", "2026-11-05": "E3", "2026-11-06": "E3",
        "2026-11-07": "E3", "2026-11-08": "E3", "2026-11-09": "E1", "2026-11-10": "E1",
    }  # fmt: skip
    shared = {(e.night.month, e.lead_grid_code, e.community_staff.code if e.community_staff else None)
              for m in (oct_, nov) for e in m.entries if e.team_code == "L1A"}  # fmt: skip
    # November is odd: community …001 leads; its public staff (C1A, C1B; not the 楼栋长) take turns by night, and
    # L1A patrols on the even-numbered days since the epoch, which are C1A's
    assert shared == {(10, C2, "C2"), (11, C1, "C1A")}
    nov1 = [summary(e) for e in nov.entries if e.night.day == 1]
    assert nov1 == [(1, "上半夜", "E2", None, None, "SE2", "SE2", "S0", "规则"),
                    (1, "下半夜", "L1B", None, None, None, "SE2", "C1B", "规则"),
                    (1, "下半夜", "L2", "A-L2", C2, "V2", "SE2", "C2", "规则")]  # fmt: skip


def test_lead_community_by_odd_and_even_month() -> None:
    rota = ["一社区", "二社区"]
    assert [rota[rosters.lead_index(dt.date(2026, m, 1), 2)] for m in range(1, 13)] == ["一社区", "二社区"] * 6
    assert rosters.lead_index(dt.date(2027, 1, 1), 2) == 0 and rosters.lead_index(dt.date(2026, 12, 1), 2) == 1
    assert {rosters.lead_index(dt.date(2026, m, 1), 1) for m in range(1, 13)} == {0}


def test_regeneration_keeps_hand_set_entries_and_entries_with_changes(street: Engine) -> None:
    with session_scope(street) as s:
        rosters.generate_month(s, OCT, OP)
        hand = rosters.set_entry(s, OP, dt.date(2026, 10, 6), "上半夜", "E3", note="与E2对调")
        changed = rosters.record_leave(s, OP, dt.date(2026, 10, 7), "上半夜", "E2", "SE2", "出差")
        rosters.remove_entry(s, OP, dt.date(2026, 10, 8), "上半夜", "E2")
        s.execute(text("UPDATE patrol_team SET leader_staff_id = (SELECT id FROM staff WHERE code = 'EM1') "
                       "WHERE code = 'E2' AND valid_to IS NULL"))
        report = rosters.generate_month(s, OCT, OP)
        month = rosters.month_roster(s, OCT)
    assert (hand.source, hand.team_code, hand.leader.code if hand.leader else None) == ("手工", "E3", "SE3")
    assert (report.created, report.replaced, report.kept) == (91, 91, 2)
    night6 = [summary(e) for e in month.entries if e.night.day == 6 and e.shift == "上半夜"]
    assert night6 == [(6, "上半夜", "E3", None, None, "SE3", "SE3", "S0", "手工")]  # the rule's E2 is not added
    kept = next(e for e in month.entries if e.night.day == 7 and e.shift == "上半夜")
    assert (kept.id, kept.team_code, kept.leader.code, kept.changes_text) == (  # type: ignore[union-attr]
        changed.id, "E2", "SE2", "孙二请假（出差）")
    again = next(e for e in month.entries if e.night.day == 8 and e.shift == "上半夜")
    assert (again.team_code, again.leader.code, again.source) == ("E2", "EM1", "规则")  # type: ignore[union-attr]


def test_set_entry_by_hand_fills_from_the_rules_and_changes_only_what_is_given(street: Engine) -> None:
    night = dt.date(2026, 11, 3)  # 9801 days: duty SE1 (index 0); …001's staff C1B (index 1)
    with session_scope(street) as s:
        made = rosters.set_entry(s, OP, night, "下半夜", "L1A")
        assert summary(made) == (3, "下半夜", "L1A", "A-L1A", C1, "V1", "SE1", "C1B", "手工")
        assert [m.code for m in made.members] == ["V1", "M1", "M2"]  # M2 joined on 15 October
        edited = rosters.set_entry(s, OP, night, "下半夜", "L1A", area="Z-L1A", duty_cadre="SE3", community_staff="",
                                   note=" 加强巡逻 ")  # fmt: skip
        assert summary(edited) == (3, "下半夜", "L1A", "Z-L1A", None, "V1", "SE3", None, "手工")
        assert edited.note == "加强巡逻" and edited.id == made.id and edited.updated_by == "tests"
        with pytest.raises(NotFound, match="巡逻队不存在：NOPE.*gridgov patrol team add NOPE"):
            rosters.set_entry(s, OP, night, "下半夜", "NOPE")
        with pytest.raises(NotFound, match="人员不存在：ZZ"):
            rosters.set_entry(s, OP, night, "下半夜", "L1A", leader="ZZ")
        with pytest.raises(InvalidInput, match="班次应为上半夜或下半夜"):
            rosters.set_entry(s, OP, night, "白天", "L1A")
        gone = rosters.remove_entry(s, OP, night, "下半夜", "L1A")
        assert gone.id == made.id and rosters.night_roster(s, night) == []
        with pytest.raises(NotFound, match="没有巡逻队 L1A 的排班"):
            rosters.remove_entry(s, OP, night, "下半夜", "L1A")


def test_leave_and_substitution_only_for_people_on_the_shift(street: Engine) -> None:
    night = dt.date(2026, 10, 1)  # L1A: leader V1, members V1 (队长), M1; M2 joins on the 15th, M3 left on the 1st
    with session_scope(street) as s:
        rosters.generate_month(s, OCT, OP)
        for outsider in ("M2", "M3", "X", "C1A"):
            with pytest.raises(InvalidInput, match=f"{outsider} 不在 2026-10-01 下半夜巡逻队 L1A 的排班中"):
                rosters.record_leave(s, OP, night, "下半夜", "L1A", outsider)
        rosters.record_leave(s, OP, night, "下半夜", "L1A", "M1", "生病")
        with pytest.raises(Conflict, match="褚一（M1）当班已登记请假"):
            rosters.record_leave(s, OP, night, "下半夜", "L1A", "M1")
        e = rosters.record_substitution(s, OP, night, "下半夜", "L1A", "V1", "X", "家中有事")
        with pytest.raises(Conflict, match="陈志愿（V1）当班已由 韩替 替班"):
            rosters.record_substitution(s, OP, night, "下半夜", "L1A", "V1", "M2")
        with pytest.raises(Conflict, match="陈志愿（V1）当班已由 韩替 替班"):
            rosters.record_leave(s, OP, night, "下半夜", "L1A", "V1")
        with pytest.raises(Conflict, match="冯社区（C2）已在本班次的排班中"):
            rosters.record_substitution(s, OP, night, "下半夜", "L1A", "SE1", "C2")
        with pytest.raises(InvalidInput, match="替班人员不能是被替换的本人"):
            rosters.record_substitution(s, OP, night, "下半夜", "L1A", "SE1", "SE1")
        duty = rosters.record_substitution(s, OP, night, "下半夜", "L1A", "SE1", "SE3")
        with pytest.raises(NotFound, match="没有巡逻队 E2 的排班"):
            rosters.record_leave(s, OP, night, "上半夜", "E2", "SE2")
        rows = s.execute(text("SELECT c.kind, st.code, sb.code, c.note, c.created_by FROM roster_change c "
                              "JOIN staff st ON st.id = c.staff_id LEFT JOIN staff sb ON sb.id = c.substitute_staff_id "
                              "ORDER BY c.id")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("请假", "M1", None, "生病", "tests"), ("替班", "V1", "X", "家中有事", "tests"),
                                        ("替班", "SE1", "SE3", None, "tests")]  # fmt: skip
    assert e.changes_text == "褚一请假（生病）；韩替替陈志愿（家中有事）"
    assert [(p.staff.code, p.duty, p.status, p.replaces.code if p.replaces else None) for p in e.crew()] == [
        ("V1", "带队", "已替班", None), ("X", "带队", "替班", "V1"), ("M1", "队员", "请假", None)]
    assert [(p.staff.code, p.duty, p.status) for p in duty.on_duty()] == [
        ("SE1", "值班领导", "已替班"), ("SE3", "值班领导", "替班"), ("C2", "社区值班", "在岗")]


def test_the_notice_list_groups_by_unit_with_who_comes(street: Engine) -> None:
    night = dt.date(2026, 10, 2)  # E1 (上半夜), L1B and L2 (下半夜); duty cadre SE2
    with session_scope(street) as s:
        rosters.generate_month(s, OCT, OP)
        rosters.record_leave(s, OP, night, "上半夜", "E1", "EM1", "年假")
        rosters.record_substitution(s, OP, night, "下半夜", "L2", "V2", "X")
        notice = rosters.notices(s, night)
    assert notice.title == "文艺路街道2026年10月2日（星期五）夜间巡逻通知名单"
    got = [(g.unit, [(i.entry.team_code, i.entry.shift, i.entry.area_name,
                      [(p.staff.name, p.staff.phone, p.duty) for p in i.to_call],
                      [(p.staff.name, p.status) for p in i.away]) for i in g.items]) for g in notice.groups]
    assert got == [
        ("区政府办公室", [("E1", "上半夜", "干部巡逻区", [("钱一", "13900000001", "带队")], [("周队员", "请假")])]),
        ("文艺北路一社区", [("L1B", "下半夜", None, [], [])]),
        ("文艺北路二社区", [("L2", "下半夜", "二社区巡逻区", [("韩替", "13900000014", "带队")],
                             [("沈二", "已替班")])]),
    ]  # fmt: skip
    assert [(p.staff.name, p.duty, p.status) for p in notice.on_duty] == [
        ("孙二", "值班领导", "在岗"), ("郑社长", "社区值班", "在岗"), ("冯社区", "社区值班", "在岗"),
        ("赵街道", "社区值班", "在岗")]  # fmt: skip
    assert notice.count == 6
    data = notice.as_dict()
    assert data["units"][0]["teams"][0]["to_call"] == [
        {"code": "SE1", "name": "钱一", "phone": "13900000001", "duty": "带队", "status": "在岗", "replaces": None}]
    with session_scope(street) as s:
        empty = rosters.notices(s, dt.date(2026, 12, 1))
    assert (empty.groups, empty.on_duty, empty.count) == ([], [], 0)


def test_the_scope_rule_names_the_team_and_the_lead_community(street: Engine) -> None:
    with session_scope(street) as s:
        comm = community_actor(s)
        with pytest.raises(Forbidden, match="超出权限范围"):
            rosters.generate_month(s, OCT, comm)  # the street's cadre teams are outside …001
        with pytest.raises(Forbidden, match="超出权限范围：610103006002"):
            rosters.generate_month(s, OCT, comm, grid=C2)
        with pytest.raises(Forbidden, match="超出权限范围"):
            rosters.generate_month(s, OCT, comm, grid=C1)  # in October …002 leads the shared area
        report = rosters.generate_month(s, NOV, comm, grid=C1)
        assert (report.created, report.planned) == (30, 30)
        teams = set(s.scalars(text("SELECT DISTINCT t.code FROM patrol_roster r JOIN patrol_team t "
                                   "ON t.id = r.team_id")))  # fmt: skip
        assert teams == {"L1A", "L1B"}
        night = dt.date(2026, 11, 2)  # 9800 days: L1A
        rosters.record_leave(s, comm, night, "下半夜", "L1A", "M1")
        with pytest.raises(Forbidden, match="超出权限范围"):
            rosters.set_entry(s, comm, night, "下半夜", "L2")
        with pytest.raises(Forbidden, match="超出权限范围"):
            rosters.remove_entry(s, comm, night, "上半夜", "E1")  # refused before saying it does not exist
        with pytest.raises(Forbidden, match="权限不足"):
            rosters.set_entry(s, Actor("user:v", "viewer"), night, "下半夜", "L1A")


def test_a_month_without_teams_with_shifts_is_refused_with_the_way_out(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="没有可排班的巡逻队.*--shift"):
            rosters.generate_month(s, OCT, OP)


def test_months_are_read_as_people_write_them() -> None:
    assert parse_month("2026-10") == parse_month("2026年10月") == parse_month(" 2026-10 ") == OCT
    assert rosters.last_day(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29) and len(rosters.days_of(NOV)) == 30
    for bad in ("2026-13", "10/2026", "", "1999-12", "0000-01", "2026-00"):
        with pytest.raises(InvalidInput):
            parse_month(bad)
