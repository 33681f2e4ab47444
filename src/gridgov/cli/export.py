"""``gridgov export board``: print-ready 公示 boards (PDF or PNG) of one grid or of every grid under a parent: the
grid board, or with ``--kind party`` the 楼院党建公示 board."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from gridgov.cli.common import engine, get_settings
from gridgov.errors import InvalidInput
from gridgov.periods import parse_date

app = typer.Typer(help="导出：网格公示牌（PDF / PNG，可直接交印刷）。", no_args_is_help=True)


@app.command("board")
def board(
    out: Path = typer.Option(..., "--out", "-o", help="输出文件（.pdf / .png）；批量 PNG 时按网格编码加后缀"),
    grid: str | None = typer.Option(None, "--grid", help="网格编码"),
    parent: str | None = typer.Option(None, "--parent", help="批量：此网格下每个楼院网格一页"),
    paper: str = typer.Option("A4", "--paper", help="纸张：A4 / A3 / A2 / A1"),
    landscape: bool = typer.Option(False, "--landscape", help="横向"),
    fmt: str | None = typer.Option(None, "--format", help="pdf 或 png（默认按输出文件扩展名）"),
    dpi: int = typer.Option(300, "--dpi", help="PNG 分辨率"),
    on: dt.date | None = typer.Option(
        None, "--date", parser=parse_date, metavar="YYYY-MM-DD", help="公示日期：按该日在任的人员生成（默认今天）"
    ),
    kind: str = typer.Option("grid", "--kind", help="grid（网格公示牌，默认）或 party（楼院党建公示牌）"),
) -> None:
    """网格公示牌：网格图（高斯-克吕格投影、指北针、比例尺、图例）、责任人员、监督电话、职责、日期。

    --kind party：楼院党建公示牌：网格图与党员责任区、党组织设置、书记及电话、支委、责任区与岗位职责、监督电话；
    党员只在本人同意亮身份时公示姓名，其他党员只计人数。

    人员配备不全的楼院（没有网格长、有多名网格长或没有网格员）各在标准错误输出一行提醒（网格公示牌），公示牌照常生成。"""
    from sqlalchemy.orm import Session

    from gridgov.grids.staffing import staffing_findings
    from gridgov.print.board import KINDS, check_options, export_boards
    from gridgov.print.data import leaf_codes

    if (grid is None) == (parent is None):
        raise InvalidInput("请指定 --grid（单个网格）或 --parent（批量），二者选一")
    fmt_out = (fmt or out.suffix.lstrip(".") or "pdf").lower()
    check_options(paper, fmt_out, dpi, landscape, kind)  # refused before any work
    with Session(engine()) as s:
        codes = [grid] if grid is not None else leaf_codes(s, parent or "")
        for f in staffing_findings(s, codes=codes, on=on) if kind == "grid" else []:  # the board is still made
            typer.echo(f"提醒：{f.name}（{f.code}）{f.text}，公示牌上的责任人员不完整。", err=True)
        with typer.progressbar(length=len(codes), label=f"生成{KINDS[kind]}", file=None) as bar:
            files = export_boards(s, codes, paper=paper, landscape=landscape, fmt=fmt_out, dpi=dpi,
                                  settings=get_settings(), progress=lambda _code: bar.update(1), on=on,
                                  kind=kind)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt_out == "pdf" or len(files) == 1:
        out.write_bytes(files[0])
        pages = f"，共 {len(codes)} 页" if fmt_out == "pdf" else ""
        typer.echo(f"已写出 {out}{pages}")
        return
    for code, data in zip(codes, files, strict=True):
        target = out.with_name(f"{out.stem}_{code}{out.suffix or '.png'}")
        target.write_bytes(data)
    typer.echo(f"已写出 {len(files)} 个 PNG：{out.parent}/{out.stem}_<网格编码>{out.suffix or '.png'}")
