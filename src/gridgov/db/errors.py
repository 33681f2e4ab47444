"""Database driver errors in the domain's terms: the one translation every face (API, CLI) uses.

:func:`translate` turns SQLAlchemy's and psycopg's errors into domain errors:

* the server cannot be reached, went away, is starting or shutting down, refuses the login → ``DatabaseUnavailable``;
* a deadlock, a serialization failure or a lock wait that gave up → ``Busy`` (contention: retry later);
* a statement cancelled by ``statement_timeout`` → ``QueryTimeout``.

Anything else (a bug, a missing table …) is not translated: the caller reports it as an internal error.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg
from sqlalchemy import exc as sa

from gridgov.errors import Busy, DatabaseUnavailable, GridgovError, QueryTimeout

BUSY_MESSAGE = "数据正被其他操作修改（锁冲突），请稍后重试"
UNAVAILABLE_MESSAGE = "数据库不可用：{reason}，请稍后重试（嵌入式数据库可运行 gridgov db up 启动）"

# SQLSTATEs of lost or refused connections besides class 08 (connection exception).
_UNAVAILABLE_STATES = {
    "57P01": "数据库正在关闭",  # admin_shutdown
    "57P02": "数据库异常重启",  # crash_shutdown
    "57P03": "数据库正在启动",  # cannot_connect_now
    "53300": "数据库连接数已满",  # too_many_connections
    "28P01": "数据库拒绝登录（密码错误）",  # invalid_password
    "28000": "数据库拒绝登录",  # invalid_authorization_specification
    "3D000": "数据库不存在",  # invalid_catalog_name
}
# Contention: the transaction was aborted because of other transactions, so running it again may succeed.
_BUSY_STATES = {"40P01", "40001", "55P03"}  # deadlock_detected, serialization_failure, lock_not_available
RETRYABLE_STATES = {"40P01", "40001"}


def driver_error(exc: BaseException) -> BaseException:
    """The psycopg exception behind a SQLAlchemy wrapper (or ``exc`` itself)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, sa.DBAPIError) else None
    return orig if isinstance(orig, BaseException) else exc


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (wrapped or not), or None (e.g. a failed connection attempt)."""
    orig = driver_error(exc)
    return orig.sqlstate if isinstance(orig, psycopg.Error) else None


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure: PostgreSQL rolled the transaction back, re-running it is safe."""
    return sqlstate(exc) in RETRYABLE_STATES


def first_line(exc: BaseException) -> str:
    """The first line of the driver's message (for logs and the CLI; the API does not show it)."""
    lines = str(driver_error(exc)).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


def translate(exc: BaseException, *, timeout_s: float | None = None) -> GridgovError | None:
    """The domain error for a database error, or None when it is not about availability, contention or time.

    ``timeout_s`` (the statement timeout in force) only makes the timeout message precise.
    """
    if isinstance(exc, GridgovError):
        return exc
    if isinstance(exc, sa.TimeoutError):  # the pool had no free connection in time
        return DatabaseUnavailable(UNAVAILABLE_MESSAGE.format(reason="数据库连接已被占满"))
    if not isinstance(exc, sa.DBAPIError | psycopg.Error):
        return None
    orig = driver_error(exc)
    state = sqlstate(exc)
    if isinstance(orig, pg.QueryCanceled):
        if timeout_s:
            return QueryTimeout(f"查询超时（超过 {timeout_s:g} 秒）已中止，请缩小范围后重试")
        return QueryTimeout("查询超时或被取消，已中止，请缩小范围后重试")
    if state in _BUSY_STATES:
        return Busy(BUSY_MESSAGE, details={"sqlstate": state})
    if state in _UNAVAILABLE_STATES:
        return DatabaseUnavailable(UNAVAILABLE_MESSAGE.format(reason=_UNAVAILABLE_STATES[state]))
    lost = isinstance(exc, sa.DBAPIError) and exc.connection_invalidated
    if (
        lost
        or (state or "").startswith("08")
        or (state is None and isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError))
    ):
        reason = "与数据库的连接已断开" if lost else "无法连接数据库服务器"
        return DatabaseUnavailable(UNAVAILABLE_MESSAGE.format(reason=reason))
    return None
