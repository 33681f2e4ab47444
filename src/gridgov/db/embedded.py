"""A private PostgreSQL + PostGIS cluster under ``GRIDGOV_HOME``, run from the system's binaries.

PostgreSQL refuses to run as root, so when gridgov is run as root the server runs as an
unprivileged system user (``GRIDGOV_PG_USER``, default ``postgres``, created by Debian's package).
The server listens on 127.0.0.1 only, on a free port chosen at first start and kept while nothing else
listens on it (lingering TIME_WAIT connections of a killed or stopped server do not count), with
password (scram-sha-256) authentication for a superuser named ``gridgov``. Clients read the port per
connection (:meth:`EmbeddedCluster.current_port`), so a running ``gridgov serve`` follows a restart.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gridgov.errors import DatabaseUnavailable

MIN_PG_MAJOR = 13
SUPERUSER = "gridgov"
# Where the cluster goes when the server's user cannot reach GRIDGOV_HOME (e.g. a clone under /root).
FALLBACK_ROOT = Path("/var/lib/gridgov/clusters")

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: socket paths break in deep checkouts (107-byte limit)
    "shared_buffers": "'256MB'",
    "work_mem": "'64MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'4GB'",
    "max_connections": "100",
    "timezone": "'Asia/Shanghai'",
    "log_timezone": "'Asia/Shanghai'",
}


@dataclass(frozen=True)
class PgBinaries:
    """A PostgreSQL installation with PostGIS available."""

    bindir: Path
    major: int


@dataclass(frozen=True)
class ClusterStatus:
    """What ``gridgov db status`` reports."""

    running: bool
    initialised: bool
    port: int | None
    pid: int | None
    data_dir: Path
    pg_major: int | None

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "running": self.running,
            "initialised": self.initialised,
            "port": self.port,
            "pid": self.pid,
            "data_dir": str(self.data_dir),
            "pg_major": self.pg_major,
        }


def find_binaries() -> PgBinaries:
    """The newest system PostgreSQL (>= 13) whose share directory has the PostGIS extension."""
    found: list[PgBinaries] = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        m = re.match(r"(\d+)", bindir.parent.name)
        if not m:
            continue
        major = int(m.group(1))
        if major >= MIN_PG_MAJOR and glob.glob(f"/usr/share/postgresql/{major}/extension/postgis.control"):
            found.append(PgBinaries(bindir, major))
    if not found:
        raise DatabaseUnavailable(
            "未找到 PostgreSQL ≥ 13 与 PostGIS ≥ 3。请先运行 scripts/bootstrap.sh（安装 postgresql 与 postgis）。"
        )
    return max(found, key=lambda b: b.major)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    """True unless something listens on 127.0.0.1:``port``.

    The probe binds with ``SO_REUSEADDR``, as the postmaster does: connections of a stopped or killed server
    linger in TIME_WAIT for a minute and make a plain ``bind`` fail, yet the server can listen there again.
    On Linux the reusing bind still fails while a socket listens on the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0  # nothing answers


def _is_postgres(pid: int) -> bool:
    """True when ``pid`` is a live PostgreSQL server process (not a stranger that reused a dead server's pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    argv0 = cmdline.split(b"\0", 1)[0]
    return argv0.endswith((b"postgres", b"postmaster"))


class EmbeddedCluster:
    """The cluster under one GRIDGOV_HOME. Every operation is idempotent."""

    def __init__(self, home: Path, pg_user: str = "postgres") -> None:
        self.home = home.expanduser().resolve()
        self.root = self.home / "pg"
        self.state_file = self.home / "pg-state.json"
        self.password_file = self.home / "pg-password"
        self._as_root = os.geteuid() == 0
        self.server_user = pg_user if self._as_root else pwd.getpwuid(os.geteuid()).pw_name

    # -- paths -------------------------------------------------------------------------------
    @property
    def real_root(self) -> Path:
        """The cluster directory with the fallback symlink resolved (the server's user sees this path)."""
        return self.root.resolve()

    @property
    def data_dir(self) -> Path:
        """The PGDATA directory."""
        return self.real_root / "data"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.real_root / "log" / "postgres.log"

    # -- process helpers ---------------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command as the server's user."""
        cmd = ["runuser", "-u", self.server_user, "--", *args] if self._as_root else args
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise DatabaseUnavailable(f"命令失败：{' '.join(args[:2])}：{(proc.stderr or proc.stdout).strip()[-800:]}")
        return proc

    def _ensure_server_user(self) -> None:
        if not self._as_root:
            return
        try:
            pwd.getpwnam(self.server_user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.server_user],
                check=True,
            )

    def _chown(self, path: Path) -> None:
        if self._as_root:
            pw = pwd.getpwnam(self.server_user)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _server_user_can_use(self, path: Path) -> bool:
        if not self._as_root:
            return True
        return self._run(["test", "-w", str(path)], check=False).returncode == 0

    def _prepare_root(self) -> None:
        """Create the cluster's directory, owned by the server's user and reachable by it."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.root.is_symlink() or self.root.is_dir():
            return
        self.root.mkdir()
        self._chown(self.root)
        if not self._server_user_can_use(self.root):
            # The server's user cannot traverse a parent (e.g. /root is 0700): keep the files
            # in a system directory and link them here, rather than loosening the user's dirs.
            self.root.rmdir()
            target = FALLBACK_ROOT / hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
            target.mkdir(parents=True, exist_ok=True)
            self._chown(target)
            self.root.symlink_to(target, target_is_directory=True)

    # -- state -------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, object]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return {}

    def _write_state(self, state: dict[str, object]) -> None:
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.state_file)  # atomic: readers (every new connection) never see half a file

    def password(self) -> str:
        """The superuser password, created on first use and kept private to the invoking user."""
        if not self.password_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    @property
    def initialised(self) -> bool:
        """True when PGDATA holds a cluster."""
        return (self.data_dir / "PG_VERSION").exists()

    def _pid_and_port(self) -> tuple[int | None, int | None]:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None, None
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        return pid, port

    def status(self) -> ClusterStatus:
        """Whether the cluster exists and runs, and on which port."""
        running = False
        major: int | None = None
        if self.initialised:
            major = int((self.data_dir / "PG_VERSION").read_text().strip())
            bins = self._bins_for(major)
            if bins is not None:
                proc = self._run([str(bins.bindir / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False)
                pid = self._pid_and_port()[0]
                # pg_ctl trusts any live pid in postmaster.pid: after kill -9 the pid may belong to a stranger.
                running = proc.returncode == 0 and (pid is None or _is_postgres(pid))
        pid, port = self._pid_and_port() if running else (None, None)
        if port is None:
            stored = self._read_state().get("port")
            port = int(str(stored)) if stored is not None else None
        return ClusterStatus(running, self.initialised, port, pid, self.data_dir, major)

    def _bins_for(self, major: int) -> PgBinaries | None:
        bindir = Path(f"/usr/lib/postgresql/{major}/bin")
        return PgBinaries(bindir, major) if (bindir / "pg_ctl").exists() else None

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster if it does not exist."""
        if self.initialised:
            return
        bins = find_binaries()
        self._ensure_server_user()
        self._prepare_root()
        for sub in ("log",):
            d = self.real_root / sub
            d.mkdir(exist_ok=True)
            self._chown(d)
        pwfile = self.real_root / ".pwfile"
        pwfile.write_text(self.password() + "\n")
        self._chown(pwfile)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(bins.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = "\n# gridgov\n" + "".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items())
        conf_path = self.data_dir / "postgresql.conf"
        # Appending as root keeps ownership (the file already exists and belongs to the server user).
        with open(conf_path, "a") as f:
            f.write(conf)

    def up(self) -> ClusterStatus:
        """Initialise if needed, start if stopped, and make sure the database and PostGIS exist."""
        self.init()
        st = self.status()
        if not st.running:
            self._remove_stale_pidfile()
            port = self._claim_port()
            bins = self._cluster_bins()
            self._run(
                [
                    str(bins.bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "90",
                    "-o",
                    f"-p {port}",
                ]
            )
            st = self.status()
        self._ensure_database("gridgov")
        return st

    def _claim_port(self) -> int:
        """The port to start on (the remembered one while free, else a new one), recorded before the start so a
        client reading it (current_port) never sees an old one."""
        state = self._read_state()
        stored = state.get("port")
        port = int(str(stored)) if stored is not None and _port_free(int(str(stored))) else _free_port()
        state["port"] = port
        self._write_state(state)
        return port

    def _cluster_bins(self) -> PgBinaries:
        return self._bins_for(int((self.data_dir / "PG_VERSION").read_text().strip())) or find_binaries()

    def foreground_command(self) -> list[str]:
        """Prepare a foreground start (``gridgov db run``, for a supervisor such as systemd) and return the
        ``postgres`` command line to replace the caller with.

        The cluster is created if needed; a server started in the background (``gridgov db up``) is stopped
        first, so the supervisor owns the one server. The server logs to stderr (the supervisor's journal).
        """
        self.init()
        if self.status().running:
            self.down()
        self._remove_stale_pidfile()
        port = self._claim_port()
        return [str(self._cluster_bins().bindir / "postgres"), "-D", str(self.data_dir), "-p", str(port)]

    def exec_foreground(self) -> None:
        """Become the PostgreSQL server (:meth:`foreground_command`): same process id, so a supervisor's signals
        reach the postmaster itself; as root, as the server's user. Returns only by raising."""
        argv = self.foreground_command()
        if self._as_root:
            pw = pwd.getpwnam(self.server_user)
            os.initgroups(pw.pw_name, pw.pw_gid)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os.environ.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
        os.chdir("/")  # the caller's directory may be closed to the server's user
        os.execv(argv[0], argv)

    def _remove_stale_pidfile(self) -> None:
        """Delete a postmaster.pid left by a killed server whose pid now belongs to another process.

        PostgreSQL removes its own stale lock file when the pid is dead, but refuses to start while the pid is
        alive, even when it is not a postgres process (pids are reused, quickly in containers).
        """
        pid = self._pid_and_port()[0]
        if pid is not None and not _is_postgres(pid):
            self._run(["rm", "-f", str(self.data_dir / "postmaster.pid")], check=False)

    def current_port(self) -> int | None:
        """The port the server listens on, or was last started on (cheap: reads files only, per connection)."""
        pid, port = self._pid_and_port()
        if port is not None and pid is not None and _is_postgres(pid):
            return port
        stored = self._read_state().get("port")
        return int(str(stored)) if stored is not None else None

    def down(self) -> ClusterStatus:
        """Stop the server (fast shutdown) if it runs."""
        st = self.status()
        if st.running and st.pg_major is not None:
            bins = self._bins_for(st.pg_major) or find_binaries()
            self._run([str(bins.bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"])
        return self.status()

    def destroy(self) -> None:
        """Stop and delete the cluster and its files (used by tests on throw-away homes)."""
        self.down()
        target = self.root.resolve()
        if self.root.is_symlink():
            self.root.unlink()
        shutil.rmtree(target, ignore_errors=True)
        for f in (self.state_file, self.password_file):
            f.unlink(missing_ok=True)

    def url(self, database: str = "gridgov") -> str:
        """A libpq URL (``psql`` accepts it) for the running cluster."""
        st = self.status()
        if not st.running or st.port is None:
            raise DatabaseUnavailable("嵌入式数据库未运行，请先执行 gridgov db up。")
        return f"postgresql://{SUPERUSER}:{self.password()}@127.0.0.1:{st.port}/{database}"

    def _ensure_database(self, name: str) -> None:
        import psycopg

        with contextlib.closing(psycopg.connect(self.url("postgres"), autocommit=True)) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        with contextlib.closing(psycopg.connect(self.url(name), autocommit=True)) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
