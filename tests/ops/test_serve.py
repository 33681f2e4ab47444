"""``gridgov serve``: refuses a database behind the code's schema; with two workers on one port both log into the
same files, a worker that starts (after another died) fails only the dead worker's jobs, and SIGTERM stops all
of them gracefully."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gridgov.db.engine import make_engine
from gridgov.db.migrate import upgrade
from gridgov.db.models import Job
from gridgov.jobs.store import INTERRUPTED, runner_id

GRIDGOV = [sys.executable, "-m", "gridgov.cli"]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it is true; fail with ``what`` after ``timeout`` seconds (a deadline, not a timing
    assertion: a healthy run passes in a fraction of it)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"等待超时：{what}")
        time.sleep(0.3)


def healthy(base: str) -> bool:
    """Whether ``base``/healthz answers 200."""
    try:
        return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` and that are multiprocessing workers (uvicorn's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.M)
        zombie = re.search(r"^State:\s+Z", status, re.M)
        if parent and int(parent.group(1)) == pid and b"spawn_main" in cmdline and not zombie:
            found.append(int(entry.name))
    return sorted(found)


def env_for(url: str, home: Path) -> dict[str, str]:
    """The test process's environment without its GRIDGOV_* settings, with this database and home."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | {
        "GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(home)}  # fmt: skip


@contextlib.contextmanager
def database(server_url: str, migrated: bool) -> Iterator[str]:
    """A new database on the test server (migrated or empty), dropped afterwards."""
    name = f"gridgov_serve_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    with contextlib.closing(psycopg.connect(server_url, autocommit=True)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            eng = make_engine(url)
            upgrade(eng)
            eng.dispose()
        yield url
    finally:
        with contextlib.closing(psycopg.connect(server_url, autocommit=True)) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_refuses_a_schema_behind_the_code(server_url: str, tmp_path: Path) -> None:
    port = free_port()
    with database(server_url, migrated=False) as url:
        r = subprocess.run([*GRIDGOV, "serve", "--port", str(port)], env=env_for(url, tmp_path / "home"),
                           capture_output=True, text=True, timeout=180)  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert "数据库表结构不是本版本所需" in r.stderr and "gridgov db migrate" in r.stderr
    assert "Traceback" not in r.stderr
    assert not listening(port)


def _job(session: Session, runner: str, status: str) -> int:
    job = Job(kind="test", title="测试任务", actor="tests", params={}, runner=runner, status=status)
    session.add(job)
    session.flush()
    return job.id


def test_two_workers_share_port_logs_and_jobs_and_stop_on_sigterm(server_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = (tmp_path / "serve.out").open("w")
    with database(server_url, migrated=True) as url:
        proc = subprocess.Popen([*GRIDGOV, "serve", "--port", str(port), "--workers", "2"], env=env_for(url, home),
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        eng: Engine = make_engine(url)
        try:
            wait_for(lambda: healthy(base) and len(children(proc.pid)) == 2, "两个工作进程就绪")
            first, second = children(proc.pid)
            ids = {httpx.get(f"{base}/healthz").headers["X-Request-ID"] for _ in range(20)}
            assert len(ids) == 20

            logs = home / "logs"
            app_log = (logs / "gridgov.log").read_text(encoding="utf-8")
            for pid in (first, second):
                assert f"Started server process [{pid}]" in app_log

            def all_logged() -> bool:  # a line is written just after its response is sent
                access = (logs / "access.log").read_text(encoding="utf-8")
                return all(re.search(rf" {rid} - GET /healthz 200 ", access) for rid in ids)

            wait_for(all_logged, "访问日志写入每个请求")

            host = runner_id().rpartition(":")[0]
            gone = _dead_pid()
            with Session(eng) as s, s.begin():
                kept = _job(s, f"{host}:{first}", "running")
                of_killed = _job(s, f"{host}:{second}", "running")
                of_dead = _job(s, f"{host}:{gone}", "queued")
            # The second worker dies; uvicorn starts a third, whose start-up checks the jobs of dead runners.
            os.kill(second, signal.SIGKILL)

            def settled() -> bool:
                with Session(eng) as s:
                    rows = dict(s.execute(select(Job.id, Job.status).where(Job.id.in_([of_killed, of_dead]))).all())
                return set(rows.values()) == {"failed"}

            wait_for(settled, "新工作进程把已停止进程的任务标为失败")
            wait_for(lambda: len(children(proc.pid)) == 2 and second not in children(proc.pid), "替补工作进程")
            third = next(p for p in children(proc.pid) if p != first)
            with Session(eng) as s:
                states = {j.id: (j.status, j.error) for j in s.scalars(select(Job))}
            assert states[kept] == ("running", None)  # the live worker's job is left alone
            assert states[of_killed] == ("failed", INTERRUPTED) and states[of_dead] == ("failed", INTERRUPTED)
            assert healthy(base)

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=90) == 0
            assert not listening(port)
            assert not any(Path(f"/proc/{p}").exists() for p in (first, third))
            app_log = (logs / "gridgov.log").read_text(encoding="utf-8")
            for pid in (first, third):
                assert f"Finished server process [{pid}]" in app_log  # each worker shut down gracefully
            assert app_log.count("Application shutdown complete") >= 2
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            eng.dispose()
            out.close()


def _dead_pid() -> int:
    """The id of a process that has already ended."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid
