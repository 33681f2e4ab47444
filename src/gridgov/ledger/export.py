"""Write a ledger as Excel (a sheet per level, ready to print), CSV (UTF-8 with BOM, for Excel) or JSON.

This module is the one home of how ledger columns are shown (labels from :data:`HEADERS`, number formats,
which cells wrap, which columns add up to the 合计 line): the 台帐 page shows its table with the same
:data:`COLUMNS` and :func:`totals` as the workbook.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy.orm import Session
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from gridgov.errors import InvalidInput
from gridgov.grids.service import get_grid, list_grids
from gridgov.ledger.report import COUNTS, HEADERS, Ledger
from gridgov.vocab import HOUSEHOLD_KINDS, INCIDENT_CLOSED, LEVEL_ZH, LEVELS, MEMBER_TYPES

MISSING = "—"  # a figure that does not apply or was not computed (the 说明 sheet says so)
ALL_UNITS = "全部"
TEXT_KEYS = ("code", "name", "level_zh", "parent_code", "party_org", "incidents_by_category_text", "staff")
WRAP_KEYS = ("name", "incidents_by_category_text", "staff")
DECIMALS = {"patrol_coverage_pct": 1, "patrol_length_km": 2, "patrol_hours": 2, "incidents_on_time_pct": 1,
            "incidents_closed_at_grid_pct": 1}
# a coverage ratio or a rate does not add up
SUMMED = frozenset(COUNTS) | {"patrol_length_km", "patrol_hours", "incidents_overdue"}
MAX_WIDTH = {"name": 24, "incidents_by_category_text": 30, "staff": 46}
A4, A3 = 9, 8  # xlsxwriter paper codes
A4_MAX_WIDTH = 150  # total column width (Excel units) still readable on landscape A4 when fitted to the width
LINE_PT = 15.0  # printed height of one line of 11-pt text, CJK included
TITLE_ROW, INFO_ROW, HEAD_ROW = 0, 1, 2
FIRST_DATA_ROW = HEAD_ROW + 1


@dataclass(frozen=True)
class Column:
    """One ledger column: its key in ``LedgerRow.as_dict()``, its Chinese label and how its values are shown."""

    key: str
    label: str
    numeric: bool
    decimals: int = 0
    wrap: bool = False
    summed: bool = False

    def show(self, value: Any) -> str:
        """The value as a page shows it: grouped digits, the column's decimals, ``—`` when missing."""
        if value is None:
            return MISSING
        if self.numeric:
            return f"{value:,.{self.decimals}f}"
        return str(value)

    @property
    def num_format(self) -> str:
        """The Excel number format of the column's figures."""
        return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")


COLUMNS: tuple[Column, ...] = tuple(
    Column(key, label, key not in TEXT_KEYS, DECIMALS.get(key, 0), key in WRAP_KEYS, key in SUMMED)
    for key, label in HEADERS.items()
)


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The 合计 line of ``rows`` (``as_dict()`` rows of one level): the summed columns added up (None when no row
    has a figure), the others empty."""
    out: dict[str, Any] = {c.key: None for c in COLUMNS}
    for c in COLUMNS:
        values = [r[c.key] for r in rows if r.get(c.key) is not None]
        if c.summed and values:
            out[c.key] = round(sum(values), c.decimals)
    return out | {"code": "合计", "name": f"{len(rows)} 个网格", "level_zh": "", "parent_code": "", "party_org": "",
                  "incidents_by_category_text": "", "staff": ""}  # fmt: skip


def as_of_text(ledger: Ledger) -> str:
    """The moment the ledger counts at, as people say it."""
    a = ledger.as_of
    if a is None:
        return "当前（制表时）"
    if (a.hour, a.minute, a.second) == (23, 59, 59):  # a bare date means the end of that day
        return f"{a:%Y-%m-%d}（当日结束时）"
    return f"{a:%Y-%m-%d %H:%M}"


def period_text(ledger: Ledger) -> str:
    """The incidents' and patrols' period (inclusive dates), or 全部 when open on both sides."""
    start = f"{ledger.date_from:%Y-%m-%d}" if ledger.date_from else None
    end = f"{ledger.date_to - dt.timedelta(microseconds=1):%Y-%m-%d}" if ledger.date_to else None
    if start and end:
        return f"{start} 至 {end}"
    if start or end:
        return f"{start} 起" if start else f"截至 {end}"
    return "全部（不限日期）"


def unit_name(session: Session, parent: str | None, as_of: dt.datetime | None = None) -> str:
    """Whom a ledger is for: the parent grid's name; without one, the street's name when there is one street."""
    if parent:
        return get_grid(session, parent, as_of).name
    streets = list_grids(session, level="street", as_of=as_of, with_geometry=False)
    return streets[0].name if len(streets) == 1 else ALL_UNITS


def _unit_of(ledger: Ledger) -> str:
    """The unit guessed from the rows: the one grid at the top level present, else 全部."""
    for level in LEVELS:
        top = [r for r in ledger.rows if r.level == level]
        if top:
            return top[0].name if len(top) == 1 else ALL_UNITS
    return ALL_UNITS


def _width(value: Any) -> int:
    """Display width: CJK characters count double."""
    s = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _lines(value: Any, width: float) -> int:
    """How many lines a wrapped cell of ``width`` needs for ``value``."""
    return max(1, math.ceil(_width(value) / max(width - 1.5, 1)))


def _column_widths(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> list[float]:
    """Widths fitting the figures; headers wrap; long text wraps at its column's cap."""
    widths = []
    for c in columns:
        content = max((_width(c.show(r.get(c.key)) if c.numeric else r.get(c.key)) for r in rows), default=0)
        if c.numeric:
            widths.append(max(content + 2, 7.0))
        else:
            widest = max(content, min(_width(c.label), 8)) + 2
            widths.append(float(min(widest, MAX_WIDTH.get(c.key, widest))))
    return widths


def _level_sheet(wb: xlsxwriter.Workbook, ws: Worksheet, rows: list[dict[str, Any]], title: str, info: str,
                 fmt: dict[str, Any]) -> None:  # fmt: skip
    """One level's sheet: title, period line, header, rows, 合计, then freezing, filtering and print setup."""
    last = len(COLUMNS) - 1
    widths = _column_widths(COLUMNS, rows)
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last, title, fmt["title"])
    ws.set_row(TITLE_ROW, 30)
    ws.merge_range(INFO_ROW, 0, INFO_ROW, last, info, fmt["info"])
    ws.set_row(INFO_ROW, 20)
    for c, col in enumerate(COLUMNS):
        ws.write_string(HEAD_ROW, c, col.label, fmt["head"])
        ws.set_column(c, c, widths[c])
    ws.set_row(HEAD_ROW, LINE_PT * max(_lines(col.label, w) for col, w in zip(COLUMNS, widths, strict=True)) + 4)
    for i, r in enumerate(rows, start=FIRST_DATA_ROW):
        lines = 1
        for c, col in enumerate(COLUMNS):
            v = r.get(col.key)
            if v is None:
                ws.write_string(i, c, MISSING, fmt["missing"])
            elif col.numeric:
                ws.write_number(i, c, v, fmt[col.num_format])
            else:
                ws.write_string(i, c, str(v), fmt["wrap" if col.wrap else "text"])
                if col.wrap:
                    lines = max(lines, _lines(v, widths[c]))
        if lines > 1:  # explicit heights, so every spreadsheet program prints wrapped rows whole
            ws.set_row(i, min(409.0, LINE_PT * lines + 2))
    end = FIRST_DATA_ROW + len(rows)
    total = totals(rows)
    for c, col in enumerate(COLUMNS):
        v = total[col.key]
        if col.numeric and v is not None:
            name = xl_col_to_name(c)
            ws.write_formula(end, c, f"=SUM({name}{FIRST_DATA_ROW + 1}:{name}{end})", fmt["sum " + col.num_format], v)
        else:
            ws.write_string(end, c, MISSING if col.numeric else str(v), fmt["sum"])
    ws.freeze_panes(FIRST_DATA_ROW, 2)
    ws.autofilter(HEAD_ROW, 0, end - 1, last)
    ws.ignore_errors({"number_stored_as_text": f"A{FIRST_DATA_ROW + 1}:{xl_col_to_name(last)}{end}"})
    ws.set_landscape()
    ws.set_paper(A4 if sum(widths) <= A4_MAX_WIDTH else A3)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEAD_ROW)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer(f"&L{title.replace('&', '&&')}&C第 &P 页，共 &N 页&R&A")


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    """The cell formats of the level sheets (numbers by their column's format)."""
    cell = {"border": 1, "valign": "vcenter"}
    fmt = {
        "title": wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
        "info": wb.add_format({"valign": "vcenter"}),
        "head": wb.add_format(cell | {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "align": "center"}),
        "text": wb.add_format(cell),
        "wrap": wb.add_format(cell | {"text_wrap": True}),
        "missing": wb.add_format(cell | {"align": "center"}),
        "sum": wb.add_format(cell | {"bold": True, "bg_color": "#F2F2F2", "align": "center"}),
    }
    for num in {c.num_format for c in COLUMNS if c.numeric}:
        fmt[num] = wb.add_format(cell | {"num_format": num})
        fmt["sum " + num] = wb.add_format(cell | {"num_format": num, "bold": True, "bg_color": "#F2F2F2"})
    return fmt


def _notes(ledger: Ledger, unit: str, made: str) -> list[tuple[str, str]]:
    """The 说明 sheet's lines: the unit and period, and one sentence per counting rule."""
    as_of = as_of_text(ledger)
    return [
        ("单位", unit),
        (
            "统计时点",
            f"{as_of}。户数、人数、党员数、楼栋数按该时点有效的网格划分（边界与上下级关系）归属到网格；"
            "未指定时点时按制表时的当前网格划分。",
        ),
        ("事件/巡逻期间", f"{period_text(ledger)}。事件按上报日期、巡逻按轨迹日期统计；起止日期均含当日。"),
        ("制表日期", made),
        (
            "户数",
            f"坐标落在网格内的住户各计一次（分{'、'.join(HOUSEHOLD_KINDS)}）；落在相邻网格共用边界上的户"
            "计入编码较小的网格，不重复统计。",
        ),
        ("人数", "登记在上述住户中的人员，随其住户计入网格。"),
        ("党员数", f"上述人员中登记为党员的人数，并按{'、'.join(MEMBER_TYPES)}分列；党组织按党员人数推定。"),
        ("事件", f"期间内上报、位置落在网格内的事件：状态为「{INCIDENT_CLOSED}」的计为已结事件，其余计为未结事件。"),
        (
            "按期结案率",
            "期间内结案的事件中，从上报到结案每个环节都在时限内完成的比例；网格内结案率为结案时处置层级为网格的比例"
            "（小事不出网格）；没有结案时为“—”。",
        ),
        ("超期事件", "统计时点仍未办结、且所处环节已过时限的事件数（不限上报日期）。"),
        (
            "巡逻覆盖率",
            "期间内巡逻轨迹两侧缓冲范围（距离按系统设置）覆盖网格面积的百分比；巡逻里程与时长为轨迹在网格内"
            "的部分；按历史时点统计时不计算巡逻。",
        ),
        ("上下级与合计", "上级网格的各项数字等于其下级网格之和；各表末行「合计」为该表所列网格之和（覆盖率不求和）。"),
        (f"“{MISSING}”", "表示该项不适用或没有数据：例如按历史时点统计时的巡逻各项、没有登记工作人员的网格。"),
        (
            "网格工作人员",
            "网格长、网格员等公开职务对所有用户列出；网格党支部书记、党小组长、楼栋长等由居民担任的职务"
            "只向有权查看个人信息、且管理范围覆盖该网格的用户列出。",
        ),
    ]


def write_xlsx(ledger: Ledger, path: Path, *, unit: str | None = None, made_at: dt.datetime | None = None) -> Path:
    """An Excel workbook ready to print: one sheet per level (title, period, frozen header repeated on every page,
    landscape fitted to the paper's width, 合计 line) and a 说明 sheet with the period and the counting rules."""
    unit = unit or _unit_of(ledger)
    made = f"{made_at or dt.datetime.now():%Y-%m-%d}"
    title = f"{unit}网格台帐"
    info = f"统计时点：{as_of_text(ledger)}    事件/巡逻期间：{period_text(ledger)}    制表日期：{made}"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    fmt = _formats(wb)
    rows = [r.as_dict() for r in ledger.rows]
    for level in LEVELS:
        data = [r for r in rows if r["level"] == level]
        if data:
            _level_sheet(wb, wb.add_worksheet(f"{LEVEL_ZH[level]}台帐"), data, title, info, fmt)
    notes = wb.add_worksheet("说明")
    head = wb.add_format({"bold": True, "border": 1, "valign": "top", "bg_color": "#DDEBF7"})
    body = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    notes.merge_range(0, 0, 0, 1, f"{title}说明", fmt["title"])
    notes.set_row(0, 30)
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 90)
    for i, (what, text) in enumerate(_notes(ledger, unit, made), start=1):
        notes.write_string(i, 0, what, head)
        notes.write_string(i, 1, text, body)
        notes.set_row(i, LINE_PT * _lines(text, 90) + 4)
    notes.set_landscape()
    notes.set_paper(A4)
    notes.fit_to_pages(1, 0)
    wb.close()
    return path


def write_csv(ledger: Ledger, path: Path) -> Path:
    """CSV with Chinese headers, all levels in one table (UTF-8 with BOM so Excel reads it)."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS.values())
        for r in ledger.rows:
            d = r.as_dict()
            w.writerow(["" if d.get(k) is None else d.get(k) for k in HEADERS])
    return path


def write_json(ledger: Ledger, path: Path) -> Path:
    """The ledger as JSON (the API's form)."""
    path.write_text(json.dumps(ledger.as_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path


FORMATS = (".xlsx", ".csv", ".json")


def write_ledger(ledger: Ledger, path: Path, *, unit: str | None = None, made_at: dt.datetime | None = None) -> Path:
    """Write in the format given by the file's extension (``unit`` and ``made_at`` head the Excel sheets)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"台帐格式应为 .xlsx、.csv 或 .json：{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        return write_xlsx(ledger, path, unit=unit, made_at=made_at)
    return write_csv(ledger, path) if suffix == ".csv" else write_json(ledger, path)
