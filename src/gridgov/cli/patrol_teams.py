"""``gridgov patrol team|area|route``: patrol teams, their members, patrol areas and planned routes."""

from __future__ import annotations

import typer

team_app = typer.Typer(help="巡逻队：新建、修改、撤销、列表、队员。", no_args_is_help=True)
area_app = typer.Typer(help="巡逻区域：新建、修改、撤销、列表。", no_args_is_help=True)
route_app = typer.Typer(help="计划巡逻路线。", no_args_is_help=True)
