"""Background jobs: a job's progress (polled by the pages) and its file."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from gridgov.api.dependencies import ActorDep, SessionDep, SettingsDep
from gridgov.api.params import RowId
from gridgov.errors import NotFound
from gridgov.jobs.store import get_job, job_file

router = APIRouter(prefix="/api/jobs", tags=["后台任务"])


class JobPublic(BaseModel):
    """A job's state."""

    id: int
    kind: str
    title: str
    status: str
    status_zh: str
    progress: float
    message: str | None
    error: str | None
    download_url: str | None
    result_name: str | None
    result: dict[str, object] | None


@router.get("/{job_id}", response_model=JobPublic, summary="查询后台任务进度")
def job_state(session: SessionDep, who: ActorDep, job_id: RowId) -> JobPublic:
    """Progress, message, and when done the download address (only the owner and administrators see a job)."""
    j = get_job(session, who, job_id)
    return JobPublic(id=j.id, kind=j.kind, title=j.title, status=j.status, status_zh=j.status_zh, progress=j.progress,
                     message=j.message, error=j.error, result=j.result, result_name=j.result_name,
                     download_url=f"/api/jobs/{j.id}/file" if j.has_file else None)  # fmt: skip


@router.get("/{job_id}/file", response_class=FileResponse, summary="下载后台任务生成的文件")
def job_download(session: SessionDep, settings: SettingsDep, who: ActorDep, job_id: RowId) -> FileResponse:
    """The job's file (only under the installation's job folder)."""
    stored, name = job_file(session, who, job_id)
    root = (settings.home_abs / "jobs").resolve()
    path = Path(stored).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"任务 {job_id} 的文件已不存在")
    return FileResponse(path, filename=name)
