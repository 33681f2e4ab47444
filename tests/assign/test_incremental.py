"""Assignment on write (triggers of migration 0003) and its agreement with the set-based statements."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gridgov.assign.points import assign_rows, assign_staged, assign_table, reassign_area
from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.grids import service

from tests.factories import X0, Y0, D, make_street, square

A, B, C = "610103006001001", "610103006001002", "610103006002001"

# (lon, lat, expected leaf): interior, shared edge, three-grid vertex, community border, outside.
CASES = [
    (X0 + D / 4, Y0 + D / 2, A),
    (X0 + D / 2, Y0 + D / 2, A),  # edge A|B: the smaller code
    (X0 + D / 2, Y0 + D, A),  # top vertex shared by A and B
    (X0 + D, Y0 + D / 3, B),  # community border B|C
    (X0 + 1.5 * D, Y0 + D / 2, C),
    (X0 - D, Y0 - D, None),
]


def _point(x: float, y: float) -> dict[str, float]:
    return {"x": round(x, 7), "y": round(y, 7)}


def _insert_household(s: Session, code: str, x: float, y: float) -> None:
    s.execute(
        text("INSERT INTO household (code, kind, geom) VALUES (:c, '常住户', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
        {"c": code, **_point(x, y)},
    )


def _insert_incident(s: Session, code: str, x: float, y: float) -> None:
    s.execute(
        text(
            "INSERT INTO incident (code, category, geom, reported_at) "
            "VALUES (:c, '市容环境', ST_SetSRID(ST_MakePoint(:x, :y), 4326), :t)"
        ),
        {"c": code, "t": dt.datetime(2026, 10, 1, tzinfo=dt.UTC), **_point(x, y)},
    )


def _grid_of(s: Session, table: str, code: str) -> str | None:
    return s.execute(
        text(f"SELECT g.code FROM {table} t LEFT JOIN grid g ON g.id = t.grid_id WHERE t.code = :c"
             + (" AND t.valid_to IS NULL" if table in ("household", "building") else "")),
        {"c": code},
    ).scalar_one()


def _move(s: Session, table: str, code: str, x: float, y: float) -> None:
    s.execute(
        text(f"UPDATE {table} SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE code = :c"),
        {"c": code, **_point(x, y)},
    )


@pytest.mark.parametrize("table", ["household", "incident"])
def test_insert_and_move_are_assigned_in_the_same_transaction(clean_engine: Engine, table: str) -> None:
    insert = _insert_household if table == "household" else _insert_incident
    with session_scope(clean_engine) as s:
        make_street(s)
        for i, (x, y, _) in enumerate(CASES):
            insert(s, f"p{i}", x, y)
        got = [_grid_of(s, table, f"p{i}") for i in range(len(CASES))]
        _move(s, table, "p0", X0 + D, Y0 + D / 3)  # onto the B|C border
        moved_to_edge = _grid_of(s, table, "p0")
        _move(s, table, "p4", X0 - D, Y0)  # out of every grid
        moved_out = _grid_of(s, table, "p4")
        _move(s, table, "p5", X0 + 1.5 * D, Y0 + D / 4)  # from outside into C
        moved_in = _grid_of(s, table, "p5")
    assert got == [expected for _, _, expected in CASES]
    assert (moved_to_edge, moved_out, moved_in) == (B, None, C)


def test_the_rule_wins_over_a_given_grid_and_other_edits_keep_it(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        c_id = s.execute(text("SELECT id FROM grid WHERE code = :c"), {"c": C}).scalar_one()
        s.execute(
            text(
                "INSERT INTO household (code, kind, geom, grid_id) "
                "VALUES ('h', '底商', ST_SetSRID(ST_MakePoint(:x, :y), 4326), :g)"
            ),
            {"g": c_id, **_point(X0 + D / 4, Y0 + D / 2)},
        )
        on_insert = _grid_of(s, "household", "h")
        s.execute(text("UPDATE household SET grid_id = :g, address = 'x' WHERE code = 'h'"), {"g": c_id})
        manual = _grid_of(s, "household", "h")
        s.execute(text("UPDATE household SET geom = geom WHERE code = 'h'"))  # same point: not a move
        unchanged = _grid_of(s, "household", "h")
    assert (on_insert, manual, unchanged) == (A, C, C)


def test_buildings_on_write_follow_the_overlap_rule(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(  # 70 % in B, 30 % in A
            text("INSERT INTO building (code, geom) VALUES ('B1', ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"),
            {"x0": X0 + D / 2 - 0.0003, "y0": Y0 + 0.001, "x1": X0 + D / 2 + 0.0007, "y1": Y0 + 0.002},
        )
        s.execute(
            text("INSERT INTO building (code, geom) VALUES ('B2', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
            _point(X0 + D / 2, Y0 + D / 2),
        )
        first = (_grid_of(s, "building", "B1"), _grid_of(s, "building", "B2"))
        s.execute(  # now 70 % in A
            text("UPDATE building SET geom = ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) WHERE code = 'B1'"),
            {"x0": X0 + D / 2 - 0.0007, "y0": Y0 + 0.001, "x1": X0 + D / 2 + 0.0003, "y1": Y0 + 0.002},
        )
        second = _grid_of(s, "building", "B1")
        changed = assign_table(s, "building").changed
    assert first == (B, A) and second == A and changed == 0


def test_bulk_mode_skips_the_trigger_until_the_set_based_pass(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _insert_household(s, "kept", X0 + D / 4, Y0 + D / 2)
        s.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
        for i, (x, y, _) in enumerate(CASES):
            _insert_household(s, f"p{i}", x, y)
            _insert_incident(s, f"p{i}", x, y)
        _move(s, "household", "kept", X0 + 1.5 * D, Y0 + D / 2)
        in_bulk = s.execute(text("SELECT count(grid_id) FROM household WHERE code <> 'kept'")).scalar_one()
        stale = _grid_of(s, "household", "kept")
        audit = "SELECT count(*) FROM audit_log WHERE table_name = 'household' AND action = 'bulk_update'"
        before = s.execute(text(audit)).scalar_one()
        counts = {t: assign_table(s, t) for t in ("household", "incident")}
        bulk_rows = s.execute(text(audit)).scalar_one() - before
        s.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
        got = {t: [_grid_of(s, t, f"p{i}") for i in range(len(CASES))] for t in counts}
        kept = _grid_of(s, "household", "kept")
    assert in_bulk == 0 and stale == A
    assert got == {t: [expected for _, _, expected in CASES] for t in counts} and kept == C
    assert counts["household"].changed == len(CASES) - 1 + 1 and counts["household"].unassigned == 1
    assert bulk_rows == 1  # one summary row for the whole pass


def test_full_pass_repairs_wrong_and_stale_grids(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        for i, (x, y, _) in enumerate(CASES):
            _insert_household(s, f"p{i}", x, y)
        ids = dict(s.execute(text("SELECT code, id FROM grid")).all())
        # wrong grids written by hand: an interior point, an edge point, an outside point
        s.execute(text("UPDATE household SET grid_id = :g WHERE code IN ('p0', 'p1', 'p5')"), {"g": ids[C]})
        # C retired behind the assignment's back: its community …002 has no live child left, so it is a leaf now
        s.execute(text("UPDATE grid SET valid_to = now() WHERE code = :c"), {"c": C})
        counts = assign_table(s, "household")
        got = [_grid_of(s, "household", f"p{i}") for i in range(len(CASES))]
        again = assign_table(s, "household").changed
    assert got == [A, A, A, B, "610103006002", None]
    assert counts.changed == 4 and counts.unassigned == 1 and again == 0


def test_overlapping_leaves_go_to_the_smaller_code(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        # an invalid coverage on purpose: …002002 overlaps the east half of C
        service.create_grid(s, code="610103006002002", name="重叠", level="compound", parent_code="610103006002",
                            geometry=square(X0 + 1.5 * D, Y0, D / 2, D), actor=Actor.system("test"))  # fmt: skip
        _insert_household(s, "in-both", X0 + 1.75 * D, Y0 + D / 2)
        on_write = _grid_of(s, "household", "in-both")
        s.execute(text("UPDATE household SET grid_id = NULL"))
        counts = assign_table(s, "household")
        set_based = _grid_of(s, "household", "in-both")
    assert on_write == set_based == C and counts.changed == 1


def test_grid_edit_reassigns_only_the_changed_area_and_logs_the_moves(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        _insert_household(s, "west", X0 + D / 8, Y0 + D / 2)
        _insert_household(s, "strip", X0 + 0.4 * D, Y0 + D / 2)
        _insert_household(s, "east", X0 + 1.5 * D, Y0 + D / 2)
        s.execute(text("DELETE FROM audit_log"))
        a = service.get_grid(s, A)
        # shrink A to its west 60 %: the strip is in no leaf any more
        service.update_grid(s, A, expected_version=a.version, actor=Actor.system("test"),
                            geometry=square(X0, Y0, 0.3 * D, D))
        got = {c: _grid_of(s, "household", c) for c in ("west", "strip", "east")}
        logged = s.execute(
            text(
                "SELECT new->>'code', old->>'grid_id' IS NOT NULL, new->>'grid_id' IS NULL FROM audit_log "
                "WHERE table_name = 'household' AND action = 'update'"
            )
        ).all()
        again = reassign_area(s, box(X0 + 0.3 * D, Y0, X0 + D / 2, Y0 + D))
    assert got == {"west": A, "strip": None, "east": C}
    assert logged == [("strip", True, True)]
    assert again == {"building": 0, "household": 0, "incident": 0, "resident_unit": 0}


def test_a_building_keeps_its_larger_overlap_outside_the_edited_area(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(  # 30 % in A, 70 % in B
            text("INSERT INTO building (code, geom) VALUES ('B1', ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"),
            {"x0": X0 + D / 2 - 0.0003, "y0": Y0 + 0.001, "x1": X0 + D / 2 + 0.0007, "y1": Y0 + 0.002},
        )
        before = _grid_of(s, "building", "B1")
        moved = reassign_area(s, box(X0, Y0, X0 + D / 2, Y0 + D))  # A's area only: B still competes
        after = _grid_of(s, "building", "B1")
    assert before == after == B and moved["building"] == 0


def test_assign_rows_assigns_just_the_given_rows(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
        _insert_household(s, "mine", X0 + D / 2, Y0 + D / 2)
        _insert_household(s, "other", X0 + 1.5 * D, Y0 + D / 2)
        mine = s.execute(text("SELECT id FROM household WHERE code = 'mine'")).scalar_one()
        changed = assign_rows(s, "household", [mine])
        got = (_grid_of(s, "household", "mine"), _grid_of(s, "household", "other"))
    assert changed == 1 and got == (A, None)


def test_staged_rows_are_assigned_before_they_are_written(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(
            text("CREATE TEMP TABLE stage (id bigint, geom geometry(Point, 4326), grid_id bigint) ON COMMIT DROP")
        )
        for i, (x, y, _) in enumerate(CASES):
            s.execute(
                text("INSERT INTO stage (id, geom) VALUES (:i, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                {"i": i, **_point(x, y)},
            )
        picked = assign_staged(s, "stage")
        got = s.execute(
            text(
                f"SELECT g.code FROM stage t LEFT JOIN {picked} m ON m.id = t.id LEFT JOIN grid g ON g.id = m.gid "
                "ORDER BY t.id"
            )  # fmt: skip
        ).scalars()
        assert list(got) == [expected for _, _, expected in CASES]


def test_a_reassignment_waits_for_concurrent_geometry_writes(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    with Session(clean_engine) as writer, Session(clean_engine) as editor:
        _insert_household(writer, "pending", X0 + D / 4, Y0 + D / 2)  # holds the writers' lock until commit
        editor.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            reassign_area(editor, box(X0, Y0, X0 + D, Y0 + D))
        editor.rollback()
        writer.rollback()


def test_trigger_rule_and_set_based_pass_agree_on_the_sample(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        s.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
        for t in ("household", "incident", "building"):
            s.execute(text(f"UPDATE {t} SET grid_id = NULL"))
            assign_table(s, t)
        disagree = {
            t: s.execute(text(f"SELECT count(*) FROM {t} WHERE grid_id IS DISTINCT FROM {fn}(geom)"
                              + (" AND valid_to IS NULL" if t != "incident" else ""))).scalar_one()  # live rows
            for t, fn in (
                ("household", "gridgov_leaf_for_point"),
                ("incident", "gridgov_leaf_for_point"),
                ("building", "gridgov_leaf_for_building"),
            )
        }
        n, ties = s.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE (SELECT count(*) FROM grid l WHERE l.valid_to IS NULL "
                "AND l.level = 'compound' AND ST_Covers(l.geom, h.geom)) > 1) FROM household h WHERE h.valid_to IS NULL"
            )
        ).one()
        s.rollback()
    assert disagree == {"household": 0, "incident": 0, "building": 0}
    assert n >= 19_990 and ties >= 6  # the sample's live households, boundary ones included
