"""事件 pages: report from a phone, the inbox (待办), a case's page and the case list."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
