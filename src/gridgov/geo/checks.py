"""Coordinate and geometry checks with Chinese messages (used by every import and write)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gridgov.errors import InvalidInput

# Mainland China plus a margin; used only to recognise swapped lon/lat.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


def coordinate_problem(lon: float, lat: float) -> str | None:
    """Why (lon, lat) is unusable as WGS84 degrees, or None when it is fine."""
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return "坐标为空或非数值（NaN/Inf）"
    if CHINA_LAT[0] <= lon <= CHINA_LAT[1] and CHINA_LON[0] <= lat <= CHINA_LON[1]:
        return f"经纬度疑似颠倒（经度 {lon}，纬度 {lat}）：请交换经度和纬度"
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return f"坐标超出范围（经度 {lon}，纬度 {lat}）：不是 WGS84 经纬度，请检查坐标系"
    return None


def geometry_problem(geom: BaseGeometry) -> str | None:
    """Why a WGS84 geometry is unusable (empty, bad coordinates, invalid), or None."""
    if geom is None or geom.is_empty:
        return "几何为空"
    coords = shapely.get_coordinates(geom)
    for lon, lat in (coords.min(axis=0), coords.max(axis=0)):
        problem = coordinate_problem(float(lon), float(lat))
        if problem:
            return problem
    if not np.isfinite(coords).all():
        return "坐标为空或非数值（NaN/Inf）"
    if not geom.is_valid:
        return f"几何无效：{shapely.is_valid_reason(geom)}"
    return None


def as_multipolygon(geojson: dict[str, Any] | BaseGeometry) -> MultiPolygon:
    """A valid WGS84 MultiPolygon from GeoJSON or shapely, or ``InvalidInput`` with the reason."""
    try:
        geom = geojson if isinstance(geojson, BaseGeometry) else shape(geojson)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed GeoJSON
        raise InvalidInput(f"无法解析几何：{exc}") from exc
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise InvalidInput(f"几何类型应为面（Polygon/MultiPolygon），实际为 {geom.geom_type}")
    problem = geometry_problem(geom)
    if problem:
        raise InvalidInput(problem)
    return geom
