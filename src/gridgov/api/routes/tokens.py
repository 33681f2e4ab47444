"""API tokens (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from gridgov.api.dependencies import PrincipalDep, SessionDep
from gridgov.api.schemas import TokenCreate, TokenPublic
from gridgov.auth.tokens import create_token, require, revoke_token

router = APIRouter(prefix="/api/tokens", tags=["令牌"])


@router.post("", response_model=TokenPublic, status_code=status.HTTP_201_CREATED, summary="创建令牌")
def create(session: SessionDep, who: PrincipalDep, body: TokenCreate) -> TokenPublic:
    """Create a token; the secret appears only in this response."""
    require(session, who, "admin")
    plain, row = create_token(session, body.name, body.role, body.scope_code, body.days)
    return TokenPublic(id=row.id, name=row.name, role=row.role, scope_code=body.scope_code, token=plain)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="吊销令牌")
def revoke(session: SessionDep, who: PrincipalDep, token_id: int) -> None:
    """Revoke a token."""
    require(session, who, "admin")
    revoke_token(session, token_id)
