"""Sample-only step: a few months of life on the sample street, so ``--as-of`` shows a difference.

The loaded street is taken as surveyed :data:`SURVEYED_DAYS_AGO` days before the load; then families move
out and in, flats become rented, residents die or start volunteering, and two grids hand their 网格员 over,
each on its own day, through the same record services staff use (:mod:`gridgov.records`). The records are
chosen by code order, so every load makes the same changes (dated relative to the day of the load).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.history import day_of, start_of
from gridgov.records.roles import hand_over
from gridgov.records.service import create_record, retire_record, update_record

SURVEYED_DAYS_AGO = 180
# (days ago, nth live household by code): families who moved out.
MOVED_OUT = ((150, 997), (120, 3989), (90, 7919), (60, 11003), (30, 15013), (10, 18013))
# (days ago, nth household): flats whose kind changed (常住户 ↔ 租房户).
KIND_CHANGED = ((100, 1499), (50, 9001), (20, 13007))
# (days ago, nth household whose building receives a new family, residents' names).
MOVED_IN = ((80, 2011, ("赵立新", "钱慧")), (40, 8009, ("孙浩",)), (15, 16001, ("周敏", "吴强", "郑欣怡")))
DIED = ((70, 2003), (25, 30011))  # (days ago, nth person)
VOLUNTEERED = ((45, 5003), (45, 25013))
# (days ago, nth compound with one 网格员, the successor's name and phone).
HANDED_OVER = ((60, 3, "冯建国", "13700006001"), (20, 17, "陈静", "13700006002"))


@dataclass
class SampleChanges:
    """How many changes of each kind the sample history made."""

    moved_out: int = 0
    moved_in: int = 0
    kind_changed: int = 0
    died: int = 0
    volunteered: int = 0
    handed_over: int = 0


def _nth(session: Session, table: str, n: int, where: str = "TRUE") -> str:
    return str(session.execute(text(f"SELECT code FROM {table} WHERE valid_to IS NULL AND {where} "
                                    "ORDER BY code OFFSET :n LIMIT 1"), {"n": n}).scalar_one())  # fmt: skip


def backdate(session: Session, day: dt.date, timezone: str) -> None:
    """Take every loaded grid, record and post as true since ``day`` (the survey the sample stands for)."""
    start = start_of(day, timezone)
    for table in ("grid", "household", "person", "building", "staff"):
        session.execute(text(f"UPDATE {table} SET valid_from = :t WHERE valid_to IS NULL"), {"t": start})
    session.execute(text("UPDATE grid_role SET since = :d WHERE until IS NULL"), {"d": day})


def apply_sample_changes(
    session: Session, *, timezone: str, actor: Actor, before: Callable[[], object] | None = None
) -> SampleChanges:
    """Backdate the loaded street and make its months of changes (see the module docstring); ``before`` runs
    between the two (the loader leaves bulk mode there, so new records are assigned as they are written)."""
    today = day_of(None, timezone)
    ago = lambda days: today - dt.timedelta(days=days)  # noqa: E731
    backdate(session, ago(SURVEYED_DAYS_AGO), timezone)
    if before is not None:
        before()
    out = SampleChanges()
    changes: list[tuple[int, str, Any]] = []
    changes += [(d, "out", _nth(session, "household", n)) for d, n in MOVED_OUT]
    changes += [(d, "kind", _nth(session, "household", n)) for d, n in KIND_CHANGED]
    changes += [(d, "in", (_nth(session, "household", n), names)) for d, n, names in MOVED_IN]
    changes += [(d, "died", _nth(session, "person", n)) for d, n in DIED]
    changes += [(d, "volunteer", _nth(session, "person", n, "NOT is_volunteer")) for d, n in VOLUNTEERED]
    compounds = [str(c) for c in session.execute(text(
        """SELECT g.code FROM grid g JOIN grid_role r ON r.grid_id = g.id AND r.until IS NULL AND r.role = '网格员'
            WHERE g.level = 'compound' AND g.valid_to IS NULL GROUP BY g.code HAVING count(*) = 1
            ORDER BY g.code""")).scalars()]  # fmt: skip
    changes += [(d, "handover", (compounds[n], name, phone)) for d, n, name, phone in HANDED_OVER if n < len(compounds)]
    for days, what, target in sorted(changes, key=lambda c: -c[0]):  # in the order they happened
        day = ago(days)
        if what == "out":
            retire_record(session, "households", str(target), actor, reason="搬离", expected_version=None,
                          effective=day, timezone=timezone)  # fmt: skip
            out.moved_out += 1
        elif what == "kind":
            kind = session.execute(text("SELECT kind FROM household WHERE code = :c AND valid_to IS NULL"),
                                   {"c": target}).scalar_one()  # fmt: skip
            update_record(session, "households", str(target), {"kind": "租房户" if kind == "常住户" else "常住户"},
                          actor, expected_version=None, effective=day, timezone=timezone)  # fmt: skip
            out.kind_changed += 1
        elif what == "in":
            neighbour, names = target
            row = session.execute(text(
                "SELECT b.code AS building, h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat FROM household h "
                "JOIN building b ON b.id = h.building_id WHERE h.code = :c AND h.valid_to IS NULL"),
                {"c": neighbour}).one()  # fmt: skip
            code = f"{row.building}H9{out.moved_in + 1:03d}"
            create_record(session, "households", {"code": code, "kind": "租房户", "building_code": row.building,
                                                  "address": f"{row.address}（新迁入）", "lon": row.lon,
                                                  "lat": row.lat}, actor, effective=day, timezone=timezone)  # fmt: skip
            for i, name in enumerate(names, start=1):
                create_record(session, "persons", {"code": f"{code}P{i}", "household_code": code, "name": name},
                              actor, effective=day, timezone=timezone)  # fmt: skip
            out.moved_in += 1
        elif what == "died":
            retire_record(session, "persons", str(target), actor, reason="死亡", expected_version=None,
                          effective=day, timezone=timezone)  # fmt: skip
            out.died += 1
        elif what == "volunteer":
            update_record(session, "persons", str(target), {"is_volunteer": True}, actor, expected_version=None,
                          effective=day, timezone=timezone)  # fmt: skip
            out.volunteered += 1
        else:
            grid, name, phone = target
            hand_over(session, actor, grid_code=grid, role="网格员", to_name=name, to_phone=phone, on_day=day,
                      timezone=timezone)  # fmt: skip
            out.handed_over += 1
    return out
