"""Logging in and out, and changing one's own password."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gridgov.api.dependencies import SESSION_KEY, ActorDep, SessionDep, SettingsDep, session_policy, session_secret
from gridgov.auth.sessions import end_session, session_actor, start_session
from gridgov.auth.users import LoginPolicy, change_own_password, login
from gridgov.errors import InvalidInput, NotFound, Unauthenticated
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = "/", why: str | None = None
) -> Response:
    """The login form (a logged-in user goes straight on)."""
    secret = session_secret(request)
    if secret is not None:
        try:
            session_actor(session, secret, session_policy(settings))
            return RedirectResponse(safe_next(next), status_code=303)
        except Unauthenticated:
            request.session.clear()
    return render(request, "login.html", title="登录", next=safe_next(next), notice=why)


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success a new session (the old cookie's content is dropped) and on to ``next``."""
    policy = LoginPolicy(max_failures=settings.login_max_failures, lock_minutes=settings.login_lock_minutes)
    result = login(session, username, password, policy) if username and password else None
    if result is None or result.user is None:
        message = result.message if result else "请输入用户名和密码"
        return render(request, "login.html", title="登录", status_code=401, error=message, username=username,
                      next=safe_next(next))  # fmt: skip
    address = request.client.host if request.client else None
    secret = start_session(session, result.user, session_policy(settings), address)
    request.session.clear()
    request.session[SESSION_KEY] = secret
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """End the session (server side too) and go back to the login page."""
    secret = session_secret(request)
    if secret is not None:
        end_session(session, secret)
    request.session.clear()
    return RedirectResponse("/login?why=" + quote("已退出登录"), status_code=303)


@router.get("/account/password")
def password_page(request: Request, who: ActorDep) -> Response:
    """The form to change one's own password."""
    return render(request, "password.html", actor=who, title="修改密码")


@router.post("/account/password")
def password_submit(
    request: Request,
    session: SessionDep,
    who: ActorDep,
    old: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
    again: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Change the password; the other sessions end, this one is renewed."""
    try:
        if new != again:
            raise InvalidInput("两次输入的新密码不一致")
        user = change_own_password(session, who, old, new)
    except (InvalidInput, NotFound) as exc:
        return render(request, "password.html", actor=who, title="修改密码", status_code=422, error=exc.message)
    secret = start_session(session, user, session_policy(request.app.state.settings),
                           request.client.host if request.client else None)  # fmt: skip
    request.session.clear()
    request.session[SESSION_KEY] = secret
    return render(request, "password.html", actor=who, title="修改密码", done=True)
