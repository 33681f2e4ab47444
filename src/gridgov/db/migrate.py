"""Run Alembic migrations programmatically (``gridgov db migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate the database to ``revision``; returns the revision it is at afterwards."""
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current(engine)


def current(engine: Engine) -> str:
    """The revision the database is at ('' when never migrated)."""
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
        if not exists:
            return ""
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def head() -> str:
    """The newest revision shipped with this version of gridgov."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head())
