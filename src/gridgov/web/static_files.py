"""The workspace's own static files (``/static/app/<name>``): a fixed table, no path from the URL reaches the disk."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from gridgov.errors import NotFound

router = APIRouter(include_in_schema=False)

FILES: dict[str, str] = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "incident.css": "text/css; charset=utf-8",
    "incident.js": "text/javascript; charset=utf-8",
    "party_duty.js": "text/javascript; charset=utf-8",
}


@router.get("/static/app/{name}")
def app_static(name: str) -> Response:
    """The files of FILES, nothing else."""
    media_type = FILES.get(name)
    if media_type is None:
        raise NotFound(f"未找到静态资源：{name}")
    data = (resources.files("gridgov") / "web" / "static" / name).read_bytes()
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})
