"""地图: the grid, coverage and patrol maps with a date picker."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
