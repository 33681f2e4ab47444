"""Heavy SQL lives in .sql files next to this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def load(name: str) -> str:
    """The text of ``<name>.sql``."""
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")
