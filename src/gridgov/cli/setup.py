"""``gridgov init``: a new installation for one street, without the sample."""

from __future__ import annotations

import typer

from gridgov.cli.common import acting, echo_json, engine, get_settings

NEXT_STEPS = (
    "1. 添加第一个系统管理员：gridgov user add admin --role admin --password-stdin（按提示输入密码）",
    "2. 导入网格边界：gridgov grids import 网格.gpkg（或登录后在“数据导入”页面上传）",
    "3. 导入楼栋、户、人口：gridgov import buildings/households/persons 文件（或“数据导入”页面）",
    "4. 启动服务：gridgov serve，用浏览器打开 http://127.0.0.1:8000/ 登录",
)


def init(
    street: str = typer.Option(..., "--street", help="街道的 9 位统计用区划代码（乡级），如 610103006"),
    name: str = typer.Option(None, "--name", help="街道名称（代码表中没有该编码时必填；默认取代码表中的名称）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """初始化新系统（不含样例数据）：启动并迁移数据库，记录本街道及其社区的官方编码和名称。可重复运行。"""
    from gridgov.db import migrate as migrations
    from gridgov.grids.codes import CodeScheme
    from gridgov.ops.install import init_installation

    settings = get_settings()
    revision = migrations.upgrade(engine())  # the engine starts the embedded database when it is used
    with acting() as (session, actor):
        result = init_installation(session, actor, street, name, node_modules=settings.node_modules,
                                   scheme=CodeScheme.from_json(settings.code_scheme))  # fmt: skip
    if as_json:
        echo_json(result.as_dict() | {"schema": revision, "next_steps": list(NEXT_STEPS)})
        return
    again = "" if result.first_time else "（此前已初始化，已更新）"
    where = f"，{result.district}" if result.district else ""
    typer.echo(f"已初始化{again}：{result.street_name}（{result.street_code}）{where}")
    if result.name_differs:
        typer.echo(f"注意：代码表中的官方名称为「{result.official_name}」，已按您填写的名称记录。")
    if result.division_source is None:
        typer.echo("行政区划代码表中没有这个街道编码：社区的官方编码和名称需在导入网格时自行填写。")
    else:
        typer.echo(f"官方社区（{len(result.communities)} 个，来自 {result.division_source}）：")
        for code, community in result.communities:
            typer.echo(f"  {code} {community}")
    if result.grids:
        typer.echo(f"数据库中已有本街道的网格 {result.grids} 个。")
    typer.echo(f"数据库表结构版本：{revision}。下一步：")
    for step in NEXT_STEPS:
        typer.echo(f"  {step}")
