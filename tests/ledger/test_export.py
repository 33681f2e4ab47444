"""The ledger's files: a printable Excel workbook (title, period, print setup, 合计, 说明), CSV and JSON unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.errors import InvalidInput
from gridgov.ledger.export import (
    A3,
    A4,
    COLUMNS,
    MISSING,
    as_of_text,
    period_text,
    totals,
    unit_name,
    write_csv,
    write_json,
    write_ledger,
    write_xlsx,
)
from gridgov.ledger.report import HEADERS, Ledger, LedgerRow
from gridgov.periods import as_of_moment, day_range

ROSTER = "；".join(f"网格员：工作人员{i}（1380000000{i}）" for i in range(8))
MADE = dt.datetime(2026, 11, 2, 9, 30)


def _ledger(*, dated: bool = True) -> Ledger:
    """A street with two communities; one community has a long roster and patrol figures, the other none."""
    rows = [
        LedgerRow(1, "610103006", "文艺路街道", "street", None, households=30, hh_resident=25, hh_rented=5,
                  persons=70, party_members=4, incidents_open=2, incidents_closed=1,
                  incidents_by_category={"市容环境": 3}, staff="网格长：张三", patrol_coverage=0.25,
                  patrol_length_m=3500.0, patrol_seconds=7200.0),
        LedgerRow(2, "610103006001", "文艺北路一社区", "community", "610103006", households=10, hh_resident=10,
                  persons=20, party_members=1, incidents_closed=1, incidents_by_category={"市容环境": 1},
                  staff=ROSTER, patrol_coverage=0.5, patrol_length_m=1234.5, patrol_seconds=3600.0),
        LedgerRow(3, "610103006002", "文艺北路二社区", "community", "610103006", households=20, hh_resident=15,
                  hh_rented=5, persons=50, party_members=3, incidents_open=2, incidents_by_category={"市容环境": 2}),
    ]  # fmt: skip
    if not dated:
        return Ledger(rows, None, None, None)
    start, end = day_range(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    return Ledger(rows, as_of_moment(dt.date(2026, 10, 31)), start, end)


def _col(key: str) -> int:
    """1-based column of a ledger field in the sheets."""
    return list(HEADERS).index(key) + 1


def test_each_level_sheet_has_title_period_header_rows_and_totals(tmp_path: Path) -> None:
    ledger = _ledger()
    path = write_xlsx(ledger, tmp_path / "台帐.xlsx", unit="文艺路街道", made_at=MADE)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["街道台帐", "社区台帐", "说明"]
    ws = wb["社区台帐"]
    last = openpyxl.utils.get_column_letter(len(HEADERS))
    assert ws["A1"].value == "文艺路街道网格台帐" and f"A1:{last}1" in {str(r) for r in ws.merged_cells.ranges}
    info = ws["A2"].value
    assert "统计时点：2026-10-31（当日结束时）" in info and "事件/巡逻期间：2026-09-01 至 2026-10-31" in info
    assert "制表日期：2026-11-02" in info
    assert [c.value for c in ws[3]] == list(HEADERS.values())
    lines = list(ws.iter_rows(min_row=4, values_only=True))
    assert [line[0] for line in lines] == ["610103006001", "610103006002", "合计"]
    by_code = {r.code: r.as_dict() for r in ledger.rows}
    for line in lines[:-1]:
        d = by_code[line[0]]
        assert list(line) == [MISSING if d[k] is None else d[k] for k in HEADERS]
    total = lines[-1]
    assert total[1] == "2 个网格" and total[_col("households") - 1] == "=SUM(E4:E5)"
    assert total[_col("patrol_coverage_pct") - 1] == MISSING  # a ratio is not added up
    cached = list(openpyxl.load_workbook(path, data_only=True)["社区台帐"].iter_rows(min_row=6, values_only=True))[0]
    assert cached[_col("households") - 1] == 30 and cached[_col("persons") - 1] == 70
    assert cached[_col("patrol_length_km") - 1] == pytest.approx(1.23)  # the one figure; the other row has none
    street = list(wb["街道台帐"].iter_rows(min_row=4, max_row=4, values_only=True))[0]
    assert street[_col("parent_code") - 1] == MISSING and street[_col("patrol_coverage_pct") - 1] == 25.0


def test_sheets_are_set_up_for_printing(tmp_path: Path) -> None:
    path = write_xlsx(_ledger(), tmp_path / "台帐.xlsx", unit="文艺路街道", made_at=MADE)
    wb = openpyxl.load_workbook(path)
    for name in ("街道台帐", "社区台帐"):
        ws = wb[name]
        assert ws.freeze_panes == "C4" and ws.print_title_rows == "$3:$3"
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1) == 1 and ws.page_setup.fitToHeight == 0  # 1 page wide, any tall
        assert int(ws.page_setup.paperSize) in (A4, A3)
        assert ws.auto_filter.ref.startswith("A3:")
        assert "第 &P 页" in ws.oddFooter.center.text
    ws = wb["社区台帐"]
    staff = ws.cell(4, _col("staff"))
    assert staff.value == ROSTER and staff.alignment.wrap_text
    width = ws.column_dimensions[staff.column_letter].width
    assert 20 <= width <= 50  # capped: the roster wraps instead of widening the page
    assert ws.row_dimensions[4].height > 2 * 15  # tall enough for the wrapped roster when printed
    assert ws.cell(4, _col("households")).number_format == "#,##0"
    assert ws.cell(4, _col("patrol_length_km")).number_format == "#,##0.00"
    assert ws.column_dimensions["B"].width >= 10


def test_the_notes_sheet_names_the_period_and_the_counting_rules(tmp_path: Path) -> None:
    path = write_xlsx(_ledger(), tmp_path / "台帐.xlsx", unit="文艺路街道", made_at=MADE)
    notes = {row[0]: row[1] for row in openpyxl.load_workbook(path)["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["单位"] == "文艺路街道" and notes["制表日期"] == "2026-11-02"
    assert notes["统计时点"].startswith("2026-10-31（当日结束时）") and "网格划分" in notes["统计时点"]
    assert notes["事件/巡逻期间"].startswith("2026-09-01 至 2026-10-31") and "含当日" in notes["事件/巡逻期间"]
    for rule in ("户数", "人数", "党员数", "事件", "巡逻覆盖率"):
        assert notes[rule].endswith("。") and len(notes[rule]) > 15, rule
    assert "编码较小" in notes["户数"] and "结案" in notes["事件"]
    assert "不适用或没有数据" in notes[f"“{MISSING}”"]


def test_an_undated_ledger_says_so_and_guesses_its_unit(tmp_path: Path) -> None:
    ledger = _ledger(dated=False)
    assert as_of_text(ledger) == "当前（制表时）" and period_text(ledger) == "全部（不限日期）"
    ws = openpyxl.load_workbook(write_xlsx(ledger, tmp_path / "a.xlsx"))["街道台帐"]
    assert ws["A1"].value == "文艺路街道网格台帐"  # the one top grid
    only = Ledger([r for r in ledger.rows if r.level == "community"], None, None, None)
    wb = openpyxl.load_workbook(write_ledger(only, tmp_path / "b.xlsx"))
    assert wb.sheetnames == ["社区台帐", "说明"] and wb["社区台帐"]["A1"].value == "全部网格台帐"
    start, _ = day_range(dt.date(2026, 9, 1), None)
    assert period_text(Ledger([], None, start, None)) == "2026-09-01 起"


def test_columns_and_totals_are_what_the_page_shows() -> None:
    rows = [r.as_dict() for r in _ledger().rows if r.level == "community"]
    total = totals(rows)
    assert total["households"] == 30 and total["incidents_open"] == 2 and total["patrol_length_km"] == 1.23
    assert total["patrol_coverage_pct"] is None and total["code"] == "合计"
    shown = {c.key: c for c in COLUMNS}
    assert [c.label for c in COLUMNS] == list(HEADERS.values())
    assert shown["households"].show(12345) == "12,345" and shown["patrol_length_km"].show(1.5) == "1.50"
    assert shown["patrol_hours"].show(None) == MISSING and shown["name"].show("一社区") == "一社区"


def test_csv_and_json_keep_their_content(tmp_path: Path) -> None:
    ledger = _ledger()
    with write_csv(ledger, tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == list(HEADERS.values()) and len(table) == 4
    first = ledger.rows[1].as_dict()
    assert table[2] == ["" if first[k] is None else str(first[k]) for k in HEADERS]
    data = json.loads(write_json(ledger, tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(ledger.as_dict(), ensure_ascii=False, default=str))
    assert write_ledger(ledger, tmp_path / "deep" / "b.CSV").read_bytes() == (tmp_path / "a.csv").read_bytes()
    with pytest.raises(InvalidInput, match="台帐格式"):
        write_ledger(ledger, tmp_path / "a.pdf")


def test_the_unit_is_the_parent_grid_or_the_street(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        names = dict(s.execute(text("SELECT code, name FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL "
                                    "AND code IN ('610103006', '610103006001')")).all())  # fmt: skip
        assert unit_name(s, "610103006001") == names["610103006001"]
        assert unit_name(s, None) == names["610103006"]
