"""The vocabulary for browsers and other systems: levels, roles, kinds, statuses, shifts, finding rules."""

from __future__ import annotations

from fastapi import APIRouter

from gridgov import vocab
from gridgov.api.dependencies import SessionDep
from gridgov.api.schemas import MetaPublic
from gridgov.terms import stored_vocabulary

router = APIRouter(prefix="/api", tags=["词表"])


@router.get("/meta", response_model=MetaPublic, summary="词表（层级、角色、类型、状态、班次、校验规则）")
def meta(session: SessionDep) -> MetaPublic:
    """Every vocabulary with its Chinese labels, order and synonyms (one source for Python, SQL and pages); the ones
    an administrator extends (gridgov.vocab.CONFIGURABLE) as in force, with the street's terms and synonyms."""
    body = vocab.meta()
    for name in vocab.CONFIGURABLE:
        stored = stored_vocabulary(session, name)
        body["vocabularies"][name] = stored.vocabulary.as_dict()
        if name == "staff_roles":
            body["public_staff_roles"] = [t for t in stored.vocabulary.terms if t in stored.public]
    return MetaPublic.model_validate(body)
