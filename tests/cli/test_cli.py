"""The CLI: help lists every command, errors are messages (exit codes of gridgov.cli.errors) not tracebacks, tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.db.test_embedded import run_cli

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

    url = sample_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    r = run_cli(["assign", "--json"], {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    hh = next(c for c in json.loads(r.stdout) if c["table"] == "household")
    assert hh["unassigned"] == 5 and hh["changed"] == 0
    assert hh["per_level"] == {"street": hh["assigned"], "community": hh["assigned"], "compound": hh["assigned"]}
    assert list(hh["per_level"]) == ["street", "community", "compound"]  # always in level order
    text_out = run_cli(["assign"], {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}).stdout
    assert "户：已分配 19995（街道 19995，社区 19995，楼院 19995）" in text_out
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
