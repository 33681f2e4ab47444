"""record history

Revision ID: 0007
Revises: 0006
Households, persons, buildings and staff keep their history the way grids do: the live row keeps its id for
life; before a change, a trigger copies the old state to a history row (``lineage_id`` = the live id,
``valid_to`` = the moment the change took effect); a removal is a retirement (``valid_to`` and ``end_reason``
on the live row), never a delete. The moment a change takes effect is the transaction setting
``gridgov.effective`` (a late-recorded change), else now. A code belongs to one identity for life
(unique over live and retired rows). Grid roles get an end date (``until``) and a reason: a role is in force
on the days ``since <= day < until``.

Existing rows are valid from the first write to their table (the audit log), else now.

Create Date: 2026-11-30 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Columns whose change makes a new version (everything but identity, derived grid_id and bookkeeping).
TRACKED = {
    "household": ("code", "address", "building_id", "kind", "geom"),
    "person": ("code", "household_id", "name", "id_number", "sex", "birth_year", "phone", "is_resident_rep",
               "is_volunteer", "is_party_member", "member_type", "sensitive_tags"),
    "building": ("code", "name", "address", "floors", "geom"),
    "staff": ("code", "name", "phone", "organisation"),
}  # fmt: skip

KEEP_VERSION = """
CREATE FUNCTION gridgov_keep_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eff timestamptz := coalesce(nullif(current_setting('gridgov.effective', true), '')::timestamptz, now());
  closed timestamptz;
BEGIN
  IF OLD.valid_to IS NOT NULL AND NEW.valid_to IS NOT NULL THEN
    RAISE EXCEPTION '已注销的记录不能修改（%，编号 %）', TG_TABLE_NAME, OLD.id USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_by := coalesce(nullif(current_setting('gridgov.actor', true), ''), NEW.updated_by);
  IF OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL THEN  -- retirement: the live row itself closes
    NEW.valid_to := greatest(NEW.valid_to, OLD.valid_from);
    RETURN NEW;
  END IF;
  closed := CASE WHEN OLD.valid_to IS NULL THEN greatest(eff, OLD.valid_from) ELSE OLD.valid_to END;
  EXECUTE format('INSERT INTO %I.%I SELECT ($1).*', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    USING jsonb_populate_record(OLD, jsonb_build_object(
      'id', nextval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), 'id')),
      'lineage_id', OLD.id, 'valid_to', closed));
  NEW.valid_from := greatest(eff, closed);  -- a revival starts no earlier than its retirement
  NEW.end_reason := NULL;
  RETURN NEW;
END $$;
"""


def _trigger(table: str) -> str:
    cols = ("valid_to", *TRACKED[table])
    old = ", ".join(f"OLD.{c}" for c in cols)
    new = ", ".join(f"NEW.{c}" for c in cols)
    return (f"CREATE TRIGGER {table}_keep_version BEFORE UPDATE ON {table} FOR EACH ROW "
            f"WHEN (OLD.lineage_id IS NULL AND ({old}) IS DISTINCT FROM ({new})) "
            "EXECUTE FUNCTION gridgov_keep_version()")  # fmt: skip


def upgrade() -> None:
    """Apply this revision."""
    for table in TRACKED:
        op.add_column(table, sa.Column("lineage_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(f"{table}_lineage_id_fkey", table, table, ["lineage_id"], ["id"])
        op.create_index(op.f(f"ix_{table}_lineage_id"), table, ["lineage_id"], unique=False)
        op.add_column(table, sa.Column("valid_from", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                                       nullable=False))  # fmt: skip
        op.execute(f"""UPDATE {table} SET valid_from = coalesce(
                         (SELECT min(at) FROM audit_log WHERE table_name = '{table}'), now())""")
        op.add_column(table, sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("end_reason", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        op.add_column(table, sa.Column("updated_by", sa.Text(), nullable=True))
        op.create_check_constraint(f"{table}_validity_order", table, "valid_to IS NULL OR valid_to >= valid_from")
        op.create_check_constraint(f"{table}_history_rows_closed", table, "lineage_id IS NULL OR valid_to IS NOT NULL")
        op.create_check_constraint(f"{table}_retired_with_reason", table,
                                   "lineage_id IS NOT NULL OR (valid_to IS NULL) = (end_reason IS NULL)")  # fmt: skip
        op.drop_constraint(f"{table}_code_key", table, type_="unique")
        op.create_index(f"{table}_code_identity_uq", table, ["code"], unique=True,
                        postgresql_where=sa.text("lineage_id IS NULL"))  # fmt: skip
        op.create_index(f"{table}_live_idx", table, ["id"], unique=False, postgresql_where=sa.text("valid_to IS NULL"))
    op.drop_column("staff", "active")
    op.execute(KEEP_VERSION)
    for table in TRACKED:
        op.execute(_trigger(table))

    op.execute("""UPDATE grid_role SET since = coalesce(
                    (SELECT min(at) FROM audit_log WHERE table_name = 'grid_role'), now())::date WHERE since IS NULL""")
    op.alter_column("grid_role", "since", nullable=False, server_default=sa.text("CURRENT_DATE"))
    op.add_column("grid_role", sa.Column("until", sa.Date(), nullable=True))
    op.add_column("grid_role", sa.Column("end_reason", sa.Text(), nullable=True))
    op.create_check_constraint("grid_role_dates_order", "grid_role", "until IS NULL OR until >= since")
    op.drop_constraint("grid_role_once", "grid_role", type_="unique")
    op.create_index("grid_role_once", "grid_role", ["grid_id", "staff_id", "role"], unique=True,
                    postgresql_where=sa.text("until IS NULL"))  # fmt: skip


def downgrade() -> None:
    """Revert this revision (history rows are removed; retired rows stay as they are)."""
    op.drop_index("grid_role_once", table_name="grid_role")
    op.execute("DELETE FROM grid_role WHERE until IS NOT NULL")
    op.create_unique_constraint("grid_role_once", "grid_role", ["grid_id", "staff_id", "role"])
    op.drop_constraint("grid_role_dates_order", "grid_role", type_="check")
    op.drop_column("grid_role", "end_reason")
    op.drop_column("grid_role", "until")
    op.alter_column("grid_role", "since", nullable=True, server_default=None)
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgov_keep_version()")
    op.add_column("staff", sa.Column("active", sa.Boolean(), server_default="true", nullable=False))
    for table in TRACKED:
        op.execute(f"DELETE FROM {table} WHERE lineage_id IS NOT NULL")
        op.drop_index(f"{table}_live_idx", table_name=table)
        op.drop_index(f"{table}_code_identity_uq", table_name=table)
        op.create_unique_constraint(f"{table}_code_key", table, ["code"])
        for check in ("validity_order", "history_rows_closed", "retired_with_reason"):
            op.drop_constraint(f"{table}_{check}", table, type_="check")
        for col in ("updated_by", "version", "end_reason", "valid_to", "valid_from"):
            op.drop_column(table, col)
        op.drop_index(op.f(f"ix_{table}_lineage_id"), table_name=table)
        op.drop_constraint(f"{table}_lineage_id_fkey", table, type_="foreignkey")
        op.drop_column(table, "lineage_id")
