"""Workspace users: add, list, change role or password, link to their own staff record (whose inbox: the cases
dispatched to them), disable; and logging in, with a lock after repeated wrong passwords. Administrators manage
users (``authorize(..., "admin", anywhere=True)``); any user may change their own password. User changes are
written to the audit log by these functions (the table has no audit trigger: its rows hold password hashes,
which the log must not copy)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from gridgov.auth.passwords import DUMMY_HASH, check_rule, hash_password, needs_rehash, verify_password
from gridgov.auth.scope import LOST_SCOPE, Actor, authorize, lost_scope, resolve_scope
from gridgov.db.models import AppUser, Grid, Staff, UserSession
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.history import day_of
from gridgov.periods import DEFAULT_TIMEZONE
from gridgov.vocab import ROLES

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords in a row lock an account, and for how long (from ``AuthSettings``)."""

    max_failures: int = 5
    lock_minutes: float = 15


@dataclass(frozen=True)
class UserRow:
    """A user as lists show it (no hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    role_zh: str
    scope_code: str | None
    scope_name: str | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    disabled_at: dt.datetime | None
    locked_until: dt.datetime | None
    staff_code: str | None = None
    staff_name: str | None = None
    staff_left: bool = False  # the staff record linked has been retired since

    @property
    def active(self) -> bool:
        """Not disabled."""
        return self.disabled_at is None


@dataclass(frozen=True)
class StaffChoice:
    """A live staff record a user may be linked to: code, name and the posts held today."""

    code: str
    name: str
    posts: str
    user: str | None  # the user already linked to it


@dataclass(frozen=True)
class LoginResult:
    """A login attempt: the user on success, else a Chinese reason (never telling which of name or password)."""

    user: AppUser | None
    message: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _audit(session: Session, actor: Actor, action: str, user: AppUser, **new: Any) -> None:
    """One audit row for a user change (never the hash)."""
    session.execute(
        text("INSERT INTO audit_log (actor, action, table_name, row_id, new) "
             "VALUES (:a, :act, 'app_user', :id, CAST(:new AS jsonb))"),
        {"a": actor.audit_name, "act": action, "id": user.id, "new": _json({"username": user.username, **new})},
    )  # fmt: skip


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def get_user(session: Session, username: str) -> AppUser:
    """The user of that name (case-insensitive), or ``NotFound``."""
    user = session.scalar(select(AppUser).where(func.lower(AppUser.username) == username.strip().lower()))
    if user is None:
        raise NotFound(f"用户不存在：{username}")
    return user


def display_names(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """Display names of the users among audit names (``user:<name>`` → 姓名, or the user name), in one query."""
    names = sorted({a.removeprefix("user:").lower() for a in actors if a and a.startswith("user:")})
    if not names:
        return {}
    rows = session.execute(select(AppUser.username, AppUser.display_name)
                           .where(func.lower(AppUser.username).in_(names))).all()  # fmt: skip
    return {f"user:{u}": d or u for u, d in rows}


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    scope_code: str | None = None,
    display_name: str | None = None,
    staff_code: str | None = None,
) -> AppUser:
    """A new user (administrators only): a plain user name, a password that passes the rule, a role and its scope,
    and optionally their own staff record (their inbox: cases dispatched to them)."""
    authorize(session, actor, "admin", anywhere=True)
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("用户名只能由 2–64 个英文字母、数字和 _ . @ - 组成")
    if session.scalar(select(AppUser.id).where(func.lower(AppUser.username) == username.lower())) is not None:
        raise Conflict(f"用户名已存在：{username}")
    scope_id, scope = resolve_scope(session, role, scope_code)
    staff_id = _staff_for(session, staff_code, username) if staff_code and staff_code.strip() else None
    check_rule(password, username)
    user = AppUser(username=username, display_name=(display_name or "").strip() or None,
                   password_hash=hash_password(password), role=role, scope_grid_id=scope_id,
                   staff_id=staff_id)  # fmt: skip
    session.add(user)
    session.flush()
    staff = {"staff": staff_code.strip()} if staff_id is not None and staff_code else {}
    _audit(session, actor, "user_add", user, role=role, scope=scope, display_name=user.display_name, **staff)
    return user


def _staff_for(session: Session, staff_code: str, username: str) -> int:
    """The live staff record of that code, not linked to another user; ``NotFound`` or ``Conflict`` otherwise."""
    code = staff_code.strip()
    row = session.execute(text("""SELECT s.id, u.username FROM staff s
                                    LEFT JOIN app_user u ON u.staff_id = s.id AND lower(u.username) <> lower(:me)
                                   WHERE s.code = :c AND s.lineage_id IS NULL AND s.valid_to IS NULL
                                   LIMIT 1"""), {"c": code, "me": username}).one_or_none()  # fmt: skip
    if row is None:
        raise NotFound(f"工作人员不存在或已离职：{code}（填写工作人员编码，见“网格工作人员”台帐）")
    if row.username is not None:
        raise Conflict(f"工作人员 {code} 已关联用户 {row.username}：一名工作人员只能关联一个用户，请先解除其关联")
    return int(row.id)


def set_staff(session: Session, actor: Actor, username: str, staff_code: str | None) -> AppUser:
    """Link a user to their own staff record (None: unlink); administrators only. Takes effect on their next
    request (the session reads it)."""
    authorize(session, actor, "admin", anywhere=True)
    user = get_user(session, username)
    code = (staff_code or "").strip() or None
    user.staff_id = _staff_for(session, code, user.username) if code else None
    _audit(session, actor, "user_staff", user, staff=code)
    return user


def staff_choices(session: Session, actor: Actor, timezone: str = DEFAULT_TIMEZONE) -> list[StaffChoice]:
    """Every live staff record with the posts held today and the user linked to it, by code (administrators)."""
    authorize(session, actor, "admin", anywhere=True)
    rows = session.execute(text("""
        SELECT s.code, s.name,
               (SELECT string_agg(r.role || '·' || g.name, '、' ORDER BY g.code, r.role)
                  FROM grid_role r JOIN grid g ON g.id = r.grid_id
                 WHERE r.staff_id = s.id AND r.since <= :today AND (r.until IS NULL OR r.until > :today)) AS posts,
               (SELECT min(u.username) FROM app_user u WHERE u.staff_id = s.id) AS username
          FROM staff s WHERE s.lineage_id IS NULL AND s.valid_to IS NULL ORDER BY s.code"""),
        {"today": day_of(None, timezone)})  # fmt: skip
    return [StaffChoice(r.code, r.name, r.posts or "", r.username) for r in rows]


def list_users(session: Session, actor: Actor) -> list[UserRow]:
    """Every user, by user name (administrators only)."""
    authorize(session, actor, "admin", anywhere=True)
    rows = session.execute(
        select(AppUser, Grid.code, Grid.name, Staff.code, Staff.name, Staff.valid_to)
        .outerjoin(Grid, Grid.id == AppUser.scope_grid_id).outerjoin(Staff, Staff.id == AppUser.staff_id)
        .order_by(func.lower(AppUser.username))
    ).all()  # fmt: skip
    return [
        UserRow(u.id, u.username, u.display_name, u.role, ROLES.label_of(u.role), code, name, u.created_at,
                u.last_login_at, u.disabled_at, u.locked_until, staff_code, staff_name, left is not None)  # fmt: skip
        for u, code, name, staff_code, staff_name, left in rows
    ]


def set_role(session: Session, actor: Actor, username: str, role: str, scope_code: str | None = None) -> AppUser:
    """Give a user another role and scope (administrators only); their open sessions end."""
    authorize(session, actor, "admin", anywhere=True)
    user = get_user(session, username)
    scope_id, scope = resolve_scope(session, role, scope_code)
    _refuse_last_admin(session, user, role != "admin")
    user.role, user.scope_grid_id = role, scope_id
    end_sessions(session, user.id)
    _audit(session, actor, "user_role", user, role=role, scope=scope)
    return user


def set_password(session: Session, actor: Actor, username: str, password: str) -> AppUser:
    """Set a user's password (administrators only); it also lifts a lock and ends their open sessions."""
    authorize(session, actor, "admin", anywhere=True)
    user = get_user(session, username)
    _new_password(session, user, password)
    _audit(session, actor, "user_password", user)
    return user


def change_own_password(session: Session, actor: Actor, old: str, new: str) -> AppUser:
    """A logged-in user changes their own password (the old one must match); their other sessions end."""
    if actor.user_id is None:
        raise InvalidInput("只有登录的用户可以修改自己的密码")
    user = session.get(AppUser, actor.user_id)
    if user is None or user.disabled_at is not None:
        raise NotFound("用户不存在或已停用")
    if not verify_password(user.password_hash, old):
        raise InvalidInput("原密码不正确")
    if old == new:
        raise InvalidInput("新密码不能与原密码相同")
    _new_password(session, user, new)
    _audit(session, actor, "user_password", user, own=True)
    return user


def _new_password(session: Session, user: AppUser, password: str) -> None:
    check_rule(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = _now()
    user.failed_logins, user.locked_until = 0, None
    end_sessions(session, user.id)


def set_disabled(session: Session, actor: Actor, username: str, disabled: bool) -> AppUser:
    """Disable a user (their sessions end at once; the record stays) or enable them again (administrators only)."""
    authorize(session, actor, "admin", anywhere=True)
    user = get_user(session, username)
    if disabled:
        if actor.user_id == user.id:
            raise InvalidInput("不能停用自己的账号")
        _refuse_last_admin(session, user, True)
        user.disabled_at = user.disabled_at or _now()
        end_sessions(session, user.id)
    else:
        if lost_scope(user.role, user.scope_grid_id):
            raise InvalidInput("该用户的范围网格已被删除：请先设置角色与范围（set-role），再启用")
        user.disabled_at, user.failed_logins, user.locked_until = None, 0, None
    _audit(session, actor, "user_disable" if disabled else "user_enable", user)
    return user


def _refuse_last_admin(session: Session, user: AppUser, losing: bool) -> None:
    """Refuse to take the admin role (or the account) from the last active administrator."""
    if not losing or user.role != "admin" or user.disabled_at is not None:
        return
    others = session.scalar(
        select(func.count()).where(AppUser.role == "admin", AppUser.disabled_at.is_(None), AppUser.id != user.id)
    )
    if not others:
        raise Conflict("这是最后一个可用的系统管理员账号，不能停用或降级；请先添加另一个管理员")


def end_sessions(session: Session, user_id: int) -> int:
    """End every open session of a user; returns how many."""
    n = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    ).rowcount  # type: ignore[attr-defined]
    return int(n or 0)


def login(session: Session, username: str, password: str, policy: LoginPolicy) -> LoginResult:
    """Check a user name and password. A wrong password counts against the account; ``policy.max_failures`` in
    a row lock it for ``policy.lock_minutes`` (a right password then fails too, until the time has passed). The
    caller commits whatever the result, so the count is kept."""
    refused = LoginResult(None, "用户名或密码不正确")
    name = username.strip().lower()
    user = session.scalar(select(AppUser).where(func.lower(AppUser.username) == name).with_for_update())
    if user is None:
        verify_password(DUMMY_HASH, password)  # as slow as a wrong password: the name's existence is not told
        return refused
    now = _now()
    if user.locked_until is not None and user.locked_until > now:
        verify_password(DUMMY_HASH, password)
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        return LoginResult(None, f"密码连续输错次数过多，账号已锁定，请约 {minutes} 分钟后再试，或请管理员重设密码")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + dt.timedelta(minutes=policy.lock_minutes)
            user.failed_logins = 0
            return LoginResult(None, f"密码连续输错 {policy.max_failures} 次，账号已锁定 {policy.lock_minutes:g} 分钟")
        return refused
    if user.disabled_at is not None:
        return LoginResult(None, "此账号已停用，请联系系统管理员")
    if lost_scope(user.role, user.scope_grid_id):
        return LoginResult(None, LOST_SCOPE)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user)
