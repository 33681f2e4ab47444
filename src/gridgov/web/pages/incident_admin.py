"""Pages for the incident settings: working-day calendar, time limits, dispatch rules (administrators)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
