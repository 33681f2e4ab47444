"""Patrol teams: areas, planned routes along the road graph, GPX night-shift tracks, and the roster they follow
(with a few shifts missed, started late or left early)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx
import numpy as np
import shapely

from gridgov.sample.generate.arrays import BoolArr, FloatArr, GeomArr, IntArr, random_stream
from gridgov.sample.generate.constants import GENERATOR_VERSION, GRID_M, SHIFTS
from gridgov.sample.generate.frame import Frame
from gridgov.sample.generate.geometry import as_multi
from gridgov.sample.generate.grids import Grids
from gridgov.sample.generate.writers import write_gpkg

_TZ = timezone(timedelta(hours=8))

TEAMS = (
    ("PT01", "文艺路派出所巡逻一队", "ebike", SHIFTS),
    ("PT02", "文艺路派出所巡逻二队", "walk", SHIFTS),
    ("PT03", "街道综治巡逻队", "walk", SHIFTS),
    ("PT04", "平安志愿者巡逻队", "walk", ("上半夜",)),
)
# Each team's kind, unit (notified each afternoon) and usual shift (None: both), in TEAMS order.
TEAM_DETAILS = (
    ("专职", "文艺路派出所", None),
    ("专职", "文艺路派出所", None),
    ("机关干部", "文艺路街道办事处", None),
    ("社区志愿者", "社区志愿者协会", "上半夜"),
)
# How often a rostered shift goes wrong, so the attendance (考勤) has something to show: the team never starts
# (缺勤), starts late, or stops early; minutes drawn in the ranges (well beyond a 15-minute grace).
ABSENT_P, LATE_P, EARLY_P = 0.04, 0.07, 0.05
LATE_MIN, EARLY_MIN = (20, 55), (25, 50)


@dataclass
class _Graph:
    """Road graph: nodes are edge endpoints on the 0.5 m grid."""

    edge_coords: list[FloatArr]
    edge_len: FloatArr
    edge_nodes: IntArr  # (m, 2)
    node_xy: FloatArr
    adj: list[list[tuple[int, int]]]


def _road_graph(edges: GeomArr, keep: BoolArr) -> _Graph:
    """Graph of the kept noded road edges."""
    sel = np.flatnonzero(keep)
    coords = [shapely.get_coordinates(edges[i]) for i in sel.tolist()]
    ends = np.array([[c[0], c[-1]] for c in coords]).reshape(-1, 2) if coords else np.zeros((0, 2))
    q = np.rint(ends / GRID_M).astype(np.int64)
    uq, inv = np.unique(q, axis=0, return_inverse=True)
    edge_nodes = inv.reshape(-1, 2).astype(np.int64)
    adj: list[list[tuple[int, int]]] = [[] for _ in range(len(uq))]
    for e, (a, b) in enumerate(edge_nodes.tolist()):
        if a == b:
            continue
        adj[a].append((e, b))
        adj[b].append((e, a))
    lens = np.array([float(np.hypot(*np.diff(c, axis=0).T).sum()) for c in coords])
    return _Graph(coords, lens, edge_nodes, (uq * GRID_M).astype(np.float64), adj)


def _component(g: _Graph, start: int) -> set[int]:
    """Nodes reachable from ``start``."""
    seen = {start}
    stack = [start]
    while stack:
        a = stack.pop()
        for _, b in g.adj[a]:
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def _edge_path(g: _Graph, e: int, frm: int) -> FloatArr:
    """Coordinates of edge ``e`` oriented away from node ``frm``."""
    c = g.edge_coords[e]
    return c if int(g.edge_nodes[e, 0]) == frm else c[::-1]


def _dijkstra(g: _Graph, src: int, dst: int) -> list[tuple[int, int]]:
    """Shortest path as a list of (edge, from-node)."""
    dist = {src: 0.0}
    prev: dict[int, tuple[int, int]] = {}
    heap = [(0.0, src)]
    while heap:
        d, a = heappop(heap)
        if a == dst:
            break
        if d > dist.get(a, math.inf):
            continue
        for e, b in g.adj[a]:
            nd = d + float(g.edge_len[e])
            if nd < dist.get(b, math.inf):
                dist[b] = nd
                prev[b] = (e, a)
                heappush(heap, (nd, b))
    path: list[tuple[int, int]] = []
    cur = dst
    while cur != src:
        if cur not in prev:
            return []
        e, a = prev[cur]
        path.append((e, a))
        cur = a
    return path[::-1]


def _walk(rng: np.random.Generator, g: _Graph, start: int, distance: float) -> FloatArr:
    """Random walk along road edges (few U-turns, prefers less visited edges) of at least ``distance``."""
    visits: dict[int, int] = {}
    cur, prev_e = start, -1
    pieces: list[FloatArr] = [g.node_xy[start][None, :]]
    total = 0.0
    while total < distance:
        opts = g.adj[cur]
        if not opts:
            break
        if len(opts) > 1:
            opts = [o for o in opts if o[0] != prev_e] or opts
        w = np.array([1.0 / (1 + visits.get(e, 0)) ** 2 for e, _ in opts])
        e, nxt = opts[int(rng.choice(len(opts), p=w / w.sum()))]
        pieces.append(_edge_path(g, e, cur)[1:])
        visits[e] = visits.get(e, 0) + 1
        total += float(g.edge_len[e])
        cur, prev_e = nxt, e
    return np.vstack(pieces)


def _track(
    rng: np.random.Generator, g: _Graph, start: int, t0: datetime, t1: datetime, speed: float
) -> tuple[FloatArr, list[datetime]]:
    """Timed GPS fixes (10–30 s apart, ~3 m noise, occasional stops) along a random road walk."""
    dur = (t1 - t0).total_seconds()
    dts: list[int] = []
    moving: list[bool] = []
    t = 0
    stop_left = 0
    while True:
        dt = int(rng.integers(10, 31))
        if t + dt > dur:
            break
        t += dt
        dts.append(dt)
        if stop_left > 0:
            stop_left -= 1
            moving.append(False)
        else:
            if rng.random() < 0.015:
                stop_left = int(rng.integers(4, 20))
            moving.append(True)
    dt_arr = np.asarray(dts, dtype=np.float64)
    v = speed * rng.uniform(0.85, 1.15, len(dts)) * np.asarray(moving)
    dist = np.r_[0.0, np.cumsum(dt_arr * v)]
    path = _walk(rng, g, start, float(dist[-1]) + 1.0)
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    x = np.interp(dist, cum, path[:, 0]) + rng.normal(0.0, 3.0, len(dist))
    y = np.interp(dist, cum, path[:, 1]) + rng.normal(0.0, 3.0, len(dist))
    times = [t0 + timedelta(seconds=int(s)) for s in np.r_[0, np.cumsum(dts)].tolist()]
    return np.column_stack([x, y]), times


def write_patrols(seed: int, out: Path, grids: Grids, frame: Frame, nights: int, end: date) -> tuple[int, int]:
    """Patrol teams (areas, planned routes) and GPX night-shift tracks; returns (teams, tracks)."""
    rng = random_stream(seed, "patrol")
    duty = random_stream(seed, "patrol-duty")  # late, early and absent shifts: their own stream
    roster: list[tuple[str, str, str]] = []  # (night, shift, team) rostered, including the absent ones
    n_comm = len(grids.comm_codes)
    cen = shapely.get_coordinates(shapely.centroid(grids.comm_m))
    street_c = cen.mean(axis=0)
    half = max(1, round(n_comm * 0.5))
    by_lon = np.argsort(cen[:, 0], kind="stable")
    by_lat = np.argsort(cen[:, 1], kind="stable")
    by_center = np.argsort(np.hypot(*(cen - street_c).T), kind="stable")
    areas_idx = [
        np.sort(by_lon[:half]),
        np.sort(by_lon[-half:]),
        np.sort(by_lat[: max(1, round(n_comm * 0.4))]),
        np.sort(by_center[: max(1, round(n_comm * 0.3))]),
    ]
    (out / "patrol").mkdir(exist_ok=True)
    mids = shapely.line_interpolate_point(grids.road_edges_m, 0.5, normalized=True)
    area_rows: list[tuple[str, str, Any]] = []
    route_rows: list[tuple[str, Any]] = []
    n_tracks = 0
    first_night = end - timedelta(days=nights - 1)
    for (code, name, mode, shifts), idx in zip(TEAMS, areas_idx, strict=True):
        area_m = shapely.coverage_union_all(grids.comm_m[idx])
        area_ll = shapely.coverage_union_all(grids.comm_ll[idx])
        area_rows.append((code, name, as_multi(np.asarray([area_ll], dtype=object))[0]))
        keep = shapely.covers(shapely.buffer(area_m, 2.0), mids)
        g = _road_graph(grids.road_edges_m, keep)
        station_pt = np.array(shapely.point_on_surface(area_m).coords[0])
        start = int(np.argmin(np.hypot(*(g.node_xy - station_pt).T)))
        comp = _component(g, start)
        comp_nodes = np.array(sorted(comp), dtype=np.int64)
        # planned route: loop through the nodes nearest to each community's interior point
        wps: list[int] = [start]
        for c in idx.tolist():
            p = np.array(shapely.point_on_surface(grids.comm_m[c]).coords[0])
            wps.append(int(comp_nodes[np.argmin(np.hypot(*(g.node_xy[comp_nodes] - p).T))]))
        ang = np.arctan2(g.node_xy[wps, 1] - station_pt[1], g.node_xy[wps, 0] - station_pt[0])
        loop = [start] + [w for _, w in sorted(zip(ang[1:].tolist(), wps[1:], strict=True)) if w != start]
        loop.append(start)
        pts: list[FloatArr] = [g.node_xy[start][None, :]]
        for a, b in zip(loop[:-1], loop[1:], strict=True):
            for e, frm in _dijkstra(g, a, b):
                pts.append(_edge_path(g, e, frm)[1:])
        route = frame.to_lonlat(np.vstack(pts))
        keep_pt = np.r_[True, np.any(np.diff(route, axis=0) != 0, axis=1)]
        route = route[keep_pt]
        if len(route) < 2:
            route = np.vstack([route, route + 1e-7])
        route_rows.append((code, shapely.LineString(route)))
        # tracks
        gpx = gpxpy.gpx.GPX()
        gpx.creator = f"gridgov sample generator {GENERATOR_VERSION}"
        gpx.name = name  # type: ignore[assignment]
        gpx.description = f"{code} {name}"  # type: ignore[assignment]
        for k in range(nights):
            night = first_night + timedelta(days=k)
            for shift in shifts:
                if shift == "上半夜":
                    a_t = datetime(night.year, night.month, night.day, 20, 0, tzinfo=_TZ)
                    b_t = a_t + timedelta(hours=3, minutes=30)
                else:
                    a_t = datetime(night.year, night.month, night.day, 23, 30, tzinfo=_TZ)
                    b_t = a_t + timedelta(hours=6, minutes=30)
                roster.append((night.isoformat(), shift, code))
                t0 = a_t + timedelta(seconds=int(rng.integers(0, 600)))
                t1 = b_t - timedelta(seconds=int(rng.integers(0, 900)))
                luck = float(duty.random())
                if luck < ABSENT_P:
                    continue
                if luck < ABSENT_P + LATE_P:
                    t0 = a_t + timedelta(minutes=int(duty.integers(*LATE_MIN)))
                elif luck < ABSENT_P + LATE_P + EARLY_P:
                    t1 = b_t - timedelta(minutes=int(duty.integers(*EARLY_MIN)))
                speed = rng.uniform(3.6, 4.4) if mode == "ebike" else rng.uniform(1.2, 1.6)
                xy, times = _track(rng, g, start, t0, t1, speed)
                ll = frame.to_lonlat(xy)
                trk = gpxpy.gpx.GPXTrack(name=f"{night.isoformat()} {shift}", description=code)
                trk.type = shift  # type: ignore[assignment]
                segm = gpxpy.gpx.GPXTrackSegment()
                for (lon, lat), tt in zip(ll.tolist(), times, strict=True):
                    segm.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, time=tt.astimezone(UTC)))
                trk.segments.append(segm)
                gpx.tracks.append(trk)
                n_tracks += 1
        (out / "patrol" / f"{code}.gpx").write_text(gpx.to_xml(version="1.1"), encoding="utf-8")
    communities = [grids.comm_codes[int(idx[0])] for idx in areas_idx]  # each team serves its area's first
    write_gpkg(
        out / "patrol_teams.gpkg",
        "areas",
        {"team_code": [r[0] for r in area_rows], "team_name": [r[1] for r in area_rows],
         "kind": [d[0] for d in TEAM_DETAILS], "unit": [d[1] for d in TEAM_DETAILS],
         "shift": [d[2] for d in TEAM_DETAILS], "grid_code": communities},
        [r[2] for r in area_rows],
        "MultiPolygon",
    )  # fmt: skip
    with (out / "patrol_roster.csv").open("w", encoding="utf-8", newline="") as f:
        f.write("night,shift,team_code\n")
        f.writelines(f"{n},{sh},{c}\n" for n, sh, c in sorted(roster))
    write_gpkg(
        out / "patrol_teams.gpkg",
        "routes",
        {"team_code": [r[0] for r in route_rows]},
        [r[1] for r in route_rows],
        "LineString",
        append=True,
    )
    return len(TEAMS), n_tracks
