"""Errors as Chinese pages for browsers (the API keeps its JSON): who gets a page, and the page itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from gridgov.ops.logs import current_request_id
from gridgov.web.templating import render

# Paths that always answer JSON (machines), whatever the Accept header says.
JSON_PREFIXES = ("/api/", "/openapi.json", "/healthz", "/static/")

HEADINGS = {
    400: "请求有误",
    401: "需要登录",
    403: "没有权限",
    404: "页面或数据不存在",
    405: "不支持的操作",
    409: "操作冲突",
    412: "数据已被他人修改",
    413: "文件过大",
    422: "输入有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def wants_html(request: Request) -> bool:
    """Whether the client is a browser asking for a page (not the API, and it accepts HTML)."""
    path = request.url.path
    if path == "/api" or path.startswith(JSON_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def page_error(request: Request, status: int, message: str, details: Any = None) -> Response:
    """The Chinese error page for ``status`` with the request's id to quote; a browser that must log in first is
    sent to the login page."""
    if status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}&why={quote(message)}", status_code=303)
    listed = [str(d) for d in details[:20]] if isinstance(details, list) and details and isinstance(
        details[0], str) else []  # fmt: skip
    return render(request, "error.html", actor=getattr(request.state, "actor", None), status_code=status,
                  heading=HEADINGS.get(status, "出错了"), message=message, details=listed, status=status,
                  tone="danger" if status >= 500 else "warning",
                  request_id=current_request_id())  # fmt: skip
