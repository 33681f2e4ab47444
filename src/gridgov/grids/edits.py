"""Changes to several grids written as one: a plan of creations, changes and retirements, checked as a coverage,
previewed (findings, and the households and residents that would change grid) and written in one transaction.

Repairs (``grids/repair.py``) build plans from an operation; the editor's batch save builds one from what was
drawn (:func:`plan_edit`). Either way :func:`apply_plan` writes it: every version checked, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.points import reassign_area
from gridgov.auth.scope import DEFAULT_TOLERANCE_M, Actor, Touches, authorize
from gridgov.config import GridSettings, defaults
from gridgov.db import sql
from gridgov.errors import Conflict, InvalidInput
from gridgov.geo.checks import MAX_GRID_VERTICES, as_multipolygon, vertex_problem
from gridgov.geo.crs import MetricFrame
from gridgov.grids import service
from gridgov.grids.checks import live_inputs, run_checks, scheme_from, store_findings
from gridgov.grids.codes import next_code
from gridgov.grids.findings import Finding, GridInput
from gridgov.grids.shapes import merge_shapes, polygonal
from gridgov.vocab import FINDING_RULES

OPERATIONS_ZH = {"clip": "裁剪到上级", "snap": "吸附到相邻网格", "fill_gap": "空隙并入相邻网格", "split": "分割",
                 "merge": "合并", "renumber": "重新编号", "edit": "编辑保存"}  # fmt: skip


@dataclass
class Change:
    """One grid's change in a plan (``key``: the caller's name for a grid it creates, e.g. the editor's draft)."""

    action: str  # update | create | retire
    code: str
    name: str
    level: str
    parent_code: str | None
    version: int | None
    old: BaseGeometry | None
    new: BaseGeometry | None
    new_code: str | None = None
    key: str | None = None
    given_to: str | None = None  # a retirement whose area a neighbour takes


@dataclass
class Transfer:
    """Households (and their residents) that would move from one grid to another (None: no grid)."""

    from_code: str | None
    to_code: str | None
    households: int
    persons: int


@dataclass
class EditPlan:
    """A previewed change of grids: the changes, the findings that would remain around them, and (when asked)
    the households and residents that would change grid."""

    operation: str
    changes: list[Change]
    findings_after: list[Finding] = field(default_factory=list)
    transfers: list[Transfer] | None = None

    @property
    def touched(self) -> set[str]:
        """Codes of every grid the plan creates, changes or retires (new codes included)."""
        return {c.new_code or c.code for c in self.changes} | {c.code for c in self.changes}

    def as_dict(self) -> dict[str, Any]:
        """JSON preview with areas in m² and, when computed, the moves per grid."""
        geoms = [g for c in self.changes for g in (c.old, c.new) if g is not None]
        frame = MetricFrame.for_geoms(geoms) if geoms else None

        def area(g: BaseGeometry | None) -> float | None:
            return None if g is None or frame is None else round(float(frame.to_m(g).area), 2)

        out: dict[str, Any] = {
            "operation": self.operation,
            "operation_zh": OPERATIONS_ZH[self.operation],
            "changes": [
                {
                    "action": c.action,
                    "key": c.key,
                    "code": c.code,
                    "new_code": c.new_code,
                    "name": c.name,
                    "given_to": c.given_to,
                    "area_before_m2": area(c.old),
                    "area_after_m2": area(c.new),
                    "geometry": mapping(c.new) if c.new is not None else None,
                }
                for c in self.changes
            ],
            "findings_after": [f.as_dict() for f in self.findings_after],
        }
        if self.transfers is not None:
            out["moves"] = moves_summary(self.transfers)
        return out


def moves_summary(transfers: Sequence[Transfer]) -> dict[str, Any]:
    """Totals, and per grid how many households and residents leave and arrive (by code)."""
    per: dict[str, dict[str, Any]] = {}

    def entry(code: str) -> dict[str, Any]:
        return per.setdefault(code, {"code": code, "households_out": 0, "households_in": 0, "persons_out": 0,
                                     "persons_in": 0})  # fmt: skip

    for t in transfers:
        if t.from_code is not None:
            e = entry(t.from_code)
            e["households_out"] += t.households
            e["persons_out"] += t.persons
        if t.to_code is not None:
            e = entry(t.to_code)
            e["households_in"] += t.households
            e["persons_in"] += t.persons
    return {
        "households": sum(t.households for t in transfers),
        "persons": sum(t.persons for t in transfers),
        "transfers": [vars(t) for t in transfers],
        "grids": [per[c] for c in sorted(per)],
    }


def with_findings(session: Session, plan: EditPlan, settings: GridSettings | None,
                  also: Iterable[str] = ()) -> EditPlan:  # fmt: skip
    """Attach the findings that would remain after the plan, limited to the grids it touches (and ``also``)."""
    grids = {g.code: g for g in live_inputs(session)}
    for c in plan.changes:
        grids.pop(c.code, None)
        if c.action != "retire":
            code = c.new_code or c.code
            grids[code] = GridInput(code, c.name, c.level, c.parent_code, c.new)
    plan.findings_after = run_checks(list(grids.values()), scope=plan.touched | set(also), settings=settings)
    return plan


def _touches(plan: EditPlan) -> Touches:
    named = [c.code for c in plan.changes] + [c.parent_code for c in plan.changes] + [c.given_to for c in plan.changes]
    return Touches(
        codes={c for c in named if c},
        area=[c.new for c in plan.changes if c.new is not None],
    )


def _write(session: Session, plan: EditPlan, actor: str, max_vertices: int | None, *, preview: bool = False
           ) -> dict[str, int]:  # fmt: skip
    """The unchecked writes of a plan (caller authorized it), set-based per kind of change; re-assigns the area
    (a ``preview``, rolled back afterwards, leaves the patrol figures alone: they take seconds and nobody reads
    them)."""
    for c in plan.changes:
        problem = vertex_problem(c.new, max_vertices) if c.new is not None else None
        if problem:
            raise InvalidInput(f"网格 {c.code}：{problem}")
    renames = {c.code: c.new_code for c in plan.changes if c.new_code}
    if renames:
        service.recode(session, renames, {c.code: c.version or 0 for c in plan.changes}, actor=actor)
    service.insert_grids(
        session,
        [GridInput(c.code, c.name, c.level, c.parent_code, c.new) for c in plan.changes if c.action == "create"],
        actor=actor,
    )
    service.retire_grids(session, {c.code: c.version or 0 for c in plan.changes if c.action == "retire"}, actor=actor)
    updates = [c for c in plan.changes if c.action not in ("create", "retire") and not c.new_code]
    service.change_grids(
        session, [service.GridChange(c.code, c.version or 0, name=c.name, geometry=c.new) for c in updates], actor=actor
    )
    area = shapely.union_all([g for c in plan.changes for g in (c.old, c.new) if g is not None])
    return reassign_area(session, area, patrol_figures=not preview)


def apply_plan(session: Session, plan: EditPlan, actor: Actor, tolerance_m: float = DEFAULT_TOLERANCE_M,
               max_vertices: int | None = MAX_GRID_VERTICES) -> dict[str, int]:  # fmt: skip
    """Write a plan as new versions (history kept) and re-assign entities in the changed area.

    Every grid the plan changes, creates or retires, their parents, the neighbours given an area and the new
    area must lie in the actor's scope.
    """
    if not plan.changes:
        return {}
    authorize(session, actor, "write", _touches(plan), tolerance_m=tolerance_m)
    return _write(session, plan, actor.name, max_vertices)


def preview_moves(session: Session, plan: EditPlan, actor: Actor, tolerance_m: float = DEFAULT_TOLERANCE_M,
                  max_vertices: int | None = MAX_GRID_VERTICES) -> list[Transfer]:  # fmt: skip
    """Which households and residents the plan would move, by writing it inside a savepoint and rolling back:
    the same code and boundary rule as the real save, so the preview cannot disagree with it."""
    if not plan.changes:
        return []
    authorize(session, actor, "write", _touches(plan), tolerance_m=tolerance_m)
    area = shapely.union_all([g for c in plan.changes for g in (c.old, c.new) if g is not None])
    statements = sql.sections("grid_moves")
    params = {"area": shapely.to_wkb(area)}
    session.execute(text(statements["before"]), params)  # outside the savepoint: it outlives the rollback
    savepoint = session.begin_nested()
    try:
        _write(session, plan, actor.name, max_vertices, preview=True)
        rows = session.execute(text(statements["moves"])).all()
    finally:
        savepoint.rollback()
        session.execute(text(statements["drop"]))
    return [Transfer(r.from_code, r.to_code, int(r.households), int(r.persons)) for r in rows]


@dataclass(frozen=True)
class NewGrid:
    """A grid to create in an edit; ``key`` is the caller's name for it until it has a code."""

    key: str
    name: str
    level: str
    parent_code: str
    geometry: Any
    code: str | None = None


@dataclass(frozen=True)
class GridUpdate:
    """A live grid's new name and/or shape, as edited from ``version``."""

    code: str
    version: int
    name: str | None = None
    geometry: Any = None


@dataclass(frozen=True)
class Retirement:
    """A live grid to retire, as seen at ``version``; ``give_to`` names the neighbour that takes its area
    (None leaves the area as a gap, which the findings report)."""

    code: str
    version: int
    give_to: str | None = None


@dataclass(frozen=True)
class GridEdit:
    """What one save of the editor (or one batch request) asks for."""

    create: Sequence[NewGrid] = ()
    update: Sequence[GridUpdate] = ()
    retire: Sequence[Retirement] = ()


def _names_once(edit: GridEdit) -> None:
    seen: set[str] = set()
    for code in [u.code for u in edit.update] + [r.code for r in edit.retire]:
        if code in seen:
            raise InvalidInput(f"网格 {code} 在一次保存中出现多次")
        seen.add(code)
    keys = [n.key for n in edit.create]
    if len(set(keys)) != len(keys):
        raise InvalidInput("新网格的标识（key）重复")
    retired = {r.code for r in edit.retire}
    for r in edit.retire:
        if r.give_to == r.code:
            raise InvalidInput(f"网格 {r.code} 不能把面积并入自己")
        if r.give_to in retired:
            raise InvalidInput(f"网格 {r.code} 的面积不能并入同样要删除的网格 {r.give_to}")


def plan_edit(session: Session, edit: GridEdit, settings: GridSettings | None = None,
              max_vertices: int | None = MAX_GRID_VERTICES) -> EditPlan:  # fmt: skip
    """The plan of an edit: new grids numbered (unless given a code), new shapes read, retired areas given to
    their neighbours (the union, so the outer boundary stays exact), and the findings that would remain."""
    s = settings or defaults(GridSettings)
    _names_once(edit)
    wanted = [u.code for u in edit.update] + [r.code for r in edit.retire]
    wanted += [r.give_to for r in edit.retire if r.give_to]
    live = {g.code: g for g in service.get_grids(session, wanted)} if wanted else {}
    if service.with_children(session, [r.code for r in edit.retire]):
        bad = sorted(service.with_children(session, [r.code for r in edit.retire]))
        raise Conflict(f"网格 {'、'.join(bad)} 仍有下级网格，不能删除")

    changes: dict[str, Change] = {}
    for u in edit.update:
        g = live[u.code]
        new = as_multipolygon(u.geometry, max_vertices=max_vertices) if u.geometry is not None else g.geom
        changes[u.code] = Change("update", g.code, (u.name or g.name).strip(), g.level, g.parent_code, u.version,
                                 g.geom, new)  # fmt: skip
    retired = []
    for r in edit.retire:
        g = live[r.code]
        if r.give_to:
            to = live[r.give_to]
            if (to.parent_code, to.level) != (g.parent_code, g.level):
                raise InvalidInput(f"网格 {g.code} 的面积只能并入同一上级下的同级网格，{to.code} 不是")
            taker = changes.get(to.code) or Change("update", to.code, to.name, to.level, to.parent_code, to.version,
                                                   to.geom, to.geom)  # fmt: skip
            taker.new = merge_shapes([taker.new if taker.new is not None else to.geom, g.geom])
            changes[to.code] = taker
        retired.append(Change("retire", g.code, g.name, g.level, g.parent_code, r.version, g.geom, None,
                              given_to=r.give_to))  # fmt: skip

    created = []
    used = service.all_codes(session)
    scheme = scheme_from(s)
    for n in edit.create:
        if not n.name.strip():
            raise InvalidInput("新网格必须填写名称")
        code = n.code or next_code(used, n.parent_code, n.level, scheme)
        used.add(code)
        geom = polygonal(as_multipolygon(n.geometry, max_vertices=max_vertices))
        created.append(Change("create", code, n.name.strip(), n.level, n.parent_code, None, None, geom, key=n.key))
    plan = EditPlan("edit", created + list(changes.values()) + retired)
    return with_findings(session, plan, s, also=_bordering(session, [c for c in retired if not c.given_to], s))


def _bordering(session: Session, retired: Sequence[Change], settings: GridSettings) -> set[str]:
    """Live siblings along the edge of grids retired without a taker: the gap they leave borders them."""
    if not retired:
        return set()
    out: set[str] = set()
    for c in retired:
        assert c.old is not None
        frame = MetricFrame.for_geoms([c.old])
        zone = frame.to_ll(shapely.buffer(frame.to_m(c.old), max(settings.tolerance_m, 0.01)))
        out |= {g.code for g in service.list_grids(session, parent_code=c.parent_code)
                if g.code != c.code and g.geom is not None and g.geom.intersects(zone)}  # fmt: skip
        if c.parent_code:
            out.add(c.parent_code)
    return out


@dataclass
class EditResult:
    """What a batch save did (or, dry, would do)."""

    plan: EditPlan
    applied: bool
    reassigned: dict[str, int]
    versions: dict[str, int]


def save_edit(
    session: Session,
    edit: GridEdit,
    *,
    actor: Actor,
    settings: GridSettings,
    dry_run: bool = False,
    accept_findings: bool = False,
) -> EditResult:
    """Check an edit as a coverage and write it in one transaction (or, ``dry_run``, preview it with the moves).

    Hard findings (an unusable shape, a duplicate code …) refuse the save; other findings refuse it unless the
    caller accepts them, having seen them. A stale version on any grid refuses all of it.
    """
    plan = plan_edit(session, edit, settings, settings.max_grid_vertices)
    hard = [f for f in plan.findings_after if f.blocking]
    if dry_run:
        if not hard:
            plan.transfers = preview_moves(session, plan, actor, settings.tolerance_m, settings.max_grid_vertices)
        return EditResult(plan, False, {}, {})
    if hard:
        raise InvalidInput(f"保存被拒绝：{hard[0].message}", details={"findings": [f.as_dict() for f in hard]})
    if plan.findings_after and not accept_findings:
        labels = dict(FINDING_RULES.labels)
        kinds = "、".join(sorted({labels.get(f.rule, f.rule) for f in plan.findings_after}))
        raise Conflict(
            f"保存前请先处理校验问题：修改后有 {len(plan.findings_after)} 个问题（{kinds}）；"
            "确认仍要保存请选择“仍要保存”",
            details={"findings": [f.as_dict() for f in plan.findings_after]},
        )
    moved = apply_plan(session, plan, actor, settings.tolerance_m, settings.max_grid_vertices)
    store_findings(session, plan.findings_after, source="edit", scope=plan.touched)
    versions = {g.code: g.version for g in service.get_grids(
        session, [c.new_code or c.code for c in plan.changes if c.action != "retire"])}  # fmt: skip
    return EditResult(plan, True, moved, versions)
