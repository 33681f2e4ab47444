"""Coordinate and geometry checks with Chinese messages (used by every import and write).

These checks need nothing but the geometry: NaN, WGS84 ranges (and a swap when only the swapped point is in
range), validity, vertices. Whether a point plausibly belongs to the street is judged against the street's own
grids by :mod:`gridgov.geo.extent`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gridgov.errors import InvalidInput
from gridgov.geo.extent import NOT_A_NUMBER, range_reason

# Vertices one grid may have (the faces pass ``settings.max_grid_vertices``); beyond it maps and checks crawl.
MAX_GRID_VERTICES = 20_000

_POLYGON_TYPES = ("Polygon", "MultiPolygon")
_UNPARSEABLE = "无法解析几何：坐标格式不正确"

# GEOS validity reasons (shapely.is_valid_reason), most specific first, with their Chinese gloss.
GEOS_ZH = (
    ("Ring Self-intersection", "环自相交"),
    ("Self-intersection", "边自相交，如“8”字形"),
    ("Too few", "点数过少"),
    ("Hole lies outside shell", "内环位于外环之外"),
    ("Holes are nested", "内环相互嵌套"),
    ("Interior is disconnected", "内部不连通"),
    ("Nested shells", "外环相互嵌套"),
    ("Duplicate Rings", "环重复"),
    ("Invalid Coordinate", "坐标无效"),
    ("Ring is not closed", "环未闭合"),
)


def explain_invalid(reason: str) -> str:
    """``几何无效：<中文>（<GEOS reason>）``: the GEOS validity message glossed in Chinese, kept for reference."""
    for en, zh in GEOS_ZH:
        if en in reason:
            return f"几何无效：{zh}（{reason}）"
    return f"几何无效（{reason}）"


def coordinate_problem(lon: float, lat: float) -> str | None:
    """Why (lon, lat) is unusable as WGS84 degrees, or None when it is fine."""
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return NOT_A_NUMBER
    if _swapped(lon, lat):
        return f"经纬度疑似颠倒（经度 {lon:.10g}，纬度 {lat:.10g}）：请交换经度和纬度"
    if not _wgs84(lon, lat):
        return range_reason(lon, lat)
    return None


def _wgs84(lon: float, lat: float) -> bool:
    return abs(lon) <= 180.0 and abs(lat) <= 90.0


def _swapped(lon: float, lat: float) -> bool:
    """True when (lon, lat) is no WGS84 coordinate but (lat, lon) is: a latitude beyond ±90 given as longitude."""
    return not _wgs84(lon, lat) and _wgs84(lat, lon)


def vertex_problem(geom: BaseGeometry, max_vertices: int | None = MAX_GRID_VERTICES) -> str | None:
    """Why a grid has too many vertices to be served and checked quickly, or None (no cap when None)."""
    if max_vertices is None:
        return None
    n = int(shapely.get_num_coordinates(geom))
    if n > max_vertices:
        return f"网格顶点过多：{n} 个（上限 {max_vertices}），请先简化边界"
    return None


def geometry_problem(geom: BaseGeometry | None, max_vertices: int | None = None) -> str | None:
    """Why a WGS84 geometry is unusable (empty, too many vertices, bad coordinates, invalid), or None."""
    if geom is None or geom.is_empty:
        return "几何为空"
    problem = vertex_problem(geom, max_vertices)
    if problem:
        return problem
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0:
        return "几何为空"
    for lon, lat in (coords.min(axis=0), coords.max(axis=0)):
        problem = coordinate_problem(float(lon), float(lat))
        if problem:
            return problem
    if not np.isfinite(coords).all():
        return "坐标为空或非数值（NaN/Inf）"
    try:
        if geom.is_valid:
            return None
        return explain_invalid(shapely.is_valid_reason(geom))
    except GEOSException:
        return _UNPARSEABLE


def _ring_problem(exc: Exception) -> str:
    """A Chinese reason for shapely's refusal to build a geometry (no Python text reaches the user)."""
    if "linearring requires at least 4 coordinates" in str(exc).lower():
        return "无法解析几何：环的点数过少（每个环至少 4 个点，首尾相同）"
    return _UNPARSEABLE


def parse_geometry(geojson: dict[str, Any] | BaseGeometry, kinds: Collection[str] = ()) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry object of one of ``kinds`` (default: Polygon, MultiPolygon),
    or ``InvalidInput`` with a Chinese reason."""
    if isinstance(geojson, BaseGeometry):
        return geojson
    if not isinstance(geojson, dict):
        raise InvalidInput("无法解析几何：应为 GeoJSON 几何对象（含 type 与 coordinates）")
    kind = geojson.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidInput("无法解析几何：缺少 type 字段")
    if kind not in (kinds or _POLYGON_TYPES):
        wanted = "、".join(kinds) if kinds else "面（Polygon/MultiPolygon）"
        raise InvalidInput(f"几何类型应为{wanted}，实际为 {kind[:40]}")
    coords = geojson.get("coordinates")
    if coords is None:
        raise InvalidInput("无法解析几何：缺少 coordinates 字段")
    if not isinstance(coords, list | tuple):
        raise InvalidInput(_UNPARSEABLE)
    if not coords:
        raise InvalidInput("几何为空")
    try:
        return shape(geojson)
    except Exception as exc:  # noqa: BLE001 - shapely/numpy raise several types for malformed coordinates
        raise InvalidInput(_ring_problem(exc)) from exc


def repaired_polygon(geom: BaseGeometry | None, max_vertices: int | None = MAX_GRID_VERTICES) -> BaseGeometry | None:
    """A valid polygonal version (``make_valid``) of a grid geometry, for checks only; None when beyond repair.

    Swapped lon/lat are swapped back. Beyond repair: empty, too many vertices, coordinates that are not WGS84
    degrees (NaN, projected metres), or nothing polygonal left after the repair (a line, a point).
    """
    if geom is None or geom.is_empty or vertex_problem(geom, max_vertices):
        return None
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or not np.isfinite(coords).all():
        return None
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    if all(_swapped(float(x), float(y)) for x, y in (lo, hi)):
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        lo, hi = lo[::-1], hi[::-1]
    if any(coordinate_problem(float(lon), float(lat)) for lon, lat in (lo, hi)):
        return None
    try:
        fixed = shapely.make_valid(shapely.force_2d(geom))
        parts = shapely.get_parts(shapely.get_parts(fixed))
    except GEOSException:
        return None
    polygons = [p for p in parts if p.geom_type == "Polygon" and p.area > 0]
    return shapely.union_all(polygons) if polygons else None


def draft_geometry(geojson: dict[str, Any] | BaseGeometry | None) -> BaseGeometry | None:
    """The geometry as drawn, possibly unusable (so a validation can say why), or None when it cannot be read."""
    if geojson is None:
        return None
    try:
        geom = parse_geometry(geojson)
    except InvalidInput:
        return None
    return MultiPolygon([geom]) if isinstance(geom, Polygon) else geom


def as_multipolygon(
    geojson: dict[str, Any] | BaseGeometry, *, max_vertices: int | None = MAX_GRID_VERTICES
) -> MultiPolygon:
    """A valid WGS84 MultiPolygon of at most ``max_vertices`` vertices, or ``InvalidInput`` with the reason."""
    geom = parse_geometry(geojson)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise InvalidInput(f"几何类型应为面（Polygon/MultiPolygon），实际为 {geom.geom_type}")
    problem = geometry_problem(geom, max_vertices)
    if problem:
        raise InvalidInput(problem)
    return geom
