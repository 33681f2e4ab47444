"""``gridgov incident``: the incident loop (事件处置): report, work cases to closure, figures, settings.

Each part lives in its own module; this one only assembles them (imports stay light: see tests/cli/test_start.py).
"""

from __future__ import annotations

import typer

from gridgov.cli import incident_admin, incident_cases, incident_kpi

app = typer.Typer(help="事件处置：上报、立案、派遣、处置、核查、结案，考核指标与设置。", no_args_is_help=True)
incident_cases.register(app)
incident_kpi.register(app)
incident_admin.register(app)
calendar_app = incident_admin.calendar_app
