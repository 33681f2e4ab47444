"""API tokens: random secrets shown once, stored as SHA-256; the same roles and scopes as users
(``vocab.ROLES``), checked by the same ``authorize``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gridgov.auth.scope import LOST_SCOPE, Actor, authorize, lost_scope, resolve_scope
from gridgov.db.models import ApiToken, Grid
from gridgov.errors import NotFound, Unauthenticated

TOKEN_PREFIX = "ggv_"


def hash_token(token: str) -> str:
    """SHA-256 hex of a token (tokens are 192-bit random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, actor: Actor, name: str, role: str, scope_code: str | None = None, days: int | None = None
) -> tuple[str, ApiToken]:
    """Create a token (administrators only); returns the plain secret (shown once) and the stored row."""
    authorize(session, actor, "admin", anywhere=True)
    scope_id, _ = resolve_scope(session, role, scope_code)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(24)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    row = ApiToken(name=name, token_hash=hash_token(plain), role=role, scope_grid_id=scope_id, expires_at=expires)
    session.add(row)
    session.flush()
    return plain, row


def authenticate(session: Session, plain: str | None) -> Actor:
    """The actor a bearer token stands for, or ``Unauthenticated``."""
    if not plain:
        raise Unauthenticated("需要令牌：请在请求头中提供 Authorization: Bearer <令牌>")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    now = dt.datetime.now(dt.UTC)
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated("令牌无效、已过期或已吊销")
    if lost_scope(row.role, row.scope_grid_id):
        raise Unauthenticated(LOST_SCOPE)
    _touch(session, row.id)
    scope_code = None
    if row.scope_grid_id is not None:
        scope_code = session.scalar(select(Grid.code).where(Grid.id == row.scope_grid_id))
    return Actor(name=row.name, role=row.role, scope_grid_id=row.scope_grid_id, scope_code=scope_code,
                 token_id=row.id)


def _touch(session: Session, token_id: int) -> None:
    """Note the token's last use in a short transaction of its own, at most once a minute and never waiting:
    inside the request's transaction the row lock would last as long as the request (a long import would then
    hold up every other request with the same token)."""
    stmt = text(
        """UPDATE api_token SET last_used_at = now()
            WHERE id = (SELECT id FROM api_token WHERE id = :id
                           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                           FOR UPDATE SKIP LOCKED)"""
    )
    with session.connection().engine.begin() as conn:
        conn.execute(stmt, {"id": token_id})


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    """Revoke a token by id (administrators only)."""
    authorize(session, actor, "admin", anywhere=True)
    n = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    ).rowcount  # type: ignore[attr-defined]
    if not n:
        raise NotFound(f"令牌不存在或已吊销：{token_id}")
