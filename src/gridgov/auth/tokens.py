"""API tokens: random secrets shown once, stored as SHA-256; roles admin / editor / viewer.

An editor token is scoped to a street or community grid and may write only inside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gridgov.db.models import TOKEN_ROLES, ApiToken, Grid
from gridgov.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

TOKEN_PREFIX = "ggv_"
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name, role and scope (a grid identity id, or None for all)."""

    token_id: int
    name: str
    role: str
    scope_grid_id: int | None
    scope_code: str | None


def hash_token(token: str) -> str:
    """SHA-256 hex of a token (tokens are 192-bit random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, role: str, scope_code: str | None = None, days: int | None = None
) -> tuple[str, ApiToken]:
    """Create a token; returns the plain secret (shown once) and the stored row."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"未知角色：{role}（可选 {', '.join(TOKEN_ROLES)}）")
    scope_id = None
    if scope_code is not None:
        grid = session.scalar(select(Grid).where(Grid.code == scope_code, Grid.valid_to.is_(None)))
        if grid is None:
            raise NotFound(f"网格不存在：{scope_code}")
        if grid.level not in ("street", "community"):
            raise InvalidInput("令牌范围只能是街道或社区网格")
        scope_id = grid.id
    elif role == "editor":
        raise InvalidInput("编辑令牌必须指定范围（街道或社区编码）")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(24)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    row = ApiToken(name=name, token_hash=hash_token(plain), role=role, scope_grid_id=scope_id, expires_at=expires)
    session.add(row)
    session.flush()
    return plain, row


def authenticate(session: Session, plain: str | None) -> Principal:
    """The principal for a bearer token, or ``Unauthenticated``."""
    if not plain:
        raise Unauthenticated("需要令牌：请在请求头中提供 Authorization: Bearer <令牌>")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    now = dt.datetime.now(dt.UTC)
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated("令牌无效、已过期或已吊销")
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    scope_code = None
    if row.scope_grid_id is not None:
        scope_code = session.scalar(select(Grid.code).where(Grid.id == row.scope_grid_id))
    return Principal(row.id, row.name, row.role, row.scope_grid_id, scope_code)


def revoke_token(session: Session, token_id: int) -> None:
    """Revoke a token by id."""
    n = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    ).rowcount  # type: ignore[attr-defined]
    if not n:
        raise NotFound(f"令牌不存在或已吊销：{token_id}")


ANCESTORS_SQL = text(
    """
    WITH RECURSIVE up(id, parent_id) AS (
        SELECT id, parent_id FROM grid WHERE id = :gid
        UNION ALL
        SELECT g.id, g.parent_id FROM grid g JOIN up ON g.id = up.parent_id
    )
    SELECT id FROM up
    """
)


def require(session: Session, who: Principal, role: str, grid_id: int | None = None) -> None:
    """Raise ``Forbidden`` unless ``who`` has at least ``role`` and, for a scoped token, ``grid_id`` is in scope."""
    if RANK[who.role] < RANK[role]:
        raise Forbidden(f"权限不足：需要 {role} 角色")
    if who.role == "admin" or who.scope_grid_id is None:
        return
    if grid_id is None:
        raise Forbidden(f"令牌范围限于 {who.scope_code}，此操作需要全局权限")
    ancestors = set(session.scalars(ANCESTORS_SQL, {"gid": grid_id}))
    if who.scope_grid_id not in ancestors:
        raise Forbidden(f"超出令牌范围：仅可编辑 {who.scope_code} 及其下级网格")


def readable_root(session: Session, who: Principal, parent: str | None) -> str | None:
    """The subtree a caller may read restricted data of (the Party layer): ``parent`` when it lies in the token's
    scope, the scope itself when no parent is asked; ``Forbidden`` outside it. Unscoped tokens read anything."""
    if who.role == "admin" or who.scope_grid_id is None:
        return parent
    if parent is None:
        return who.scope_code
    gid = session.scalar(select(Grid.id).where(Grid.code == parent, Grid.valid_to.is_(None)))
    if gid is None:
        raise NotFound(f"网格不存在：{parent}")
    if who.scope_grid_id not in set(session.scalars(ANCESTORS_SQL, {"gid": gid})):
        raise Forbidden(f"超出令牌范围：{parent} 不在 {who.scope_code} 范围内")
    return parent
