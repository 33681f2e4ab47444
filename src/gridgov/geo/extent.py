"""Where a street's data may lie: imported coordinates judged against the street's own grids, one rule for every
importer (households, buildings, incidents, patrol tracks), wherever the street is in the world.

A coordinate is refused when it is not a number, not a WGS84 longitude/latitude, or farther than
``max_distance_m`` (default 20 km) from every live grid: such a point comes from a wrong coordinate system or
from swapped columns. When the point swapped back (latitude as longitude) lies within that distance, or — with
no grids yet — is a WGS84 coordinate while the point as given is not, the reason names the swap and the hint.
With no live grid at all only the WGS84 ranges are checked.

Distances are metres in an azimuthal equidistant projection centred on the street (exact from its centre,
within a fraction of a percent for anything near it). Set-based: the root grids (live grids without a live
parent: the streets) are read with one query and every point is tested against their prepared union at once;
only the points beyond it (the bad ones, or points near a child grid drawn outside its parent) are tested
against the other live grids, read then with a second query.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_DISTANCE_M = 20_000.0  # the faces pass ``settings.import_max_distance_m``
NOT_A_NUMBER = "坐标为空或非数值（NaN/Inf）"
_ROOTS = """SELECT ST_AsBinary(g.geom) FROM grid g
             WHERE g.valid_to IS NULL
               AND NOT EXISTS (SELECT 1 FROM grid p WHERE p.id = g.parent_id AND p.valid_to IS NULL)"""
_CHILDREN = """SELECT ST_AsBinary(g.geom) FROM grid g
                WHERE g.valid_to IS NULL
                  AND EXISTS (SELECT 1 FROM grid p WHERE p.id = g.parent_id AND p.valid_to IS NULL)"""


def in_wgs84(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where (x, y) are a WGS84 longitude and latitude (|x| ≤ 180, |y| ≤ 90; NaN is not)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)


def swapped_reason(x: float, y: float) -> str:
    """The reason given for a point whose longitude and latitude were swapped."""
    return f"经纬度颠倒（经度 {x:.10g}，纬度 {y:.10g}）：请交换经度和纬度两列后重新导入"


def range_reason(x: float, y: float) -> str:
    """The reason given for a point that is no WGS84 longitude/latitude."""
    return f"坐标超出范围（经度 {x:.10g}，纬度 {y:.10g}）：不是 WGS84 经纬度，请检查坐标系"


def far_reason(x: float, y: float, from_centre_m: float, max_distance_m: float) -> str:
    """The reason given for a point farther than ``max_distance_m`` from every grid."""
    away = f"距街道中心约 {from_centre_m / 1000:,.0f} 公里，" if np.isfinite(from_centre_m) else ""
    return (f"远离本街道（经度 {x:.10g}，纬度 {y:.10g}，{away}离所有网格都超过 {max_distance_m / 1000:g} 公里）："
            "坐标系可能选错，或经纬度两列填反")


class StreetExtent:
    """The live grids of the database, in metres around their centre, to measure imported points against."""

    def __init__(self, session: Session, max_distance_m: float = MAX_DISTANCE_M) -> None:
        self.session = session
        self.max_distance_m = float(max_distance_m)
        roots = [shapely.from_wkb(bytes(w)) for w in session.execute(text(_ROOTS)).scalars()]
        self.area: BaseGeometry | None = None  # the streets in metres
        self._children: shapely.STRtree | None = None
        if not roots:
            return
        union = shapely.union_all(roots)
        self.inside = union  # in degrees: most points lie in it, and need no projection
        shapely.prepare(self.inside)
        x0, y0, x1, y1 = union.bounds
        self._to_m = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={(y0 + y1) / 2} +lon_0={(x0 + x1) / 2} +datum=WGS84 +units=m",
            always_xy=True,
        )
        self.area = self._metres(union)
        shapely.prepare(self.area)

    def _metres(self, geoms: Any) -> Any:
        """Geometries (one or an array) in the street's metres."""
        return shapely.transform(geoms, lambda xy: np.column_stack(self._to_m.transform(xy[:, 0], xy[:, 1])))

    def _points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points in metres and their distance from the centre (WGS84 input only)."""
        px, py = self._to_m.transform(x, y)
        return shapely.points(px, py), np.hypot(px, py)

    def _near_children(self, points: np.ndarray) -> np.ndarray:
        """Which points lie within the distance of a live grid that is not a root (read on first use)."""
        if self._children is None:
            wkb = np.array([bytes(w) for w in self.session.execute(text(_CHILDREN)).scalars()], dtype=object)
            self._children = shapely.STRtree(self._metres(shapely.from_wkb(wkb)))
        near = np.zeros(len(points), dtype=bool)
        hits = self._children.query(points, predicate="dwithin", distance=self.max_distance_m)
        near[np.unique(hits[0])] = True
        return near

    def near(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which WGS84 points lie within the distance of a live grid, and the distance from the centre (m) of
        each point outside the streets (0 for the others)."""
        assert self.area is not None
        near = shapely.intersects_xy(self.inside, x, y)
        centre = np.zeros(len(x))
        out = np.flatnonzero(~near)
        if len(out):
            points, centre[out] = self._points(x[out], y[out])
            close = shapely.dwithin(self.area, points, self.max_distance_m)
            beyond = np.flatnonzero(~close)
            if len(beyond):
                close[beyond] = self._near_children(points[beyond])
            near[out] = close
        return near, centre

    def reasons(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Why each (x, y) is refused (object array: a Chinese reason, or None where the point is fine)."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        reasons = np.full(len(x), None, dtype=object)
        finite = np.isfinite(x) & np.isfinite(y)
        reasons[~finite] = NOT_A_NUMBER
        valid, valid_swapped = in_wgs84(x, y), in_wgs84(y, x)
        near, swap = valid.copy(), ~valid & valid_swapped
        centre = np.zeros(len(x))
        if self.area is not None:
            at = np.flatnonzero(valid)
            if len(at):
                near[at], centre[at] = self.near(x[at], y[at])
            at = np.flatnonzero(~near & valid_swapped)
            swap[:] = False
            if len(at):
                swap[at] = self.near(y[at], x[at])[0]
        for i in np.flatnonzero(swap):
            reasons[i] = swapped_reason(x[i], y[i])
        for i in np.flatnonzero(finite & ~valid & ~swap):
            reasons[i] = range_reason(x[i], y[i])
        for i in np.flatnonzero(valid & ~near & ~swap):
            reasons[i] = far_reason(x[i], y[i], centre[i], self.max_distance_m)
        return reasons


def coordinate_reasons(
    session: Session, x: np.ndarray, y: np.ndarray, max_distance_m: float = MAX_DISTANCE_M
) -> np.ndarray:
    """Why each WGS84 (x, y) cannot belong to this street (a Chinese reason per row, None where it is fine)."""
    return StreetExtent(session, max_distance_m).reasons(x, y)


def location_reasons(
    session: Session, geoms: np.ndarray, max_distance_m: float = MAX_DISTANCE_M
) -> np.ndarray:
    """:func:`coordinate_reasons` of geometries: points as they are, anything else by its centroid (a footprint
    with a coordinate that is not a number counts as such)."""
    geoms = np.asarray(geoms, dtype=object)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    kind = shapely.get_type_id(geoms)
    point = kind == 0
    x[point], y[point] = shapely.get_x(geoms[point]), shapely.get_y(geoms[point])
    other = np.flatnonzero(~point & (kind >= 0))
    if len(other):
        coords, index = shapely.get_coordinates(geoms[other], return_index=True)
        finite = np.ones(len(other), dtype=bool)
        finite[index[~np.isfinite(coords).all(axis=1)]] = False
        centres = shapely.centroid(geoms[other[finite]])
        x[other[finite]], y[other[finite]] = shapely.get_x(centres), shapely.get_y(centres)
    return coordinate_reasons(session, x, y, max_distance_m)
