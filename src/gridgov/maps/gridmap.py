"""网格图: the grid map — streets, communities and compounds (街道/社区/楼院) with labels, ledger popups,
search, and optional household, building and Party layers."""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from sqlalchemy.orm import Session

from gridgov.errors import InvalidInput
from gridgov.maps.base import LABEL_FONTS, TitleLegend, dot_swatch, fmt_count, legend_html, new_map, swatch
from gridgov.maps.basemap import Basemap, display_geoms, display_xy

__all__ = ["HOUSEHOLD_COLOURS", "LAYERS", "LEDGER_COLUMNS", "LEVELS", "grid_map", "grid_map_from_db", "grid_tiles_map"]


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

LEDGER_COLUMNS: dict[str, str] = {
    "households": "户数",
    "hh_resident": "　常住户",
    "hh_rented": "　租房户",
    "hh_vacant": "　空房户",
    "hh_shop": "　底商",
    "persons": "人数",
    "party_members": "党员数",
    "party_org": "党组织",
    "resident_reps": "居民代表数",
    "volunteers": "志愿者数",
    "buildings": "楼栋数",
    "incidents_open": "在办事件",
}
"""Ledger columns shown in a grid's popup (those present in the frame), with their Chinese names."""

HOUSEHOLD_COLOURS: dict[str, str] = {"常住户": "#2f9e44", "租房户": "#f08c00", "空房户": "#868e96", "底商": "#1971c2"}
"""The customary four colours of the household layer (以房管人): resident, rented, vacant, shop."""

LAYERS = ("households", "buildings", "party")
"""Optional layers of the grid map; ``party`` is for authorised users only (the caller checks)."""

BUILDING_STYLE: dict[str, Any] = {"color": "#495057", "weight": 1, "fillColor": "#adb5bd", "fillOpacity": 0.6}
PARTY_COLOUR = "#c92a2a"

# Below this many grids the compounds carry permanent labels; the search finds any grid at any size.
LABEL_LIMIT = 3000


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


class _GridSearch(JSCSSMixin, MacroElement):
    """Search by grid name or code (leaflet-search over an index of label points, match anywhere); a hit
    flies to the grid, outlines it in red and opens its ledger popup."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var index = L.layerGroup();
            {{ this.data|tojson }}.forEach(function (d) {
                L.circleMarker([d[2], d[3]], {radius: 0, opacity: 0, fillOpacity: 0, interactive: false,
                                              title: d[0], code: d[1]}).addTo(index);
            });
            function find(code) {
                var hit = null;
                map.eachLayer(function (l) {
                    if (!hit && l.feature && l.feature.properties && l.feature.properties.code === code
                        && l instanceof L.Polygon) { hit = l; }
                });
                return hit;
            }
            var marked = null;
            var search = new L.Control.Search({
                layer: index, propertyName: "title", initial: false, marker: false,
                position: "topleft", collapsed: false, textPlaceholder: "搜索网格名称或编码",
                textErr: "未找到", textCancel: "取消",
                moveToLocation: function (latlng, title, m) {
                    var poly = find(latlng.layer.options.code);
                    if (!poly) { m.setView(latlng, 17); return; }
                    if (marked) { marked.remove(); }
                    marked = L.polygon(poly.getLatLngs(), {color: "#e03131", weight: 4, fill: false,
                                                          interactive: false}).addTo(m);
                    m.fitBounds(poly.getBounds(), {maxZoom: 18, animate: false, padding: [40, 40]});
                    // popups are bound on the level's GeoJSON group: a propagated click opens this grid's
                    poly.fire("click", {latlng: latlng}, true);
                }
            });
            map.addControl(search);
            search.on("search:collapsed", function () { if (marked) { marked.remove(); marked = null; } });
        })();
        {% endmacro %}
        """
    )
    default_js = folium.plugins.Search.default_js
    default_css = folium.plugins.Search.default_css

    def __init__(self, data: list[tuple[str, str, float, float]]) -> None:
        super().__init__()
        self._name = "GridSearch"
        self.data = data


def _prepare(grids: gpd.GeoDataFrame, basemap: Basemap | None, simplify_m: float) -> gpd.GeoDataFrame:
    """Validate columns/levels, reproject to EPSG:4326, drop empty geometries, simplify each level as a
    coverage (shared borders stay shared), then shift for the basemap and round to 1e-6° (~0.1 m)."""
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
    geoms = np.asarray(gdf.geometry.values, dtype=object).copy()
    if simplify_m > 0:
        tolerance = simplify_m / 111_320  # metres → degrees of latitude (a degree of longitude is shorter: safe)
        for level in LEVELS:
            at = np.flatnonzero(gdf["level"].astype(str).to_numpy() == level)
            if len(at) and bool(shapely.coverage_is_valid(geoms[at])):
                geoms[at] = shapely.coverage_simplify(geoms[at], tolerance)
    return gdf.set_geometry(gpd.GeoSeries(display_geoms(geoms, basemap), index=gdf.index, crs=4326))


def _popup_html(row: dict[str, Any]) -> str:
    """A grid's popup: name, code, level, its ledger numbers and its staff with their roles."""
    cells = [("名称", html.escape(str(row["name"]))), ("编码", html.escape(str(row["code"]))),
             ("层级", LEVELS[str(row["level"])].label)]  # fmt: skip
    for col, label in LEDGER_COLUMNS.items():
        if col in row:
            value = row[col]
            cells.append((label, html.escape(str(value)) if isinstance(value, str) else fmt_count(value)))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in cells if v != "")
    staff = str(row.get("staff") or "")
    if staff:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in staff.split("；") if s)
        body += f'<tr><th>网格人员</th><td><ul class="gridgov-staff">{items}</ul></td></tr>'
    return f'<table class="gridgov-popup">{body}</table>'


def _features(gdf: gpd.GeoDataFrame, style: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection whose properties are the escaped popup and the search keys only."""
    features = []
    for row, geom in zip(gdf.to_dict("records"), gdf.geometry.values, strict=True):
        props = {"code": str(row["code"]), "name": str(row["name"]), "popup": _popup_html(row), "style": style}
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _label_html(name: str, code: str) -> str:
    return (
        f'<div class="gridgov-label-text"><span class="gridgov-label-name">{html.escape(name)}</span>'
        f'<br><span class="gridgov-label-code">{html.escape(code)}</span></div>'
    )


_POPUP_CSS = (
    "<style>.gridgov-popup th{text-align:left;padding-right:8px;white-space:nowrap;vertical-align:top}"
    ".gridgov-staff{margin:0;padding-left:1.1em}.gridgov-popup td{white-space:nowrap}"
    ".leaflet-control-search .search-input{width:190px}</style>"
)


def _cluster_icon(colour: str) -> str:
    """A marker-cluster bubble in a household kind's colour, with the count."""
    return (
        "function (cluster) { var n = cluster.getChildCount();"
        " var s = n < 100 ? 30 : (n < 1000 ? 36 : 44);"
        f" return L.divIcon({{html: '<div style=\"background:{colour};opacity:.85;color:#fff;border-radius:50%;"
        "width:' + s + 'px;height:' + s + 'px;line-height:' + s + 'px;text-align:center;font:bold 12px sans-serif;"
        "border:2px solid #fff;box-shadow:0 0 2px #333\">' + n + '</div>', className: 'gridgov-cluster',"
        " iconSize: L.point(s, s)}); }"
    )


def _add_households(m: folium.Map, households: pd.DataFrame, basemap: Basemap | None) -> list[tuple[str, str]]:
    """One clustered layer per household kind, in its customary colour; returns legend rows."""
    rows = []
    for kind, colour in HOUSEHOLD_COLOURS.items():
        part = households[households["kind"] == kind]
        if part.empty:
            continue
        x, y = display_xy(part["lon"], part["lat"], basemap)
        callback = (
            "function (row) { return L.circleMarker(new L.LatLng(row[0], row[1]), "
            f"{{radius: 4, color: '#fff', weight: 1, fillColor: '{colour}', fillOpacity: 0.95}})"
            f".bindTooltip('{kind}'); }}"
        )
        folium.plugins.FastMarkerCluster(
            np.column_stack([y, x]).tolist(), callback=callback, name=f"住户：{kind}（{len(part)}）",
            icon_create_function=_cluster_icon(colour), disableClusteringAtZoom=18, chunkedLoading=True,
        ).add_to(m)  # fmt: skip
        rows.append((dot_swatch(colour), f"{kind} {len(part)} 户"))
    return rows


def _add_buildings(m: folium.Map, buildings: gpd.GeoDataFrame, basemap: Basemap | None) -> None:
    """Building footprints (or points) with name, floors and address in the popup."""
    geoms = display_geoms(buildings.geometry.values, basemap)
    features = []
    for row, geom in zip(buildings.to_dict("records"), geoms, strict=True):
        popup = f"<b>{html.escape(str(row.get('name') or row['code']))}</b><br>编码：{html.escape(str(row['code']))}"
        if row.get("floors") is not None and row["floors"] == row["floors"]:
            popup += f"<br>层数：{fmt_count(row['floors'])}"
        if row.get("address"):
            popup += f"<br>地址：{html.escape(str(row['address']))}"
        features.append({"type": "Feature", "properties": {"popup": popup}, "geometry": shapely.geometry.mapping(geom)})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=f"楼栋（{len(features)}）",
        style_function=lambda _f: BUILDING_STYLE, marker=folium.CircleMarker(radius=4, **BUILDING_STYLE),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False), zoom_on_click=False,
    ).add_to(m)  # fmt: skip


def _add_party(
    m: folium.Map, party: pd.DataFrame, staff: pd.DataFrame | None, anchors: dict[str, tuple[float, float]],
    basemap: Basemap | None,
) -> list[tuple[str, str]]:  # fmt: skip
    """The Party layer (authorised users only): households with members, and each grid's Party roles."""
    group = folium.FeatureGroup(name=f"党建（党员户 {len(party)}）", show=True)
    if not party.empty:
        x, y = display_xy(party["lon"], party["lat"], basemap)
        data = [
            [float(b), float(a), f"党员 {int(n)} 名（{html.escape(str(t))}）"]
            for a, b, n, t in zip(x, y, party["members"], party["types"], strict=True)
        ]
        _PointLayer(data, PARTY_COLOUR, radius=5).add_to(group)
    if staff is not None and not staff.empty:
        data = []
        for code, part in staff.groupby("grid_code", sort=True):
            if code not in anchors:
                continue
            lines = "<br>".join(
                html.escape(f"{role}：{name}" + (f"（{phone}）" if phone else ""))
                for role, name, phone in zip(part["role"], part["name"], part["phone"], strict=True)
            )
            lat, lon = anchors[str(code)]
            data.append([lat, lon, f"<b>{html.escape(str(code))}</b><br>{lines}"])
        _PointLayer(data, "#ffd43b", radius=7, border=PARTY_COLOUR).add_to(group)
    group.add_to(m)
    return [(dot_swatch(PARTY_COLOUR), "党员户"), (dot_swatch("#ffd43b"), "党支部书记、党小组长、楼栋长")]


class _PointLayer(MacroElement):
    """Many circle markers with popups from one compact array (canvas), added to the parent group."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.data|tojson }}.forEach(function (d) {
            L.circleMarker([d[0], d[1]], {radius: {{ this.radius }}, color: {{ this.border|tojson }}, weight: 1,
                                          fillColor: {{ this.colour|tojson }}, fillOpacity: 0.95})
             .bindPopup(d[2]).addTo({{ this._parent.get_name() }});
        });
        {% endmacro %}
        """
    )

    def __init__(self, data: list[list[Any]], colour: str, *, radius: int, border: str = "#fff") -> None:
        super().__init__()
        self._name = "PointLayer"
        self.data, self.colour, self.radius, self.border = data, colour, radius, border


def grid_map(
    grids: gpd.GeoDataFrame,
    *,
    title: str = "网格图",
    label_min_zoom: int | None = 15,
    basemap: Basemap | None = None,
    households: pd.DataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    party: pd.DataFrame | None = None,
    party_staff: pd.DataFrame | None = None,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Build the 网格图: a layer per level (街道/社区/楼院), labels, ledger and staff popups, search, and the
    optional household (four colours), building and Party layers; no basemap unless one is given."""
    gdf = _prepare(grids, basemap, simplify_m)
    m = new_map(gdf.total_bounds, title=title, basemap=basemap)
    folium.Element(_POPUP_CSS).add_to(m.get_root().header)  # type: ignore[attr-defined]

    counts: dict[str, int] = {}
    anchors: dict[str, tuple[float, float]] = {}
    search: list[tuple[str, str, float, float]] = []
    for level, spec in LEVELS.items():
        part = gdf[gdf["level"].astype(str) == level]
        counts[level] = len(part)
        if part.empty:
            continue
        points = shapely.point_on_surface(np.asarray(part.geometry.values, dtype=object))
        for p, n, c in zip(points, part["name"], part["code"], strict=True):
            anchors[str(c)] = (round(float(p.y), 6), round(float(p.x), 6))
            search.append((f"{n} {c}", str(c), *anchors[str(c)]))
        group = folium.FeatureGroup(name=f"{spec.label}（{len(part)}）", show=True)
        style, highlight = dict(spec.style), {**spec.style, **spec.highlight}
        folium.GeoJson(
            _features(part, style),
            control=False,
            style_function=lambda _f, s=style: s,
            highlight_function=lambda _f, h=highlight: h,
            # keep a tall popup clear of the title box when it pans into view
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=420, autoPanPaddingTopLeft=[20, 80]),
            tooltip=None if level == "compound" else folium.GeoJsonTooltip(fields=["name"], labels=False),
            zoom_on_click=False,
        ).add_to(group)
        if level == "compound" and len(part) <= LABEL_LIMIT:
            data = [
                (*anchors[str(c)], _label_html(str(n), str(c))) for n, c in zip(part["name"], part["code"], strict=True)
            ]
            _LabelLayer(data, m.get_name(), label_min_zoom).add_to(group)
        group.add_to(m)

    rows = [(swatch(spec.style), f"{spec.label}（{counts.get(level, 0)}）") for level, spec in LEVELS.items()]
    if buildings is not None and not buildings.empty:
        _add_buildings(m, buildings, basemap)
        rows.append((swatch(BUILDING_STYLE), f"楼栋（{len(buildings)}）"))
    if households is not None and not households.empty:
        rows += _add_households(m, households, basemap)
    if party is not None:
        rows += _add_party(m, party, party_staff, anchors, basemap)
    _GridSearch(search).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    subtitle = basemap.label if basemap is not None and basemap.kind != "none" else None
    TitleLegend(title, legend_html("图例", rows), subtitle=subtitle).add_to(m)
    return m


VECTORGRID_JS = "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"
"""Leaflet.VectorGrid (npm, pinned): draws the MVT tiles of :func:`grid_tiles_map`."""


class _GridTiles(JSCSSMixin, MacroElement):
    """The grids as MVT tiles from the server (styled per level); a click shows the grid's ledger row,
    fetched from ``/api/ledger``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var styles = {{ this.styles|tojson }};
            var headers = {{ this.headers|tojson }};
            var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
                rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: 20, maxZoom: 20,
                getFeatureId: function (f) { return f.properties.code; },
                vectorTileLayerStyles: {grids: function (p) { return styles[p.level] || styles.compound; }}
            }).addTo(map);
            layer.on("click", function (e) {
                var p = e.layer.properties;
                var popup = L.popup({maxWidth: 420}).setLatLng(e.latlng)
                    .setContent("<b>" + p.name + "</b> " + p.code + "<br>正在读取台帐…").openOn(map);
                fetch({{ this.ledger_url|tojson }} + "?parent=" + encodeURIComponent(p.code)
                      + "&level=" + encodeURIComponent(p.level))
                    .then(function (r) { return r.json(); })
                    .then(function (j) {
                        var row = (j.rows || []).filter(function (r) { return r.code === p.code; })[0];
                        if (!row) { popup.setContent(p.name + "：无台帐"); return; }
                        var html = '<table class="gridgov-popup">';
                        Object.keys(headers).forEach(function (k) {
                            if (row[k] !== null && row[k] !== undefined && row[k] !== "") {
                                var v = String(row[k]).replace(/&/g, "&amp;").replace(/</g, "&lt;");
                                html += "<tr><th>" + headers[k] + "</th><td>" + v + "</td></tr>";
                            }
                        });
                        popup.setContent(html + "</table>");
                    })
                    .catch(function () { popup.setContent(p.name + "：台帐读取失败"); });
            });
            window.gridgovTiles = layer;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, url: str, ledger_url: str, vendor_prefix: str) -> None:
        super().__init__()
        self._name = "GridTiles"
        self.default_js = [("leaflet_vectorgrid", vendor_prefix + VECTORGRID_JS)]
        self.url, self.ledger_url = url, ledger_url
        self.styles = {level: spec.style for level, spec in LEVELS.items()}
        from gridgov.ledger.report import HEADERS

        self.headers = {k: v for k, v in HEADERS.items() if k not in ("parent_code",)}


def grid_tiles_map(
    grids: gpd.GeoDataFrame,
    *,
    tile_url: str,
    ledger_url: str = "/api/ledger",
    title: str = "网格图",
    basemap: Basemap | None = None,
    vendor_prefix: str = "/static/vendor/",
) -> folium.Map:
    """The 网格图 for very large areas: grids drawn from MVT tiles served by PostGIS instead of inline
    GeoJSON (only the search index of label points is in the page). Tiles are EPSG:4326 data, so a
    GCJ-02 basemap is refused here."""
    if basemap is not None and basemap.gcj02:
        raise InvalidInput("矢量瓦片模式不支持 GCJ-02 底图（高德）：请改用其他底图，或按社区分别出图")
    if grids.empty:
        raise InvalidInput("网格数据为空，无法绘制网格图")
    m = new_map(grids.total_bounds, title=title, basemap=basemap)
    folium.Element(_POPUP_CSS).add_to(m.get_root().header)  # type: ignore[attr-defined]
    _GridTiles(tile_url, ledger_url, vendor_prefix).add_to(m)
    points = shapely.point_on_surface(np.asarray(grids.geometry.values, dtype=object))
    search = [
        (f"{n} {c}", str(c), round(float(p.y), 6), round(float(p.x), 6))
        for p, n, c in zip(points, grids["name"], grids["code"], strict=True)
    ]
    _GridSearch(search).add_to(m)
    counts = grids["level"].astype(str).value_counts().to_dict()
    rows = [(swatch(spec.style), f"{spec.label}（{counts.get(level, 0)}）") for level, spec in LEVELS.items()]
    TitleLegend(title, legend_html("图例", rows), subtitle="矢量瓦片").add_to(m)
    return m


def grid_map_from_db(
    session: Session,
    *,
    parent_code: str | None = None,
    level: str | None = None,
    layers: Collection[str] = (),
    basemap: Basemap | None = None,
    title: str | None = None,
    tile_url: str | None = None,
    mvt_min_grids: int | None = None,
) -> folium.Map:
    """The grid map of the live grids (one parent's subtree, one level) with the asked optional layers.

    ``layers`` ⊂ :data:`LAYERS`; the caller decides whether the user may see ``party``. With ``tile_url``
    and at least ``mvt_min_grids`` grids (default: setting ``mvt_min_grids``), the grids come as vector tiles.
    """
    from gridgov.maps import data

    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        raise InvalidInput(f"未知的图层：{', '.join(unknown)}（可选 {', '.join(LAYERS)}）")
    frame = data.grid_frame(session, parent_code=parent_code, level=level)
    if frame.empty:
        raise InvalidInput("没有可绘制的网格")
    top = frame.iloc[0] if parent_code is None else frame[frame["code"] == parent_code].iloc[0]
    if mvt_min_grids is None:
        from gridgov.config import get_settings

        mvt_min_grids = get_settings().mvt_min_grids
    if tile_url is not None and len(frame) >= mvt_min_grids and not layers:
        return grid_tiles_map(frame, tile_url=tile_url, title=title or f"{top['name']} 网格图", basemap=basemap)
    return grid_map(
        frame,
        title=title or f"{top['name']} 网格图",
        basemap=basemap,
        households=data.household_points(session, parent_code) if "households" in layers else None,
        buildings=data.building_frame(session, parent_code) if "buildings" in layers else None,
        party=data.party_points(session, parent_code) if "party" in layers else None,
        party_staff=data.party_staff(session, parent_code) if "party" in layers else None,
    )
