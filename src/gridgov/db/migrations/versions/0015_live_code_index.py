"""live code index

Revision ID: 0015
Revises: 0014
Every versioned table gets an index of its live rows' codes. Lookups by code say ``valid_to IS NULL``, which the
identity index (``lineage_id IS NULL``) does not cover for the planner; without it a lookup per staged row read
the whole table (a 5,354-row 联系户 import checked in 32 s, 1.9 s with it).

Create Date: 2026-11-30 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The versioned tables at this revision (gridgov.history.VERSIONED may grow later; a migration stays as written).
TABLES = ("household", "person", "building", "staff", "patrol_team", "patrol_area", "resident_unit", "party_org",
          "volunteer_team", "party_duty_area")  # fmt: skip


def upgrade() -> None:
    """Apply this revision."""
    for table in TABLES:
        op.create_index(f"{table}_code_live_idx", table, ["code"], postgresql_where=sa.text("valid_to IS NULL"))


def downgrade() -> None:
    """Revert this revision."""
    for table in TABLES:
        op.drop_index(f"{table}_code_live_idx", table_name=table)
