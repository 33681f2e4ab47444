"""数据导入: upload a file, see the dry-run report, confirm; Excel templates for every entity."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
