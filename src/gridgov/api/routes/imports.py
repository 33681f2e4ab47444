"""Imports of households, buildings, persons, incidents and staff (atomic; row-numbered errors)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from gridgov.api.dependencies import EditorDep, PatrolDep, SessionDep, SettingsDep
from gridgov.api.params import DateQuery
from gridgov.api.responses import refused
from gridgov.api.schemas import EntityImportPublic
from gridgov.api.uploads import save_upload
from gridgov.auth.views import log_view
from gridgov.importing.columns import parse_field_map
from gridgov.importing.entities import import_entities
from gridgov.patrol.track_import import TrackImportReport, import_track_file
from gridgov.workdays import calendar_for

router = APIRouter(prefix="/api/import", tags=["导入"])
Entity = Literal["households", "buildings", "persons", "incidents", "staff"]
Mode = Literal["insert", "upsert", "sync"]
TRACK_FILE = ("GPX（每个 <trk> 为一次巡逻，点须带时间）或 CSV（time,lon,lat[,person]，或 时间,经度,纬度[,人员]；"
              "UTF-8 或 GBK；人员列把文件分为每人每班一条轨迹）")


@router.post(
    "/tracks",
    response_model=TrackImportReport,
    summary="导入巡逻轨迹（GPX / CSV）",
    responses={422: {"description": "文件被拒绝（列出轨迹与点的序号、CSV 的行号），未写入任何数据"},
               404: {"description": "巡逻队或人员不存在（说明如何新建巡逻队）"}},
)
def import_tracks(
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    file: Annotated[UploadFile, File(description=TRACK_FILE)],
    team: Annotated[str | None, Form(max_length=40, description="巡逻队编码（不填：人员所在的队）")] = None,
    person: Annotated[str | None, Form(max_length=40, description="人员编码：一个人的轨迹（日巡查必填）")] = None,
    kind: Annotated[str, Form(max_length=10, description="夜间巡逻（默认）或 日巡查（任何时段，按日期）")] = "夜间巡逻",
    crs: Annotated[str | None, Form(description="gcj02 表示高德/腾讯坐标")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> TrackImportReport:
    """Import patrol tracks atomically: night patrols get their night and shift from the timestamps, daytime
    inspections their date; GPS jumps and gaps are flagged and listed per track (``jumps``, ``gaps``)."""
    with save_upload(file, settings.max_upload_mb) as path:
        report = import_track_file(session, path, actor=who, team_code=team, staff_code=person, kind=kind, crs=crs,
                                   dry_run=dry_run, timezone=settings.timezone, buffer_m=settings.patrol_buffer_m,
                                   max_distance_m=settings.import_max_distance_m,
                                   max_speed_kmh=settings.max_speed_kmh,
                                   max_gap_minutes=settings.max_gap_minutes)  # fmt: skip
    return report


@router.post(
    "/{entity}",
    response_model=EntityImportPublic,
    summary="导入户/楼栋/人员/事件/网格工作人员",
    responses={422: {"description": "文件被拒绝（逐行列出错误），未写入任何数据"}, 413: {"description": "文件过大"}},
)
def import_file(
    entity: Entity,
    session: SessionDep,
    settings: SettingsDep,
    who: EditorDep,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GBK）、XLSX、GeoJSON 或 GeoPackage")],
    crs: Annotated[str | None, Form(description="EPSG:4326、4490、4491–4554 或 gcj02")] = None,
    dry_run: Annotated[bool, Form()] = False,
    field_map: Annotated[
        list[str] | None,
        Form(alias="map", description="列名对应 源列=目标列（如 档案号=code），可重复；目标列为该类数据的规范列名"),
    ] = None,
    mode: Annotated[
        Mode,
        Form(description="insert 仅新增（已有编码拒绝）；upsert 新增并更新（逐字段，文件没有的列不变）；"
                         "sync 同步（文件即 scope 范围内的全部，文件中没有的在册记录注销：同步移除）。事件只能 insert"),
    ] = "insert",
    scope: Annotated[str | None, Form(max_length=40, description="sync 的范围：网格编码（社区或网格）")] = None,
    effective: Annotated[DateQuery, Form(description="变更生效日期 YYYY-MM-DD（默认今天，不能晚于今天）")] = None,
) -> EntityImportPublic | JSONResponse:
    """Check every row and import the file atomically; coordinates outside all grids are listed as unassigned.

    A refused file answers 422 with the first 100 errors in full, ``error_count`` and ``error_summary`` (the
    count of every column and reason); a point far from every grid (``import_max_distance_m``) is an error.
    ``mode`` upsert or sync updates existing codes field by field (history kept, dated ``effective``); sync also
    retires what the file leaves out in ``scope``. ``diff`` lists what is (with ``dry_run``: would be) created,
    updated (old → new), retired and left unchanged.
    """
    mapping = parse_field_map(field_map or [])
    with save_upload(file, settings.max_upload_mb) as path:
        report = import_entities(session, entity, path, actor=who, crs=crs, dry_run=dry_run,
                                 timezone=settings.timezone, field_map=mapping,
                                 max_distance_m=settings.import_max_distance_m, mode=mode, scope=scope or None,
                                 effective=effective, calendar=calendar_for(session, settings))  # fmt: skip
    if report.refused:
        return refused(report.as_dict())
    if entity == "persons" and report.diff is not None and report.diff.updated.rows:  # residents' former data shown
        log_view(session, who, "person", scope or who.scope_code, page="/api/import/persons",
                 rows=len(report.diff.updated.rows))  # fmt: skip
    return EntityImportPublic.model_validate(report.as_dict())
