"""patrol operations

Revision ID: 0011
Revises: 0010
Patrol operations (巡逻勤务): teams and areas become records with history (the pattern of migration 0007: live
row, history rows, retirement with a reason); a team has a kind, a usual shift, a unit, the grid it serves and
members with dates; an area has a code and may be shared by communities leading it in turn. Rosters say who
patrols which night and shift, with leave and substitutions kept beside them. A track is a night patrol of a
team (or of one member) or a daytime inspection (日巡查, no shift) of a staff member; its geometry is the walked
parts (a MultiLineString: a gap in the recording splits it), and its points carry what the cleaning found.

Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TRACKED = {
    "patrol_team": ("code", "name", "kind", "shift", "unit", "grid_id", "leader_staff_id"),
    "patrol_area": ("code", "name", "team_id", "geom", "route", "rota_grid_ids"),
}
SHIFTS = "('上半夜', '下半夜')"
NEW_TABLES = ("patrol_team_member", "patrol_roster", "roster_change")


def _keep_version_trigger(table: str) -> str:
    cols = ("valid_to", *TRACKED[table])
    old = ", ".join(f"OLD.{c}" for c in cols)
    new = ", ".join(f"NEW.{c}" for c in cols)
    return (f"CREATE TRIGGER {table}_keep_version BEFORE UPDATE ON {table} FOR EACH ROW "
            f"WHEN (OLD.lineage_id IS NULL AND ({old}) IS DISTINCT FROM ({new})) "
            "EXECUTE FUNCTION gridgov_keep_version()")  # fmt: skip


def _audit_triggers(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_audit_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
CREATE TRIGGER {table}_audit_upd AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
CREATE TRIGGER {table}_audit_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
"""


def _versioned(table: str) -> None:
    """The history columns, checks and indexes of migration 0007, on ``table``."""
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
    op.create_index(f"{table}_code_identity_uq", table, ["code"], unique=True,
                    postgresql_where=sa.text("lineage_id IS NULL"))  # fmt: skip
    op.create_index(f"{table}_live_idx", table, ["id"], unique=False, postgresql_where=sa.text("valid_to IS NULL"))


def upgrade() -> None:
    """Apply this revision."""
    # Teams
    op.add_column("patrol_team", sa.Column("kind", sa.String(length=16), nullable=True))
    op.add_column("patrol_team", sa.Column("shift", sa.String(length=4), nullable=True))
    op.add_column("patrol_team", sa.Column("unit", sa.Text(), nullable=True))
    op.add_column("patrol_team", sa.Column("grid_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("patrol_team_grid_id_fkey", "patrol_team", "grid", ["grid_id"], ["id"])
    op.create_index(op.f("ix_patrol_team_grid_id"), "patrol_team", ["grid_id"], unique=False)
    op.create_check_constraint("patrol_team_shift_known", "patrol_team", f"shift IS NULL OR shift IN {SHIFTS}")
    op.drop_constraint("patrol_team_code_key", "patrol_team", type_="unique")
    _versioned("patrol_team")

    # Areas: a code of their own (the team's code and the area's number for existing ones), a team optional
    op.add_column("patrol_area", sa.Column("code", sa.String(length=40), nullable=True))
    op.execute("UPDATE patrol_area a SET code = coalesce((SELECT t.code FROM patrol_team t WHERE t.id = a.team_id), "
               "'PA') || '-' || a.id")  # fmt: skip
    op.alter_column("patrol_area", "code", nullable=False)
    op.alter_column("patrol_area", "team_id", nullable=True)
    op.add_column("patrol_area", sa.Column("rota_grid_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True))
    _versioned("patrol_area")
    op.execute("CREATE TRIGGER patrol_area_rev AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON patrol_area"
               " FOR EACH STATEMENT EXECUTE FUNCTION gridgov_patrol_changed()")  # fmt: skip
    for table in TRACKED:
        op.execute(_keep_version_trigger(table))

    op.create_table(
        "patrol_team_member",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=8), server_default="队员", nullable=False),
        sa.Column("since", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("role IN ('队长', '队员')", name="patrol_team_member_role_known"),
        sa.CheckConstraint("until IS NULL OR until >= since", name="patrol_team_member_dates_order"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["patrol_team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_patrol_team_member_staff_id"), "patrol_team_member", ["staff_id"], unique=False)
    op.create_index(op.f("ix_patrol_team_member_team_id"), "patrol_team_member", ["team_id"], unique=False)
    op.create_index("patrol_team_member_once", "patrol_team_member", ["team_id", "staff_id"], unique=True,
                    postgresql_where=sa.text("until IS NULL"))  # fmt: skip

    # Tracks: night patrols (a team's, or one member's) and daytime inspections (a staff member's, no shift)
    op.alter_column("patrol_track", "team_id", nullable=True)
    op.add_column("patrol_track", sa.Column("staff_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key("patrol_track_staff_id_fkey", "patrol_track", "staff", ["staff_id"], ["id"])
    op.create_index(op.f("ix_patrol_track_staff_id"), "patrol_track", ["staff_id"], unique=False)
    op.add_column("patrol_track", sa.Column("kind", sa.String(length=8), server_default="夜间巡逻", nullable=False))
    op.alter_column("patrol_track", "shift", nullable=True)
    op.drop_constraint("patrol_track_shift_known", "patrol_track", type_="check")
    op.create_check_constraint("patrol_track_shift_known", "patrol_track", f"shift IS NULL OR shift IN {SHIFTS}")
    op.create_check_constraint("patrol_track_kind_known", "patrol_track", "kind IN ('夜间巡逻', '日巡查')")
    op.create_check_constraint("patrol_track_shift_if_night", "patrol_track", "(kind = '日巡查') = (shift IS NULL)")
    op.create_check_constraint("patrol_track_walker", "patrol_track", "team_id IS NOT NULL OR staff_id IS NOT NULL")
    op.drop_constraint("patrol_track_once", "patrol_track", type_="unique")
    op.create_unique_constraint("patrol_track_once", "patrol_track",
                                ["team_id", "staff_id", "night", "shift", "started_at"])  # fmt: skip
    op.execute("ALTER TABLE patrol_track ALTER COLUMN geom TYPE geometry(MultiLineString, 4326) USING ST_Multi(geom)")
    op.add_column("patrol_point", sa.Column("flag", sa.String(length=4), nullable=True))
    op.create_check_constraint("patrol_point_flag_known", "patrol_point", "flag IS NULL OR flag IN ('跳点', '断点')")

    # Rosters
    op.create_table(
        "patrol_roster",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=4), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("area_id", sa.BigInteger(), nullable=True),
        sa.Column("lead_grid_id", sa.BigInteger(), nullable=True),
        sa.Column("leader_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("duty_cadre_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("community_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=4), server_default="手工", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"shift IN {SHIFTS}", name="patrol_roster_shift_known"),
        sa.CheckConstraint("source IN ('规则', '手工')", name="patrol_roster_source_known"),
        sa.ForeignKeyConstraint(["area_id"], ["patrol_area.id"]),
        sa.ForeignKeyConstraint(["community_staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["duty_cadre_staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["lead_grid_id"], ["grid.id"]),
        sa.ForeignKeyConstraint(["leader_staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["patrol_team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("night", "shift", "team_id", name="patrol_roster_once"),
    )
    op.create_index(op.f("ix_patrol_roster_night"), "patrol_roster", ["night"], unique=False)
    op.create_index(op.f("ix_patrol_roster_team_id"), "patrol_roster", ["team_id"], unique=False)
    op.create_table(
        "roster_change",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("roster_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("substitute_staff_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('请假', '替班')", name="roster_change_kind_known"),
        sa.CheckConstraint("(kind = '替班') = (substitute_staff_id IS NOT NULL)", name="roster_change_substitute"),
        sa.ForeignKeyConstraint(["roster_id"], ["patrol_roster.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["substitute_staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_roster_change_roster_id"), "roster_change", ["roster_id"], unique=False)
    for table in NEW_TABLES:
        op.execute(_audit_triggers(table))


def downgrade() -> None:
    """Revert this revision (history rows, members, rosters and daytime tracks are removed)."""
    for table in ("roster_change", "patrol_roster", "patrol_team_member"):
        op.drop_table(table)
    op.drop_constraint("patrol_point_flag_known", "patrol_point", type_="check")
    op.drop_column("patrol_point", "flag")
    op.execute("DELETE FROM patrol_track WHERE kind = '日巡查' OR team_id IS NULL")
    op.execute("ALTER TABLE patrol_track ALTER COLUMN geom TYPE geometry(LineString, 4326) "
               "USING ST_LineMerge(geom)")  # fmt: skip
    op.drop_constraint("patrol_track_once", "patrol_track", type_="unique")
    op.create_unique_constraint("patrol_track_once", "patrol_track", ["team_id", "night", "shift", "started_at"])
    for check in ("walker", "shift_if_night", "kind_known", "shift_known"):
        op.drop_constraint(f"patrol_track_{check}", "patrol_track", type_="check")
    op.create_check_constraint("patrol_track_shift_known", "patrol_track", f"shift IN {SHIFTS}")
    op.alter_column("patrol_track", "shift", nullable=False)
    op.drop_column("patrol_track", "kind")
    op.drop_index(op.f("ix_patrol_track_staff_id"), table_name="patrol_track")
    op.drop_constraint("patrol_track_staff_id_fkey", "patrol_track", type_="foreignkey")
    op.drop_column("patrol_track", "staff_id")
    op.alter_column("patrol_track", "team_id", nullable=False)
    op.execute("DROP TRIGGER IF EXISTS patrol_area_rev ON patrol_area")
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_version ON {table}")
        op.execute(f"DELETE FROM {table} WHERE lineage_id IS NOT NULL OR valid_to IS NOT NULL")
        op.drop_index(f"{table}_live_idx", table_name=table)
        op.drop_index(f"{table}_code_identity_uq", table_name=table)
        for check in ("validity_order", "history_rows_closed", "retired_with_reason"):
            op.drop_constraint(f"{table}_{check}", table, type_="check")
        for col in ("updated_by", "version", "end_reason", "valid_to", "valid_from"):
            op.drop_column(table, col)
        op.drop_index(op.f(f"ix_{table}_lineage_id"), table_name=table)
        op.drop_constraint(f"{table}_lineage_id_fkey", table, type_="foreignkey")
        op.drop_column(table, "lineage_id")
    op.drop_column("patrol_area", "rota_grid_ids")
    op.execute("DELETE FROM patrol_area WHERE team_id IS NULL")
    op.alter_column("patrol_area", "team_id", nullable=False)
    op.drop_column("patrol_area", "code")
    op.create_unique_constraint("patrol_team_code_key", "patrol_team", ["code"])
    op.drop_constraint("patrol_team_shift_known", "patrol_team", type_="check")
    op.drop_index(op.f("ix_patrol_team_grid_id"), table_name="patrol_team")
    op.drop_constraint("patrol_team_grid_id_fkey", "patrol_team", type_="foreignkey")
    for col in ("grid_id", "unit", "shift", "kind"):
        op.drop_column("patrol_team", col)
