"""``gridgov grids``: import, export, validate, history and repairs of the grid hierarchy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import acting, echo_json, engine, get_settings
from gridgov.cli.errors import EXIT_REFUSED
from gridgov.errors import InvalidInput
from gridgov.importing.columns import parse_field_map
from gridgov.periods import as_of_moment, parse_moment

if TYPE_CHECKING:
    from gridgov.grids.findings import Finding
    from gridgov.grids.repair import RepairRequest
    from gridgov.grids.staffing import StaffingFinding

app = typer.Typer(help="网格：导入、导出、校验拓扑、查看历史、修复。")
JsonOpt = typer.Option(False, "--json", help="以 JSON 输出")
GRID_FIELDS = ("code", "name", "level", "parent_code")  # what --map may name


def _print_findings(findings: list[Finding]) -> None:
    from gridgov.grids.findings import RULE_ZH

    if not findings:
        typer.echo("未发现问题。")
        return
    for f in findings:
        figure = f"，{f.area_m2:.1f} m²" if f.area_m2 is not None else ""
        figure += f"，{f.length_m:.1f} m" if f.length_m is not None else ""
        rows = f"（要素 {', '.join(map(str, f.rows))}）" if f.rows else ""
        where = f" @ {f.location[0]:.7f},{f.location[1]:.7f}" if f.location else ""
        typer.echo(f"[{f.rule} {RULE_ZH.get(f.rule, '')}] {f.message}{figure}{rows}{where}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="GeoJSON / GeoPackage / zip Shapefile / KML / 含 WKT 的 CSV"),
    crs: str | None = typer.Option(
        None, help="坐标系：EPSG:4326、EPSG:4490、EPSG:4491–4554 或 gcj02（默认取文件声明）"
    ),
    field_map: list[str] = typer.Option([], "--map", help="字段映射 源列=规范名，如 --map 编号=code，可重复"),
    layer: str | None = typer.Option(None, help="图层名（多图层文件）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查，不写入"),
    as_json: bool = JsonOpt,
) -> None:
    """导入网格文件（原子操作：硬错误拒绝整个文件，拓扑问题保存待修复）。"""
    from gridgov.grids.importer import import_grids

    with acting() as (s, actor):
        report = import_grids(s, file, actor=actor, crs=crs, field_map=parse_field_map(field_map, GRID_FIELDS),
                              layer=layer, dry_run=dry_run, settings=get_settings())  # fmt: skip
    if as_json:
        echo_json(report.as_dict())
    else:
        from gridgov.grids.importer import MAX_FINDINGS_LISTED

        state = "已拒绝（未写入任何数据）" if report.blocking else ("试运行（未写入）" if dry_run else "已导入")
        typer.echo(f"{file.name}：{report.features} 个要素，坐标系 {report.crs}，{state}")
        typer.echo(f"新建 {len(report.created)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}")
        _print_findings(report.findings[:MAX_FINDINGS_LISTED])  # a large file stays readable: the rest is counted
        total = len(report.findings)
        if total > MAX_FINDINGS_LISTED:
            typer.echo(f"……其余 {total - MAX_FINDINGS_LISTED} 个问题未逐条列出")
        if total:
            typer.echo(f"按规则统计（共 {total} 个问题）：")
            for k in report.as_dict()["finding_summary"]:
                typer.echo(f"  [{k['rule']} {k['reason']}]  {k['count']} 个")
    if report.blocking:
        raise typer.Exit(code=EXIT_REFUSED)


@app.command()
def export(
    out: Path = typer.Option(..., "--out", "-o", help="输出文件 .geojson 或 .gpkg"),
    level: str | None = typer.Option(None, help="只导出此层级"),
    as_of: dt.date | None = typer.Option(
        None, "--as-of", parser=parse_moment, metavar="YYYY-MM-DD", help="历史时点，如 2025-12-31"
    ),
) -> None:
    """导出网格（与导入字段一致，可再次导入）。"""
    from sqlalchemy.orm import Session

    from gridgov.grids import service
    from gridgov.grids.io import write_grid_file

    with Session(engine()) as s:
        records = service.list_grids(s, level=level, as_of=as_of_moment(as_of, get_settings().timezone))
    write_grid_file(records, out)
    typer.echo(f"已导出 {len(records)} 个网格到 {out}")


@app.command()
def validate(
    parent: str | None = typer.Option(None, help="只校验此网格及其下级"),
    store: bool = typer.Option(True, help="保存结果供页面显示"),
    allowed_gaps: Path | None = typer.Option(None, help="允许空隙图层（河流、公园、道路等面要素文件）"),
    as_json: bool = JsonOpt,
) -> None:
    """校验网格拓扑与编码（重叠、空隙、超出上级、碎片、编码……），并列出人员配备提醒（楼院没有网格长、有多名网格长或
    没有网格员）。人员配备只作提醒：不保存为拓扑问题，也不改变退出码（校验完成即为 0）。"""
    from gridgov.grids.checks import validate_and_store

    settings = get_settings()
    if allowed_gaps is not None:
        settings = settings.model_copy(update={"allowed_gaps_path": allowed_gaps})
    with acting() as (s, actor):
        result = validate_and_store(s, actor, parent_code=parent, settings=settings, store=store)
    if as_json:
        echo_json(result.as_dict())
        return
    if not result.findings and not result.staffing:
        typer.echo("未发现问题。")
        return
    if result.findings:
        _print_findings(result.findings)
    else:
        typer.echo("拓扑与编码：未发现问题。")
    _print_staffing(result.staffing)
    typer.echo(f"合计：拓扑与编码问题 {len(result.findings)} 条；人员配备提醒 {len(result.staffing)} 条"
               "（人员配备只作提醒，不影响校验结果）")  # fmt: skip


def _print_staffing(staffing: list[StaffingFinding]) -> None:
    from gridgov.grids.findings import STAFFING_LABEL

    for f in staffing:
        typer.echo(f"[{STAFFING_LABEL}] {f.name}（{f.code}）：{f.text}")


@app.command()
def history(code: str, as_json: bool = JsonOpt) -> None:
    """显示网格的全部版本（谁、何时、改了什么）。"""
    from sqlalchemy.orm import Session

    from gridgov.auth.users import display_names
    from gridgov.grids import service
    from gridgov.vocab import actor_label

    with Session(engine()) as s:
        versions = service.history(s, code)
        people = display_names(s, [v.updated_by for v in versions])
    rows = [
        {
            "version": v.version,
            "code": v.code,
            "name": v.name,
            "parent_code": v.parent_code,
            "valid_from": v.valid_from,
            "valid_to": v.valid_to,
            "updated_by": v.updated_by,
            "area_m2": round(_area_m2(v.geom), 1),
        }
        for v in versions
    ]
    if as_json:
        echo_json(rows)
        return
    for r, v in zip(rows, versions, strict=True):
        until = r["valid_to"] or "至今"
        typer.echo(f"v{r['version']} {r['code']} {r['name']} {r['area_m2']} m² {r['valid_from']} → {until}"
                   f"（{actor_label(v.updated_by, people)}）")  # fmt: skip


def _area_m2(geom: object) -> float:
    from gridgov.geo.crs import MetricFrame

    frame = MetricFrame.for_geoms([geom])
    return float(frame.to_m(geom).area)  # type: ignore[attr-defined]


@app.command("list")
def list_(level: str | None = None, parent: str | None = None, as_json: bool = JsonOpt) -> None:
    """列出现行网格。"""
    from sqlalchemy.orm import Session

    from gridgov.grids import service

    with Session(engine()) as s:
        rows = service.list_grids(s, level=level, parent_code=parent, with_geometry=False)
    data = [{"code": g.code, "name": g.name, "level": g.level, "parent_code": g.parent_code, "version": g.version}
            for g in rows]  # fmt: skip
    if as_json:
        echo_json(data)
        return
    for d in data:
        typer.echo(f"{d['code']}\t{d['name']}\t{d['level']}\tv{d['version']}")


repair_app = typer.Typer(help="修复（先预览，加 --apply 才写入；每次修改都保留历史版本）。")
app.add_typer(repair_app, name="repair")
ApplyOpt = typer.Option(False, "--apply", help="写入修改（默认只预览）")


def _run_repair(req: RepairRequest, apply: bool, as_json: bool) -> None:
    from gridgov.grids.repair import repair

    with acting() as (s, actor):
        plan, moved = repair(s, req, apply=apply, actor=actor, settings=get_settings())
    data = plan.as_dict() | {"applied": apply, "reassigned": moved}
    if as_json:
        echo_json(data)
        return
    typer.echo(f"{data['operation_zh']}：{'已写入' if apply else '预览（加 --apply 写入）'}")
    for c in data["changes"]:
        target = f" → {c['new_code']}" if c["new_code"] else ""
        typer.echo(f"  {c['action']} {c['code']}{target} {c['name']}：{c['area_before_m2']} → {c['area_after_m2']} m²")
    typer.echo("修复后仍存在的问题：")
    _print_findings(plan.findings_after)


@repair_app.command("clip")
def repair_clip(code: str, apply: bool = ApplyOpt, as_json: bool = JsonOpt) -> None:
    """把网格超出上级的部分裁掉。"""
    from gridgov.grids.repair import RepairRequest

    _run_repair(RepairRequest("clip", code=code), apply, as_json)


@repair_app.command("snap")
def repair_snap(
    code: str, tolerance: float | None = typer.Option(None, help="吸附距离（米，默认配置的容差）"),
    apply: bool = ApplyOpt, as_json: bool = JsonOpt,
) -> None:  # fmt: skip
    """把网格顶点吸附到相邻网格（容差内）。"""
    from gridgov.grids.repair import RepairRequest

    _run_repair(RepairRequest("snap", code=code, tolerance_m=tolerance), apply, as_json)


@repair_app.command("fill-gap")
def repair_fill_gap(
    parent: str, at: str | None = typer.Option(None, help="只处理离此点最近的空隙：经度,纬度"),
    apply: bool = ApplyOpt, as_json: bool = JsonOpt,
) -> None:  # fmt: skip
    """把上级网格中的空隙并入共享边界最长的相邻网格。"""
    from gridgov.grids.repair import RepairRequest

    try:
        point = (float(at.split(",")[0]), float(at.split(",")[1])) if at else None
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"位置格式应为 经度,纬度：{at}") from exc
    _run_repair(RepairRequest("fill_gap", parent=parent, at=point), apply, as_json)


@repair_app.command("split")
def repair_split(
    code: str, line: str = typer.Option(..., help="分割线：经度 纬度,经度 纬度,…（如道路中线）"),
    apply: bool = ApplyOpt, as_json: bool = JsonOpt,
) -> None:  # fmt: skip
    """沿一条线（如道路）把网格分成两个或多个。"""
    from shapely.geometry import LineString

    from gridgov.grids.repair import RepairRequest

    try:
        cut = LineString([tuple(float(v) for v in pair.split()) for pair in line.split(",")])
    except ValueError as exc:
        raise InvalidInput(f"分割线格式错误：{line}") from exc
    _run_repair(RepairRequest("split", code=code, line=cut), apply, as_json)


@repair_app.command("merge")
def repair_merge(
    codes: list[str] = typer.Argument(..., help="要合并的网格编码（保留最小编码）"),
    name: str | None = typer.Option(None, help="合并后的名称"),
    apply: bool = ApplyOpt, as_json: bool = JsonOpt,
) -> None:  # fmt: skip
    """合并相邻的同级网格。"""
    from gridgov.grids.repair import RepairRequest

    _run_repair(RepairRequest("merge", codes=codes, name=name), apply, as_json)


@repair_app.command("renumber")
def repair_renumber(parent: str, apply: bool = ApplyOpt, as_json: bool = JsonOpt) -> None:
    """按自西向东、自北向南重新编号上级网格下的网格。"""
    from gridgov.grids.repair import RepairRequest

    _run_repair(RepairRequest("renumber", parent=parent), apply, as_json)
