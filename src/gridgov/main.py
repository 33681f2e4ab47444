"""ASGI entry point: ``gridgov serve`` runs ``gridgov.main:app`` in each worker process (``uvicorn --workers``
needs an import string); each worker builds the app from the environment's settings."""

from __future__ import annotations

from gridgov.api.factory import create_app

app = create_app()
