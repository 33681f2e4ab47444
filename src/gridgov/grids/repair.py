"""Explicit repairs with a preview: clip to parent, snap to neighbours, fill a gap, split, merge, renumber.

Each ``plan_*`` computes the changes without writing (the preview); :func:`apply_plan` writes them
as new grid versions (history kept) and re-assigns the entities in the changed area. Geometry work
happens in metres in the local CGCS2000 Gauss-Krüger projection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_polygon
from sqlalchemy.orm import Session

from gridgov.assign.points import reassign_area
from gridgov.auth.scope import DEFAULT_TOLERANCE_M, Actor, Touches, authorize
from gridgov.config import GridSettings, defaults
from gridgov.errors import Conflict, InvalidInput
from gridgov.geo.checks import MAX_GRID_VERTICES, vertex_problem
from gridgov.geo.crs import MetricFrame
from gridgov.grids import service
from gridgov.grids.checks import live_inputs, run_checks, scheme_from
from gridgov.grids.codes import next_code, renumber
from gridgov.grids.findings import Finding, GridInput
from gridgov.grids.service import GridRecord

OPERATIONS_ZH = {"clip": "裁剪到上级", "snap": "吸附到相邻网格", "fill_gap": "空隙并入相邻网格", "split": "分割",
                 "merge": "合并", "renumber": "重新编号"}  # fmt: skip


@dataclass
class Change:
    """One grid's change in a plan."""

    action: str  # update | create | retire
    code: str
    name: str
    level: str
    parent_code: str | None
    version: int | None
    old: BaseGeometry | None
    new: BaseGeometry | None
    new_code: str | None = None


@dataclass
class RepairPlan:
    """A previewed repair: the changes and the findings that would remain in the area."""

    operation: str
    changes: list[Change]
    findings_after: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON preview with areas in m²."""
        geoms = [g for c in self.changes for g in (c.old, c.new) if g is not None]
        frame = MetricFrame.for_geoms(geoms) if geoms else None

        def area(g: BaseGeometry | None) -> float | None:
            return None if g is None or frame is None else round(float(frame.to_m(g).area), 2)

        return {
            "operation": self.operation,
            "operation_zh": OPERATIONS_ZH[self.operation],
            "changes": [
                {
                    "action": c.action,
                    "code": c.code,
                    "new_code": c.new_code,
                    "name": c.name,
                    "area_before_m2": area(c.old),
                    "area_after_m2": area(c.new),
                    "geometry": mapping(c.new) if c.new is not None else None,
                }
                for c in self.changes
            ],
            "findings_after": [f.as_dict() for f in self.findings_after],
        }


def _multi(geom: BaseGeometry) -> MultiPolygon:
    geom = shapely.make_valid(geom)
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    parts = [p for g in polys for p in ([g] if isinstance(g, Polygon) else list(g.geoms))]
    if not parts:
        raise InvalidInput("修复后几何为空")
    return MultiPolygon(parts)


def _update(rec: GridRecord, new: BaseGeometry, **kw: Any) -> Change:
    return Change("update", rec.code, rec.name, rec.level, rec.parent_code, rec.version, rec.geom, _multi(new), **kw)


def _with_findings(session: Session, plan: RepairPlan, settings: GridSettings | None) -> RepairPlan:
    """Attach the findings that remain after the plan, limited to the grids it touches."""
    grids = {g.code: g for g in live_inputs(session)}
    touched = set()
    for c in plan.changes:
        code = c.new_code or c.code
        touched.add(code)
        if c.action == "retire":
            grids.pop(c.code, None)
            continue
        grids.pop(c.code, None)
        grids[code] = GridInput(code, c.name, c.level, c.parent_code, c.new)
    plan.findings_after = run_checks(list(grids.values()), scope=touched, settings=settings)
    return plan


def plan_clip(session: Session, code: str, settings: GridSettings | None = None) -> RepairPlan:
    """Cut away the part of a grid outside its parent."""
    rec = service.get_grid(session, code)
    if rec.parent_code is None:
        raise InvalidInput("街道网格没有上级，无需裁剪")
    parent = service.get_grid(session, rec.parent_code)
    new = shapely.intersection(rec.geom, parent.geom)
    return _with_findings(session, RepairPlan("clip", [_update(rec, new)]), settings)


def plan_snap(
    session: Session, code: str, tolerance_m: float | None = None, settings: GridSettings | None = None
) -> RepairPlan:
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
    return _with_findings(session, RepairPlan("snap", [_update(rec, snapped)]), s)


def _gaps_m(parent: GridRecord, children: Sequence[GridRecord], frame: MetricFrame, tol: float) -> list[Polygon]:
    covered = shapely.union_all([frame.to_m(c.geom) for c in children])
    rest = shapely.difference(frame.to_m(parent.geom), covered)
    parts = [p for p in getattr(rest, "geoms", [rest]) if isinstance(p, Polygon)]
    return [p for p in parts if not shapely.buffer(p, -tol).is_empty]


def plan_fill_gap(
    session: Session, parent_code: str, at: tuple[float, float] | None = None, settings: GridSettings | None = None
) -> RepairPlan:
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
    return _with_findings(session, RepairPlan("fill_gap", changes), s)


def plan_split(
    session: Session, code: str, line: BaseGeometry | dict[str, Any], new_names: Sequence[str] = (),
    settings: GridSettings | None = None,
) -> RepairPlan:  # fmt: skip
    """Split a grid along a drawn line (e.g. a road); the largest piece keeps the code, others get new codes."""
    s = settings or defaults(GridSettings)
    cut = line if isinstance(line, BaseGeometry) else shapely.geometry.shape(line)
    if not isinstance(cut, LineString):
        raise InvalidInput("分割线应为折线（LineString）")
    rec = service.get_grid(session, code)
    pieces = [p for poly in rec.geom.geoms for p in split_polygon(poly, cut).geoms]
    if len(pieces) < 2:
        raise InvalidInput(f"分割线没有穿过网格 {code}")
    frame = MetricFrame.for_geoms([rec.geom])
    pieces.sort(key=lambda p: -frame.to_m(p).area)
    changes = [_update(rec, pieces[0])]
    used = service.all_codes(session)
    scheme = scheme_from(s)
    for i, piece in enumerate(pieces[1:]):
        if rec.parent_code is None:
            raise InvalidInput("街道网格不能分割")
        new = next_code(used, rec.parent_code, rec.level, scheme)
        used.add(new)
        name = new_names[i] if i < len(new_names) else f"{rec.name}（分{i + 2}）"
        changes.append(Change("create", new, name, rec.level, rec.parent_code, None, None, _multi(piece)))
    return _with_findings(session, RepairPlan("split", changes), s)


def plan_merge(
    session: Session, codes: Sequence[str], name: str | None = None, settings: GridSettings | None = None
) -> RepairPlan:
    """Merge adjacent sibling grids; the smallest code keeps the union, the others are retired."""
    if len(set(codes)) < 2:
        raise InvalidInput("合并至少需要两个网格")
    recs = service.get_grids(session, codes)  # by code
    if len({(r.parent_code, r.level) for r in recs}) != 1:
        raise InvalidInput("只能合并同一上级下的同级网格")
    if service.with_children(session, [r.code for r in recs[1:]]):
        raise Conflict("被合并的网格仍有下级网格，请先处理下级网格")
    union = shapely.union_all([r.geom for r in recs])
    if not isinstance(shapely.make_valid(union), Polygon):
        raise InvalidInput(f"网格 {', '.join(r.code for r in recs)} 不相邻，不能合并")
    keep = recs[0]
    changes = [Change("update", keep.code, name or keep.name, keep.level, keep.parent_code, keep.version, keep.geom,
                      _multi(union))]  # fmt: skip
    changes += [Change("retire", r.code, r.name, r.level, r.parent_code, r.version, r.geom, None) for r in recs[1:]]
    return _with_findings(session, RepairPlan("merge", changes), settings)


def plan_renumber(session: Session, parent_code: str, settings: GridSettings | None = None) -> RepairPlan:
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
    return RepairPlan("renumber", changes)


def apply_plan(session: Session, plan: RepairPlan, actor: Actor, tolerance_m: float = DEFAULT_TOLERANCE_M,
               max_vertices: int | None = MAX_GRID_VERTICES) -> dict[str, int]:  # fmt: skip
    """Write a plan as new versions (history kept) and re-assign entities in the changed area.

    Every grid the plan changes, creates or retires, their parents and the new area must lie in the actor's scope.
    """
    if not plan.changes:
        return {}
    touches = Touches(
        codes={c.code for c in plan.changes} | {c.parent_code for c in plan.changes if c.parent_code},
        area=[c.new for c in plan.changes if c.new is not None],
    )
    authorize(session, actor, "write", touches, tolerance_m=tolerance_m)
    for c in plan.changes:
        problem = vertex_problem(c.new, max_vertices) if c.new is not None else None
        if problem:
            raise InvalidInput(f"网格 {c.code}：{problem}")
    renames = {c.code: c.new_code for c in plan.changes if c.new_code}
    if renames:
        service.recode(session, renames, {c.code: c.version or 0 for c in plan.changes}, actor=actor.name)
    # Set-based: one statement group per kind of change, whatever the number of grids.
    service.insert_grids(
        session,
        [GridInput(c.code, c.name, c.level, c.parent_code, c.new) for c in plan.changes if c.action == "create"],
        actor=actor.name,
    )
    service.retire_grids(
        session, {c.code: c.version or 0 for c in plan.changes if c.action == "retire"}, actor=actor.name
    )
    updates = [c for c in plan.changes if c.action not in ("create", "retire") and not c.new_code]
    service.change_grids(
        session,
        [service.GridChange(c.code, c.version or 0, name=c.name, geometry=c.new) for c in updates],
        actor=actor.name,
    )
    area = shapely.union_all([g for c in plan.changes for g in (c.old, c.new) if g is not None])
    return reassign_area(session, area)


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


def plan(session: Session, req: RepairRequest, settings: GridSettings) -> RepairPlan:
    """The preview of one repair request (the single dispatcher for the API and the CLI)."""
    builders: dict[str, Callable[[], RepairPlan]] = {
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
           ) -> tuple[RepairPlan, dict[str, int]]:  # fmt: skip
    """Preview a repair and write it when ``apply``: the plan and the re-assigned counts per table.

    Applying needs every code the request names in the actor's scope, and then everything the plan touches.
    """
    if apply:
        named = [c for c in (req.code, req.parent, *req.codes) if c]
        authorize(session, actor, "write", Touches(codes=named), tolerance_m=settings.tolerance_m)
    p = plan(session, req, settings)
    return p, (apply_plan(session, p, actor, settings.tolerance_m, settings.max_grid_vertices) if apply else {})
