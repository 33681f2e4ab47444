"""``gridgov backup`` and ``gridgov restore``: the whole installation in one file, and back into an empty one."""

from __future__ import annotations

from pathlib import Path

import typer

from gridgov.cli.common import current_actor, echo_json, engine, get_settings

JsonOpt = typer.Option(False, "--json", help="以 JSON 输出")


def _size(n: int) -> str:
    """A file size for people (KB / MB / GB)."""
    for unit, step in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= step:
            return f"{n / step:.1f} {unit}"
    return f"{n} 字节"


def backup(
    out: Path | None = typer.Option(
        None, "--out", "-o", help="备份文件或目录（默认当前目录，文件名 gridgov-<街道编码>-<时间>.gridgov-backup）"
    ),
    scheduled: bool = typer.Option(
        False,
        "--scheduled",
        help="定时备份：写入 GRIDGOV_BACKUP_DIR（默认 GRIDGOV_HOME/backups），只保留最新的 GRIDGOV_BACKUP_KEEP 份",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """备份整个安装：数据库（一致的快照，含事件照片与会议记录）与数据文件，写成一个文件。

    备份文件含个人信息，权限为 0600，请妥善保管。
    """
    import datetime as dt
    from zoneinfo import ZoneInfo

    from gridgov.db.engine import libpq_url
    from gridgov.ops.backup import create_backup, prune

    if scheduled and out is not None:
        raise typer.BadParameter("--scheduled 与 --out 不能同时使用", param_hint="--out")
    s = get_settings()
    eng = engine()  # starts the embedded server if needed
    directory = (s.backup_dir or s.home_abs / "backups").expanduser() if scheduled else None
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = create_backup(eng, current_actor(), libpq_url(s), directory or out or Path.cwd(), home=s.home_abs,
                         now=dt.datetime.now(ZoneInfo(s.timezone)))  # fmt: skip
    pruned = prune(directory, s.backup_keep) if directory is not None else []
    if as_json:
        echo_json(made.as_dict() | {"pruned": [str(p) for p in pruned]})
        return
    rows = sum(made.tables.values())
    typer.echo(f"已备份到 {made.path}（{_size(made.size)}，用时 {made.seconds:.1f} 秒；"
               f"{len(made.tables)} 个表共 {rows} 行，数据文件 {len(made.files)} 个）")  # fmt: skip
    if pruned:
        typer.echo(f"已删除较早的定时备份 {len(pruned)} 份（保留最新 {s.backup_keep} 份）")


def restore(
    file: Path = typer.Argument(..., help="gridgov backup 写出的备份文件"),
    as_json: bool = JsonOpt,
) -> None:
    """把备份恢复到空的安装中（数据库中已有数据时拒绝，不做任何更改）；备份较旧时随后迁移表结构到最新版本。"""
    from gridgov.db.engine import libpq_url
    from gridgov.ops.backup import restore_backup

    s = get_settings()
    eng = engine()  # starts the embedded server if needed
    done = restore_backup(eng, current_actor(), libpq_url(s), file, home=s.home_abs)
    if as_json:
        echo_json(done.as_dict())
        return
    rows = sum(done.tables.values())
    migrated = f"，表结构已从 {done.revision} 迁移到 {done.migrated_to}" if done.migrated_to != done.revision else ""
    typer.echo(f"已恢复 {done.path.name}（街道 {done.street}，备份于 {done.created_at}）："
               f"{len(done.tables)} 个表共 {rows} 行与备份清单一致，数据文件 {len(done.files)} 个{migrated}；"
               f"用时 {done.seconds:.1f} 秒")  # fmt: skip
