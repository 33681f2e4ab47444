"""Write a ledger as Excel (a sheet per level), CSV (UTF-8 with BOM, for Excel) or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import xlsxwriter

from gridgov.errors import InvalidInput
from gridgov.ledger.report import HEADERS, Ledger
from gridgov.vocab import LEVEL_ZH, LEVELS

TEXT_KEYS = ("code", "name", "level_zh", "parent_code", "party_org", "incidents_by_category_text", "staff")


def _width(value: Any) -> int:
    """Display width: CJK characters count double."""
    s = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _period(ledger: Ledger) -> str:
    parts = [f"时点：{ledger.as_of:%Y-%m-%d %H:%M}" if ledger.as_of else "时点：当前"]
    if ledger.date_from or ledger.date_to:
        start = f"{ledger.date_from:%Y-%m-%d}" if ledger.date_from else "…"
        end = f"{ledger.date_to - dt.timedelta(seconds=1):%Y-%m-%d}" if ledger.date_to else "…"
        parts.append(f"事件与巡逻统计期间：{start} 至 {end}")
    return "；".join(parts)


def write_xlsx(ledger: Ledger, path: Path) -> Path:
    """An Excel workbook: one sheet per level with Chinese headers, a frozen header row and sized columns."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    num = wb.add_format({"border": 1, "num_format": "#,##0"})
    dec = wb.add_format({"border": 1, "num_format": "0.0#"})
    txt = wb.add_format({"border": 1})
    rows = [r.as_dict() for r in ledger.rows]
    for level in LEVELS:
        data = [r for r in rows if r["level"] == level]
        if not data:
            continue
        ws = wb.add_worksheet(f"{LEVEL_ZH[level]}台帐")
        keys = list(HEADERS)
        for c, key in enumerate(keys):
            ws.write(0, c, HEADERS[key], head)
        for i, r in enumerate(data, start=1):
            for c, key in enumerate(keys):
                v = r.get(key)
                fmt = txt if key in TEXT_KEYS else (dec if isinstance(v, float) else num)
                ws.write(i, c, v if v is not None else "", fmt)
        for c, key in enumerate(keys):
            width = max([_width(HEADERS[key])] + [_width(r.get(key)) for r in data])
            ws.set_column(c, c, min(max(width + 2, 6), 60))
        ws.set_row(0, 32)
        ws.freeze_panes(1, 2)
        ws.autofilter(0, 0, len(data), len(keys) - 1)
    info = wb.add_worksheet("说明")
    info.write(0, 0, "网格台帐", head)
    info.write(1, 0, _period(ledger))
    info.write(2, 0, f"生成时间：{dt.datetime.now():%Y-%m-%d %H:%M}")
    info.write(
        3, 0, "上级网格的数字等于其下级网格之和；坐标落在相邻网格共用边界上的户按编码较小的网格计入，不重复统计。"
    )
    info.set_column(0, 0, 100)
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


WRITERS = {".xlsx": write_xlsx, ".csv": write_csv, ".json": write_json}


def write_ledger(ledger: Ledger, path: Path) -> Path:
    """Write in the format given by the file's extension."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InvalidInput(f"台帐格式应为 .xlsx、.csv 或 .json：{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return writer(ledger, path)
