"""Incidents API (事件处置): report, act, read, list; photos."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/incidents", tags=["事件处置"])
