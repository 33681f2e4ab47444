"""``gridgov patrol roster``: the rosters (排班) of the night shifts, leave and substitutions, daily notices."""

from __future__ import annotations

import typer

app = typer.Typer(help="排班：按月生成、逐条设置、请假与替班、每日通知名单、月排班表。", no_args_is_help=True)
