"""``gridgov db``: the embedded PostGIS cluster (or the server named by GRIDGOV_DATABASE_URL)."""

from __future__ import annotations

import typer

from gridgov.cli.common import echo_json, engine, get_settings, watched
from gridgov.cli.errors import EXIT_DATABASE

app = typer.Typer(help="数据库：启动/停止嵌入式 PostGIS，迁移表结构。设置 GRIDGOV_DATABASE_URL 则改用该服务器。")

JsonOpt = typer.Option(False, "--json", help="以 JSON 输出")


@app.command()
def up(as_json: bool = JsonOpt) -> None:
    """启动数据库（幂等）：初始化并启动嵌入式 PostGIS，创建数据库和 PostGIS 扩展。"""
    from gridgov.db.engine import cluster, get_engine, postgis_version, uses_external

    s = get_settings()
    if uses_external(s):
        version = postgis_version(watched(get_engine(s)))
        info = {"external": True, "running": True, "postgis": version}
    else:
        st = cluster(s).up()
        info = {"external": False, **st.as_dict()}
    if as_json:
        echo_json(info)
    elif info["external"]:
        typer.echo(f"使用外部数据库（GRIDGOV_DATABASE_URL），PostGIS：{info['postgis']}")
    else:
        typer.echo(f"嵌入式 PostGIS 已运行：127.0.0.1:{info['port']}（数据目录 {info['data_dir']}）")


@app.command()
def down() -> None:
    """停止嵌入式数据库（幂等）。使用外部数据库时不做任何事。"""
    from gridgov.db.engine import cluster, uses_external

    s = get_settings()
    if uses_external(s):
        typer.echo("使用外部数据库（GRIDGOV_DATABASE_URL），无需停止。")
        return
    cluster(s).down()
    typer.echo("嵌入式 PostGIS 已停止。")


@app.command()
def run() -> None:
    """在前台运行嵌入式 PostGIS（供 systemd 的 gridgov-db 服务使用）：本进程即数据库服务器，Ctrl+C 或 SIGINT 快速停止；
    已在后台运行（gridgov db up 启动）的服务器会先被停止再接管。使用外部数据库时报错退出。"""
    from gridgov.db.engine import cluster, uses_external
    from gridgov.errors import InvalidInput

    s = get_settings()
    if uses_external(s):
        raise InvalidInput("已设置 GRIDGOV_DATABASE_URL（外部数据库）：无需运行嵌入式数据库。")
    cluster(s).exec_foreground()


@app.command()
def status(as_json: bool = JsonOpt) -> None:
    """显示数据库状态。"""
    from gridgov.db.engine import cluster, get_engine, postgis_version, uses_external

    s = get_settings()
    if uses_external(s):
        try:
            version = postgis_version(watched(get_engine(s)))
            info: dict[str, object] = {"external": True, "running": True, "postgis": version}
        except Exception as exc:  # noqa: BLE001 - status reports, never fails
            info = {"external": True, "running": False, "error": str(exc)}
    else:
        info = {"external": False, **cluster(s).status().as_dict()}
    if as_json:
        echo_json(info)
        return
    state = "运行中" if info["running"] else "未运行"
    where = "外部数据库" if info["external"] else f"嵌入式 PostGIS（端口 {info.get('port')}，{info.get('data_dir')}）"
    typer.echo(f"{where}：{state}")
    if not info["running"]:
        raise typer.Exit(code=EXIT_DATABASE)


@app.command()
def url() -> None:
    """打印数据库连接 URL（psql 可直接使用）。"""
    from gridgov.db.engine import libpq_url

    typer.echo(libpq_url(get_settings()))


@app.command()
def migrate(revision: str = typer.Option("head", help="目标版本")) -> None:
    """把表结构迁移到最新版本（Alembic）。"""
    from gridgov.db import migrate as migrations

    rev = migrations.upgrade(engine(), revision)
    typer.echo(f"数据库表结构已是版本 {rev}")
