"""API tokens (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from gridgov.api.dependencies import AdminDep, SessionDep
from gridgov.api.params import RowId
from gridgov.api.schemas import TokenCreate, TokenPublic
from gridgov.auth.tokens import create_token, revoke_token

router = APIRouter(prefix="/api/tokens", tags=["令牌"])


@router.post("", response_model=TokenPublic, status_code=status.HTTP_201_CREATED, summary="创建令牌")
def create(session: SessionDep, who: AdminDep, body: TokenCreate) -> TokenPublic:
    """Create a token; the secret appears only in this response."""
    plain, row = create_token(session, who, body.name, body.role, body.scope_code, body.days)
    return TokenPublic(id=row.id, name=row.name, role=row.role, scope_code=body.scope_code, token=plain)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="吊销令牌")
def revoke(session: SessionDep, who: AdminDep, token_id: RowId) -> None:
    """Revoke a token."""
    revoke_token(session, who, token_id)
