"""The month's roster as an Excel sheet and as a PDF (a page per week), and the daily notice list as an Excel sheet.

The Excel roster has a row per night × shift (each rostered team of the shift on its own row, an empty shift as
「未排班」), Chinese headers, the title with the street and month, and A4 landscape print set-up. The PDF lays the
month out a week (Monday–Sunday, cut at the month's ends) per A4 landscape page — nights as rows, 上半夜 and 下半夜
as columns — printed by WeasyPrint with Noto Sans CJK (text shrinks until each week fits its page). The notice
list has a row per person to call, grouped by unit, with a column to tick during the 15:00–16:00 calls.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from gridgov.errors import InvalidInput
from gridgov.patrol.rosters import (
    WEEKDAYS,
    MonthRoster,
    NoticeList,
    OnShift,
    RosterEntry,
    StaffRef,
    month_label,
)
from gridgov.vocab import SHIFTS, shift_hours

TEMPLATES = Path(__file__).resolve().parents[1] / "print" / "templates"
A4 = 9  # xlsxwriter's paper code
LINE_PT = 15.0  # printed height of one line of 11-pt text, CJK included
TITLE_ROW, INFO_ROW, HEAD_ROW = 0, 1, 2
FIRST_ROW = HEAD_ROW + 1
UNROSTERED = "未排班"
FORMATS = (".xlsx", ".pdf")
NOTICE_HOURS = "15:00–16:00"
FIT_SCALES = (1.0, 0.9, 0.8, 0.72, 0.65)
"""Text sizes tried for the PDF, largest first, until every week fits its page."""

ROSTER_COLUMNS: tuple[tuple[str, float], ...] = (
    ("日期", 11), ("星期", 7), ("班次", 7), ("时段", 15), ("巡逻队", 16), ("单位", 14), ("巡逻区域", 16),
    ("牵头社区", 14), ("带队", 9), ("带队电话", 13), ("值班领导", 20), ("社区值班人员", 20), ("变动（请假/替班）", 24),
    ("备注", 14), ("来源", 6),
)  # fmt: skip
NOTICE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6), ("单位", 16), ("巡逻队", 16), ("班次", 7), ("时段", 15), ("巡逻区域", 16), ("姓名", 9),
    ("职责", 14), ("电话", 13), ("备注", 22), ("已通知", 8),
)  # fmt: skip


def _who(p: StaffRef | None) -> str:
    """Name and phone in one cell."""
    return "" if p is None else f"{p.name} {p.phone}" if p.phone else p.name


def _width(value: str) -> int:
    """Display width: CJK characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _lines(value: str, width: float) -> int:
    return max(1, math.ceil(_width(value) / max(width - 1.5, 1)))


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    cell = {"border": 1, "valign": "vcenter", "text_wrap": True}
    return {
        "title": wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
        "info": wb.add_format({"valign": "vcenter"}),
        "head": wb.add_format(cell | {"bold": True, "bg_color": "#DDEBF7", "align": "center"}),
        "text": wb.add_format(cell),
        "band text": wb.add_format(cell | {"bg_color": "#F2F2F2"}),
        "date": wb.add_format(cell | {"num_format": "m月d日", "align": "center"}),
        "band date": wb.add_format(cell | {"num_format": "m月d日", "align": "center", "bg_color": "#F2F2F2"}),
        "empty": wb.add_format(cell | {"font_color": "#C00000"}),
        "band empty": wb.add_format(cell | {"font_color": "#C00000", "bg_color": "#F2F2F2"}),
        "section": wb.add_format(cell | {"bold": True, "bg_color": "#FFF2CC"}),
    }


def _sheet(ws: Worksheet, title: str, info: str, columns: Sequence[tuple[str, float]], fmt: dict[str, Any],
           footer: str, *, landscape: bool) -> None:  # fmt: skip
    """Title, information line, header and the print set-up shared by both sheets."""
    last = len(columns) - 1
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last, title, fmt["title"])
    ws.set_row(TITLE_ROW, 30)
    ws.merge_range(INFO_ROW, 0, INFO_ROW, last, info, fmt["info"])
    ws.set_row(INFO_ROW, 20)
    for c, (label, width) in enumerate(columns):
        ws.write_string(HEAD_ROW, c, label, fmt["head"])
        ws.set_column(c, c, width)
    ws.set_row(HEAD_ROW, LINE_PT * max(_lines(label, w) for label, w in columns) + 4)
    ws.freeze_panes(FIRST_ROW, 0)
    if landscape:
        ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEAD_ROW)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer(f"&L{footer.replace('&', '&&')}&C第 &P 页，共 &N 页")


def _cell(ws: Worksheet, row: int, col: int, value: str, cell_format: Any) -> None:
    """A text cell, or a blank (formatted) one for an empty value."""
    if value:
        ws.write_string(row, col, value, cell_format)
    else:
        ws.write_blank(row, col, None, cell_format)


def roster_rows(roster: MonthRoster) -> list[tuple[list[Any], bool]]:
    """The Excel roster's data rows (night × shift; one per rostered team, 「未排班」 for an empty shift), each
    with whether it is an empty shift."""
    out: list[tuple[list[Any], bool]] = []
    for night, shifts in roster.by_night().items():
        weekday = f"星期{WEEKDAYS[night.weekday()]}"
        for shift, entries in shifts.items():
            hours = shift_hours(shift)
            if not entries:
                out.append(([night, weekday, shift, hours, UNROSTERED, *[""] * 10], True))
            for e in entries:
                out.append(([night, weekday, shift, hours, e.team_name, e.unit_label, e.area_name or "",
                             e.lead_grid_name or "", e.leader.name if e.leader else "",
                             (e.leader.phone or "") if e.leader else "", _who(e.duty_cadre), _who(e.community_staff),
                             e.changes_text, e.note or "", e.source], False))  # fmt: skip
    return out


def write_roster_xlsx(roster: MonthRoster, path: Path, *, made: dt.date | None = None) -> Path:
    """The month's roster as one Excel sheet ready to print (A4 landscape, header repeated on every page)."""
    made = made or dt.date.today()
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    fmt = _formats(wb)
    ws = wb.add_worksheet(f"{month_label(roster.month)}排班")
    hours = "　".join(f"{s} {shift_hours(s)}" for s in SHIFTS)
    _sheet(ws, roster.title, f"{hours}　　共 {len(roster.entries)} 条排班　　制表日期：{made:%Y-%m-%d}",
           ROSTER_COLUMNS, fmt, roster.title, landscape=True)  # fmt: skip
    rows = roster_rows(roster)
    band = False
    for i, (values, empty) in enumerate(rows, start=FIRST_ROW):
        if i > FIRST_ROW and values[0] != rows[i - FIRST_ROW - 1][0][0]:
            band = not band  # nights alternate white and grey, so a night's rows read together
        prefix = "band " if band else ""
        ws.write_datetime(i, 0, dt.datetime.combine(values[0], dt.time()), fmt[prefix + "date"])
        for c, v in enumerate(values[1:], start=1):
            _cell(ws, i, c, str(v), fmt[prefix + ("empty" if empty else "text")])
        lines = max(_lines(str(v), ROSTER_COLUMNS[c][1]) for c, v in enumerate(values) if c)
        if lines > 1:
            ws.set_row(i, min(409.0, LINE_PT * lines + 2))
    ws.autofilter(HEAD_ROW, 0, HEAD_ROW + len(rows), len(ROSTER_COLUMNS) - 1)
    wb.close()
    return path


def notice_rows(notice: NoticeList) -> list[tuple[list[str], str]]:
    """The notice list's data rows (a person to call per row; a team with nobody to call still has its row), each
    with its style; then the night's on-duty cadres and community staff."""
    out: list[tuple[list[str], str]] = []
    n = 0

    def duty(p: OnShift) -> str:
        return f"{p.duty}（替{p.replaces.name}）" if p.replaces else p.duty

    for g in notice.groups:
        for item in g.items:
            e = item.entry
            away = "不到岗：" + "、".join(f"{p.staff.name}（{p.status}）" for p in item.away) if item.away else ""
            remark = "；".join(x for x in (away, e.note or "") if x)
            team = [g.unit, e.team_name, e.shift, e.hours, e.area_name or ""]
            if not item.to_call:
                out.append((["", *team, "（无人员）", "", "", remark, ""], "empty"))
            for k, p in enumerate(item.to_call):
                n += 1
                out.append(([str(n), *team, p.staff.name, duty(p), p.staff.phone or "", remark if k == 0 else "", ""],
                            "text"))  # fmt: skip
    if notice.on_duty:
        out.append((["", "值班人员", *[""] * 9], "section"))
        for p in notice.on_duty:
            if p.present:
                n += 1
                out.append(([str(n), "值班人员", "", "", "", "", p.staff.name, duty(p), p.staff.phone or "", "", ""],
                            "text"))  # fmt: skip
    return out


def write_notice_xlsx(notice: NoticeList, path: Path) -> Path:
    """The notice list as one Excel sheet (A4 portrait fitted to the width), a row per person to call."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    fmt = _formats(wb)
    ws = wb.add_worksheet("通知名单")
    _sheet(ws, notice.title, f"通知时间：当日 {NOTICE_HOURS}　　应通知 {notice.count} 人　　"
           f"上半夜 {shift_hours('上半夜')}　下半夜 {shift_hours('下半夜')}", NOTICE_COLUMNS, fmt, notice.title,
           landscape=True)  # fmt: skip
    rows = notice_rows(notice)
    for i, (values, style) in enumerate(rows, start=FIRST_ROW):
        for c, v in enumerate(values):
            _cell(ws, i, c, v, fmt[style])
        lines = max(_lines(v, NOTICE_COLUMNS[c][1]) for c, v in enumerate(values))
        if lines > 1:
            ws.set_row(i, min(409.0, LINE_PT * lines + 2))
    if not rows:
        ws.merge_range(FIRST_ROW, 0, FIRST_ROW, len(NOTICE_COLUMNS) - 1, "当晚没有排班，无需通知", fmt["empty"])
    wb.close()
    return path


# ---------------------------------------------------------------------------------------------------------------
# PDF


@dataclass(frozen=True)
class NightLine:
    """One night of the printed roster: the teams of each shift, the on-duty people and the changes."""

    night: dt.date
    shifts: dict[str, list[RosterEntry]]

    @property
    def weekday(self) -> str:
        """周一 … 周日."""
        return f"周{WEEKDAYS[self.night.weekday()]}"

    @property
    def entries(self) -> list[RosterEntry]:
        """Every entry of the night."""
        return [e for entries in self.shifts.values() for e in entries]

    @property
    def duty(self) -> list[str]:
        """The on-duty cadres (each once)."""
        return list(dict.fromkeys(_who(e.duty_cadre) for e in self.entries if e.duty_cadre))

    @property
    def community(self) -> list[str]:
        """The community staff on duty, with the community they serve (each once)."""
        return list(dict.fromkeys(
            f"{e.lead_grid_name or e.team_grid_name or ''} {_who(e.community_staff)}".strip()
            for e in self.entries if e.community_staff))  # fmt: skip

    @property
    def changes(self) -> list[str]:
        """The night's leave and substitutions, with the team."""
        return [f"{e.team_name}：{e.changes_text}" for e in self.entries if e.changes]


@dataclass(frozen=True)
class WeekPage:
    """One printed page: the nights of a week inside the month."""

    first: dt.date
    last: dt.date
    nights: list[NightLine]

    @property
    def label(self) -> str:
        """10月5日–10月11日."""
        return f"{self.first.month}月{self.first.day}日–{self.last.month}月{self.last.day}日"


def week_pages(roster: MonthRoster) -> list[WeekPage]:
    """The month cut into weeks (Monday to Sunday, the first and last cut at the month's ends)."""
    pages: list[WeekPage] = []
    for night, shifts in roster.by_night().items():
        line = NightLine(night, shifts)
        if not pages or night.weekday() == 0:
            pages.append(WeekPage(night, night, [line]))
        else:
            last = pages[-1]
            pages[-1] = WeekPage(last.first, night, [*last.nights, line])
    return pages


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("roster_month.html")


def roster_html(roster: MonthRoster, *, made: dt.date, text_scale: float = 1.0) -> str:
    """The printable month (a page per week) as HTML for WeasyPrint."""
    pages = week_pages(roster)
    return _template().render(title=roster.title, pages=pages, shifts=[(s, shift_hours(s)) for s in SHIFTS],
                              made=f"{made:%Y-%m-%d}", text_scale=text_scale, count=len(pages))  # fmt: skip


def roster_pdf(roster: MonthRoster, *, made: dt.date | None = None) -> bytes:
    """The month's roster as a PDF, a week per A4 landscape page: the largest text with which every week fits its
    page (a week too full even at the smallest runs on to another page)."""
    import weasyprint

    day = made or dt.date.today()
    weeks = len(week_pages(roster))

    def render(scale: float) -> Any:
        return weasyprint.HTML(string=roster_html(roster, made=day, text_scale=scale), base_url=str(TEMPLATES)).render()

    doc = render(FIT_SCALES[0])
    if len(doc.pages) != weeks:
        smallest = render(FIT_SCALES[-1])
        doc = smallest
        if len(smallest.pages) == weeks:  # the largest of the sizes between that fits, else the smallest
            doc = next((d for d in map(render, FIT_SCALES[1:-1]) if len(d.pages) == weeks), smallest)
    pdf: bytes = doc.write_pdf()
    return pdf


def write_roster(roster: MonthRoster, path: Path, *, made: dt.date | None = None) -> Path:
    """Write the month's roster in the format of the file's extension (.xlsx or .pdf)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"排班表格式应为 .xlsx 或 .pdf：{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        return write_roster_xlsx(roster, path, made=made)
    path.write_bytes(roster_pdf(roster, made=made))
    return path


def roster_file_name(roster: MonthRoster, suffix: str) -> str:
    """The download's name: 2026年10月巡逻排班表.xlsx."""
    return f"{month_label(roster.month)}巡逻排班表{suffix}"


def notice_file_name(notice: NoticeList) -> str:
    """The download's name: 2026-10-01巡逻通知名单.xlsx."""
    return f"{notice.night:%Y-%m-%d}巡逻通知名单.xlsx"
