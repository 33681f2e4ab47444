"""CSRF protection for cookie-authenticated writes: asgi-csrf's double-submit cookie, checked against the form's
``csrftoken`` field or the ``x-csrftoken`` header. Requests with an API token (``Authorization: Bearer``) or with
no cookies at all carry no ambient authority and pass; the login form is always protected."""

from __future__ import annotations

import json
from typing import Any

from asgi_csrf import asgi_csrf
from starlette.requests import Request
from starlette.types import ASGIApp, Scope, Send

from gridgov.web.errors import page_error, wants_html

MESSAGE = "表单已过期或来源不明（缺少 CSRF 令牌），请刷新页面后重试"


async def _failed(scope: Scope, send: Send, _code: Any) -> None:
    """A 403 in Chinese: a page for browsers, JSON for the API."""
    request = Request(scope)
    if wants_html(request):
        response = page_error(request, 403, MESSAGE)
        await response(scope, _no_receive, send)
        return
    body = json.dumps({"detail": MESSAGE + "（浏览器中的写操作须带 x-csrftoken 请求头）", "error": "Forbidden",
                       "details": None}, ensure_ascii=False).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def csrf_protect(app: ASGIApp, secret: str, cookie_secure: bool = False) -> ASGIApp:
    """``app`` behind the CSRF check (use as ``app.add_middleware(csrf_protect, secret=…)``)."""
    return asgi_csrf(app, signing_secret=secret, always_protect={"/login"}, cookie_secure=cookie_secure,  # type: ignore[no-any-return]
                     cookie_samesite="Lax", send_csrf_failed=_failed)  # fmt: skip
