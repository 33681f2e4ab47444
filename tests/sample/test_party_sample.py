"""The sample street's Party organisation as loaded: the compliance check as of the sample's last day finds exactly
the gaps placed in it (sample_meta.json ``party_gaps``) and nothing else, and the organisation around them is
the one the generator describes (sized by the rules, registers, 联系户, teams, meetings, 责任区, 大党委 units)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.party.check import RULES, Finding, Report, check
from gridgov.party.rules import PartyRules

ORG_RULES = ("org_form", "branch_min", "volunteer_share", "meetings", "ageing")
GRID_RULES = ("grid_branch", "duty_area")


@pytest.fixture(scope="module")
def meta(sample_dir: Path) -> dict[str, Any]:
    """The sample's sample_meta.json."""
    return dict(json.loads((sample_dir / "sample_meta.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def report(sample_engine: Engine, meta: dict[str, Any]) -> Report:
    """The check of the whole sample street as of its last day, by an administrator (member codes listed)."""
    with Session(sample_engine) as s:
        return check(s, Actor.system("tests"), PartyRules(), day=dt.date.fromisoformat(meta["params"]["end_date"]))


def _named(f: Finding) -> set[str]:
    """What a failing finding names: the organisation, the compound, or the members or teams it lists."""
    if f.rule in ORG_RULES:
        return {str(f.org)}
    if f.rule in GRID_RULES:
        return {str(f.grid_code)}
    return set(f.records)


def test_the_check_finds_exactly_the_deliberate_gaps(report: Report, meta: dict[str, Any]) -> None:
    gaps = {rule: set(what) for rule, what in meta["party_gaps"].items()}
    assert set(gaps) <= set(RULES) and len(gaps) == 11
    found: dict[str, set[str]] = {}
    for f in report.findings:
        if f.passed is False:
            found.setdefault(f.rule, set()).update(_named(f))
    assert found == gaps
    # one failing finding per gap, except the per-grid register rules (a finding per grid, listing members)
    failing = [f for f in report.findings if f.passed is False]
    assert len(failing) == sum(len(v) for r, v in gaps.items() if r not in ("reported", "flow_certificate")) + len(
        {f.grid_code for f in failing if f.rule in ("reported", "flow_certificate")})
    assert {s.rule: s.failed for s in report.summaries if s.failed} == {
        r: sum(1 for f in failing if f.rule == r) for r in gaps}
    # figures to act on, not failures: households nobody links
    assert {f.rule for f in report.findings if f.passed is None} <= {"unlinked_households"}
    assert report.personal and report.day == dt.date.fromisoformat(meta["params"]["end_date"])


def test_each_gap_is_the_one_described(report: Report, meta: dict[str, Any]) -> None:
    by_rule = {f.rule: f for f in report.findings if f.passed is False}
    assert by_rule["branch_min"].value == 2
    assert by_rule["contacts"].value == 0
    assert by_rule["team_size"].value == 12
    assert by_rule["team_activity"].value < 4
    assert "支部委员会" in by_rule["meetings"].detail and by_rule["meetings"].threshold == "每 1 个月"
    assert by_rule["org_form"].value.endswith("设党总支") and by_rule["org_form"].detail.endswith("应设党委")
    area = by_rule["duty_area"]
    assert area.geometry is not None and area.geometry["type"] in ("Polygon", "MultiPolygon")
    assert 0 < float(area.value.rstrip("%")) < 100
    checked = {s.rule: s.checked for s in report.summaries}
    assert checked["grid_branch"] == meta["summary"]["compounds"] == checked["duty_area"]
    assert checked["members_without_org"] >= 2_800 and checked["meetings"] > 300


def test_the_organisation_is_sized_by_the_rules(sample_engine: Engine, meta: dict[str, Any]) -> None:
    rules = PartyRules()
    with sample_engine.connect() as conn:
        tops = conn.execute(text("""
            SELECT o.code, o.kind, count(DISTINCT m.person_id) AS members
              FROM party_org o JOIN party_org c ON c.id = o.id OR c.parent_id = o.id
                   OR c.parent_id IN (SELECT id FROM party_org WHERE parent_id = o.id)
              JOIN party_membership m ON m.org_id = c.id AND m.until IS NULL
              JOIN person p ON p.id = m.person_id AND p.valid_to IS NULL
              JOIN household h ON h.id = p.household_id AND h.grid_id IS NOT NULL
             WHERE o.form = '社区党组织' AND o.valid_to IS NULL GROUP BY o.code, o.kind""")).all()  # fmt: skip
        branch_sizes = conn.execute(text("""
            SELECT o.code, count(*) FROM party_org o JOIN party_membership m ON m.org_id IN (
                   SELECT id FROM party_org WHERE id = o.id OR parent_id = o.id) AND m.until IS NULL
             WHERE o.kind = '党支部' GROUP BY o.code""")).all()  # fmt: skip
        loose = conn.execute(text("SELECT count(*) FROM person p WHERE p.is_party_member AND p.valid_to IS NULL "
                                  "AND NOT EXISTS (SELECT 1 FROM party_membership m WHERE m.person_id = p.id "
                                  "AND m.until IS NULL)")).scalar_one()  # fmt: skip
    assert len(tops) == meta["summary"]["communities"]
    wrong = [code for code, kind, n in tops if rules.expected_kind(n) != kind]
    assert wrong == meta["party_gaps"]["org_form"]
    small = {code for code, n in branch_sizes if n < rules.branch_min}
    assert small == set(meta["party_gaps"]["branch_min"])
    assert all(n < rules.general_branch_min for _, n in branch_sizes)
    assert loose == 0


def test_registers_contacts_teams_and_units(sample_engine: Engine, meta: dict[str, Any]) -> None:
    with sample_engine.connect() as conn:
        registers, shown, working, reported, flowing, certified = conn.execute(text("""
            SELECT count(*), count(*) FILTER (WHERE r.shows_identity),
                   count(*) FILTER (WHERE p.member_type = '在职'),
                   count(r.reported_on) FILTER (WHERE p.member_type = '在职'),
                   count(*) FILTER (WHERE p.member_type = '流动'),
                   count(r.certificate_no) FILTER (WHERE r.flow IS NOT NULL)
              FROM party_register r JOIN person p ON p.id = r.person_id""")).one()  # fmt: skip
        officers_hidden = conn.execute(text("""
            SELECT count(*) FROM party_org_post t JOIN party_register r ON r.person_id = t.person_id
             WHERE NOT r.shows_identity""")).scalar_one()  # fmt: skip
        links = dict(conn.execute(text(
            "SELECT n, count(*) FROM (SELECT count(*) AS n FROM party_contact GROUP BY person_id) x GROUP BY n")).all())
        teams = conn.execute(text("""
            SELECT t.code, t.grid_id IS NOT NULL AND t.org_id IS NOT NULL AND t.leader_person_id IS NOT NULL,
                   (SELECT count(*) FROM volunteer_team_member m WHERE m.team_id = t.id),
                   (SELECT count(DISTINCT date_trunc('month', a.day)) FROM volunteer_activity a WHERE a.team_id = t.id)
              FROM volunteer_team t""")).all()  # fmt: skip
        units = conn.execute(text("""
            SELECT u.code, g.level, o.form FROM resident_unit u LEFT JOIN grid g ON g.id = u.grid_id
              LEFT JOIN party_org o ON o.id = u.member_of_org_id""")).all()  # fmt: skip
        areas = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE cardinality(person_ids) > 0) "
                                  "FROM party_duty_area")).one()  # fmt: skip
    assert registers == meta["summary"]["party_members"] == meta["party"]["party_registers"]
    assert 0.4 < shown / registers < 0.8 and officers_hidden == 0  # office holders are shown by name
    assert reported == working - 2 and certified == flowing - 1
    assert set(links) == {1, 2, 3} and sum(links.values()) == registers - 1
    assert len(teams) == meta["party"]["volunteer_teams"] and all(ok for _, ok, _, _ in teams)
    sizes = sorted(n for _, _, n, _ in teams)
    assert sizes[0] == 12 and sizes[1] > PartyRules().team_min and all(months == 6 for *_, months in teams)
    assert units and all(level == "compound" and form == "社区党组织" for _, level, form in units)
    assert areas == (meta["summary"]["compounds"], meta["summary"]["compounds"])
