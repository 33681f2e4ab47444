"""Maps (地图): folium maps of grids whose every asset is served locally (no CDN, no internet).

The names below are imported on first use, so importing a light module of this package (``stamps``) does not
import folium.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
_HOME = {name: "gridgov.maps.gridmap" if name == "grid_map" else "gridgov.maps.assets" for name in __all__}


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used."""
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
