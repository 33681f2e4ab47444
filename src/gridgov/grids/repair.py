"""Explicit repairs with a preview: clip to parent, snap to neighbours, fill a gap, split, merge, renumber.

Each ``plan_*`` computes the changes without writing (the preview); :func:`apply_plan` writes them
as new grid versions (history kept) and re-assigns the entities in the changed area. Geometry work
happens in metres in the local CGCS2000 Gauss-Krüger projection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.config import GridSettings, defaults
from gridgov.errors import Conflict, InvalidInput
from gridgov.geo.crs import MetricFrame
from gridgov.grids import service
from gridgov.grids.checks import scheme_from
from gridgov.grids.codes import next_code, renumber
from gridgov.grids.edits import OPERATIONS_ZH, Change, EditPlan, apply_plan, with_findings
from gridgov.grids.findings import GridInput
from gridgov.grids.service import GridRecord
from gridgov.grids.shapes import merge_shapes, polygonal, split_by_line


def _update(rec: GridRecord, new: BaseGeometry, **kw: Any) -> Change:
    return Change("update", rec.code, rec.name, rec.level, rec.parent_code, rec.version, rec.geom, polygonal(new), **kw)


def plan_clip(session: Session, code: str, settings: GridSettings | None = None) -> EditPlan:
    """Cut away the part of a grid outside its parent."""
    rec = service.get_grid(session, code)
    if rec.parent_code is None:
        raise InvalidInput("街道网格没有上级，无需裁剪")
    parent = service.get_grid(session, rec.parent_code)
    new = shapely.intersection(rec.geom, parent.geom)
    return with_findings(session, EditPlan("clip", [_update(rec, new)]), settings)


def plan_snap(
    session: Session, code: str, tolerance_m: float | None = None, settings: GridSettings | None = None
) -> EditPlan:
    """Move a grid's vertices onto its siblings' (and parent's) vertices and edges within a tolerance."""
    s = settings or defaults(GridSettings)
    tol = tolerance_m if tolerance_m is not None else s.tolerance_m
    rec = service.get_grid(session, code)
    others = [g.geom for g in service.list_grids(session, parent_code=rec.parent_code) if g.code != code]
    if rec.parent_code:
        others.append(service.get_grid(session, rec.parent_code).geom)
    if not others:
        raise InvalidInput(f"{code} 没有可吸附的相邻网格")
    frame = MetricFrame.for_geoms([rec.geom])
    reference = shapely.union_all([shapely.boundary(frame.to_m(g)) for g in others])
    snapped = frame.to_ll(shapely.snap(frame.to_m(rec.geom), reference, tol))
    return with_findings(session, EditPlan("snap", [_update(rec, snapped)]), s)


def _gaps_m(parent: GridRecord, children: Sequence[GridRecord], frame: MetricFrame, tol: float) -> list[Polygon]:
    covered = shapely.union_all([frame.to_m(c.geom) for c in children])
    rest = shapely.difference(frame.to_m(parent.geom), covered)
    parts = [p for p in getattr(rest, "geoms", [rest]) if isinstance(p, Polygon)]
    return [p for p in parts if not shapely.buffer(p, -tol).is_empty]


def plan_fill_gap(
    session: Session, parent_code: str, at: tuple[float, float] | None = None, settings: GridSettings | None = None
) -> EditPlan:
    """Give each gap under a parent (or the one nearest ``at``) to the neighbour with the longest shared border."""
    s = settings or defaults(GridSettings)
    parent = service.get_grid(session, parent_code)
    children = service.list_grids(session, parent_code=parent_code)
    if not children:
        raise InvalidInput(f"{parent_code} 没有下级网格")
    frame = MetricFrame.for_geoms([parent.geom])
    gaps = _gaps_m(parent, children, frame, s.tolerance_m)
    if at is not None and gaps:
        p = frame.to_m(Point(at))
        gaps = [min(gaps, key=lambda g: g.distance(p))]
    if not gaps:
        raise InvalidInput(f"{parent_code} 下没有需要填补的空隙")
    grown: dict[str, BaseGeometry] = {}
    for gap in gaps:
        edge = shapely.buffer(gap, s.tolerance_m)

        def shared(c: GridRecord, gap_zone: BaseGeometry = edge) -> float:
            return float(shapely.length(shapely.intersection(shapely.boundary(frame.to_m(c.geom)), gap_zone)))

        best = max(children, key=lambda c: (shared(c), c.code))
        if shared(best) == 0:
            continue
        base = grown.get(best.code, frame.to_m(best.geom))
        grown[best.code] = shapely.union(base, gap)
    by_code = {c.code: c for c in children}
    changes = [_update(by_code[c], frame.to_ll(g)) for c, g in sorted(grown.items())]
    return with_findings(session, EditPlan("fill_gap", changes), s)


def plan_split(
    session: Session, code: str, line: BaseGeometry | dict[str, Any], new_names: Sequence[str] = (),
    settings: GridSettings | None = None,
) -> EditPlan:  # fmt: skip
    """Split a grid along a drawn line (e.g. a road); the largest piece keeps the code, others get new codes."""
    s = settings or defaults(GridSettings)
    rec = service.get_grid(session, code)
    if rec.parent_code is None:
        raise InvalidInput("街道网格不能分割")
    pieces = split_by_line(rec.geom, line, f"网格 {code}")
    changes = [_update(rec, pieces[0])]
    used = service.all_codes(session)
    scheme = scheme_from(s)
    for i, piece in enumerate(pieces[1:]):
        new = next_code(used, rec.parent_code, rec.level, scheme)
        used.add(new)
        name = new_names[i] if i < len(new_names) else f"{rec.name}（分{i + 2}）"
        changes.append(Change("create", new, name, rec.level, rec.parent_code, None, None, polygonal(piece)))
    return with_findings(session, EditPlan("split", changes), s)


def plan_merge(
    session: Session, codes: Sequence[str], name: str | None = None, settings: GridSettings | None = None
) -> EditPlan:
    """Merge adjacent sibling grids; the smallest code keeps the union, the others are retired."""
    if len(set(codes)) < 2:
        raise InvalidInput("合并至少需要两个网格")
    recs = service.get_grids(session, codes)  # by code
    if len({(r.parent_code, r.level) for r in recs}) != 1:
        raise InvalidInput("只能合并同一上级下的同级网格")
    if service.with_children(session, [r.code for r in recs[1:]]):
        raise Conflict("被合并的网格仍有下级网格，请先处理下级网格")
    union = merge_shapes([r.geom for r in recs])
    keep = recs[0]
    changes = [Change("update", keep.code, name or keep.name, keep.level, keep.parent_code, keep.version, keep.geom,
                      union)]  # fmt: skip
    changes += [Change("retire", r.code, r.name, r.level, r.parent_code, r.version, r.geom, None) for r in recs[1:]]
    return with_findings(session, EditPlan("merge", changes), settings)


def plan_renumber(session: Session, parent_code: str, settings: GridSettings | None = None) -> EditPlan:
    """Renumber a parent's children west→east, then north→south; unchanged codes are left alone."""
    s = settings or defaults(GridSettings)
    children = service.list_grids(session, parent_code=parent_code)
    if service.with_children(session, [c.code for c in children]):
        raise Conflict("下级网格还有子网格，暂不支持级联重新编号")
    inputs = [GridInput(c.code, c.name, c.level, c.parent_code, c.geom) for c in children]
    mapping_ = renumber(inputs, parent_code, scheme_from(s))
    changes = [
        Change("update", c.code, c.name, c.level, c.parent_code, c.version, c.geom, c.geom, new_code=mapping_[c.code])
        for c in children
        if mapping_.get(c.code, c.code) != c.code
    ]
    return EditPlan("renumber", changes)


@dataclass(frozen=True)
class RepairRequest:
    """What a face asks for: the operation and its arguments (unused ones stay None)."""

    operation: str
    code: str | None = None
    codes: Sequence[str] = ()
    parent: str | None = None
    line: BaseGeometry | dict[str, Any] | None = None
    at: tuple[float, float] | None = None
    tolerance_m: float | None = None
    name: str | None = None


def _need(value: str | None) -> str:
    if not value:
        raise InvalidInput("缺少网格编码参数")
    return value


def plan(session: Session, req: RepairRequest, settings: GridSettings) -> EditPlan:
    """The preview of one repair request (the single dispatcher for the API and the CLI)."""
    builders: dict[str, Callable[[], EditPlan]] = {
        "clip": lambda: plan_clip(session, _need(req.code), settings),
        "snap": lambda: plan_snap(session, _need(req.code), req.tolerance_m, settings),
        "fill_gap": lambda: plan_fill_gap(session, _need(req.parent), req.at, settings),
        "split": lambda: plan_split(session, _need(req.code), req.line or {}, settings=settings),
        "merge": lambda: plan_merge(session, list(req.codes), req.name, settings),
        "renumber": lambda: plan_renumber(session, _need(req.parent), settings),
    }
    if req.operation not in builders:
        raise InvalidInput(f"未知的修复操作：{req.operation}（可选 {'、'.join(OPERATIONS_ZH)}）")
    return builders[req.operation]()


def repair(session: Session, req: RepairRequest, *, apply: bool, actor: Actor, settings: GridSettings
           ) -> tuple[EditPlan, dict[str, int]]:  # fmt: skip
    """Preview a repair and write it when ``apply``: the plan and the re-assigned counts per table.

    Applying needs every code the request names in the actor's scope, and then everything the plan touches.
    """
    if apply:
        named = [c for c in (req.code, req.parent, *req.codes) if c]
        authorize(session, actor, "write", Touches(codes=named), tolerance_m=settings.tolerance_m)
    p = plan(session, req, settings)
    return p, (apply_plan(session, p, actor, settings.tolerance_m, settings.max_grid_vertices) if apply else {})
