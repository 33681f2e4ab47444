"""``gridgov party``: the Party compliance check (党建合规检查)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
