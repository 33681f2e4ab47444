"""What a user's start page shows: the figures of their grids and what needs attention there.

The figures come from the ledger (one pass over the user's subtree): households, persons, Party members and
open incidents now, and the patrol coverage of the latest night with tracks. Attention: stored topology
findings that name a grid of the subtree, and compounds whose staffing breaks the rule (grids/staffing.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.grids.staffing import StaffingFinding, staffing_findings
from gridgov.ledger.report import LedgerRow, build_ledger
from gridgov.periods import day_range
from gridgov.vocab import FINDING_RULES, LEVELS

MAX_LISTED = 20

_ROOTS = text(
    """SELECT code FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL
        AND (CAST(:scope AS bigint) IS NULL AND parent_id IS NULL OR id = CAST(:scope AS bigint)) ORDER BY code"""
)
_LAST_NIGHT = text("SELECT max(night) FROM patrol_track WHERE night <= :before")
_FINDINGS = text(
    """SELECT rule, message, codes FROM grid_finding WHERE codes && CAST(:codes AS text[])
        ORDER BY detected_at DESC, id DESC LIMIT :n"""
)
_FINDINGS_N = text("SELECT count(*) FROM grid_finding WHERE codes && CAST(:codes AS text[])")
@dataclass(frozen=True)
class Finding:
    """A stored topology finding, for the attention list."""

    rule: str
    rule_zh: str
    message: str
    codes: list[str]


@dataclass
class Overview:
    """The start page's content for one user."""

    roots: list[LedgerRow] = field(default_factory=list)
    children: dict[str, list[LedgerRow]] = field(default_factory=dict)
    night: dt.date | None = None
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0
    staffing: list[StaffingFinding] = field(default_factory=list)


def overview(
    session: Session, actor: Actor, *, today: dt.date, timezone: str, patrol_buffer_m: float | None = None
) -> Overview:
    """The actor's grids (their scope, or every top-level grid), each with its children's figures, and what needs
    attention inside them. ``today`` is the local date: the latest night with tracks before it is shown."""
    authorize(session, actor, "read")
    out = Overview()
    out.night = session.scalar(_LAST_NIGHT, {"before": today - dt.timedelta(days=1)})
    start, end = day_range(out.night, out.night, timezone) if out.night else (None, None)
    codes: list[str] = []
    for root in session.scalars(_ROOTS, {"scope": actor.scope_grid_id}).all():
        now = build_ledger(session, parent=root, with_patrol=False)  # public staff roles only: no personal data
        night = {r.code: r for r in build_ledger(session, parent=root, date_from=start, date_to=end,
                                                   patrol_buffer_m=patrol_buffer_m).rows} if start else {}  # fmt: skip
        for r in now.rows:
            n = night.get(r.code)
            r.patrol_coverage = n.patrol_coverage if n else None
        top = next(r for r in now.rows if r.code == root)
        below = LEVELS[LEVELS.index(top.level) + 1] if top.level != LEVELS[-1] else None
        out.roots.append(top)
        out.children[root] = [r for r in now.rows if r.parent_code == root and r.level == below]
        codes += [r.code for r in now.rows]
    if codes:
        out.findings = [Finding(r.rule, FINDING_RULES.label_of(r.rule), r.message, list(r.codes))
                        for r in session.execute(_FINDINGS, {"codes": codes, "n": MAX_LISTED})]  # fmt: skip
        out.findings_total = int(session.scalar(_FINDINGS_N, {"codes": codes}) or 0)
        out.staffing = staffing_findings(session, codes)
    return out
