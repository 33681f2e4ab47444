"""The one table that maps domain errors to HTTP status codes, and the handlers that keep every error JSON.

Database errors are translated in one place (:func:`gridgov.db.errors.translate`): an unreachable server
gives 503 ``DatabaseUnavailable``, a cancelled statement 503 ``QueryTimeout``, a deadlock or lock wait 409
``Busy``; any other database error or unexpected exception gives a Chinese JSON 500 (the traceback goes to the
server log with the request id, never to the client). A request that died in a deadlock is run once more
(:class:`RetryOnDeadlock`). Every error body carries ``request_id``, the ``X-Request-ID`` of the response that a
user quotes to the administrator (see ``gridgov.ops.logs``).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgov import errors as e
from gridgov.db.errors import first_line, is_retryable, translate
from gridgov.ops.logs import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)

STATUS: dict[type[e.GridgovError], int] = {
    e.InvalidInput: 422,
    e.NotFound: 404,
    e.Conflict: 409,
    e.StaleVersion: 412,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.TooLarge: 413,
    e.TooManyRequests: 429,
    e.DatabaseUnavailable: 503,
    # Contention is 409 (the request was fine, other writers hold the data: retry after Retry-After seconds);
    # 503 is kept for "the database is down or too slow", which monitoring should alert on.
    e.Busy: 409,
    e.QueryTimeout: 503,
    e.InstallationError: 500,
}
RETRY_AFTER_S = 2  # Retry-After of a Busy response
INTERNAL_MESSAGE = "服务器内部错误，请稍后重试；如持续出现请联系管理员（详情已记录在服务器日志）"
DATABASE_ERROR_MESSAGE = "数据库操作失败，请联系管理员（详情已记录在服务器日志）"
RETRY_HEADER = "x-gridgov-retry"  # internal: marks a response RetryOnDeadlock may discard and run again


def status_for(exc: e.GridgovError) -> int:
    """The HTTP status for a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400


def error_body(detail: str, error: str, details: Any = None) -> dict[str, Any]:
    """An error's JSON body: the Chinese message, the error kind, details, and the request's id."""
    return {"detail": detail, "error": error, "details": details, "request_id": current_request_id()}


def error_response(exc: e.GridgovError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response ``{"detail", "error", "details", "request_id"}`` for a domain error."""
    extra = dict(headers or {})
    if isinstance(exc, e.Unauthenticated):
        extra["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, e.Busy):
        extra["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse(
        status_code=status_for(exc),
        content=error_body(exc.message, type(exc).__name__, exc.details),
        headers=extra or None,
    )


def _internal(error: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=500, content=error_body(message, error))


class Pages(Protocol):
    """How a face shows errors to browsers (``gridgov.web.errors``): who wants a page, and the page."""

    def wants_html(self, request: Request) -> bool:
        """Whether this request should get a page rather than JSON."""

    def page_error(self, request: Request, status: int, message: str, details: Any = None) -> Response:
        """The page for an error."""


def install(app: FastAPI, pages: Pages | None = None) -> None:
    """Register the handlers that turn domain, database and unexpected errors into JSON (or, for a browser asking
    for a page, into ``pages``' Chinese page with the same status and message), and the deadlock retry."""

    def respond(request: Request, response: JSONResponse) -> Response:
        if pages is None or not pages.wants_html(request):
            return response
        body = json.loads(bytes(response.body))
        page = pages.page_error(request, response.status_code, body["detail"], body.get("details"))
        for name in ("Retry-After", RETRY_HEADER):
            if name in response.headers and page.status_code == response.status_code:
                page.headers[name] = response.headers[name]
        return page

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, e.GridgovError)
        return respond(request, error_response(exc))

    async def handle_database(request: Request, exc: Exception) -> Response:
        timeout_s = getattr(getattr(request.app.state, "settings", None), "statement_timeout_s", None)
        domain = translate(exc, timeout_s=timeout_s)
        if domain is None:  # a bug or an unmigrated schema: log it all, show no SQL
            log.error("数据库错误：%s %s", request.method, request.url.path, exc_info=exc)
            return respond(request, _internal("DatabaseError", DATABASE_ERROR_MESSAGE))
        log.warning("%s %s：%s（%s）", request.method, request.url.path, type(domain).__name__, first_line(exc))
        return respond(request, error_response(domain, {RETRY_HEADER: "1"} if is_retryable(exc) else None))

    async def handle_unexpected(request: Request, exc: Exception) -> Response:
        # Logged here, with the request id; uvicorn's copy of the traceback (Starlette re-raises the exception
        # after this response) is dropped by the log configuration (gridgov.ops.logs).
        log.error("未处理的错误：%s %s", request.method, request.url.path, exc_info=exc)
        response = respond(request, _internal("InternalError", INTERNAL_MESSAGE))
        request_id = current_request_id()
        if request_id:  # this handler answers outside the middleware that sets the header on other responses
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    async def handle_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [{"loc": list(err.get("loc", ())), "msg": _message_zh(err), "type": err.get("type", "")}
                    for err in exc.errors()]  # fmt: skip
        listed = "；".join(f"{_where(p['loc'])}：{p['msg']}" for p in problems[:5])
        more = f"（另有 {len(problems) - 5} 处）" if len(problems) > 5 else ""
        body = error_body(f"请求参数有误：{listed}{more}", "InvalidInput", problems)
        return respond(request, JSONResponse(status_code=422, content=body))

    async def handle_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error, message = HTTP_ZH.get(exc.status_code, ("HTTPError", f"请求失败（HTTP {exc.status_code}）"))
        if isinstance(exc.detail, str) and _is_chinese(exc.detail):
            message = exc.detail
        return respond(request, JSONResponse(status_code=exc.status_code, headers=getattr(exc, "headers", None),
                                             content=error_body(message, error)))  # fmt: skip

    app.add_exception_handler(RequestValidationError, handle_invalid)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(e.GridgovError, handle)
    for cls in (sa.DBAPIError, sa.TimeoutError, psycopg.Error):
        app.add_exception_handler(cls, handle_database)
    app.add_exception_handler(Exception, handle_unexpected)
    app.add_middleware(RetryOnDeadlock)


# Framework errors (routing, unreadable bodies) in the same JSON shape, in Chinese.
HTTP_ZH: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "请求体无法解析：请检查 JSON 或表单格式"),
    404: ("NotFound", "地址不存在"),
    405: ("MethodNotAllowed", "此地址不支持该请求方法"),
    413: ("TooLarge", "请求体过大"),
    415: ("UnsupportedMediaType", "不支持的内容类型"),
    428: ("PreconditionRequired", "缺少 If-Match 请求头：请先读取记录，带上它的 ETag 再修改"),
}
# Pydantic's error types, in Chinese (the message of a validator that speaks Chinese is kept as it is).
PYDANTIC_ZH = {
    "missing": "缺少必填项",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "string_pattern_mismatch": "格式不正确",
    "too_long": "项数过多",
    "too_short": "项数过少",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "list_type": "应为列表",
}
FIELD_ZH = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头", "form": "表单"}


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _where(loc: list[object]) -> str:
    parts = [FIELD_ZH.get(str(p), str(p)) for p in loc]
    return " → ".join(parts) if parts else "请求"


def _message_zh(err: dict[str, object]) -> str:
    """A Chinese message for one pydantic error."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", ""))
    raw = err.get("ctx")
    ctx: dict[str, object] = raw if isinstance(raw, dict) else {}
    custom = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if _is_chinese(custom):
        return custom
    if kind in ("literal_error", "enum"):
        return f"取值不在允许范围内（可选 {ctx.get('expected', '')}）"
    if kind in PYDANTIC_ZH:
        limit = next((ctx[k] for k in ("gt", "ge", "lt", "le", "max_length", "min_length") if k in ctx), None)
        return PYDANTIC_ZH[kind] + (f"（界限 {limit}）" if limit is not None else "")
    if kind.endswith(("_parsing", "_type")):
        return "格式或类型不正确"
    return "取值无效"


class RetryOnDeadlock:
    """Run a request once more when its transaction died in a deadlock (PostgreSQL rolled it back).

    The request body is kept (up to ``max_body`` bytes) so it can be replayed; the first response is discarded
    when the database handler marked it retryable. A larger body, or a second deadlock, gets the 409 ``Busy``.
    """

    def __init__(self, app: ASGIApp, max_body: int = 8 * 1024 * 1024, attempts: int = 2) -> None:
        self.app = app
        self.max_body = max_body
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body, run the app, and run it again if the response asks for a retry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kept: list[Message] = []
        size, complete = 0, False
        while not complete and size <= self.max_body:
            message = await receive()
            kept.append(message)
            size += len(message.get("body", b""))
            complete = message["type"] != "http.request" or not message.get("more_body", False)
        for attempt in range(1, self.attempts + 1):
            may_retry = complete and attempt < self.attempts
            if not await self._attempt(dict(scope), list(kept), receive, send, may_retry):
                return
            log.warning("%s %s：死锁，事务已回滚，重试第 %d 次", scope.get("method"), scope.get("path"), attempt)

    async def _attempt(self, scope: Scope, queue: list[Message], receive: Receive, send: Send, may_retry: bool) -> bool:
        """One run of the app; True when its response was discarded for a retry."""
        discarded = False

        async def replay() -> Message:
            return queue.pop(0) if queue else await receive()

        async def forward(message: Message) -> None:
            nonlocal discarded
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                marked = [h for h in headers if h[0].lower() == RETRY_HEADER.encode()]
                if marked and may_retry:
                    discarded = True
                    return
                if marked:
                    message = {**message, "headers": [h for h in headers if h not in marked]}
            if not discarded:
                await send(message)

        await self.app(scope, replay, forward)
        return discarded
