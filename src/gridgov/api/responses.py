"""The one table of error responses every route documents, and the OpenAPI fix-ups that keep it true.

Every error body is ``ErrorPublic`` (``{"detail", "error", "details"}``) as JSON, whatever the route's own
media type (HTML map, PDF board, vector tile): the factory applies ``ERRORS`` to every router and
``declare_errors`` rewrites the generated document so each error status names that schema as
``application/json`` — including the 422 that FastAPI would otherwise document as ``HTTPValidationError``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from gridgov.api.errors import error_body
from gridgov.api.schemas import ErrorPublic

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "请求体无法解析（不是合法的 JSON 或表单编码）"},
    401: {"model": ErrorPublic, "description": "未登录或令牌无效、已过期、已吊销（需要 Authorization: Bearer <令牌>）"},
    403: {"model": ErrorPublic, "description": "令牌的角色不足，或目标超出权限范围（街道/社区）"},
    404: {"model": ErrorPublic, "description": "网格、令牌或其他资源不存在"},
    409: {"model": ErrorPublic, "description": "与现有数据冲突：编码重复、仍有下级网格、写入冲突等"},
    412: {"model": ErrorPublic, "description": "版本号已过期：他人已修改此记录，请刷新后按新版本重试"},
    413: {"model": ErrorPublic, "description": "上传文件超过大小上限"},
    422: {"model": ErrorPublic, "description": "输入无效：参数、请求体或文件不合格；details 逐项列出原因"},
    429: {"model": ErrorPublic, "description": "同一客户端正在处理的统计或出图请求过多，请稍后再试"},
    500: {"model": ErrorPublic, "description": "服务器内部错误"},
    503: {"model": ErrorPublic, "description": "数据库暂不可用，请稍后重试"},
}

ERROR_REF = "#/components/schemas/ErrorPublic"
_FASTAPI_422_REFS = {"#/components/schemas/HTTPValidationError"}
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")


class MVTResponse(Response):
    """A Mapbox vector tile (declares its media type in OpenAPI)."""

    media_type = MVT_MEDIA_TYPE


def _refs(response: dict[str, Any]) -> set[str | None]:
    return {(media.get("schema") or {}).get("$ref") for media in (response.get("content") or {}).values()}


def declare_errors(openapi: dict[str, Any]) -> dict[str, Any]:
    """Make every documented error status of every operation an ``ErrorPublic`` JSON body (in place, idempotent).

    A response a route documents with its own schema (e.g. ``Health`` for ``/healthz`` 503) is left alone;
    error entries without content, with ``ErrorPublic`` under the route's media type, or with FastAPI's
    ``HTTPValidationError`` become ``application/json`` → ``ErrorPublic``.
    """
    codes = {str(code) for code in ERRORS}
    json_error = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if code not in codes or not isinstance(response, dict):
                    continue
                refs = _refs(response)
                if not response.get("content") or refs & ({ERROR_REF} | _FASTAPI_422_REFS):
                    response["content"] = copy.deepcopy(json_error)
                    if code == "422" and response.get("description") == "Validation Error":
                        response["description"] = ERRORS[422]["description"]
    schemas = openapi.get("components", {}).get("schemas", {})
    rest = {name: schema for name, schema in schemas.items() if name not in _FASTAPI_422_SCHEMAS}
    if '/HTTPValidationError"' not in json.dumps([openapi.get("paths", {}), rest]):
        for name in _FASTAPI_422_SCHEMAS:  # no longer referenced: drop them from the document
            schemas.pop(name, None)
    return openapi


def refused(report: dict[str, Any]) -> JSONResponse:
    """422 for an import file refused whole: the error shape, with the report's fields also at the top level."""
    return JSONResponse(status_code=422, content={**error_body("文件被拒绝，未写入任何数据", "InvalidInput", report),
                                                  **report})  # fmt: skip
