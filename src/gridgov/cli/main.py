"""The ``gridgov`` command: thin typer commands over the services; errors exit with a message and the code of
the one exit-code table (``gridgov.cli.errors``)."""

from __future__ import annotations

import sys

import typer

from gridgov.cli import (
    backup,
    chinese,
    db,
    deploy,
    export,
    grids,
    imports,
    incidents,
    ledger,
    maps,
    party,
    patrol,
    records,
    sample,
    setup,
    token,
    user,
    vocab,
)
from gridgov.cli.common import COMMITS, acting, echo_json, engine, get_settings
from gridgov.cli.errors import report

chinese.apply()
app = typer.Typer(
    help="gridgov 网格化管理：街道 → 社区 → 楼院三级网格、台帐、网格图。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # its options and their help are typer's English
)
app.add_typer(db.app, name="db")
app.add_typer(grids.app, name="grids")
app.add_typer(imports.app, name="import")
app.add_typer(sample.app, name="sample")
app.add_typer(token.app, name="token")
app.add_typer(user.app, name="user")
app.command("ledger")(ledger.ledger)
app.add_typer(maps.app, name="map")
app.add_typer(export.app, name="export")
app.add_typer(vocab.app, name="vocab")
app.add_typer(patrol.app, name="patrol")
app.add_typer(incidents.app, name="incident")
app.add_typer(party.app, name="party")
app.add_typer(incidents.calendar_app, name="calendar")
app.add_typer(deploy.app, name="deploy")
app.command("init")(setup.init)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
for _word, _records in records.apps().items():
    app.add_typer(_records, name=_word)


@app.command()
def serve(
    host: str = typer.Option(None, help="监听地址（默认 GRIDGOV_HOST，即 127.0.0.1）"),
    port: int = typer.Option(None, help="端口（默认 GRIDGOV_PORT，即 8000）"),
    workers: int = typer.Option(None, min=1, max=64, help="工作进程数，共用一个端口（默认 GRIDGOV_WORKERS，即 1）"),
) -> None:
    """启动 API 与网页服务：先启动嵌入式数据库（使用时），确认表结构是最新版本，再以 N 个工作进程监听同一端口。
    日志写入 GRIDGOV_HOME/logs（gridgov.log 与 access.log，按大小轮转）并输出到终端；SIGTERM 或 Ctrl+C 平稳停止。"""
    import uvicorn

    from gridgov.db import migrate
    from gridgov.errors import DatabaseUnavailable
    from gridgov.ops.logs import log_dir_for, logging_config
    from gridgov.ops.units import SERVE_GRACE_S

    s = get_settings()
    eng = engine()  # starts the embedded server when it is used
    at, head = migrate.current(eng), migrate.head()
    eng.dispose()  # the workers connect on their own
    if at != head:
        raise DatabaseUnavailable(f"数据库表结构不是本版本所需（数据库：{at or '未建表'}，需要：{head}）："
                                  "请先运行 gridgov db migrate（迁移前建议 gridgov backup），再启动服务。")  # fmt: skip
    logs = logging_config(log_dir_for(s.log_dir, s.home_abs), s.log_level, s.log_max_mb, s.log_backups)
    # An import string: uvicorn starts each worker process with the app built there (gridgov.main) and applies
    # the log configuration in each. Its access log is replaced by gridgov's (request id, user, no query).
    uvicorn.run("gridgov.main:app", host=host or s.host, port=port or s.port, workers=workers or s.workers,
                log_config=logs, access_log=False, timeout_graceful_shutdown=SERVE_GRACE_S)  # fmt: skip


@app.command()
def assign(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """重新把楼栋、户、事件分配到网格，补算巡逻轨迹的网格统计，并打印分配与未分配数量。"""
    from gridgov.assign.points import assign_all
    from gridgov.auth.scope import authorize
    from gridgov.ledger.counts import level_counts
    from gridgov.patrol import track_figures
    from gridgov.vocab import LEVEL_ZH

    with acting() as (s, actor):
        authorize(s, actor, "write", anywhere=True)
        counts = [vars(c) | {"per_level": level_counts(s, c.table)} for c in assign_all(s)]
        # Stored patrol figures left stale by a change that bypassed the services (plain SQL, a restore) are
        # recomputed here rather than by the first page that needs them.
        tracks = track_figures.ensure_stats(s, track_figures.ALL_TRACKS)
    if as_json:
        echo_json(counts)
        return
    names = {"building": "楼栋", "household": "户", "incident": "事件", "resident_unit": "驻区单位"}
    for c in counts:
        levels = "，".join(f"{LEVEL_ZH[k]} {v}" for k, v in c["per_level"].items())
        typer.echo(f"{names[c['table']]}：已分配 {c['assigned']}" + (f"（{levels}）" if levels else "")
                   + f"，未分配 {c['unassigned']}，本次变动 {c['changed']}")  # fmt: skip
    typer.echo(f"巡逻轨迹网格统计：重算 {tracks} 条")


@app.command()
def version() -> None:
    """显示版本。"""
    from gridgov import __version__

    echo_json({"gridgov": __version__})


def main() -> None:
    """Console entry point: runs the app; errors become a Chinese message and an exit code (gridgov.cli.errors).

    A command that died in a deadlock is run once more if it had committed nothing yet (PostgreSQL rolled the
    failed transaction back, so the second run starts from the same state). Only a command that used the
    database can fail that way, so the retry's machinery (SQLAlchemy, psycopg) is imported only then.
    """
    COMMITS.arm()
    try:
        try:
            app()
        except Exception as exc:
            if "sqlalchemy" not in sys.modules and "psycopg" not in sys.modules:
                raise  # not a database error: nothing to retry
            from gridgov.db.locks import retry_on_deadlock

            first: Exception | None = exc

            def again() -> None:
                """The run that already failed (its error again), then a second one if the first may be retried."""
                nonlocal first
                if first is not None:
                    failed, first = first, None
                    raise failed
                app()

            retry_on_deadlock(again, may_retry=lambda: not COMMITS.committed)
    except Exception as exc:  # noqa: BLE001 - every error ends as a message and a documented exit code
        sys.exit(report(exc))
    finally:
        COMMITS.disarm()
