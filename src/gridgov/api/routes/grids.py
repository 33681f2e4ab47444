"""Grids: list, read, create, update (optimistic locking), retire, history, validate, import, export."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from shapely.geometry import mapping
from starlette.background import BackgroundTask

from gridgov.api.dependencies import PrincipalDep, SessionDep, SettingsDep
from gridgov.api.schemas import (
    FindingsPublic,
    GridCreate,
    GridPublic,
    GridUpdate,
    ImportReportPublic,
    Level,
    RepairPublic,
    RepairRequest,
    ValidateRequest,
)
from gridgov.api.uploads import save_upload
from gridgov.auth.tokens import require
from gridgov.errors import InvalidInput
from gridgov.geo.checks import as_multipolygon
from gridgov.grids import service
from gridgov.grids.checks import check_live, scheme_from, stored_findings
from gridgov.grids.codes import next_code
from gridgov.grids.findings import GridInput
from gridgov.grids.importer import import_grids
from gridgov.grids.io import write_grid_file
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


@router.post("/validate", response_model=FindingsPublic, summary="校验网格（可含未保存的草稿）")
def validate_grids(session: SessionDep, settings: SettingsDep, body: ValidateRequest) -> FindingsPublic:
    """Findings for the live grids under ``parent``, or for drafts (new drafts are named draft-1, draft-2 …)."""
    drafts, n = [], 0
    for d in body.grids:
        if d.code is None:
            n += 1
        code = d.code or f"draft-{n}"
        try:
            geom = as_multipolygon(d.geometry)
        except Exception:  # noqa: BLE001 - an unusable draft is reported as invalid_geometry by the checks
            geom = None
        drafts.append(GridInput(code, d.name, d.level, d.parent_code, geom, provisional=d.code is None))
    findings = check_live(session, parent_code=body.parent, drafts=drafts, settings=settings)
    return FindingsPublic.model_validate({"findings": [f.as_dict() for f in findings]})


@router.get("/findings", response_model=FindingsPublic, summary="已保存的校验问题")
def list_findings(session: SessionDep, code: str | None = None) -> FindingsPublic:
    """Findings stored by the last import or validation, all or those involving one grid."""
    return FindingsPublic.model_validate({"findings": [f.as_dict() for f in stored_findings(session, code)]})


@router.post(
    "/import",
    response_model=ImportReportPublic,
    summary="导入网格文件（原子操作）",
    responses={422: {"description": "文件被拒绝（硬错误），未写入任何数据"}, 413: {"description": "文件过大"}},
)
def import_file(
    session: SessionDep,
    settings: SettingsDep,
    who: PrincipalDep,
    file: Annotated[UploadFile, File(description="GeoJSON / GeoPackage / zip Shapefile / KML / 含 WKT 的 CSV")],
    crs: Annotated[str | None, Form(description="EPSG:4326、4490、4491–4554 或 gcj02")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> Any:
    """Import grids; hard errors refuse the whole file (422 with the findings) and write nothing."""
    require(session, who, "editor", who.scope_grid_id)
    with save_upload(file, settings.max_upload_mb) as path:
        report = import_grids(session, path, actor=who.name, crs=crs, dry_run=dry_run, settings=settings,
                              within=who.scope_code)  # fmt: skip
    if report.blocking:
        return JSONResponse(status_code=422, content={"detail": "文件被拒绝，未写入任何数据", **report.as_dict()})
    return report.as_dict()


@router.get("/export", summary="导出网格文件", response_class=FileResponse)
def export_file(
    session: SessionDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(geojson|gpkg)$")] = "geojson",
    level: Level | None = None,
    as_of: dt.datetime | None = None,
) -> FileResponse:
    """Grids as GeoJSON or GeoPackage with the canonical properties (re-importable)."""
    records = service.list_grids(session, level=level, as_of=as_of)
    tmp = Path(tempfile.mkdtemp(prefix="gridgov-export-"))
    path = write_grid_file(records, tmp / f"grids.{fmt}")
    media = "application/geo+json" if fmt == "geojson" else "application/geopackage+sqlite3"
    return FileResponse(path, media_type=media, filename=path.name, background=BackgroundTask(shutil.rmtree, tmp))


@router.post("/repair", response_model=RepairPublic, summary="修复网格（预览；apply=true 时写入）")
def repair(session: SessionDep, settings: SettingsDep, who: PrincipalDep, body: RepairRequest) -> Any:
    """Clip, snap, fill a gap, split, merge or renumber, with a preview; applying keeps every old version."""
    from gridgov.grids import repair as r

    target = body.parent if body.operation in ("fill_gap", "renumber") else (body.code or next(iter(body.codes), None))
    if target is None:
        raise InvalidInput("缺少要修复的网格编码")
    require(session, who, "viewer" if not body.apply else "editor", service.get_grid(session, target).id)
    plans = {
        "clip": lambda: r.plan_clip(session, _need(body.code), settings),
        "snap": lambda: r.plan_snap(session, _need(body.code), body.tolerance_m, settings),
        "fill_gap": lambda: r.plan_fill_gap(session, _need(body.parent), _point(body.at), settings),
        "split": lambda: r.plan_split(session, _need(body.code), body.line or {}, settings=settings),
        "merge": lambda: r.plan_merge(session, body.codes, body.name, settings),
        "renumber": lambda: r.plan_renumber(session, _need(body.parent), settings),
    }
    plan = plans[body.operation]()
    moved = r.apply_plan(session, plan, who.name) if body.apply else {}
    return plan.as_dict() | {"applied": body.apply, "reassigned": moved}


def _need(value: str | None) -> str:
    if not value:
        raise InvalidInput("缺少网格编码参数")
    return value


def _point(at: list[float] | None) -> tuple[float, float] | None:
    if at is None:
        return None
    if len(at) != 2:
        raise InvalidInput("at 应为 [经度, 纬度]")
    return (at[0], at[1])


@router.get("/{code}", response_model=GridPublic, summary="网格详情")
def get_grid(session: SessionDep, code: str, as_of: dt.datetime | None = None) -> GridPublic:
    """One grid with its geometry."""
    return _public(service.get_grid(session, code, as_of))


@router.get("/{code}/history", response_model=list[GridPublic], summary="网格变更历史")
def grid_history(session: SessionDep, code: str) -> list[GridPublic]:
    """Every version of a grid, oldest first."""
    return [_public(r) for r in service.history(session, code)]


@router.post("", response_model=GridPublic, status_code=status.HTTP_201_CREATED, summary="新建网格")
def create_grid(session: SessionDep, settings: SettingsDep, who: PrincipalDep, body: GridCreate) -> GridPublic:
    """Create a grid inside the caller's scope."""
    parent_id = service.get_grid(session, body.parent_code).id if body.parent_code else None
    require(session, who, "editor", parent_id)
    code = body.code
    if code is None:
        if body.parent_code is None:
            raise InvalidInput("街道网格必须提供编码")
        code = next_code(service.all_codes(session), body.parent_code, body.level, scheme_from(settings))
    rec = service.create_grid(
        session,
        code=code,
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
