"""Shared fixtures: a real PostGIS server started by the project's own code, and throw-away databases.

The server is the one named by GRIDGOV_DATABASE_URL, or else the embedded cluster under
GRIDGOV_HOME (started here if needed). Each test session creates fresh databases on it and drops
them afterwards. Nothing here skips: no database is a failure.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from gridgov.config import Settings, get_settings
from gridgov.db.engine import libpq_url, make_engine
from gridgov.db.migrate import upgrade
from gridgov.db.models import Base

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "geodata" / "sample"
# Every table the models declare (so a new table can never be missed); Alembic's bookkeeping
# table is not in the metadata, and is left alone if it ever is.
# Tables seeded by migrations: emptied of what tests added, not of their seed.
_SEEDED = importlib.import_module("gridgov.db.migrations.versions.0012_incident_workflow").SEED
REFERENCE_TABLES = {"vocab_term": ("DELETE FROM vocab_term WHERE NOT builtin",
                                   "UPDATE vocab_term SET synonyms = '{}', retired_at = NULL "
                                   "WHERE synonyms <> '{}' OR retired_at IS NOT NULL"),
                    **{table: (f"DELETE FROM {table}", seed) for table, seed in _SEEDED.items()}}  # fmt: skip
DOMAIN_TABLES = tuple(t.name for t in Base.metadata.sorted_tables
                      if t.name != "alembic_version" and t.name not in REFERENCE_TABLES)  # fmt: skip


@pytest.fixture(scope="session")
def server_url() -> str:
    """libpq URL of the server's maintenance database (embedded cluster started on demand)."""
    url = libpq_url(get_settings(), start=True)
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _create_db(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with contextlib.closing(psycopg.connect(server_url, autocommit=True)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_db(server_url: str, url: str) -> None:
    name = make_url(url).database
    with contextlib.closing(psycopg.connect(server_url, autocommit=True)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_url(server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session (libpq URL)."""
    url = _create_db(server_url, "gridgov_test")
    try:
        upgrade(make_engine(url))
        yield url
    finally:
        _drop_db(server_url, url)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    """Engine on the session's test database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def empty_domain_tables(engine: Engine) -> None:
    """TRUNCATE every table of DOMAIN_TABLES, restarting their identities."""
    with engine.begin() as conn:
        tables = ", ".join(map(conn.dialect.identifier_preparer.quote, DOMAIN_TABLES))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for statements in REFERENCE_TABLES.values():
            for clean_up in statements:
                conn.execute(text(clean_up))


@pytest.fixture
def clean_engine(engine: Engine) -> Engine:
    """The test database emptied of every domain row before the test."""
    empty_domain_tables(engine)
    return engine


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The generated sample street (generated here when missing or made by another generator version;
    deterministic)."""
    from gridgov.sample.generate import generate, is_current

    if not is_current(SAMPLE_DIR):
        generate(SAMPLE_DIR)
    return SAMPLE_DIR


@contextlib.contextmanager
def sample_database(server_url: str, sample_dir: Path, prefix: str) -> Iterator[Engine]:
    """A new database with the sample street loaded and assigned, dropped afterwards."""
    from sqlalchemy.orm import Session

    from gridgov.assign.points import assign_all
    from gridgov.sample.load import load_sample

    url = _create_db(server_url, prefix)
    eng = make_engine(url)
    try:
        upgrade(eng)
        with eng.begin() as conn:
            load_sample(conn, sample_dir)
        with Session(eng) as s, s.begin():
            assign_all(s)
        yield eng
    finally:
        eng.dispose()
        _drop_db(server_url, url)


@pytest.fixture(scope="session")
def sample_engine(server_url: str, sample_dir: Path) -> Iterator[Engine]:
    """A separate database with the sample street loaded and assigned (read-only for tests)."""
    with sample_database(server_url, sample_dir, "gridgov_sample") as eng:
        yield eng


@pytest.fixture(scope="session")
def sample_tokens(sample_engine: Engine) -> dict[str, dict[str, str]]:
    """Auth headers on the sample street: an admin, an unscoped viewer and an editor of community …001."""
    from sqlalchemy.orm import Session

    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token

    op = Actor.system("tests")
    with Session(sample_engine) as s, s.begin():
        plain = {
            "admin": create_token(s, op, "样例-管理员", "admin")[0],
            "viewer": create_token(s, op, "样例-只读", "viewer")[0],
            "editor1": create_token(s, op, "样例-一社区", "community", "610103006001")[0],
        }
    return {k: {"Authorization": f"Bearer {v}"} for k, v in plain.items()}


@pytest.fixture
def probe(engine: Engine) -> Iterator[Engine]:
    """A two-row table (``test_lock_probe``: id, n) for hand-made deadlocks, dropped afterwards."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS test_lock_probe (id int PRIMARY KEY, n int DEFAULT 0)"))
        conn.execute(text("INSERT INTO test_lock_probe (id) VALUES (1), (2) ON CONFLICT DO NOTHING"))
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS test_lock_probe"))


@pytest.fixture
def settings_for(db_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database, with scratch dirs."""
    return Settings(database_url=db_url, home=tmp_path / "home", maps_dir=tmp_path / "maps")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failure here: every test must run against the real parts."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"{len(skipped)} test(s) skipped: a skip counts as a failure", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
