"""Results derived from stored data, kept in ``derived_cache`` while the data they came from is unchanged.

A result is stored under what was asked (``kind``, and a digest of the question as ``key``) with the
revisions of its sources (the ``data_revision`` counters, read in the caller's transaction before
computing), and served again only while those revisions are still current. Old entries of a kind are
dropped when a new one is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# Entries kept per kind (distinct questions at the current revision).
KEEP = 64


def cached(session: Session, kind: str, key: dict[str, Any], revision: str, compute: Callable[[], Any]) -> Any:
    """The stored result for (kind, key) at ``revision``, else ``compute()`` (JSON-serialisable), stored."""
    # A digest: a question may list thousands of grid ids, too long for the primary key's btree.
    k = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    hit = session.execute(
        text("SELECT payload FROM derived_cache WHERE kind = :kind AND key = :key AND revision = :rev"),
        {"kind": kind, "key": k, "rev": revision},
    ).scalar_one_or_none()
    if hit is not None:
        return hit
    value = compute()
    session.execute(
        text(
            "INSERT INTO derived_cache (kind, key, revision, payload) VALUES (:kind, :key, :rev, CAST(:p AS jsonb))"
            " ON CONFLICT (kind, key) DO UPDATE SET revision = EXCLUDED.revision, payload = EXCLUDED.payload,"
            " created_at = now()"
        ),
        {"kind": kind, "key": k, "rev": revision, "p": json.dumps(value)},
    )
    session.execute(
        text(
            "DELETE FROM derived_cache WHERE kind = :kind AND (revision <> :rev OR key NOT IN ("
            " SELECT key FROM derived_cache WHERE kind = :kind ORDER BY created_at DESC LIMIT :keep))"
        ),
        {"kind": kind, "rev": revision, "keep": KEEP},
    )
    return value
