"""Constructive operations on grid shapes: split along a line, merge neighbours, keep the polygonal part.

Shared by the repairs (``grids/repair.py``), the batch edits (``grids/edits.py``) and the editor's shape requests,
so a split or a merge gives the same shape whichever face asked. Both keep every vertex of the outer boundary
as it was (GEOS overlay nodes coincident edges exactly): a neighbour that shared the boundary still does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_polygon

from gridgov.errors import InvalidInput
from gridgov.geo.checks import parse_geometry
from gridgov.geo.crs import MetricFrame


def polygonal(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal part of a shape (made valid) as a MultiPolygon; ``InvalidInput`` when nothing is left."""
    geom = shapely.make_valid(geom)
    parts: list[Polygon] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, Polygon) and not g.is_empty:
            parts.append(g)
        elif isinstance(g, MultiPolygon):
            parts.extend(p for p in g.geoms if not p.is_empty)
    if not parts:
        raise InvalidInput("修改后的几何为空")
    return MultiPolygon(parts)


def _line(line: BaseGeometry | dict[str, Any]) -> LineString:
    cut = parse_geometry(line, kinds=("LineString", "MultiLineString"))
    if isinstance(cut, MultiLineString) and len(cut.geoms) == 1:
        cut = cut.geoms[0]
    if not isinstance(cut, LineString) or len(cut.coords) < 2:
        raise InvalidInput("分割线应为至少两个点的折线（LineString）")
    return cut


def split_by_line(geom: BaseGeometry, line: BaseGeometry | dict[str, Any], label: str = "网格") -> list[Polygon]:
    """The pieces of a shape cut along a line (a road, a wall), largest first by area in metres."""
    cut = _line(line)
    polygons = list(getattr(geom, "geoms", [geom]))
    pieces = [p for poly in polygons for p in split_polygon(poly, cut).geoms if isinstance(p, Polygon)]
    if len(pieces) <= len(polygons):
        raise InvalidInput(f"分割线没有穿过{label}：请从{label}外画起，完整穿过后在{label}外结束")
    frame = MetricFrame.for_geoms([geom])
    return sorted(pieces, key=lambda p: -float(frame.to_m(p).area))


def merge_shapes(geoms: Sequence[BaseGeometry], label: str = "网格") -> MultiPolygon:
    """The union of neighbouring shapes as one piece; ``InvalidInput`` when they do not share a boundary."""
    if len(geoms) < 2:
        raise InvalidInput("合并至少需要两个网格")
    union = polygonal(shapely.union_all(list(geoms)))
    if len(union.geoms) != 1:
        raise InvalidInput(f"这些{label}不相邻（没有共同的边），不能合并")
    return union
