"""systemd units of an installation (``gridgov deploy systemd``): the embedded database, the web server, and the
scheduled backup with its timer.

The database unit runs PostgreSQL in the foreground: ``gridgov db run`` prepares the cluster and replaces itself
with ``postgres``, so the unit's main process is the postmaster itself and systemd supervises it directly (no pid
file to trust, a crash is seen at once and restarted). It is ``Type=notify`` when the server is built with
systemd support (Debian's is): PostgreSQL reports "ready" once it accepts connections, so the web unit ordered
after it never meets a server still recovering. As the PostgreSQL manual recommends, the stop signal is SIGINT
(fast shutdown: sessions end, the data is flushed) sent to the postmaster only (``KillMode=mixed``), which stops
its own children, with no stop timeout (a SIGKILL mid-checkpoint would cost a crash recovery).

The web unit runs ``gridgov serve`` (uvicorn with ``GRIDGOV_WORKERS`` processes) after the database, restarts
on failure, and stops on SIGTERM with a grace period for requests under way. The backup timer runs
``gridgov backup --scheduled`` at ``GRIDGOV_BACKUP_TIME``, catching up a run missed while the machine was off.

Settings: the units carry ``GRIDGOV_HOME`` (absolute) and every other ``GRIDGOV_*`` setting of the deploying
shell's environment that differs from its default; secrets (a database URL with its password, the session key,
the 天地图 key) are never written into a unit (units are world-readable) but into the 0600 environment file
the units read, which also takes the operator's later changes. ``.env`` in the working directory is read by
gridgov itself, so its values are not copied (a copy would silently override later edits of it).
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_settings import BaseSettings

from gridgov.errors import InstallationError, InvalidInput

DB_UNIT = "gridgov-db.service"
WEB_UNIT = "gridgov-web.service"
BACKUP_UNIT = "gridgov-backup.service"
BACKUP_TIMER = "gridgov-backup.timer"
UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = Path("/etc/gridgov/gridgov.env")
ENV_PREFIX = "GRIDGOV_"
SECRET_SETTINGS = frozenset({"database_url", "secret_key", "tianditu_key"})
WEB_STOP_GRACE_S = 30  # requests under way may finish (uvicorn's graceful shutdown); then systemd kills
SERVE_GRACE_S = 20  # gridgov serve's own limit for open connections, below the unit's
# Where the PostgreSQL manual's unit has the server report readiness: its binary links libsystemd.
_SD_NOTIFY_LIB = b"libsystemd.so"


@dataclass(frozen=True)
class Installation:
    """What the units run and with which settings."""

    command: tuple[str, ...]  # the installation's ``gridgov`` (absolute)
    workdir: Path
    home: Path
    environment: dict[str, str]  # GRIDGOV_* for the units, GRIDGOV_HOME included; no secrets
    env_file: Path
    embedded: bool  # the embedded PostGIS (no GRIDGOV_DATABASE_URL): the database unit is written
    backup_time: str
    backup_keep: int
    user: str | None = None
    notify: bool = True  # the database unit is Type=notify (else simple)
    secrets: dict[str, str] = field(default_factory=dict)  # GRIDGOV_* secrets for the environment file


def gridgov_command() -> tuple[str, ...]:
    """How to run this installation's ``gridgov``: the console script next to this Python, else ``python -m``."""
    script = Path(sys.prefix) / "bin" / "gridgov"
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script.absolute()),)
    return (str(Path(sys.executable).absolute()), "-m", "gridgov.cli")


def postgres_notifies(postgres: Path) -> bool:
    """Whether this ``postgres`` binary can tell systemd it is ready (built with systemd support)."""
    try:
        return _SD_NOTIFY_LIB in postgres.read_bytes()
    except OSError:
        return False


def _env_value(value: object, workdir: Path) -> str:
    if isinstance(value, Path):
        return str(value if value.expanduser().is_absolute() else workdir / value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


def settings_environment(settings: BaseSettings, environ: Mapping[str, str], workdir: Path) -> tuple[
        dict[str, str], dict[str, str]]:  # fmt: skip
    """(plain, secret) ``GRIDGOV_*`` variables for the units: the settings the environment sets to a value other
    than the default (relative paths made absolute against ``workdir``), secrets apart."""
    given = {k.upper(): v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, info in type(settings).model_fields.items():
        var = ENV_PREFIX + name.upper()
        value = getattr(settings, name)
        if var not in given or value is None or value == info.get_default(call_default_factory=True):
            continue
        (secret if name in SECRET_SETTINGS else plain)[var] = _env_value(value, workdir)
    return plain, secret


def _escape(text: str) -> str:
    """``%`` is a specifier in every unit setting."""
    return text.replace("%", "%%")


def _quote(word: str) -> str:
    """One word of a command line (ExecStart=): ``$`` would expand a variable, blanks and quotes split."""
    word = _escape(word).replace("$", "$$")
    if word and not re.search(r"[\s\"'\\;]", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _command(inst: Installation, *args: str) -> str:
    return " ".join(_quote(w) for w in (*inst.command, *args))


def _environment_lines(inst: Installation) -> list[str]:
    lines = [f"WorkingDirectory={_escape(str(inst.workdir))}"]
    for name, value in sorted(inst.environment.items()):
        assignment = f"{name}={value}"
        lines.append('Environment="' + _escape(assignment).replace("\\", "\\\\").replace('"', '\\"') + '"')
    lines.append(f"EnvironmentFile=-{_escape(str(inst.env_file))}")  # optional: "-"
    if inst.user:
        lines.append(f"User={inst.user}")
    return lines


def _unit(sections: Sequence[tuple[str, Sequence[str]]]) -> str:
    head = "# Written by gridgov deploy systemd; run it again rather than editing (settings: the environment file).\n"
    return head + "\n".join(f"[{name}]\n" + "".join(f"{line}\n" for line in lines) for name, lines in sections)


def render_units(inst: Installation) -> dict[str, str]:
    """The unit files (name → text): database (embedded only), web, backup service and timer."""
    units: dict[str, str] = {}
    needs = [f"Requires={DB_UNIT}", f"After=network.target {DB_UNIT}"] if inst.embedded else [
        "Wants=network-online.target", "After=network-online.target"]  # fmt: skip
    where = _escape(str(inst.home))
    if inst.embedded:
        ready = ["Type=notify", f"ExecStart={_command(inst, 'db', 'run')}",
                 # creates the database and PostGIS on a new cluster; a no-op afterwards
                 f"ExecStartPost={_command(inst, 'db', 'up')}"] if inst.notify else [
                 "Type=simple", f"ExecStart={_command(inst, 'db', 'run')}"]  # fmt: skip
        units[DB_UNIT] = _unit([
            ("Unit", [f"Description=gridgov 嵌入式 PostGIS 数据库（{where}）", "Documentation=man:postgres(1)",
                      "After=network.target"]),
            ("Service", [*ready, *_environment_lines(inst), "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=mixed",
                         "KillSignal=SIGINT", "TimeoutSec=infinity", "Restart=on-failure", "RestartSec=5s"]),
            ("Install", ["WantedBy=multi-user.target"]),
        ])  # fmt: skip
    units[WEB_UNIT] = _unit([
        ("Unit", [f"Description=gridgov 网格化管理：网页与 API（{where}）", *needs]),
        ("Service", ["Type=exec", f"ExecStart={_command(inst, 'serve')}", *_environment_lines(inst), "KillMode=mixed",
                     f"TimeoutStopSec={WEB_STOP_GRACE_S}s", "Restart=on-failure", "RestartSec=5s"]),
        ("Install", ["WantedBy=multi-user.target"]),
    ])  # fmt: skip
    units[BACKUP_UNIT] = _unit([
        ("Unit", [f"Description=gridgov 定时备份（保留最近 {inst.backup_keep} 份）", *needs]),
        ("Service", ["Type=oneshot", f"ExecStart={_command(inst, 'backup', '--scheduled')}",
                     *_environment_lines(inst), "Nice=10", "IOSchedulingClass=idle"]),
    ])  # fmt: skip
    units[BACKUP_TIMER] = _unit([
        ("Unit", ["Description=gridgov 定时备份计划"]),
        ("Timer", [f"OnCalendar={_escape(inst.backup_time)}", "Persistent=true", f"Unit={BACKUP_UNIT}"]),
        ("Install", ["WantedBy=timers.target"]),
    ])  # fmt: skip
    return units


def check_calendar(expression: str) -> None:
    """Refuse a backup time systemd cannot read (checked by ``systemd-analyze calendar`` where installed)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return
    proc = subprocess.run([tool, "calendar", expression], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InvalidInput(f"GRIDGOV_BACKUP_TIME 不是有效的 systemd 时间表达式：{expression}"
                           "（例：*-*-* 02:30:00 每天 2:30，Sun 03:00 每周日 3:00）")  # fmt: skip


def check_user(user: str | None, home: Path) -> list[str]:
    """Refuse an unknown user; warnings (Chinese) when the installation's files belong to someone else."""
    if user is None:
        return []
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise InvalidInput(f"系统用户不存在：{user}（先用 useradd 创建）") from None
    try:
        owner = home.stat().st_uid
    except OSError:
        return []
    if owner != pw.pw_uid:
        return [f"GRIDGOV_HOME（{home}）不属于用户 {user}：服务以该用户运行时可能无法读写，"
                f"请执行 chown -R {user} {home}（嵌入式数据库也须由该用户初始化）"]  # fmt: skip
    return []


def write_units(units: Mapping[str, str], directory: Path) -> list[Path]:
    """Write the unit files into ``directory`` (0644, replacing older ones); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = directory / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, path)
        written.append(path)
    return written


def _env_file_value(value: str) -> str:
    """A value as systemd's environment files read it literally (single quotes: no ``$`` expansion)."""
    if "\n" in value:
        raise InvalidInput("设置值不能含换行")
    if "'" not in value:
        return f"'{value}'"
    return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'


def write_env_file(path: Path, values: Mapping[str, str]) -> Path | None:
    """Set ``values`` in the environment file (0600; other lines kept); None when there is nothing to set."""
    if not values:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kept = []
    if path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.split("=", 1)[0].strip() not in values]  # fmt: skip
    lines = [*kept, *(f"{k}={_env_file_value(v)}" for k, v in sorted(values.items()))]
    fd = os.open(path.with_name(f".{path.name}.tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path.with_name(f".{path.name}.tmp"), path)
    return path


def started_units(units: Mapping[str, str]) -> list[str]:
    """The units ``--enable`` starts at boot: the services with an [Install] section, and the timer."""
    return [name for name, text in units.items() if "[Install]" in text]


def enable(names: Sequence[str]) -> list[list[str]]:
    """``systemctl daemon-reload`` and ``systemctl enable --now`` the units; returns the commands run."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        raise InstallationError("未找到 systemctl：此系统不使用 systemd，无法启用服务（单元文件已写入）")
    commands = [[systemctl, "daemon-reload"], [systemctl, "enable", "--now", *names]]
    for cmd in commands:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise InstallationError(f"{' '.join(cmd[1:3])} 失败：{(proc.stderr or proc.stdout).strip()[-600:]}"
                                    "（单元文件已写入；用 journalctl -u gridgov-web 查看原因）")  # fmt: skip
    return commands
