"""Shared harness for browser tests: Debian Chromium, offline flags, free ports."""

from __future__ import annotations

import socket

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


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
