"""Imports that update: ``upsert`` (new codes created, existing ones changed field by field) and ``sync`` (the file
is the whole truth for a grid's subtree: the live records there that it does not name are retired).

Everything is set-based over the staging table ``stage`` of :mod:`gridgov.importing.entities`. ``import_match``
pairs each staged row with the record of its code (live or retired) and names the fields that differ, only among
the columns the file has; changed rows are written with one ``UPDATE … FROM`` per table (the history trigger of
migration 0007 keeps the former state, valid until the change took effect), new ones with one INSERT, and
``import_retire`` holds what a sync ends. Staff are people (``import_staff``, by staff code) holding posts
(``import_post``): an update changes their name and phone and adds the posts they do not hold yet; a sync ends the
posts in the scope the file does not list. The diff a report shows (created, updated with old → new, retired,
unchanged) is read from these tables before anything is written, so a dry run shows what a real run does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.points import STAGED_TABLE
from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import InvalidInput, NotFound
from gridgov.history import SYNC_REASON, day_of, start_of
from gridgov.importing.columns import ENTITIES, MODES

DIFF_LISTED = 20  # rows listed per part of a diff
MATCH, RETIRE, STAFF, POSTS = "import_match", "import_retire", "import_staff", "import_post"
TEMP_TABLES = (MATCH, RETIRE, STAFF, POSTS)
AT = "coalesce(CAST(:at AS timestamptz), now())"  # the moment the import's changes take effect
LAST_CHANGE = "greatest({a}.valid_from, coalesce({a}.valid_to, {a}.valid_from))"
CHANGED = "(d.revived OR cardinality(d.fields) > 0)"
NEW_ONLY = f"NOT EXISTS (SELECT 1 FROM {MATCH} d WHERE d.sid = s.id)"
SUBTREE = """WITH RECURSIVE sub AS (
    SELECT id FROM grid WHERE code = :scope AND valid_to IS NULL AND lineage_id IS NULL
    UNION ALL
    SELECT g.id FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
) """
PLACE = ("CASE WHEN {0} IS NULL THEN NULL WHEN GeometryType({0}) = 'POINT' "
         "THEN round(CAST(ST_X({0}) AS numeric), 6) || ', ' || round(CAST(ST_Y({0}) AS numeric), 6) "
         "ELSE '面，中心 ' || round(CAST(ST_X(ST_PointOnSurface({0})) AS numeric), 6) || ', ' "
         "|| round(CAST(ST_Y(ST_PointOnSurface({0})) AS numeric), 6) END")  # fmt: skip
FLAG = "CASE WHEN {0} THEN '是' WHEN NOT {0} THEN '否' END"
AS_TEXT = "CAST({0} AS text)"
SORTED = "(SELECT array_agg(v ORDER BY v) FROM unnest({0}) v)"  # tags compare as sets ('{}' as none)
STAFF_CODES = "UPDATE stage SET staff_code = coalesce(staff_code, 'S-' || left(md5(name || coalesce(phone, '')), 16))"


@dataclass(frozen=True)
class Plan:
    """How a file is imported: the mode, the scope a sync covers, and when its changes take effect."""

    mode: str
    scope: str | None
    effective: dt.date | None  # None: the moment of the import
    at: dt.datetime | None  # start_of(effective), or None (now)
    day: dt.date  # the day posts begin or end on
    timezone: str

    @property
    def updating(self) -> bool:
        """Whether existing codes are updated (upsert, sync) rather than refused."""
        return self.mode != "insert"


def plan(session: Session, actor: Actor, entity: str, mode: str, scope: str | None, effective: dt.date | None,
         timezone: str) -> Plan:  # fmt: skip
    """Check the options of an import (``InvalidInput`` in Chinese) and that the scope is the actor's."""
    if mode not in MODES:
        raise InvalidInput(f"未知的导入方式：{mode}（可用 insert 仅新增、upsert 新增并更新、sync 同步）")
    if entity == "incidents" and mode != "insert":
        raise InvalidInput("事件还没有历史记录，只能“仅新增”导入（insert）：不支持新增并更新（upsert）或同步（sync）")
    scope = (scope or "").strip() or None
    if mode == "sync" and scope is None:
        raise InvalidInput("同步导入须指定范围（网格编码，如 --scope 610103006001）：文件即该范围内的全部记录")
    if mode != "sync" and scope is not None:
        raise InvalidInput("范围（scope）只用于同步导入（sync）")
    today = day_of(None, timezone)
    if effective is not None and effective > today:
        raise InvalidInput(f"生效日期不能晚于今天：{effective.isoformat()}")
    if scope is not None:
        found = session.scalar(text("SELECT 1 FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                               {"c": scope})  # fmt: skip
        if found is None:
            raise NotFound(f"网格不存在：{scope}")
        authorize(session, actor, "write", Touches(codes=[scope]))
    at = start_of(effective, timezone) if effective is not None else None
    return Plan(mode, scope, effective, at, effective or today, timezone)


# --------------------------------------------------------------------------------------------- the diff


@dataclass
class Change:
    """One field of an updated record: its column, Chinese label, and the value before and after (as text)."""

    field: str
    label: str
    old: str | None
    new: str | None


@dataclass
class DiffRow:
    """A record in a diff: its code, the file row naming it (None for a record the file leaves out), and for
    staff the post (grid and role); updated rows list their changes."""

    code: str
    row: int | None = None
    detail: str | None = None
    revived: bool = False
    changes: list[Change] = field(default_factory=list)


@dataclass
class DiffPart:
    """How many records a part of the diff holds, and the first ``DIFF_LISTED`` of them."""

    count: int = 0
    rows: list[DiffRow] = field(default_factory=list)


@dataclass
class ImportDiff:
    """What an import creates, updates (revivals included), retires and leaves unchanged. Staff count posts as
    created, retired and unchanged, and people (name, phone) as updated."""

    mode: str
    scope: str | None
    effective: str | None  # YYYY-MM-DD; None: the day of the import
    created: DiffPart = field(default_factory=DiffPart)
    updated: DiffPart = field(default_factory=DiffPart)
    retired: DiffPart = field(default_factory=DiffPart)
    unchanged: DiffPart = field(default_factory=DiffPart)
    persons_retired: int = 0  # residents ended with the households a sync retires


def empty_diff(p: Plan) -> ImportDiff:
    """A diff with nothing in it yet, for the plan."""
    return ImportDiff(p.mode, p.scope, p.effective.isoformat() if p.effective else None)


def inserted_diff(p: Plan, rows: Sequence[int], count: int, codes: Sequence[Any]) -> ImportDiff:
    """The diff of an insert: all ``count`` rows created, the first ones listed (from the checked file, no query)."""
    d = empty_diff(p)
    d.created = DiffPart(count, [DiffRow(str(c), int(r)) for r, c in zip(rows, codes, strict=True)][:DIFF_LISTED])
    return d


# --------------------------------------------------------------------------------------------- versioned records


@dataclass(frozen=True)
class Tracked:
    """A field an update compares and sets: the file's column, its label, SQL for the stored value (``t``: the
    record, ``o``: what it refers to) and the file's (``s``: the staged row, ``n``: what it names), the SET
    clause, and how a value is shown (a format with ``{0}``)."""

    name: str
    old: str
    new: str
    sets: str
    shown: str = "{0}"
    same: str = "{0}"  # the form both sides are compared in


def _label(entity: str, name: str) -> str:
    """The Chinese name of a file column (its template heading), 位置 for the location."""
    if name == "geom":
        return "位置"
    col = next((c for c in ENTITIES[entity] if c.name == name), None)
    return col.aliases[0] if col is not None and col.aliases else name


def _flag(name: str) -> Tracked:
    return Tracked(name, f"t.{name}", f"coalesce(s.{name}, false)", f"{name} = coalesce(s.{name}, false)", FLAG)


def _plain(name: str, shown: str = "{0}") -> Tracked:
    return Tracked(name, f"t.{name}", f"s.{name}", f"{name} = s.{name}", shown)


TAGS_NEW = "CASE WHEN coalesce(s.tags, '') = '' THEN NULL ELSE string_to_array(s.tags, ';') END"
FIELDS: dict[str, tuple[Tracked, ...]] = {
    "households": (
        _plain("address"),
        Tracked("building_code", "o.code", "s.building_code", "building_id = n.id"),
        _plain("kind"),
        Tracked("geom", "t.geom", "s.geom", f"geom = s.geom, grid_id = {STAGED_TABLE}.gid", PLACE),
    ),
    "buildings": (
        _plain("name"),
        _plain("address"),
        Tracked("floors", "CAST(t.floors AS numeric)", "s.floors", "floors = s.floors", AS_TEXT),
        Tracked("geom", "t.geom", "s.geom", "geom = s.geom", PLACE),
    ),
    "persons": (
        Tracked("household_code", "o.code", "s.household_code", "household_id = n.id"),
        _plain("name"),
        _plain("sex"),
        Tracked("birth_year", "CAST(t.birth_year AS numeric)", "s.birth_year", "birth_year = s.birth_year", AS_TEXT),
        _plain("phone"),
        _plain("id_number"),
        _flag("is_resident_rep"),
        _flag("is_volunteer"),
        _flag("is_party_member"),
        _plain("member_type"),
        Tracked("tags", "t.sensitive_tags", TAGS_NEW, f"sensitive_tags = {TAGS_NEW}", "array_to_string({0}, '、')",
                SORTED),
    ),
}
# Per entity: joins of the record's reference (o) and of the one the file names (n), and the grids the record is
# in before and after (None: known only once written).
JOINS = {
    "households": ("LEFT JOIN building o ON o.id = t.building_id",
                   "LEFT JOIN building n ON n.code = s.building_code AND n.lineage_id IS NULL AND n.valid_to IS NULL "
                   f"LEFT JOIN {STAGED_TABLE} ON {STAGED_TABLE}.id = s.id"),
    "buildings": ("", ""),
    "persons": ("LEFT JOIN household o ON o.id = t.household_id",
                "LEFT JOIN household n ON n.code = s.household_code AND n.lineage_id IS NULL AND n.valid_to IS NULL"),
}  # fmt: skip
GRIDS = {"households": ("t.grid_id", f"{STAGED_TABLE}.gid", "geom"), "buildings": ("t.grid_id", None, "geom"),
         "persons": ("o.grid_id", "n.grid_id", "household_code")}  # fmt: skip


def _fields(entity: str, present: Collection[str]) -> list[Tracked]:
    """The fields an update of ``entity`` compares: the columns the file has. A persons file with 是否党员 but no
    党员类型 keeps a member's type and clears a former member's."""
    out = [f for f in FIELDS[entity] if f.name in present]
    if entity == "persons" and "is_party_member" in present and "member_type" not in present:
        kept = "CASE WHEN coalesce(s.is_party_member, false) THEN t.member_type END"
        out.append(Tracked("member_type", "t.member_type", kept, f"member_type = {kept}"))
    return out


def _differs(f: Tracked) -> str:
    return f"{f.same.format(f.old)} IS DISTINCT FROM {f.same.format(f.new)}"


def match(session: Session, entity: str, table: str, present: Collection[str]) -> None:
    """Pair every staged row with the record of its code (live or retired) in ``import_match``: the fields that
    differ, whether it is revived, its last change and its grids before and after."""
    fields = _fields(entity, present)
    changed = ", ".join(f"CASE WHEN {_differs(f)} THEN '{f.name}' END" for f in fields)
    names = f"array_remove(ARRAY[{changed}]::text[], NULL)" if fields else "CAST('{}' AS text[])"
    old_grid, new_grid, moved_by = GRIDS[entity]
    new_grid = new_grid if new_grid is not None and moved_by in present else old_grid
    old_join, new_join = JOINS[entity]
    session.execute(text(f"""CREATE TEMP TABLE {MATCH} ON COMMIT DROP AS
        SELECT s.id AS sid, t.id AS target, s.row, s.code, t.valid_to IS NOT NULL AS revived,
               t.end_reason, {LAST_CHANGE.format(a="t")} AS last_change, {old_grid} AS old_grid,
               {new_grid} AS new_grid, {names} AS fields
          FROM stage s JOIN {table} t ON t.code = s.code AND t.lineage_id IS NULL {old_join} {new_join}"""))
    session.execute(text(f"CREATE INDEX ON {MATCH} (sid)"))
    session.execute(text(f"ANALYZE {MATCH}"))


def match_errors(session: Session, entity: str, p: Plan, present: Collection[str],
                 missing: Sequence[str]) -> list[tuple[int, str, str]]:  # fmt: skip
    """What refuses rows of an update: a new record without a column the file lacks (``missing``), a party
    member without a type (or a type without membership) once merged with the stored record, and a change dated
    before the record's last one."""
    out: list[tuple[int, str, str]] = []
    if missing:
        new_rows = session.scalars(text(f"SELECT s.row FROM stage s WHERE {NEW_ONLY} ORDER BY s.row")).all()
        out += [(int(r), c, "新记录须填写此列，而文件中没有这一列") for r in new_rows for c in missing]
    if entity == "persons" and ("is_party_member" in present) != ("member_type" in present):
        member = f"coalesce({'s' if 'is_party_member' in present else 't'}.is_party_member, false)"
        typed = "s.member_type" if "member_type" in present else f"CASE WHEN {member} THEN t.member_type END"
        bad = session.execute(text(f"""SELECT s.row, {member} AS member FROM stage s
                                         LEFT JOIN person t ON t.code = s.code AND t.lineage_id IS NULL
                                        WHERE {member} <> ({typed} IS NOT NULL) ORDER BY s.row""")).all()  # fmt: skip
        out += [(int(r.row), "member_type", "党员须填写党员类型" if r.member else "非党员不应填写党员类型")
                for r in bad]  # fmt: skip
    out += late_changes(session, p, f"SELECT d.row AS r, d.code, d.last_change FROM {MATCH} d WHERE {CHANGED}")
    return out


def late_changes(session: Session, p: Plan, rows_sql: str) -> list[tuple[int, str, str]]:
    """Rows of ``rows_sql`` (r: the file row, code, last_change) whose record last changed on a later day than the
    effective one: a change recorded late goes before it, so it is refused."""
    if p.effective is None:
        return []
    day = "CAST(timezone(:tz, x.last_change) AS date)"
    late = session.execute(text(f"SELECT x.r, x.code, {day} AS day FROM ({rows_sql}) x WHERE {day} > :day "
                                "ORDER BY x.r, x.code"), {"tz": p.timezone, "day": p.effective}).all()  # fmt: skip
    return [(int(r.r or 0), "code", f"{r.code} 上次变更于 {r.day}，晚于生效日期 {p.effective}：请按时间顺序登记变更")
            for r in late]  # fmt: skip


def retirements(session: Session, entity: str, table: str, p: Plan) -> list[tuple[int, str, str]]:
    """The live records of the scope the file does not name, in ``import_retire`` (id, code, last change); and
    what refuses their retirement (a change dated before their last one, a building with households left)."""
    where = {"persons": "JOIN household h ON h.id = t.household_id WHERE h.grid_id IN (SELECT id FROM sub)"}.get(
        entity, "WHERE t.grid_id IN (SELECT id FROM sub)")  # fmt: skip
    session.execute(text(f"""CREATE TEMP TABLE {RETIRE} ON COMMIT DROP AS {SUBTREE}
        SELECT t.id, t.code, {LAST_CHANGE.format(a="t")} AS last_change, CAST(NULL AS text) AS detail
          FROM {table} t {where} AND t.valid_to IS NULL
           AND NOT EXISTS (SELECT 1 FROM stage s WHERE s.code = t.code)"""), {"scope": p.scope})  # fmt: skip
    out = late_changes(session, p, f"SELECT CAST(NULL AS int) AS r, code, last_change FROM {RETIRE}")
    if entity == "buildings":
        kept = session.execute(text(f"""SELECT r.code, count(*) AS n FROM {RETIRE} r
                                           JOIN household h ON h.building_id = r.id AND h.valid_to IS NULL
                                          GROUP BY r.code ORDER BY r.code""")).all()  # fmt: skip
        out += [(0, "code", f"同步将注销楼栋 {r.code}，但楼内还有 {r.n} 户：请先迁出或注销这些户") for r in kept]
    return out


def touched_grids(session: Session, entity: str) -> set[int | None]:
    """The grids the changed records are in, before and after, and those of the new ones where known before they
    are written (households: their staged leaf; persons: their household's)."""
    grids: set[int | None] = set()
    for old, new in session.execute(text(f"SELECT DISTINCT old_grid, new_grid FROM {MATCH} d WHERE {CHANGED}")):
        grids |= {old, new}
    new_rows = {"households": f"SELECT DISTINCT m.gid FROM stage s LEFT JOIN {STAGED_TABLE} m ON m.id = s.id",
                "persons": "SELECT DISTINCT n.grid_id FROM stage s LEFT JOIN household n ON n.code = s.household_code "
                           "AND n.lineage_id IS NULL AND n.valid_to IS NULL"}.get(entity)  # fmt: skip
    if new_rows is not None:
        grids |= set(session.scalars(text(f"{new_rows} WHERE {NEW_ONLY}")))
    return grids


def touched_rows(session: Session) -> set[int]:
    """The file rows an update writes: the new records and the changed ones."""
    stmt = f"SELECT s.row FROM stage s LEFT JOIN {MATCH} d ON d.sid = s.id WHERE d.sid IS NULL OR {CHANGED}"
    return set(session.scalars(text(stmt)))


def versioned_diff(session: Session, entity: str, table: str, p: Plan, present: Collection[str]) -> ImportDiff:
    """Created, updated (old → new per field), retired and unchanged records, from the staging tables."""
    d = empty_diff(p)
    counts = session.execute(text(f"""SELECT (SELECT count(*) FROM stage s WHERE {NEW_ONLY}) AS created,
                                             count(*) FILTER (WHERE {CHANGED}) AS updated,
                                             count(*) FILTER (WHERE NOT {CHANGED}) AS unchanged
                                        FROM {MATCH} d""")).one()  # fmt: skip
    listed = f"ORDER BY s.row LIMIT {DIFF_LISTED}"
    created = session.execute(text(f"SELECT s.row, s.code FROM stage s WHERE {NEW_ONLY} {listed}")).all()
    d.created = DiffPart(int(counts.created), [DiffRow(r.code, int(r.row)) for r in created])
    same = session.execute(text(f"SELECT d.row, d.code FROM {MATCH} d WHERE NOT {CHANGED} ORDER BY d.row "
                                f"LIMIT {DIFF_LISTED}")).all()  # fmt: skip
    d.unchanged = DiffPart(int(counts.unchanged), [DiffRow(r.code, int(r.row)) for r in same])
    fields = _fields(entity, present)
    shown = "".join(f"{f.shown.format(f.old)} AS old_{k}, {f.shown.format(f.new)} AS new_{k}, "
                    for k, f in enumerate(fields))  # fmt: skip
    old_join, new_join = JOINS[entity]
    rows = session.execute(text(f"""SELECT {shown}d.row, d.code, d.revived, d.end_reason, d.fields
          FROM {MATCH} d JOIN stage s ON s.id = d.sid JOIN {table} t ON t.id = d.target {old_join} {new_join}
         WHERE {CHANGED} ORDER BY d.row LIMIT {DIFF_LISTED}""")).mappings().all()  # fmt: skip
    d.updated = DiffPart(int(counts.updated), [])
    for r in rows:
        changes = [Change("status", "状态", f"已注销（{r['end_reason']}）", "在册")] if r["revived"] else []
        changes += [Change(f.name, _label(entity, f.name), r[f"old_{k}"], r[f"new_{k}"])
                    for k, f in enumerate(fields) if f.name in r["fields"]]  # fmt: skip
        d.updated.rows.append(DiffRow(r["code"], int(r["row"]), revived=bool(r["revived"]), changes=changes))
    if p.mode == "sync":
        d.retired = _retired_part(session)
        if entity == "households":
            d.persons_retired = int(session.execute(text(f"SELECT count(*) FROM person WHERE valid_to IS NULL AND "
                                                         f"household_id IN (SELECT id FROM {RETIRE})")).scalar_one())
    return d


def _retired_part(session: Session) -> DiffPart:
    count = int(session.execute(text(f"SELECT count(*) FROM {RETIRE}")).scalar_one())
    rows = session.execute(text(f"SELECT code, detail FROM {RETIRE} ORDER BY code, detail LIMIT {DIFF_LISTED}")).all()
    return DiffPart(count, [DiffRow(r.code, None, r.detail) for r in rows])


def write_versioned(session: Session, entity: str, table: str, p: Plan, present: Collection[str]) -> int:
    """Write the changed records with one UPDATE (revivals included); returns the rows updated. The new ones are
    inserted by the caller, the missing ones retired by :func:`retire`."""
    fields = _fields(entity, present)
    sets = ", ".join([f.sets for f in fields] + ["valid_to = NULL", "end_reason = NULL"])
    _, new_join = JOINS[entity]
    stmt = f"""UPDATE {table} t SET {sets}
                 FROM {MATCH} d JOIN stage s ON s.id = d.sid {new_join}
                WHERE t.id = d.target AND {CHANGED}"""
    return int(session.execute(text(stmt)).rowcount)  # type: ignore[attr-defined]


def retire(session: Session, entity: str, table: str, p: Plan) -> int:
    """End what a sync retires (a household's residents with it) at the effective moment; returns the records."""
    params = {"at": p.at, "reason": SYNC_REASON}
    if entity == "households":
        session.execute(text(f"UPDATE person SET valid_to = {AT}, end_reason = :reason WHERE valid_to IS NULL "
                             f"AND household_id IN (SELECT id FROM {RETIRE})"), params)  # fmt: skip
    stmt = f"UPDATE {table} SET valid_to = {AT}, end_reason = :reason WHERE id IN (SELECT id FROM {RETIRE})"
    return int(session.execute(text(stmt), params).rowcount)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------- staff and posts


def match_staff(session: Session, p: Plan, present: Collection[str]) -> list[tuple[int, str, str]]:
    """People (``import_staff``: by staff code, the first row's name and phone) and posts (``import_post``: held
    already or not) of a staged roster; and what refuses rows: a person whose rows disagree on name or phone, a
    retired person in an insert, a change dated before the person's last one, and (sync) a post to end that began
    after the effective day."""
    phone = "t.phone IS DISTINCT FROM s.phone" if "phone" in present else "false"
    session.execute(text(STAFF_CODES))
    session.execute(text(f"""CREATE TEMP TABLE {STAFF} ON COMMIT DROP AS
        SELECT DISTINCT ON (s.staff_code) s.staff_code AS code, s.row, s.name, s.phone, t.id AS target,
               coalesce(t.valid_to IS NOT NULL, false) AS revived, t.end_reason,
               {LAST_CHANGE.format(a="t")} AS last_change,
               CASE WHEN t.id IS NULL THEN CAST('{{}}' AS text[]) ELSE array_remove(ARRAY[
                 CASE WHEN t.name IS DISTINCT FROM s.name THEN 'name' END, CASE WHEN {phone} THEN 'phone' END
               ]::text[], NULL) END AS fields
          FROM stage s LEFT JOIN staff t ON t.code = s.staff_code AND t.lineage_id IS NULL
         ORDER BY s.staff_code, s.row"""))  # fmt: skip
    if not p.updating:  # an insert leaves the people it finds as they are
        session.execute(text(f"UPDATE {STAFF} SET fields = '{{}}'"))
    session.execute(text(f"""CREATE TEMP TABLE {POSTS} ON COMMIT DROP AS
        SELECT DISTINCT ON (s.staff_code, g.id, s.role) s.row, s.staff_code AS code, s.name, g.id AS grid_id,
               g.code AS grid_code, s.role, r.id AS held
          FROM stage s JOIN grid g ON g.code = s.grid_code AND g.valid_to IS NULL AND g.lineage_id IS NULL
          LEFT JOIN staff st ON st.code = s.staff_code AND st.lineage_id IS NULL
          LEFT JOIN grid_role r ON r.staff_id = st.id AND r.grid_id = g.id AND r.role = s.role AND r.until IS NULL
         ORDER BY s.staff_code, g.id, s.role, s.row"""))  # fmt: skip
    out: list[tuple[int, str, str]] = []
    if p.updating:
        odd = session.execute(text(f"""SELECT s.row, s.staff_code, d.row AS first FROM stage s
                                         JOIN {STAFF} d ON d.code = s.staff_code
                                        WHERE (s.name, s.phone) IS DISTINCT FROM (d.name, d.phone) ORDER BY s.row"""))
        out += [(int(r.row), "name", f"人员编码 {r.staff_code} 的姓名或电话与第 {r.first} 行不一致") for r in odd]
        out += late_changes(session, p, f"SELECT d.row AS r, d.code, d.last_change FROM {STAFF} d WHERE {CHANGED}")
    else:
        gone = session.execute(text(f"SELECT d.row, d.code FROM {STAFF} d WHERE d.revived ORDER BY d.row"))
        out += [(int(r.row), "staff_code", f"人员 {r.code} 已注销：恢复请用“新增并更新”导入") for r in gone]
    if p.mode == "sync":
        session.execute(text(f"""CREATE TEMP TABLE {RETIRE} ON COMMIT DROP AS {SUBTREE}
            SELECT r.id, st.code, g.code || ' ' || r.role AS detail, r.since
              FROM grid_role r JOIN staff st ON st.id = r.staff_id JOIN grid g ON g.id = r.grid_id
             WHERE r.until IS NULL AND r.grid_id IN (SELECT id FROM sub) AND NOT EXISTS (
                   SELECT 1 FROM {POSTS} q WHERE q.code = st.code AND q.grid_id = r.grid_id AND q.role = r.role)"""),
                        {"scope": p.scope})  # fmt: skip
        early = session.execute(text(f"SELECT code, detail, since FROM {RETIRE} WHERE since > :day ORDER BY code"),
                                {"day": p.day})  # fmt: skip
        out += [(0, "code", f"同步将结束 {r.code} 的岗位（{r.detail}），但该岗位自 {r.since} 起任职，晚于生效日期 "
                            f"{p.day}") for r in early]  # fmt: skip
    return out


def staff_grids(session: Session) -> set[int | None]:
    """The grids where the people a roster changes hold posts now (their record is theirs to edit)."""
    stmt = f"""SELECT DISTINCT r.grid_id FROM {STAFF} d JOIN grid_role r ON r.staff_id = d.target AND r.until IS NULL
                WHERE {CHANGED}"""
    return set(session.scalars(text(stmt)))


def staff_diff(session: Session, p: Plan) -> ImportDiff:
    """Posts created, people updated (name, phone), posts ended (sync), posts held already by unchanged people."""
    d = empty_diff(p)
    post = "q.name || ' ' || q.grid_code || ' ' || q.role"
    unchanged = f"q.held IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {STAFF} d WHERE d.code = q.code AND {CHANGED})"
    for part, where in (("created", "q.held IS NULL"), ("unchanged", unchanged)):
        count = int(session.execute(text(f"SELECT count(*) FROM {POSTS} q WHERE {where}")).scalar_one())
        rows = session.execute(text(f"SELECT q.row, q.code, {post} AS detail FROM {POSTS} q WHERE {where} "
                                    f"ORDER BY q.row LIMIT {DIFF_LISTED}")).all()  # fmt: skip
        setattr(d, part, DiffPart(count, [DiffRow(r.code, int(r.row), r.detail) for r in rows]))
    count = int(session.execute(text(f"SELECT count(*) FROM {STAFF} d WHERE {CHANGED}")).scalar_one())
    people = session.execute(text(f"""SELECT d.row, d.code, d.revived, d.end_reason, d.fields, t.name AS old_name,
                                             d.name AS new_name, t.phone AS old_phone, d.phone AS new_phone
                                        FROM {STAFF} d JOIN staff t ON t.id = d.target
                                       WHERE {CHANGED} ORDER BY d.row LIMIT {DIFF_LISTED}""")).mappings().all()
    d.updated = DiffPart(count, [])
    for r in people:
        changes = [Change("status", "状态", f"已注销（{r['end_reason']}）", "在册")] if r["revived"] else []
        changes += [Change(f, _label("staff", f), r[f"old_{f}"], r[f"new_{f}"]) for f in ("name", "phone")
                    if f in r["fields"]]  # fmt: skip
        d.updated.rows.append(DiffRow(r["code"], int(r["row"]), revived=bool(r["revived"]), changes=changes))
    if p.mode == "sync":
        d.retired = _retired_part(session)
    return d


def write_staff(session: Session, p: Plan, present: Collection[str], by: str) -> int:
    """Change the people a roster updates, add the new ones and the posts not held yet (from the effective day),
    and (sync) end the posts it leaves out; returns the posts added."""
    params = {"at": p.at, "day": p.day, "by": by, "reason": SYNC_REASON}
    if p.updating:
        phone = ", phone = d.phone" if "phone" in present else ""
        session.execute(text(f"""UPDATE staff t SET name = d.name{phone}, valid_to = NULL, end_reason = NULL
                                   FROM {STAFF} d WHERE t.id = d.target AND {CHANGED}"""))  # fmt: skip
    session.execute(text(f"""INSERT INTO staff (code, name, phone, valid_from, updated_by)
                             SELECT code, name, phone, {AT}, :by FROM {STAFF} WHERE target IS NULL"""), params)
    added = session.execute(text(f"""INSERT INTO grid_role (grid_id, staff_id, role, since)
        SELECT q.grid_id, st.id, q.role, :day FROM {POSTS} q
          JOIN staff st ON st.code = q.code AND st.lineage_id IS NULL WHERE q.held IS NULL
        ON CONFLICT (grid_id, staff_id, role) WHERE until IS NULL DO NOTHING RETURNING id"""), params)  # fmt: skip
    count = len(added.all())
    if p.mode == "sync":
        session.execute(text(f"UPDATE grid_role SET until = :day, end_reason = :reason "
                             f"WHERE id IN (SELECT id FROM {RETIRE})"), params)  # fmt: skip
    return count


def drop_temps(session: Session) -> None:
    """Drop the import's temp tables (so another import can follow in the same transaction)."""
    session.execute(text(f"DROP TABLE IF EXISTS stage, {', '.join(TEMP_TABLES)}, {STAGED_TABLE}"))
