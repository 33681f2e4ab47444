"""巡逻队与巡逻区域: the teams and areas (list, add), one team (edit, members, its areas on a small map, retire,
history), a new area (a file or pasted GeoJSON) and one area (edit, planned route, retire, history).

The service (:mod:`gridgov.patrol.teams`) does the work and the scope rule. A refused form comes back with the reason
in Chinese and what was typed; a done one redirects (303) with a notice. Maps are SVG drawn here from the stored
geometries: offline, printable, nothing to load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import shapely
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from gridgov.api.dependencies import PatrolDep, SessionDep, SettingsDep
from gridgov.api.uploads import save_upload
from gridgov.auth.scope import Actor
from gridgov.auth.users import display_names
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.geo.crs import FILE_CRS_CHOICES
from gridgov.history import day_of
from gridgov.patrol import teams as svc
from gridgov.vocab import PATROL_TEAM_KINDS, SHIFTS, TEAM_MEMBER_ROLES, actor_label, shift_hours
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
from gridgov.web.templating import render
from gridgov.web.versioned_pages import add_edit_page, add_retire_page

router = APIRouter(include_in_schema=False)

TEAM_REASONS = ("合并", "调整", "解散", "录入错误", OTHER)
AREA_REASONS = ("调整", "合并", "录入错误", OTHER)
MEMBER_REASONS = ("离队", "调离", "离职", OTHER)


# ------------------------------------------------------------------------------------------------ forms


class TeamForm(BaseModel):
    """The fields of the add and edit forms of a team (a browser sends every field, filled or not)."""

    code: Short = ""
    name: Short = ""
    kind: Short = ""
    shift: Short = ""
    unit: Short = ""
    grid: Short = ""
    leader: Short = ""
    effective: Short = ""
    version: int | None = None

    def changes(self, current: svc.Team) -> dict[str, str]:
        """The fields whose value differs from the team's."""
        now = {
            "name": current.name,
            "kind": current.kind,
            "shift": current.shift,
            "unit": current.unit,
            "grid": current.grid_code,
            "leader": None if current.leader_from_members else current.leader_code,
        }
        return {k: v.strip() for k, v in self.model_dump(include=set(now)).items() if v.strip() != (now[k] or "")}


class TeamRetireForm(RetireForm):
    """A team's retirement, and whether its rosters from that night on are cancelled."""

    cancel_rosters: bool = False


class MemberForm(BaseModel):
    """A staff member joining a team (one on record by code, or a volunteer not on record by name and phone), or
    leaving it."""

    staff_code: Short = ""
    name: Short = ""
    phone: Short = ""
    organisation: Short = ""
    role: Short = ""
    day: Short = ""
    reason: Short = ""
    reason_other: Short = ""


# ------------------------------------------------------------------------------------------------ maps


@dataclass(frozen=True)
class MapShape:
    """One drawn shape: SVG path data, its CSS class and its tooltip."""

    d: str
    kind: str
    title: str


@dataclass(frozen=True)
class MapLabel:
    """A name written on the map."""

    x: float
    y: float
    text: str
    kind: str


@dataclass
class SvgMap:
    """A small map as SVG: a view box in projected units, shapes and labels."""

    width: float
    height: float
    shapes: list[MapShape] = field(default_factory=list)
    labels: list[MapLabel] = field(default_factory=list)


MAP_WIDTH = 1000.0
MAP_MARGIN = 0.15  # of the areas' extent, around them


def svg_map(areas: Sequence[svc.Area], context: Sequence[tuple[str, str, dict[str, Any]]]) -> SvgMap | None:
    """The areas (filled), their routes (dashed) and the communities around them (outlined, named), in an
    equirectangular projection at the areas' latitude (metres-true enough at a street's size)."""
    drawn = [(a, shape(a.geometry)) for a in areas if a.geometry is not None]
    if not drawn:
        return None
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds([g for _, g in drawn]))
    pad = max(x1 - x0, y1 - y0) * MAP_MARGIN or 0.001
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    squeeze = math.cos(math.radians((y0 + y1) / 2))
    scale = MAP_WIDTH / ((x1 - x0) * squeeze)
    view = shapely.box(x0, y0, x1, y1)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - x0) * squeeze * scale, (y1 - lat) * scale

    def path(geom: BaseGeometry) -> str:
        out = []
        for part in _simple_parts(geom):
            lines = [part.exterior, *part.interiors] if isinstance(part, Polygon) else [part]
            for line in lines:
                points = [xy(x, y) for x, y in line.coords]
                out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + ("Z" if line.is_closed else ""))
        return "".join(out)

    result = SvgMap(MAP_WIDTH, (y1 - y0) * scale)
    for code, name, geojson in context:
        g = shape(geojson)
        result.shapes.append(MapShape(path(g.intersection(view)), "community", f"{name}（{code}）"))
        inside = g.intersection(view)
        if not inside.is_empty and inside.area > 0.02 * view.area:
            p = inside.representative_point()
            result.labels.append(MapLabel(*xy(p.x, p.y), name, "community"))
    for area, g in drawn:
        result.shapes.append(MapShape(path(g), "area", f"{area.code} {area.name or ''}"))
        if area.route is not None:
            result.shapes.append(MapShape(path(shape(area.route)), "route", f"{area.code} 计划路线"))
        p = g.representative_point()
        result.labels.append(MapLabel(*xy(p.x, p.y), area.code, "area"))
    return result


def _simple_parts(geom: BaseGeometry) -> Iterator[BaseGeometry]:
    """Polygons, lines and points of a geometry, however nested."""
    for part in shapely.get_parts(geom):
        if part.geom_type.startswith("Multi") or part.geom_type == "GeometryCollection":
            yield from _simple_parts(part)
        elif not part.is_empty:
            yield part


# ------------------------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class HistoryLine:
    """One line of a history table (the shape ``records_macros.history_table`` reads)."""

    number: int
    valid_from: Any
    valid_to: Any
    changes: str
    who: str
    retirement: bool = False


def history_lines(
    session: Session, versions: Sequence[Any], changes: Callable[[Any, Any], list[str]]
) -> list[HistoryLine]:
    """A team's or an area's history, newest first: each state, and the retirement of a retired one (its live row,
    in force at no moment: the state it ended is the history row before it)."""
    people = display_names(session, [v.updated_by for v in versions])
    out, last = [], len(versions) - 1
    for i, v in enumerate(versions):
        who = actor_label(v.updated_by, people)
        if i == last and v.valid_to is not None:
            out.append(HistoryLine(v.version, v.valid_to, None, f"撤销：{v.end_reason or ''}", who, retirement=True))
        else:
            out.append(HistoryLine(v.version, v.valid_from, v.valid_to,
                                   "；".join(changes(versions[i - 1] if i else None, v)), who))  # fmt: skip
    return out[::-1]


# ------------------------------------------------------------------------------------------------ teams


def _choices(session: Session, who: Actor) -> dict[str, Any]:
    return {"kinds": PATROL_TEAM_KINDS.terms, "shifts": [(s, shift_hours(s)) for s in SHIFTS.terms],
            "roles": TEAM_MEMBER_ROLES.terms, "staff": svc.staff_choices(session, who),
            "team_grids": svc.grid_choices(session, who, ("street", "community")),
            "communities": svc.grid_choices(session, who, ("community",))}  # fmt: skip


def _teams_page(request: Request, session: Session, who: Actor, *, include_retired: bool = False,
                status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
                form: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    teams = svc.list_teams(session, who, include_retired=include_retired)
    areas = svc.list_areas(session, who, include_retired=include_retired)
    return render(request, "patrol_teams.html", actor=who, active="patrol", title="巡逻队与区域",
                  status_code=status_code, messages=list(messages), teams=teams, areas=areas,
                  include_retired=include_retired, form=form or {}, **_choices(session, who))  # fmt: skip


@router.get("/patrol/teams")
def teams_page(request: Request, session: SessionDep, who: PatrolDep, retired: bool = False,
               done: DoneQuery = None) -> Response:  # fmt: skip
    """The teams and the areas (with the retired ones on request), and the form to add a team."""
    return _teams_page(request, session, who, include_retired=retired, messages=notices(done))


@router.post("/patrol/teams")
def team_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    form: Annotated[TeamForm, Form()],
) -> Response:
    """Add a team."""

    def write() -> Done:
        team = svc.create_team(session, who, code=form.code, name=form.name, kind=form.kind, shift=form.shift,
                               unit=form.unit, grid=form.grid, leader=form.leader, effective=form_day(form.effective),
                               timezone=settings.timezone)  # fmt: skip
        return Done(_team_url(team.code), f"已新建巡逻队 {team.code} {team.name}")

    return run_form(session, write, what="未新建", again=partial(_teams_page, request, session, who),
                    keep={"form": form.model_dump()})  # fmt: skip


def _team_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
               status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
               edit: Mapping[str, Any] | None = None, member: Mapping[str, Any] | None = None) -> Response:  # fmt: skip
    tz = settings.timezone
    team = svc.get_team(session, code, who, timezone=tz)
    members = svc.team_members(session, team.code, who, include_ended=True, timezone=tz)
    areas = svc.list_areas(session, who, team=team.code, shapes=True)
    history = history_lines(session, svc.team_history(session, team.code, who, timezone=tz), svc.team_changes)
    current = {
        "name": team.name,
        "kind": team.kind or "",
        "shift": team.shift or "",
        "unit": team.unit or "",
        "grid": team.grid_code or "",
        "leader": "" if team.leader_from_members else team.leader_code or "",
    }
    return render(request, "patrol_team.html", actor=who, active="patrol", title=f"{team.name} · 巡逻队",
                  status_code=status_code, messages=list(messages), team=team, members=members, areas=areas,
                  map=svg_map(areas, svc.community_outlines(session, areas)), history=history,
                  edit={**current, **(edit or {})}, member=member or {}, today=day_of(None, tz),
                  reasons=TEAM_REASONS, member_reasons=MEMBER_REASONS, other=OTHER,
                  shift_text=shift_hours(team.shift) if team.shift else "", **_choices(session, who))  # fmt: skip


@router.get("/patrol/teams/{code}")
def team_page(request: Request, session: SessionDep, settings: SettingsDep, who: PatrolDep, code: str,
              done: DoneQuery = None) -> Response:  # fmt: skip
    """One team: its fields, members, areas on a map and history, and the forms to change it."""
    return _team_page(request, session, settings, who, code, messages=notices(done))


TEAM_LABELS = {"name": "名称", "kind": "类型", "shift": "班次", "unit": "所属单位", "grid": "服务网格",
               "leader": "队长"}  # fmt: skip


def _team_url(code: str) -> str:
    return f"/patrol/teams/{quote(code)}"


_team_write = page_write(_team_page, _team_url)  # one write on a team: back to its page, or the refusal on it

add_edit_page(router, "/patrol/teams/{code}/edit", name="team_edit", writer=PatrolDep, form_model=TeamForm,
              get=svc.get_team, update=svc.update_team, labels=TEAM_LABELS, run=_team_write,
              doc="Change a team (the version read must still be the current one).")  # fmt: skip
add_retire_page(router, "/patrol/teams/{code}/retire", name="team_retire", writer=PatrolDep,
                form_model=TeamRetireForm, retire=svc.retire_team, noun="巡逻队", run=_team_write,
                doc="Retire a team as of a day (its members leave that day; its later rosters only when told to "
                    "cancel them).")  # fmt: skip


@router.post("/patrol/teams/{code}/members")
def member_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: str,
    form: Annotated[MemberForm, Form()],
) -> Response:
    """A staff member joins the team from a day: one on record, or a volunteer entered as staff in the same step."""

    def write() -> str:
        m = svc.add_member(session, code, who, staff_code=form.staff_code, name=form.name, phone=form.phone,
                           organisation=form.organisation, role=form.role or None, since=form_day(form.day),
                           timezone=settings.timezone)  # fmt: skip
        return f"已加入：{m.role} {m.staff_name}（{m.staff_code}），自 {m.since:%Y-%m-%d} 起"

    return _team_write(request, session, settings, who, code, write, "未加入", member=form.model_dump())


@router.post("/patrol/teams/{code}/members/{staff_code}/end")
def member_end(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: str,
    staff_code: str,
    form: Annotated[MemberForm, Form()],
) -> Response:
    """A member leaves the team from a day."""

    def write() -> str:
        m = svc.end_member(
            session,
            code,
            who,
            staff_code=staff_code,
            until=form_day(form.day),
            reason=end_reason(form.reason or "离队", form.reason_other),
            timezone=settings.timezone,
        )
        return f"{m.staff_name}（{m.staff_code}）自 {m.until:%Y-%m-%d} 起离队（{m.end_reason}）"

    return _team_write(request, session, settings, who, code, write, "未离队")


# ------------------------------------------------------------------------------------------------ areas


@contextmanager
def _uploaded(upload: UploadFile | None, settings: Settings) -> Iterator[Path | None]:
    """The uploaded file on disk, or None when the form sent none."""
    if upload is None or not upload.filename:
        yield None
        return
    with save_upload(upload, settings.max_upload_mb) as path:
        yield path


def _shape(kind: str, upload: UploadFile | None, pasted: str, crs: str, settings: Settings) -> BaseGeometry | None:
    """The area or route a form gives: from the uploaded file, else from the pasted GeoJSON; None for neither."""
    crs_or_none = crs.strip() or None
    with _uploaded(upload, settings) as path:
        if path is not None:
            return (svc.area_from_file if kind == "area" else svc.route_from_file)(path, crs=crs_or_none)
    if pasted.strip():
        return (svc.area_shape if kind == "area" else svc.route_shape)(pasted, crs=crs_or_none)
    return None


def _new_area_page(request: Request, session: Session, who: Actor, *, status_code: int = 200,
                   messages: Sequence[tuple[str, str]] = (), form: Mapping[str, Any] | None = None,
                   team: str = "") -> Response:  # fmt: skip
    teams = svc.list_teams(session, who)
    return render(request, "patrol_area_new.html", actor=who, active="patrol", title="新建巡逻区域",
                  status_code=status_code, messages=list(messages), form={"team": team, **(form or {})}, teams=teams,
                  crs_choices=FILE_CRS_CHOICES, communities=svc.grid_choices(session, who, ("community",)))  # fmt: skip


@router.get("/patrol/areas/new")
def area_new_page(request: Request, session: SessionDep, who: PatrolDep,
                  team: Annotated[str, Query(max_length=40)] = "") -> Response:  # fmt: skip
    """The form to add an area: a file or pasted GeoJSON, its team and the communities leading it in turn."""
    return _new_area_page(request, session, who, team=team)


@router.post("/patrol/areas/new")
def area_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    team: Annotated[str, Form(max_length=200)] = "",
    rota_odd: Annotated[str, Form(max_length=200)] = "",
    rota_even: Annotated[str, Form(max_length=200)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    geojson: GeoJsonText = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add an area from an uploaded file (GeoJSON, GeoPackage, zipped Shapefile, KML) or pasted GeoJSON."""
    typed = {"code": code, "name": name, "team": team, "rota_odd": rota_odd, "rota_even": rota_even, "crs": crs,
             "geojson": geojson}  # fmt: skip

    def write() -> Done:
        geom = _shape("area", file, geojson, crs, settings)
        if geom is None:
            raise InvalidInput("请上传区域文件，或粘贴 GeoJSON")
        area = svc.create_area(session, who, code=code, name=name, geometry=geom, team=team or None,
                               rota=[c for c in (rota_odd, rota_even) if c.strip()],
                               timezone=settings.timezone)  # fmt: skip
        return Done(_area_url(area.code), f"已新建巡逻区域 {area.code}（{area.area_m2 / 1e4:.2f} 公顷）")

    return run_form(session, write, what="未新建", again=partial(_new_area_page, request, session, who),
                    keep={"form": typed})  # fmt: skip


def _area_page(request: Request, session: Session, settings: Settings, who: Actor, code: str, *,
               status_code: int = 200, messages: Sequence[tuple[str, str]] = (),
               edit: Mapping[str, Any] | None = None, open_form: str = "") -> Response:  # fmt: skip
    area = svc.get_area(session, code, who)
    history = history_lines(session, svc.area_history(session, area.code, who), svc.area_changes)
    rota = [*area.rota_codes, "", ""][:2]
    current = {"name": area.name or "", "team": area.team_code or "", "rota_odd": rota[0], "rota_even": rota[1]}
    return render(request, "patrol_area.html", actor=who, active="patrol", title=f"{area.name or area.code} · 巡逻区域",
                  status_code=status_code, messages=list(messages), area=area, history=history,
                  map=svg_map([area], svc.community_outlines(session, [area])), edit={**current, **(edit or {})},
                  teams=svc.list_teams(session, who), communities=svc.grid_choices(session, who, ("community",)),
                  crs_choices=FILE_CRS_CHOICES, reasons=AREA_REASONS, other=OTHER, open_form=open_form,
                  today=day_of(None, settings.timezone))  # fmt: skip


@router.get("/patrol/areas/{code}")
def area_page(request: Request, session: SessionDep, settings: SettingsDep, who: PatrolDep, code: str,
              done: DoneQuery = None) -> Response:  # fmt: skip
    """One area: its map with the planned route, fields and history, and the forms to change it."""
    return _area_page(request, session, settings, who, code, messages=notices(done))


def _area_url(code: str) -> str:
    return f"/patrol/areas/{quote(code)}"


def _area_write(request: Request, session: Session, settings: Settings, who: Actor, code: str,
                write: Callable[[], str], what: str, open_form: str = "", **keep: Any) -> Response:  # fmt: skip
    """Run one write on an area: back to its page with the notice, or with the refusal (the form left open, even
    after a stale version, which drops ``keep``)."""
    return run_form(session, write, back=_area_url(code), what=what, keep=keep,
                    again=partial(_area_page, request, session, settings, who, code, open_form=open_form))  # fmt: skip


@router.post("/patrol/areas/{code}/edit")
def area_edit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: str,
    version: Annotated[int | None, Form()] = None,
    name: Annotated[str, Form(max_length=200)] = "",
    team: Annotated[str, Form(max_length=200)] = "",
    rota_odd: Annotated[str, Form(max_length=200)] = "",
    rota_even: Annotated[str, Form(max_length=200)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    geojson: GeoJsonText = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Change an area's name, team, rota communities and (from a file or pasted GeoJSON) its extent."""
    typed = {"name": name, "team": team, "rota_odd": rota_odd, "rota_even": rota_even}

    def write() -> str:
        current = svc.get_area(session, code, who)
        wanted = {"name": name.strip(), "team": team.strip(), "rota": [c for c in (rota_odd, rota_even) if c.strip()]}
        now = {"name": current.name or "", "team": current.team_code or "", "rota": current.rota_codes}
        changes: dict[str, Any] = {k: v for k, v in wanted.items() if v != now[k]}
        geom = _shape("area", file, geojson, crs, settings)
        if geom is not None:
            changes["geometry"] = geom
        area = svc.update_area(session, code, changes, who, expected_version=version, timezone=settings.timezone)
        if not changes:
            return "未作改动"
        labels = {"name": "名称", "team": "巡逻队", "rota": "轮值社区", "geometry": "范围"}
        return f"已保存修改（{'、'.join(labels[k] for k in changes)}），现为第 {area.version} 版"

    return _area_write(request, session, settings, who, code, write, "未保存", edit=typed, open_form="edit")


@router.post("/patrol/areas/{code}/route")
def area_route(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    code: str,
    version: Annotated[int | None, Form()] = None,
    clear: Annotated[str, Form(max_length=10)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    geojson: GeoJsonText = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Set the area's planned route from a file or pasted GeoJSON, or clear it."""

    def write() -> str:
        line = None if clear else _shape("route", file, geojson, crs, settings)
        if line is None and not clear:
            raise InvalidInput("请上传路线文件，或粘贴 GeoJSON 线")
        area = svc.set_route(session, code, line, who, expected_version=version, timezone=settings.timezone)
        return "已清除计划路线" if clear else f"已设置计划路线（{area.route_m or 0:.0f} 米）"

    return _area_write(request, session, settings, who, code, write, "未设置路线", open_form="route")


add_retire_page(router, "/patrol/areas/{code}/retire", name="area_retire", writer=PatrolDep,
                form_model=RetireForm, retire=svc.retire_area, noun="巡逻区域", run=_area_write,
                doc="Retire an area as of a day.")  # fmt: skip
