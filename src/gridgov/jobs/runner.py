"""Running jobs: a small thread pool in the server process. A job's work is a function of a :class:`Progress`
(to report how far it got) that returns its :class:`Outcome`; the runner records start, progress, the file and
the end (or the error, in Chinese) each in its own short transaction."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import GridgovError
from gridgov.jobs.store import create_job, set_state

log = logging.getLogger(__name__)
FAILED_UNEXPECTEDLY = "任务执行出错（详情已记录在服务器日志），请稍后重试或联系管理员"


@dataclass
class Outcome:
    """What a finished job leaves: a file to download (path and name) and/or a small JSON result."""

    path: Path | None = None
    name: str | None = None
    result: dict[str, Any] | None = None
    message: str = "已完成"


@dataclass
class Progress:
    """Passed to a job's work: ``progress(0.4, "写入 Excel…")`` records how far it got (at most every 0.3 s)."""

    engine: Engine
    job_id: int
    workdir: Path
    _last: float = field(default=0.0)

    def __call__(self, fraction: float, message: str | None = None) -> None:
        """Record progress (a fraction 0–1) and what is being done."""
        now = dt.datetime.now().timestamp()
        if now - self._last < 0.3 and fraction < 1:
            return
        self._last = now
        values: dict[str, Any] = {"progress": max(0.0, min(1.0, fraction))}
        if message:
            values["message"] = message
        with Session(self.engine) as s, s.begin():
            set_state(s, self.job_id, **values)


Work = Callable[[Progress], Outcome]


class JobRunner:
    """Runs jobs in ``workers`` threads; files go under ``root/<job id>/``."""

    def __init__(self, engine: Engine, root: Path, workers: int = 2) -> None:
        self.engine = engine
        self.root = root
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.running: set[int] = set()

    def start(self, actor: Actor, kind: str, title: str, work: Work, params: dict[str, Any] | None = None) -> int:
        """Create the job (committed in a transaction of its own, so the runner's thread sees it) and run ``work``;
        returns the job id for the page that follows it."""
        with Session(self.engine) as s, s.begin():
            job_id = create_job(s, actor, kind, title, params)
        self.submit(job_id, work)
        return job_id

    def submit(self, job_id: int, work: Work) -> None:
        """Start a committed, queued job."""
        with self._lock:
            self.running.add(job_id)
            if self._pool is None:  # first job, or the first since a shutdown (a server restarted in-process)
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gridgov-job")
            self._pool.submit(self._run, job_id, work)

    def _run(self, job_id: int, work: Work) -> None:
        workdir = self.root / str(job_id)
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            with Session(self.engine) as s, s.begin():
                set_state(s, job_id, status="running", started_at=dt.datetime.now(dt.UTC), message="开始处理…")
            outcome = work(Progress(self.engine, job_id, workdir))
            values: dict[str, Any] = {"status": "done", "progress": 1.0, "message": outcome.message,
                                      "result": outcome.result, "finished_at": dt.datetime.now(dt.UTC)}  # fmt: skip
            if outcome.path is not None:
                values |= {"result_path": str(outcome.path), "result_name": outcome.name or outcome.path.name}
            with Session(self.engine) as s, s.begin():
                set_state(s, job_id, **values)
        except GridgovError as exc:
            self._fail(job_id, exc.message)
        except Exception:  # noqa: BLE001 - a job's bug must end as a failed job, not a dead thread
            log.exception("任务 %s 出错", job_id)
            self._fail(job_id, FAILED_UNEXPECTEDLY)
        finally:
            with self._lock:
                self.running.discard(job_id)

    def _fail(self, job_id: int, message: str) -> None:
        try:
            with Session(self.engine) as s, s.begin():
                set_state(s, job_id, status="failed", error=message, finished_at=dt.datetime.now(dt.UTC))
        except Exception:  # noqa: BLE001 - the database may be the reason; the log keeps it
            log.exception("任务 %s 的失败状态无法写入", job_id)

    def shutdown(self, wait: bool = False) -> None:
        """Stop the threads (queued jobs are dropped; running ones finish when ``wait``); a later job starts new
        ones."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
