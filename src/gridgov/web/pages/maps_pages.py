"""地图: the grid, coverage and patrol maps with a date picker."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from gridgov.api.dependencies import SessionDep, SettingsDep, ViewerDep
from gridgov.auth.scope import may, require_role
from gridgov.errors import InvalidInput
from gridgov.grids.service import grids_in_scope
from gridgov.incidents.kpi import time_windows, window_hours
from gridgov.maps.gridmap import LAYERS
from gridgov.maps.patrol_data import load_teams as patrol_teams
from gridgov.periods import parse_date
from gridgov.vocab import LEVEL_ZH
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

MapKind = Literal["grid", "coverage", "patrol"]
COVERAGE_DAYS = 30  # the coverage map's default period: the 30 nights up to the latest one with tracks
Text = Annotated[str, Query(max_length=40)]


@router.get("/maps")
def maps_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep) -> Response:
    """Three map kinds, each with its choices (area, dates, team, layers); 打开 shows the map below the choices."""
    grids = grids_in_scope(session, who)
    has_children = {g.parent_code for g in grids if g.parent_code}
    parents = [g for g in grids if g.code in has_children or g.code == who.scope_code]
    teams = patrol_teams(session, None)
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    nights = [t.last_night for t in teams if t.last_night is not None and t.last_night <= today]
    latest = max(nights) if nights else today
    shifts = [(name, window_hours(*hours)) for name, hours in time_windows().items()]
    return render(request, "maps.html", actor=who, active="maps", title="地图", parents=parents, shifts=shifts,
                  scope=who.scope_code or "", teams=[(t.code, t.label) for t in teams], night=latest,
                  coverage_from=latest - dt.timedelta(days=COVERAGE_DAYS - 1), coverage_to=latest,
                  party=may(who, "personal"), level_zh=LEVEL_ZH)  # fmt: skip


def _day(value: str, what: str) -> str | None:
    """A date typed in the form (empty: none), checked and written as YYYY-MM-DD."""
    if not value.strip():
        return None
    try:
        return parse_date(value).isoformat()
    except InvalidInput as exc:
        raise InvalidInput(f"{what}：{exc.message}") from None


@router.get("/maps/open/{kind}")
def open_map(
    who: ViewerDep,
    kind: MapKind,
    parent: Text = "",
    layers: Annotated[list[str] | None, Query()] = None,
    date: Text = "",
    date_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=40)] = "",
    team: Text = "",
    as_of: Text = "",
    track_kind: Text = "",
    shift: Text = "",
    kpi: Text = "",
) -> Response:
    """The map the form asked for: its address with the chosen values (empty ones left out), as a redirect."""
    params: dict[str, str | None] = {}
    if kind == "grid":
        wanted = [x for x in dict.fromkeys(layers or []) if x]
        unknown = [x for x in wanted if x not in LAYERS]
        if unknown:
            raise InvalidInput(f"未知的图层：{'、'.join(unknown)}")
        if "party" in wanted:
            require_role(who, "personal")  # the map checks the scope; refuse early with the reason
        params = {"parent": parent.strip(), "layers": ",".join(wanted), "as_of": _day(as_of, "查看日期")}
    elif kind == "coverage":
        first, last = _day(date_from, "起始日期"), _day(date_to, "截止日期")
        if first and last and first > last:
            raise InvalidInput(f"日期范围无效：起始日期 {first} 晚于截止日期 {last}")
        params = {"parent": parent.strip(), "from": first, "to": last, "team": team.strip(),
                  "kind": track_kind.strip(), "shift": shift.strip(), "kpi": kpi.strip()}
    else:
        params = {"date": _day(date, "巡逻日期"), "team": team.strip()}
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"/maps/{kind}" + (f"?{query}" if query else ""), status_code=303)
