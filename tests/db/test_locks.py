"""One lock order for writers, the deadlock retry, and contention reported as contention (real concurrent sessions)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gridgov.api.errors import status_for
from gridgov.assign.points import ASSIGNED_TABLES, LOCK_CLASS
from gridgov.auth.scope import Actor
from gridgov.cli.errors import EXIT_BUSY, exit_code_for
from gridgov.db.engine import session_scope
from gridgov.db.errors import translate
from gridgov.db.locks import LOCK_CLASS as DB_LOCK_CLASS
from gridgov.db.locks import LOCKED_TABLES, retry_on_deadlock, writers_lock
from gridgov.errors import Busy
from gridgov.grids import service
from gridgov.importing.entities import import_entities

from tests.factories import X0, Y0, D, make_street, square

GATE = 4242  # a test-held advisory lock that pauses an import inside its write


def test_the_writers_lock_is_the_assignment_lock() -> None:
    assert DB_LOCK_CLASS == LOCK_CLASS and LOCKED_TABLES == ASSIGNED_TABLES


def _in_thread(fn: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted by the test
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _waiting(engine: Engine, n: int, timeout: float = 20) -> None:
    """Wait until ``n`` backends wait for a lock."""
    deadline = time.monotonic() + timeout
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(text(sql)).scalar_one() >= n:
                return
            conn.rollback()  # pg_stat_activity is read once per transaction: a new one sees new backends
            time.sleep(0.05)
    raise AssertionError(f"fewer than {n} sessions waiting for a lock")


@pytest.fixture
def gated_household_inserts(clean_engine: Engine) -> Iterator[Engine]:
    """A statement trigger that makes INSERTs into household wait while the test holds the GATE lock."""
    with clean_engine.begin() as conn:
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_advisory_xact_lock_shared({GATE}); RETURN NULL; END $$"))  # fmt: skip
        conn.execute(text("CREATE TRIGGER test_gate BEFORE INSERT ON household EXECUTE FUNCTION test_gate()"))
    try:
        yield clean_engine
    finally:
        with clean_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS test_gate ON household"))
            conn.execute(text("DROP FUNCTION IF EXISTS test_gate()"))


def test_a_grid_edit_during_an_import_waits_instead_of_deadlocking(gated_household_inserts: Engine,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    """The deadlock of issue 11: the import held the household writers' lock and was about to insert households
    referencing a grid; the edit locked that grid row, then waited for the writers' lock (exclusive, to
    re-assign); the import's insert then waited for the grid row. Both now take the writers' lock first."""
    engine = gated_household_inserts
    with session_scope(engine) as s:
        make_street(s)
    path = tmp_path / "households.csv"
    pd.DataFrame({"编码": ["H1"], "地址": ["文艺北路45号院"], "户籍类型": ["常住户"],
                  "经度": [X0 + 0.002], "纬度": [Y0 + 0.005]}).to_csv(path, index=False)  # fmt: skip
    errors: list[BaseException] = []

    def do_import() -> None:
        with session_scope(engine) as s:
            import_entities(s, "households", path, actor=Actor.system("导入"))

    def do_edit() -> None:
        with session_scope(engine) as s:
            service.update_grid(s, "610103006001001", expected_version=1, actor=Actor.system("编辑"),
                                geometry=square(X0, Y0, D / 2 - 0.0001, D))  # fmt: skip

    with engine.connect() as gate:
        gate.execute(text(f"SELECT pg_advisory_lock({GATE})"))
        try:
            importer = _in_thread(do_import, errors)
            _waiting(engine, 1)  # the import waits at the gate, inside its write
            editor = _in_thread(do_edit, errors)
            _waiting(engine, 2)  # the edit waits too
            time.sleep(0.3)
        finally:  # a failed wait must not leave the gate shut on a pooled connection (the threads would hang)
            gate.execute(text(f"SELECT pg_advisory_unlock({GATE})"))
            gate.commit()
    importer.join(60)
    editor.join(60)
    assert not importer.is_alive() and not editor.is_alive()
    assert errors == []  # no deadlock, nothing rolled back
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM household")).scalar_one() == 1
        version = "SELECT version FROM grid WHERE code = '610103006001001' AND valid_to IS NULL"
        assert conn.execute(text(version)).scalar_one() == 2


def _crossing(engine: Engine, barrier: threading.Barrier, first: int, second: int, attempts: list[int]) -> None:
    """A transaction locking the probe rows in the given order (meeting the other one in between, once)."""
    with Session(engine) as s, s.begin():
        attempts.append(first)
        s.execute(text("UPDATE test_lock_probe SET n = n + 1 WHERE id = :i"), {"i": first})
        if len(attempts) <= 2:  # only the first attempts meet
            barrier.wait(10)
        s.execute(text("UPDATE test_lock_probe SET n = n + 1 WHERE id = :i"), {"i": second})


def test_a_deadlock_is_retried_once_and_both_transactions_succeed(probe: Engine) -> None:
    barrier = threading.Barrier(2)
    attempts: list[int] = []
    errors: list[BaseException] = []
    threads = [
        _in_thread(lambda: retry_on_deadlock(lambda: _crossing(probe, barrier, 1, 2, attempts)), errors),
        _in_thread(lambda: retry_on_deadlock(lambda: _crossing(probe, barrier, 2, 1, attempts)), errors),
    ]
    for t in threads:
        t.join(60)
    assert errors == [] and len(attempts) == 3  # one of the two ran twice
    with probe.connect() as conn:
        assert conn.execute(text("SELECT sum(n) FROM test_lock_probe")).scalar_one() == 4  # both committed once


def test_an_unretried_deadlock_is_reported_as_contention(probe: Engine) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    threads = [_in_thread(lambda: _crossing(probe, barrier, 1, 2, []), errors),
               _in_thread(lambda: _crossing(probe, barrier, 2, 1, []), errors)]  # fmt: skip
    for t in threads:
        t.join(60)
    assert len(errors) == 1 and isinstance(errors[0], DBAPIError)
    busy = translate(errors[0])
    assert isinstance(busy, Busy) and "锁冲突" in busy.message and "db up" not in busy.message
    assert status_for(busy) == 409 and exit_code_for(busy) == EXIT_BUSY


def test_a_lock_wait_that_gives_up_is_busy(clean_engine: Engine) -> None:
    with Session(clean_engine) as holder, holder.begin():
        writers_lock(holder)
        writers_lock(holder)  # again: a no-op in the same transaction
        with Session(clean_engine) as waiter, waiter.begin():
            waiter.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(Busy, match="锁冲突"):
                writers_lock(waiter)
