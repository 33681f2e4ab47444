"""derived figures

Revision ID: 0004
Revises: 0003
Revision counters raised by statement triggers (``grid``: a live grid's geometry, parent, level or life
changed; ``patrol``: tracks, points or teams changed), per-track statistics inside each leaf grid and the
grid revision they were computed against, buffered track footprints and their union per night, and a cache
of results derived from them (coverage of a period). Nothing is back-filled: readers (and ``gridgov
assign``) compute what is missing or stale.

Create Date: 2026-11-29 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The first raise in a transaction also records the revision it started from (gridgov.base_rev_<name>), so
# the grid writers can re-stamp the tracks that were current before their change and that it did not touch.
BUMP = """
CREATE FUNCTION gridgov_bump_revision(kind text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE new_n bigint;
BEGIN
  INSERT INTO data_revision AS r (name, n) VALUES (kind, 1)
  ON CONFLICT (name) DO UPDATE SET n = r.n + 1
  RETURNING n INTO new_n;
  IF coalesce(current_setting('gridgov.base_rev_' || kind, true), '') = '' THEN
    PERFORM set_config('gridgov.base_rev_' || kind, (new_n - 1)::text, true);
  END IF;
END $$;

CREATE FUNCTION gridgov_patrol_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gridgov_bump_revision('patrol');
  RETURN NULL;
END $$;

-- Only what patrol figures depend on: live rows' geometry, parent, level and life (not names or notes,
-- and not the history copies an edit inserts).
CREATE FUNCTION gridgov_grid_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE changed boolean := true;  -- TRUNCATE
BEGIN
  -- one branch per operation: a statement naming a transition table the trigger lacks cannot even be planned
  IF TG_OP = 'INSERT' THEN
    changed := EXISTS (SELECT 1 FROM new_rows WHERE lineage_id IS NULL AND valid_to IS NULL);
  ELSIF TG_OP = 'DELETE' THEN
    changed := EXISTS (SELECT 1 FROM old_rows WHERE lineage_id IS NULL AND valid_to IS NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    changed := EXISTS (
      SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE n.lineage_id IS NULL
         AND (o.valid_to IS DISTINCT FROM n.valid_to OR o.lineage_id IS DISTINCT FROM n.lineage_id
              OR o.parent_id IS DISTINCT FROM n.parent_id OR o.level IS DISTINCT FROM n.level
              OR ST_AsEWKB(o.geom) IS DISTINCT FROM ST_AsEWKB(n.geom)));
  END IF;
  IF changed THEN
    PERFORM gridgov_bump_revision('grid');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER grid_rev_ins AFTER INSERT ON grid REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_changed();
CREATE TRIGGER grid_rev_upd AFTER UPDATE ON grid REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_changed();
CREATE TRIGGER grid_rev_del AFTER DELETE ON grid REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_changed();
CREATE TRIGGER grid_rev_trunc AFTER TRUNCATE ON grid
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_changed();
"""

PATROL_TABLES = ("patrol_team", "patrol_track", "patrol_point")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "data_revision",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "track_grid_stat",
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("seconds_inside", sa.Float(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["patrol_track.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("track_id", "grid_id"),
    )
    op.create_index("track_grid_stat_grid_idx", "track_grid_stat", ["grid_id"])
    op.create_table(
        "track_derived",
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_rev", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["patrol_track.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("track_id"),
    )
    op.create_table(
        "track_footprint",
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("buffer_m", sa.Float(), nullable=False),
        sa.Column("srid", sa.Integer(), nullable=False),
        sa.Column("geom", Geometry(geometry_type=None, srid=-1, spatial_index=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["patrol_track.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("track_id", "buffer_m", "srid"),
    )
    op.create_table(
        "night_footprint",
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("buffer_m", sa.Float(), nullable=False),
        sa.Column("srid", sa.Integer(), nullable=False),
        sa.Column("track_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("geom", Geometry(geometry_type=None, srid=-1, spatial_index=False), nullable=False),
        sa.PrimaryKeyConstraint("night", "buffer_m", "srid"),
    )
    op.create_table(
        "derived_cache",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("revision", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.execute(BUMP)
    for table in PATROL_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION gridgov_patrol_changed()"
        )


def downgrade() -> None:
    """Revert this revision."""
    for table in PATROL_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_rev ON {table}")
    for suffix in ("ins", "upd", "del", "trunc"):
        op.execute(f"DROP TRIGGER IF EXISTS grid_rev_{suffix} ON grid")
    op.execute("DROP FUNCTION IF EXISTS gridgov_grid_changed(), gridgov_patrol_changed(), gridgov_bump_revision(text)")
    for table in ("derived_cache", "night_footprint", "track_footprint", "track_derived", "track_grid_stat", "data_revision"):
        op.drop_table(table)
