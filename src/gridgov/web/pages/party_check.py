"""党建 pages: the Party compliance check (党建合规检查)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
