"""巡逻覆盖率图: patrol coverage of the leaf grids (choropleth) with an incident heatmap over time, by category and
time of day (上半夜, 下半夜, 白天 or hours), the incident figures as layers (按期结案率, 超期) and the hotspots: grids
with many cases and little night patrol.

Only coordinates, report day and category of incidents reach the HTML, and counts per grid: never a
description, a code or anything about residents.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import folium
import folium.plugins
import numpy as np
import shapely
from branca.colormap import LinearColormap
from branca.element import MacroElement
from folium.template import Template
from sqlalchemy.orm import Session

from gridgov.config import PatrolSettings, defaults
from gridgov.errors import InvalidInput
from gridgov.grids.service import GridRecord
from gridgov.incidents import kpi
from gridgov.maps import coverage_data as data
from gridgov.maps.base import fmt_count, legend_html, line_swatch, new_map, swatch
from gridgov.maps.basemap import Basemap, display_geoms, display_xy
from gridgov.maps.coverage_data import WEEKLY_AFTER_DAYS, Heat
from gridgov.maps.elements import HeatCategoryFilter, RankedList, TitleLegend, macro_template
from gridgov.maps.gridmap import GridLabels, grid_label_markers
from gridgov.patrol.tracks import Coverage, grid_coverage
from gridgov.periods import DEFAULT_TIMEZONE, day_range
from gridgov.vocab import NIGHT_PATROL, TRACK_KINDS

__all__ = ["WEEKLY_AFTER_DAYS", "coverage_map"]

LEVEL_NAMES = {"street": "街道", "community": "社区", "compound": "楼院", "building": "楼栋"}
_LEVEL_ORDER = {lv: k for k, lv in enumerate(LEVEL_NAMES)}
COVERAGE_COLOURS = ("#d73027", "#fee08b", "#1a9850")  # red → yellow → green over 0–100 %
NO_DATA_COLOUR = "#adb5bd"
LOW_COLOUR = "#c92a2a"
HEAT_GRADIENT = {0.2: "#c6dbef", 0.45: "#6baed6", 0.7: "#3f51b5", 1.0: "#4a148c"}  # apart from the choropleth's

_OUTLINE_STYLES: dict[str, dict[str, Any]] = {
    "street": {"color": "#212529", "weight": 3, "opacity": 0.9, "fill": False},
    "community": {"color": "#1864ab", "weight": 1.5, "opacity": 0.9, "fill": False},
}
_OUTLINE_DEFAULT: dict[str, Any] = {"color": "#495057", "weight": 1, "opacity": 0.8, "fill": False}

DEFAULT_THRESHOLD = defaults(PatrolSettings).coverage_threshold  # faces pass settings.coverage_threshold


class ChineseSpeedLabel(MacroElement):
    """The time slider's speed in Chinese ("1 帧/秒"; leaflet-timedimension writes "1fps"). Added before the
    heatmap, so the control it creates already reads the patched label."""

    _template = Template(
        "{% macro header(this, kwargs) %}<style>"  # the library's 55 px fit "1fps", not "1 帧/秒"
        ".leaflet-control.leaflet-bar-timecontrol .timecontrol-speed .speed { width: 80px; }"
        "</style>{% endmacro %}"
        "{% macro script(this, kwargs) %}"
        "L.Control.TimeDimension.prototype._getDisplaySpeed = function (fps) { return fps + ' 帧/秒'; };"
        "{% endmacro %}"
    )


def _check_threshold(threshold: float | None) -> float:
    """The threshold (default: settings), a ratio in 0..1."""
    value: Any = DEFAULT_THRESHOLD if threshold is None else threshold
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"覆盖率阈值无效：{value!r}（应为 0–1 之间的数）") from None
    if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        raise InvalidInput(f"覆盖率阈值无效：{value}（应在 0–1 之间，如 0.5 表示 50%）")
    return ratio


def _heat(
    session: Session,
    leaf_ids: list[int],
    date_from: dt.date | None,
    date_to: dt.date | None,
    bm: Basemap | None,
    tz: str,
    window: kpi.TimeWindow | None = None,
) -> Heat:
    """Heatmap frames of the incidents of the leaves in the period (and the time window of the day, when given;
    one query), per day or per week."""
    rows = data.incidents(session, leaf_ids, date_from, date_to, tz, window)
    xs, ys = display_xy([r.lon for r in rows], [r.lat for r in rows], bm) if rows else (np.empty(0), np.empty(0))
    return data.heat_frames(rows, xs.tolist(), ys.tolist(), date_from, date_to, dt.datetime.now(ZoneInfo(tz)).date())


def _period_text(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """The period in Chinese for the subtitle."""
    if date_from and date_to:
        return f"{date_from:%Y-%m-%d} 至 {date_to:%Y-%m-%d}"
    if date_from:
        return f"{date_from:%Y-%m-%d} 起"
    if date_to:
        return f"截至 {date_to:%Y-%m-%d}"
    return "全部日期"


def _choropleth_features(
    leaves: list[GridRecord], geoms: np.ndarray, coverage: dict[int, Coverage], threshold: float, duty: set[int]
) -> dict[str, Any]:
    """GeoJSON of the leaves with escaped, formatted popup fields and what the style needs; ``low`` only where
    the coverage is below the threshold inside a rostered team's area (``duty``): a missed duty."""
    features = []
    for g, geom in zip(leaves, geoms, strict=True):
        c = coverage.get(g.id)
        props: dict[str, Any] = {
            "name": html.escape(g.name),
            "code": html.escape(g.code),
            "ratio_pct": f"{c.ratio * 100:.1f}" if c else "—",
            "length_km": f"{c.length_m / 1000:.2f}" if c else "—",
            "hours": f"{c.seconds / 3600:.2f}" if c else "—",
            "ratio": c.ratio if c else None,
            "low": bool(c is not None and c.ratio < threshold and g.id in duty),
        }
        features.append(
            {"type": "Feature", "id": g.code, "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    return {"type": "FeatureCollection", "features": features}


LEAST_COVERED = 10  # rows of the ranked list beside the map


def _least_covered(leaves: list[GridRecord], geoms: np.ndarray, coverage: dict[int, Coverage], duty: set[int],
                   threshold: float, with_roster: bool) -> RankedList:  # fmt: skip
    """The least-covered grids, lowest first (ties by code); those in a rostered area and below the threshold in
    red (missed duties)."""
    ranked = sorted((c.ratio, g.code, g, geom) for g, geom in zip(leaves, geoms, strict=True)
                    if (c := coverage.get(g.id)) is not None)[:LEAST_COVERED]  # fmt: skip
    rows = [
        {"name": g.name, "code": g.code, "pct": f"{ratio * 100:.0f}%",
         "duty": g.id in duty and ratio < threshold,
         "tip": f"{g.name}（{g.code}）覆盖率 {ratio * 100:.1f}%" + ("，在排班巡逻区域内" if with_roster and g.id in duty
                                                                 else ""),
         "bbox": [round(float(v), 6) for v in shapely.bounds(geom)]}
        for ratio, _, g, geom in ranked
    ]  # fmt: skip
    note = "红色：排班巡逻区域内、低于阈值" if with_roster else "红色：低于阈值（本期没有排班）"
    return RankedList(f"覆盖率最低的 {len(rows)} 个网格", rows, note)


class HotspotList(RankedList):
    """The hotspots beside the heatmap (a RankedList on the left, below the zoom buttons): grids with many cases
    and little night patrol."""

    _template = macro_template(css="ranked_list.css", js="hotspot_list.js")

    def __init__(self, title: str, rows: list[dict[str, Any]], note: str = "", position: str = "topleft") -> None:
        super().__init__(title, rows, note)
        self._name = "HotspotList"
        self.position = position


KPI_LAYERS = {"on_time": "按期结案率", "overdue": "超期事件"}
# (lowest value of the class, fill, legend text), highest class first
ON_TIME_CLASSES = ((0.9, "#1a9850", "≥ 90%"), (0.7, "#fee08b", "70%–90%"), (0.0, "#d73027", "< 70%"))
OVERDUE_CLASSES = ((3, "#bd0026", "≥ 3 起"), (1, "#fd8d3c", "1–2 起"), (0, "#f8f9fa", "0 起"))
NO_CLOSE_COLOUR = "#ced4da"


def check_kpi_layer(value: str | None) -> str | None:
    """The KPI layer asked for (on_time, overdue, or its Chinese name); None for none."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    for key, label in KPI_LAYERS.items():
        if v in (key, label):
            return key
    raise InvalidInput(f"考核图层应为 on_time（按期结案率）或 overdue（超期事件）：{value}")


def kpi_colour(kind: str, figures: kpi.Figures | None) -> str:
    """A grid's fill on a KPI layer: its on-time rate's class (grey when nothing was closed) or its overdue
    count's class."""
    if kind == "on_time":
        rate = figures.on_time_rate if figures else None
        if rate is None:
            return NO_CLOSE_COLOUR
        return next(colour for low, colour, _ in ON_TIME_CLASSES if rate >= low)
    n = figures.overdue_now if figures else 0
    return next(colour for low, colour, _ in OVERDUE_CLASSES if n >= low)


def _kpi_moment(date_to: dt.date | None, tz: str) -> dt.datetime:
    """The moment the map's figures are read at: the end of the period's last day, or now when that is later."""
    now = dt.datetime.now(dt.UTC)
    end = day_range(None, date_to, tz)[1]
    return now if end is None else min(now, end - dt.timedelta(microseconds=1))


def _kpi_layers(session: Session, m: folium.Map, leaves: list[GridRecord], geoms: np.ndarray, root_code: str | None,
                date_from: dt.date | None, date_to: dt.date | None, tz: str, shown: str | None,
                ) -> list[tuple[str, str]]:  # fmt: skip
    """The leaves coloured by 按期结案率 and by 超期 (overlays; ``shown`` is visible at first); the legend rows of
    the shown one."""
    period = kpi.Period(date_from, date_to, _kpi_moment(date_to, tz))
    rows = kpi.grid_figures(session, kpi.grid_id_of(session, root_code), period, timezone=tz, with_last_year=False)
    figs = {r.grid_id: r.figures for r in rows}
    for kind, label in KPI_LAYERS.items():
        features = []
        for g, geom in zip(leaves, geoms, strict=True):
            f = figs.get(g.id)
            rate = f.on_time_rate if f else None
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": {
                "name": html.escape(g.name), "code": html.escape(g.code), "fill": kpi_colour(kind, f),
                "rate": "—" if rate is None else f"{rate * 100:.1f}%", "closed": f.closed if f else 0,
                "overdue": f.overdue_now if f else 0, "reported": f.reported if f else 0}})  # fmt: skip
        group = folium.FeatureGroup(name=f"事件考核：{label}", show=kind == shown)
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, control=False,
            style_function=lambda ft: {"color": "#495057", "weight": 1, "opacity": 0.9,
                                       "fillColor": ft["properties"]["fill"], "fillOpacity": 0.8},
            highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.9},
            tooltip=folium.GeoJsonTooltip(fields=["name", "rate", "overdue"], aliases=["名称", "按期结案率", "超期"],
                                          labels=True),
            popup=folium.GeoJsonPopup(fields=["name", "code", "reported", "closed", "rate", "overdue"],
                                      aliases=["名称", "编码", "上报", "结案", "按期结案率", "超期（统计时点）"],
                                      labels=True),
        ).add_to(group)  # fmt: skip
        group.add_to(m)
    if shown == "on_time":
        return [*((swatch({"color": "#495057", "weight": 1, "fillColor": c, "fillOpacity": 0.8}), f"按期结案率 {t}")
                  for _, c, t in ON_TIME_CLASSES),
                (swatch({"color": "#495057", "weight": 1, "fillColor": NO_CLOSE_COLOUR, "fillOpacity": 0.8}),
                 "本期无结案")]  # fmt: skip
    if shown == "overdue":
        return [(swatch({"color": "#495057", "weight": 1, "fillColor": c, "fillOpacity": 0.8}), f"超期事件 {t}")
                for _, c, t in OVERDUE_CLASSES]  # fmt: skip
    return []


def _hotspots(session: Session, leaves: list[GridRecord], geoms: np.ndarray, date_from: dt.date | None,
              date_to: dt.date | None, window: kpi.TimeWindow | None, tz: str, night: dict[int, Coverage] | None,
              buffer_m: float | None, threshold: float) -> HotspotList:  # fmt: skip
    """The hotspot list: leaves ranked by cases (in the window) × (1 − night patrol coverage); ``night`` is the
    map's own coverage when it is every night patrol's, else it is computed for the busy leaves."""
    counts = kpi.window_counts(session, [g.id for g in leaves], date_from, date_to, window, tz)
    if night is None:
        busy = [g.id for g in leaves if counts.get(g.id, {}).get(kpi.CHOSEN)]
        night = grid_coverage(session, date_from=date_from, date_to=date_to, buffer_m=buffer_m, grid_ids=busy) \
            if busy else {}  # fmt: skip
    box = {g.id: [round(float(v), 6) for v in shapely.bounds(geom)] for g, geom in zip(leaves, geoms, strict=True)}
    rows = []
    for h in kpi.rank_hotspots(leaves, counts, night):
        cover = "无巡逻数据" if h.coverage is None else f"夜巡覆盖率 {h.coverage * 100:.0f}%"
        parts = "、".join(f"{k} {n}" for k, n in h.by_window.items())
        rows.append({"name": h.name, "code": h.code, "pct": f"{h.cases} 起", "bbox": box[h.grid_id],
                     "duty": h.coverage is None or h.coverage < threshold,
                     "tip": f"{h.name}（{h.code}）：{h.cases} 起（{parts}；最多：{h.peak}），{cover}"})  # fmt: skip
    when = f"（{window.label}）" if window else ""
    return HotspotList(f"事件多发、巡逻薄弱{when}", rows,
                       "按 事件数 ×（1 − 夜巡覆盖率）排序；红色：覆盖率低于阈值或无巡逻")  # fmt: skip


def coverage_map(
    session: Session,
    *,
    parent_code: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    threshold: float | None = None,
    team_code: str | None = None,
    basemap: Basemap | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    patrol_buffer_m: float | None = None,
    kind: str = NIGHT_PATROL,
    shift: str | None = None,
    kpi_layer: str | None = None,
) -> folium.Map:
    """Build the 巡逻覆盖率图: leaf-grid coverage choropleth, low-coverage outlines, incident heatmap by day; of
    the night patrols, or (``kind`` 日巡查) of the grid staff's daytime inspections, which no roster plans. The
    heatmap shows the cases of a time window of the day when ``shift`` names one (上半夜, 下半夜, 白天 or
    HH:MM-HH:MM); the incident figures are layers (``kpi_layer`` on_time / overdue is shown at first), and the
    hotspots are listed beside the heatmap."""
    kind = TRACK_KINDS.canonical(kind) or kind
    if kind not in TRACK_KINDS.terms:
        raise InvalidInput(f"轨迹类型应为 {' / '.join(TRACK_KINDS.terms)}：{kind}")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"日期范围无效：起始日期 {date_from} 晚于结束日期 {date_to}")
    ratio_min = _check_threshold(threshold)
    window = kpi.parse_window(shift)
    shown = check_kpi_layer(kpi_layer)
    if parent_code is not None and not parent_code.strip():
        raise InvalidInput("上级网格编码不能为空")
    team = data.team_name(session, team_code) if team_code is not None else None
    leaves, outlines, parent_name = data.area(session, parent_code.strip() if parent_code else None)
    if not leaves:
        raise InvalidInput("没有可绘制的网格")

    leaf_levels = {g.level for g in leaves}
    level = next(iter(leaf_levels)) if len(leaf_levels) == 1 else None  # one level: skip the parents' coverage
    coverage = grid_coverage(session, date_from=date_from, date_to=date_to, level=level, team_code=team_code,
                             buffer_m=patrol_buffer_m, kind=kind)  # fmt: skip
    heat = _heat(session, [g.id for g in leaves], date_from, date_to, basemap, timezone, window)
    rostered = data.rostered(session, [g.id for g in leaves], date_from, date_to, team_code) \
        if kind == NIGHT_PATROL else None
    duty = {g.id for g in leaves} if rostered is None else rostered

    leaf_geoms = display_geoms([g.geom for g in leaves], basemap)
    outline_geoms = display_geoms([g.geom for g in outlines], basemap) if outlines else np.asarray([], dtype=object)
    bounds = [float(v) for v in shapely.total_bounds(np.concatenate([leaf_geoms, outline_geoms]))]

    streets = [g.name for g in outlines if g.level == "street"]
    area_name = parent_name or (streets[0] if len(streets) == 1 else "")
    title = f"{area_name}{'巡逻' if kind == NIGHT_PATROL else '日巡查'}覆盖率图"
    low = [g for g in leaves if g.id in coverage and coverage[g.id].ratio < ratio_min and g.id in duty]
    pct = f"{ratio_min * 100:g}%"
    where = "" if rostered is None else "排班区域内"
    low_text = f"{where}覆盖率低于 {pct} 的网格：{len(low)} 个"
    subtitle = " · ".join(
        p for p in (_period_text(date_from, date_to), f"巡逻队：{team}" if team else None,
                    f"事件时段：{window.described}" if window else None, low_text) if p
    )
    m = new_map(bounds, title=title, basemap=basemap)

    cmap = LinearColormap(list(COVERAGE_COLOURS), vmin=0, vmax=100, caption="巡逻覆盖率（%）")
    cmap.width = 320

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        fill = NO_DATA_COLOUR if p["ratio"] is None else cmap(p["ratio"] * 100)[:7]
        if p["low"]:
            return {"color": LOW_COLOUR, "weight": 3.5, "dashArray": "8 5", "opacity": 1.0,
                    "fillColor": fill, "fillOpacity": 0.75}  # fmt: skip
        return {"color": "#495057", "weight": 1, "opacity": 0.9, "fillColor": fill, "fillOpacity": 0.75}

    leaf_label = "、".join(LEVEL_NAMES.get(lv, lv) for lv in sorted(leaf_levels))
    choropleth = folium.FeatureGroup(name=f"巡逻覆盖率（{leaf_label}）", show=True)
    folium.GeoJson(
        _choropleth_features(leaves, leaf_geoms, coverage, ratio_min, duty),
        control=False,
        style_function=style,
        highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.85},
        popup=folium.GeoJsonPopup(
            fields=["name", "code", "ratio_pct", "length_km", "hours"],
            aliases=["名称", "编码", "覆盖率 (%)", "巡逻里程 (km)", "巡逻时长 (h)"],
            labels=True,
        ),
        tooltip=folium.GeoJsonTooltip(fields=["name", "ratio_pct"], aliases=["名称", "覆盖率 (%)"], labels=True),
    ).add_to(choropleth)
    for lv in sorted(leaf_levels):
        part = [(g, geom) for g, geom in zip(leaves, leaf_geoms, strict=True) if g.level == lv]
        grid_label_markers(lv, [g.name for g, _ in part], [g.code for g, _ in part],
                           np.asarray([geom for _, geom in part], dtype=object)).add_to(choropleth)  # fmt: skip
    choropleth.add_to(m)
    GridLabels(None, None).add_to(m)
    _least_covered(leaves, leaf_geoms, coverage, duty, ratio_min, rostered is not None).add_to(m)
    kpi_rows = _kpi_layers(session, m, leaves, leaf_geoms, parent_code.strip() if parent_code else None, date_from,
                           date_to, timezone, shown)  # fmt: skip
    every_night = kind == NIGHT_PATROL and team_code is None
    _hotspots(session, leaves, leaf_geoms, date_from, date_to, window, timezone, coverage if every_night else None,
              patrol_buffer_m, ratio_min).add_to(m)  # fmt: skip

    outline_counts = Counter(g.level for g in outlines)
    if outlines:
        group = folium.FeatureGroup(name="网格边界", show=True)
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"level": g.level}, "geometry": shapely.geometry.mapping(geom)}
                    for g, geom in zip(outlines, outline_geoms, strict=True)
                ],
            },
            control=False,
            style_function=lambda f: _OUTLINE_STYLES.get(f["properties"]["level"], _OUTLINE_DEFAULT),
            interactive=False,  # orientation only: clicks go to the leaves below
        ).add_to(group)
        group.add_to(m)

    unit = "周" if heat.weekly else "日"
    heat_layer = folium.plugins.HeatMapWithTime(
        heat.frames,
        index=heat.labels,
        name=f"事件热力图（按{unit}{'，' + window.label if window else ''}）",
        radius=18,
        blur=0.8,
        min_opacity=0.1,
        max_opacity=0.7,
        gradient=HEAT_GRADIENT,
        position="bottomleft",
        max_speed=5,
    )
    ChineseSpeedLabel().add_to(m)
    heat_layer.add_to(m)
    HeatCategoryFilter(m.get_name(), heat_layer.get_name(), heat.categories, heat.cats).add_to(m)
    cmap.add_to(m)

    gradient = ", ".join(HEAT_GRADIENT.values())
    rows = [
        (line_swatch(LOW_COLOUR, dash=True, weight=3), low_text),
        (swatch({"color": "#495057", "weight": 1, "fillColor": NO_DATA_COLOUR, "fillOpacity": 0.75}), "无覆盖率数据")
        if len(coverage.keys() & {g.id for g in leaves}) < len(leaves)
        else None,
        *(
            (swatch(_OUTLINE_STYLES.get(lv, _OUTLINE_DEFAULT)), f"{LEVEL_NAMES.get(lv, lv)}边界（{n}）")
            for lv, n in sorted(outline_counts.items(), key=lambda kv: _LEVEL_ORDER.get(kv[0], 99))
        ),
        (
            f'<span class="gridgov-swatch" style="background:linear-gradient(90deg, {gradient})"></span>',
            f"事件热力：{fmt_count(heat.total)} 起（{len(heat.categories)} 类，按{unit}"
            f"{'，' + window.label if window else ''}）",
        ),
        *kpi_rows,
    ]
    TitleLegend(title, legend_html("图例", [r for r in rows if r is not None]), subtitle=subtitle).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m
