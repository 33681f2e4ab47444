"""Attendance (考勤) on a hand-made roster and hand-made tracks: on time, late, left early, absent, a gap, a GPS jump,
a track crossing midnight into 下半夜, per-person tracks with leave and a substitution, the allowance, a night
without tracks, and the month's workbook."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.config import PatrolSettings
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput, NotFound
from gridgov.patrol.attendance import attendance, month_attendance, worst_first, write_month_xlsx
from gridgov.patrol.csv_tracks import import_csv_tracks
from gridgov.periods import month_range

from tests.factories import X0, Y0, D, make_street

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = dt.date(2026, 10, 14)
NEXT = NIGHT + dt.timedelta(days=1)
A, B, C = "610103006001001", "610103006001002", "610103006002001"
WEST, EAST = "610103006001", "610103006002"
GEOD = Geod(ellps="WGS84")
Fix = tuple[float, float, dt.datetime, str | None]  # lon, lat, time, flag


def at(day: dt.date, h: int, m: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), TZ)


def walk(start: dt.datetime, end: dt.datetime, x0: float, x1: float, y: float, step_deg: float = 0.0003) -> list[Fix]:
    """A fix a minute from ``start`` to ``end`` (inclusive), walking east and back between x0 and x1 at latitude y."""
    out: list[Fix] = []
    span = x1 - x0
    n = int((end - start).total_seconds() // 60)
    for i in range(n + 1):
        u = (i * step_deg) % (2 * span)
        out.append((round(x0 + (u if u <= span else 2 * span - u), 7), y, start + dt.timedelta(minutes=i), None))
    return out


def walked_metres(fixes: list[Fix]) -> float:
    """Metres between consecutive fixes on the ellipsoid, jumps left out, the segment ending at a gap not walked."""
    kept = [f for f in fixes if f[3] != "跳点"]
    total = 0.0
    for a, b in zip(kept, kept[1:], strict=False):
        if b[3] != "断点":
            total += GEOD.inv(a[0], a[1], b[0], b[1])[2]
    return total


def add_track(s: Session, team_id: int, fixes: list[Fix], staff_id: int | None = None, shift: str = "上半夜",
              night: dt.date = NIGHT) -> int:  # fmt: skip
    """A night track and its points written directly (the geometry: the kept fixes, split at gaps)."""
    parts: list[list[tuple[float, float]]] = [[]]
    for lon, lat, _, flag in fixes:
        if flag == "跳点":
            continue
        if flag == "断点":
            parts.append([])
        parts[-1].append((lon, lat))
    geom = shapely.MultiLineString([p for p in parts if len(p) > 1])
    track = int(s.execute(text(
        "INSERT INTO patrol_track (team_id, staff_id, kind, night, shift, started_at, ended_at, geom, source) "
        "VALUES (:t, :s, '夜间巡逻', :n, :sh, :a, :b, ST_GeomFromWKB(:w, 4326), 'test') RETURNING id"),
        {"t": team_id, "s": staff_id, "n": night, "sh": shift, "a": fixes[0][2], "b": fixes[-1][2],
         "w": geom.wkb}).scalar_one())  # fmt: skip
    s.execute(text(
        "INSERT INTO patrol_point (track_id, seq, t, geom, flag) SELECT :k, u.i - 1, u.t, "
        "ST_SetSRID(ST_MakePoint(u.x, u.y), 4326), u.f FROM unnest(CAST(:t AS timestamptz[]), CAST(:x AS float8[]), "
        "CAST(:y AS float8[]), CAST(:f AS text[])) WITH ORDINALITY AS u(t, x, y, f, i)"),
        {"k": track, "t": [f[2] for f in fixes], "x": [f[0] for f in fixes], "y": [f[1] for f in fixes],
         "f": [f[3] for f in fixes]})  # fmt: skip
    return track


def one(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).scalar_one()


def staff(s: Session, code: str, name: str) -> int:
    return int(one(s, "INSERT INTO staff (code, name, phone) VALUES (:c, :n, '13800000000') RETURNING id", c=code,
                   n=name))  # fmt: skip


def team(s: Session, code: str, name: str, shift: str, community: str, unit: str) -> int:
    team_id = int(one(s, "INSERT INTO patrol_team (code, name, kind, shift, unit, grid_id) SELECT :c, :n, :k, :sh, :u, "
                         "id FROM grid WHERE code = :g AND valid_to IS NULL RETURNING id", c=code, n=name, sh=shift,
                      u=unit, g=community, k="机关干部" if shift == "上半夜" else "社区志愿者"))  # fmt: skip
    s.execute(text("INSERT INTO patrol_area (code, name, team_id, geom) SELECT :c, :n, :t, geom FROM grid "
                   "WHERE code = :g AND valid_to IS NULL"), {"c": f"A-{code}", "n": f"{name}区域", "t": team_id,
                                                             "g": community})  # fmt: skip
    return team_id


def member(s: Session, team_id: int, staff_id: int, role: str = "队员", since: dt.date = dt.date(2025, 1, 1)) -> None:
    s.execute(text("INSERT INTO patrol_team_member (team_id, staff_id, role, since) VALUES (:t, :s, :r, :d)"),
              {"t": team_id, "s": staff_id, "r": role, "d": since})  # fmt: skip


def roster(s: Session, night: dt.date, shift: str, team_id: int, leader: int | None = None) -> int:
    return int(one(s, "INSERT INTO patrol_roster (night, shift, team_id, leader_staff_id, source) "
                      "VALUES (:n, :sh, :t, :l, '规则') RETURNING id", n=night, sh=shift, t=team_id,
                   l=leader))  # fmt: skip


IN_A = (X0 + 0.001, X0 + 0.004, Y0 + D / 2)
IN_C = (X0 + D + 0.002, X0 + D + 0.008, Y0 + D / 2)
JUMP_IN_B = (X0 + 0.0095, Y0 + D / 2)


def t1_fixes(night: dt.date = NIGHT) -> list[Fix]:
    """T1 (上半夜, area 西): 20:10–23:25 in A, a 20-minute gap after 21:00, one GPS jump into B at 22:00."""
    walked = walk(at(night, 20, 10), at(night, 23, 25), *IN_A)
    fixes = [f for f in walked if not at(night, 21) < f[2] < at(night, 21, 20)]
    out: list[Fix] = []
    for lon, lat, t, _ in fixes:
        if t == at(night, 21, 20):
            out.append((lon, lat, t, "断点"))
        elif t == at(night, 22):
            out.append((*JUMP_IN_B, t, "跳点"))
        else:
            out.append((lon, lat, t, None))
    return out


def t2_fixes(night: dt.date = NIGHT) -> list[Fix]:
    """T2 (上半夜, area 东) is late: its first fix is at 20:20, the grace 15 minutes."""
    return walk(at(night, 20, 20), at(night, 23, 25), *IN_C)


def t5_fixes(night: dt.date = NIGHT) -> dict[str, list[Fix]]:
    """T5's members walking together (下半夜, area 东), each with their own phone."""
    after = night + dt.timedelta(days=1)
    return {"S51": walk(at(night, 23, 35), at(after, 5, 55), IN_C[0], IN_C[1], Y0 + 0.3 * D),
            "S55": walk(at(night, 23, 35), at(after, 5, 55), IN_C[0], IN_C[1], Y0 + 0.6 * D),
            "S56": walk(at(night, 23, 40), at(after, 5, 50), IN_C[0], IN_C[1], Y0 + 0.7 * D)}  # fmt: skip


T2 = t2_fixes()
T5 = t5_fixes()


def t3_csv(path: Path, night: dt.date = NIGHT) -> Path:
    """T3's 下半夜 as a phone export (local times, Chinese headings): 23:40 → 05:30 the next day, in A."""
    after = night + dt.timedelta(days=1)
    rows = ["时间,经度,纬度"] + [f"{t:%Y-%m-%d %H:%M:%S},{lon},{lat}"
                                for lon, lat, t, _ in walk(at(night, 23, 40), at(after, 5, 30), *IN_A)]  # fmt: skip
    path.write_text("\n".join(rows) + "\n", encoding="gbk")
    return path


def build(s: Session, tmp: Path, night: dt.date = NIGHT) -> dict[str, int]:
    """The hand-made street, teams, members, roster (``night`` and the next), leave, a substitution, and the
    tracks."""
    after = night + dt.timedelta(days=1)
    make_street(s)
    ids = {code: staff(s, code, name) for code, name in (
        ("S11", "赵一"), ("S12", "钱二"), ("S21", "孙三"), ("S31", "李四"), ("S41", "周五"), ("S51", "吴六"),
        ("S52", "郑七"), ("S53", "王八"), ("S55", "冯九"), ("S56", "陈十"))}  # fmt: skip
    t1 = team(s, "T1", "机关一队", "上半夜", WEST, "街道办")
    t2 = team(s, "T2", "机关二队", "上半夜", EAST, "城管中队")
    t3 = team(s, "T3", "西社区夜巡队", "下半夜", WEST, "西社区")
    t4 = team(s, "T4", "机关四队", "上半夜", EAST, "司法所")
    t5 = team(s, "T5", "东社区夜巡队", "下半夜", EAST, "东社区")
    member(s, t1, ids["S11"], "队长")
    member(s, t1, ids["S12"])
    member(s, t2, ids["S21"], "队长")
    member(s, t3, ids["S31"], "队长")
    member(s, t4, ids["S41"], "队长")
    member(s, t5, ids["S51"], "队长")
    member(s, t5, ids["S52"])
    member(s, t5, ids["S53"])
    member(s, t5, ids["S56"], since=night - dt.timedelta(days=10))  # in the first month: probation
    for t in (t1, t2, t4):
        roster(s, night, "上半夜", t)
    roster(s, night, "下半夜", t3, leader=ids["S31"])
    r5 = roster(s, night, "下半夜", t5, leader=ids["S51"])
    roster(s, after, "上半夜", t1)
    roster(s, after, "上半夜", t2)
    s.execute(text("INSERT INTO roster_change (roster_id, kind, staff_id, note) VALUES (:r, '请假', :s, '病假')"),
              {"r": r5, "s": ids["S52"]})  # fmt: skip
    s.execute(text("INSERT INTO roster_change (roster_id, kind, staff_id, substitute_staff_id) "
                   "VALUES (:r, '替班', :s, :b)"), {"r": r5, "s": ids["S53"], "b": ids["S55"]})  # fmt: skip
    add_track(s, t1, t1_fixes(night), night=night)
    add_track(s, t2, t2_fixes(night), night=night)
    for code, fixes in t5_fixes(night).items():
        add_track(s, t5, fixes, ids[code], "下半夜", night=night)
    import_csv_tracks(s, t3_csv(tmp / "T3.csv", night), actor=Actor.system("t"), team_code="T3")
    return ids


@pytest.fixture
def scenario(clean_engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    with session_scope(clean_engine) as s:
        build(s, tmp_path)
    yield clean_engine


def by_team(entries: list[Any]) -> dict[tuple[dt.date, str], Any]:
    return {(e.night, e.team_code): e for e in entries}


RULES = PatrolSettings.model_construct(probation_months=1)


def test_each_rostered_team_gets_its_status_and_figures(scenario: Engine) -> None:
    with session_scope(scenario) as s:
        got = attendance(s, NIGHT, rules=RULES)
    assert [(e.shift, e.team_code, e.status, e.late, e.left_early) for e in got] == [
        ("上半夜", "T1", "出勤", False, False),  # 20:10: late within the 15-minute grace
        ("上半夜", "T2", "迟到", True, False),
        ("上半夜", "T4", "缺勤", False, False),  # no track at all
        ("下半夜", "T3", "早退", False, True),  # left at 05:30, before 05:45
        ("下半夜", "T5", "出勤", False, False),
    ]
    e = by_team(got)
    t1, t2, t3, t4, t5 = (e[(NIGHT, c)] for c in ("T1", "T2", "T3", "T4", "T5"))
    assert (t1.first_seen, t1.last_seen) == (at(NIGHT, 20, 10), at(NIGHT, 23, 25))
    # the gap (21:00 → 21:20) is not walked: 195 minutes less 20
    assert t1.minutes_inside == 175.0
    assert t1.metres == pytest.approx(walked_metres(t1_fixes()), abs=0.1)
    # the jump into B is no visit: half of the area's leaf grids
    assert (t1.coverage, t1.unvisited, t1.unvisited_names) == (0.5, [B], ["第二网格"])
    assert (t2.first_seen, t2.minutes_inside, t2.coverage, t2.unvisited) == (at(NIGHT, 20, 20), 185.0, 1.0, [])
    assert t2.metres == pytest.approx(walked_metres(T2), abs=0.1)
    assert (t4.first_seen, t4.last_seen, t4.minutes_inside, t4.metres, t4.tracks) == (None, None, 0.0, 0.0, 0)
    assert (t4.coverage, t4.unvisited) == (0.0, [C])
    # the CSV track crossing midnight belongs to the evening it started
    assert (t3.first_seen, t3.last_seen, t3.minutes_inside) == (at(NIGHT, 23, 40), at(NEXT, 5, 30), 350.0)
    # three people walking together: their time inside counts once, their metres add up
    assert (t5.tracks, t5.first_seen, t5.last_seen, t5.minutes_inside) == (3, at(NIGHT, 23, 35), at(NEXT, 5, 55),
                                                                          380.0)  # fmt: skip
    assert t5.metres == pytest.approx(sum(walked_metres(w) for w in T5.values()), abs=0.3)
    assert (t5.unit, t5.area_code, t5.leader_name) == ("东社区", "A-T5", "吴六")


def test_people_leave_substitution_and_probation(scenario: Engine) -> None:
    with session_scope(scenario) as s:
        e = by_team(attendance(s, NIGHT, rules=RULES))
    people = [(p.staff_code, p.role, p.status, p.own_tracks, p.on_leave, p.replaced_by, p.substitute_for, p.allowance)
              for p in e[(NIGHT, "T5")].people]  # fmt: skip
    assert people == [
        ("S51", "队长", "出勤", True, False, None, None, True),
        ("S52", "队员", "缺勤", False, True, None, None, False),  # 请假
        ("S53", "队员", "缺勤", False, False, "冯九", None, False),  # replaced by S55
        ("S56", "队员", "出勤", True, False, None, None, False),  # joined ten days ago: probation
        ("S55", "替班", "出勤", True, False, None, "王八", True),  # the substitute earns it
    ]
    s56 = e[(NIGHT, "T5")].people[3]
    assert (s56.first_seen, s56.last_seen, s56.minutes_inside) == (at(NIGHT, 23, 40), at(NEXT, 5, 50), 370.0)
    # a team track stands for every member without one of their own
    assert [(p.staff_code, p.role, p.status, p.own_tracks, p.allowance) for p in e[(NIGHT, "T1")].people] == [
        ("S11", "队长", "出勤", False, True), ("S12", "队员", "出勤", False, True)]
    assert [(p.staff_code, p.status, p.allowance) for p in e[(NIGHT, "T4")].people] == [("S41", "缺勤", False)]
    assert [(p.staff_code, p.role, p.status, p.allowance) for p in e[(NIGHT, "T3")].people] == [
        ("S31", "队长", "早退", True)]
    with session_scope(scenario) as s:
        free = by_team(attendance(s, NIGHT, team_code="T5"))  # no probation by default
    assert [p.allowance for p in free[(NIGHT, "T5")].people] == [True, False, False, True, True]


def test_a_night_without_tracks_is_every_team_absent(scenario: Engine) -> None:
    with session_scope(scenario) as s:
        got = attendance(s, NEXT)
        empty = attendance(s, NEXT + dt.timedelta(days=1))
    assert [(e.team_code, e.status, e.tracks, e.coverage, e.unvisited) for e in got] == [
        ("T1", "缺勤", 0, 0.0, [A, B]), ("T2", "缺勤", 0, 0.0, [C])]
    assert empty == []


def test_one_team_and_the_report_order(scenario: Engine) -> None:
    with session_scope(scenario) as s:
        only = attendance(s, NIGHT, NEXT, team_code="T2")
        ordered = worst_first(attendance(s, NIGHT))
        with pytest.raises(NotFound, match="巡逻队不存在：T9"):
            attendance(s, NIGHT, team_code="T9")
        with pytest.raises(InvalidInput, match="起始日期"):
            attendance(s, NEXT, NIGHT)
    assert [(e.night, e.status) for e in only] == [(NIGHT, "迟到"), (NEXT, "缺勤")]
    assert [e.team_code for e in ordered] == ["T4", "T2", "T3", "T1", "T5"]


def test_the_month_and_its_workbook(scenario: Engine, tmp_path: Path) -> None:
    with session_scope(scenario) as s:
        month = month_attendance(s, "2026-10", rules=PatrolSettings.model_construct(probation_months=1,
                                                                                   allowance_per_night=80.0))
    people = {p.staff_code: (p.rostered, p.present, p.late, p.left_early, p.absent, p.leave, p.replaced,
                             p.substituted, p.allowance_shifts, p.allowance) for p in month.people}  # fmt: skip
    assert people == {
        "S11": (2, 1, 0, 0, 1, 0, 0, 0, 1, 80.0),
        "S12": (2, 1, 0, 0, 1, 0, 0, 0, 1, 80.0),
        "S21": (2, 0, 1, 0, 1, 0, 0, 0, 1, 80.0),
        "S31": (1, 0, 0, 1, 0, 0, 0, 0, 1, 80.0),
        "S41": (1, 0, 0, 0, 1, 0, 0, 0, 0, 0.0),
        "S51": (1, 1, 0, 0, 0, 0, 0, 0, 1, 80.0),
        "S52": (1, 0, 0, 0, 0, 1, 0, 0, 0, 0.0),
        "S53": (1, 0, 0, 0, 0, 0, 1, 0, 0, 0.0),
        "S55": (1, 1, 0, 0, 0, 0, 0, 1, 1, 80.0),
        "S56": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0.0),
    }
    assert month.total == 480.0 and len(month.entries) == 7
    path = write_month_xlsx(month, tmp_path / "考勤表.xlsx", unit="文艺路街道")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["考勤汇总", "每日考勤", "说明"]
    rows = list(wb["考勤汇总"].iter_rows(min_row=3, values_only=True))
    assert rows[0][:4] == ("人员编码", "姓名", "巡逻队", "排班班次")
    assert rows[1] == ("S11", "赵一", "T1", 2, 1, 0, 0, 1, 0, 0, 0, 1, 80)
    assert rows[-1][0] == "合计" and rows[-1][-1] == 480
    daily = list(wb["每日考勤"].iter_rows(min_row=4, values_only=True))
    t4 = next(r for r in daily if r[2] == "机关四队（T4）")
    assert (t4[0], t4[1], t4[8], t4[9], t4[10], t4[14]) == ("2026-10-14", "上半夜", "缺勤", None, None, "第一网格")
    t3 = next(r for r in daily if r[2] == "西社区夜巡队（T3）")
    assert (t3[9], t3[10]) == ("23:40", "次日 05:30")  # the night's clock, as the 巡逻日报 writes it
    t5 = next(r for r in daily if r[2] == "东社区夜巡队（T5）")
    assert "郑七（队员 请假）" in t5[15] and "王八（队员 由冯九替班）" in t5[15] and "冯九（替王八 出勤）" in t5[15]


def test_months_are_read_strictly() -> None:
    assert month_range("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert month_range("2028-2") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    for bad in ("2026-13", "2026", "10/2026", ""):
        with pytest.raises(InvalidInput, match="月份格式"):
            month_range(bad)
