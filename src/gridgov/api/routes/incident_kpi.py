"""Incident figures API (事件考核): KPIs per grid, community and street, hotspots."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/incidents", tags=["事件处置"])
