"""网格图: the grid map — streets, communities and compounds (街道/社区/楼院) with labels, ledger popups,
search, and optional household, building and Party layers."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from sqlalchemy.orm import Session

from gridgov.config import MapSettings, defaults
from gridgov.errors import InvalidInput
from gridgov.ledger.report import DEFAULT_PARTY_RULES
from gridgov.maps import gridmap_data as data
from gridgov.maps.base import fmt_count, legend_html, new_map, swatch
from gridgov.maps.basemap import Basemap, display_geoms
from gridgov.maps.elements import (
    LABEL_FONTS,
    DivMarkers,
    GridSearch,
    GridTiles,
    Stylesheet,
    TitleLegend,
    macro_template,
)
from gridgov.maps.gridmap_layers import BUILDING_STYLE, HOUSEHOLD_COLOURS, add_buildings, add_households, add_party
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import HOUSEHOLD_KINDS

__all__ = [
    "HOUSEHOLD_COLOURS", "LABEL_PADDING_PX", "LAYERS", "LEDGER_COLUMNS", "LEVELS", "grid_map", "grid_map_from_db",
    "grid_tiles_map",
]


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
    **{k: f"　{kind}" for k, kind in zip(("hh_resident", "hh_rented", "hh_vacant", "hh_shop"), HOUSEHOLD_KINDS,
                                         strict=True)},
    "persons": "人数",
    "party_members": "党员数",
    "party_org": "党组织",
    "resident_reps": "居民代表数",
    "volunteers": "志愿者数",
    "buildings": "楼栋数",
    "incidents_open": "在办事件",
}
"""Ledger columns shown in a grid's popup (those present in the frame), with their Chinese names."""

LAYERS = ("households", "buildings", "party")
"""Optional layers of the grid map; ``party`` is for authorised users only (the caller checks)."""

# Below this many grids of a level (communities, compounds) they carry labels; the search finds any grid at any size.
LABEL_LIMIT = 3000

# From this zoom on, compound labels take precedence over community labels where they collide (the street view
# names its communities first; zoomed in, each compound's own name matters more).
COMPOUNDS_LEAD_FROM_ZOOM = 17

LABEL_PADDING_PX = 2
"""Screen pixels kept clear around each shown label (two shown labels are at least twice this apart)."""


# One grid's public ledger row (the API route ``/api/ledger/grid/{code}``): the tile map's popups.
LEDGER_ROW_URL = "/api/ledger/grid/"

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


class GridLabels(MacroElement):
    """The grid labels' style, and a script that shows only labels which overlap no label of higher priority on
    screen (communities first at the street's zooms, larger grids first), again after every move."""

    _template = macro_template(css="grid_labels.css", js="label_collision.js")

    def __init__(
        self, compound_min_zoom: int | None, community_lead_below: int | None, padding: int = LABEL_PADDING_PX
    ) -> None:
        super().__init__()
        self._name = "GridLabels"
        self.fonts = LABEL_FONTS
        self.compound_min_zoom, self.community_lead_below = compound_min_zoom, community_lead_below
        self.padding = padding


def _label_html(level: str, name: str, code: str, rank: int) -> str:
    """A grid's label: a community's name, or a compound's name over its code; ``rank`` orders the placement."""
    if level == "community":
        return f'<div class="gridgov-community-label-text" data-rank="{rank}">{html.escape(name)}</div>'
    return (
        f'<div class="gridgov-label-text" data-rank="{rank}"><span class="gridgov-label-name">{html.escape(name)}'
        f'</span><br><span class="gridgov-label-code">{html.escape(code)}</span></div>'
    )


def grid_label_markers(level: str, names: Sequence[str], codes: Sequence[str], geoms: np.ndarray) -> DivMarkers:
    """One level's labels at a point inside each grid, ranked by area for :class:`GridLabels` (which shows only
    the labels that overlap none of higher rank); any map with labelled grids uses these two."""
    points = shapely.point_on_surface(geoms)
    labels = [
        (round(float(p.y), 6), round(float(p.x), 6), _label_html(level, str(n), str(c), int(r)))
        for p, n, c, r in zip(points, names, codes, _area_ranks(geoms), strict=True)
    ]
    return DivMarkers(labels, f"gridgov-label gridgov-label-{level}")


def _area_ranks(geoms: np.ndarray) -> np.ndarray:
    """Each geometry's place when sorted by area, largest first (ties keep their order)."""
    order = np.argsort(-shapely.area(geoms), kind="stable")
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(len(order))
    return ranks


def grid_map(
    grids: gpd.GeoDataFrame,
    *,
    title: str = "网格图",
    label_min_zoom: int | None = 15,
    basemap: Basemap | None = None,
    households: pd.DataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    party: data.PartyLayer | None = None,
    simplify_m: float = 0.5,
) -> folium.Map:
    """Build the 网格图: a layer per level (街道/社区/楼院), labels, ledger and staff popups, search, and the
    optional household (four colours), building and Party layers; no basemap unless one is given (the caller
    decides whether the reader may see ``party``: it holds names).

    Community and compound labels never overlap on screen: one that would is hidden until zooming in makes room;
    compound labels also stay hidden below ``label_min_zoom`` (None: at every zoom)."""
    gdf = _prepare(grids, basemap, simplify_m)
    m = new_map(gdf.total_bounds, title=title, basemap=basemap)
    Stylesheet("grid_popup.css").add_to(m)

    counts: dict[str, int] = {}
    anchors: dict[str, tuple[float, float]] = {}
    shapes: dict[str, Any] = {}  # the display outlines by code (where the Party layer labels organisations)
    search: list[tuple[str, str, float, float]] = []
    labelled = False
    for level, spec in LEVELS.items():
        part = gdf[gdf["level"].astype(str) == level]
        counts[level] = len(part)
        if part.empty:
            continue
        geoms = np.asarray(part.geometry.values, dtype=object)
        points = shapely.point_on_surface(geoms)
        for p, n, c, g in zip(points, part["name"], part["code"], geoms, strict=True):
            anchors[str(c)] = (round(float(p.y), 6), round(float(p.x), 6))
            shapes[str(c)] = g
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
        if level != "street" and len(part) <= LABEL_LIMIT:
            grid_label_markers(level, part["name"].astype(str), part["code"].astype(str), geoms).add_to(group)
            labelled = True
        group.add_to(m)

    rows = [(swatch(spec.style), f"{spec.label}（{counts.get(level, 0)}）") for level, spec in LEVELS.items()]
    if buildings is not None and not buildings.empty:
        add_buildings(m, buildings, basemap)
        rows.append((swatch(BUILDING_STYLE), f"楼栋（{len(buildings)}）"))
    if households is not None and not households.empty:
        rows += add_households(m, households, basemap)
    if party is not None:
        party_rows, party_labels = add_party(m, party, anchors, shapes, basemap)
        rows += party_rows
        labelled = labelled or party_labels
    if labelled:
        GridLabels(label_min_zoom, COMPOUNDS_LEAD_FROM_ZOOM).add_to(m)
    GridSearch(search).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    subtitle = basemap.label if basemap is not None and basemap.kind != "none" else None
    TitleLegend(title, legend_html("图例", rows), subtitle=subtitle).add_to(m)
    return m




def _tiles_map(
    index: data.GridIndex, *, tile_url: str, ledger_url: str, title: str, basemap: Basemap | None,
    vendor_prefix: str,
) -> folium.Map:  # fmt: skip
    """The vector-tile 网格图 from its search index: the page holds label points only, never an outline."""
    if basemap is not None and basemap.gcj02:
        raise InvalidInput("矢量瓦片模式不支持 GCJ-02 底图（高德）：请改用其他底图，或按社区分别出图")
    m = new_map(index.bounds, title=title, basemap=basemap)
    Stylesheet("grid_popup.css").add_to(m)
    from gridgov.ledger.report import HEADERS

    headers = {k: v for k, v in HEADERS.items() if k not in ("parent_code",)}
    styles = {level: spec.style for level, spec in LEVELS.items()}
    GridTiles(tile_url, ledger_url, vendor_prefix, styles=styles, headers=headers).add_to(m)
    pts = index.points
    search = [
        (f"{n} {c}", str(c), round(float(lat), 6), round(float(lon), 6))
        for n, c, lat, lon in zip(pts["name"], pts["code"], pts["lat"], pts["lon"], strict=True)
    ]
    GridSearch(search).add_to(m)
    counts = pts["level"].astype(str).value_counts().to_dict()
    rows = [(swatch(spec.style), f"{spec.label}（{counts.get(level, 0)}）") for level, spec in LEVELS.items()]
    TitleLegend(title, legend_html("图例", rows), subtitle="矢量瓦片").add_to(m)
    return m


def grid_tiles_map(
    grids: gpd.GeoDataFrame,
    *,
    tile_url: str,
    ledger_url: str = LEDGER_ROW_URL,
    title: str = "网格图",
    basemap: Basemap | None = None,
    vendor_prefix: str = "/static/vendor/",
) -> folium.Map:
    """The 网格图 for very large areas: grids drawn from MVT tiles served by PostGIS instead of inline
    GeoJSON (only the search index of label points is in the page). Tiles are EPSG:4326 data, so a
    GCJ-02 basemap is refused here."""
    if grids.empty:
        raise InvalidInput("网格数据为空，无法绘制网格图")
    points = shapely.point_on_surface(np.asarray(grids.geometry.values, dtype=object))
    frame = pd.DataFrame({"code": grids["code"].to_numpy(), "name": grids["name"].to_numpy(),
                          "level": grids["level"].to_numpy(), "lon": shapely.get_x(points),
                          "lat": shapely.get_y(points)})  # fmt: skip
    bounds = tuple(float(v) for v in grids.total_bounds)
    index = data.GridIndex(frame, (bounds[0], bounds[1], bounds[2], bounds[3]))
    return _tiles_map(index, tile_url=tile_url, ledger_url=ledger_url, title=title, basemap=basemap,
                      vendor_prefix=vendor_prefix)  # fmt: skip


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
    as_of: dt.datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    party_rules: PartyRules = DEFAULT_PARTY_RULES,
) -> folium.Map:
    """The grid map of the live grids (one parent's subtree, one level) with the asked optional layers; or, with
    ``as_of``, of the grids, counts, posts and points in force at that moment (always drawn whole, no tiles).

    ``layers`` ⊂ :data:`LAYERS`; the caller decides whether the user may see ``party``. With ``tile_url``
    and at least ``mvt_min_grids`` grids (default: setting ``mvt_min_grids``), the grids come as vector tiles:
    then only the grids' count, names and label points are read, no outline and no ledger.
    """
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        raise InvalidInput(f"未知的图层：{', '.join(unknown)}（可选 {', '.join(LAYERS)}）")
    count = data.grid_count(session, parent_code=parent_code, level=level, as_of=as_of)
    if not count.grids:
        raise InvalidInput("没有可绘制的网格" + (f"（{as_of:%Y-%m-%d %H:%M} 时尚无网格）" if as_of else ""))
    title = title or f"{count.top_name} 网格图" + (f"（{as_of:%Y-%m-%d}）" if as_of else "")
    if tile_url is not None and not layers and as_of is None:
        if mvt_min_grids is None:
            mvt_min_grids = defaults(MapSettings).mvt_min_grids
        if count.grids >= mvt_min_grids:
            index = data.grid_index(session, parent_code=parent_code, level=level)
            return _tiles_map(index, tile_url=tile_url, ledger_url=LEDGER_ROW_URL, title=title, basemap=basemap,
                              vendor_prefix="/static/vendor/")  # fmt: skip
    return grid_map(
        data.grid_frame(session, parent_code=parent_code, level=level, as_of=as_of, timezone=timezone,
                        party_rules=party_rules),
        title=title,
        basemap=basemap,
        households=data.household_points(session, parent_code, as_of) if "households" in layers else None,
        buildings=data.building_frame(session, parent_code, as_of) if "buildings" in layers else None,
        party=data.party_layer(session, parent_code, as_of, timezone) if "party" in layers else None,
    )
