"""Shared harness for browser tests: Debian Chromium, offline flags, request blocking, free ports, a live app."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start; the machine is offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

COUNT_POLYGONS_JS = """
(name) => {
    const map = window[name];
    const seen = new Set();
    let n = 0;
    const visit = (layer) => {
        if (seen.has(layer)) return;
        seen.add(layer);
        if (layer instanceof L.Polygon) n += 1;
        if (typeof layer.eachLayer === "function") layer.eachLayer(visit);
    };
    map.eachLayer(visit);
    return n;
}
"""
"""Polygons (incl. rectangles) on a folium map, by the map's JS variable name; canvas-rendered ones included."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_local(url: str) -> bool:
    """True for file/data/blob URLs and http(s) to this machine: everything else must be blocked."""
    u = urlparse(url)
    if u.scheme in ("file", "data", "blob", "about"):
        return True
    return u.scheme in ("http", "https", "ws", "wss") and u.hostname in LOCAL_HOSTS


@dataclass
class PageLog:
    """What a page tried to do: blocked requests, console errors, failed local loads."""

    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """No external request, no console or page error, no failed local load."""
        assert self.external == [], self.external
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (fails, never skips, when Chromium is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not installed: run scripts/bootstrap.sh")  # a skip would hide it
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(
    browser: Any, url: str | Path, log: PageLog, *, headers: dict[str, str] | None = None,
    viewport: tuple[int, int] = (1280, 800),
) -> Any:  # fmt: skip
    """A zh-CN page with every non-local request aborted and recorded; ``url`` may be a file path."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN", extra_http_headers=headers or {}
    )
    context.set_default_timeout(20_000)
    # Loading a page waits for the server to build it (seconds on a busy 2-core machine): not a timing test.
    context.set_default_navigation_timeout(180_000)

    def handle(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            log.external.append(route.request.url)
            route.abort()

    context.route("**/*", handle)
    page = context.new_page()
    page.on("console", lambda msg: log.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
    page.on("requestfailed", lambda r: log.failed.append(f"{r.url} {r.failure}") if is_local(r.url) else None)
    target = Path(url).resolve().as_uri() if isinstance(url, Path) else url
    page.goto(target, wait_until="load")
    return page


def colours(png: bytes) -> np.ndarray:
    """The screenshot as an RGB array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def assert_not_blank(png: bytes, minimum: int = 50) -> None:
    """A screenshot with more than ``minimum`` distinct colours (a blank or failed page has a handful)."""
    pixels = colours(png)
    n = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert n > minimum, f"screenshot looks blank ({n} colours)"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free local port in a thread; yields the base URL."""
    import uvicorn

    settled = threading.Event()  # set once start-up is over: listening, or failed and stopping

    class Server(uvicorn.Server):
        """uvicorn's server, telling ``settled`` when its start-up is over."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets)
            finally:
                settled.set()

    def run() -> None:
        """Run the server; whatever happens, nobody is left waiting for start-up."""
        try:
            server.run()
        finally:
            settled.set()  # stopped before start-up even began (e.g. the config did not load)

    port = free_port()
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=run, name="uvicorn-test", daemon=True)
    thread.start()
    assert settled.wait(20), "uvicorn did not start within 20 s"
    assert server.started, "uvicorn stopped during start-up"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# Resolves once the map has stopped moving (fitBounds, zoom and pan animations) and two animation frames have
# passed: Leaflet's canvas renderer redraws on the next frame, so the page then shows the final state.
SETTLED_JS = """(name) => new Promise((resolve) => {
  const map = name ? window[name] : null;
  const frames = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
  const moving = map && (map._animatingZoom || (map._panAnim && map._panAnim._inProgress));
  if (moving) { map.once('moveend', frames); } else { frames(); }
})"""


def settle(page: Any, map_name: str | None = None) -> None:
    """Wait (on conditions, not a fixed time) until the map has stopped moving and has redrawn."""
    page.evaluate(SETTLED_JS, map_name)
