"""The grid hierarchy: street, communities and compounds, tiled, coded and named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridgov.sample.generate.arrays import FloatArr, GeomArr, IntArr, apportion, random_stream, ranks_within
from gridgov.sample.generate.constants import COMMUNITIES, COMPOUND_ROW_BAND_DEG, GRID_M, STREET_CODE
from gridgov.sample.generate.faces import assign_faces, merge_faces, polygonize
from gridgov.sample.generate.frame import Frame, Scale
from gridgov.sample.generate.geometry import as_multi, grid_shape, row_band_order, segment_index
from gridgov.sample.generate.roads import BOUNDARY_ROADS, Road, arterial_roads, lane_lines, street_outline

# Order in which the real communities are laid out (north→south rows, west→east).
_COMMUNITY_LAYOUT = (
    "610103006004", "610103006001", "610103006006", "610103006011", "610103006002",
    "610103006009", "610103006007", "610103006014", "610103006003", "610103006013",
)  # fmt: skip

_COMPOUND_NAMES = (
    "省测绘局家属院", "建科大东院", "建科大南院", "西北电力设计院家属院", "省建筑设计院家属院",
    "市政设计院家属院", "省体育局家属院", "省秦腔剧院家属院", "省文化厅家属院", "市歌舞剧院家属院",
    "省话剧院家属院", "省广电家属院", "交警支队家属院", "电力公司家属院", "邮电家属院",
    "中铁一局家属院", "煤机厂家属院", "省地矿局家属院", "省水利厅家属院", "建工集团家属院",
    "省人民医院家属院", "文艺路小区", "雁塔小区", "友谊花园", "南关新村", "测绘小区", "建东小区",
    "太乙城小区", "文艺南路小区", "雁塔嘉苑", "文艺花园", "林雁小区", "环南小区", "建设新村",
    "测绘新村", "文艺路小区3号院", "友谊东路小区", "雁塔路小区2号院", "省建三公司家属院",
    "西安音乐厅家属院", "省戏曲研究院家属院", "碑林区委家属院", "公交五公司家属院", "天然气公司家属院",
)  # fmt: skip


def community_display_name(name: str) -> str:
    """Strip the 居委会/居民委员会 suffix from an official community name."""
    for suffix in ("居民委员会", "居委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class Grids:
    """The grid hierarchy in local metres and in EPSG:4326."""

    outline_m: Any
    roads: list[Road]
    road_edges_m: GeomArr
    comm_codes: list[str]
    comm_names: list[str]
    comm_m: GeomArr
    comm_ll: GeomArr
    street_ll: Any
    comp_m: GeomArr
    comp_ll: GeomArr
    comp_comm: IntArr
    comp_codes: list[str]
    comp_names: list[str]
    comp_addr: list[str]
    comp_north: FloatArr


def build_grids(seed: int, sc: Scale, frame: Frame) -> Grids:
    """Street outline, roads, communities and compounds (tiling, coded, named)."""
    outline, sides = street_outline(random_stream(seed, "outline"), sc)
    roads, art_lines = arterial_roads(random_stream(seed, "arterials"), sc, outline)
    side_names = BOUNDARY_ROADS if sc.communities == len(COMMUNITIES) else ("北环路", "东环路", "南环路", "西环路")
    for name, pts in zip(side_names, sides, strict=True):
        roads.append(Road(name, name, None, shapely.LineString(pts), "boundary"))

    # communities: arterial faces merged down to the community count
    art_faces = polygonize([outline.exterior, *art_lines])
    comm_faces, _ = merge_faces(art_faces, np.zeros(len(art_faces), dtype=np.int64), np.array([sc.communities]))
    if len(comm_faces) != sc.communities:
        raise RuntimeError("arterial roads produced too few community faces")
    carea = shapely.area(comm_faces)
    targets = apportion(sc.compounds, carea, minimum=1, caps=np.full(len(carea), 999))

    # compounds: faces of outline + arterials + lanes, merged within communities
    lanes = lane_lines(random_stream(seed, "lanes"), sc, comm_faces, targets)
    all_lines = [shapely.LinearRing(outline.exterior), *art_lines, *lanes]
    merged_lines = shapely.union_all(np.asarray(all_lines, dtype=object), grid_size=GRID_M)
    road_edges = shapely.get_parts(merged_lines)
    faces = shapely.get_parts(shapely.polygonize(road_edges))
    faces = np.asarray(shapely.orient_polygons(faces[shapely.area(faces) > 0]), dtype=object)
    fcomm = assign_faces(faces, comm_faces)
    fcount = np.bincount(fcomm, minlength=sc.communities)
    if (fcount < targets).any():
        targets = apportion(sc.compounds, carea, minimum=1, caps=np.minimum(fcount, 999))
    comp_m, comp_comm = merge_faces(faces, fcomm, targets)
    comp_m = np.asarray(shapely.orient_polygons(comp_m), dtype=object)

    # to lon/lat, 7 decimals; parents are exact coverage unions of their rounded children
    comp_ll = frame.geoms_to_lonlat(comp_m)
    if not shapely.is_valid(comp_ll).all():
        raise RuntimeError("rounding made a compound invalid")
    if not shapely.coverage_is_valid(comp_ll):
        raise RuntimeError("compounds do not form a valid coverage after rounding")
    order_c = np.argsort(comp_comm, kind="stable")
    comp_m, comp_ll, comp_comm = comp_m[order_c], comp_ll[order_c], comp_comm[order_c]
    starts = np.searchsorted(comp_comm, np.arange(sc.communities + 1))
    comm_ll = np.empty(sc.communities, dtype=object)
    comm_m = np.empty(sc.communities, dtype=object)
    for c in range(sc.communities):
        part_ll = comp_ll[starts[c] : starts[c + 1]]
        comm_ll[c] = shapely.coverage_union_all(part_ll)
        comm_m[c] = shapely.coverage_union_all(comp_m[starts[c] : starts[c + 1]])
    street_ll = shapely.coverage_union_all(comm_ll)
    if not (shapely.is_valid(comm_ll).all() and street_ll.is_valid):
        raise RuntimeError("invalid community/street polygon")

    # community codes: layout order of the faces (north→south rows, west→east)
    comm_ll_multi = as_multi(comm_ll)
    cc = shapely.get_coordinates(shapely.centroid(comm_ll_multi))
    band_c = (street_ll.bounds[3] - street_ll.bounds[1]) / max(1, grid_shape(sc.communities, 1.0)[0]) * 0.6
    order_comm = row_band_order(
        np.zeros(sc.communities, dtype=np.int64), np.array([street_ll.bounds[3]]), cc[:, 1], cc[:, 0], band_c
    )
    real = dict(COMMUNITIES)
    if sc.communities == len(COMMUNITIES):
        code_list = list(_COMMUNITY_LAYOUT)
    else:
        used = {int(c[-3:]) for c, _ in COMMUNITIES}
        extra = [f"{STREET_CODE}{k:03d}" for k in range(1, 1000) if k not in used]
        code_list = sorted(real) + extra[: sc.communities - len(COMMUNITIES)]
    face_code = np.empty(sc.communities, dtype=object)
    for rank, face in enumerate(order_comm.tolist()):
        face_code[face] = code_list[rank]
    # renumber communities so index order == code order
    comm_order = np.argsort(face_code.astype(str), kind="stable")
    remap = np.empty(sc.communities, dtype=np.int64)
    remap[comm_order] = np.arange(sc.communities)
    comm_codes = [str(face_code[i]) for i in comm_order]
    comm_names = [community_display_name(real[c]) if c in real else f"文艺路第{c[-3:]}社区" for c in comm_codes]
    comm_m, comm_ll = comm_m[comm_order], comm_ll[comm_order]
    comp_comm = remap[comp_comm]

    # compound codes (row band rule on the written MultiPolygons)
    comp_multi = as_multi(comp_ll)
    cen = shapely.get_coordinates(shapely.centroid(comp_multi))
    comm_north = shapely.bounds(as_multi(comm_ll))[:, 3]
    order = row_band_order(comp_comm, comm_north, cen[:, 1], cen[:, 0], COMPOUND_ROW_BAND_DEG)
    comp_m, comp_ll, comp_comm = comp_m[order], comp_ll[order], comp_comm[order]
    serial = ranks_within(comp_comm) + 1
    comp_codes = [f"{comm_codes[c]}{s:03d}" for c, s in zip(comp_comm.tolist(), serial.tolist(), strict=True)]
    comp_north = shapely.bounds(comp_ll)[:, 3]
    comp_addr, comp_names = _compound_names(random_stream(seed, "names"), roads, comp_m)
    edges = np.asarray(road_edges, dtype=object)
    return Grids(
        outline,
        roads,
        edges,
        comm_codes,
        comm_names,
        comm_m,
        comm_ll,
        street_ll,
        comp_m,
        comp_ll,
        comp_comm,
        comp_codes,
        comp_names,
        comp_addr,
        comp_north,
    )


def _compound_names(rng: np.random.Generator, roads: list[Road], comp_m: GeomArr) -> tuple[list[str], list[str]]:
    """House-number addresses along the nearest named road, and display names."""
    n = len(comp_m)
    c = shapely.get_coordinates(shapely.centroid(comp_m))
    ridx, pos, side = segment_index([r.line for r in roads]).nearest(c)
    names = [roads[r].name_at(float(y)) for r, y in zip(ridx.tolist(), c[:, 1].tolist(), strict=True)]
    uniq = sorted(set(names))
    name_id = np.array([uniq.index(s) for s in names], dtype=np.int64)
    order = np.lexsort((pos, side, name_id))
    steps = rng.integers(1, 5, size=n) * 2
    numbers = np.zeros(n, dtype=np.int64)
    key = name_id[order] * 2 + side[order]
    start = np.r_[True, key[1:] != key[:-1]]
    csum = np.cumsum(steps[order])
    base = np.maximum.accumulate(np.where(start, csum - steps[order], 0))
    numbers[order] = csum - base - np.where(side[order], 1, 0)
    # odd numbers on the left side, even on the right
    addr = [f"{nm}{num}号院" for nm, num in zip(names, numbers.tolist(), strict=True)]
    display = list(addr)
    pool = list(_COMPOUND_NAMES)
    rng.shuffle(pool)
    chosen = np.flatnonzero(rng.random(n) < 0.45)[: len(pool)]
    for k, i in enumerate(chosen.tolist()):
        display[i] = pool[k]
    return addr, display
