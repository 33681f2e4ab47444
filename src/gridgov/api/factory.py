"""The application factory: settings → engine → routers, error table, offline docs and static files."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from gridgov import __version__
from gridgov.api import errors
from gridgov.api.dependencies import ClientLimiter
from gridgov.api.options import MethodsMiddleware
from gridgov.api.responses import ERRORS, declare_errors
from gridgov.api.routes import boards, editor, grids, health, imports, ledger, locate, maps, meta, tokens, web
from gridgov.api.schemas import Health
from gridgov.auth.keys import derive, load_or_create_key
from gridgov.config import Settings, get_settings
from gridgov.db.engine import get_engine
from gridgov.maps import assets
from gridgov.web import errors as web_errors
from gridgov.web import static_files
from gridgov.web.csrf import csrf_protect
from gridgov.web.pages import account

SESSION_COOKIE = "gridgov_session"

DESCRIPTION = """网格化管理服务：街道 → 社区 → 楼院三级网格、台帐与网格图。

写操作需要令牌（`Authorization: Bearer <令牌>`，`gridgov token create` 生成）或浏览器登录会话；
浏览器中的写操作还须带 `x-csrftoken` 请求头（取自页面的 `csrf-token`）。"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the FastAPI app for these settings (the engine is created lazily from them if not given)."""
    s = settings or get_settings()
    app = FastAPI(
        title="gridgov 网格化管理 API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served below from local swagger-ui assets: users are offline
        redoc_url=None,
    )
    app.state.settings = s
    app.state.engine = engine or get_engine(s)
    app.state.limiter = ClientLimiter()
    errors.install(app, pages=web_errors)
    # One error table for every route (see api/responses.py); /healthz reports 503 as its own Health body.
    app.include_router(health.router, responses={**ERRORS, 503: {"model": Health, "description": "数据库不可用"}})
    for router in (meta, grids, locate, tokens, imports, ledger, maps, boards, web, editor):
        app.include_router(router.router, responses=ERRORS)
    for page in (account, static_files):
        app.include_router(page.router)
    key = s.secret_key or load_or_create_key(s.home_abs / "secret_key")
    # Middleware, innermost first (each add wraps the ones before).
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=derive(key, "session"), session_cookie=SESSION_COOKIE,
                       max_age=int(s.session_hours * 3600), same_site="lax", https_only=s.cookie_secure)  # fmt: skip
    app.add_middleware(csrf_protect, secret=derive(key, "csrf"), cookie_secure=s.cookie_secure)
    app.add_middleware(locate.LocateFastPath)  # outermost: plain lookups skip the stack

    def openapi() -> dict[str, Any]:
        return declare_errors(FastAPI.openapi(app))

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="gridgov API 文档",
            swagger_js_url=assets.vendor_url(assets.SWAGGER_UI_JS),
            swagger_css_url=assets.vendor_url(assets.SWAGGER_UI_CSS),
            swagger_favicon_url=assets.vendor_url(assets.SWAGGER_UI_FAVICON),
        )

    @app.get("/static/vendor/{path:path}", include_in_schema=False)
    def vendor(path: str) -> FileResponse:
        # Only whitelisted files from pinned npm packages; anything else is NotFound → 404.
        return FileResponse(assets.resolve_vendor(path, s.node_modules, cache_dir=s.home_abs / "vendor-cache"))

    return app
