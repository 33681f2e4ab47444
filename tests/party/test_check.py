"""The compliance check on hand-made organisations and members: each rule passing and failing at its threshold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.party.check import Finding, Report, check
from gridgov.party.rules import PartyRules

from tests.factories import X0, Y0, D, make_street

DAY = dt.date(2026, 11, 30)
ADMIN = Actor.system("tests")
# Compounds: A = …001001 (west half of community …001), B = …001002 (east half), C = …002001 (community …002).
CENTRES = {"A": (X0 + D / 4, Y0 + D / 2), "B": (X0 + 3 * D / 4, Y0 + D / 2), "C": (X0 + 1.5 * D, Y0 + D / 2)}


def _members(s: Session, compound: str, n: int, *, prefix: str, volunteers: int = 0, born: int = 1980,
             member_type: str = "离退休") -> list[int]:
    """``n`` Party members in households of their own in compound A/B/C; returns their person ids."""
    x, y = CENTRES[compound]
    ids = list(s.scalars(text("""
        WITH h AS (
            INSERT INTO household (code, kind, geom)
            SELECT :p || '-H' || i, '常住户', ST_SetSRID(ST_MakePoint(:x + i * 1e-6, :y), 4326)
              FROM generate_series(1, :n) AS i RETURNING id, code)
        INSERT INTO person (code, household_id, name, birth_year, is_party_member, member_type, is_volunteer)
        SELECT replace(h.code, '-H', '-P'), h.id, '党员' || h.code, :born, true, :mt,
               CAST(substr(h.code, length(:p) + 3) AS int) <= :v
          FROM h RETURNING id"""), {"p": prefix, "x": x, "y": y, "n": n, "born": born, "mt": member_type,
                                     "v": volunteers}))  # fmt: skip
    return ids


def _org(s: Session, code: str, kind: str, form: str, grids: list[str], members: list[int],
         parent: str | None = None, founded: dt.date = dt.date(2020, 1, 1)) -> None:  # fmt: skip
    s.execute(text("""INSERT INTO party_org (code, name, kind, form, grid_ids, parent_id, founded_on)
                      SELECT CAST(:c AS text), CAST(:c AS text) || '党组织', :k, :f,
                             ARRAY(SELECT id FROM grid WHERE code = ANY(:g) AND valid_to IS NULL),
                             (SELECT id FROM party_org WHERE code = :parent), :founded"""),
              {"c": code, "k": kind, "f": form, "g": grids, "parent": parent, "founded": founded})  # fmt: skip
    s.execute(text("""INSERT INTO party_membership (person_id, org_id, since)
                      SELECT p, (SELECT id FROM party_org WHERE code = :c), DATE '2021-01-01'
                        FROM unnest(CAST(:ids AS bigint[])) AS p"""), {"c": code, "ids": members})


def _check(s: Session, parent: str, day: dt.date = DAY, actor: Actor = ADMIN) -> Report:
    """The check as of ``day``, with every record made here dated back to 2020 (they are recorded "now", which may
    be later than ``day``)."""
    for table in ("grid", "party_org", "person", "household", "volunteer_team", "party_duty_area"):
        s.execute(text(f"UPDATE {table} SET valid_from = DATE '2020-01-01' WHERE valid_from > DATE '2020-01-01'"))
    return check(s, actor, PartyRules(), parent=parent, day=day)


def _failing(report: Report, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def _summary(report: Report, rule: str) -> tuple[int, int]:
    found = next(x for x in report.summaries if x.rule == rule)
    return found.checked, found.failed


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    with Session(clean_engine) as s, s.begin():
        make_street(s)
    yield clean_engine


@pytest.mark.parametrize(("members", "kind", "fails"), [
    (49, "党支部", False), (50, "党支部", True), (50, "党总支", False), (100, "党总支", False),
    (101, "党总支", True), (101, "党委", False), (100, "党委", True),
])  # fmt: skip
def test_the_organisation_matches_its_membership(street: Engine, members: int, kind: str, fails: bool) -> None:
    with Session(street) as s, s.begin():
        _org(s, "O1", kind, "社区党组织", ["610103006001"], _members(s, "A", members, prefix="M"))
        report = _check(s, "610103006001")
    found = _failing(report, "org_form")
    assert bool(found) is fails
    if fails:
        assert found[0].org == "O1" and found[0].value == f"{members} 名党员，设{kind}"


@pytest.mark.parametrize(("members", "fails"), [(2, True), (3, False)])
def test_a_branch_needs_three_members(street: Engine, members: int, fails: bool) -> None:
    with Session(street) as s, s.begin():
        _org(s, "B1", "党支部", "楼院党支部", ["610103006001001"], _members(s, "A", members, prefix="M"))
        report = _check(s, "610103006001")
    assert [(f.org, f.value, f.threshold) for f in _failing(report, "branch_min")] == \
        ([("B1", members, 3)] if fails else [])
    assert _failing(report, "org_form") == []


def test_branches_on_grids_and_members_in_organisations(street: Engine) -> None:
    with Session(street) as s, s.begin():
        a = _members(s, "A", 4, prefix="A", volunteers=2)
        b = _members(s, "B", 3, prefix="B", volunteers=1)
        _org(s, "CP", "党委", "社区党组织", ["610103006001"], [])
        _org(s, "BA", "党支部", "楼院党支部", ["610103006001001"], a, parent="CP")
        _org(s, "BB", "党小组", "楼栋党小组", [], b[:2], parent="CP")  # built on no grid
        report = _check(s, "610103006001")
    assert [f.grid_code for f in _failing(report, "grid_branch")] == ["610103006001002"]
    assert _summary(report, "grid_branch") == (2, 1)
    loose = _failing(report, "members_without_org")
    assert [(f.grid_code, f.value, f.records) for f in loose] == [("610103006001002", 1, ["B-P3"])]
    # volunteers: BA 2 of 4 (50%: passes); CP counts its subtree: 3 of 6 (50%) passes
    assert _failing(report, "volunteer_share") == []
    # CP: 6 members in its subtree, a 党委 for 6 is wrong (should be 党支部)
    assert [(f.org, f.detail) for f in _failing(report, "org_form")] == \
        [("CP", "CP党组织有 6 名党员，按规定应设党支部")]


@pytest.mark.parametrize(("volunteers", "fails"), [(1, True), (2, False)])
def test_half_of_the_members_volunteer(street: Engine, volunteers: int, fails: bool) -> None:
    with Session(street) as s, s.begin():
        _org(s, "B1", "党支部", "楼院党支部", ["610103006001001"], _members(s, "A", 4, prefix="A",
                                                                          volunteers=volunteers))
        report = _check(s, "610103006001001")
    assert [(f.org, f.value) for f in _failing(report, "volunteer_share")] == ([("B1", "25%")] if fails else [])


def test_each_member_links_one_to_three_households(street: Engine) -> None:
    with Session(street) as s, s.begin():
        members = _members(s, "A", 3, prefix="A")
        homes = list(s.scalars(text("SELECT id FROM household ORDER BY id")))
        others = _members(s, "A", 4, prefix="X")  # four more households to link (their people are members too)
        homes += list(s.scalars(text("SELECT household_id FROM person WHERE id = ANY(:i)"), {"i": others}))
        links = {members[0]: [], members[1]: homes[:3], members[2]: homes[:4]}
        s.execute(text("INSERT INTO party_contact (person_id, household_id, since) "
                       "SELECT p, h, DATE '2026-01-01' FROM unnest(CAST(:p AS bigint[]), CAST(:h AS bigint[])) "
                       "AS u(p, h)"), {"p": [p for p, hs in links.items() for _ in hs],
                                        "h": [h for hs in links.values() for h in hs]})  # fmt: skip
        report = _check(s, "610103006001001")
    bad = {f.records[0]: f.value for f in _failing(report, "contacts")}
    assert bad == {"A-P1": 0, "A-P3": 4, "X-P1": 0, "X-P2": 0, "X-P3": 0, "X-P4": 0}
    unlinked = _failing(report, "unlinked_households")
    assert [(f.grid_code, f.value, f.passed) for f in unlinked] == [("610103006001001", 3, None)]


def test_registers_teams_meetings_and_age(street: Engine) -> None:
    with Session(street) as s, s.begin():
        working = _members(s, "A", 2, prefix="W", member_type="在职", born=1990)
        flowing = _members(s, "A", 2, prefix="F", member_type="流动", born=1950)
        old = _members(s, "A", 2, prefix="O", born=1950)
        s.execute(text("INSERT INTO party_register (person_id, reported_on, certificate_no) VALUES "
                       "(:w, DATE '2026-03-01', NULL), (:f, NULL, 'HD-001')"), {"w": working[0], "f": flowing[0]})
        _org(s, "B1", "党支部", "楼院党支部", ["610103006001001"], working + flowing + old)
        s.execute(text("""INSERT INTO party_meeting (org_id, kind, held_on)
                          SELECT id, k, d FROM party_org, (VALUES ('党员大会', DATE '2026-10-15'),
                               ('支部委员会', DATE '2026-09-01'), ('党课', DATE '2026-06-01')) AS m(k, d)"""))
        s.execute(text("""INSERT INTO volunteer_team (code, name, kind, grid_id)
                          SELECT t, t || '队', '环境维护', id FROM grid, (VALUES ('T1'), ('T2')) AS v(t)
                           WHERE code = '610103006001001'"""))
        s.execute(text("""INSERT INTO volunteer_team_member (team_id, person_id, since)
                          SELECT t.id, p.id, DATE '2026-01-01' FROM volunteer_team t, person p WHERE t.code = 'T1'"""))
        s.execute(text("""INSERT INTO volunteer_activity (team_id, day, hours, title)
                          SELECT id, DATE '2026-10-20', h, '清扫' FROM volunteer_team, (VALUES (4.0)) AS v(h)
                           WHERE code = 'T1'
                          UNION ALL SELECT id, DATE '2026-10-21', 3.5, '清扫' FROM volunteer_team WHERE code = 'T2'"""))
        report = _check(s, "610103006001001")
    assert [(f.value, f.records) for f in _failing(report, "reported")] == [(1, ["W-P2"])]
    assert [(f.value, f.records) for f in _failing(report, "flow_certificate")] == [(1, ["F-P2"])]
    assert {f.records[0]: f.value for f in _failing(report, "team_size")} == {"T1": 6, "T2": 0}
    assert {f.records[0]: f.value for f in _failing(report, "team_activity")} == {"T2": 3.5}
    # 支部委员会 monthly: last 09-01 < 10-30 → overdue; 党课 quarterly: 06-01 < 08-30 → overdue; 组织生活会 never
    assert sorted(f.detail.split("的")[1].split("已")[0] for f in _failing(report, "meetings")) == \
        ["党课", "支部委员会", "组织生活会"]
    assert [(f.org, f.value) for f in _failing(report, "ageing")] == [("B1", "67%")]


def test_duty_areas_cover_the_compounds_and_the_gap_is_located(street: Engine) -> None:
    with Session(street) as s, s.begin():
        s.execute(text("""INSERT INTO party_duty_area (code, name, duty, geom)
                          SELECT 'Z1', '责任区一', '环境维护',
                                 ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"""),
                  {"x0": X0, "y0": Y0, "x1": X0 + D / 2, "y1": Y0 + D / 2})  # the south half of A
        report = _check(s, "610103006001")
    gaps = {f.grid_code: f for f in _failing(report, "duty_area")}
    assert set(gaps) == {"610103006001001", "610103006001002"}
    assert gaps["610103006001001"].value == "50%" and gaps["610103006001002"].value == "0%"
    assert gaps["610103006001001"].geometry is not None and gaps["610103006001001"].geometry["type"] == "Polygon"


def test_the_past_is_checked_as_it_was(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _org(s, "B1", "党支部", "楼院党支部", ["610103006001001"], _members(s, "A", 2, prefix="A"))
        for table in ("grid", "party_org", "person", "household"):  # recorded long ago; the members joined in June
            s.execute(text(f"UPDATE {table} SET valid_from = DATE '2020-01-01'"))
        s.execute(text("UPDATE party_membership SET since = DATE '2026-06-01'"))
        before = check(s, ADMIN, PartyRules(), parent="610103006001001", day=dt.date(2026, 5, 1))
        after = _check(s, "610103006001001")
    assert [f.value for f in _failing(before, "branch_min")] == [0]
    assert [f.value for f in _failing(after, "branch_min")] == [2]


def test_a_viewer_sees_no_member_codes(street: Engine) -> None:
    with Session(street) as s, s.begin():
        _members(s, "A", 2, prefix="A")
        viewer = Actor("user:v", "viewer", s.scalar(text("SELECT id FROM grid WHERE code = '610103006001'")),
                       "610103006001")
        report = _check(s, "610103006001001", actor=viewer)
    assert report.personal is False
    assert all(f.records == [] for f in report.findings if f.rule in ("contacts", "members_without_org"))
    assert _summary(report, "contacts") == (2, 2)
