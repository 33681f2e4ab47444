"""The embedded cluster: up/url/status/down on a throw-away GRIDGOV_HOME, and GRIDGOV_DATABASE_URL override."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gridgov.db.embedded import EmbeddedCluster, _port_free

GRIDGOV = [sys.executable, "-m", "gridgov.cli"]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real ``gridgov`` command in a subprocess with a controlled environment."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([*GRIDGOV, *args], capture_output=True, text=True, env=full, timeout=180)


@pytest.fixture(scope="module")
def scratch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GRIDGOV_HOME under /tmp/pytest-of-*/ (0700 when root: exercises the fallback data root)."""
    return tmp_path_factory.mktemp("gridgov-home")


@pytest.fixture(scope="module")
def scratch_cluster(scratch_home: Path):  # type: ignore[no-untyped-def]
    """A second embedded cluster, destroyed after the module."""
    c = EmbeddedCluster(scratch_home)
    yield c
    c.destroy()


def test_up_url_psql_postgis_down(scratch_home: Path, scratch_cluster: EmbeddedCluster) -> None:
    env = {"GRIDGOV_HOME": str(scratch_home)}
    up = run_cli(["db", "up", "--json"], env)
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    assert info["running"] is True and info["external"] is False and info["port"] > 0

    again = run_cli(["db", "up", "--json"], env)  # idempotent: same server, same port
    assert again.returncode == 0 and json.loads(again.stdout)["pid"] == info["pid"]

    url = run_cli(["db", "url"], env).stdout.strip()
    assert url.startswith("postgresql://gridgov:") and f":{info['port']}/gridgov" in url
    psql = subprocess.run(["psql", url, "-tAc", "SELECT postgis_version()"], capture_output=True, text=True)
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip().startswith("3.")

    status = run_cli(["db", "status", "--json"], env)
    assert json.loads(status.stdout)["running"] is True

    assert run_cli(["db", "down"], env).returncode == 0
    assert run_cli(["db", "down"], env).returncode == 0  # idempotent
    stopped = run_cli(["db", "status"], env)
    assert stopped.returncode == 3 and "未运行" in stopped.stdout
    no_url = run_cli(["db", "url"], env)
    assert no_url.returncode == 3 and "gridgov db up" in no_url.stderr and "Traceback" not in no_url.stderr

    back = run_cli(["db", "up", "--json"], env)  # restarts on the remembered port, unless it was taken meanwhile
    assert back.returncode == 0
    port = json.loads(back.stdout)["port"]
    assert port == info["port"] or not _port_free(info["port"])


def test_database_url_overrides_embedded(scratch_home: Path, scratch_cluster: EmbeddedCluster, tmp_path: Path) -> None:
    scratch_cluster.up()
    external = scratch_cluster.url()
    other_home = tmp_path / "unused-home"
    env = {"GRIDGOV_HOME": str(other_home), "GRIDGOV_DATABASE_URL": external}

    assert run_cli(["db", "url"], env).stdout.strip() == external
    status = json.loads(run_cli(["db", "status", "--json"], env).stdout)
    assert status["external"] is True and status["running"] is True
    migrated = run_cli(["db", "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    with psycopg.connect(external) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
        assert conn.execute("SELECT to_regclass('public.grid')").fetchone() == ("grid",)
    assert not (other_home / "pg").exists()  # nothing embedded was created
    assert "无需停止" in run_cli(["db", "down"], env).stdout
