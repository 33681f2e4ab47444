"""Party API: volunteer teams and activities, meetings (三会一课), 党员责任区."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/party", tags=["党建网格"])
