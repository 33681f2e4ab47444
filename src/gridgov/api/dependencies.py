"""FastAPI dependencies as ``Annotated`` aliases: settings, engine, session, caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.auth.tokens import Principal, authenticate
from gridgov.config import Settings
from gridgov.db.engine import session_factory, set_actor


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine_dep(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]


def get_session(engine: EngineDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False, description="API 令牌（gridgov token create 生成）")


def get_principal(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller of a write endpoint; 401 without a valid token. Also names the audit actor."""
    who = authenticate(session, creds.credentials if creds else None)
    set_actor(session, f"token:{who.name}")
    return who


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_optional_principal(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """The caller when a token is sent (401 if it is invalid), else None: for pages with extra layers."""
    if creds is None:
        return None
    return authenticate(session, creds.credentials)


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
