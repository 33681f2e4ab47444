"""Party API: the Party compliance check (党建合规检查)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/party", tags=["党建网格"])
