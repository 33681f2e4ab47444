"""Load the generated sample street (``geodata/sample``) into PostGIS in one transaction, as a user's files.

Every file goes through the importer a user's file goes through, with the same checks, staging and
assignment: grids through :func:`gridgov.grids.importer.import_grids`; buildings, households, persons,
staff and incidents through :func:`gridgov.importing.entities.import_entities`; patrol teams with their
areas and routes through :func:`gridgov.patrol.team_file.import_patrol_teams`; each team's GPX through
:func:`gridgov.patrol.gpx.import_gpx`. A refused file refuses the whole load.

The Party organisation (``party_*.csv``, ``resident_units.csv``, ``volunteer_*.csv``, ``party_duty_areas.gpkg``) is
loaded by :func:`gridgov.sample.party_load.load_party`: organisations, memberships and 联系户 through the Party
importer, the rest set-based. Three steps are the sample's own, because no importer takes them yet: the cases'
timelines (``incident_events.csv``: every step of every case from its report, replayed through the workflow so the
cases end as their last step leaves them; see :func:`load_incident_events`), the patrol roster
(``patrol_roster.csv``: which team was due which night and shift, some of them missed), and the months of changes
of :mod:`gridgov.sample.changes`.

The transaction runs in bulk mode (``gridgov.bulk``): the audit log gets one summary row per statement.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyogrio
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.config import GridSettings, defaults
from gridgov.errors import Conflict, InvalidInput
from gridgov.grids.importer import import_grids
from gridgov.importing.entities import EntityImportReport, import_entities
from gridgov.incidents.limits import load_limits
from gridgov.incidents.workflow import IMPORTED
from gridgov.patrol.gpx import import_gpx
from gridgov.patrol.team_file import import_patrol_teams
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.sample.changes import apply_sample_changes
from gridgov.sample.formats import CSV_COLUMNS
from gridgov.sample.party_load import load_party
from gridgov.sample.steps import CaseState, Recorded, StepRefused, take
from gridgov.workdays import WorkCalendar, load_calendar

ACTOR = "sample"
# (entity, file) in dependency order: households name buildings, persons name households, staff name grids.
ENTITY_FILES = (
    ("buildings", "buildings.gpkg"),
    ("households", "households.csv"),
    ("persons", "persons.csv"),
    ("staff", "staff.csv"),
    ("incidents", "incidents.csv"),
)
MAX_LISTED = 10

COUNTED = (
    "grid",
    "building",
    "household",
    "person",
    "party_contact",
    "party_org",
    "party_membership",
    "party_register",
    "volunteer_team",
    "party_meeting",
    "party_duty_area",
    "staff",
    "grid_role",
    "incident",
    "incident_event",
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


# The replayed steps and the cases as their last steps leave them, COPYed to staging (n: the step's place in the
# file), then written with one INSERT and one UPDATE.
EVENT_STAGING = """s_incident_event (n int, incident_id bigint, at timestamptz, action text, from_status text,
    to_status text, from_level text, to_level text, staff text, note text, deadline timestamptz, overdue boolean,
    review_on date)"""
CASE_STAGING = """s_incident_case (id bigint, status text, level text, assignee text, started timestamptz,
    deadline timestamptz, closed_at timestamptz, review_on date, version int)"""
EVENTS_MOVE = """INSERT INTO incident_event (incident_id, at, action, from_status, to_status, from_level, to_level,
                                             actor, staff_id, note, deadline, overdue, review_on)
    SELECT u.incident_id, u.at, u.action, u.from_status, u.to_status, u.from_level, u.to_level, :actor, s.id,
           u.note, u.deadline, u.overdue, u.review_on
      FROM s_incident_event u LEFT JOIN staff s ON s.code = u.staff AND s.valid_to IS NULL
     ORDER BY u.n"""
CASES_UPDATE = """UPDATE incident i
       SET status = u.status, level = u.level, assignee_staff_id = s.id, step_started_at = u.started,
           deadline = u.deadline, closed_at = u.closed_at, review_on = u.review_on, version = u.version
      FROM s_incident_case u LEFT JOIN staff s ON s.code = u.assignee AND s.valid_to IS NULL
     WHERE i.id = u.id"""


def _stage(session: Session, table: str, rows: Iterable[Sequence[object]]) -> None:
    """A temp table (``table``: name and columns) with ``rows`` COPYed in, in one stream."""
    session.execute(text(f"CREATE TEMP TABLE {table} ON COMMIT DROP"))
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.split(' ', 1)[0]} FROM STDIN") as cp:  # type: ignore[union-attr]
        for row in rows:
            cp.write_row(row)


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of one of the sample's CSV files, which must have its columns (gridgov.sample.formats)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS[path.name] if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name} 缺少列：{', '.join(missing)}")
        return list(reader)


def load_incident_events(session: Session, path: Path, actor: Actor, calendar: WorkCalendar) -> int:
    """Sample-only step: the timelines of the sample's cases (``incident_events.csv``), replayed step by step as
    the system takes them (gridgov.sample.steps: the workflow's transitions, escalation by deadline, each step's
    deadline from the stored time limits and ``calendar``), written in one INSERT; each case is then left as its
    last step leaves it (status, level, assignee, deadline, closing time, version: one per step) in one UPDATE.
    The importer's 导入 step of these cases gives way to their timeline. Returns the steps written; a step that
    cannot follow the ones before it, an unknown case or staff member, or a case whose status in incidents.csv
    is not where its timeline ends refuses the file."""
    rows = _read_csv(path)
    codes = sorted({r["code"] for r in rows})
    cases = {r.code: r for r in session.execute(
        text("SELECT id, code, category, urgency, status, level FROM incident WHERE code = ANY(:c)"), {"c": codes})}
    named = sorted({r["staff_code"] for r in rows if r["staff_code"]})
    staff = set(session.scalars(text("SELECT code FROM staff WHERE code = ANY(:c) AND valid_to IS NULL"), {"c": named}))
    limits = load_limits(session)
    states: dict[str, CaseState] = {}
    steps: list[tuple[int, Recorded]] = []
    errors: list[str] = []
    broken: set[str] = set()  # cases with a refused step (their later steps are not replayed)
    tz = calendar.zone
    for n, r in enumerate(rows, start=2):
        case = cases.get(r["code"])
        if case is None or r["code"] in broken:
            errors += [] if case is not None else [f"第 {n} 行 code：事件不存在：{r['code']}"]
            continue
        state = states.setdefault(r["code"], CaseState(case.category, case.urgency))
        try:
            if r["seq"] != str(state.version + 1):
                raise StepRefused(f"步骤序号应为 {state.version + 1}：{r['seq']}")
            if r["staff_code"] and r["staff_code"] not in staff:
                raise StepRefused(f"工作人员不存在：{r['staff_code']}")
            at = dt.datetime.fromisoformat(r["at"])
            at = at if at.tzinfo is not None else at.replace(tzinfo=tz)
            review = dt.date.fromisoformat(r["review_on"]) if r["review_on"] else None
            step = take(state, r["action"], at, limits, calendar, staff_code=r["staff_code"] or None,
                        note=r["note"] or None, review_on=review)  # fmt: skip
        except (StepRefused, ValueError) as exc:
            errors.append(f"第 {n} 行 {r['code']}：{exc}")
            broken.add(r["code"])
            continue
        if step.to_level != r["level"]:
            errors.append(f"第 {n} 行 level：这一步后应为{step.to_level}层级：{r['level']}")
        steps.append((case.id, step))
    errors += [f"{code}：事件文件中为「{cases[code].status}」（{cases[code].level}层级），过程结束于"
               f"「{s.status}」（{s.level}层级）" for code, s in states.items()
               if code not in broken and (s.status, s.level) != (cases[code].status, cases[code].level)]  # fmt: skip
    if errors:
        raise _refused(path, errors)
    session.execute(text("DELETE FROM incident_event WHERE incident_id = ANY(:ids) AND action = :imported"),
                    {"ids": [cases[c].id for c in states], "imported": IMPORTED})  # fmt: skip
    _stage(session, EVENT_STAGING, ((n, i, s.at, s.action, s.from_status, s.to_status, s.from_level, s.to_level,
                                     s.staff_code, s.note, s.deadline, s.overdue, s.review_on)
                                    for n, (i, s) in enumerate(steps)))  # fmt: skip
    _stage(session, CASE_STAGING, ((cases[c].id, s.status, s.level, s.assignee, s.step_started_at, s.deadline,
                                    s.closed_at, s.review_on, s.version) for c, s in states.items()))  # fmt: skip
    written = session.execute(text(EVENTS_MOVE), {"actor": actor.audit_name}).rowcount  # type: ignore[attr-defined]
    session.execute(text(CASES_UPDATE))
    session.execute(text("DROP TABLE s_incident_event, s_incident_case"))
    return int(written)


def load_sample(
    conn: Connection,
    directory: Path,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    grid_settings: GridSettings | None = None,
    actor: Actor | None = None,
    patrol_buffer_m: float | None = None,
    with_history: bool = True,
    calendar: WorkCalendar | None = None,
) -> dict[str, int]:
    """Load every sample file from ``directory`` through the importers; returns row counts per table.

    With ``with_history``, the street is then given its months of changes (:mod:`gridgov.sample.changes`).

    Atomic with the caller's transaction; ``Conflict`` when the sample street is already loaded. The sample is
    a whole street: only an unscoped administrator loads it (default: the local operator). With
    ``patrol_buffer_m`` (the configured patrol buffer), the tracks' footprints are stored as they are imported.
    ``calendar``: the working-day calendar the cases' deadlines count (default: the stored one with the default
    working hours; faces pass the configured hours).
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
    load_party(session, directory, actor, timezone)  # the Party organisation (its files, where present)
    _bulk(session)
    if (directory / "incident_events.csv").exists():
        load_incident_events(session, directory / "incident_events.csv", actor,
                             calendar or load_calendar(session, timezone))  # fmt: skip
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
