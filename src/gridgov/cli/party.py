"""``gridgov party``: Party building on the grid (党建网格): organisations, registers, volunteers, meetings,
责任区 and the compliance check.

Each part lives in its own module; this one only assembles them (imports stay light: see tests/cli/test_start.py).
"""

from __future__ import annotations

import typer

from gridgov.cli import party_activity, party_check, party_orgs

app = typer.Typer(help="党建网格：党组织、党员登记、联系户、志愿服务、会议、责任区与合规检查。", no_args_is_help=True)
party_orgs.register(app)
party_activity.register(app)
party_check.register(app)
