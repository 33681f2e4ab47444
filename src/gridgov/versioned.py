"""The steps every write of a versioned record shares (patrol teams and areas, Party organisations, resident units;
gridgov.history has the pattern): who writes, for the audit log; when the change takes effect; the version the
caller read; a code not used yet; and the day a dated row (a membership, a post) starts or ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, InvalidInput, StaleVersion
from gridgov.history import VERSIONED, day_of, set_effective, start_of

MAX_DAYS_AHEAD = 366
# The dated rows of a versioned record (memberships, posts) and the column naming the record they belong to.
DATED_ROWS = {"patrol_team_member": "team_id", "volunteer_team_member": "team_id", "party_membership": "org_id",
              "party_org_post": "org_id"}  # fmt: skip
T = TypeVar("T")


class JsonForm:
    """A dataclass read as JSON: its fields, as they are."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(cast(Any, self))


class VersionedState(JsonForm):
    """What one state of a versioned record offers its readers (a dataclass with ``code``, ``version`` and
    ``valid_to``): whether it is retired, its ETag, and its JSON form without the ``HIDDEN`` internal fields."""

    HIDDEN: ClassVar[tuple[str, ...]] = ()
    code: str
    version: int
    valid_to: dt.datetime | None

    @property
    def retired(self) -> bool:
        """Whether the record has been retired (or, for a former state, replaced)."""
        return self.valid_to is not None

    @property
    def etag(self) -> str:
        """The HTTP entity tag of this version."""
        return f'"{self.version}"'

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the fields but the internal ones, and ``retired``."""
        out = super().as_dict()
        for name in self.HIDDEN:
            out.pop(name)
        out["retired"] = self.retired
        return out


def begin(session: Session, actor: Actor, moment: dt.datetime | None = None) -> None:
    """Name the actor for the audit trigger and make this transaction's changes take effect at ``moment`` (now)."""
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.audit_name})
    set_effective(session, moment)


def check_version(what: str, code: str, current: int, expected: int | None) -> None:
    """``StaleVersion`` unless the caller edited the current version (None: no check)."""
    if expected is not None and expected != current:
        raise StaleVersion(f"{what} {code} 已被他人修改（当前版本 {current}，您编辑的是版本 {expected}）："
                           "请刷新后重试", details={"current_version": current})  # fmt: skip


def check_fields(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """``InvalidInput`` naming the fields of a change that are not among those that may be changed."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise InvalidInput(f"未知字段：{'、'.join(unknown)}（可改：{'、'.join(allowed)}）")


def check_writable(what: str, state: VersionedState, expected: int | None, refusal: str = "") -> None:
    """``StaleVersion`` unless the caller edited the current version, then ``Conflict`` when the record is retired
    (``refusal`` ends the message, e.g. ``，不能修改``)."""
    check_version(what, state.code, state.version, expected)
    if state.valid_to is not None:
        raise Conflict(f"{what} {state.code} 已于 {state.valid_to:%Y-%m-%d} 撤销{refusal}")


def retire_row(session: Session, table: str, row_id: int, *, reason: str, moment: dt.datetime | None,
               by: str | None = None) -> None:  # fmt: skip
    """End the live row of a versioned record at ``moment`` (now) with a reason (and who, given ``by``)."""
    assert table in VERSIONED
    who = ", updated_by = :by" if by is not None else ""
    session.execute(text(f"UPDATE {table} SET valid_to = coalesce(CAST(:at AS timestamptz), now()), "
                         f"end_reason = :reason{who} WHERE id = :id"),
                    {"id": row_id, "reason": reason, "at": moment, "by": by})  # fmt: skip


def end_memberships(session: Session, table: str, owner_id: int, day: dt.date, reason: str) -> None:
    """End on ``day`` the dated rows (``table``: memberships, posts) of a retired team or organisation that are in
    force then or later."""
    owner = DATED_ROWS[table]
    session.execute(text(f"UPDATE {table} SET until = greatest(since, CAST(:day AS date)), end_reason = :reason "
                         f"WHERE {owner} = :id AND (until IS NULL OR until > :day)"),
                    {"id": owner_id, "day": day, "reason": reason})  # fmt: skip


def effective_moment(day: dt.date | None, since: dt.datetime | None, timezone: str) -> dt.datetime | None:
    """When a change dated ``day`` takes effect (None: now, also for today); not in the future, not before the
    last change (``since``)."""
    if day is None or day == day_of(None, timezone):
        return None
    if day > day_of(None, timezone):
        raise InvalidInput(f"日期不能晚于今天：{day.isoformat()}")
    if since is not None and day < day_of(since, timezone):
        raise InvalidInput(f"日期 {day.isoformat()} 早于上次变更的日期 {day_of(since, timezone)}：请按时间顺序登记变更")
    return start_of(day, timezone)


def dated_day(day: dt.date | None, timezone: str) -> dt.date:
    """The day a dated row starts or ends: the one given (not more than a year ahead), else today."""
    today = day_of(None, timezone)
    if day is None:
        return today
    if day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"日期过远：{day.isoformat()}")
    return day


def ensure_code_free(session: Session, table: str, code: str, label: str) -> None:
    """``Conflict`` when a record of ``table`` (a versioned table) already has ``code``, live or retired."""
    assert table in VERSIONED
    found = session.execute(text(f"SELECT valid_to FROM {table} WHERE code = :c AND lineage_id IS NULL"),
                            {"c": code}).first()  # fmt: skip
    if found is not None:
        raise Conflict(f"{label}编码已存在{'（已撤销）' if found.valid_to is not None else ''}：{code}")


def state_changes(before: T | None, after: T, fields: Sequence[tuple[str, Callable[[T], Any]]]) -> list[str]:
    """:func:`field_changes`, and ``新建`` for the first state."""
    return ["新建"] if before is None else field_changes(before, after, fields)


def field_changes(before: T, after: T, fields: Sequence[tuple[str, Callable[[T], Any]]]) -> list[str]:
    """What changed from one state of a record to the next, as lines people read (``名称：甲 → 乙``): ``fields``
    are (label, how the field reads from a state)."""
    return [f"{label}：{old or '（空）'} → {new or '（空）'}" for label, read in fields
            if (old := read(before)) != (new := read(after))]  # fmt: skip
