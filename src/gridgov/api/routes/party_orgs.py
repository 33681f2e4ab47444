"""Party API: Party organisations, posts, memberships, resident units, registers and 联系户."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/party", tags=["党建网格"])
