"""Where the database is (embedded or ``GRIDGOV_DATABASE_URL``), engines and sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gridgov.config import Settings, get_settings
from gridgov.db.embedded import EmbeddedCluster
from gridgov.errors import DatabaseUnavailable


def cluster(settings: Settings | None = None) -> EmbeddedCluster:
    """The embedded cluster for these settings."""
    s = settings or get_settings()
    return EmbeddedCluster(s.home, s.pg_user)


def uses_external(settings: Settings | None = None) -> bool:
    """True when ``GRIDGOV_DATABASE_URL`` points at another server."""
    return bool((settings or get_settings()).database_url)


def libpq_url(settings: Settings | None = None, *, start: bool = False) -> str:
    """The database URL in libpq form (what ``psql`` takes); starts the embedded server if asked."""
    s = settings or get_settings()
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


def get_engine(settings: Settings | None = None, *, start: bool = False) -> Engine:
    """The process-wide engine for the configured database."""
    return _engine_for(libpq_url(settings, start=start))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``."""
    return sessionmaker(engine, expire_on_commit=False, future=True)


@contextlib.contextmanager
def session_scope(engine: Engine, actor: str = "system") -> Iterator[Session]:
    """A transaction: commit on success, roll back on error; ``actor`` goes to the audit log."""
    with session_factory(engine)() as session, session.begin():
        set_actor(session, actor)
        yield session


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
