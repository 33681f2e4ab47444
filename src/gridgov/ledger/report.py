"""The ledger (网格台帐) per grid at every level, for now or as of a past date, over a period.

Counts come from one set-based SQL pass (``ledger_*.sql``), over one parent's subtree when asked:
entities at their leaf grid, rolled up through the hierarchy, so every parent equals the sum of its
children and the street total equals what ``gridgov assign`` reports. "As of" rebuilds the grid set
from history and re-applies the assignment rule to it, so last year's ledger can be reproduced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, personal_reach
from gridgov.auth.views import log_view
from gridgov.db import sql
from gridgov.errors import InvalidInput
from gridgov.history import day_of
from gridgov.party.rules import PartyRules
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.terms import stored_vocabulary
from gridgov.vocab import (
    HOUSEHOLD_KINDS,
    INCIDENT_CLOSED,
    LEVEL_ZH,
    LEVELS,
    MEMBER_TYPES,
)

# English key → Chinese header, in sheet order.
HEADERS: dict[str, str] = {
    "code": "网格编码",
    "name": "网格名称",
    "level_zh": "层级",
    "parent_code": "上级编码",
    "households": "户数",
    **dict(zip(("hh_resident", "hh_rented", "hh_vacant", "hh_shop"), HOUSEHOLD_KINDS, strict=True)),
    "persons": "人数",
    "party_members": "党员数",
    **{k: f"{t}党员" for k, t in zip(("pm_employed", "pm_retired", "pm_mobile", "pm_unemployed", "pm_resident"),
                                     MEMBER_TYPES, strict=True)},
    "party_org": "党组织",
    "resident_reps": "居民代表数",
    "volunteers": "志愿者数",
    "buildings": "楼栋数",
    "incidents_open": "未结事件",
    "incidents_closed": "已结事件",
    "incidents_on_time_pct": "按期结案率(%)",
    "incidents_overdue": "超期事件",
    "incidents_closed_at_grid_pct": "网格内结案率(%)",
    "incidents_by_category_text": "事件分类",
    "patrol_coverage_pct": "巡逻覆盖率(%)",
    "patrol_length_km": "巡逻里程(公里)",
    "patrol_hours": "巡逻时长(小时)",
    "staff": "网格工作人员",
}
DEFAULT_PARTY_RULES = PartyRules()  # the rules' defaults, for callers without settings
COUNTS = ("households", "hh_resident", "hh_rented", "hh_vacant", "hh_shop", "persons", "party_members",
          "pm_employed", "pm_retired", "pm_mobile", "pm_unemployed", "pm_resident", "resident_reps", "volunteers",
          "party_volunteers", "buildings", "incidents_open", "incidents_closed")  # fmt: skip


@dataclass
class LedgerRow:
    """One grid's ledger line."""

    grid_id: int
    code: str
    name: str
    level: str
    parent_code: str | None
    households: int = 0
    hh_resident: int = 0
    hh_rented: int = 0
    hh_vacant: int = 0
    hh_shop: int = 0
    persons: int = 0
    party_members: int = 0
    pm_employed: int = 0
    pm_retired: int = 0
    pm_mobile: int = 0
    pm_unemployed: int = 0
    pm_resident: int = 0
    resident_reps: int = 0
    volunteers: int = 0
    party_volunteers: int = 0
    buildings: int = 0
    incidents_open: int = 0
    incidents_closed: int = 0
    incidents_by_category: dict[str, int] = field(default_factory=dict)
    incidents_on_time_rate: float | None = None
    incidents_overdue: int | None = None
    incidents_closed_at_grid_rate: float | None = None
    staff: str | None = None
    patrol_coverage: float | None = None
    patrol_length_m: float | None = None
    patrol_seconds: float | None = None
    party_rules: PartyRules = field(default=DEFAULT_PARTY_RULES, repr=False, compare=False)

    @property
    def party_org(self) -> str:
        """The Party organisation the grid's members call for by the rules (PartyRules.expected_kind: 党委, 党总支,
        党支部, or a 党小组 when too few for a branch); empty without members."""
        return self.party_rules.expected_kind(self.party_members) if self.party_members else ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form with derived fields (Chinese level, Party organisation, percentages)."""
        d = asdict(self)
        d.pop("party_rules")
        d["level_zh"] = LEVEL_ZH[self.level]
        d["party_org"] = self.party_org
        d["incidents_by_category_text"] = "；".join(f"{k} {v}" for k, v in self.incidents_by_category.items())
        d["patrol_coverage_pct"] = None if self.patrol_coverage is None else round(100 * self.patrol_coverage, 1)
        for key, rate in (("incidents_on_time_pct", self.incidents_on_time_rate),
                          ("incidents_closed_at_grid_pct", self.incidents_closed_at_grid_rate)):
            d[key] = None if rate is None else round(100 * rate, 1)
        d["patrol_length_km"] = None if self.patrol_length_m is None else round(self.patrol_length_m / 1000, 2)
        d["patrol_hours"] = None if self.patrol_seconds is None else round(self.patrol_seconds / 3600, 2)
        return d


@dataclass
class Ledger:
    """A ledger: its parameters and its rows."""

    rows: list[LedgerRow]
    as_of: dt.datetime | None
    date_from: dt.datetime | None
    date_to: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "as_of": self.as_of,
            "from": self.date_from,
            "to": self.date_to,
            "headers": HEADERS,
            "rows": [r.as_dict() for r in self.rows],
        }

    def headline(self) -> str:
        """One line of totals over the rows of the highest level present (each level counts every row once):
        the grid's name when there is one such row, else how many grids of that level were added up."""
        level = next((lv for lv in LEVELS if any(r.level == lv for r in self.rows)), None)
        if level is None:
            return ""
        top = [r for r in self.rows if r.level == level]
        households, persons = sum(r.households for r in top), sum(r.persons for r in top)
        party = sum(r.party_members for r in top)
        who = top[0].name if len(top) == 1 else f"{len(top)} 个{LEVEL_ZH[level]}合计"
        return f"{who}：{households} 户，{persons} 人，{party} 名党员"


def _row(r: dict[str, Any], party_rules: PartyRules) -> LedgerRow:
    values: dict[str, Any] = {k: (int(v) if k in COUNTS else v) for k, v in r.items()}
    return LedgerRow(**values, party_rules=party_rules)


TREE_IDS = text("SELECT coalesce(array_agg(gid), '{}') FROM ledger_grid WHERE in_tree")


def build_ledger(
    session: Session,
    *,
    level: str | None = None,
    parent: str | None = None,
    as_of: dt.datetime | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    with_patrol: bool = True,
    reader: Actor | None = None,
    patrol_buffer_m: float | None = None,
    viewed_from: str = "ledger",
    timezone: str = DEFAULT_TIMEZONE,
    party_rules: PartyRules = DEFAULT_PARTY_RULES,
) -> Ledger:
    """Ledger rows for every grid (or one level, or one parent's subtree), as of a moment, over a period.

    The staff roster lists the public roles for everyone, and the private ones (楼栋长, 党小组长: residents)
    only where ``reader`` may see personal data (none without a reader); such a reading is written to the audit
    log (``viewed_from`` names the page or file). Households, persons and buildings are the versions in force
    at ``as_of``; staff roles those in force on its day (in ``timezone``), or today. Each row's 党组织 is the one
    its members call for by ``party_rules`` (faces pass ``PartyRules.of(settings)``).
    """
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"未知层级：{level}（可选 {', '.join(LEVELS)}）")
    params: dict[str, Any] = {"as_of": as_of, "date_from": date_from, "date_to": date_to, "parent": parent}
    session.execute(text("DROP TABLE IF EXISTS ledger_grid, ledger_hh, ledger_ev, ledger_bd"))
    for name in ("ledger_grids", "ledger_assign"):
        if name == "ledger_assign":
            # The subtree's grid ids as a value, not a sub-select: inside the statements' OR a sub-select is never
            # turned into a join, so the entity tables were read whole (1.4 s at 10^7 households for any subtree).
            params["tree_ids"] = session.scalar(TREE_IDS) if parent is not None and as_of is None else []
        for stmt in sql.statements(name):
            used = {k: v for k, v in params.items() if f":{k}" in stmt}
            session.execute(text(stmt), used)
    everywhere, scope_id = personal_reach(reader)
    roles = stored_vocabulary(session, "staff_roles")  # with the street's own posts
    words = {"role_order": list(roles.vocabulary.terms), "public_roles": sorted(roles.public),
             "personal_all": everywhere, "personal_scope": scope_id, "hh_kinds": list(HOUSEHOLD_KINDS),
             "member_types": list(MEMBER_TYPES), "closed": INCIDENT_CLOSED,
             "as_of": as_of, "on_day": day_of(as_of, timezone)}  # fmt: skip
    rows = [_row(dict(r), party_rules) for r in session.execute(text(sql.load("ledger")), words).mappings()]
    if parent is not None and not any(r.code == parent for r in rows):  # the SQL keeps only parent's subtree
        raise InvalidInput(f"网格不存在：{parent}")
    if reader is not None and (everywhere or scope_id is not None):  # private staff names are in the roster
        log_view(session, reader, "grid_role", parent or reader.scope_code, page=viewed_from, rows=len(rows))
    _add_incident_figures(session, rows, parent, as_of, date_from, date_to, timezone)
    if with_patrol and as_of is None:
        _add_patrol(session, rows, date_from, date_to, patrol_buffer_m, subtree=parent is not None)
    if level is not None:
        rows = [r for r in rows if r.level == level]
    return Ledger(rows, as_of, date_from, date_to)


def _add_incident_figures(session: Session, rows: list[LedgerRow], parent: str | None,
                          as_of: dt.datetime | None, date_from: dt.datetime | None, date_to: dt.datetime | None,
                          timezone: str) -> None:  # fmt: skip
    """按期结案率, 超期 and 网格内结案率 of the period evaluated at ``as_of`` (gridgov.incidents.kpi: the cases of
    the grids live now; an as-of ledger's grids that no longer exist get none)."""
    from zoneinfo import ZoneInfo

    from gridgov.errors import NotFound
    from gridgov.incidents.kpi import Period, grid_figures, grid_id_of

    zone = ZoneInfo(timezone)
    first = date_from.astimezone(zone).date() if date_from else None
    last = (date_to - dt.timedelta(microseconds=1)).astimezone(zone).date() if date_to else None
    try:
        root = grid_id_of(session, parent)
    except NotFound:  # an as-of ledger of a grid that is gone
        return
    period = Period(first, last, as_of or dt.datetime.now(dt.UTC))
    figures = {r.grid_id: r.figures for r in grid_figures(session, root, period, timezone=timezone,
                                                          with_last_year=False)}  # fmt: skip
    for r in rows:
        f = figures.get(r.grid_id)
        if f is not None:
            r.incidents_on_time_rate, r.incidents_overdue = f.on_time_rate, f.overdue_now
            r.incidents_closed_at_grid_rate = f.closed_at_grid_rate


def _add_patrol(session: Session, rows: list[LedgerRow], date_from: dt.datetime | None,
                date_to: dt.datetime | None, buffer_m: float | None, *, subtree: bool) -> None:  # fmt: skip
    """Patrol coverage, length and time for the period (live grids only; a subtree's grids only)."""
    from gridgov.patrol.tracks import grid_coverage

    start = date_from.date() if date_from else None
    end = (date_to - dt.timedelta(microseconds=1)).date() if date_to else None
    cov = grid_coverage(session, date_from=start, date_to=end, buffer_m=buffer_m,
                        grid_ids=[r.grid_id for r in rows] if subtree else None)  # fmt: skip
    for r in rows:
        c = cov.get(r.grid_id)
        if c is not None:
            r.patrol_coverage, r.patrol_length_m, r.patrol_seconds = c.ratio, c.length_m, c.seconds
