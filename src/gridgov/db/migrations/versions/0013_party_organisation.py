"""party organisation

Revision ID: 0013
Revises: 0012
Party building on the grid (党建网格): Party organisations as records with history (党委, 党总支, 党支部, 党小组;
their form, parent, the grids they are built on, founding date; dissolution is a retirement), their committee
posts, each member's organisation over time, resident units and 两新 organisations (with a place assigned to a
grid, a Party contact and the 大党委 they joined), each member's registers (在职党员报到, 流动党员, 亮身份
consent), visits to the households a member is linked to, volunteer teams with members and activities, meetings
(三会一课) with their minutes, and 党员责任区 polygons with the members responsible.

Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TRACKED = {
    "party_org": ("code", "name", "kind", "form", "parent_id", "grid_ids", "unit_id", "secretary_person_id",
                  "secretary_staff_id", "founded_on", "phone"),
    "resident_unit": ("code", "name", "kind", "address", "geom", "contact_name", "contact_phone", "has_party_org",
                      "member_of_org_id", "joined_on"),
    "volunteer_team": ("code", "name", "kind", "grid_id", "org_id", "leader_person_id"),
    "party_duty_area": ("code", "name", "duty", "geom", "org_id", "person_ids"),
}  # fmt: skip
NEW_TABLES = ("party_org_post", "party_membership", "party_register", "party_contact_visit",
              "volunteer_team_member", "volunteer_activity", "party_meeting")  # fmt: skip
KINDS = "('党委', '党总支', '党支部', '党小组')"
FORMS = ("('社区党组织', '网格党支部', '楼院党支部', '驻区单位党组织', '两新党组织', '离退休党支部', '特设党支部', "
         "'楼栋党小组', '楼道党小组', '其他')")  # fmt: skip


def _versioned_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("lineage_id", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
    ]


def _versioned_checks(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name=f"{table}_validity_order"),
        sa.CheckConstraint("lineage_id IS NULL OR valid_to IS NOT NULL", name=f"{table}_history_rows_closed"),
        sa.CheckConstraint("lineage_id IS NOT NULL OR (valid_to IS NULL) = (end_reason IS NULL)",
                           name=f"{table}_retired_with_reason"),  # fmt: skip
    ]


def _versioned_indexes(table: str) -> None:
    op.create_foreign_key(f"{table}_lineage_id_fkey", table, table, ["lineage_id"], ["id"])
    op.create_index(op.f(f"ix_{table}_lineage_id"), table, ["lineage_id"], unique=False)
    op.create_index(f"{table}_code_identity_uq", table, ["code"], unique=True,
                    postgresql_where=sa.text("lineage_id IS NULL"))  # fmt: skip
    op.create_index(f"{table}_live_idx", table, ["id"], unique=False, postgresql_where=sa.text("valid_to IS NULL"))
    cols = ("valid_to", *TRACKED[table])
    old = ", ".join(f"OLD.{c}" for c in cols)
    new = ", ".join(f"NEW.{c}" for c in cols)
    op.execute(f"CREATE TRIGGER {table}_keep_version BEFORE UPDATE ON {table} FOR EACH ROW "
               f"WHEN (OLD.lineage_id IS NULL AND ({old}) IS DISTINCT FROM ({new})) "
               "EXECUTE FUNCTION gridgov_keep_version()")  # fmt: skip


def _audit(table: str) -> None:
    op.execute(f"""
CREATE TRIGGER {table}_audit_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
CREATE TRIGGER {table}_audit_upd AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
CREATE TRIGGER {table}_audit_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
""")


def _dated(*, end_reason: bool = True) -> list[sa.Column]:  # type: ignore[type-arg]
    cols = [sa.Column("since", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
            sa.Column("until", sa.Date(), nullable=True)]  # fmt: skip
    if end_reason:
        cols.append(sa.Column("end_reason", sa.Text(), nullable=True))
    return cols


def upgrade() -> None:
    """Apply this revision."""
    # Resident units first: an organisation may belong to one, and a unit may join a community's organisation.
    op.create_table(
        "resident_unit",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), sa.ForeignKey("grid.id"), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("has_party_org", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("member_of_org_id", sa.BigInteger(), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=True),
        *_versioned_columns(),
        sa.CheckConstraint("kind IN ('机关事业单位', '国有企业', '非公企业', '社会组织', '学校', '医院', '其他')",
                           name="resident_unit_kind_known"),
        sa.CheckConstraint("ST_IsValid(geom)", name="resident_unit_geom_valid"),
        sa.CheckConstraint("geom IS NULL OR ST_SRID(geom) = 4326", name="resident_unit_geom_srid"),
        *_versioned_checks("resident_unit"),
    )  # fmt: skip
    op.create_index("idx_resident_unit_geom", "resident_unit", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_resident_unit_grid_id"), "resident_unit", ["grid_id"], unique=False)
    op.create_table(
        "party_org",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_ids", postgresql.ARRAY(sa.BigInteger()), server_default=sa.text("'{}'::bigint[]"),
                  nullable=False),
        sa.Column("unit_id", sa.BigInteger(), sa.ForeignKey("resident_unit.id"), nullable=True),
        sa.Column("secretary_person_id", sa.BigInteger(), sa.ForeignKey("person.id"), nullable=True),
        sa.Column("secretary_staff_id", sa.BigInteger(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("founded_on", sa.Date(), nullable=True),
        *_versioned_columns(),
        sa.CheckConstraint(f"kind IN {KINDS}", name="party_org_kind_known"),
        sa.CheckConstraint(f"form IN {FORMS}", name="party_org_form_known"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="party_org_not_own_parent"),
        *_versioned_checks("party_org"),
    )  # fmt: skip
    op.create_foreign_key("party_org_parent_id_fkey", "party_org", "party_org", ["parent_id"], ["id"])
    op.create_index(op.f("ix_party_org_parent_id"), "party_org", ["parent_id"], unique=False)
    op.create_index("party_org_grid_ids_idx", "party_org", ["grid_ids"], unique=False, postgresql_using="gin")
    op.create_foreign_key("resident_unit_member_of_org_id_fkey", "resident_unit", "party_org", ["member_of_org_id"],
                          ["id"])  # fmt: skip
    for table in ("resident_unit", "party_org"):
        _versioned_indexes(table)
        _audit(table)
    op.execute("CREATE TRIGGER resident_unit_assign BEFORE INSERT OR UPDATE OF geom ON resident_unit "
               "FOR EACH ROW EXECUTE FUNCTION gridgov_assign_on_write()")  # fmt: skip

    op.create_table(
        "party_org_post",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("party_org.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("person.id"), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("unit_id", sa.BigInteger(), sa.ForeignKey("resident_unit.id"), nullable=True),
        *_dated(),
        sa.CheckConstraint("(person_id IS NULL) <> (staff_id IS NULL)", name="party_org_post_holder"),
        sa.CheckConstraint("until IS NULL OR until >= since", name="party_org_post_dates_order"),
    )  # fmt: skip
    op.create_index(op.f("ix_party_org_post_org_id"), "party_org_post", ["org_id"], unique=False)
    op.create_table(
        "party_membership",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("party_org.id"), nullable=False),
        *_dated(),
        sa.CheckConstraint("until IS NULL OR until >= since", name="party_membership_dates_order"),
    )
    op.create_index(op.f("ix_party_membership_org_id"), "party_membership", ["org_id"], unique=False)
    op.create_index("party_membership_once", "party_membership", ["person_id"], unique=True,
                    postgresql_where=sa.text("until IS NULL"))  # fmt: skip
    op.create_table(
        "party_register",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("joined_party_on", sa.Date(), nullable=True),
        sa.Column("employer", sa.Text(), nullable=True),
        sa.Column("employer_org", sa.Text(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("flow", sa.String(length=2), nullable=True),
        sa.Column("flow_place", sa.Text(), nullable=True),
        sa.Column("certificate_no", sa.String(length=40), nullable=True),
        sa.Column("certificate_on", sa.Date(), nullable=True),
        sa.Column("flow_mode", sa.String(length=2), nullable=True),
        sa.Column("shows_identity", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("flow IS NULL OR flow IN ('流入', '流出')", name="party_register_flow_known"),
        sa.CheckConstraint("flow_mode IS NULL OR flow_mode IN ('直管', '代管', '协管')",
                           name="party_register_flow_mode_known"),
    )  # fmt: skip
    op.add_column("party_contact", sa.Column("since", sa.Date(), server_default=sa.text("CURRENT_DATE"),
                                             nullable=False))  # fmt: skip
    op.add_column("party_contact", sa.Column("created_by", sa.Text(), nullable=True))
    op.create_table(
        "party_contact_visit",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("household_id", sa.BigInteger(), sa.ForeignKey("household.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )  # fmt: skip
    op.create_index(op.f("ix_party_contact_visit_person_id"), "party_contact_visit", ["person_id"], unique=False)

    op.create_table(
        "volunteer_team",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), sa.ForeignKey("grid.id"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("party_org.id"), nullable=True),
        sa.Column("leader_person_id", sa.BigInteger(), sa.ForeignKey("person.id"), nullable=True),
        *_versioned_columns(),
        sa.CheckConstraint("kind IN ('治安巡逻', '环境维护', '扶贫助困', '文明宣传', '邻里互助', '为老服务', "
                           "'应急救援', '其他')", name="volunteer_team_kind_known"),
        *_versioned_checks("volunteer_team"),
    )  # fmt: skip
    op.create_index(op.f("ix_volunteer_team_grid_id"), "volunteer_team", ["grid_id"], unique=False)
    _versioned_indexes("volunteer_team")
    _audit("volunteer_team")
    op.create_table(
        "volunteer_team_member",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("volunteer_team.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        *_dated(),
        sa.CheckConstraint("until IS NULL OR until >= since", name="volunteer_team_member_dates_order"),
    )  # fmt: skip
    op.create_index(op.f("ix_volunteer_team_member_team_id"), "volunteer_team_member", ["team_id"], unique=False)
    op.create_index("volunteer_team_member_once", "volunteer_team_member", ["team_id", "person_id"], unique=True,
                    postgresql_where=sa.text("until IS NULL"))  # fmt: skip
    op.create_table(
        "volunteer_activity",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("team_id", sa.BigInteger(), sa.ForeignKey("volunteer_team.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(5, 1), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint("hours > 0 AND hours <= 24", name="volunteer_activity_hours"),
        sa.CheckConstraint("participants IS NULL OR participants >= 0", name="volunteer_activity_participants"),
    )  # fmt: skip
    op.create_index(op.f("ix_volunteer_activity_team_id"), "volunteer_activity", ["team_id"], unique=False)
    op.create_table(
        "party_meeting",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("party_org.id"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("attendees", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("minutes_name", sa.Text(), nullable=True),
        sa.Column("minutes_type", sa.String(length=100), nullable=True),
        sa.Column("minutes", postgresql.BYTEA(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('党员大会', '支部委员会', '党小组会', '党课', '组织生活会', '民主生活会', "
                           "'联席会议')", name="party_meeting_kind_known"),
        sa.CheckConstraint("attendees IS NULL OR attendees >= 0", name="party_meeting_attendees"),
        sa.CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="party_meeting_cancel_reason"),
    )  # fmt: skip
    op.create_index(op.f("ix_party_meeting_org_id"), "party_meeting", ["org_id"], unique=False)
    op.create_table(
        "party_duty_area",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("duty", sa.String(length=8), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("org_id", sa.BigInteger(), sa.ForeignKey("party_org.id"), nullable=True),
        sa.Column("person_ids", postgresql.ARRAY(sa.BigInteger()), server_default=sa.text("'{}'::bigint[]"),
                  nullable=False),
        *_versioned_columns(),
        sa.CheckConstraint("duty IN ('环境维护', '治安防范', '纠纷调解', '政策宣传', '联系群众', '关爱帮扶', '其他')",
                           name="party_duty_area_duty_known"),
        sa.CheckConstraint("ST_IsValid(geom)", name="party_duty_area_geom_valid"),
        sa.CheckConstraint("ST_SRID(geom) = 4326", name="party_duty_area_geom_srid"),
        *_versioned_checks("party_duty_area"),
    )  # fmt: skip
    op.create_index("idx_party_duty_area_geom", "party_duty_area", ["geom"], unique=False, postgresql_using="gist")
    _versioned_indexes("party_duty_area")
    _audit("party_duty_area")
    for table in NEW_TABLES:
        _audit(table)


def downgrade() -> None:
    """Revert this revision."""
    for table in ("party_duty_area", "party_meeting", "volunteer_activity", "volunteer_team_member",
                  "volunteer_team", "party_contact_visit", "party_register", "party_membership", "party_org_post"):
        op.drop_table(table)
    op.drop_column("party_contact", "created_by")
    op.drop_column("party_contact", "since")
    op.drop_constraint("resident_unit_member_of_org_id_fkey", "resident_unit", type_="foreignkey")
    op.drop_table("party_org")
    op.drop_table("resident_unit")
