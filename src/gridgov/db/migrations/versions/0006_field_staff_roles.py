"""field staff roles

Revision ID: 0006
Revises: 0005
The staff posts streets use beyond the core team (网格医护员, 文化宣传员, 计生管理员, 法律咨询员, 调解员, 协管员)
are accepted on grids; the names people write for the others (网格管理员 …) are synonyms in ``vocab.STAFF_ROLES``.

Create Date: 2026-11-30 01:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = ("网格长", "网格员", "网格党支部书记", "网格警员", "网格消防员", "环境管理员", "楼栋长", "党小组长", "网格督导员")
NEW = ("网格长", "网格党支部书记", "网格员", "网格警员", "网格消防员", "环境管理员", "网格督导员", "网格医护员",
       "文化宣传员", "计生管理员", "法律咨询员", "调解员", "协管员", "党小组长", "楼栋长")  # fmt: skip


def _check(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade() -> None:
    """Apply this revision."""
    op.drop_constraint("grid_role_known", "grid_role", type_="check")
    op.create_check_constraint("grid_role_known", "grid_role", _check(NEW))


def downgrade() -> None:
    """Revert this revision (rows with the new roles are kept: the old check is not validated against them)."""
    op.drop_constraint("grid_role_known", "grid_role", type_="check")
    op.execute(f"ALTER TABLE grid_role ADD CONSTRAINT grid_role_known CHECK ({_check(OLD)}) NOT VALID")
