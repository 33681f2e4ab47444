"""数据导入 pages: upload, dry-run report, confirm (at once or as a job), refusals, scope, roles, CSRF, templates."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from pathlib import Path
from urllib.parse import unquote

import gpxpy.gpx
import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.web.pages import imports as imports_page

from tests.browser import PageLog, assert_not_blank, chromium, open_page, serve
from tests.factories import X0, Y0
from tests.web.conftest import PASSWORD, csrf_of, login

IN_A = (X0 + 0.002, Y0 + 0.005)  # compound 610103006001001 (community …001)
IN_B = (X0 + 0.007, Y0 + 0.005)  # compound 610103006001002 (community …001)
IN_C = (X0 + 0.015, Y0 + 0.005)  # compound 610103006002001 (community …002)
HEADER = "编码,地址,户籍类型,经度,纬度\n"
ROW_1 = f"H1,文艺北路45号院1号楼101室,常住户,{IN_A[0]},{IN_A[1]}\n"
ROW_2 = f"H2,文艺北路47号院2号楼301室,出租,{IN_B[0]},{IN_B[1]}\n"
GOOD = HEADER + ROW_1 + ROW_2


def uploads(web: TestClient) -> Path:
    return Path(web.app.state.settings.home_abs) / "uploads"  # type: ignore[attr-defined]


def leftovers(web: TestClient) -> list[str]:
    """Upload folders still on the server."""
    root = uploads(web)
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def households(engine: Engine) -> dict[str, str | None]:
    """Household code → the code of the grid it was assigned to."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT h.code, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id"))
        return {code: grid for code, grid in rows.all()}


def check(web: TestClient, content: str | bytes, name: str = "住户.csv", entity: str = "households", **form: str):
    """Open the imports page and submit a file for checking (csrftoken first, as the page's form has it)."""
    page = web.get("/imports")
    assert page.status_code == 200, page.text[:300]
    data = {"csrftoken": csrf_of(page.text), "entity": entity, "crs": "", "team": ""} | form
    body = content.encode() if isinstance(content, str) else content
    return web.post("/imports/check", data=data, files={"file": (name, body, "application/octet-stream")})


def confirm_form(html: str) -> dict[str, str]:
    """The hidden fields of the report's 确认导入 form."""
    form = re.search(r'<form method="post" action="/imports/confirm".*?</form>', html, re.S)
    assert form, "没有确认导入按钮"
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_households_are_checked_then_imported_with_their_grids(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    page = web.get("/imports")
    assert 'value="households"' in page.text and 'value="tracks"' in page.text and "下载模板" in page.text
    assert page.text.index('name="csrftoken"') < page.text.index('name="file"')
    checked = check(web, GOOD.encode("gbk"), name="../../etc/住户 名单.csv")
    assert checked.status_code == 200, checked.text[:1000]
    html = checked.text
    assert "检查通过，尚未写入任何数据" in html and "将新增 2 户：2 条落入网格，0 条不在任何网格内" in html
    for cell in ("H1", "文艺北路45号院1号楼101室", "H2", "文艺北路47号院2号楼301室", "<td>2</td>", "<td>3</td>"):
        assert cell in html  # the rows as the import reads them, with their row numbers
    assert households(clean_engine) == {}  # a dry run writes nothing
    fields = confirm_form(html)
    assert list(fields)[0] == "csrftoken" and fields["entity"] == "households" and fields["crs"] == ""
    folder = uploads(web) / fields["token"]
    stored = sorted(p.name for p in folder.iterdir())
    assert stored == [".upload.json", "住户 名单.csv"]  # the client's folders are dropped
    assert json.loads((folder / ".upload.json").read_text(encoding="utf-8"))["owner"] == "user:comm1"

    done = web.post("/imports/confirm", data=fields)
    assert done.status_code == 200, done.text[:1000]
    assert "导入完成" in done.text and "已导入 2 户：2 条落入网格" in done.text and "确认导入" not in done.text
    assert households(clean_engine) == {"H1": "610103006001001", "H2": "610103006001002"}
    with clean_engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT code, kind FROM household")).all())
    assert kinds == {"H1": "常住户", "H2": "租房户"}
    assert leftovers(web) == []  # the file is removed once imported
    again = web.post("/imports/confirm", data=fields)
    assert again.status_code == 404 and "上传的文件已不存在" in again.text
    assert len(households(clean_engine)) == 2


def test_a_bad_row_is_listed_with_its_number_and_reason_and_cannot_be_confirmed(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    bad = GOOD + f"H3,文艺北路49号院,宿舍,{IN_A[0]},{IN_A[1]}\nH4,文艺北路51号院,常住户,abc,{IN_A[1]}\n"
    r = check(web, bad)
    assert r.status_code == 422
    assert "文件未导入，请修正后重新上传" in r.text and "发现 2 处错误" in r.text
    table = re.search(r'data-testid="errors".*?</table>', r.text, re.S)
    assert table is not None
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(0))
    assert [(row, col) for row, col, _ in cells] == [("4", "户籍类型"), ("5", "经纬度")]
    assert "取值应为 常住户 / 租房户 / 空房户 / 底商：宿舍" in cells[0][2] and "经纬度不是数值" in cells[1][2]
    assert "/imports/confirm" not in r.text and "确认导入" not in r.text
    assert households(clean_engine) == {} and leftovers(web) == []
    unreadable = check(web, "姓名,电话\n张三,1\n")  # no 编码 and no 户籍类型 column at all
    assert unreadable.status_code == 422 and "文件未导入，请修正后重新上传" in unreadable.text
    assert "缺少必需列：编码（code）、户籍类型（kind）" in unreadable.text and "/imports/confirm" not in unreadable.text
    assert leftovers(web) == []


def test_a_row_outside_the_community_is_forbidden_and_nothing_is_written(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    outside = GOOD + f"H3,文艺北路二社区某院,常住户,{IN_C[0]},{IN_C[1]}\n"
    r = check(web, outside)
    assert r.status_code == 403 and "超出权限范围" in r.text and "610103006001" in r.text
    assert households(clean_engine) == {} and leftovers(web) == []
    ok = check(web, GOOD)  # a check of a good file by comm1, confirmed by someone else
    fields = confirm_form(ok.text)
    other = login(TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False), "comm2")
    stolen = other.post("/imports/confirm", data=fields | {"csrftoken": csrf_of(other.get("/imports").text)})
    assert stolen.status_code == 403 and "不是您上传的" in stolen.text
    assert households(clean_engine) == {} and leftovers(web) == [fields["token"]]


def test_persons_check_shows_the_rows_and_logs_the_view(web: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web, "comm1")
    confirm = web.post("/imports/confirm", data=confirm_form(check(web, GOOD).text))
    assert confirm.status_code == 200 and len(households(clean_engine)) == 2
    persons = "人员编码,户编码,姓名,性别,电话\nP1,H1,张三,男,13800000000\nP2,H2,李四,女,13900000000\n"
    r = check(web, persons, name="人员.csv", entity="persons")
    assert r.status_code == 200 and "将新增 2 人" in r.text and "张三" in r.text and "13900000000" in r.text
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 0
        seen = conn.execute(text("SELECT actor, new FROM audit_log WHERE action = 'view' AND table_name = 'person'"))
        rows = seen.all()
    assert [(actor, new["page"], new["rows"]) for actor, new in rows] == [("user:comm1", "/imports/check", 2)]


def test_patrol_leaders_import_tracks_only(web: TestClient, users: dict, clean_engine: Engine) -> None:
    with clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO patrol_team (code, name) VALUES ('PT09', '测试巡逻队')"))
    login(web, "patrol1")
    page = web.get("/imports")
    assert page.status_code == 200
    options = re.findall(r'<option value="([^"]*)" data-accept', page.text)
    assert options == ["tracks"] and "巡逻轨迹（GPX）" in page.text and "下载模板" not in page.text
    refused = check(web, GOOD)
    assert refused.status_code == 403 and "权限不足" in refused.text
    assert households(clean_engine) == {} and leftovers(web) == []

    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack(name="2026-10-01 上半夜")
    segment = gpxpy.gpx.GPXTrackSegment()
    start = dt.datetime(2026, 10, 1, 12, 30, tzinfo=dt.UTC)  # 20:30 in Xi'an
    for i in range(20):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(IN_A[1], IN_A[0] - 0.001 + i * 0.0002,
                                                      time=start + dt.timedelta(seconds=15 * i)))  # fmt: skip
    track.segments.append(segment)
    gpx.tracks.append(track)
    no_team = check(web, gpx.to_xml(), name="轨迹.gpx", entity="tracks")
    assert no_team.status_code == 422 and "巡逻队编码" in no_team.text
    r = check(web, gpx.to_xml(), name="轨迹.gpx", entity="tracks", team="PT09")
    assert r.status_code == 200, r.text[:1000]
    assert "将新增 1 条巡逻轨迹（20 个点；上半夜 1 条）" in r.text and "2026-10-01 20:30" in r.text
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_track")).scalar_one() == 0
    fields = confirm_form(r.text)
    assert fields["team"] == "PT09"
    done = web.post("/imports/confirm", data=fields)
    assert done.status_code == 200 and "已导入 1 条巡逻轨迹" in done.text
    with clean_engine.connect() as conn:
        row = conn.execute(text("SELECT t.shift, t.night, k.code FROM patrol_track t "
                                "JOIN patrol_team k ON k.id = t.team_id")).one()  # fmt: skip
    assert tuple(row) == ("上半夜", dt.date(2026, 10, 1), "PT09")


def test_forms_need_the_csrf_token(web: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web, "comm1")
    web.get("/imports")
    files = {"file": ("住户.csv", GOOD.encode(), "text/csv")}
    r = web.post("/imports/check", data={"entity": "households", "crs": ""}, files=files)
    assert r.status_code == 403 and "表单已过期" in r.text
    forged = web.post("/imports/check", data={"csrftoken": "forged", "entity": "households"}, files=files)
    assert forged.status_code == 403
    fields = confirm_form(check(web, GOOD).text)
    del fields["csrftoken"]
    assert web.post("/imports/confirm", data=fields).status_code == 403
    assert households(clean_engine) == {}


def test_template_download_opens_with_chinese_headings(web: TestClient, users: dict) -> None:
    login(web, "viewer")
    r = web.get("/imports/template/households.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert unquote(r.headers["content-disposition"].split("filename*=UTF-8''")[1]) == "住户导入模板.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb.worksheets[0][1]] == ["编码", "地址", "楼栋编码", "户籍类型", "经度", "纬度"]
    assert "说明" in wb.sheetnames
    missing = web.get("/imports/template/pets.xlsx")
    assert missing.status_code == 404 and "没有此类导入模板" in missing.text
    assert web.get("/imports").status_code == 403  # viewers download templates but import nothing


def test_a_large_file_is_imported_as_a_background_job(
    web: TestClient, users: dict, clean_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_page, "DIRECT_MAX_ROWS", 1)  # two rows count as large here
    login(web, "comm1")
    fields = confirm_form(check(web, GOOD).text)
    r = web.post("/imports/confirm", data=fields)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[1]
    progress = web.get(f"/jobs/{job_id}")
    assert progress.status_code == 200 and "导入住户：住户.csv（2 行）" in progress.text
    deadline = time.monotonic() + 120  # the job runs in the app's thread pool
    while True:
        state = web.get(f"/api/jobs/{job_id}", headers={"Accept": "application/json"}).json()
        if state["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["message"] == "已导入 2 条住户（2 条落入网格，0 条不在任何网格内）"
    assert state["result"]["imported"] == 2 and state["result"]["written"] is True
    assert households(clean_engine) == {"H1": "610103006001001", "H2": "610103006001002"}
    assert leftovers(web) == []


def test_the_import_flow_in_chromium_at_office_size(users: dict, clean_engine: Engine, settings_for: Settings) -> None:
    with serve(create_app(settings_for, clean_engine)) as url, chromium() as browser:
        log = PageLog()
        page = open_page(browser, f"{url}/imports", log, viewport=(1366, 768))
        page.fill("#username", "comm1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/imports")
        assert page.locator("[data-team]").is_hidden()  # the team code is for tracks only
        page.select_option("#entity", "tracks")
        assert page.locator("[data-team]").is_visible() and page.get_attribute("#file", "accept") == ".gpx,.csv"
        assert page.locator("[data-field-map]").is_hidden()  # a GPX file has no columns
        assert page.locator("[data-mode]").is_hidden()  # nor modes
        page.select_option("#entity", "households")
        assert page.locator("[data-field-map]").is_visible()
        assert page.locator("[data-scope]").is_hidden() and page.locator("[data-effective]").is_visible()
        page.select_option("#mode", "sync")
        assert page.locator("[data-scope]").is_visible() and page.input_value("#scope") == "610103006001"
        page.select_option("#entity", "incidents")  # incidents have no history: insert only
        assert page.input_value("#mode") == "insert" and page.locator("[data-scope]").is_hidden()
        page.select_option("#entity", "households")
        assert page.locator("[data-targets=households]").is_visible()
        assert page.locator("[data-targets=persons]").is_hidden()
        page.set_input_files("#file", files=[{"name": "住户.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}])
        page.click("[data-submit]")
        page.wait_for_url(f"{url}/imports/check")
        assert "将新增 2 户" in page.inner_text("[data-testid=summary]")
        assert page.locator("[data-testid=preview] tbody tr").count() == 2
        assert_not_blank(page.screenshot(full_page=True))
        assert households(clean_engine) == {}
        page.click("[data-confirm-import] button")
        page.wait_for_url(f"{url}/imports/confirm")
        assert "导入完成" in page.inner_text("[data-testid=summary]")
        log.assert_clean()
    assert households(clean_engine) == {"H1": "610103006001001", "H2": "610103006001002"}


def test_a_column_mapping_is_checked_kept_and_used_by_the_confirmation(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    page = web.get("/imports")
    assert "列名对应" in page.text and 'name="field_map"' in page.text
    assert page.text.index('name="csrftoken"') < page.text.index('name="field_map"')
    assert "<code>building_code</code>（楼栋编码）" in page.text  # the targets the households import takes
    odd = GOOD.replace("编码,地址,户籍类型", "档案号,门牌,类别")
    refused = check(web, odd)
    assert refused.status_code == 422 and "缺少必需列：编码（code）、户籍类型（kind）" in refused.text
    unknown = check(web, odd, field_map="档案号=户编号")
    assert unknown.status_code == 422 and "没有目标列 户编号" in unknown.text and "building_code" in unknown.text
    assert leftovers(web) == []
    r = check(web, odd, field_map="档案号=code\r\n门牌=address\r\n\r\n类别=kind\r\n")
    assert r.status_code == 200, r.text[:1000]
    assert "列名对应 档案号→编码，门牌→地址，类别→户籍类型" in r.text and "将新增 2 户" in r.text
    assert "文艺北路47号院2号楼301室" in r.text  # the preview reads the mapped columns
    fields = confirm_form(r.text)
    assert "field_map" not in fields  # kept on the server with the file, not sent back by the browser
    done = web.post("/imports/confirm", data=fields)
    assert done.status_code == 200 and "已导入 2 户" in done.text
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT code, address, kind FROM household ORDER BY code")).tuples().all()
    assert rows == [("H1", "文艺北路45号院1号楼101室", "常住户"), ("H2", "文艺北路47号院2号楼301室", "租房户")]


def test_a_large_bad_file_lists_100_errors_then_counts_them(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    rows = "".join(f"H{i},某院,{'宿舍' if i < 50 else '常住户'},{IN_A[1]},{IN_A[0]}\n" for i in range(250))
    r = check(web, HEADER + rows)
    assert r.status_code == 422 and "发现 300 处错误" in r.text
    table = re.search(r'data-testid="errors".*?</table>', r.text, re.S)
    assert table is not None and len(re.findall(r"<tr><td>\d+</td>", table.group(0))) == 100
    assert "前 100 处逐条列出，其余 200 处见下方统计" in r.text
    summary = re.search(r'data-testid="error-summary".*?</table>', r.text, re.S)
    assert summary is not None
    cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", summary.group(0))
    assert cells == [("经纬度", "经纬度颠倒", "250"), ("户籍类型", "取值应为 常住户 / 租房户 / 空房户 / 底商", "50")]
    assert households(clean_engine) == {} and leftovers(web) == []


def test_the_form_offers_the_modes_the_scope_and_the_effective_day(web: TestClient, users: dict) -> None:
    login(web, "comm1")
    page = web.get("/imports").text
    for label in ("仅新增", "新增并更新", "同步（文件即全部）", "同步范围", "生效日期"):
        assert label in page
    scopes = re.findall(r'<option value="(\d+)">', re.search(r'<select[^>]*id="scope".*?</select>', page, re.S)[0])
    assert scopes == ["610103006001", "610103006001001", "610103006001002"]  # comm1's grids only
    assert page.index('name="csrftoken"') < page.index('name="mode"') < page.index('name="file"')
    patrol = login(TestClient(web.app, headers={"Accept": "text/html"}, follow_redirects=False), "patrol1")
    assert 'name="mode"' not in patrol.get("/imports").text  # tracks only: no modes


def test_a_sync_is_checked_with_its_diff_then_confirmed_with_the_same_options(
    web: TestClient, users: dict, clean_engine: Engine
) -> None:
    login(web, "comm1")
    row_3 = f"H3,文艺北路49号院,空房户,{IN_B[0]},{IN_B[1]}\n"
    assert web.post("/imports/confirm", data=confirm_form(check(web, GOOD + row_3).text)).status_code == 200
    changed = HEADER + ROW_1.replace("常住户", "出租") + ROW_2  # H1 rented now, H2 the same, H3 left out
    r = check(web, changed, mode="sync", scope="610103006001")
    assert r.status_code == 200, r.text[:1000]
    assert "将新增 0 户、更新 1 户、注销 1 户，1 户不变" in r.text
    assert "导入方式 同步（文件即全部） · 同步范围 610103006001" in r.text
    updated = re.search(r'data-testid="diff-updated-rows".*?</table>', r.text, re.S)
    assert updated is not None and "<td>H1</td>" in updated[0] and "户籍类型：常住户 → 租房户" in updated[0]
    retired = re.search(r'data-testid="diff-retired-rows".*?</table>', r.text, re.S)
    assert retired is not None and "<td>H3</td>" in retired[0]
    assert households(clean_engine) == {"H1": "610103006001001", "H2": "610103006001002", "H3": "610103006001002"}
    fields = confirm_form(r.text)
    assert (fields["mode"], fields["scope"], fields["effective"]) == ("sync", "610103006001", "")
    tampered = web.post("/imports/confirm", data=fields | {"mode": "upsert"})
    assert tampered.status_code == 422 and "与检查时不一致" in tampered.text
    again = check(web, changed, mode="sync", scope="610103006001")
    done = web.post("/imports/confirm", data=confirm_form(again.text))
    assert done.status_code == 200 and "已新增 0 户、更新 1 户、注销 1 户，1 户不变" in done.text
    with clean_engine.connect() as conn:
        got = conn.execute(text("SELECT code, kind, end_reason FROM household WHERE lineage_id IS NULL ORDER BY 1"))
        assert got.tuples().all() == [("H1", "租房户", None), ("H2", "租房户", None), ("H3", "空房户", "同步移除")]


def test_an_upsert_dated_earlier_and_a_sync_elsewhere(web: TestClient, users: dict, clean_engine: Engine) -> None:
    login(web, "comm1")
    assert web.post("/imports/confirm", data=confirm_form(check(web, GOOD).text)).status_code == 200
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    late = check(web, HEADER + ROW_1.replace("常住户", "出租"), mode="upsert", effective=day)
    assert late.status_code == 422 and "上次变更于" in late.text and "晚于生效日期" in late.text
    other = check(web, GOOD, mode="sync", scope="610103006002")
    assert other.status_code == 403 and "超出权限范围" in other.text
    unscoped = check(web, GOOD, mode="sync")
    assert unscoped.status_code == 422 and "须选择同步范围" in unscoped.text
    incidents = check(web, f"编码,事件类别,上报时间,经度,纬度\nE1,市容环境,2026-10-01 10:00,{IN_A[0]},{IN_A[1]}\n",
                      entity="incidents", mode="upsert")  # fmt: skip
    assert incidents.status_code == 422 and "事件还没有历史记录" in incidents.text
    assert leftovers(web) == []
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM household")).scalar_one() == 1
