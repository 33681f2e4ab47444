"""The compliance check (gridgov.party.check) as its faces show it: each rule's standard as the settings set it,
its result in words, the findings in JSON, and the Excel workbook (汇总, 问题清单, 说明).

The CLI, the API and the page all read the report through here, so the words, the thresholds and the file are
the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridgov.party.check import RULES, Finding, Report, RuleSummary
from gridgov.party.rules import PartyRules
from gridgov.vocab import PARTY_BRANCH, PARTY_COMMITTEE, PARTY_GENERAL_BRANCH, PARTY_GROUP

PASSED, FAILED, FIGURES, NOTHING = "通过", "未通过", "参考", "无检查对象"
TEAM_RULES = frozenset({"team_size", "team_activity"})  # their records are volunteer teams, the others' members
WIDTHS = {"rule": 22, "status": 10, "count": 9, "grid": 18, "org": 14, "value": 16, "threshold": 22,
          "detail": 56, "records": 40, "definition": 90}  # fmt: skip


def thresholds(rules: PartyRules) -> dict[str, str]:
    """Each rule's standard in words, with the numbers the settings give."""
    return {
        "org_form": f"≥ {rules.general_branch_min} 名党员设党总支，> {rules.committee_over} 名设党委",
        "branch_min": f"党支部 ≥ {rules.branch_min} 名党员",
        "grid_branch": "每个楼院网格建有党支部或党小组",
        "duty_area": "楼院 100% 在党员责任区内",
        "contacts": f"每名党员联系 {rules.contacts_min}–{rules.contacts_max} 户",
        "unlinked_households": "参考数：未被联系的住户",
        "members_without_org": "党员全部编入党组织",
        "volunteer_share": f"党员志愿者 ≥ {rules.volunteer_share:.0%}",
        "team_size": f"每队 ≥ {rules.team_min} 人",
        "team_activity": f"每月至少一次 ≥ {rules.hours_min:g} 小时的活动",
        "reported": "在职党员 100% 报到",
        "flow_certificate": "流动党员 100% 持活动证",
        "meetings": "按规定周期召开",
        "ageing": f"{rules.ageing_age} 岁及以上党员 ≤ {rules.ageing_share:.0%}",
    }


def _schedule(rules: PartyRules) -> str:
    """The meetings each kind of organisation holds and how often, in words."""
    parts = []
    for kind in (PARTY_COMMITTEE, PARTY_GENERAL_BRANCH, PARTY_BRANCH, PARTY_GROUP):
        due = "、".join(f"{m}每 {n} 个月" for m, n in rules.meetings_due(kind).items())
        if due:
            parts.append(f"{kind}：{due}")
    return "；".join(parts)


def definitions(rules: PartyRules) -> dict[str, str]:
    """What each rule checks and over what, for the 说明 sheet and the page."""
    return {
        "org_form": (f"组织形式按本组织及下级组织的党员总数：{rules.branch_min}–{rules.general_branch_min - 1} 名"
                     f"设党支部，{rules.general_branch_min}–{rules.committee_over} 名设党总支，"
                     f"超过 {rules.committee_over} 名设党委。"),
        "branch_min": f"每个党支部（含下级党小组）的党员不少于 {rules.branch_min} 名。",
        "grid_branch": "支部建在网格上：每个楼院网格都有建在本网格上的党组织（党支部或党小组）。",
        "duty_area": "党员责任区覆盖楼院的全部范围；未覆盖的部分在地图上标出（小于 1 平方米的缝隙不计）。",
        "contacts": (f"每名党员联系 {rules.contacts_min}–{rules.contacts_max} 户（超过上限的联系在录入时即被拒绝，"
                     "少于下限的列为问题）。"),
        "unlinked_households": "各楼院未被任何党员联系的住户数，作为安排联系户的参考，不计为未通过。",
        "members_without_org": "居住在本范围内的党员都编入了某个党组织（按网格列出未编入的党员）。",
        "volunteer_share": f"每个党委、党总支、党支部的党员中，志愿者不少于 {rules.volunteer_share:.0%}。",
        "team_size": f"每支志愿服务队的在队人数不少于 {rules.team_min} 人。",
        "team_activity": f"每支志愿服务队在上个月至少有一次时长不少于 {rules.hours_min:g} 小时的活动。",
        "reported": "在职党员都已到居住地社区报到（报到日期已登记）。",
        "flow_certificate": "流动党员（流入、流出）都持有流动党员活动证（证号已登记）。",
        "meetings": f"三会一课等会议按期召开，超期的列出。{_schedule(rules)}。",
        "ageing": (f"党组织中 {rules.ageing_age} 岁及以上党员所占比例不超过 {rules.ageing_share:.0%}；"
                   "列出 35 岁以下、35–59 岁、60 岁及以上各年龄段人数。"),
    }


@dataclass(frozen=True)
class RuleLine:
    """A rule's line of the summary: the result in words with the numbers behind it and the standard."""

    rule: str
    rule_zh: str
    status: str
    passed: bool
    checked: int
    failed: int
    findings: int
    threshold: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"rule": self.rule, "rule_zh": self.rule_zh, "status": self.status, "passed": self.passed,
                "checked": self.checked, "failed": self.failed, "findings": self.findings,
                "threshold": self.threshold}  # fmt: skip


def status_of(summary: RuleSummary, findings: int) -> str:
    """通过, 未通过, 参考 (only figures to act on) or 无检查对象 (nothing of the kind in the scope)."""
    if summary.failed:
        return FAILED
    if findings:
        return FIGURES
    return NOTHING if summary.checked == 0 else PASSED


def summary_lines(report: Report) -> list[RuleLine]:
    """One line per rule, in the check's order."""
    words = thresholds(report.rules)
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return [RuleLine(s.rule, s.rule_zh, status_of(s, counts.get(s.rule, 0)), s.passed, s.checked, s.failed,
                     counts.get(s.rule, 0), words[s.rule]) for s in report.summaries]  # fmt: skip


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding in JSON: rule, rule_zh, passed (false, or null for a figure), grid_code, org, value, threshold,
    detail, records, and geometry only for a 责任区 gap."""
    out = {"rule": f.rule, "rule_zh": f.rule_zh, "passed": f.passed, "grid_code": f.grid_code, "org": f.org,
           "value": f.value, "threshold": f.threshold, "detail": f.detail, "records": list(f.records)}  # fmt: skip
    if f.geometry is not None:
        out["geometry"] = f.geometry
    return out


def report_dict(report: Report) -> dict[str, Any]:
    """The whole report in JSON (the API's answer)."""
    return {"as_of": report.day.isoformat(), "parent": report.parent,
            "rules": [line.as_dict() for line in summary_lines(report)],
            "findings": [finding_dict(f) for f in report.findings]}  # fmt: skip


def record_kind(rule: str) -> str:
    """What a finding's records are: ``team`` (volunteer team codes) or ``member`` (members' person codes)."""
    return "team" if rule in TEAM_RULES else "member"


def scope_label(report: Report) -> str:
    """The scope checked, in words."""
    return f"网格 {report.parent}" if report.parent else "全部网格"


def file_name(report: Report) -> str:
    """The workbook's Chinese file name."""
    return f"党建合规检查_{report.parent or '全部'}_{report.day:%Y%m%d}.xlsx"


# ------------------------------------------------------------------------------------------------ workbook


def _formats(wb: Any) -> dict[str, Any]:
    cell = {"border": 1, "valign": "top", "text_wrap": True}
    return {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "head": wb.add_format(cell | {"bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter"}),
        "text": wb.add_format(cell),
        "number": wb.add_format(cell | {"align": "right"}),
        "pass": wb.add_format(cell | {"font_color": "#006100", "bg_color": "#C6EFCE", "align": "center"}),
        "fail": wb.add_format(cell | {"font_color": "#9C0006", "bg_color": "#FFC7CE", "align": "center"}),
        "note": wb.add_format(cell | {"font_color": "#7F6000", "bg_color": "#FFF2CC", "align": "center"}),
    }


def _sheet(wb: Any, name: str, title: str, columns: Sequence[tuple[str, str]], fmt: dict[str, Any]) -> Any:
    """A sheet with its title line, the Chinese headers on the second row (frozen, repeated on every printed
    page), the column widths, landscape A4 fitting the width."""
    ws = wb.add_worksheet(name)
    ws.write(0, 0, title, fmt["title"])
    for c, (head, width) in enumerate(columns):
        ws.write(1, c, head, fmt["head"])
        ws.set_column(c, c, WIDTHS[width])
    ws.freeze_panes(2, 0)
    ws.repeat_rows(1)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    return ws


def _status_format(status: str, fmt: dict[str, Any]) -> Any:
    return {PASSED: fmt["pass"], FAILED: fmt["fail"], FIGURES: fmt["note"]}.get(status, fmt["text"])


def _write_value(ws: Any, row: int, col: int, value: Any, fmt: dict[str, Any]) -> None:
    """A value as text or a number; an empty cell (bordered) for none."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt["text"])
    elif isinstance(value, bool):
        ws.write_string(row, col, str(value), fmt["text"])
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt["number"])
    else:
        ws.write_string(row, col, str(value), fmt["text"])


def check_workbook(report: Report, *, made: dt.datetime | None = None) -> bytes:
    """The report as an .xlsx: 汇总 (each rule's result, numbers and standard), 问题清单 (every finding with the
    records to fix) and 说明 (the scope, the day, the thresholds and what each rule checks)."""
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False})
    fmt = _formats(wb)
    head = f"党建网格合规检查（{scope_label(report)}，截至 {report.day:%Y-%m-%d}）"

    lines = summary_lines(report)
    columns = [("检查项", "rule"), ("结果", "status"), ("检查数", "count"), ("未通过数", "count"),
               ("问题条数", "count"), ("标准", "threshold")]  # fmt: skip
    ws = _sheet(wb, "汇总", head, columns, fmt)
    for r, line in enumerate(lines, start=2):
        ws.write_string(r, 0, line.rule_zh, fmt["text"])
        ws.write_string(r, 1, line.status, _status_format(line.status, fmt))
        for c, n in enumerate((line.checked, line.failed, line.findings), start=2):
            ws.write_number(r, c, n, fmt["number"])
        ws.write_string(r, 5, line.threshold, fmt["text"])

    ws = _sheet(wb, "问题清单", head, [("检查项", "rule"), ("结果", "status"), ("网格编码", "grid"),
                                    ("党组织编码", "org"), ("发现值", "value"), ("标准", "threshold"),
                                    ("说明", "detail"), ("需处理的记录", "records")], fmt)  # fmt: skip
    for r, f in enumerate(report.findings, start=2):
        status = FAILED if f.passed is False else FIGURES
        ws.write_string(r, 0, f.rule_zh, fmt["text"])
        ws.write_string(r, 1, status, _status_format(status, fmt))
        detail = f.detail + ("（未覆盖部分见合规检查页面的地图）" if f.geometry is not None else "")
        for c, value in enumerate((f.grid_code, f.org, f.value, f.threshold, detail, "、".join(f.records)), start=2):
            _write_value(ws, r, c, value, fmt)
    if report.findings:
        ws.autofilter(1, 0, 1 + len(report.findings), 7)
    else:
        ws.write_string(2, 0, "未发现问题。", fmt["text"])

    ws = _sheet(wb, "说明", head, [("检查项", "rule"), ("标准（本系统设置）", "threshold"),
                                  ("规则说明", "definition")], fmt)  # fmt: skip
    words, meaning = thresholds(report.rules), definitions(report.rules)
    for r, rule in enumerate(RULES, start=2):
        ws.write_string(r, 0, RULES[rule], fmt["text"])
        ws.write_string(r, 1, words[rule], fmt["text"])
        ws.write_string(r, 2, meaning[rule], fmt["text"])
    r = 2 + len(RULES) + 1
    notes = [("检查范围", scope_label(report)), ("截至日期", f"{report.day:%Y-%m-%d}（当日结束时的状态）"),
             ("需处理的记录", "党员列人员编码，志愿服务队列队伍编码；仅对有权查看个人信息的人员列出。")]  # fmt: skip
    if made is not None:
        notes.append(("生成时间", f"{made:%Y-%m-%d %H:%M}"))
    for label, value in notes:
        ws.write_string(r, 0, label, fmt["text"])
        ws.merge_range(r, 1, r, 2, value, fmt["text"])
        r += 1
    wb.close()
    return buffer.getvalue()
