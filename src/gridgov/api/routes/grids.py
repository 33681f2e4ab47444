"""Grids: list, read, create, update (optimistic locking), retire, history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from shapely.geometry import mapping

from gridgov.api.dependencies import PrincipalDep, SessionDep
from gridgov.api.schemas import GridCreate, GridPublic, GridUpdate, Level
from gridgov.auth.tokens import require
from gridgov.grids import service
from gridgov.grids.service import GridRecord

router = APIRouter(prefix="/api/grids", tags=["网格"])


def _public(r: GridRecord, with_geometry: bool = True) -> GridPublic:
    geometry: dict[str, Any] | None = dict(mapping(r.geom)) if with_geometry and r.geom is not None else None
    return GridPublic(
        code=r.code,
        name=r.name,
        level=r.level,
        parent_code=r.parent_code,  # type: ignore[arg-type]
        version=r.version,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        updated_by=r.updated_by,
        geometry=geometry,
    )


@router.get("", response_model=list[GridPublic], summary="网格列表")
def list_grids(
    session: SessionDep,
    level: Level | None = None,
    parent: Annotated[str | None, Query(description="上级网格编码")] = None,
    as_of: Annotated[dt.datetime | None, Query(description="历史时点（ISO 8601）")] = None,
    geometry: bool = False,
) -> list[GridPublic]:
    """Live grids (or as of a moment), filtered by level or parent."""
    rows = service.list_grids(session, level=level, parent_code=parent, as_of=as_of, with_geometry=geometry)
    return [_public(r, geometry) for r in rows]


@router.get("/{code}", response_model=GridPublic, summary="网格详情")
def get_grid(session: SessionDep, code: str, as_of: dt.datetime | None = None) -> GridPublic:
    """One grid with its geometry."""
    return _public(service.get_grid(session, code, as_of))


@router.get("/{code}/history", response_model=list[GridPublic], summary="网格变更历史")
def grid_history(session: SessionDep, code: str) -> list[GridPublic]:
    """Every version of a grid, oldest first."""
    return [_public(r) for r in service.history(session, code)]


@router.post("", response_model=GridPublic, status_code=status.HTTP_201_CREATED, summary="新建网格")
def create_grid(session: SessionDep, who: PrincipalDep, body: GridCreate) -> GridPublic:
    """Create a grid inside the caller's scope."""
    parent_id = service.get_grid(session, body.parent_code).id if body.parent_code else None
    require(session, who, "editor", parent_id)
    rec = service.create_grid(
        session,
        code=body.code,
        name=body.name,
        level=body.level,
        parent_code=body.parent_code,
        geometry=body.geometry,
        actor=who.name,
    )
    return _public(rec)


@router.patch("/{code}", response_model=GridPublic, summary="修改网格（需提供版本号）")
def update_grid(session: SessionDep, who: PrincipalDep, code: str, body: GridUpdate) -> GridPublic:
    """Rename or reshape a grid; a stale ``version`` gets 412 and nothing is written."""
    require(session, who, "editor", service.get_grid(session, code).id)
    rec = service.update_grid(
        session, code, expected_version=body.version, actor=who.name, name=body.name, geometry=body.geometry
    )
    return _public(rec)


@router.delete("/{code}", status_code=status.HTTP_204_NO_CONTENT, summary="撤销网格（保留历史）")
def remove_grid(session: SessionDep, who: PrincipalDep, code: str, version: int) -> None:
    """Retire a grid with no live children; its row stays as history."""
    require(session, who, "editor", service.get_grid(session, code).id)
    service.remove_grid(session, code, expected_version=version, actor=who.name)
