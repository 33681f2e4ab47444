"""``gridgov party``: Party organisations, posts, memberships, resident units, registers and 联系户."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
