"""users, sessions and jobs

Revision ID: 0005
Revises: 0004
Workspace accounts (``app_user``: an argon2 hash, a role and a scope, never deleted), their browser sessions
(``user_session``: only a SHA-256 of the cookie's secret), and background jobs with progress (``job``). API
tokens take the same six roles: an ``editor`` token (always scoped to a street or a community) becomes
``street`` or ``community`` by its scope's level.

Create Date: 2026-11-30 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLES = "('viewer', 'patrol', 'grid', 'community', 'street', 'admin')"


def upgrade() -> None:
    """Apply this revision."""
    op.drop_constraint("api_token_role_known", "api_token", type_="check")
    op.alter_column("api_token", "role", type_=sa.String(16), existing_type=sa.String(8))
    op.execute(
        """UPDATE api_token t SET role = CASE WHEN g.level = 'street' THEN 'street' ELSE 'community' END
             FROM grid g WHERE g.id = t.scope_grid_id AND t.role = 'editor'"""
    )
    op.create_check_constraint("api_token_role_known", "api_token", f"role IN {ROLES}")

    op.create_table(
        "app_user",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope_grid_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"role IN {ROLES}", name="app_user_role_known"),
        sa.CheckConstraint("username ~ '^[A-Za-z0-9_.@-]{2,64}$'", name="app_user_username_plain"),
        sa.ForeignKeyConstraint(["scope_grid_id"], ["grid.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("app_user_username_key", "app_user", [sa.text("lower(username)")], unique=True)

    op.create_table(
        "user_session",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result_path", sa.Text(), nullable=True),
        sa.Column("result_name", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="job_status_known"),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="job_progress_fraction"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_job_user_id"), "job", ["user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision (tokens of the new roles become the nearest old role)."""
    op.drop_index(op.f("ix_job_user_id"), table_name="job")
    op.drop_table("job")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    op.drop_index("app_user_username_key", table_name="app_user")
    op.drop_table("app_user")
    op.drop_constraint("api_token_role_known", "api_token", type_="check")
    op.execute("UPDATE api_token SET role = CASE WHEN role IN ('admin', 'viewer') THEN role "
               "WHEN role = 'patrol' THEN 'viewer' ELSE 'editor' END")
    op.alter_column("api_token", "role", type_=sa.String(8), existing_type=sa.String(16))
    op.create_check_constraint("api_token_role_known", "api_token", "role IN ('admin', 'editor', 'viewer')")
