"""The compliance check's faces share one reading of the report (gridgov.party.check_export): each rule's standard
from the settings, its result in words, the findings in JSON (geometry only for 责任区 gaps) and the Excel
workbook — checked on hand-made organisations, members, a 责任区 and 联系户, the workbook read back with openpyxl.

``make_check_data`` is the hand-made community the CLI, API, page and map tests use too."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.history import day_of
from gridgov.party.check import RULES, Report, RuleSummary, check
from gridgov.party.check_export import (
    FAILED,
    FIGURES,
    NOTHING,
    PASSED,
    check_workbook,
    definitions,
    file_name,
    finding_dict,
    report_dict,
    summary_lines,
    thresholds,
)
from gridgov.party.rules import PartyRules

from tests.factories import X0, Y0, D, make_street
from tests.party.test_check import _members, _org

DAY = day_of(None)  # the rows are made now: a fixed past day would not see them
OWN, OTHER = "610103006001", "610103006002"
A, B, C = "610103006001001", "610103006001002", "610103006002001"
ADMIN = Actor.system("tests")
SECRETARY = "党员A-H1"  # A-P1's name (tests.party.test_check._members names people after their households)


def make_check_data(s: Session, *, street: bool = True) -> None:
    """On the factory street (made here unless ``street`` is False): 4 members in compound A (A-P1…A-P4, 在职,
    two volunteers) in branch BA (secretary A-P1, who reported to the community and links households B-H1 and
    B-H2), 2 members in compound B (B-P1, B-P2) in branch BB, both branches under the community's 党委 CP (6
    members: too few for a 党委); a 责任区 ZA over the west half of compound A (A-P1 responsible, duty 环境维护);
    one member E-P1 in community …002, in no organisation."""
    if street:
        make_street(s)
    a = _members(s, "A", 4, prefix="A", volunteers=2, member_type="在职")
    b = _members(s, "B", 2, prefix="B")
    _members(s, "C", 1, prefix="E")
    _org(s, "CP", "党委", "社区党组织", [OWN], [])
    _org(s, "BA", "党支部", "楼院党支部", [A], a, parent="CP")
    _org(s, "BB", "党支部", "楼院党支部", [B], b, parent="CP")
    s.execute(text("UPDATE party_org SET secretary_person_id = :p, phone = '13900000001' WHERE code = 'BA'"),
              {"p": a[0]})  # fmt: skip
    s.execute(text("INSERT INTO party_register (person_id, reported_on, employer) VALUES (:p, DATE '2025-03-01', "
                   "'市第一医院')"), {"p": a[0]})  # fmt: skip
    s.execute(text("INSERT INTO party_contact (person_id, household_id, since) SELECT :p, h.id, DATE '2026-01-01' "
                   "FROM household h WHERE h.code IN ('B-H1', 'B-H2')"), {"p": a[0]})  # fmt: skip
    s.execute(text("""INSERT INTO party_duty_area (code, name, duty, geom, org_id, person_ids)
                      SELECT 'ZA', '一网格西半区', '环境维护', ST_Multi(ST_GeomFromText(:g, 4326)), o.id, ARRAY[:p]
                        FROM party_org o WHERE o.code = 'BA' AND o.valid_to IS NULL"""),
              {"g": box(X0, Y0, X0 + D / 4, Y0 + D).wkt, "p": a[0]})  # fmt: skip


@pytest.fixture
def data(clean_engine: Engine) -> Iterator[Engine]:
    with Session(clean_engine) as s, s.begin():
        make_check_data(s)
    yield clean_engine


@pytest.fixture
def report(data: Engine) -> Report:
    with Session(data) as s:
        return check(s, ADMIN, PartyRules(), parent=OWN, day=DAY)


def _found(report: Report, rule: str) -> list[dict[str, Any]]:
    return [finding_dict(f) for f in report.findings if f.rule == rule]


def test_findings_in_json_have_the_issue_shape(report: Report) -> None:
    branch = _found(report, "branch_min")
    assert branch == [{"rule": "branch_min", "rule_zh": "党支部党员不少于规定人数", "passed": False, "grid_code": None,
                       "org": "BB", "value": 2, "threshold": 3, "detail": "BB党组织只有 2 名党员，党支部至少需要 3 名",
                       "records": []}]  # fmt: skip
    gaps = _found(report, "duty_area")
    assert [(g["grid_code"], g["value"], g["threshold"]) for g in gaps] == [(A, "50%", "100%"), (B, "0%", "100%")]
    assert all(g["geometry"]["type"] in ("Polygon", "MultiPolygon") for g in gaps)
    assert all("geometry" not in f for f in map(finding_dict, report.findings) if f["rule"] != "duty_area")
    contacts = _found(report, "contacts")  # everyone but A-P1 links nobody
    assert [(f["grid_code"], f["value"], f["records"]) for f in contacts] == [
        (A, 0, ["A-P2"]), (A, 0, ["A-P3"]), (A, 0, ["A-P4"]), (B, 0, ["B-P1"]), (B, 0, ["B-P2"])]
    unlinked = _found(report, "unlinked_households")
    assert [(f["grid_code"], f["passed"], f["value"]) for f in unlinked] == [(A, None, 4)]  # B's two are linked
    reported = _found(report, "reported")
    assert [(f["grid_code"], f["value"], f["records"]) for f in reported] == [(A, 3, ["A-P2", "A-P3", "A-P4"])]
    body = report_dict(report)
    assert (body["as_of"], body["parent"]) == (DAY.isoformat(), OWN)
    assert [r["rule"] for r in body["rules"]] == list(RULES)
    assert body["findings"] == [finding_dict(f) for f in report.findings]


def test_each_rule_in_words_with_the_settings_thresholds(report: Report) -> None:
    lines = {x.rule: x for x in summary_lines(report)}
    assert (lines["branch_min"].status, lines["branch_min"].checked, lines["branch_min"].failed) == (FAILED, 2, 1)
    assert (lines["grid_branch"].status, lines["grid_branch"].checked, lines["grid_branch"].failed) == (PASSED, 2, 0)
    assert lines["unlinked_households"].status == FIGURES and lines["unlinked_households"].findings == 1
    assert lines["team_size"].status == NOTHING  # no volunteer team in the community
    assert lines["org_form"].threshold == "≥ 50 名党员设党总支，> 100 名设党委"
    stricter = PartyRules(branch_min=4, contacts_max=2, volunteer_share=0.6, team_min=20, hours_min=3.5)
    words = thresholds(stricter)
    assert (words["branch_min"], words["contacts"], words["volunteer_share"], words["team_size"],
            words["team_activity"]) == ("党支部 ≥ 4 名党员", "每名党员联系 1–2 户", "党员志愿者 ≥ 60%", "每队 ≥ 20 人",
                                        "每月至少一次 ≥ 3.5 小时的活动")  # fmt: skip
    meaning = definitions(stricter)
    assert set(meaning) == set(RULES)
    assert "4–49 名设党支部" in meaning["org_form"]
    assert "党支部：党员大会每 3 个月、支部委员会每 1 个月、党课每 3 个月、组织生活会每 12 个月" in meaning["meetings"]


def test_the_workbook_read_back(data: Engine) -> None:
    with Session(data) as s:
        report = check(s, ADMIN, PartyRules(branch_min=5), parent=OWN, day=DAY)
    made = dt.datetime(2026, 12, 1, 9, 30)
    wb = openpyxl.load_workbook(io.BytesIO(check_workbook(report, made=made)))
    assert wb.sheetnames == ["汇总", "问题清单", "说明"]
    title = f"党建网格合规检查（网格 610103006001，截至 {DAY.isoformat()}）"
    for ws in wb.worksheets:
        assert ws["A1"].value == title and ws.freeze_panes == "A3"
        assert ws.column_dimensions["A"].width > 20
    summary = wb["汇总"]
    assert [c.value for c in summary[2]] == ["检查项", "结果", "检查数", "未通过数", "问题条数", "标准"]
    rows = {r[0]: r[1:] for r in summary.iter_rows(min_row=3, values_only=True)}
    assert list(rows) == list(RULES.values())
    assert rows["党支部党员不少于规定人数"] == ("未通过", 2, 2, 2, "党支部 ≥ 5 名党员")  # BA's 4 and BB's 2 < 5
    assert rows["支部建在网格上"] == ("通过", 2, 0, 0, "每个楼院网格建有党支部或党小组")
    assert rows["未被党员联系的住户"][0] == "参考"

    issues = wb["问题清单"]
    assert [c.value for c in issues[2]] == ["检查项", "结果", "网格编码", "党组织编码", "发现值", "标准", "说明",
                                            "需处理的记录"]  # fmt: skip
    listed = list(issues.iter_rows(min_row=3, values_only=True))
    assert len(listed) == len(report.findings)
    assert ("党支部党员不少于规定人数", "未通过", None, "BA", 4, 5, "BA党组织只有 4 名党员，党支部至少需要 5 名",
            None) in listed  # fmt: skip
    reported = next(r for r in listed if r[0] == "在职党员到社区报到")
    assert reported[2] == A and reported[4] == 3 and reported[7] == "A-P2、A-P3、A-P4"
    gap = next(r for r in listed if r[0] == "党员责任区覆盖楼院" and r[2] == A)
    assert gap[4] == "50%" and "合规检查页面的地图" in gap[6]
    assert next(r for r in listed if r[0] == "未被党员联系的住户")[1] == "参考"
    assert issues.auto_filter.ref == f"A2:H{2 + len(listed)}"

    notes = wb["说明"]
    explained = {r[0]: r[1:] for r in notes.iter_rows(min_row=3, values_only=True) if r[0]}
    assert explained["党支部党员不少于规定人数"] == ("党支部 ≥ 5 名党员",
                                                "每个党支部（含下级党小组）的党员不少于 5 名。")  # fmt: skip
    assert explained["检查范围"][0] == "网格 610103006001"
    assert explained["生成时间"][0] == "2026-12-01 09:30"
    assert file_name(report) == f"党建合规检查_610103006001_{DAY:%Y%m%d}.xlsx"


def test_the_other_community_and_a_clean_report(data: Engine) -> None:
    with Session(data) as s:
        report = check(s, ADMIN, PartyRules(), parent=C, day=DAY)
    wb = openpyxl.load_workbook(io.BytesIO(check_workbook(report)))
    listed = list(wb["问题清单"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[2], r[7]) for r in listed] == [
        ("支部建在网格上", C, None), ("党员责任区覆盖楼院", C, None), ("党员联系户数", C, "E-P1"),
        ("未被党员联系的住户", C, None), ("党员编入党组织", C, "E-P1")]  # fmt: skip
    assert "生成时间" not in {r[0] for r in wb["说明"].iter_rows(min_row=3, values_only=True)}
    clean = Report(C, DAY, PartyRules(), [RuleSummary(rule, 0, 0) for rule in RULES], [], True)
    wb = openpyxl.load_workbook(io.BytesIO(check_workbook(clean)))
    assert [r for r in wb["问题清单"].iter_rows(min_row=3, values_only=True)] == [("未发现问题。",) + (None,) * 7]
    assert [line.status for line in summary_lines(clean)] == [NOTHING for _ in RULES]
