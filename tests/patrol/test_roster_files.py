"""The month's roster as Excel (cells, print set-up) and as PDF (a week per A4 landscape page, checked with poppler),
and the notice list as Excel, on the hand-made rota street of tests/patrol/test_rosters.py."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.patrol import roster_files, rosters

from tests.patrol.test_rosters import OCT, OP, build_rota_street

MADE = dt.date(2026, 9, 25)


@pytest.fixture
def october(clean_engine: Engine) -> rosters.MonthRoster:
    """October 2026 from the rules, with a leave, a substitution, a hand-set entry and a removed one."""
    with session_scope(clean_engine) as s:
        build_rota_street(s)
        rosters.generate_month(s, OCT, OP)
        rosters.record_leave(s, OP, dt.date(2026, 10, 2), "上半夜", "E1", "EM1", "年假")
        rosters.record_substitution(s, OP, dt.date(2026, 10, 2), "下半夜", "L2", "V2", "X")
        rosters.set_entry(s, OP, dt.date(2026, 10, 3), "下半夜", "L1A", note="加强巡逻")
        rosters.remove_entry(s, OP, dt.date(2026, 10, 8), "上半夜", "E2")
        return rosters.month_roster(s, OCT)


def _poppler(tool: str, pdf: Path, *args: str) -> str:
    stdout = ["-"] if tool == "pdftotext" else []
    return subprocess.run([tool, *args, str(pdf), *stdout], check=True, capture_output=True, text=True).stdout


def test_the_month_in_excel(october: rosters.MonthRoster, tmp_path: Path) -> None:
    path = roster_files.write_roster(october, tmp_path / "roster.xlsx", made=MADE)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["2026年10月排班"]
    ws = wb.active
    assert ws is not None
    assert ws["A1"].value == "文艺路街道2026年10月夜间巡逻排班表"
    assert ws["A2"].value == "上半夜 20:00–23:30　下半夜 23:30–次日 06:00　　共 92 条排班　　制表日期：2026-09-25"
    assert [c.value for c in ws[3]] == ["日期", "星期", "班次", "时段", "巡逻队", "单位", "巡逻区域", "牵头社区",
                                        "带队", "带队电话", "值班领导", "社区值班人员", "变动（请假/替班）", "备注",
                                        "来源"]  # fmt: skip
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    assert len(rows) == 31 * 3 and ws.max_row == 3 + 93  # 92 entries and the 8th's empty 上半夜
    oct1 = dt.datetime(2026, 10, 1)
    assert rows[0] == [oct1, "星期四", "上半夜", "20:00–23:30", "第一干部巡逻队", "区政府办公室", "干部巡逻区", None,
                       "钱一", "13900000001", "钱一 13900000001", "赵街道 13900000000", None, None, "规则"]
    assert rows[1] == [oct1, "星期四", "下半夜", "23:30–次日 06:00", "一社区志愿队甲", "文艺北路一社区",
                       "一二社区联防区", "文艺北路二社区", "陈志愿", "13900000009", "钱一 13900000001",
                       "冯社区 13900000008", None, None, "规则"]  # fmt: skip
    by_day = {(r[0].day, r[2], r[4]): r for r in rows}
    assert by_day[(2, "上半夜", "第一干部巡逻队")][12] == "周队员请假（年假）"
    assert by_day[(2, "下半夜", "二社区志愿队")][12] == "韩替替沈二"
    assert by_day[(3, "下半夜", "一社区志愿队甲")][13:] == ["加强巡逻", "手工"]
    assert by_day[(8, "上半夜", "未排班")][3:] == ["20:00–23:30", "未排班", *[None] * 10]
    assert ws["A4"].number_format == "m月d日"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    # fitted to one page wide (1 is the default, which is not written), as many pages long as needed
    fit = ws.page_setup
    assert fit.fitToWidth in (None, 1) and int(fit.fitToHeight) == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$3:$3" and ws.freeze_panes == "A4" and ws.auto_filter.ref == "A3:O96"


def test_the_month_in_pdf_a_week_a_page(october: rosters.MonthRoster, tmp_path: Path) -> None:
    path = roster_files.write_roster(october, tmp_path / "roster.pdf", made=MADE)
    info = _poppler("pdfinfo", path)
    assert re.search(r"Pages:\s+5\n", info), info  # 1–4, 5–11, 12–18, 19–25 and 26–31 October
    assert re.search(r"Page size:\s+841\.\d+ x 595\.\d+ pts \(A4\)", info), info
    assert "Noto-Sans-CJK-SC" in _poppler("pdffonts", path)
    pages = [re.sub(r"\s", "", _poppler("pdftotext", path, "-f", str(n), "-l", str(n))) for n in range(1, 6)]
    first = pages[0]
    for word in ("文艺路街道2026年10月夜间巡逻排班表", "第1周（10月1日–10月4日）", "第一干部巡逻队", "钱一",
                 "一社区志愿队甲", "陈志愿", "二社区志愿队", "一二社区联防区（文艺北路二社区牵头）",
                 "赵街道13900000000",
                 "周队员请假（年假）", "韩替替沈二", "加强巡逻", "手工", "第1页，共5页"):  # fmt: skip
        assert word in first, word
    assert "第二干部巡逻队" not in first and "10月5日" not in first
    assert "第2周（10月5日–10月11日）" in pages[1] and "第二干部巡逻队" in pages[1] and "未排班" in pages[1]
    assert "第三干部巡逻队" in pages[2] and "第5周（10月26日–10月31日）" in pages[4]
    assert roster_files.roster_file_name(october, ".pdf") == "2026年10月巡逻排班表.pdf"


def test_the_notice_list_in_excel(clean_engine: Engine, tmp_path: Path) -> None:
    night = dt.date(2026, 10, 2)
    with session_scope(clean_engine) as s:
        build_rota_street(s)
        rosters.generate_month(s, OCT, OP)
        rosters.record_leave(s, OP, night, "上半夜", "E1", "EM1", "年假")
        rosters.record_substitution(s, OP, night, "下半夜", "L2", "V2", "X")
        notice = rosters.notices(s, night)
    path = roster_files.write_notice_xlsx(notice, tmp_path / roster_files.notice_file_name(notice))
    assert path.name == "2026-10-02巡逻通知名单.xlsx"
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    assert ws["A1"].value == "文艺路街道2026年10月2日（星期五）夜间巡逻通知名单"
    assert str(ws["A2"].value).startswith("通知时间：当日 15:00–16:00　　应通知 6 人")
    assert [c.value for c in ws[3]] == ["序号", "单位", "巡逻队", "班次", "时段", "巡逻区域", "姓名", "职责", "电话",
                                        "备注", "已通知"]  # fmt: skip
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    early, late = "20:00–23:30", "23:30–次日 06:00"
    assert rows == [
        ["1", "区政府办公室", "第一干部巡逻队", "上半夜", early, "干部巡逻区", "钱一", "带队", "13900000001",
         "不到岗：周队员（请假）", None],
        [None, "文艺北路一社区", "一社区志愿队乙", "下半夜", late, None, "（无人员）", None, None, None, None],
        ["2", "文艺北路二社区", "二社区志愿队", "下半夜", late, "二社区巡逻区", "韩替", "带队（替沈二）", "13900000014",
         "不到岗：沈二（已替班）", None],
        [None, "值班人员", *[None] * 9],
        ["3", "值班人员", None, None, None, None, "孙二", "值班领导", "13900000002", None, None],
        ["4", "值班人员", None, None, None, None, "郑社长", "社区值班", "13900000006", None, None],
        ["5", "值班人员", None, None, None, None, "冯社区", "社区值班", "13900000008", None, None],
        ["6", "值班人员", None, None, None, None, "赵街道", "社区值班", "13900000000", None, None],
    ]  # fmt: skip
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$3:$3"


def test_only_excel_and_pdf(october: rosters.MonthRoster, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"排班表格式应为 \.xlsx 或 \.pdf：roster\.csv"):
        roster_files.write_roster(october, tmp_path / "roster.csv")
