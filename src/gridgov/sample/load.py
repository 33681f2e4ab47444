"""Load the generated sample street (``geodata/sample``) into PostGIS in one transaction, as a user's files.

Every file goes through the importer a user's file goes through, with the same checks, staging and
assignment: grids through :func:`gridgov.grids.importer.import_grids`; buildings, households, persons,
staff and incidents through :func:`gridgov.importing.entities.import_entities`; patrol teams with their
areas and routes through :func:`gridgov.patrol.team_file.import_patrol_teams`; each team's GPX through
:func:`gridgov.patrol.gpx.import_gpx`. A refused file refuses the whole load.

Four steps are the sample's own, because no importer takes them yet: Party members' contact households
(``party_contacts.csv``), the closing time of closed incidents (the sample's files carry none: a closed
incident is taken as closed two days after it was reported), the patrol roster (``patrol_roster.csv``: which
team was due which night and shift, some of them missed), and the months of changes of
:mod:`gridgov.sample.changes`.

The transaction runs in bulk mode (``gridgov.bulk``): the audit log gets one summary row per statement.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyogrio
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.config import GridSettings, defaults
from gridgov.errors import Conflict, InvalidInput
from gridgov.grids.importer import import_grids
from gridgov.importing.entities import EntityImportReport, import_entities
from gridgov.patrol.gpx import import_gpx
from gridgov.patrol.team_file import import_patrol_teams
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.sample.changes import apply_sample_changes
from gridgov.sample.formats import CSV_COLUMNS
from gridgov.vocab import INCIDENT_STATUSES

ACTOR = "sample"
# (entity, file) in dependency order: households name buildings, persons name households, staff name grids.
ENTITY_FILES = (
    ("buildings", "buildings.gpkg"),
    ("households", "households.csv"),
    ("persons", "persons.csv"),
    ("staff", "staff.csv"),
    ("incidents", "incidents.csv"),
)
CLOSED_STATUS = INCIDENT_STATUSES.terms[-1]  # 结案
CLOSED_AFTER = "2 days"
MAX_LISTED = 10

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
    "patrol_roster",
)

# Unchecked fast path for benchmarks of 10^5 grids (the importer checks topology feature by feature).
GRID_STAGING = "s_grid (code text, name text, level text, parent_code text, wkb bytea)"
GRID_MOVE = """INSERT INTO grid (code, name, level, parent_id, geom, updated_by)
       SELECT s.code, s.name, s.level, p.id, ST_Multi(ST_GeomFromWKB(s.wkb, 4326)), :actor
         FROM s_grid s LEFT JOIN grid p ON p.code = s.parent_code AND p.valid_to IS NULL
        WHERE s.level = :level"""


def sample_streets(directory: Path) -> list[str]:
    """Codes of the street grids in the sample's ``grids.gpkg``."""
    df = pyogrio.read_dataframe(directory / "grids.gpkg", layer="grids", columns=["code", "level"], read_geometry=False)
    return [str(c) for c, lvl in zip(df["code"], df["level"], strict=True) if lvl == "street"]


def _bulk(session: Session) -> None:
    """Bulk mode for the rest of the transaction (importers may switch it off when they are done)."""
    session.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', :a, true)"),
                    {"a": ACTOR})  # fmt: skip


def _refused(path: Path, reasons: list[str]) -> InvalidInput:
    shown = "\n".join(reasons[:MAX_LISTED]) + (f"\n……共 {len(reasons)} 处" if len(reasons) > MAX_LISTED else "")
    return InvalidInput(f"样例文件 {path.name} 未通过导入检查：\n{shown}", details=reasons)


def _entities(session: Session, entity: str, path: Path, actor: Actor, timezone: str) -> EntityImportReport:
    _bulk(session)
    report = import_entities(session, entity, path, actor=actor, timezone=timezone)
    if report.refused or not report.written:
        raise _refused(path, [f"第 {e.row} 行 {e.column}：{e.reason}" for e in report.errors])
    return report


def load_party_contacts(session: Session, path: Path) -> int:
    """Sample-only step: Party members' contact households from ``party_contacts.csv``; returns rows written."""
    persons: list[str] = []
    households: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS[path.name] if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name} 缺少列：{', '.join(missing)}")
        for rec in reader:
            persons.append(rec["person_code"])
            households.append(rec["household_code"])
    unknown = session.execute(
        text(
            """SELECT u.p, u.h FROM unnest(CAST(:p AS text[]), CAST(:h AS text[])) AS u(p, h)
                WHERE NOT EXISTS (SELECT 1 FROM person WHERE code = u.p AND valid_to IS NULL)
                   OR NOT EXISTS (SELECT 1 FROM household WHERE code = u.h AND valid_to IS NULL) LIMIT :n"""
        ),
        {"p": persons, "h": households, "n": MAX_LISTED},
    ).all()
    if unknown:
        raise _refused(path, [f"人员或户不存在：{p} / {h}" for p, h in unknown])
    return int(
        session.execute(  # type: ignore[attr-defined]
            text(
                """INSERT INTO party_contact (person_id, household_id)
                   SELECT DISTINCT p.id, h.id FROM unnest(CAST(:p AS text[]), CAST(:h AS text[])) AS u(p, h)
                     JOIN person p ON p.code = u.p AND p.valid_to IS NULL
                     JOIN household h ON h.code = u.h AND h.valid_to IS NULL"""
            ),
            {"p": persons, "h": households},
        ).rowcount
    )


def load_patrol_roster(session: Session, path: Path, actor: Actor) -> int:
    """Sample-only step: the nights and shifts each team was rostered (``patrol_roster.csv``), written as set by
    hand (the sample's teams patrol every night, which no rotation rule produces); returns rows written. The
    roster's area is the team's; the community staff member on duty is one with a post in the team's community,
    in turn by night."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS[path.name] if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name} 缺少列：{', '.join(missing)}")
        rows = list(reader)
    written = session.execute(
        text(
            """INSERT INTO patrol_roster (night, shift, team_id, area_id, lead_grid_id, community_staff_id, source,
                                         updated_by)
               SELECT u.night, u.shift, t.id,
                      (SELECT min(a.id) FROM patrol_area a WHERE a.team_id = t.id AND a.valid_to IS NULL),
                      t.grid_id,
                      (SELECT s.id FROM (SELECT DISTINCT st.id, st.code FROM grid_role r
                                           JOIN staff st ON st.id = r.staff_id AND st.valid_to IS NULL
                                           JOIN grid g ON g.id = r.grid_id
                                          WHERE (g.id = t.grid_id OR g.parent_id = t.grid_id) AND r.until IS NULL) s
                        ORDER BY s.code
                        OFFSET (u.night - DATE '2000-01-03') % greatest(1, (
                               SELECT count(DISTINCT r2.staff_id) FROM grid_role r2 JOIN grid g2 ON g2.id = r2.grid_id
                                WHERE (g2.id = t.grid_id OR g2.parent_id = t.grid_id) AND r2.until IS NULL))
                        LIMIT 1),
                      '手工', :actor
                 FROM unnest(CAST(:night AS date[]), CAST(:shift AS text[]), CAST(:team AS text[]))
                      AS u(night, shift, team)
                 JOIN patrol_team t ON t.code = u.team AND t.valid_to IS NULL"""
        ),
        {"night": [r["night"] for r in rows], "shift": [r["shift"] for r in rows],
         "team": [r["team_code"] for r in rows], "actor": actor.name},
    ).rowcount  # type: ignore[attr-defined]
    if written != len(rows):
        raise _refused(path, [f"{len(rows) - written} 行的巡逻队不存在"])
    return int(written)


def close_sample_incidents(session: Session) -> int:
    """Sample-only step: closed incidents without a closing time are closed two days after their report."""
    return int(
        session.execute(  # type: ignore[attr-defined]
            text(
                f"UPDATE incident SET closed_at = reported_at + interval '{CLOSED_AFTER}' "
                "WHERE status = :closed AND closed_at IS NULL"
            ),
            {"closed": CLOSED_STATUS},
        ).rowcount
    )


def load_sample(
    conn: Connection,
    directory: Path,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    grid_settings: GridSettings | None = None,
    actor: Actor | None = None,
    patrol_buffer_m: float | None = None,
    with_history: bool = True,
) -> dict[str, int]:
    """Load every sample file from ``directory`` through the importers; returns row counts per table.

    With ``with_history``, the street is then given its months of changes (:mod:`gridgov.sample.changes`).

    Atomic with the caller's transaction; ``Conflict`` when the sample street is already loaded. The sample is
    a whole street: only an unscoped administrator loads it (default: the local operator). With
    ``patrol_buffer_m`` (the configured patrol buffer), the tracks' footprints are stored as they are imported.
    """
    actor = actor or Actor.system(ACTOR)
    session = Session(bind=conn)
    authorize(session, actor, "admin", anywhere=True)
    grids = directory / "grids.gpkg"
    if not grids.exists():
        raise InvalidInput(f"样例数据不存在：{directory}（先运行 gridgov sample generate）")
    streets = sample_streets(directory)
    existing = (
        conn.execute(text("SELECT code FROM grid WHERE code = ANY(:c) AND valid_to IS NULL"), {"c": streets})
        .scalars()
        .all()
    )
    if existing:
        raise Conflict(f"样例街道已导入：{', '.join(existing)}", details={"codes": list(existing)})
    _bulk(session)
    report = import_grids(session, grids, actor=actor, layer="grids", settings=grid_settings or defaults(GridSettings))
    if report.blocking or not report.written:
        raise _refused(grids, [f.message for f in report.blocking])
    for entity, name in ENTITY_FILES:
        if (directory / name).exists():
            _entities(session, entity, directory / name, actor, timezone)
    _bulk(session)
    if (directory / "party_contacts.csv").exists():
        load_party_contacts(session, directory / "party_contacts.csv")
    close_sample_incidents(session)
    if (directory / "patrol_teams.gpkg").exists():
        teams = import_patrol_teams(session, directory / "patrol_teams.gpkg", actor=actor)
        for gpx in sorted((directory / "patrol").glob("*.gpx")):
            if gpx.stem not in teams.teams:
                raise InvalidInput(f"样例轨迹 {gpx.name} 没有对应的巡逻队（文件名应为巡逻队编码）")
            import_gpx(session, gpx, team_code=gpx.stem, actor=actor, timezone=timezone, buffer_m=patrol_buffer_m)
        if (directory / "patrol_roster.csv").exists():
            load_patrol_roster(session, directory / "patrol_roster.csv", actor)
    session.execute(text("SELECT set_config('gridgov.bulk', 'off', true)"))
    if with_history:
        _bulk(session)  # the backdating is one audit row per table
        apply_sample_changes(session, timezone=timezone, actor=actor, before=lambda: session.execute(
            text("SELECT set_config('gridgov.bulk', 'off', true)")))  # fmt: skip
    session.flush()
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED}


def copy_grids(conn: Connection, path: Path, *, actor: str = ACTOR) -> int:
    """Unchecked fast path for benchmarks: COPY a grid GeoPackage and insert it with one INSERT per level.

    No topology checks, no scope, no findings: for generated files only (use ``import_grids`` for anything
    else). Runs in the caller's transaction; returns the rows staged.
    """
    import shapely

    from gridgov.vocab import LEVELS

    df = pyogrio.read_dataframe(path, layer="grids")
    if df.crs is not None and df.crs.to_epsg() != 4326:
        df = df.to_crs(4326)
    wkb = shapely.to_wkb(df.geometry.values, output_dimension=2)
    conn.execute(text(f"CREATE TEMP TABLE {GRID_STAGING} ON COMMIT DROP"))
    raw = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cur, cur.copy("COPY s_grid (code, name, level, parent_code, wkb) FROM STDIN") as cp:  # type: ignore[union-attr]
        for rec, w in zip(df[["code", "name", "level", "parent_code"]].itertuples(index=False), wkb, strict=True):
            cp.write_row([None if v != v else v for v in rec] + [w])  # NaN -> NULL
            n += 1
    for level in LEVELS:
        conn.execute(text(GRID_MOVE), {"level": level, "actor": actor})
    conn.execute(text("DROP TABLE s_grid"))
    return n
