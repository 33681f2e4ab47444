"""``gridgov map … --if-changed`` keeps a map drawn from the same data and options, and redraws otherwise."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from gridgov.db.engine import session_scope
from gridgov.maps.stamps import stamp_of

from tests.db.test_embedded import run_cli
from tests.factories import make_street


def test_unchanged_map_is_kept_changed_data_or_options_redraw(clean_engine: Engine, db_url: str,
                                                              tmp_path: Path) -> None:  # fmt: skip
    with session_scope(clean_engine) as s:
        make_street(s)
    env = {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}
    out = tmp_path / "maps" / "grid.html"

    def draw(*extra: str) -> str:
        r = run_cli(["map", "grid", "-o", str(out), "--if-changed", *extra], env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert "已写出" in draw()
    first = stamp_of(out)
    assert first and out.read_text(encoding="utf-8").rstrip().endswith(f"<!-- gridgov-stamp: {first} -->")
    out.write_text(out.read_text(encoding="utf-8").replace("文艺路街道", "（未重画）"), encoding="utf-8")
    assert "数据未变化" in draw()
    assert "（未重画）" in out.read_text(encoding="utf-8")  # the file was kept as it was
    assert "已写出" in draw("--level", "community")  # other options: another map
    assert "已写出" in draw()
    with clean_engine.begin() as conn:
        conn.execute(text("UPDATE grid SET name = '新名称' WHERE code = '610103006001'"))
    assert "已写出" in draw()  # the data changed
    html = out.read_text(encoding="utf-8")
    assert ("新名称" in html or "\\u65b0\\u540d\\u79f0" in html) and stamp_of(out) != first
    assert "已写出" in run_cli(["map", "grid", "-o", str(out)], env).stdout  # without the flag: always drawn
