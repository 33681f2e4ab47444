"""The one table that maps domain errors to the CLI's exit codes (the API's twin is ``gridgov.api.errors``).

=====  =====================================================================================================
退出码  含义
=====  =====================================================================================================
0      成功
1      输入被拒绝：文件不存在或无法读取、坐标系不支持、参数无效、导入文件有错误（整份拒绝，未写入）
2      命令用法错误（未知命令或选项、缺少参数；由 typer/click 报告）
3      数据库不可用（未启动、无法连接、拒绝登录），或数据库操作失败（如表结构不是最新：gridgov db migrate）
4      不存在：网格、巡逻队、令牌等
5      无权限：令牌无效或超出范围
6      冲突：编码重复、仍有下级网格、版本已过期
7      暂时无法完成：锁冲突（数据正被其他操作修改，死锁已自动重试一次）或查询超时，稍后重试
8      内部错误（程序缺陷；打印调用栈，请报告），或安装不完整（如缺少前端资源：重新运行安装）
=====  =====================================================================================================

README.md's "退出码" section repeats this table.
"""

from __future__ import annotations

import traceback

import typer

from gridgov import errors as e

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
EXIT_NOT_FOUND = 4
EXIT_FORBIDDEN = 5
EXIT_CONFLICT = 6
EXIT_BUSY = 7
EXIT_INTERNAL = 8

EXIT_CODES: dict[type[e.GridgovError], int] = {
    e.InvalidInput: EXIT_REFUSED,
    e.TooLarge: EXIT_REFUSED,
    e.DatabaseUnavailable: EXIT_DATABASE,
    e.NotFound: EXIT_NOT_FOUND,
    e.Unauthenticated: EXIT_FORBIDDEN,
    e.Forbidden: EXIT_FORBIDDEN,
    e.Conflict: EXIT_CONFLICT,
    e.StaleVersion: EXIT_CONFLICT,
    e.Busy: EXIT_BUSY,
    e.QueryTimeout: EXIT_BUSY,
    e.TooManyRequests: EXIT_BUSY,
    e.InstallationError: EXIT_INTERNAL,
}


def exit_code_for(exc: e.GridgovError) -> int:
    """The exit code for a domain error (most specific class wins; an unlisted one counts as refused input)."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]  # type: ignore[index]
    return EXIT_REFUSED


def report(exc: BaseException) -> int:
    """Print ``exc`` as a Chinese message on stderr (a traceback only for a bug) and return its exit code.

    A domain error needs no translation; the database's driver errors are translated here, so the drivers are
    imported only when a command failed with something else.
    """
    if isinstance(exc, e.GridgovError):
        typer.echo(f"错误：{exc.message}", err=True)
        return exit_code_for(exc)
    import psycopg
    from sqlalchemy import exc as sa

    from gridgov.db.errors import first_line, translate

    domain = translate(exc)
    if domain is not None:
        cause = f"（{first_line(exc)}）" if domain is not exc and isinstance(domain, e.DatabaseUnavailable) else ""
        typer.echo(f"错误：{domain.message}{cause}", err=True)
        return exit_code_for(domain)
    if isinstance(exc, sa.DBAPIError | psycopg.Error):  # e.g. a database created by an older version
        typer.echo(
            f"错误：数据库操作失败（{first_line(exc)}）。表结构可能不是最新版本：运行 gridgov db migrate。", err=True
        )
        return EXIT_DATABASE
    traceback.print_exception(exc)
    typer.echo(f"错误：内部错误（{type(exc).__name__}），请把以上信息报告给维护者。", err=True)
    return EXIT_INTERNAL
