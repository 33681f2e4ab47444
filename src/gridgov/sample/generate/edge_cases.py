"""Deliberate edge cases: households exactly on shared compound vertices/edges and outside the street."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridgov.sample.generate.arrays import IntArr, random_stream
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.grids import Grids


@dataclass
class SpecialHouseholds:
    """Placed households: position overrides by global household index, and their details for the meta file."""

    overrides: dict[int, tuple[int, int]]
    boundary: list[dict[str, Any]]
    outside: list[dict[str, Any]]


def special_households(seed: int, grids: Grids, bld: Buildings, frame: Frame) -> SpecialHouseholds:
    """Pick 12 households to sit exactly on shared compound vertices/edges and 5 outside the street."""
    rng = random_stream(seed, "special")
    comp = grids.comp_ll
    # the first communities (>= 200 compounds when available) suffice and keep this cheap at scale
    per_comm = np.cumsum(np.bincount(grids.comp_comm))
    n_first = max(3, int(np.searchsorted(per_comm, min(200, len(comp)))) + 1)
    sub = np.flatnonzero(grids.comp_comm < n_first)
    rings, owner = shapely.get_rings(comp[sub], return_index=True)
    coords, ridx = shapely.get_coordinates(rings, return_index=True)
    units = np.rint(coords * 1e7).astype(np.int64)
    own = sub[owner[ridx]]
    street_b = shapely.boundary(grids.street_ll)
    # vertices shared by several compounds (not on the street outline)
    vkey = units[:, 0] * (1 << 31) + units[:, 1]
    pair = np.unique(np.column_stack([vkey, own]), axis=0)
    uk, cnt = np.unique(pair[:, 0], return_counts=True)
    cand3 = uk[cnt >= 3]
    cand2 = uk[cnt == 2]
    picks: list[tuple[str, IntArr]] = []

    def vertex_units(k: int) -> IntArr:
        """Decode a vertex key into (lon, lat) integer units."""
        return np.array([k // (1 << 31), k % (1 << 31)], dtype=np.int64)

    vertex_lists: list[list[IntArr]] = []
    for cand in (cand3, cand2):
        found: list[IntArr] = []
        for k in rng.permutation(cand).tolist():
            u = vertex_units(int(k))
            if not shapely.intersects(street_b, shapely.Point(u / 1e7)):
                found.append(u)
            if len(found) == 12:
                break
        vertex_lists.append(found)
    # midpoints of shared edges that are exactly representable and exactly on the edge
    same = ridx[1:] == ridx[:-1]
    a, b, o = units[:-1][same], units[1:][same], own[:-1][same]
    even = ((a + b) % 2 == 0).all(axis=1)
    a, b, o = a[even], b[even], o[even]
    lo = np.where(((a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] < b[:, 1])))[:, None], a, b)
    hi = np.where((lo == a).all(axis=1)[:, None], b, a)
    skey = np.column_stack([lo, hi])
    uniq, inv, cnt2 = np.unique(skey, axis=0, return_inverse=True, return_counts=True)
    shared_idx = np.flatnonzero(cnt2[inv] == 2)
    comp_comm = grids.comp_comm
    across: list[IntArr] = []
    within: list[IntArr] = []
    seen: set[tuple[int, int]] = set()
    for i in rng.permutation(shared_idx).tolist():
        key = (int(skey[i, 0] + skey[i, 2]), int(skey[i, 1] + skey[i, 3]))
        if key in seen:
            continue
        seen.add(key)
        m = np.array(key, dtype=np.int64) // 2
        pt = shapely.Point(float(f"{m[0] / 1e7:.7f}"), float(f"{m[1] / 1e7:.7f}"))
        owners = np.flatnonzero(inv == inv[i])
        cs = o[owners]
        if len(set(cs.tolist())) != 2 or not all(shapely.touches(comp[int(c)], pt) for c in cs):
            continue
        if shapely.intersects(street_b, pt):
            continue
        target = across if comp_comm[cs[0]] != comp_comm[cs[1]] else within
        if len(target) < 12:
            target.append(m)
        if len(across) >= 12 and len(within) >= 12:
            break
    # 4 triple-junction vertices, 2 two-compound vertices, 3 edges across communities, 3 within;
    # categories that run short are topped up from the others (12 in total when possible)
    pools: list[tuple[str, list[IntArr], int]] = [
        ("vertex", vertex_lists[0], 4),
        ("vertex", vertex_lists[1], 2),
        ("edge", across, 3),
        ("edge", within, 3),
    ]
    taken = [min(want, len(pool)) for _, pool, want in pools]
    for i, (_, pool, _) in enumerate(pools):
        extra = min(12 - sum(taken), len(pool) - taken[i])
        taken[i] += max(0, extra)
    for (kind, pool, _), t in zip(pools, taken, strict=True):
        picks += [(kind, u) for u in pool[:t]]
    # outside the street: 200–500 m beyond the outline
    outside_pts: list[IntArr] = []
    street_m = shapely.coverage_union_all(grids.comm_m)
    ring = shapely.get_exterior_ring(street_m)
    c = shapely.get_coordinates(shapely.centroid(street_m))[0]
    while len(outside_pts) < 5:
        p = shapely.get_coordinates(shapely.line_interpolate_point(ring, rng.uniform(0, 1), normalized=True))[0]
        d = p - c
        q = p + d / np.hypot(*d) * rng.uniform(200.0, 500.0)
        qp = shapely.Point(q)
        if shapely.contains(street_m, qp) or shapely.distance(street_m, qp) < 150.0:
            continue
        outside_pts.append(frame.to_units(q[None, :])[0])
    # assign each special point to a household of the nearest building with households
    has_hh = np.flatnonzero(bld.households > 0)
    tree = shapely.STRtree(np.asarray(shapely.points(np.column_stack([bld.cx[has_hh], bld.cy[has_hh]])), dtype=object))
    offsets = np.r_[0, np.cumsum(bld.households)]
    used: set[int] = set()
    overrides: dict[int, tuple[int, int]] = {}
    boundary: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for kind, u in picks + [("outside", u) for u in outside_pts]:
        pm = frame.from_lonlat((u / 1e7)[None, :])[0]
        cands = tree.query(shapely.Point(pm).buffer(600.0))
        dist = np.hypot(bld.cx[has_hh[cands]] - pm[0], bld.cy[has_hh[cands]] - pm[1])
        bidx = -1
        for j in cands[np.lexsort((cands, dist))].tolist():
            if int(has_hh[j]) not in used:
                bidx = int(has_hh[j])
                break
        if bidx < 0:
            bidx = int(next(i for i in has_hh.tolist() if i not in used))
        used.add(bidx)
        k = int(rng.integers(0, int(bld.households[bidx])))
        overrides[int(offsets[bidx]) + k] = (int(u[0]), int(u[1]))
        code = f"{bld.codes[bidx]}H{k + 1:04d}"
        if kind == "outside":
            outside.append({"code": code, "lon": float(u[0] / 1e7), "lat": float(u[1] / 1e7)})
        else:
            pt = shapely.Point(u / 1e7)
            touching = [grids.comp_codes[i] for i in shapely.STRtree(comp).query(pt, predicate="touches").tolist()]
            boundary.append(
                {
                    "code": code,
                    "kind": kind,
                    "lon": float(u[0] / 1e7),
                    "lat": float(u[1] / 1e7),
                    "compounds": sorted(touching),
                }
            )
    return SpecialHouseholds(overrides, boundary, outside)
