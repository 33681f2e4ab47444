"""The grid editor page (/editor) and its static files.

The page is plain HTML/JS/CSS shipped as package data in ``gridgov/web``; it loads Leaflet and Geoman
from ``/static/vendor/`` (pinned npm copies, see :mod:`gridgov.maps.assets`) and talks to the JSON API.
Nothing here touches the database: the page reads ``?parent=<community code>`` itself.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from gridgov.errors import NotFound

router = APIRouter(include_in_schema=False)

# The only files /static/editor/ serves (a fixed table: no path from the URL ever reaches the file system).
FILES: dict[str, str] = {
    "editor.html": "text/html; charset=utf-8",
    "editor.js": "text/javascript; charset=utf-8",
    "editor.css": "text/css; charset=utf-8",
}

# Everything the page loads comes from this server (users are offline); a stray external URL is blocked
# by the browser instead of hanging on an intranet without internet.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)


def _file(name: str) -> Response:
    media_type = FILES.get(name)
    if media_type is None:
        raise NotFound(f"未找到静态资源：{name}")
    data = (resources.files("gridgov") / "web" / name).read_bytes()
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/editor")
def editor_page(parent: str | None = None) -> Response:
    """The editor (``?parent=<community code>``; without it the page offers a list of communities)."""
    resp = _file("editor.html")
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@router.get("/static/editor/{name}")
def editor_static(name: str) -> Response:
    """editor.js / editor.css / editor.html, nothing else."""
    return _file(name)
