"""网格: the grid tree, search, and each grid's page (ledger row, staff, map, history); the editor opens from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.auth.scope import Actor, covers, may, personal_reach
from gridgov.auth.users import display_names
from gridgov.auth.views import log_view
from gridgov.errors import Forbidden
from gridgov.grids.service import GridRecord, ancestors, get_grid, grids_in_scope, history, list_grids
from gridgov.grids.staffing import staffing_findings
from gridgov.ledger.report import build_ledger
from gridgov.party.rules import PartyRules
from gridgov.print.data import StaffLine, staff_lines
from gridgov.vocab import CHILD_LEVEL, LEVEL_ZH, LEVELS, PUBLIC_STAFF_ROLES, STAFF_ROLES, actor_label
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)

TREE_LIMIT = 3000  # grids drawn in the tree at most; deeper levels are left to each grid's own page
SEARCH_LIMIT = 200


@dataclass
class TreeNode:
    """A grid in the tree, its children drawn below it, and how many live children it has in all."""

    grid: GridRecord
    children: list[TreeNode] = field(default_factory=list)
    total: int = 0

    @property
    def children_text(self) -> str:
        """E.g. "8 个楼院" (empty for a leaf)."""
        child = CHILD_LEVEL.get(self.grid.level)
        return f"{self.total} 个{LEVEL_ZH[child]}" if self.total and child else ""


@dataclass(frozen=True)
class Version:
    """One version of a grid for the history table: the record, what changed from the one before, and who."""

    record: GridRecord
    changes: list[str]
    who: str


def build_tree(grids: Sequence[GridRecord], root: str | None, limit: int = TREE_LIMIT) -> list[TreeNode]:
    """The tree of ``grids`` below ``root`` (all roots when None), cut above the levels that would pass ``limit``."""
    kept_levels = [lv for lv in LEVELS if any(g.level == lv for g in grids)]
    while len(kept_levels) > 1 and sum(1 for g in grids if g.level in kept_levels) > limit:
        kept_levels.pop()
    nodes = {g.code: TreeNode(g) for g in grids}
    roots: list[TreeNode] = []
    for g in grids:  # children keep the input's (code) order
        node = nodes[g.code]
        parent = nodes.get(g.parent_code) if g.parent_code else None
        if parent is not None:
            parent.total += 1
            if g.level in kept_levels:
                parent.children.append(node)
        elif root is None or g.code == root:
            roots.append(node)
    return roots


def search(grids: Sequence[GridRecord], q: str, limit: int = SEARCH_LIMIT) -> list[GridRecord]:
    """The grids whose name or code contains ``q`` (case-insensitive), top levels first, by code."""
    needle = q.strip().casefold()
    hits = [g for g in grids if needle in g.code.casefold() or needle in g.name.casefold()]
    return sorted(hits, key=lambda g: (LEVELS.index(g.level), g.code))[:limit]


def changes_between(before: GridRecord | None, after: GridRecord) -> list[str]:
    """What changed from one version of a grid to the next, in Chinese (the first version: 创建)."""
    if before is None:
        return ["创建"]
    out = []
    if after.code != before.code:
        out.append(f"编码：{before.code} → {after.code}")
    if after.name != before.name:
        out.append(f"名称：{before.name} → {after.name}")
    if after.parent_code != before.parent_code:
        out.append(f"上级：{before.parent_code or '无'} → {after.parent_code or '无'}")
    if before.geom is not None and after.geom is not None and not shapely.equals(before.geom, after.geom):
        out.append("边界")
    return out or ["未改动属性（重新保存）"]


def versions_of(session: Session, code: str) -> list[Version]:
    """Every version of a grid, newest first, with what changed and who changed it."""
    records = history(session, code)
    people = display_names(session, [r.updated_by for r in records])
    out = [Version(r, changes_between(records[i - 1] if i else None, r), actor_label(r.updated_by, people))
           for i, r in enumerate(records)]  # fmt: skip
    return out[::-1]


def staff_of(session: Session, actor: Actor, grid: GridRecord) -> list[StaffLine]:
    """The grid's staff: the public roles for everyone, the private ones (residents) only to readers of personal
    data whose scope holds the grid (the caller has checked the grid is in the actor's scope)."""
    everywhere, scope_id = personal_reach(actor)
    roles = STAFF_ROLES.terms if everywhere or scope_id is not None else PUBLIC_STAFF_ROLES
    return staff_lines(session, grid.id, roles)


@router.get("/grids")
def grids_page(
    request: Request,
    session: SessionDep,
    who: ViewerDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The tree of the live grids in the user's scope, and a search by name or code."""
    root = None if who.unscoped else who.scope_code
    grids = grids_in_scope(session, who)
    names = {g.code: g.name for g in grids}
    hits = search(grids, q) if q.strip() else None
    return render(request, "grids.html", actor=who, active="grids", title="网格", tree=build_tree(grids, root),
                  q=q, hits=hits, names=names, total=len(grids), search_limit=SEARCH_LIMIT,
                  tree_cut=len(grids) > TREE_LIMIT)  # fmt: skip


@router.get("/grids/{code}", dependencies=[Throttled])
def grid_page(request: Request, session: SessionDep, settings: SettingsDep, who: ViewerDep, code: str) -> Response:
    """One grid: its place in the tree, ledger figures, staff, map, history, and the editor for those who may."""
    grid = get_grid(session, code)
    if not covers(session, who, grid.id):
        raise Forbidden(f"超出权限范围：网格 {code} 不在您的范围（{who.scope_code}）内")
    chain = ancestors(session, grid.code)
    chain_codes = [g.code for g in chain]
    # parents above the user's scope are shown without a link (their pages would refuse the user)
    first_linked = 0
    if not who.unscoped:
        first_linked = chain_codes.index(who.scope_code) if who.scope_code in chain_codes else len(chain)
    children = list_grids(session, parent_code=code, with_geometry=False)
    # no reader: the counts are the same for everyone, and the page lists the staff itself (below)
    ledger = build_ledger(session, level=grid.level, parent=code, patrol_buffer_m=settings.patrol_buffer_m,
                          party_rules=PartyRules.of(settings))
    row = next(r for r in ledger.rows if r.code == code)
    staff = staff_of(session, who, grid)
    private = [s for s in staff if s.role not in PUBLIC_STAFF_ROLES]
    if private:
        log_view(session, who, "grid_role", code, page=request.url.path, rows=len(private))
    # The editor edits the grids under one parent: a compound or building among its siblings, else its children.
    editor_parent = grid.parent_code if grid.level in ("compound", "building") and grid.parent_code else code
    reach = chain_codes + ([code] if editor_parent == code else [])
    can_edit = may(who, "write") and (who.unscoped or who.scope_code in reach)
    # staffing warnings of this grid and of the children listed below it (the 首页 links here for them)
    staffing = {f.code: f.text for f in staffing_findings(session, codes=[code, *(c.code for c in children)])}
    return render(request, "grid.html", actor=who, active="grids", title=f"{grid.name} · 网格", grid=grid,
                  chain=chain, first_linked=first_linked, children=children, row=row, staff=staff,
                  public_roles=PUBLIC_STAFF_ROLES, versions=versions_of(session, code), staffing=staffing,
                  editor_url=f"/editor?parent={editor_parent}" if can_edit else None)  # fmt: skip
