"""The sample street's Party organisation (files of :mod:`gridgov.sample.generate.party`) loaded set-based.

Organisations and memberships go through the importer a user's file goes through (:mod:`gridgov.party.imports`:
the same checks, one statement per table). 联系户 do not: the importer's checks look each member up by a scan of
every person (40 s for the sample's 5,400 links), so they are staged here like the rest, which has no importer yet:
each file
is COPYed into a staging table, its references (organisations, persons, staff, grids, teams) are checked
set-based (any unknown one refuses the load with row numbers) and it is written with one INSERT … SELECT: posts,
registers, resident units (assigned to their grid as they are written), volunteer teams with their members and
activities, meetings, and 党员责任区 (``party_duty_areas.gpkg``).

The sample's records are dated as its files date them: an organisation, unit, team or 责任区 is in force from the
day it was founded (or joined, or drawn), so the compliance check as of the sample's last day sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyogrio
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import InvalidInput
from gridgov.history import live
from gridgov.party.contacts import rule_text
from gridgov.party.imports import import_members, import_orgs
from gridgov.party.rules import PartyRules
from gridgov.sample.formats import CSV_COLUMNS

MAX_LISTED = 10
RULES = PartyRules()  # the sample keeps the default rules (1–3 联系户 a member)
IMPORTED = ("party_orgs.csv", "party_memberships.csv")
STAGED = ("party_contacts.csv", "party_org_posts.csv", "party_registers.csv", "resident_units.csv",
          "volunteer_teams.csv", "volunteer_team_members.csv", "volunteer_activities.csv", "party_meetings.csv")
DUTY_AREAS = "party_duty_areas.gpkg"
TABLES = ("party_org", "party_org_post", "party_membership", "party_register", "party_contact", "resident_unit",
          "volunteer_team", "volunteer_team_member", "volunteer_activity", "party_meeting", "party_duty_area")

# Per staged file: its references (column, what it names, the table whose live row of that code it names) and the
# statement that writes it. :actor names the loader, :tz the zone its days are in.
ORG, PERSON = ("党组织", "party_org"), ("居民", "person")
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "party_contacts.csv": [("person_code", *PERSON), ("household_code", "户", "household")],
    "party_org_posts.csv": [("org_code", *ORG), ("person_code", *PERSON), ("staff_code", "工作人员", "staff")],
    "party_registers.csv": [("person_code", *PERSON)],
    "resident_units.csv": [("member_of_org_code", *ORG)],
    "volunteer_teams.csv": [("grid_code", "网格", "grid"), ("org_code", *ORG), ("leader_person_code", *PERSON)],
    "volunteer_team_members.csv": [("team_code", "志愿服务队", "volunteer_team"), ("person_code", *PERSON)],
    "volunteer_activities.csv": [("team_code", "志愿服务队", "volunteer_team")],
    "party_meetings.csv": [("org_code", *ORG)],
}
WRITES = {
    "party_contacts.csv": f"""
        INSERT INTO party_contact (person_id, household_id, since, created_by)
        SELECT p.id, h.id, CAST(s.since AS date), :actor
          FROM s_party_contacts s JOIN person p ON p.code = s.person_code AND {live('p')}
          JOIN household h ON h.code = s.household_code AND {live('h')}
         ORDER BY s.n""",
    "party_org_posts.csv": f"""
        INSERT INTO party_org_post (org_id, post, person_id, staff_id, since)
        SELECT o.id, s.post, p.id, t.id, CAST(s.since AS date)
          FROM s_party_org_posts s JOIN party_org o ON o.code = s.org_code AND {live('o')}
          LEFT JOIN person p ON p.code = s.person_code AND {live('p')}
          LEFT JOIN staff t ON t.code = s.staff_code AND {live('t')}
         ORDER BY s.n""",
    "party_registers.csv": f"""
        INSERT INTO party_register (person_id, joined_party_on, employer, employer_org, reported_on, flow, flow_place,
                                    certificate_no, certificate_on, flow_mode, shows_identity, updated_by)
        SELECT p.id, CAST(s.joined_party_on AS date), s.employer, s.employer_org, CAST(s.reported_on AS date),
               s.flow, s.flow_place, s.certificate_no, CAST(s.certificate_on AS date), s.flow_mode,
               s.shows_identity = '1', :actor
          FROM s_party_registers s JOIN person p ON p.code = s.person_code AND {live('p')}
         ORDER BY s.n""",
    # the unit's grid by the boundary rule as it is written (bulk mode skips the on-write trigger)
    "resident_units.csv": f"""
        INSERT INTO resident_unit (code, name, kind, address, geom, grid_id, contact_name, contact_phone,
                                   has_party_org, member_of_org_id, joined_on, valid_from, updated_by)
        SELECT s.code, s.name, s.kind, s.address, x.geom, gridgov_leaf_for_point(x.geom), s.contact_name,
               s.contact_phone, s.has_party_org = '1', o.id, CAST(s.joined_on AS date),
               CAST(CAST(s.joined_on AS date) AS timestamp) AT TIME ZONE :tz, :actor
          FROM s_resident_units s
          CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(CAST(s.lon AS float8), CAST(s.lat AS float8)), 4326)
                                     AS geom) x
          LEFT JOIN party_org o ON o.code = s.member_of_org_code AND {live('o')}
         ORDER BY s.n""",
    "volunteer_teams.csv": f"""
        INSERT INTO volunteer_team (code, name, kind, grid_id, org_id, leader_person_id, valid_from, updated_by)
        SELECT s.code, s.name, s.kind, g.id, o.id, p.id,
               CAST(CAST(s.founded_on AS date) AS timestamp) AT TIME ZONE :tz, :actor
          FROM s_volunteer_teams s JOIN grid g ON g.code = s.grid_code AND {live('g')}
          LEFT JOIN party_org o ON o.code = s.org_code AND {live('o')}
          LEFT JOIN person p ON p.code = s.leader_person_code AND {live('p')}
         ORDER BY s.n""",
    "volunteer_team_members.csv": f"""
        INSERT INTO volunteer_team_member (team_id, person_id, since)
        SELECT t.id, p.id, CAST(s.since AS date)
          FROM s_volunteer_team_members s JOIN volunteer_team t ON t.code = s.team_code AND {live('t')}
          JOIN person p ON p.code = s.person_code AND {live('p')}
         ORDER BY s.n""",
    "volunteer_activities.csv": f"""
        INSERT INTO volunteer_activity (team_id, day, hours, title, participants, created_by)
        SELECT t.id, CAST(s.day AS date), CAST(s.hours AS numeric), s.title, CAST(s.participants AS int), :actor
          FROM s_volunteer_activities s JOIN volunteer_team t ON t.code = s.team_code AND {live('t')}
         ORDER BY s.n""",
    "party_meetings.csv": f"""
        INSERT INTO party_meeting (org_id, kind, held_on, topic, attendees, expected, created_by, created_at)
        SELECT o.id, s.kind, CAST(s.held_on AS date), s.topic, CAST(s.attendees AS int), CAST(s.expected AS int),
               :actor, CAST(CAST(s.held_on AS date) + time '18:00' AS timestamp) AT TIME ZONE :tz
          FROM s_party_meetings s JOIN party_org o ON o.code = s.org_code AND {live('o')}
         ORDER BY s.n""",
}
AREAS_MOVE = f"""
    INSERT INTO party_duty_area (code, name, duty, geom, org_id, person_ids, valid_from, updated_by)
    SELECT s.code, s.name, s.duty, ST_Multi(ST_GeomFromWKB(s.wkb, 4326)), o.id,
           ARRAY(SELECT p.id FROM unnest(string_to_array(s.person_codes, ';')) WITH ORDINALITY x(code, k)
                   JOIN person p ON p.code = x.code AND {live('p')} ORDER BY x.k),
           CAST(CAST(s.valid_from AS date) AS timestamp) AT TIME ZONE :tz, :actor
      FROM s_party_duty_areas s LEFT JOIN party_org o ON o.code = s.org_code AND {live('o')}
     ORDER BY s.n"""
# Organisations are in force from the day they were founded (the importer writes them as of now).
ORGS_BACKDATE = f"""UPDATE party_org SET valid_from = CAST(founded_on AS timestamp) AT TIME ZONE :tz
                     WHERE {live('party_org')} AND founded_on IS NOT NULL AND code = ANY(:codes)"""


def _refused(name: str, reasons: list[str]) -> InvalidInput:
    shown = "\n".join(reasons[:MAX_LISTED]) + (f"\n……共 {len(reasons)} 处" if len(reasons) > MAX_LISTED else "")
    return InvalidInput(f"样例文件 {name} 未通过导入检查：\n{shown}", details=reasons)


def _stage_csv(session: Session, path: Path) -> str:
    """COPY one CSV file (its columns: gridgov.sample.formats) into a text staging table ``s_<stem>`` with the
    file's row number ``n`` (2 = the first data row); returns the table's name."""
    columns = CSV_COLUMNS[path.name]
    with path.open(encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
    missing = [c for c in columns if c not in header]
    if missing:
        raise InvalidInput(f"{path.name} 缺少列：{', '.join(missing)}")
    table = f"s_{path.stem}"
    session.execute(text(f"CREATE TEMP TABLE {table} (n serial, {', '.join(f'{c} text' for c in header)}) "
                         "ON COMMIT DROP"))  # fmt: skip
    session.execute(text(f"ALTER SEQUENCE {table}_n_seq RESTART WITH 2"))
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
        f"COPY {table} ({', '.join(header)}) FROM STDIN (FORMAT csv, HEADER true)"
    ) as cp, path.open("rb") as f:
        while chunk := f.read(1 << 20):
            cp.write(chunk)
    return table


def _unknown(session: Session, name: str, table: str) -> list[str]:
    """Row-numbered reasons for every reference of the staged file that names nothing."""
    checks = [f"SELECT s.n, '{column}：{what}不存在：' || s.{column} FROM {table} s WHERE s.{column} IS NOT NULL "
              f"AND NOT EXISTS (SELECT 1 FROM {named} x WHERE x.code = s.{column} AND {live('x')})"
              for column, what, named in REFERENCES[name]]
    rows = session.execute(text(" UNION ALL ".join(checks) + " ORDER BY 1")).all()
    return [f"第 {n} 行 {reason}" for n, reason in rows]


def _too_many(session: Session, table: str, rules: PartyRules = RULES) -> list[str]:
    """Members the file links to more households than the rule allows (gridgov.party.contacts refuses them)."""
    rows = session.execute(text(f"SELECT person_code, count(*) FROM {table} GROUP BY person_code "
                                "HAVING count(*) > :max ORDER BY 1"), {"max": rules.contacts_max}).all()  # fmt: skip
    return [f"党员 {p} 联系 {n} 户：{rule_text(rules)}" for p, n in rows]


def _imported(session: Session, path: Path, actor: Actor, timezone: str,
              run: Callable[..., object]) -> None:  # fmt: skip
    report = run(session, actor, path, timezone=timezone)
    if report.refused or not report.written:  # type: ignore[attr-defined]
        raise _refused(path.name, [f"第 {e.row} 行 {e.column}：{e.reason}"
                                   for e in report.errors])  # type: ignore[attr-defined]  # fmt: skip


def load_party(session: Session, directory: Path, actor: Actor, timezone: str) -> dict[str, int]:
    """Load the sample's Party files from ``directory`` (those present), after its grids, persons, households and
    staff; returns the rows of each Party table."""
    params = {"actor": actor.audit_name, "tz": timezone}
    for name, run in zip(IMPORTED, (import_orgs, import_members), strict=True):
        if (directory / name).exists():
            _imported(session, directory / name, actor, timezone, run)
    if (directory / "party_orgs.csv").exists():
        with (directory / "party_orgs.csv").open(encoding="utf-8") as f:
            codes = [line.split(",", 1)[0] for line in f.read().splitlines()[1:] if line]
        session.execute(text(ORGS_BACKDATE), {"tz": timezone, "codes": codes})
    for name in STAGED:
        if not (directory / name).exists():
            continue
        table = _stage_csv(session, directory / name)
        errors = _unknown(session, name, table) + (_too_many(session, table) if name == "party_contacts.csv" else [])
        if errors:
            raise _refused(name, errors)
        session.execute(text(WRITES[name]), params)
        session.execute(text(f"DROP TABLE {table}"))
    if (directory / DUTY_AREAS).exists():
        _load_duty_areas(session, directory / DUTY_AREAS, params)
    return {t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


def _load_duty_areas(session: Session, path: Path, params: dict[str, str]) -> None:
    """党员责任区 from the GeoPackage: COPYed with their geometry as WKB, written in one INSERT."""
    df = pyogrio.read_dataframe(path, layer="duty_areas")
    if df.crs is not None and df.crs.to_epsg() != 4326:
        df = df.to_crs(4326)
    wkb = shapely.to_wkb(df.geometry.values, output_dimension=2)
    session.execute(text("CREATE TEMP TABLE s_party_duty_areas (n int, code text, name text, duty text, "
                         "org_code text, person_codes text, valid_from text, wkb bytea) ON COMMIT DROP"))  # fmt: skip
    raw = session.connection().connection.driver_connection
    cols = ("code", "name", "duty", "org_code", "person_codes", "valid_from")
    with raw.cursor() as cur, cur.copy("COPY s_party_duty_areas FROM STDIN") as cp:  # type: ignore[union-attr]
        for n, (rec, w) in enumerate(zip(df[list(cols)].itertuples(index=False), wkb, strict=True), start=1):
            cp.write_row([n, *[v or None for v in rec], w])
    unknown = session.execute(text(
        f"""SELECT s.n, s.org_code FROM s_party_duty_areas s WHERE s.org_code IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM party_org o WHERE o.code = s.org_code AND {live('o')})
            UNION ALL
            SELECT s.n, c FROM s_party_duty_areas s, unnest(string_to_array(s.person_codes, ';')) c
             WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.code = c AND {live('p')})
             ORDER BY 1""")).all()  # fmt: skip
    if unknown:
        raise _refused(path.name, [f"第 {n} 个责任区：党组织或党员不存在：{c}" for n, c in unknown])
    session.execute(text(AREAS_MOVE), params)
    session.execute(text("DROP TABLE s_party_duty_areas"))
