"""党员联系户 (gridgov.party.contacts): links up to the rule's maximum (the next one refused quoting the rule),
unlinking, visits, the households no member links, the scope rule; and the 联系户 import from Excel, atomic with
row-numbered errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.errors import Conflict, Forbidden, InvalidInput, NotFound
from gridgov.party import contacts
from gridgov.party.imports import import_contacts, write_template
from gridgov.party.rules import PartyRules

from tests.party.test_check import _members
from tests.party.test_orgs import ADMIN, COMMUNITY, codes_of, scoped, street  # noqa: F401 - the fixture

RULES = PartyRules()


def homes(s: Session, prefix: str) -> list[str]:
    """The household codes of the members made with ``prefix``, in order."""
    return list(s.scalars(text("SELECT code FROM household WHERE code LIKE :p ORDER BY id"), {"p": f"{prefix}-H%"}))


def workbook(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """An .xlsx file with one sheet: the header and the rows."""
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    wb.save(path)
    return path


def test_links_visits_and_the_rule(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        [who] = codes_of(s, _members(s, "A", 1, prefix="M"))
        _members(s, "A", 4, prefix="X")
        x = homes(s, "X")
        for home in x[:3]:
            contacts.link_household(s, who, home, ADMIN, rules=RULES, since=dt.date(2025, 1, 1))
        with pytest.raises(Conflict, match="已联系户 X-H1"):
            contacts.link_household(s, who, x[0], ADMIN, rules=RULES)
        with pytest.raises(Conflict) as fourth:
            contacts.link_household(s, who, x[3], ADMIN, rules=RULES)
        visit = contacts.record_visit(s, who, x[0], ADMIN, day=dt.date(2025, 2, 1), note="了解供暖问题")
        with pytest.raises(InvalidInput, match="未联系户 X-H4"):
            contacts.record_visit(s, who, x[3], ADMIN)
        unlinked, total = contacts.unlinked_households(s, ADMIN, parent="610103006001001")
        removed = contacts.unlink_household(s, who, x[2], ADMIN)
        with pytest.raises(NotFound):
            contacts.unlink_household(s, who, x[2], ADMIN)
        links = contacts.member_links(s, who, ADMIN)
        rows = s.scalar(text("SELECT count(*) FROM party_contact"))
    assert str(fourth.value) == "党员M-H1（M-P1）已联系 3 户，不能再联系户 X-H4：每名党员联系 1–3 户"
    assert (visit.household_code, visit.visited_on, visit.note) == ("X-H1", dt.date(2025, 2, 1), "了解供暖问题")
    assert total == 2 and [u.code for u in unlinked] == ["M-H1", "X-H4"]
    assert removed.household_code == "X-H3" and rows == 2
    assert [(x.household_code, x.visits, x.last_visit) for x in links] == [("X-H1", 1, dt.date(2025, 2, 1)),
                                                                           ("X-H2", 0, None)]


def test_a_community_cannot_link_another_communitys_household(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        [who] = codes_of(s, _members(s, "A", 1, prefix="M"))
        _members(s, "C", 1, prefix="E")
        comm1 = scoped(s, "community", COMMUNITY)
        with pytest.raises(Forbidden, match="超出权限范围"):
            contacts.link_household(s, who, "E-H1", comm1, rules=RULES)
        mine = contacts.link_household(s, who, "M-H1", comm1, rules=RULES)
        with pytest.raises(Forbidden):
            contacts.unlinked_households(s, comm1, parent="610103006002")
    assert mine.created_by == "user:u" and mine.since == dt.date.today()


def test_the_import_is_atomic_with_row_numbers(street: Engine, tmp_path: Path) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        members = codes_of(s, _members(s, "A", 2, prefix="M"))
        _members(s, "A", 4, prefix="X")
        x = homes(s, "X")
        contacts.link_household(s, members[0], x[0], ADMIN, rules=RULES)
        header = ["党员编码", "户编码", "联系日期"]
        bad = workbook(tmp_path / "bad.xlsx", header, [
            [members[0], x[0], "2025-01-01"],  # row 2: exists already (unchanged)
            [members[0], x[1], ""], [members[0], x[2], ""], [members[0], x[3], ""],  # rows 3–5: four links in all
            ["NOPE", x[1], ""],  # row 6
            [members[1], "H-NONE", "2025-13-01"],  # row 7
        ])  # fmt: skip
        refused = import_contacts(s, ADMIN, bad, rules=RULES)
        count = s.scalar(text("SELECT count(*) FROM party_contact"))
        good = workbook(tmp_path / "good.xlsx", header, [[members[0], x[0], ""], [members[0], x[1], "2025-02-01"],
                                                         [members[1], x[2], ""]])  # fmt: skip
        dry = import_contacts(s, ADMIN, good, rules=RULES, dry_run=True)
        done = import_contacts(s, ADMIN, good, rules=RULES)
        comm2 = scoped(s, "community", "610103006002")
        with pytest.raises(Forbidden):
            import_contacts(s, comm2, workbook(tmp_path / "far.xlsx", header, [[members[1], x[3], ""]]), rules=RULES)
        linked = s.execute(text("SELECT p.code, h.code, c.since FROM party_contact c "
                                "JOIN person p ON p.id = c.person_id JOIN household h ON h.id = c.household_id "
                                "ORDER BY p.code, h.code")).all()  # fmt: skip
    assert refused.refused and not refused.written and count == 1
    reasons = {(e.row, e.column): e.reason for e in refused.errors}
    assert {r for r, _ in reasons} == {2, 3, 4, 5, 6, 7}
    assert reasons[(5, "household_code")] == "该党员将联系 4 户：每名党员联系 1–3 户"
    assert reasons[(6, "person_code")].startswith("不是在册党员")
    assert reasons[(7, "household_code")].startswith("户不存在")
    assert reasons[(7, "since")].startswith("无法识别的时间") or reasons[(7, "since")].startswith("格式错误")
    # the dry run counts what the real run does: two new links, one that exists already
    assert (dry.imported, dry.unchanged, dry.written, done.imported, done.unchanged, done.written) == (
        2, 1, False, 2, 1, True)
    assert [(p, h) for p, h, _ in linked] == [(members[0], x[0]), (members[0], x[1]), (members[1], x[2])]
    assert linked[1][2] == dt.date(2025, 2, 1)


def test_templates_have_chinese_headings(tmp_path: Path) -> None:
    for kind, first in (("orgs", "党组织编码"), ("members", "人员编码"), ("contacts", "人员编码")):
        wb = openpyxl.load_workbook(write_template(kind, tmp_path / f"{kind}.xlsx"))
        assert wb.worksheets[0].cell(1, 1).value == first and wb.sheetnames[1] == "说明"
