"""``gridgov grids``: import/export/validate/history/repair from the shell, errors as messages."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import Engine, text

from tests.db.test_embedded import run_cli


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def test_import_export_validate_history(
    clean_engine: Engine, env: dict[str, str], sample_dir: Path, tmp_path: Path
) -> None:
    src = str(sample_dir / "grids.gpkg")
    dry = run_cli(["grids", "import", src, "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["written"] is False and len(report["created"]) == 83 and report["findings"] == []
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grid")).scalar() == 0
    done = run_cli(["grids", "import", src], env)
    assert done.returncode == 0 and "新建 83" in done.stdout
    checked = run_cli(["grids", "validate"], env)  # grids without staff: topology clean, every compound warned
    with clean_engine.connect() as conn:
        compounds = conn.execute(text("SELECT code, name FROM grid WHERE level = 'compound' ORDER BY code")).all()
    lines = checked.stdout.strip().splitlines()
    assert checked.returncode == 0, checked.stderr  # staffing warnings are reminders: validation passes
    assert lines[0] == "拓扑与编码：未发现问题。"
    assert lines[1:-1] == [f"[人员配备] {name}（{code}）：没有网格长、没有网格员" for code, name in compounds]
    summary = f"合计：拓扑与编码问题 0 条；人员配备提醒 {len(compounds)} 条"
    assert lines[-1] == summary + "（人员配备只作提醒，不影响校验结果）"
    out = tmp_path / "export.geojson"
    assert run_cli(["grids", "export", "-o", str(out), "--level", "community"], env).returncode == 0
    assert len(pyogrio.read_dataframe(out)) == 10
    hist = json.loads(run_cli(["grids", "history", "610103006001", "--json"], env).stdout)
    assert [h["version"] for h in hist] == [1] and hist[0]["area_m2"] > 10_000


def test_refused_file_exits_1_with_feature_numbers(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "编码,名称,层级,上级编码,wkt\n610103006001009,孤儿,楼院,610103006001,"
        '"POLYGON((108.96 34.24,108.97 34.24,108.97 34.25,108.96 34.24))"\n',
        encoding="utf-8",
    )
    r = run_cli(["grids", "import", str(bad)], env)
    assert r.returncode == 1 and "已拒绝" in r.stdout and "orphan" in r.stdout and "要素 1" in r.stdout
    r = run_cli(["grids", "import", str(tmp_path / "nope.geojson")], env)
    assert r.returncode == 1 and "文件不存在" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(["grids", "import", str(bad), "--crs", "EPSG:3857"], env)
    assert r.returncode == 1 and "不支持的坐标系" in r.stderr


def test_repair_preview_and_apply(clean_engine: Engine, env: dict[str, str], sample_dir: Path) -> None:
    assert run_cli(["grids", "import", str(sample_dir / "grids.gpkg")], env).returncode == 0
    preview = json.loads(run_cli(["grids", "repair", "renumber", "610103006001", "--json"], env).stdout)
    assert preview["applied"] is False and preview["changes"] == []  # the sample is numbered by the rule
    help_text = run_cli(["grids", "repair", "--help"], env).stdout
    for cmd in ("clip", "snap", "fill-gap", "split", "merge", "renumber"):
        assert cmd in help_text


def test_allowed_gaps_layer_hides_a_river(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    from shapely.geometry import box, mapping

    from gridgov.auth.scope import Actor
    from gridgov.db.engine import session_scope
    from gridgov.grids import service

    from tests.factories import X0, Y0, make_street
    from tests.grids.test_staffing_checks import staff_the_street

    river = box(X0 + 0.0045, Y0, X0 + 0.005, Y0 + 0.01)  # a ~46 m wide strip along the A|B border
    with session_scope(clean_engine) as s:
        make_street(s)
        a = service.get_grid(s, "610103006001001")
        service.update_grid(s, a.code, expected_version=1, actor=Actor.system("t"),
                            geometry=mapping(a.geom.difference(river)))
    staff_the_street(clean_engine, tmp_path)  # …001002 has nobody, …002001 two 网格长
    result = json.loads(run_cli(["grids", "validate", "--json"], env).stdout)
    found = result["findings"]
    assert [(f["rule"], f["codes"]) for f in found] == [("gap", ["610103006001", "610103006001001", "610103006001002"])]
    assert found[0]["area_m2"] == pytest.approx(46 * 1112, rel=0.02)
    assert [(w["code"], w["message"]) for w in result["staffing"]] == [
        ("610103006001002", "没有网格长、没有网格员"), ("610103006002001", "有多名网格长")]  # fmt: skip
    assert result["summary"] == {"findings": 1, "staffing": 2}
    listed = run_cli(["grids", "validate"], env)
    assert listed.returncode == 0, listed.stderr  # the exit code is as before: findings are listed, not an error
    lines = listed.stdout.strip().splitlines()
    assert lines[0].startswith("[gap ") and "610103006001001" in lines[0]  # topology first, then the staffing
    assert lines[1:] == ["[人员配备] 第二网格（610103006001002）：没有网格长、没有网格员",
                         "[人员配备] 第一网格（610103006002001）：有多名网格长",
                         "合计：拓扑与编码问题 1 条；人员配备提醒 2 条"
                         "（人员配备只作提醒，不影响校验结果）"]  # fmt: skip
    layer = tmp_path / "river.geojson"
    layer.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"名称": "护城河"}, "geometry": mapping(river)}],
            }
        ),
        encoding="utf-8",
    )
    clean = run_cli(["grids", "validate", "--json", "--allowed-gaps", str(layer)], env)
    assert json.loads(clean.stdout)["findings"] == [] and json.loads(clean.stdout)["summary"]["staffing"] == 2
