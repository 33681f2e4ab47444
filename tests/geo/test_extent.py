"""The street-extent rule: coordinates judged against the live grids, for a street in China and elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.geo.extent import coordinate_reasons, location_reasons
from gridgov.grids.service import create_grid

from tests.factories import D, square
from tests.geo.streets import LISBON, NAIROBI, STREET, XIAN, away, inside, make_street_at


def judge(engine: Engine, points: list[tuple[float, float]], max_distance_m: float = 20_000.0) -> list[str | None]:
    with session_scope(engine) as s:
        x, y = np.array([p[0] for p in points]), np.array([p[1] for p in points])
        return list(coordinate_reasons(s, x, y, max_distance_m))


@pytest.mark.parametrize("corner", [XIAN, NAIROBI, LISBON], ids=["xian", "nairobi", "lisbon"])
def test_points_are_judged_against_the_streets_own_grids(clean_engine: Engine, corner: tuple[float, float]) -> None:
    with session_scope(clean_engine) as s:
        make_street_at(s, corner)
    near, far = inside(corner), away(corner, 60)
    got = judge(clean_engine, [near, away(corner, 15), far, near[::-1], far[::-1], (math.nan, near[1]),
                               (500_000.0, 3_800_000.0)])  # fmt: skip
    assert got[:2] == [None, None]  # inside, and 15 km out (within 20 km)
    assert got[2] is not None and got[2].startswith("远离本街道") and "超过 20 公里" in got[2]
    assert got[2] and "坐标系可能选错，或经纬度两列填反" in got[2]
    assert got[3] is not None and got[3].startswith("经纬度颠倒") and "请交换经度和纬度" in got[3]
    assert got[4] is not None and "颠倒" not in got[4]  # swapped back it is still far: no swap, just wrong
    assert got[5] == "坐标为空或非数值（NaN/Inf）"
    assert got[6] is not None and got[6].startswith("坐标超出范围（经度 500000，纬度 3800000）")


def test_the_distance_is_a_parameter(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street_at(s, LISBON)
    points = [away(LISBON, 8), away(LISBON, 30)]
    assert [r is None for r in judge(clean_engine, points)] == [True, False]
    assert [r is None for r in judge(clean_engine, points, 5_000)] == [False, False]
    assert [r is None for r in judge(clean_engine, points, 50_000)] == [True, True]


def test_without_grids_only_the_ranges_count(clean_engine: Engine) -> None:
    got = judge(clean_engine, [inside(LISBON), (151.2, -33.9), (34.24, 108.95), (500_000.0, 3_800_000.0)])
    assert got[:2] == [None, None]  # anywhere on Earth
    assert got[2] is not None and got[2].startswith("经纬度颠倒")  # only the swapped point is a WGS84 coordinate
    assert got[3] is not None and got[3].startswith("坐标超出范围")


def test_a_child_grid_outside_its_street_counts_too(clean_engine: Engine) -> None:
    """Every live grid counts, not only the streets: a compound drawn 50 km off its community keeps its points."""
    with session_scope(clean_engine) as s:
        make_street_at(s, NAIROBI)
        off = away(NAIROBI, 50)
        create_grid(s, code=f"{STREET}002002", name="飞地", level="compound", parent_code=f"{STREET}002",
                    geometry=square(off[0], off[1], D, D), actor=Actor.system("test"))  # fmt: skip
    got = judge(clean_engine, [away(NAIROBI, 45), away(NAIROBI, 65), away(NAIROBI, 150)])
    assert got[0] is None and got[1] is None  # 45 and 65 km from the street, within 5 and 15 km of the enclave
    assert got[2] is not None and got[2].startswith("远离本街道")
    with session_scope(clean_engine) as s:  # retired grids do not count
        s.execute(text("UPDATE grid SET valid_to = now() WHERE code = :c"), {"c": f"{STREET}002002"})
    assert judge(clean_engine, [away(NAIROBI, 45)])[0] is not None


def test_footprints_are_judged_by_their_centroid(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street_at(s, LISBON)
    x, y = inside(LISBON)
    fx, fy = away(LISBON, 100)
    footprints = np.array([shapely.box(x, y, x + 1e-4, y + 1e-4), shapely.box(fx, fy, fx + 1e-4, fy + 1e-4),
                           shapely.box(y, x, y + 1e-4, x + 1e-4), shapely.Point(x, y)], dtype=object)  # fmt: skip
    with session_scope(clean_engine) as s:
        got = list(location_reasons(s, footprints))
    assert got[0] is None and got[3] is None
    assert got[1] is not None and got[1].startswith("远离本街道")
    assert got[2] is not None and got[2].startswith("经纬度颠倒")
