"""Where the database is (embedded or ``GRIDGOV_DATABASE_URL``), engines and sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gridgov.config import DatabaseSettings
from gridgov.db.embedded import SUPERUSER, EmbeddedCluster
from gridgov.errors import DatabaseUnavailable


def cluster(settings: DatabaseSettings) -> EmbeddedCluster:
    """The embedded cluster for these settings."""
    return EmbeddedCluster(settings.home, settings.pg_user)


def uses_external(settings: DatabaseSettings) -> bool:
    """True when ``GRIDGOV_DATABASE_URL`` points at another server."""
    return bool(settings.database_url)


def libpq_url(settings: DatabaseSettings, *, start: bool = False) -> str:
    """The database URL in libpq form (what ``psql`` takes); starts the embedded server if asked."""
    s = settings
    if s.database_url:
        url = make_url(s.database_url)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    c = cluster(s)
    if start:
        c.up()
    return c.url(s.database_name)


def sqlalchemy_url(libpq: str) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver."""
    return make_url(libpq).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def make_engine(url: str, **kw: object) -> Engine:
    """An engine for a libpq or SQLAlchemy URL."""
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, future=True, **kw)  # type: ignore[arg-type]


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def follow_cluster(engine: Engine, c: EmbeddedCluster) -> Engine:
    """Make ``engine`` read the embedded server's current port (and password) on every connection attempt.

    A server restarted by ``gridgov db up`` (or after ``kill -9``) is then found without restarting the process;
    dead pooled connections are replaced by ``pool_pre_ping``.
    """

    @event.listens_for(engine, "do_connect")
    def _current_address(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        port = c.current_port()
        if port is None:
            raise DatabaseUnavailable("嵌入式数据库尚未创建，请先运行 gridgov db up")
        cparams["port"] = port
        if c.password_file.exists():
            cparams["password"] = c.password()

    return engine


@lru_cache
def _embedded_engine(home: str, database: str, pg_user: str) -> Engine:
    c = EmbeddedCluster(Path(home), pg_user)
    port = c.current_port() or 5432  # only the URL's shape: follow_cluster sets the port per connection
    return follow_cluster(make_engine(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"), c)


def get_engine(settings: DatabaseSettings, *, start: bool = False) -> Engine:
    """The process-wide engine for the configured database (the embedded one follows the server's restarts)."""
    s = settings
    if s.database_url:
        return _engine_for(libpq_url(s))
    c = cluster(s)
    if start:
        c.up()
    return _embedded_engine(str(c.home), s.database_name, s.pg_user)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``."""
    return sessionmaker(engine, expire_on_commit=False, future=True)


@contextlib.contextmanager
def session_scope(engine: Engine, actor: str = "system") -> Iterator[Session]:
    """A transaction: commit on success, roll back on error; ``actor`` goes to the audit log."""
    with session_factory(engine)() as session, session.begin():
        set_actor(session, actor)
        yield session


def set_statement_timeout(session: Session, seconds: float) -> None:
    """Cancel this transaction's statements that run longer than ``seconds`` (``SET LOCAL``; 0 = no limit)."""
    if seconds > 0:
        ms = max(1, round(seconds * 1000))
        session.execute(text("SELECT set_config('statement_timeout', :v, true)"), {"v": f"{ms}ms"})


def set_actor(session: Session, actor: str) -> None:
    """Name who writes in this transaction, for the audit triggers."""
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor})


def postgis_version(engine: Engine) -> str:
    """PostGIS's version string, or a clear error when the server is unreachable."""
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT postgis_full_version()")).scalar_one())
    except Exception as exc:  # noqa: BLE001 - any driver error means "unavailable" to the caller
        raise DatabaseUnavailable(f"无法连接数据库或缺少 PostGIS：{exc.__class__.__name__}") from exc


# Planner settings for heavy statements whose JIT compile time exceeds its gain (for local_settings).
NO_JIT = {"jit": "off"}


@contextlib.contextmanager
def local_settings(session: Session, settings: dict[str, str]) -> Iterator[None]:
    """Apply planner settings (``jit``, ``work_mem`` …) for the enclosed statements, restored afterwards
    (transaction-local, so a rollback reverts them too)."""
    if not settings:
        yield
        return
    names = list(settings)
    calls = ", ".join(f"set_config('{n}', :v{i}, true)" for i, n in enumerate(names))
    old = session.execute(text("SELECT " + ", ".join(f"current_setting('{n}')" for n in names))).one()
    session.execute(text(f"SELECT {calls}"), {f"v{i}": settings[n] for i, n in enumerate(names)})
    yield
    session.execute(text(f"SELECT {calls}"), {f"v{i}": v for i, v in enumerate(old)})
