"""``gridgov party``: volunteer teams and activities, meetings (三会一课), 党员责任区."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
