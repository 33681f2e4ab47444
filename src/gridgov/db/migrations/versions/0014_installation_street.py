"""installation street

Revision ID: 0014
Revises: 0013
A new installation (``gridgov init``) records its street: the code, the name it goes by, the official name and
district from the bundled division list (NBS 统计用区划代码) with the list's source and version, and the
street's official communities, so pages and imports can name what is not drawn yet.

Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "installation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("street_name", sa.Text(), nullable=False),
        sa.Column("official_name", sa.Text(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("division_source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint("id = 1", name="installation_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "division",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.CheckConstraint("level IN ('street', 'community')", name="division_level_known"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.execute("""
CREATE TRIGGER installation_audit_ins AFTER INSERT ON installation REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
CREATE TRIGGER installation_audit_upd AFTER UPDATE ON installation REFERENCING OLD TABLE AS old_rows
  NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit();
""")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("division")
    op.drop_table("installation")
