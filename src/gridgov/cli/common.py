"""Shared CLI plumbing: JSON output and the database engine."""

from __future__ import annotations

import json
from typing import Any

import typer
from sqlalchemy import Engine

from gridgov.config import get_settings
from gridgov.db.engine import get_engine


def echo_json(data: Any) -> None:
    """Print data as UTF-8 JSON (Chinese unescaped)."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def engine() -> Engine:
    """The configured database engine, starting the embedded server if it is not running."""
    return get_engine(get_settings(), start=True)
