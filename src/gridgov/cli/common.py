"""Shared CLI plumbing: JSON output, the database engine, and who the CLI acts as.

The CLI starts without its heavy libraries: SQLAlchemy, the database layer and the settings are imported by the
commands that use them (here inside the functions), never when ``gridgov.cli.main`` is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from gridgov.auth.scope import Actor
    from gridgov.config import Settings

TOKEN_ENV = "GRIDGOV_TOKEN"
# Option help texts every command group shares.
JSON_HELP = "输出 JSON"
DATE = "YYYY-MM-DD"
VERSION_HELP = "只在当前版本为此版本时修改（否则退出码 6）"


def echo_json(data: Any) -> None:
    """Print data as UTF-8 JSON (Chinese unescaped)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def get_settings() -> Settings:
    """The process-wide settings (:func:`gridgov.config.get_settings`), imported when a command first needs them."""
    from gridgov.config import get_settings as settings

    return settings()


class CommitWatch:
    """Whether any engine committed while :func:`gridgov.cli.main.main` runs a command: the deadlock retry's veto.

    ``main`` arms it; the first command that gets an engine (:func:`watched`) starts listening to every engine's
    commits (a class-level listener, so engines made earlier count too), and ``main`` stops it at the end. No
    commit can happen before a command has an engine, so SQLAlchemy is imported only by commands that use it.
    """

    def __init__(self) -> None:
        self.armed = False
        self.committed = False
        self._listening = False

    def arm(self) -> None:
        """Start watching (``main``, before the command runs)."""
        self.armed, self.committed = True, False

    def listen(self) -> None:
        """Listen to commits from now on, if armed (again is a no-op)."""
        if self.armed and not self._listening:
            from sqlalchemy import Engine, event

            event.listen(Engine, "commit", self._on_commit)
            self._listening = True

    def disarm(self) -> None:
        """Stop watching (``main``, after the command)."""
        if self._listening:
            from sqlalchemy import Engine, event

            event.remove(Engine, "commit", self._on_commit)
            self._listening = False
        self.armed = False

    def _on_commit(self, _: object) -> None:
        self.committed = True


COMMITS = CommitWatch()


def watched(eng: Engine) -> Engine:
    """``eng``, with :data:`COMMITS` listening: every engine a command uses passes through here."""
    COMMITS.listen()
    return eng


def engine() -> Engine:
    """The configured database engine, starting the embedded server if it is not running."""
    from gridgov.db.engine import get_engine

    return watched(get_engine(get_settings(), start=True))


@contextmanager
def acting() -> Iterator[tuple[Session, Actor]]:
    """A transaction and its actor: the API token in ``GRIDGOV_TOKEN`` (its role and scope), else the local
    operator (an unscoped administrator: whoever runs the CLI on the server owns the database)."""
    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import authenticate
    from gridgov.db.engine import session_scope, set_actor

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
