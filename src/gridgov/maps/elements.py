"""Page elements shared by the maps (title and legend, markers, search, tiles, filters); their JavaScript and
CSS live in ``templates/`` and are rendered by Jinja through folium's Template."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import folium.plugins
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

__all__ = [
    "LABEL_FONTS",
    "VECTORGRID_JS",
    "CircleMarkers",
    "DivMarkers",
    "GridSearch",
    "GridTiles",
    "HeatCategoryFilter",
    "RankedList",
    "Stylesheet",
    "TitleLegend",
    "ZoomClass",
    "js_function",
    "macro_template",
]

LABEL_FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"WenQuanYi Micro Hei", "SimHei", sans-serif'
)
"""CSS font stack for every text on a map (Noto CJK is what the set-up command installs)."""

VECTORGRID_JS = "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"
"""Leaflet.VectorGrid (npm, pinned): draws the MVT tiles of the grid map's tile mode."""


@cache
def _source(name: str) -> str:
    """The text of ``templates/<name>`` (package data, so an installed wheel finds it)."""
    return (resources.files("gridgov.maps") / "templates" / name).read_text(encoding="utf-8")


@cache
def macro_template(*, css: str | None = None, js: str | None = None) -> Template:
    """A MacroElement template: ``css`` becomes the header's <style>, ``js`` the script (both Jinja, ``this``)."""
    parts = []
    if css is not None:
        parts.append("{% macro header(this, kwargs) %}<style>\n" + _source(css) + "</style>{% endmacro %}")
    if js is not None:
        parts.append("{% macro script(this, kwargs) %}\n" + _source(js) + "{% endmacro %}")
    return Template("\n".join(parts))


def js_function(name: str, **params: Any) -> str:
    """A JavaScript function from ``templates/<name>`` rendered with ``params`` (for folium's callback options)."""
    return Template(_source(name)).render(**params).strip()


class TitleLegend(MacroElement):
    """Title centred at the top, a legend control, a metric scale bar; all stay visible in full screen."""

    _template = macro_template(css="title_legend.css", js="title_legend.js")

    def __init__(self, title: str, legend_html: str, subtitle: str | None = None) -> None:
        super().__init__()
        self._name = "GridTitleLegend"
        self.fonts = LABEL_FONTS
        self.title_html = html.escape(title) + (f"<br><small>{html.escape(subtitle)}</small>" if subtitle else "")
        self.legend_html = legend_html


class Stylesheet(MacroElement):
    """A stylesheet from ``templates/<name>`` in the page header (``fonts`` is the map font stack)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = "Stylesheet"
        self._template = macro_template(css=name)
        self.fonts = LABEL_FONTS


class ZoomClass(MacroElement):
    """Sets ``class_name`` on the map container while the zoom is below ``min_zoom`` (never when None)."""

    _template = macro_template(js="zoom_class.js")

    def __init__(self, class_name: str, min_zoom: int | None) -> None:
        super().__init__()
        self._name = "ZoomClass"
        self.class_name, self.min_zoom = class_name, min_zoom


class DivMarkers(MacroElement):
    """HTML markers (DivIcons: labels, badges, arrows) from one compact array, added to the parent layer.

    Each row is ``(lat, lon, html)`` or ``(lat, lon, html, tooltip)``; a row with a tooltip is interactive.
    With ``shape``, every marker shares that HTML and the row's third value replaces ``{0}`` in it.
    """

    _template = macro_template(js="div_markers.js")

    def __init__(
        self, data: Sequence[Sequence[Any]], class_name: str, size: tuple[int, int] | None = None,
        shape: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self._name = "DivMarkers"
        self.data = [list(d) for d in data]
        self.class_name = class_name
        self.size = list(size) if size else None
        self.html = shape


class CircleMarkers(MacroElement):
    """Many circle markers with popups from one compact array (canvas), added to the parent group."""

    _template = macro_template(js="circle_markers.js")

    def __init__(self, data: list[list[Any]], colour: str, *, radius: int, border: str = "#fff") -> None:
        super().__init__()
        self._name = "CircleMarkers"
        self.data, self.colour, self.radius, self.border = data, colour, radius, border


class RankedList(MacroElement):
    """A list beside the map (``rows``: dicts with name, code, pct, tip, bbox [minx, miny, maxx, maxy] and
    ``duty`` to mark a row), in order; clicking a row fits the map to its box."""

    _template = macro_template(css="ranked_list.css", js="ranked_list.js")

    def __init__(self, title: str, rows: list[dict[str, Any]], note: str = "") -> None:
        super().__init__()
        self._name = "RankedList"
        self.fonts = LABEL_FONTS
        self.title, self.rows, self.note = title, rows, note


class GridSearch(JSCSSMixin, MacroElement):
    """Search by grid name or code (leaflet-search over an index of label points, match anywhere); a hit
    flies to the grid, outlines it in red and opens its ledger popup."""

    _template = macro_template(js="grid_search.js")
    default_js = folium.plugins.Search.default_js
    default_css = folium.plugins.Search.default_css

    def __init__(self, data: list[tuple[str, str, float, float]]) -> None:
        super().__init__()
        self._name = "GridSearch"
        self.data = data


class GridTiles(JSCSSMixin, MacroElement):
    """The grids as MVT tiles from the server (styled per level); a click shows the grid's ledger row,
    fetched from ``ledger_url`` (whose staff column lists public roles only)."""

    _template = macro_template(js="grid_tiles.js")

    def __init__(
        self, url: str, ledger_url: str, vendor_prefix: str, *, styles: Mapping[str, Mapping[str, Any]],
        headers: Mapping[str, str],
    ) -> None:  # fmt: skip
        super().__init__()
        self._name = "GridTiles"
        self.default_js = [("leaflet_vectorgrid", vendor_prefix + VECTORGRID_JS)]
        self.url, self.ledger_url = url, ledger_url
        self.styles, self.headers = dict(styles), dict(headers)


class HeatCategoryFilter(MacroElement):
    """A「事件类别」select (Leaflet control) swapping the HeatMapWithTime layer's per-frame data."""

    _template = macro_template(css="category_filter.css", js="category_filter.js")

    def __init__(self, map_name: str, layer_name: str, categories: list[str], cats: list[list[int]]) -> None:
        super().__init__()
        self._name = "IncidentCategoryFilter"
        self.map_name = map_name
        self.layer_name = layer_name
        self.categories = categories
        self.cats = cats
        self.fonts = LABEL_FONTS
