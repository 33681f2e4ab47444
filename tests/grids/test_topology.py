"""Tests for grid validation: hand-made layouts built in metres (exact expected areas) and the sample street."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from gridgov.geo.crs import MetricFrame
from gridgov.grids.findings import Finding, GridInput
from gridgov.grids.topology import validate
from gridgov.sample.generate import generate

SAMPLE = Path(__file__).resolve().parents[2] / "geodata" / "sample" / "grids.gpkg"
FRAME = MetricFrame(108.96)
_origin = FRAME.to_m(Point(108.96, 34.24))
X0, Y0 = round(_origin.x), round(_origin.y)

S = "610103006"
C = "610103006001"
A, B, D = C + "001", C + "002", C + "003"
box = shapely.box


def ll(geom_m: BaseGeometry) -> BaseGeometry:
    """Local metres (origin near 108.96°E 34.24°N) → EPSG:4326."""
    return FRAME.to_ll(translate(geom_m, X0, Y0))


def to_local(lon: float, lat: float) -> Point:
    """EPSG:4326 → local metres."""
    p = FRAME.to_m(Point(lon, lat))
    return Point(p.x - X0, p.y - Y0)


def layout(a: BaseGeometry | None = None, b: BaseGeometry | None = None, *extra: GridInput) -> list[GridInput]:
    """Street S = community C = 200 m × 100 m; compounds A (west) and B (east) tile it unless replaced."""
    parent = box(0, 0, 200, 100)
    grids = [
        GridInput(S, "文艺路街道", "street", None, ll(parent), row=1),
        GridInput(C, "一社区", "community", S, ll(parent), row=2),
        GridInput(A, "一号院", "compound", C, ll(a if a is not None else box(0, 0, 100, 100)), row=3),
        GridInput(B, "二号院", "compound", C, ll(b if b is not None else box(100, 0, 200, 100)), row=4),
    ]
    return grids + list(extra)


def only(findings: list[Finding], rule: str) -> Finding:
    """The single finding, asserting it has the expected rule."""
    assert len(findings) == 1, findings
    assert findings[0].rule == rule, findings
    return findings[0]


def assert_on(f: Finding, problem_m: BaseGeometry) -> None:
    """The finding's location lies on the problem (in metres) and its geometry is the problem."""
    assert f.location is not None
    assert to_local(*f.location).distance(problem_m) < 0.01
    if f.geometry is not None:
        got = translate(FRAME.to_m(f.geometry), -X0, -Y0)
        assert got.symmetric_difference(problem_m).area < 0.01


def near(value: float | None, expected: float, rel: float = 0.005) -> bool:
    """Within 0.5 %."""
    return value is not None and abs(value - expected) <= rel * expected


# --- clean data ---------------------------------------------------------------------------------------------------


def test_clean_layout_has_no_findings() -> None:
    assert validate(layout()) == []


def _sample_inputs(path: Path) -> list[GridInput]:
    df = pyogrio.read_dataframe(path)
    return [
        GridInput(r.code, r.name, r.level, r.parent_code if isinstance(r.parent_code, str) else None, r.geometry, k)
        for k, r in enumerate(df.itertuples(), start=1)
    ]


def test_generated_sample_is_clean(tmp_path: Path) -> None:
    generate(tmp_path, households=2000, compounds=20)
    grids = _sample_inputs(tmp_path / "grids.gpkg")
    assert len([g for g in grids if g.level == "compound"]) == 20
    assert validate(grids) == []


def test_default_sample_is_clean() -> None:
    grids = _sample_inputs(SAMPLE)
    assert len(grids) > 50
    assert validate(grids) == []


# --- overlap ------------------------------------------------------------------------------------------------------


def test_overlap_strip() -> None:
    f = only(validate(layout(box(0, 0, 110, 100))), "overlap")
    assert f.codes == [A, B]
    assert near(f.area_m2, 1000.0)
    assert f.rows == [3, 4]
    assert A in f.message and B in f.message and "重叠" in f.message and "1000.0" in f.message
    assert_on(f, box(100, 0, 110, 100))


def test_overlap_of_contained_sibling() -> None:
    inner = box(50, 20, 80, 60)
    grids = layout(box(0, 0, 200, 100), inner)
    f = only(validate(grids), "overlap")
    assert f.codes == [A, B] and near(f.area_m2, 1200.0)
    assert_on(f, inner)


def test_overlap_two_pieces_are_two_findings() -> None:
    # B reaches into A in two separate places.
    b = box(100, 0, 200, 100).union(box(90, 10, 100, 30)).union(box(80, 60, 100, 90))
    found = validate(layout(None, b))
    assert [f.rule for f in found] == ["overlap", "overlap"]
    assert sorted(round(f.area_m2 or 0) for f in found) == [200, 600]
    assert all(f.codes == [A, B] for f in found)


def test_overlap_between_streets() -> None:
    grids = [
        GridInput(S, "街道一", "street", None, ll(box(0, 0, 100, 100))),
        GridInput("610103007", "街道二", "street", None, ll(box(90, 0, 200, 100))),
    ]
    f = only(validate(grids), "overlap")
    assert f.codes == [S, "610103007"] and near(f.area_m2, 1000.0)


def test_overlap_ignored_between_non_siblings() -> None:
    # Compounds of two different communities overlapping are reported as outside_parent, not overlap.
    grids = [
        GridInput(S, "街道", "street", None, ll(box(0, 0, 200, 100))),
        GridInput(C, "一社区", "community", S, ll(box(0, 0, 100, 100))),
        GridInput("610103006002", "二社区", "community", S, ll(box(100, 0, 200, 100))),
        GridInput(A, "院", "compound", C, ll(box(0, 0, 110, 100))),
        GridInput("610103006002001", "院", "compound", "610103006002", ll(box(100, 0, 200, 100))),
    ]
    f = only(validate(grids), "outside_parent")
    assert f.codes == [C, A] and near(f.area_m2, 1000.0)


# --- gap ----------------------------------------------------------------------------------------------------------


def test_gap_strip() -> None:
    f = only(validate(layout(None, box(105, 0, 200, 100))), "gap")
    assert f.codes == sorted([C, A, B])
    assert near(f.area_m2, 500.0)
    assert f.rows == [2, 3, 4]
    assert C in f.message and "500.0" in f.message
    assert_on(f, box(100, 0, 105, 100))


def test_gap_covered_by_allowed_gap_layer() -> None:
    grids = layout(None, box(105, 0, 200, 100))
    river = ll(box(99, -10, 106, 110))
    assert validate(grids, allowed_gaps=[river]) == []
    # Half covered: the rest is still a gap.
    f = only(validate(grids, allowed_gaps=[ll(box(100, 0, 105, 50))]), "gap")
    assert near(f.area_m2, 250.0)
    assert_on(f, box(100, 50, 105, 100))


def test_gap_smaller_than_min_area_is_ignored() -> None:
    grids = layout(None, box(105, 0, 200, 100))
    assert validate(grids, min_gap_area_m2=600.0) == []
    assert only(validate(grids, min_gap_area_m2=400.0), "gap")


def test_gap_codes_are_the_bordering_children() -> None:
    # Three compounds; the gap is between A and B only, D (east) does not border it.
    grids = layout(
        box(0, 0, 60, 100), box(70, 0, 150, 100), GridInput(D, "三号院", "compound", C, ll(box(150, 0, 200, 100)))
    )
    f = only(validate(grids), "gap")
    assert f.codes == sorted([C, A, B]) and near(f.area_m2, 1000.0)


def test_parent_without_children_is_not_a_gap() -> None:
    grids = layout()[:2] + [GridInput("610103006002", "二社区", "community", S, ll(box(0, 100, 200, 150)))]
    grids[0] = GridInput(S, "街道", "street", None, ll(box(0, 0, 200, 150)))
    assert validate(grids) == []


# --- outside_parent -----------------------------------------------------------------------------------------------


def test_outside_parent() -> None:
    a = box(0, 0, 100, 100).union(box(30, 100, 80, 120))
    f = only(validate(layout(a)), "outside_parent")
    assert f.codes == [C, A]  # sorted
    assert near(f.area_m2, 1000.0)
    assert "超出" in f.message and A in f.message and C in f.message
    assert_on(f, box(30, 100, 80, 120))


# --- sliver -------------------------------------------------------------------------------------------------------


def test_sliver_grid() -> None:
    sliver = box(100, 0, 101, 100)
    grids = layout(None, box(101, 0, 200, 100), GridInput(D, "三号院", "compound", C, ll(sliver), row=5))
    f = only(validate(grids), "sliver")
    assert f.codes == [D] and f.rows == [5]
    assert near(f.area_m2, 100.0)
    assert near(f.length_m, 101.0)
    assert "狭长碎片" in f.message
    assert_on(f, sliver)
    assert validate(grids, sliver_width_m=0.9) == []


def test_sliver_part_of_multipolygon() -> None:
    part = box(150, 0, 151, 100)
    a = MultiPolygon([box(0, 0, 100, 100), part])
    b = MultiPolygon([box(100, 0, 150, 100), box(151, 0, 200, 100)])
    f = only(validate(layout(a, b)), "sliver")
    assert f.codes == [A] and near(f.area_m2, 100.0)
    assert_on(f, part)


# --- hard rules ---------------------------------------------------------------------------------------------------


def test_bow_tie_is_invalid_and_counts_repaired_for_gaps() -> None:
    bow_tie = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    found = validate(layout(bow_tie))
    # The repaired bow-tie (two triangles) leaves the rest of its square uncovered: said, with the reason.
    assert {f.rule for f in found} == {"invalid_geometry", "gap"}
    assert all(f.codes == [C, A] and "按修复后的形状计算" in f.message for f in found if f.rule == "gap")
    f = only([f for f in found if f.rule == "invalid_geometry"], "invalid_geometry")
    assert f.codes == [A] and f.rows == [3]
    assert "Self-intersection" in f.message and "几何无效" in f.message
    assert f.location is not None
    assert to_local(*f.location).distance(Point(50, 50)) < 0.05


def test_swapped_lon_lat() -> None:
    a = ll(box(0, 0, 100, 100))
    swapped = shapely.transform(a, lambda xy: xy[:, ::-1])
    grids = layout()
    grids[2] = GridInput(A, "一号院", "compound", C, swapped, row=3)
    f = only(validate(grids), "invalid_geometry")
    assert f.codes == [A] and "颠倒" in f.message
    assert f.location is not None and to_local(*f.location).distance(box(0, 0, 100, 100)) < 0.01


def _nan_polygon() -> BaseGeometry:
    with np.errstate(invalid="ignore"):
        return Polygon([(108.96, 34.24), (float("nan"), 34.24), (108.96, 34.25)])


@pytest.mark.parametrize(
    ("geom", "fragment"),
    [
        (None, "为空"),
        (Polygon(), "为空"),
        (LineString([(108.96, 34.24), (108.961, 34.241)]), "LineString"),
        (_nan_polygon(), "NaN"),
        (shapely.box(500000, 3800000, 500100, 3800100), "超出范围"),
    ],
)
def test_unusable_geometries(geom: BaseGeometry | None, fragment: str) -> None:
    grids = layout()
    grids[2] = GridInput(A, "一号院", "compound", C, geom, row=3)
    found = validate(grids)
    f = only([f for f in found if f.rule == "invalid_geometry"], "invalid_geometry")
    assert f.codes == [A] and fragment in f.message
    # beyond repair: the parent's gap check cannot run, and a finding says so
    notice = only([f for f in found if f.rule != "invalid_geometry"], "gap")
    assert notice.codes == [C, A] and "空隙检查未能进行" in notice.message


def test_orphans() -> None:
    lost = GridInput("610103006009001", "无主院", "compound", "610103006009", ll(box(0, 200, 50, 250)), row=5)
    no_parent = GridInput("610103006001009", "无上级院", "compound", None, ll(box(100, 200, 150, 250)), row=6)
    found = validate(layout(None, None, lost, no_parent))
    assert [(f.rule, f.codes, f.rows) for f in found] == [
        ("orphan", ["610103006001009"], [6]),
        ("orphan", ["610103006009001"], [5]),
    ]
    assert "610103006009" in found[1].message and "不存在" in found[1].message
    assert "缺少上级" in found[0].message


def test_duplicate_code_once() -> None:
    again = GridInput(A, "一号院（重复）", "compound", C, ll(box(0, 0, 100, 100)), row=5)
    f = only(validate(layout(None, None, again)), "duplicate_code")
    assert f.codes == [A] and f.rows == [3, 5]
    assert "重复" in f.message and "2 次" in f.message


def test_level_mismatch_compound_under_street() -> None:
    grids = [
        GridInput(S, "街道", "street", None, ll(box(0, 0, 200, 100)), row=1),
        GridInput(C, "社区", "community", S, ll(box(0, 0, 100, 100)), row=2),
        GridInput(A, "院", "compound", C, ll(box(0, 0, 100, 100)), row=3),
        GridInput(S + "002", "直属院", "compound", S, ll(box(100, 0, 200, 100)), row=4),
    ]
    f = only(validate(grids), "level_mismatch")
    assert f.codes == [S, S + "002"] and f.rows == [1, 4]
    assert "应为社区" in f.message


def test_level_mismatch_street_with_parent_and_unknown_level() -> None:
    grids = layout()
    grids[0] = GridInput(S, "街道", "street", "610103", ll(box(0, 0, 200, 100)), row=1)
    f = only(validate(grids), "level_mismatch")
    assert f.codes == [S] and "不应有上级" in f.message
    grids = layout(None, None, GridInput(C + "777", "x", "village", C, ll(box(0, 200, 10, 210))))
    f = only(validate(grids), "level_mismatch")
    assert f.codes == [C + "777"] and "无法识别" in f.message


def test_bad_code_eleven_digit_community() -> None:
    bad = "61010300601"
    grids = [
        GridInput(S, "街道", "street", None, ll(box(0, 0, 100, 100))),
        GridInput(bad, "社区", "community", S, ll(box(0, 0, 100, 100)), row=2),
        GridInput(bad + "001", "院", "compound", bad, ll(box(0, 0, 100, 100))),
    ]
    f = only(validate(grids), "bad_code")
    assert f.codes == [bad] and f.rows == [2] and "12 位" in f.message


# --- tolerance ----------------------------------------------------------------------------------------------------


def _off(kind: str, d: float) -> tuple[list[GridInput], str, float, BaseGeometry]:
    """A layout with a defect of size ``d`` metres: (grids, expected rule, expected area, problem area)."""
    if kind == "overlap_edge":
        return layout(box(0, 0, 100 + d, 100)), "overlap", 100 * d, box(100, 0, 100 + d, 100)
    if kind == "overlap_vertex":
        a = Polygon([(0, 0), (100, 0), (100 + d, 100), (0, 100)])
        return layout(a), "overlap", 50 * d, Polygon([(100, 0), (100 + d, 100), (100, 100)])
    if kind == "gap_edge":
        return layout(box(0, 0, 100 - d, 100)), "gap", 100 * d, box(100 - d, 0, 100, 100)
    if kind == "gap_vertex":
        a = Polygon([(0, 0), (100, 0), (100 - d, 100), (0, 100)])
        return layout(a), "gap", 50 * d, Polygon([(100, 0), (100, 100), (100 - d, 100)])
    if kind == "outside_edge":
        return layout(box(-d, 0, 100, 100)), "outside_parent", 100 * d, box(-d, 0, 0, 100)
    a = Polygon([(-d, 0), (100, 0), (100, 100), (0, 100)])
    return layout(a), "outside_parent", 50 * d, Polygon([(-d, 0), (0, 0), (0, 100)])


KINDS = ["overlap_edge", "overlap_vertex", "gap_edge", "gap_vertex", "outside_edge", "outside_vertex"]


@pytest.mark.parametrize("kind", KINDS)
def test_noise_below_tolerance_is_ignored(kind: str) -> None:
    grids, _, _, _ = _off(kind, 0.2)
    assert validate(grids) == []


@pytest.mark.parametrize("kind", KINDS)
def test_one_metre_off_is_reported(kind: str) -> None:
    grids, rule, area, problem = _off(kind, 1.0)
    f = only(validate(grids), rule)
    assert near(f.area_m2, area)
    assert_on(f, problem)


def test_tolerance_is_configurable() -> None:
    grids, _, _, _ = _off("overlap_edge", 1.0)
    assert validate(grids, tolerance_m=1.5) == []
    grids, _, _, _ = _off("overlap_edge", 0.2)
    assert only(validate(grids, tolerance_m=0.1), "overlap")


# --- scope --------------------------------------------------------------------------------------------------------


def test_scope_filters_but_computes_against_everything() -> None:
    grids = layout(box(0, 0, 110, 100))
    assert [f.codes for f in validate(grids, scope=[A])] == [[A, B]]
    assert [f.codes for f in validate(grids, scope={B, "x"})] == [[A, B]]
    assert validate(grids, scope=[C]) == []
    assert validate(grids, scope=[]) == []
    gap = layout(None, box(105, 0, 200, 100))
    assert [f.rule for f in validate(gap, scope=[C])] == ["gap"]
    assert [f.rule for f in validate(gap, scope=[B])] == ["gap"]
    assert validate(gap, scope=[S]) == []


def test_scope_keeps_attribute_findings() -> None:
    lost = GridInput("610103006009001", "无主院", "compound", "610103006009", ll(box(0, 200, 50, 250)))
    grids = layout(box(0, 0, 110, 100), None, lost)
    assert [f.rule for f in validate(grids, scope=["610103006009001"])] == ["orphan"]
    assert [f.rule for f in validate(grids)] == ["orphan", "overlap"]


def test_findings_serialise() -> None:
    f = only(validate(layout(box(0, 0, 110, 100))), "overlap")
    d = f.as_dict()
    assert d["rule"] == "overlap" and d["codes"] == [A, B] and d["rows"] == [3, 4]
    assert d["geometry"]["type"] == "Polygon"
    assert not f.blocking


# --- scale --------------------------------------------------------------------------------------------------------


def _synthetic(n_side: int = 10, k_side: int = 10, cell: float = 30.0, grow: float = 0.0) -> list[GridInput]:
    """A street of n_side² communities of k_side² square compounds each (10,101 grids by default)."""
    size = k_side * cell
    comp_codes, comp_parent, comp_m = [], [], []
    for ci in range(n_side * n_side):
        cx, cy = ci % n_side, ci // n_side
        for k in range(k_side * k_side):
            x, y = cx * size + (k % k_side) * cell, cy * size + (k // k_side) * cell
            comp_codes.append(f"{S}{ci + 1:03d}{k + 1:03d}")
            comp_parent.append(f"{S}{ci + 1:03d}")
            comp_m.append(box(x, y, x + cell, y + cell))
    geoms_m = np.asarray(comp_m, dtype=object)
    comp_ll = FRAME.to_ll(shapely.transform(geoms_m, lambda xy: xy + (X0, Y0)))
    per = k_side * k_side
    comm_ll = [shapely.coverage_union_all(comp_ll[i * per : (i + 1) * per]) for i in range(n_side * n_side)]
    street_ll = shapely.coverage_union_all(np.asarray(comm_ll, dtype=object))
    if grow:
        comp_ll = FRAME.to_ll(shapely.buffer(FRAME.to_m(comp_ll), grow, join_style="mitre"))
    grids = [GridInput(S, "街道", "street", None, street_ll)]
    grids += [GridInput(f"{S}{i + 1:03d}", "社区", "community", S, g) for i, g in enumerate(comm_ll)]
    grids += [GridInput(c, "院", "compound", p, g) for c, p, g in zip(comp_codes, comp_parent, comp_ll, strict=True)]
    return grids


def test_ten_thousand_grids_in_a_few_seconds() -> None:
    grids = _synthetic()
    assert len(grids) == 10_101
    t = time.perf_counter()
    assert validate(grids) == []
    clean = time.perf_counter() - t
    # Every compound 0.2 m too big: ~20,000 overlapping sibling pairs, all below the tolerance.
    noisy = _synthetic(grow=0.2)
    t = time.perf_counter()
    assert validate(noisy) == []
    messy = time.perf_counter() - t
    assert clean < 10 and messy < 20, (clean, messy)


def test_ten_thousand_grids_with_defects_and_scope() -> None:
    grids = _synthetic()
    i = next(k for k, g in enumerate(grids) if g.code == f"{S}045055")
    moved = FRAME.to_ll(translate(FRAME.to_m(grids[i].geometry), 3.0, 0.0))
    grids[i] = GridInput(grids[i].code, "院", "compound", grids[i].parent_code, moved)
    found = validate(grids)
    assert sorted(f.rule for f in found) == ["gap", "overlap"]
    overlap = next(f for f in found if f.rule == "overlap")
    assert overlap.codes == [f"{S}045055", f"{S}045056"] and near(overlap.area_m2, 90.0)
    gap = next(f for f in found if f.rule == "gap")
    # west neighbour, the moved compound, and the south/north neighbours along the strip's 3 m ends; not the
    # diagonal neighbours that touch it only at a corner
    assert gap.codes == [f"{S}045", f"{S}045045", f"{S}045054", f"{S}045055", f"{S}045065"]
    assert near(gap.area_m2, 90.0)
    assert validate(grids, scope=[f"{S}001001"]) == []
    assert len(validate(grids, scope=[f"{S}045056"])) == 1
