"""The sample street loaded into PostGIS: minimum contents, assignment rule, roll-ups, staff everywhere."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.errors import Conflict, InvalidInput
from gridgov.ledger.counts import grid_counts
from gridgov.sample.changes import (
    DIED,
    HANDED_OVER,
    KIND_CHANGED,
    MOVED_IN,
    MOVED_OUT,
    SURVEYED_DAYS_AGO,
    VOLUNTEERED,
)
from gridgov.sample.load import load_sample


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@pytest.mark.parametrize(
    ("sql", "minimum"),
    [
        ("SELECT count(*) FROM grid WHERE level = 'street'", 1),
        ("SELECT count(*) FROM grid WHERE level = 'community'", 6),
        ("SELECT count(*) FROM grid WHERE level = 'compound'", 60),
        ("SELECT count(*) FROM building", 600),
        ("SELECT count(*) FROM household", 20_000),
        ("SELECT count(*) FROM person", 50_000),
        ("SELECT count(*) FROM person WHERE is_party_member", 1_500),
        ("SELECT count(*) FROM incident", 2_000),
        ("SELECT count(DISTINCT night) FROM patrol_track WHERE shift = '上半夜'", 30),
        ("SELECT count(DISTINCT night) FROM patrol_track WHERE shift = '下半夜'", 30),
        ("SELECT count(*) FROM patrol_point", 10_000),
    ],
)
def test_minimum_contents(sample_engine: Engine, sql: str, minimum: int) -> None:
    assert scalar(sample_engine, sql) >= minimum


def test_member_types_volunteers_and_incident_span(sample_engine: Engine) -> None:
    with sample_engine.connect() as conn:
        types = set(conn.execute(text("SELECT DISTINCT member_type FROM person WHERE is_party_member")).scalars())
        vol, members = conn.execute(
            text("SELECT count(*) FILTER (WHERE is_volunteer), count(*) FROM person WHERE is_party_member")
        ).one()
        days = conn.execute(text("SELECT max(reported_at)::date - min(reported_at)::date FROM incident")).scalar()
    assert types == {"在职", "离退休", "流动", "下岗失业", "普通居民"}
    assert vol >= members / 2
    assert days >= 85


def test_staff_on_every_grid(sample_engine: Engine) -> None:
    missing = scalar(
        sample_engine,
        "SELECT count(*) FROM grid g WHERE g.valid_to IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM grid_role r WHERE r.grid_id = g.id)",
    )
    assert missing == 0


def test_boundary_and_outside_households(sample_engine: Engine, sample_dir: Path) -> None:
    meta = json.loads((sample_dir / "sample_meta.json").read_text(encoding="utf-8"))
    boundary = meta["boundary_household_details"]
    assert len(boundary) >= 6 and all(len(b["compounds"]) >= 2 for b in boundary)
    with sample_engine.connect() as conn:
        got = dict(
            conn.execute(
                text(
                    "SELECT h.code, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id WHERE h.code = ANY(:c)"
                ),
                {"c": [b["code"] for b in boundary] + meta["outside_households"]},
            ).all()
        )
        unassigned = set(conn.execute(text("SELECT code FROM household WHERE grid_id IS NULL")).scalars())
    # the documented rule: among the grids whose boundary holds the point, the smallest code
    assert {b["code"]: got[b["code"]] for b in boundary} == {b["code"]: b["compounds"][0] for b in boundary}
    assert unassigned == set(meta["outside_households"])


def test_parents_equal_sum_of_children_and_nothing_counted_twice(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        counts = grid_counts(s)
        grids = s.execute(text("SELECT id, parent_id, level FROM grid WHERE valid_to IS NULL")).all()
        assigned = s.execute(text("SELECT count(*) FROM household WHERE grid_id IS NOT NULL AND valid_to IS NULL")
                             ).scalar_one()  # fmt: skip
        persons = s.execute(text("SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id "
                                 "WHERE h.grid_id IS NOT NULL AND p.valid_to IS NULL AND h.valid_to IS NULL")
                            ).scalar_one()  # fmt: skip
    children: dict[int, list[int]] = {}
    for gid, parent, _ in grids:
        if parent is not None:
            children.setdefault(parent, []).append(gid)
    for parent, kids in children.items():
        for col in ("households", "persons", "party_members", "buildings", "hh_rented"):
            assert counts[parent][col] == sum(counts[k][col] for k in kids), (parent, col)
    street = next(gid for gid, _, level in grids if level == "street")
    assert counts[street]["households"] == assigned and counts[street]["persons"] == persons


def test_loading_twice_is_refused_and_writes_nothing(sample_engine: Engine, sample_dir: Path) -> None:
    before = scalar(sample_engine, "SELECT count(*) FROM household")
    with pytest.raises(Conflict, match="已导入"), sample_engine.begin() as conn:
        load_sample(conn, sample_dir)
    assert scalar(sample_engine, "SELECT count(*) FROM household") == before


CHANGES = sum(map(len, (MOVED_OUT, MOVED_IN, KIND_CHANGED, DIED, VOLUNTEERED, HANDED_OVER)))


def test_bulk_load_is_audited_per_statement(sample_engine: Engine) -> None:
    with sample_engine.connect() as conn:
        rows = dict(
            conn.execute(
                text("SELECT table_name, (new->>'rows')::int FROM audit_log WHERE action = 'bulk_insert'")
            ).all()
        )
        bulk, single = conn.execute(text(  # the loader's rows (other tests may have written since)
            "SELECT count(*) FILTER (WHERE action LIKE 'bulk%'), count(*) FILTER (WHERE action NOT LIKE 'bulk%') "
            "FROM audit_log WHERE actor IN ('sample', 'system:sample')")).one()  # fmt: skip
    assert rows["household"] >= 20_000 and rows["person"] >= 50_000
    assert bulk < 100  # the load: one summary row per statement, not one per record
    assert single < 20 * CHANGES  # the months of changes after it, record by record (a few rows each)


def test_the_loader_writes_every_entity_already_assigned(clean_engine: Engine, sample_dir: Path) -> None:
    with clean_engine.begin() as conn:
        load_sample(conn, sample_dir)
    meta = json.loads((sample_dir / "sample_meta.json").read_text(encoding="utf-8"))
    outside = len(meta["outside_households"])
    assert scalar(clean_engine, "SELECT count(*) FROM household WHERE grid_id IS NULL") == outside
    assert scalar(clean_engine, "SELECT count(*) FROM incident WHERE grid_id IS NOT NULL") >= 2_000
    assert scalar(clean_engine, "SELECT count(*) FROM building WHERE grid_id IS NULL") == 0
    with Session(clean_engine) as s, s.begin():
        from gridgov.assign.points import assign_all

        moved = {c.table: c.changed for c in assign_all(s)}
    # the loader applied the same rule
    assert moved == {"building": 0, "household": 0, "incident": 0, "resident_unit": 0}


def test_the_loader_goes_through_the_importers_checks(clean_engine: Engine, sample_dir: Path, tmp_path: Path) -> None:
    for name in ("grids.gpkg", "buildings.gpkg"):
        (tmp_path / name).symlink_to(sample_dir / name)
    lines = (sample_dir / "households.csv").read_text(encoding="utf-8").splitlines()[:50]
    bad = lines[1].split(",")
    bad[0], bad[3] = bad[0] + "X", "外星户"  # a new code, and a household kind the importer does not know
    (tmp_path / "households.csv").write_text("\n".join([*lines, ",".join(bad)]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="households.csv") as refused, clean_engine.begin() as conn:
        load_sample(conn, tmp_path)
    assert "第 51 行 kind" in refused.value.message
    assert scalar(clean_engine, "SELECT count(*) FROM grid") == 0  # one transaction: nothing written


def test_the_sample_street_has_months_of_history(sample_engine: Engine) -> None:
    from gridgov.ledger.report import build_ledger

    with Session(sample_engine) as s:
        now = {r.code: r for r in build_ledger(s, with_patrol=False).rows if r.level == "street"}
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=SURVEYED_DAYS_AGO - 1)
        then = {r.code: r for r in build_ledger(s, as_of=before, with_patrol=False).rows if r.level == "street"}
        retired = s.execute(text("SELECT end_reason, count(*) FROM household WHERE lineage_id IS NULL "
                                 "AND valid_to IS NOT NULL GROUP BY 1")).all()  # fmt: skip
        handed = s.execute(text("SELECT count(*) FROM grid_role WHERE end_reason = '交接'")).scalar_one()
    street = next(iter(now))
    moved = len(MOVED_OUT) - len(MOVED_IN)
    assert then[street].households - now[street].households == moved
    assert dict(retired) == {"搬离": len(MOVED_OUT)} and handed == len(HANDED_OVER)


def test_the_patrols_follow_a_roster_with_some_shifts_missed_late_or_short(sample_engine: Engine) -> None:
    """Every track is a rostered shift of its team; some rostered shifts have no track, some tracks start well
    after the shift began or stop well before it ends (the demo's attendance has something to show)."""
    with sample_engine.connect() as conn:
        unrostered = conn.execute(text(
            """SELECT count(*) FROM patrol_track k WHERE NOT EXISTS (SELECT 1 FROM patrol_roster r
                WHERE r.team_id = k.team_id AND r.night = k.night AND r.shift = k.shift)""")).scalar_one()
        absent, late, early, teams = conn.execute(text(
            """WITH w AS (
                 SELECT r.night, r.shift, k.started_at, k.ended_at,
                        (r.night + CASE r.shift WHEN '上半夜' THEN time '20:00' ELSE time '23:30' END)
                            AT TIME ZONE 'Asia/Shanghai' AS a,
                        (r.night + CASE r.shift WHEN '上半夜' THEN time '23:30' ELSE time '06:00' END
                            + CASE r.shift WHEN '下半夜' THEN interval '1 day' ELSE interval '0' END)
                            AT TIME ZONE 'Asia/Shanghai' AS b
                   FROM patrol_roster r
                   LEFT JOIN patrol_track k ON k.team_id = r.team_id AND k.night = r.night AND k.shift = r.shift)
               SELECT count(*) FILTER (WHERE started_at IS NULL),
                      count(*) FILTER (WHERE started_at > a + interval '15 minutes'),
                      count(*) FILTER (WHERE ended_at < b - interval '15 minutes'),
                      (SELECT count(*) FROM patrol_team WHERE kind IS NOT NULL AND unit IS NOT NULL
                                                          AND grid_id IS NOT NULL)
                 FROM w""")).one()  # fmt: skip
    assert unrostered == 0
    assert absent >= 3 and late >= 5 and early >= 5, (absent, late, early)
    assert teams == 4  # each sample team has its kind, unit and community
