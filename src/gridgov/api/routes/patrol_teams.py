"""Patrol operations API: teams (filled in by its service's faces)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/patrol", tags=["巡逻勤务"])
