"""The data revision counters (``data_revision``): raised by triggers, read by whatever derives from the data.

``grid``: a live grid's geometry, parent, level or life changed (not its name); ``patrol``: a patrol team,
track or point changed. The counters follow transactions, so a reader sees the revision of the data its
snapshot sees (migration 0004).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

GRID = "grid"
PATROL = "patrol"


def revision(session: Session, name: str) -> int:
    """The current value of a data revision counter (0 before any write)."""
    n = session.execute(text("SELECT n FROM data_revision WHERE name = :n"), {"n": name}).scalar_one_or_none()
    return int(n) if n is not None else 0


def data_version(session: Session) -> str:
    """A fingerprint of all stored data: the audit log's high-water mark (every write to an audited table is
    logged, bulk loads as one row per statement) and the revision counters."""
    audit = session.execute(text("SELECT coalesce(max(id), 0), count(*) FROM audit_log")).one()
    revs = session.execute(text("SELECT string_agg(name || '=' || n, ',' ORDER BY name) FROM data_revision")).scalar()
    return f"audit={audit[0]}/{audit[1]};{revs or ''}"
