"""restorable version triggers

Revision ID: 0016
Revises: 0015
The version triggers compare geometry columns as bytes. As first written they compared them with PostGIS's
``=``, which ``pg_dump`` prints without its schema; ``pg_restore`` runs with an empty search path, so a plain
restore of any gridgov database failed ("operator is not unique: public.geometry = public.geometry"). A cast to
``bytea`` is found without the search path, and byte equality is the exact change the trigger is after.

Create Date: 2026-11-30 13:10:00.000000
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Every *_keep_version trigger with its definition, and the geometry columns of its table.
TRIGGERS = text("""
    SELECT t.tgname, pg_get_triggerdef(t.oid) AS definition,
           array(SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = t.tgrelid AND a.attnum > 0 AND NOT a.attisdropped
                    AND format_type(a.atttypid, NULL) IN ('geometry', 'public.geometry')) AS geoms,
           t.tgrelid::regclass::text AS tbl
      FROM pg_trigger t WHERE t.tgname LIKE '%\\_keep\\_version' AND NOT t.tgisinternal""")


def _rewrite(as_bytes: bool) -> None:
    bind = op.get_bind()
    for row in bind.execute(TRIGGERS).all():
        new_def = row.definition
        for col in row.geoms:
            plain = f"(old.{col} IS DISTINCT FROM new.{col})"
            cast = f"((old.{col})::bytea IS DISTINCT FROM (new.{col})::bytea)"
            new_def = new_def.replace(plain, cast) if as_bytes else new_def.replace(cast, plain)
        if new_def != row.definition:
            assert re.match(r"CREATE TRIGGER \w+ BEFORE UPDATE ON ", new_def)
            op.execute(f"DROP TRIGGER {row.tgname} ON {row.tbl}")
            op.execute(new_def)


def upgrade() -> None:
    """Apply this revision."""
    _rewrite(as_bytes=True)


def downgrade() -> None:
    """Revert this revision."""
    _rewrite(as_bytes=False)
