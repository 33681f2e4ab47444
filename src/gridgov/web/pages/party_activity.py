"""党建 pages: volunteer teams and activities, meetings (三会一课), 党员责任区.

``/party/activity`` is the hub of this part (this month's teams against the rules, meetings overdue, 责任区
problems); ``/party/teams`` and a team's page (members joining and leaving, activities of a month, its status,
edit, retire, history); ``/party/meetings`` (the schedule with overdue meetings in red, record and cancel forms,
minutes upload and download); ``/party/duty-areas`` (a Leaflet map of the compounds, the 责任区 with their duty and
members, the uncovered parts and overlaps highlighted; a polygon drawn with Geoman is saved through the API; a file
upload form for polygons drawn elsewhere).

Party records name residents: every page needs the "personal" permission inside the reader's scope and each view
is logged. The services do the work and the scope rule; a refused form comes back with the reason in Chinese and
what was typed, a done one redirects (303) with a notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gridgov.api.dependencies import PersonalDep, SessionDep, SettingsDep
from gridgov.api.routes.party_activity import read_minutes
from gridgov.api.uploads import save_upload
from gridgov.auth.scope import Actor
from gridgov.auth.views import log_view
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.geo.crs import FILE_CRS_CHOICES
from gridgov.history import day_of
from gridgov.party import duty_areas as duty_svc
from gridgov.party import meetings as meeting_svc
from gridgov.party import volunteers as team_svc
from gridgov.party.members import list_members
from gridgov.party.rules import PartyRules
from gridgov.patrol.teams import area_from_file, area_shape, grid_choices
from gridgov.periods import parse_month
from gridgov.vocab import PARTY_DUTIES, PARTY_MEETING_KINDS, VOLUNTEER_TEAM_KINDS
from gridgov.web.forms import (
    OTHER,
    Done,
    DoneQuery,
    GeoJsonText,
    RetireForm,
    Short,
    end_reason,
    form_day,
    notices,
    page_write,
    run_form,
)
from gridgov.web.pages.patrol_teams import history_lines
from gridgov.web.templating import render
from gridgov.web.versioned_pages import add_edit_page, add_retire_page

router = APIRouter(include_in_schema=False)

ACTIVE = "party"
TEAM_REASONS = ("合并", "调整", "解散", "录入错误", OTHER)
MEMBER_REASONS = ("退出", "搬离", "去世", OTHER)
AREA_REASONS = ("调整", "合并", "录入错误", OTHER)
CANCEL_REASONS = ("录入错误", "重复登记", "会议未召开", OTHER)
CodeQuery = Annotated[str, Query(max_length=40)]
MonthQuery = Annotated[str | None, Query(max_length=10)]
UploadField = Annotated[UploadFile | None, File()]


# ------------------------------------------------------------------------------------------------ forms


class TeamForm(BaseModel):
    """The fields of the add and edit forms of a team (a browser sends every field, filled or not)."""

    code: Short = ""
    name: Short = ""
    kind: Short = ""
    grid: Short = ""
    org: Short = ""
    leader: Short = ""
    effective: Short = ""
    version: int | None = None

    def changes(self, current: team_svc.Team) -> dict[str, str]:
        """The fields whose value differs from the team's."""
        now = {"name": current.name, "kind": current.kind, "grid": current.grid_code, "org": current.org_code,
               "leader": current.leader_code}  # fmt: skip
        return {k: v.strip() for k, v in self.model_dump(include=set(now)).items() if v.strip() != (now[k] or "")}


class MemberForm(BaseModel):
    """A resident joining a team, or a member leaving it."""

    person: Short = ""
    day: Short = ""
    reason: Short = ""
    reason_other: Short = ""


class ActivityForm(BaseModel):
    """A new activity of a team."""

    day: Short = ""
    hours: Short = ""
    title: Short = ""
    participants: Short = ""
    note: Annotated[str, Field(max_length=2000)] = ""


def _number(value: str, label: str) -> int | None:
    clean = value.strip()
    if not clean:
        return None
    if not clean.isdigit():
        raise InvalidInput(f"{label}应为整数：{clean[:20]}")
    return int(clean)


def _hours(value: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise InvalidInput(f"活动时长应为小时数，如 2.5：{value.strip()[:20] or '（空）'}") from None


def _month(value: str | None, settings: Settings) -> dt.date:
    return parse_month(value) if value else day_of(None, settings.timezone).replace(day=1)


def _query(**values: str | None) -> str:
    given = {k: v for k, v in values.items() if v}
    return f"?{urlencode(given)}" if given else ""


# ------------------------------------------------------------------------------------------------ hub


@router.get("/party/activity")
def hub_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
             parent: Annotated[str | None, Query(max_length=40)] = None) -> Response:  # fmt: skip
    """This part at a glance: the teams' month against the rules, meetings overdue, 责任区 problems."""
    rules = PartyRules.of(settings)
    figures = team_svc.month_figures(session, who, rules, parent=parent, timezone=settings.timezone)
    due = meeting_svc.schedule(session, who, rules, parent=parent, timezone=settings.timezone)
    areas = duty_svc.list_areas(session, who, parent=parent)
    findings = duty_svc.check_areas(session, who, parent=parent, tolerance_m=settings.tolerance_m,
                                    min_gap_area_m2=settings.min_gap_area_m2)  # fmt: skip
    return render(request, "party_activity.html", actor=who, active=ACTIVE, title="志愿服务、会议与责任区",
                  figures=figures, due=due, overdue=[d for d in due if d.overdue], areas=areas, findings=findings,
                  month=_month(None, settings), parent=parent or "", rules=rules, q=_query(parent=parent))  # fmt: skip


# ------------------------------------------------------------------------------------------------ teams


def _team_choices(session: Session, who: Actor) -> dict[str, Any]:
    return {"kinds": VOLUNTEER_TEAM_KINDS.terms, "grids": grid_choices(session, who, ("community", "compound")),
            "orgs": meeting_svc.org_choices(session, who)}  # fmt: skip


def _teams_page(request: Request, session: Session, settings: Settings, who: Actor, *, parent: str | None = None,
                include_retired: bool = False, month: str | None = None, status_code: int = 200,
                messages: Sequence[tuple[str, str]] = (),
                form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    first = _month(month, settings)
    teams = team_svc.list_teams(session, who, parent=parent, include_retired=include_retired,
                                timezone=settings.timezone)  # fmt: skip
    figures = {f.team_code: f for f in team_svc.month_figures(session, who, PartyRules.of(settings), month=first,
                                                                   parent=parent, timezone=settings.timezone)}
    log_view(session, who, "volunteer_team", parent or who.scope_code, page="/party/teams", rows=len(teams))
    return render(request, "party_activity_teams.html", actor=who, active=ACTIVE, title="志愿服务队",
                  status_code=status_code, messages=list(messages), teams=teams, figures=figures, month=first,
                  include_retired=include_retired, parent=parent or "", form=form or {},
                  **_team_choices(session, who))  # fmt: skip


@router.get("/party/teams")
def teams_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
               parent: Annotated[str | None, Query(max_length=40)] = None, retired: bool = False,
               month: MonthQuery = None, done: DoneQuery = None) -> Response:  # fmt: skip
    """The teams with a month's figures against the rules (this month by default), and the form to add one."""
    return _teams_page(request, session, settings, who, parent=parent, include_retired=retired, month=month,
                       messages=notices(done))  # fmt: skip


def _team_url(code: str, month: str | None = None) -> str:
    return f"/party/teams/{quote(code)}" + _query(month=month)


@router.post("/party/teams")
def team_add(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
             form: Annotated[TeamForm, Form()]) -> Response:  # fmt: skip
    """Add a team."""

    def write() -> Done:
        team = team_svc.create_team(session, who, code=form.code, name=form.name, kind=form.kind, grid=form.grid,
                                    org=form.org, leader=form.leader, effective=form_day(form.effective),
                                    timezone=settings.timezone)  # fmt: skip
        return Done(_team_url(team.code), f"已新建志愿服务队 {team.code} {team.name}")

    return run_form(session, write, what="未新建", again=partial(_teams_page, request, session, settings, who),
                    keep={"form": form.model_dump()})  # fmt: skip


def _team_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
               month: str | None = None, status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
               edit: Mapping[str, Any] | None = None, member: Mapping[str, Any] | None = None,
               activity: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    tz = settings.timezone
    first = _month(month, settings)
    team = team_svc.get_team(session, code, who, timezone=tz)
    members = team_svc.team_members(session, team.code, who, include_ended=True, timezone=tz)
    activities = team_svc.list_activities(session, who, team=team.code, month=first)
    figures = team_svc.month_figures(session, who, PartyRules.of(settings), month=first, team=team.code, timezone=tz)
    history = history_lines(session, team_svc.team_history(session, team.code, who, timezone=tz),
                            team_svc.team_changes)  # fmt: skip
    log_view(session, who, "volunteer_team_member", team.grid_code, page=_team_url(team.code), rows=len(members))
    current = {"name": team.name, "kind": team.kind, "grid": team.grid_code or "", "org": team.org_code or "",
               "leader": team.leader_code or ""}  # fmt: skip
    today = day_of(None, tz)
    return render(request, "party_activity_team.html", actor=who, active=ACTIVE, title=f"{team.name} · 志愿服务队",
                  status_code=status_code, messages=list(messages), team=team, members=members,
                  activities=activities, figures=figures[0] if figures else None, month=first, history=history,
                  edit={**current, **(edit or {})}, member=member or {}, activity=activity or {}, today=today,
                  this_month=first == today.replace(day=1), reasons=TEAM_REASONS, member_reasons=MEMBER_REASONS,
                  other=OTHER, **_team_choices(session, who))  # fmt: skip


@router.get("/party/teams/{code}")
def team_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
              month: MonthQuery = None, done: DoneQuery = None) -> Response:  # fmt: skip
    """One team: its fields, members (with those who left), a month's activities and status, history, forms."""
    return _team_page(request, session, settings, who, code, month=month, messages=notices(done))


_team_write = page_write(_team_page, _team_url)  # one write on a team: back to its page, or the refusal on it
TEAM_LABELS = {"name": "名称", "kind": "类型", "grid": "网格", "org": "牵头党组织", "leader": "队长"}

add_edit_page(router, "/party/teams/{code}/edit", name="team_edit", writer=PersonalDep, form_model=TeamForm,
              get=team_svc.get_team, update=team_svc.update_team, labels=TEAM_LABELS, run=_team_write,
              doc="Change a team (the version read must still be the current one).")  # fmt: skip
add_retire_page(router, "/party/teams/{code}/retire", name="team_retire", writer=PersonalDep, form_model=RetireForm,
                retire=team_svc.retire_team, noun="志愿服务队", run=_team_write,
                doc="Retire a team as of a day (its members leave that day).")  # fmt: skip


@router.post("/party/teams/{code}/members")
def member_join(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                form: Annotated[MemberForm, Form()]) -> Response:  # fmt: skip
    """A resident joins the team from a day."""

    def write() -> str:
        m = team_svc.join_team(session, code, who, person=form.person, since=form_day(form.day),
                               timezone=settings.timezone)  # fmt: skip
        return f"已加入：{m.person_name}（{m.person_code}），自 {m.since:%Y-%m-%d} 起"

    return _team_write(request, session, settings, who, code, write, "未加入", member=form.model_dump())


@router.post("/party/teams/{code}/members/{person}/leave")
def member_leave(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                 person: str, form: Annotated[MemberForm, Form()]) -> Response:  # fmt: skip
    """A member leaves the team from a day."""

    def write() -> str:
        m = team_svc.leave_team(session, code, who, person=person, until=form_day(form.day),
                                reason=end_reason(form.reason or "退出", form.reason_other),
                                timezone=settings.timezone)  # fmt: skip
        return f"{m.person_name}（{m.person_code}）自 {m.until:%Y-%m-%d} 起退出（{m.end_reason}）"

    return _team_write(request, session, settings, who, code, write, "未退出")


@router.post("/party/teams/{code}/activities")
def activity_add(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, code: str,
                 form: Annotated[ActivityForm, Form()]) -> Response:  # fmt: skip
    """Record an activity of the team (back to the month it was in)."""

    def write() -> Done:
        a = team_svc.add_activity(session, code, who, day=form_day(form.day), hours=_hours(form.hours),
                                  title=form.title, participants=_number(form.participants, "参加人数"),
                                  note=form.note, timezone=settings.timezone)  # fmt: skip
        return Done(_team_url(code, f"{a.day:%Y-%m}"), f"已登记活动：{a.day:%Y-%m-%d} {a.title} {a.hours:g} 小时")

    return _team_write(request, session, settings, who, code, write, "未登记", activity=form.model_dump())


# ------------------------------------------------------------------------------------------------ meetings


def _meetings_page(request: Request, session: Session, settings: Settings, who: Actor, *, org: str = "",
                   parent: str = "", date_from: str = "", date_to: str = "", status_code: int = 200,
                   messages: Sequence[tuple[str, str]] = (),
                   form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    rules = PartyRules.of(settings)
    due = meeting_svc.schedule(session, who, rules, org=org or None, parent=parent or None,
                               timezone=settings.timezone)  # fmt: skip
    meetings = meeting_svc.list_meetings(session, who, org=org or None, parent=parent or None,
                                         date_from=form_day(date_from), date_to=form_day(date_to))  # fmt: skip
    by_org: dict[str, list[meeting_svc.Due]] = {}
    for d in due:
        by_org.setdefault(d.org_code, []).append(d)
    today = day_of(None, settings.timezone)
    return render(request, "party_activity_meetings.html", actor=who, active=ACTIVE, title="党组织会议（三会一课）",
                  status_code=status_code, messages=list(messages), by_org=by_org, meetings=meetings,
                  overdue=sum(d.overdue for d in due), orgs=meeting_svc.org_choices(session, who),
                  kinds=PARTY_MEETING_KINDS.terms, filters={"org": org, "parent": parent, "from": date_from,
                                                            "to": date_to},
                  form=form or {}, today=today, reasons=CANCEL_REASONS, other=OTHER,
                  back=_query(org=org, parent=parent, **{"from": date_from, "to": date_to}))  # fmt: skip


@router.get("/party/meetings")
def meetings_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    org: CodeQuery = "",
    parent: CodeQuery = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    done: DoneQuery = None,
) -> Response:
    """The schedule per organisation (overdue in red), the meetings held (cancelled ones struck through) with their
    minutes, and the forms to record, cancel and attach minutes."""
    return _meetings_page(request, session, settings, who, org=org, parent=parent, date_from=date_from,
                          date_to=date_to, messages=notices(done))  # fmt: skip


@router.post("/party/meetings")
def meeting_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    org: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    held_on: Annotated[str, Form(max_length=10)] = "",
    topic: Annotated[str, Form(max_length=200)] = "",
    attendees: Annotated[str, Form(max_length=10)] = "",
    expected: Annotated[str, Form(max_length=10)] = "",
    minutes: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record a meeting, with its minutes file when one is chosen."""
    typed = {"org": org, "kind": kind, "held_on": held_on, "topic": topic, "attendees": attendees,
             "expected": expected}  # fmt: skip

    def write() -> Done:
        m = meeting_svc.record_meeting(session, who, org=org, kind=kind, held_on=form_day(held_on), topic=topic,
                                       attendees=_number(attendees, "实到人数"), expected=_number(expected, "应到人数"),
                                       minutes=read_minutes(minutes), timezone=settings.timezone)  # fmt: skip
        with_minutes = "（含会议记录）" if m.has_minutes else ""
        return Done(f"/party/meetings{_query(org=m.org_code)}",
                    f"已登记会议：{m.org_name} {m.held_on:%Y-%m-%d} {m.kind}{with_minutes}")

    return run_form(session, write, what="未登记", again=partial(_meetings_page, request, session, settings, who),
                    keep={"form": typed})  # fmt: skip


@router.post("/party/meetings/{meeting_id}/cancel")
def meeting_cancel(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep, meeting_id: int,
                   form: Annotated[RetireForm, Form()]) -> Response:  # fmt: skip
    """Cancel a meeting recorded by mistake (it stays listed, struck through)."""

    def write() -> Done:
        m = meeting_svc.cancel_meeting(session, meeting_id, who, reason=end_reason(form.reason, form.reason_other))
        return Done(f"/party/meetings{_query(org=m.org_code)}",
                    f"已取消 {m.org_name} {m.held_on:%Y-%m-%d} 的{m.kind}（{m.cancel_reason}）")

    return run_form(session, write, what="未取消", again=partial(_meetings_page, request, session, settings, who))


@router.post("/party/meetings/{meeting_id}/minutes")
def meeting_minutes_upload(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
                           meeting_id: int, minutes: UploadField = None) -> Response:  # fmt: skip
    """Attach (or replace) a meeting's minutes."""

    def write() -> Done:
        checked = read_minutes(minutes)
        if checked is None:
            raise InvalidInput("请选择会议记录文件（PDF、Word 或图片）")
        m = meeting_svc.attach_minutes(session, meeting_id, who, checked)
        return Done(f"/party/meetings{_query(org=m.org_code)}", f"已上传会议记录：{m.minutes_name}")

    return run_form(session, write, what="未上传", again=partial(_meetings_page, request, session, settings, who))


@router.get("/party/meetings/{meeting_id}/minutes")
def meeting_minutes_download(request: Request, session: SessionDep, who: PersonalDep, meeting_id: int) -> Response:
    """The minutes file (personal data: only inside the reader's scope; the download is logged)."""
    minutes = meeting_svc.minutes_file(session, meeting_id, who)
    log_view(session, who, "party_meeting", None, page=request.url.path, rows=1)
    inline = minutes.content_type.startswith("image/") or minutes.content_type == meeting_svc.PDF_TYPE
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(minutes.name)}"
    return Response(minutes.data, media_type=minutes.content_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})  # fmt: skip


# ------------------------------------------------------------------------------------------------ duty areas


def _feature(area: duty_svc.DutyArea) -> dict[str, Any]:
    return {"type": "Feature", "geometry": area.geometry,
            "properties": {"code": area.code, "name": area.name, "duty": area.duty, "org": area.org_name or "",
                           "members": "、".join(area.member_names), "version": area.version}}  # fmt: skip


def _areas_page(request: Request, session: Session, settings: Settings, who: Actor, *, parent: str = "",
                status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    areas = duty_svc.list_areas(session, who, parent=parent or None, shapes=True)
    findings = duty_svc.check_areas(session, who, parent=parent or None, tolerance_m=settings.tolerance_m,
                                    min_gap_area_m2=settings.min_gap_area_m2)  # fmt: skip
    compounds = duty_svc.compound_outlines(session, who, parent=parent or None)
    members, _ = list_members(session, who, parent=parent or None, page="/party/duty-areas")
    log_view(session, who, "party_duty_area", parent or who.scope_code, page="/party/duty-areas", rows=len(areas))
    problems = [{"type": "Feature", "geometry": mapping(f.geometry),
                 "properties": {"rule": f.rule, "label": duty_svc.RULE_LABELS[f.rule], "message": f.message}}
                for f in findings if f.geometry is not None]  # fmt: skip
    layers = {"compounds": {"type": "FeatureCollection", "features": compounds},
              "areas": {"type": "FeatureCollection", "features": [_feature(a) for a in areas]},
              "problems": {"type": "FeatureCollection", "features": problems}}  # fmt: skip
    return render(request, "party_activity_duty_areas.html", actor=who, active=ACTIVE, title="党员责任区",
                  status_code=status_code, messages=list(messages), areas=areas, findings=findings, layers=layers,
                  labels=duty_svc.RULE_LABELS, duties=PARTY_DUTIES.terms, orgs=meeting_svc.org_choices(session, who),
                  members=members, crs_choices=FILE_CRS_CHOICES, parent=parent, form=form or {}, reasons=AREA_REASONS,
                  other=OTHER, today=day_of(None, settings.timezone))  # fmt: skip


@router.get("/party/duty-areas")
def areas_page(request: Request, session: SessionDep, settings: SettingsDep, who: PersonalDep,
               parent: CodeQuery = "", done: DoneQuery = None) -> Response:  # fmt: skip
    """The map of the compounds and the 责任区 (uncovered parts and overlaps highlighted), the list, the problems,
    drawing a new 责任区 and the forms to add one from a file, change or retire one."""
    return _areas_page(request, session, settings, who, parent=parent, messages=notices(done))


def _area_shape(file: UploadFile | None, pasted: str, crs: str, settings: Settings) -> Any:
    """The polygon a form gives: from the uploaded file, else from pasted GeoJSON; None for neither."""
    crs_or_none = crs.strip() or None
    if file is not None and file.filename:
        with save_upload(file, settings.max_upload_mb) as path:
            return area_from_file(Path(path), crs=crs_or_none)
    return area_shape(pasted, crs=crs_or_none) if pasted.strip() else None


@router.post("/party/duty-areas")
def area_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    code: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    duty: Annotated[str, Form(max_length=20)] = "",
    org: Annotated[str, Form(max_length=40)] = "",
    members: Annotated[str, Form(max_length=2000)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    geojson: GeoJsonText = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add a 责任区 from an uploaded file (GeoJSON, GeoPackage, zipped Shapefile, KML) or pasted GeoJSON."""
    typed = {"code": code, "name": name, "duty": duty, "org": org, "members": members, "crs": crs,
             "geojson": geojson}  # fmt: skip

    def write() -> str:
        geom = _area_shape(file, geojson, crs, settings)
        if geom is None:
            raise InvalidInput("请上传责任区文件，粘贴 GeoJSON，或在地图上绘制")
        area = duty_svc.create_area(session, who, code=code, name=name, duty=duty, geometry=geom, org=org or None,
                                    members=members, timezone=settings.timezone)  # fmt: skip
        return f"已新建党员责任区 {area.code} {area.name}（{area.area_m2:,.0f} 平方米）"

    return run_form(session, write, back="/party/duty-areas", what="未新建",
                    again=partial(_areas_page, request, session, settings, who), keep={"form": typed})  # fmt: skip


def _areas_write(request: Request, session: Session, settings: Settings, who: Actor, code: str,
                 write: Callable[[], str], what: str) -> Response:  # fmt: skip
    """Run one write on a 责任区 (:data:`gridgov.web.forms.PageWrite`): back to the map page with the notice, or
    with the refusal."""
    return run_form(session, write, back="/party/duty-areas", what=what,
                    again=partial(_areas_page, request, session, settings, who))  # fmt: skip


@router.post("/party/duty-areas/{code}/edit")
def area_edit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PersonalDep,
    code: str,
    version: Annotated[int | None, Form()] = None,
    name: Annotated[str, Form(max_length=200)] = "",
    duty: Annotated[str, Form(max_length=20)] = "",
    org: Annotated[str, Form(max_length=40)] = "",
    members: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Change a 责任区's name, duty, organisation and responsible members."""

    def write() -> str:
        current = duty_svc.get_area(session, code, who)
        wanted = {"name": name.strip(), "duty": duty.strip(), "org": org.strip(),
                  "members": team_svc.split_codes(members)}  # fmt: skip
        now = {"name": current.name, "duty": current.duty, "org": current.org_code or "",
               "members": current.member_codes}  # fmt: skip
        changes = {k: v for k, v in wanted.items() if v != now[k]}
        area = duty_svc.update_area(session, code, changes, who, expected_version=version,
                                    timezone=settings.timezone)  # fmt: skip
        labels = {"name": "名称", "duty": "职责", "org": "党组织", "members": "责任党员"}
        return f"已保存 {area.code}（{'、'.join(labels[k] for k in changes)}），现为第 {area.version} 版" if changes \
            else "未作改动"

    return _areas_write(request, session, settings, who, code, write, "未保存")


add_retire_page(router, "/party/duty-areas/{code}/retire", name="area_retire", writer=PersonalDep,
                form_model=RetireForm, retire=duty_svc.retire_area, noun="党员责任区", run=_areas_write,
                doc="Retire a 责任区 as of a day (its polygon and history stay).")  # fmt: skip
