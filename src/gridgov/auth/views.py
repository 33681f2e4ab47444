"""Who looked at personal data: each page or file that shows residents' names, phones or ID numbers, or the Party
layer, is written to the audit log (action ``view``) with who, what and where."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, readable_root, require_role


def log_view(session: Session, actor: Actor, what: str, where: str | None = None, **detail: Any) -> None:
    """One audit row: ``actor`` saw ``what`` (a table or layer name: person, household, party…) in ``where`` (a
    grid code, or None for everything), with ``detail`` (the page, how many rows)."""
    session.execute(
        text("INSERT INTO audit_log (actor, action, table_name, new) VALUES (:a, 'view', :t, CAST(:n AS jsonb))"),
        {"a": actor.audit_name, "t": what,
         "n": json.dumps({"where": where, **detail}, ensure_ascii=False, default=str)},  # fmt: skip
    )


def open_personal(session: Session, actor: Actor, what: str, parent: str | None, page: str) -> str | None:
    """Before showing ``what`` (a personal layer) under ``parent``: the role must allow personal data and the grid
    must lie in the actor's scope (``Forbidden`` otherwise); the view is logged. Returns the subtree to show
    (the scope itself when no parent is asked)."""
    require_role(actor, "personal")
    root = readable_root(session, actor, parent)
    log_view(session, actor, what, root, page=page)
    return root
