"""The routes every versioned record has (patrol teams and areas, Party organisations, resident units, volunteer
teams, 党员责任区), made from the service function: a change (``PATCH``) and a retirement (``DELETE``), both on the
version named in ``If-Match`` (:mod:`gridgov.api.versions`), answering the new state with its ``ETag``.

No ``from __future__ import annotations`` here: the endpoints are made inside functions, and FastAPI reads their
annotations (the dependency aliases and the models passed in) as objects.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from gridgov.api.dependencies import SessionDep, SettingsDep
from gridgov.api.params import DateQuery
from gridgov.api.routes.records import Text
from gridgov.api.versions import CREATED, TAGGED, WRITE_ERRORS, IfMatch, expected_version, tagged

UPDATE_DESCRIPTION = "Change the given fields of the version named by ``If-Match``; the former state stays as history."
REASON_HELP = "撤销原因（也可放在请求体中）"
DATE_HELP = "撤销日期 YYYY-MM-DD（默认今天）"
# Turns a change's body into the fields to change and the day it takes effect.
Prepare = Callable[[Any], tuple[dict[str, Any], dt.date | None]]


def changes_of(body: BaseModel) -> tuple[dict[str, Any], dt.date | None]:
    """The fields a change gives, and its ``effective`` day (None: now)."""
    changes = body.model_dump(exclude_unset=True)
    return changes, changes.pop("effective", None)


def add_create_route(
    router: APIRouter,
    path: str,
    *,
    name: str,
    summary: str,
    description: str,
    model: type[BaseModel],
    writer: Any,
    body_model: type[BaseModel],
    create: Callable[..., Any],
) -> None:
    """``POST path``: add a record through ``create`` (the service: session, actor, the body's fields as keywords,
    time zone); answers 201 with its state, its ``ETag`` and its ``Location`` (``path``/code)."""

    def endpoint(
        session: SessionDep,
        settings: SettingsDep,
        who: writer,  # type: ignore[valid-type]
        response: Response,
        body: body_model,  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        item = create(session, who, **body.model_dump(), timezone=settings.timezone)  # type: ignore[attr-defined]
        return tagged(response, item, f"{router.prefix}{path}/{quote(item.code, safe='')}")

    router.add_api_route(path, endpoint, methods=["POST"], response_model=model, status_code=status.HTTP_201_CREATED,
                         summary=summary, name=name, description=description, responses=CREATED)  # fmt: skip


def add_update_route(
    router: APIRouter,
    path: str,
    *,
    name: str,
    summary: str,
    description: str = UPDATE_DESCRIPTION,
    model: type[BaseModel],
    writer: Any,
    code_param: Any,
    body_model: type[BaseModel],
    update: Callable[..., Any],
    prepare: Prepare = changes_of,
) -> None:
    """``PATCH path``: change the given fields of the version named by ``If-Match`` through ``update`` (the
    service: session, code, changes, actor, expected version, effective day, time zone); ``writer`` is the role
    dependency, ``code_param`` the path parameter's alias, ``prepare`` reads the body."""

    def endpoint(
        session: SessionDep,
        settings: SettingsDep,
        who: writer,  # type: ignore[valid-type]
        response: Response,
        code: code_param,  # type: ignore[valid-type]
        body: body_model,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        expected = expected_version(if_match)
        changes, effective = prepare(body)
        item = update(session, code, changes, who, expected_version=expected, effective=effective,
                      timezone=settings.timezone)  # fmt: skip
        return tagged(response, item)

    router.add_api_route(path, endpoint, methods=["PATCH"], response_model=model, summary=summary, name=name,
                         description=description, responses={**WRITE_ERRORS, **TAGGED})  # fmt: skip


def add_retire_route(
    router: APIRouter,
    path: str,
    *,
    name: str,
    summary: str,
    description: str,
    model: type[BaseModel],
    writer: Any,
    code_param: Any,
    body_model: type[BaseModel],
    retire: Callable[..., Any],
    reason_max_length: int | None = None,
) -> None:
    """``DELETE path``: retire the version named by ``If-Match`` through ``retire`` (the service: session, code,
    actor, reason, expected version, day, time zone); the reason and the day come in the body (``body_model``) or
    in the query."""

    def endpoint(
        session: SessionDep,
        settings: SettingsDep,
        who: writer,  # type: ignore[valid-type]
        response: Response,
        code: code_param,  # type: ignore[valid-type]
        if_match: IfMatch = None,
        reason: Annotated[Text | None, Query(max_length=reason_max_length, description=REASON_HELP)] = None,
        date: Annotated[DateQuery, Query(description=DATE_HELP)] = None,
        body: body_model | None = None,  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        expected = expected_version(if_match)
        given: Any = body or body_model()
        item = retire(session, code, who, reason=given.reason or reason or "", expected_version=expected,
                      day=given.date or date, timezone=settings.timezone)  # fmt: skip
        return tagged(response, item)

    router.add_api_route(path, endpoint, methods=["DELETE"], response_model=model, summary=summary, name=name,
                         description=description, responses={**WRITE_ERRORS, **TAGGED})  # fmt: skip
