"""Track cleaning: GPS jumps (impossible speed from the last kept fix) and gaps (a long pause) flagged, the line
split."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gridgov.patrol.cleaning import Gap, clean

T0 = dt.datetime(2026, 10, 1, 12, 30, tzinfo=dt.UTC)
STEP = 0.0003  # ≈ 27.6 m of longitude at 34.24° N
Y = 34.245


def fixes(n: int, every_s: int = 60) -> tuple[list[dt.datetime], np.ndarray]:
    """``n`` fixes walking east, one every ``every_s`` seconds (≈ 0.46 m/s at a minute)."""
    times = [T0 + dt.timedelta(seconds=every_s * i) for i in range(n)]
    return times, np.column_stack([108.951 + STEP * np.arange(n), np.full(n, Y)])


def test_a_clean_track_is_one_part_without_flags() -> None:
    times, xy = fixes(10)
    got = clean(times, xy)
    assert got.flags == [None] * 10 and got.jumps == [] and got.gaps == []
    assert len(got.parts) == 1 and np.array_equal(got.parts[0], xy)


def test_a_jump_is_left_out_and_judged_from_the_last_kept_fix() -> None:
    times, xy = fixes(10)
    xy[4] = (108.96, Y)  # ≈ 750 m off, a minute after the last fix: 45 km/h
    # fix 5 is ≈ 690 m from the jump (41 km/h) but 55 m from fix 3, the last kept one: kept
    got = clean(times, xy, max_speed_kmh=40)
    assert got.flags == [None] * 4 + ["跳点"] + [None] * 5
    assert got.jumps == [times[4]]
    assert len(got.parts) == 1 and np.array_equal(got.parts[0], np.delete(xy, 4, axis=0))
    slower = clean(times, xy, max_speed_kmh=50)
    assert slower.flags == [None] * 10


def test_a_bad_first_fix_does_not_make_every_other_one_a_jump() -> None:
    times, xy = fixes(6)
    xy[0] = (108.99, Y)  # 3.5 km away a minute before the walk
    got = clean(times, xy, max_speed_kmh=40)  # a walking patrol's limit
    assert got.flags == ["跳点", None, None, None, None, None]
    assert np.array_equal(got.parts[0], xy[1:])


def test_a_long_pause_is_a_gap_and_splits_the_line() -> None:
    times, xy = fixes(8)
    times = times[:4] + [t + dt.timedelta(minutes=6) for t in times[4:]]  # 7 minutes between fix 3 and fix 4
    got = clean(times, xy, max_gap_minutes=5)
    assert got.flags == [None] * 4 + ["断点"] + [None] * 3
    assert got.gaps == [Gap(times[3], times[4])] and got.gaps[0].minutes == 7
    assert [len(p) for p in got.parts] == [4, 4]
    assert clean(times, xy, max_gap_minutes=10).flags == [None] * 8


def test_a_run_too_short_to_draw_stays_as_points() -> None:
    times, xy = fixes(6)
    times = times[:5] + [times[5] + dt.timedelta(minutes=30)]  # the last fix alone after a gap
    got = clean(times, xy)
    assert got.flags[5] == "断点" and [len(p) for p in got.parts] == [5]
    lone = clean(times[:2], xy[:2] * [1, 1])
    assert len(lone.parts) == 1
    same = clean(times[:3], np.repeat(xy[:1], 3, axis=0))
    assert same.parts == []


def test_equal_timestamps_count_as_one_second() -> None:
    times, xy = fixes(3)
    times[1] = times[0]  # 27 m in "no time": 100 km/h at the timestamps' one-second resolution
    assert clean(times, xy, max_speed_kmh=40).flags == [None, "跳点", None]
    xy[1] = xy[0] + [0.00005, 0]  # 4.6 m: a walker's second
    assert clean(times, xy, max_speed_kmh=40).flags == [None, None, None]


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_fixes(n: int) -> None:
    times, xy = fixes(n)
    got = clean(times, xy)
    assert got.flags == [None] * n and got.parts == []


def test_a_patrol_car_is_travel_not_a_run_of_jumps() -> None:
    """A car at about 60 km/h is faster than the default limit at every fix, but never comes back: no jump."""
    times, xy = fixes(8, every_s=10)
    xy[:, 0] = 108.951 + 0.0018 * np.arange(8)  # ≈ 166 m per 10 s
    assert clean(times, xy).flags == [None] * 8
    xy[4, 1] += 0.01  # one fix 1.1 km to the north, then back on the road: a spike
    assert clean(times, xy).flags == [None] * 4 + ["跳点"] + [None] * 3
