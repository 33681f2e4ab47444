"""The one temporal pattern of versioned records (grids, households, persons, buildings, staff), as SQL fragments.

A live row keeps its id for life; its former states are history rows (``lineage_id`` = the live id) closed by
``valid_to``; a retired record is its live row with ``valid_to`` and ``end_reason`` set. So:

- *now*: ``valid_to IS NULL`` (history rows and retired records are closed);
- *as of T*: ``valid_from <= T < coalesce(valid_to, infinity)`` over all rows;
- *identity*: ``coalesce(lineage_id, id)`` (the live id, which foreign keys hold).

Grid roles are dated by day instead: in force on ``since <= day < until``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.periods import DEFAULT_TIMEZONE

VERSIONED = ("household", "person", "building", "staff", "patrol_team", "patrol_area", "resident_unit", "party_org",
             "volunteer_team", "party_duty_area")
# The reasons a record ends (退出原因), shown in forms; any other text is accepted too.
END_REASONS = ("搬离", "死亡", "拆迁", "录入错误", "调离", "离职", "合并", "同步移除", "其他")
SYNC_REASON = "同步移除"


def live(alias: str) -> str:
    """SQL: the row of ``alias`` is the record's current state (not history, not retired)."""
    return f"{alias}.valid_to IS NULL"


def as_of(alias: str, param: str = "as_of") -> str:
    """SQL: the row of ``alias`` was the record's state at ``:param`` (a timestamptz; NULL = now)."""
    return (f"(CASE WHEN CAST(:{param} AS timestamptz) IS NULL THEN {alias}.valid_to IS NULL "
            f"ELSE {alias}.valid_from <= CAST(:{param} AS timestamptz) "
            f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to > CAST(:{param} AS timestamptz)) END)")  # fmt: skip


def identity(alias: str) -> str:
    """SQL: the record's identity (its live id) for a row of ``alias``."""
    return f"coalesce({alias}.lineage_id, {alias}.id)"


def role_in_force(alias: str, param: str = "on_day") -> str:
    """SQL: the grid role ``alias`` is in force on the day ``:param`` (a date)."""
    return (f"({alias}.since <= CAST(:{param} AS date) "
            f"AND ({alias}.until IS NULL OR {alias}.until > CAST(:{param} AS date)))")  # fmt: skip


def day_of(moment: dt.datetime | None, timezone: str = DEFAULT_TIMEZONE) -> dt.date:
    """The calendar day (in ``timezone``) of ``moment``, or today when None: the day grid roles are read on."""
    zone = ZoneInfo(timezone)
    return (moment.astimezone(zone) if moment is not None else dt.datetime.now(zone)).date()


def start_of(day: dt.date, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime:
    """The first moment of ``day`` in ``timezone``: when a change dated that day takes effect."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(timezone))


def set_effective(session: Session, moment: dt.datetime | None) -> None:
    """Make the changes of this transaction take effect at ``moment`` (None: when they are written)."""
    session.execute(text("SELECT set_config('gridgov.effective', :m, true)"),
                    {"m": moment.isoformat() if moment is not None else ""})  # fmt: skip
