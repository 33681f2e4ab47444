"""The incident settings pages (administrators): the working-day calendar's year view, marking, clearing and
importing days, the deadline trial; the time limits and dispatch rules; and linking users to their staff record
on the users page. Every other role gets the 403 page and writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.records.roles import add_role
from gridgov.records.service import create_record
from gridgov.workdays import clear_days, date_span

from tests.web.conftest import csrf_of, login

LIST_2027 = "日期,至,类型,名称\n2027-01-01,2027-01-03,休,元旦\n2027-02-06,2027-02-14,休,春节\n2027-02-20,,班,春节\n"


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def cell(html: str, day: str) -> str:
    """The month grid's cell of a day."""
    m = re.search(rf'<td class="([^"]*)"\s+data-day="{day}"[^>]*>(.*?)</td>', html, re.S)
    assert m, day
    return f"{m.group(1)}|{m.group(2)}"


def test_the_year_view_marks_holidays_make_up_days_and_weekends(web: TestClient, users: dict,
                                                                clean_engine: Engine) -> None:  # fmt: skip
    page = login(web, "admin").get("/admin/calendar?year=2026")
    assert page.status_code == 200 and "工作日历 · 2026 年" in page.text
    assert cell(page.text, "2026-10-01") == "cal-off|1<sup>休</sup>"
    assert cell(page.text, "2026-10-10") == "cal-work|10<sup>班</sup>"  # a Saturday worked
    assert cell(page.text, "2026-10-11") == "cal-weekend|11" and cell(page.text, "2026-10-12") == "|12"
    assert page.text.count('class="table table-sm table-bordered cal-month') == 12
    assert 'data-testid="holiday-count">33<' in page.text and 'data-testid="makeup-count">6<' in page.text
    assert "国庆节" in page.text and "08:30–17:30" in page.text


def test_a_missing_year_is_said_and_entering_it_clears_the_warning(web: TestClient, users: dict,
                                                                   clean_engine: Engine) -> None:  # fmt: skip
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    following = today.year + 1
    with session_scope(clean_engine) as s:
        if rows(clean_engine, "SELECT 1 FROM work_calendar WHERE extract(year FROM day) = :y", y=following):
            clear_days(s, Actor.system("tests"), date_span(dt.date(following, 1, 1), dt.date(following, 12, 31)))
    login(web, "admin")
    page = web.get("/admin/calendar")
    assert f"{following} 年的法定节假日尚未录入" in page.text and f'data-testid="missing-{following}"' in page.text
    token = csrf_of(page.text)
    first = dt.date(following, 1, 1)
    done = web.post("/admin/calendar/days", data={"csrftoken": token, "first": first.isoformat(), "kind": "休",
                                                  "name": "元旦"})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith(f"/admin/calendar?year={following}&done=")
    shown = web.get(done.headers["location"])
    assert f"已将 {first.isoformat()}（1 天）标为「休」：元旦" in shown.text
    assert f"{following} 年的法定节假日尚未录入" not in shown.text


def test_admin_marks_clears_and_imports_days(web: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web, "admin")
    token = csrf_of(web.get("/admin/calendar?year=2027").text)
    marked = web.post("/admin/calendar/days", data={"csrftoken": token, "first": "2027-05-01", "last": "2027-05-05",
                                                    "kind": "休", "name": "劳动节"})  # fmt: skip
    assert marked.status_code == 303
    assert rows(clean_engine, "SELECT day::text, kind, name, updated_by FROM work_calendar WHERE day >= '2027-01-01'"
                ) == [(f"2027-05-0{i}", "休", "劳动节", "user:admin") for i in range(1, 6)]  # fmt: skip
    page = web.get(marked.headers["location"])
    assert cell(page.text, "2027-05-03") == "cal-off|3<sup>休</sup>" and 'data-span="2027-05-01"' in page.text
    refused = web.post("/admin/calendar/days", data={"csrftoken": token, "first": "2027-05-06", "kind": "班"})
    assert refused.status_code == 422 and "未保存：调休上班日应为周六或周日" in refused.text
    assert 'value="2027-05-06"' in refused.text  # what was typed comes back
    cleared = web.post("/admin/calendar/clear", data={"csrftoken": token, "first": "2027-05-04", "last": "2027-05-05"})
    assert cleared.status_code == 303 and "已恢复 2 天为平常日" in web.get(cleared.headers["location"]).text
    assert len(rows(clean_engine, "SELECT * FROM work_calendar WHERE day >= '2027-01-01'")) == 3

    bad = web.post("/admin/calendar/import", data={"csrftoken": token, "replace": "true", "replace_year": "2027"},
                   files={"file": ("2027.csv", (LIST_2027 + "2027-02-22,,班,春节\n").encode())})  # fmt: skip
    assert bad.status_code == 422
    assert "未导入：2027.csv 有 1 处错误，整份未导入：第 5 行日期：调休上班日应为周六或周日，2027-02-22（星期一）" \
        in bad.text
    assert len(rows(clean_engine, "SELECT * FROM work_calendar WHERE day >= '2027-01-01'")) == 3
    ok = web.post("/admin/calendar/import", data={"csrftoken": token, "replace": "true", "replace_year": "2027"},
                  files={"file": ("2027.csv", LIST_2027.encode())})  # fmt: skip
    assert ok.status_code == 303
    assert "已导入 2027 年：休 12 天，班 1 天，删除原有 3 天" in web.get(ok.headers["location"]).text
    assert rows(clean_engine, "SELECT count(*) FILTER (WHERE kind = '休'), count(*) FILTER (WHERE kind = '班'), "
                              "count(*) FILTER (WHERE name = '劳动节') FROM work_calendar "
                              "WHERE day >= '2027-01-01'") == [(12, 1, 0)]  # fmt: skip


def test_the_deadline_trial(web: TestClient, users: dict) -> None:
    login(web, "admin")
    page = web.get("/admin/calendar?year=2026&start=2026-09-30T09:00&add=1&date_from=2026-10-01&date_to=2026-10-11")
    assert "自 2026-09-30 09:00 起 1 个工作日：2026-10-08（星期四） 09:00 到期" in page.text
    assert "2026-10-01（星期四） 至 2026-10-11（星期日）：3 个工作日" in page.text
    bad = web.get("/admin/calendar?start=2026-09-30T09:00&add=abc")
    assert bad.status_code == 200 and "工作日数应为数字：abc" in bad.text


def test_admin_edits_limits_and_dispatch_rules(web: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web, "admin")
    page = web.get("/admin/incident-rules")
    assert page.status_code == 200 and "工作时间 08:30–17:30，共 9 小时（0.5 个工作日 = 4.5 小时）" in page.text
    grid = page.text[page.text.index('data-testid="effective-limits"'):]
    row = grid[grid.index('<tr data-category="矛盾纠纷">'):]
    assert '<td class="limit-own" data-step="处置">一般 5 · 紧急 1</td>' in row[: row.index("</tr>")]
    token = csrf_of(page.text)
    added = web.post("/admin/incident-rules/limits", data={"csrftoken": token, "step": "处置", "working_days": "2",
                                                           "category": "街面秩序", "urgency": ""})  # fmt: skip
    assert added.status_code == 303 and added.headers["location"].endswith("#limits")
    assert "已设置时限：街面秩序·处置·不限紧急程度 2 个工作日" in web.get(added.headers["location"]).text
    assert rows(clean_engine, "SELECT working_days, updated_by FROM incident_time_limit WHERE category = '街面秩序'"
                ) == [(2, "user:admin")]  # fmt: skip
    page = web.get("/admin/incident-rules")
    row = page.text[page.text.index('<tr data-category="街面秩序">'):]
    assert '<td class="limit-own" data-step="处置">2</td>' in row[: row.index("</tr>")]
    refused = web.post("/admin/incident-rules/limits", data={"csrftoken": token, "step": "处置",
                                                             "working_days": "三天"})  # fmt: skip
    assert refused.status_code == 422 and "未保存：时限应为工作日数" in refused.text
    removed = web.post("/admin/incident-rules/limits/remove", data={"csrftoken": token, "step": "处置",
                                                                    "category": "街面秩序", "urgency": ""})  # fmt: skip
    assert removed.status_code == 303
    assert rows(clean_engine, "SELECT * FROM incident_time_limit WHERE category = '街面秩序'") == []

    rule = web.post("/admin/incident-rules/dispatch", data={"csrftoken": token, "category": "治安隐患",
                                                            "staff_role": "协管员"})  # fmt: skip
    assert rule.status_code == 303 and "治安隐患 类事件默认派给：协管员" in web.get(rule.headers["location"]).text
    back = web.post("/admin/incident-rules/dispatch", data={"csrftoken": token, "category": "市容环境",
                                                            "staff_role": ""})  # fmt: skip
    assert back.status_code == 303
    assert dict(rows(clean_engine, "SELECT category, staff_role FROM incident_dispatch_rule")) == {
        "治安隐患": "协管员", "消防安全": "网格消防员", "矛盾纠纷": "调解员"}  # fmt: skip
    page = web.get("/admin/incident-rules")
    row = page.text[page.text.index('<tr data-category="治安隐患">', page.text.index('data-testid="dispatch-rules"')):]
    assert '<option value="协管员" selected>' in row[: row.index("</tr>")]


def test_other_roles_are_refused(web: TestClient, users: dict, clean_engine: Engine) -> None:
    before = rows(clean_engine, "SELECT count(*) FROM work_calendar") + rows(
        clean_engine, "SELECT sum(working_days) FROM incident_time_limit")
    posts = {"/admin/calendar/days": {"first": "2027-01-01", "kind": "休"},
             "/admin/calendar/clear": {"first": "2026-10-01"},
             "/admin/incident-rules/limits": {"step": "处置", "working_days": "9"},
             "/admin/incident-rules/limits/remove": {"step": "受理"},
             "/admin/incident-rules/dispatch": {"category": "治安隐患", "staff_role": "网格员"},
             "/users/comm1/staff": {"staff": ""}}  # fmt: skip
    for name in ("street", "comm1", "grid1", "patrol1", "viewer"):
        client = TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False)
        login(client, name)
        for url in ("/admin/calendar", "/admin/incident-rules"):
            page = client.get(url)
            assert page.status_code == 403 and "没有权限" in page.text and "系统管理员" in page.text, (name, url)
        token = client.cookies.get("csrftoken")
        for url, data in posts.items():
            assert client.post(url, data={"csrftoken": token, **data}).status_code == 403, (name, url)
        upload = client.post("/admin/calendar/import", data={"csrftoken": token},
                             files={"file": ("l.csv", LIST_2027.encode())})  # fmt: skip
        assert upload.status_code == 403, name
    after = rows(clean_engine, "SELECT count(*) FROM work_calendar") + rows(
        clean_engine, "SELECT sum(working_days) FROM incident_time_limit")
    assert after == before


def test_users_are_linked_to_their_staff_record(web: TestClient, users: dict, clean_engine: Engine) -> None:
    op = Actor.system("tests")
    with session_scope(clean_engine) as s:
        for code, name in (("S1", "王网格"), ("S2", "李警员"), ("S9", "钱离职")):
            create_record(s, "staff", {"code": code, "name": name, "phone": "13800000001"}, op)
        add_role(s, op, grid_code="610103006001001", role="网格员", staff_code="S1")
    login(web, "admin")
    page = web.get("/users")
    assert '<option value="S1">王网格 · 网格员·第一网格</option>' in page.text
    token = csrf_of(page.text)
    added = web.post("/users", data={"csrftoken": token, "username": "wang", "display_name": "王网格",
                                     "role": "grid", "scope": "610103006001001", "password": "Gridwork2026",
                                     "staff": "S1"})  # fmt: skip
    assert added.status_code == 303
    linked = web.post("/users/grid1/staff", data={"csrftoken": token, "staff": "S2 李警员"})
    assert linked.status_code == 303 and "grid1 已关联工作人员 S2" in web.get(linked.headers["location"]).text
    assert dict(rows(clean_engine, "SELECT u.username, s.code FROM app_user u JOIN staff s ON s.id = u.staff_id")) == {
        "wang": "S1", "grid1": "S2"}  # fmt: skip
    page = web.get("/users")
    shown = page.text[page.text.index('data-testid="staff-of-grid1"'):]
    assert "李警员（S2）" in shown[: shown.index("</td>")]
    assert '<option value="S1">王网格 · 网格员·第一网格（已关联 wang）</option>' in page.text

    taken = web.post("/users/comm1/staff", data={"csrftoken": token, "staff": "S1"})
    assert taken.status_code == 422 and "工作人员 S1 已关联用户 wang" in taken.text
    missing = web.post("/users/comm1/staff", data={"csrftoken": token, "staff": "S404"})
    assert missing.status_code == 422 and "工作人员不存在或已离职：S404" in missing.text
    with session_scope(clean_engine) as s:
        s.execute(text("UPDATE staff SET valid_to = now(), end_reason = '离职' WHERE code = 'S9'"))
    retired = web.post("/users/comm1/staff", data={"csrftoken": token, "staff": "S9"})
    assert retired.status_code == 422 and "工作人员不存在或已离职：S9" in retired.text
    refused_add = web.post("/users", data={"csrftoken": token, "username": "li", "role": "viewer",
                                           "password": "Lisi2026pass", "staff": "S404"})  # fmt: skip
    assert refused_add.status_code == 422 and 'value="S404"' in refused_add.text
    assert rows(clean_engine, "SELECT count(*) FROM app_user WHERE username = 'li'") == [(0,)]

    unlinked = web.post("/users/wang/staff", data={"csrftoken": token, "staff": ""})
    assert unlinked.status_code == 303 and "wang 已解除与工作人员的关联" in web.get(unlinked.headers["location"]).text
    assert rows(clean_engine, "SELECT staff_id FROM app_user WHERE username = 'wang'") == [(None,)]
    assert rows(clean_engine, "SELECT action, new->>'staff' FROM audit_log WHERE table_name = 'app_user' "
                              "AND actor = 'user:admin' ORDER BY id") == [
        ("user_add", "S1"), ("user_staff", "S2"), ("user_staff", None)]  # fmt: skip
