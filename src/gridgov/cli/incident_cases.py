"""``gridgov incident report|accept|…|show|list``: the incident loop from the shell."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the case commands to ``gridgov incident``."""
