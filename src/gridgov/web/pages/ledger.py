"""台帐: the ledger as a web table with filters, and its Excel file (a background job)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
