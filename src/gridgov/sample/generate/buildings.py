"""Buildings: footprints (or points) placed inside compounds, floors, households per building, codes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gridgov.sample.generate.arrays import (
    STR_DTYPE,
    BoolArr,
    FloatArr,
    GeomArr,
    IntArr,
    StrArr,
    apportion,
    apportion_grouped,
    concat,
    random_stream,
    ranks_within,
    zfill,
)
from gridgov.sample.generate.constants import BUILDING_ROW_BAND_DEG
from gridgov.sample.generate.frame import Frame, Scale
from gridgov.sample.generate.geometry import oriented_frame, rotate, row_band_order
from gridgov.sample.generate.grids import Grids

_BUILDING_CHUNK_COMPOUNDS = 5_000


@dataclass
class Buildings:
    """Buildings sorted by code (compound, then serial)."""

    comp: IntArr
    codes: StrArr
    serial: IntArr
    cx: FloatArr
    cy: FloatArr
    length: FloatArr
    depth: FloatArr
    theta: FloatArr
    is_point: BoolArr
    floors: IntArr
    households: IntArr
    geom_ll: GeomArr

    def __len__(self) -> int:
        return len(self.comp)


_FLOOR_TYPES = (
    ((2, 3, 4, 5, 6, 7), (0.04, 0.04, 0.07, 0.25, 0.45, 0.15)),
    ((11, 12, 18, 24, 26, 28, 30, 32, 33), (0.1, 0.1, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1)),
    ((5, 6, 7, 9, 11, 14, 16, 18), (0.1, 0.25, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1)),
)


def _place_buildings(
    rng: np.random.Generator, comp_m: GeomArr, want: IntArr, offset: int
) -> tuple[IntArr, FloatArr, FloatArr, FloatArr, FloatArr, FloatArr]:
    """Non-overlapping rotated rectangles on a per-compound slot grid, kept inside with a margin."""
    nc = len(comp_m)
    theta, _, _ = oriented_frame(comp_m)
    cen = shapely.get_coordinates(shapely.centroid(comp_m))
    coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(comp_m), return_index=True)
    u, v = rotate(coords[:, 0] - cen[idx, 0], coords[:, 1] - cen[idx, 1], -theta[idx])
    starts = np.r_[0, np.flatnonzero(idx[1:] != idx[:-1]) + 1]
    umin, umax = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    lmax = rng.uniform(30.0, 60.0, nc)
    dmax = rng.uniform(11.0, 17.0, nc)
    gap_u = rng.uniform(8.0, 16.0, nc)
    gap_v = rng.uniform(14.0, 24.0, nc)
    pu, pv = lmax + gap_u, dmax + gap_v
    nu = np.maximum(np.floor((umax - umin) / pu), 0).astype(np.int64)
    nv = np.maximum(np.floor((vmax - vmin) / pv), 0).astype(np.int64)
    nslot = np.minimum(nu * nv, 600)
    ci = np.repeat(np.arange(nc), nslot)
    k = ranks_within(ci) if len(ci) else np.zeros(0, dtype=np.int64)
    iu = k % np.maximum(nu[ci], 1)
    iv = k // np.maximum(nu[ci], 1)
    su = umin[ci] + ((umax - umin)[ci] - nu[ci] * pu[ci]) / 2 + (iu + 0.5) * pu[ci]
    sv = vmin[ci] + ((vmax - vmin)[ci] - nv[ci] * pv[ci]) / 2 + (iv + 0.5) * pv[ci]
    # keep a random subset of candidate slots per compound before building any geometry
    key = rng.random(len(ci))
    order = np.lexsort((key, ci))
    cap = 3 * want + 8
    order = order[ranks_within(ci[order]) < cap[ci[order]]]
    ci, su, sv = ci[order], su[order], sv[order]
    m = len(ci)
    blen = np.clip(lmax[ci] * rng.uniform(0.55, 1.0, m), 15.0, 60.0)
    bdep = np.clip(dmax[ci] * rng.uniform(0.85, 1.0, m), 10.0, 18.0)
    su = su + rng.uniform(-0.5, 0.5, m) * (lmax[ci] - blen)
    sv = sv + rng.uniform(-0.5, 0.5, m) * (dmax[ci] - bdep)
    margin = 4.0
    hu, hv = blen / 2 + margin, bdep / 2 + margin
    cu = np.stack([-hu, hu, hu, -hu, -hu], axis=1) + su[:, None]
    cv = np.stack([-hv, -hv, hv, hv, -hv], axis=1) + sv[:, None]
    x, y = rotate(cu, cv, theta[ci][:, None])
    rects = shapely.polygons(np.stack([x + cen[ci, 0][:, None], y + cen[ci, 1][:, None]], axis=2))
    shapely.prepare(comp_m)
    ok = shapely.contains_properly(comp_m[ci], rects) if m else np.zeros(0, dtype=bool)
    shapely.destroy_prepared(comp_m)
    sel = np.flatnonzero(ok)  # already in random order within each compound
    rank = ranks_within(ci[sel])
    sel = sel[rank < want[ci[sel]]]
    bx, by = rotate(su[sel], sv[sel], theta[ci[sel]])
    out_c = ci[sel]
    out_x, out_y = bx + cen[out_c, 0], by + cen[out_c, 1]
    out_l, out_d, out_t = blen[sel], bdep[sel], theta[out_c]
    # compounds without any fitting slot get one point building
    empty = np.setdiff1d(np.arange(nc), out_c)
    if len(empty):
        ps = shapely.get_coordinates(shapely.point_on_surface(comp_m[empty]))
        out_c = np.r_[out_c, empty]
        out_x, out_y = np.r_[out_x, ps[:, 0]], np.r_[out_y, ps[:, 1]]
        out_l, out_d = np.r_[out_l, np.zeros(len(empty))], np.r_[out_d, np.zeros(len(empty))]
        out_t = np.r_[out_t, theta[empty]]
    return out_c + offset, out_x, out_y, out_l, out_d, out_t


def build_buildings(seed: int, sc: Scale, grids: Grids, frame: Frame) -> Buildings:
    """Place buildings, pick floors and split the households among them."""
    rng = random_stream(seed, "buildings")
    comp_m = grids.comp_m
    nc = len(comp_m)
    weights = shapely.area(comp_m) * rng.uniform(0.6, 1.4, nc)
    hh_comp = apportion(sc.households, weights, minimum=1)
    want = np.clip(np.rint(hh_comp / 30.0), 1, 99).astype(np.int64)
    parts: list[tuple[IntArr, FloatArr, FloatArr, FloatArr, FloatArr, FloatArr]] = []
    for s in range(0, nc, _BUILDING_CHUNK_COMPOUNDS):
        e = min(nc, s + _BUILDING_CHUNK_COMPOUNDS)
        parts.append(_place_buildings(rng, comp_m[s:e], want[s:e], s))
    comp = np.concatenate([p[0] for p in parts])
    cx, cy = np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
    length, depth = np.concatenate([p[3] for p in parts]), np.concatenate([p[4] for p in parts])
    theta = np.concatenate([p[5] for p in parts])
    nb = len(comp)
    is_point = (length == 0) | (rng.random(nb) < 0.05)
    # floors by compound type (old 单位家属院 / modern 小区 / mixed)
    ctype = rng.choice(3, size=nc, p=[0.55, 0.25, 0.2])
    floors = np.zeros(nb, dtype=np.int64)
    for t, (vals, p) in enumerate(_FLOOR_TYPES):
        m = ctype[comp] == t
        floors[m] = rng.choice(np.array(vals), size=int(m.sum()), p=np.array(p) / sum(p))
    floors[is_point] = rng.choice(np.array([2, 3]), size=int(is_point.sum()))
    footprint = np.where(is_point, 120.0, length * depth)
    households = apportion_grouped(hh_comp, comp, footprint * floors)
    # geometry in lon/lat
    hl, hd = length / 2, depth / 2
    cu = np.stack([-hl, hl, hl, -hl, -hl], axis=1)
    cv = np.stack([-hd, -hd, hd, hd, -hd], axis=1)
    x, y = rotate(cu, cv, theta[:, None])
    units_rect = frame.to_units(np.column_stack([(x + cx[:, None]).ravel(), (y + cy[:, None]).ravel()]))
    rect_ll = np.asarray(shapely.polygons((units_rect / 1e7).reshape(nb, 5, 2)), dtype=object)
    pt_ll = np.asarray(shapely.points(frame.to_lonlat(np.column_stack([cx, cy]))), dtype=object)
    geom = np.where(is_point, pt_ll, rect_ll)
    # serial: row bands from the compound's north bound, then longitude
    cen = shapely.get_coordinates(shapely.centroid(geom))
    order = row_band_order(comp, grids.comp_north, cen[:, 1], cen[:, 0], BUILDING_ROW_BAND_DEG)
    comp, cx, cy, length, depth, theta = comp[order], cx[order], cy[order], length[order], depth[order], theta[order]
    is_point, floors, households, geom = is_point[order], floors[order], households[order], geom[order]
    serial = ranks_within(comp) + 1
    codes = concat(np.asarray(grids.comp_codes, dtype=STR_DTYPE)[comp], "B", zfill(serial, 2))
    return Buildings(
        comp, codes, serial, cx, cy, length, depth, theta, is_point, floors, households, np.asarray(geom, dtype=object)
    )
