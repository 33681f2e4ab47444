"""``gridgov deploy systemd``: the units pass ``systemd-analyze verify`` and carry the installation's settings
(secrets only in the 0600 environment file); ``--enable`` asks systemctl; and a new installation (``gridgov init``,
no sample) run from its units as systemd would (environment, working directory, readiness notification, stop
signal) survives a reboot: stopped and started again, it serves what was written before and logs with request
ids; its backup unit's archive restores into a fresh GRIDGOV_HOME with the same ledger."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gridgov.db.embedded import EmbeddedCluster

GRIDGOV = [sys.executable, "-m", "gridgov.cli"]
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWORD = "Reboot-Test-2026"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"  # the pinned assets and the division list


def run_cli(args: list[str], env: dict[str, str], cwd: Path,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The real ``gridgov`` in a subprocess, with only these GRIDGOV_* settings, in ``cwd``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")} | env
    return subprocess.run([*GRIDGOV, *args], capture_output=True, text=True, env=full, cwd=cwd, input=stdin,
                          timeout=300)  # fmt: skip


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section → key → values (keys may repeat, as Environment= does)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unescape(value: str) -> str:
    """Undo the unit files' specifier escaping (``%%``)."""
    return value.replace("%%", "%")


def environment_of(service: dict[str, list[str]]) -> dict[str, str]:
    """The variables of a [Service]'s Environment= lines and its environment file (when it exists)."""
    env: dict[str, str] = {}
    for line in service.get("Environment", []):
        for word in shlex.split(unescape(line)):
            name, _, value = word.partition("=")
            env[name] = value
    for line in service.get("EnvironmentFile", []):
        path = Path(line.removeprefix("-"))
        if path.exists():
            for word in shlex.split(path.read_text(encoding="utf-8"), comments=True):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def command_of(line: str) -> list[str]:
    """An Exec*= line as argv (``$$`` is a literal ``$``)."""
    return shlex.split(unescape(line).replace("$$", "$"))


def verify(directory: Path) -> None:
    """``systemd-analyze verify`` accepts every unit in ``directory`` without a word about them."""
    files = sorted(str(p) for p in directory.iterdir())
    proc = subprocess.run(["systemd-analyze", "verify", *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not [ln for ln in proc.stderr.splitlines() if "gridgov" in ln], proc.stderr


def test_units_verify_and_carry_the_settings(tmp_path: Path) -> None:
    work, units = tmp_path / "work", tmp_path / "units"
    work.mkdir()
    env_file = tmp_path / "etc" / "gridgov.env"
    env = {"GRIDGOV_HOME": "home", "GRIDGOV_WORKERS": "2", "GRIDGOV_BACKUP_TIME": "Sun *-*-* 03:00:00",
           "GRIDGOV_BACKUP_KEEP": "7", "GRIDGOV_MAPS_DIR": "out/maps", "GRIDGOV_SECRET_KEY": "s3cr%t$key x",
           "GRIDGOV_PORT": "8000"}  # fmt: skip
    r = run_cli(["deploy", "systemd", "--dir", str(units), "--env-file", str(env_file), "--json"], env, work)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = ["gridgov-db.service", "gridgov-web.service", "gridgov-backup.service", "gridgov-backup.timer"]
    assert out["units"] == names and out["enabled"] is False
    assert out["started"] == ["gridgov-db.service", "gridgov-web.service", "gridgov-backup.timer"]
    assert sorted(p.name for p in units.iterdir()) == sorted(names)
    verify(units)

    parsed = {n: parse_unit((units / n).read_text(encoding="utf-8")) for n in names}
    home = str((work / "home").resolve())
    for name in names[:3]:
        service = parsed[name]["Service"]
        assert service["WorkingDirectory"] == [str(work)]
        variables = environment_of(service)
        assert variables["GRIDGOV_HOME"] == home and variables["GRIDGOV_WORKERS"] == "2"
        assert variables["GRIDGOV_MAPS_DIR"] == str(work / "out" / "maps")
        assert variables["GRIDGOV_BACKUP_TIME"] == "Sun *-*-* 03:00:00"
        assert "GRIDGOV_PORT" not in [v.split("=")[0] for v in service["Environment"]]  # the default: not copied
        assert variables["GRIDGOV_SECRET_KEY"] == "s3cr%t$key x"  # from the environment file
        program = command_of(service["ExecStart"][0])[0]
        assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert all("s3cr" not in (units / n).read_text(encoding="utf-8") for n in names)  # units are world-readable

    db, web = parsed["gridgov-db.service"], parsed["gridgov-web.service"]
    assert command_of(db["Service"]["ExecStart"][0])[1:] == ["db", "run"]
    assert db["Service"]["Type"] == ["notify"] and db["Service"]["KillSignal"] == ["SIGINT"]
    assert db["Service"]["Restart"] == ["on-failure"] and db["Install"]["WantedBy"] == ["multi-user.target"]
    assert web["Unit"]["Requires"] == ["gridgov-db.service"] and "gridgov-db.service" in web["Unit"]["After"][0]
    assert web["Service"]["Restart"] == ["on-failure"] and web["Install"]["WantedBy"] == ["multi-user.target"]
    assert command_of(web["Service"]["ExecStart"][0])[1:] == ["serve"]
    backup = parsed["gridgov-backup.service"]
    assert command_of(backup["Service"]["ExecStart"][0])[1:] == ["backup", "--scheduled"]
    assert "保留最近 7 份" in backup["Unit"]["Description"][0]
    timer = parsed["gridgov-backup.timer"]["Timer"]
    assert timer == {"OnCalendar": ["Sun *-*-* 03:00:00"], "Persistent": ["true"], "Unit": ["gridgov-backup.service"]}


def test_an_external_database_has_no_database_unit(tmp_path: Path) -> None:
    units = tmp_path / "units"
    url = "postgresql://gg:pa%24%24word@db.example.internal:5432/gridgov"
    env = {"GRIDGOV_HOME": str(tmp_path / "home"), "GRIDGOV_DATABASE_URL": url}
    r = run_cli(["deploy", "systemd", "--dir", str(units), "--env-file", str(tmp_path / "gridgov.env")], env,
                tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "已写入" in r.stdout and "systemctl enable --now gridgov-web.service gridgov-backup.timer" in r.stdout
    assert sorted(p.name for p in units.iterdir()) == ["gridgov-backup.service", "gridgov-backup.timer",
                                                        "gridgov-web.service"]  # fmt: skip
    verify(units)
    web = parse_unit((units / "gridgov-web.service").read_text(encoding="utf-8"))
    assert "Requires" not in web["Unit"] and web["Unit"]["After"] == ["network-online.target"]
    assert environment_of(web["Service"])["GRIDGOV_DATABASE_URL"] == url
    assert all("pa%24" not in p.read_text(encoding="utf-8") for p in units.iterdir())


def test_a_bad_backup_time_or_user_is_refused_in_chinese(tmp_path: Path) -> None:
    units = tmp_path / "units"
    bad = run_cli(["deploy", "systemd", "--dir", str(units)],
                  {"GRIDGOV_HOME": str(tmp_path / "h"), "GRIDGOV_BACKUP_TIME": "每天两点"}, tmp_path)  # fmt: skip
    assert bad.returncode == 1 and "GRIDGOV_BACKUP_TIME 不是有效的 systemd 时间表达式" in bad.stderr
    nobody = run_cli(["deploy", "systemd", "--dir", str(units), "--user", "no-such-user-x"],
                     {"GRIDGOV_HOME": str(tmp_path / "h")}, tmp_path)  # fmt: skip
    assert nobody.returncode == 1 and "系统用户不存在：no-such-user-x" in nobody.stderr
    assert "Traceback" not in bad.stderr + nobody.stderr and not units.exists()


def test_enable_reloads_and_starts_the_units(tmp_path: Path) -> None:
    """``--enable`` runs ``systemctl daemon-reload`` then ``enable --now`` (a stand-in systemctl records them)."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" != enable ] || [ -z "$FAIL" ] || {{ echo "Failed '
                    f'to enable unit: Unit file gridgov-web.service does not exist." >&2; exit 1; }}\n')  # fmt: skip
    fake.chmod(0o755)
    env = {"GRIDGOV_HOME": str(tmp_path / "home"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    args = ["deploy", "systemd", "--dir", str(tmp_path / "units"), "--env-file", str(tmp_path / "e"), "--enable"]
    r = run_cli(args, env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert calls.read_text().splitlines() == [
        "daemon-reload", "enable --now gridgov-db.service gridgov-web.service gridgov-backup.timer"]
    assert "已启用并启动" in r.stdout
    failed = run_cli(args, env | {"FAIL": "1"}, tmp_path)
    assert failed.returncode == 8 and "enable --now 失败" in failed.stderr and "does not exist" in failed.stderr


# -- the reboot ------------------------------------------------------------------------------------------------


@dataclass
class Running:
    """A unit's main process, started as systemd would."""

    name: str
    service: dict[str, list[str]]
    proc: subprocess.Popen[bytes]
    log: Path
    extra: list[str] = field(default_factory=list)


def _wait(check, what: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    """Poll until ``check()``; fail after ``timeout`` s or when ``proc`` ended (a deadline, not a timing assert)."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}：进程已退出（{proc.returncode}）")
        if time.monotonic() > deadline:
            pytest.fail(f"等待超时：{what}")
        time.sleep(0.3)


def start_unit(units: Path, name: str, logs: Path) -> Running:
    """Start a service like systemd: its environment only (plus PATH/LANG), its working directory, its ExecStart;
    Type=notify waits for READY=1 on NOTIFY_SOCKET, then ExecStartPost runs."""
    service = parse_unit((units / name).read_text(encoding="utf-8"))["Service"]
    env = {"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8"} | environment_of(service)
    log = logs / f"{name}.{int(time.time() * 1000)}.log"
    notify = None
    if service["Type"] == ["notify"]:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        address = f"\0gridgov-test-{secrets.token_hex(6)}"  # abstract: reachable by the server's own user
        notify.bind(address)
        notify.settimeout(0.5)
        env["NOTIFY_SOCKET"] = "@" + address[1:]
    with log.open("wb") as out:
        proc = subprocess.Popen(command_of(service["ExecStart"][0]), env=env, cwd=service["WorkingDirectory"][0],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    running = Running(name, service, proc, log)
    if notify is not None:
        said: list[bytes] = []

        def ready() -> bool:
            with contextlib.suppress(TimeoutError):
                said.append(notify.recv(4096))
            return any(b"READY=1" in m.split(b"\n") for m in said)

        try:
            _wait(ready, f"{name} 就绪通知", proc)
        finally:
            notify.close()
        for line in service.get("ExecStartPost", []):
            post = subprocess.run(command_of(line), env=env, cwd=service["WorkingDirectory"][0], capture_output=True,
                                  text=True, timeout=300)  # fmt: skip
            assert post.returncode == 0, post.stderr
    return running


def stop_unit(unit: Running) -> None:
    """Stop it like systemd: ExecStop if any, else KillSignal (default SIGTERM) to the main process only
    (KillMode=mixed), then wait for it to exit."""
    assert unit.service.get("KillMode") == ["mixed"]
    assert "ExecStop" not in unit.service
    sig = getattr(signal, unit.service.get("KillSignal", ["SIGTERM"])[0])
    unit.proc.send_signal(sig)
    # systemd counts exit 0 and death by SIGHUP/SIGINT/SIGTERM/SIGPIPE as clean (uvicorn re-raises the signal
    # it handled once it has shut down gracefully).
    clean = (0, -signal.SIGHUP, -signal.SIGINT, -signal.SIGTERM, -signal.SIGPIPE)
    assert unit.proc.wait(timeout=120) in clean, unit.log.read_text(errors="replace")[-2000:]


def port_open(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[Running]]]:
    """A fresh GRIDGOV_HOME with its own embedded cluster (started by ``gridgov db up``, migrated), and the list
    of units the test starts; everything is stopped and the cluster deleted afterwards."""
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"GRIDGOV_HOME": str(home), "GRIDGOV_PORT": str(port), "GRIDGOV_NODE_MODULES": str(NODE_MODULES)}
    started: list[Running] = []
    try:
        for step in (["db", "up"], ["db", "migrate"]):
            r = run_cli(step, env, work)
            assert r.returncode == 0, r.stderr
        yield work, env, started
    finally:
        for unit in reversed(started):
            if unit.proc.poll() is None:
                unit.proc.send_signal(signal.SIGINT if unit.name == "gridgov-db.service" else signal.SIGTERM)
                try:
                    unit.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    unit.proc.kill()
                    unit.proc.wait()
        EmbeddedCluster(home).destroy()


def _street_data(env: dict[str, str], work: Path) -> None:
    """The street's grids (the test factory's three-level street) and two households, through the CLI's
    database URL and the households import, as an office would after ``init``."""
    from sqlalchemy.orm import Session

    from gridgov.db.engine import make_engine

    from tests.factories import X0, Y0, D, make_street

    url = run_cli(["db", "url"], env, work).stdout.strip()
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with Session(engine) as s, s.begin():
            make_street(s)
    finally:
        engine.dispose()
    rows = (f"code,address,kind,lon,lat\nH1,一号院1号,常住户,{X0 + D / 4},{Y0 + D / 2}\n"
            f"H2,二号院2号,租房户,{X0 + 1.5 * D},{Y0 + D / 2}\n")
    (work / "hh.csv").write_text(rows, encoding="utf-8")
    r = run_cli(["import", "households", str(work / "hh.csv")], env, work)
    assert r.returncode == 0, r.stderr


def _ledger(env: dict[str, str], work: Path, out: Path) -> list[dict[str, object]]:
    """The ledger's rows of every grid, as ``gridgov ledger`` writes them."""
    r = run_cli(["ledger", "-o", str(out)], env, work)
    assert r.returncode == 0, r.stderr
    return list(json.loads(out.read_text(encoding="utf-8"))["rows"])


def test_a_new_installation_survives_a_reboot_and_comes_back_from_its_backup(
    installation: tuple[Path, dict[str, str], list[Running]], tmp_path: Path
) -> None:
    work, env, started = installation
    home, port = Path(env["GRIDGOV_HOME"]), int(env["GRIDGOV_PORT"])
    base = f"http://127.0.0.1:{port}"
    units, logs = tmp_path / "units", tmp_path / "unit-logs"
    logs.mkdir()
    made = run_cli(["init", "--street", "610103006"], env, work)
    assert made.returncode == 0 and "文艺路街道" in made.stdout, made.stdout + made.stderr
    added = run_cli(["user", "add", "chief", "--role", "admin", "--name", "重启测试管理员", "--password-stdin"], env,
                    work, stdin=f"{PASSWORD}\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    r = run_cli(["deploy", "systemd", "--dir", str(units), "--env-file", str(tmp_path / "gridgov.env")], env, work)
    assert r.returncode == 0, r.stderr
    cluster = EmbeddedCluster(home)
    background_pid = cluster.status().pid

    def boot() -> None:
        started.append(start_unit(units, "gridgov-db.service", logs))
        started.append(start_unit(units, "gridgov-web.service", logs))
        _wait(lambda: port_open(port) and httpx.get(f"{base}/healthz").status_code == 200, "网页服务就绪",
              started[-1].proc)  # fmt: skip

    def shutdown() -> None:
        web, db = started[-1], started[-2]
        stop_unit(web)  # reverse order of After=
        stop_unit(db)
        assert not port_open(port)
        assert not cluster.status().running

    boot()
    db_pid = started[0].proc.pid
    assert cluster.status().pid == db_pid != background_pid  # the unit took over the server `db up` started
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        page = client.get("/login", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "登录" in page.text
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        done = client.post("/login", data={"csrftoken": token.group(1), "username": "chief", "password": PASSWORD,
                                           "next": "/"})  # fmt: skip
        assert done.status_code == 303, done.text[:300]
        cookies = dict(client.cookies)
        first = client.get("/", headers={"Accept": "text/html"})
        assert "开始使用" in first.text and "文艺北路一社区" in first.text  # the empty street's guide, official names
    _street_data(env, work)

    shutdown()
    boot()
    with httpx.Client(base_url=base, follow_redirects=False, cookies=cookies) as client:
        home_page = client.get("/", headers={"Accept": "text/html"})
        assert home_page.status_code == 200, home_page.text[:300]  # the login made before the reboot still holds
        assert "重启测试管理员" in home_page.text
        rid = home_page.headers["X-Request-ID"]
        missing = client.get("/api/grids/999999999999999")
        assert missing.json()["request_id"] == missing.headers["X-Request-ID"]
        assert client.get("/grids/610103006001001", headers={"Accept": "text/html"}).status_code == 200
    ledger = _ledger(env, work, tmp_path / "ledger-before.json")
    assert {r["code"]: r["households"] for r in ledger}["610103006"] == 2
    # the backup timer's service, run as systemd runs a oneshot unit
    backup = parse_unit((units / "gridgov-backup.service").read_text(encoding="utf-8"))["Service"]
    assert backup["Type"] == ["oneshot"]
    ran = subprocess.run(command_of(backup["ExecStart"][0]), cwd=backup["WorkingDirectory"][0], capture_output=True,
                         text=True, timeout=600, env={"PATH": SYSTEMD_PATH, "LANG": "C.UTF-8"} | environment_of(backup))
    assert ran.returncode == 0, ran.stderr
    [archive] = (home / "backups").glob("gridgov-610103006-*.gridgov-backup")
    shutdown()

    log_dir = home / "logs"
    access = (log_dir / "access.log").read_text(encoding="utf-8")
    assert re.search(rf" {rid} user:chief GET / 200 ", access), access
    assert re.search(rf" {missing.headers['X-Request-ID']} - GET /api/grids/999999999999999 404 ", access)  # public
    app_log = (log_dir / "gridgov.log").read_text(encoding="utf-8")
    assert app_log.count("Application startup complete") == 2 and app_log.count("Application shutdown complete") == 2
    assert PASSWORD not in access + app_log
    db_log = started[0].log.read_text(errors="replace")
    assert "database system is ready to accept connections" in db_log and "database system is shut down" in db_log

    # a new server: a fresh GRIDGOV_HOME, its database up, the archive restored: the same ledger
    other = {"GRIDGOV_HOME": str(tmp_path / "home2"), "GRIDGOV_NODE_MODULES": str(NODE_MODULES)}
    try:
        assert run_cli(["db", "up"], other, work).returncode == 0
        back = run_cli(["restore", str(archive), "--json"], other, work)
        assert back.returncode == 0, back.stderr
        assert _ledger(other, work, tmp_path / "ledger-after.json") == ledger
        users = run_cli(["user", "list", "--json"], other, work)
        assert [u["username"] for u in json.loads(users.stdout)] == ["chief"]
    finally:
        EmbeddedCluster(tmp_path / "home2").destroy()


def test_the_database_unit_starts_a_new_cluster(tmp_path: Path) -> None:
    """On a home that never had a database, the unit's ``db run`` creates the cluster, reports ready, and its
    ExecStartPost creates the database with PostGIS; SIGINT stops it. With an external database it refuses."""
    home, units, logs = tmp_path / "home", tmp_path / "units", tmp_path / "unit-logs"
    logs.mkdir()
    env = {"GRIDGOV_HOME": str(home)}
    r = run_cli(["deploy", "systemd", "--dir", str(units), "--env-file", str(tmp_path / "e")], env, tmp_path)
    assert r.returncode == 0, r.stderr
    cluster = EmbeddedCluster(home)
    assert not cluster.initialised
    try:
        db = start_unit(units, "gridgov-db.service", logs)
        st = cluster.status()
        assert st.running and st.pid == db.proc.pid
        psql = subprocess.run(["psql", cluster.url(), "-tAc", "SELECT postgis_version()"], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert psql.returncode == 0 and psql.stdout.strip().startswith("3."), psql.stderr
        stop_unit(db)
        assert not cluster.status().running
    finally:
        cluster.destroy()
    external = run_cli(["db", "run"], env | {"GRIDGOV_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}, tmp_path)
    assert external.returncode == 1 and "无需运行嵌入式数据库" in external.stderr
