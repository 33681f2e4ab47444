"""Incident settings API: the working-day calendar, time limits and dispatch rules (administrators)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/admin", tags=["事件处置设置"])
