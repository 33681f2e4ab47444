"""Optimistic locking over HTTP, in one place for every versioned thing (records, patrol teams and areas): a read
answers with the version as ``ETag``; a change or a retirement names the version it was made on in ``If-Match``
(missing: 428; stale: 412 from the service, nothing written; ``*``: no check)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Protocol

from fastapi import Header, HTTPException, Response, status

from gridgov.api.schemas import ErrorPublic
from gridgov.errors import InvalidInput

PRECONDITION_MESSAGE = ("修改或注销须带 If-Match 请求头：取自读取该记录时的 ETag 响应头（如 \"3\"），"
                        "以免覆盖他人在此期间的修改")  # fmt: skip
_ETAG = re.compile(r'(?:W/)?"?(\d{1,18})"?')
ETAG_HEADER = {"ETag": {"description": "此记录当前版本的实体标签（修改、注销时原样放入 If-Match）",
                        "schema": {"type": "string"}}}  # fmt: skip
LOCATION_HEADER = {"Location": {"description": "新记录的地址", "schema": {"type": "string"}}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorPublic, "description": "If-Match 的版本已过期：他人已修改此记录，未写入；请重新读取后重试"},
    428: {"model": ErrorPublic, "description": "缺少 If-Match 请求头（取自 GET 响应的 ETag）"},
}
# The ``responses`` of a route answering with an ETag, and of one creating a versioned thing.
TAGGED: dict[int | str, dict[str, Any]] = {200: {"headers": ETAG_HEADER}}
CREATED: dict[int | str, dict[str, Any]] = {201: {"headers": {**ETAG_HEADER, **LOCATION_HEADER}}}

IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description="读取时得到的 ETag，如 \"3\"（* 表示不检查版本）")]  # fmt: skip


class Versioned(Protocol):
    """What a versioned thing offers a route: its ETag and its JSON form."""

    @property
    def etag(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (None for ``*``); 428 when it is missing, 422 when unreadable."""
    value = (if_match or "").strip()
    if not value:
        raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, PRECONDITION_MESSAGE)
    if value == "*":
        return None
    m = _ETAG.fullmatch(value)
    if m is None:
        raise InvalidInput(f"If-Match 应为一个 ETag，如 \"3\"（取自读取该记录时的 ETag 响应头）：{value[:40]}")
    return int(m.group(1))


def optional_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names, or None when it is not given (for a write that may be made without it)."""
    return expected_version(if_match) if (if_match or "").strip() else None


def tagged(response: Response, item: Versioned, location: str | None = None) -> dict[str, Any]:
    """The item's JSON, with its ``ETag`` (and, for a new one, its ``Location``) set on the response."""
    response.headers["ETag"] = item.etag
    if location is not None:
        response.headers["Location"] = location
    return item.as_dict()
