"""Jobs as rows: create, read (owner or administrator), and the state changes a runner writes."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, may
from gridgov.db.models import Job
from gridgov.errors import NotFound

STATUS_ZH = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
INTERRUPTED = "服务重启，任务中断，请重新提交"


@dataclass(frozen=True)
class JobView:
    """A job as pages and the API show it."""

    id: int
    kind: str
    title: str
    status: str
    progress: float
    message: str | None
    error: str | None
    result_name: str | None
    result: dict[str, Any] | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def status_zh(self) -> str:
        """The state in Chinese."""
        return STATUS_ZH[self.status]

    @property
    def has_file(self) -> bool:
        """Whether a finished job left a file to download."""
        return self.status == "done" and self.result_name is not None


def _view(job: Job) -> JobView:
    return JobView(job.id, job.kind, job.title, job.status, job.progress, job.message, job.error, job.result_name,
                   job.result, job.created_at, job.finished_at)  # fmt: skip


def create_job(session: Session, actor: Actor, kind: str, title: str, params: dict[str, Any] | None = None) -> int:
    """A queued job owned by ``actor``; returns its id (the caller commits before the runner starts it)."""
    job = Job(kind=kind, title=title, actor=actor.audit_name, user_id=actor.user_id, params=params or {},
              runner=runner_id())  # fmt: skip
    session.add(job)
    session.flush()
    return job.id


def _owned(session: Session, actor: Actor, job_id: int) -> Job:
    job = session.get(Job, job_id)
    mine = job is not None and (
        job.actor == actor.audit_name or (actor.user_id is not None and job.user_id == actor.user_id)
    )
    if job is None or not (mine or may(actor, "admin")):
        raise NotFound(f"任务不存在：{job_id}")  # another user's job is not told apart from a missing one
    return job


def get_job(session: Session, actor: Actor, job_id: int) -> JobView:
    """A job of the actor's (administrators: anyone's), or ``NotFound``."""
    return _view(_owned(session, actor, job_id))


def job_file(session: Session, actor: Actor, job_id: int) -> tuple[str, str]:
    """(stored path, download name) of a finished job's file, or ``NotFound``."""
    job = _owned(session, actor, job_id)
    if job.status != "done" or job.result_path is None or job.result_name is None:
        raise NotFound(f"任务 {job_id} 还没有可下载的文件（{STATUS_ZH[job.status]}）")
    return job.result_path, job.result_name


def recent_jobs(session: Session, actor: Actor, limit: int = 50) -> list[JobView]:
    """The actor's latest jobs (administrators: everyone's), newest first."""
    q = select(Job).order_by(Job.id.desc()).limit(limit)
    if not may(actor, "admin"):
        q = q.where(Job.actor == actor.audit_name)
    return [_view(j) for j in session.scalars(q)]


def set_state(session: Session, job_id: int, **values: Any) -> None:
    """Write a job's state (status, progress, message, result…): the runner calls it in short transactions."""
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def runner_id() -> str:
    """This process as a job runner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fail_interrupted(session: Session) -> int:
    """Mark as failed the unfinished jobs of server processes on this host that no longer run; returns how many.
    Called when a server starts (another live worker's jobs are left alone)."""
    host = socket.gethostname()
    rows = session.execute(text("SELECT id, runner FROM job WHERE status IN ('queued', 'running')")).all()
    dead = [r.id for r in rows if r.runner is None or _gone(r.runner, host)]
    if dead:
        session.execute(text("UPDATE job SET status = 'failed', error = :e, finished_at = now() WHERE id = ANY(:ids)"),
                        {"e": INTERRUPTED, "ids": dead})  # fmt: skip
    return len(dead)


def _gone(runner: str, host: str) -> bool:
    """Whether the process ``host:pid`` is known to have stopped (only processes on this host can be checked)."""
    where, _, pid = runner.rpartition(":")
    if where != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
