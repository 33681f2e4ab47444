"""Scaffolding shared by every gridgov map: the folium map with its tools, legend swatches and number formatting
(the title and legend element is :class:`gridgov.maps.elements.TitleLegend`)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import folium
import folium.plugins

from gridgov.maps.basemap import Basemap, add_basemap


def swatch(style: dict[str, Any]) -> str:
    """A legend swatch for a polygon style (border colour/width, fill when visible)."""
    fill = style.get("fillColor", style.get("color")) if style.get("fill", True) else "transparent"
    if style.get("fillOpacity", 0.2) < 0.1:
        fill = "transparent"
    return (
        f'<span class="gridgov-swatch" style="border:{max(1.0, float(style.get("weight", 1))):g}px solid '
        f'{style.get("color", "#333")};background:{fill}"></span>'
    )


def line_swatch(color: str, *, dash: bool = False, weight: float = 3) -> str:
    """A legend swatch for a line (solid or dashed)."""
    kind = "dashed" if dash else "solid"
    return f'<span class="gridgov-swatch" style="height:0;border-top:{weight:g}px {kind} {color}"></span>'


def dot_swatch(color: str) -> str:
    """A legend swatch for a point symbol."""
    return (
        f'<span class="gridgov-swatch" style="width:12px;height:12px;border-radius:50%;background:{color};'
        'border:1px solid #fff;box-shadow:0 0 1px #333"></span>'
    )


def legend_html(title: str, rows: Iterable[tuple[str, str]]) -> str:
    """Legend HTML: a bold title and rows of (swatch HTML, label text)."""
    body = "".join(f'<div class="gridgov-legend-row">{sw}<span>{html.escape(label)}</span></div>' for sw, label in rows)
    return f'<div class="gridgov-legend-title">{html.escape(title)}</div>{body}'


def fmt_count(value: Any) -> str:
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


def new_map(
    bounds: Iterable[float], *, title: str, basemap: Basemap | None = None, max_fit_zoom: int = 18
) -> folium.Map:
    """A canvas-rendered map fitted to ``bounds`` (minx, miny, maxx, maxy in display coordinates), no tiles
    unless a basemap is given, with full screen and measuring tools (Chinese)."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=15,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # a metric-only scale bar comes with TitleLegend
        # with tiles=None folium drops max_zoom; Leaflet needs a map maxZoom (plugins such as MarkerCluster)
        maxZoom=20,
    )
    m.get_root().title = title  # type: ignore[attr-defined]
    if basemap is not None:
        add_basemap(m, basemap)
    folium.plugins.Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
        localization="cn",
    ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(24, 24), max_zoom=max_fit_zoom)
    return m
