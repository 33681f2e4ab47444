"""Grids: list, read, create, update (optimistic locking), retire, history, validate, import, export."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from shapely.geometry import mapping
from starlette.background import BackgroundTask

from gridgov.api.dependencies import EditorDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.params import MomentQuery
from gridgov.api.responses import refused
from gridgov.api.schemas import (
    FindingsPublic,
    GridBatch,
    GridBatchPublic,
    GridCreate,
    GridPublic,
    GridUpdate,
    ImportReportPublic,
    Level,
    RepairPublic,
    RepairRequest,
    ShapeMerge,
    ShapeSplit,
    ShapesPublic,
    ValidateRequest,
)
from gridgov.api.uploads import save_upload
from gridgov.errors import InvalidInput
from gridgov.geo.checks import as_multipolygon, draft_geometry
from gridgov.grids import service
from gridgov.grids.checks import Validation, check_live, check_staffing, scheme_from, stored_findings
from gridgov.grids.edits import GridEdit, NewGrid, Retirement, save_edit
from gridgov.grids.edits import GridUpdate as GridUpdateEdit
from gridgov.grids.findings import GridInput
from gridgov.grids.importer import import_grids
from gridgov.grids.io import write_grid_file
from gridgov.grids.service import GridRecord
from gridgov.grids.shapes import merge_shapes, split_by_line
from gridgov.grids.staffing import PROBLEMS
from gridgov.periods import as_of_moment

router = APIRouter(prefix="/api/grids", tags=["网格"])


class StaffingPublic(BaseModel):
    """A staffing warning: a compound without exactly one 网格长 or without a 网格员."""

    code: str
    name: str
    problems: list[str] = Field(description="问题：" + "、".join(f"{k}（{v}）" for k, v in PROBLEMS.items()))
    message: str = Field(description="中文说明，如「没有网格长、没有网格员」")


class ValidationSummary(BaseModel):
    """How many of each kind a validation found."""

    findings: int
    staffing: int


class ValidationPublic(FindingsPublic):
    """Topology and code findings, and apart from them the staffing warnings (reminders that fail nothing)."""

    staffing: list[StaffingPublic] = Field(description="人员配备提醒（不属于拓扑问题，不保存）")
    summary: ValidationSummary


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
    settings: SettingsDep,
    level: Level | None = None,
    parent: Annotated[str | None, Query(description="上级网格编码")] = None,
    as_of: Annotated[MomentQuery, Query(description="历史时点：YYYY-MM-DD（当日结束时）或 ISO 8601 时间")] = None,
    geometry: bool = False,
) -> list[GridPublic]:
    """Live grids (or as of a moment), filtered by level or parent."""
    at = as_of_moment(as_of, settings.timezone)
    rows = service.list_grids(session, level=level, parent_code=parent, as_of=at, with_geometry=geometry)
    return [_public(r, geometry) for r in rows]


@router.post("/validate", dependencies=[Throttled], response_model=ValidationPublic,
             summary="校验网格（可含未保存的草稿），并列出人员配备提醒")
def validate_grids(session: SessionDep, settings: SettingsDep, body: ValidateRequest) -> ValidationPublic:
    """Findings for the live grids under ``parent``, or for drafts (new drafts are named draft-1, draft-2 …); the
    staffing warnings of the same grids under ``staffing`` (of drafts: their live staff; a new draft is not listed)."""
    drafts, n = [], 0
    for d in body.grids:
        if d.code is None:
            n += 1
        code = d.code or f"draft-{n}"
        geom = draft_geometry(d.geometry)  # an unusable draft is reported as invalid_geometry by the checks
        drafts.append(GridInput(code, d.name, d.level, d.parent_code, geom, provisional=d.code is None))
    findings = check_live(session, parent_code=body.parent, drafts=drafts, settings=settings)
    staffing = check_staffing(session, parent_code=body.parent, drafts=drafts)
    return ValidationPublic.model_validate(Validation(findings, staffing).as_dict())


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
    who: EditorDep,
    file: Annotated[UploadFile, File(description="GeoJSON / GeoPackage / zip Shapefile / KML / 含 WKT 的 CSV")],
    crs: Annotated[str | None, Form(description="EPSG:4326、4490、4491–4554 或 gcj02")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> ImportReportPublic | JSONResponse:
    """Import grids; hard errors refuse the whole file (422 with the findings) and write nothing."""
    with save_upload(file, settings.max_upload_mb) as path:
        report = import_grids(session, path, actor=who, crs=crs, dry_run=dry_run, settings=settings)
    if report.blocking:
        return refused(report.as_dict())
    return ImportReportPublic.model_validate(report.as_dict())


@router.get("/export", dependencies=[Throttled], summary="导出网格文件", response_class=FileResponse)
def export_file(
    session: SessionDep,
    settings: SettingsDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(geojson|gpkg)$")] = "geojson",
    level: Level | None = None,
    as_of: MomentQuery = None,
) -> FileResponse:
    """Grids as GeoJSON or GeoPackage with the canonical properties (re-importable)."""
    records = service.list_grids(session, level=level, as_of=as_of_moment(as_of, settings.timezone))
    tmp = Path(tempfile.mkdtemp(prefix="gridgov-export-"))
    path = write_grid_file(records, tmp / f"grids.{fmt}")
    media = "application/geo+json" if fmt == "geojson" else "application/geopackage+sqlite3"
    return FileResponse(path, media_type=media, filename=path.name, background=BackgroundTask(shutil.rmtree, tmp))


@router.post("/repair", response_model=RepairPublic, summary="修复网格（预览；apply=true 时写入）")
def repair(session: SessionDep, settings: SettingsDep, who: ViewerDep, body: RepairRequest) -> RepairPublic:
    """Clip, snap, fill a gap, split, merge or renumber, with a preview; applying keeps every old version."""
    from gridgov.grids import repair as r

    at = None
    if body.at is not None:
        if len(body.at) != 2:
            raise InvalidInput("at 应为 [经度, 纬度]")
        at = (body.at[0], body.at[1])
    req = r.RepairRequest(body.operation, code=body.code, codes=body.codes, parent=body.parent, line=body.line,
                          at=at, tolerance_m=body.tolerance_m, name=body.name)  # fmt: skip
    plan, moved = r.repair(session, req, apply=body.apply, actor=who, settings=settings)
    return RepairPublic.model_validate(plan.as_dict() | {"applied": body.apply, "reassigned": moved})


@router.post(
    "/batch",
    dependencies=[Throttled],
    response_model=GridBatchPublic,
    summary="批量保存网格修改（新建、修改、删除并入相邻网格；全部成功或全部不写入）",
    responses={
        409: {"description": "修改后仍有校验问题（details.findings）；确认后以 accept_findings=true 重新提交"},
        412: {"description": "某个网格已被他人修改：整批未写入"},
        422: {"description": "几何无效等硬性问题：整批未写入"},
    },
)
def save_batch(session: SessionDep, settings: SettingsDep, who: EditorDep, body: GridBatch) -> GridBatchPublic:
    """Check the whole change as a coverage, then write every grid in one transaction; ``dry_run`` previews the
    findings and how many households and residents would change grid, and writes nothing."""
    edit = GridEdit(
        create=[NewGrid(c.key, c.name, c.level, c.parent_code, c.geometry, c.code) for c in body.create],
        update=[GridUpdateEdit(u.code, u.version, u.name, u.geometry) for u in body.update],
        retire=[Retirement(r.code, r.version, r.give_to) for r in body.retire],
    )
    result = save_edit(session, edit, actor=who, settings=settings, dry_run=body.dry_run,
                       accept_findings=body.accept_findings)  # fmt: skip
    preview = result.plan.as_dict()
    changes = [c | {"version": result.versions.get(c["new_code"] or c["code"])} for c in preview["changes"]]
    return GridBatchPublic.model_validate({"applied": result.applied, "changes": changes,
                                           "findings": preview["findings_after"], "moves": preview.get("moves"),
                                           "reassigned": result.reassigned})  # fmt: skip


@router.post("/shapes/split", response_model=ShapesPublic, summary="沿折线分割一个面（不写入，供编辑器预览）")
def split_shape(who: EditorDep, body: ShapeSplit) -> ShapesPublic:
    """The pieces of a shape cut along a line, largest first; the outer boundary's vertices are kept exactly."""
    pieces = split_by_line(as_multipolygon(body.geometry), body.line)
    return ShapesPublic(geometries=[dict(mapping(p)) for p in pieces])


@router.post("/shapes/merge", response_model=ShapesPublic, summary="合并相邻的面（不写入，供编辑器预览）")
def merge_shape(who: EditorDep, body: ShapeMerge) -> ShapesPublic:
    """The union of neighbouring shapes as one shape (refused when they share no edge)."""
    return ShapesPublic(geometries=[dict(mapping(merge_shapes([as_multipolygon(g) for g in body.geometries])))])


@router.get("/{code}", response_model=GridPublic, summary="网格详情")
def get_grid(session: SessionDep, settings: SettingsDep, code: str, as_of: MomentQuery = None) -> GridPublic:
    """One grid with its geometry."""
    return _public(service.get_grid(session, code, as_of_moment(as_of, settings.timezone)))


@router.get("/{code}/history", response_model=list[GridPublic], summary="网格变更历史")
def grid_history(session: SessionDep, code: str) -> list[GridPublic]:
    """Every version of a grid, oldest first."""
    return [_public(r) for r in service.history(session, code)]


@router.post("", response_model=GridPublic, status_code=status.HTTP_201_CREATED, summary="新建网格")
def create_grid(session: SessionDep, settings: SettingsDep, who: EditorDep, body: GridCreate) -> GridPublic:
    """Create a grid inside the caller's scope (its parent and its whole area); without a code, the next serial."""
    rec = service.create_grid(
        session,
        code=body.code,
        name=body.name,
        level=body.level,
        parent_code=body.parent_code,
        geometry=body.geometry,
        actor=who,
        tolerance_m=settings.tolerance_m,
        scheme=scheme_from(settings),
        max_vertices=settings.max_grid_vertices,
    )
    return _public(rec)


@router.patch("/{code}", response_model=GridPublic, summary="修改网格（需提供版本号）")
def update_grid(session: SessionDep, settings: SettingsDep, who: EditorDep, code: str, body: GridUpdate
                ) -> GridPublic:  # fmt: skip
    """Rename or reshape a grid inside the caller's scope; a stale ``version`` gets 412 and nothing is written."""
    rec = service.update_grid(session, code, expected_version=body.version, actor=who, name=body.name,
                              geometry=body.geometry, tolerance_m=settings.tolerance_m,
                              max_vertices=settings.max_grid_vertices)  # fmt: skip
    return _public(rec)


@router.delete("/{code}", status_code=status.HTTP_204_NO_CONTENT, summary="撤销网格（保留历史）")
def remove_grid(session: SessionDep, who: EditorDep, code: str, version: int) -> None:
    """Retire a grid with no live children, inside the caller's scope; its row stays as history."""
    service.remove_grid(session, code, expected_version=version, actor=who)
