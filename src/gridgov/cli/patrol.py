"""``gridgov patrol``: patrol operations (巡逻勤务): teams, areas and routes, rosters and notices, attendance.

Each part lives in its own module; this one only assembles them (imports stay light: see tests/cli/test_start.py).
"""

from __future__ import annotations

import typer

from gridgov.cli import patrol_attendance, patrol_rosters, patrol_teams

app = typer.Typer(help="巡逻勤务：巡逻队、巡逻区域与路线、排班与通知、考勤。", no_args_is_help=True)
app.add_typer(patrol_teams.team_app, name="team")
app.add_typer(patrol_teams.area_app, name="area")
app.add_typer(patrol_teams.route_app, name="route")
app.add_typer(patrol_rosters.app, name="roster")
patrol_attendance.register(app)
