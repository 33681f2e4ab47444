"""Coordinate reference systems: what gridgov accepts, conversion to EPSG:4326, metric projections.

Accepted: EPSG:4326 (WGS84), EPSG:4490 (CGCS2000), the CGCS2000 Gauss-Krüger projections
EPSG:4491–4554 (6° and 3° zones, with or without the zone prefix), and ``gcj02`` — the offset
coordinates of Amap/Tencent pickers, converted with prcoords (its iterative inverse, sub-centimetre).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import prcoords
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from gridgov.errors import InvalidInput

GCJ02 = "gcj02"
ACCEPTED_EPSG = frozenset({4326, 4490, *range(4491, 4555)})
ACCEPTED_TEXT = "EPSG:4326、EPSG:4490（CGCS2000）、EPSG:4491–4554（CGCS2000 高斯-克吕格投影）或 gcj02（高德/腾讯坐标）"
# What the forms offer, as (form value, label). Coordinates typed or in a table: "" is WGS84.
POINT_CRS_CHOICES = (("", "WGS84（GPS、天地图，默认）"), ("EPSG:4490", "CGCS2000（国家 2000 经纬度）"),
                     (GCJ02, "gcj02（高德、腾讯地图坐标）"))  # fmt: skip
# An uploaded geometry file: "" keeps the CRS the file declares.
FILE_CRS_CHOICES = (("", "按文件声明（未声明则为 WGS84 经纬度）"), (GCJ02, "gcj02（高德、腾讯地图）"),
                    ("EPSG:4326", "WGS84 经纬度（GPS、天地图）"), ("EPSG:4490", "CGCS2000 经纬度"))  # fmt: skip


def parse_crs(value: Any) -> CRS | str:
    """An accepted CRS from user input (``EPSG:4490``, ``4490``, a pyproj CRS, or ``gcj02``)."""
    if isinstance(value, str) and value.strip().lower() in {GCJ02, "gcj-02", "gcj"}:
        return GCJ02
    try:
        crs = value if isinstance(value, CRS) else CRS.from_user_input(value)
    except (CRSError, TypeError) as exc:
        raise InvalidInput(f"无法识别坐标系：{value}。可用：{ACCEPTED_TEXT}") from exc
    epsg = crs.to_epsg(min_confidence=70)
    if epsg not in ACCEPTED_EPSG:
        raise InvalidInput(f"不支持的坐标系：{crs.name}（EPSG:{epsg}）。可用：{ACCEPTED_TEXT}")
    return crs


def _per_point(fn: Any) -> Any:
    """A shapely.transform callback applying a prcoords (lat, lon) function to each (lon, lat) row."""

    def run(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        for i, (lon, lat) in enumerate(coords):
            c = fn(prcoords.Coords(lat, lon))
            out[i] = (c.lon, c.lat)
        return out

    return run


_gcj_to_wgs = _per_point(lambda c: prcoords.gcj_wgs_bored(c, check_china=False))
_wgs_to_gcj = _per_point(lambda c: prcoords.wgs_gcj(c, check_china=False))


def to_wgs84(geoms: Any, crs: CRS | str) -> np.ndarray:
    """Geometries (array-like) from ``crs`` to EPSG:4326 lon/lat."""
    arr = np.asarray(geoms, dtype=object)
    if crs == GCJ02:
        return np.asarray(shapely.transform(arr, _gcj_to_wgs), dtype=object)
    assert isinstance(crs, CRS)
    if crs.to_epsg() == 4326:
        return arr
    tr = Transformer.from_crs(crs, 4326, always_xy=True)
    return np.asarray(shapely.transform(arr, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))))


def from_wgs84(geoms: Any, crs: CRS | str) -> np.ndarray:
    """Geometries from EPSG:4326 to ``crs`` (inverse of :func:`to_wgs84`)."""
    arr = np.asarray(geoms, dtype=object)
    if crs == GCJ02:
        return np.asarray(shapely.transform(arr, _wgs_to_gcj), dtype=object)
    assert isinstance(crs, CRS)
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    return np.asarray(shapely.transform(arr, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))))


def metric_epsg(lon: float) -> int:
    """The CGCS2000 3-degree Gauss-Krüger projection (central meridian form) for a longitude in China."""
    cm = int(round(lon / 3.0)) * 3
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


class MetricFrame:
    """Forward/back transforms between EPSG:4326 and a local metric CRS chosen for an area."""

    def __init__(self, lon: float) -> None:
        self.epsg = metric_epsg(lon)
        self._fwd = Transformer.from_crs(4326, self.epsg, always_xy=True)
        self._inv = Transformer.from_crs(self.epsg, 4326, always_xy=True)

    @classmethod
    def for_geoms(cls, geoms: Any) -> MetricFrame:
        """A frame centred on the given geometries' bounds."""
        x0, _, x1, _ = shapely.total_bounds(np.asarray(geoms, dtype=object))
        return cls((x0 + x1) / 2 if np.isfinite(x0) else 108.0)

    def to_m(self, geoms: Any) -> Any:
        """EPSG:4326 → metres."""
        return shapely.transform(geoms, lambda xy: np.column_stack(self._fwd.transform(xy[:, 0], xy[:, 1])))

    def to_ll(self, geoms: Any) -> Any:
        """Metres → EPSG:4326."""
        return shapely.transform(geoms, lambda xy: np.column_stack(self._inv.transform(xy[:, 0], xy[:, 1])))


def lonlat_of(geom_m: BaseGeometry, frame: MetricFrame) -> list[float]:
    """A point on a metric geometry, as [lon, lat] rounded to 7 decimals."""
    p = frame.to_ll(shapely.point_on_surface(geom_m) if geom_m.geom_type.endswith("Polygon") else geom_m.centroid)
    return [round(p.x, 7), round(p.y, 7)]
