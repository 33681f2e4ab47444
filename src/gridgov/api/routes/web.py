"""Generated map files under ``/maps/files`` (the workspace pages are in :mod:`gridgov.web.pages`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gridgov.api.dependencies import SettingsDep
from gridgov.errors import NotFound

router = APIRouter(include_in_schema=False)

@router.get("/maps/files/{path:path}")
def generated_map(path: str, settings: SettingsDep) -> FileResponse:
    """A file written under ``maps/`` (HTML maps and their ``lib/`` assets)."""
    root = settings.maps_dir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound(f"地图文件不存在：{path}")
    return FileResponse(Path(target))
