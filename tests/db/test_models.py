"""Schema: constraints, triggers, audit log, migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgov.db.engine import session_scope
from gridgov.db.migrate import alembic_config, current, head

from tests.factories import make_street


def _insert_grid(conn, code: str, level: str, parent: int | None, wkt: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO grid (code, name, level, parent_id, geom) VALUES (:c, 'x', :l, :p, ST_GeomFromText(:w, 4326))"
        ),
        {"c": code, "l": level, "p": parent, "w": wkt},
    )


SQUARE = "MULTIPOLYGON(((108.95 34.24,108.96 34.24,108.96 34.25,108.95 34.25,108.95 34.24)))"
BOWTIE = "MULTIPOLYGON(((108.95 34.24,108.96 34.25,108.96 34.24,108.95 34.25,108.95 34.24)))"


# Derived shapes read by their key (a track, a night), never searched by location: no spatial index to keep up.
KEYED_ONLY = ("track_footprint", "night_footprint")


def test_every_geometry_column_has_a_gist_index(engine: Engine) -> None:
    with engine.connect() as conn:
        missing = (
            conn.execute(
                text("""
            SELECT f_table_name || '.' || f_geometry_column FROM geometry_columns c
             WHERE f_table_schema = 'public' AND f_table_name <> ALL (:keyed) AND NOT EXISTS (
               SELECT 1 FROM pg_indexes i WHERE i.tablename = c.f_table_name AND i.indexdef ILIKE '%USING gist%'
                AND i.indexdef ILIKE '%(' || c.f_geometry_column || ')%')"""),
                {"keyed": list(KEYED_ONLY)},
            )
            .scalars()
            .all()
        )
        n = conn.execute(
            text("SELECT count(*) FROM geometry_columns WHERE f_table_schema='public' AND f_table_name <> ALL (:k)"),
            {"k": list(KEYED_ONLY)},
        ).scalar()
    assert missing == []
    assert n == 12  # grid, building, household, incident, patrol_area geom + route, patrol_track, patrol_point,
    # grid_finding location + geom, resident_unit, party_duty_area


@pytest.mark.parametrize(
    ("code", "level", "wkt", "constraint"),
    [
        ("s1", "street", BOWTIE, "grid_geom_valid"),
        ("s2", "district", SQUARE, "grid_level_known"),
        ("c1", "community", SQUARE, "grid_parent_iff_not_street"),
    ],
)
def test_grid_checks(clean_engine: Engine, code: str, level: str, wkt: str, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint), clean_engine.begin() as conn:
        _insert_grid(conn, code, level, None, wkt)


def test_srid_enforced(clean_engine: Engine) -> None:
    with pytest.raises(Exception, match="SRID"), clean_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO grid (code, name, level, geom) VALUES ('s', 'x', 'street', ST_GeomFromText(:w, 4490))"),
            {"w": SQUARE},
        )


def test_parent_must_be_the_level_above(clean_engine: Engine) -> None:
    with clean_engine.begin() as conn:
        _insert_grid(conn, "610103006", "street", None, SQUARE)
    street_id = 1
    with pytest.raises(IntegrityError, match="level_mismatch"), clean_engine.begin() as conn:
        _insert_grid(conn, "610103006001001", "compound", street_id, SQUARE)
    with clean_engine.begin() as conn:  # the right level is accepted
        _insert_grid(conn, "610103006001", "community", street_id, SQUARE)


def test_code_unique_among_live_rows_only(clean_engine: Engine) -> None:
    with clean_engine.begin() as conn:
        _insert_grid(conn, "610103006", "street", None, SQUARE)
    with pytest.raises(IntegrityError, match="grid_code_live_uq"), clean_engine.begin() as conn:
        _insert_grid(conn, "610103006", "street", None, SQUARE)
    with clean_engine.begin() as conn:  # a retired row frees the code
        conn.execute(text("UPDATE grid SET valid_to = now()"))
        _insert_grid(conn, "610103006", "street", None, SQUARE)
        assert conn.execute(text("SELECT count(*) FROM grid WHERE code = '610103006'")).scalar() == 2


def test_person_member_type_only_for_members(clean_engine: Engine) -> None:
    with pytest.raises(IntegrityError, match="person_member_type_iff_member"), clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO person (code, name, is_party_member, member_type) "
                          "VALUES ('P1', '张三', false, '在职')"))
    with pytest.raises(IntegrityError, match="person_member_type_iff_member"), clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO person (code, name, is_party_member) VALUES ('P1', '张三', true)"))


def test_every_write_is_audited_with_actor_and_values(clean_engine: Engine) -> None:
    with session_scope(clean_engine, actor="王科长") as s:
        make_street(s)
        s.execute(text("UPDATE grid SET name = '文艺路街道办事处' WHERE code = '610103006'"))
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '李网格', '13900000000')"))
        s.execute(text("DELETE FROM staff"))
    with clean_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor, action, table_name, old->>'name', new->>'name' FROM audit_log ORDER BY id")
        ).all()
    assert [r.action for r in rows].count("insert") == 7  # 6 grids + 1 staff
    upd = [r for r in rows if r.action == "update"]
    assert len(upd) == 1 and upd[0][3] == "文艺路街道" and upd[0][4] == "文艺路街道办事处"
    assert [(r.table_name, r[3]) for r in rows if r.action == "delete"] == [("staff", "李网格")]
    assert {r.actor for r in rows} == {"王科长"}


def test_bulk_writes_log_one_summary_row(clean_engine: Engine) -> None:
    with session_scope(clean_engine, actor="loader") as s:
        s.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
        s.execute(text("INSERT INTO staff (code, name) SELECT 'S' || g, '员工' || g FROM generate_series(1, 500) g"))
    with Session(clean_engine) as s:
        rows = s.execute(text("SELECT action, table_name, new FROM audit_log")).all()
    assert rows == [("bulk_insert", "staff", {"rows": 500})]


def test_migrations_downgrade_and_upgrade(db_url: str, server_url: str) -> None:
    from alembic import command

    from gridgov.db.engine import make_engine, sqlalchemy_url
    from gridgov.db.migrate import upgrade

    from tests.conftest import _create_db, _drop_db

    url = _create_db(server_url, "gridgov_migr")
    eng = make_engine(url)
    try:
        assert upgrade(eng) == head()
        command.downgrade(alembic_config(sqlalchemy_url(url)), "base")
        assert current(eng) == ""
        with eng.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('public.grid')")).scalar() is None
        assert upgrade(eng) == head()
    finally:
        eng.dispose()
        _drop_db(server_url, url)


@pytest.mark.parametrize("table", ["household", "person", "building", "incident", "staff"])
def test_every_record_has_a_code(clean_engine: Engine, table: str) -> None:
    with pytest.raises(IntegrityError, match="code"), clean_engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} (code) VALUES (NULL)"))
