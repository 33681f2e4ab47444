"""The writers' lock and the deadlock retry: one lock order for every writing transaction.

Every write service (grid create/update/remove/recode, grid and entity imports, re-assignment) calls
:func:`writers_lock` first, before it reads rows ``FOR UPDATE`` or writes any row. The lock is the advisory
lock of migration 0003 and :mod:`gridgov.assign.points` (class ``LOCK_CLASS``, one key per assigned table),
taken exclusively on all three tables in one fixed order. So two writers never hold row locks while waiting
for each other's advisory lock: the second writer waits at the start, holding nothing, and cannot deadlock
with the first (a grid edit during a large import simply waits for the import to commit).

A deadlock or serialization failure that still happens (e.g. between paths that write without the lock) is
retried once by the faces, whose transaction boundaries are known: the CLI re-runs a command that has not
committed anything yet (:func:`gridgov.cli.main.main`), the API re-runs a request whose body it could keep
(:class:`gridgov.api.errors.RetryOnDeadlock`). What remains is reported as ``Busy`` (HTTP 409, CLI exit 7).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import errors as pg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gridgov.db.errors import BUSY_MESSAGE, is_retryable
from gridgov.errors import Busy

log = logging.getLogger(__name__)
T = TypeVar("T")

# The advisory lock class of gridgov.assign.points.LOCK_CLASS and migration 0003; the key is the table's oid.
LOCK_CLASS = 1735551332
# The tables whose writers' lock every writer takes, in this order (gridgov.assign.points.ASSIGNED_TABLES).
LOCKED_TABLES = ("building", "household", "incident", "resident_unit")
_HELD = "gridgov.writers_lock"

_SQL = "SELECT " + ", ".join(
    f"pg_advisory_xact_lock(:k, CAST(CAST(CAST('{t}' AS regclass) AS oid) AS int))" for t in LOCKED_TABLES
)


def writers_lock(session: Session) -> None:
    """Take the writers' lock for this transaction (once; again is a no-op): call it before any row lock.

    A wait cancelled by ``statement_timeout`` or ``lock_timeout`` is contention and raises ``Busy``.
    """
    held = session.info.get(_HELD)
    if held is not None and held is session.get_transaction():
        return
    try:
        session.execute(text(_SQL), {"k": LOCK_CLASS})
    except DBAPIError as exc:
        if isinstance(exc.orig, pg.QueryCanceled | pg.LockNotAvailable):
            raise Busy(BUSY_MESSAGE, details={"waiting_for": "writers_lock"}) from exc
        raise
    session.info[_HELD] = session.get_transaction()


def retry_on_deadlock(work: Callable[[], T], *, attempts: int = 2, may_retry: Callable[[], bool] | None = None) -> T:
    """Run a whole transaction ``work()``, again (once by default) if PostgreSQL aborted it for a deadlock.

    ``may_retry`` can veto a retry (e.g. when part of the work already committed). The last failure propagates.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except (DBAPIError, psycopg.Error) as exc:
            if attempt == attempts or not is_retryable(exc) or (may_retry is not None and not may_retry()):
                raise
            log.warning("死锁或串行化冲突，事务已回滚，重试第 %d 次：%s", attempt, exc.__class__.__name__)
            time.sleep(random.uniform(0.05, 0.25))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")
