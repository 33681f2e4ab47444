"""Imports that update: upsert changes exactly the rows that differ (history for those only), sync retires what the
file leaves out in its scope (同步移除, at the effective day, residents with their household), the ledger as of
earlier days is unchanged, dry runs show the diff and write nothing, scope and dates are enforced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Forbidden, InvalidInput
from gridgov.history import SYNC_REASON, day_of, start_of
from gridgov.importing.entities import import_entities
from gridgov.ledger.report import build_ledger
from gridgov.periods import DEFAULT_TIMEZONE, as_of_moment
from gridgov.terms import add_term

from tests.factories import X0, Y0, make_street

A, B, C = "610103006001001", "610103006001002", "610103006002001"  # compounds; A and B in community …001
COMMUNITY_1, COMMUNITY_2 = "610103006001", "610103006002"
AT = {A: (X0 + 0.002, Y0 + 0.005), B: (X0 + 0.007, Y0 + 0.005), C: (X0 + 0.015, Y0 + 0.005)}
TODAY = day_of(None, DEFAULT_TIMEZONE)
D0, D1 = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=10)
HH_HEAD = "编码,地址,户籍类型,经度,纬度\n"
ADMIN = Actor.system("test")


def hh(code: str, grid: str, kind: str = "常住户", address: str | None = None) -> str:
    x, y = AT[grid]
    return f"{code},{address or code + '号院'},{kind},{x},{y}\n"


BASE = hh("H1", A) + hh("H2", B, "出租") + hh("H3", C) + hh("H4", A, "空房户")
PERSONS = "人员编码,户编码,姓名,性别\nP1,H4,张一,男\nP2,H4,李二,女\nP3,H1,王三,女\n"


def write(tmp: Path, name: str, body: str) -> Path:
    path = tmp / name
    path.write_text(body, encoding="utf-8")
    return path


def run(engine: Engine, entity: str, path: Path, actor: Actor = ADMIN, **options: Any) -> Any:
    with session_scope(engine) as s:
        return import_entities(s, entity, path, actor=actor, **options)


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def households(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Live or retired household records: code → (kind, address, grid code, version, valid_to, end_reason)."""
    got = rows(engine, """SELECT h.code, h.kind, h.address, g.code, h.version, h.valid_to, h.end_reason
                            FROM household h LEFT JOIN grid g ON g.id = h.grid_id WHERE h.lineage_id IS NULL""")
    return {r[0]: r[1:] for r in got}


def history(engine: Engine) -> dict[str, int]:
    """Household code → the number of history rows it has."""
    got = rows(engine, """SELECT l.code, count(*) FROM household h JOIN household l ON l.id = h.lineage_id
                           GROUP BY l.code""")  # fmt: skip
    return dict(got)  # type: ignore[arg-type]


def figures(engine: Engine, as_of: dt.datetime | None = None) -> dict[str, tuple[int, ...]]:
    with session_scope(engine) as s:
        ledger = build_ledger(s, as_of=as_of, with_patrol=False)
    return {r.code: (r.households, r.hh_resident, r.hh_rented, r.hh_vacant, r.persons) for r in ledger.rows}


def actor_for(engine: Engine, code: str) -> Actor:
    gid = rows(engine, "SELECT id FROM grid WHERE code = :c AND lineage_id IS NULL", c=code)[0][0]
    return Actor(name="user:comm1", role="community", scope_grid_id=int(gid), scope_code=code)


def counts(engine: Engine) -> tuple[int, ...]:
    return rows(engine, """SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM person),
                                  (SELECT count(*) FROM staff), (SELECT count(*) FROM grid_role),
                                  (SELECT count(*) FROM audit_log)""")[0]  # fmt: skip


@pytest.fixture
def street(clean_engine: Engine, tmp_path: Path) -> Engine:
    """The factory street (three months old) with four households and three residents (dated a month ago)."""
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))  # the grids predate the records
    assert run(clean_engine, "households", write(tmp_path, "base.csv", HH_HEAD + BASE), effective=D0).written
    assert run(clean_engine, "persons", write(tmp_path, "p.csv", PERSONS), effective=D0).written
    return clean_engine


def test_upsert_changes_exactly_the_rows_that_differ(street: Engine, tmp_path: Path) -> None:
    before = households(street)
    body = HH_HEAD + hh("H1", A) + hh("H2", B, "常住户", "H2号院2单元") + hh("H3", A) + hh("H5", B, "底商")
    report = run(street, "households", write(tmp_path, "u.csv", body), mode="upsert")
    assert report.written and not report.refused and report.imported == 3
    diff = report.diff
    assert (diff.created.count, diff.updated.count, diff.unchanged.count, diff.retired.count) == (1, 2, 1, 0)
    assert [(r.row, r.code) for r in diff.created.rows] == [(5, "H5")]
    assert [(r.row, r.code) for r in diff.unchanged.rows] == [(2, "H1")]
    changes = {r.code: {c.field: (c.label, c.old, c.new) for c in r.changes} for r in diff.updated.rows}
    assert changes["H2"] == {"address": ("地址", "H2号院", "H2号院2单元"), "kind": ("户籍类型", "租房户", "常住户")}
    (label, old, new), = changes["H3"].values()
    assert label == "位置" and old == f"{AT[C][0]:.6f}, {AT[C][1]:.6f}" and new == f"{AT[A][0]:.6f}, {AT[A][1]:.6f}"
    after = households(street)
    assert after["H1"] == before["H1"] and after["H4"] == before["H4"]  # unchanged rows untouched: version 1
    assert after["H2"][:4] == ("常住户", "H2号院2单元", B, 2) and after["H3"][2:4] == (A, 2)  # H3 moved to grid A
    assert after["H5"][:4] == ("底商", "H5号院", B, 1)
    assert history(street) == {"H2": 1, "H3": 1}  # the former states of the changed rows only
    old_h2 = rows(street, """SELECT l.kind, l.valid_from, l.valid_to FROM household l JOIN household h
                              ON h.id = l.lineage_id WHERE h.code = 'H2'""")  # fmt: skip
    assert old_h2[0][0] == "租房户" and old_h2[0][1] == start_of(D0)

    again = run(street, "households", write(tmp_path, "u.csv", body), mode="upsert")  # the same file: no change
    assert (again.diff.created.count, again.diff.updated.count, again.diff.unchanged.count) == (0, 0, 4)
    assert again.imported == 0 and households(street) == after and history(street) == {"H2": 1, "H3": 1}


def test_a_partial_file_updates_its_columns_and_new_codes_need_the_rest(street: Engine, tmp_path: Path) -> None:
    partial = write(tmp_path, "addr.csv", "编码,地址\nH1,新地址1号\nH2,\n")
    report = run(street, "households", partial, mode="upsert")
    assert report.written and report.diff.updated.count == 2
    after = households(street)
    assert after["H1"][:3] == ("常住户", "新地址1号", A) and after["H2"][:3] == ("租房户", None, B)  # kind, place kept
    new_code = write(tmp_path, "new.csv", "编码,地址\nH1,新地址1号\nH9,某院\n")
    refused = run(street, "households", new_code, mode="upsert")
    assert refused.refused and not refused.written
    assert [(e.row, e.column) for e in refused.errors] == [(3, "kind"), (3, "lon/lat")]
    assert "新记录须填写此列" in refused.errors[0].reason
    empty_kind = run(street, "households", write(tmp_path, "k.csv", "编码,户籍类型\nH1,\n"), mode="upsert")
    assert [(e.row, e.column, e.reason) for e in empty_kind.errors] == [(2, "kind", "必填项为空")]
    assert households(street)["H1"][0] == "常住户"


def test_sync_retires_what_the_file_leaves_out_in_its_scope_only(street: Engine, tmp_path: Path) -> None:
    body = HH_HEAD + hh("H1", A) + hh("H2", B, "出租")  # community …001 without H4; H3 lies in …002
    report = run(street, "households", write(tmp_path, "s.csv", body), mode="sync", scope=COMMUNITY_1, effective=D1)
    assert report.written
    assert (report.diff.retired.count, report.diff.unchanged.count, report.diff.persons_retired) == (1, 2, 2)
    assert [r.code for r in report.diff.retired.rows] == ["H4"] and report.diff.scope == COMMUNITY_1
    after = households(street)
    assert after["H4"][4:] == (start_of(D1), SYNC_REASON)
    assert after["H3"][4] is None and after["H1"][4] is None  # other scopes alone; named ones kept
    residents = rows(street, "SELECT code, valid_to, end_reason FROM person WHERE lineage_id IS NULL ORDER BY code")
    assert residents == [("P1", start_of(D1), SYNC_REASON), ("P2", start_of(D1), SYNC_REASON), ("P3", None, None)]
    in_force = """SELECT count(*) FROM household h WHERE h.code = 'H4' AND h.valid_from <= :t
                    AND (h.valid_to IS NULL OR h.valid_to > :t)"""  # fmt: skip
    assert rows(street, in_force, t=start_of(D1) - dt.timedelta(seconds=1))[0][0] == 1  # its history is kept
    assert rows(street, in_force, t=start_of(D1) + dt.timedelta(seconds=1))[0][0] == 0
    assert rows(street, "SELECT kind FROM household WHERE code = 'H4' ORDER BY valid_from LIMIT 1") == [("空房户",)]


def test_the_ledger_before_a_sync_is_the_ledger_as_of_the_day_before(street: Engine, tmp_path: Path) -> None:
    before = figures(street)
    body = HH_HEAD + hh("H1", A) + hh("H2", B, "常住户") + hh("H6", A, "出租")  # H4 out, H2 changed, H6 new
    report = run(street, "households", write(tmp_path, "s.csv", body), mode="sync", scope=COMMUNITY_1)
    assert report.written and report.diff.effective is None
    assert figures(street, as_of_moment(TODAY - dt.timedelta(days=1))) == before
    now = figures(street)
    assert before[A] == (2, 1, 0, 1, 3) and now[A] == (2, 1, 1, 0, 1)  # H4 and its two residents gone, H6 in
    assert before[B] == (1, 0, 1, 0, 0) and now[B] == (1, 1, 0, 0, 0)
    assert now[C] == before[C] and now["610103006"][0] == before["610103006"][0]


def test_an_effective_day_dates_the_changes(street: Engine, tmp_path: Path) -> None:
    body = HH_HEAD + hh("H2", B, "常住户")
    report = run(street, "households", write(tmp_path, "d.csv", body), mode="upsert", effective=D1)
    assert report.written and report.diff.effective == D1.isoformat()
    assert figures(street, as_of_moment(D1 - dt.timedelta(days=5)))[B] == (1, 0, 1, 0, 0)
    assert figures(street, as_of_moment(D1 + dt.timedelta(days=5)))[B] == (1, 1, 0, 0, 0)
    assert rows(street, "SELECT valid_from FROM household WHERE code = 'H2' AND lineage_id IS NULL") == [
        (start_of(D1),)
    ]
    late = HH_HEAD + hh("H2", B, "空房户") + hh("H1", A, "出租")
    refused = run(street, "households", write(tmp_path, "l.csv", late), mode="upsert", effective=D1 - dt.timedelta(1))
    assert refused.refused and [(e.row, e.column) for e in refused.errors] == [(2, "code")]  # H1 last changed at D0
    assert f"H2 上次变更于 {D1}，晚于生效日期 {D1 - dt.timedelta(1)}" in refused.errors[0].reason
    with pytest.raises(InvalidInput, match="生效日期不能晚于今天"):
        run(street, "households", write(tmp_path, "f.csv", body), mode="upsert", effective=TODAY + dt.timedelta(1))


def test_a_dry_run_shows_the_diff_and_writes_nothing(street: Engine, tmp_path: Path) -> None:
    before, records = counts(street), households(street)
    body = HH_HEAD + hh("H1", A, "出租") + hh("H7", B)
    report = run(street, "households", write(tmp_path, "d.csv", body), mode="sync", scope=A, dry_run=True)
    assert report.dry_run and not report.written and not report.refused
    diff = report.as_dict()["diff"]
    assert diff["created"] == {"count": 1, "rows": [{"code": "H7", "row": 3, "detail": None, "revived": False,
                                                     "changes": []}]}  # fmt: skip
    assert diff["updated"]["count"] == 1 and diff["updated"]["rows"][0]["changes"] == [
        {"field": "kind", "label": "户籍类型", "old": "常住户", "new": "租房户"}
    ]
    assert diff["retired"]["count"] == 1 and diff["retired"]["rows"][0]["code"] == "H4"
    assert diff["persons_retired"] == 2 and diff["unchanged"]["count"] == 0
    assert counts(street) == before and households(street) == records  # audit_log included


def test_a_retired_code_in_an_upsert_file_is_revived(street: Engine, tmp_path: Path) -> None:
    run(street, "households", write(tmp_path, "s.csv", HH_HEAD + hh("H1", A)), mode="sync", scope=A, effective=D1)
    assert households(street)["H4"][5] == SYNC_REASON
    insert = run(street, "households", write(tmp_path, "i.csv", HH_HEAD + hh("H4", A, "出租")))
    assert insert.refused and insert.errors[0].reason == "编码已存在：H4"  # insert: a code is taken for life
    report = run(street, "households", write(tmp_path, "r.csv", HH_HEAD + hh("H4", A, "出租")), mode="upsert")
    assert report.written
    (revived,) = report.diff.updated.rows
    assert revived.revived and [(c.field, c.old, c.new) for c in revived.changes] == [
        ("status", f"已注销（{SYNC_REASON}）", "在册"),
        ("kind", "空房户", "租房户"),
    ]
    assert households(street)["H4"][0] == "租房户" and households(street)["H4"][4:] == (None, None)
    assert figures(street)[A][0] == 2


def test_a_sync_outside_the_actors_scope_is_forbidden_and_writes_nothing(street: Engine, tmp_path: Path) -> None:
    comm1 = actor_for(street, COMMUNITY_1)
    before, records = counts(street), households(street)
    with pytest.raises(Forbidden, match="超出权限范围"):
        run(street, "households", write(tmp_path, "s.csv", HH_HEAD), actor=comm1, mode="sync", scope=COMMUNITY_2)
    moved = HH_HEAD + hh("H3", C, "出租")  # an upsert changing a household of the other community
    with pytest.raises(Forbidden, match="超出权限范围"):
        run(street, "households", write(tmp_path, "u.csv", moved), actor=comm1, mode="upsert")
    assert counts(street) == before and households(street) == records
    own = run(street, "households", write(tmp_path, "o.csv", HH_HEAD + hh("H1", A) + hh("H2", B) + hh("H3", C)),
              actor=comm1, mode="sync", scope=COMMUNITY_1)  # fmt: skip
    assert own.written and [r.code for r in own.diff.retired.rows] == ["H4"] and own.diff.unchanged.count == 2


def test_persons_upsert_keeps_the_type_of_members_and_reads_tags_in_force(street: Engine, tmp_path: Path) -> None:
    head = "人员编码,户编码,姓名,是否党员,党员类型,标签\n"
    run(street, "persons", write(tmp_path, "p.csv", head + "P3,H1,王三,是,在职,低保；独居\n"), mode="upsert")
    tags = rows(street, "SELECT is_party_member, member_type, sensitive_tags FROM person WHERE code = 'P3' "
                        "AND lineage_id IS NULL")  # fmt: skip
    assert tags == [(True, "在职", ["低保户", "独居老人"])]
    flag_only = write(tmp_path, "f.csv", "人员编码,是否党员\nP3,否\nP1,是\n")
    refused = run(street, "persons", flag_only, mode="upsert")
    assert [(e.row, e.column, e.reason) for e in refused.errors] == [(3, "member_type", "党员须填写党员类型")]
    write(tmp_path, "f.csv", "人员编码,是否党员\nP3,否\n")
    report = run(street, "persons", tmp_path / "f.csv", mode="upsert")
    assert {c.field: (c.old, c.new) for c in report.diff.updated.rows[0].changes} == {
        "is_party_member": ("是", "否"), "member_type": ("在职", None)}  # fmt: skip
    unknown = run(street, "persons", write(tmp_path, "t.csv", "人员编码,标签\nP1,吸烟者、低保\n"), mode="upsert")
    assert unknown.errors[0].column == "tags" and "未知的标签" in unknown.errors[0].reason
    assert unknown.errors[0].reason.endswith("：吸烟者") and "低保户" in unknown.errors[0].reason


def test_the_words_a_street_added_are_accepted(street: Engine, tmp_path: Path) -> None:
    body = HH_HEAD + hh("H8", A, "集体户")
    refused = run(street, "households", write(tmp_path, "k.csv", body))
    assert refused.refused and "取值应为 常住户 / 租房户 / 空房户 / 底商：集体户" in refused.errors[0].reason
    with session_scope(street) as s:
        add_term(s, ADMIN, "household_kinds", "集体户", synonyms=("集体",))
    assert run(street, "households", write(tmp_path, "k.csv", HH_HEAD + hh("H8", A, "集体"))).written
    assert households(street)["H8"][0] == "集体户"


def test_staff_upsert_and_sync(street: Engine, tmp_path: Path) -> None:
    head = "人员编码,姓名,电话,网格编码,职务\n"
    roster = head + f"S1,赵一,13900000001,{A},网格长\nS2,钱二,13900000002,{A},网格员\nS3,孙三,13900000003,{C},网格员\n"
    assert run(street, "staff", write(tmp_path, "r.csv", roster), effective=D0).diff.created.count == 3
    changed = (head + f"S1,赵一一,13900000001,{A},网格长\nS1,赵一一,13900000001,{B},网格长\n"
               f"S4,李四,13900000004,{A},网格员\n")  # fmt: skip
    report = run(street, "staff", write(tmp_path, "c.csv", changed), mode="sync", scope=COMMUNITY_1, effective=D1)
    assert report.written and report.imported == 2
    d = report.diff
    assert (d.created.count, d.updated.count, d.retired.count, d.unchanged.count) == (2, 1, 1, 0)  # S1 counts once
    assert [(c.field, c.old, c.new) for c in d.updated.rows[0].changes] == [("name", "赵一", "赵一一")]
    assert [(r.code, r.detail) for r in d.retired.rows] == [("S2", f"{A} 网格员")]
    posts = rows(street, """SELECT s.code, g.code, r.role, r.since, r.until, r.end_reason FROM grid_role r
                             JOIN staff s ON s.id = r.staff_id JOIN grid g ON g.id = r.grid_id ORDER BY 1, 2""")
    assert posts == [("S1", A, "网格长", D0, None, None), ("S1", B, "网格长", D1, None, None),
                     ("S2", A, "网格员", D0, D1, SYNC_REASON), ("S3", C, "网格员", D0, None, None),
                     ("S4", A, "网格员", D1, None, None)]  # fmt: skip
    names = rows(street, "SELECT code, name, version FROM staff WHERE lineage_id IS NULL ORDER BY code")
    assert names == [("S1", "赵一一", 2), ("S2", "钱二", 1), ("S3", "孙三", 1), ("S4", "李四", 1)]
    odd = head + f"S3,孙三,13900000003,{C},网格员\nS3,孙叁,13900000003,{C},网格长\n"
    refused = run(street, "staff", write(tmp_path, "o.csv", odd), mode="upsert")
    assert [(e.row, e.column) for e in refused.errors] == [(3, "name")]
    assert "与第 2 行不一致" in refused.errors[0].reason


def test_incidents_are_insert_only_and_options_are_checked(street: Engine, tmp_path: Path) -> None:
    x, y = AT[A]
    path = write(tmp_path, "e.csv", f"编码,事件类别,上报时间,经度,纬度\nE1,市容环境,2026-10-01 10:00,{x},{y}\n")
    for mode in ("upsert", "sync"):
        with pytest.raises(InvalidInput, match="事件还没有历史记录，只能“仅新增”导入"):
            run(street, "incidents", path, mode=mode, scope=A if mode == "sync" else None)
    assert rows(street, "SELECT count(*) FROM incident") == [(0,)]
    hh_file = write(tmp_path, "h.csv", HH_HEAD + hh("H1", A))
    with pytest.raises(InvalidInput, match="同步导入须指定范围"):
        run(street, "households", hh_file, mode="sync")
    with pytest.raises(InvalidInput, match="范围（scope）只用于同步导入"):
        run(street, "households", hh_file, mode="upsert", scope=A)
    with pytest.raises(InvalidInput, match="未知的导入方式"):
        run(street, "households", hh_file, mode="replace")
    synonym = write(tmp_path, "c.csv", f"编码,事件类别,上报时间,经度,纬度\nE2,城管,2026-10-01 10:00,{x},{y}\n")
    assert "取值应为 市容环境" in run(street, "incidents", synonym).errors[0].reason


def test_buildings_and_persons_update_and_sync(street: Engine, tmp_path: Path) -> None:
    (xa, ya), (xb, yb) = AT[A], AT[B]
    head = "楼栋编码,名称,层数,经度,纬度\n"
    assert run(street, "buildings", write(tmp_path, "b.csv", head + f"B1,1号楼,6,{xa},{ya}\nB2,2号楼,5,{xb},{yb}\n"),
               effective=D0).written  # fmt: skip
    linked = run(street, "households", write(tmp_path, "l.csv", "编码,楼栋编码\nH1,B1\n"), mode="upsert")
    assert [(c.field, c.old, c.new) for c in linked.diff.updated.rows[0].changes] == [("building_code", None, "B1")]
    moved = head + f"B1,1号楼,7,{xa},{ya}\nB2,2号楼,5,{xa + 0.0001},{ya}\n"  # B1 one floor more, B2 moved into A
    report = run(street, "buildings", write(tmp_path, "m.csv", moved), mode="upsert")
    assert report.diff.updated.count == 2 and report.assigned == 2
    got = rows(street, """SELECT b.code, b.floors, g.code, b.version FROM building b JOIN grid g ON g.id = b.grid_id
                           WHERE b.lineage_id IS NULL ORDER BY 1""")  # fmt: skip
    assert got == [("B1", 7, A, 2), ("B2", 5, A, 2)]
    emptied = run(street, "buildings", write(tmp_path, "e.csv", head), mode="sync", scope=A)
    assert emptied.refused and "同步将注销楼栋 B1，但楼内还有 1 户" in emptied.errors[0].reason
    assert [e.row for e in emptied.errors] == [0]
    kept = run(street, "buildings", write(tmp_path, "k.csv", head + f"B1,1号楼,7,{xa},{ya}\n"), mode="sync", scope=A)
    assert [r.code for r in kept.diff.retired.rows] == ["B2"] and kept.diff.unchanged.count == 1
    persons = run(street, "persons", write(tmp_path, "p.csv", "人员编码,户编码,姓名\nP1,H4,张一\n"), mode="sync",
                  scope=A)  # fmt: skip
    assert [r.code for r in persons.diff.retired.rows] == ["P2", "P3"]
    live = rows(street, "SELECT code FROM person WHERE valid_to IS NULL ORDER BY code")
    assert live == [("P1",)]
