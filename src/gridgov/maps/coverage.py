"""巡逻覆盖率图: patrol coverage of the leaf grids (choropleth) with an incident heatmap over time, by category.

Only coordinates, report day and category of incidents reach the HTML: never a description, a code or
anything about residents.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import folium
import folium.plugins
import numpy as np
import shapely
from branca.colormap import LinearColormap
from branca.element import MacroElement
from folium.template import Template
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.tracks import Coverage, grid_coverage
from gridgov.config import get_settings
from gridgov.errors import InvalidInput, NotFound
from gridgov.grids.service import GridRecord, leaves, list_grids, subtree
from gridgov.maps.base import LABEL_FONTS, TitleLegend, fmt_count, legend_html, line_swatch, new_map, swatch
from gridgov.maps.basemap import Basemap, display_geoms, display_xy

__all__ = ["WEEKLY_AFTER_DAYS", "coverage_map"]

WEEKLY_AFTER_DAYS = 120
"""Periods longer than this many days get one heatmap frame per week instead of per day."""

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

_INCIDENTS_SQL = """
SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.category,
       CAST(i.reported_at AT TIME ZONE CAST(:tz AS text) AS date) AS day
  FROM incident i
 WHERE i.grid_id = ANY (CAST(:grid_ids AS bigint[]))
   AND (CAST(:date_from AS date) IS NULL
        OR i.reported_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE CAST(:tz AS text))
   AND (CAST(:date_to AS date) IS NULL
        OR i.reported_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE CAST(:tz AS text))
"""
"""Incidents of the selected leaves reported in [date_from, date_to] (local days); only what the map shows."""


@dataclass(frozen=True)
class _Heat:
    """Heatmap frames: labels, points [lat, lon] per frame, category index per point, category names."""

    labels: list[str]
    frames: list[list[list[float]]]
    cats: list[list[int]]
    categories: list[str]
    total: int
    weekly: bool


class _CategoryFilter(MacroElement):
    """A「事件类别」select (Leaflet control) swapping the HeatMapWithTime layer's per-frame data."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .gridgov-category { padding: 6px 10px; background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font: 13px/1.6 {{ this.fonts }}; color: #212529; }
            .gridgov-category select { font: 13px {{ this.fonts }}; margin-left: 4px; }
            .legend.leaflet-control { background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font-family: {{ this.fonts }}; }
            /* branca draws its colour bar as 500 sub-pixel rects: anti-aliasing would wash the colours out */
            .legend.leaflet-control rect { shape-rendering: crispEdges; }
            /* its caption is drawn over the bar's lower edge: move it down a little */
            .legend.leaflet-control { padding-bottom: 4px; }
            .legend.leaflet-control svg { overflow: visible; }
            .legend.leaflet-control .caption { transform: translateY(4px); }
            .leaflet-control-timecontrol.timecontrol-date { font-family: {{ this.fonts }}; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map_name }};
            var layer = {{ this.layer_name }};
            var categories = {{ this.categories|tojson }};
            var cats = {{ this.cats|tojson }};
            var all = layer.data;
            // Leaflet puts the grids' canvas at z-index 100, which would hide the heat under the fills: lift the
            // heat above it, and let clicks through to the grids' popups
            layer._baseLayer._el.style.zIndex = 200;
            layer._baseLayer._el.style.pointerEvents = "none";
            function select(k) {
                layer.data = k < 0 ? all : all.map(function (frame, t) {
                    return frame.filter(function (_p, i) { return cats[t][i] === k; });
                });
                layer.category = k;
                layer._getDataForTime(map.timeDimension.getCurrentTime());
            }
            var control = L.control({position: "topright"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "gridgov-category leaflet-control");
                var label = L.DomUtil.create("label", "", div);
                label.appendChild(document.createTextNode("事件类别："));
                var sel = L.DomUtil.create("select", "gridgov-category-select", label);
                var options = [["-1", "全部"]].concat(categories.map(function (c, k) { return [String(k), c]; }));
                options.forEach(function (o) {
                    var opt = document.createElement("option");
                    opt.value = o[0];
                    opt.textContent = o[1];
                    sel.appendChild(opt);
                });
                L.DomEvent.on(sel, "change", function () { select(parseInt(sel.value, 10)); });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, map_name: str, layer_name: str, categories: list[str], cats: list[list[int]]) -> None:
        super().__init__()
        self._name = "IncidentCategoryFilter"
        self.map_name = map_name
        self.layer_name = layer_name
        self.categories = categories
        self.cats = cats
        self.fonts = LABEL_FONTS


def _check_threshold(threshold: float | None) -> float:
    """The threshold (default: settings), a ratio in 0..1."""
    value: Any = get_settings().coverage_threshold if threshold is None else threshold
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"覆盖率阈值无效：{value!r}（应为 0–1 之间的数）") from None
    if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        raise InvalidInput(f"覆盖率阈值无效：{value}（应在 0–1 之间，如 0.5 表示 50%）")
    return ratio


def _area(session: Session, parent_code: str | None) -> tuple[list[GridRecord], list[GridRecord], str | None]:
    """Leaves (live grids without live children) under ``parent_code``, the subtree's other grids, its name."""
    grids = subtree(list_grids(session), parent_code)
    leaf = leaves(grids)
    codes = {g.code for g in leaf}
    parent_name = next(g.name for g in grids if g.code == parent_code) if parent_code is not None else None
    return leaf, [g for g in grids if g.code not in codes], parent_name


def _heat(
    session: Session,
    leaf_ids: list[int],
    date_from: dt.date | None,
    date_to: dt.date | None,
    bm: Basemap | None,
) -> _Heat:
    """Heatmap frames of the incidents of the leaves in the period (one query), per day or per week."""
    tz = get_settings().timezone
    rows = session.execute(
        text(_INCIDENTS_SQL), {"tz": tz, "grid_ids": leaf_ids, "date_from": date_from, "date_to": date_to}
    ).all()
    days = [r.day for r in rows]
    start = date_from or (min(days) if days else date_to or dt.datetime.now(ZoneInfo(tz)).date())
    end = date_to or (max(days) if days else start)
    end = max(start, end)
    weekly = (end - start).days + 1 > WEEKLY_AFTER_DAYS
    step = 7 if weekly else 1
    n = (end - start).days // step + 1
    labels = []
    for k in range(n):
        first = start + dt.timedelta(days=k * step)
        last = min(end, first + dt.timedelta(days=step - 1))
        labels.append(f"{first:%Y-%m-%d}～{last:%m-%d}" if weekly else f"{first:%Y-%m-%d}")
    counts = Counter(r.category for r in rows)
    categories = sorted(counts, key=lambda c: (-counts[c], c))
    index = {c: k for k, c in enumerate(categories)}
    frames: list[list[list[float]]] = [[] for _ in range(n)]
    cats: list[list[int]] = [[] for _ in range(n)]
    if rows:
        xs, ys = display_xy([r.lon for r in rows], [r.lat for r in rows], bm)
        for r, x, y in zip(rows, xs.tolist(), ys.tolist(), strict=True):
            t = (r.day - start).days // step
            frames[t].append([y, x])
            cats[t].append(index[r.category])
    return _Heat(labels, frames, cats, categories, len(rows), weekly)


def _period_text(date_from: dt.date | None, date_to: dt.date | None) -> str:
    """The period in Chinese for the subtitle."""
    if date_from and date_to:
        return f"{date_from:%Y-%m-%d} 至 {date_to:%Y-%m-%d}"
    if date_from:
        return f"{date_from:%Y-%m-%d} 起"
    if date_to:
        return f"截至 {date_to:%Y-%m-%d}"
    return "全部日期"


def _team_name(session: Session, team_code: str) -> str:
    """The patrol team's name, or ``NotFound``."""
    name = session.execute(text("SELECT name FROM patrol_team WHERE code = :c"), {"c": team_code}).scalar()
    if name is None:
        raise NotFound(f"巡逻队不存在：{team_code}")
    return str(name)


def _choropleth_features(
    leaves: list[GridRecord], geoms: np.ndarray, coverage: dict[int, Coverage], threshold: float
) -> dict[str, Any]:
    """GeoJSON of the leaves with escaped, formatted popup fields and what the style needs."""
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
            "low": bool(c is not None and c.ratio < threshold),
        }
        features.append(
            {"type": "Feature", "id": g.code, "properties": props, "geometry": shapely.geometry.mapping(geom)}
        )
    return {"type": "FeatureCollection", "features": features}


def coverage_map(
    session: Session,
    *,
    parent_code: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    threshold: float | None = None,
    team_code: str | None = None,
    basemap: Basemap | None = None,
) -> folium.Map:
    """Build the 巡逻覆盖率图: leaf-grid coverage choropleth, low-coverage outlines, incident heatmap by day."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"日期范围无效：起始日期 {date_from} 晚于结束日期 {date_to}")
    ratio_min = _check_threshold(threshold)
    if parent_code is not None and not parent_code.strip():
        raise InvalidInput("上级网格编码不能为空")
    team = _team_name(session, team_code) if team_code is not None else None
    leaves, outlines, parent_name = _area(session, parent_code.strip() if parent_code else None)
    if not leaves:
        raise InvalidInput("没有可绘制的网格")

    leaf_levels = {g.level for g in leaves}
    level = next(iter(leaf_levels)) if len(leaf_levels) == 1 else None  # one level: skip the parents' coverage
    coverage = grid_coverage(session, date_from=date_from, date_to=date_to, level=level, team_code=team_code)
    heat = _heat(session, [g.id for g in leaves], date_from, date_to, basemap)

    leaf_geoms = display_geoms([g.geom for g in leaves], basemap)
    outline_geoms = display_geoms([g.geom for g in outlines], basemap) if outlines else np.asarray([], dtype=object)
    bounds = [float(v) for v in shapely.total_bounds(np.concatenate([leaf_geoms, outline_geoms]))]

    streets = [g.name for g in outlines if g.level == "street"]
    area_name = parent_name or (streets[0] if len(streets) == 1 else "")
    title = f"{area_name}巡逻覆盖率图"
    low = [g for g in leaves if g.id in coverage and coverage[g.id].ratio < ratio_min]
    pct = f"{ratio_min * 100:g}%"
    low_text = f"覆盖率低于 {pct} 的网格：{len(low)} 个"
    subtitle = " · ".join(
        p for p in (_period_text(date_from, date_to), f"巡逻队：{team}" if team else None, low_text) if p
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
        _choropleth_features(leaves, leaf_geoms, coverage, ratio_min),
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
    choropleth.add_to(m)

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
        name=f"事件热力图（按{unit}）",
        radius=18,
        blur=0.8,
        min_opacity=0.1,
        max_opacity=0.7,
        gradient=HEAT_GRADIENT,
        position="bottomleft",
        max_speed=5,
    )
    heat_layer.add_to(m)
    _CategoryFilter(m.get_name(), heat_layer.get_name(), heat.categories, heat.cats).add_to(m)
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
            f"事件热力：{fmt_count(heat.total)} 起（{len(heat.categories)} 类，按{unit}）",
        ),
    ]
    TitleLegend(title, legend_html("图例", [r for r in rows if r is not None]), subtitle=subtitle).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m
