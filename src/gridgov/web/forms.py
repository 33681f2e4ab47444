"""What the workspace's forms share: dates typed in a form, the reason a record or post ends, the notice after a
redirect, a refusal shown on the form, and the choices a vocabulary offers."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from gridgov.api.errors import status_for
from gridgov.errors import GridgovError, InvalidInput
from gridgov.history import END_REASONS, day_of
from gridgov.periods import parse_date
from gridgov.terms import stored_vocabulary

OTHER = "其他"  # the reason whose text the user types


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
    """303 back to ``url`` with a notice of what changed."""
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}done={quote(message)}", status_code=303)


def notices(done_text: str | None) -> list[tuple[str, str]]:
    """The page's success notice after a redirect."""
    return [("success", done_text)] if done_text else []


def refused(exc: GridgovError, what: str) -> dict[str, Any]:
    """The status and the notice of a refused form."""
    return {"status_code": status_for(exc), "messages": [("danger", f"{what}：{exc.message}")]}


def words_of(session: Session, vocabulary: str) -> tuple[str, ...]:
    """The terms of a vocabulary in force (with the street's additions), for a form's choices."""
    return stored_vocabulary(session, vocabulary).vocabulary.terms
