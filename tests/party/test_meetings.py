"""Meetings (三会一课) on the factory street: the schedule overdue exactly at the boundary (and the same as the
compliance check says), cancelled meetings not counting, minutes files checked and kept, downloads only in scope,
lists per organisation and period."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from gridgov.party import meetings as svc
from gridgov.party.check import check
from gridgov.party.rules import PartyRules, meeting_due

from tests.factories import make_street
from tests.party.test_check import _org
from tests.party.test_volunteers import OTHER, OWN, A, C, scoped

ADMIN = Actor.system("tests")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx() -> bytes:
    """The smallest file Word's format is recognised by: a zip holding word/document.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def png() -> bytes:
    """A small PNG image."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    """Branch BA on compound A (…001001) and BC on C (…002001), founded 2020; group GA under BA on no grid;
    all on record since 2020 (the schedule and the check read organisations in force on the day asked)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        _org(s, "BC", "党支部", "楼院党支部", [C], [])
        _org(s, "GA", "党小组", "楼栋党小组", [], [], parent="BA")
        for table in ("grid", "party_org"):
            s.execute(text(f"UPDATE {table} SET valid_from = DATE '2020-01-01'"))
    yield clean_engine


def _due(rows: list[svc.Due], org: str, kind: str) -> svc.Due:
    return next(r for r in rows if (r.org_code, r.kind) == (org, kind))


@pytest.mark.parametrize(("day", "overdue"), [(dt.date(2026, 10, 31), False), (dt.date(2026, 11, 1), True)])
def test_the_schedule_is_overdue_exactly_after_the_boundary_month(street: Engine, day: dt.date,
                                                                   overdue: bool) -> None:  # fmt: skip
    with Session(street) as s, s.begin():
        svc.record_meeting(s, ADMIN, org="BA", kind="支委会", held_on=dt.date(2026, 9, 30), attendees=3, expected=3)
        svc.record_meeting(s, ADMIN, org="BA", kind="党员大会", held_on=dt.date(2026, 8, 1))
        rows = svc.schedule(s, ADMIN, PartyRules(), org="BA", day=day)
        group = svc.schedule(s, ADMIN, PartyRules(), org="GA", day=day)
        report = check(s, ADMIN, PartyRules(), parent=A, day=day)
    committee = _due(rows, "BA", "支部委员会")
    assert (committee.last_held, committee.due_by, committee.overdue) == \
        (dt.date(2026, 9, 30), dt.date(2026, 10, 31), overdue)
    general = _due(rows, "BA", "党员大会")
    assert (general.months, general.due_by, general.overdue) == (3, dt.date(2026, 11, 1), False)
    never = _due(rows, "BA", "党课")
    assert (never.last_held, never.due_by, never.overdue) == (None, dt.date(2020, 4, 1), True)
    assert [r.kind for r in rows] == ["党员大会", "支部委员会", "党课", "组织生活会"]
    assert [(r.kind, r.overdue) for r in group] == [("党小组会", True)]
    # the same overdue meetings as the compliance check says
    checked = {(f.org, f.detail.split("的", 1)[1].split("已超期")[0]) for f in report.findings if f.rule == "meetings"}
    assert checked == {(r.org_code, r.kind) for r in rows + group if r.overdue}


def test_the_rule_is_the_checks_at_every_day_around_month_ends() -> None:
    """meeting_due agrees with the check's own reading (held on or after the same day months earlier) every day."""
    start = dt.date(2026, 1, 28)
    for last in (start + dt.timedelta(days=i) for i in range(40)):
        for months in (1, 3, 6, 12):
            due = meeting_due(months, last, None, last)
            assert due.due_by is not None
            for later in (due.due_by + dt.timedelta(days=k) for k in (-1, 0, 1, 2)):
                if later >= last:
                    assert meeting_due(months, last, None, later).overdue is (later > due.due_by)


def test_cancelled_meetings_do_not_count(street: Engine) -> None:
    with Session(street) as s, s.begin():
        svc.record_meeting(s, ADMIN, org="BA", kind="支部委员会", held_on=dt.date(2026, 9, 1))
        wrong = svc.record_meeting(s, ADMIN, org="BA", kind="支部委员会", held_on=dt.date(2026, 11, 15),
                                   topic="误录")  # fmt: skip
        before = _due(svc.schedule(s, ADMIN, PartyRules(), org="BA", day=dt.date(2026, 11, 20)), "BA", "支部委员会")
        with pytest.raises(InvalidInput, match="原因"):
            svc.cancel_meeting(s, wrong.id, ADMIN, reason=" ")
        cancelled = svc.cancel_meeting(s, wrong.id, ADMIN, reason="录入错误")
        with pytest.raises(Conflict, match="已于 .* 取消"):
            svc.cancel_meeting(s, wrong.id, ADMIN, reason="再次")
        after = _due(svc.schedule(s, ADMIN, PartyRules(), org="BA", day=dt.date(2026, 11, 20)), "BA", "支部委员会")
        listed = svc.list_meetings(s, ADMIN, org="BA")
        counted = svc.list_meetings(s, ADMIN, org="BA", include_cancelled=False)
        report = check(s, ADMIN, PartyRules(), parent=A, day=dt.date(2026, 11, 20))
        row = s.execute(text("SELECT cancel_reason, cancelled_at IS NOT NULL FROM party_meeting WHERE id = :i"),
                        {"i": wrong.id}).one()  # fmt: skip
    assert (before.last_held, before.overdue) == (dt.date(2026, 11, 15), False)
    assert (after.last_held, after.overdue) == (dt.date(2026, 9, 1), True)
    assert (cancelled.cancelled, cancelled.cancel_reason) == (True, "录入错误")
    assert [(m.held_on, m.cancelled) for m in listed] == [(dt.date(2026, 11, 15), True), (dt.date(2026, 9, 1), False)]
    assert [m.held_on for m in counted] == [dt.date(2026, 9, 1)]
    assert tuple(row) == ("录入错误", True)
    assert any(f.org == "BA" and "支部委员会" in f.detail for f in report.findings if f.rule == "meetings")


def test_meetings_are_checked(street: Engine) -> None:
    with Session(street) as s, s.begin():
        cases = [
            (dict(org="BA", kind="茶话会", held_on=dt.date(2026, 10, 1)), "未知的取值 茶话会"),
            (dict(org="BA", kind="党课", held_on=dt.date(2100, 1, 1)), "不能晚于今天"),
            (dict(org="BA", kind="党课", held_on=dt.date(2019, 1, 1)), "早于 BA党组织 的成立日期"),
            (dict(org="BA", kind="党课", held_on=dt.date(2026, 10, 1), attendees=5, expected=4), "实到人数（5）多于"),
            (dict(org="XX", kind="党课", held_on=dt.date(2026, 10, 1)), "党组织不存在：XX"),
            (dict(org="BA", kind="党课", held_on=None), "请填写会议日期"),
        ]
        for kwargs, message in cases:
            with pytest.raises(InvalidInput, match=message):
                svc.record_meeting(s, ADMIN, **kwargs)  # type: ignore[arg-type]
        assert s.scalar(text("SELECT count(*) FROM party_meeting")) == 0


def test_minutes_are_checked_kept_and_read_only_in_scope(street: Engine) -> None:
    assert svc.check_minutes("C:\\会议\\纪要.pdf", PDF).name == "纪要.pdf"
    assert svc.check_minutes("纪要.docx", docx()).content_type == svc.DOCX_TYPE
    assert svc.check_minutes("纪要", svc.OLE_MAGIC + b"\0" * 100).name == "纪要.doc"
    assert svc.check_minutes("照片.png", png()).content_type == "image/png"
    assert svc.check_minutes("扫描.jpg", png()).name == "扫描.png"  # named by its content
    with pytest.raises(InvalidInput, match="格式不受支持"):
        svc.check_minutes("纪要.pdf", "这是文本".encode())
    with pytest.raises(InvalidInput, match="空文件"):
        svc.check_minutes("纪要.pdf", b"")
    with pytest.raises(TooLarge, match="超过上限 20 MB"):
        svc.check_minutes("纪要.pdf", PDF + b"\0" * (20 * 2**20))
    with Session(street) as s, s.begin():
        held = svc.record_meeting(s, ADMIN, org="BA", kind="党课", held_on=dt.date(2026, 10, 9), topic="学习",
                                  minutes=svc.check_minutes("纪要.pdf", PDF))  # fmt: skip
        bare = svc.record_meeting(s, ADMIN, org="BA", kind="党员大会", held_on=dt.date(2026, 10, 10))
        comm1, comm2 = scoped(s, "community", OWN), scoped(s, "community", OTHER)
        got = svc.minutes_file(s, held.id, comm1)
        with pytest.raises(Forbidden):
            svc.minutes_file(s, held.id, comm2)
        with pytest.raises(Forbidden):
            svc.minutes_file(s, held.id, Actor("user:v", "viewer"))
        with pytest.raises(NotFound, match="没有上传会议记录"):
            svc.minutes_file(s, bare.id, comm1)
        replaced = svc.attach_minutes(s, bare.id, comm1, svc.check_minutes("记录.docx", docx()))
        with pytest.raises(Forbidden):
            svc.attach_minutes(s, bare.id, comm2, svc.check_minutes("记录.pdf", PDF))
        stored = s.execute(text("SELECT minutes_name, minutes_type, minutes FROM party_meeting WHERE id = :i"),
                           {"i": held.id}).one()  # fmt: skip
    assert (got.name, got.content_type, got.data) == ("纪要.pdf", svc.PDF_TYPE, PDF)
    assert (stored.minutes_name, stored.minutes_type, bytes(stored.minutes)) == ("纪要.pdf", svc.PDF_TYPE, PDF)
    assert (held.has_minutes, held.minutes_size, replaced.minutes_name) == (True, len(PDF), "记录.docx")


def test_lists_per_organisation_period_and_scope(street: Engine) -> None:
    with Session(street) as s, s.begin():
        for org, kind, day in (("BA", "党课", dt.date(2026, 7, 1)), ("BA", "党员大会", dt.date(2026, 10, 1)),
                               ("GA", "党小组会", dt.date(2026, 10, 5)), ("BC", "党课", dt.date(2026, 10, 2))):
            svc.record_meeting(s, ADMIN, org=org, kind=kind, held_on=day)
        comm1 = scoped(s, "community", OWN)
        autumn = svc.list_meetings(s, comm1, date_from=dt.date(2026, 9, 1), date_to=dt.date(2026, 10, 31))
        everything = svc.list_meetings(s, ADMIN)
        of_ba = svc.list_meetings(s, comm1, org="BA")
        own_schedule = {r.org_code for r in svc.schedule(s, comm1, PartyRules(), day=dt.date(2026, 11, 30))}
        choices = [o.code for o in svc.org_choices(s, comm1)]
        refusals = [lambda: svc.list_meetings(s, comm1, org="BC"), lambda: svc.list_meetings(s, comm1, parent=OTHER),
                    lambda: svc.record_meeting(s, comm1, org="BC", kind="党课", held_on=dt.date(2026, 11, 1)),
                    lambda: svc.cancel_meeting(s, everything[1].id, comm1, reason="错"),  # BC's
                    lambda: svc.schedule(s, comm1, PartyRules(), org="BC")]  # fmt: skip
        for refuse in refusals:
            with pytest.raises(Forbidden), s.begin_nested():
                refuse()
        with pytest.raises(InvalidInput, match="开始日期|起始|晚于"):
            svc.list_meetings(s, ADMIN, date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 9, 1))
    assert [(m.org_code, m.kind) for m in autumn] == [("GA", "党小组会"), ("BA", "党员大会")]
    assert [m.org_code for m in everything] == ["GA", "BC", "BA", "BA"]
    assert [m.kind for m in of_ba] == ["党员大会", "党课"]
    assert own_schedule == {"BA", "GA"} and choices == ["BA", "GA"]
