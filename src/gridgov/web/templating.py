"""Rendering pages: one Jinja2 environment, the navigation a role may see, and the context every page gets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from gridgov import __version__
from gridgov.auth.scope import Action, Actor, may
from gridgov.geo.crs import POINT_CRS_CHOICES
from gridgov.maps.vendor import vendor_url
from gridgov.vocab import LEVEL_ZH

BOOTSTRAP_CSS = "bootstrap/dist/css/bootstrap.min.css"
BOOTSTRAP_JS = "bootstrap/dist/js/bootstrap.bundle.min.js"


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation: shown to roles allowed ``action``."""

    key: str
    label: str
    url: str
    action: Action


NAV: tuple[NavItem, ...] = (
    NavItem("home", "首页", "/", "read"),
    NavItem("grids", "网格", "/grids", "read"),
    NavItem("households", "住户", "/households", "personal"),
    NavItem("ledger", "台帐", "/ledger", "read"),
    NavItem("boards", "公示牌", "/boards", "read"),
    NavItem("maps", "地图", "/maps", "read"),
    NavItem("incidents", "事件", "/incidents", "read"),
    NavItem("patrol", "巡逻", "/patrol", "patrol"),
    NavItem("party", "党建", "/party", "personal"),
    NavItem("imports", "数据导入", "/imports", "patrol"),
    NavItem("jobs", "任务", "/jobs", "read"),
    NavItem("users", "用户", "/users", "admin"),
    NavItem("vocab", "词表", "/vocab", "admin"),
    NavItem("incident_admin", "事件设置", "/admin/incident-rules", "admin"),
)


def nav_for(actor: Actor | None) -> list[NavItem]:
    """The entries this actor may use (none before login)."""
    return [item for item in NAV if may(actor, item.action)]


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The pages' Jinja2 environment (templates from the package; HTML autoescaped)."""
    env = Environment(loader=PackageLoader("gridgov", "web/templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.globals.update(vendor_url=vendor_url, BOOTSTRAP_CSS=BOOTSTRAP_CSS, BOOTSTRAP_JS=BOOTSTRAP_JS,
                       LEVEL_ZH=LEVEL_ZH, POINT_CRS_CHOICES=POINT_CRS_CHOICES, version=__version__)  # fmt: skip
    env.filters["num"] = lambda v: "" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"
    env.filters["when"] = _when
    return env


@pass_context
def _when(context: Context, value: dt.datetime | None) -> str:
    """A moment in the installation's time zone, as people write it."""
    if value is None:
        return ""
    zone = context["request"].app.state.settings.timezone
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def csrf_token(request: Request) -> str:
    """The CSRF token for this page's forms (asgi-csrf sets its cookie when a page asks for it)."""
    make = request.scope.get("csrftoken")
    return str(make()) if callable(make) else ""


def render(
    request: Request, template: str, *, actor: Actor | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page: the template with the navigation, the user, the CSRF token and ``context``."""
    html = environment().get_template(template).render(
        request=request, actor=actor, nav=nav_for(actor), csrf=csrf_token(request),
        active=context.pop("active", None), **context,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
