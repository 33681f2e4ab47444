"""Geometry checks: Chinese reasons without Python internals, the vertex cap, repairs for the gap check."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.geo.checks import (
    MAX_GRID_VERTICES,
    as_multipolygon,
    coordinate_problem,
    draft_geometry,
    geometry_problem,
    repaired_polygon,
    vertex_problem,
)

SQUARE = {"type": "Polygon", "coordinates": [[[108.95, 34.24], [108.96, 34.24], [108.96, 34.25], [108.95, 34.24]]]}


def ngon(n: int) -> Polygon:
    """A polygon of ``n`` distinct vertices near 108.95°E 34.24°N."""
    return Polygon([(108.95 + 0.001 * math.cos(2 * math.pi * k / n), 34.24 + 0.001 * math.sin(2 * math.pi * k / n))
                    for k in range(n)])  # fmt: skip


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ({"type": "Polygon", "coordinates": []}, "几何为空"),
        ({"type": "Polygon", "coordinates": [[]]}, "几何为空"),
        ({"type": "MultiPolygon", "coordinates": []}, "几何为空"),
        ({"type": "Polygon"}, "无法解析几何：缺少 coordinates 字段"),
        ({"coordinates": [[[1, 2]]]}, "无法解析几何：缺少 type 字段"),
        ({"type": "Polygon", "coordinates": "abc"}, "无法解析几何：坐标格式不正确"),
        ({"type": "Polygon", "coordinates": [[[1, 2], [3]]]}, "无法解析几何：坐标格式不正确"),
        ({"type": "Polygon", "coordinates": [[[None, None], [1, 2], [1, 3], [1, 2]]]}, "无法解析几何：坐标格式不正确"),
        (
            {"type": "Polygon", "coordinates": [[[1, 2], [3, 4]]]},
            "无法解析几何：环的点数过少（每个环至少 4 个点，首尾相同）",
        ),
        ({"type": "Point", "coordinates": [108.95, 34.24]}, "几何类型应为面（Polygon/MultiPolygon），实际为 Point"),
        ({"type": "Feature", "geometry": None}, "几何类型应为面（Polygon/MultiPolygon），实际为 Feature"),
    ],
)
def test_unusable_geojson_gets_a_chinese_reason(geojson: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        as_multipolygon(geojson)
    assert err.value.message == message


def test_geos_reasons_are_glossed_in_chinese() -> None:
    thin = {"type": "Polygon", "coordinates": [[[108.95, 34.24], [108.96, 34.24], [108.95, 34.24]]]}
    with pytest.raises(InvalidInput, match="几何无效：点数过少（Too few points"):
        as_multipolygon(thin)
    bow_tie = Polygon([(108.95, 34.24), (108.96, 34.25), (108.96, 34.24), (108.95, 34.25)])
    assert (geometry_problem(bow_tie) or "").startswith("几何无效：边自相交，如“8”字形（Self-intersection")


def test_vertex_cap() -> None:
    assert MAX_GRID_VERTICES == Settings().max_grid_vertices == 20_000
    assert isinstance(as_multipolygon(ngon(99), max_vertices=100), MultiPolygon)  # 99 + the closing vertex
    with pytest.raises(InvalidInput) as err:
        as_multipolygon(ngon(100), max_vertices=100)
    assert err.value.message == "网格顶点过多：101 个（上限 100），请先简化边界"
    big = ngon(100_000)
    assert vertex_problem(big) == "网格顶点过多：100001 个（上限 20000），请先简化边界"
    with pytest.raises(InvalidInput, match="网格顶点过多：100001 个"):
        as_multipolygon(dict(shapely.geometry.mapping(big)))
    assert as_multipolygon(big, max_vertices=None).is_valid  # no cap when told so
    assert geometry_problem(big) is None  # other imports (buildings, areas) are not grids


def test_vertex_cap_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGOV_MAX_GRID_VERTICES", "5000")
    assert Settings().max_grid_vertices == 5000


def test_repairs_for_the_gap_check() -> None:
    bow_tie = Polygon([(108.95, 34.24), (108.96, 34.25), (108.96, 34.24), (108.95, 34.25)])
    fixed = repaired_polygon(bow_tie)
    assert fixed is not None and fixed.is_valid and fixed.area == pytest.approx(bow_tie.envelope.area / 2)
    swapped = shapely.transform(box(108.95, 34.24, 108.96, 34.25), lambda xy: xy[:, ::-1])
    back = repaired_polygon(swapped)
    assert back is not None and back.equals(box(108.95, 34.24, 108.96, 34.25))
    assert repaired_polygon(None) is None
    assert repaired_polygon(Polygon()) is None
    assert repaired_polygon(LineString([(108.95, 34.24), (108.96, 34.25)])) is None
    assert repaired_polygon(box(500000, 3800000, 500100, 3800100)) is None  # projected metres: not repairable
    assert repaired_polygon(ngon(30), max_vertices=10) is None


def test_drafts_keep_what_was_drawn() -> None:
    assert isinstance(draft_geometry(SQUARE), MultiPolygon)
    bow_tie = {"type": "Polygon", "coordinates": [[[108.95, 34.24], [108.96, 34.25], [108.96, 34.24], [108.95, 34.25],
                                                   [108.95, 34.24]]]}  # fmt: skip
    kept = draft_geometry(bow_tie)
    assert kept is not None and not kept.is_valid  # the checks say why
    assert draft_geometry({"type": "Polygon", "coordinates": [[[1, 2], [3]]]}) is None
    assert draft_geometry(None) is None


def test_coordinates_are_judged_without_a_box_around_china() -> None:
    for lon, lat in ((15.63, 78.22), (-9.15, 38.70), (36.80, -1.30), (151.2, -33.9), (108.95, 34.24)):
        assert coordinate_problem(lon, lat) is None  # Svalbard, Lisbon, Nairobi, Sydney, Xi'an
    assert (coordinate_problem(34.24, 108.95) or "").startswith("经纬度疑似颠倒（经度 34.24，纬度 108.95）")
    assert (coordinate_problem(500000.0, 3800000.0) or "").startswith("坐标超出范围")
    assert coordinate_problem(float("nan"), 1.0) == "坐标为空或非数值（NaN/Inf）"
    lisbon = box(-9.15, 38.70, -9.14, 38.71)
    assert geometry_problem(lisbon) is None and repaired_polygon(lisbon) == lisbon
