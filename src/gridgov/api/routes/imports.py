"""Imports of households, buildings, persons, incidents and staff (atomic; row-numbered errors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from gridgov.api.dependencies import PrincipalDep, SessionDep, SettingsDep
from gridgov.api.uploads import save_upload
from gridgov.auth.tokens import require
from gridgov.importing.entities import import_entities

router = APIRouter(prefix="/api/import", tags=["导入"])
Entity = Literal["households", "buildings", "persons", "incidents", "staff"]


@router.post(
    "/{entity}",
    summary="导入户/楼栋/人员/事件/网格工作人员",
    responses={422: {"description": "文件被拒绝（逐行列出错误），未写入任何数据"}, 413: {"description": "文件过大"}},
)
def import_file(
    entity: Entity,
    session: SessionDep,
    settings: SettingsDep,
    who: PrincipalDep,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK）、XLSX、GeoJSON 或 GeoPackage")],
    crs: Annotated[str | None, Form(description="EPSG:4326、4490、4491–4554 或 gcj02")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> Any:
    """Check every row and import the file atomically; coordinates outside all grids are listed as unassigned."""
    require(session, who, "editor", who.scope_grid_id)
    with save_upload(file, settings.max_upload_mb) as path:
        report = import_entities(session, entity, path, actor=who.name, crs=crs, dry_run=dry_run,
                                 within=who.scope_code)  # fmt: skip
    if report.refused:
        return JSONResponse(status_code=422, content={"detail": "文件被拒绝，未写入任何数据", **report.as_dict()})
    return report.as_dict()
