"""The incident loop on hand-made cases: every path, the timeline, deadlines in working days across a weekend
and a holiday, escalation by hand and by deadline, refusals that change nothing, and two people at once."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, Forbidden, InvalidInput
from gridgov.incidents import cases
from gridgov.incidents.cases import NewCase, Rules, Step
from gridgov.incidents.photos import Photo
from gridgov.incidents.sweep import escalate_overdue
from gridgov.workdays import load_calendar

from tests.factories import X0, Y0, make_street

TZ = ZoneInfo("Asia/Shanghai")
# A point in compound 610103006001001 (the west half of community …001).
LON, LAT = X0 + 0.002, Y0 + 0.005


def at(day: str, clock: str = "09:00") -> dt.datetime:
    """A local moment."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=TZ)


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    """The factory street with a 网格员 (S1) and a 网格警员 (S2) on compound …001001, and a 社区 staff (S3)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '王网格', '13800000001'), "
                       "('S2', '李警员', '13800000002'), ('S3', '赵社区', '13800000003')"))
        s.execute(text("""INSERT INTO grid_role (grid_id, staff_id, role, since)
                          SELECT g.id, st.id, r.role, DATE '2020-01-01'
                            FROM (VALUES ('610103006001001', 'S1', '网格员'), ('610103006001001', 'S2', '网格警员'),
                                         ('610103006001', 'S3', '网格长')) AS r(grid, staff, role)
                            JOIN grid g ON g.code = r.grid AND g.valid_to IS NULL
                            JOIN staff st ON st.code = r.staff"""))
    yield clean_engine


def _rules(s: Session) -> Rules:
    return Rules(load_calendar(s, "Asia/Shanghai"))


def _actor(s: Session, name: str, role: str, scope: str | None, staff: str | None = None, uid: int = 0) -> Actor:
    gid = s.scalar(text("SELECT id FROM grid WHERE code = :c AND valid_to IS NULL"), {"c": scope}) if scope else None
    sid = s.scalar(text("SELECT id FROM staff WHERE code = :c"), {"c": staff}) if staff else None
    return Actor(name=f"user:{name}", role=role, scope_grid_id=gid, scope_code=scope, staff_id=sid,
                 user_id=uid or None)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _report(s: Session, when: dt.datetime, category: str = "市容环境/暴露垃圾", **kw: object) -> int:
    worker = _actor(s, "w", "grid", "610103006001001", "S1")
    return cases.report(s, worker, NewCase(LON, LAT, category, "楼下垃圾桶满溢", **kw), _rules(s),  # type: ignore[arg-type]
                        now=when)


def _timeline(s: Session, case_id: int) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in s.execute(text("SELECT action, to_status, to_level FROM incident_event "
                                             "WHERE incident_id = :i ORDER BY at, id"), {"i": case_id})]


def test_a_case_runs_the_whole_loop_with_deadlines_in_working_days(street: Engine) -> None:
    with Session(street) as s, s.begin():
        rules = _rules(s)
        # Friday 2026-11-06 16:30: 受理 (0.5 working day = 4.5 h) runs 1 h on Friday and 3.5 h on Monday.
        cid = _report(s, at("2026-11-06", "16:30"), photos=[Photo("before.png", _png())])
        row = s.execute(text("SELECT code, status, level, deadline, grid_id FROM incident WHERE id = :i"),
                        {"i": cid}).one()
        assert row.status == "上报" and row.level == "网格"
        assert row.code == "E202611060001"
        assert row.deadline.astimezone(TZ) == at("2026-11-09", "12:00")
        community = _actor(s, "c", "community", "610103006001", "S3", uid=0)
        cases.act(s, community, cid, Step("accept"), rules, now=at("2026-11-09", "09:00"))
        # dispatch by default: the 市容环境 rule names 环境管理员, nobody holds it here: the 网格员 S1
        cases.act(s, community, cid, Step("dispatch"), rules, now=at("2026-11-09", "10:00"))
        assert s.scalar(text("SELECT s.code FROM incident i JOIN staff s ON s.id = i.assignee_staff_id "
                             "WHERE i.id = :i"), {"i": cid}) == "S1"
        # 处置 一般: 3 working days from Monday 10:00 → Thursday 10:00
        assert s.scalar(text("SELECT deadline FROM incident WHERE id = :i"), {"i": cid}).astimezone(TZ) == \
            at("2026-11-12", "10:00")
        worker = _actor(s, "w", "grid", "610103006001001", "S1", uid=0)
        cases.act(s, worker, cid, Step("handle", note="已清运", photos=[Photo("after.png", _png())]), rules,
                  now=at("2026-11-10", "15:00"))
        cases.act(s, community, cid, Step("verify"), rules, now=at("2026-11-11", "09:00"))
        cases.act(s, community, cid, Step("close"), rules, now=at("2026-11-11", "09:30"))
        row = s.execute(text("SELECT status, closed_at, deadline, version FROM incident WHERE id = :i"),
                        {"i": cid}).one()
        assert row.status == "结案" and row.closed_at.astimezone(TZ) == at("2026-11-11", "09:30")
        assert row.deadline is None and row.version == 6
        assert _timeline(s, cid) == [("上报", "上报", "网格"), ("立案", "立案", "网格"), ("派遣", "派遣", "网格"),
                                     ("处置", "处置", "网格"), ("核查通过", "核查", "网格"), ("结案", "结案", "网格")]
        assert s.scalar(text("SELECT count(*) FROM incident_photo WHERE incident_id = :i"), {"i": cid}) == 2
        detail = cases.case_detail(s, community, cid, rules, now=at("2026-11-11", "10:00"))
        assert [a.action for a in detail.actions] == ["reopen", "visit"]
        assert detail.case["reporter_name"] is None and detail.case["description"] == "楼下垃圾桶满溢"


def test_deadlines_skip_a_public_holiday_and_count_a_make_up_day(street: Engine) -> None:
    with Session(street) as s:
        cal = _rules(s).calendar
    # 2026-09-25 (Fri) – 27 (Sun) is 中秋节; 2026-09-30 Wednesday; 国庆 10-01..07; 10-10 (Sat) is worked.
    assert cal.add(at("2026-09-24", "17:00"), 1) == at("2026-09-28", "17:00")
    assert cal.add(at("2026-09-30", "09:00"), 1) == at("2026-10-08", "09:00")
    assert cal.add(at("2026-10-09", "17:00"), 0.5) == at("2026-10-10", "12:30")
    assert cal.between(at("2026-09-24", "08:30"), at("2026-09-28", "17:30")) == 2.0
    assert cal.working_days(dt.date(2026, 10, 1), dt.date(2026, 10, 11)) == 3  # 10-08, 10-09, 10-10


def test_return_rework_hang_reopen_and_visit(street: Engine) -> None:
    with Session(street) as s, s.begin():
        rules = _rules(s)
        cid = _report(s, at("2026-11-02"), category="治安隐患")
        street_staff = _actor(s, "st", "street", "610103006", uid=0)
        worker = _actor(s, "w", "grid", "610103006001001", "S1")
        community = _actor(s, "c", "community", "610103006001", "S3")
        cases.act(s, community, cid, Step("accept"), rules, now=at("2026-11-02", "10:00"))
        cases.act(s, community, cid, Step("dispatch"), rules, now=at("2026-11-02", "10:05"))
        # 治安隐患 goes to the 网格警员
        assert s.scalar(text("SELECT s.code FROM incident i JOIN staff s ON s.id = i.assignee_staff_id "
                             "WHERE i.id = :i"), {"i": cid}) == "S2"
        cases.act(s, community, cid, Step("return", note="派错了"), rules, now=at("2026-11-02", "10:10"))
        cases.act(s, community, cid, Step("dispatch", to_staff="S1"), rules, now=at("2026-11-02", "10:15"))
        cases.act(s, worker, cid, Step("handle", note="已劝离"), rules, now=at("2026-11-03"))
        cases.act(s, community, cid, Step("rework", note="仍有人员聚集"), rules, now=at("2026-11-03", "14:00"))
        cases.act(s, community, cid, Step("hang", note="需派出所配合", review_on=dt.date(2026, 11, 20)), rules,
                  now=at("2026-11-04"))
        assert s.scalar(text("SELECT deadline FROM incident WHERE id = :i"), {"i": cid}) is None
        cases.act(s, community, cid, Step("resume"), rules, now=at("2026-11-20"))
        cases.act(s, community, cid, Step("dispatch", to_staff="S1"), rules, now=at("2026-11-20", "09:10"))
        cases.act(s, worker, cid, Step("handle", note="已处理"), rules, now=at("2026-11-20", "11:00"))
        cases.act(s, street_staff, cid, Step("verify"), rules, now=at("2026-11-20", "14:00"))
        cases.act(s, street_staff, cid, Step("close"), rules, now=at("2026-11-20", "15:00"))
        cases.act(s, street_staff, cid, Step("visit", note="居民满意"), rules, now=at("2026-11-23"))
        cases.act(s, street_staff, cid, Step("reopen", note="再次出现"), rules, now=at("2026-11-24"))
        assert s.scalar(text("SELECT closed_at FROM incident WHERE id = :i"), {"i": cid}) is None
        assert [a for a, _, _ in _timeline(s, cid)] == [
            "上报", "立案", "派遣", "退回", "派遣", "处置", "返工", "挂账", "解除挂账", "派遣", "处置", "核查通过",
            "结案", "回访", "重新打开"]


def test_escalation_by_hand_and_by_deadline(street: Engine) -> None:
    with Session(street) as s, s.begin():
        rules = _rules(s)
        worker = _actor(s, "w", "grid", "610103006001001", "S1")
        community = _actor(s, "c", "community", "610103006001", "S3")
        by_hand = _report(s, at("2026-11-02"))
        cases.act(s, worker, by_hand, Step("accept"), rules, now=at("2026-11-02", "09:30"))
        cases.act(s, worker, by_hand, Step("escalate", note="需社区协调"), rules, now=at("2026-11-02", "10:00"))
        assert s.execute(text("SELECT status, level FROM incident WHERE id = :i"), {"i": by_hand}).one() == \
            ("立案", "社区")
        # the grid worker no longer handles it; the community does
        with pytest.raises(Forbidden, match="社区层级"):
            cases.act(s, worker, by_hand, Step("dispatch"), rules, now=at("2026-11-02", "10:30"))
        cases.act(s, community, by_hand, Step("dispatch", to_staff="S1"), rules, now=at("2026-11-02", "11:00"))
        # dispatched to S1: as the assignee the grid worker handles it although it is a 社区 case
        cases.act(s, worker, by_hand, Step("handle", note="已协调"), rules, now=at("2026-11-03"))

        late = _report(s, at("2026-11-02", "09:00"))  # 受理 due 13:30 the same day
        result = escalate_overdue(s, rules.calendar, now=at("2026-11-04", "09:00"))
        row = s.execute(text("SELECT status, level, deadline FROM incident WHERE id = :i"), {"i": late}).one()
        # 13:30 → 社区 with a new 0.5 day to 受理 (due 2026-11-03 09:00) → overdue again → 街道
        assert (row.status, row.level) == ("上报", "街道") and result.escalated == {"社区": 1, "街道": 1}
        assert [(a, lvl) for a, _, lvl in _timeline(s, late)] == [("上报", "网格"), ("超期上报", "社区"),
                                                                   ("超期上报", "街道")]
        ats = list(s.scalars(text("SELECT at FROM incident_event WHERE incident_id = :i ORDER BY at"), {"i": late}))
        assert [a.astimezone(TZ) for a in ats[1:]] == [at("2026-11-02", "13:30"), at("2026-11-03", "09:00")]
        assert escalate_overdue(s, rules.calendar, now=at("2026-11-04", "09:00")).total == 0


def test_refusals_change_nothing(street: Engine) -> None:
    with Session(street) as s, s.begin():
        rules = _rules(s)
        cid = _report(s, at("2026-11-02"))
        worker = _actor(s, "w", "grid", "610103006001001", "S1", uid=0)
        other = _actor(s, "o", "grid", "610103006002001", None)
        viewer = _actor(s, "v", "viewer", None)
        before = s.execute(text("SELECT status, version FROM incident WHERE id = :i"), {"i": cid}).one()
        with pytest.raises(Conflict, match="不能「结案」"):
            cases.act(s, worker, cid, Step("close"), rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(InvalidInput, match="说明"):
            cases.act(s, worker, cid, Step("reject"), rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(Forbidden, match="超出权限范围"):
            cases.act(s, other, cid, Step("accept"), rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(Forbidden, match="权限不足"):
            cases.act(s, viewer, cid, Step("accept"), rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(InvalidInput, match="未知的操作"):
            cases.act(s, worker, cid, Step("delete"), rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(InvalidInput, match="不是可读的图片"):
            _report(s, at("2026-11-02"), photos=[Photo("x.jpg", b"not an image")])
        with pytest.raises(InvalidInput, match="不在任何网格内|不可信"):
            cases.report(s, worker, NewCase(X0 - 0.05, Y0, "市容环境", "x"), rules, now=at("2026-11-02"))
        assert s.execute(text("SELECT status, version FROM incident WHERE id = :i"), {"i": cid}).one() == before
        assert len(_timeline(s, cid)) == 1


def test_two_people_at_once_one_wins(street: Engine) -> None:
    with Session(street) as s, s.begin():
        cid = _report(s, at("2026-11-02"))
    with Session(street) as a, Session(street) as b:
        rules = _rules(a)
        worker_a = _actor(a, "a", "grid", "610103006001001", "S1")
        worker_b = _actor(b, "b", "community", "610103006001", "S3")
        cases.act(a, worker_a, cid, Step("accept", version=1), rules, now=at("2026-11-02", "10:00"))
        a.commit()
        with pytest.raises(Conflict, match="已被他人处理"):
            cases.act(b, worker_b, cid, Step("reject", note="重复", version=1), rules, now=at("2026-11-02", "10:00"))
        b.rollback()
        with pytest.raises(Conflict, match="不能「受理立案」"):
            cases.act(b, worker_b, cid, Step("accept"), rules, now=at("2026-11-02", "10:01"))
    with Session(street) as s:
        assert s.execute(text("SELECT status, version FROM incident WHERE id = :i"), {"i": cid}).one() == ("立案", 2)


def test_the_handler_does_not_verify_their_own_work(street: Engine) -> None:
    with Session(street) as s, s.begin():
        s.execute(text("INSERT INTO app_user (id, username, password_hash, role) VALUES (901, 'w1', 'x', 'grid')"))
        rules = _rules(s)
        cid = _report(s, at("2026-11-02"))
        worker = _actor(s, "w1", "grid", "610103006001001", "S1", uid=901)
        for step in (Step("accept"), Step("dispatch"), Step("handle", note="好了")):
            cases.act(s, worker, cid, step, rules, now=at("2026-11-02", "10:00"))
        with pytest.raises(Forbidden, match="处置人以外"):
            cases.act(s, worker, cid, Step("verify"), rules, now=at("2026-11-02", "11:00"))
        assert "verify" not in [t.action for t in cases.case_detail(s, worker, cid, rules).actions]
