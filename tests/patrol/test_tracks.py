"""Patrol metrics: metres and seconds per grid against independent shapely work, coverage, roll-ups, outside."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput, NotFound
from gridgov.geo.crs import MetricFrame
from gridgov.patrol.tracks import (
    Coverage,
    TrackGridStat,
    grid_coverage,
    track_grid_stats,
    tracks_outside_area,
)

from tests.factories import X0, Y0, D, make_street

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = dt.date(2026, 10, 1)
T0 = dt.datetime(2026, 10, 1, 20, 30, tzinfo=TZ)
A, B, C = "610103006001001", "610103006001002", "610103006002001"
COMMUNITY_W, COMMUNITY_E, STREET = "610103006001", "610103006002", "610103006"


def local_tm(lon0: float) -> Transformer:
    """An independent metric frame: a transverse Mercator centred on the data (scale ≈ 1 everywhere nearby)."""
    crs = CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs")
    return Transformer.from_crs(4326, crs, always_xy=True)


def to_tm(geoms: Any, tr: Transformer) -> Any:
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def add_team(s: Session, code: str, area_grid: str | None) -> int:
    team_id = int(
        s.execute(
            text("INSERT INTO patrol_team (code, name) VALUES (:c, :n) RETURNING id"), {"c": code, "n": f"{code}队"}
        ).scalar_one()
    )
    if area_grid is not None:
        s.execute(
            text("INSERT INTO patrol_area (code, team_id, name, geom) SELECT 'A-' || :t, :t, '区域', geom FROM grid "
                 "WHERE code = :g"),
            {"t": team_id, "g": area_grid},
        )
    return team_id


def add_track(s: Session, team_id: int, lonlat: np.ndarray, times: Sequence[dt.datetime], shift: str = "上半夜") -> int:
    """Write a track and its timed points directly (independent of the GPX importer)."""
    track_id = int(
        s.execute(
            text(
                "INSERT INTO patrol_track (team_id, night, shift, started_at, ended_at, geom) "
                "VALUES (:t, :n, :s, :a, :b, ST_GeomFromWKB(:w, 4326)) RETURNING id"
            ),
            {"t": team_id, "n": NIGHT, "s": shift, "a": times[0], "b": times[-1],
             "w": shapely.MultiLineString([lonlat]).wkb},
        ).scalar_one()
    )
    s.execute(
        text(
            "INSERT INTO patrol_point (track_id, seq, t, geom) "
            "SELECT :k, u.i - 1, u.t, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326) "
            "FROM unnest(CAST(:t AS timestamptz[]), CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY "
            "AS u(t, x, y, i)"
        ),
        {"k": track_id, "t": list(times), "x": lonlat[:, 0].tolist(), "y": lonlat[:, 1].tolist()},
    )
    return track_id


def walk(frame: MetricFrame, start_m: np.ndarray, legs: Sequence[tuple[float, float]], speed: float, step: float):
    """A walk in metres from ``start_m``: legs of (dx, dy), a fix every ``step`` metres; lon/lat and times."""
    pts = [np.asarray(start_m, dtype=float)]
    for dx, dy in legs:
        vec = np.array([dx, dy])
        n = max(1, int(np.ceil(np.hypot(dx, dy) / step)))
        base = pts[-1].copy()
        pts += [base + vec * min(1.0, k * step / np.hypot(dx, dy)) for k in range(1, n + 1)]
    xy = np.array(pts)
    dist = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    ll = shapely.get_coordinates(frame.to_ll(shapely.points(xy)))
    times = [T0 + dt.timedelta(seconds=float(d) / speed) for d in dist]
    return ll, times


def point_m(frame: MetricFrame, lon: float, lat: float) -> np.ndarray:
    return np.array(shapely.get_coordinates(frame.to_m(shapely.Point(lon, lat)))[0])


def hand_made_tracks(s: Session) -> tuple[int, int, np.ndarray, np.ndarray]:
    """The hand-made street with two tracks of team T1 across the A|B edge; their ids and lon/lat."""
    frame = MetricFrame(X0)
    make_street(s)
    team = add_team(s, "T1", COMMUNITY_W)
    edge_ab = point_m(frame, X0 + D / 2, Y0 + D / 2)
    # 300 m in A then 200 m in B at 1.5 m/s, a fix every 14 m (the crossing falls inside a segment).
    ll, times = walk(frame, edge_ab - [300.0, 0.0], [(500.0, 0.0)], speed=1.5, step=14.0)
    k1 = add_track(s, team, ll, times)
    # A → B → A: 100 m in A, 150 m in B, back along the same street 150 m in B and 100 m in A, 100 m north in A.
    ll2, times2 = walk(
        frame, edge_ab - [100.0, 200.0], [(250.0, 0.0), (-250.0, 0.0), (0.0, 100.0)], speed=1.0, step=20.0
    )
    k2 = add_track(s, team, ll2, times2, shift="下半夜")
    return k1, k2, ll, ll2


def by_code(stats: Sequence[TrackGridStat], track_id: int) -> dict[str, TrackGridStat]:
    return {r.grid_code: r for r in stats if r.track_id == track_id}


# --------------------------------------------------------------------------------------------- hand-made street


def test_hand_made_lengths_and_seconds(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        k1, k2, ll, ll2 = hand_made_tracks(s)
        stats = track_grid_stats(s)
        tm = local_tm(X0 + D)
        grids = dict(s.execute(text("SELECT code, ST_AsBinary(geom) FROM grid")).all())
    one = by_code(stats, k1)
    assert set(one) == {A, B}
    assert one[A].length_m == pytest.approx(300.0, rel=5e-3)
    assert one[B].length_m == pytest.approx(200.0, rel=5e-3)
    assert one[A].seconds_inside == pytest.approx(200.0, abs=1e-3)
    assert one[B].seconds_inside == pytest.approx(400.0 / 3, abs=1e-3)
    assert (one[A].entries, one[B].entries) == (1, 1)
    assert (one[A].team_code, one[A].night, one[A].shift) == ("T1", NIGHT, "上半夜")
    # Independent check: shapely intersection in a local transverse Mercator frame.
    track_m = to_tm(shapely.LineString(ll), tm)
    for code in (A, B):
        grid_m = to_tm(shapely.from_wkb(grids[code]), tm)
        assert one[code].length_m == pytest.approx(shapely.intersection(track_m, grid_m).length, rel=5e-3)
    two = by_code(stats, k2)
    assert set(two) == {A, B}
    # 200 m south of the crossing point the meridian edge is ~2 m off the map's vertical (grid convergence),
    # hence the approximate figures; the exact check sums shapely intersections segment by segment.
    assert two[A].length_m == pytest.approx(100.0 + 100.0 + 100.0, rel=2e-2)
    assert two[B].length_m == pytest.approx(150.0 + 150.0, rel=2e-2)
    pts2 = to_tm(shapely.points(ll2), tm)
    segs2 = shapely.linestrings(np.stack([shapely.get_coordinates(pts2)[:-1], shapely.get_coordinates(pts2)[1:]], 1))
    for code in (A, B):
        grid_m = to_tm(shapely.from_wkb(grids[code]), tm)
        walked = float(shapely.length(shapely.intersection(segs2, grid_m)).sum())
        assert two[code].length_m == pytest.approx(walked, rel=5e-3)
    assert two[A].entries == 2 and two[B].entries == 1
    assert two[A].seconds_inside + two[B].seconds_inside == pytest.approx(600.0, abs=1e-3)


def test_seconds_sum_to_duration_and_segment_on_shared_edge_counts_once(clean_engine: Engine) -> None:
    frame = MetricFrame(X0)
    with session_scope(clean_engine) as s:
        make_street(s)
        team = add_team(s, "T1", STREET)
        # Exactly along the A|B edge (the meridian X0 + D/2), then a stop, then into A.
        lon = round(X0 + D / 2, 7)  # exactly the shared edge (the factory rounds to 7 decimals)
        lats = np.array([Y0 + 0.002, Y0 + 0.004, Y0 + 0.004, Y0 + 0.006])
        ll = np.column_stack([[lon, lon, lon, lon - 0.001], lats])
        times = [T0 + dt.timedelta(seconds=x) for x in (0, 120, 180, 300)]
        k = add_track(s, team, ll, times)
        stats = by_code(track_grid_stats(s), k)
    assert sum(r.seconds_inside for r in stats.values()) == pytest.approx(300.0, abs=1e-6)
    walked = frame.to_m(shapely.LineString(ll[:2])).length + frame.to_m(shapely.LineString(ll[2:])).length
    assert sum(r.length_m for r in stats.values()) == pytest.approx(walked, rel=5e-3)
    # The edge and the stop on it are split evenly between A and B.
    assert stats[B].seconds_inside == pytest.approx(90.0, abs=1e-6)


def test_hand_made_coverage_against_shapely_buffer(clean_engine: Engine) -> None:
    frame = MetricFrame(X0)
    with session_scope(clean_engine) as s:
        make_street(s)
        team = add_team(s, "T1", COMMUNITY_W)
        edge_ab = point_m(frame, X0 + D / 2, Y0 + D / 2)
        ll, times = walk(frame, edge_ab - [300.0, 0.0], [(500.0, 0.0), (0.0, 300.0), (-150.0, 0.0)], 1.5, 14.0)
        add_track(s, team, ll, times)
        cov = grid_coverage(s, date_from=NIGHT, date_to=NIGHT)
        stats = track_grid_stats(s, date_from=NIGHT, date_to=NIGHT)
        grids = {
            r.code: (int(r.id), shapely.from_wkb(r.wkb))
            for r in s.execute(text("SELECT id, code, ST_AsBinary(geom) AS wkb FROM grid"))
        }
        narrow = grid_coverage(s, date_from=NIGHT, date_to=NIGHT, buffer_m=5.0, level="compound")
    tm = local_tm(X0 + D)
    band = shapely.buffer(to_tm(shapely.LineString(ll), tm), 25.0)
    assert set(cov) == {gid for gid, _ in grids.values()}
    for code, (gid, geom) in grids.items():
        g = to_tm(geom, tm)
        c = cov[gid]
        assert isinstance(c, Coverage)
        assert 0.0 <= c.ratio <= 1.0
        assert c.area_m2 == pytest.approx(g.area, rel=1e-3)
        expected = shapely.intersection(band, g).area
        assert c.covered_m2 == pytest.approx(expected, rel=1e-2, abs=1.0), code
    # Parents: metres and seconds are sums of children; the covered area is computed per geometry.
    ids = {code: gid for code, (gid, _) in grids.items()}
    assert cov[ids[COMMUNITY_W]].length_m == pytest.approx(cov[ids[A]].length_m + cov[ids[B]].length_m)
    assert cov[ids[STREET]].seconds == pytest.approx(sum(r.seconds_inside for r in stats))
    assert cov[ids[STREET]].seconds == pytest.approx((times[-1] - times[0]).total_seconds(), abs=1e-3)
    assert cov[ids[COMMUNITY_E]].length_m == 0 and cov[ids[C]].covered_m2 == 0
    assert set(narrow) == {ids[A], ids[B], ids[C]}
    assert narrow[ids[A]].covered_m2 < cov[ids[A]].covered_m2


def test_track_leaving_the_team_area_is_flagged(clean_engine: Engine) -> None:
    frame = MetricFrame(X0)
    with session_scope(clean_engine) as s:
        make_street(s)
        west = add_team(s, "WEST", COMMUNITY_W)
        nowhere = add_team(s, "NOAREA", None)
        edge_we = point_m(frame, X0 + D, Y0 + D / 2)
        # 200 m inside B, then 300 m into community east (beyond WEST's area).
        ll, times = walk(frame, edge_we - [200.0, 0.0], [(500.0, 0.0)], speed=1.5, step=14.0)
        out_id = add_track(s, west, ll, times)
        # Inside, hugging the area's east edge within the 25 m tolerance.
        ll2, times2 = walk(frame, edge_we + [10.0, -300.0], [(0.0, 600.0)], speed=1.5, step=14.0)
        add_track(s, west, ll2, times2, shift="下半夜")
        lost = add_track(s, nowhere, ll2, times2)
        found = {o.track_id: o for o in tracks_outside_area(s)}
        strict = {o.track_id for o in tracks_outside_area(s, buffer_m=5.0)}
        only_west = tracks_outside_area(s, team_code="WEST")
    assert set(found) == {out_id, lost}
    o = found[out_id]
    assert o.has_area and o.team_code == "WEST" and o.shift == "上半夜" and o.night == NIGHT
    assert o.outside_m == pytest.approx(275.0, rel=2e-2)
    assert o.length_m == pytest.approx(500.0, rel=5e-3)
    assert o.share == pytest.approx(275.0 / 500.0, rel=2e-2)
    assert o.max_distance_m == pytest.approx(300.0, rel=1e-2)
    assert not found[lost].has_area and found[lost].share == pytest.approx(1.0)
    assert len(strict) == 3  # at 5 m the hugging track is out too
    assert [x.track_id for x in only_west] == [out_id]


def test_filters_and_errors(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="日期范围"):
            track_grid_stats(s, date_from=dt.date(2026, 10, 2), date_to=dt.date(2026, 10, 1))
        with pytest.raises(NotFound, match="巡逻队不存在"):
            track_grid_stats(s, team_code="NOPE")
        with pytest.raises(InvalidInput, match="层级"):
            grid_coverage(s, level="district")
        with pytest.raises(InvalidInput, match="缓冲"):
            grid_coverage(s, buffer_m=0)
        assert track_grid_stats(s) == []
        empty = grid_coverage(s)
        assert len(empty) == 6 and all(c.covered_m2 == 0 and c.ratio == 0 for c in empty.values())
        assert tracks_outside_area(s) == []


# --------------------------------------------------------------------------------------------- sample street


@pytest.fixture(scope="module")
def sample_stats(sample_engine: Engine) -> list[TrackGridStat]:
    with Session(sample_engine) as s:
        return track_grid_stats(s)


def test_sample_lengths_match_shapely_for_every_pair(sample_engine: Engine, sample_stats: list[TrackGridStat]) -> None:
    with sample_engine.connect() as conn:
        tracks = conn.execute(text("SELECT id, ST_AsBinary(geom) FROM patrol_track ORDER BY id")).all()
        grids = conn.execute(
            text(
                "SELECT g.id, ST_AsBinary(g.geom) FROM grid g WHERE g.valid_to IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL)"
            )
        ).all()
        nights = conn.execute(text("SELECT count(DISTINCT night) FROM patrol_track")).scalar_one()
    assert len(tracks) == 236 and len(grids) == 72 and nights == 35  # the sample roster misses a few shifts
    track_ll = shapely.from_wkb([w for _, w in tracks])
    grid_ll = shapely.from_wkb([w for _, w in grids])
    tm = local_tm(float(np.mean(shapely.total_bounds(grid_ll)[[0, 2]])))
    track_m, grid_m = to_tm(track_ll, tm), to_tm(grid_ll, tm)
    ti, gi = shapely.STRtree(grid_m).query(track_m, predicate="intersects")
    lengths = shapely.length(shapely.intersection(track_m[ti], grid_m[gi]))
    expected = {(tracks[t][0], grids[g][0]): float(x) for t, g, x in zip(ti, gi, lengths, strict=True)}
    got = {(r.track_id, r.grid_id): r.length_m for r in sample_stats}
    checked = 0
    for key, length in expected.items():
        if length > 10.0:
            assert got.get(key, 0.0) == pytest.approx(length, rel=5e-3), key
            checked += 1
    assert checked > 5000
    assert all(length < 0.01 for key, length in got.items() if key not in expected)


def test_sample_seconds_sum_to_duration_inside_the_street(
    sample_engine: Engine, sample_stats: list[TrackGridStat]
) -> None:
    with sample_engine.connect() as conn:
        inside = dict(
            conn.execute(
                text(
                    "SELECT k.id, extract(epoch FROM k.ended_at - k.started_at)::float8 FROM patrol_track k "
                    "JOIN grid s ON s.level = 'street' AND s.valid_to IS NULL WHERE ST_CoveredBy(k.geom, s.geom)"
                )
            ).all()
        )
    assert len(inside) >= 10
    seconds: dict[int, float] = defaultdict(float)
    for r in sample_stats:
        seconds[r.track_id] += r.seconds_inside
    for k, duration in inside.items():
        assert seconds[k] == pytest.approx(duration, rel=1e-9), k


def test_sample_coverage_and_roll_up(sample_engine: Engine, sample_stats: list[TrackGridStat]) -> None:
    week = (dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    with Session(sample_engine) as s:
        cov = grid_coverage(s, date_from=week[0], date_to=week[1])
        live = s.execute(text("SELECT id, parent_id, level FROM grid WHERE valid_to IS NULL")).all()
    assert set(cov) == {r.id for r in live}
    assert all(0.0 <= c.ratio <= 1.0 for c in cov.values())
    assert all(c.covered_m2 <= c.area_m2 * (1 + 1e-9) for c in cov.values())
    children: dict[int, list[int]] = defaultdict(list)
    for r in live:
        if r.parent_id is not None:
            children[r.parent_id].append(r.id)
    for parent, kids in children.items():
        assert cov[parent].length_m == pytest.approx(sum(cov[k].length_m for k in kids), rel=1e-9)
        assert cov[parent].seconds == pytest.approx(sum(cov[k].seconds for k in kids), rel=1e-9)
    # Leaf values are the stats of the same week.
    leaf_len: dict[int, float] = defaultdict(float)
    for r in sample_stats:
        if week[0] <= r.night <= week[1]:
            leaf_len[r.grid_id] += r.length_m
    for gid, length in leaf_len.items():
        assert cov[gid].length_m == pytest.approx(length, rel=1e-9)
    street = next(r.id for r in live if r.level == "street")
    assert 0.3 < cov[street].ratio < 0.9
    # No sample track leaves its team's area beyond the 25 m tolerance.
    with Session(sample_engine) as s:
        assert tracks_outside_area(s) == []
