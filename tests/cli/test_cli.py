"""The CLI: help lists every command, errors are messages (exit codes of gridgov.cli.errors) not tracebacks, tokens."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gridgov.db.engine import session_scope
from gridgov.history import day_of

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, make_street

COMMANDS = ["serve", "assign", "version", "db", "sample", "token", "map"]


def test_help_lists_every_command() -> None:
    out = run_cli(["--help"], {}).stdout
    for cmd in COMMANDS:
        assert f" {cmd} " in out
    db_help = run_cli(["db", "--help"], {}).stdout
    for sub in ("up", "down", "status", "url", "migrate"):
        assert f" {sub} " in db_help


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def test_token_create_and_list(clean_engine: Engine, env: dict[str, str]) -> None:
    made = run_cli(["token", "create", "--name", "街道管理员", "--role", "admin"], env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("ggv_")
    listed = run_cli(["token", "list"], env)
    assert "街道管理员" in listed.stdout and made.stdout.strip() not in listed.stdout
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log WHERE table_name='api_token'")).scalar() == "cli"


def test_domain_errors_exit_with_their_code_and_a_chinese_message(clean_engine: Engine, env: dict[str, str]) -> None:
    bad = run_cli(["token", "create", "--name", "x", "--role", "community"], env)
    assert bad.returncode == 1  # input refused (gridgov.cli.errors)
    assert "「社区工作人员」必须指定范围" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli(["token", "create", "--name", "x", "--role", "community", "--scope", "610103006999"], env)
    assert missing.returncode == 4 and "网格不存在" in missing.stderr  # not found


def test_unreachable_external_server_is_a_clear_error(tmp_path: Path) -> None:
    env = {"GRIDGOV_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none", "GRIDGOV_HOME": str(tmp_path)}
    r = run_cli(["db", "up"], env)
    assert r.returncode == 3 and "无法连接数据库" in r.stderr and "Traceback" not in r.stderr


def test_assign_prints_counts_per_level(sample_engine: Engine, tmp_path: Path) -> None:
    import json

    from gridgov.sample.changes import MOVED_IN, MOVED_OUT

    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    r = run_cli(["assign", "--json"], {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    hh = next(c for c in json.loads(r.stdout) if c["table"] == "household")
    assert hh["unassigned"] == 5 and hh["changed"] == 0
    assert hh["per_level"] == {"street": hh["assigned"], "community": hh["assigned"], "compound": hh["assigned"]}
    assert list(hh["per_level"]) == ["street", "community", "compound"]  # always in level order
    text_out = run_cli(["assign"], {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}).stdout
    n = 19_995 - len(MOVED_OUT) + len(MOVED_IN)  # the sample's assigned households, after its months of changes
    assert hh["assigned"] == n and f"户：已分配 {n}（街道 {n}，社区 {n}，楼院 {n}）" in text_out
    assert "巡逻轨迹网格统计：重算 0 条" in text_out  # stored at import, still current


def test_database_errors_are_a_message_not_a_traceback(server_url: str, tmp_path: Path) -> None:
    from tests.conftest import _create_db, _drop_db

    down = run_cli(["assign"], {"GRIDGOV_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/none",
                                "GRIDGOV_HOME": str(tmp_path)})  # fmt: skip
    assert down.returncode == 3 and "数据库不可用" in down.stderr and "Traceback" not in down.stderr
    url = _create_db(server_url, "gridgov_unmigrated")  # never migrated: no tables
    try:
        r = run_cli(["assign"], {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)})
    finally:
        _drop_db(server_url, url)
    assert r.returncode == 3 and "gridgov db migrate" in r.stderr and "Traceback" not in r.stderr


def test_import_maps_columns_and_summarises_a_large_refusal(
    clean_engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    x, y = X0 + 0.002, Y0 + 0.005
    odd = tmp_path / "住户.csv"
    odd.write_text(f"档案号,类别,经度,纬度\nH1,常住户,{x},{y}\nH2,出租,{x + 0.01},{y}\n", encoding="utf-8")
    plain = run_cli(["import", "households", str(odd)], env)
    assert plain.returncode == 1 and "缺少必需列：编码（code）、户籍类型（kind）" in plain.stderr
    unknown = run_cli(["import", "households", str(odd), "--map", "档案号=编号"], env)
    assert unknown.returncode == 1 and "没有目标列 编号（可用：code, address, building_code, kind" in unknown.stderr
    mapped = run_cli(["import", "households", str(odd), "--map", "档案号=code", "--map", "类别=kind", "--json"], env)
    assert mapped.returncode == 0, mapped.stderr
    assert json.loads(mapped.stdout)["imported"] == 2
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT code, kind FROM household ORDER BY code")).tuples().all()
    assert rows == [("H1", "常住户"), ("H2", "租房户")]

    bad = tmp_path / "bad.csv"  # 120 swapped rows and 30 unknown kinds: 150 errors
    bad.write_text("编码,户籍类型,经度,纬度\n" + "".join(
        f"B{i},{'宿舍' if i < 30 else '常住户'},{y if i < 120 else x},{x if i < 120 else y}\n" for i in range(150)),
        encoding="utf-8")  # fmt: skip
    refused = run_cli(["import", "households", str(bad)], env)
    assert refused.returncode == 1
    lines = refused.stdout.splitlines()
    assert lines[0] == "bad.csv：已拒绝，未写入任何数据（150 处错误）"
    assert sum(line.startswith("  第 ") for line in lines) == 100
    assert "  ……其余 50 处未逐条列出" in lines and "按列和原因统计（共 150 处）：" in lines
    assert lines[-2:] == ["  lon/lat：经纬度颠倒  120 处", "  kind：取值应为 常住户 / 租房户 / 空房户 / 底商  30 处"]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM household")).scalar_one() == 2


def test_import_modes_print_the_diff(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    x, y = X0 + 0.002, Y0 + 0.005
    first = tmp_path / "h.csv"
    first.write_text(f"编码,户籍类型,经度,纬度\nH1,常住户,{x},{y}\nH2,出租,{x},{y}\nH3,常住户,{x},{y}\n",
                     encoding="utf-8")  # fmt: skip
    assert run_cli(["import", "households", str(first)], env).returncode == 0
    nosync = run_cli(["import", "households", str(first), "--mode", "sync"], env)
    assert nosync.returncode == 1 and "同步导入须指定范围" in nosync.stderr
    update = tmp_path / "u.csv"
    update.write_text(f"编码,户籍类型,经度,纬度\nH1,空房户,{x},{y}\nH2,出租,{x},{y}\nH4,底商,{x},{y}\n",
                      encoding="utf-8")  # fmt: skip
    day = (day_of(None) - dt.timedelta(days=1)).isoformat()  # the street's yesterday
    args = ["import", "households", str(update), "--mode", "sync", "--scope", "610103006001001"]
    late = run_cli([*args, "--effective", day, "--dry-run"], env)
    assert late.returncode == 1 and "晚于生效日期" in late.stdout  # the records were imported today
    dry = run_cli([*args, "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "u.csv：试运行（未写入） 2 条户；已分配 3，未分配 0"
    assert lines[1] == "新增 1，更新 1，注销 1，未变 1（同步（文件即全部），范围 610103006001001）"
    assert "  新增：第 4 行 H4" in lines and "  更新：第 2 行 H1  户籍类型：常住户 → 空房户" in lines
    assert "  注销：H3" in lines
    as_json = run_cli([*args, "--json"], env)
    assert as_json.returncode == 0, as_json.stderr
    diff = json.loads(as_json.stdout)["diff"]
    assert (diff["created"]["count"], diff["updated"]["count"], diff["retired"]["count"]) == (1, 1, 1)
    with clean_engine.connect() as conn:
        got = conn.execute(text("SELECT code, kind, end_reason FROM household WHERE lineage_id IS NULL ORDER BY 1"))
        assert got.tuples().all() == [("H1", "空房户", None), ("H2", "租房户", None), ("H3", "常住户", "同步移除"),
                                      ("H4", "底商", None)]  # fmt: skip


def test_grids_import_lists_100_findings_then_counts_them(
    clean_engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    from shapely.geometry import box, mapping

    def feature(i: int, level: str) -> dict:
        cell = box(X0 + i * 1e-4, Y0, X0 + (i + 1) * 1e-4, Y0 + 1e-4)
        return {"type": "Feature", "properties": {"code": "" if level == "compound" else f"9{i:08d}", "level": level},
                "geometry": mapping(cell)}  # fmt: skip

    features = [feature(i, "compound") for i in range(110)] + [feature(i, "楼层") for i in range(110, 140)]
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    r = run_cli(["grids", "import", str(path)], env)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert sum(line.startswith("[") for line in lines) == 100
    assert "……其余 40 个问题未逐条列出" in lines and "按规则统计（共 140 个问题）：" in lines
    assert lines[-2:] == ["  [invalid_geometry 几何无效]  110 个", "  [level_mismatch 层级不匹配]  30 个"]
