"""Work repeated on a clock: one run at a time across processes, errors logged and the next round tried."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.jobs.periodic import Periodic


def test_a_run_is_skipped_while_another_process_holds_it(clean_engine: Engine) -> None:
    runs: list[int] = []
    task = Periodic(clean_engine, "probe", 3600, lambda session: runs.append(session.scalar(text("SELECT 1"))))
    assert task.run_once() is True and runs == [1]
    with Session(clean_engine) as other, other.begin():
        assert other.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext('gridgov.probe'))"))
        assert task.run_once() is False
    assert runs == [1]
    assert task.run_once() is True and runs == [1, 1]


def test_the_thread_keeps_going_after_a_failed_round(clean_engine: Engine) -> None:
    seen: list[str] = []

    def work(session: Session) -> None:
        seen.append("run")
        if len(seen) == 1:
            raise RuntimeError("boom")

    task = Periodic(clean_engine, "flaky", 0.05, work).start()
    try:
        for _ in range(100):
            if len(seen) >= 2:
                break
            task._stop.wait(0.05)
    finally:
        task.stop()
    assert len(seen) >= 2
