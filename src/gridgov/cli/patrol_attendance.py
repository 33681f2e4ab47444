"""``gridgov patrol attendance``: attendance (考勤) from the rosters and the tracks."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the attendance commands to ``gridgov patrol``."""
