"""Staff roles on grids, dated: who holds which post on a grid from which day to which day, and the hand-over of
a post from one person to another in one operation. An ended role keeps its row (``until`` and a reason)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, Touches, authorize, personal_reach
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.history import day_of, role_in_force
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.records.kinds import record_kind
from gridgov.terms import stored_vocabulary

HAND_OVER_REASON = "交接"
# A staff member entered without a code gets one from name and phone (the staff importer's rule).
STAFF_CODE_SQL = "'S-' || left(md5(CAST(:name AS text) || coalesce(CAST(:phone AS text), '')), 16)"

_ROLES = f"""
SELECT r.id, g.code AS grid_code, g.name AS grid_name, r.role, s.code AS staff_code, s.name AS staff_name,
       s.phone, s.organisation, r.since, r.until, r.end_reason
  FROM grid_role r JOIN grid g ON g.id = r.grid_id JOIN staff s ON s.id = r.staff_id
 WHERE g.id = :gid AND (CAST(:all AS boolean) OR {role_in_force("r")})
 ORDER BY array_position(CAST(:order AS text[]), r.role), r.since DESC, s.name"""


@dataclass(frozen=True)
class RoleAssignment:
    """A post held on a grid: who, from which day, until which day (exclusive) and why it ended."""

    id: int
    grid_code: str
    grid_name: str
    role: str
    staff_code: str | None
    staff_name: str
    phone: str | None
    organisation: str | None
    since: dt.date
    until: dt.date | None
    end_reason: str | None
    public: bool = True  # shown on public boards (else its holder is a resident: personal data)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def _grid(session: Session, code: str) -> tuple[int, str]:
    row = session.execute(text("SELECT id, level FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": code}).first()
    if row is None:
        raise NotFound(f"网格不存在：{code}")
    return int(row.id), str(row.level)


def _role_term(session: Session, role: str) -> str:
    words = stored_vocabulary(session, "staff_roles").vocabulary
    term = words.canonical(role or "")
    if term is None:
        raise InvalidInput(f"未知的岗位：{role}（可选：{'、'.join(words.terms)}）")
    return term


def grid_roles(
    session: Session,
    grid_code: str,
    actor: Actor,
    *,
    on_day: dt.date | None = None,
    include_ended: bool = False,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[RoleAssignment]:
    """The posts on a grid on ``on_day`` (today by default), or every post it ever had; the posts residents hold
    (楼栋长, 党小组长 …) only for readers with personal-data rights over the grid."""
    gid, _ = _grid(session, grid_code)
    authorize(session, actor, "read")
    words = stored_vocabulary(session, "staff_roles")
    params = {"gid": gid, "all": include_ended, "on_day": on_day or day_of(None, timezone),
              "order": list(words.vocabulary.terms)}  # fmt: skip
    out = [RoleAssignment(**r, public=r["role"] in words.public)
           for r in session.execute(text(_ROLES), params).mappings()]  # fmt: skip
    everywhere, scope = personal_reach(actor)
    if not everywhere:
        private_ok = scope is not None and _covers(session, scope, gid)
        out = [r for r in out if r.public or private_ok]
    return out


def _covers(session: Session, scope_id: int, gid: int) -> bool:
    stmt = text("""WITH RECURSIVE up AS (SELECT id, parent_id FROM grid WHERE id = :g
                   UNION ALL SELECT g.id, g.parent_id FROM grid g JOIN up ON g.id = up.parent_id)
                   SELECT EXISTS (SELECT 1 FROM up WHERE id = :s)""")
    return bool(session.scalar(stmt, {"g": gid, "s": scope_id}))


def _check_day(day: dt.date | None, timezone: str) -> dt.date:
    today = day_of(None, timezone)
    if day is None:
        return today
    if day > today + dt.timedelta(days=366):
        raise InvalidInput(f"日期过远：{day.isoformat()}")
    return day


def _staff_id(session: Session, actor: Actor, staff_code: str | None, name: str | None, phone: str | None) -> int:
    """The live staff member with ``staff_code``, or a new one from ``name`` and ``phone`` (reused when the same
    name and phone are already on record)."""
    if staff_code:
        sid = session.scalar(text("SELECT id FROM staff WHERE code = :c AND valid_to IS NULL"), {"c": staff_code})
        if sid is None:
            raise InvalidInput(f"网格工作人员不存在或已离职：{staff_code}")
        return int(sid)
    kind = record_kind("staff")
    clean_name = kind.field("name").parse(name)
    clean_phone = kind.field("phone").parse(phone)
    params = {"name": clean_name, "phone": clean_phone, "by": actor.audit_name}
    found = session.scalar(text(f"SELECT id FROM staff WHERE code = {STAFF_CODE_SQL} AND lineage_id IS NULL"), params)
    if found is not None:
        if session.scalar(text("SELECT valid_to IS NOT NULL FROM staff WHERE id = :i"), {"i": found}):
            raise Conflict(f"{clean_name} 已离职：请先恢复其人员记录，或换用新编码")
        return int(found)
    stmt = (f"INSERT INTO staff (code, name, phone, updated_by) VALUES ({STAFF_CODE_SQL}, :name, :phone, :by) "
            "RETURNING id")
    return int(session.execute(text(stmt), params).scalar_one())


def add_role(
    session: Session,
    actor: Actor,
    *,
    grid_code: str,
    role: str,
    staff_code: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    since: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> RoleAssignment:
    """Give a staff member (by code, or a new one by name and phone) a post on a grid from ``since`` (today)."""
    gid, _ = _grid(session, grid_code)
    authorize(session, actor, "write", Touches(codes=[grid_code]))
    term = _role_term(session, role)
    day = _check_day(since, timezone)
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.audit_name})
    sid = _staff_id(session, actor, staff_code, name, phone)
    clash = session.execute(text("SELECT since FROM grid_role WHERE grid_id = :g AND staff_id = :s AND role = :r "
                                 "AND until IS NULL"), {"g": gid, "s": sid, "r": term}).first()  # fmt: skip
    if clash is not None:
        raise Conflict(f"此人已在 {grid_code} 担任{term}（自 {clash.since:%Y-%m-%d} 起）")
    rid = session.execute(text("INSERT INTO grid_role (grid_id, staff_id, role, since) VALUES (:g, :s, :r, :d) "
                               "RETURNING id"), {"g": gid, "s": sid, "r": term, "d": day}).scalar_one()  # fmt: skip
    return _one(session, int(rid))


def _one(session: Session, role_id: int) -> RoleAssignment:
    words = stored_vocabulary(session, "staff_roles")
    row = session.execute(text(_ROLES.replace("g.id = :gid", "r.id = :rid")),
                          {"rid": role_id, "all": True, "on_day": None, "order": list(words.vocabulary.terms)}
                          ).mappings().first()  # fmt: skip
    if row is None:
        raise NotFound(f"岗位记录不存在：{role_id}")
    return RoleAssignment(**row, public=row["role"] in words.public)


def end_role(
    session: Session,
    actor: Actor,
    role_id: int,
    *,
    reason: str,
    until: dt.date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> RoleAssignment:
    """End a post on ``until`` (today: the holder no longer holds it from that day) with a reason."""
    current = _one(session, role_id)
    authorize(session, actor, "write", Touches(codes=[current.grid_code]))
    if current.until is not None:
        raise Conflict(f"该岗位已于 {current.until:%Y-%m-%d} 结束")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写结束原因（如 调离、离职、交接、录入错误）")
    day = _check_day(until, timezone)
    if day < current.since:
        raise InvalidInput(f"结束日期 {day.isoformat()} 早于任职开始日期 {current.since.isoformat()}")
    session.execute(text("SELECT set_config('gridgov.actor', :a, true)"), {"a": actor.audit_name})
    session.execute(text("UPDATE grid_role SET until = :d, end_reason = :r WHERE id = :i"),
                    {"d": day, "r": reason[:200], "i": role_id})  # fmt: skip
    return _one(session, role_id)


@dataclass(frozen=True)
class HandOver:
    """What a hand-over did: the posts it ended and the post it began."""

    ended: list[RoleAssignment]
    started: RoleAssignment

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"ended": [r.as_dict() for r in self.ended], "started": self.started.as_dict()}


def hand_over(
    session: Session,
    actor: Actor,
    *,
    grid_code: str,
    role: str,
    to_staff_code: str | None = None,
    to_name: str | None = None,
    to_phone: str | None = None,
    from_staff_code: str | None = None,
    on_day: dt.date | None = None,
    reason: str = HAND_OVER_REASON,
    timezone: str = DEFAULT_TIMEZONE,
) -> HandOver:
    """Hand a post on a grid to another person from ``on_day`` (today): the current holder's post (or
    ``from_staff_code``'s) ends that day and the new holder's begins, in one transaction."""
    gid, _ = _grid(session, grid_code)
    authorize(session, actor, "write", Touches(codes=[grid_code]))
    term = _role_term(session, role)
    day = _check_day(on_day, timezone)
    holders = [r for r in grid_roles(session, grid_code, actor, on_day=day, timezone=timezone)
               if r.role == term and r.until is None]  # fmt: skip
    if from_staff_code:
        holders = [r for r in holders if r.staff_code == from_staff_code]
        if not holders:
            raise InvalidInput(f"{from_staff_code} 目前不在 {grid_code} 担任{term}")
    ended = [end_role(session, actor, r.id, reason=reason, until=max(day, r.since), timezone=timezone)
             for r in holders]  # fmt: skip
    started = add_role(session, actor, grid_code=grid_code, role=term, staff_code=to_staff_code, name=to_name,
                       phone=to_phone, since=day, timezone=timezone)  # fmt: skip
    if any(r.staff_code == started.staff_code for r in ended):
        raise InvalidInput("交接双方是同一人")
    return HandOver(ended, started)
