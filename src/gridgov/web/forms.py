"""What the workspace's forms share: dates typed in a form, the reason a record or post ends, the one way a form's
write runs (a savepoint, a refusal shown on the form, a redirect with a notice when done) and how a page runs it on
one record, and the choices a vocabulary offers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gridgov.api.errors import status_for
from gridgov.auth.scope import Actor
from gridgov.config import Settings
from gridgov.errors import Conflict, GridgovError, InvalidInput, NotFound, StaleVersion
from gridgov.history import END_REASONS, day_of
from gridgov.periods import parse_date
from gridgov.terms import stored_vocabulary

OTHER = "其他"  # the reason whose text the user types
# Refusals shown on the form itself; Forbidden goes to the error page (or the API's JSON for a token).
REFUSALS: tuple[type[GridgovError], ...] = (InvalidInput, Conflict, NotFound, StaleVersion)
DoneQuery = Annotated[str | None, Query(max_length=300)]  # the notice a redirect after a write carries
Short = Annotated[str, Field(max_length=200)]
GeoJsonText = Annotated[str, Form(max_length=2_000_000)]  # a drawn geometry sent by the editor
# How a page runs one write on one record: (request, session, settings, who, code, write, what, **keep).
PageWrite = Callable[..., Response]


def reasons(*wanted: str) -> tuple[str, ...]:
    """The reasons a form offers, the likeliest first: those of ``wanted`` that END_REASONS (shared with the sync
    and the CLI) has."""
    return tuple(r for r in wanted if r in END_REASONS)


def form_day(value: str) -> dt.date | None:
    """A form's date (YYYY-MM-DD), None when left empty; ``InvalidInput`` in Chinese otherwise."""
    value = (value or "").strip()
    return parse_date(value) if value else None


def effective_day(value: str, timezone: str) -> dt.date | None:
    """The day a change took effect as the services take it: None (now) for today or an empty field."""
    day = form_day(value)
    return None if day is None or day == day_of(None, timezone) else day


def end_reason(choice: str, other: str) -> str:
    """The reason picked from the list, or the text typed with 其他."""
    choice, other = (choice or "").strip(), (other or "").strip()
    if choice == OTHER or not choice:
        if not other:
            raise InvalidInput("请选择原因；选「其他」时请填写具体原因")
        return other
    return choice


def back_to(url: str, message: str) -> Response:
    """303 back to ``url`` (a ``#fragment`` stays last) with a notice of what changed."""
    path, hash_, fragment = url.partition("#")
    return RedirectResponse(f"{path}{'&' if '?' in path else '?'}done={quote(message)}{hash_}{fragment}",
                            status_code=303)  # fmt: skip


def notices(done_text: str | None) -> list[tuple[str, str]]:
    """The page's success notice after a redirect."""
    return [("success", done_text)] if done_text else []


def refused(exc: GridgovError, what: str) -> dict[str, Any]:
    """The status and the notice of a refused form."""
    return {"status_code": status_for(exc), "messages": [("danger", f"{what}：{exc.message}")]}


class RetireForm(BaseModel):
    """A retirement, a dissolution or an end: the reason (from the list, or typed with 其他), the day, the version
    read."""

    reason: Short = ""
    reason_other: Short = ""
    day: Short = ""
    version: int | None = None


@dataclass(frozen=True)
class Done:
    """What a form's write returns when the page to go back to depends on what it made (a new record's own page)."""

    url: str
    message: str


def run_form(
    session: Session,
    write: Callable[[], str | Done],
    *,
    back: str = "",
    what: str,
    again: Callable[..., Response],
    keep: Mapping[str, Any] | None = None,
    status_code: int | None = None,
) -> Response:
    """Run a form's write in a savepoint (a refusal leaves nothing behind). Done: 303 to ``back`` (or the ``Done``'s
    page) with the notice ``write`` returns. Refused (``REFUSALS``): the form's page again, ``again(**keep,
    status_code=…, messages=…)`` with the reason after ``what`` and the status of the error (or ``status_code``);
    ``keep`` (what was typed) is left out after a stale version, for the page to show the current state to redo
    the change on. Arguments the page always needs are bound in ``again``."""
    try:
        with session.begin_nested():
            done = write()
    except REFUSALS as exc:
        shown = refused(exc, what)
        if status_code is not None:
            shown["status_code"] = status_code
        return again(**({} if isinstance(exc, StaleVersion) else dict(keep or {})), **shown)
    return back_to(done.url, done.message) if isinstance(done, Done) else back_to(back, done)


def page_write(page: Callable[..., Response], url: Callable[[Any], str]) -> PageWrite:
    """How a record's page runs one write (:func:`run_form`): back to ``url(code)`` with the notice ``write``
    returns, or ``page(request, session, settings, who, code)`` again with the refusal and ``keep`` (what was
    typed)."""

    def run(request: Request, session: Session, settings: Settings, who: Actor, code: Any,
            write: Callable[[], str | Done], what: str, **keep: Any) -> Response:  # fmt: skip
        return run_form(session, write, back=url(code), what=what, keep=keep,
                        again=partial(page, request, session, settings, who, code))  # fmt: skip

    return run


def words_of(session: Session, vocabulary: str) -> tuple[str, ...]:
    """The terms of a vocabulary in force (with the street's additions), for a form's choices."""
    return stored_vocabulary(session, vocabulary).vocabulary.terms
