"""Shared CLI plumbing: JSON output, the database engine, and who the CLI acts as."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.config import get_settings
from gridgov.db.engine import get_engine, session_scope, set_actor

TOKEN_ENV = "GRIDGOV_TOKEN"


def echo_json(data: Any) -> None:
    """Print data as UTF-8 JSON (Chinese unescaped)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def engine() -> Engine:
    """The configured database engine, starting the embedded server if it is not running."""
    return get_engine(get_settings(), start=True)


@contextmanager
def acting() -> Iterator[tuple[Session, Actor]]:
    """A transaction and its actor: the API token in ``GRIDGOV_TOKEN`` (its role and scope), else the local
    operator (an unscoped administrator: whoever runs the CLI on the server owns the database)."""
    from gridgov.auth.tokens import authenticate

    token = os.environ.get(TOKEN_ENV)
    with session_scope(engine(), actor="cli") as s:
        actor = authenticate(s, token) if token else Actor.system("cli")
        if token:
            set_actor(s, f"cli:token:{actor.name}")
        yield s, actor


def current_actor() -> Actor:
    """Who runs this command (see :func:`acting`), for services that open their own transaction."""
    with acting() as (_, actor):
        return actor
