"""巡逻路线图: one night's patrol tracks by team and shift, with direction, time spent per grid, the planned
routes, the patrol areas, and the leaf grids nobody patrolled that night."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.tracks import OutsideTrack, TrackGridStat, track_grid_stats, tracks_outside_area
from gridgov.config import get_settings
from gridgov.db.models import SHIFTS
from gridgov.errors import InvalidInput, NotFound
from gridgov.geo.crs import MetricFrame
from gridgov.grids.service import GridRecord, leaves, list_grids
from gridgov.maps.base import (
    LABEL_FONTS,
    TitleLegend,
    dot_swatch,
    fmt_count,
    legend_html,
    line_swatch,
    new_map,
    swatch,
)
from gridgov.maps.basemap import Basemap, display_geoms, display_xy

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
SHIFT_HOURS = {"上半夜": "20:00–23:30", "下半夜": "23:30–次日 06:00"}

ARROW_SPACING_M = 200.0
"""Distance between direction arrows along a track."""
ARROW_MIN_GAP_M = 80.0
"""An arrow is dropped when one of the same layer, pointing the same way (±45°), is nearer than this:
tracks loop over the same streets many times a night, and stacked arrows would hide the lines."""
ARROW_MIN_ZOOM = 14

ROUTE_COLOUR = "#495057"
VISITED_STYLE: dict[str, Any] = {
    "color": "#adb5bd", "weight": 1, "opacity": 0.9, "fill": True, "fillColor": "#dee2e6", "fillOpacity": 0.25,
}  # fmt: skip
UNVISITED_STYLE: dict[str, Any] = {
    "color": "#d9480f", "weight": 2, "opacity": 1.0, "fill": True, "fillColor": "#ff922b", "fillOpacity": 0.5,
}  # fmt: skip
UNVISITED_TEXT = "当晚未巡逻"

_TEAMS_SQL = """
SELECT * FROM (
    SELECT t.id AS team_id, t.code, t.name, dense_rank() OVER (ORDER BY t.code) - 1 AS colour_idx,
           a.name AS area_name, ST_AsBinary(a.geom) AS area_wkb, ST_AsBinary(a.route) AS route_wkb,
           (SELECT max(k.night) FROM patrol_track k WHERE k.team_id = t.id) AS last_night
      FROM patrol_team t
      LEFT JOIN patrol_area a ON a.team_id = t.id
) x
 WHERE CAST(:team_code AS text) IS NULL OR x.code = CAST(:team_code AS text)
 ORDER BY x.code, x.area_name
"""

_TRACKS_SQL = """
SELECT k.id, k.team_id, k.shift, k.started_at, k.ended_at, k.source,
       ST_AsBinary(k.geom) AS wkb, ST_Length(k.geom::geography)::float8 AS length_m
  FROM patrol_track k
  JOIN patrol_team t ON t.id = k.team_id
 WHERE k.night = :night
   AND (CAST(:team_code AS text) IS NULL OR t.code = CAST(:team_code AS text))
 ORDER BY t.code, k.started_at, k.id
"""


@dataclass
class _Team:
    id: int
    code: str
    name: str
    colour_idx: int
    last_night: dt.date | None
    areas: list[tuple[str, BaseGeometry, BaseGeometry | None]]

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）"

    def colour(self, shift: str) -> str:
        return TEAM_COLOURS[self.colour_idx % len(TEAM_COLOURS)][SHIFTS.index(shift)]


@dataclass(frozen=True)
class _Track:
    id: int
    team: _Team
    shift: str
    started_at: dt.datetime
    ended_at: dt.datetime
    source: str | None
    geom: BaseGeometry
    length_m: float


def _wkb(value: Any) -> BaseGeometry | None:
    return None if value is None else shapely.from_wkb(bytes(value))


def _check_inputs(night: Any, team_code: Any) -> tuple[dt.date | None, str | None]:
    """The night as a date and the team code stripped; anything else is InvalidInput."""
    if isinstance(night, dt.datetime):
        night = night.date()
    if night is not None and not isinstance(night, dt.date):
        raise InvalidInput(f"日期无效：{night}（应为 YYYY-MM-DD）")
    if team_code is not None:
        if not isinstance(team_code, str) or not team_code.strip():
            raise InvalidInput("巡逻队编号不能为空")
        team_code = team_code.strip()
    return night, team_code


def _load_teams(session: Session, team_code: str | None) -> list[_Team]:
    """The teams (one, or all) with their areas, planned routes and latest night with tracks: one query."""
    teams: dict[int, _Team] = {}
    for r in session.execute(text(_TEAMS_SQL), {"team_code": team_code}).all():
        team = teams.setdefault(
            int(r.team_id), _Team(int(r.team_id), r.code, r.name, int(r.colour_idx), r.last_night, [])
        )
        area = _wkb(r.area_wkb)
        if area is not None and not area.is_empty:
            team.areas.append((r.area_name or f"{r.name}巡逻区域", area, _wkb(r.route_wkb)))
    if team_code is not None and not teams:
        raise NotFound(f"巡逻队不存在：{team_code}", details={"team_code": team_code})
    return list(teams.values())


def _load_tracks(session: Session, night: dt.date, team_code: str | None, teams: list[_Team]) -> list[_Track]:
    """Every track of the night (of the team), with its shift, times and length: one query."""
    by_id = {t.id: t for t in teams}
    rows = session.execute(text(_TRACKS_SQL), {"night": night, "team_code": team_code}).all()
    tracks = [
        _Track(int(r.id), by_id[int(r.team_id)], r.shift, r.started_at, r.ended_at, r.source, geom, float(r.length_m))
        for r in rows
        if (geom := _wkb(r.wkb)) is not None
    ]
    return sorted(tracks, key=lambda k: (k.team.code, SHIFTS.index(k.shift), k.started_at, k.id))


def _who(teams: list[_Team], team_code: str | None) -> str:
    return f"巡逻队 {teams[0].label}" if team_code is not None and teams else ""


def _resolve_night(night: dt.date | None, teams: list[_Team], team_code: str | None) -> dt.date:
    """The night asked for, or the latest night with tracks (of the team)."""
    if night is not None:
        return night
    nights = [t.last_night for t in teams if t.last_night is not None]
    if not nights:
        raise NotFound(
            f"{_who(teams, team_code) or '数据库中'}没有任何巡逻轨迹，无法绘制巡逻路线图",
            details={"team_code": team_code},
        )
    return max(nights)


def _leaves(grids: Sequence[GridRecord]) -> list[GridRecord]:
    """Live grids without live children that have a geometry to draw."""
    return [g for g in leaves(grids) if g.geom is not None and not g.geom.is_empty]


def _in_areas(leaves: Sequence[GridRecord], areas: Sequence[BaseGeometry]) -> list[GridRecord]:
    """Leaves with more than half their area inside the union of the patrol areas."""
    if not leaves or not areas:
        return []
    zone = shapely.union_all(np.asarray(areas, dtype=object))
    geoms = np.asarray([g.geom for g in leaves], dtype=object)
    inside = shapely.area(shapely.intersection(geoms, zone)) > 0.5 * shapely.area(geoms)
    return [g for g, ok in zip(leaves, inside, strict=True) if ok]


def _latlon(geom: BaseGeometry) -> list[Any]:
    """Folium locations ([lat, lon] lists) of a (multi)line or a polygon boundary."""
    if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection":
        return [_latlon(part) for part in shapely.get_parts(geom) if not part.is_empty]
    return [[float(y), float(x)] for x, y in shapely.get_coordinates(geom)]


def arrow_marks(
    lines: Sequence[BaseGeometry],
    frame: MetricFrame,
    spacing_m: float = ARROW_SPACING_M,
    min_gap_m: float = ARROW_MIN_GAP_M,
) -> list[tuple[float, float, float]]:
    """Direction arrows along EPSG:4326 lines: (lon, lat, bearing° clockwise from north), thinned."""
    kept: list[tuple[float, float, float]] = []
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)  # kept arrows by min_gap_m square
    for line in frame.to_m(np.asarray(list(lines), dtype=object)):
        length = float(line.length)
        if line.is_empty or length <= 0:
            continue
        d = np.arange(spacing_m / 2, length, spacing_m) if length > spacing_m / 2 else np.array([length / 2])
        # the local direction: from 5 m before to 5 m after each arrow
        p = shapely.get_coordinates(shapely.line_interpolate_point(line, d))
        a = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(d - 5.0, 0, length)))
        b = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(d + 5.0, 0, length)))
        dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
        for (x, y), deg, moved in zip(p, bearing, np.hypot(dx, dy) > 1e-6, strict=True):
            if not moved:
                continue
            cx, cy = int(x // min_gap_m), int(y // min_gap_m)
            near = (i for ox in (-1, 0, 1) for oy in (-1, 0, 1) for i in cells[(cx + ox, cy + oy)])
            if any(
                math.hypot(kept[i][0] - x, kept[i][1] - y) < min_gap_m
                and abs((kept[i][2] - deg + 180) % 360 - 180) < 45
                for i in near
            ):
                continue
            cells[(cx, cy)].append(len(kept))
            kept.append((float(x), float(y), float(deg)))
    if not kept:
        return []
    pts = frame.to_ll(shapely.points(np.asarray([(x, y) for x, y, _ in kept])))
    return [(float(p.x), float(p.y), deg) for p, (_, _, deg) in zip(pts, kept, strict=True)]


class _PatrolStyles(MacroElement):
    """CSS for the arrows, start/end badges, unvisited labels and popups; hides arrows when zoomed out."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .gridgov-arrow, .gridgov-badge, .gridgov-mark-label { background: none; border: none; }
            .gridgov-arrow svg { display: block; overflow: visible; }
            .gridgov-hide-arrows .gridgov-arrow { display: none; }
            .gridgov-badge span {
                display: flex; align-items: center; justify-content: center; width: 20px; height: 20px;
                border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 3px rgba(0, 0, 0, 0.6);
                color: #fff; font: bold 12px/1 {{ this.fonts }};
            }
            .gridgov-mark-label span {
                position: absolute; transform: translate(-50%, -50%); white-space: nowrap; text-align: center;
                font: bold 12px/1.25 {{ this.fonts }}; color: #a63c06; pointer-events: none;
                text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff;
            }
            .gridgov-track-popup { font: 13px/1.5 {{ this.fonts }}; }
            .gridgov-track-popup .gridgov-head { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
            .gridgov-track-popup .gridgov-warn { color: #c92a2a; font-weight: bold; }
            .gridgov-track-popup .gridgov-scroll { max-height: 240px; overflow-y: auto; margin-top: 6px; }
            .gridgov-track-popup table { border-collapse: collapse; width: 100%; }
            .gridgov-track-popup th, .gridgov-track-popup td { padding: 1px 6px; border-bottom: 1px solid #e9ecef; }
            .gridgov-track-popup td.num, .gridgov-track-popup th.num { text-align: right; }
            .gridgov-track-popup small { color: #868e96; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            function update() {
                var hide = map.getZoom() < {{ this.arrow_min_zoom|tojson }};
                L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(), "gridgov-hide-arrows");
            }
            map.on("zoomend", update);
            update();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, arrow_min_zoom: int = ARROW_MIN_ZOOM) -> None:
        super().__init__()
        self._name = "PatrolStyles"
        self.fonts = LABEL_FONTS
        self.arrow_min_zoom = arrow_min_zoom


class _Arrows(MacroElement):
    """Rotated SVG arrows (DOM markers, so they work with any renderer) added to the parent layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var svg = {{ this.svg|tojson }};
            {{ this.data|tojson }}.forEach(function (d) {
                L.marker([d[0], d[1]], {
                    icon: L.divIcon({className: "gridgov-arrow", html: svg.replace("ROT", d[2]),
                                     iconSize: [16, 16], iconAnchor: [8, 8]}),
                    interactive: false, keyboard: false
                }).addTo(group);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: Sequence[tuple[float, float, float]], colour: str) -> None:
        super().__init__()
        self._name = "PatrolArrows"
        self.data = list(data)
        self.svg = (
            '<svg width="16" height="16" viewBox="-8 -8 16 16" style="transform:rotate(ROTdeg)">'
            f'<path d="M0,-7 L6,6 L0,2.5 L-6,6 Z" fill="{colour}" stroke="#fff" stroke-width="1.5" '
            'stroke-linejoin="round"/></svg>'
        )


class _Badges(MacroElement):
    """DivIcon markers with HTML (start/end badges, labels), each with an optional tooltip."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            {{ this.data|tojson }}.forEach(function (d) {
                var size = {{ this.size|tojson }};
                var m = L.marker([d[0], d[1]], {
                    icon: L.divIcon({className: {{ this.class_name|tojson }}, html: d[2],
                                     iconSize: size, iconAnchor: size ? [size[0] / 2, size[1] / 2] : null}),
                    interactive: d[3] !== null, keyboard: false
                });
                if (d[3] !== null) m.bindTooltip(d[3], {direction: "top", offset: [0, -10]});
                m.addTo(group);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, data: Sequence[tuple[float, float, str, str | None]], class_name: str, size: tuple[int, int] | None
    ) -> None:
        super().__init__()
        self._name = "PatrolBadges"
        self.data = list(data)
        self.class_name = class_name
        self.size = list(size) if size else None


def _local(t: dt.datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} 小时 {minutes % 60} 分" if minutes >= 60 else f"{minutes} 分钟"


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} 公里"


def _track_popup(
    k: _Track,
    stats: Sequence[TrackGridStat],
    grids: dict[str, GridRecord],
    outside: OutsideTrack | None,
    tz: ZoneInfo,
) -> str:
    """Popup HTML: team, shift, times, length, the 越界 flag, and minutes/metres/entries per grid."""
    e = html.escape
    rows = "".join(
        f'<tr data-grid-code="{e(s.grid_code)}"><td>{e(grids[s.grid_code].name if s.grid_code in grids else "")}'
        f"<br><small>{e(s.grid_code)}</small></td>"
        f'<td class="num gridgov-min">{s.seconds_inside / 60:.1f}</td>'
        f'<td class="num">{s.length_m:.0f}</td><td class="num">{s.entries}</td></tr>'
        for s in sorted(stats, key=lambda s: (-s.seconds_inside, s.grid_code))
    )
    total_s = sum(s.seconds_inside for s in stats)
    total_m = sum(s.length_m for s in stats)
    warn = ""
    if outside is not None:
        far = f"，最远 {outside.max_distance_m:.0f} 米" if outside.max_distance_m is not None else ""
        what = "越出巡逻区域" if outside.has_area else "该队未设巡逻区域"
        where = f"区域外 {outside.outside_m:.0f} 米（{outside.share:.0%}）{far}"
        warn = f'<div class="gridgov-warn">⚠ {what}：{where}</div>'
    table = (
        '<div class="gridgov-scroll"><table><thead><tr><th>网格</th><th class="num">分钟</th>'
        f'<th class="num">米</th><th class="num">进入次数</th></tr></thead><tbody>{rows}</tbody>'
        f'<tfoot><tr><th>网格内合计</th><th class="num">{total_s / 60:.1f}</th><th class="num">{total_m:.0f}</th>'
        "<th></th></tr></tfoot></table></div>"
        if stats
        else "<div><small>本条轨迹未进入任何末级网格</small></div>"
    )
    return (
        f'<div class="gridgov-track-popup" data-track-id="{k.id}">'
        f'<div class="gridgov-head">{e(k.team.label)} · {e(k.shift)}</div>'
        f"<div>开始：{_local(k.started_at, tz)}<br>结束：{_local(k.ended_at, tz)}"
        f"（{_duration((k.ended_at - k.started_at).total_seconds())}）<br>"
        f"总里程：{_km(k.length_m)}（{k.length_m:.0f} 米）"
        + (f"<br>来源：{e(k.source)}" if k.source else "")
        + f"</div>{warn}{table}</div>"
    )


def _grid_features(
    grids: Sequence[GridRecord], geoms: Iterable[BaseGeometry], visited: dict[str, list[TrackGridStat]]
) -> dict[str, Any]:
    """GeoJSON of leaf grids with display-ready (escaped) popup properties."""
    features = []
    for g, geom in zip(grids, geoms, strict=True):
        stats = visited.get(g.code, [])
        props = {
            "name": html.escape(g.name),
            "code": html.escape(g.code),
            "visited": bool(stats),
            "status": f"已巡逻（{len({s.track_id for s in stats})} 条轨迹）" if stats else UNVISITED_TEXT,
            "minutes": f"{sum(s.seconds_inside for s in stats) / 60:.1f}",
            "metres": fmt_count(round(sum(s.length_m for s in stats))),
            "tip": html.escape(g.name) + ("" if stats else f"：{UNVISITED_TEXT}"),
        }
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


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


@dataclass(frozen=True)
class _GridState:
    """The leaf grids drawn, split into visited and not visited that night."""

    visited: list[GridRecord]
    unvisited: list[GridRecord]


def _grid_state(
    session: Session, teams: list[_Team], team_code: str | None, by_grid: dict[str, list[TrackGridStat]]
) -> tuple[_GridState, list[GridRecord]]:
    """Leaf grids in the team's patrol areas (all leaves without a team), by visit; and every live grid."""
    all_grids = list_grids(session)
    leaves = _leaves(all_grids)
    shown = _in_areas(leaves, [a for t in teams for _, a, _ in t.areas]) if team_code is not None else leaves
    return (
        _GridState([g for g in shown if g.code in by_grid], [g for g in shown if g.code not in by_grid]),
        all_grids,
    )


def _add_grids(
    m: folium.Map, state: _GridState, by_grid: dict[str, list[TrackGridStat]], basemap: Basemap | None
) -> list[BaseGeometry]:
    """The visited (light) and unvisited (orange, labelled) grid layers; returns the drawn geometries."""
    visited_disp = display_geoms([g.geom for g in state.visited], basemap)
    unvisited_disp = display_geoms([g.geom for g in state.unvisited], basemap)
    if state.visited:
        name = f"已巡逻网格（{len(state.visited)}）"
        _grid_layer(name, _grid_features(state.visited, visited_disp, by_grid), VISITED_STYLE).add_to(m)
    if state.unvisited:
        name = f"{UNVISITED_TEXT}网格（{len(state.unvisited)}）"
        group = _grid_layer(name, _grid_features(state.unvisited, unvisited_disp, by_grid), UNVISITED_STYLE)
        spots = shapely.point_on_surface(np.asarray(unvisited_disp, dtype=object))
        labels = [
            (round(float(p.y), 6), round(float(p.x), 6), f"<span>{html.escape(g.name)}<br>未巡逻</span>", None)
            for g, p in zip(state.unvisited, spots, strict=True)
        ]
        _Badges(labels, "gridgov-mark-label", None).add_to(group)
        group.add_to(m)
    return [*visited_disp, *unvisited_disp]


def _add_areas_and_routes(m: folium.Map, teams: list[_Team], basemap: Basemap | None) -> tuple[int, int]:
    """Patrol area outlines (team colour) and planned routes (dashed grey); returns how many of each."""
    areas = [(t, name, area) for t in teams for name, area, _ in t.areas]
    routes = [(t, route) for t in teams for _, _, route in t.areas if route is not None and not route.is_empty]
    if areas:
        group = folium.FeatureGroup(name="巡逻区域", show=True)
        # outlines as lines, so that the only polygons on the map are grids
        lines = display_geoms([shapely.boundary(a) for _, _, a in areas], basemap)
        for (t, name, _), line in zip(areas, lines, strict=True):
            folium.PolyLine(
                _latlon(line), tooltip=html.escape(f"{name}（{t.label}）"), color=t.colour(SHIFTS[1]),
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
    tracks: list[_Track],
    by_track: dict[int, list[TrackGridStat]],
    grids: dict[str, GridRecord],
    outside: dict[int, OutsideTrack],
    basemap: Basemap | None,
) -> list[tuple[str, str]]:
    """One layer per team × shift: tracks with popups, direction arrows, start/end badges; legend rows."""
    tz = ZoneInfo(get_settings().timezone)
    frame = MetricFrame.for_geoms([k.geom for k in tracks])
    layers: dict[tuple[int, str], list[tuple[_Track, BaseGeometry]]] = defaultdict(list)
    for k, disp in zip(tracks, display_geoms([k.geom for k in tracks], basemap), strict=True):
        layers[(k.team.id, k.shift)].append((k, disp))
    rows: list[tuple[str, str]] = []
    for (_, shift), items in layers.items():
        team = items[0][0].team
        colour, dash = team.colour(shift), SHIFT_DASH[shift]
        group = folium.FeatureGroup(name=html.escape(f"{team.label} · {shift}"), show=True)
        badges: list[tuple[float, float, str, str | None]] = []
        for k, disp in items:
            popup = _track_popup(k, by_track.get(k.id, []), grids, outside.get(k.id), tz)
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
                (float(y0), float(x0), _badge("起", "#2b8a3e"), f"起点 {_local(k.started_at, tz)}<br>{label}"),
                (float(y1), float(x1), _badge("终", "#c92a2a"), f"终点 {_local(k.ended_at, tz)}<br>{label}"),
            ]
        marks = arrow_marks([k.geom for k, _ in items], frame)
        if marks:
            xs, ys = display_xy([a[0] for a in marks], [a[1] for a in marks], basemap)
            _Arrows([(float(y), float(x), round(a[2])) for x, y, a in zip(xs, ys, marks, strict=True)], colour).add_to(
                group
            )
        _Badges(badges, "gridgov-badge", (24, 24)).add_to(group)
        group.add_to(m)
        n_flag = sum(1 for k, _ in items if k.id in outside)
        km = _km(sum(k.length_m for k, _ in items))
        rows.append(
            (
                line_swatch(colour, dash=dash is not None, weight=3.5),
                f"{team.name} {shift}：{len(items)} 条，{km}" + (f"，越界 {n_flag} 条" if n_flag else ""),
            )
        )
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
) -> folium.Map:
    """Build the 巡逻路线图 of one night (default: the latest night with tracks), for one team or all."""
    night, team_code = _check_inputs(night, team_code)
    teams = _load_teams(session, team_code)
    night = _resolve_night(night, teams, team_code)
    tracks = _load_tracks(session, night, team_code, teams)
    if not tracks:
        nights = [t.last_night for t in teams if t.last_night is not None]
        hint = f"（最近有轨迹的一晚：{max(nights).isoformat()}）" if nights else "（没有任何巡逻轨迹）"
        raise NotFound(
            f"{night.isoformat()} 当晚{_who(teams, team_code) or '所有巡逻队都'}没有巡逻轨迹，无法绘制巡逻路线图{hint}",
            details={"night": night.isoformat(), "team_code": team_code},
        )

    stats = track_grid_stats(session, date_from=night, date_to=night, team_code=team_code)
    flagged = tracks_outside_area(session, date_from=night, date_to=night, team_code=team_code)
    outside = {o.track_id: o for o in flagged}
    by_track: dict[int, list[TrackGridStat]] = defaultdict(list)
    by_grid: dict[str, list[TrackGridStat]] = defaultdict(list)
    for s in stats:
        if s.length_m > 0 or s.seconds_inside > 0:
            by_track[s.track_id].append(s)
            by_grid[s.grid_code].append(s)
    state, all_grids = _grid_state(session, teams, team_code, by_grid)

    areas = [a for t in teams for _, a, _ in t.areas]
    title = " ".join(
        p for p in (_street_names(all_grids, [k.geom for k in tracks] + areas), "巡逻路线图", night.isoformat()) if p
    )
    who = teams[0].label if team_code is not None else f"全部巡逻队（{len({k.team.id for k in tracks})} 支出勤）"
    subtitle = f"{who} · 轨迹 {len(tracks)} 条 · 总里程 {_km(sum(k.length_m for k in tracks))}"
    extent = [k.geom for k in tracks] + areas + [g.geom for g in state.visited + state.unvisited]
    bounds = shapely.total_bounds(display_geoms(extent, basemap))
    m = new_map(bounds, title=title, basemap=basemap)
    _PatrolStyles().add_to(m)

    # bottom to top: grids, patrol areas and planned routes, tracks
    _add_grids(m, state, by_grid, basemap)
    n_areas, n_routes = _add_areas_and_routes(m, teams, basemap)
    track_rows = _add_tracks(m, tracks, by_track, {g.code: g for g in all_grids}, outside, basemap)

    rows: list[tuple[str, str]] = [
        (line_swatch("#495057", weight=3.5), f"上半夜 {SHIFT_HOURS['上半夜']}：实线"),
        (line_swatch("#212529", dash=True, weight=3.5), f"下半夜 {SHIFT_HOURS['下半夜']}：虚线、颜色较深"),
        *track_rows,
    ]
    active = {k.team.id for k in tracks}
    rows += [
        (line_swatch(t.colour(SHIFTS[0]), weight=3.5), f"{t.name}：当晚无轨迹") for t in teams if t.id not in active
    ]
    rows.append((_arrow_swatch("#495057"), "行进方向（箭头，放大后显示）"))
    rows.append((_badge_swatch("起", "#2b8a3e") + _badge_swatch("终", "#c92a2a"), "轨迹起点 / 终点"))
    if n_routes:
        rows.append((line_swatch(ROUTE_COLOUR, dash=True), "计划路线"))
    if n_areas:
        rows.append((line_swatch("#868e96", weight=2.5), "巡逻区域边界（颜色同巡逻队）"))
    rows += [
        (swatch(UNVISITED_STYLE), f"未巡逻网格：{len(state.unvisited)} 个"),
        (swatch(VISITED_STYLE), f"已巡逻网格：{len(state.visited)} 个"),
        (dot_swatch("#c92a2a"), f"越出巡逻区域的轨迹：{len(outside)} 条"),
    ]
    TitleLegend(title, legend_html("图例", rows), subtitle=subtitle).add_to(m)
    # a long layer list would cover the map: fold it behind the layers button
    n_layers = sum(isinstance(c, folium.FeatureGroup) for c in m._children.values())
    folium.LayerControl(position="topright", collapsed=n_layers > 6).add_to(m)
    return m
