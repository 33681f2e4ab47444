"""``gridgov deploy``: run the installation as system services (``gridgov.ops.units``)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from gridgov.cli.common import echo_json, get_settings

app = typer.Typer(help="部署：把本安装登记为系统服务（开机自启、故障重启、定时备份）。", no_args_is_help=True)


@app.command()
def systemd(
    directory: Path = typer.Option(Path("/etc/systemd/system"), "--dir", help="单元文件写入的目录"),
    user: str = typer.Option(None, "--user", help="服务以此系统用户运行（默认 root：数据库进程降为 GRIDGOV_PG_USER）"),
    env_file: Path = typer.Option(Path("/etc/gridgov/gridgov.env"), "--env-file",
                                  help="服务读取的环境文件（权限 600；机密设置写在这里，不写进单元文件）"),
    enable: bool = typer.Option(
        False, "--enable", help="写入后执行 systemctl daemon-reload 与 enable --now（立即启动）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """写入 systemd 单元：gridgov-db.service（嵌入式数据库；设置了 GRIDGOV_DATABASE_URL 时不写）、gridgov-web.service、
    gridgov-backup.service 与 gridgov-backup.timer（按 GRIDGOV_BACKUP_TIME 备份，保留 GRIDGOV_BACKUP_KEEP 份）。
    只写文件，不改数据库。当前目录作为服务的工作目录（其中的 .env 由服务自己读取）。"""
    from gridgov.db.embedded import find_binaries
    from gridgov.db.engine import uses_external
    from gridgov.ops import units as u

    s = get_settings()
    workdir = Path.cwd()
    embedded = not uses_external(s)
    u.check_calendar(s.backup_time)
    warnings = u.check_user(user, s.home_abs)
    plain, secrets = u.settings_environment(s, os.environ, workdir)
    notify = u.postgres_notifies(find_binaries().bindir / "postgres") if embedded else False
    inst = u.Installation(
        command=u.gridgov_command(), workdir=workdir, home=s.home_abs,
        environment=plain | {"GRIDGOV_HOME": str(s.home_abs)}, env_file=env_file.absolute(), embedded=embedded,
        backup_time=s.backup_time, backup_keep=s.backup_keep, user=user, notify=notify, secrets=secrets,
    )  # fmt: skip
    units = u.render_units(inst)
    written = u.write_units(units, directory)
    env_written = u.write_env_file(inst.env_file, secrets)
    started = u.started_units(units)
    if enable:
        u.enable(started)
    logs = s.log_dir or s.home_abs / "logs"
    backups = s.backup_dir or s.home_abs / "backups"
    if as_json:
        echo_json({"dir": str(directory), "written": [str(p) for p in written], "units": list(units),
                   "env_file": str(env_written) if env_written else None, "enabled": enable, "started": started,
                   "logs": str(logs), "backups": str(backups), "warnings": warnings})  # fmt: skip
        return
    for p in written:
        typer.echo(f"已写入 {p}")
    if env_written:
        typer.echo(f"机密设置已写入 {env_written}（权限 600）")
    for w in warnings:
        typer.echo(f"注意：{w}", err=True)
    names = " ".join(started)
    if enable:
        typer.echo(f"已启用并启动：{names}（开机自动启动）")
    else:
        typer.echo(f"启用并立即启动：systemctl daemon-reload && systemctl enable --now {names}")
    typer.echo(f"查看状态：systemctl status gridgov-web；日志：{logs}（及 journalctl -u gridgov-web）")
    typer.echo(f"备份：{backups}")
