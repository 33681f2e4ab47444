"""Models and migrations agree: Alembic's autogenerate finds nothing to write on a migrated database."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import CheckConstraint, Connection, Engine, text

from gridgov.db.models import Base


def _diff(conn: Connection) -> list[Any]:
    """What autogenerate would write, configured exactly like ``db/migrations/env.py``."""
    ctx = MigrationContext.configure(
        conn,
        opts={
            # Same hook as env.py: GeoAlchemy2 hides PostGIS's own tables (spatial_ref_sys, and
            # topology/tiger tables when those extensions exist) and matches the GiST indexes that
            # ``spatial_index=True`` implies against the ``idx_<table>_<column>`` ones in the database.
            "include_object": alembic_helpers.include_object,
            "render_item": alembic_helpers.render_item,
            "compare_type": True,
            # Stricter than env.py (which leaves it off): server defaults compare cleanly today.
            "compare_server_default": True,
        },
    )
    return compare_metadata(ctx, Base.metadata)


def test_autogenerate_finds_no_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = _diff(conn)
    assert diff == [], (
        "models and migrations drift; write a migration (alembic revision --autogenerate):\n"
        + "\n".join(map(repr, diff))
    )


def test_the_comparison_sees_spatial_indexes_and_columns(engine: Engine) -> None:
    """Guard the guard: a dropped GiST index and a stray column are reported (then rolled back)."""
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("DROP INDEX idx_household_geom"))
        conn.execute(text("ALTER TABLE grid_finding ADD COLUMN stray integer"))
        diff = _diff(conn)
        tx.rollback()
    ops = {(d[0], getattr(d[1], "name", None)) for d in diff if isinstance(d, tuple)}
    assert ("add_index", "idx_household_geom") in ops
    assert any(d[0] == "remove_column" and d[2] == "grid_finding" and d[3].name == "stray" for d in diff)


def test_check_constraints_match(engine: Engine) -> None:
    """Autogenerate ignores CHECK constraints, so their names are compared here."""
    model = {
        (t.name, str(c.name))
        for t in Base.metadata.tables.values()
        for c in t.constraints
        if isinstance(c, CheckConstraint)
    }
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint"
                " WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
            )
        )
        # spatial_ref_sys belongs to PostGIS, not to gridgov (the same table include_object hides).
        database = {(t, n) for t, n in rows if t != "spatial_ref_sys"}
    assert database == model
