"""Who may do what, where: the actor of an operation and the one scope rule every write goes through.

A write names everything it touches (``Touches``): the grid codes it changes or names (targets, old and
new parents), the grids of the rows it changes, and the area its geometries cover. ``authorize`` checks
the actor's role and that all of it lies in the actor's scope (a grid subtree), in one set-based query
per kind of touch. Services call it; faces (API, CLI, pages) only say who the actor is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.vocab import LEVEL_ZH, ROLE_SCOPE_LEVELS, ROLES, ROLES_NEEDING_SCOPE

Action = Literal["read", "report", "patrol", "write", "personal", "admin"]
# What each role may do (where: its scope). read: figures, maps, boards; report: report an incident (上报);
# patrol: patrol teams, areas and tracks; write: grids, records and working incidents; personal: residents'
# names, phones and ID numbers, reporters and photos of incidents, and the Party layer; admin: users, tokens,
# the calendar and time limits, and operations on everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "patrol": frozenset({"read", "report", "patrol"}),
    "grid": frozenset({"read", "report", "patrol", "write", "personal"}),
    "community": frozenset({"read", "report", "patrol", "write", "personal"}),
    "street": frozenset({"read", "report", "patrol", "write", "personal"}),
    "admin": frozenset({"read", "report", "patrol", "write", "personal", "admin"}),
}
ACTION_ZH = {"read": "查看", "report": "上报事件", "patrol": "巡逻管理", "write": "编辑", "personal": "查看个人信息",
             "admin": "系统管理"}
DEFAULT_TOLERANCE_M = 0.5


@dataclass(frozen=True)
class Actor:
    """Who acts: a name for the audit log, a role, and a scope (a live grid's identity id and code; None = all)."""

    name: str
    role: str
    scope_grid_id: int | None = None
    scope_code: str | None = None
    token_id: int | None = None
    user_id: int | None = None
    display_name: str | None = None
    staff_id: int | None = None  # the user's own staff record (whose inbox: cases dispatched to them)

    @property
    def audit_name(self) -> str:
        """The name the audit log records: ``token:<name>`` for an API token, else the name (``user:…``, ``cli``)."""
        return f"token:{self.name}" if self.token_id is not None else self.name

    @property
    def role_zh(self) -> str:
        """The role's Chinese label."""
        return ROLES.label_of(self.role)

    @property
    def unscoped(self) -> bool:
        """True when the actor may act anywhere (an admin, or an actor without a scope)."""
        return self.role == "admin" or self.scope_grid_id is None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The local operator (the CLI on the server, loaders, tests): an unscoped admin."""
        return cls(name=name, role="admin")


@dataclass(frozen=True)
class Touches:
    """Everything a write touches: grid codes it names, grid ids of the rows it changes, and the area it covers.

    ``grid_ids`` may hold ``None`` for rows that lie in no grid: such rows are outside every scope.
    """

    codes: Collection[str] = ()
    grid_ids: Collection[int | None] = ()
    area: Sequence[BaseGeometry] = field(default_factory=tuple)


_SUBTREE = """
WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE id = :scope
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id AND g.valid_to IS NULL AND g.lineage_id IS NULL
)"""

_CODES_OUTSIDE = text(
    _SUBTREE
    + """
SELECT g.code FROM grid g
 WHERE g.code = ANY(:codes) AND g.valid_to IS NULL AND g.lineage_id IS NULL AND g.id NOT IN (SELECT id FROM sub)
 ORDER BY g.code LIMIT 5"""
)

_IDS_OUTSIDE = text(
    _SUBTREE
    + """
SELECT count(*) FROM unnest(CAST(:ids AS bigint[])) AS t(id) WHERE t.id IS NULL OR t.id NOT IN (SELECT id FROM sub)"""
)

# Parts of the touched area beyond the scope grid widened by the tolerance (metres, on the spheroid).
_AREA_OUTSIDE = text(
    """
WITH s AS (SELECT ST_Buffer(geom::geography, :tol)::geometry AS g FROM grid WHERE id = :scope),
     t AS (SELECT ST_GeomFromWKB(w, 4326) AS g FROM unnest(CAST(:wkbs AS bytea[])) AS u(w))
SELECT count(*) AS n,
       coalesce(sum(ST_Area(ST_Difference(t.g, s.g)::geography)), 0) AS m2
  FROM t, s WHERE NOT ST_Covers(s.g, t.g)"""
)


def may(actor: Actor | None, action: Action) -> bool:
    """Whether the actor's role allows ``action`` at all (where is ``authorize``'s question)."""
    return actor is not None and action in PERMISSIONS.get(actor.role, frozenset())


def require_role(actor: Actor, action: Action) -> None:
    """Raise ``Forbidden`` unless the actor's role allows ``action`` at all (scope is checked by ``authorize``)."""
    if not may(actor, action):
        allowed = "、".join(ROLES.label_of(r) for r in ROLES if action in PERMISSIONS[r])
        raise Forbidden(f"权限不足：「{ACTION_ZH[action]}」需要以下角色之一：{allowed}；"
                        f"当前为「{ROLES.label_of(actor.role)}」")  # fmt: skip


def authorize(
    session: Session,
    actor: Actor,
    action: Action,
    touches: Touches | None = None,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    anywhere: bool = False,
) -> None:
    """The one scope rule: the role allows ``action`` and everything ``touches`` names lies in the actor's scope.

    ``anywhere`` marks operations that are not confined to a grid (managing tokens, re-assigning everything):
    a scoped actor may not do them.
    """
    require_role(actor, action)
    if actor.unscoped:
        return
    if anywhere:
        raise Forbidden(f"超出权限范围：此操作影响全部网格，而您的范围限于 {actor.scope_code}")
    t = touches or Touches()
    scope = {"scope": actor.scope_grid_id}
    codes = sorted({c for c in t.codes if c})
    if codes:
        outside = list(session.scalars(_CODES_OUTSIDE, scope | {"codes": codes}))
        if outside:
            raise Forbidden(f"超出权限范围：{'、'.join(outside)} 不在 {actor.scope_code} 及其下级网格内",
                            details={"codes": outside})  # fmt: skip
    ids = set(t.grid_ids)
    if ids:
        n = session.scalar(_IDS_OUTSIDE, scope | {"ids": list(ids)})
        if n:
            raise Forbidden(f"超出权限范围：涉及的记录有位于 {actor.scope_code} 以外（或不在任何网格内）的")
    # An invalid geometry is refused later with its reason; here only its extent matters.
    geoms = [g if g.is_valid else shapely.make_valid(g) for g in t.area if g is not None and not g.is_empty]
    if geoms:
        row = session.execute(
            _AREA_OUTSIDE, scope | {"tol": tolerance_m, "wkbs": [shapely.to_wkb(g) for g in geoms]}
        ).one()
        if row.n:
            raise Forbidden(
                f"超出权限范围：有 {row.n} 个几何伸出 {actor.scope_code} 的范围（超出约 {row.m2:.1f} 平方米，"
                f"容差 {tolerance_m:g} 米）",
                details={"geometries_outside": row.n, "area_outside_m2": round(float(row.m2), 1)},
            )


_ANCESTORS = text(
    """
    WITH RECURSIVE up(id, parent_id) AS (
        SELECT id, parent_id FROM grid WHERE id = :gid
        UNION ALL
        SELECT g.id, g.parent_id FROM grid g JOIN up ON g.id = up.parent_id
    )
    SELECT id FROM up
    """
)


def covers(session: Session, actor: Actor, grid_id: int) -> bool:
    """True when the grid (an identity id) lies in the actor's scope."""
    return actor.unscoped or actor.scope_grid_id in set(session.scalars(_ANCESTORS, {"gid": grid_id}))


def readable_root(session: Session, actor: Actor, parent: str | None) -> str | None:
    """The subtree whose restricted data (the Party layer, private staff) an actor may read: ``parent`` when it
    lies in the actor's scope, the scope itself when no parent is asked; ``Forbidden`` outside it."""
    if actor.unscoped:
        return parent
    if parent is None:
        return actor.scope_code
    gid = session.scalar(
        text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"), {"c": parent}
    )
    if gid is None:
        raise NotFound(f"网格不存在：{parent}")
    if not covers(session, actor, gid):
        raise Forbidden(f"超出权限范围：{parent} 不在 {actor.scope_code} 范围内")
    return parent


def personal_reach(actor: Actor | None) -> tuple[bool, int | None]:
    """Where an actor may see personal data: (everywhere, or else the scope grid's id; None = nowhere).

    Anonymous callers, viewers and patrol leaders see none; staff their scope; administrators all."""
    if not may(actor, "personal"):
        return False, None
    assert actor is not None
    return (True, None) if actor.unscoped else (False, actor.scope_grid_id)


def grid_ids_of(session: Session, table: str, column: str, values: Iterable[str]) -> set[int | None]:
    """The grid ids of the rows of ``table`` whose ``column`` is one of ``values`` (for ``Touches.grid_ids``)."""
    wanted = sorted({v for v in values if v})
    if not wanted:
        return set()
    assert table in ("household", "building", "incident") and column.isidentifier()
    live = " AND valid_to IS NULL" if table != "incident" else ""  # the current rows (gridgov.history)
    stmt = text(f"SELECT DISTINCT grid_id FROM {table} WHERE {column} = ANY(:v){live}")
    return set(session.scalars(stmt, {"v": wanted}))


LOST_SCOPE = "此账号的范围网格已不存在（已删除），请联系系统管理员重新设置范围"


def lost_scope(role: str, scope_grid_id: int | None) -> bool:
    """True for a user or token whose role needs a scope and has none (its grid was deleted, e.g. by
    ``gridgov sample remove``): such an account must not act, or it would act as unscoped."""
    return role in ROLES_NEEDING_SCOPE and scope_grid_id is None


def resolve_scope(session: Session, role: str, scope_code: str | None) -> tuple[int | None, str | None]:
    """The scope (a live grid's identity id and code) a user or token of ``role`` is given; ``InvalidInput`` when
    the role is unknown, needs a scope and has none, or the grid's level does not suit the role."""
    if role not in ROLES:
        raise InvalidInput(f"未知角色：{role}（可选：{'、'.join(f'{r}（{ROLES.label_of(r)}）' for r in ROLES)}）")
    label = ROLES.label_of(role)
    levels = ROLE_SCOPE_LEVELS[role]
    if scope_code is None or not scope_code.strip():
        if role in ROLES_NEEDING_SCOPE:
            raise InvalidInput(f"「{label}」必须指定范围：{'或'.join(LEVEL_ZH[v] for v in levels)}网格的编码")
        return None, None
    if not levels:
        raise InvalidInput(f"「{label}」不限范围，不能指定范围")
    code = scope_code.strip()
    row = session.execute(
        text("SELECT id, level FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"), {"c": code}
    ).one_or_none()
    if row is None:
        raise NotFound(f"网格不存在：{code}")
    if row.level not in levels:
        wanted = "或".join(LEVEL_ZH[v] for v in levels)
        raise InvalidInput(f"「{label}」的范围应是{wanted}网格，{code} 是{LEVEL_ZH[row.level]}")
    return int(row.id), code
