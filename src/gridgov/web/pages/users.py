"""用户: the administrator manages users (roles, scopes, passwords, last login)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
