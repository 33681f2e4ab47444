"""公示牌: choose a grid or a community, paper and orientation, preview, download PDF/PNG."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
