"""codes required

Revision ID: 0009
Revises: 0008
Every record has an identity: households, persons, buildings, incidents and staff members carry a code
(``NOT NULL``). Rows stored without one by earlier releases get ``<prefix>-<id>`` (H-, P-, B-, E-, S-), which
staff may change later like any field (the change is kept as history).

Create Date: 2026-11-30 05:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PREFIX = {"household": "H", "person": "P", "building": "B", "incident": "E", "staff": "S"}


def upgrade() -> None:
    """Apply this revision."""
    for table, prefix in PREFIX.items():
        versioned = table != "incident"
        # the backfill is no change of the record: no history row (the trigger watches code)
        if versioned:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_keep_version")
        op.execute(f"UPDATE {table} SET code = '{prefix}-' || coalesce(lineage_id, id) WHERE code IS NULL"
                   if versioned else f"UPDATE {table} SET code = '{prefix}-' || id WHERE code IS NULL")  # fmt: skip
        if versioned:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_keep_version")
        op.alter_column(table, "code", nullable=False)


def downgrade() -> None:
    """Revert this revision (the codes given stay)."""
    for table in PREFIX:
        op.alter_column(table, "code", nullable=True)
