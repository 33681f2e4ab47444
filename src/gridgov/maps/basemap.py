"""Map backgrounds: none by default (intranets have no tile server), or 天地图, an intranet URL, OSM or 高德.

Grids are stored in EPSG:4326 (WGS84/CGCS2000, the same to well under a metre). 高德 (Amap) tiles, and
intranet tiles declared GCJ-02, are drawn in the GCJ-02 offset frame, so every overlay drawn on them is
shifted into GCJ-02 too (:func:`display_geoms`), else it would sit 100–700 m off the streets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import shapely

from gridgov.config import MapSettings
from gridgov.errors import InvalidInput
from gridgov.geo.crs import GCJ02, from_wgs84

KINDS = ("none", "tianditu", "intranet", "osm", "amap")

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass(frozen=True)
class TileSource:
    """One tile layer of a basemap."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_native_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """A background choice: its tile layers (none for ``none``) and whether overlays must be in GCJ-02."""

    kind: str
    label: str
    layers: tuple[TileSource, ...] = ()
    gcj02: bool = False


def basemap(kind: str | None, settings: MapSettings) -> Basemap:
    """The basemap ``kind`` (default: the ``GRIDGOV_BASEMAP`` setting), checked against its settings."""
    kind = (kind or settings.basemap or "none").strip().lower()
    if kind == "none":
        return Basemap("none", "无底图")
    if kind == "tianditu":
        key = settings.tianditu_key
        if not key:
            raise InvalidInput("天地图底图需要密钥：请设置 GRIDGOV_TIANDITU_KEY")
        attribution = "© 天地图 国家地理信息公共服务平台"
        layers = tuple(
            TileSource(_TIANDITU.format(s="{s}", layer=layer, key=key), attribution, "01234567")
            for layer in ("vec", "cva")  # streets, then the Chinese annotation layer on top
        )
        return Basemap("tianditu", "天地图", layers)
    if kind == "intranet":
        url = settings.basemap_url
        if not url or not all(p in url for p in ("{z}", "{x}", "{y}")):
            raise InvalidInput("内网底图需要瓦片地址模板（含 {z}/{x}/{y}）：请设置 GRIDGOV_BASEMAP_URL")
        return Basemap(
            "intranet", "内网底图", (TileSource(url, settings.basemap_attribution),), gcj02=settings.basemap_gcj02
        )
    if kind == "osm":
        source = TileSource("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap 贡献者", "", 19)
        return Basemap("osm", "OpenStreetMap", (source,))
    if kind == "amap":
        source = TileSource(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            "© 高德地图", "1234",
        )  # fmt: skip
        return Basemap("amap", "高德地图（GCJ-02，叠加图层已偏移）", (source,), gcj02=True)
    raise InvalidInput(f"未知的底图：{kind}（可选 {', '.join(KINDS)}）")


def add_basemap(m: folium.Map, bm: Basemap) -> None:
    """Add the basemap's tile layers to the map (nothing for ``none``); they stay out of the layer control."""
    for i, src in enumerate(bm.layers):
        folium.TileLayer(
            tiles=src.url, attr=src.attribution, name=bm.label if i == 0 else f"{bm.label} 注记",
            control=False, overlay=i > 0, max_zoom=20, max_native_zoom=src.max_native_zoom,
            subdomains=src.subdomains or "abc",
        ).add_to(m)  # fmt: skip


def display_geoms(geoms: Any, bm: Basemap | None, decimals: int = 6) -> np.ndarray:
    """EPSG:4326 geometries as drawn over ``bm``: shifted to GCJ-02 when the tiles need it, rounded (~0.1 m)."""
    arr = np.asarray(geoms, dtype=object)
    if bm is not None and bm.gcj02:
        arr = from_wgs84(arr, GCJ02)
    return shapely.transform(arr, lambda c: np.round(c, decimals))


def display_xy(lon: Any, lat: Any, bm: Basemap | None, decimals: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates as drawn over ``bm`` (GCJ-02 shift when needed), rounded."""
    pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    xy = shapely.get_coordinates(display_geoms(pts, bm, decimals))
    return xy[:, 0], xy[:, 1]
