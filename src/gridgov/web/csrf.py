"""CSRF protection for cookie-authenticated writes: asgi-csrf's double-submit cookie, checked against the form's
``csrftoken`` field or the ``x-csrftoken`` header. Requests with an API token (``Authorization: Bearer``) or with
no cookies at all carry no ambient authority and pass; the login form is always protected."""

from __future__ import annotations

import json
from typing import Any

import asgi_csrf as asgi_csrf_module
from asgi_csrf import asgi_csrf
from python_multipart import FormParser
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gridgov.api.errors import error_body
from gridgov.web.errors import page_error, wants_html

MESSAGE = "表单已过期或来源不明（缺少 CSRF 令牌），请刷新页面后重试"


async def _failed(scope: Scope, send: Send, _code: Any) -> None:
    """A 403 in Chinese: a page for browsers, JSON for the API."""
    request = Request(scope)
    if wants_html(request):
        response = page_error(request, 403, MESSAGE)
        await response(scope, _no_receive, send)
        return
    body = json.dumps(error_body(MESSAGE + "（浏览器中的写操作须带 x-csrftoken 请求头）", "Forbidden"),
                      ensure_ascii=False).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def _file_before_token(_file: Any) -> None:
    """A file part came before the ``csrftoken`` field: refused (forms put the token first)."""
    raise asgi_csrf_module.FileBeforeToken


async def _multipart_token(boundary: bytes, receive: Receive) -> tuple[str | None, Receive]:
    """asgi-csrf's scan of a multipart body for ``csrftoken``, on python-multipart >= 0.0.26, whose FormParser no
    longer takes ``FileClass`` (simonw/asgi-csrf#38): the token, and a ``receive`` that replays what was read."""
    messages: list[Any] = []

    async def replay_receive() -> Any:
        return messages.pop(0) if messages else await receive()

    def on_field(field: Any) -> None:
        if field.field_name == b"csrftoken":
            raise asgi_csrf_module.TokenFound((field.value or b"").decode("utf-8"))

    parser = FormParser("multipart/form-data", on_field, _file_before_token, boundary=boundary)
    more_body = True
    try:
        while more_body:
            message = await receive()
            messages.append(message)
            parser.write(message.get("body", b""))
            more_body = message.get("more_body", False)
    except asgi_csrf_module.TokenFound as found:
        return found.args[0], replay_receive
    return None, replay_receive


asgi_csrf_module._parse_multipart_form_data = _multipart_token  # until asgi-csrf ships simonw/asgi-csrf#39


def csrf_protect(app: ASGIApp, secret: str, cookie_secure: bool = False) -> ASGIApp:
    """``app`` behind the CSRF check (use as ``app.add_middleware(csrf_protect, secret=…)``)."""
    return asgi_csrf(app, signing_secret=secret, always_protect={"/login"}, cookie_secure=cookie_secure,  # type: ignore[no-any-return]
                     cookie_samesite="Lax", send_csrf_failed=_failed)  # fmt: skip
