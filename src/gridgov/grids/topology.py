"""Validation of a set of grids: attributes, hierarchy, codes and topology (QGIS topology checker rules and more).

Geometric rules run in metres in a local CGCS2000 Gauss-Krüger frame (:class:`MetricFrame`). A problem area
counts only when it is thicker than ``tolerance_m``: it must survive a negative buffer of ``tolerance_m / 2``
(its largest inscribed circle is wider than the tolerance), so a 0.2 m digitising offset is ignored and a 1 m
one is reported. Each problem is reported once, with the exact grids involved and a point on the problem.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from gridgov.geo.checks import MAX_GRID_VERTICES, geometry_problem, repaired_polygon
from gridgov.geo.crs import MetricFrame, lonlat_of
from gridgov.grids.codes import DEFAULT_SCHEME, CodeScheme, check_code
from gridgov.grids.findings import RULE_ZH, Finding, GridInput
from gridgov.vocab import LEVEL_ZH, LEVELS, PARENT_LEVEL

__all__ = ["validate"]

RULE_ORDER = (
    "invalid_geometry",
    "duplicate_code",
    "orphan",
    "level_mismatch",
    "bad_code",
    "outside_parent",
    "overlap",
    "gap",
    "sliver",
)
_POLYGONAL = ("Polygon", "MultiPolygon")
_POLYGON_ID = 3
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")

GeomArr = npt.NDArray[np.object_]
IntArr = npt.NDArray[np.int64]


def _label(level: str, code: str) -> str:
    return f"{LEVEL_ZH.get(level, '网格')} {code}"


def _area(a: float) -> str:
    return f"{a:.1f} 平方米"


def _polygon_parts(geoms: GeomArr) -> tuple[GeomArr, IntArr]:
    """The non-empty Polygons inside each geometry (collections flattened) and the index of their owner."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    # Overlay results may be GeometryCollections holding MultiPolygons: flatten a second time.
    parts2, owner2 = shapely.get_parts(parts, return_index=True)
    keep = (shapely.get_type_id(parts2) == _POLYGON_ID) & (shapely.area(parts2) > 0)
    return np.asarray(parts2[keep], dtype=object), owner[owner2[keep]].astype(np.int64)


def _thick(parts: GeomArr, width: float) -> npt.NDArray[np.bool_]:
    """Which polygons are wider than ``width`` somewhere (survive a negative buffer of ``width / 2``)."""
    if len(parts) == 0 or width <= 0:
        return np.ones(len(parts), dtype=bool)
    return ~shapely.is_empty(shapely.buffer(parts, -width / 2.0))


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """A valid polygonal version of ``geom`` (projection can, very rarely, make a valid polygon invalid)."""
    if geom.is_valid:
        return geom
    parts, _ = _polygon_parts(np.asarray([shapely.make_valid(geom)], dtype=object))
    return shapely.union_all(parts) if len(parts) else shapely.Polygon()


def _invalid_location(geom: BaseGeometry | None, reason: str) -> list[float] | None:
    """Where an invalid geometry is wrong: the point named by GEOS, the swapped-back grid, or None."""
    match = _REASON_POINT.search(reason)
    if match:
        x, y = float(match.group(1)), float(match.group(2))
        if np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90:
            return [round(x, 7), round(y, 7)]
    if geom is not None and "颠倒" in reason:
        try:
            p = shapely.point_on_surface(geom)
            return [round(p.y, 7), round(p.x, 7)]
        except GEOSException:
            return None
    return None


def _clean_parent(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _on_grid(geom: BaseGeometry | None) -> list[float] | None:
    """A point on a usable lon/lat grid geometry (for findings about the whole grid)."""
    if geom is None:
        return None
    p = shapely.point_on_surface(geom)
    return [round(p.x, 7), round(p.y, 7)]


def _geometry_reason(geom: BaseGeometry | None, max_vertices: int | None) -> str | None:
    """Why a grid's geometry cannot be used (Chinese, GEOS reasons glossed), or None."""
    if geom is None:
        return "几何为空"
    try:
        problem = geometry_problem(geom, max_vertices)
    except GEOSException:
        return "几何无法解析：坐标格式不正确"
    if problem:
        return problem
    if geom.geom_type not in _POLYGONAL:
        return f"几何类型应为面（Polygon/MultiPolygon），实际为 {geom.geom_type}"
    return None


@dataclass
class _Collector:
    """Findings of one run: rows attached, scope applied, identical problems merged."""

    grids: Sequence[GridInput]
    scope: frozenset[str] | None
    frame: MetricFrame | None = None

    def __post_init__(self) -> None:
        self._found: dict[tuple[str, tuple[str, ...], str], Finding] = {}

    def wants(self, codes: Iterable[str]) -> bool:
        """True when a finding on these codes passes the scope filter."""
        return self.scope is None or any(c in self.scope for c in codes)

    def add(
        self,
        rule: str,
        codes: Iterable[str],
        message: str,
        idx: Iterable[int],
        *,
        where: BaseGeometry | None = None,
        location: list[float] | None = None,
        area_m2: float | None = None,
        length_m: float | None = None,
    ) -> None:
        """Record a finding (``where`` is the problem in metres; ``idx`` the inputs involved)."""
        code_list = sorted(set(codes))
        if not self.wants(code_list):
            return
        geometry = None
        if where is not None and self.frame is not None and not where.is_empty:
            location = lonlat_of(where, self.frame)
            geometry = self.frame.to_ll(where)
        rows = sorted({r for i in idx if (r := self.grids[i].row) is not None})
        key = (rule, tuple(code_list), message)
        if key in self._found:  # the same problem seen from another input (e.g. a duplicated code)
            old = self._found[key]
            rows = sorted(set(old.rows) | set(rows))
            location = old.location
        self._found[key] = Finding(
            rule=rule,
            codes=code_list,
            message=message,
            location=location,
            area_m2=None if area_m2 is None else round(area_m2, 2),
            length_m=None if length_m is None else round(length_m, 2),
            rows=rows,
            geometry=geometry,
        )

    def findings(self) -> list[Finding]:
        """All findings in a stable order: rule, codes, location."""
        return sorted(
            self._found.values(),
            key=lambda f: (RULE_ORDER.index(f.rule), f.codes, f.location or [], f.message),
        )


def _attribute_rules(
    grids: Sequence[GridInput], out: _Collector, scheme: CodeScheme, reasons: list[str | None]
) -> dict[str, int]:
    """invalid_geometry, duplicate_code, orphan, level_mismatch, bad_code; returns code → first input index."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grids):
        by_code[g.code].append(i)
    first = {code: idx[0] for code, idx in by_code.items()}

    for i, (g, reason) in enumerate(zip(grids, reasons, strict=True)):
        if reason:
            out.add(
                "invalid_geometry",
                [g.code],
                f"{_label(g.level, g.code)}：{reason}",
                [i],
                location=_invalid_location(g.geometry, reason),
            )

    for code, idx in by_code.items():
        if len(idx) > 1:
            rows = [grids[i].row for i in idx if grids[i].row is not None]
            where = f"（第 {'、'.join(str(r) for r in rows)} 行）" if rows else ""
            ok = [i for i in idx if reasons[i] is None]
            loc = _on_grid(grids[ok[0]].geometry) if ok else None
            out.add("duplicate_code", [code], f"编码 {code} 重复出现 {len(idx)} 次{where}", idx, location=loc)

    for code, idx in by_code.items():
        for i in idx:
            g = grids[i]
            label = _label(g.level, g.code)
            loc = _on_grid(g.geometry) if reasons[i] is None else None
            parent = first.get(g.parent_code) if g.parent_code else None
            if g.level not in LEVELS:
                message = f"{label} 的层级“{g.level}”无法识别（应为 {'、'.join(LEVELS)}）"
                out.add("level_mismatch", [code], message, [i], location=loc)
                continue
            if g.level == "street":
                if g.parent_code:
                    involved = [i] + ([parent] if parent is not None else [])
                    message = f"{label} 是最高层级，不应有上级网格（填写了 {g.parent_code}）"
                    out.add("level_mismatch", [grids[k].code for k in involved], message, involved, location=loc)
            elif not g.parent_code:
                message = f"{label} 缺少上级编码（应为{LEVEL_ZH[PARENT_LEVEL[g.level]]}）"
                out.add("orphan", [code], message, [i], location=loc)
            elif parent is None:
                out.add("orphan", [code], f"{label} 的上级网格 {g.parent_code} 不存在", [i], location=loc)
            elif grids[parent].level != PARENT_LEVEL[g.level]:
                p = grids[parent]
                message = (
                    f"{label} 的上级 {p.code} 是{LEVEL_ZH.get(p.level, p.level)}，应为{LEVEL_ZH[PARENT_LEVEL[g.level]]}"
                )
                out.add("level_mismatch", [code, p.code], message, [i, parent], location=loc)
            bad = None if g.provisional else check_code(code, g.level, g.parent_code, scheme)
            if bad:
                out.add("bad_code", [code], f"{label} {RULE_ZH['bad_code']}：{bad}", [i], location=loc)
    return first


@dataclass
class _Geo:
    """The grids usable for geometric rules, in metres."""

    idx: IntArr  # input indices
    geom: GeomArr  # metric geometries, aligned with idx
    pos: dict[int, int]  # input index → position in idx
    flagged: npt.NDArray[np.bool_]  # has invalid coverage edges among grids of its level


def _geometric_inputs(
    grids: Sequence[GridInput], reasons: list[str | None], first: dict[str, int], frame: MetricFrame
) -> _Geo:
    """Project the usable grids (valid geometry, first of their code, known level) and check level coverages."""
    use = [
        i
        for i, g in enumerate(grids)
        if reasons[i] is None and first[g.code] == i and g.level in LEVELS and g.geometry is not None
    ]
    idx = np.asarray(use, dtype=np.int64)
    ll = np.asarray([shapely.force_2d(grids[i].geometry) for i in use], dtype=object)
    geom = np.asarray(frame.to_m(ll), dtype=object) if len(use) else np.empty(0, dtype=object)
    bad = np.flatnonzero(~shapely.is_valid(geom))
    for k in bad:
        geom[k] = _polygonal(geom[k])
    flagged = np.zeros(len(use), dtype=bool)
    levels = np.asarray([grids[i].level for i in use], dtype=object)
    for level in LEVELS:
        at = np.flatnonzero(levels == level)
        if len(at) > 1:
            edges = shapely.coverage_invalid_edges(geom[at])
            flagged[at] = ~shapely.is_empty(edges)
    return _Geo(idx, geom, {int(i): k for k, i in enumerate(use)}, flagged)


def _overlaps(grids: Sequence[GridInput], geo: _Geo, out: _Collector, tol: float) -> None:
    """Overlaps between siblings (same parent and level; streets among streets)."""
    key = [(grids[i].parent_code or None, grids[i].level) for i in geo.idx.tolist()]
    level_of = np.asarray([k[1] for k in key], dtype=object)
    pairs: set[tuple[int, int]] = set()
    for level in LEVELS:
        at = np.flatnonzero(level_of == level)
        cand = at[geo.flagged[at]]
        # In a valid coverage nothing overlaps; any overlap involves at least one grid with invalid edges.
        if len(cand) == 0:
            continue
        tree = shapely.STRtree(geo.geom[at])
        q, hit = tree.query(geo.geom[cand], predicate="intersects")
        for a, b in zip(cand[q].tolist(), at[hit].tolist(), strict=True):
            if a != b and key[a] == key[b]:
                pairs.add((min(a, b), max(a, b)))
    if not pairs:
        return
    pa = np.asarray(sorted(pairs), dtype=np.int64)
    codes = [(grids[geo.idx[a]].code, grids[geo.idx[b]].code) for a, b in pa.tolist()]
    keep = np.asarray([out.wants(c) for c in codes], dtype=bool)
    pa = pa[keep]
    if len(pa) == 0:
        return
    inter = shapely.intersection(geo.geom[pa[:, 0]], geo.geom[pa[:, 1]])
    parts, owner = _polygon_parts(np.asarray(inter, dtype=object))
    thick = _thick(parts, tol)
    for part, k in zip(parts[thick], owner[thick].tolist(), strict=True):
        ia, ib = int(geo.idx[pa[k, 0]]), int(geo.idx[pa[k, 1]])
        a, b = grids[ia], grids[ib]
        area = float(part.area)
        out.add(
            "overlap",
            [a.code, b.code],
            f"{_label(a.level, a.code)} 与 {b.code} 重叠 {_area(area)}",
            [ia, ib],
            where=part,
            area_m2=area,
        )


def _outside_parent(grids: Sequence[GridInput], geo: _Geo, first: dict[str, int], out: _Collector, tol: float) -> None:
    """The parts of children outside their parent."""
    child: list[int] = []
    parent: list[int] = []
    for k, i in enumerate(geo.idx.tolist()):
        g = grids[i]
        pi = first.get(g.parent_code) if g.parent_code and g.level != "street" else None
        if pi is not None and pi in geo.pos and out.wants([g.code, grids[pi].code]):
            child.append(k)
            parent.append(geo.pos[pi])
    if not child:
        return
    c, p = np.asarray(child, dtype=np.int64), np.asarray(parent, dtype=np.int64)
    shapely.prepare(geo.geom[np.unique(p)])
    inside = shapely.covers(geo.geom[p], geo.geom[c])
    c, p = c[~inside], p[~inside]
    if len(c) == 0:
        return
    parts, owner = _polygon_parts(np.asarray(shapely.difference(geo.geom[c], geo.geom[p]), dtype=object))
    thick = _thick(parts, tol)
    for part, k in zip(parts[thick], owner[thick].tolist(), strict=True):
        ic, ip = int(geo.idx[c[k]]), int(geo.idx[p[k]])
        g, pg = grids[ic], grids[ip]
        area = float(part.area)
        out.add(
            "outside_parent",
            [g.code, pg.code],
            f"{_label(g.level, g.code)} 超出上级{LEVEL_ZH.get(pg.level, '网格')} {pg.code} {_area(area)}",
            [ic, ip],
            where=part,
            area_m2=area,
        )


def _stand_ins(
    grids: Sequence[GridInput],
    geo: _Geo,
    first: dict[str, int],
    reasons: list[str | None],
    frame: MetricFrame,
    max_vertices: int | None,
) -> tuple[dict[int, list[int]], dict[int, BaseGeometry], dict[int, list[int]]]:
    """Children per parent for the gap rule: usable ones, repaired stand-ins (metres) and those beyond repair.

    A child left out of the geometric rules (invalid geometry, unknown level) still covers part of its parent:
    leaving it out would show its whole area as a gap, so the gap rule uses its ``make_valid`` repair instead.
    Later duplicates of a code are simply ignored.
    """
    children: dict[int, list[int]] = defaultdict(list)
    repaired: dict[int, BaseGeometry] = {}
    beyond: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(grids):
        p = first.get(g.parent_code) if g.parent_code and g.level != "street" else None
        if p is None or p == i:
            continue
        if i in geo.pos:
            children[p].append(i)
            continue
        if first[g.code] != i:
            continue
        fixed = repaired_polygon(g.geometry, max_vertices)
        if fixed is not None:
            try:
                fixed = _polygonal(frame.to_m(fixed))
            except (GEOSException, ValueError):
                fixed = None
        if fixed is None or fixed.is_empty:
            beyond[p].append(i)
        else:
            repaired[i] = fixed
            children[p].append(i)
    return children, repaired, beyond


def _gaps(
    grids: Sequence[GridInput],
    geo: _Geo,
    first: dict[str, int],
    out: _Collector,
    tol: float,
    allowed: GeomArr,
    min_area: float,
    reasons: list[str | None],
    max_vertices: int | None = MAX_GRID_VERTICES,
) -> None:
    """Parts of each parent not covered by its children (nor by the allowed-gaps layer).

    Invalid children count with their repaired shape; when a child cannot be repaired the parent's gaps are not
    computed and a ``gap`` finding says so (never a silent skip).
    """
    assert out.frame is not None
    children, repaired, beyond = _stand_ins(grids, geo, first, reasons, out.frame, max_vertices)
    allowed_tree = shapely.STRtree(allowed) if len(allowed) else None
    for p in sorted(set(children) | set(beyond)):
        if p not in geo.pos:  # the parent itself is unusable: its invalid_geometry finding says so
            continue
        kids, broken, pg = children.get(p, []), beyond.get(p, []), grids[p]
        if not out.wants([pg.code, *(grids[i].code for i in kids), *(grids[i].code for i in broken)]):
            continue
        if broken:
            names = "、".join(sorted({grids[i].code for i in broken}))
            why = "；".join(sorted({(reasons[i] if grids[i].geometry is not None else None) or "几何为空或无法读取"
                                   for i in broken}))  # fmt: skip
            out.add(
                "gap",
                [pg.code, *(grids[i].code for i in broken)],
                f"{_label(pg.level, pg.code)} 的空隙检查未能进行：下级 {names} 的几何无法修复（{why}），"
                "修正后请重新校验",
                [p, *broken],
                location=_on_grid(pg.geometry),
            )
            continue
        kgeom = np.asarray([repaired[i] if i in repaired else geo.geom[geo.pos[i]] for i in kids], dtype=object)
        usable = [geo.pos[i] for i in kids if i not in repaired]
        same_level = len({grids[i].level for i in kids}) == 1
        if same_level and not repaired and not geo.flagged[np.asarray(usable, dtype=np.int64)].any():
            union = shapely.coverage_union_all(kgeom)
        else:
            union = shapely.union_all(kgeom)
        gap = shapely.difference(geo.geom[geo.pos[p]], union)
        if gap.is_empty:
            continue
        if allowed_tree is not None:
            near = allowed_tree.query(gap, predicate="intersects")
            if len(near):
                gap = shapely.difference(gap, shapely.union_all(allowed[near]))
        parts, _ = _polygon_parts(np.asarray([gap], dtype=object))
        parts = parts[shapely.area(parts) >= min_area]
        parts = parts[_thick(parts, tol)]
        if len(parts) == 0:
            continue
        tree = shapely.STRtree(kgeom)
        reach = max(tol, 0.01)
        for part in parts:
            near = tree.query(part, predicate="dwithin", distance=reach)
            # Bordering = sharing a stretch of boundary with the gap (within the tolerance), not a mere corner:
            # a corner touch leaves 2 × reach of the child's boundary within reach of the gap.
            shared = shapely.length(shapely.intersection(shapely.boundary(kgeom[near]), part.buffer(reach)))
            bordering = sorted(kids[j] for j in near[shared > 2.5 * reach].tolist())
            area = float(part.area)
            names = "、".join(sorted(grids[i].code for i in bordering)) or "无"
            fixed = sorted(grids[i].code for i in bordering if i in repaired)
            note = f"；{'、'.join(fixed)} 几何无效，按修复后的形状计算，修正后请重新校验" if fixed else ""
            out.add(
                "gap",
                [pg.code, *(grids[i].code for i in bordering)],
                f"{_label(pg.level, pg.code)} 内有 {_area(area)} 未被下级网格覆盖（相邻：{names}{note}）",
                [p, *bordering],
                where=part,
                area_m2=area,
            )


def _slivers(grids: Sequence[GridInput], geo: _Geo, out: _Collector, width: float) -> None:
    """Grids, or parts of multipolygon grids, thinner than ``width`` everywhere."""
    if width <= 0 or len(geo.idx) == 0:
        return
    want = np.asarray([out.wants([grids[i].code]) for i in geo.idx.tolist()], dtype=bool)
    parts, owner = _polygon_parts(geo.geom[want])
    owner = np.flatnonzero(want)[owner]
    thin = ~_thick(parts, width)
    for part, k in zip(parts[thin], owner[thin].tolist(), strict=True):
        i = int(geo.idx[k])
        g = grids[i]
        area, perimeter = float(part.area), float(part.length)
        mean_width = 2 * area / perimeter if perimeter > 0 else 0.0
        out.add(
            "sliver",
            [g.code],
            f"{_label(g.level, g.code)} 含{RULE_ZH['sliver']}：宽约 {mean_width:.2f} 米（不足 {width:g} 米），"
            f"长约 {perimeter / 2:.1f} 米，{_area(area)}",
            [i],
            where=part,
            area_m2=area,
            length_m=perimeter / 2,
        )


def _allowed_m(allowed_gaps: Sequence[BaseGeometry], frame: MetricFrame) -> GeomArr:
    """The allowed-gaps layer (EPSG:4326) as valid metric polygons; invalid polygons are repaired, not dropped."""
    geoms = np.asarray([shapely.force_2d(g) for g in allowed_gaps if g is not None and not g.is_empty], dtype=object)
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    geoms = geoms[np.isfinite(shapely.bounds(geoms)).all(axis=1)]
    m = np.asarray(frame.to_m(geoms), dtype=object)
    bad = ~shapely.is_valid(m)
    m[bad] = shapely.make_valid(m[bad])
    parts, _ = _polygon_parts(m)
    return parts


def validate(
    grids: Sequence[GridInput],
    *,
    tolerance_m: float = 0.5,
    allowed_gaps: Sequence[BaseGeometry] = (),
    min_gap_area_m2: float = 1.0,
    sliver_width_m: float = 2.0,
    scheme: CodeScheme | None = None,
    scope: Iterable[str] | None = None,
    max_vertices: int | None = MAX_GRID_VERTICES,
) -> list[Finding]:
    """All problems of a set of grids, each once; with ``scope``, only those involving one of those codes.

    A grid with more than ``max_vertices`` vertices is an ``invalid_geometry`` (None: no cap).
    """
    # Tables read with pandas give NaN for a missing parent code.
    grids = [g if _clean_parent(g.parent_code) == g.parent_code else replace(g, parent_code=None) for g in grids]
    out = _Collector(grids, frozenset(scope) if scope is not None else None)
    reasons = [_geometry_reason(g.geometry, max_vertices) for g in grids]
    first = _attribute_rules(grids, out, scheme or DEFAULT_SCHEME, reasons)

    usable = [g.geometry for g, r in zip(grids, reasons, strict=True) if r is None]
    if usable:
        frame = MetricFrame.for_geoms(usable)
        out.frame = frame
        geo = _geometric_inputs(grids, reasons, first, frame)
        _outside_parent(grids, geo, first, out, tolerance_m)
        _overlaps(grids, geo, out, tolerance_m)
        allowed = _allowed_m(allowed_gaps, frame)
        _gaps(grids, geo, first, out, tolerance_m, allowed, min_gap_area_m2, reasons, max_vertices)
        _slivers(grids, geo, out, sliver_width_m)
    return out.findings()
