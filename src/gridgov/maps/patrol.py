"""巡逻路线图: one night's patrol tracks by team and shift, with direction, time spent per grid, the planned
routes, the patrol areas, the leaf grids nobody patrolled that night, the late and absent teams of the roster,
and that date's daytime inspections (日巡查) as a layer of their own."""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import folium
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from gridgov.config import PatrolSettings
from gridgov.db.models import SHIFTS
from gridgov.geo.crs import MetricFrame
from gridgov.grids.service import GridRecord
from gridgov.maps.arrows import ARROW_SPACING_M, arrow_marks
from gridgov.maps.base import dot_swatch, legend_html, line_swatch, new_map, swatch
from gridgov.maps.basemap import Basemap, display_geoms, display_xy
from gridgov.maps.elements import DivMarkers, Stylesheet, TitleLegend, ZoomClass
from gridgov.maps.patrol_data import DayTrack, PatrolNight, Team, Track, check_inputs, load_night
from gridgov.maps.patrol_popups import UNVISITED_TEXT, grid_features, km, local_time, track_popup
from gridgov.patrol.attendance import Attendance
from gridgov.patrol.shifts import night_clock
from gridgov.patrol.tracks import OutsideTrack, TrackGridStat
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import shift_hours

__all__ = ["ARROW_SPACING_M", "TEAM_COLOURS", "arrow_marks", "patrol_map"]

TEAM_COLOURS: tuple[tuple[str, str], ...] = (
    ("#339af0", "#1864ab"),  # blue
    ("#cc5de8", "#862e9c"),  # purple
    ("#40c057", "#2b8a3e"),  # green
    ("#f03e3e", "#a61e1e"),  # red
    ("#22b8cf", "#0b7285"),  # cyan
    ("#5c7cfa", "#364fc7"),  # indigo
    ("#f06595", "#a61e4d"),  # pink
    ("#94d82d", "#5c940d"),  # lime
)
"""Per team (by code order): the 上半夜 colour (solid line) and the darker 下半夜 colour (dashed line)."""

SHIFT_DASH: dict[str, str | None] = {"上半夜": None, "下半夜": "8 6"}
SHIFT_HOURS = {s: shift_hours(s) for s in SHIFTS}

ARROW_MIN_ZOOM = 14

ROUTE_COLOUR = "#495057"
VISITED_STYLE: dict[str, Any] = {
    "color": "#adb5bd", "weight": 1, "opacity": 0.9, "fill": True, "fillColor": "#dee2e6", "fillOpacity": 0.25,
}  # fmt: skip
DAY_COLOUR = "#2f9e44"  # daytime inspections: green, dotted
# How a rostered shift that went wrong is marked in the legend (出勤 is not listed).
STATUS_COLOURS = {"缺勤": "#c92a2a", "迟到": "#e8590c", "早退": "#e8590c"}
UNVISITED_STYLE: dict[str, Any] = {
    "color": "#d9480f", "weight": 2, "opacity": 1.0, "fill": True, "fillColor": "#ff922b", "fillOpacity": 0.5,
}  # fmt: skip


def team_colour(team: Team, shift: str) -> str:
    """The team's colour for a shift (上半夜 light, 下半夜 dark)."""
    return TEAM_COLOURS[team.colour_idx % len(TEAM_COLOURS)][SHIFTS.index(shift)]


def _arrow_shape(colour: str) -> str:
    """A direction arrow in ``colour``; DivMarkers puts each arrow's bearing at ``{0}``."""
    return (
        '<svg width="16" height="16" viewBox="-8 -8 16 16" style="transform:rotate({0}deg)">'
        f'<path d="M0,-7 L6,6 L0,2.5 L-6,6 Z" fill="{colour}" stroke="#fff" stroke-width="1.5" '
        'stroke-linejoin="round"/></svg>'
    )


def _latlon(geom: BaseGeometry) -> list[Any]:
    """Folium locations ([lat, lon] lists) of a (multi)line or a polygon boundary."""
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [_latlon(part) for part in shapely.get_parts(geom) if not part.is_empty]
    return [[float(y), float(x)] for x, y in shapely.get_coordinates(geom)]


def _grid_layer(name: str, data: dict[str, Any], style: dict[str, Any]) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name, show=True)
    folium.GeoJson(
        data,
        name=name,
        control=False,
        style_function=lambda _f, s=style: s,
        highlight_function=lambda _f, s=style: {**s, "weight": s["weight"] + 1.5},
        popup=folium.GeoJsonPopup(
            fields=["name", "code", "status", "minutes", "metres"],
            aliases=["网格", "编码", "当晚", "巡逻分钟", "巡逻米数"],
            localize=False,
        ),
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(group)
    return group


def _arrow_swatch(colour: str) -> str:
    return (
        '<span class="gridgov-swatch" style="text-align:center"><svg width="14" height="14" viewBox="-8 -8 16 16" '
        f'style="transform:rotate(90deg)"><path d="M0,-7 L6,6 L0,2.5 L-6,6 Z" fill="{colour}"/></svg></span>'
    )


def _badge(char: str, colour: str) -> str:
    return f'<span style="background:{colour}">{char}</span>'


def _badge_swatch(char: str, colour: str) -> str:
    return (
        f'<span class="gridgov-swatch" style="width:16px;height:16px;border-radius:50%;background:{colour};'
        f'color:#fff;font-size:10px;line-height:16px;text-align:center;font-weight:bold">{char}</span>'
    )


def _add_grids(m: folium.Map, pn: PatrolNight, basemap: Basemap | None) -> None:
    """The visited (light) and unvisited (orange, labelled) grid layers."""
    visited_disp = display_geoms([g.geom for g in pn.visited], basemap)
    unvisited_disp = display_geoms([g.geom for g in pn.unvisited], basemap)
    if pn.visited:
        name = f"已巡逻网格（{len(pn.visited)}）"
        _grid_layer(name, grid_features(pn.visited, visited_disp, pn.by_grid), VISITED_STYLE).add_to(m)
    if pn.unvisited:
        name = f"{UNVISITED_TEXT}网格（{len(pn.unvisited)}）"
        group = _grid_layer(name, grid_features(pn.unvisited, unvisited_disp, pn.by_grid), UNVISITED_STYLE)
        spots = shapely.point_on_surface(np.asarray(unvisited_disp, dtype=object))
        labels = [
            (round(float(p.y), 6), round(float(p.x), 6), f"<span>{html.escape(g.name)}<br>未巡逻</span>", None)
            for g, p in zip(pn.unvisited, spots, strict=True)
        ]
        DivMarkers(labels, "gridgov-mark-label").add_to(group)
        group.add_to(m)


def _add_areas_and_routes(m: folium.Map, teams: list[Team], basemap: Basemap | None) -> tuple[int, int]:
    """Patrol area outlines (team colour) and planned routes (dashed grey); returns how many of each."""
    areas = [(t, name, area) for t in teams for name, area, _ in t.areas]
    routes = [(t, route) for t in teams for _, _, route in t.areas if route is not None and not route.is_empty]
    if areas:
        group = folium.FeatureGroup(name="巡逻区域", show=True)
        # outlines as lines, so that the only polygons on the map are grids
        lines = display_geoms([shapely.boundary(a) for _, _, a in areas], basemap)
        for (t, name, _), line in zip(areas, lines, strict=True):
            folium.PolyLine(
                _latlon(line), tooltip=html.escape(f"{name}（{t.label}）"), color=team_colour(t, SHIFTS[1]),
                weight=2.5, opacity=0.8, className="gridgov-area",
            ).add_to(group)  # fmt: skip
        group.add_to(m)
    if routes:
        group = folium.FeatureGroup(name="计划路线", show=True)
        for (t, _), line in zip(routes, display_geoms([r for _, r in routes], basemap), strict=True):
            folium.PolyLine(
                _latlon(line), tooltip=html.escape(f"计划路线：{t.label}"), color=ROUTE_COLOUR, weight=3,
                opacity=0.85, dash_array="4 6", className="gridgov-route",
            ).add_to(group)  # fmt: skip
        group.add_to(m)
    return len(areas), len(routes)


def _add_tracks(
    m: folium.Map,
    tracks: list[Track],
    by_track: dict[int, list[TrackGridStat]],
    grids: dict[str, GridRecord],
    outside: dict[int, OutsideTrack],
    basemap: Basemap | None,
    tz: ZoneInfo,
) -> list[tuple[str, str]]:
    """One layer per team × shift: tracks with popups, direction arrows, start/end badges; legend rows."""
    if not tracks:
        return []
    frame = MetricFrame.for_geoms([k.geom for k in tracks])
    layers: dict[tuple[int, str], list[tuple[Track, BaseGeometry]]] = defaultdict(list)
    for k, disp in zip(tracks, display_geoms([k.geom for k in tracks], basemap), strict=True):
        layers[(k.team.id, k.shift)].append((k, disp))
    rows: list[tuple[str, str]] = []
    for (_, shift), items in layers.items():
        team = items[0][0].team
        colour, dash = team_colour(team, shift), SHIFT_DASH[shift]
        group = folium.FeatureGroup(name=html.escape(f"{team.label} · {shift}"), show=True)
        badges: list[tuple[float, float, str, str | None]] = []
        for k, disp in items:
            popup = track_popup(k, by_track.get(k.id, []), grids, outside.get(k.id), tz)
            flag = "（越界）" if k.id in outside else ""
            folium.PolyLine(
                _latlon(disp),
                popup=folium.Popup(popup, max_width=460, autoPanPaddingTopLeft=[50, 90]),
                tooltip=html.escape(f"{team.label} · {shift}{flag}：点击查看各网格停留时间"),
                color=colour, weight=3.5, opacity=0.9, dash_array=dash, className=f"gridgov-track gridgov-track-{k.id}",
            ).add_to(group)  # fmt: skip
            (x0, y0), (x1, y1) = shapely.get_coordinates(disp)[[0, -1]]
            label = html.escape(f"{team.label} · {shift}")
            badges += [
                (float(y0), float(x0), _badge("起", "#2b8a3e"), f"起点 {local_time(k.started_at, tz)}<br>{label}"),
                (float(y1), float(x1), _badge("终", "#c92a2a"), f"终点 {local_time(k.ended_at, tz)}<br>{label}"),
            ]
        marks = arrow_marks([k.geom for k, _ in items], frame)
        if marks:
            xs, ys = display_xy([a[0] for a in marks], [a[1] for a in marks], basemap)
            arrows = [(float(y), float(x), round(a[2])) for x, y, a in zip(xs, ys, marks, strict=True)]
            DivMarkers(arrows, "gridgov-arrow", (16, 16), shape=_arrow_shape(colour)).add_to(group)
        DivMarkers(badges, "gridgov-badge", (24, 24)).add_to(group)
        group.add_to(m)
        n_flag = sum(1 for k, _ in items if k.id in outside)
        length = km(sum(k.length_m for k, _ in items))
        rows.append(
            (
                line_swatch(colour, dash=dash is not None, weight=3.5),
                f"{team.name} {shift}：{len(items)} 条，{length}" + (f"，越界 {n_flag} 条" if n_flag else ""),
            )
        )
    return rows


def _add_day_tracks(m: folium.Map, day: list[DayTrack], basemap: Basemap | None, tz: ZoneInfo
                    ) -> list[tuple[str, str]]:  # fmt: skip
    """The date's daytime inspections as one layer (green, dotted), apart from the night's; legend rows."""
    if not day:
        return []
    group = folium.FeatureGroup(name=f"日巡查（{len(day)} 条）", show=True)
    for k, disp in zip(day, display_geoms([k.geom for k in day], basemap), strict=True):
        tip = f"日巡查：{k.walker} {local_time(k.started_at, tz)}–{local_time(k.ended_at, tz)}，{km(k.length_m)}"
        folium.PolyLine(_latlon(disp), tooltip=html.escape(tip), color=DAY_COLOUR, weight=3, opacity=0.9,
                        dash_array="2 6", className=f"gridgov-day gridgov-day-{k.id}").add_to(group)  # fmt: skip
    group.add_to(m)
    total = km(sum(k.length_m for k in day))
    return [(line_swatch(DAY_COLOUR, dash=True, weight=3), f"日巡查：{len(day)} 条，{total}")]


def _attendance_rows(duty: list[Attendance], tz: ZoneInfo) -> list[tuple[str, str]]:
    """Legend rows of the rostered shifts that went wrong (缺勤, 迟到, 早退), worst first."""
    order = {"缺勤": 0, "迟到": 1, "早退": 2}
    rows = []
    for a in sorted((a for a in duty if a.status in order), key=lambda a: (order[a.status], a.shift, a.team_code)):
        what = {"缺勤": "当晚无轨迹" if not a.tracks else "未进入巡逻区域",
                "迟到": f"{night_clock(a.first_seen, a.night, tz)} 才到",
                "早退": f"{night_clock(a.last_seen, a.night, tz)} 离开"}[a.status]  # fmt: skip
        mark = f'<span class="gridgov-status" style="background:{STATUS_COLOURS[a.status]}">{a.status}</span>'
        rows.append((mark, html.escape(f"{a.team_name} {a.shift}：{what}")))
    return rows


def _street_names(grids: Sequence[GridRecord], focus: Sequence[BaseGeometry]) -> str:
    """The street(s) the patrol took place in (all streets when none intersects), for the title."""
    streets = [g for g in grids if g.level == "street" and g.geom is not None]
    zone = shapely.union_all(np.asarray(focus, dtype=object))
    names = [g.name for g in streets if g.geom.intersects(zone)] or [g.name for g in streets]
    return "、".join(names)


def patrol_map(
    session: Session,
    *,
    night: dt.date | None = None,
    team_code: str | None = None,
    basemap: Basemap | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    rules: PatrolSettings | None = None,
) -> folium.Map:
    """Build the 巡逻路线图 of one night (default: the latest night with tracks), for one team or all; ``rules``:
    the configured grace periods of the attendance shown in the legend."""
    night, team_code = check_inputs(night, team_code)
    pn = load_night(session, night, team_code, rules=rules, timezone=timezone)
    tracks, teams = pn.tracks, pn.teams
    title = " ".join(
        p
        for p in (_street_names(pn.all_grids, [k.geom for k in tracks] + pn.areas), "巡逻路线图", pn.night.isoformat())
        if p
    )
    who = teams[0].label if team_code is not None else f"全部巡逻队（{len({k.team.id for k in tracks})} 支出勤）"
    subtitle = f"{who} · 轨迹 {len(tracks)} 条 · 总里程 {km(sum(k.length_m for k in tracks))}"
    if pn.attendance:
        counts = {s_: sum(1 for a in pn.attendance if a.status == s_) for s_ in ("出勤", "迟到", "早退", "缺勤")}
        subtitle += " · 排班 " + "、".join(f"{k_} {n}" for k_, n in counts.items() if n)
    extent = ([k.geom for k in tracks] + [k.geom for k in pn.day_tracks] + pn.areas
              + [g.geom for g in pn.visited + pn.unvisited])  # fmt: skip
    bounds = shapely.total_bounds(display_geoms(extent, basemap))
    m = new_map(bounds, title=title, basemap=basemap)
    Stylesheet("patrol.css").add_to(m)
    ZoomClass("gridgov-hide-arrows", ARROW_MIN_ZOOM).add_to(m)

    # bottom to top: grids, patrol areas and planned routes, tracks
    _add_grids(m, pn, basemap)
    n_areas, n_routes = _add_areas_and_routes(m, teams, basemap)
    track_rows = _add_tracks(m, tracks, pn.by_track, {g.code: g for g in pn.all_grids}, pn.outside, basemap,
                             ZoneInfo(timezone))

    day_rows = _add_day_tracks(m, pn.day_tracks, basemap, ZoneInfo(timezone))
    rows: list[tuple[str, str]] = [
        *_attendance_rows(pn.attendance, ZoneInfo(timezone)),
        (line_swatch("#495057", weight=3.5), f"上半夜 {SHIFT_HOURS['上半夜']}：实线"),
        (line_swatch("#212529", dash=True, weight=3.5), f"下半夜 {SHIFT_HOURS['下半夜']}：虚线、颜色较深"),
        *track_rows,
        *day_rows,
    ]
    active = {k.team.id for k in tracks}
    rows += [
        (line_swatch(team_colour(t, SHIFTS[0]), weight=3.5), f"{t.name}：当晚无轨迹")
        for t in teams
        if t.id not in active
    ]
    rows.append((_arrow_swatch("#495057"), "行进方向（箭头，放大后显示）"))
    rows.append((_badge_swatch("起", "#2b8a3e") + _badge_swatch("终", "#c92a2a"), "轨迹起点 / 终点"))
    if n_routes:
        rows.append((line_swatch(ROUTE_COLOUR, dash=True), "计划路线"))
    if n_areas:
        rows.append((line_swatch("#868e96", weight=2.5), "巡逻区域边界（颜色同巡逻队）"))
    rows += [
        (swatch(UNVISITED_STYLE), f"未巡逻网格：{len(pn.unvisited)} 个"),
        (swatch(VISITED_STYLE), f"已巡逻网格：{len(pn.visited)} 个"),
        (dot_swatch("#c92a2a"), f"越出巡逻区域的轨迹：{len(pn.outside)} 条"),
    ]
    TitleLegend(title, legend_html("图例", rows), subtitle=subtitle).add_to(m)
    # a long layer list would cover the map: fold it behind the layers button
    n_layers = sum(isinstance(c, folium.FeatureGroup) for c in m._children.values())
    folium.LayerControl(position="topright", collapsed=n_layers > 6).add_to(m)
    return m
