"""党建 pages: volunteer teams and activities, meetings (三会一课), 党员责任区."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
