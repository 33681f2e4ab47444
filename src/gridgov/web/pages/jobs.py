"""任务: the user's background jobs, and one job's progress page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gridgov.api.dependencies import SessionDep, ViewerDep
from gridgov.api.params import RowId
from gridgov.jobs.store import get_job, recent_jobs
from gridgov.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
def jobs_page(request: Request, session: SessionDep, who: ViewerDep) -> Response:
    """The latest jobs with their state and files."""
    return render(request, "jobs.html", actor=who, active="jobs", title="任务", jobs=recent_jobs(session, who))


@router.get("/jobs/{job_id}")
def job_page(request: Request, session: SessionDep, who: ViewerDep, job_id: RowId) -> Response:
    """One job: a progress bar that follows it, then the download."""
    return render(request, "job.html", actor=who, active="jobs", title="任务进度", job=get_job(session, who, job_id))
