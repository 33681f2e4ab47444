"""数据导入: upload a file, see the dry-run report, confirm; Excel templates for every entity.

The form takes a 列名对应 (one ``源列=目标列`` per line) for files whose headings the aliases do not know, and how
the file is imported: 仅新增, 新增并更新 or 同步 (with the grid the file covers), and the day the changes took effect;
the check shows the diff (created, updated old → new, retired, unchanged) before anything is written. The
checked file stays on the server under ``GRIDGOV_HOME/uploads/<token>/`` with a note of its owner and what was
checked (the column mapping too), so confirming does not send it again; a confirm claims the folder by renaming
it (a second click finds nothing) and removes it afterwards. Large files are imported as a background job.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import astuple, dataclass
from pathlib import Path, PureWindowsPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.api.dependencies import PatrolDep, SessionDep, SettingsDep, Throttled, ViewerDep
from gridgov.api.uploads import save_upload
from gridgov.auth.scope import Actor, may
from gridgov.auth.views import log_view
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.geo.crs import POINT_CRS_CHOICES
from gridgov.grids.service import grids_in_scope
from gridgov.history import day_of
from gridgov.importing.columns import ENTITIES, MODES, SPATIAL, parse_field_map
from gridgov.importing.entities import EntityImportReport, import_entities
from gridgov.importing.read import SPATIAL as SPATIAL_FORMATS
from gridgov.importing.read import TABULAR, read_table
from gridgov.importing.templates import LABELS, header, required, template_name, write_template
from gridgov.jobs.runner import Outcome, Progress
from gridgov.patrol.track_import import TrackImportReport, import_track_file
from gridgov.periods import parse_date
from gridgov.vocab import DAY_INSPECTION, LEVEL_ZH, NIGHT_PATROL, TRACK_KINDS
from gridgov.web.templating import render
from gridgov.workdays import calendar_for

router = APIRouter(include_in_schema=False)

TRACKS = "tracks"
KINDS = {**{e: LABELS[e] for e in ENTITIES}, TRACKS: "巡逻轨迹（GPX）或定位点表（CSV）"}
UNITS = {"households": "户", "buildings": "栋楼", "persons": "人", "incidents": "件事件", "staff": "个岗位"}
# Form value → label; "" leaves the file's own CRS (GeoJSON, GeoPackage) or WGS84.
CRS_CHOICES = dict(POINT_CRS_CHOICES)
FORMATS = {TRACKS: (".gpx", ".csv"), **{e: (*TABULAR, *SPATIAL_FORMATS) for e in ENTITIES}}
DIRECT_MAX_ROWS = 20_000  # larger files are imported as a background job
MAX_MAP_CHARS = 4000  # the 列名对应 field
PREVIEW_ROWS = 20
PREVIEW_MAX_BYTES = 1 << 20  # bigger files are not read a second time for the preview
PERSONAL = {"persons": "person", "staff": "staff"}  # entities whose rows are personal data (names, phones)
UPLOADS = "uploads"
NOTE = ".upload.json"  # owner and parameters, next to the file (a safe name never starts with a dot)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
STALE = dt.timedelta(days=1)  # unconfirmed uploads older than this are removed
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Preview = tuple[list[str], list[list[str]]]  # headings, rows
COLUMN_ZH = {"lon/lat": "经纬度", "geometry": "几何"}  # the import's names for the coordinate cells
GONE = "上传的文件已不存在（已导入、已过期或已在导入中），请重新上传并检查"
SCOPE_LEVELS = ("street", "community", "compound")  # the grids a sync may cover


@dataclass(frozen=True)
class Options:
    """How an entity file is imported: the mode, the grid a sync covers, the effective day (``""``: today)."""

    mode: str = "insert"
    scope: str = ""
    effective: str = ""

    @property
    def day(self) -> dt.date | None:
        """The effective day, or None for the day of the import."""
        return parse_date(self.effective) if self.effective else None

    @property
    def label(self) -> str:
        """The options in words, for the report's heading."""
        out = f"导入方式 {MODES[self.mode]}"
        out += f" · 同步范围 {self.scope}" if self.scope else ""
        return out + (f" · 生效日期 {self.effective}" if self.effective else "")


@dataclass(frozen=True)
class TrackOptions:
    """How a track file is imported: night patrols or daytime inspections (日巡查), and whose (a staff code)."""

    kind: str = NIGHT_PATROL
    person: str = ""

    @property
    def label(self) -> str:
        """The options in words, for the report's heading."""
        return self.kind + (f" · 人员 {self.person}" if self.person else "")


@dataclass(frozen=True)
class Upload:
    """A checked file waiting for its confirmation."""

    folder: Path
    file: Path
    owner: str
    kind: str
    crs: str
    team: str
    rows: int
    field_map: dict[str, str]
    options: Options
    track: TrackOptions = TrackOptions()


def _kind(value: str) -> str:
    """The import the form asked for (whether the actor may do it is the service's question)."""
    if value not in KINDS:
        raise InvalidInput(f"请选择导入内容（{'、'.join(KINDS.values())}）")
    return value


def _crs(value: str) -> str:
    """The coordinate system the form chose (one of CRS_CHOICES)."""
    if value not in CRS_CHOICES:
        raise InvalidInput(f"不支持的坐标系：{value}（可选：{'、'.join(CRS_CHOICES.values())}）")
    return value


def _options(kind: str, mode: str, scope: str, effective: str) -> Options:
    """The form's import options, checked (tracks have none; only a sync has a scope)."""
    if kind == TRACKS:
        return Options()
    mode = mode.strip() or "insert"
    if mode not in MODES:
        raise InvalidInput(f"请选择导入方式（{'、'.join(MODES.values())}）")
    if mode == "sync" and not scope.strip():
        raise InvalidInput("同步导入须选择同步范围：文件即该范围内的全部记录")
    day = parse_date(effective) if effective.strip() else None
    return Options(mode, scope.strip() if mode == "sync" else "", day.isoformat() if day else "")


def _track_options(kind: str, track_kind: str, person: str) -> TrackOptions:
    """The form's track options, checked (other imports have none)."""
    if kind != TRACKS:
        return TrackOptions()
    canon = TRACK_KINDS.canonical(track_kind.strip() or NIGHT_PATROL)
    if canon not in TRACK_KINDS.terms:
        raise InvalidInput(f"轨迹类型应为 {' / '.join(TRACK_KINDS.terms)}：{track_kind}")
    return TrackOptions(canon, person.strip())


def _safe_name(filename: str | None) -> str:
    """The client's file name without any folder part or characters a file system or shell dislikes."""
    raw = PureWindowsPath(filename or "").name  # splits at both / and \
    stem, _, suffix = raw.rpartition(".") if "." in raw else (raw, "", "")
    stem = re.sub(r'[\x00-\x1f\x7f<>:"/\\|?*]+', "_", stem).strip(" .")[:80] or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix)[:10].lower()
    return f"{stem}.{suffix}" if suffix else stem


def _root(settings: Settings) -> Path:
    """Where checked files wait for their confirmation."""
    return settings.home_abs / UPLOADS


def _sweep(root: Path) -> None:
    """Remove upload folders nobody confirmed within STALE."""
    if not root.is_dir():
        return
    limit = (dt.datetime.now() - STALE).timestamp()
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:  # removed meanwhile by a confirm
            continue


def _store(file: UploadFile, settings: Settings) -> tuple[str, Path]:
    """Save the upload (size checked by save_upload) as ``uploads/<token>/<safe name>``; returns token and path."""
    root = _root(settings)
    _sweep(root)
    token = secrets.token_urlsafe(16)
    folder = root / token
    with save_upload(file, settings.max_upload_mb) as tmp:
        folder.mkdir(parents=True)
        target = folder / _safe_name(file.filename)
        shutil.move(tmp, target)
    return token, target


def _field_map(kind: str, lines: str) -> dict[str, str]:
    """The 列名对应 field: one ``源列=目标列`` per line (none for tracks: a GPX file has no columns)."""
    if kind == TRACKS:
        return {}
    return parse_field_map(lines.splitlines())


def _note(folder: Path, who: Actor, kind: str, crs: str, team: str, rows: int, file: Path,
          field_map: dict[str, str], options: Options, track: TrackOptions = TrackOptions()) -> None:  # fmt: skip
    """Keep who checked the file and how, for the confirmation."""
    note = {"owner": who.name, "kind": kind, "crs": crs, "team": team, "rows": rows, "file": file.name,
            "field_map": field_map, "mode": options.mode, "scope": options.scope, "effective": options.effective,
            "track_kind": track.kind, "person": track.person,
            "checked_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
    (folder / NOTE).write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")


def _claim(settings: Settings, token: str, who: Actor) -> Upload:
    """The actor's checked upload, moved aside so that no other confirm can take it (NotFound / Forbidden)."""
    if not TOKEN_RE.fullmatch(token):
        raise NotFound(GONE)
    folder = _root(settings) / token
    try:
        note = json.loads((folder / NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound(GONE) from exc
    if note.get("owner") != who.name:
        raise Forbidden("这个上传文件不是您上传的，不能由您确认导入")
    claimed = folder.with_name(f"{token}.importing")
    try:
        folder.rename(claimed)
    except OSError as exc:  # another confirm got there first
        raise NotFound(GONE) from exc
    options = Options(note.get("mode") or "insert", note.get("scope") or "", note.get("effective") or "")
    track = TrackOptions(note.get("track_kind") or NIGHT_PATROL, note.get("person") or "")
    return Upload(claimed, claimed / note["file"], note["owner"], note["kind"], note["crs"], note["team"],
                  int(note["rows"]), dict(note.get("field_map") or {}), options, track)  # fmt: skip


def _run(session: Session, settings: Settings, who: Actor, kind: str, path: Path, crs: str, team: str,
         dry_run: bool, field_map: dict[str, str], options: Options = Options(),
         track: TrackOptions = TrackOptions()) -> EntityImportReport | TrackImportReport:  # fmt: skip
    """The service's import (or dry run) of one file."""
    if kind == TRACKS:
        return import_track_file(session, path, actor=who, team_code=team or None, staff_code=track.person or None,
                                 kind=track.kind, crs=crs or None, dry_run=dry_run, timezone=settings.timezone,
                                 buffer_m=settings.patrol_buffer_m, max_distance_m=settings.import_max_distance_m,
                                 max_speed_kmh=settings.max_speed_kmh,
                                 max_gap_minutes=settings.max_gap_minutes)  # fmt: skip
    return import_entities(session, kind, path, actor=who, crs=crs or None, dry_run=dry_run,
                           timezone=settings.timezone, field_map=field_map,
                           max_distance_m=settings.import_max_distance_m, mode=options.mode,
                           scope=options.scope or None, effective=options.day,
                           calendar=calendar_for(session, settings))  # fmt: skip


def _changed(report: EntityImportReport | TrackImportReport) -> int:
    """How many updated records the report shows with their former values (personal data for persons)."""
    diff = report.diff if isinstance(report, EntityImportReport) else None
    return len(diff.updated.rows) if diff is not None else 0


def _rows(report: EntityImportReport | TrackImportReport) -> int:
    return report.tracks if isinstance(report, TrackImportReport) else report.rows


def _preview(kind: str, path: Path, field_map: dict[str, str]) -> Preview:
    """Headings and the first rows of a small file as the import reads them (row number first)."""
    if kind == TRACKS or path.stat().st_size > PREVIEW_MAX_BYTES:
        return [], []
    columns = ENTITIES[kind]
    table = read_table(path, columns, field_map, spatial=SPATIAL[kind])
    shown = [c for c in columns if c.name in table.frame]
    heads = ["行号" if table.row_word == "行" else "序号", *(header(c) for c in shown)]
    frame = table.frame.head(PREVIEW_ROWS)
    rows = [[str(n), *(str(frame[c.name].iat[i]) for c in shown)] for i, n in enumerate(table.rows[: len(frame)])]
    return heads, rows


def _summary(report: EntityImportReport | TrackImportReport) -> str:
    """One sentence: what the import writes (or wrote)."""
    verb = "将新增" if report.dry_run else "已导入"
    if isinstance(report, TrackImportReport):
        if report.kind == DAY_INSPECTION:
            text = f"{verb} {report.tracks} 条日巡查轨迹（{report.points} 个点；{len(report.nights)} 天）"
        else:
            shifts = "，".join(f"{s} {n} 条" for s, n in report.shifts.items())
            text = f"{verb} {report.tracks} 条巡逻轨迹（{report.points} 个点；{shifts}）"
        if report.jumps or report.gaps:
            text += f"；跳点 {report.jumps} 个、断点 {report.gaps} 处已标出（不画线、不计入统计）"
        return text
    d, unit = report.diff, UNITS[report.entity]
    if d is not None and d.mode != "insert":
        will = "将" if report.dry_run else "已"
        if report.entity == "staff":
            text = (f"{will}新增 {d.created.count} 个岗位、更新 {d.updated.count} 人、结束 {d.retired.count} 个岗位，"
                    f"{d.unchanged.count} 个岗位不变")  # fmt: skip
        else:
            text = (f"{will}新增 {d.created.count} {unit}、更新 {d.updated.count} {unit}、注销 {d.retired.count} "
                    f"{unit}，{d.unchanged.count} {unit}不变")  # fmt: skip
            if d.persons_retired:
                text += f"（随户注销 {d.persons_retired} 人）"
    else:
        count = report.imported if report.entity == "staff" else report.rows
        text = f"{verb} {count} {unit}"
    if SPATIAL[report.entity]:
        text += f"：{report.assigned} 条落入网格，{report.unassigned} 条不在任何网格内"
    return text


def _column_zh(kind: str) -> dict[str, str]:
    """The page's word for each column an import names (canonical name → heading)."""
    return COLUMN_ZH | {c.name: header(c) for c in ENTITIES.get(kind, ())}


def _page(request: Request, who: Actor, kind: str, report: EntityImportReport | TrackImportReport, *,
          token: str | None = None, crs: str = "", team: str = "", preview: Preview = ([], []),
          field_map: dict[str, str] | None = None, options: Options = Options(),
          track: TrackOptions = TrackOptions(), status_code: int = 200) -> Response:  # fmt: skip
    """The check (dry run) or import report: a refused file lists its first errors, then counts the rest; an
    update shows its diff (created, updated old → new, retired, unchanged)."""
    rows = report if isinstance(report, EntityImportReport) else None
    diff = rows.diff if rows is not None and rows.diff is not None and rows.diff.mode != "insert" else None
    return render(request, "imports_report.html", actor=who, active="imports", status_code=status_code,
                  title="导入检查结果" if report.dry_run else "导入结果", kind=kind, kind_label=KINDS[kind],
                  report=report, tracks=rows is None, summary=_summary(report),
                  errors=rows.errors if rows else [], error_total=rows.error_count if rows else 0,
                  error_summary=rows.error_summary if rows else [], token=token, crs=crs,
                  crs_label=CRS_CHOICES[crs], team=team, preview_heads=preview[0], preview_rows=preview[1],
                  field_map=field_map or {}, column_zh=_column_zh(kind), options=options, diff=diff,
                  unit=UNITS.get(kind, ""), track=track)  # fmt: skip


def _scopes(session: Session, who: Actor) -> list[tuple[str, str]]:
    """The grids a sync may cover: the street, communities and compounds of the actor's scope."""
    return [(g.code, f"{'　' * SCOPE_LEVELS.index(g.level)}{LEVEL_ZH[g.level]} {g.name}（{g.code}）")
            for g in grids_in_scope(session, who) if g.level in SCOPE_LEVELS]  # fmt: skip


@router.get("/imports")
def imports_page(request: Request, session: SessionDep, settings: SettingsDep, who: PatrolDep) -> Response:
    """Choose what to import, how (仅新增, 新增并更新, 同步 and its grid, the effective day), the coordinate system
    and the file; templates to download."""
    kinds = {k: v for k, v in KINDS.items() if k == TRACKS or may(who, "write")}
    targets = {e: [(c.name, header(c)) for c in ENTITIES[e]] + ([("geometry", "WKT 几何")] if SPATIAL[e] else [])
               for e in ENTITIES if e in kinds}  # fmt: skip
    templates = [
        {
            "entity": e,
            "label": LABELS[e],
            "name": template_name(e),
            "columns": [(header(c), required(e, c)) for c in ENTITIES[e]],
        }
        for e in ENTITIES
        if e in kinds
    ]
    accept = {k: ",".join(FORMATS[k]) for k in kinds}
    writer = may(who, "write")
    return render(request, "imports.html", actor=who, active="imports", title="数据导入", kinds=kinds,
                  crs_choices=CRS_CHOICES, templates=templates, accept=accept, targets=targets,
                  all_formats=",".join(sorted({f for k in kinds for f in FORMATS[k]})), modes=MODES,
                  scopes=_scopes(session, who) if writer else [], today=day_of(None, settings.timezone).isoformat(),
                  writer=writer, track_kinds=TRACK_KINDS.terms)  # fmt: skip


@router.post("/imports/check", dependencies=[Throttled])
def imports_check(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    file: Annotated[UploadFile, File()],
    entity: Annotated[str, Form(max_length=40)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=40)] = "",
    field_map: Annotated[str, Form(max_length=MAX_MAP_CHARS)] = "",
    mode: Annotated[str, Form(max_length=10)] = "insert",
    scope: Annotated[str, Form(max_length=40)] = "",
    effective: Annotated[str, Form(max_length=20)] = "",
    track_kind: Annotated[str, Form(max_length=10)] = "",
    person: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Save the upload, run the dry run and show its report (with the confirm button when nothing is wrong).

    Tracks: ``track_kind`` 夜间巡逻 (default) or 日巡查, ``person`` a staff code for one person's tracks; a GPX file
    needs a team or a person (a CSV may name its people in a column)."""
    kind, crs, team = _kind(entity), _crs(crs), team.strip()
    track = _track_options(kind, track_kind, person)
    if kind == TRACKS and not team and not track.person and not (file.filename or "").lower().endswith(".csv"):
        raise InvalidInput("导入巡逻轨迹须填写巡逻队编码（一个人的轨迹填写人员编码）")
    mapping = _field_map(kind, field_map)
    options = _options(kind, mode, scope, effective)
    token, path = _store(file, settings)
    keep = False
    try:
        checked = session.begin_nested()  # whatever the service leaves behind, a check writes nothing
        try:
            report = _run(session, settings, who, kind, path, crs, team, dry_run=True, field_map=mapping,
                          options=options, track=track)  # fmt: skip
        finally:
            checked.rollback()
        refused = isinstance(report, EntityImportReport) and report.refused
        preview = ([], []) if refused else _preview(kind, path, mapping)
        if kind in PERSONAL and (preview[1] or refused or _changed(report)):
            log_view(session, who, PERSONAL[kind], options.scope or who.scope_code, page="/imports/check",
                     rows=len(preview[1]) or _changed(report))  # fmt: skip
        if not refused:
            _note(path.parent, who, kind, crs, team, _rows(report), path, mapping, options, track)
            keep = True
        return _page(request, who, kind, report, token=token if keep else None, crs=crs, team=team, preview=preview,
                     field_map=mapping, options=options, track=track,
                     status_code=422 if refused else 200)  # fmt: skip
    except InvalidInput as exc:  # the file as a whole is unusable (format, columns, GPX tracks): say so on the form
        return render(request, "imports_report.html", actor=who, active="imports", status_code=422,
                      title="导入检查结果", kind=kind, kind_label=KINDS[kind], report=None, failure=exc.message,
                      file=path.name, crs_label=CRS_CHOICES[crs], team=team, field_map=mapping,
                      column_zh=_column_zh(kind), options=options, track=track)  # fmt: skip
    finally:
        if not keep:
            shutil.rmtree(path.parent, ignore_errors=True)


@router.post("/imports/confirm", dependencies=[Throttled])
def imports_confirm(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: PatrolDep,
    token: Annotated[str, Form(max_length=60)],
    entity: Annotated[str, Form(max_length=40)] = "",
    crs: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=40)] = "",
    mode: Annotated[str, Form(max_length=10)] = "insert",
    scope: Annotated[str, Form(max_length=40)] = "",
    effective: Annotated[str, Form(max_length=20)] = "",
    track_kind: Annotated[str, Form(max_length=10)] = "",
    person: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Import the checked file for real, with the options it was checked with: at once when small, else as a
    background job (then its progress page). The track options come from the check (a form may repeat them)."""
    upload = _claim(settings, token, who)
    handed_over = False  # to the background job, which removes the folder when done
    try:
        asked = (entity, crs, team.strip(), mode.strip() or "insert", scope.strip(), effective.strip())
        repeated = (track_kind.strip() or upload.track.kind, person.strip() or upload.track.person)
        checked = (upload.kind, upload.crs, upload.team, *astuple(upload.options))
        if asked != checked or repeated != astuple(upload.track):
            raise InvalidInput("确认的导入内容与检查时不一致，请重新上传并检查")
        if upload.kind != TRACKS and upload.rows > DIRECT_MAX_ROWS:
            title = f"导入{KINDS[upload.kind]}：{upload.file.name}（{upload.rows:,} 行）"
            work = _import_job(request.app.state.engine, settings, who, upload)
            job_id = request.app.state.jobs.start(who, "import", title, work, {
                "entity": upload.kind, "file": upload.file.name, "rows": upload.rows, "crs": upload.crs,
                "mode": upload.options.mode, "scope": upload.options.scope,
                "effective": upload.options.effective})  # fmt: skip
            handed_over = True
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        report = _run(session, settings, who, upload.kind, upload.file, upload.crs, upload.team, dry_run=False,
                      field_map=upload.field_map, options=upload.options, track=upload.track)  # fmt: skip
        refused = isinstance(report, EntityImportReport) and report.refused  # the data changed since the check
        if upload.kind in PERSONAL and isinstance(report, EntityImportReport) and refused:
            log_view(session, who, PERSONAL[upload.kind], who.scope_code, page="/imports/confirm",
                     rows=len(report.errors))  # fmt: skip
        return _page(request, who, upload.kind, report, crs=upload.crs, team=upload.team,
                     field_map=upload.field_map, options=upload.options, track=upload.track,
                     status_code=422 if refused else 200)  # fmt: skip
    finally:
        if not handed_over:
            shutil.rmtree(upload.folder, ignore_errors=True)


def _import_job(engine: Engine, settings: Settings, who: Actor, upload: Upload) -> Callable[[Progress], Outcome]:
    """The background import of a large checked file; its report is the job's result."""
    label = KINDS[upload.kind]

    def work(progress: Progress) -> Outcome:
        try:
            progress(0.05, f"正在检查并写入 {upload.rows:,} 行{label}，请稍候…")
            with session_scope(engine, who.name) as session:
                report = _run(session, settings, who, upload.kind, upload.file, upload.crs, upload.team, False,
                              upload.field_map, upload.options)  # fmt: skip
                if isinstance(report, EntityImportReport) and report.refused:
                    first = "；".join(f"第 {e.row} 行 {e.column}：{e.reason}" for e in report.errors[:5])
                    raise InvalidInput(f"文件未导入：有 {report.error_count} 处错误（数据在检查后有变化），"
                                       f"请修正后重新上传。{first}")  # fmt: skip
            assert isinstance(report, EntityImportReport)
            message = f"已导入 {report.imported:,} 条{label}"
            d = report.diff
            if d is not None and d.mode != "insert":
                message = (f"已导入{label}：新增 {d.created.count:,}，更新 {d.updated.count:,}，"
                           f"注销 {d.retired.count:,}，未变 {d.unchanged.count:,}")  # fmt: skip
            if SPATIAL[upload.kind]:
                message += f"（{report.assigned:,} 条落入网格，{report.unassigned:,} 条不在任何网格内）"
            return Outcome(result=report.as_dict(), message=message)
        finally:
            shutil.rmtree(upload.folder, ignore_errors=True)

    return work


@router.get("/imports/template/{entity}.xlsx")
def imports_template(entity: str, who: ViewerDep) -> Response:
    """The Excel template of an entity: Chinese headings, drop-downs, one example row and a 说明 sheet."""
    if entity not in ENTITIES:
        raise NotFound(f"没有此类导入模板：{entity}")
    with tempfile.TemporaryDirectory(prefix="gridgov-template-") as tmp:
        data = write_template(entity, Path(tmp) / "template.xlsx").read_bytes()
    name = template_name(entity)
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{entity}.xlsx\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store"})  # fmt: skip
