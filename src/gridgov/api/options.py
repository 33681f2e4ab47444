"""``OPTIONS`` and ``HEAD`` for every route, and a truthful ``Allow`` header on 405.

Starlette answers ``OPTIONS`` with 405 and ``HEAD`` on FastAPI's GET routes with 405, and its 405 lists only
the methods of the first route that matched the path. This ASGI middleware works out the resource a path
names — the path template of the first route that matches it, as the router would pick it — and the methods
of every route with that template:

* ``OPTIONS`` → 204 with ``Allow: <methods>, HEAD (if GET), OPTIONS``; 404 (JSON error) for unknown paths;
* ``HEAD`` where only ``GET`` is routed → the GET response without its body;
* any 405 → its ``Allow`` header replaced by the full list.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgov.api.errors import error_body

ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def flat_routes(app: Any) -> list[Any]:
    """The app's routes in dispatch order, with included routers flattened (FastAPI ≥ 0.16x includes lazily)."""
    routes = list(getattr(app, "routes", []))
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        return routes
    return list(iter_route_contexts(routes))


def _methods(route: Any) -> set[str]:
    methods = getattr(route, "methods", None)
    if methods:
        return {m.upper() for m in methods}
    if isinstance(getattr(route, "original_route", route), Mount):
        return {"GET", "HEAD"}
    return set(ORDER) if isinstance(route, Route) else set()


def _template(route: Any) -> str:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else ""


def allowed_methods(routes: list[Any], scope: Scope) -> list[str] | None:
    """The methods of the resource this request's path names (None when no route matches the path)."""
    template: str | None = None
    methods: set[str] = set()
    for route in routes:
        if route.matches(scope)[0] == Match.NONE:  # PARTIAL: the path matches, the method does not
            continue
        if template is None:
            template = _template(route)
        if _template(route) == template:
            methods |= _methods(route)
    if template is None:
        return None
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return [m for m in ORDER if m in methods] + sorted(methods - set(ORDER))


class MethodsMiddleware:
    """Answer ``OPTIONS``, serve ``HEAD`` from ``GET``, and complete ``Allow`` on 405 (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        routes = flat_routes(scope.get("app"))
        allow = allowed_methods(routes, scope)
        method = scope["method"]
        if method == "OPTIONS" and (allow is None or not _routed(routes, scope, "OPTIONS")):
            await _options(allow, send)
            return
        if method == "HEAD" and allow is not None and "GET" in allow and not _routed(routes, scope, "HEAD"):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        await self.app(scope, receive, _complete_allow(send, allow))


def _routed(routes: list[Any], scope: Scope, method: str) -> bool:
    """Whether some route handles ``method`` on this path itself."""
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] == Match.FULL and method in _methods(route) for route in routes)


async def _options(allow: list[str] | None, send: Send) -> None:
    if allow is None:
        body = json.dumps(error_body("路径不存在", "NotFound"), ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    headers = [(b"allow", ", ".join(allow).encode())]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _without_body(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return wrapped


def _complete_allow(send: Send, allow: list[str] | None) -> Send:
    if allow is None:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers: list[Any] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            headers.append((b"allow", ", ".join(allow).encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
