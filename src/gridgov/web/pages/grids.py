"""网格: the grid tree, search, and each grid's page (ledger row, staff, map, history); the editor opens from here."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
