"""Maps (地图): folium maps of grids whose every asset is served locally (no CDN, no internet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridgov.maps.assets import (
    VENDOR_URL_PREFIX,
    OfflineAssetError,
    external_urls,
    localise,
    render_offline,
    resolve_vendor,
    save_offline,
    vendor_files,
    vendor_url,
)

if TYPE_CHECKING:
    from gridgov.maps.gridmap import grid_map

__all__ = [
    "VENDOR_URL_PREFIX",
    "OfflineAssetError",
    "external_urls",
    "grid_map",
    "localise",
    "render_offline",
    "resolve_vendor",
    "save_offline",
    "vendor_files",
    "vendor_url",
]


def __getattr__(name: str) -> Any:
    """Import the geopandas-heavy map builders only when first used."""
    if name == "grid_map":
        from gridgov.maps.gridmap import grid_map

        return grid_map
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
