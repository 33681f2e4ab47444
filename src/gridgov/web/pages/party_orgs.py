"""党建 pages: Party organisations, posts, memberships, resident units, registers and 联系户."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
