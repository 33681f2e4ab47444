"""首页: the user's grids with their key figures and what needs attention; a 开始使用 guide while there are none."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gridgov.api.dependencies import SessionDep, SettingsDep, ViewerDep
from gridgov.auth.scope import may
from gridgov.ledger.overview import overview
from gridgov.ops.install import installation
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep) -> Response:
    """The start page after login (anonymous visitors are sent to the login page)."""
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    view = overview(session, who, today=today, timezone=settings.timezone, patrol_buffer_m=settings.patrol_buffer_m)
    return render(request, "home.html", actor=who, active="home", title="首页", view=view,
                  street=installation(session), may_import=may(who, "write"), may_admin=may(who, "admin"))
