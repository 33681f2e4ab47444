"""The CLI's one exit-code table (gridgov.cli.errors), as the real command exits and as README.md documents it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.api.errors import STATUS
from gridgov.cli import errors as cli_errors
from gridgov.db.locks import writers_lock
from gridgov.errors import GridgovError

from tests.db.test_embedded import run_cli

ROOT = Path(__file__).resolve().parents[2]
STREET_CSV = (
    "编码,名称,层级,上级编码,wkt\n"
    '610103006,文艺路街道,街道,,"POLYGON((108.95 34.24,108.97 34.24,108.97 34.25,108.95 34.25,108.95 34.24))"\n'
)


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def _clean(stderr: str) -> bool:
    return "Traceback" not in stderr and "gridgov db up" not in stderr


def test_an_unreadable_grid_file_exits_1(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "grids.geojson"
    junk.write_bytes(b"\x00\xffnot json at all")
    r = run_cli(["grids", "import", str(junk)], env)
    assert r.returncode == cli_errors.EXIT_REFUSED == 1, r.stderr
    assert r.stderr.startswith("错误：") and _clean(r.stderr)


def test_not_found_exits_4(clean_engine: Engine, env: dict[str, str]) -> None:
    r = run_cli(["grids", "history", "610103006999"], env)
    assert r.returncode == cli_errors.EXIT_NOT_FOUND == 4 and "网格不存在" in r.stderr and _clean(r.stderr)


def test_usage_errors_exit_2() -> None:
    r = run_cli(["grids", "import"], {})
    assert r.returncode == cli_errors.EXIT_USAGE == 2


def test_an_unreachable_database_exits_3(tmp_path: Path) -> None:
    env = {"GRIDGOV_DATABASE_URL": "postgresql://gridgov:x@127.0.0.1:1/none", "GRIDGOV_HOME": str(tmp_path)}
    r = run_cli(["grids", "list"], env)
    assert r.returncode == cli_errors.EXIT_DATABASE == 3 and "数据库不可用" in r.stderr and "Traceback" not in r.stderr


def test_contention_exits_7_and_does_not_advise_db_up(clean_engine: Engine, env: dict[str, str],
                                                      tmp_path: Path) -> None:  # fmt: skip
    src = tmp_path / "street.csv"
    src.write_text(STREET_CSV, encoding="utf-8")
    with Session(clean_engine) as other, other.begin():
        writers_lock(other)  # another writer (e.g. a long import) holds the data
        r = run_cli(["grids", "import", str(src)], env | {"PGOPTIONS": "-c lock_timeout=300"})
    assert r.returncode == cli_errors.EXIT_BUSY == 7, r.stderr
    assert "锁冲突" in r.stderr and _clean(r.stderr)
    done = run_cli(["grids", "import", str(src)], env)  # once the other writer is done, the same command works
    assert done.returncode == 0, done.stderr


def test_every_domain_error_has_a_code_and_the_readme_documents_the_table() -> None:
    for cls in GridgovError.__subclasses__():
        assert cls in cli_errors.EXIT_CODES, f"{cls.__name__} has no exit code"
        assert cls in STATUS, f"{cls.__name__} has no HTTP status"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 退出码") :]
    section = section[: section.find("\n## ", 4)] if "\n## " in section[4:] else section
    documented = {int(m.group(1)) for m in re.finditer(r"^\|\s*(\d+)\s*\|", section, flags=re.MULTILINE)}
    codes = {v for k, v in vars(cli_errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert documented == codes
