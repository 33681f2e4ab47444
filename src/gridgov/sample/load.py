"""Load the generated sample street (``geodata/sample``) into PostGIS in one transaction.

Bulk path: files are streamed with COPY into temporary staging tables, then moved into the model
with one set-based INSERT per table. Households and incidents are assigned to their leaf grids in
staging (``assign_staged``) and so written once, already assigned; buildings are assigned after their
INSERT. The audit log gets one summary row per statement.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gpxpy
import pyogrio
import shapely
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gridgov.assign.points import STAGED_TABLE as STAGED
from gridgov.assign.points import assign_staged, assign_table
from gridgov.errors import Conflict, InvalidInput
from gridgov.sample.formats import CSV_COLUMNS

STAGING = {
    "s_grid": "code text, name text, level text, parent_code text, wkb bytea",
    "s_building": "code text, name text, address text, floors int, grid_code text, wkb bytea",
    "s_household": "code text, address text, building_code text, kind text, lon float8, lat float8",
    "s_person": "code text, household_code text, name text, sex text, birth_year int, phone text, id_number text,"
    " is_resident_rep int, is_volunteer int, is_party_member int, member_type text, tags text",
    "s_contact": "person_code text, household_code text",
    "s_staff": "staff_code text, name text, phone text, grid_code text, role text",
    "s_incident": "code text, category text, subcategory text, description text, lon float8, lat float8,"
    " reported_at timestamptz, status text, level text, source text",
    "s_area": "team_code text, team_name text, wkb bytea",
    "s_route": "team_code text, wkb bytea",
    "s_point": "team_code text, night date, shift text, trk int, seq int, t timestamptz, lon float8, lat float8,"
    " ele float8",
}

# Point staging tables also get the ids their rows will have and a point geometry, for assign_staged().
POINT_STAGING = {"s_household": "household", "s_incident": "incident"}
POINT_EXTRA = (
    ", id bigint DEFAULT nextval(pg_get_serial_sequence('{table}', 'id')),"
    " geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,"
    " grid_id bigint"
)

GRID_MOVE = """INSERT INTO grid (code, name, level, parent_id, geom, updated_by)
       SELECT s.code, s.name, s.level, p.id, ST_Multi(ST_GeomFromWKB(s.wkb, 4326)), 'sample'
         FROM s_grid s LEFT JOIN grid p ON p.code = s.parent_code AND p.valid_to IS NULL
        WHERE s.level = :level"""

MOVES = [
    """INSERT INTO building (code, name, address, floors, geom)
       SELECT code, name, address, floors, ST_GeomFromWKB(wkb, 4326) FROM s_building""",
    f"""INSERT INTO household (id, code, address, building_id, kind, geom, grid_id)
       SELECT s.id, s.code, s.address, b.id, s.kind, s.geom, m.gid
         FROM s_household s LEFT JOIN building b ON b.code = s.building_code LEFT JOIN {STAGED} m ON m.id = s.id""",
    """INSERT INTO person (code, household_id, name, sex, birth_year, phone, id_number, is_resident_rep,
                           is_volunteer, is_party_member, member_type, sensitive_tags)
       SELECT s.code, h.id, s.name, nullif(s.sex, ''), s.birth_year, nullif(s.phone, ''), nullif(s.id_number, ''),
              s.is_resident_rep = 1, s.is_volunteer = 1, s.is_party_member = 1, nullif(s.member_type, ''),
              CASE WHEN coalesce(s.tags, '') = '' THEN NULL ELSE string_to_array(s.tags, ';') END
         FROM s_person s LEFT JOIN household h ON h.code = s.household_code""",
    """INSERT INTO party_contact (person_id, household_id)
       SELECT DISTINCT p.id, h.id FROM s_contact s JOIN person p ON p.code = s.person_code
         JOIN household h ON h.code = s.household_code""",
    """INSERT INTO staff (code, name, phone)
       SELECT DISTINCT ON (staff_code) staff_code, name, nullif(phone, '') FROM s_staff ORDER BY staff_code""",
    """INSERT INTO grid_role (grid_id, staff_id, role)
       SELECT DISTINCT g.id, st.id, s.role FROM s_staff s JOIN staff st ON st.code = s.staff_code
         JOIN grid g ON g.code = s.grid_code AND g.valid_to IS NULL""",
    f"""INSERT INTO incident (id, code, category, subcategory, description, geom, reported_at, closed_at, status,
                             level, source, grid_id)
       SELECT s.id, s.code, s.category, nullif(s.subcategory, ''), s.description, s.geom, s.reported_at,
              CASE WHEN s.status = '结案' THEN s.reported_at + interval '2 days' END, s.status, s.level, s.source,
              m.gid
         FROM s_incident s LEFT JOIN {STAGED} m ON m.id = s.id""",
    """INSERT INTO patrol_team (code, name)
       SELECT DISTINCT ON (team_code) team_code, team_name FROM s_area ORDER BY team_code""",
    """INSERT INTO patrol_area (team_id, name, geom, route)
       SELECT t.id, t.name || '巡逻区域', ST_Multi(ST_GeomFromWKB(a.wkb, 4326)), ST_GeomFromWKB(r.wkb, 4326)
         FROM s_area a JOIN patrol_team t ON t.code = a.team_code
         LEFT JOIN s_route r ON r.team_code = a.team_code""",
    """INSERT INTO patrol_track (team_id, night, shift, started_at, ended_at, geom, source)
       SELECT t.id, s.night, s.shift, min(s.t), max(s.t),
              ST_MakeLine(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) ORDER BY s.seq), 'sample GPX'
         FROM s_point s JOIN patrol_team t ON t.code = s.team_code
        GROUP BY t.id, s.night, s.shift, s.trk""",
    """INSERT INTO patrol_point (track_id, seq, t, geom, elevation)
       SELECT k.id, s.seq, s.t, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.ele
         FROM s_point s JOIN patrol_team t ON t.code = s.team_code
         JOIN patrol_track k ON k.team_id = t.id AND k.night = s.night AND k.shift = s.shift""",
]

COUNTED = (
    "grid",
    "building",
    "household",
    "person",
    "party_contact",
    "staff",
    "grid_role",
    "incident",
    "patrol_team",
    "patrol_area",
    "patrol_track",
    "patrol_point",
)


def _copy(conn: Connection, table: str, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a staging table's file columns through psycopg; returns the count."""
    raw = conn.connection.driver_connection
    columns = ", ".join(c.split()[0] for c in STAGING[table].split(", "))
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:  # type: ignore[union-attr]
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def _csv_rows(path: Path, columns: Sequence[str]) -> Iterator[list[str | None]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name} 缺少列：{', '.join(missing)}")
        for rec in reader:
            yield [rec[c] if rec[c] != "" else None for c in columns]


def _layer_rows(path: Path, layer: str, columns: Sequence[str]) -> Iterator[list[Any]]:
    df = pyogrio.read_dataframe(path, layer=layer)
    if df.crs is not None and df.crs.to_epsg() != 4326:
        df = df.to_crs(4326)
    wkb = shapely.to_wkb(df.geometry.values, output_dimension=2)
    for rec, w in zip(df[list(columns)].itertuples(index=False), wkb, strict=True):
        yield [None if v != v else v for v in rec] + [w]  # NaN -> NULL


def _gpx_points(path: Path) -> Iterator[list[Any]]:
    """Timed points of every track in a GPX file: name 'YYYY-MM-DD 上半夜', type = shift, desc = team."""
    with path.open(encoding="utf-8") as f:
        gpx = gpxpy.parse(f)
    for trk_no, trk in enumerate(gpx.tracks):
        team = (trk.description or path.stem).strip()
        night_s, _, shift = (trk.name or "").partition(" ")
        shift = (trk.type or shift).strip()
        night = dt.date.fromisoformat(night_s)
        seq = 0
        for seg in trk.segments:
            for p in seg.points:
                yield [team, night, shift, trk_no, seq, p.time, p.longitude, p.latitude, p.elevation]
                seq += 1


def load_sample(conn: Connection, directory: Path) -> dict[str, int]:
    """Load every sample file from ``directory``; returns row counts per table. Atomic with the caller's tx."""
    if not (directory / "grids.gpkg").exists():
        raise InvalidInput(f"样例数据不存在：{directory}（先运行 gridgov sample generate）")
    streets = [r[0] for r in _layer_rows(directory / "grids.gpkg", "grids", ["code", "level"]) if r[1] == "street"]
    existing = (
        conn.execute(text("SELECT code FROM grid WHERE code = ANY(:c) AND valid_to IS NULL"), {"c": streets})
        .scalars()
        .all()
    )
    if existing:
        raise Conflict(f"样例街道已导入：{', '.join(existing)}", details={"codes": list(existing)})
    conn.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', 'sample', true)"))
    for name, ddl in STAGING.items():
        extra = POINT_EXTRA.format(table=POINT_STAGING[name]) if name in POINT_STAGING else ""
        conn.execute(text(f"CREATE TEMP TABLE {name} ({ddl}{extra}) ON COMMIT DROP"))
    _copy(conn, "s_grid", _layer_rows(directory / "grids.gpkg", "grids", ["code", "name", "level", "parent_code"]))
    _copy(
        conn,
        "s_building",
        _layer_rows(directory / "buildings.gpkg", "buildings", ["code", "name", "address", "floors", "grid_code"]),
    )
    csv_files = (
        ("households.csv", "s_household"),
        ("persons.csv", "s_person"),
        ("party_contacts.csv", "s_contact"),
        ("staff.csv", "s_staff"),
        ("incidents.csv", "s_incident"),
    )
    for fname, table in csv_files:
        if (directory / fname).exists():
            _copy(conn, table, _csv_rows(directory / fname, CSV_COLUMNS[fname]))
    if (directory / "patrol_teams.gpkg").exists():
        _copy(conn, "s_area", _layer_rows(directory / "patrol_teams.gpkg", "areas", ["team_code", "team_name"]))
        _copy(conn, "s_route", _layer_rows(directory / "patrol_teams.gpkg", "routes", ["team_code"]))
        for gpx in sorted((directory / "patrol").glob("*.gpx")):
            _copy(conn, "s_point", _gpx_points(gpx))
    for level in ("street", "community", "compound", "building"):
        conn.execute(text(GRID_MOVE), {"level": level})
    session = Session(bind=conn)
    for stmt in MOVES:
        staging = re.search(r"FROM (s_\w+)", stmt)
        if staging is not None and staging[1] in POINT_STAGING:  # assign in staging: each row is written once
            assign_staged(session, staging[1], POINT_STAGING[staging[1]])
        conn.execute(text(stmt))
    assign_table(session, "building")
    conn.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED}
