"""党建 pages: the compliance check (党建合规检查) of a grid in the user's scope as of a day: each rule passed or
not with the numbers behind it and the standard from the settings, the findings per rule with links to the
records to fix, the uncovered parts of the compounds (责任区) on a small map, and the Excel workbook.

Party data: personal data rights are needed (viewers and patrol leaders get 403), a grid outside the user's
scope is refused, and every showing is logged.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gridgov.api.dependencies import PersonalDep, SessionDep, SettingsDep, Throttled
from gridgov.api.routes.party_check import run_check, workbook_response
from gridgov.party.check import Finding
from gridgov.party.check_export import definitions, record_kind, scope_label, summary_lines
from gridgov.party.duty_areas import compound_outlines
from gridgov.patrol.teams import grid_choices
from gridgov.web.forms import form_day
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

ParentQuery = Annotated[str, Query(max_length=40)]
DayQuery = Annotated[str, Query(max_length=10)]
LEVELS = ("street", "community", "compound")
RECORD_PAGES = {"member": "/party/members/", "team": "/party/teams/"}


def _link(prefix: str, code: str) -> str:
    return prefix + quote(code, safe="")


def _finding_row(f: Finding) -> dict[str, Any]:
    """A finding as the page lists it: the links to the organisation, the grid and the records to fix."""
    prefix = RECORD_PAGES[record_kind(f.rule)]
    return {"finding": f, "org_url": _link("/party/orgs/", f.org) if f.org else None,
            "grid_url": _link("/grids/", f.grid_code) if f.grid_code else None,
            "records": [(code, _link(prefix, code)) for code in f.records]}  # fmt: skip


@router.get("/party/check")
def check_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
               parent: ParentQuery = "", as_of: DayQuery = "") -> Response:  # fmt: skip
    """The check of a grid (default: the user's scope) as of a day (default today)."""
    day = form_day(as_of)
    report = run_check(session, settings, who, parent.strip() or None, day, "/party/check")
    lines = summary_lines(report)
    groups = [(line, [_finding_row(f) for f in report.findings if f.rule == line.rule]) for line in lines]
    gaps = [{"type": "Feature", "geometry": f.geometry, "properties": {"code": f.grid_code, "detail": f.detail}}
            for f in report.findings if f.geometry is not None]  # fmt: skip
    outlines = compound_outlines(session, who, parent=parent.strip() or None)
    query = urlencode({k: v for k, v in (("parent", report.parent or ""), ("as_of", day.isoformat() if day else ""))
                       if v})  # fmt: skip
    return render(request, "party_check.html", actor=who, active="party", title="党建合规检查", report=report,
                  lines=lines, groups=[g for g in groups if g[1]], meaning=definitions(report.rules),
                  scope=scope_label(report), parent=parent.strip(), as_of=day.isoformat() if day else "",
                  choices=grid_choices(session, who, LEVELS),
                  file_url="/party/check/file" + (f"?{query}" if query else ""),
                  layers={"compounds": {"type": "FeatureCollection", "features": outlines},
                          "gaps": {"type": "FeatureCollection", "features": gaps}})  # fmt: skip


@router.get("/party/check/file", dependencies=[Throttled])
def check_file(session: SessionDep, settings: SettingsDep, who: PersonalDep, parent: ParentQuery = "",
               as_of: DayQuery = "") -> Response:  # fmt: skip
    """The check as an Excel workbook (汇总, 问题清单, 说明)."""
    report = run_check(session, settings, who, parent.strip() or None, form_day(as_of), "/party/check/file")
    return workbook_response(report, settings)
