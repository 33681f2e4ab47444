"""CSV track import: Chinese headings in GBK, one track per person and shift (or day), the team from membership,
daytime inspections, row-numbered errors (atomic), the team that does not exist, and the cleaning's report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput, NotFound
from gridgov.patrol.csv_tracks import import_csv_tracks
from gridgov.patrol.track_import import import_track_file
from gridgov.patrol.tracks import grid_coverage, track_grid_stats

from tests.factories import X0, Y0, D, make_street

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = dt.date(2026, 10, 1)
ACTOR = Actor.system("导入员")
Row = tuple[str, float, float, str]  # time, lon, lat, person


def at(day: dt.date, h: int, m: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), TZ)


def walk(start: dt.datetime, minutes: int, person: str = "", x: float = X0 + 0.001, y: float = Y0 + D / 2,
         every: int = 1) -> list[Row]:  # fmt: skip
    """A fix every ``every`` minutes for ``minutes`` minutes, walking east inside compound A (≈ 0.46 m/s)."""
    return [(f"{start + dt.timedelta(minutes=i):%Y-%m-%d %H:%M:%S}", round(x + 0.0003 * (i % 10), 7), y, person)
            for i in range(0, minutes + 1, every)]  # fmt: skip


def write(path: Path, rows: list[Row], heading: str = "时间,经度,纬度,人员编码", encoding: str = "gbk") -> Path:
    body = [heading] + [",".join(str(c) for c in (r if "人员" in heading or "person" in heading else r[:3]))
                        for r in rows]  # fmt: skip
    path.write_text("\n".join(body) + "\n", encoding=encoding)
    return path


def setup(s: Session) -> None:
    """The factory street; teams T1 (area 西) and T2 (area 东); S01 in T1, S02 in T2, S03 in no team."""
    make_street(s)
    for code, grid in (("T1", "610103006001"), ("T2", "610103006002")):
        s.execute(text("INSERT INTO patrol_team (code, name) VALUES (:c, :n)"), {"c": code, "n": f"{code}队"})
        s.execute(text("INSERT INTO patrol_area (code, team_id, geom) SELECT 'A-' || t.code, t.id, g.geom "
                       "FROM patrol_team t, grid g WHERE t.code = :c AND g.code = :g"), {"c": code, "g": grid})
    for code, name in (("S01", "张三"), ("S02", "李四"), ("S03", "王五")):
        s.execute(text("INSERT INTO staff (code, name) VALUES (:c, :n)"), {"c": code, "n": name})
    for staff, team in (("S01", "T1"), ("S02", "T2")):
        s.execute(text("INSERT INTO patrol_team_member (team_id, staff_id, since) SELECT t.id, s.id, '2026-01-01' "
                       "FROM patrol_team t, staff s WHERE t.code = :t AND s.code = :s"), {"t": team, "s": staff})


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    with session_scope(clean_engine) as s:
        setup(s)
    return clean_engine


def tracks(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT t.code, s.code, k.kind, k.night, k.shift, k.started_at, k.ended_at, "
            "(SELECT count(*) FROM patrol_point p WHERE p.track_id = k.id), ST_NumGeometries(k.geom) "
            "FROM patrol_track k LEFT JOIN patrol_team t ON t.id = k.team_id LEFT JOIN staff s ON s.id = k.staff_id "
            "ORDER BY s.code, k.started_at"))]  # fmt: skip


def test_one_track_per_person_and_shift_with_the_team_from_membership(street: Engine, tmp_path: Path) -> None:
    s01 = walk(at(NIGHT, 22), 60, "S01") + walk(at(NIGHT, 23, 40), 50, "S01")  # 上半夜, then 下半夜 across midnight
    s02 = walk(at(NIGHT, 20, 30), 30, "李四", x=X0 + D + 0.002)  # named, not coded: one 李四 on the staff
    rows = [r for pair in zip(s01, s02, strict=False) for r in pair] + s01[len(s02):]  # interleaved
    path = write(tmp_path / "手机导出.csv", list(reversed(rows)))  # newest first: sorted per person
    with session_scope(street) as s:
        report = import_csv_tracks(s, path, actor=ACTOR)
    assert (report.tracks, report.points, report.nights, report.shifts) == (3, 143, [NIGHT], {"上半夜": 2, "下半夜": 1})
    assert [(i.staff_code, i.staff_name, i.team_code, i.shift, i.points) for i in report.items] == [
        ("S01", "张三", "T1", "下半夜", 51), ("S01", "张三", "T1", "上半夜", 61), ("S02", "李四", "T2", "上半夜", 31)]
    assert tracks(street) == [
        ("T1", "S01", "夜间巡逻", NIGHT, "上半夜", at(NIGHT, 22), at(NIGHT, 23), 61, 1),
        ("T1", "S01", "夜间巡逻", NIGHT, "下半夜", at(NIGHT, 23, 40), at(NIGHT + dt.timedelta(days=1), 0, 30), 51, 1),
        ("T2", "S02", "夜间巡逻", NIGHT, "上半夜", at(NIGHT, 20, 30), at(NIGHT, 21), 31, 1),
    ]
    with street.connect() as conn:
        source = conn.execute(text("SELECT DISTINCT source FROM patrol_track")).scalar_one()
    assert source == "CSV 手机导出.csv"


def test_a_team_file_in_utf8_with_english_headings(street: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "t1.csv", walk(at(NIGHT, 20, 30), 40), heading="time,lon,lat", encoding="utf-8-sig")
    with session_scope(street) as s:
        report = import_track_file(s, path, actor=ACTOR, team_code="T1", dry_run=True)
        assert tracks(street) == []
        import_track_file(s, path, actor=ACTOR, team_code="T1")
    assert report.dry_run and report.tracks == 1 and report.items[0].track_id is None
    assert tracks(street) == [("T1", None, "夜间巡逻", NIGHT, "上半夜", at(NIGHT, 20, 30), at(NIGHT, 21, 10), 41, 1)]


def test_errors_name_their_rows_and_nothing_is_written(street: Engine, tmp_path: Path) -> None:
    rows = walk(at(NIGHT, 20, 30), 20, "S01")
    rows[2] = ("昨晚八点", *rows[2][1:])  # row 4 of the file
    rows[5] = (rows[5][0], "", rows[5][2], "S01")  # row 7
    rows[8] = (rows[8][0], rows[8][1] + 1.0, rows[8][2], "S01")  # row 10: ~90 km east
    rows += walk(at(NIGHT, 20, 30), 5, "S09")  # rows 23–28: nobody
    path = write(tmp_path / "bad.csv", rows)
    with session_scope(street) as s, pytest.raises(InvalidInput) as err:
        import_csv_tracks(s, path, actor=ACTOR)
    message = err.value.message
    assert message.startswith("CSV 文件 bad.csv 有 4 处错误，未导入任何轨迹")
    assert "第 4 行：无法识别的时间：昨晚八点" in message
    assert "第 7 行（S01 2026-10-01 上半夜 的轨迹（自第 2 行））：坐标为空或非数值" in message
    assert "第 10 行（S01 2026-10-01 上半夜 的轨迹（自第 2 行））：" in message and "远离本街道" in message
    assert "工作人员不存在：S09" in message
    assert sorted(d["row"] for d in err.value.details if d["row"]) == [4, 7, 10]
    assert tracks(street) == []


def test_a_team_that_does_not_exist_says_how_to_create_it(street: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "t9.csv", walk(at(NIGHT, 20, 30), 10), heading="time,lon,lat")
    with session_scope(street) as s, pytest.raises(NotFound) as err:
        import_csv_tracks(s, path, actor=ACTOR, team_code="T9")
    assert err.value.message == ("巡逻队不存在：T9。请先创建：gridgov patrol team add T9 --name 名称"
                                 "（或在「巡逻队」页面新建）")
    with session_scope(street) as s, pytest.raises(NotFound, match="工作人员不存在：S99"):
        import_csv_tracks(s, path, actor=ACTOR, staff_code="S99")


def test_night_patrols_need_a_night_window_and_a_team(street: Engine, tmp_path: Path) -> None:
    noon = write(tmp_path / "noon.csv", walk(at(NIGHT, 12), 30, "S01"))
    lone = write(tmp_path / "lone.csv", walk(at(NIGHT, 20, 30), 30, "S03"))
    nobody = write(tmp_path / "nobody.csv", walk(at(NIGHT, 20, 30), 30), heading="time,lon,lat")
    with session_scope(street) as s:
        with pytest.raises(InvalidInput, match="不在夜间巡逻时段"):
            import_csv_tracks(s, noon, actor=ACTOR)
        with pytest.raises(InvalidInput, match="王五（S03）2026-10-01 不是任何巡逻队的队员，请指定巡逻队"):
            import_csv_tracks(s, lone, actor=ACTOR)
        with pytest.raises(InvalidInput, match="夜间巡逻轨迹须指定巡逻队"):
            import_csv_tracks(s, nobody, actor=ACTOR)
        report = import_csv_tracks(s, lone, actor=ACTOR, team_code="T1")  # a stand-in: named team, not a member
    assert [(i.team_code, i.staff_code) for i in report.items] == [("T1", "S03")]


def test_daytime_inspections_any_hour_their_own_figures(street: Engine, tmp_path: Path) -> None:
    morning = write(tmp_path / "日巡查.csv", walk(at(NIGHT, 9, 30), 40, "S03"))
    mine = write(tmp_path / "mine.csv", walk(at(NIGHT, 14), 20), heading="time,lon,lat")
    with session_scope(street) as s:
        with pytest.raises(InvalidInput, match="日巡查轨迹须指定人员"):
            import_csv_tracks(s, mine, actor=ACTOR, kind="日巡查", team_code="T1")
        day = import_csv_tracks(s, morning, actor=ACTOR, kind="日间巡查")  # a synonym
        afternoon = import_csv_tracks(s, mine, actor=ACTOR, kind="日巡查", staff_code="S01", team_code="T1")
    assert (day.kind, day.shifts, day.nights, day.items[0].shift, day.items[0].team_code) == (
        "日巡查", {}, [NIGHT], None, None)
    assert (afternoon.items[0].team_code, afternoon.items[0].staff_code) == ("T1", "S01")
    assert tracks(street) == [
        ("T1", "S01", "日巡查", NIGHT, None, at(NIGHT, 14), at(NIGHT, 14, 20), 21, 1),
        (None, "S03", "日巡查", NIGHT, None, at(NIGHT, 9, 30), at(NIGHT, 10, 10), 41, 1),
    ]
    with session_scope(street) as s:
        stored = s.execute(text("SELECT count(*), round(sum(seconds_inside)) FROM track_grid_stat")).one()
        assert tuple(stored) == (2, 3600)  # both inspections' figures are stored at import (40 + 20 minutes)
        night = track_grid_stats(s, date_from=NIGHT, date_to=NIGHT)
        day_stats = track_grid_stats(s, date_from=NIGHT, date_to=NIGHT, kind="日巡查", team_code="T1")
        night_cover = grid_coverage(s, date_from=NIGHT, date_to=NIGHT, level="compound", team_code="T1")
        day_cover = grid_coverage(s, date_from=NIGHT, date_to=NIGHT, level="compound", team_code="T1", kind="日巡查")
    assert night == [] and [(r.grid_code, round(r.seconds_inside)) for r in day_stats] == [("610103006001001", 1200)]
    ids = {v.ratio > 0 for v in night_cover.values()}
    assert ids == {False} and any(v.ratio > 0 for v in day_cover.values())


def test_the_cleaning_is_reported_and_kept_on_the_points(street: Engine, tmp_path: Path) -> None:
    rows = walk(at(NIGHT, 20, 30), 30, every=1)
    rows = rows[:10] + rows[20:]  # 20:39 → 20:50: an 11-minute gap, row 12 is the first fix after it
    rows[15] = (rows[15][0], X0 + 0.012, rows[15][2], "")  # row 17: 870 m east for one minute
    path = write(tmp_path / "clean.csv", rows, heading="time,lon,lat")
    with session_scope(street) as s:
        report = import_csv_tracks(s, path, actor=ACTOR, team_code="T1", max_gap_minutes=5, max_speed_kmh=40)
    item = report.items[0]
    assert (report.jumps, report.gaps) == (1, 1)
    assert item.jumps == [at(NIGHT, 20, 55)]
    assert [(g.after, g.at, g.minutes) for g in item.gaps] == [(at(NIGHT, 20, 39), at(NIGHT, 20, 50), 11.0)]
    with street.connect() as conn:
        flags = conn.execute(text("SELECT seq, flag FROM patrol_point WHERE flag IS NOT NULL ORDER BY seq")).all()
        parts = conn.execute(text("SELECT ST_NumGeometries(geom), ST_NPoints(geom) FROM patrol_track")).one()
    assert [tuple(f) for f in flags] == [(10, "断点"), (15, "跳点")]
    assert tuple(parts) == (2, 20)  # 21 fixes less the jump, in two lines
