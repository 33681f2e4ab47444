"""The street outline, the curved arterial roads and each community's secondary lanes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridgov.sample.generate.arrays import FloatArr, GeomArr, IntArr
from gridgov.sample.generate.frame import Scale
from gridgov.sample.generate.geometry import grid_shape, oriented_frame, rotate

_NS_ARTERIALS = (("文艺北路", "文艺南路"), ("雁塔北路", "雁塔路"), ("太乙路", "太乙路"))
_EW_ARTERIALS = ("建设路", "友谊东路")
BOUNDARY_ROADS = ("环城南路", "兴庆路", "南二环", "长安北路")  # N, E, S, W sides


def _smooth_noise(rng: np.random.Generator, t: FloatArr, wavelength: float, waves: int = 4) -> FloatArr:
    """Sum of random sinusoids evaluated at ``t``, normalised to lie within [-1, 1]."""
    out = np.zeros_like(t, dtype=np.float64)
    total = 0.0
    for _ in range(waves):
        lam = wavelength * rng.uniform(0.5, 2.0)
        amp = rng.uniform(0.3, 1.0)
        out += amp * np.sin(2.0 * np.pi * t / lam + rng.uniform(0.0, 2.0 * np.pi))
        total += amp
    return out / total


@dataclass
class Road:
    """A named road (arterial or outline side) used for addresses and incidents."""

    name: str
    south_name: str
    split_y: float | None
    line: Any  # shapely LineString / MultiLineString, local metres
    kind: str  # "arterial" | "boundary"

    def name_at(self, y: float) -> str:
        """Road name at northing ``y`` (some roads change name, e.g. 文艺北路/文艺南路)."""
        if self.split_y is not None and y < self.split_y:
            return self.south_name
        return self.name


def street_outline(rng: np.random.Generator, sc: Scale) -> tuple[Any, list[FloatArr]]:
    """Noisy quadrilateral street outline and its four sides (N, E, S, W)."""
    hw, hh = sc.half_w, sc.half_h
    f = rng.uniform(0.92, 0.97, size=(4, 2))
    corners = np.array(
        [
            [-hw * f[0, 0], hh * f[0, 1]],
            [hw * f[1, 0], hh * f[1, 1]],
            [hw * f[2, 0], -hh * f[2, 1]],
            [-hw * f[3, 0], -hh * f[3, 1]],
        ]
    )
    sides: list[FloatArr] = []
    ring: list[FloatArr] = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        d = b - a
        length = float(np.hypot(*d))
        n = max(8, int(length / sc.spacing))
        t = np.linspace(0.0, 1.0, n + 1)
        normal = np.array([d[1], -d[0]]) / length  # outward for a clockwise ring
        off = 0.012 * length * _smooth_noise(rng, t * length, length / 2.5) * np.sin(np.pi * t)
        pts = a[None, :] + t[:, None] * d[None, :] + off[:, None] * normal[None, :]
        sides.append(pts)
        ring.append(pts[:-1])
    poly = shapely.Polygon(np.vstack(ring))
    if not poly.is_valid:
        raise RuntimeError("generated street outline is invalid")
    return shapely.orient_polygons(poly), sides


def _noisy_line(
    rng: np.random.Generator, along: FloatArr, base: float, amp: float, wavelength: float, tilt: float
) -> FloatArr:
    """Offsets across a road, as ``base + tilt*along + amp*noise(along)``."""
    return base + tilt * along + amp * _smooth_noise(rng, along, wavelength)


def arterial_roads(rng: np.random.Generator, sc: Scale, outline: Any) -> tuple[list[Road], list[Any]]:
    """Curved arterial roads crossing the street, clipped to the outline."""
    hw, hh = sc.half_w, sc.half_h
    rows, cols = grid_shape(sc.communities, hw / hh)
    default_names = rows == 3 and cols == 4
    ns_lines: list[FloatArr] = []
    ew_lines: list[FloatArr] = []
    cell_w, cell_h = 2 * hw / cols, 2 * hh / rows
    for i in range(1, cols):
        y = np.linspace(-hh * 1.3, hh * 1.3, max(10, int(2.6 * hh / sc.spacing)))
        x0 = -hw + cell_w * (i + rng.uniform(-0.12, 0.12))
        x = _noisy_line(rng, y, x0, min(0.08 * cell_w, 60.0), 1.6 * cell_h, rng.uniform(-0.07, 0.07))
        ns_lines.append(np.column_stack([x, y]))
    for j in range(1, rows):
        x = np.linspace(-hw * 1.3, hw * 1.3, max(10, int(2.6 * hw / sc.spacing)))
        y0 = hh - cell_h * (j + rng.uniform(-0.12, 0.12))
        y = _noisy_line(rng, x, y0, min(0.08 * cell_h, 60.0), 1.6 * cell_w, rng.uniform(-0.07, 0.07))
        ew_lines.append(np.column_stack([x, y]))
    ew_geoms = [shapely.intersection(shapely.LineString(c), outline) for c in ew_lines]
    mid_ew = len(ew_geoms) - 1 if default_names else len(ew_geoms) // 2
    roads: list[Road] = []
    for i, c in enumerate(ns_lines):
        g = shapely.intersection(shapely.LineString(c), outline)
        if default_names:
            north, south = _NS_ARTERIALS[i]
        else:
            north, south = f"经{i + 1}路", f"经{i + 1}路"
        split: float | None = None
        if north != south and ew_geoms:
            hit = shapely.intersection(g, ew_geoms[mid_ew])
            if not hit.is_empty:
                split = float(shapely.get_coordinates(hit)[:, 1].mean())
        roads.append(Road(north, south, split, g, "arterial"))
    for j, g in enumerate(ew_geoms):
        name = _EW_ARTERIALS[j] if default_names and j < len(_EW_ARTERIALS) else f"纬{j + 1}路"
        roads.append(Road(name, name, None, g, "arterial"))
    return roads, [r.line for r in roads]


def lane_lines(rng: np.random.Generator, sc: Scale, communities: GeomArr, targets: IntArr) -> list[Any]:
    """Perturbed secondary roads (a skewed grid per community), clipped to each community."""
    theta, lu, lv = oriented_frame(communities)
    centers = shapely.get_coordinates(shapely.centroid(communities))
    out: list[Any] = []
    for c, poly in enumerate(communities):
        env_area = max(lu[c] * lv[c], 1.0)
        n_faces = math.ceil(1.3 * int(targets[c]) * env_area / max(poly.area, 1.0))
        a, b = grid_shape(n_faces, lv[c] / max(lu[c], 1.0))  # a rows across v, b cols along u
        cols, rows = b, a
        su, sv = lu[c] / cols, lv[c] / rows
        lines: list[FloatArr] = []
        for i in range(1, cols):
            v = np.linspace(-lv[c] * 0.65, lv[c] * 0.65, max(6, int(1.3 * lv[c] / sc.spacing)))
            u = _noisy_line(
                rng,
                v,
                -lu[c] / 2 + su * (i + rng.uniform(-0.15, 0.15)),
                min(0.1 * su, 28.0),
                1.2 * sv + 60,
                rng.uniform(-0.09, 0.09),
            )
            lines.append(np.column_stack([u, v]))
        for j in range(1, rows):
            u = np.linspace(-lu[c] * 0.65, lu[c] * 0.65, max(6, int(1.3 * lu[c] / sc.spacing)))
            v = _noisy_line(
                rng,
                u,
                -lv[c] / 2 + sv * (j + rng.uniform(-0.15, 0.15)),
                min(0.1 * sv, 28.0),
                1.2 * su + 60,
                rng.uniform(-0.09, 0.09),
            )
            lines.append(np.column_stack([u, v]))
        for uv in lines:
            x, y = rotate(uv[:, 0], uv[:, 1], float(theta[c]))
            g = shapely.intersection(shapely.LineString(np.column_stack([x + centers[c, 0], y + centers[c, 1]])), poly)
            if not g.is_empty:
                out.append(g)
    return out
