"""GPX import: round trip, night/shift across midnight, validation (atomic), duplicates, gcj02, outside report."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import gpxpy
import gpxpy.gpx
import numpy as np
import prcoords
import pytest
import shapely
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.geo.crs import MetricFrame
from gridgov.patrol.gpx import import_gpx
from gridgov.patrol.shifts import night_shift
from gridgov.patrol.tracks import track_grid_stats

from tests.factories import X0, Y0, D, make_street
from tests.geo.streets import LISBON, XIAN, inside, make_street_at

TZ = ZoneInfo("Asia/Shanghai")
Point = tuple[float, float, dt.datetime | None]  # lat, lon, time


def local(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=TZ)


def walk_points(start: dt.datetime, n: int, *, step_s: int = 20, bounce_m: float | None = 600.0) -> list[Point]:
    """``n`` fixes walking east from 180 m inside compound A at 1.5 m/s, one every ``step_s`` seconds.

    With ``bounce_m`` the walk turns back every ``bounce_m`` metres (staying inside community 西, the
    test team's area); without it, it keeps going east.
    """
    frame = MetricFrame(X0)
    x0, y0 = shapely.get_coordinates(frame.to_m(shapely.Point(X0 + 0.002, Y0 + D / 2)))[0]
    dist = 1.5 * step_s * np.arange(n)
    if bounce_m is not None:
        u = dist % (2 * bounce_m)
        dist = np.where(u <= bounce_m, u, 2 * bounce_m - u)
    ll = shapely.get_coordinates(frame.to_ll(shapely.points(np.column_stack([x0 + dist, np.full(n, y0)]))))
    return [(round(la, 7), round(lo, 7), start + dt.timedelta(seconds=step_s * i)) for i, (lo, la) in enumerate(ll)]


def write_gpx(path: Path, tracks: Sequence[dict[str, Any]]) -> Path:
    """A GPX file (gpxpy) with one ``<trk>`` per dict: name, type, desc, points [(lat, lon, time)], segments."""
    gpx = gpxpy.gpx.GPX()
    for spec in tracks:
        trk = gpxpy.gpx.GPXTrack(name=spec.get("name"), description=spec.get("desc"))
        trk.type = spec.get("type")  # type: ignore[assignment]
        for seg_points in spec["segments"] if "segments" in spec else [spec["points"]]:
            seg = gpxpy.gpx.GPXTrackSegment()
            for lat, lon, t in seg_points:
                seg.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, time=t.astimezone(dt.UTC) if t else None))
            trk.segments.append(seg)
        gpx.tracks.append(trk)
    path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8")
    return path


def setup_team(s: Session, code: str = "T1", area: str | None = "610103006001") -> None:
    make_street(s)
    team_id = s.execute(
        text("INSERT INTO patrol_team (code, name) VALUES (:c, :n) RETURNING id"), {"c": code, "n": f"{code}巡逻队"}
    ).scalar_one()
    if area:
        s.execute(
            text("INSERT INTO patrol_area (code, team_id, geom) SELECT 'A-' || :t, :t, geom FROM grid WHERE code = :g"),
            {"t": team_id, "g": area},
        )


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text("SELECT (SELECT count(*) FROM patrol_track), (SELECT count(*) FROM patrol_point)")).one()
        )  # type: ignore[return-value]


GOOD_EVENING = walk_points(local(2026, 10, 1, 20, 30), 40)
# 23:50 → 00:43 next day: a 下半夜 of night 2026-10-01, no name or type (derived from the times).
GOOD_LATE = walk_points(local(2026, 10, 1, 23, 50), 160, step_s=20)


# --------------------------------------------------------------------------------------------- round trip


def test_round_trip(clean_engine: Engine, tmp_path: Path) -> None:
    path = write_gpx(
        tmp_path / "t1.gpx",
        [
            {"name": "2026-10-01 上半夜", "type": "上半夜", "desc": "T1", "points": GOOD_EVENING},
            {"segments": [GOOD_LATE[:70], GOOD_LATE[70:]]},
        ],
    )
    with session_scope(clean_engine) as s:
        setup_team(s)
    with session_scope(clean_engine) as s:
        report = import_gpx(s, path, team_code="T1", actor=Actor.system("张三"))
    assert report.tracks == 2 and report.points == 200 and not report.dry_run
    assert report.nights == [dt.date(2026, 10, 1)]
    assert report.shifts == {"上半夜": 1, "下半夜": 1}
    assert report.outside == []
    assert [(i.index, i.night, i.shift, i.points) for i in report.items] == [
        (1, dt.date(2026, 10, 1), "上半夜", 40),
        (2, dt.date(2026, 10, 1), "下半夜", 160),
    ]
    assert counts(clean_engine) == (2, 200)
    with session_scope(clean_engine) as s:
        rows = s.execute(
            text(
                "SELECT k.id, k.night, k.shift, k.started_at, k.ended_at, ST_NPoints(k.geom) AS n, k.source, "
                "(SELECT count(*) FROM patrol_point p WHERE p.track_id = k.id) AS pts "
                "FROM patrol_track k ORDER BY k.started_at"
            )
        ).all()
        pts = s.execute(
            text("SELECT ST_Y(geom), ST_X(geom), t FROM patrol_point WHERE track_id = :k ORDER BY seq"),
            {"k": rows[1].id},
        ).all()
        actors = set(s.execute(text("SELECT actor FROM audit_log WHERE table_name = 'patrol_track'")).scalars())
        stats = track_grid_stats(s, track_ids=[r.id for r in rows])
    assert [r.id for r in rows] == [i.track_id for i in report.items]
    assert [(r.n, r.pts) for r in rows] == [(40, 40), (160, 160)]
    assert rows[0].started_at == GOOD_EVENING[0][2] and rows[0].ended_at == GOOD_EVENING[-1][2]
    assert rows[1].ended_at.astimezone(TZ).date() == dt.date(2026, 10, 2)
    assert rows[1].source == "GPX t1.gpx"
    assert [(round(a, 7), round(b, 7), t) for a, b, t in pts] == GOOD_LATE
    assert actors == {"张三"}
    # The imported tracks feed the metrics: inside the street, the seconds add up to each duration.
    for r in rows:
        inside = sum(x.seconds_inside for x in stats if x.track_id == r.id)
        assert inside == pytest.approx((r.ended_at - r.started_at).total_seconds(), abs=1e-6)


# --------------------------------------------------------------------------------------------- night and shift


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (local(2026, 10, 1, 20, 30), local(2026, 10, 1, 23, 0), (dt.date(2026, 10, 1), "上半夜")),
        (local(2026, 10, 1, 23, 45), local(2026, 10, 2, 5, 30), (dt.date(2026, 10, 1), "下半夜")),
        (local(2026, 10, 2, 2, 0), local(2026, 10, 2, 2, 0), (dt.date(2026, 10, 1), "下半夜")),
        (local(2026, 10, 1, 22, 0), local(2026, 10, 2, 1, 30), (dt.date(2026, 10, 1), "下半夜")),
        (local(2026, 10, 1, 19, 40), local(2026, 10, 1, 23, 50), (dt.date(2026, 10, 1), "上半夜")),
        (local(2026, 10, 2, 5, 50), local(2026, 10, 2, 6, 30), (dt.date(2026, 10, 1), "下半夜")),
        (local(2026, 12, 31, 23, 40), local(2027, 1, 1, 3, 0), (dt.date(2026, 12, 31), "下半夜")),
        (
            dt.datetime(2026, 10, 1, 18, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 1, 19, 0, tzinfo=dt.UTC),
            (dt.date(2026, 10, 1), "下半夜"),
        ),
    ],
)
def test_night_and_shift_across_midnight(start: dt.datetime, end: dt.datetime, expected: tuple[dt.date, str]) -> None:
    assert night_shift(start, end, TZ) == expected


def test_daytime_is_not_a_shift() -> None:
    with pytest.raises(InvalidInput, match="不在夜间巡逻时段"):
        night_shift(local(2026, 10, 1, 12, 0), local(2026, 10, 1, 13, 0), TZ)


def test_import_derives_the_evening_date_after_midnight(clean_engine: Engine, tmp_path: Path) -> None:
    after_midnight = walk_points(local(2026, 10, 2, 2, 10), 30)
    ok = write_gpx(tmp_path / "ok.gpx", [{"name": "夜巡", "points": after_midnight}])
    wrong = write_gpx(tmp_path / "wrong.gpx", [{"name": "2026-10-02 下半夜", "points": after_midnight}])
    wrong_type = write_gpx(tmp_path / "wrong_type.gpx", [{"type": "上半夜", "points": after_midnight}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        report = import_gpx(s, ok, team_code="T1", actor=Actor.system("t"), dry_run=True)
        assert (report.items[0].night, report.items[0].shift) == (dt.date(2026, 10, 1), "下半夜")
        with pytest.raises(InvalidInput, match="名称中的日期为 2026-10-02，但时间戳对应 2026-10-01 下半夜"):
            import_gpx(s, wrong, team_code="T1", actor=Actor.system("t"))
        with pytest.raises(InvalidInput, match="标注为上半夜"):
            import_gpx(s, wrong_type, team_code="T1", actor=Actor.system("t"))


# --------------------------------------------------------------------------------------------- validation


def _swap(points: list[Point], i: int) -> list[Point]:
    out = list(points)
    lat, lon, t = out[i]
    out[i] = (lon, lat, t)
    return out


def _retime(points: list[Point], i: int, delta: dt.timedelta) -> list[Point]:
    out = list(points)
    lat, lon, t = out[i]
    assert t is not None
    out[i] = (lat, lon, t + delta)
    return out


BAD_CASES = {
    "no_times": ([(la, lo, None) for la, lo, _ in GOOD_EVENING], ["第 2 条轨迹", "没有时间戳"]),
    "swapped": (_swap(GOOD_EVENING, 2), ["第 2 条轨迹", "第 3 个点", "经纬度颠倒"]),
    "decreasing": (_retime(GOOD_EVENING, 3, dt.timedelta(minutes=-5)), ["第 2 条轨迹", "第 4 个点", "时间倒序"]),
    "one_point": (GOOD_EVENING[:1], ["第 2 条轨迹", "点数不足"]),
    "nan": ([(math.nan, *GOOD_EVENING[0][1:]), *GOOD_EVENING[1:]], ["第 2 条轨迹", "第 1 个点", "坐标为空或非数值"]),
    "zero": ([*GOOD_EVENING[:5], (0.0, 0.0, GOOD_EVENING[5][2]), *GOOD_EVENING[6:]], ["第 6 个点", "远离本街道"]),
    "some_untimed": ([*GOOD_EVENING[:7], (*GOOD_EVENING[7][:2], None), *GOOD_EVENING[8:]], ["第 8 个点", "缺少时间戳"]),
    "daytime": (walk_points(local(2026, 10, 1, 12, 0), 10), ["第 2 条轨迹", "不在夜间巡逻时段"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_track_rejects_the_whole_file(clean_engine: Engine, tmp_path: Path, case: str) -> None:
    bad_points, needles = BAD_CASES[case]
    path = write_gpx(
        tmp_path / f"{case}.gpx",
        [{"name": "好轨迹", "points": GOOD_LATE}, {"name": "坏轨迹", "points": bad_points}],
    )
    with session_scope(clean_engine) as s:
        setup_team(s)
    before = counts(clean_engine)
    with session_scope(clean_engine) as s, pytest.raises(InvalidInput) as err:
        import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
    for needle in needles:
        assert needle in err.value.message
    assert all(d["track"] == 2 for d in err.value.details)
    assert counts(clean_engine) == before == (0, 0)


def test_unreadable_files_and_unknown_team(clean_engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gpx"
    broken.write_text("<gpx><trk><trkseg><trkpt lat='34", encoding="utf-8")
    empty = write_gpx(tmp_path / "empty.gpx", [])
    good = write_gpx(tmp_path / "good.gpx", [{"points": GOOD_EVENING}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        with pytest.raises(InvalidInput, match="格式错误"):
            import_gpx(s, broken, team_code="T1", actor=Actor.system("t"))
        with pytest.raises(InvalidInput, match="没有轨迹"):
            import_gpx(s, empty, team_code="T1", actor=Actor.system("t"))
        with pytest.raises(NotFound, match="巡逻队不存在：T9"):
            import_gpx(s, good, team_code="T9", actor=Actor.system("t"))
        with pytest.raises(InvalidInput, match="不支持"):
            import_gpx(s, good, team_code="T1", actor=Actor.system("t"), crs="EPSG:4524")
    assert counts(clean_engine) == (0, 0)


def test_duplicate_import_is_a_conflict(clean_engine: Engine, tmp_path: Path) -> None:
    path = write_gpx(tmp_path / "t1.gpx", [{"points": GOOD_EVENING}, {"points": GOOD_LATE}])
    twice = write_gpx(tmp_path / "twice.gpx", [{"points": GOOD_EVENING}, {"points": GOOD_EVENING}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
    with session_scope(clean_engine) as s, pytest.raises(Conflict, match="已存在"):
        import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
    assert counts(clean_engine) == (2, 200)
    with session_scope(clean_engine) as s:
        s.execute(text("DELETE FROM patrol_track"))
        with pytest.raises(Conflict, match="重复"):
            import_gpx(s, twice, team_code="T1", actor=Actor.system("t"))


def test_desc_naming_another_team_is_rejected(clean_engine: Engine, tmp_path: Path) -> None:
    path = write_gpx(tmp_path / "t2.gpx", [{"desc": "T2", "points": GOOD_EVENING}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        s.execute(text("INSERT INTO patrol_team (code, name) VALUES ('T2', '二队')"))
        with pytest.raises(InvalidInput, match="标注的巡逻队为 T2"):
            import_gpx(s, path, team_code="T1", actor=Actor.system("t"))


# --------------------------------------------------------------------------------------------- gcj02


def test_gcj02_coordinates_are_converted(clean_engine: Engine, tmp_path: Path) -> None:
    gcj = []
    for lat, lon, t in GOOD_EVENING:
        c = prcoords.wgs_gcj(prcoords.Coords(lat, lon), check_china=False)
        gcj.append((c.lat, c.lon, t))
    path = write_gpx(tmp_path / "amap.gpx", [{"points": gcj}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        # taken as WGS84: no conversion
        raw = import_gpx(s, path, team_code="T1", actor=Actor.system("t"), dry_run=True)
        import_gpx(s, path, team_code="T1", actor=Actor.system("t"), crs="gcj02")
        got = s.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM patrol_point ORDER BY seq")).all()
    frame = MetricFrame(X0)
    want = frame.to_m(shapely.points([(lo, la) for la, lo, _ in GOOD_EVENING]))
    stored = frame.to_m(shapely.points([tuple(r) for r in got]))
    offset = frame.to_m(shapely.points([(lo, la) for la, lo, _ in gcj]))
    assert float(shapely.distance(want, stored).max()) < 0.05  # centimetres after the inverse
    assert float(shapely.distance(want, offset).min()) > 100  # the GCJ-02 shift in Xi'an is hundreds of metres
    assert raw.tracks == 1


# --------------------------------------------------------------------------------------------- dry run, outside


def test_dry_run_writes_nothing_and_reports_tracks_leaving_the_area(clean_engine: Engine, tmp_path: Path) -> None:
    # West community is T1's area; this walk goes 400 m past its east edge into community 东.
    frame = MetricFrame(X0)
    edge_x = shapely.get_coordinates(frame.to_m(shapely.Point(X0 + D, Y0 + D / 2)))[0][0]
    start_x = shapely.get_coordinates(frame.to_m(shapely.Point(X0 + 0.002, Y0 + D / 2)))[0][0]
    n = int((edge_x + 400 - start_x) / 30) + 1
    leaving = walk_points(local(2026, 10, 1, 20, 30), n, bounce_m=None)
    path = write_gpx(tmp_path / "away.gpx", [{"points": GOOD_LATE}, {"points": leaving}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        dry = import_gpx(s, path, team_code="T1", actor=Actor.system("t"), dry_run=True)
        assert counts_in(s) == (0, 0)
        real = import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
        assert counts_in(s) == (2, 160 + n)
    assert dry.dry_run and dry.tracks == 2 and all(i.track_id is None for i in dry.items)
    assert [(o.night, o.shift) for o in dry.outside] == [(dt.date(2026, 10, 1), "上半夜")]
    assert [o.track_id for o in real.outside] == [real.items[1].track_id]
    o = real.outside[0]
    assert o.team_code == "T1" and o.has_area
    assert o.max_distance_m == pytest.approx(400, abs=30)
    assert o.outside_m == pytest.approx(o.max_distance_m - 25, abs=2)
    assert 0 < o.share < 1


def counts_in(s: Session) -> tuple[int, int]:
    return tuple(
        s.execute(text("SELECT (SELECT count(*) FROM patrol_track), (SELECT count(*) FROM patrol_point)")).one()
    )  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- the coordinate rule


@pytest.mark.parametrize("corner", [XIAN, LISBON], ids=["xian", "lisbon"])
def test_far_and_swapped_tracks_are_refused_for_a_street_anywhere(
    clean_engine: Engine, tmp_path: Path, corner: tuple[float, float]
) -> None:
    with session_scope(clean_engine) as s:
        make_street_at(s, corner)
        s.execute(text("INSERT INTO patrol_team (code, name) VALUES ('T1', '一队')"))
    x, y = inside(corner)
    start = local(2026, 10, 1, 20, 30)
    walk = [(y, x + 0.00005 * i, start + dt.timedelta(seconds=20 * i)) for i in range(40)]
    cases = {
        "swapped": ([(lo, la, t) for la, lo, t in walk], "经纬度颠倒"),
        "far": ([(la, lo + 1.0, t) for la, lo, t in walk], "远离本街道"),  # ~90 km east
        "one far fix": ([*walk[:10], (walk[10][0] + 0.5, walk[10][1], walk[10][2]), *walk[11:]], "第 11 个点"),
    }
    for case, (points, needle) in cases.items():
        path = write_gpx(tmp_path / f"{case}.gpx", [{"name": "好轨迹", "points": walk}, {"points": points}])
        with session_scope(clean_engine) as s, pytest.raises(InvalidInput) as err:
            import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
        assert needle in err.value.message and "第 2 条轨迹" in err.value.message, case
        assert "未导入任何轨迹" in err.value.message and all(d["track"] == 2 for d in err.value.details)
        assert counts(clean_engine) == (0, 0)
    north = write_gpx(tmp_path / "north.gpx", [{"points": [(la + 3 / 111, lo, t) for la, lo, t in walk]}])
    with session_scope(clean_engine) as s, pytest.raises(InvalidInput, match="超过 1 公里"):
        import_gpx(s, north, team_code="T1", actor=Actor.system("t"), max_distance_m=1000)  # 3 km out
    good = write_gpx(tmp_path / "good.gpx", [{"points": walk}])
    with session_scope(clean_engine) as s:
        report = import_gpx(s, good, team_code="T1", actor=Actor.system("t"))
    assert report.tracks == 1 and counts(clean_engine) == (1, 40)


# --------------------------------------------------------------------------------------------- cleaning, inspections


def test_a_gap_and_a_jump_are_flagged_reported_and_left_out_of_the_figures(
    clean_engine: Engine, tmp_path: Path
) -> None:
    points = walk_points(local(2026, 10, 1, 20, 30), 40)  # a fix every 20 s
    points = points[:20] + [(la, lo, t + dt.timedelta(minutes=8)) for la, lo, t in points[20:]]  # 8 min 20 s pause
    la, lo, t = points[30]
    points[30] = (la + 0.01, lo, t)  # 1.1 km north for one fix
    path = write_gpx(tmp_path / "gaps.gpx", [{"points": points}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        report = import_gpx(s, path, team_code="T1", actor=Actor.system("t"), max_gap_minutes=5)
        row = s.execute(text("SELECT id, started_at, ended_at, ST_NumGeometries(geom) AS parts, ST_NPoints(geom) AS n "
                             "FROM patrol_track")).one()  # fmt: skip
        flags = s.execute(text("SELECT seq, flag FROM patrol_point WHERE flag IS NOT NULL ORDER BY seq")).all()
        stats = track_grid_stats(s, track_ids=[row.id])
    item = report.items[0]
    assert (report.jumps, report.gaps, item.jumps) == (1, 1, [points[30][2]])
    assert [(g.after, g.at) for g in item.gaps] == [(points[19][2], points[20][2])]
    assert [tuple(f) for f in flags] == [(20, "断点"), (30, "跳点")]
    assert (row.parts, row.n) == (2, 39)
    walked = (row.ended_at - row.started_at).total_seconds() - (points[20][2] - points[19][2]).total_seconds()
    assert sum(x.seconds_inside for x in stats) == pytest.approx(walked, abs=1e-6)


def test_a_daytime_inspection_of_one_person(clean_engine: Engine, tmp_path: Path) -> None:
    morning = walk_points(local(2026, 10, 1, 10), 30)
    path = write_gpx(tmp_path / "day.gpx", [{"name": "2026-10-01 日巡查", "points": morning}])
    with session_scope(clean_engine) as s:
        setup_team(s)
        s.execute(text("INSERT INTO staff (code, name) VALUES ('S01', '张三')"))
        with pytest.raises(InvalidInput, match="不在夜间巡逻时段"):
            import_gpx(s, path, team_code="T1", actor=Actor.system("t"))
        report = import_gpx(s, path, staff_code="S01", kind="日巡查", actor=Actor.system("t"))
        row = s.execute(text("SELECT kind, night, shift, team_id, (SELECT code FROM staff WHERE id = staff_id) "
                             "FROM patrol_track")).one()  # fmt: skip
    assert (report.kind, report.shifts, report.items[0].staff_name) == ("日巡查", {}, "张三")
    assert tuple(row) == ("日巡查", dt.date(2026, 10, 1), None, None, "S01")
