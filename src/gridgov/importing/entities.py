"""Atomic import of households, buildings, persons, incidents and staff.

Every row is checked first (types, allowed values, coordinates, references, duplicate codes); any bad
row refuses the whole file with row, column and reason, and nothing is written. Good files are
COPYed into a staging table and moved with one set-based INSERT per table, then assigned to grids.
Coordinates outside every grid are imported and listed as unassigned, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.assign.points import POINT_TABLES, STAGED_TABLE, assign_rows, assign_staged
from gridgov.auth.scope import Actor, Touches, authorize, grid_ids_of
from gridgov.db.locks import writers_lock
from gridgov.errors import InvalidInput
from gridgov.geo.checks import coordinate_problem, geometry_problem
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.ids import id_check_digit
from gridgov.importing.columns import BOOL_FALSE, BOOL_TRUE, ENTITIES, SPATIAL, Column
from gridgov.importing.read import Table, read_table
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import INCIDENT_LEVELS, INCIDENT_STATUSES

TABLES = {"households": "household", "buildings": "building", "persons": "person", "incidents": "incident",
          "staff": "staff"}  # fmt: skip
MAX_LISTED = 200
ID_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^[\d\-+() ]{7,20}$")
MAX_LEN = {"code": 40, "staff_code": 32, "grid_code": 32, "building_code": 40, "household_code": 40, "name": 200}


@dataclass(frozen=True)
class RowError:
    """A bad cell: file row (or feature) number, canonical column and reason in Chinese."""

    row: int
    column: str
    reason: str


@dataclass
class EntityImportReport:
    """What an import did, or why it refused the file."""

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
    written: bool = False

    @property
    def refused(self) -> bool:
        """True when a bad row refused the file."""
        return bool(self.errors)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        d = asdict(self)
        d["refused"] = self.refused
        return d


def _parse(col: Column, value: str, tz: ZoneInfo) -> tuple[Any, str | None]:
    """Parse one cell: (value, None) or (None, reason)."""
    if value == "" or value.lower() in ("nan", "none", "null"):
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


def _locate(table: Table, entity: str, crs: Any, errors: list[RowError]) -> list[Any]:
    """One WGS84 geometry per row (point from lon/lat, or the file's geometry), or None with an error."""
    src = parse_crs(crs) if crs is not None else (parse_crs(table.crs) if table.crs is not None else parse_crs(4326))
    frame = table.frame
    has_lonlat = "lon" in frame and "lat" in frame
    lons = frame["lon"].tolist() if has_lonlat else []  # lists, not frame.at per row: 10^5 rows stay fast
    lats = frame["lat"].tolist() if has_lonlat else []
    geoms: list[Any] = []
    for i in range(len(frame)):
        g = table.geometry[i] if table.geometry is not None else None
        if g is None and has_lonlat and lons[i] != "" and lats[i] != "":
            try:
                g = Point(float(str(lons[i])), float(str(lats[i])))
            except ValueError:
                errors.append(RowError(table.rows[i], "lon/lat", "经纬度不是数值"))
        geoms.append(g)
    converted = to_wgs84(np.asarray(geoms, dtype=object), src) if any(g is not None for g in geoms) else geoms
    out: list[Any] = []
    for i, g in enumerate(converted):
        row = table.rows[i]
        if g is None or g.is_empty:
            if not any(e.row == row for e in errors):
                errors.append(RowError(row, "lon/lat", "缺少坐标"))
            out.append(None)
            continue
        if isinstance(g, Point):
            problem = coordinate_problem(g.x, g.y)
        elif entity == "buildings" and isinstance(g, Polygon | MultiPolygon):
            problem = geometry_problem(g)
        else:
            problem = f"几何类型应为点{'或面' if entity == 'buildings' else ''}，实际为 {g.geom_type}"
        if problem:
            errors.append(RowError(row, "lon/lat" if isinstance(g, Point) else "geometry", problem))
            out.append(None)
        else:
            out.append(g)
    return out


def _check_rows(entity: str, table: Table, tz: ZoneInfo) -> tuple[pd.DataFrame, list[RowError]]:
    """Typed values per canonical column, and every row error."""
    spec = {c.name: c for c in ENTITIES[entity]}
    errors: list[RowError] = []
    typed: dict[str, list[Any]] = {}
    for name, col in spec.items():
        if col.name in ("lon", "lat"):
            continue
        values = table.frame[name].tolist() if name in table.frame else [""] * len(table.frame)
        parsed = []
        for row, v in zip(table.rows, values, strict=True):
            val, reason = _parse(col, v, tz)
            if reason is None and isinstance(val, str) and len(val) > MAX_LEN.get(name, 2000):
                val, reason = None, f"过长（最多 {MAX_LEN.get(name, 2000)} 个字符）"
            if reason:
                errors.append(RowError(row, name, reason))
            parsed.append(val)
        typed[name] = parsed
    out = pd.DataFrame(typed, dtype=object)
    out["row"] = table.rows
    if entity == "persons":
        for r in out.to_dict("records"):
            member, mtype, idn = r["is_party_member"], r["member_type"], r["id_number"]
            if member and mtype is None:
                errors.append(RowError(int(r["row"]), "member_type", "党员须填写党员类型"))
            if not member and mtype is not None:
                errors.append(RowError(int(r["row"]), "member_type", "非党员不应填写党员类型"))
            if idn is not None and (not ID_RE.match(idn) or id_check_digit(idn[:17]) != idn[17]):
                errors.append(RowError(int(r["row"]), "id_number", "身份证号码格式或校验位错误"))
        for b in ("is_party_member", "is_resident_rep", "is_volunteer"):  # one column at a time: .at is slow
            out[b] = pd.Series([bool(v) for v in out[b]], index=out.index, dtype=object)
    for ph in ("phone",):
        if ph in out:
            for row, v in zip(out["row"], out[ph], strict=True):
                if v is not None and not PHONE_RE.match(v):
                    errors.append(RowError(int(row), ph, f"电话号码格式错误：{v}"))
    code_col = "code" if "code" in out else None
    if code_col and entity != "staff":
        dup = out[code_col].notna() & out.duplicated(code_col, keep=False)
        for row, v in zip(out.loc[dup, "row"], out.loc[dup, code_col], strict=True):
            errors.append(RowError(int(row), code_col, f"文件内编码重复：{v}"))
    return out, errors


def _reference_errors(session: Session, entity: str, data: pd.DataFrame) -> list[RowError]:
    """Rows that name a code already used, or a building/household/grid that does not exist."""
    checks: list[tuple[str, str, str, bool]] = []  # column, table, what, must_exist
    if entity != "staff":
        checks.append(("code", TABLES[entity], "编码已存在", False))
    checks += {
        "households": [("building_code", "building", "楼栋不存在", True)],
        "persons": [("household_code", "household", "户不存在", True)],
        "staff": [("grid_code", "grid", "网格不存在", True)],
    }.get(entity, [])
    errors: list[RowError] = []
    for column, table, reason, must_exist in checks:
        if column not in data:
            continue
        wanted = sorted({v for v in data[column] if v is not None})
        if not wanted:
            continue
        live = " AND valid_to IS NULL" if table == "grid" else ""
        found = set(
            session.execute(text(f"SELECT code FROM {table} WHERE code = ANY(:c){live}"), {"c": wanted}).scalars()
        )
        for row, v in zip(data["row"], data[column], strict=True):
            if v is not None and (v in found) != must_exist:
                errors.append(RowError(int(row), column, f"{reason}：{v}"))
    return errors


def import_entities(
    session: Session,
    entity: str,
    path: Path,
    *,
    actor: Actor,
    crs: Any = None,
    dry_run: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> EntityImportReport:
    """Check every row, then (unless refused or a dry run) write the file and assign it, in the caller's transaction.

    Every row must lie in the actor's scope: the grid each new point or building falls in, the household
    each person joins, the grid each staff role is on (dry runs are checked the same way).
    """
    authorize(session, actor, "write")
    if entity not in ENTITIES:
        raise InvalidInput(f"未知的导入类型：{entity}（可用 {', '.join(ENTITIES)}）")
    tz = ZoneInfo(timezone)
    table = read_table(path, ENTITIES[entity])
    data, errors = _check_rows(entity, table, tz)
    crs_label = "—"
    if SPATIAL[entity]:
        data["geom"] = _locate(table, entity, crs, errors)
        src = parse_crs(crs) if crs is not None else None
        crs_label = GCJ02 if src == GCJ02 else (f"EPSG:{src.to_epsg()}" if src is not None else "EPSG:4326")  # type: ignore[union-attr]
    writers_lock(session)  # after parsing the file, before any row lock: one lock order (gridgov.db.locks)
    errors += _reference_errors(session, entity, data)
    report = EntityImportReport(entity, path.name, crs_label, len(data), dry_run)
    if errors:
        report.errors = sorted(errors, key=lambda e: (e.row, e.column))
        return report
    if entity == "persons":
        authorize(session, actor, "write", Touches(grid_ids=grid_ids_of(session, "household", "code",
                                                                        data["household_code"])))  # fmt: skip
    elif entity == "staff":
        authorize(session, actor, "write", Touches(codes=[c for c in data["grid_code"] if c]))
    savepoint = session.begin_nested()
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', :a, true)"),
                    {"a": actor.name})  # fmt: skip
    new_ids = _write(session, entity, data)
    _summarise(session, entity, data, new_ids, report, actor)  # still bulk: the assignment is one audit row too
    session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
    session.execute(text("DROP TABLE stage"))  # so another import can follow in the same transaction
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        report.written = True
    return report


def _copy(session: Session, name: str, columns: Sequence[str], rows: Any) -> None:
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as cp:  # type: ignore[union-attr]
        for r in rows:
            cp.write_row(r)


STAGING_DDL = {
    "households": "row int, id bigint, code text, address text, building_code text, kind text, wkb bytea",
    "buildings": "row int, id bigint, code text, name text, address text, floors int, wkb bytea",
    "persons": "row int, id bigint, code text, household_code text, name text, sex text, birth_year int, "
    "phone text, id_number text, is_resident_rep bool, is_volunteer bool, is_party_member bool, "
    "member_type text, tags text",
    "incidents": "row int, id bigint, code text, category text, subcategory text, description text, "
    "reported_at timestamptz, status text, level text, source text, wkb bytea",
    "staff": "row int, id bigint, staff_code text, name text, phone text, grid_code text, role text",
}
MOVE = {
    "households": f"""INSERT INTO household (id, code, address, building_id, kind, geom, grid_id)
        SELECT s.id, s.code, s.address, b.id, s.kind, s.geom, m.gid
          FROM stage s LEFT JOIN building b ON b.code = s.building_code LEFT JOIN {STAGED_TABLE} m ON m.id = s.id""",
    "buildings": """INSERT INTO building (id, code, name, address, floors, geom)
        SELECT id, code, name, address, floors, ST_GeomFromWKB(wkb, 4326) FROM stage""",
    "persons": """INSERT INTO person (id, code, household_id, name, sex, birth_year, phone, id_number,
                                      is_resident_rep, is_volunteer, is_party_member, member_type, sensitive_tags)
        SELECT s.id, s.code, h.id, s.name, s.sex, s.birth_year, s.phone, s.id_number,
               coalesce(s.is_resident_rep, false), coalesce(s.is_volunteer, false),
               coalesce(s.is_party_member, false), s.member_type,
               CASE WHEN coalesce(s.tags, '') = '' THEN NULL ELSE regexp_split_to_array(s.tags, '[;；,，、]') END
          FROM stage s JOIN household h ON h.code = s.household_code""",
    "incidents": f"""INSERT INTO incident (id, code, category, subcategory, description, geom, reported_at, status,
                                          level, source, grid_id)
        SELECT s.id, s.code, s.category, s.subcategory, s.description, s.geom, s.reported_at,
               coalesce(s.status, '{INCIDENT_STATUSES.terms[0]}'), coalesce(s.level, '{INCIDENT_LEVELS.terms[0]}'),
               s.source, m.gid
          FROM stage s LEFT JOIN {STAGED_TABLE} m ON m.id = s.id""",
}


def _write(session: Session, entity: str, data: pd.DataFrame) -> list[int]:
    """COPY the checked rows into a staging table and move them with one INSERT; returns the new ids."""
    session.execute(text(f"CREATE TEMP TABLE stage ({STAGING_DDL[entity]}) ON COMMIT DROP"))
    cols = [c.split()[0] for c in STAGING_DDL[entity].split(", ")]
    frame = data.copy()
    if "geom" in frame:
        frame["wkb"] = [shapely.to_wkb(g) for g in frame.pop("geom")]
    frame["id"] = None
    present = [c for c in cols if c in frame]
    records = frame[present].astype(object).where(frame[present].notna(), None).itertuples(index=False, name=None)
    _copy(session, "stage", present, records)
    if entity == "staff":
        return _write_staff(session)
    table = TABLES[entity]
    session.execute(text(f"UPDATE stage SET id = nextval(pg_get_serial_sequence('{table}', 'id'))"))
    if table in POINT_TABLES:  # assigned in staging, so each row is written once, with its grid
        session.execute(text(
            "ALTER TABLE stage ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_GeomFromWKB(wkb, 4326)) "
            "STORED, ADD COLUMN grid_id bigint"))  # fmt: skip
        assign_staged(session, "stage", table)
    session.execute(text(MOVE[entity]))
    return list(session.execute(text("SELECT id FROM stage ORDER BY row")).scalars())


def _write_staff(session: Session) -> list[int]:
    """New staff (by staff_code, or by name+phone when no code) and their roles on grids."""
    session.execute(
        text("UPDATE stage SET staff_code = coalesce(staff_code, 'S-' || left(md5(name || coalesce(phone, '')), 16))")
    )
    session.execute(text(
        "INSERT INTO staff (code, name, phone) SELECT DISTINCT ON (staff_code) staff_code, name, phone FROM stage "
        "ORDER BY staff_code ON CONFLICT (code) DO NOTHING"))  # fmt: skip
    ids = session.execute(text(
        "INSERT INTO grid_role (grid_id, staff_id, role) SELECT DISTINCT g.id, st.id, s.role FROM stage s "
        "JOIN staff st ON st.code = s.staff_code JOIN grid g ON g.code = s.grid_code AND g.valid_to IS NULL "
        "ON CONFLICT ON CONSTRAINT grid_role_once DO NOTHING RETURNING id")).scalars()  # fmt: skip
    return list(ids)


def _summarise(session: Session, entity: str, data: pd.DataFrame, new_ids: list[int], report: EntityImportReport,
               actor: Actor) -> None:  # fmt: skip
    """Assign the new rows and list the unassigned ones (row numbers); every row's grid must be in the actor's scope."""
    report.imported = len(new_ids)
    table = TABLES[entity]
    if not SPATIAL[entity]:
        return
    if table not in POINT_TABLES:
        assign_rows(session, table, new_ids)
    rows = session.execute(
        text(f"SELECT s.row, s.code, t.grid_id FROM stage s JOIN {table} t ON t.id = s.id ORDER BY s.row")
    ).all()
    unassigned = [r for r in rows if r.grid_id is None]
    report.unassigned = len(unassigned)
    report.assigned = len(rows) - len(unassigned)
    report.unassigned_rows = [{"row": r.row, "code": r.code} for r in unassigned[:MAX_LISTED]]
    area = [g for g in data["geom"] if g is not None and g.geom_type != "Point"] if entity == "buildings" else []
    authorize(session, actor, "write", Touches(grid_ids={r.grid_id for r in rows}, area=area))
