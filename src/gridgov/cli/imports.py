"""``gridgov import``: households, buildings, persons, incidents, staff (CSV/XLSX/GeoJSON/GPKG) and GPX/CSV tracks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import acting, echo_json, get_settings
from gridgov.cli.errors import EXIT_REFUSED
from gridgov.importing.columns import ENTITIES, ENTITY_ZH, MODES, SPATIAL, parse_field_map
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.importing.modes import ImportDiff
    from gridgov.patrol.track_import import TrackImportReport

app = typer.Typer(help="导入户、楼栋、人员、事件、网格工作人员（CSV/XLSX/GeoJSON/GeoPackage）与巡逻轨迹（GPX）。")
CrsOpt = typer.Option(None, help="坐标系：EPSG:4326、4490、4491–4554 或 gcj02（默认取文件声明或 WGS84）")
DryOpt = typer.Option(False, "--dry-run", help="只检查，不写入")
JsonOpt = typer.Option(False, "--json", help="以 JSON 输出摘要")
ModeOpt = typer.Option(
    "insert", "--mode", help="insert 仅新增（已有编码拒绝）；upsert 新增并更新（逐字段，文件没有的列不变）；"
    "sync 同步（文件即范围内的全部：文件中没有的在册记录注销，原因“同步移除”）"
)  # fmt: skip
ScopeOpt = typer.Option(None, "--scope", help="同步的范围：网格编码（社区或网格，sync 必填）")
EffectiveOpt = typer.Option(None, "--effective", parser=parse_date, metavar="YYYY-MM-DD",
                            help="变更生效日期（默认今天；补登以前的调查时填写）")  # fmt: skip
LISTED = 20  # rows of each part of the diff printed


def _diff_lines(diff: ImportDiff) -> list[str]:
    """The diff as the CLI prints it: the counts, then the first created, updated (字段：旧 → 新) and retired rows."""
    where = f"，范围 {diff.scope}" if diff.scope else ""
    when = f"，生效日期 {diff.effective}" if diff.effective else ""
    out = [f"新增 {diff.created.count}，更新 {diff.updated.count}，注销 {diff.retired.count}，"
           f"未变 {diff.unchanged.count}（{MODES[diff.mode]}{where}{when}）"]  # fmt: skip
    if diff.persons_retired:
        out[0] += f"；随户注销人员 {diff.persons_retired}"
    for label, part in (("新增", diff.created), ("更新", diff.updated), ("注销", diff.retired)):
        for r in part.rows[:LISTED]:
            at = f"第 {r.row} 行 " if r.row is not None else ""
            changes = "；".join(f"{c.label}：{c.old if c.old is not None else '（空）'} → "
                               f"{c.new if c.new is not None else '（空）'}" for c in r.changes)  # fmt: skip
            detail = f"  {r.detail}" if r.detail else ""
            out.append(f"  {label}：{at}{r.code}{detail}{'  ' + changes if changes else ''}")
        if part.count > min(len(part.rows), LISTED):
            out.append(f"  ……其余 {part.count - min(len(part.rows), LISTED)} 条{label}未逐条列出")
    return out


def _run(entity: str, file: Path, crs: str | None, dry_run: bool, as_json: bool, field_map: list[str],
         mode: str = "insert", scope: str | None = None, effective: dt.date | None = None) -> None:  # fmt: skip
    from gridgov.importing.entities import import_entities
    from gridgov.workdays import calendar_for

    settings = get_settings()
    with acting() as (s, actor):
        report = import_entities(s, entity, file, actor=actor, crs=crs, dry_run=dry_run, timezone=settings.timezone,
                                 field_map=parse_field_map(field_map), max_distance_m=settings.import_max_distance_m,
                                 mode=mode, scope=scope, effective=effective,
                                 calendar=calendar_for(s, settings))  # fmt: skip
    if as_json:
        echo_json(report.as_dict())
    else:
        what = ENTITY_ZH[entity]
        if report.refused:
            typer.echo(f"{file.name}：已拒绝，未写入任何数据（{report.error_count} 处错误）")
            for e in report.errors:
                typer.echo(f"  第 {e.row} 行  {e.column}：{e.reason}")
            if report.error_count > len(report.errors):
                typer.echo(f"  ……其余 {report.error_count - len(report.errors)} 处未逐条列出")
                typer.echo(f"按列和原因统计（共 {report.error_count} 处）：")
                for k in report.error_summary:
                    typer.echo(f"  {k['column']}：{k['reason']}  {k['count']} 处")
        else:
            state = "试运行（未写入）" if dry_run else "已导入"
            placed = f"；已分配 {report.assigned}，未分配 {report.unassigned}" if SPATIAL[entity] else ""
            typer.echo(f"{file.name}：{state} {report.imported} 条{what}{placed}")
            if report.diff is not None:
                for line in _diff_lines(report.diff):
                    typer.echo(line)
            for r in report.unassigned_rows[:20]:
                typer.echo(f"  未分配：第 {r['row']} 行 {r['code'] or ''}（不在任何网格内）")
    if report.refused:
        raise typer.Exit(code=EXIT_REFUSED)


def _command(entity: str) -> None:
    accepted = "、".join([c.name for c in ENTITIES[entity]] + (["geometry（WKT 列）"] if SPATIAL[entity] else []))

    def cmd(
        file: Path = typer.Argument(..., help="CSV（UTF-8/GBK）、XLSX、GeoJSON 或 GeoPackage"),
        crs: str | None = CrsOpt,
        field_map: list[str] = typer.Option(
            [], "--map", help=f"列名对应 源列=目标列，如 --map 档案号=code，可重复；目标列：{accepted}"
        ),
        mode: str = ModeOpt,
        scope: str | None = ScopeOpt,
        effective: dt.date | None = EffectiveOpt,
        dry_run: bool = DryOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        _run(entity, file, crs, dry_run, as_json, field_map, mode, scope, effective)

    cmd.__doc__ = f"导入{ENTITY_ZH[entity]}（原子操作：任何一行有误则整个文件不写入）。"
    if entity == "incidents":
        cmd.__doc__ += "事件只能“仅新增”导入（--mode insert）。"
    else:
        cmd.__doc__ += "--mode upsert 新增并更新，sync 同步指定范围；--dry-run 先看差异（新增、更新、注销、未变）。"
    app.command(entity)(cmd)


for _entity in ("households", "buildings", "persons", "incidents", "staff"):
    _command(_entity)


def _track_lines(report: TrackImportReport, timezone: str) -> list[str]:
    """Each track on one line, with what the cleaning found (jumps and gaps, with their times)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    out = []
    for i in report.items:
        who = "".join(p for p in (i.team_code, f" {i.staff_name}（{i.staff_code}）" if i.staff_code else "") if p)
        line = f"  {i.name or f'第 {i.index} 条轨迹'}：{i.night} {i.shift or i.kind} {who.strip()}，{i.points} 个点"
        if i.jumps:
            shown = "、".join(f"{t.astimezone(tz):%H:%M:%S}" for t in i.jumps[:5]) + ("…" if len(i.jumps) > 5 else "")
            line += f"；跳点 {len(i.jumps)} 个（{shown}，不计入轨迹）"
        if i.gaps:
            shown = "、".join(f"{g.after.astimezone(tz):%H:%M}–{g.at.astimezone(tz):%H:%M}" for g in i.gaps[:5])
            line += f"；断点 {len(i.gaps)} 处（{shown}{'…' if len(i.gaps) > 5 else ''} 未记录，不画线、不计入）"
        out.append(line)
    return out


@app.command("tracks")
def tracks(
    file: Path = typer.Argument(..., help="GPX（每个 <trk> 为一次巡逻，点须带时间）或 CSV（time,lon,lat[,person]，"
                                          "或 时间,经度,纬度[,人员]；UTF-8 或 GBK）"),
    team: str | None = typer.Option(None, "--team", help="巡逻队编码（夜间巡逻：不填时取人员所在的巡逻队）"),
    person: str | None = typer.Option(None, "--person",
                                      help="人员编码：一个人的轨迹（日巡查必填，或用文件中的人员列）"),
    kind: str = typer.Option("夜间巡逻", "--kind", help="轨迹类型：夜间巡逻 或 日巡查（任何时段，按日期统计）"),
    crs: str | None = typer.Option(None, help="gcj02：轨迹来自高德/腾讯坐标（默认 WGS84）"),
    dry_run: bool = DryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """导入巡逻轨迹（原子操作）：夜间巡逻按时间判定上半夜/下半夜，日巡查按日期；标出跳点和断点，并列出超出巡逻区域的轨迹。"""
    from dataclasses import asdict

    from gridgov.patrol.track_import import import_track_file

    settings = get_settings()
    with acting() as (s, actor):
        report = import_track_file(s, file, actor=actor, team_code=team, staff_code=person, kind=kind, crs=crs,
                                   dry_run=dry_run, timezone=settings.timezone, buffer_m=settings.patrol_buffer_m,
                                   max_distance_m=settings.import_max_distance_m,
                                   max_speed_kmh=settings.max_speed_kmh, max_gap_minutes=settings.max_gap_minutes)
    if as_json:
        echo_json(asdict(report))
        return
    state = "试运行（未写入）" if dry_run else "已导入"
    shifts = "，".join(f"{k} {v}" for k, v in report.shifts.items())
    when = f"{len(report.nights)} 个夜晚（{shifts}）" if report.kind != "日巡查" else f"{len(report.nights)} 天日巡查"
    typer.echo(f"{file.name}：{state} {report.tracks} 条轨迹、{report.points} 个点，{when}；"
               f"跳点 {report.jumps} 个，断点 {report.gaps} 处")
    for line in _track_lines(report, settings.timezone):
        typer.echo(line)
    for o in report.outside:
        typer.echo(f"  超出巡逻区域：{o.night} {o.shift} 约 {o.outside_m:.0f} 米（{o.share:.0%}）")
