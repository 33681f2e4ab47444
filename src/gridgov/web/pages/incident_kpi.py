"""事件考核 page: the incident KPIs per grid for a period."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
