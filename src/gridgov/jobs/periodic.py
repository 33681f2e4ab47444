"""Work the server repeats on a clock (the incident sweep): one daemon thread per task, each run in its own
transaction, at most one run at a time across every server process (a transaction-level advisory lock taken
without waiting: a process that does not get it skips that round)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.db.errors import first_line

log = logging.getLogger(__name__)


class Periodic:
    """Run ``work(session)`` every ``every_s`` seconds until ``stop()``; errors are logged, never raised."""

    def __init__(self, engine: Engine, name: str, every_s: float, work: Callable[[Session], object]) -> None:
        self.engine, self.name, self.every_s, self.work = engine, name, every_s, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"gridgov-{name}", daemon=True)

    def start(self) -> Periodic:
        """Start the thread (the first run comes after one interval: a starting server has other work)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to end and wait briefly for it."""
        self._stop.set()
        self._thread.join(timeout=5)

    def run_once(self) -> bool:
        """One run now, unless another process is running it (False then)."""
        with Session(self.engine) as session, session.begin():
            held = session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": f"gridgov.{self.name}"})
            if not held:
                return False
            self.work(session)
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - a failed round is logged; the next one tries again
                log.warning("定时任务 %s 失败：%s", self.name, first_line(exc))
