"""Read and write grids with history and optimistic locking (no HTTP here).

The public writers (``create_grid``, ``update_grid``, ``remove_grid``) take an ``Actor`` and check its scope;
``insert_grid``, ``change_grid``, ``retire_grid`` and ``recode`` are their unchecked parts, for operations
(imports, repairs) that authorize everything they touch once, up front.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Select,
    String,
    all_,
    any_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from gridgov.assign.points import reassign_area
from gridgov.auth.scope import DEFAULT_TOLERANCE_M, Actor, Touches, authorize
from gridgov.db import sql
from gridgov.db.locks import writers_lock
from gridgov.db.models import Grid
from gridgov.errors import Conflict, InvalidInput, NotFound, StaleVersion
from gridgov.geo.checks import MAX_GRID_VERTICES, as_multipolygon
from gridgov.grids.codes import CodeScheme, next_code
from gridgov.vocab import LEVELS, PARENT_LEVEL


@dataclass(frozen=True)
class GridRecord:
    """A grid as services hand it out: identity id, attributes and a shapely geometry."""

    id: int
    code: str
    name: str
    level: str
    parent_code: str | None
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    updated_by: str | None
    geom: Any


_G, _P = aliased(Grid), aliased(Grid)


def _record_select(with_geometry: bool = True) -> Select[Any]:
    """SELECT of GridRecord fields over grid ``_G`` joined to its parent ``_P``."""
    return select(
        func.coalesce(_G.lineage_id, _G.id),
        _G.code,
        _G.name,
        _G.level,
        _P.code,
        _G.version,
        _G.valid_from,
        _G.valid_to,
        _G.updated_by,
        _G.geom if with_geometry else literal(None),
    ).outerjoin(_P, _P.id == _G.parent_id)


def _record(r: Any) -> GridRecord:
    return GridRecord(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], to_shape(r[9]) if r[9] is not None else None
    )


def _as_of_filter(stmt: Select[Any], g: Any, as_of: dt.datetime | None) -> Select[Any]:
    if as_of is None:
        return stmt.where(g.valid_to.is_(None), g.lineage_id.is_(None))
    return stmt.where(g.valid_from <= as_of, or_(g.valid_to.is_(None), g.valid_to > as_of))


def list_grids(
    session: Session,
    *,
    level: str | None = None,
    parent_code: str | None = None,
    as_of: dt.datetime | None = None,
    with_geometry: bool = True,
) -> list[GridRecord]:
    """Grids live now (or as of a moment), optionally of one level or under one parent, by code."""
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}（可选 {', '.join(LEVELS)}）")
    stmt = _as_of_filter(_record_select(with_geometry).order_by(_G.code), _G, as_of)
    if level:
        stmt = stmt.where(_G.level == level)
    if parent_code:
        stmt = stmt.where(_P.code == parent_code)
    return [_record(r) for r in session.execute(stmt).all()]


class _Node(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def parent_code(self) -> str | None: ...


def subtree_codes(items: Iterable[_Node], root: str) -> set[str]:
    """Codes of ``root`` and everything below it, from any records with ``code`` and ``parent_code``."""
    children: dict[str | None, list[str]] = {}
    for g in items:
        children.setdefault(g.parent_code, []).append(g.code)
    out, todo = set(), [root]
    while todo:
        code = todo.pop()
        if code not in out:
            out.add(code)
            todo.extend(children.get(code, []))
    return out


def subtree(grids: Sequence[GridRecord], root: str | None) -> list[GridRecord]:
    """``root`` and every grid below it within ``grids`` (one :func:`list_grids` result), by code; all when None."""
    if root is None:
        return list(grids)
    if not any(g.code == root for g in grids):
        raise NotFound(f"网格不存在：{root}")
    keep = subtree_codes(grids, root)
    return sorted((g for g in grids if g.code in keep), key=lambda g: g.code)


def leaves(grids: Sequence[GridRecord]) -> list[GridRecord]:
    """The grids of ``grids`` that are no other's parent (of all live grids: the leaf grids), in input order."""
    parents = {g.parent_code for g in grids if g.parent_code}
    return [g for g in grids if g.code not in parents]


def get_grid(session: Session, code: str, as_of: dt.datetime | None = None) -> GridRecord:
    """One grid by code, or ``NotFound``."""
    r = session.execute(_as_of_filter(_record_select().where(_G.code == code), _G, as_of)).first()
    if r is None:
        raise NotFound(f"网格不存在：{code}")
    return _record(r)


def get_grids(session: Session, codes: Iterable[str]) -> list[GridRecord]:
    """Several live grids by code in one query, by code; ``NotFound`` for the first missing one."""
    wanted = list(dict.fromkeys(codes))
    stmt = _as_of_filter(_record_select().where(_G.code == any_(_codes_param(wanted))).order_by(_G.code), _G, None)
    found = [_record(r) for r in session.execute(stmt).all()]
    missing = next((c for c in wanted if c not in {g.code for g in found}), None)
    if missing is not None:
        raise NotFound(f"网格不存在：{missing}")
    return found


def grids_in_scope(session: Session, actor: Actor) -> list[GridRecord]:
    """The live grids an actor works on (their scope's subtree; everything when unscoped), by code."""
    authorize(session, actor, "read")
    every = list_grids(session, with_geometry=False)
    return every if actor.unscoped else subtree(every, actor.scope_code)


_PARENT_CODES = text(
    """WITH RECURSIVE up(code, parent_id, depth) AS (
           SELECT g.code, g.parent_id, 0 FROM grid g
            WHERE g.code = :code AND g.valid_to IS NULL AND g.lineage_id IS NULL
           UNION ALL
           SELECT p.code, p.parent_id, up.depth + 1 FROM grid p JOIN up ON p.id = up.parent_id
            WHERE p.valid_to IS NULL AND p.lineage_id IS NULL AND up.depth < 16)
       SELECT code FROM up WHERE depth > 0 ORDER BY depth DESC"""
)


def ancestors(session: Session, code: str) -> list[GridRecord]:
    """The live grid's live parents, the top first (two queries whatever the depth)."""
    codes = list(session.scalars(_PARENT_CODES, {"code": code}))
    by_code = {g.code: g for g in get_grids(session, codes)} if codes else {}
    return [by_code[c] for c in codes]


def with_children(session: Session, codes: Iterable[str]) -> set[str]:
    """Which of the live grids ``codes`` have live children (one query)."""
    stmt = (
        select(_P.code).distinct().select_from(_G).join(_P, _P.id == _G.parent_id)
        .where(_P.code == any_(_codes_param(codes)), _G.valid_to.is_(None), _G.lineage_id.is_(None),
               _P.valid_to.is_(None), _P.lineage_id.is_(None))
    )  # fmt: skip
    return set(session.scalars(stmt))


def _live(session: Session, code: str) -> Grid:
    row = session.scalar(
        select(Grid).where(Grid.code == code, Grid.valid_to.is_(None), Grid.lineage_id.is_(None)).with_for_update()
    )
    if row is None:
        raise NotFound(f"网格不存在：{code}")
    return row


def create_grid(
    session: Session,
    *,
    code: str | None,
    name: str,
    level: str,
    parent_code: str | None,
    geometry: Any,
    actor: Actor,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    scheme: CodeScheme | None = None,
    max_vertices: int | None = MAX_GRID_VERTICES,
) -> GridRecord:
    """Insert a new live grid under its parent, inside the actor's scope, and re-assign the entities inside it.

    Without a ``code`` the grid gets the next serial under its parent (never a retired one). A geometry with
    more than ``max_vertices`` vertices is refused (the faces pass ``settings.max_grid_vertices``).
    """
    geom = as_multipolygon(geometry, max_vertices=max_vertices)
    authorize(session, actor, "write", Touches(codes=[parent_code] if parent_code else [], area=[geom]),
              tolerance_m=tolerance_m, anywhere=parent_code is None)  # fmt: skip
    if code is None:
        if parent_code is None:
            raise InvalidInput("街道网格必须提供编码")
        code = next_code(all_codes(session), parent_code, level, scheme)
    return insert_grid(session, code=code, name=name, level=level, parent_code=parent_code, geometry=geom,
                       actor=actor.name)  # fmt: skip


def insert_grid(
    session: Session,
    *,
    code: str,
    name: str,
    level: str,
    parent_code: str | None,
    geometry: Any,
    actor: str,
    reassign: bool = True,
    max_vertices: int | None = None,
) -> GridRecord:
    """Unchecked insert for callers that have already called ``authorize`` (and capped vertices) on the whole
    operation."""
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    if level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}")
    geom = as_multipolygon(geometry, max_vertices=max_vertices)
    parent_id = None
    if level == "street":
        if parent_code:
            raise InvalidInput("街道网格不能有上级网格")
    else:
        if not parent_code:
            raise InvalidInput(f"{level} 层级的网格必须指定上级编码")
        parent = _live(session, parent_code)
        if parent.level != PARENT_LEVEL[level]:
            raise InvalidInput(
                f"层级不匹配：{level} 的上级应为 {PARENT_LEVEL[level]}，而 {parent_code} 是 {parent.level}"
            )
        parent_id = parent.id
    if session.scalar(select(Grid.id).where(Grid.code == code, Grid.valid_to.is_(None))) is not None:
        raise Conflict(f"编码重复：{code} 已存在")
    row = Grid(
        code=code, name=name, level=level, parent_id=parent_id, geom=from_shape(geom, srid=4326), updated_by=actor
    )
    session.add(row)
    session.flush()
    if reassign:
        reassign_area(session, geom)
    return get_grid(session, code)


def update_grid(
    session: Session,
    grid_code: str,
    *,
    expected_version: int,
    actor: Actor,
    name: str | None = None,
    geometry: Any = None,
    parent_code: str | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    max_vertices: int | None = MAX_GRID_VERTICES,
) -> GridRecord:
    """Change a grid's name, geometry or parent inside the actor's scope (old and new parent, the new area)."""
    geom = as_multipolygon(geometry, max_vertices=max_vertices) if geometry is not None else None
    authorize(session, actor, "write", touches_of_change(session, [(grid_code, parent_code, geom)]),
              tolerance_m=tolerance_m)  # fmt: skip
    return change_grid(session, grid_code, expected_version=expected_version, actor=actor.name, name=name,
                       geometry=geom, parent_code=parent_code)  # fmt: skip


def touches_of_change(session: Session, changes: Iterable[tuple[str, str | None, Any]]) -> Touches:
    """What changing grids touches: each (code, new parent code, new geometry) names the grid, its current
    parent, its new parent and the new area."""
    changes = list(changes)
    codes = {c for c, _, _ in changes} | {p for _, p, _ in changes if p}
    current = session.execute(
        select(_P.code).select_from(_G).join(_P, _P.id == _G.parent_id)
        .where(_G.code.in_([c for c, _, _ in changes]), _G.valid_to.is_(None), _G.lineage_id.is_(None))
    ).scalars()  # fmt: skip
    return Touches(codes=codes | set(current), area=[g for _, _, g in changes if g is not None])


def change_grid(
    session: Session,
    grid_code: str,
    *,
    expected_version: int,
    actor: str,
    name: str | None = None,
    geometry: Any = None,
    parent_code: str | None = None,
    code: str | None = None,
    reassign: bool = True,
    max_vertices: int | None = None,
) -> GridRecord:
    """Unchecked change for callers that have already called ``authorize``; the old state is kept as history.

    Entities in the changed area (old ∪ new geometry) are re-assigned unless ``reassign`` is False.
    """
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    row = _live(session, grid_code)
    if row.version != expected_version:
        raise StaleVersion(
            f"网格 {grid_code} 已被他人修改（当前版本 {row.version}，您编辑的是版本 {expected_version}），请刷新后重试",
            details={"current_version": row.version, "code": grid_code},
        )
    new_geom = as_multipolygon(geometry, max_vertices=max_vertices) if geometry is not None else None
    _snapshot(session, row.id)
    values: dict[str, Any] = {"version": Grid.version + 1, "valid_from": func.now(), "updated_by": actor}
    if name is not None:
        values["name"] = name
    if new_geom is not None:
        values["geom"] = from_shape(shapely.normalize(new_geom), srid=4326)
    if parent_code is not None:
        current_parent = session.scalar(select(Grid.code).where(Grid.id == row.parent_id))
        if parent_code != current_parent:
            values["parent_id"] = _live(session, parent_code).id  # the level trigger checks the pairing
    if code is not None and code != row.code:
        if session.scalar(select(Grid.id).where(Grid.code == code, Grid.valid_to.is_(None))) is not None:
            raise Conflict(f"编码重复：{code} 已存在")
        values["code"] = code
    old_geom = to_shape(row.geom)
    session.execute(update(Grid).where(Grid.id == row.id).values(**values))
    session.expire(row)
    if reassign and (new_geom is not None or "parent_id" in values):
        # a new parent can turn the old one into a leaf: the patrol figures around it change too
        reassign_area(session, shapely.union(old_geom, new_geom) if new_geom is not None else old_geom)
    return get_grid(session, values.get("code", row.code))


class NewGrid(Protocol):
    """What :func:`insert_grids` needs of a grid to create (``GridInput`` has it)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def parent_code(self) -> str | None: ...
    @property
    def geometry(self) -> Any: ...


@dataclass(frozen=True)
class GridChange:
    """A live grid's new state for :func:`change_grids` (None keeps a field), read at ``expected_version``."""

    code: str
    expected_version: int
    name: str | None = None
    geometry: Any = None
    parent_code: str | None = None


def _codes_param(codes: Iterable[str]) -> Any:
    return bindparam("codes", list(codes), type_=ARRAY(String))


def _live_rows(session: Session, codes: Sequence[str], *, lock: bool = True) -> dict[str, Any]:
    """The live rows of ``codes`` (id, code, level, version, parent_id), locked; ``NotFound`` for the first
    missing code."""
    stmt = select(Grid.id, Grid.code, Grid.level, Grid.version, Grid.parent_id).where(
        Grid.code == any_(_codes_param(codes)), Grid.valid_to.is_(None), Grid.lineage_id.is_(None)
    )
    rows = {r.code: r for r in session.execute(stmt.with_for_update() if lock else stmt)}
    missing = next((c for c in codes if c not in rows), None)
    if missing is not None:
        raise NotFound(f"网格不存在：{missing}")
    return rows


def insert_grids(session: Session, grids: Sequence[NewGrid], *, actor: str) -> None:
    """Unchecked set-based :func:`insert_grid` for many grids: one query checks codes and parents, then one
    INSERT per level, parents before children (a parent may be in the batch)."""
    if not grids:
        return
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    batch: dict[str, NewGrid] = {}
    for g in grids:
        if g.level not in LEVELS:
            raise InvalidInput(f"未知层级：{g.level}")
        if g.level == "street" and g.parent_code:
            raise InvalidInput("街道网格不能有上级网格")
        if g.level != "street" and not g.parent_code:
            raise InvalidInput(f"{g.level} 层级的网格必须指定上级编码")
        if g.code in batch:
            raise Conflict(f"编码重复：{g.code} 已存在")
        batch[g.code] = g
    parents = {g.parent_code for g in grids if g.parent_code and g.parent_code not in batch}
    known = session.execute(
        select(Grid.code, Grid.level, Grid.lineage_id).where(
            Grid.code == any_(_codes_param(sorted(set(batch) | parents))), Grid.valid_to.is_(None)
        )
    ).all()
    taken = next((c for c, _, _ in known if c in batch), None)
    if taken is not None:
        raise Conflict(f"编码重复：{taken} 已存在")
    level_of = {c: lv for c, lv, lineage in known if lineage is None} | {c: g.level for c, g in batch.items()}
    for g in grids:
        if g.parent_code is None:
            continue
        if g.parent_code not in level_of:
            raise NotFound(f"网格不存在：{g.parent_code}")
        expected, found = PARENT_LEVEL[g.level], level_of[g.parent_code]
        if found != expected:
            raise InvalidInput(f"层级不匹配：{g.level} 的上级应为 {expected}，而 {g.parent_code} 是 {found}")
    statement = text(sql.load("grid_insert"))
    for level in LEVELS:
        rows = [g for g in grids if g.level == level]
        if rows:
            geoms = [as_multipolygon(g.geometry, max_vertices=None) for g in rows]
            session.execute(statement, {"level": level, "actor": actor, "codes": [g.code for g in rows],
                                        "names": [g.name for g in rows], "parents": [g.parent_code for g in rows],
                                        "wkbs": list(shapely.to_wkb(geoms))})  # fmt: skip
    session.expire_all()


def change_grids(session: Session, changes: Sequence[GridChange], *, actor: str) -> None:
    """Unchecked set-based :func:`change_grid` for many grids (no recoding): one locking read checks every
    version and new parent, one INSERT keeps the old states as history, one UPDATE writes the new ones."""
    if not changes:
        return
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    if len({c.code for c in changes}) != len(changes):
        raise InvalidInput("同一网格在一次修改中出现多次")
    codes = [c.code for c in changes]
    new_parents = [c.parent_code for c in changes if c.parent_code is not None]
    rows = _live_rows(session, list(dict.fromkeys(codes + new_parents)))
    for c in changes:
        current = rows[c.code].version
        if current != c.expected_version:
            raise StaleVersion(
                f"网格 {c.code} 已被他人修改（当前版本 {current}，您编辑的是版本 {c.expected_version}），请刷新后重试",
                details={"current_version": current, "code": c.code},
            )
    geoms = [
        shapely.normalize(as_multipolygon(c.geometry, max_vertices=None)) if c.geometry is not None else None
        for c in changes
    ]
    ids = [rows[c].id for c in codes]
    _snapshot_many(session, ids)
    session.execute(
        text(sql.load("grid_change")),
        {"ids": ids, "names": [c.name for c in changes], "actor": actor,
         "wkbs": [None if g is None else shapely.to_wkb(g) for g in geoms],
         "parent_ids": [rows[c.parent_code].id if c.parent_code is not None else None for c in changes]},
    )  # fmt: skip
    session.expire_all()


def retire_grids(session: Session, versions: dict[str, int], *, actor: str) -> None:
    """Unchecked set-based :func:`retire_grid` for many grids (code → expected version): one locking read,
    one check for live children outside the batch, one UPDATE."""
    if not versions:
        return
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    rows = _live_rows(session, list(versions))
    for code, expected in versions.items():
        if rows[code].version != expected:
            raise StaleVersion(
                f"网格 {code} 已被他人修改，请刷新后重试",
                details={"current_version": rows[code].version, "code": code},
            )
    ids = [r.id for r in rows.values()]
    child = session.execute(
        select(_P.code, _G.code).select_from(_G).join(_P, _P.id == _G.parent_id)
        .where(_P.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger))), _G.valid_to.is_(None),
               _G.id != all_(bindparam("ids2", ids, type_=ARRAY(BigInteger))))
        .order_by(_P.code, _G.code).limit(1)
    ).first()  # fmt: skip
    if child is not None:
        raise Conflict(f"网格 {child[0]} 仍有下级网格（如 {child[1]}），不能删除")
    session.execute(
        update(Grid).where(Grid.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger))))
        .values(valid_to=func.now(), updated_by=actor)
    )  # fmt: skip
    session.expire_all()


def remove_grid(session: Session, code: str, *, expected_version: int, actor: Actor) -> None:
    """Retire a grid inside the actor's scope: its live row gets ``valid_to``; it must have no live children."""
    authorize(session, actor, "write", Touches(codes=[code]))
    retire_grid(session, code, expected_version=expected_version, actor=actor.name)


def retire_grid(session: Session, code: str, *, expected_version: int, actor: str, reassign: bool = True) -> None:
    """Unchecked retirement for callers that have already called ``authorize``."""
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    row = _live(session, code)
    if row.version != expected_version:
        raise StaleVersion(
            f"网格 {code} 已被他人修改，请刷新后重试", details={"current_version": row.version, "code": code}
        )
    child = session.scalar(select(Grid.code).where(Grid.parent_id == row.id, Grid.valid_to.is_(None)).limit(1))
    if child is not None:
        raise Conflict(f"网格 {code} 仍有下级网格（如 {child}），不能删除")
    session.execute(update(Grid).where(Grid.id == row.id).values(valid_to=func.now(), updated_by=actor))
    if reassign:
        reassign_area(session, to_shape(row.geom))


def _snapshot(session: Session, grid_id: int) -> None:
    """Copy the live row's current state into a closed history row."""
    _snapshot_many(session, [grid_id])


def _snapshot_many(session: Session, grid_ids: Sequence[int]) -> None:
    """Copy the current state of live rows into closed history rows (one INSERT; each keeps its identity id)."""
    if not grid_ids:
        return
    cols = [Grid.code, Grid.name, Grid.level, Grid.parent_id, Grid.geom, Grid.version, Grid.valid_from, Grid.updated_by]
    src = select(Grid.id, *cols, func.now()).where(
        Grid.id == any_(bindparam("grid_ids", list(grid_ids), type_=ARRAY(BigInteger)))
    )
    session.execute(
        insert(Grid).from_select(
            [
                "lineage_id",
                "code",
                "name",
                "level",
                "parent_id",
                "geom",
                "version",
                "valid_from",
                "updated_by",
                "valid_to",
            ],
            src,
        )
    )


def history(session: Session, code: str) -> list[GridRecord]:
    """Every version of a grid (by its identity), oldest first."""
    ident = session.scalar(
        select(func.coalesce(Grid.lineage_id, Grid.id))
        .where(Grid.code == code)
        .order_by(Grid.valid_to.is_(None).desc())
    )
    if ident is None:
        raise NotFound(f"网格不存在：{code}")
    rows = session.execute(
        _record_select().where(or_(_G.id == ident, _G.lineage_id == ident)).order_by(_G.version)
    ).all()
    return [_record(r) for r in rows]


def all_codes(session: Session) -> set[str]:
    """Every code ever used (live and retired), so new codes never reuse an old one."""
    return set(session.scalars(select(Grid.code).distinct()))


def recode(session: Session, renames: dict[str, str], versions: dict[str, int], *, actor: str) -> None:
    """Change several live grids' codes at once (codes may swap); one new version each, history kept."""
    writers_lock(session)  # before any row lock: one lock order for every writer (gridgov.db.locks)
    rows = _live_rows(session, list(renames))
    for code in renames:
        row = rows[code]
        if row.version != versions.get(code, row.version):
            raise StaleVersion(
                f"网格 {code} 已被他人修改，请刷新后重试", details={"current_version": row.version, "code": code}
            )
    ids = [rows[c].id for c in renames]
    _snapshot_many(session, ids)
    taken = session.scalar(
        select(Grid.code).where(Grid.code.in_(list(renames.values())), Grid.valid_to.is_(None), Grid.id.not_in(ids))
    )
    if taken is not None:
        raise Conflict(f"编码重复：{taken} 已被其他网格使用")
    # Two set-based steps: swapped codes would otherwise collide on the live-code unique index.
    session.execute(update(Grid).where(Grid.id.in_(ids)).values(code=func.concat("~", Grid.code)))
    session.execute(
        text(
            "UPDATE grid g SET code = m.code, version = g.version + 1, valid_from = now(), updated_by = :actor "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:codes AS text[])) AS m(id, code) WHERE g.id = m.id"
        ),
        {"ids": ids, "codes": [renames[c] for c in renames], "actor": actor},
    )
    session.expire_all()
