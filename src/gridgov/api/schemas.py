"""Pydantic models in roles: ``…Create`` (input), ``…Update`` (input with version), ``…Public`` (output)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["street", "community", "compound", "building"]


class GridCreate(BaseModel):
    """A new grid."""

    code: str = Field(min_length=1, max_length=32, examples=["610103006001001"])
    name: str = Field(min_length=1, max_length=200, examples=["文艺北路一社区第01网格"])
    level: Level
    parent_code: str | None = None
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon, EPSG:4326")


class GridUpdate(BaseModel):
    """Changes to a grid; ``version`` is the version the editor started from (optimistic locking)."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    geometry: dict[str, Any] | None = None


class GridPublic(BaseModel):
    """A grid as the API shows it."""

    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: Level
    parent_code: str | None
    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    updated_by: str | None
    geometry: dict[str, Any] | None = None


class TokenCreate(BaseModel):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    role: Literal["admin", "editor", "viewer"]
    scope_code: str | None = Field(default=None, description="街道或社区编码（编辑令牌必填）")
    days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(BaseModel):
    """A created token: the secret is shown only in this response."""

    id: int
    name: str
    role: str
    scope_code: str | None
    token: str | None = None


class Health(BaseModel):
    """Service and database status."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    postgis_version: str | None
    schema_revision: str | None
    detail: str | None = None
