"""Excel templates: Chinese headings from the canonical columns, required marks, drop-downs, a 说明 sheet, and a
filled-in template that the import accepts for every entity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import NotFound
from gridgov.ids import id_check_digit
from gridgov.importing.columns import ENTITIES, SPATIAL
from gridgov.importing.entities import TABLES, import_entities
from gridgov.importing.templates import write_template

from tests.factories import X0, Y0, make_street

IN_A = (X0 + 0.002, Y0 + 0.005)  # inside compound 610103006001001
IN_B = (X0 + 0.007, Y0 + 0.005)  # inside compound 610103006001002
ID17 = "61010319750101123"
# A second row per entity, as a user fills it in (by canonical column; written under the template's heading).
FILLED: dict[str, dict[str, Any]] = {
    "households": {"code": "H0002", "address": "文艺北路47号院2号楼301室", "kind": "出租", "lon": IN_B[0],
                   "lat": IN_B[1]},
    "buildings": {"code": "B0002", "name": "2号楼", "floors": 18, "lon": IN_B[0], "lat": IN_B[1]},
    "persons": {"code": "P0002", "household_code": "H0001", "name": "王芳", "sex": "女", "birth_year": 1982,
                "phone": "029-87654321", "id_number": ID17 + id_check_digit(ID17), "is_party_member": "否"},
    "incidents": {"code": "E0002", "category": "矛盾纠纷", "lon": IN_B[0], "lat": IN_B[1],
                  "reported_at": "2026-10-02 09:15", "level": "社区"},
    "staff": {"name": "赵六", "phone": "13700000000", "grid_code": "610103006001002", "role": "楼栋长"},
}  # fmt: skip


def headings(entity: str) -> list[str]:
    """What row 1 must say: each canonical column's first alias, in order."""
    return [c.aliases[0] for c in ENTITIES[entity]]


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_template_has_chinese_headings_marks_lists_and_notes(entity: str, tmp_path: Path) -> None:
    path = write_template(entity, tmp_path / f"{entity}.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb.worksheets[0]  # the import reads the first sheet
    assert [c.value for c in data[1]] == headings(entity)
    assert data.freeze_panes == "A2"
    for k, col in enumerate(ENTITIES[entity], start=1):
        cell = data.cell(1, k)
        must = col.required or (SPATIAL[entity] and col.name in ("lon", "lat"))
        assert (cell.comment is not None and cell.comment.text.startswith("必填")) == must, col.name
        assert (cell.fill.fgColor.rgb == "FFC00000") == must, col.name
        if col.kind == "text":
            assert data.cell(2, k).number_format == "@", col.name  # codes, phones, ID numbers stay as typed
    assert data.cell(2, 1).comment is not None and "示例" in data.cell(2, 1).comment.text
    lists = wb["可选值"]
    assert lists.sheet_state == "hidden"
    offered: dict[str, list[str]] = {}
    for validation in data.data_validations.dataValidation:
        if validation.type != "list":
            continue
        column = data.cell(1, next(iter(validation.sqref.ranges)).min_col).value
        source = validation.formula1.split("!")[1].replace("$", "")
        offered[str(column)] = [str(c.value) for row in lists[source] for c in row]
    expected = {c.aliases[0]: list(c.values) for c in ENTITIES[entity] if c.kind == "enum"}
    expected |= {c.aliases[0]: ["是", "否"] for c in ENTITIES[entity] if c.kind == "bool"}
    assert offered == expected
    notes = wb["说明"]
    text_of_notes = "\n".join(str(c.value) for row in notes.iter_rows() for c in row if c.value is not None)
    assert all(h in text_of_notes for h in headings(entity))
    assert "全部或全不" in text_of_notes and "第 2 行是示例" in text_of_notes
    assert ("gcj02" in text_of_notes and "CGCS2000" in text_of_notes) == SPATIAL[entity]
    for col in ENTITIES[entity]:
        for value in col.values:
            assert value in text_of_notes


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_a_filled_in_template_passes_the_dry_run(entity: str, clean_engine: Engine, tmp_path: Path) -> None:
    actor = Actor.system("tests")
    with session_scope(clean_engine) as s:
        make_street(s)
        if entity == "persons":  # the example and the filled-in row join household H0001
            s.execute(text("INSERT INTO household (code, address, kind, geom) "
                           "VALUES ('H0001', '文艺北路45号院1号楼1单元101室', '常住户', ST_Point(:x, :y, 4326))"),
                      {"x": IN_A[0], "y": IN_A[1]})  # fmt: skip
    path = write_template(entity, tmp_path / f"{entity}.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb.worksheets[0]
    where = {c.name: k for k, c in enumerate(ENTITIES[entity], start=1)}
    for name, value in FILLED[entity].items():  # row 2 keeps the example, row 3 is the user's
        data.cell(3, where[name], value)
    filled = tmp_path / f"{entity}-填好.xlsx"
    wb.save(filled)
    with session_scope(clean_engine) as s:
        report = import_entities(s, entity, filled, actor=actor, dry_run=True)
    assert report.errors == [] and not report.refused
    assert report.rows == 2 and report.dry_run and not report.written
    if SPATIAL[entity]:
        assert (report.assigned, report.unassigned) == (2, 0)
    if entity == "staff":
        assert report.imported == 2  # two roles on two grids
    with clean_engine.connect() as conn:  # a dry run writes nothing
        n = conn.execute(text(f"SELECT count(*) FROM {TABLES[entity]}")).scalar_one()
    assert n == 0


def test_unknown_entity_has_no_template(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        write_template("pets", tmp_path / "pets.xlsx")
    assert not (tmp_path / "pets.xlsx").exists()
