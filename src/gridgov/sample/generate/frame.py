"""The local metric frame (EPSG:4524 around an integer origin) and the sizes derived from the requested counts."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from gridgov.sample.generate.arrays import FloatArr, GeomArr, IntArr
from gridgov.sample.generate.constants import COMMUNITIES, DEFAULT_HOUSEHOLDS, OUTPUT_CRS, WORK_CRS

DEFAULT_BBOX = (108.955, 34.232, 108.985, 34.255)
DEFAULT_COMPOUNDS = 72
LARGE_SCALE_HOUSEHOLDS = 1_000_000


@functools.cache
def _transformers() -> tuple[Transformer, Transformer]:
    """(work→lon/lat, lon/lat→work) transformers, always x/y order."""
    fwd = Transformer.from_crs(WORK_CRS, OUTPUT_CRS, always_xy=True)
    inv = Transformer.from_crs(OUTPUT_CRS, WORK_CRS, always_xy=True)
    return fwd, inv


@dataclass(frozen=True)
class Frame:
    """Local metric frame: work CRS coordinates minus an integer origin."""

    x0: float
    y0: float

    def to_units(self, xy: FloatArr) -> IntArr:
        """Local metres → integer 1e-7 degree (lon, lat) units."""
        fwd, _ = _transformers()
        if len(xy) == 0:
            return np.zeros((0, 2), dtype=np.int64)
        lon, lat = fwd.transform(xy[:, 0] + self.x0, xy[:, 1] + self.y0)
        return np.rint(np.column_stack([lon, lat]) * 1e7).astype(np.int64)

    def to_lonlat(self, xy: FloatArr) -> FloatArr:
        """Local metres → lon/lat rounded to 7 decimals."""
        return self.to_units(xy) / 1e7

    def from_lonlat(self, ll: FloatArr) -> FloatArr:
        """lon/lat → local metres."""
        _, inv = _transformers()
        if len(ll) == 0:
            return np.zeros((0, 2), dtype=np.float64)
        x, y = inv.transform(ll[:, 0], ll[:, 1])
        return np.column_stack([np.asarray(x) - self.x0, np.asarray(y) - self.y0])

    def geoms_to_lonlat(self, geoms: GeomArr) -> GeomArr:
        """Transform geometries from local metres to rounded lon/lat."""
        return np.asarray(shapely.transform(geoms, self.to_lonlat), dtype=object)


@dataclass(frozen=True)
class Scale:
    """Requested and derived sizes: counts, half extent (metres), line spacing, large-scale mode."""

    households: int
    compounds: int
    communities: int
    half_w: float
    half_h: float
    spacing: float
    large: bool


def derive_scale(households: int, compounds: int | None) -> tuple[Scale, Frame]:
    """Derive sizes, extent and the local frame from the requested counts."""
    if households < 1:
        raise ValueError("households must be positive")
    n_comp = max(10, round(households * DEFAULT_COMPOUNDS / DEFAULT_HOUSEHOLDS)) if compounds is None else compounds
    if n_comp < 10:
        raise ValueError("compounds must be at least 10 (one per community)")
    if households < n_comp:
        raise ValueError("need at least one household per compound")
    n_comm = max(len(COMMUNITIES), math.ceil(n_comp / 400))
    if n_comm > 999 - 0:
        raise ValueError("too many compounds (at most ~399,000)")
    _, inv = _transformers()
    lon0, lat0, lon1, lat1 = DEFAULT_BBOX
    clon, clat = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    cx, cy = inv.transform(clon, clat)
    wx0, _ = inv.transform(lon0, clat)
    wx1, _ = inv.transform(lon1, clat)
    _, hy0 = inv.transform(clon, lat0)
    _, hy1 = inv.transform(clon, lat1)
    k = math.sqrt(n_comp / DEFAULT_COMPOUNDS)
    sc = Scale(
        households=households,
        compounds=n_comp,
        communities=n_comm,
        half_w=(wx1 - wx0) / 2 * k,
        half_h=(hy1 - hy0) / 2 * k,
        spacing=20.0 if n_comp <= 2000 else (35.0 if n_comp <= 20000 else 50.0),
        large=households > LARGE_SCALE_HOUSEHOLDS,
    )
    return sc, Frame(float(round(cx)), float(round(cy)))
