"""The application factory: settings → engine → routers, error table, offline docs and static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from gridgov import __version__
from gridgov.api import errors, open311
from gridgov.api.dependencies import ClientLimiter
from gridgov.api.options import MethodsMiddleware
from gridgov.api.responses import ERRORS, declare_errors
from gridgov.api.routes import (
    boards,
    editor,
    grids,
    health,
    imports,
    incident_admin,
    incident_kpi,
    incidents,
    jobs,
    ledger,
    locate,
    maps,
    meta,
    party_activity,
    party_check,
    party_orgs,
    patrol_attendance,
    patrol_rosters,
    patrol_teams,
    records,
    staffing,
    tokens,
    vocab,
    web,
)
from gridgov.api.schemas import Health
from gridgov.auth.keys import derive, load_or_create_key
from gridgov.config import Settings, get_settings
from gridgov.db.engine import get_engine
from gridgov.db.errors import first_line
from gridgov.jobs.periodic import Periodic
from gridgov.jobs.runner import JobRunner
from gridgov.jobs.store import fail_interrupted
from gridgov.maps import assets
from gridgov.ops.logs import REQUEST_ID_HEADER, AccessLog, new_request_id, valid_request_id
from gridgov.web import errors as web_errors
from gridgov.web import static_files
from gridgov.web.csrf import csrf_protect
from gridgov.web.pages import account, home, maps_pages, patrol_hub, users
from gridgov.web.pages import boards as board_pages
from gridgov.web.pages import grids as grid_pages
from gridgov.web.pages import imports as import_pages
from gridgov.web.pages import incident_admin as incident_admin_pages
from gridgov.web.pages import incident_kpi as incident_kpi_pages
from gridgov.web.pages import incidents as incident_pages
from gridgov.web.pages import jobs as job_pages
from gridgov.web.pages import ledger as ledger_pages
from gridgov.web.pages import party_activity as party_activity_pages
from gridgov.web.pages import party_check as party_check_pages
from gridgov.web.pages import party_orgs as party_org_pages
from gridgov.web.pages import patrol_attendance as patrol_report_pages
from gridgov.web.pages import patrol_rosters as patrol_roster_pages
from gridgov.web.pages import patrol_teams as patrol_team_pages
from gridgov.web.pages import records as record_pages
from gridgov.web.pages import staffing as staffing_pages
from gridgov.web.pages import vocab as vocab_pages

SESSION_COOKIE = "gridgov_session"
log = logging.getLogger(__name__)

DESCRIPTION = """网格化管理服务：街道 → 社区 → 楼院三级网格、台帐与网格图。

写操作需要令牌（`Authorization: Bearer <令牌>`，`gridgov token create` 生成）或浏览器登录会话；
浏览器中的写操作还须带 `x-csrftoken` 请求头（取自页面的 `csrf-token`）。"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the FastAPI app for these settings (the engine is created lazily from them if not given)."""
    s = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _start_jobs(app)
        sweep = _incident_sweep(app) if s.escalate_overdue else None
        yield
        if sweep is not None:
            sweep.stop()
        app.state.jobs.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="gridgov 网格化管理 API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served below from local swagger-ui assets: users are offline
        redoc_url=None,
    )
    app.state.settings = s
    app.state.engine = engine or get_engine(s)
    app.state.limiter = ClientLimiter()
    app.state.jobs = JobRunner(app.state.engine, s.home_abs / "jobs")
    errors.install(app, pages=web_errors)
    # One error table for every route (see api/responses.py); /healthz reports 503 as its own Health body.
    app.include_router(health.router, responses={**ERRORS, 503: {"model": Health, "description": "数据库不可用"}})
    for router in (meta, grids, locate, tokens, imports, jobs, ledger, maps, boards, web, editor, records, staffing,
                   vocab, patrol_teams, patrol_rosters, patrol_attendance, incidents, incident_kpi, incident_admin,
                   open311, party_orgs, party_activity, party_check):
        app.include_router(router.router, responses=ERRORS)
    for page in (account, home, grid_pages, staffing_pages, record_pages, ledger_pages, board_pages, maps_pages,
                 import_pages, job_pages, users, vocab_pages, patrol_hub, patrol_team_pages, patrol_roster_pages,
                 patrol_report_pages, incident_pages, incident_kpi_pages, incident_admin_pages, party_org_pages,
                 party_activity_pages, party_check_pages, static_files):
        app.include_router(page.router)
    key = s.secret_key or load_or_create_key(s.home_abs / "secret_key")
    # Middleware, innermost first (each add wraps the ones before).
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=derive(key, "session"), session_cookie=SESSION_COOKIE,
                       max_age=int(s.session_hours * 3600), same_site="lax", https_only=s.cookie_secure)  # fmt: skip
    app.add_middleware(csrf_protect, secret=derive(key, "csrf"), cookie_secure=s.cookie_secure)
    app.add_middleware(locate.LocateFastPath)  # plain lookups skip the stack below
    app.add_middleware(AccessLog)
    # Outermost: every response (the fast lookups too) carries X-Request-ID and every log line of the request
    # its id. A proxy's id is kept only when it is a plain short token.
    app.add_middleware(CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, generator=new_request_id,
                       validator=valid_request_id)  # fmt: skip

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


def _incident_sweep(app: FastAPI) -> Periodic:
    """Escalate overdue incidents every ``sweep_minutes`` (gridgov.incidents.sweep), in a thread of its own."""
    settings: Settings = app.state.settings

    def work(session: Session) -> None:
        from gridgov.incidents.sweep import escalate_overdue
        from gridgov.workdays import calendar_for

        result = escalate_overdue(session, calendar_for(session, settings))
        if result.total:
            log.info("超期事件自动上报：%s", result.escalated)

    return Periodic(app.state.engine, "incident_sweep", settings.sweep_minutes * 60, work).start()


def _start_jobs(app: FastAPI) -> None:
    """Mark as failed the jobs of server processes that stopped (the database may be down: then later)."""
    try:
        with Session(app.state.engine) as session, session.begin():
            n = fail_interrupted(session)
        if n:
            log.warning("%d 个后台任务因服务重启而中断", n)
    except Exception as exc:  # noqa: BLE001 - a server must start even when the database is not up yet
        log.warning("启动时无法检查后台任务：%s", first_line(exc))
