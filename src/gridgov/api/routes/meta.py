"""The vocabulary for browsers and other systems: levels, roles, kinds, statuses, shifts, finding rules."""

from __future__ import annotations

from fastapi import APIRouter

from gridgov import vocab
from gridgov.api.schemas import MetaPublic

router = APIRouter(prefix="/api", tags=["词表"])


@router.get("/meta", response_model=MetaPublic, summary="词表（层级、角色、类型、状态、班次、校验规则）")
def meta() -> MetaPublic:
    """Every vocabulary with its Chinese labels, order and synonyms (one source for Python, SQL and pages)."""
    return MetaPublic.model_validate(vocab.meta())
