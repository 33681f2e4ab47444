"""用户: the administrator manages users (roles, scopes, passwords, last login)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gridgov.api.dependencies import AdminDep, SessionDep
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user, list_users, set_disabled, set_password, set_role, set_staff, staff_choices
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.grids.service import list_grids
from gridgov.vocab import LEVEL_ZH, ROLE_SCOPE_LEVELS, ROLES
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]
OptionalText = Annotated[str, Form(max_length=200)]
Secret = Annotated[str, Form(max_length=1000)]


def _page(request: Request, session: SessionDep, who: Actor, status_code: int = 200, **context: object) -> Response:
    levels = {level for allowed in ROLE_SCOPE_LEVELS.values() for level in allowed}  # any role's scope level
    scopes = [g for g in list_grids(session, with_geometry=False) if g.level in levels]
    return render(request, "users.html", actor=who, active="users", title="用户", status_code=status_code,
                  users=list_users(session, who), roles=[(r, ROLES.label_of(r)) for r in ROLES],
                  scope_levels={r: "、".join(LEVEL_ZH[v] for v in ROLE_SCOPE_LEVELS[r]) for r in ROLES},
                  scopes=scopes, staff=staff_choices(session, who, request.app.state.settings.timezone),
                  **context)  # fmt: skip


def _done(message: str) -> Response:
    return RedirectResponse(f"/users?done={quote(message)}", status_code=303)


@router.get("/users")
def users_page(request: Request, session: SessionDep, who: AdminDep, done: str | None = None) -> Response:
    """Every user with role, scope, last login and state; forms to add and change them."""
    return _page(request, session, who, messages=[("success", done)] if done else [])


@router.post("/users")
def users_add(
    request: Request,
    session: SessionDep,
    who: AdminDep,
    username: Text,
    role: Text,
    password: Secret,
    display_name: OptionalText = "",
    scope: OptionalText = "",
    staff: OptionalText = "",
) -> Response:
    """Add a user; on a refusal the form comes back with the reason."""
    try:
        with session.begin_nested():  # a refusal leaves nothing behind
            add_user(session, who, username, password, role, scope or None, display_name or None,
                     staff_code=_code(staff))  # fmt: skip
    except (InvalidInput, Conflict, NotFound) as exc:
        form = {"username": username, "display_name": display_name, "role": role, "scope": scope, "staff": staff}
        return _page(request, session, who, status_code=422, messages=[("danger", f"未添加：{exc.message}")], form=form)
    return _done(f"已添加用户 {username}")


@router.post("/users/{username}/role")
def users_role(request: Request, session: SessionDep, who: AdminDep, username: str, role: Text,
               scope: OptionalText = "") -> Response:  # fmt: skip
    """Change a user's role and scope (their sessions end)."""
    try:
        with session.begin_nested():
            set_role(session, who, username, role, scope or None)
    except (InvalidInput, Conflict, NotFound) as exc:
        return _page(request, session, who, status_code=422, messages=[("danger", f"{username}：{exc.message}")])
    return _done(f"{username} 的角色已修改")


def _code(picked: str) -> str | None:
    """The staff code of the picker's value ("S1 王网格 …": the code comes first), None when left empty."""
    return picked.split(maxsplit=1)[0] if picked.strip() else None


@router.post("/users/{username}/staff")
def users_staff(request: Request, session: SessionDep, who: AdminDep, username: str,
                staff: OptionalText = "") -> Response:  # fmt: skip
    """Link a user to their own staff record (their inbox), or unlink them (an empty field)."""
    code = _code(staff)
    try:
        with session.begin_nested():
            set_staff(session, who, username, code)
    except (InvalidInput, Conflict, NotFound) as exc:
        return _page(request, session, who, status_code=422, messages=[("danger", f"{username}：{exc.message}")])
    return _done(f"{username} 已关联工作人员 {code}" if code else f"{username} 已解除与工作人员的关联")


@router.post("/users/{username}/password")
def users_password(request: Request, session: SessionDep, who: AdminDep, username: str, password: Secret) -> Response:
    """Set a new password (lifts a lock, ends their sessions)."""
    try:
        with session.begin_nested():
            set_password(session, who, username, password)
    except (InvalidInput, NotFound) as exc:
        return _page(request, session, who, status_code=422, messages=[("danger", f"{username}：{exc.message}")])
    return _done(f"{username} 的密码已重设")


@router.post("/users/{username}/disable")
def users_disable(request: Request, session: SessionDep, who: AdminDep, username: str) -> Response:
    """Disable a user (the record stays; their sessions end)."""
    try:
        with session.begin_nested():
            set_disabled(session, who, username, True)
    except (InvalidInput, Conflict, NotFound) as exc:
        return _page(request, session, who, status_code=422, messages=[("danger", f"{username}：{exc.message}")])
    return _done(f"{username} 已停用")


@router.post("/users/{username}/enable")
def users_enable(session: SessionDep, who: AdminDep, username: str) -> Response:
    """Enable a user again (and lift a lock)."""
    set_disabled(session, who, username, False)
    return _done(f"{username} 已启用")
