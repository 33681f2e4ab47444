"""ASGI entry point: ``uvicorn gridgov.main:app``."""

from __future__ import annotations

from gridgov.api.factory import create_app

app = create_app()
