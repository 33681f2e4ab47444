"""Atomic import of households, buildings, persons, incidents and staff.

Every row is checked first (types, allowed values, coordinates, references, duplicate codes); any bad
row refuses the whole file with row, column and reason, and nothing is written. Cells are checked a column
at a time with vectorised masks (a typed column parses each distinct value once); only the cells that fail
are visited one by one, for their messages. The rows are COPYed into a staging table in one stream,
references are resolved there with set-based joins, and a good file is moved with one INSERT per table:
points are assigned to their grids in staging, so each row is written once. Coordinates outside every grid
but near the street are imported and listed as unassigned, never dropped; a coordinate far from every grid
(a wrong coordinate system, swapped columns) refuses the file, by the rule of :mod:`gridgov.geo.extent`. Every
record but a staff role has a code: a file without one, or with an empty or repeated one, is refused. A refused
file's report lists the first errors in full and counts all of them per column and reason.

Incidents (事件) are inserted only. Each new case gets its timeline's first step, 导入, at its report, into the
status and level the file gives (one INSERT for the file); the current step counts from the report
(``step_started_at``). An open case's deadline is the limit of the step its status waits for
(:mod:`gridgov.incidents.limits`, in working days of the calendar the caller passes) counted from the later of
its report and the import: the file says when a case was reported and where it stands, not when that step
began. Counted from the report alone, every case imported weeks after it was reported would be overdue on
arrival, and the escalation sweep would record 超期上报 steps dated before the case was in this system; counted
from the import, a case exported minutes after its report is due minutes later than it would have been, and an
old one gets the whole limit from the day it reached the people who must act. Deadlines are computed in Python
(the calendar is Python) over the file's rows at once and written in one UPDATE. Urgency and source take their
vocabularies' words and synonyms; the reporter's name and phone are personal data (shown only where the reader
may see personal data: gridgov.incidents.cases.sees_details).

An import inserts (``insert``: an existing code refuses its row), or updates too (``upsert``: existing codes are
changed field by field, only in the columns the file has) or makes the file the whole truth for a grid's subtree
(``sync``: what it leaves out is retired), as of an effective day (:mod:`gridgov.importing.modes`). Enum columns
and tags take the words in force (:mod:`gridgov.terms`: the built-in ones and the street's additions).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.points import POINT_TABLES, STAGED_TABLE, assign_rows, assign_staged
from gridgov.auth.scope import Actor, Touches, authorize, grid_ids_of
from gridgov.db.locks import writers_lock
from gridgov.errors import InvalidInput
from gridgov.geo.checks import geometry_problem
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.geo.extent import MAX_DISTANCE_M, in_wgs84, location_reasons
from gridgov.history import set_effective
from gridgov.ids import id_check_digit
from gridgov.importing import modes
from gridgov.importing.columns import (
    BOOL_FALSE,
    BOOL_TRUE,
    ENTITIES,
    SPATIAL,
    STORED_VOCABULARIES,
    TAGS_VOCABULARY,
    Column,
)
from gridgov.importing.modes import NEW_ONLY, ImportDiff, Plan
from gridgov.importing.read import Table, read_table
from gridgov.incidents.limits import load_limits
from gridgov.incidents.workflow import IMPORTED
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.terms import stored_vocabulary
from gridgov.vocab import INCIDENT_LEVELS, INCIDENT_STATUSES, INCIDENT_URGENCIES, Vocabulary
from gridgov.workdays import WorkCalendar, load_calendar

TABLES = {"households": "household", "buildings": "building", "persons": "person", "incidents": "incident",
          "staff": "staff"}  # fmt: skip
MAX_LISTED = 200  # unassigned rows listed
MAX_ERRORS_LISTED = 100  # errors listed in full; the rest are counted per column and reason
KIND_END = re.compile(r"[：（，]")  # a reason's kind ends where its particulars start
ID_RE = re.compile(r"^\d{17}[\dX]$")
TAG_SPLIT = re.compile("[;；,，、]")  # the separators a tags cell may use
PHONE_RE = re.compile(r"^[\d\-+() ]{7,20}$")
MAX_LEN = {"code": 40, "staff_code": 32, "grid_code": 32, "building_code": 40, "household_code": 40, "name": 200}
NULL_WORDS = ("nan", "none", "null")  # read as an empty cell, in any case
# Every cell read as empty: only ASCII letters lower-case to these, so their case variants are all of them.
NULL_CELLS = ("", *sorted({"".join(p) for w in NULL_WORDS for p in product(*((c, c.upper()) for c in w))}))
COPY_BLOCK = 100_000  # rows per block sent to COPY
DEFAULT_URGENCY = INCIDENT_URGENCIES.terms[0]


@dataclass(frozen=True)
class RowError:
    """A bad cell: file row (or feature) number, canonical column and reason in Chinese."""

    row: int
    column: str
    reason: str


@dataclass
class EntityImportReport:
    """What an import did, or why it refused the file: the first ``MAX_ERRORS_LISTED`` errors in full (by row), the
    total, and the count of every (column, reason) over all of them, so a large bad file stays readable."""

    entity: str
    file: str
    crs: str
    rows: int
    dry_run: bool
    imported: int = 0
    assigned: int = 0
    unassigned: int = 0
    unassigned_rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    error_summary: list[dict[str, Any]] = field(default_factory=list)  # {column, reason, count}, most first
    written: bool = False
    mode: str = "insert"
    diff: ImportDiff | None = None  # created, updated (old → new), retired, unchanged: also for a dry run

    @property
    def refused(self) -> bool:
        """True when a bad row refused the file."""
        return self.error_count > 0

    def refuse(self, errors: Sequence[RowError]) -> None:
        """Record the errors that refuse the file: the first ones in full, the total and the counts per kind."""
        self.errors = heapq.nsmallest(MAX_ERRORS_LISTED, errors, key=lambda e: (e.row, e.column))
        self.error_count = len(errors)
        kinds = Counter((e.column, reason_kind(e.reason)) for e in errors)
        self.error_summary = [{"column": c, "reason": r, "count": n}
                              for (c, r), n in sorted(kinds.items(), key=lambda k: (-k[1], k[0]))]  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        d = asdict(self)
        d["refused"] = self.refused
        return d


def reason_kind(reason: str) -> str:
    """A reason without its particulars (the value, the coordinates, the rows): what error summaries count by."""
    return KIND_END.split(reason, maxsplit=1)[0]


def _parse(col: Column, value: str, tz: ZoneInfo) -> tuple[Any, str | None]:
    """Parse one cell: (value, None) or (None, reason)."""
    if value == "" or value.lower() in NULL_WORDS:
        if col.required:
            return None, "必填项为空"
        return None, None
    try:
        if col.kind == "int":
            f = float(value)
            if not f.is_integer():
                return None, f"应为整数：{value}"
            return int(f), None
        if col.kind == "float":
            f = float(value)
            return (f, None) if np.isfinite(f) else (None, f"不是有效数值：{value}")
        if col.kind == "bool":
            v = value.lower()
            if v in BOOL_TRUE:
                return True, None
            if v in BOOL_FALSE:
                return False, None
            return None, f"应为 是/否 或 1/0：{value}"
        if col.kind == "datetime":
            t = pd.Timestamp(value)
            if pd.isna(t):
                return None, f"无法识别的时间：{value}"
            return (t.tz_localize(tz) if t.tzinfo is None else t).to_pydatetime(), None
        if col.kind == "enum":
            canon = dict(col.synonyms).get(value, value)
            if canon not in col.values:
                return None, f"取值应为 {' / '.join(col.values)}：{value}"
            return canon, None
    except (ValueError, TypeError, OverflowError):
        return None, f"格式错误：{value}"
    return value, None


def _too_long(col: Column) -> tuple[int, str]:
    """The longest text a column takes, and the reason given beyond it."""
    limit = MAX_LEN.get(col.name, 2000)
    return limit, f"过长（最多 {limit} 个字符）"


def _cell(col: Column, value: str, tz: ZoneInfo) -> tuple[Any, str | None]:
    """One cell as the import takes it: parsed, and a text no longer than the column allows."""
    val, reason = _parse(col, value, tz)
    limit, too_long = _too_long(col)
    if reason is None and isinstance(val, str) and len(val) > limit:
        return None, too_long
    return val, reason


def _objects(items: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of the items, as they are (numpy would unpack sequences)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _parse_column(col: Column, cells: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Typed values (None where empty or bad) and the reason per cell (None where fine) of one column.

    The same result as :func:`_cell` on every cell: text is checked with vectorised masks, any other kind
    parses each distinct value once (files repeat their kinds, flags, floors and dates).
    """
    values = np.full(len(cells), None, dtype=object)
    reasons = np.full(len(cells), None, dtype=object)
    empty = pd.Series(cells, dtype=object).isin(NULL_CELLS).to_numpy()
    if col.required:
        reasons[empty] = "必填项为空"
    filled = np.flatnonzero(~empty)
    if col.kind == "text":
        limit, too_long = _too_long(col)
        texts = cells[filled]
        long = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) > limit
        values[filled[~long]] = texts[~long]
        reasons[filled[long]] = too_long
    else:
        codes, distinct = pd.factorize(cells[filled])
        parsed = [_cell(col, v, tz) for v in distinct]
        values[filled] = _objects([v for v, _ in parsed])[codes]
        reasons[filled] = _objects([r for _, r in parsed])[codes]
    return values, reasons


def _row_errors(rows: np.ndarray, column: str, bad: np.ndarray, reasons: Iterable[Any] | str) -> list[RowError]:
    """A RowError for each row where ``bad`` is set, in row order (``reasons``: one per such row, or one for all)."""
    at = np.flatnonzero(bad)
    if isinstance(reasons, str):
        return [RowError(int(rows[i]), column, reasons) for i in at]
    return [RowError(int(rows[i]), column, str(r)) for i, r in zip(at, reasons, strict=True)]


def check_rows(
    entity: str,
    table: Table,
    tz: ZoneInfo,
    spec: Sequence[Column] | None = None,
    *,
    present_only: bool = False,
    tags: Vocabulary | None = None,
) -> tuple[pd.DataFrame, list[RowError]]:
    """Typed values per canonical column, and every row error (vectorised: only bad cells are visited one by one).

    ``spec``: the columns with the words in force (default: the built-in ones); ``present_only``: a column the file
    lacks is left out (an update keeps it), not read as empty; ``tags``: the resident tags a persons file may use.
    """
    errors: list[RowError] = []
    typed: dict[str, np.ndarray] = {}
    n = len(table.frame)
    for col in spec or ENTITIES[entity]:
        if col.name in ("lon", "lat"):
            continue
        if present_only and col.name not in table.frame:
            typed[col.name] = np.full(n, None, dtype=object)
            continue
        cells = table.frame[col.name].to_numpy(dtype=object) if col.name in table.frame else np.full(n, "", object)
        typed[col.name], reasons = _parse_column(col, cells, tz)
        bad = pd.notna(reasons)
        errors += _row_errors(table.rows, col.name, bad, reasons[bad])
    out = pd.DataFrame(typed, dtype=object)
    out["row"] = table.rows
    if entity == "persons":
        if not present_only or {"is_party_member", "member_type"} <= set(table.frame.columns):  # else: see modes
            member = out["is_party_member"].eq(True).to_numpy(dtype=bool)  # None (empty) is not a member
            typed_member = out["member_type"].notna().to_numpy(dtype=bool)
            errors += _row_errors(table.rows, "member_type", member & ~typed_member, "党员须填写党员类型")
            errors += _row_errors(table.rows, "member_type", ~member & typed_member, "非党员不应填写党员类型")
        if tags is not None:
            canonical, bad_tags = _canonical_tags(out["tags"].to_numpy(dtype=object), tags)
            out["tags"] = pd.Series(canonical, index=out.index, dtype=object)  # not inferred as str (None stays)
            errors += _row_errors(table.rows, "tags", pd.notna(bad_tags), bad_tags[pd.notna(bad_tags)])
        ids = out["id_number"]
        given = ids.notna().to_numpy(dtype=bool)
        well_formed = ids[given].str.match(ID_RE).to_numpy(dtype=bool)
        checked = [id_check_digit(v[:17]) == v[17] for v in ids[given][well_formed]]  # rule in gridgov.ids
        valid = np.zeros(n, dtype=bool)
        valid[np.flatnonzero(given)[well_formed]] = checked
        errors += _row_errors(table.rows, "id_number", given & ~valid, "身份证号码格式或校验位错误")
        for b in ("is_party_member", "is_resident_rep", "is_volunteer"):
            out[b] = out[b].eq(True).astype(object)
    for phone in ("phone", "reporter_phone"):
        if phone not in out:
            continue
        phones = out[phone]
        given = phones.notna().to_numpy(dtype=bool)
        bad = np.zeros(n, dtype=bool)
        bad[given] = ~phones[given].str.match(PHONE_RE).to_numpy(dtype=bool)
        errors += _row_errors(table.rows, phone, bad, [f"电话号码格式错误：{v}" for v in phones[bad]])
    if "code" in out and entity != "staff":
        errors += _duplicate_codes(table.rows, out["code"])
    return out, errors


def _tags_cell(cell: str, words: Vocabulary) -> tuple[str | None, str | None]:
    """One tags cell as stored (canonical terms joined by ``;``, each once) or the reason it is refused."""
    parts = [t.strip() for t in TAG_SPLIT.split(cell) if t.strip()]
    unknown = [t for t in parts if words.canonical(t) is None]
    if unknown:
        return None, f"未知的标签（可选：{'、'.join(words.terms)}）：{'、'.join(unknown)}"
    return ";".join(dict.fromkeys(str(words.canonical(t)) for t in parts)) or None, None


def _canonical_tags(cells: np.ndarray, words: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Every tags cell with synonyms read as their terms, and the reason per cell refused (unknown tags); each
    distinct cell is read once."""
    values = np.full(len(cells), None, dtype=object)
    reasons = np.full(len(cells), None, dtype=object)
    given = np.flatnonzero(pd.notna(cells))
    codes, distinct = pd.factorize(cells[given])
    read = [_tags_cell(str(v), words) for v in distinct]
    values[given] = _objects([v for v, _ in read])[codes]
    reasons[given] = _objects([r for _, r in read])[codes]
    return values, reasons


def _duplicate_codes(rows: np.ndarray, codes: pd.Series) -> list[RowError]:
    """A RowError for every row whose code another row of the file uses too, naming those rows."""
    dup = (codes.notna() & codes.duplicated(keep=False)).to_numpy(dtype=bool)
    if not dup.any():
        return []
    at = pd.Series(rows[dup]).groupby(codes[dup].to_numpy()).agg(list)
    shown = {code: "、".join(map(str, r[:5])) + (f" 等 {len(r)} 行" if len(r) > 5 else "") for code, r in at.items()}
    return _row_errors(rows, "code", dup, [f"文件内编码重复：{v}（第 {shown[v]} 行）" for v in codes[dup]])


def _floats(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``float()`` of each cell, vectorised: the values (NaN where it fails) and where it succeeded."""
    values, ok = np.full(len(cells), np.nan), np.ones(len(cells), dtype=bool)
    try:
        values[:] = cells.astype(np.float64)  # float() of each object, in C
        return values, ok
    except ValueError:  # some cell is no number: pandas picks the suspects, float() decides on each of them
        suspects = np.flatnonzero(pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").isna())
    ok[suspects] = False
    try:
        values[ok] = cells[ok].astype(np.float64)
    except ValueError:  # pandas read a cell float() refuses (one with a NUL, say): every cell is a suspect
        suspects, ok[:] = np.arange(len(cells)), False
    for i in suspects:
        with contextlib.suppress(ValueError):
            values[i], ok[i] = float(cells[i]), True
    return values, ok


def _locate(session: Session, table: Table, entity: str, crs: Any, errors: list[RowError],
            max_distance_m: float) -> np.ndarray:  # fmt: skip
    """One WGS84 geometry per row (point from lon/lat, or the file's geometry), or None with an error.

    Every point, and every footprint by its centroid, must lie near the street's grids
    (:mod:`gridgov.geo.extent`: not swapped, not in another coordinate system); footprints must be valid too.
    """
    src = parse_crs(crs) if crs is not None else (parse_crs(table.crs) if table.crs is not None else parse_crs(4326))
    frame, rows = table.frame, table.rows
    geoms = table.geometry.copy() if table.geometry is not None else np.full(len(frame), None, dtype=object)
    if "lon" in frame and "lat" in frame:
        lon, lat = frame["lon"].to_numpy(dtype=object), frame["lat"].to_numpy(dtype=object)
        want = np.flatnonzero(shapely.is_missing(geoms) & (lon != "") & (lat != ""))
        (x, x_ok), (y, y_ok) = _floats(lon[want]), _floats(lat[want])
        made = x_ok & y_ok
        geoms[want[made]] = shapely.points(x[made], y[made])
        unread = np.zeros(len(frame), dtype=bool)
        unread[want[~made]] = True
        errors += _row_errors(rows, "lon/lat", unread, "经纬度不是数值")
    given = ~shapely.is_missing(geoms)
    with np.errstate(invalid="ignore"):  # NaN or projected coordinates out of the source CRS: judged below
        out = np.asarray(to_wgs84(geoms, src) if given.any() else geoms, dtype=object).copy()
    kind = shapely.get_type_id(out)
    missing = (kind < 0) | shapely.is_empty(out)
    flagged = np.isin(rows, [e.row for e in errors])
    errors += _row_errors(rows, "lon/lat", missing & ~flagged, "缺少坐标")
    problems: dict[int, tuple[str, str]] = {}
    footprint = ~missing & np.isin(kind, (3, 6)) & (entity == "buildings")
    located = np.flatnonzero(~missing & ((kind == 0) | footprint))
    reasons = location_reasons(session, out[located], max_distance_m)
    for i in np.flatnonzero(pd.notna(reasons)):
        problems[int(located[i])] = ("geometry" if footprint[located[i]] else "lon/lat", str(reasons[i]))
    area = np.flatnonzero(footprint)
    area = area[pd.isna(reasons[np.isin(located, area)])]
    for i in area[~_fine_areas(out[area])]:
        if problem := geometry_problem(out[i]):
            problems[int(i)] = ("geometry", problem)
    wanted = f"几何类型应为点{'或面' if entity == 'buildings' else ''}"
    for i in np.flatnonzero(~missing & (kind != 0) & ~footprint):
        problems[int(i)] = ("geometry", f"{wanted}，实际为 {out[i].geom_type}")
    errors += [RowError(int(rows[i]), column, reason) for i, (column, reason) in sorted(problems.items())]
    out[missing] = None
    out[list(problems)] = None
    return out


def _fine_areas(geoms: np.ndarray) -> np.ndarray:
    """Footprints ``geometry_problem`` passes for sure (WGS84 bounds, valid; their coordinates are numbers
    already); the rest go through it."""
    bounds = shapely.bounds(geoms)
    return in_wgs84(bounds[:, 0], bounds[:, 1]) & in_wgs84(bounds[:, 2], bounds[:, 3]) & shapely.is_valid(geoms)


def _reference_errors(session: Session, references: Sequence[tuple[str, str, str, bool]]) -> list[RowError]:
    """Staged rows that name a code already used, or a building/household/grid that does not exist (set-based)."""
    errors: list[RowError] = []
    for column, table, reason, must_exist in references:
        live = " AND t.valid_to IS NULL" if must_exist else ""  # a code is taken for life; a reference is to a live row
        found = f"EXISTS (SELECT 1 FROM {table} t WHERE t.code = s.{column}{live})"
        bad = session.execute(text(
            f"SELECT s.row, s.{column} FROM stage s WHERE s.{column} IS NOT NULL "
            f"AND {'NOT ' if must_exist else ''}{found} ORDER BY s.row")).all()  # fmt: skip
        errors += [RowError(int(r), column, f"{reason}：{v}") for r, v in bad]
    return errors


def _spec(session: Session, entity: str) -> tuple[Column, ...]:
    """The columns of ``entity`` with the words in force for the enum columns a street extends."""
    out = []
    for col in ENTITIES[entity]:
        name = STORED_VOCABULARIES.get((entity, col.name))
        if name is not None:
            words = stored_vocabulary(session, name).vocabulary
            col = replace(col, values=words.terms, synonyms=tuple(words.synonyms.items()))
        out.append(col)
    return tuple(out)


def _relaxed(entity: str, spec: Sequence[Column]) -> tuple[Column, ...]:
    """The columns an update file must have: the code only (a roster stays whole); what else it lacks is kept."""
    if entity == "staff":
        return tuple(spec)
    return tuple(replace(c, required=False) if c.required and c.name != "code" else c for c in spec)


def _has_place(table: Table) -> bool:
    """Whether the file gives locations at all (a geometry, or a lon or lat column)."""
    return table.geometry is not None or "lon" in table.frame or "lat" in table.frame


def import_entities(
    session: Session,
    entity: str,
    path: Path,
    *,
    actor: Actor,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
    field_map: Mapping[str, str] | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    mode: str = "insert",
    scope: str | None = None,
    effective: dt.date | None = None,
    calendar: WorkCalendar | None = None,
) -> EntityImportReport:
    """Check every row, then (unless refused or a dry run) write the file and assign it, in the caller's transaction.

    Every row written must lie in the actor's scope: the grid each new point or building falls in, the household
    each person joins, the grid each staff role is on, the grids of the records an update changes and of the
    scope a sync covers (dry runs are checked the same way). ``field_map`` (source column → canonical column)
    names the columns the aliases do not find; ``max_distance_m`` is how far from every live grid a point may lie
    (the faces pass ``settings.import_max_distance_m``). ``mode``: ``insert`` (an existing code refuses its row),
    ``upsert`` (existing codes updated in the columns the file has, retired ones revived) or ``sync`` (``upsert``,
    and the live records of ``scope``'s subtree the file leaves out are retired: 同步移除); ``effective``: the
    day the changes took effect (default now; not in the future, not before a changed record's last change). The
    report's ``diff`` says what is (or would be) created, updated, retired and left unchanged. ``calendar``: the
    working days and hours imported cases' deadlines count (default: the stored calendar, default hours).
    """
    authorize(session, actor, "write")
    if entity not in ENTITIES:
        raise InvalidInput(f"未知的导入类型：{entity}（可用 {', '.join(ENTITIES)}）")
    p = modes.plan(session, actor, entity, mode, scope, effective, timezone)
    tz = ZoneInfo(timezone)
    spec = _spec(session, entity)
    table = read_table(path, _relaxed(entity, spec) if p.updating else spec, field_map, spatial=SPATIAL[entity])
    present = set(table.frame.columns)
    tags = stored_vocabulary(session, TAGS_VOCABULARY).vocabulary if entity == "persons" else None
    data, errors = check_rows(entity, table, tz, spec, present_only=p.updating, tags=tags)
    crs_label = "—"
    if SPATIAL[entity]:
        if p.updating and not _has_place(table):  # the records keep their places; new ones are refused below
            data["geom"] = pd.Series(np.full(len(data), None, dtype=object), index=data.index, dtype=object)
        else:
            data["geom"] = _locate(session, table, entity, crs, errors, max_distance_m)
            present.add("geom")
        src = parse_crs(crs) if crs is not None else None
        crs_label = GCJ02 if src == GCJ02 else (f"EPSG:{src.to_epsg()}" if src is not None else "EPSG:4326")  # type: ignore[union-attr]
    missing = [c.name for c in spec if c.required and c.name not in present and c.name not in ("lon", "lat")]
    missing += ["lon/lat"] if SPATIAL[entity] and "geom" not in present else []
    writers_lock(session)  # after parsing the file, before any row lock: one lock order (gridgov.db.locks)
    references = _references(entity, p.updating)
    complete = not errors and _complete(entity, data, references)
    _stage(session, entity, data, complete=complete, references=references)
    errors += _reference_errors(session, references)
    report = EntityImportReport(entity, path.name, crs_label, len(data), dry_run, mode=p.mode)
    if errors:
        return _refused(session, report, errors)
    if not complete:  # see _complete: staged whole, the COPY refuses the file
        session.execute(text("DROP TABLE stage"))
        _stage(session, entity, data, complete=True, references=references)
    if TABLES[entity] in POINT_TABLES:
        assign_staged(session, "stage", TABLES[entity])
    errors = _prepare(session, entity, p, present, missing)
    if errors:
        return _refused(session, report, errors)
    report.diff = _diff(session, entity, p, present, data)
    _authorize_writes(session, entity, p, data, actor)
    savepoint = session.begin_nested()
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', :a, true)"),
                    {"a": actor.name})  # fmt: skip
    set_effective(session, p.at)
    report.imported = _write(session, entity, p, present, actor.name)
    if entity == "incidents":
        _start_timelines(session, data, actor, calendar or load_calendar(session, timezone))
    _summarise(session, entity, data, report, actor, p)  # still bulk: the assignment is one audit row too
    session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
    set_effective(session, None)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        report.written = True
    modes.drop_temps(session)  # so another import can follow in the same transaction
    return report


def _refused(session: Session, report: EntityImportReport, errors: Sequence[RowError]) -> EntityImportReport:
    """The report of a file refused for ``errors``; nothing was written (the staging tables are dropped)."""
    modes.drop_temps(session)
    report.refuse(errors)
    return report


def _prepare(session: Session, entity: str, p: Plan, present: Collection[str],
             missing: Sequence[str]) -> list[RowError]:  # fmt: skip
    """Pair the staged rows with the records they update, list what a sync retires, and return what refuses rows
    on the way (see :mod:`gridgov.importing.modes`)."""
    if entity == "staff":
        found = modes.match_staff(session, p, present)
    elif p.updating:
        modes.match(session, entity, TABLES[entity], present)
        found = modes.match_errors(session, entity, p, present, missing)
        if p.mode == "sync":
            found += modes.retirements(session, entity, TABLES[entity], p)
    else:
        found = []
    return [RowError(*e) for e in found]


def _diff(session: Session, entity: str, p: Plan, present: Collection[str], data: pd.DataFrame) -> ImportDiff:
    """What the import creates, updates, retires and leaves unchanged, before anything is written."""
    if entity == "staff":
        return modes.staff_diff(session, p)
    if not p.updating:
        return modes.inserted_diff(p, data["row"].head(modes.DIFF_LISTED).tolist(), len(data),
                                   data["code"].head(modes.DIFF_LISTED).tolist())
    return modes.versioned_diff(session, entity, TABLES[entity], p, present)


def _authorize_writes(session: Session, entity: str, p: Plan, data: pd.DataFrame, actor: Actor) -> None:
    """Scope checks known before writing: the households persons join, the grids of staff posts, and for an update
    the grids of the records it changes (before and after) and the new ones placed in staging. New points and
    buildings of an insert are checked once assigned (:func:`_summarise`)."""
    if entity == "staff":
        touched = modes.staff_grids(session) if p.updating else set()
        authorize(session, actor, "write", Touches(codes=[c for c in data["grid_code"] if c], grid_ids=touched))
    elif not p.updating:
        if entity == "persons":
            authorize(session, actor, "write", Touches(grid_ids=grid_ids_of(session, "household", "code",
                                                                            data["household_code"])))  # fmt: skip
    else:
        area: list[Any] = []
        if entity == "buildings":  # the footprints an update writes (a new grid is known once assigned)
            written = np.isin(data["row"].to_numpy(), list(modes.touched_rows(session)))
            geoms = data["geom"].to_numpy(dtype=object)[written]
            area = list(geoms[shapely.get_type_id(geoms) > 0])
        authorize(session, actor, "write", Touches(grid_ids=modes.touched_grids(session, entity), area=area))


def _any_in(text_: str, chars: str) -> bool:
    """Whether any of ``chars`` occurs in ``text_`` (one fast scan per character)."""
    return any(c in text_ for c in chars)


def _copy_fields(values: np.ndarray, textual: bool) -> list[str]:
    """COPY text-format fields of one column: ``\\N`` for None, backslash, tab, newline and CR escaped.

    ``textual``: the values are str already (else ``str()`` of each: numbers, flags, times)."""
    given = ~pd.isna(values) if values.dtype == object else np.ones(len(values), dtype=bool)
    texts = values[given].tolist()
    if not textual:
        texts = list(map(str, texts))
    elif _any_in("".join(texts), "\\\t\n\r"):  # escaping is rare: the column is scanned first
        escaped = pd.Series(texts, dtype=object)
        for raw, code in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            escaped = escaped.str.replace(raw, code, regex=False)
        texts = escaped.tolist()
    if given.all():
        return texts
    fields = np.full(len(values), "\\N", dtype=object)
    fields[given] = texts
    return fields.tolist()


def _copy(session: Session, name: str, columns: dict[str, np.ndarray], textual: Collection[str]) -> None:
    """COPY equal-length columns into table ``name`` in one stream of text blocks (no Python call per row)."""
    fields = [_copy_fields(v, c in textual) for c, v in columns.items()]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as cp:  # type: ignore[union-attr]
        for start in range(0, len(fields[0]) if fields else 0, COPY_BLOCK):
            block = zip(*(f[start : start + COPY_BLOCK] for f in fields), strict=True)
            cp.write("\n".join(map("\t".join, block)) + "\n")


GEOM = "geometry(Geometry, 4326)"  # COPYed as WKB hex (SRID 0 takes the column's 4326); 2D only, like the tables
# Staging columns per entity (canonical column → type); numbers as numeric, so no value fails the COPY.
STAGING = {
    "households": {"code": "text", "address": "text", "building_code": "text", "kind": "text", "geom": GEOM},
    "buildings": {"code": "text", "name": "text", "address": "text", "floors": "numeric", "geom": GEOM},
    "persons": {"code": "text", "household_code": "text", "name": "text", "sex": "text", "birth_year": "numeric",
                "phone": "text", "id_number": "text", "is_resident_rep": "bool", "is_volunteer": "bool",
                "is_party_member": "bool", "member_type": "text", "tags": "text"},
    "incidents": {"code": "text", "category": "text", "subcategory": "text", "description": "text",
                  "reported_at": "timestamptz", "status": "text", "level": "text", "source": "text",
                  "urgency": "text", "address": "text", "reporter_name": "text", "reporter_phone": "text",
                  "geom": GEOM},
    "staff": {"staff_code": "text", "name": "text", "phone": "text", "grid_code": "text", "role": "text"},
}  # fmt: skip
# Reference checks per entity, run in staging: (column, table, reason, must the code exist there).
REFERENCES = {
    entity: ([] if entity == "staff" else [("code", TABLES[entity], "编码已存在", False)]) + {
        "households": [("building_code", "building", "楼栋不存在", True)],
        "persons": [("household_code", "household", "户不存在", True)],
        "staff": [("grid_code", "grid", "网格不存在", True)],
    }.get(entity, [])
    for entity in TABLES
}
# Moves of the staged rows, in one INSERT per table ({new_only}: an update's filter of the rows not matched).
MOVE = {
    "households": f"""INSERT INTO household (id, code, address, building_id, kind, geom, grid_id, valid_from,
                                            updated_by)
        SELECT s.id, s.code, s.address, b.id, s.kind, s.geom, m.gid, {modes.AT}, :by
          FROM stage s LEFT JOIN building b ON b.code = s.building_code AND b.valid_to IS NULL
          LEFT JOIN {STAGED_TABLE} m ON m.id = s.id {{new_only}}""",
    "buildings": f"""INSERT INTO building (id, code, name, address, floors, geom, valid_from, updated_by)
        SELECT s.id, s.code, s.name, s.address, s.floors, s.geom, {modes.AT}, :by FROM stage s {{new_only}}""",
    "persons": f"""INSERT INTO person (id, code, household_id, name, sex, birth_year, phone, id_number,
                                      is_resident_rep, is_volunteer, is_party_member, member_type, sensitive_tags,
                                      valid_from, updated_by)
        SELECT s.id, s.code, h.id, s.name, s.sex, s.birth_year, s.phone, s.id_number,
               coalesce(s.is_resident_rep, false), coalesce(s.is_volunteer, false),
               coalesce(s.is_party_member, false), s.member_type,
               CASE WHEN coalesce(s.tags, '') = '' THEN NULL ELSE regexp_split_to_array(s.tags, '[;；,，、]') END,
               {modes.AT}, :by
          FROM stage s JOIN household h ON h.code = s.household_code AND h.valid_to IS NULL {{new_only}}""",
    "incidents": f"""INSERT INTO incident (id, code, category, subcategory, description, geom, reported_at, status,
                                          level, source, urgency, address, reporter_name, reporter_phone,
                                          step_started_at, grid_id)
        SELECT s.id, s.code, s.category, s.subcategory, s.description, s.geom, s.reported_at,
               coalesce(s.status, '{INCIDENT_STATUSES.terms[0]}'), coalesce(s.level, '{INCIDENT_LEVELS.terms[0]}'),
               s.source, coalesce(s.urgency, '{DEFAULT_URGENCY}'), s.address, s.reporter_name, s.reporter_phone,
               s.reported_at, m.gid
          FROM stage s LEFT JOIN {STAGED_TABLE} m ON m.id = s.id {{new_only}}""",
}
# An imported case's deadline (by file row) and the first step of its timeline.
INCIDENT_DEADLINES = """UPDATE incident i SET deadline = u.deadline
    FROM unnest(CAST(:rows AS int[]), CAST(:deadlines AS timestamptz[])) AS u(row, deadline)
    JOIN stage s ON s.row = u.row
   WHERE i.id = s.id"""
INCIDENT_IMPORTED = f"""INSERT INTO incident_event (incident_id, at, action, from_status, to_status, from_level,
                                                   to_level, actor, user_id, deadline)
    SELECT i.id, i.reported_at, '{IMPORTED}', NULL, i.status, NULL, i.level, :actor, :user_id, i.deadline
      FROM stage s JOIN incident i ON i.id = s.id
     ORDER BY s.row"""


def _references(entity: str, updating: bool) -> list[tuple[str, str, str, bool]]:
    """The reference checks of an import: an update takes existing codes (they name what it changes)."""
    return [r for r in REFERENCES[entity] if not (updating and r[0] == "code")]


def _complete(entity: str, data: pd.DataFrame, references: Sequence[tuple[str, str, str, bool]]) -> bool:
    """Whether every staging column can take the checked rows: a NUL character (no PostgreSQL text holds one) in a
    text that is not a reference, or a coordinate with Z (the tables are 2D), fails the COPY of the whole file.

    Such a file is staged with its references only, so that its reference errors are still listed; if it has none,
    it is staged whole and fails there, as the write always refused it."""
    checked = {c for c, *_ in references}
    texts = [c.name for c in ENTITIES[entity] if c.kind == "text" and c.name not in checked]
    if any("\x00" in "".join(filter(None, data[c].to_numpy(dtype=object))) for c in texts):
        return False
    return "geom" not in data or not bool(shapely.has_z(data["geom"].to_numpy(dtype=object)).any())


def _hex_wkb(geoms: np.ndarray) -> np.ndarray:
    """WKB in hex for COPY (None stays None): shapely's WKB, then ``bytes.hex``, is 3× faster than its hex writer."""
    out = np.full(len(geoms), None, dtype=object)
    given = ~shapely.is_missing(geoms)
    out[given] = list(map(bytes.hex, shapely.to_wkb(geoms[given])))
    return out


def _stage(session: Session, entity: str, data: pd.DataFrame, *, complete: bool,
           references: Sequence[tuple[str, str, str, bool]]) -> None:  # fmt: skip
    """COPY the rows into the temp table ``stage``: every column with the ids the rows will get (and a NULL
    grid_id for assign_staged), or, when not ``complete`` (a refused file), just the references."""
    columns = dict(STAGING[entity]) if complete else {c: STAGING[entity][c] for c, *_ in references}
    ddl = ["row int", *(f"{c} {kind}" for c, kind in columns.items())]
    if complete and entity != "staff":
        table = TABLES[entity]
        seq = session.execute(text("SELECT quote_literal(pg_get_serial_sequence(:t, 'id'))"), {"t": table}).scalar()
        ddl.append(f"id bigint DEFAULT nextval({seq}::regclass)")  # ids in file order, as the COPY goes
        if table in POINT_TABLES:
            ddl.append("grid_id bigint")
    session.execute(text(f"CREATE TEMP TABLE stage ({', '.join(ddl)}) ON COMMIT DROP"))
    values = {"row": data["row"].to_numpy()}
    for c in columns:
        v = data[c].to_numpy(dtype=object)
        values[c] = _hex_wkb(v) if c == "geom" else v
    _copy(session, "stage", values, textual=[c for c, kind in columns.items() if kind in ("text", GEOM)])


def _write(session: Session, entity: str, p: Plan, present: Collection[str], by: str) -> int:
    """Write the staged rows: one INSERT of the new ones (points assigned in staging: each row written once), and
    for an update one UPDATE of the changed ones and the retirements of a sync; returns the rows written."""
    if entity == "staff":
        return modes.write_staff(session, p, present, by)
    params = {"at": p.at, "by": by}
    if not p.updating:
        return int(session.execute(text(MOVE[entity].format(new_only="")), params).rowcount)  # type: ignore[attr-defined]
    table = TABLES[entity]
    updated = modes.write_versioned(session, entity, table, p, present)
    inserted = session.execute(text(MOVE[entity].format(new_only=f"WHERE {NEW_ONLY}")), params)
    if p.mode == "sync":
        modes.retire(session, entity, table, p)
    return updated + int(inserted.rowcount)  # type: ignore[attr-defined]


def _start_timelines(session: Session, data: pd.DataFrame, actor: Actor, calendar: WorkCalendar) -> None:
    """The imported cases' deadlines (see the module docstring: the limit of the step each open case waits for,
    from the later of its report and now) in one UPDATE, then their 导入 steps in one INSERT."""
    limits = load_limits(session)
    now = dt.datetime.now(dt.UTC)
    known: dict[tuple[Any, ...], dt.datetime | None] = {}
    rows: list[int] = []
    deadlines: list[dt.datetime] = []
    columns = (data[c] for c in ("row", "status", "category", "urgency", "reported_at"))
    for row, status, category, urgency, reported in zip(*columns, strict=True):
        key = (status or INCIDENT_STATUSES.terms[0], category, urgency or DEFAULT_URGENCY, max(reported, now))
        if key not in known:
            known[key] = limits.deadline(calendar, *key)
        if known[key] is not None:
            rows.append(int(row))
            deadlines.append(known[key])  # type: ignore[arg-type]
    if rows:
        session.execute(text(INCIDENT_DEADLINES), {"rows": rows, "deadlines": deadlines})
    session.execute(text(INCIDENT_IMPORTED), {"actor": actor.audit_name, "user_id": actor.user_id})


def _summarise(session: Session, entity: str, data: pd.DataFrame, report: EntityImportReport, actor: Actor,
               p: Plan) -> None:  # fmt: skip
    """Assign the new rows (buildings; points were assigned in staging) and count and list the unassigned ones
    (row numbers); the grid every new row falls in must be in the actor's scope (an update's changes were checked
    before writing; its new and moved buildings are checked here once assigned)."""
    table = TABLES[entity]
    if not SPATIAL[entity]:
        return
    if p.updating:
        rows = f"stage s LEFT JOIN {modes.MATCH} d ON d.sid = s.id JOIN {table} t ON t.id = coalesce(d.target, s.id)"
        grid = "t.grid_id"
        if table == "building":
            moved = session.scalars(text(f"SELECT coalesce(d.target, s.id) FROM stage s LEFT JOIN {modes.MATCH} d "
                                         f"ON d.sid = s.id WHERE d.sid IS NULL OR 'geom' = ANY(d.fields)"))  # fmt: skip
            assign_rows(session, table, list(moved))
            grids = session.scalars(text(f"SELECT DISTINCT {grid} FROM {rows} WHERE d.sid IS NULL OR {modes.CHANGED}"))
            authorize(session, actor, "write", Touches(grid_ids=set(grids)))
    elif table in POINT_TABLES:
        rows, grid = f"stage s LEFT JOIN {STAGED_TABLE} m ON m.id = s.id", "m.gid"
    else:
        assign_rows(session, table, list(session.execute(text("SELECT id FROM stage")).scalars()))
        rows, grid = f"stage s JOIN {table} t ON t.id = s.id", "t.grid_id"
    listed = f"(array_agg(s.{{}} ORDER BY s.row) FILTER (WHERE {grid} IS NULL))[1:{MAX_LISTED}]"
    per_grid = session.execute(text(f"SELECT {grid} AS gid, count(*) AS n, {listed.format('row')} AS rows, "
                                    f"{listed.format('code')} AS codes FROM {rows} GROUP BY 1")).all()  # fmt: skip
    report.assigned = sum(int(g.n) for g in per_grid if g.gid is not None)
    report.unassigned = sum(int(g.n) for g in per_grid if g.gid is None)
    report.unassigned_rows = [{"row": r, "code": c} for g in per_grid if g.gid is None
                              for r, c in zip(g.rows, g.codes, strict=True)]  # fmt: skip
    if p.updating:
        return
    geoms = data["geom"].to_numpy(dtype=object)
    area = list(geoms[shapely.get_type_id(geoms) > 0]) if entity == "buildings" else []  # footprints, not points
    authorize(session, actor, "write", Touches(grid_ids={g.gid for g in per_grid}, area=area))
