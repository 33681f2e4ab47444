"""The point lookup index (gridgov.assign.locate) on real PostGIS: levels, the boundary rule, freshness, threads.

The street (tests.factories): community …001 (west: compounds …001001 | …001002, sharing the edge x = X0 + D/2)
and …002 (east: compound …002001). Agreement with the database is checked point by point against
``gridgov_leaf_for_point`` (migration 0003), the rule every other path follows.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import shapely
from sqlalchemy import Engine, text

from gridgov.assign.locate import LocateIndex, to_lonlat
from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.geo.crs import GCJ02, from_wgs84
from gridgov.grids import service
from gridgov.vocab import LEVEL_ZH, LEVELS

from tests.factories import X0, Y0, D, make_street, square

STREET, WEST, EAST = "610103006", "610103006001", "610103006002"
A, B, C = "610103006001001", "610103006001002", "610103006002001"
OP = Actor.system("test")


def r7(v: float) -> float:
    """Rounded like the factory's vertices, so points on edges lie exactly on them."""
    return round(v, 7)


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    """The factory street on the emptied test database."""
    with session_scope(clean_engine) as s:
        make_street(s)
    return clean_engine


def codes(index: LocateIndex, lon: float, lat: float) -> list[str]:
    """The codes the index gives for a point, street first."""
    return [g.code for g in index.locate(lon, lat).grids]


def db_leaves(engine: Engine, points: list[tuple[float, float]]) -> list[str | None]:
    """``gridgov_leaf_for_point`` for each point: the database's own answer."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT g.code FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i) "
                "LEFT JOIN grid g ON g.id = gridgov_leaf_for_point(ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)) "
                "ORDER BY p.i"
            ),
            {"xs": [p[0] for p in points], "ys": [p[1] for p in points]},
        ).scalars()
        return list(rows)


def test_a_point_inside_a_compound_gives_every_level(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    found = index.locate(X0 + D / 4, Y0 + D / 2)
    assert [g.code for g in found.grids] == [STREET, WEST, A]
    assert [g.level for g in found.grids] == list(LEVELS[:3])
    assert [g.level_zh for g in found.grids] == [LEVEL_ZH[lv] for lv in LEVELS[:3]]
    assert [g.name for g in found.grids] == ["文艺路街道", "文艺北路一社区", "第一网格"]
    assert (found.lon, found.lat) == (X0 + D / 4, Y0 + D / 2)
    assert found.leaf is not None and found.leaf.code == A
    assert codes(index, X0 + 1.5 * D, Y0 + D / 2) == [STREET, EAST, C]


def test_boundary_points_go_to_the_smallest_code(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    assert codes(index, r7(X0 + D / 2), r7(Y0 + D / 2))[-1] == A  # the A | B edge
    assert codes(index, r7(X0 + D / 2), Y0)[-1] == A  # A | B vertex on the street's border
    assert codes(index, r7(X0 + D), r7(Y0 + D / 2))[-1] == B  # B | C: the communities' shared edge
    assert codes(index, X0, Y0)[-1] == A  # the street's corner: boundary counts (ST_Covers)
    assert codes(index, r7(X0 + 2 * D), r7(Y0 + D))[-1] == C


def test_outside_every_grid_is_an_empty_list(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    found = index.locate(X0 - D, Y0 - D)
    assert found.grids == [] and found.leaf is None
    assert index.locate(0.0, 0.0).grids == []


def test_an_empty_database_has_no_grids(clean_engine: Engine) -> None:
    index = LocateIndex(clean_engine, max_age_s=0)
    assert index.locate(X0, Y0).grids == [] and index.leaves == 0
    with session_scope(clean_engine) as s:
        make_street(s)
    assert codes(index, X0 + D / 4, Y0 + D / 2)[-1] == A and index.leaves == 3


def test_agrees_with_the_database_on_random_edge_and_vertex_points(street: Engine) -> None:
    with session_scope(street) as s:  # a fourth leaf: C's north half, so one point is covered by three leaves
        c = service.get_grid(s, C)
        service.update_grid(s, C, expected_version=c.version, actor=OP, geometry=square(X0 + D, Y0, D, D / 2))
        service.create_grid(s, code="610103006002002", name="第二网格", level="compound", parent_code=EAST,
                            geometry=square(X0 + D, Y0 + D / 2, D, D / 2), actor=OP)  # fmt: skip
    rng = random.Random(20261121)
    points = [(rng.uniform(X0 - 0.2 * D, X0 + 2.2 * D), rng.uniform(Y0 - 0.2 * D, Y0 + 1.2 * D)) for _ in range(400)]
    # every vertex and edge midpoint of the grid (exactly on edges), and points on the shared lines
    grid_x = [r7(X0 + k * D / 4) for k in range(9)]
    grid_y = [r7(Y0 + k * D / 4) for k in range(5)]
    points += [(x, y) for x in grid_x for y in grid_y]
    points += [(r7(X0 + D / 2), rng.uniform(Y0, Y0 + D)) for _ in range(20)]
    points += [(rng.uniform(X0 + D, X0 + 2 * D), r7(Y0 + D / 2)) for _ in range(20)]
    index = LocateIndex(street, max_age_s=0)
    mine = [(g[-1].code if (g := index.locate(x, y).grids) else None) for x, y in points]
    theirs = db_leaves(street, points)
    differ = [(p, m, t) for p, m, t in zip(points, mine, theirs, strict=True) if m != t]
    assert not differ, differ[:5]
    assert {None, A, B, C, "610103006002002"} <= set(mine)
    assert index.locate(r7(X0 + D), r7(Y0 + D / 2)).grids[-1].code == B  # B | C | N: three leaves cover it


def test_a_building_grid_is_the_fourth_level(street: Engine) -> None:
    with session_scope(street) as s:
        service.create_grid(s, code="610103006002001001", name="1号楼", level="building", parent_code=C,
                            geometry=square(X0 + D, Y0), actor=OP)  # fmt: skip
    index = LocateIndex(street, max_age_s=0)
    found = index.locate(X0 + 1.5 * D, Y0 + D / 2)
    assert [g.level for g in found.grids] == list(LEVELS)
    assert found.grids[-1].code == "610103006002001001"
    assert db_leaves(street, [(X0 + 1.5 * D, Y0 + D / 2)]) == ["610103006002001001"]


def test_an_edit_is_seen_after_max_age(street: Engine) -> None:
    now = [0.0]
    index = LocateIndex(street, max_age_s=5.0, clock=lambda: now[0])
    x, y = X0 + 0.6 * D, Y0 + D / 2  # inside B, near the A | B edge
    assert codes(index, x, y)[-1] == B
    with session_scope(street) as s:  # A stretched over the point: both cover it, A is the smaller code
        a = service.get_grid(s, A)
        service.change_grid(s, A, expected_version=a.version, actor="test", geometry=square(X0, Y0, 0.75 * D, D))
    now[0] = 4.9
    assert codes(index, x, y)[-1] == B, "within max_age_s the index is not checked"
    now[0] = 5.0
    assert codes(index, x, y)[-1] == A
    assert db_leaves(street, [(x, y)]) == [A]
    assert index.builds == 2


def test_a_rename_is_seen_although_the_revision_ignores_names(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    assert index.locate(X0 + 0.75 * D, Y0 + D / 2).grids[-1].name == "第二网格"
    before = index.key
    with session_scope(street) as s:
        b = service.get_grid(s, B)
        service.change_grid(s, B, expected_version=b.version, actor="test", name="改名网格")
    assert index.locate(X0 + 0.75 * D, Y0 + D / 2).grids[-1].name == "改名网格"
    assert before is not None and index.key is not None
    assert index.key[0] == before[0] and index.key[1] > before[1]  # same revision: the new history row told


def test_an_unchanged_database_is_not_rebuilt(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    for _ in range(5):
        assert codes(index, X0 + D / 4, Y0 + D / 2)[-1] == A
    assert index.builds == 1 and index.leaves == 3


def test_concurrent_lookups_build_once(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    rng = random.Random(7)
    points = [(rng.uniform(X0, X0 + 2 * D), rng.uniform(Y0, Y0 + D)) for _ in range(400)]
    with ThreadPoolExecutor(16) as pool:
        found = list(pool.map(lambda p: index.locate(*p).grids[-1].code, points))
    assert index.builds == 1
    assert found == db_leaves(street, points)


def test_gcj02_input_is_converted(street: Engine) -> None:
    index = LocateIndex(street, max_age_s=0)
    wgs = shapely.Point(X0 + D / 4, Y0 + D / 2)
    gcj = from_wgs84([wgs], GCJ02)[0]
    assert abs(gcj.x - wgs.x) > 1e-4  # the offset is hundreds of metres: a real test of the conversion
    found = index.locate(gcj.x, gcj.y, crs="gcj02")
    assert [g.code for g in found.grids] == [STREET, WEST, A]
    assert found.lon == pytest.approx(wgs.x, abs=1e-7) and found.lat == pytest.approx(wgs.y, abs=1e-7)
    assert to_lonlat(wgs.x, wgs.y, "EPSG:4490") == pytest.approx((wgs.x, wgs.y), abs=1e-7)
    assert to_lonlat(wgs.x, wgs.y, "EPSG:4326") == (wgs.x, wgs.y)


@pytest.mark.parametrize(
    ("lon", "lat", "crs", "message"),
    [
        (181.0, 30.0, None, "经度"),
        (100.0, -90.5, None, "纬度"),
        (float("nan"), 30.0, None, "经度"),
        (100.0, float("inf"), None, "纬度"),
        (108.9, 34.2, "EPSG:4547", "投影坐标系"),
        (108.9, 34.2, "不是坐标系", "坐标系"),
        (2.35, 48.85, "gcj02", "中国境内"),
        (180.0, 90.0, "gcj02", "中国境内"),
    ],
)
def test_bad_coordinates_are_refused_in_chinese(lon: float, lat: float, crs: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        to_lonlat(lon, lat, crs)
