"""Geometry helpers shared by the generator: rotation, oriented frames, row-band order, nearest line."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridgov.sample.generate.arrays import BoolArr, FloatArr, GeomArr, IntArr


def grid_shape(n: int, aspect: float) -> tuple[int, int]:
    """(rows, cols) with rows*cols >= n and cols/rows close to ``aspect`` (width/height)."""
    rows = max(1, round(math.sqrt(n / aspect)))
    cols = max(1, math.ceil(n / rows))
    return rows, cols


def oriented_frame(polys: GeomArr) -> tuple[FloatArr, FloatArr, FloatArr]:
    """Angle of the longest side of each oriented envelope and the envelope side lengths."""
    env = shapely.oriented_envelope(polys)
    theta = np.zeros(len(polys))
    lu = np.zeros(len(polys))
    lv = np.zeros(len(polys))
    for k, e in enumerate(env):
        c = shapely.get_coordinates(e)
        if len(c) < 3:
            continue
        d1, d2 = c[1] - c[0], c[2] - c[1]
        l1, l2 = float(np.hypot(*d1)), float(np.hypot(*d2))
        d = d1 if l1 >= l2 else d2
        theta[k] = math.atan2(d[1], d[0])
        lu[k], lv[k] = max(l1, l2), min(l1, l2)
    return theta, lu, lv


def rotate(u: FloatArr, v: FloatArr, theta: FloatArr | float) -> tuple[FloatArr, FloatArr]:
    """Rotate (u, v) frame coordinates by ``theta`` into (x, y)."""
    c, s = np.cos(theta), np.sin(theta)
    return u * c - v * s, u * s + v * c


def row_band_order(group: IntArr, north: FloatArr, lat: FloatArr, lon: FloatArr, band: float) -> IntArr:
    """Order (indices) by group, then row band from the group's north bound, then longitude."""
    row = np.floor((north[group] - lat) / band).astype(np.int64)
    return np.lexsort((lon, row, group)).astype(np.int64)


def as_multi(geoms: GeomArr) -> GeomArr:
    """Wrap polygons as MultiPolygons."""
    geoms = np.asarray(geoms, dtype=object)
    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    idx = np.flatnonzero(single)
    if len(idx):
        out[idx] = shapely.multipolygons(geoms[idx], indices=np.arange(len(idx)))
    return np.asarray(out, dtype=object)


@dataclass
class SegmentIndex:
    """Straight segments of a set of lines with their line index and distance along the line."""

    a: FloatArr
    b: FloatArr
    line: IntArr
    start: FloatArr
    tree: shapely.STRtree

    def nearest(self, xy: FloatArr) -> tuple[IntArr, FloatArr, BoolArr]:
        """Nearest line of each point, position along it, and whether the point is on its left."""
        near = self.tree.query_nearest(shapely.points(xy), all_matches=False)
        seg = np.zeros(len(xy), dtype=np.int64)
        seg[near[0]] = near[1]
        a, b = self.a[seg], self.b[seg]
        d = b - a
        l2 = np.maximum((d * d).sum(axis=1), 1e-12)
        t = np.clip(((xy - a) * d).sum(axis=1) / l2, 0.0, 1.0)
        pos = self.start[seg] + t * np.sqrt(l2)
        left = (d[:, 0] * (xy[:, 1] - a[:, 1]) - d[:, 1] * (xy[:, 0] - a[:, 0])) > 0
        return self.line[seg], pos, left


def segment_index(lines: Sequence[Any]) -> SegmentIndex:
    """Build a :class:`SegmentIndex` (fast nearest queries against long lines)."""
    a_l: list[FloatArr] = []
    b_l: list[FloatArr] = []
    r_l: list[IntArr] = []
    s_l: list[FloatArr] = []
    for r, line in enumerate(lines):
        off = 0.0
        for part in shapely.get_parts(line):
            c = shapely.get_coordinates(part)
            if len(c) < 2:
                continue
            seg = np.hypot(*np.diff(c, axis=0).T)
            a_l.append(c[:-1])
            b_l.append(c[1:])
            r_l.append(np.full(len(seg), r, dtype=np.int64))
            s_l.append(off + np.r_[0.0, np.cumsum(seg)[:-1]])
            off += float(seg.sum())
    a, b = np.vstack(a_l), np.vstack(b_l)
    tree = shapely.STRtree(np.asarray(shapely.linestrings(np.stack([a, b], axis=1)), dtype=object))
    return SegmentIndex(a, b, np.concatenate(r_l), np.concatenate(s_l), tree)
