"""XLSX formula cells: the cached result is imported; a formula that was never computed refuses its cell."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.importing.entities import import_entities

from tests.factories import X0, Y0, make_street

HEADER = ["编码", "地址", "户籍类型", "经度", "纬度", "备注"]
LON, LAT = X0 + 0.002, Y0 + 0.005  # inside 610103006001001
REASON = "单元格是公式且没有计算结果，请在 Excel 中另存为数值后再导入"


@pytest.fixture
def street(clean_engine: Engine) -> Engine:
    with session_scope(clean_engine) as s:
        make_street(s)
    return clean_engine


def households(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, address FROM household ORDER BY code")).all())  # type: ignore[arg-type]


def test_uncomputed_formula_in_an_address_refuses_the_cell(street: Engine, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()  # openpyxl never computes formulas: the cells have no cached value
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(["H1", "文艺北路45号院1号楼101室", "常住户", LON, LAT, "=1+1"])  # 备注 is not imported: ignored
    ws.append(["H2", '="文艺北路"&"46号"', "常住户", LON, LAT, ""])
    path = tmp_path / "公式.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInput) as err, session_scope(street) as s:
        import_entities(s, "households", path, actor=Actor.system("test"))
    assert err.value.message == f"公式.xlsx：第 3 行“地址”列：{REASON}"
    assert err.value.details == [{"row": 3, "column": "address", "reason": REASON}]
    assert households(street) == {}  # nothing written, and no empty address stored


def test_formula_with_a_cached_result_is_imported(street: Engine, tmp_path: Path) -> None:
    path = tmp_path / "已计算.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER[:5])
    sheet.write_row(1, 0, ["H1"])
    sheet.write_formula(1, 1, '="文艺北路"&"45号院"', None, "文艺北路45号院")  # as Excel would have saved it
    sheet.write_row(1, 2, ["常住户"])
    sheet.write_formula(1, 3, f"={LON}+0", None, LON)
    sheet.write_number(1, 4, LAT)
    book.close()
    with session_scope(street) as s:
        report = import_entities(s, "households", path, actor=Actor.system("test"))
    assert report.written and report.imported == 1 and report.assigned == 1
    assert households(street) == {"H1": "文艺北路45号院"}
