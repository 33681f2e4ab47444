"""The ledger: roll-ups, totals equal assignment, as-of from history, periods, Excel/CSV equal JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.assign.points import assign_all
from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.grids import repair
from gridgov.ledger.export import write_ledger
from gridgov.ledger.report import COUNTS, HEADERS, build_ledger
from gridgov.periods import day_range

from tests.factories import X0, Y0, make_street


@pytest.fixture(scope="module")
def sample_ledger(sample_engine: Engine):  # type: ignore[no-untyped-def]
    with Session(sample_engine) as s:
        yield build_ledger(s, with_patrol=False)


def test_every_parent_equals_the_sum_of_its_children(sample_ledger) -> None:  # type: ignore[no-untyped-def]
    rows = {r.code: r for r in sample_ledger.rows}
    children: dict[str, list[str]] = {}
    for r in sample_ledger.rows:
        if r.parent_code:
            children.setdefault(r.parent_code, []).append(r.code)
    assert len(children) == 11  # the street and its 10 communities
    for parent, kids in children.items():
        for col in COUNTS:
            assert getattr(rows[parent], col) == sum(getattr(rows[k], col) for k in kids), (parent, col)
        cats = rows[parent].incidents_by_category
        for cat, n in cats.items():
            assert n == sum(rows[k].incidents_by_category.get(cat, 0) for k in kids)


def test_street_totals_equal_the_assignment(sample_ledger, sample_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    street = next(r for r in sample_ledger.rows if r.level == "street")
    with sample_engine.connect() as conn:
        hh, persons, incidents = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM household WHERE grid_id IS NOT NULL AND valid_to IS NULL),"
                " (SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id"
                " WHERE h.grid_id IS NOT NULL AND h.valid_to IS NULL AND p.valid_to IS NULL),"
                " (SELECT count(*) FROM incident WHERE grid_id IS NOT NULL)"
            )
        ).one()
    assert street.households == hh and street.persons == persons
    assert street.incidents_open + street.incidents_closed == incidents
    assert street.party_members >= 1500 and street.party_org == "党委"
    assert street.hh_resident + street.hh_rented + street.hh_vacant + street.hh_shop == street.households
    assert "网格长" in (street.staff or "")


def test_excel_and_csv_equal_the_json(sample_ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    xlsx = write_ledger(sample_ledger, tmp_path / "台帐.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["街道台帐", "社区台帐", "楼院台帐", "说明"]
    ws = wb["社区台帐"]
    header = [c.value for c in ws[3]]  # row 1 title, row 2 period
    assert header == list(HEADERS.values()) and ws.freeze_panes == "C4"
    assert ws.column_dimensions["B"].width >= 10
    by_code = {r.code: r.as_dict() for r in sample_ledger.rows}
    lines = list(ws.iter_rows(min_row=4, values_only=True))
    assert lines[-1][0] == "合计" and len(lines) == 11  # 10 communities, then 合计
    for row in lines[:-1]:
        d = by_code[row[0]]
        for key, value in zip(HEADERS, row, strict=True):
            assert value == ("—" if d[key] is None else d[key]) or (value is None and d[key] == ""), key
    csv = write_ledger(sample_ledger, tmp_path / "台帐.csv")
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "户数".encode() in raw.splitlines()[0]
    assert len(raw.decode("utf-8-sig").splitlines()) == len(sample_ledger.rows) + 1


def test_as_of_reproduces_the_grids_of_that_day(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        for code, x in (("H1", X0 + 0.002), ("H2", X0 + 0.007)):  # one in 001001, one in 001002
            s.execute(
                text(
                    "INSERT INTO household (code, kind, geom) VALUES (:c, '常住户', "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"c": code, "x": x, "y": Y0 + 0.005},
            )
    with clean_engine.connect() as conn:
        before = conn.execute(text("SELECT now()")).scalar()
    with session_scope(clean_engine) as s:
        repair.apply_plan(s, repair.plan_merge(s, ["610103006001001", "610103006001002"]), Actor.system("test"))
    with Session(clean_engine) as s:
        now = {r.code: r.households for r in build_ledger(s, with_patrol=False).rows}
        s.rollback()
        then = {r.code: r.households for r in build_ledger(s, as_of=before, with_patrol=False).rows}
    assert now["610103006001001"] == 2 and "610103006001002" not in now
    assert then["610103006001001"] == 1 and then["610103006001002"] == 1
    assert then["610103006"] == now["610103006"] == 2


def test_period_bounds_incidents(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        for day, status in ((1, "结案"), (15, "立案"), (31, "上报")):
            s.execute(
                text(
                    "INSERT INTO incident (code, category, geom, reported_at, status) VALUES (:code, '市容环境', "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326), :t, :st)"
                ),
                {"x": X0 + 0.002, "y": Y0 + 0.005, "t": dt.datetime(2026, 10, day, 12, tzinfo=dt.UTC), "st": status,
                 "code": f"E{day}"},
            )
        assign_all(s)
    start, end = day_range(dt.date(2026, 10, 1), dt.date(2026, 10, 15))
    with Session(clean_engine) as s:
        led = build_ledger(s, level="compound", date_from=start, date_to=end, with_patrol=False)
    a = next(r for r in led.rows if r.code == "610103006001001")
    assert (a.incidents_closed, a.incidents_open, a.incidents_by_category) == (1, 1, {"市容环境": 2})
    assert {r.level for r in led.rows} == {"compound"}


def test_patrol_columns_for_a_week(sample_engine: Engine) -> None:
    start, end = day_range(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    with Session(sample_engine) as s:
        rows = build_ledger(s, date_from=start, date_to=end).rows
    street = next(r for r in rows if r.level == "street")
    communities = [r for r in rows if r.level == "community"]
    assert street.patrol_length_m and street.patrol_length_m > 10_000
    assert street.patrol_length_m == pytest.approx(sum(r.patrol_length_m or 0 for r in communities), rel=1e-9)
    assert all(0 <= (r.patrol_coverage or 0) <= 1 for r in rows)
    assert street.as_dict()["patrol_hours"] > 0
