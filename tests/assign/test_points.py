"""Assignment: the boundary rule (shared edges and vertices count once), outside points, buildings."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.assign.points import assign_all
from gridgov.db.engine import session_scope
from gridgov.ledger.counts import grid_counts

from tests.factories import X0, Y0, D, make_street

# (code, lon, lat, expected compound): interior, shared edge, shared vertex of three grids, outside.
POINTS = [
    ("in-1", X0 + D / 4, Y0 + D / 2, "610103006001001"),
    ("in-2", X0 + 3 * D / 4, Y0 + D / 2, "610103006001002"),
    ("in-3", X0 + 1.5 * D, Y0 + D / 2, "610103006002001"),
    ("edge-12", X0 + D / 2, Y0 + D / 2, "610103006001001"),  # edge between …001001 and …001002
    ("edge-2c", X0 + D, Y0 + D / 3, "610103006001002"),  # community border …001002 | …002001
    ("vertex", X0 + D / 2, Y0 + D, "610103006001001"),  # top vertex shared by 001001/001002
    ("corner", X0, Y0, "610103006001001"),  # outer corner: covered by one grid
    ("outside", X0 - D, Y0 - D, None),
]


def test_every_point_assigned_exactly_once_by_the_code_rule(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        for code, lon, lat, _ in POINTS:
            s.execute(
                text(
                    "INSERT INTO household (code, kind, geom) VALUES (:c, '常住户', "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"c": code, "x": round(lon, 7), "y": round(lat, 7)},
            )
        counts = {c.table: c for c in assign_all(s)}
        got = dict(s.execute(text("SELECT h.code, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id")).all())
        per_grid = grid_counts(s)
        codes = dict(s.execute(text("SELECT code, id FROM grid")).all())
    assert got == {code: expected for code, _, _, expected in POINTS}
    assert counts["household"].assigned == 7 and counts["household"].unassigned == 1
    # Rolled up: each parent equals the sum of its children, and the street counts every assigned point once.
    assert per_grid[codes["610103006"]]["households"] == 7
    assert per_grid[codes["610103006001"]]["households"] == (
        per_grid[codes["610103006001001"]]["households"] + per_grid[codes["610103006001002"]]["households"]
    )
    assert per_grid[codes["610103006001001"]]["households"] == 4


def test_assignment_is_idempotent(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(
            text("INSERT INTO household (code, kind, geom) "
                 "VALUES ('H1', '底商', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
            {"x": X0 + D / 4, "y": Y0 + D / 2},
        )
        s.execute(text("UPDATE household SET grid_id = NULL"))  # as a stale assignment would be
        first = assign_all(s)
        second = assign_all(s)
    assert [c.changed for c in first if c.table == "household"] == [1]
    assert all(c.changed == 0 for c in second)


def test_buildings_go_to_the_largest_overlap(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        # 70% in …001002, 30% in …001001
        s.execute(
            text("INSERT INTO building (code, geom) VALUES ('B1', ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"),
            {"x0": X0 + D / 2 - 0.0003, "y0": Y0 + 0.001, "x1": X0 + D / 2 + 0.0007, "y1": Y0 + 0.002},
        )
        s.execute(
            text("INSERT INTO building (code, geom) VALUES ('B2', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
            {"x": X0 + 1.5 * D, "y": Y0 + D / 2},
        )
        assign_all(s)
        got = dict(s.execute(text("SELECT b.code, g.code FROM building b JOIN grid g ON g.id = b.grid_id")).all())
    assert got == {"B1": "610103006001002", "B2": "610103006002001"}


def test_many_new_buildings_take_the_restricted_set_pass_with_the_same_result(
    sample_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridgov.assign import points

    monkeypatch.setattr(points, "BUILDING_ROWWISE_LIMIT", 10)
    with Session(sample_engine) as s, s.begin():
        ids = list(s.execute(text("SELECT id FROM building ORDER BY id")).scalars())
        some = ids[::2]
        s.execute(text("UPDATE building SET grid_id = NULL"))
        assert points.assign_rows(s, "building", some) > 0
        got = dict(s.execute(text("SELECT id, grid_id FROM building WHERE id = ANY(:i)"), {"i": some}).all())
        rule = dict(s.execute(text("SELECT id, gridgov_leaf_for_building(geom) FROM building WHERE id = ANY(:i)"),
                              {"i": some}).all())  # fmt: skip
        untouched = s.execute(text("SELECT count(grid_id) FROM building WHERE NOT id = ANY(:i)"), {"i": some})
        assert got == rule and untouched.scalar_one() == 0  # only the given rows, by the one-row rule
        s.rollback()
