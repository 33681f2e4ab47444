"""Staffing checks: a compound grid needs exactly one 网格长 and at least one 网格员 (the posts in force on a day)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.history import day_of, role_in_force

HEAD_ROLE = "网格长"
WORKER_ROLE = "网格员"
# What each kind of finding says, in one place.
PROBLEMS = {"no_head": "没有网格长", "several_heads": "有多名网格长", "no_worker": "没有网格员"}

_STAFFING = text(
    f"""SELECT g.code, g.name,
              count(*) FILTER (WHERE r.role = :head) AS heads,
              count(*) FILTER (WHERE r.role = :worker) AS workers
         FROM grid g LEFT JOIN grid_role r ON r.grid_id = g.id AND {role_in_force("r")}
        WHERE g.code = ANY(:codes) AND g.level = 'compound' AND g.valid_to IS NULL AND g.lineage_id IS NULL
        GROUP BY g.code, g.name
       HAVING count(*) FILTER (WHERE r.role = :head) <> 1 OR count(*) FILTER (WHERE r.role = :worker) = 0
        ORDER BY g.code"""
)


@dataclass(frozen=True)
class StaffingFinding:
    """A compound whose staff break the rule, and how."""

    code: str
    name: str
    problems: tuple[str, ...]

    @property
    def text(self) -> str:
        """The problems in Chinese."""
        return "、".join(PROBLEMS[p] for p in self.problems)


def staffing_findings(session: Session, codes: Sequence[str], on: dt.date | None = None) -> list[StaffingFinding]:
    """The compounds among ``codes`` without exactly one 网格长 or without a 网格员 on the day ``on`` (today), in
    one query."""
    if not codes:
        return []
    out = []
    params = {"codes": list(codes), "head": HEAD_ROLE, "worker": WORKER_ROLE, "on_day": on or day_of(None)}
    for r in session.execute(_STAFFING, params):
        problems = (("no_head",) if r.heads == 0 else ("several_heads",) if r.heads > 1 else ()) + (
            ("no_worker",) if r.workers == 0 else ())  # fmt: skip
        out.append(StaffingFinding(r.code, r.name, problems))
    return out
