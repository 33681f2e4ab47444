"""One-pass checks: an invalid child no longer silences its parent's gap check; too many vertices in a file.

Layouts are built in local metres (exact areas) and converted to lon/lat, as in test_topology.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import shapely
from shapely.affinity import translate
from shapely.geometry import LineString, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.geo.crs import MetricFrame
from gridgov.grids.findings import Finding, GridInput
from gridgov.grids.importer import import_grids
from gridgov.grids.io import read_grid_file
from gridgov.grids.topology import validate

FRAME = MetricFrame(108.96)
_origin = FRAME.to_m(Point(108.96, 34.24))
X0, Y0 = round(_origin.x), round(_origin.y)
S, C = "610103006", "610103006001"
A, B, D = C + "001", C + "002", C + "003"
box = shapely.box
BOW_TIE = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])  # self-intersecting at (50, 50)
REAL_GAP = box(190, 0, 200, 100)  # between B and D: 1 000 m²


def ll(geom_m: BaseGeometry) -> BaseGeometry:
    """Local metres → EPSG:4326."""
    return FRAME.to_ll(translate(geom_m, X0, Y0))


def three_children(a: BaseGeometry | None) -> list[GridInput]:
    """Street = community C = 300 m × 100 m; A (west, replaceable), B and D with a 10 m strip between them."""
    whole = box(0, 0, 300, 100)
    return [
        GridInput(S, "街道", "street", None, ll(whole), row=1),
        GridInput(C, "一社区", "community", S, ll(whole), row=2),
        GridInput(A, "一号院", "compound", C, a, row=3),
        GridInput(B, "二号院", "compound", C, ll(box(100, 0, 190, 100)), row=4),
        GridInput(D, "三号院", "compound", C, ll(box(200, 0, 300, 100)), row=5),
    ]


def gap_between_b_and_d(findings: list[Finding]) -> Finding:
    """The one gap finding bordered by B and D."""
    found = [f for f in findings if f.rule == "gap" and f.codes == [C, B, D]]
    assert len(found) == 1, findings
    return found[0]


def test_a_bow_tie_child_does_not_silence_the_gap_check() -> None:
    found = validate(three_children(ll(BOW_TIE)))
    invalid = [f for f in found if f.rule == "invalid_geometry"]
    assert [f.codes for f in invalid] == [[A]] and "边自相交" in invalid[0].message
    gap = gap_between_b_and_d(found)
    assert gap.area_m2 is not None and abs(gap.area_m2 - REAL_GAP.area) < 0.01 * REAL_GAP.area
    assert gap.location is not None
    local = FRAME.to_m(Point(*gap.location))
    assert Point(local.x - X0, local.y - Y0).distance(REAL_GAP) < 0.01
    # what the repaired bow-tie leaves open is said to come from it
    beside_a = [f for f in found if f.rule == "gap" and A in f.codes]
    assert beside_a and all("几何无效，按修复后的形状计算" in f.message for f in beside_a)


def test_a_child_beyond_repair_is_reported_not_skipped() -> None:
    for broken, why in [(None, "几何为空或无法读取"), (ll(LineString([(0, 0), (100, 100)])), "LineString"),
                        (shapely.box(500000, 3800000, 500100, 3800100), "超出范围")]:  # fmt: skip
        found = validate(three_children(broken))
        notice = [f for f in found if f.rule == "gap"]
        assert len(notice) == 1, found
        assert notice[0].codes == [C, A] and "空隙检查未能进行" in notice[0].message and why in notice[0].message
        assert notice[0].location is not None


def test_a_clean_layout_still_has_only_the_real_gap() -> None:
    found = validate(three_children(ll(box(0, 0, 100, 100))))
    assert [f.rule for f in found] == ["gap"]
    gap_between_b_and_d(found)


def _feature(code: str, level: str, parent: str | None, geom: BaseGeometry) -> dict[str, object]:
    return {"type": "Feature", "properties": {"code": code, "name": code, "level": level, "parent_code": parent},
            "geometry": mapping(geom)}  # fmt: skip


def _write(path: Path, grids: list[GridInput]) -> Path:
    features = [_feature(g.code, g.level, g.parent_code, g.geometry) for g in grids if g.geometry is not None]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_an_import_with_a_bow_tie_still_reports_the_gap(clean_engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path / "bow.geojson", three_children(ll(BOW_TIE)))
    with session_scope(clean_engine, actor="test") as s:
        report = import_grids(s, path, actor=Actor.system("test"))
    assert not report.written
    assert [(f.rule, f.codes, f.rows) for f in report.blocking] == [("invalid_geometry", [A], [3])]
    gap_between_b_and_d(report.findings)
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == 0


def test_too_many_vertices_in_a_file_are_refused_by_feature_number(tmp_path: Path) -> None:
    n = 300
    ring = [(50 + 40 * math.cos(2 * math.pi * k / n), 50 + 40 * math.sin(2 * math.pi * k / n)) for k in range(n)]
    grids = three_children(ll(Polygon(ring)))
    path = _write(tmp_path / "many.geojson", grids)
    got = read_grid_file(path, max_vertices=100)
    assert [(f.rule, f.codes, f.rows) for f in got.findings] == [("invalid_geometry", [A], [3])]
    assert "网格顶点过多：301 个（上限 100），请先简化边界" in got.findings[0].message
    assert read_grid_file(path).findings == []  # the default cap (20 000) lets it through
    # the checks apply the same cap to drafts and live grids
    found = validate(grids, max_vertices=100)
    assert [f.codes for f in found if f.rule == "invalid_geometry"] == [[A]]
