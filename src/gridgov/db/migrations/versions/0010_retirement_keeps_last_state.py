"""retirement keeps the last state

Revision ID: 0010
Revises: 0009
A retirement now keeps the record's last state as a history row too (valid until the retirement, with the
editor who made it), and the live row becomes the retirement itself: valid from and to the moment it took
effect, with its reason and who retired it. Before, the live row was closed in place and the name of the last
editor was overwritten by the retirer's.

Create Date: 2026-11-30 05:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEEP_VERSION = """
CREATE OR REPLACE FUNCTION gridgov_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eff timestamptz := coalesce(nullif(current_setting('gridgov.effective', true), '')::timestamptz, now());
  closed timestamptz;
BEGIN
  IF OLD.valid_to IS NOT NULL AND NEW.valid_to IS NOT NULL THEN
    RAISE EXCEPTION '已注销的记录不能修改（%，编号 %）', TG_TABLE_NAME, OLD.id USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_by := coalesce(nullif(current_setting('gridgov.actor', true), ''), NEW.updated_by);
  IF OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL THEN  -- retirement: the last state becomes history
    closed := greatest(NEW.valid_to, OLD.valid_from);
    NEW.valid_from := closed;
    NEW.valid_to := closed;  -- the live row is the retirement itself: in force at no moment
  ELSE
    closed := CASE WHEN OLD.valid_to IS NULL THEN greatest(eff, OLD.valid_from) ELSE OLD.valid_to END;
    NEW.valid_from := greatest(eff, closed);  -- a revival starts no earlier than its retirement
    NEW.end_reason := NULL;
  END IF;
  EXECUTE format('INSERT INTO %I.%I SELECT ($1).*', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    USING jsonb_populate_record(OLD, jsonb_build_object(
      'id', nextval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), 'id')),
      'lineage_id', OLD.id, 'valid_to', CASE WHEN OLD.valid_to IS NULL THEN closed ELSE OLD.valid_to END));
  RETURN NEW;
END $$;
"""

PREVIOUS = """
CREATE OR REPLACE FUNCTION gridgov_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eff timestamptz := coalesce(nullif(current_setting('gridgov.effective', true), '')::timestamptz, now());
  closed timestamptz;
BEGIN
  IF OLD.valid_to IS NOT NULL AND NEW.valid_to IS NOT NULL THEN
    RAISE EXCEPTION '已注销的记录不能修改（%，编号 %）', TG_TABLE_NAME, OLD.id USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_by := coalesce(nullif(current_setting('gridgov.actor', true), ''), NEW.updated_by);
  IF OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL THEN
    NEW.valid_to := greatest(NEW.valid_to, OLD.valid_from);
    RETURN NEW;
  END IF;
  closed := CASE WHEN OLD.valid_to IS NULL THEN greatest(eff, OLD.valid_from) ELSE OLD.valid_to END;
  EXECUTE format('INSERT INTO %I.%I SELECT ($1).*', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    USING jsonb_populate_record(OLD, jsonb_build_object(
      'id', nextval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), 'id')),
      'lineage_id', OLD.id, 'valid_to', closed));
  NEW.valid_from := greatest(eff, closed);
  NEW.end_reason := NULL;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    """Apply this revision."""
    op.execute(KEEP_VERSION)


def downgrade() -> None:
    """Revert this revision."""
    op.execute(PREVIOUS)
