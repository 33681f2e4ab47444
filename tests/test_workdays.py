"""The working-day calendar as the administrator keeps it: marking and clearing days, a year's list imported in
one go (a bad row refuses the whole file, naming its row), and deadlines that follow the edited calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Forbidden, InvalidInput, NotFound
from gridgov.workdays import (
    HOLIDAY,
    MAKEUP,
    calendar_days,
    calendar_years,
    clear_days,
    date_span,
    import_days,
    load_calendar,
    missing_holidays,
    parse_day,
    set_days,
)

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = Actor.system("tests")
COMMUNITY = Actor(name="user:c", role="community", scope_grid_id=None, scope_code=None)
D = dt.date.fromisoformat
LIST_2027 = ("日期,至,类型,名称\n"
             "2027-01-01,2027-01-03,休,元旦\n"
             "\n"
             "2027/2/6,2027/2/14,放假,春节\n"
             "2027年1月31日,,上班,春节\n"
             "2027-02-20,,班,春节\n")  # fmt: skip


def at(day: str, clock: str = "09:00") -> dt.datetime:
    """A local moment."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ)


def rows(engine: Engine, year: int) -> list[tuple[Any, ...]]:
    """The calendar's rows of a year: (day, kind, name, updated_by)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT day, kind, name, updated_by FROM work_calendar WHERE extract(year FROM day) = :y ORDER BY day"),
            {"y": year})]  # fmt: skip


def write(tmp_path: Path, name: str, body: str, encoding: str = "utf-8") -> Path:
    """A file of ``body``."""
    path = tmp_path / name
    path.write_text(body, encoding=encoding)
    return path


def test_set_and_clear_days_change_the_rows(clean_engine: Engine) -> None:
    with Session(clean_engine) as s, s.begin():
        assert set_days(s, ADMIN, date_span(D("2027-01-01"), D("2027-01-03")), "休", " 元旦 ") == 3
        assert set_days(s, ADMIN, [D("2027-01-09")], "补班", "元旦") == 1  # a synonym of 班
    assert rows(clean_engine, 2027) == [(D("2027-01-01"), HOLIDAY, "元旦", "tests"),
                                        (D("2027-01-02"), HOLIDAY, "元旦", "tests"),
                                        (D("2027-01-03"), HOLIDAY, "元旦", "tests"),
                                        (D("2027-01-09"), MAKEUP, "元旦", "tests")]  # fmt: skip
    with Session(clean_engine) as s, s.begin():
        set_days(s, ADMIN, [D("2027-01-03")], "班", None)  # replaces what the day was
        assert clear_days(s, ADMIN, date_span(D("2027-01-01"), D("2027-01-02"))) == 2
    assert rows(clean_engine, 2027) == [(D("2027-01-03"), MAKEUP, None, "tests"),
                                        (D("2027-01-09"), MAKEUP, "元旦", "tests")]  # fmt: skip


def test_refusals_change_nothing(clean_engine: Engine) -> None:
    before = rows(clean_engine, 2026)
    with Session(clean_engine) as s, s.begin():
        with pytest.raises(InvalidInput, match=r"调休上班日应为周六或周日，2027-01-04（星期一） 本来就是工作日"):
            set_days(s, ADMIN, [D("2027-01-04")], "班", None)
        with pytest.raises(InvalidInput, match="类型应为 休"):
            set_days(s, ADMIN, [D("2027-01-04")], "周末", None)
        with pytest.raises(Forbidden, match="权限不足"):
            set_days(s, COMMUNITY, [D("2026-12-31")], "休", "跨年")
        with pytest.raises(Forbidden, match="权限不足"):
            clear_days(s, COMMUNITY, [D("2026-10-01")])
        with pytest.raises(NotFound, match="日历中没有这些日期：2026-11-30"):
            clear_days(s, ADMIN, [D("2026-11-30")])
        with pytest.raises(InvalidInput, match="不超过一年"):
            date_span(D("2027-01-01"), D("2028-06-01"))
    assert rows(clean_engine, 2026) == before and rows(clean_engine, 2027) == []


def test_a_years_list_imports_in_one_go(clean_engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "2027年节假日.csv", LIST_2027, "gb18030")  # as Excel on a Chinese desktop saves it
    with Session(clean_engine) as s, s.begin():
        done = import_days(s, ADMIN, path)
    assert (done.holidays, done.makeup, done.years, done.removed) == (12, 2, (2027,), 0)
    got = rows(clean_engine, 2027)
    assert [(d.isoformat(), k, n) for d, k, n, _ in got[:4]] == [
        ("2027-01-01", "休", "元旦"), ("2027-01-02", "休", "元旦"), ("2027-01-03", "休", "元旦"),
        ("2027-01-31", "班", "春节")]  # fmt: skip
    assert [d for d, k, _, _ in got if k == MAKEUP] == [D("2027-01-31"), D("2027-02-20")]
    assert len(got) == 14 and {by for *_, by in got} == {"tests"}
    with Session(clean_engine) as s:
        assert calendar_years(s)[2027].holidays == 12 and missing_holidays(s, D("2026-11-30")) == []


def test_an_xlsx_with_date_cells_replaces_its_year(clean_engine: Engine, tmp_path: Path) -> None:
    with Session(clean_engine) as s, s.begin():
        set_days(s, ADMIN, [D("2027-05-03")], "休", "估计的劳动节")  # entered before the list came out
        set_days(s, ADMIN, [D("2026-12-31")], "休", "本街道自定")  # another year: kept
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["日期", "至", "类型", "名称"])
    sheet.append([dt.datetime(2027, 1, 1), dt.datetime(2027, 1, 3), "休", "元旦"])
    sheet.append([dt.datetime(2027, 5, 1), dt.datetime(2027, 5, 5), "休", "劳动节"])
    path = tmp_path / "holidays.xlsx"
    book.save(path)
    with Session(clean_engine) as s, s.begin():
        done = import_days(s, ADMIN, path, replace_year=2027)
    assert (done.holidays, done.makeup, done.removed) == (8, 0, 0)  # 05-03 is in the file: updated, not removed
    assert [(d.isoformat(), n) for d, _, n, _ in rows(clean_engine, 2027)][3:] == [
        ("2027-05-01", "劳动节"), ("2027-05-02", "劳动节"), ("2027-05-03", "劳动节"), ("2027-05-04", "劳动节"),
        ("2027-05-05", "劳动节")]  # fmt: skip
    with Session(clean_engine) as s, s.begin():
        set_days(s, ADMIN, [D("2027-10-01")], "休", "旧的")
        again = import_days(s, ADMIN, path, replace_year=2027)
    assert again.removed == 1 and D("2027-10-01") not in [r[0] for r in rows(clean_engine, 2027)]
    assert rows(clean_engine, 2026)[-1][:3] == (D("2026-12-31"), "休", "本街道自定")


def test_a_bad_row_refuses_the_whole_file_with_its_row_number(clean_engine: Engine, tmp_path: Path) -> None:
    body = ("日期,至,类型,名称\n"
            "2027-01-01,2027-01-03,休,元旦\n"      # row 2: fine
            "2027-02-30,,休,春节\n"                # row 3: no such day
            "2027-02-06,2027-02-14,休,春节\n"      # row 4: fine
            "2027-02-08,,班,春节\n"                # row 5: a Monday cannot be a make-up day
            "2027-02-20,,加班,春节\n"              # row 6: unknown kind
            "2027-01-03,,休,元旦\n"                # row 7: already in row 2
            "2027-03-01,2027-02-01,休,倒序\n")     # row 8: the span ends before it starts  # fmt: skip
    path = write(tmp_path, "bad.csv", body)
    with Session(clean_engine) as s, s.begin(), pytest.raises(InvalidInput) as refused:
        import_days(s, ADMIN, path)
    message = refused.value.message
    assert message.startswith("bad.csv 有 5 处错误，整份未导入：第 3 行日期：日期不存在：2027-02-30")
    assert "第 5 行日期：调休上班日应为周六或周日，2027-02-08（星期一） 本来就是工作日" in message
    assert "第 6 行类型：类型应为 休（放假）或 班（调休上班），而不是：加班" in message
    assert "第 7 行日期：2027-01-03 已在第 2 行出现" in message and "第 8 行至：日期范围应从早到晚" in message
    assert [(e["row"], e["column"]) for e in refused.value.details] == [(3, "day"), (5, "day"), (6, "kind"),
                                                                         (7, "day"), (8, "last")]  # fmt: skip
    assert rows(clean_engine, 2027) == []
    with Session(clean_engine) as s, s.begin():
        with pytest.raises(InvalidInput, match="缺少必需列：类型"):
            import_days(s, ADMIN, write(tmp_path, "no_kind.csv", "日期,名称\n2027-01-01,元旦\n"))
        with pytest.raises(InvalidInput, match="没有 2028 年的日期"):
            import_days(s, ADMIN, write(tmp_path, "list.csv", LIST_2027), replace_year=2028)
        with pytest.raises(Forbidden, match="权限不足"):
            import_days(s, COMMUNITY, tmp_path / "missing.csv")  # refused before the file is even read
    assert rows(clean_engine, 2027) == []


def test_deadlines_follow_the_edited_calendar(clean_engine: Engine) -> None:
    # Friday 2026-11-06 16:30 + 0.5 working day: one hour on Friday, 3.5 on Monday.
    start = at("2026-11-06", "16:30")
    with Session(clean_engine) as s:
        assert load_calendar(s, "Asia/Shanghai").add(start, 0.5) == at("2026-11-09", "12:00")
    with Session(clean_engine) as s, s.begin():
        set_days(s, ADMIN, [D("2026-11-09")], "休", "本街道停电")
    with Session(clean_engine) as s:
        cal = load_calendar(s, "Asia/Shanghai")
        assert cal.add(start, 0.5) == at("2026-11-10", "12:00")
        assert cal.working_days(D("2026-11-02"), D("2026-11-15")) == 9
    with Session(clean_engine) as s, s.begin():
        set_days(s, ADMIN, [D("2026-11-07")], "班", "调休")  # Saturday worked
    with Session(clean_engine) as s:
        cal = load_calendar(s, "Asia/Shanghai", dt.time(9), dt.time(17))
        assert cal.add(start, 0.5) == at("2026-11-07", "12:30")  # 0.5 h Friday, 3.5 h Saturday from 09:00
        assert cal.working_days(D("2026-11-02"), D("2026-11-15")) == 10
    with Session(clean_engine) as s, s.begin():
        clear_days(s, ADMIN, date_span(D("2026-11-07"), D("2026-11-09")))
    with Session(clean_engine) as s:
        assert load_calendar(s, "Asia/Shanghai").add(start, 0.5) == at("2026-11-09", "12:00")


def test_years_without_holidays_are_named(clean_engine: Engine) -> None:
    with Session(clean_engine) as s:
        years = calendar_years(s)
        assert years[2026].holidays == 33 and years[2026].makeup == 6  # the State Council's list, seeded
        assert missing_holidays(s, D("2026-11-30")) == [2027]
        assert missing_holidays(s, D("2025-03-01")) == []
        assert [d.day for d in calendar_days(s, 2026)][:3] == [D("2026-01-01"), D("2026-01-02"), D("2026-01-03")]


@pytest.mark.parametrize(("written", "day"), [("2027-01-01", "2027-01-01"), ("2027/1/1", "2027-01-01"),
                                              ("2027.01.01", "2027-01-01"), ("2027年1月1日", "2027-01-01"),
                                              ("2027-02-06 00:00:00", "2027-02-06")])  # fmt: skip
def test_days_as_lists_write_them(written: str, day: str) -> None:
    assert parse_day(written) == D(day)
