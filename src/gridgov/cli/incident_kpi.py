"""``gridgov incident kpi``: incident figures for a period."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the figures commands to ``gridgov incident``."""
