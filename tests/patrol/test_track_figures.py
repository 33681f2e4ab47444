"""Stored patrol figures stay equal to computing them afresh, whatever changes the grids, by any path."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.db.engine import session_scope
from gridgov.db.revisions import GRID, revision
from gridgov.geo.crs import MetricFrame
from gridgov.grids.service import change_grid, get_grid, insert_grid, retire_grid
from gridgov.patrol import track_figures
from gridgov.patrol.tracks import grid_coverage, track_grid_stats

from tests.factories import X0, Y0, D
from tests.patrol.test_tracks import A, B, add_track, hand_made_tracks, point_m, walk

Key = tuple[int, int]


def live_stats(s: Session) -> dict[Key, tuple[float, float, int]]:
    """The figures computed from scratch by the rule's own statement (track_grid_stats.sql)."""
    stmt = track_figures.with_filter("track_grid_stats").strip().rstrip(";")
    rows = s.execute(text(stmt), track_figures.ALL_TRACKS)
    return {(r.track_id, r.grid_id): (r.length_m, r.seconds_inside, r.entries) for r in rows}


def stored_stats(s: Session) -> dict[Key, tuple[float, float, int]]:
    return {(r.track_id, r.grid_id): (r.length_m, r.seconds_inside, r.entries) for r in track_grid_stats(s)}


def assert_same(s: Session) -> dict[Key, tuple[float, float, int]]:
    stored, live = stored_stats(s), live_stats(s)
    assert stored.keys() == live.keys()
    for k, (m, sec, n) in live.items():
        assert stored[k][0] == pytest.approx(m, abs=1e-6)
        assert stored[k][1] == pytest.approx(sec, abs=1e-6)
        assert stored[k][2] == n
    return stored


def stale_count(s: Session) -> int:
    return int(
        s.execute(
            text(
                "SELECT count(*) FROM patrol_track k LEFT JOIN track_derived d ON d.track_id = k.id"
                " WHERE d.track_id IS NULL OR d.grid_rev <> (SELECT n FROM data_revision WHERE name = 'grid')"
            )
        ).scalar_one()
    )


@pytest.fixture
def street_with_tracks(clean_engine: Engine) -> Engine:
    with session_scope(clean_engine) as s:
        hand_made_tracks(s)
    return clean_engine


def test_written_on_first_read_then_read_back(street_with_tracks: Engine) -> None:
    with session_scope(street_with_tracks) as s:
        assert s.execute(text("SELECT count(*) FROM track_grid_stat")).scalar_one() == 0
        first = assert_same(s)
        assert s.execute(text("SELECT count(*) FROM track_grid_stat")).scalar_one() == len(first)
        assert stale_count(s) == 0
        assert track_figures.ensure_stats(s, track_figures.ALL_TRACKS) == 0


def test_grid_edits_through_the_services_keep_them_current(street_with_tracks: Engine) -> None:
    with session_scope(street_with_tracks) as s:
        before = assert_same(s)
        # Move the A|B boundary 100 m west: both grids' figures change, and are recomputed by the edit itself.
        a, b = get_grid(s, A), get_grid(s, B)
        shift = D / 2 - 0.0011
        change_grid(s, A, expected_version=a.version, actor="test", geometry=mapping(box(X0, Y0, X0 + shift, Y0 + D)))
        change_grid(s, B, expected_version=b.version, actor="test",
                    geometry=mapping(box(X0 + shift, Y0, X0 + D, Y0 + D)))  # fmt: skip
        assert stale_count(s) == 0
        after = assert_same(s)
        assert after != before
        # A child inside A: A stops being a leaf; then retired: A is a leaf again.
        child = "610103006001001001"
        insert_grid(s, code=child, name="楼栋", level="building", parent_code=A, actor="test",
                    geometry=mapping(box(X0 + 0.001, Y0 + 0.003, X0 + 0.003, Y0 + 0.007)))  # fmt: skip
        assert stale_count(s) == 0
        with_child = assert_same(s)
        assert not any(gid == a.id for _, gid in with_child)
        retire_grid(s, child, expected_version=get_grid(s, child).version, actor="test")
        assert stale_count(s) == 0
        again = assert_same(s)
        assert again.keys() == after.keys()
        assert all(again[k][:2] == pytest.approx(after[k][:2]) for k in after)


def test_a_change_by_plain_sql_is_caught_on_read(street_with_tracks: Engine) -> None:
    with session_scope(street_with_tracks) as s:
        assert_same(s)
        rev = revision(s, GRID)
        s.execute(text("UPDATE grid SET name = '改名' WHERE code = :c"), {"c": A})  # names do not matter
        assert revision(s, GRID) == rev
        s.execute(
            text("UPDATE grid SET geom = ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) WHERE code = :c"),
            {"x0": X0, "y0": Y0, "x1": X0 + 0.004, "y1": Y0 + D, "c": A},
        )
        assert revision(s, GRID) == rev + 1
        assert stale_count(s) == 2
        assert_same(s)
        assert stale_count(s) == 0


def test_coverage_is_kept_until_a_track_or_grid_changes(street_with_tracks: Engine) -> None:
    frame = MetricFrame(X0)
    with session_scope(street_with_tracks) as s:
        first = grid_coverage(s)
        assert s.execute(text("SELECT count(*) FROM derived_cache WHERE kind = 'coverage'")).scalar_one() == 1
        assert grid_coverage(s) == first
        # A new track in community east: its coverage moves from 0, the cached answer is not served.
        team = int(s.execute(text("SELECT id FROM patrol_team")).scalar_one())
        east = point_m(frame, X0 + 1.5 * D, Y0 + D / 2)
        ll, times = walk(frame, east, [(200.0, 0.0)], speed=1.0, step=10.0)
        add_track(s, team, ll, [t + dt.timedelta(hours=1) for t in times], shift="下半夜")
        again = grid_coverage(s)
        east_id = int(s.execute(text("SELECT id FROM grid WHERE code = '610103006002001'")).scalar_one())
        assert first[east_id].covered_m2 == 0
        assert again[east_id].covered_m2 > 0
        assert again[east_id].length_m == pytest.approx(200.0, rel=5e-3)
        # All tracks of a period come from the per-night unions, one team's from its footprints: with one team
        # they must agree.
        assert s.execute(text("SELECT count(*) FROM night_footprint")).scalar_one() == 1
        team_only = grid_coverage(s, team_code="T1")
        assert team_only.keys() == again.keys()
        assert all(team_only[g].covered_m2 == pytest.approx(again[g].covered_m2, abs=1e-6) for g in again)
        # Other buffers and periods are separate questions.
        wide = grid_coverage(s, buffer_m=50.0)
        assert wide[east_id].covered_m2 > again[east_id].covered_m2
        none = grid_coverage(s, date_from=dt.date(2030, 1, 1))
        assert all(c.covered_m2 == 0 and c.length_m == 0 for c in none.values())
        # The footprints in the metric frame are the tracks buffered: about length × 2 × buffer.
        area = s.execute(
            text("SELECT ST_Area(f.geom) FROM track_footprint f JOIN patrol_track k ON k.id = f.track_id"
                 " WHERE f.buffer_m = 25 ORDER BY k.id DESC LIMIT 1")  # fmt: skip
        ).scalar_one()
        assert area == pytest.approx(200 * 50 + np.pi * 25**2, rel=0.02)


def test_a_question_naming_many_grids_is_cached_under_a_short_key(street_with_tracks: Engine) -> None:
    with session_scope(street_with_tracks) as s:
        ids = [int(i) for i in s.execute(text("SELECT id FROM grid")).scalars()]
        many = ids + list(range(10**9, 10**9 + 5000))  # thousands of ids: longer than a btree key may be
        first = grid_coverage(s, grid_ids=many)
        assert set(first) == set(ids) and grid_coverage(s, grid_ids=many) == first
        assert s.execute(text("SELECT max(length(key)) FROM derived_cache")).scalar_one() == 64
