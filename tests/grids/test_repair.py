"""Repairs: each previews without writing, applies as new versions, and re-assigns what moved."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, box, mapping
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.geo.crs import MetricFrame
from gridgov.grids import repair, service

from tests.factories import X0, Y0, D, make_street

FRAME = MetricFrame(108.96)
A, B, C = "610103006001001", "610103006001002", "610103006002001"


def area_m2(geom: shapely.Geometry) -> float:
    return float(FRAME.to_m(geom).area)


def reshape(s, code: str, geom: shapely.Geometry) -> None:  # type: ignore[no-untyped-def]
    rec = service.get_grid(s, code)
    service.update_grid(s, code, expected_version=rec.version, actor=Actor.system("setup"), geometry=mapping(geom))


def grid_versions(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM grid WHERE code = :c OR lineage_id = "
                    "(SELECT id FROM grid WHERE code = :c AND valid_to IS NULL)"
                ),
                {"c": code},
            ).scalar()
        )


def test_preview_writes_nothing_and_apply_keeps_history(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        old = service.get_grid(s, A).geom
        reshape(s, A, shapely.union(old, box(X0 - 0.001, Y0, X0 + 0.001, Y0 + 0.002)))  # 0.001° out of parent
    with session_scope(clean_engine) as s:
        plan = repair.plan_clip(s, A)
    assert grid_versions(clean_engine, A) == 2  # the preview wrote nothing
    data = plan.as_dict()
    assert data["changes"][0]["area_after_m2"] == pytest.approx(area_m2(old), rel=1e-6)
    assert not [f for f in plan.findings_after if f.rule == "outside_parent"]
    with session_scope(clean_engine) as s:
        repair.apply_plan(s, repair.plan_clip(s, A), Actor.system("王科长"))
        versions = service.history(s, A)
    assert [v.version for v in versions] == [1, 2, 3] and versions[-1].updated_by == "王科长"
    assert area_m2(versions[-1].geom) == pytest.approx(area_m2(old), rel=1e-6)


def test_snap_closes_sub_tolerance_slits(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        a = FRAME.to_m(service.get_grid(s, A).geom)
        x0, y0, x1, y1 = a.bounds
        reshape(s, A, FRAME.to_ll(box(x0, y0, x1 - 0.3, y1)))  # 0.3 m slit against B
        plan = repair.plan_snap(s, A, tolerance_m=0.5)
        snapped = FRAME.to_m(plan.changes[0].new)
    assert snapped.bounds[2] == pytest.approx(x1, abs=1e-6)


def test_fill_gap_goes_to_the_longest_shared_border(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        b = FRAME.to_m(service.get_grid(s, B).geom)
        x0, y0, x1, y1 = b.bounds
        # B loses a 20 m strip on its west side: the strip borders A along its whole height
        smaller = shapely.intersection(b, box(x0 + 20, y0, x1, y1))
        reshape(s, B, FRAME.to_ll(smaller))
        plan = repair.plan_fill_gap(s, "610103006001")
        assert [(c.code, c.action) for c in plan.changes] == [(A, "update")]
        grown = area_m2(plan.changes[0].new) - area_m2(plan.changes[0].old)
        assert grown == pytest.approx(b.area - smaller.area, rel=1e-3)
        assert not [f for f in plan.findings_after if f.rule == "gap"]


def test_split_along_a_road_appends_a_code_and_reassigns(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(
            text(
                "INSERT INTO household (code, kind, geom) VALUES "
                "('east', '常住户', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            {"x": X0 + 0.004, "y": Y0 + D / 2},
        )
        s.execute(text("UPDATE household SET grid_id = (SELECT id FROM grid WHERE code = :a)"), {"a": A})
        road = LineString([(X0 + 0.003, Y0 - 0.001), (X0 + 0.003, Y0 + D + 0.001)])
        plan = repair.plan_split(s, A, road)
        assert [(c.action, c.code) for c in plan.changes] == [("update", A), ("create", "610103006001003")]
        moved = repair.apply_plan(s, plan, Actor.system("test"))
        where = s.execute(text("SELECT g.code FROM household h JOIN grid g ON g.id = h.grid_id")).scalar()
    assert moved["household"] == 1 and where == "610103006001003"
    assert area_m2(plan.changes[0].new) > area_m2(plan.changes[1].new)


def test_split_line_must_cross(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="没有穿过"):
            repair.plan_split(s, A, LineString([(X0 - 0.01, Y0), (X0 - 0.02, Y0)]))


def test_merge_keeps_the_smallest_code_and_retires_the_rest(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        total = area_m2(service.get_grid(s, A).geom) + area_m2(service.get_grid(s, B).geom)
        plan = repair.plan_merge(s, [B, A], name="合并院")
        repair.apply_plan(s, plan, Actor.system("test"))
        live = [g.code for g in service.list_grids(s, parent_code="610103006001")]
        merged = service.get_grid(s, A)
    assert live == [A] and merged.name == "合并院" and area_m2(merged.geom) == pytest.approx(total, rel=1e-6)
    with session_scope(clean_engine) as s, pytest.raises(InvalidInput, match="同一上级"):
        repair.plan_merge(s, [A, C])


def test_renumber_swaps_codes_west_to_east(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        a, b = service.get_grid(s, A).geom, service.get_grid(s, B).geom
        reshape(s, A, b)  # A is now the eastern half, B the western: the numbering is wrong
        reshape(s, B, a)
        plan = repair.plan_renumber(s, "610103006001")
        assert sorted((c.code, c.new_code) for c in plan.changes) == [(A, B), (B, A)]
        repair.apply_plan(s, plan, Actor.system("test"))
        west = service.get_grid(s, A)
    assert west.geom.equals(a) and west.version == 3  # the old B: created, reshaped, renumbered
