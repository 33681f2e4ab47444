"""The compliance check of Party building on the grid (党建网格合规检查): every rule of gridgov.party.rules over
every organisation, grid, member, team and meeting under a grid as of a day, with the numbers behind each result
and the records to fix.

One statement per rule, each over the whole scope (db/sql/party_check.sql). A finding is a rule that fails for
one organisation, grid, member or team (``passed`` False), or a figure to act on (``passed`` None: households no
member links). The summary of each rule says how many were checked and how many failed. Members appear by their
code only, and only to actors whose personal-data scope covers the grid checked.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize, personal_reach, readable_root
from gridgov.db import sql
from gridgov.errors import NotFound
from gridgov.history import day_of, start_of
from gridgov.party.rules import AGE_BANDS, PartyRules, meeting_due, months_before
from gridgov.vocab import PARTY_BRANCH, PARTY_COMMITTEE, PARTY_GENERAL_BRANCH, PARTY_GROUP

RULES = {
    "org_form": "组织形式与党员人数相符",
    "branch_min": "党支部党员不少于规定人数",
    "grid_branch": "支部建在网格上",
    "duty_area": "党员责任区覆盖楼院",
    "contacts": "党员联系户数",
    "unlinked_households": "未被党员联系的住户",
    "members_without_org": "党员编入党组织",
    "volunteer_share": "党员志愿者比例",
    "team_size": "志愿服务队人数",
    "team_activity": "志愿服务队每月活动",
    "reported": "在职党员到社区报到",
    "flow_certificate": "流动党员持活动证",
    "meetings": "按期召开会议",
    "ageing": "党员年龄结构",
}
SIZED = (PARTY_COMMITTEE, PARTY_GENERAL_BRANCH, PARTY_BRANCH)
MIN_GAP_M2 = 1.0  # smaller uncovered slivers are drawing noise, not a gap (as the grid checks' min_gap_area_m2)
MAX_RECORDS = 50  # records listed per finding; the count is always exact

SCOPE = """WITH RECURSIVE grids AS (
    SELECT coalesce(g.lineage_id, g.id) AS id, g.id AS row_id, g.code, g.name, g.level
      FROM grid g
     WHERE CASE WHEN CAST(:root AS bigint) IS NULL THEN g.parent_id IS NULL
                ELSE coalesce(g.lineage_id, g.id) = CAST(:root AS bigint) END
       AND g.valid_from <= :as_of AND (g.valid_to IS NULL OR g.valid_to > :as_of)
    UNION ALL
    SELECT coalesce(c.lineage_id, c.id), c.id, c.code, c.name, c.level
      FROM grid c JOIN grids p ON c.parent_id = p.id
     WHERE c.valid_from <= :as_of AND (c.valid_to IS NULL OR c.valid_to > :as_of)
), orgs AS (
    SELECT coalesce(o.lineage_id, o.id) AS id, o.code, o.name, o.kind, o.form, o.grid_ids, o.parent_id, o.founded_on
      FROM party_org o
     WHERE o.valid_from <= :as_of AND (o.valid_to IS NULL OR o.valid_to > :as_of)
       AND (o.grid_ids && ARRAY(SELECT id FROM grids)
            OR o.unit_id IN (SELECT coalesce(u.lineage_id, u.id) FROM resident_unit u JOIN grids g ON g.id = u.grid_id
                              WHERE u.valid_from <= :as_of AND (u.valid_to IS NULL OR u.valid_to > :as_of)))
    UNION
    SELECT coalesce(c.lineage_id, c.id), c.code, c.name, c.kind, c.form, c.grid_ids, c.parent_id, c.founded_on
      FROM party_org c JOIN orgs p ON c.parent_id = p.id
     WHERE c.valid_from <= :as_of AND (c.valid_to IS NULL OR c.valid_to > :as_of)
), homes AS (
    SELECT coalesce(h.lineage_id, h.id) AS id, h.grid_id FROM household h JOIN grids g ON g.id = h.grid_id
     WHERE h.valid_from <= :as_of AND (h.valid_to IS NULL OR h.valid_to > :as_of)
), people AS (
    SELECT coalesce(p.lineage_id, p.id) AS id, p.code, g.code AS grid_code, p.member_type, p.is_volunteer,
           p.birth_year
      FROM person p JOIN homes h ON h.id = p.household_id JOIN grids g ON g.id = h.grid_id
     WHERE p.is_party_member AND p.valid_from <= :as_of AND (p.valid_to IS NULL OR p.valid_to > :as_of)
)"""
Q = {name: stmt.replace("{scope}", SCOPE) for name, stmt in sql.sections("party_check").items()}


@dataclass(frozen=True)
class Finding:
    """A rule's result for one organisation, grid, member or team: the value found against the threshold."""

    rule: str
    passed: bool | None
    value: Any
    threshold: Any
    detail: str
    grid_code: str | None = None
    org: str | None = None
    records: list[str] = field(default_factory=list)
    geometry: dict[str, Any] | None = None

    @property
    def rule_zh(self) -> str:
        """The rule's Chinese name."""
        return RULES[self.rule]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self) | {"rule_zh": self.rule_zh}


@dataclass(frozen=True)
class RuleSummary:
    """How a rule went over the scope: how many were checked and how many failed."""

    rule: str
    checked: int
    failed: int

    @property
    def rule_zh(self) -> str:
        """The rule's Chinese name."""
        return RULES[self.rule]

    @property
    def passed(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0


@dataclass(frozen=True)
class Report:
    """The check of a scope as of a day."""

    parent: str | None
    day: dt.date
    rules: PartyRules
    summaries: list[RuleSummary]
    findings: list[Finding]
    personal: bool


def _root(session: Session, actor: Actor, parent: str | None) -> tuple[int | None, str | None]:
    code = readable_root(session, actor, parent) if parent or not actor.unscoped else None
    if code is None:
        return None, None
    gid = session.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL AND lineage_id IS NULL"),
                         {"c": code})  # fmt: skip
    if gid is None:
        raise NotFound(f"网格不存在：{code}")
    return int(gid), code


def check(session: Session, actor: Actor, rules: PartyRules, *, parent: str | None = None,
          day: dt.date | None = None, timezone: str = "Asia/Shanghai") -> Report:  # fmt: skip
    """Check every rule under ``parent`` (default: the actor's scope) as of the end of ``day`` (default today)."""
    authorize(session, actor, "read", Touches(codes=[parent] if parent else []))
    root, code = _root(session, actor, parent)
    day = day or day_of(None, timezone)
    this_month = day.replace(day=1)
    params = {"root": root, "as_of": start_of(day + dt.timedelta(days=1), timezone), "day": day,
              "ageing_age": rules.ageing_age, "month_start": months_before(this_month, 1), "month_end": this_month}
    everywhere, where = personal_reach(actor)
    personal = everywhere or where is not None  # the root lies in the actor's scope (readable_root)
    run = {name: session.execute(text(stmt), params).all() for name, stmt in Q.items()}
    findings: list[Finding] = []
    summaries: list[RuleSummary] = []

    def add(rule: str, checked: int, failed: list[Finding]) -> None:
        summaries.append(RuleSummary(rule, checked, sum(1 for f in failed if f.passed is False)))
        findings.extend(failed)

    orgs = run["org_members"]
    sized = [o for o in orgs if o.kind in SIZED]
    add("org_form", len(sized), [
        Finding("org_form", False, f"{o.members} 名党员，设{o.kind}", rules.kind_threshold(o.kind),
                f"{o.name}有 {o.members} 名党员，按规定应设{rules.expected_kind(o.members)}", org=o.code)
        for o in sized if rules.expected_kind(o.members) not in (o.kind, PARTY_GROUP)
        or o.kind != PARTY_BRANCH and rules.expected_kind(o.members) == PARTY_GROUP])  # fmt: skip
    branches = [o for o in orgs if o.kind == PARTY_BRANCH]
    add("branch_min", len(branches), [
        Finding("branch_min", False, o.members, rules.branch_min,
                f"{o.name}只有 {o.members} 名党员，党支部至少需要 {rules.branch_min} 名", org=o.code)
        for o in branches if o.members < rules.branch_min])  # fmt: skip
    bare = run["grids_without_branch"]
    compounds = session.scalar(text(SCOPE + " SELECT count(*) FROM grids WHERE level = 'compound'"), params) or 0
    add("grid_branch", int(compounds), [
        Finding("grid_branch", False, "无", "党支部或党小组", f"{g.name}（{g.code}）没有建在本网格上的党组织",
                grid_code=g.code) for g in bare])  # fmt: skip
    cover = run["duty_cover"]
    add("duty_area", len(cover), [
        Finding("duty_area", False, f"{1 - g.gap_m2 / g.area_m2:.0%}" if g.area_m2 else "0%", "100%",
                f"{g.name}有 {g.gap_m2:,.0f} 平方米不在任何党员责任区内", grid_code=g.code,
                geometry=json.loads(g.gap_geojson) if g.gap_geojson else None)
        for g in cover if g.gap_m2 >= MIN_GAP_M2])  # fmt: skip
    contacts = run["contacts"]
    add("contacts", len(contacts), [
        Finding("contacts", False, c.links, f"{rules.contacts_min}–{rules.contacts_max} 户",
                f"党员联系了 {c.links} 户" + ("（超过上限）" if c.links > rules.contacts_max else "（不足）"),
                grid_code=c.grid_code, records=[c.code] if personal else [])
        for c in contacts if not rules.contacts_min <= c.links <= rules.contacts_max])  # fmt: skip
    add("unlinked_households", len(run["unlinked_households"]), [
        Finding("unlinked_households", None, h.unlinked, 0, f"{h.name}有 {h.unlinked} 户（共 {h.households} 户）"
                "未被任何党员联系", grid_code=h.code) for h in run["unlinked_households"] if h.unlinked])  # fmt: skip
    loose = run["members_without_org"]
    by_grid: dict[str, list[str]] = {}
    for m in loose:
        by_grid.setdefault(m.grid_code, []).append(m.code)
    add("members_without_org", len(contacts), [
        Finding("members_without_org", False, len(codes), 0, f"{len(codes)} 名党员未编入任何党组织",
                grid_code=g, records=codes[:MAX_RECORDS] if personal else []) for g, codes in by_grid.items()])
    with_members = [o for o in sized if o.members]
    add("volunteer_share", len(with_members), [
        Finding("volunteer_share", False, f"{o.volunteers / o.members:.0%}", f"≥ {rules.volunteer_share:.0%}",
                f"{o.name}的 {o.members} 名党员中志愿者 {o.volunteers} 名", org=o.code)
        for o in with_members if o.volunteers < rules.volunteer_share * o.members])  # fmt: skip
    teams = run["teams"]
    add("team_size", len(teams), [
        Finding("team_size", False, t.people, rules.team_min, f"{t.name}只有 {t.people} 人", grid_code=t.grid_code,
                org=None, records=[t.code]) for t in teams if t.people < rules.team_min])  # fmt: skip
    month = params["month_start"]
    add("team_activity", len(teams), [
        Finding("team_activity", False, float(t.longest or 0), rules.hours_min,
                f"{t.name}在 {month:%Y年%m月} 没有 {rules.hours_min:g} 小时以上的活动", grid_code=t.grid_code,
                records=[t.code]) for t in teams if (t.longest or 0) < rules.hours_min])  # fmt: skip
    registers = run["registers"]
    working = [r for r in registers if r.member_type == "在职"]
    add("reported", len(working), _per_grid("reported", [r for r in working if r.reported_on is None],
                                            "名在职党员未到社区报到", len(working), personal))
    flowing = [r for r in registers if r.member_type == "流动" or r.flow is not None]
    add("flow_certificate", len(flowing), _per_grid("flow_certificate", [r for r in flowing if not r.certificate_no],
                                                    "名流动党员没有活动证", len(flowing), personal))
    held = {(m.code, m.kind): m.last_held for m in run["meetings"]}
    due: list[Finding] = []
    checked = 0
    for o in orgs:
        for kind, months in rules.meetings_due(o.kind).items():
            checked += 1
            last = held.get((o.code, kind))
            state = meeting_due(months, last, o.founded_on, day)
            if state.overdue:
                due.append(Finding("meetings", False, str(last) if last else "从未召开", f"每 {months} 个月",
                                   f"{o.name}的{kind}已超期（应在 {state.since} 之后召开过）", org=o.code))
    add("meetings", checked, due)
    aged = [o for o in orgs if o.kind != PARTY_GROUP and o.with_age]
    add("ageing", len(aged), [
        Finding("ageing", False, f"{o.older / o.with_age:.0%}", f"≤ {rules.ageing_share:.0%}",
                f"{o.name}{rules.ageing_age}岁及以上党员占 {o.older / o.with_age:.0%}（"
                + "、".join(f"{label} {n} 名" for (_, _, label), n in zip(AGE_BANDS, (o.young, o.middle, o.sixty),
                                                                           strict=True)) + "）", org=o.code)
        for o in aged if o.older > rules.ageing_share * o.with_age])  # fmt: skip
    return Report(code, day, rules, summaries, findings, personal)


def _per_grid(rule: str, failing: list[Any], what: str, total: int, personal: bool) -> list[Finding]:
    """One finding per grid for member-level register rules (the members' codes as records to fix)."""
    by_grid: dict[str, list[str]] = {}
    for r in failing:
        by_grid.setdefault(r.grid_code, []).append(r.code)
    return [Finding(rule, False, len(codes), 0, f"{len(codes)} {what}", grid_code=g,
                    records=codes[:MAX_RECORDS] if personal else []) for g, codes in by_grid.items()]  # fmt: skip
