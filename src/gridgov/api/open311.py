"""Open311 GeoReport v2 (/open311/v2): services, requests submitted and read by a city hotline or another system."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/open311/v2", tags=["Open311"])
