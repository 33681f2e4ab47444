"""The rules Party building on the grid is assessed on, in one home: which organisation a membership calls for,
how many households a member links, the volunteer share, team size and activity, meetings due, age structure.
The numbers are settings (``gridgov.config.PartySettings``) since cities differ; the faces pass them down."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from gridgov.vocab import (
    PARTY_BRANCH,
    PARTY_COMMITTEE,
    PARTY_GENERAL_BRANCH,
    PARTY_GROUP,
    PARTY_MEETING_EVERY_MONTHS,
)

# Which organisations hold which meetings (三会一课 and the others), with PARTY_MEETING_EVERY_MONTHS' schedule.
MEETINGS_OF = {
    PARTY_COMMITTEE: ("支部委员会", "民主生活会"),
    PARTY_GENERAL_BRANCH: ("支部委员会", "民主生活会"),
    PARTY_BRANCH: ("党员大会", "支部委员会", "党课", "组织生活会"),
    PARTY_GROUP: ("党小组会",),
}
AGE_BANDS = ((0, 35, "35岁以下"), (35, 60, "35–59岁"), (60, 200, "60岁及以上"))


class PartySettingsLike(Protocol):
    """The settings ``PartyRules.of`` reads (gridgov.config.Settings is one)."""

    party_general_branch_min: int
    party_committee_over: int
    party_branch_min: int
    party_contacts_min: int
    party_contacts_max: int
    party_volunteer_share: float
    volunteer_team_min: int
    volunteer_hours_min: float
    party_ageing_age: int
    party_ageing_share: float


@dataclass(frozen=True)
class PartyRules:
    """The thresholds, with the defaults most cities use."""

    general_branch_min: int = 50
    committee_over: int = 100
    branch_min: int = 3
    contacts_min: int = 1
    contacts_max: int = 3
    volunteer_share: float = 0.5
    team_min: int = 15
    hours_min: float = 4.0
    ageing_age: int = 60
    ageing_share: float = 0.5

    @classmethod
    def of(cls, settings: PartySettingsLike) -> PartyRules:
        """The rules as a face's settings set them."""
        return cls(settings.party_general_branch_min, settings.party_committee_over, settings.party_branch_min,
                   settings.party_contacts_min, settings.party_contacts_max, settings.party_volunteer_share,
                   settings.volunteer_team_min, settings.volunteer_hours_min, settings.party_ageing_age,
                   settings.party_ageing_share)  # fmt: skip

    def expected_kind(self, members: int) -> str:
        """The organisation a membership calls for: 党委 above ``committee_over``, 党总支 from
        ``general_branch_min``, 党支部 from ``branch_min``, else a 党小组 (too few for a branch)."""
        if members > self.committee_over:
            return PARTY_COMMITTEE
        if members >= self.general_branch_min:
            return PARTY_GENERAL_BRANCH
        return PARTY_BRANCH if members >= self.branch_min else PARTY_GROUP

    def kind_threshold(self, kind: str) -> str:
        """The membership a kind stands for, as the rule reads (for a finding's threshold)."""
        return {PARTY_COMMITTEE: f"> {self.committee_over} 人",
                PARTY_GENERAL_BRANCH: f"{self.general_branch_min}–{self.committee_over} 人",
                PARTY_BRANCH: f"{self.branch_min}–{self.general_branch_min - 1} 人",
                PARTY_GROUP: f"< {self.branch_min} 人"}[kind]  # fmt: skip

    def meetings_due(self, kind: str) -> dict[str, int]:
        """The meetings an organisation of ``kind`` must hold and every how many months."""
        return {m: n for m in MEETINGS_OF.get(kind, ()) if (n := PARTY_MEETING_EVERY_MONTHS[m]) is not None}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the month's last day when it is shorter); negative: later."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


@dataclass(frozen=True)
class MeetingDue:
    """Where a meeting kind of an organisation stands on a day: overdue or not, and the last day it is on time."""

    months: int
    since: dt.date  # it must have been held on or after this day (or the organisation founded after it)
    overdue: bool
    due_by: dt.date | None  # the last day it is on time without another meeting (None: overdue already, never held)


def meeting_due(months: int, last_held: dt.date | None, founded_on: dt.date | None, day: dt.date) -> MeetingDue:
    """The schedule rule of a meeting held every ``months`` months, as the compliance check applies it: on ``day``
    it is overdue unless it was last held, or the organisation founded, on or after the same day ``months``
    months earlier."""
    since = months_before(day, months)
    base = max((d for d in (last_held, founded_on) if d is not None), default=None)
    if base is None:
        return MeetingDue(months, since, True, None)
    due_by = months_before(base, -months)  # month-end clamping: the last day whose ``since`` is still ≤ base
    while months_before(due_by + dt.timedelta(days=1), months) <= base:
        due_by += dt.timedelta(days=1)
    return MeetingDue(months, since, base < since, due_by)


def age_band(age: int) -> str:
    """The age band of an age (AGE_BANDS)."""
    return next(label for lo, hi, label in AGE_BANDS if lo <= age < hi)
