"""``gridgov incident limit|dispatch-rule`` and ``gridgov calendar``: the loop's settings (administrators)."""

from __future__ import annotations

import typer

calendar_app = typer.Typer(help="工作日历：法定节假日（休）与调休上班日（班）。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the settings commands to ``gridgov incident``."""
