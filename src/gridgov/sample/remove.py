"""Take the sample street (文艺路街道, loaded by ``gridgov sample load``) out of a database, and only it.

What belongs to the street is derived from the data model, so a new table cannot be missed:

* its grids: the street grid and every grid below it, with every version (history rows, retired grids);
* every row that refers to a removed row through a foreign key (the database would refuse the removal
  otherwise), through an array of ids (:data:`ARRAY_REFS`) or through grid codes (:data:`CODE_REFS`);
* every row that only removed rows refer to (a staff member whose posts were all on the street's grids, a
  resident whose household is gone), when its own references point nowhere else: repeated until nothing is added;
* every version of a record one of whose versions belongs.

Accounts, tokens, jobs and the audit log are not sample data (:data:`KEPT`): a user or token whose scope was one
of the street's grids is disabled or revoked (and reported), a user's link to a removed staff record is cleared.
Installation-wide settings (:data:`SETTINGS`) stay; derived caches (:data:`CACHES`) are emptied. Everything runs
in the caller's transaction, set-based: one DELETE per table (tables that refer to each other in one statement),
children first, in bulk-audit mode (one audit row per statement).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.db.models import Base
from gridgov.errors import Conflict, InstallationError

SAMPLE_STREET = "610103006"  # gridgov.sample.generate.constants.STREET_CODE (not imported: it pulls in numpy)

KEPT = frozenset({"app_user", "user_session", "api_token", "job", "audit_log", "installation", "division"})
"""Not sample data: never deleted."""
SETTINGS = frozenset({"vocab_term", "incident_time_limit", "incident_dispatch_rule", "work_calendar", "data_revision"})
"""Installation-wide settings and counters: stay as they are."""
CACHES = frozenset({"derived_cache"})
"""Results derived from the data (keyed by revision): emptied, recomputed when next asked."""
ARRAY_REFS: dict[tuple[str, str], str] = {
    ("party_org", "grid_ids"): "grid",
    ("patrol_area", "rota_grid_ids"): "grid",
    ("party_duty_area", "person_ids"): "person",
    ("night_footprint", "track_ids"): "patrol_track",
}
"""Array columns of ids that are references without a foreign key: (table, column) → referred table."""
CODE_REFS: dict[tuple[str, str], str] = {("grid_finding", "codes"): "grid"}
"""Array columns of grid codes."""
# A kept table's reference to a removed row, and what happens to the row instead.
KEPT_REFS: dict[tuple[str, str], str] = {
    ("app_user", "scope_grid_id"): "disable",
    ("app_user", "staff_id"): "unlink",
    ("api_token", "scope_grid_id"): "revoke",
}


@dataclass(frozen=True)
class Edge:
    """A reference from ``table.column`` to ``target`` (a foreign key, an id array or a code array)."""

    table: str
    column: str
    target: str
    kind: str = "fk"  # fk | array | code


@dataclass
class Removal:
    """What a removal took out (or would): rows per table, users disabled and tokens revoked because their scope
    was one of the street's grids, users unlinked from a removed staff record."""

    street: str
    present: bool
    applied: bool
    counts: dict[str, int] = field(default_factory=dict)
    disabled_users: list[str] = field(default_factory=list)
    revoked_tokens: list[str] = field(default_factory=list)
    unlinked_users: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"street": self.street, "present": self.present, "applied": self.applied, "total": self.total,
                "counts": self.counts, "disabled_users": self.disabled_users, "revoked_tokens": self.revoked_tokens,
                "unlinked_users": self.unlinked_users}  # fmt: skip


def _tables() -> dict[str, Table]:
    return {t.name: t for t in Base.metadata.sorted_tables}


def _keyed(t: Table) -> bool:
    """Rows named by a single ``id`` column (the ones that can be marked)."""
    return [c.name for c in t.primary_key.columns] == ["id"]


def edges() -> list[Edge]:
    """Every reference between removable tables: foreign keys, id arrays, code arrays."""
    found = [
        Edge(t.name, next(iter(fk.column_keys)), fk.referred_table.name)
        for t in _tables().values()
        if t.name not in KEPT | SETTINGS | CACHES
        for fk in t.foreign_key_constraints
        if fk.referred_table.name not in KEPT
    ]
    found += [Edge(t, c, target, "array") for (t, c), target in ARRAY_REFS.items()]
    found += [Edge(t, c, target, "code") for (t, c), target in CODE_REFS.items()]
    return found


def uncovered() -> list[str]:
    """Tables the removal would not know what to do with (must be empty: a new table needs a reference to what it
    belongs to, or a place in KEPT, SETTINGS or CACHES), and kept tables' references without a rule."""
    tables = _tables()
    referring = {e.table for e in edges()}
    missing = [n for n in tables if n not in KEPT | SETTINGS | CACHES | referring | {"grid"}]
    missing += [f"{t.name}.{next(iter(fk.column_keys))}" for t in tables.values() if t.name in KEPT
                for fk in t.foreign_key_constraints if fk.referred_table.name not in KEPT
                and (t.name, next(iter(fk.column_keys))) not in KEPT_REFS]  # fmt: skip
    missing += [n for n in tables if n not in KEPT | SETTINGS | CACHES and not _keyed(tables[n])
                and any(e.target == n for e in edges())]  # a referred table must be keyed to be marked  # fmt: skip
    return missing


def _gone(table: str) -> str:
    return f"(SELECT id FROM sample_gone WHERE tbl = '{table}')"


def _refers(alias: str, e: Edge) -> str:
    """SQL: the row ``alias`` refers through ``e`` to a removed row."""
    if e.kind == "fk":
        return f"{alias}.{e.column} IN {_gone(e.target)}"
    if e.kind == "array":
        return f"{alias}.{e.column} && ARRAY{_gone(e.target)}"
    return f"{alias}.{e.column} && ARRAY(SELECT code FROM sample_gone_code)"


def _belongs(table: str, alias: str, by_table: dict[str, list[Edge]]) -> str:
    """SQL: the row ``alias`` of ``table`` is removed (marked, or refers to a removed row if it cannot be)."""
    if _keyed(_tables()[table]):
        return f"{alias}.id IN {_gone(table)}"
    return "(" + " OR ".join(_refers(alias, e) for e in by_table[table]) + ")"


def _mark(session: Session, table: str, where: str) -> int:
    n = session.execute(text(f"INSERT INTO sample_gone SELECT '{table}', t.id FROM {table} t "
                             f"WHERE ({where}) AND t.id NOT IN {_gone(table)} ON CONFLICT DO NOTHING"))  # fmt: skip
    return int(n.rowcount or 0)  # type: ignore[attr-defined]


def _mark_all(session: Session, street: str) -> None:
    """Fill ``sample_gone`` (table, id) with every row that belongs to the street (see the module's rules)."""
    session.execute(text("CREATE TEMP TABLE sample_gone (tbl text, id bigint, PRIMARY KEY (tbl, id)) ON COMMIT DROP"))
    session.execute(text("""
        INSERT INTO sample_gone
        WITH RECURSIVE sub(id) AS (SELECT id FROM grid WHERE code = :street AND level = 'street'
                                   UNION
                                   SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id OR g.lineage_id = sub.id)
        SELECT 'grid', id FROM sub"""), {"street": street})  # fmt: skip
    session.execute(text("CREATE TEMP TABLE sample_gone_code ON COMMIT DROP AS "
                         f"SELECT DISTINCT code::text AS code FROM grid WHERE id IN {_gone('grid')}"))  # fmt: skip
    tables = _tables()
    all_edges = edges()
    by_table: dict[str, list[Edge]] = {}
    for e in all_edges:
        by_table.setdefault(e.table, []).append(e)
    keyed = [n for n, t in tables.items() if n in by_table and _keyed(t)]
    versioned = [n for n in keyed if "lineage_id" in tables[n].c]
    placed = [n for n in keyed if {"grid_id", "geom"} <= set(tables[n].c.keys())]
    referred = {e.target for e in all_edges} - {"grid"}
    while True:
        added = 0
        for name in keyed:  # down: rows that refer to removed rows
            added += _mark(session, name, " OR ".join(_refers("t", e) for e in by_table[name]))
        for name in placed:  # unassigned records (outside every grid) belong to the street they lie nearest to
            added += _mark(session, name, f"""t.grid_id IS NULL AND t.geom IS NOT NULL AND (
                SELECT g.id FROM grid g WHERE g.level = 'street' AND g.valid_to IS NULL AND g.lineage_id IS NULL
                 ORDER BY g.geom <-> t.geom LIMIT 1) IN {_gone('grid')}""")
        for name in versioned:  # every version of a record one of whose versions goes
            added += _mark(session, name, f"t.id IN (SELECT h.lineage_id FROM {name} h WHERE h.id IN {_gone(name)})")
        for name in sorted(referred):  # up: rows only removed rows refer to, referring nowhere else themselves
            incoming = [e for e in all_edges if e.target == name and e.table != name and e.kind != "code"]
            if not incoming:
                continue
            used = " UNION ".join(f"SELECT {_ids(a, e)} FROM {e.table} {a} WHERE {_belongs(e.table, a, by_table)}"
                                  for a, e in _aliased(incoming))  # fmt: skip
            kept = " UNION ".join(f"SELECT {_ids(a, e)} FROM {e.table} {a} WHERE NOT {_belongs(e.table, a, by_table)}"
                                  for a, e in _aliased(incoming))  # fmt: skip
            own = [e for e in by_table.get(name, []) if e.kind == "fk" and e.target != name]
            elsewhere = " OR ".join(f"(t.{e.column} IS NOT NULL AND t.{e.column} NOT IN {_gone(e.target)})"
                                    for e in own) or "false"  # fmt: skip
            added += _mark(session, name, f"t.id IN (SELECT id FROM ({used}) u(id) WHERE id IS NOT NULL "
                                          f"EXCEPT SELECT id FROM ({kept}) k(id)) AND NOT ({elsewhere})")  # fmt: skip
        if not added:
            return


def _aliased(es: list[Edge]) -> list[tuple[str, Edge]]:
    return [(f"r{i}", e) for i, e in enumerate(es)]


def _ids(alias: str, e: Edge) -> str:
    """SQL: the ids the row ``alias`` refers to through ``e`` (a set-returning expression for an array)."""
    return f"{alias}.{e.column}" if e.kind == "fk" else f"unnest({alias}.{e.column})"


def delete_order() -> list[list[str]]:
    """The removable tables in the order their rows are deleted, children first; tables that refer to each other
    (through foreign keys, directly or not) form one group, deleted in one statement."""
    tables = _tables()
    names = [n for n in tables if n not in KEPT | SETTINGS]
    parents = {n: {fk.referred_table.name for fk in tables[n].foreign_key_constraints} & set(names) - {n}
               for n in names}  # fmt: skip
    reach: dict[str, set[str]] = {}
    for n in names:
        seen: set[str] = set()
        todo = list(parents[n])
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo += parents[p]
        reach[n] = seen
    group = {n: frozenset({n} | {m for m in reach[n] if n in reach[m]}) for n in names}
    sorter: graphlib.TopologicalSorter[frozenset[str]] = graphlib.TopologicalSorter()
    for n in names:  # a group comes after every group that refers to it
        sorter.add(group[n], *(group[c] for c in names if n in parents[c] and group[c] != group[n]))
    return [sorted(g, key=list(tables).index) for g in sorter.static_order()]


def _count(session: Session, table: str, by_table: dict[str, list[Edge]]) -> int:
    if table in CACHES:
        return int(session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    return int(session.scalar(text(f"SELECT count(*) FROM {table} t WHERE {_belongs(table, 't', by_table)}")) or 0)


def _delete(session: Session, group: list[str], by_table: dict[str, list[Edge]]) -> dict[str, int]:
    def where(table: str) -> str:
        return "true" if table in CACHES else _belongs(table, table, by_table)

    parts = ", ".join(f"d{i} AS (DELETE FROM {t} WHERE {where(t)} RETURNING 1)" for i, t in enumerate(group))
    counts = ", ".join(f"(SELECT count(*) FROM d{i})" for i in range(len(group)))
    row = session.execute(text(f"WITH {parts} SELECT {counts}")).one()
    return {t: int(n) for t, n in zip(group, row, strict=True)}


def _settle_kept(session: Session, removal: Removal) -> None:
    """Disable users and revoke tokens scoped to a removed grid (their scope cannot stay), unlink removed staff."""
    grids, staff = _gone("grid"), _gone("staff")
    removal.disabled_users = list(session.scalars(text(
        f"""UPDATE app_user SET disabled_at = coalesce(disabled_at, now()), scope_grid_id = NULL
             WHERE scope_grid_id IN {grids} RETURNING username""")))  # fmt: skip
    session.execute(text("""UPDATE user_session SET revoked_at = now() WHERE revoked_at IS NULL
                              AND user_id IN (SELECT id FROM app_user WHERE lower(username) = ANY(:names))"""),
                    {"names": [u.lower() for u in removal.disabled_users]})  # fmt: skip
    removal.revoked_tokens = list(session.scalars(text(
        f"""UPDATE api_token SET revoked_at = coalesce(revoked_at, now()), scope_grid_id = NULL
             WHERE scope_grid_id IN {grids} RETURNING name""")))  # fmt: skip
    removal.unlinked_users = list(session.scalars(text(
        f"UPDATE app_user SET staff_id = NULL WHERE staff_id IN {staff} RETURNING username")))  # fmt: skip
    removal.disabled_users.sort()
    removal.revoked_tokens.sort()
    removal.unlinked_users.sort()


def _preview_kept(session: Session, removal: Removal) -> None:
    def names(sql: str) -> list[str]:
        return sorted(session.scalars(text(sql)))

    removal.disabled_users = names(f"SELECT username FROM app_user WHERE scope_grid_id IN {_gone('grid')}")
    removal.revoked_tokens = names(f"SELECT name FROM api_token WHERE scope_grid_id IN {_gone('grid')}")
    removal.unlinked_users = names(f"SELECT username FROM app_user WHERE staff_id IN {_gone('staff')}")


def remove_sample(session: Session, actor: Actor, *, apply: bool, street: str = SAMPLE_STREET) -> Removal:
    """Remove the sample street and everything that belongs to it (``apply``), or count what would go; returns
    the rows per table. Administrators only (unscoped). A database without the street changes nothing
    (``present`` False); one whose ``init`` recorded this street as its own is refused (``Conflict``)."""
    authorize(session, actor, "admin", anywhere=True)
    missing = uncovered()
    if missing:
        raise InstallationError(f"删除样例街道：不知道如何处理这些表：{'、'.join(missing)}（程序缺陷，请报告）")
    own = session.scalar(text("SELECT street_code FROM installation WHERE id = 1"))
    if own == street:
        raise Conflict(f"本系统已初始化为街道 {street}：它的数据不是样例，不能作为样例删除")
    removal = Removal(street, present=False, applied=apply)
    if session.scalar(text("SELECT count(*) FROM grid WHERE code = :c AND level = 'street'"), {"c": street}) == 0:
        return removal
    removal.present = True
    _mark_all(session, street)
    by_table: dict[str, list[Edge]] = {}
    for e in edges():
        by_table.setdefault(e.table, []).append(e)
    order = delete_order()
    if not apply:
        removal.counts = {t: _count(session, t, by_table) for g in order for t in g}
        _preview_kept(session, removal)
    else:
        session.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', :a, true)"),
                        {"a": actor.audit_name})  # fmt: skip
        _settle_kept(session, removal)
        for group in order:
            removal.counts |= _delete(session, group, by_table)
        session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
    removal.counts = {t: n for t, n in removal.counts.items() if n}
    return removal


def tables_in_order() -> Iterable[str]:
    """Every removable table in delete order (for reports)."""
    return [t for g in delete_order() for t in g]
