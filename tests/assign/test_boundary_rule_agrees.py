"""The three implementations of the boundary rule agree on points exactly on shared edges and vertices.

The rule (README "Boundary rule"): a point goes to the live leaf grid that covers it (ST_Covers); where
several leaves cover it (a shared edge or vertex) the one whose code sorts first. It is written three times:
the on-write trigger (``gridgov_leaf_for_point``, migration 0003), the set-based pass (``assign_points.sql``
via ``assign_table`` / ``assign_staged``) and the ledger's as-of pass (``ledger_assign.sql``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.assign.points import assign_staged, assign_table
from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.grids import service
from gridgov.ledger.report import build_ledger

from tests.factories import X0, Y0, D, make_street, square

A, B, C = "610103006001001", "610103006001002", "610103006002001"
N = "610103006002002"  # the north half of C, split off below, so that one point is covered by three leaves

# Leaves after the split: A = west half of community …001, B = its east half, C = south half of …002,
# N = north half of …002. (name, lon, lat, expected leaf, how many leaves cover it)
POINTS = [
    ("A interior", X0 + D / 4, Y0 + D / 2, A, 1),
    ("B interior", X0 + 3 * D / 4, Y0 + D / 4, B, 1),
    ("C interior", X0 + 1.5 * D, Y0 + D / 4, C, 1),
    ("N interior", X0 + 1.5 * D, Y0 + 3 * D / 4, N, 1),
    ("A outer edge", X0, Y0 + D / 2, A, 1),
    ("A|B edge", X0 + D / 2, Y0 + D / 2, A, 2),
    ("A|B edge, low", X0 + D / 2, Y0 + D / 10, A, 2),
    ("A|B vertex, north", X0 + D / 2, Y0 + D, A, 2),
    ("A|B vertex, south", X0 + D / 2, Y0, A, 2),
    ("B|C edge (communities)", X0 + D, Y0 + D / 4, B, 2),
    ("B|N edge (communities)", X0 + D, Y0 + 3 * D / 4, B, 2),
    ("B|C|N triple point", X0 + D, Y0 + D / 2, B, 3),
    ("B|C vertex, south", X0 + D, Y0, B, 2),
    ("B|N vertex, north", X0 + D, Y0 + D, B, 2),
    ("C|N edge", X0 + 1.5 * D, Y0 + D / 2, C, 2),
    ("C|N vertex, east", X0 + 2 * D, Y0 + D / 2, C, 2),
    ("outside", X0 - D, Y0 - D, None, 0),
]


def _xy(x: float, y: float) -> dict[str, float]:
    """Coordinates rounded like the factory's vertices, so edge points lie exactly on the edges."""
    return {"x": round(x, 7), "y": round(y, 7)}


def _split_c(s: Session) -> None:
    """Shrink C to its south half and add N as the north half of community …002."""
    c = service.get_grid(s, C)
    service.update_grid(
        s, C, expected_version=c.version, actor=Actor.system("test"), geometry=square(X0 + D, Y0, D, D / 2)
    )
    service.create_grid(s, code=N, name="第二网格", level="compound", parent_code="610103006002",
                        geometry=square(X0 + D, Y0 + D / 2, D, D / 2), actor=Actor.system("test"))  # fmt: skip


def _stored(s: Session) -> dict[str, str | None]:
    """Each household's stored grid code, by household code."""
    rows = s.execute(text("SELECT h.code, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id"))
    return dict(rows.tuples().all())


def test_trigger_set_based_and_ledger_as_of_agree_on_edges_and_vertices(clean_engine: Engine) -> None:
    expected = {name: leaf for name, _, _, leaf, _ in POINTS}
    with session_scope(clean_engine) as s:
        make_street(s)
        _split_c(s)
        leaves = s.execute(
            text(
                "SELECT l.code FROM grid l WHERE l.valid_to IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL) ORDER BY 1"
            )
        ).scalars()
        assert list(leaves) == [A, B, C, N]

    # 1. the on-write trigger: one household at a time, outside bulk mode
    with session_scope(clean_engine) as s:
        for name, x, y, _, _ in POINTS:
            s.execute(
                text(
                    "INSERT INTO household (code, kind, geom) "
                    "VALUES (:c, '常住户', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"c": name, **_xy(x, y)},
            )
        on_write = _stored(s)
        covering = s.execute(
            text(
                "SELECT h.code, count(l.id) FROM household h LEFT JOIN grid l ON l.valid_to IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL) "
                "AND ST_Covers(l.geom, h.geom) GROUP BY h.code"
            )
        ).tuples()
        # the points lie exactly on the edges and vertices: they are covered by two or three leaves
        assert dict(covering.all()) == {name: n for name, _, _, _, n in POINTS}
    with clean_engine.connect() as conn:  # after every grid edit, and past the households' commit
        as_of = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    assert isinstance(as_of, dt.datetime)

    # 2a. the set-based pass over the whole table, from scratch (clearing grid_id does not fire the trigger)
    with Session(clean_engine) as s, s.begin():
        s.execute(text("UPDATE household SET grid_id = NULL"))
        counts = assign_table(s, "household")
        set_based = _stored(s)
        s.rollback()

    # 2b. the same pass on staged rows, before they are written
    with Session(clean_engine) as s, s.begin():
        s.execute(
            text("CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT id, geom, NULL::bigint AS grid_id FROM household")
        )
        picked = assign_staged(s, "stage")
        staged = dict(
            s.execute(
                text(
                    f"SELECT h.code, g.code FROM stage t JOIN household h ON h.id = t.id "
                    f"LEFT JOIN {picked} m ON m.id = t.id LEFT JOIN grid g ON g.id = m.gid"
                )
            )
            .tuples()
            .all()
        )
        s.rollback()

    # 3. the ledger as of that moment: re-assigned from the grids valid then, per household (its temp tables)
    with Session(clean_engine) as s, s.begin():
        ledger = build_ledger(s, as_of=as_of, with_patrol=False)
        as_of_pass = dict(
            s.execute(
                text(
                    "SELECT h.code, l.code FROM ledger_hh x JOIN household h ON h.id = x.id "
                    "LEFT JOIN ledger_grid l ON l.gid = x.gid"
                )
            )
            .tuples()
            .all()
        )
        s.rollback()

    assert on_write == expected
    assert set_based == expected
    assert staged == expected
    assert as_of_pass == expected
    assert counts.changed == len(POINTS) - 1 and counts.unassigned == 1
    # and the ledger's counts are those per-household answers, rolled up
    per_leaf = {r.code: r.households for r in ledger.rows if r.code in (A, B, C, N)}
    assert per_leaf == {leaf: sum(1 for v in expected.values() if v == leaf) for leaf in (A, B, C, N)}
