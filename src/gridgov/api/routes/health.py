"""Liveness and database status."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gridgov.api.dependencies import EngineDep
from gridgov.api.schemas import Health
from gridgov.db.engine import postgis_version
from gridgov.db.migrate import current
from gridgov.errors import DatabaseUnavailable

router = APIRouter(tags=["状态"])


@router.get("/healthz", response_model=Health, summary="服务与数据库状态")
def healthz(engine: EngineDep, response: Response) -> Health:
    """Report whether the database answers, its PostGIS version and schema revision."""
    try:
        version = postgis_version(engine)
        revision = current(engine) or None
    except DatabaseUnavailable as exc:
        response.status_code = 503
        return Health(
            status="degraded", database="unavailable", postgis_version=None, schema_revision=None, detail=exc.message
        )
    return Health(status="ok", database="ok", postgis_version=version, schema_revision=revision)
