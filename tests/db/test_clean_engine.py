"""The clean-up between tests empties every table the models declare (findings used to leak)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.db.models import Base

from tests.conftest import DOMAIN_TABLES, REFERENCE_TABLES, empty_domain_tables
from tests.factories import make_street

P = "ST_SetSRID(ST_MakePoint(108.952, 34.245), 4326)"
LINE = "ST_GeomFromText('LINESTRING(108.951 34.241,108.953 34.243)', 4326)"
AREA = "ST_Multi(ST_MakeEnvelope(108.95, 34.24, 108.96, 34.25, 4326))"
# One row per table (besides grid, from the factory, and audit_log, from the triggers).
ROWS = {
    "staff": "INSERT INTO staff (code, name) VALUES ('s1', '张三')",
    "grid_role": (
        "INSERT INTO grid_role (grid_id, staff_id, role) SELECT min(g.id), min(s.id), '网格员' FROM grid g, staff s"
    ),
    "building": f"INSERT INTO building (code, geom) VALUES ('b1', {P})",
    "household": (
        f"INSERT INTO household (code, kind, geom, building_id) SELECT 'h1', '常住户', {P}, min(id) FROM building"
    ),
    "person": "INSERT INTO person (code, name, household_id) SELECT 'p1', '李四', min(id) FROM household",
    "party_contact": (
        "INSERT INTO party_contact (person_id, household_id) SELECT min(p.id), min(h.id) FROM person p, household h"
    ),
    "incident": f"INSERT INTO incident (code, category, geom, reported_at) VALUES ('i1', '市容', {P}, now())",
    "patrol_team": "INSERT INTO patrol_team (code, name) VALUES ('t1', '一队')",
    "patrol_area": (
        f"INSERT INTO patrol_area (code, team_id, geom, route) SELECT 'a1', min(id), {AREA}, {LINE} FROM patrol_team"
    ),
    "patrol_track": (
        "INSERT INTO patrol_track (team_id, night, shift, started_at, ended_at, geom)"
        f" SELECT min(id), current_date, '上半夜', now(), now(), ST_Multi({LINE}) FROM patrol_team"
    ),
    "patrol_point": (
        f"INSERT INTO patrol_point (track_id, seq, t, geom) SELECT min(id), 1, now(), {P} FROM patrol_track"
    ),
    "grid_finding": (
        "INSERT INTO grid_finding (rule, codes, message, location, source)"
        f" VALUES ('gap', ARRAY['610103006001'], 'a gap', {P}, 'test')"
    ),
    "api_token": "INSERT INTO api_token (name, token_hash, role) VALUES ('t', repeat('0', 64), 'viewer')",
    "track_grid_stat": (
        "INSERT INTO track_grid_stat (track_id, grid_id, length_m, seconds_inside, entries)"
        " SELECT min(k.id), min(g.id), 1, 1, 1 FROM patrol_track k, grid g"
    ),
    "track_derived": "INSERT INTO track_derived (track_id, grid_rev) SELECT min(id), 1 FROM patrol_track",
    "track_footprint": (
        f"INSERT INTO track_footprint (track_id, buffer_m, srid, geom) SELECT min(id), 25, 4545, {AREA}"
        " FROM patrol_track"
    ),
    "night_footprint": (
        "INSERT INTO night_footprint (night, buffer_m, srid, track_ids, geom)"
        f" VALUES (current_date, 25, 4545, '{{1}}', {AREA})"
    ),
    "derived_cache": "INSERT INTO derived_cache (kind, key, revision, payload) VALUES ('k', 'k', '1:1', '[]')",
    "app_user": "INSERT INTO app_user (username, password_hash, role) VALUES ('u1', 'x', 'viewer')",
    "user_session": (
        "INSERT INTO user_session (token_hash, user_id, expires_at)"
        " SELECT repeat('0', 64), min(id), now() FROM app_user"
    ),
    "job": "INSERT INTO job (kind, title, actor) VALUES ('ledger', '台帐', 'test')",
    "vocab_term": "INSERT INTO vocab_term (vocabulary, term, position) VALUES ('staff_roles', '测试岗位', 99)",
}
# Raised by the writes above and again by the TRUNCATE itself (a change like any other): not emptied.
COUNTERS = {"data_revision"}


def _counts(engine: Engine) -> dict[str, int]:
    """Row count of every table in the model metadata."""
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in DOMAIN_TABLES}


def test_domain_tables_are_every_model_table() -> None:
    assert set(DOMAIN_TABLES) == set(Base.metadata.tables) - {"alembic_version", *REFERENCE_TABLES}
    assert "grid_finding" in DOMAIN_TABLES


def test_a_row_in_every_table_is_gone_after_the_clean_up(clean_engine: Engine) -> None:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    with clean_engine.begin() as conn:
        for sql in ROWS.values():
            conn.execute(text(sql))
    before = _counts(clean_engine)
    filled = {t for t, n in before.items() if n > 0}
    assert filled >= {*ROWS, "grid", "audit_log"} - set(REFERENCE_TABLES), f"not filled: {set(ROWS) - filled}"
    empty_domain_tables(clean_engine)
    after = _counts(clean_engine)
    assert {t: n for t, n in after.items() if t not in COUNTERS} == dict.fromkeys(set(DOMAIN_TABLES) - COUNTERS, 0)
    with clean_engine.connect() as conn:  # a street's own terms go, the built-in ones stay
        terms = conn.execute(text("SELECT count(*) FILTER (WHERE builtin), count(*) FROM vocab_term")).one()
        assert terms[0] > 0 and terms[0] == terms[1]
    with clean_engine.connect() as conn:  # RESTART IDENTITY: ids start again at 1
        conn.execute(text("INSERT INTO staff (code, name) VALUES ('S1', 'x')"))
        assert conn.execute(text("SELECT max(id) FROM staff")).scalar_one() == 1
        conn.rollback()
