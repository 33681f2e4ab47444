"""assign on write

Revision ID: 0003
Revises: 0002
The assignment rule as SQL functions, and BEFORE triggers that assign an inserted or moved household,
incident or building in the same transaction (skipped when ``gridgov.bulk`` is on: bulk loaders run the
set-based assignment afterwards).

Create Date: 2026-11-21 10:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The rule, once, for one geometry (the set-based SQL in db/sql/assign_*.sql applies the same rule to whole
# tables; tests/assign/test_incremental.py proves they agree). A leaf is a live grid (valid_to IS NULL,
# lineage_id IS NULL) without live children. The leaf test is written before ST_Covers and costs far less,
# so the planner runs it first and point-in-polygon tests only touch leaves.
FUNCTIONS = """
CREATE FUNCTION gridgov_leaf_for_point(p geometry) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT l.id
    FROM grid l
   WHERE l.valid_to IS NULL
     AND l.lineage_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM grid c
                      WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
     AND ST_Covers(l.geom, p)
   ORDER BY l.code
   LIMIT 1
$$;
COMMENT ON FUNCTION gridgov_leaf_for_point(geometry) IS
  'The live leaf grid covering a point; on a shared edge or vertex the smallest code; NULL outside every leaf.';

CREATE FUNCTION gridgov_leaf_for_building(b geometry) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN GeometryType(b) = 'POINT' THEN gridgov_leaf_for_point(b) ELSE (
    SELECT l.id
      FROM grid l
     WHERE l.valid_to IS NULL
       AND l.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c
                        WHERE c.parent_id = l.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
       AND ST_Intersects(l.geom, b)
     ORDER BY CASE WHEN ST_Covers(l.geom, b) THEN ST_Area(b::geography)
                   ELSE ST_Area(ST_Intersection(l.geom, b)::geography) END DESC,
              l.code
     LIMIT 1) END
$$;
COMMENT ON FUNCTION gridgov_leaf_for_building(geometry) IS
  'The live leaf grid a footprint overlaps most (m² on the geography; ties: smallest code); points: point rule.';

-- array_agg that PostgreSQL 15 can run in parallel workers (partial states are concatenated).
CREATE AGGREGATE gridgov_array_agg(bigint) (
  SFUNC = array_append, STYPE = bigint[], COMBINEFUNC = array_cat, PARALLEL = SAFE
);

-- Writers of geometry take this lock shared, re-assignments (gridgov.assign.points) take it exclusive, so a
-- grid edit's re-assignment never misses a row written concurrently against the old grids.
CREATE FUNCTION gridgov_assign_on_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('gridgov.bulk', true), '') = 'on' THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.geom IS NOT DISTINCT FROM OLD.geom THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1735551332, TG_RELID::int);
  IF TG_TABLE_NAME = 'building' THEN
    NEW.grid_id := gridgov_leaf_for_building(NEW.geom);
  ELSE
    NEW.grid_id := gridgov_leaf_for_point(NEW.geom);
  END IF;
  RETURN NEW;
END $$;
"""

TABLES = ("household", "incident", "building")


def upgrade() -> None:
    """Apply this revision."""
    op.execute(FUNCTIONS)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_assign BEFORE INSERT OR UPDATE OF geom ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION gridgov_assign_on_write()"
        )


def downgrade() -> None:
    """Revert this revision."""
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_assign ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgov_assign_on_write()")
    op.execute("DROP AGGREGATE IF EXISTS gridgov_array_agg(bigint)")
    op.execute("DROP FUNCTION IF EXISTS gridgov_leaf_for_building(geometry)")
    op.execute("DROP FUNCTION IF EXISTS gridgov_leaf_for_point(geometry)")
