"""Party records from Excel (or CSV): organisations (with their parent and the grids they are built on), memberships
(a member's person code → an organisation's code, since a day) and 联系户 (a member's person code → a household's
code), and the Excel templates for each.

The import pipeline's steps (gridgov.importing): the first sheet is read into canonical columns by their Chinese
headings (``read_table``), every cell is checked a column at a time (``check_rows``: required, allowed values with
their synonyms, phones, codes repeated in the file), the rows are staged in one statement and every code is resolved
against the database set-based; any bad row refuses the whole file, each error with its row number and a Chinese
reason, and nothing is written. A good file is authorised once for everything it touches (the scope rule of the
services: the grids named, the organisations' reach, the members' and households' grids) and written in one
statement per table. Rows already true (a member already in that organisation, a link that exists) are counted as
unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import xlsxwriter
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize
from gridgov.errors import NotFound
from gridgov.importing.columns import Column
from gridgov.importing.entities import EntityImportReport, RowError, check_rows
from gridgov.importing.read import read_table
from gridgov.party.contacts import rule_text
from gridgov.party.orgs import SPLIT, reaches, tree_problem
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.versioned import begin
from gridgov.vocab import PARTY_ORG_FORMS, PARTY_ORG_KINDS, Vocabulary

KINDS = {"orgs": "党组织", "members": "党员组织关系", "contacts": "党员联系户"}
STAGE = "party_import_stage"


def _enum(name: str, words: Vocabulary, aliases: tuple[str, ...]) -> Column:
    return Column(name, "enum", True, aliases, words.terms, tuple(words.synonyms.items()))


PERSON = Column("person_code", required=True, aliases=("人员编码", "党员编码", "党员人员编码"))
COLUMNS: dict[str, tuple[Column, ...]] = {
    "orgs": (
        Column("code", required=True, aliases=("党组织编码", "组织编码", "编码")),
        Column("name", required=True, aliases=("党组织名称", "组织名称", "名称")),
        _enum("kind", PARTY_ORG_KINDS, ("类别", "组织类别", "党组织类别")),
        _enum("form", PARTY_ORG_FORMS, ("形式", "组织形式", "党组织形式")),
        Column("parent_code", aliases=("上级组织编码", "上级组织", "上级党组织")),
        Column("grid_codes", aliases=("所建网格", "网格编码", "网格")),
        Column("unit_code", aliases=("所属单位编码", "单位编码", "驻区单位")),
        Column("secretary", aliases=("书记编码", "书记")),
        Column("phone", aliases=("电话", "联系电话")),
        Column("founded_on", "datetime", aliases=("成立日期", "建立日期")),
    ),
    "members": (PERSON, Column("org_code", required=True, aliases=("党组织编码", "所在党组织", "组织编码")),
                Column("since", "datetime", aliases=("加入日期", "转入日期", "日期"))),
    "contacts": (PERSON, Column("household_code", required=True, aliases=("户编码", "联系户编码", "住户编码")),
                 Column("since", "datetime", aliases=("联系日期", "开始日期", "日期"))),
}  # fmt: skip
MEANING = {
    "code": "党组织编码，唯一（如 DZB001）", "name": "党组织名称（如 第一网格党支部）",
    "kind": "党委、党总支、党支部或党小组", "form": "社区党组织、网格党支部、楼院党支部、楼栋党小组 …",
    "parent_code": "上级党组织的编码（可为本文件中的组织；党小组的上级应为党支部）",
    "grid_codes": "组织建在哪些网格上，多个用顿号分隔", "unit_code": "驻区单位党组织所属单位的编码（可空）",
    "secretary": "书记：党员的人员编码，或网格工作人员的人员编码（可空）", "phone": "联系电话（可空）",
    "founded_on": "成立日期，如 2020-05-01（可空）", "person_code": "党员的人员编码（须已登记为党员）",
    "org_code": "党组织编码（须已存在）：已在其他组织的，转入日前一天结束原组织关系",
    "since": "日期，如 2025-01-01（空则为今天）", "household_code": "所联系住户的户编码（须已存在）",
}  # fmt: skip
EXAMPLES: dict[str, dict[str, str]] = {
    "orgs": {"code": "DZB001", "name": "第一网格党支部", "kind": "党支部", "form": "楼院党支部",
             "parent_code": "DW001", "grid_codes": "610103006001001", "secretary": "P0001",
             "founded_on": "2020-05-01"},
    "members": {"person_code": "P0001", "org_code": "DZB001", "since": "2025-01-01"},
    "contacts": {"person_code": "P0001", "household_code": "H0002", "since": "2025-01-01"},
}  # fmt: skip


@dataclass
class PartyImportReport(EntityImportReport):
    """An import's report (gridgov.importing's), with the rows that were already true."""

    unchanged: int = 0


def template_name(kind: str) -> str:
    """The download name of a template."""
    return f"{KINDS[kind]}导入模板.xlsx"


def write_template(kind: str, path: Path) -> Path:
    """The Excel template of ``kind``: headings (required ones in red), one example row, drop-downs for the kinds
    and forms, text cells (codes stay as typed), and a 说明 sheet."""
    if kind not in COLUMNS:
        raise NotFound(f"没有此类导入模板：{kind}（可用 {', '.join(KINDS)}）")
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    head = {"border": 1, "bold": True, "text_wrap": True}
    formats = {True: wb.add_format({**head, "bg_color": "#C00000", "font_color": "#FFFFFF"}),
               False: wb.add_format({**head, "bg_color": "#DDEBF7"})}  # fmt: skip
    as_text = wb.add_format({"num_format": "@"})
    sheet, info = wb.add_worksheet(KINDS[kind]), wb.add_worksheet("说明")
    info.write_row(0, 0, ("列名", "必填", "含义", "可填的值"), formats[False])
    for c, col in enumerate(COLUMNS[kind]):
        sheet.set_column(c, c, 18, as_text)
        sheet.write_string(0, c, col.aliases[0], formats[col.required])
        sheet.write_string(1, c, EXAMPLES[kind].get(col.name, ""))
        if col.values:
            sheet.data_validation(1, c, 10_000, c, {"validate": "list", "source": list(col.values),
                                                    "error_type": "warning"})  # fmt: skip
        info.write_row(c + 1, 0, (col.aliases[0], "必填" if col.required else "", MEANING[col.name],
                                  " / ".join(col.values)))  # fmt: skip
    rules = ("第 2 行是示例：导入前请改写或删除本行。",
             "全部检查，全部或全不：任何一行有错误，整个文件都不导入，并按行号列出错误。",
             "只能导入本人管辖范围内的记录。")  # fmt: skip
    for k, line in enumerate(rules):
        info.write_string(len(COLUMNS[kind]) + 3 + k, 0, line)
    info.set_column(0, 0, 16)
    info.set_column(2, 3, 60)
    sheet.freeze_panes(1, 0)
    wb.close()
    return path


# ------------------------------------------------------------------------------------------------ the steps


def _read(kind: str, path: Path, dry_run: bool, timezone: str) -> tuple[PartyImportReport, pd.DataFrame,
                                                                         list[RowError]]:  # fmt: skip
    """Read and check every cell: the report so far, the typed rows (with ``row``) and the errors found."""
    table = read_table(path, COLUMNS[kind])
    report = PartyImportReport(f"party_{kind}", path.name, "", len(table.frame), dry_run)
    data, errors = check_rows(f"party_{kind}", table, ZoneInfo(timezone), COLUMNS[kind])
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    for name in ("since", "founded_on"):
        if name in data:
            data[name] = [v.date() if isinstance(v, dt.datetime) else v for v in data[name]]
            errors += [RowError(int(r), name, f"日期不能晚于今天：{d.isoformat()}")
                       for r, d in zip(data["row"], data[name], strict=True)
                       if name == "founded_on" and d is not None and d > today]  # a membership may be dated ahead
    return report, data, errors


def _stage(session: Session, data: pd.DataFrame, columns: dict[str, str]) -> None:
    """The rows in a temporary table (``columns``: name → SQL type, with the file's ``row``), in one statement."""
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    session.execute(text(f"CREATE TEMPORARY TABLE {STAGE} (row bigint, "
                         + ", ".join(f"{c} {t}" for c, t in columns.items()) + ") ON COMMIT DROP"))  # fmt: skip
    arrays = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in columns.items())
    session.execute(text(f"INSERT INTO {STAGE} (row, {', '.join(columns)}) "
                         f"SELECT * FROM unnest(CAST(:row AS bigint[]), {arrays})"),
                    {"row": [int(r) for r in data["row"]], **{c: list(data[c]) for c in columns}})  # fmt: skip


def _errors(session: Session, checks: Sequence[str], params: dict[str, Any] | None = None) -> list[RowError]:
    """The errors the staged rows' references give: each check yields (row, column, reason)."""
    rows = session.execute(text(" UNION ALL ".join(f"({c})" for c in checks)), params or {}).all()
    return [RowError(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def _finish(session: Session, report: PartyImportReport, errors: list[RowError], actor: Actor, touches: Callable[[],
            Touches], write: Callable[[], tuple[int, int]]) -> PartyImportReport:  # fmt: skip
    """Refuse the file on any error; else authorise what it touches and (unless a dry run) write it."""
    if errors:
        report.refuse(errors)
        session.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
        return report
    authorize(session, actor, "write", touches())
    # A dry run writes inside a savepoint and rolls it back, so its counts (new vs unchanged) are the real run's.
    savepoint = session.begin_nested() if report.dry_run else None
    begin(session, actor)
    report.imported, report.unchanged = write()
    if savepoint is not None:
        savepoint.rollback()
    else:
        report.written = True
    session.execute(text(f"DROP TABLE IF EXISTS {STAGE}"))
    return report


_MEMBER_OK = "EXISTS (SELECT 1 FROM person p WHERE p.code = s.{c} AND p.valid_to IS NULL AND p.is_party_member)"
_MEMBER_ERROR = (f"SELECT s.row, '{{c}}', '不是在册党员（人员不存在、已注销或未登记为党员）：' || s.{{c}} "
                 f"FROM {STAGE} s WHERE s.{{c}} IS NOT NULL AND NOT {_MEMBER_OK}")  # fmt: skip
_MEMBER_GRIDS = (f"SELECT DISTINCT h.grid_id FROM {STAGE} s JOIN person p ON p.code = s.person_code "
                 "AND p.valid_to IS NULL JOIN household h ON h.id = p.household_id")  # fmt: skip


def _repeated(data: pd.DataFrame, keys: list[str], column: str, what: str) -> list[RowError]:
    """An error for every row whose ``keys`` another row of the file repeats."""
    dup = data.duplicated(subset=keys, keep=False) & data[keys].notna().all(axis=1)
    return [RowError(int(r), column, f"文件内{what}重复：{v}") for r, v in zip(data["row"][dup], data[column][dup],
                                                                           strict=True)]  # fmt: skip


# ------------------------------------------------------------------------------------------------ organisations


def import_orgs(session: Session, actor: Actor, path: Path, *, dry_run: bool = False,
                timezone: str = DEFAULT_TIMEZONE) -> PartyImportReport:  # fmt: skip
    """Import organisations (new codes only), with parents in the file or already recorded."""
    authorize(session, actor, "write")
    report, data, errors = _read("orgs", path, dry_run, timezone)
    data["grid_codes"] = ["、".join(c for c in SPLIT.split(v) if c) if isinstance(v, str) else ""
                          for v in data["grid_codes"]]  # fmt: skip
    columns = {"code": "text", "name": "text", "kind": "text", "form": "text", "parent_code": "text",
               "grid_codes": "text", "unit_code": "text", "secretary": "text", "phone": "text",
               "founded_on": "date"}  # fmt: skip
    _stage(session, data, columns)
    session.execute(text(f"ALTER TABLE {STAGE} ALTER COLUMN grid_codes TYPE text[] USING "
                         "coalesce(string_to_array(nullif(grid_codes, ''), '、'), '{}'), ADD COLUMN id bigint"))
    errors += _errors(session, [
        f"SELECT s.row, 'code', '党组织编码已存在：' || s.code FROM {STAGE} s JOIN party_org o ON o.code = s.code "
        "AND o.lineage_id IS NULL",
        f"SELECT s.row, 'parent_code', '上级组织不存在或已撤销：' || s.parent_code FROM {STAGE} s "
        f"WHERE s.parent_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {STAGE} f WHERE f.code = s.parent_code) "
        "AND NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = s.parent_code AND o.valid_to IS NULL)",
        f"SELECT s.row, 'grid_codes', '网格不存在：' || string_agg(c, '、') FROM {STAGE} s, unnest(s.grid_codes) c "
        "WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.code = c AND g.valid_to IS NULL AND g.lineage_id IS NULL) "
        "GROUP BY s.row",
        f"SELECT s.row, 'unit_code', '驻区单位不存在或已撤销：' || s.unit_code FROM {STAGE} s WHERE s.unit_code "
        "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM resident_unit u WHERE u.code = s.unit_code AND u.valid_to IS NULL)",
        f"SELECT s.row, 'secretary', '书记：找不到党员或网格工作人员：' || s.secretary FROM {STAGE} s "
        f"WHERE s.secretary IS NOT NULL AND NOT {_MEMBER_OK.format(c='secretary')} "
        "AND NOT EXISTS (SELECT 1 FROM staff t WHERE t.code = s.secretary AND t.valid_to IS NULL)"])  # fmt: skip
    errors += _tree_errors(session, data)

    def touches() -> Touches:
        rows = session.execute(text(f"""
            SELECT s.grid_codes, u.grid_id AS unit_grid, h.grid_id AS secretary_grid, o.id AS parent_id,
                   (cardinality(s.grid_codes) = 0 AND s.unit_code IS NULL AND s.parent_code IS NULL) AS nowhere
              FROM {STAGE} s
              LEFT JOIN resident_unit u ON u.code = s.unit_code AND u.valid_to IS NULL
              LEFT JOIN person p ON p.code = s.secretary AND p.valid_to IS NULL AND p.is_party_member
              LEFT JOIN household h ON h.id = p.household_id
              LEFT JOIN party_org o ON o.code = s.parent_code AND o.valid_to IS NULL""")).all()  # fmt: skip
        parents = reaches(session, {int(r.parent_id) for r in rows if r.parent_id is not None})
        grid_ids = {g for r in rows for g in (r.unit_grid, r.secretary_grid) if g is not None}
        grid_ids |= {None for r in rows if r.nowhere} | set().union(set(), *parents.values())
        return Touches(codes={c for r in rows for c in r.grid_codes}, grid_ids=grid_ids)

    def write() -> tuple[int, int]:
        session.execute(text(f"UPDATE {STAGE} SET id = nextval(pg_get_serial_sequence('party_org', 'id'))"))
        n = session.execute(text(f"""
            INSERT INTO party_org (id, code, name, kind, form, parent_id, grid_ids, unit_id, secretary_person_id,
                                   secretary_staff_id, phone, founded_on, updated_by)
            SELECT s.id, s.code, s.name, s.kind, s.form, coalesce(f.id, o.id),
                   ARRAY(SELECT g.id FROM unnest(s.grid_codes) WITH ORDINALITY c(code, n)
                           JOIN grid g ON g.code = c.code AND g.valid_to IS NULL AND g.lineage_id IS NULL
                          ORDER BY c.n),
                   u.id, p.id, CASE WHEN p.id IS NULL THEN t.id END, s.phone, s.founded_on, :by
              FROM {STAGE} s
              LEFT JOIN {STAGE} f ON f.code = s.parent_code
              LEFT JOIN party_org o ON o.code = s.parent_code AND o.valid_to IS NULL
              LEFT JOIN resident_unit u ON u.code = s.unit_code AND u.valid_to IS NULL
              LEFT JOIN person p ON p.code = s.secretary AND p.valid_to IS NULL AND p.is_party_member
              LEFT JOIN staff t ON t.code = s.secretary AND t.valid_to IS NULL"""),
                                {"by": actor.audit_name}).rowcount  # type: ignore[attr-defined]
        return int(n), 0

    return _finish(session, report, errors, actor, touches, write)


def _tree_errors(session: Session, data: pd.DataFrame) -> list[RowError]:
    """The tree's rules on every staged row (parents in the file or recorded), and parents that make a cycle."""
    rows = session.execute(text(f"""
        SELECT s.row, s.code, s.kind, s.form, s.parent_code, coalesce(f.kind, o.kind) AS parent_kind
          FROM {STAGE} s
          LEFT JOIN {STAGE} f ON f.code = s.parent_code
          LEFT JOIN party_org o ON o.code = s.parent_code AND o.valid_to IS NULL AND f.code IS NULL
         WHERE s.kind IS NOT NULL AND s.form IS NOT NULL ORDER BY s.row""")).all()  # fmt: skip
    out = [RowError(int(r.row), "parent_code", problem) for r in rows
           if (problem := tree_problem(r.kind, r.form, r.parent_code, r.parent_kind))]  # fmt: skip
    parent = dict(zip(data["code"], data["parent_code"], strict=True))
    for row, code in zip(data["row"], data["code"], strict=True):
        seen, at = {code}, parent.get(code)
        while at is not None and at in parent and at not in seen:
            seen.add(at)
            at = parent.get(at)
        if at is not None and at in seen:
            out.append(RowError(int(row), "parent_code", f"上级组织关系成环：{code} → … → {at}"))
    return out


# ------------------------------------------------------------------------------------------------ memberships


def import_members(session: Session, actor: Actor, path: Path, *, dry_run: bool = False,
                   timezone: str = DEFAULT_TIMEZONE) -> PartyImportReport:  # fmt: skip
    """Import memberships: each member in an organisation from a day (today when empty); a membership in force in
    another organisation ends that day; one already in force in that organisation is unchanged."""
    authorize(session, actor, "write")
    report, data, errors = _read("members", path, dry_run, timezone)
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    data["since"] = [d if isinstance(d, dt.date) else today for d in data["since"]]
    errors += _repeated(data, ["person_code"], "person_code", "党员")
    _stage(session, data, {"person_code": "text", "org_code": "text", "since": "date"})
    current = (f"FROM {STAGE} s JOIN person p ON p.code = s.person_code AND p.valid_to IS NULL "
               "JOIN party_membership m ON m.person_id = p.id AND m.until IS NULL "
               "JOIN party_org o ON o.id = m.org_id")  # fmt: skip
    errors += _errors(session, [
        _MEMBER_ERROR.format(c="person_code"),
        f"SELECT s.row, 'org_code', '党组织不存在或已撤销：' || s.org_code FROM {STAGE} s WHERE s.org_code IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = s.org_code AND o.valid_to IS NULL)",
        f"SELECT s.row, 'since', '加入日期早于其在现组织 ' || o.code || ' 的加入日期 ' || m.since {current} "
        "WHERE s.since < m.since AND o.code <> s.org_code"])  # fmt: skip

    def touches() -> Touches:
        orgs = set(session.scalars(text(f"SELECT o.id FROM {STAGE} s JOIN party_org o ON o.code = s.org_code "
                                        f"AND o.valid_to IS NULL UNION SELECT o.id {current}")))  # fmt: skip
        return Touches(grid_ids={*session.scalars(text(_MEMBER_GRIDS)), *set().union(set(), *reaches(
            session, orgs).values())})  # fmt: skip

    def write() -> tuple[int, int]:
        session.execute(text(f"DELETE FROM {STAGE} s USING person p, party_membership m, party_org o "
                             "WHERE p.code = s.person_code AND p.valid_to IS NULL AND m.person_id = p.id "
                             "AND m.until IS NULL AND o.id = m.org_id AND o.code = s.org_code"))  # fmt: skip
        session.execute(text(f"UPDATE party_membership m SET until = s.since, end_reason = '转入 ' || s.org_code "
                             f"FROM {STAGE} s JOIN person p ON p.code = s.person_code AND p.valid_to IS NULL "
                             "WHERE m.person_id = p.id AND m.until IS NULL"))  # fmt: skip
        n = session.execute(text(f"INSERT INTO party_membership (person_id, org_id, since) SELECT p.id, o.id, s.since "
                                 f"FROM {STAGE} s JOIN person p ON p.code = s.person_code AND p.valid_to IS NULL "
                                 "JOIN party_org o ON o.code = s.org_code AND o.valid_to IS NULL")
                            ).rowcount  # type: ignore[attr-defined]
        return int(n), report.rows - int(n)

    return _finish(session, report, errors, actor, touches, write)


# ------------------------------------------------------------------------------------------------ 联系户


def import_contacts(session: Session, actor: Actor, path: Path, *, rules: PartyRules, dry_run: bool = False,
                    timezone: str = DEFAULT_TIMEZONE) -> PartyImportReport:  # fmt: skip
    """Import 联系户 links (member → household, from a day; today when empty); a link that exists is unchanged,
    a member linked to more than ``rules.contacts_max`` households refuses the rows beyond it."""
    authorize(session, actor, "write")
    report, data, errors = _read("contacts", path, dry_run, timezone)
    errors += _repeated(data, ["person_code", "household_code"], "household_code", "联系")
    _stage(session, data, {"person_code": "text", "household_code": "text", "since": "date"})
    home = "h.code = s.household_code AND h.valid_to IS NULL"
    link = (f"EXISTS (SELECT 1 FROM party_contact c JOIN person p ON p.id = c.person_id JOIN household h "
            f"ON h.id = c.household_id WHERE p.code = s.person_code AND p.valid_to IS NULL AND {home})")  # fmt: skip
    errors += _errors(session, [
        _MEMBER_ERROR.format(c="person_code"),
        f"SELECT s.row, 'household_code', '户不存在或已注销：' || s.household_code FROM {STAGE} s "
        f"WHERE s.household_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM household h WHERE {home})",
        f"""SELECT t.row, 'household_code', '该党员将联系 ' || t.links || ' 户：' || CAST(:rule AS text)
              FROM (SELECT s.row, (SELECT count(*) FROM party_contact c JOIN person p ON p.id = c.person_id
                                    WHERE p.code = s.person_code AND p.valid_to IS NULL)
                                  + count(*) FILTER (WHERE NOT {link}) OVER (PARTITION BY s.person_code) AS links
                      FROM {STAGE} s) t
             WHERE t.links > CAST(:max AS int)"""], {"rule": rule_text(rules), "max": rules.contacts_max})  # fmt: skip

    def touches() -> Touches:
        homes = session.scalars(text(f"SELECT DISTINCT h.grid_id FROM {STAGE} s JOIN household h ON {home}"))
        return Touches(grid_ids={*session.scalars(text(_MEMBER_GRIDS)), *homes})

    def write() -> tuple[int, int]:
        n = session.execute(text(f"""
            INSERT INTO party_contact (person_id, household_id, since, created_by)
            SELECT p.id, h.id, coalesce(s.since, CAST(:today AS date)), :by FROM {STAGE} s
              JOIN person p ON p.code = s.person_code AND p.valid_to IS NULL JOIN household h ON {home}
             WHERE NOT {link}"""), {"by": actor.audit_name,
                                   "today": dt.datetime.now(ZoneInfo(timezone)).date()}
                            ).rowcount  # type: ignore[attr-defined]
        return int(n), report.rows - int(n)

    return _finish(session, report, errors, actor, touches, write)


def import_file(session: Session, actor: Actor, kind: str, path: Path, *, rules: PartyRules, dry_run: bool = False,
                timezone: str = DEFAULT_TIMEZONE) -> PartyImportReport:  # fmt: skip
    """Import a file of ``kind`` (``KINDS``: orgs, members, contacts)."""
    if kind == "orgs":
        return import_orgs(session, actor, path, dry_run=dry_run, timezone=timezone)
    if kind == "members":
        return import_members(session, actor, path, dry_run=dry_run, timezone=timezone)
    if kind == "contacts":
        return import_contacts(session, actor, path, rules=rules, dry_run=dry_run, timezone=timezone)
    raise NotFound(f"没有此类导入：{kind}（可用 {', '.join(KINDS)}）")
