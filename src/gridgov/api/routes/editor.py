"""The grid editor page (/editor) and its static files.

The page is plain HTML/JS/CSS shipped as package data in ``gridgov/web``; it loads Leaflet and Geoman
from ``/static/vendor/`` (pinned npm copies, see :mod:`gridgov.maps.assets`) and talks to the JSON API with the
browser's login session: the page needs a logged-in user whose role may edit (scope is checked on every save),
and carries the CSRF token its requests send back. It reads ``?parent=<community code>`` itself.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import escape

from gridgov.api.dependencies import EditorDep, SettingsDep
from gridgov.errors import NotFound
from gridgov.web.templating import csrf_token

router = APIRouter(include_in_schema=False)

# The only files /static/editor/ serves (a fixed table: no path from the URL ever reaches the file system);
# the page itself only at /editor, with its CSRF token filled in.
FILES: dict[str, str] = {
    "editor.js": "text/javascript; charset=utf-8",
    "editor.css": "text/css; charset=utf-8",
}
PAGE = "editor.html"
CSRF_SLOT = "{{csrf}}"  # the content of editor.html's <meta name="csrf-token">
# The topology tolerance (metres): vertices closer than this to a neighbour's edge are nodes of that edge too.
TOLERANCE_SLOT = "{{tolerance_m}}"

# Everything the page loads comes from this server (users are offline); a stray external URL is blocked
# by the browser instead of hanging on an intranet without internet.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)


def _read(name: str) -> bytes:
    return (resources.files("gridgov") / "web" / name).read_bytes()


def _file(name: str) -> Response:
    media_type = FILES.get(name)
    if media_type is None:
        raise NotFound(f"未找到静态资源：{name}")
    return Response(_read(name), media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/editor")
def editor_page(request: Request, who: EditorDep, settings: SettingsDep, parent: str | None = None) -> Response:
    """The editor for a logged-in user who may edit (``?parent=<community code>``; without it the page offers a
    list of communities); anonymous browsers are sent to the login page."""
    html = (_read(PAGE).decode("utf-8").replace(CSRF_SLOT, str(escape(csrf_token(request))), 1)
            .replace(TOLERANCE_SLOT, repr(float(settings.tolerance_m)), 1))  # fmt: skip
    # no-store: the page carries this session's CSRF token
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP})  # fmt: skip


@router.get("/static/editor/{name}")
def editor_static(name: str) -> Response:
    """editor.js / editor.css, nothing else."""
    return _file(name)
