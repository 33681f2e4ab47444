"""Restarts of the embedded server: the port stays, a running app reconnects, a stale pid file is no obstacle.

Everything runs on a throw-away cluster under a tmp GRIDGOV_HOME: the shared cluster is never stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.db.embedded import EmbeddedCluster
from gridgov.db.engine import get_engine
from gridgov.db.migrate import upgrade

from tests.db.test_embedded import run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A GRIDGOV_HOME with its own running, migrated cluster (destroyed after the module)."""
    h = tmp_path_factory.mktemp("restart-home")
    c = EmbeddedCluster(h)
    c.up()
    settings = Settings(home=h, database_url=None)
    upgrade(get_engine(settings))
    yield h
    get_engine(settings).dispose()
    c.destroy()


@pytest.fixture
def cluster(home: Path) -> EmbeddedCluster:
    """The module's cluster, running."""
    c = EmbeddedCluster(home)
    c.up()
    return c


@pytest.fixture
def client(home: Path, tmp_path: Path) -> Iterator[TestClient]:
    """An app built (with its engine) while the server runs, before any restart."""
    app = create_app(Settings(home=home, database_url=None, maps_dir=tmp_path / "maps"))
    with TestClient(app) as c:
        assert c.get("/api/grids").status_code == 200  # a pooled connection that the restart will kill
        yield c


def _kill_postmaster(c: EmbeddedCluster) -> None:
    pid = c.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not c.status().running:
            return
        time.sleep(0.1)
    raise AssertionError("postmaster did not die")


def _plain_bind_fails(port: int) -> bool:
    """True while closed connections of the killed server still hold its port (TIME_WAIT, FIN_WAIT2 …): the old
    free-port probe, a bind without SO_REUSEADDR, then took the port for busy and moved the server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_kill_9_keeps_the_port_and_the_running_app_reconnects(cluster: EmbeddedCluster, client: TestClient) -> None:
    port = cluster.status().port
    assert port is not None
    _kill_postmaster(cluster)
    assert _plain_bind_fails(port)

    down = client.get("/api/grids")
    assert down.status_code == 503
    assert down.json() == {"detail": down.json()["detail"], "error": "DatabaseUnavailable", "details": None,
                           "request_id": down.headers["X-Request-ID"]}
    assert "数据库不可用" in down.json()["detail"]

    assert cluster.up().port == port
    after = client.get("/api/grids")  # same app, same engine: the dead pooled connection is replaced
    assert after.status_code == 200, after.text
    assert client.get("/healthz").json()["database"] == "ok"


def test_db_down_and_up_keep_the_port(home: Path, cluster: EmbeddedCluster, client: TestClient) -> None:
    port = cluster.status().port
    env = {"GRIDGOV_HOME": str(home)}
    assert run_cli(["db", "down"], env).returncode == 0
    assert client.get("/api/grids").status_code == 503
    up = run_cli(["db", "up", "--json"], env)
    assert up.returncode == 0, up.stderr
    assert cluster.status().port == port
    assert client.get("/api/grids").status_code == 200


def test_the_app_follows_a_port_that_had_to_change(cluster: EmbeddedCluster, client: TestClient) -> None:
    old = cluster.status().port
    assert old is not None
    cluster.down()
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        new = cluster.up().port
        assert new != old  # something else listens there now: a new port is chosen …
        assert client.get("/api/grids").status_code == 200  # … and the running app finds it
    finally:
        squatter.close()


def test_a_stale_pid_file_of_a_stranger_does_not_block_up(cluster: EmbeddedCluster) -> None:
    port = cluster.status().port
    _kill_postmaster(cluster)
    stranger = subprocess.Popen(["sleep", "60"])  # the dead server's pid, reused by another process
    try:
        pidfile = cluster.data_dir / "postmaster.pid"
        lines = pidfile.read_text().splitlines()
        pidfile.write_text("\n".join([str(stranger.pid), *lines[1:]]) + "\n")
        assert cluster.status().running is False
        st = cluster.up()
        assert st.running and st.port == port and st.pid != stranger.pid
    finally:
        stranger.kill()
        stranger.wait()
