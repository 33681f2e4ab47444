"""Faces of the noded road network: polygonize, assign to communities, merge down to target counts."""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heapify, heappop, heappush
from typing import Any

import numpy as np
import shapely

from gridgov.sample.generate.arrays import FloatArr, GeomArr, IntArr
from gridgov.sample.generate.constants import GRID_M


def _ring_segments(polys: GeomArr) -> tuple[IntArr, FloatArr, IntArr]:
    """Canonical integer segment keys (on the 0.5 m grid), lengths and owner index of polygon rings."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    coords, ridx = shapely.get_coordinates(rings, return_index=True)
    q = np.rint(coords / GRID_M).astype(np.int64)
    same = ridx[1:] == ridx[:-1]
    a, b = q[:-1][same], q[1:][same]
    own = owner[ridx[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    r = np.where(swap[:, None], a, b)
    keys = np.column_stack([p, r])
    length = np.hypot(*(r - p).T) * GRID_M
    return keys, length, own


def _face_adjacency(faces: GeomArr) -> tuple[IntArr, IntArr, FloatArr]:
    """Pairs of faces sharing boundary edges and the shared length (faces must share vertices)."""
    keys, length, own = _ring_segments(faces)
    order = np.lexsort(keys.T[::-1])
    ks, ls, os_ = keys[order], length[order], own[order]
    eq = np.all(ks[1:] == ks[:-1], axis=1)
    i1, i2 = os_[:-1][eq], os_[1:][eq]
    ln = ls[:-1][eq]
    keep = i1 != i2
    i1, i2, ln = i1[keep], i2[keep], ln[keep]
    lo, hi = np.minimum(i1, i2), np.maximum(i1, i2)
    n = len(faces)
    pair = lo * n + hi
    upair, inv = np.unique(pair, return_inverse=True)
    total = np.bincount(inv, weights=ln).astype(np.float64)
    return (upair // n).astype(np.int64), (upair % n).astype(np.int64), total


def merge_faces(faces: GeomArr, group: IntArr, targets: IntArr) -> tuple[GeomArr, IntArr]:
    """Merge adjacent faces of the same group (smallest first, into the neighbour with the longest
    shared border) until each group has ``targets[g]`` faces.

    Faces must form a noded coverage (shared edges have identical vertices); merging uses the exact
    ``coverage_union_all`` (``union_all`` with a grid size would re-snap and may drop slivers).
    """
    n = len(faces)
    area = shapely.area(faces).tolist()
    members: list[list[int]] = [[i] for i in range(n)]
    adj: list[dict[int, float]] = [{} for _ in range(n)]
    a_idx, b_idx, shared = _face_adjacency(faces)
    for i, j, ln in zip(a_idx.tolist(), b_idx.tolist(), shared.tolist(), strict=True):
        if group[i] == group[j] and ln > 0:
            adj[i][j] = adj[i].get(j, 0.0) + ln
            adj[j][i] = adj[j].get(i, 0.0) + ln
    counts = np.bincount(group, minlength=len(targets))
    excess = (counts - targets).tolist()
    if min(excess) < 0:
        raise RuntimeError("not enough faces to reach the target counts")
    alive = [True] * n
    heap = [(area[i], i) for i in range(n) if excess[int(group[i])] > 0]
    heapify(heap)
    while heap:
        a, i = heappop(heap)
        g = int(group[i])
        if not alive[i] or a != area[i] or excess[g] <= 0 or not adj[i]:
            continue
        j = max(adj[i].items(), key=lambda kv: (kv[1], -kv[0]))[0]
        alive[i] = False
        members[j].extend(members[i])
        members[i] = []
        area[j] += area[i]
        for k, ln in adj[i].items():
            del adj[k][i]
            if k != j:
                adj[j][k] = adj[j].get(k, 0.0) + ln
                adj[k][j] = adj[k].get(j, 0.0) + ln
        adj[i] = {}
        excess[g] -= 1
        heappush(heap, (area[j], j))
    if max(excess) > 0:
        raise RuntimeError("could not merge faces down to the target counts")
    total_area = float(shapely.area(faces).sum())
    keep = [i for i in range(n) if alive[i]]
    out = np.empty(len(keep), dtype=object)
    for k, i in enumerate(keep):
        m = members[i]
        if len(m) == 1:
            out[k] = faces[m[0]]
            continue
        parts = shapely.get_parts(shapely.coverage_union_all(faces[sorted(m)]))
        if len(parts) != 1 or parts[0].geom_type != "Polygon":
            raise RuntimeError("merged compound is not a single polygon")
        out[k] = parts[0]
    if abs(float(shapely.area(out).sum()) - total_area) > 1e-6 * max(total_area, 1.0):
        raise RuntimeError("merging faces changed the covered area")
    return out, group[keep].astype(np.int64)


def polygonize(lines: Sequence[Any]) -> GeomArr:
    """Node lines with snap rounding on the 0.5 m grid and return the faces."""
    merged = shapely.union_all(np.asarray(lines, dtype=object), grid_size=GRID_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(merged)))
    faces = faces[shapely.area(faces) > 0]
    return np.asarray(shapely.orient_polygons(faces), dtype=object)


def assign_faces(faces: GeomArr, regions: GeomArr) -> IntArr:
    """Index of the region containing each face (point-on-surface, overlap for small faces)."""
    tree = shapely.STRtree(regions)
    pts = shapely.point_on_surface(faces)
    res = np.full(len(faces), -1, dtype=np.int64)
    pairs = tree.query(pts, predicate="within")
    res[pairs[0][::-1]] = pairs[1][::-1]
    small = (shapely.area(faces) < 2000.0) | (res < 0)
    for i in np.flatnonzero(small):
        cand = tree.query(faces[i], predicate="intersects")
        if len(cand) == 0:
            res[i] = int(tree.query_nearest(pts[i])[0])
            continue
        areas = shapely.area(shapely.intersection(faces[i], regions[cand]))
        res[i] = int(cand[int(np.argmax(areas))])
    return res
