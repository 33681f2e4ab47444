"""Direction arrows along patrol tracks: evenly spaced, pointing the way walked, thinned where tracks overlap."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgov.geo.crs import MetricFrame

__all__ = ["ARROW_MIN_GAP_M", "ARROW_SPACING_M", "arrow_marks"]

ARROW_SPACING_M = 200.0
"""Distance between direction arrows along a track."""
ARROW_MIN_GAP_M = 80.0
"""An arrow is dropped when one of the same layer, pointing the same way (±45°), is nearer than this:
tracks loop over the same streets many times a night, and stacked arrows would hide the lines."""


def arrow_marks(
    lines: Sequence[BaseGeometry],
    frame: MetricFrame,
    spacing_m: float = ARROW_SPACING_M,
    min_gap_m: float = ARROW_MIN_GAP_M,
) -> list[tuple[float, float, float]]:
    """Direction arrows along EPSG:4326 lines: (lon, lat, bearing° clockwise from north), thinned."""
    kept: list[tuple[float, float, float]] = []
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)  # kept arrows by min_gap_m square
    # each walked part on its own (a gap in a recording splits a track: no arrow across it)
    for line in shapely.get_parts(frame.to_m(np.asarray(list(lines), dtype=object))):
        length = float(line.length)
        if line.is_empty or length <= 0:
            continue
        d = np.arange(spacing_m / 2, length, spacing_m) if length > spacing_m / 2 else np.array([length / 2])
        # the local direction: from 5 m before to 5 m after each arrow
        p = shapely.get_coordinates(shapely.line_interpolate_point(line, d))
        a = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(d - 5.0, 0, length)))
        b = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(d + 5.0, 0, length)))
        dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
        for (x, y), deg, moved in zip(p, bearing, np.hypot(dx, dy) > 1e-6, strict=True):
            if not moved:
                continue
            cx, cy = int(x // min_gap_m), int(y // min_gap_m)
            near = (i for ox in (-1, 0, 1) for oy in (-1, 0, 1) for i in cells[(cx + ox, cy + oy)])
            if any(
                math.hypot(kept[i][0] - x, kept[i][1] - y) < min_gap_m
                and abs((kept[i][2] - deg + 180) % 360 - 180) < 45
                for i in near
            ):
                continue
            cells[(cx, cy)].append(len(kept))
            kept.append((float(x), float(y), float(deg)))
    if not kept:
        return []
    pts = frame.to_ll(shapely.points(np.asarray([(x, y) for x, y, _ in kept])))
    return [(float(p.x), float(p.y), deg) for p, (_, _, deg) in zip(pts, kept, strict=True)]
