"""Heavy SQL lives in .sql files next to this module."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def load(name: str) -> str:
    """The text of ``<name>.sql``."""
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of a multi-statement ``.sql`` file (split on a ``;`` that ends a line)."""
    parts = [p.strip() for p in load(name).split(";\n")]
    return [p.rstrip(";") for p in parts if p and not all(line.lstrip().startswith("--") for line in p.splitlines())]


@cache
def sections(name: str) -> dict[str, str]:
    """The named statements of a ``.sql`` file, each under a ``-- @name: what it does`` line, in file order."""
    parts = re.split(r"^-- @(\w+):.*$", load(name), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}
