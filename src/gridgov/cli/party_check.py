"""``gridgov party check``: the Party compliance check (党建合规检查) of a scope as of a day: a Chinese report, the
findings as JSON, or the Excel workbook.

The thresholds are the settings' (``PartyRules.of``); the command needs personal data rights (the local operator
has them; a token's role and scope are checked) and is logged as a view of Party data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gridgov.cli.common import acting, echo_json, get_settings
from gridgov.periods import parse_date

if TYPE_CHECKING:
    from gridgov.party.check import Report


def register(app: typer.Typer) -> None:
    """Add these commands to ``gridgov party``."""
    app.command("check")(check_cmd)


def check_cmd(
    parent: str | None = typer.Option(None, "--parent", help="网格编码：只检查此网格及其下级（默认：您的范围）"),
    as_of: dt.date | None = typer.Option(None, "--as-of", parser=parse_date, metavar="YYYY-MM-DD",
                                         help="检查哪一天结束时的状态（默认今天）"),  # fmt: skip
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出问题清单（每条问题一个对象，英文键）"),
    out: Path | None = typer.Option(None, "--out", "-o", help="写出 Excel 文件（.xlsx：汇总、问题清单、说明）"),
) -> None:
    """党建合规检查：组织形式、支部建在网格上、责任区覆盖、联系户、志愿服务、报到、活动证、按期开会、年龄结构。"""
    from gridgov.auth.scope import require_role
    from gridgov.auth.views import log_view
    from gridgov.party.check import check
    from gridgov.party.check_export import check_workbook, finding_dict
    from gridgov.party.rules import PartyRules

    if out is not None and out.suffix.lower() != ".xlsx":
        raise typer.BadParameter("输出文件须为 .xlsx", param_hint="--out")
    settings = get_settings()
    with acting() as (s, actor):
        require_role(actor, "personal")
        report = check(s, actor, PartyRules.of(settings), parent=parent, day=as_of, timezone=settings.timezone)
        log_view(s, actor, "party_check", report.parent, page="gridgov party check", rows=len(report.findings))
    if out is not None:
        from zoneinfo import ZoneInfo

        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(check_workbook(report, made=dt.datetime.now(ZoneInfo(settings.timezone))))
        typer.echo(f"已写出 {out}")
        return
    if as_json:
        echo_json([finding_dict(f) for f in report.findings])
        return
    _print(report)


def _print(report: Report) -> None:
    """The report in Chinese: each rule's result with its numbers, then the findings grouped by rule."""
    from gridgov.party.check_export import FAILED, scope_label, summary_lines

    lines = summary_lines(report)
    typer.echo(f"党建网格合规检查：{scope_label(report)}，截至 {report.day:%Y-%m-%d}")
    failed = sum(1 for line in lines if line.status == FAILED)
    typer.echo(f"共 {len(lines)} 项，未通过 {failed} 项，问题 {len(report.findings)} 条\n")
    width = max(len(line.rule_zh) for line in lines)
    for line in lines:
        typer.echo(f"  {line.rule_zh}{'　' * (width - len(line.rule_zh))}  {line.status:　<5}"
                   f"  检查 {line.checked}，未通过 {line.failed}（标准：{line.threshold}）")  # fmt: skip
    for line in lines:
        found = [f for f in report.findings if f.rule == line.rule]
        if not found:
            continue
        typer.echo(f"\n【{line.rule_zh}】{line.status}，{len(found)} 条")
        for f in found:
            where = " ".join(x for x in (f.org and f"党组织 {f.org}", f.grid_code and f"网格 {f.grid_code}") if x)
            records = f"；需处理：{'、'.join(f.records)}" if f.records else ""
            typer.echo(f"  - {where}：{f.detail}（发现 {f.value}，标准 {f.threshold}）{records}")
