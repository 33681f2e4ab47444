"""网格图: the grid map — streets, communities and compounds (街道/社区/楼院) with labels and ledger popups."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from gridgov.errors import InvalidInput

__all__ = ["LEVELS", "LEDGER_COLUMNS", "grid_map"]

LABEL_FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"WenQuanYi Micro Hei", "SimHei", sans-serif'
)


@dataclass(frozen=True)
class LevelStyle:
    """How one grid level is drawn."""

    label: str
    style: dict[str, Any]
    highlight: dict[str, Any]


LEVELS: dict[str, LevelStyle] = {
    "street": LevelStyle(
        "街道",
        {"color": "#212529", "weight": 4, "opacity": 0.9, "fill": False},
        {"weight": 6},
    ),
    "community": LevelStyle(
        "社区",
        # an almost invisible fill keeps the inside clickable (popup) on the canvas renderer
        {"color": "#1864ab", "weight": 2.5, "opacity": 0.9, "fill": True, "fillColor": "#1864ab", "fillOpacity": 0.03},
        {"weight": 4, "fillOpacity": 0.08},
    ),
    "compound": LevelStyle(
        "楼院",
        {"color": "#2b8a3e", "weight": 1, "opacity": 1.0, "fill": True, "fillColor": "#8ce99a", "fillOpacity": 0.45},
        {"weight": 2.5, "fillOpacity": 0.7},
    ),
}
"""Draw order is bottom to top: streets, communities, compounds."""

LEDGER_COLUMNS: dict[str, str] = {"households": "户数", "persons": "人数", "party_members": "党员数"}
"""Optional numeric ledger columns and their Chinese names."""

_POPUP_FIELDS = ["name", "code", "level_name", *LEDGER_COLUMNS]
_POPUP_ALIASES = ["名称", "编码", "层级", *LEDGER_COLUMNS.values()]


class _LabelLayer(MacroElement):
    """Permanent HTML labels (DivIcon markers) added to the parent FeatureGroup; hidden below a zoom."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .gridgov-label { background: none; border: none; }
            .gridgov-label-text {
                position: absolute; transform: translate(-50%, -50%);
                white-space: nowrap; text-align: center; pointer-events: none;
                font: 12px/1.25 {{ this.fonts }}; color: #1b4332;
                text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff;
            }
            .gridgov-label-code { font-size: 10px; color: #495057; }
            .gridgov-hide-labels .gridgov-label { display: none; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var map = {{ this.map_name }};
            {{ this.data|tojson }}.forEach(function (d) {
                L.marker([d[0], d[1]], {
                    icon: L.divIcon({className: "gridgov-label", html: d[2], iconSize: null}),
                    interactive: false, keyboard: false
                }).addTo(group);
            });
            var minZoom = {{ this.min_zoom|tojson }};
            function update() {
                var hide = minZoom !== null && map.getZoom() < minZoom;
                L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(), "gridgov-hide-labels");
            }
            map.on("zoomend", update);
            update();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: list[tuple[float, float, str]], map_name: str, min_zoom: int | None) -> None:
        super().__init__()
        self._name = "GridLabels"
        self.data = data
        self.map_name = map_name
        self.min_zoom = min_zoom
        self.fonts = LABEL_FONTS


class _TitleLegend(MacroElement):
    """Title centred at the top, legend control, metric scale bar; all stay visible in full screen."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .gridgov-title {
                position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 1000;
                padding: 6px 16px; background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font: bold 18px/1.4 {{ this.fonts }};
                color: #212529; pointer-events: none; white-space: nowrap;
            }
            .gridgov-legend {
                padding: 8px 12px; background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font: 13px/1.6 {{ this.fonts }}; color: #212529;
            }
            .gridgov-legend-title { font-weight: bold; margin-bottom: 2px; }
            .gridgov-legend-row { display: flex; align-items: center; gap: 8px; }
            .gridgov-swatch { display: inline-block; width: 26px; height: 14px; box-sizing: border-box; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var title = L.DomUtil.create("div", "gridgov-title", map.getContainer());
            title.innerHTML = {{ this.title_html|tojson }};
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "gridgov-legend");
                div.innerHTML = {{ this.legend_html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            L.control.scale({position: "bottomleft", metric: true, imperial: false, maxWidth: 150}).addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, counts: dict[str, int]) -> None:
        super().__init__()
        self._name = "GridTitleLegend"
        self.fonts = LABEL_FONTS
        self.title_html = html.escape(title)
        rows = []
        for level, spec in LEVELS.items():
            s = spec.style
            fill = s["fillColor"] if s.get("fill") and s.get("fillOpacity", 0) >= 0.1 else "transparent"
            swatch = (
                f'<span class="gridgov-swatch" style="border:{max(1.0, s["weight"]):g}px solid {s["color"]};'
                f'background:{fill}"></span>'
            )
            rows.append(
                f'<div class="gridgov-legend-row">{swatch}<span>{spec.label}（{counts.get(level, 0)}）</span></div>'
            )
        self.legend_html = '<div class="gridgov-legend-title">图例</div>' + "".join(rows)


def _fmt_count(value: Any) -> str:
    """A ledger number for display; missing values become '—'."""
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if math.isnan(f):
        return "—"
    return str(int(round(f))) if abs(f - round(f)) < 1e-9 else f"{f:g}"


def _prepare(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate input columns/levels, reproject to EPSG:4326, drop empty geometries, round to 6 decimals."""
    if not isinstance(grids, gpd.GeoDataFrame):
        raise InvalidInput("网格数据必须是 GeoDataFrame")
    missing = [c for c in ("code", "name", "level") if c not in grids.columns]
    if missing:
        raise InvalidInput(f"网格数据缺少字段：{', '.join(missing)}", details={"missing": missing})
    bad = sorted({str(v) for v in grids["level"].unique()} - set(LEVELS))
    if bad:
        raise InvalidInput(
            f"未知的网格层级：{', '.join(bad)}（应为 street / community / compound）", details={"levels": bad}
        )
    gdf = grids
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        raise InvalidInput("网格数据为空，无法绘制网格图")
    geoms = shapely.transform(np.asarray(gdf.geometry.values, dtype=object), lambda c: np.round(c, 6))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=4326))


def _features(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection with display-ready (escaped, formatted) popup properties only."""
    features = []
    for row, geom in zip(gdf.itertuples(index=False), gdf.geometry.values, strict=True):
        props: dict[str, Any] = {
            "name": html.escape(str(row.name)),
            "code": html.escape(str(row.code)),
            "level_name": LEVELS[str(row.level)].label,
        }
        for col in LEDGER_COLUMNS:
            props[col] = _fmt_count(getattr(row, col, None))
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _label_html(name: str, code: str) -> str:
    return (
        f'<div class="gridgov-label-text"><span class="gridgov-label-name">{html.escape(name)}</span>'
        f'<br><span class="gridgov-label-code">{html.escape(code)}</span></div>'
    )


def grid_map(grids: gpd.GeoDataFrame, *, title: str = "网格图", label_min_zoom: int | None = 15) -> folium.Map:
    """Build the 网格图: one layer per level (街道/社区/楼院), compound labels, ledger popups; no basemap."""
    gdf = _prepare(grids)
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # a metric-only scale bar is added by _TitleLegend
        # with tiles=None folium drops max_zoom; Leaflet needs a map maxZoom (plugins such as MarkerCluster)
        maxZoom=20,
    )
    m.get_root().title = title  # type: ignore[attr-defined]

    counts: dict[str, int] = {}
    for level, spec in LEVELS.items():
        part = gdf[gdf["level"].astype(str) == level]
        counts[level] = len(part)
        if part.empty:
            continue
        group = folium.FeatureGroup(name=spec.label, show=True)
        style, highlight = dict(spec.style), {**spec.style, **spec.highlight}
        folium.GeoJson(
            _features(part),
            name=spec.label,
            control=False,
            style_function=lambda _f, s=style: s,
            highlight_function=lambda _f, h=highlight: h,
            popup=folium.GeoJsonPopup(fields=_POPUP_FIELDS, aliases=_POPUP_ALIASES, labels=True),
            tooltip=None if level == "compound" else folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        if level == "compound":
            points = shapely.point_on_surface(np.asarray(part.geometry.values, dtype=object))
            data = [
                (round(float(p.y), 6), round(float(p.x), 6), _label_html(str(n), str(c)))
                for p, n, c in zip(points, part["name"], part["code"], strict=True)
            ]
            _LabelLayer(data, m.get_name(), label_min_zoom).add_to(group)
        group.add_to(m)

    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    folium.plugins.Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization="cn",
    ).add_to(m)
    _TitleLegend(title, counts).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(24, 24), max_zoom=18)
    return m
