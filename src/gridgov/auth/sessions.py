"""Browser sessions: a random secret in the (signed, HttpOnly) session cookie, its SHA-256 in ``user_session``.

A session ends at logout, after ``hours`` in all, after ``idle_minutes`` unused, and at once when its user is
disabled, changes role or password (``users.end_sessions``). Each request turns the cookie back into the
same :class:`Actor` an API token gives, so pages and the API reach the services through the same checks.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gridgov.auth.scope import LOST_SCOPE, Actor, lost_scope
from gridgov.auth.tokens import hash_token
from gridgov.db.models import AppUser, Grid, UserSession
from gridgov.errors import Unauthenticated


@dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts in all, and unused (from ``AuthSettings``)."""

    hours: float = 12
    idle_minutes: float = 120


def start_session(session: Session, user: AppUser, policy: SessionPolicy, address: str | None = None) -> str:
    """A new session for a user who just logged in; returns the secret for the cookie (stored only hashed)."""
    plain = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=policy.hours)
    session.add(UserSession(token_hash=hash_token(plain), user_id=user.id, expires_at=expires, address=address))
    session.flush()
    return plain


def end_session(session: Session, plain: str) -> None:
    """Log out: the session is revoked (a stolen copy of the cookie stops working too)."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_token(plain), UserSession.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )


def session_actor(session: Session, plain: str, policy: SessionPolicy) -> Actor:
    """The actor of a live session, or ``Unauthenticated`` (expired, idle too long, revoked, user disabled)."""
    now = dt.datetime.now(dt.UTC)
    row = session.execute(
        select(UserSession, AppUser, Grid.code)
        .join(AppUser, AppUser.id == UserSession.user_id)
        .outerjoin(Grid, Grid.id == AppUser.scope_grid_id)
        .where(UserSession.token_hash == hash_token(plain))
    ).one_or_none()
    if row is None:
        raise Unauthenticated("请先登录")
    us, user, scope_code = row
    idle = dt.timedelta(minutes=policy.idle_minutes)
    if us.revoked_at is not None or user.disabled_at is not None:
        raise Unauthenticated("登录已失效，请重新登录")
    if us.expires_at <= now or us.last_seen_at + idle <= now:
        raise Unauthenticated("登录已超时，请重新登录")
    if lost_scope(user.role, user.scope_grid_id):
        raise Unauthenticated(LOST_SCOPE)
    _touch(session, us.id)
    return Actor(name=f"user:{user.username}", role=user.role, scope_grid_id=user.scope_grid_id,
                 scope_code=scope_code, user_id=user.id, display_name=user.display_name or user.username,
                 staff_id=user.staff_id)  # fmt: skip


def _touch(session: Session, session_id: int) -> None:
    """Note the session's use in a short transaction of its own, at most once a minute, never waiting (as an API
    token's last use: a long request must not hold the row)."""
    stmt = text(
        """UPDATE user_session SET last_seen_at = now()
            WHERE id = (SELECT id FROM user_session WHERE id = :id AND last_seen_at < now() - interval '1 minute'
                           FOR UPDATE SKIP LOCKED)"""
    )
    with session.connection().engine.begin() as conn:
        conn.execute(stmt, {"id": session_id})
