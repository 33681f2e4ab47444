"""FastAPI dependencies as ``Annotated`` aliases: settings, engine, session, the caller and its role, throttling."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.auth.scope import Action, Actor, require_role
from gridgov.auth.sessions import SessionPolicy, session_actor
from gridgov.auth.tokens import authenticate, hash_token
from gridgov.config import Settings
from gridgov.db.engine import session_factory, set_actor, set_statement_timeout
from gridgov.errors import TooManyRequests, Unauthenticated


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine_dep(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]


def get_session(engine: EngineDep, settings: SettingsDep) -> Iterator[Session]:
    """One transaction per request, committed when the route returns, rolled back on error; its statements
    are cancelled after ``statement_timeout_s`` (so an abandoned request stops its query)."""
    with session_factory(engine)() as session, session.begin():
        set_statement_timeout(session, settings.statement_timeout_s)
        yield session


# scope="function": the commit runs when the route returns, before the response is sent, so a failed commit is
# the response (FastAPI's default "request" scope would commit after a 200 had already gone out).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="API 令牌（gridgov token create 生成）")
CredsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


SESSION_KEY = "sid"  # the session secret's key inside Starlette's signed session cookie


def session_policy(settings: Settings) -> SessionPolicy:
    """How long logins last (from the settings)."""
    return SessionPolicy(hours=settings.session_hours, idle_minutes=settings.session_idle_minutes)


def session_secret(request: Request) -> str | None:
    """The browser session's secret from the signed session cookie, if any."""
    if "session" not in request.scope:
        return None
    value = request.session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def get_actor(request: Request, session: SessionDep, settings: SettingsDep, creds: CredsDep) -> Actor:
    """The caller: an API token (``Authorization: Bearer``) or a logged-in browser session; 401 without either.
    Also names the audit actor."""
    if creds is not None:
        who = authenticate(session, creds.credentials)
        set_actor(session, who.audit_name)
    else:
        secret = session_secret(request)
        if secret is None:
            raise Unauthenticated("需要登录（浏览器）或令牌（Authorization: Bearer <令牌>）")
        who = session_actor(session, secret, session_policy(settings))
        set_actor(session, who.name)
    request.state.actor = who  # for the error pages' navigation
    return who


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_optional_actor(request: Request, session: SessionDep, settings: SettingsDep, creds: CredsDep) -> Actor | None:
    """The caller when a token or a session is presented (401 if it is invalid or expired), else None: for pages
    with extra layers."""
    if creds is None and session_secret(request) is None:
        return None
    return get_actor(request, session, settings, creds)


OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]


def _role(action: Action) -> Callable[[Actor], Actor]:
    def dependency(actor: ActorDep) -> Actor:
        require_role(actor, action)
        return actor

    dependency.__doc__ = f"The caller, whose role allows {action!r} (scope is checked by the services)."
    return dependency


ViewerDep = Annotated[Actor, Depends(_role("read"))]
PatrolDep = Annotated[Actor, Depends(_role("patrol"))]
EditorDep = Annotated[Actor, Depends(_role("write"))]
PersonalDep = Annotated[Actor, Depends(_role("personal"))]  # residents' data (where: the services check the scope)
AdminDep = Annotated[Actor, Depends(_role("admin"))]


class ClientLimiter:
    """Counts the expensive requests each client has running (by token, or by address without one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    @contextmanager
    def slot(self, client: str, limit: int) -> Iterator[None]:
        """Hold one of the client's ``limit`` slots, or raise ``TooManyRequests``."""
        with self._lock:
            if self._running.get(client, 0) >= limit:
                raise TooManyRequests(f"您已有 {limit} 个统计或出图请求正在处理，请等待完成后再试")
            self._running[client] = self._running.get(client, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[client] -= 1
                if not self._running[client]:
                    del self._running[client]


def throttle(request: Request, settings: SettingsDep, creds: CredsDep) -> Iterator[None]:
    """Limit how many expensive requests (ledger, boards, maps) one client runs at once."""
    limiter: ClientLimiter = request.app.state.limiter
    address = request.client.host if request.client else "-"
    secret = session_secret(request)
    client = (f"token:{hash_token(creds.credentials)}" if creds else f"session:{hash_token(secret)}" if secret
              else f"addr:{address}")  # fmt: skip
    with limiter.slot(client, settings.client_concurrency):
        yield


Throttled = Depends(throttle)
