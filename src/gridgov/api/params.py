"""Query-parameter types of the API built on :mod:`gridgov.periods`, so the API and the CLI share one date rule.

A value that breaks the rule fails validation with the rule's Chinese message (no English prefix), which the
request-validation handler shows as a 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from gridgov.errors import InvalidInput
from gridgov.periods import parse_date, parse_moment


def _refuse(exc: InvalidInput) -> PydanticCustomError:
    # The message goes in the context, so braces typed by the user are never read as a template.
    return PydanticCustomError("invalid_date", "{message}", {"message": exc.message})


def query_date(value: object) -> dt.date | None:
    """A query value as a date (``YYYY-MM-DD`` in the accepted range), or a validation error in Chinese; an empty
    value (a form's blank date field) is no date."""
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except InvalidInput as exc:
        raise _refuse(exc) from None


def query_moment(value: object) -> dt.date | dt.datetime | None:
    """A query value as a date or an ISO date-time in the accepted range, or a validation error in Chinese; an
    empty value is none."""
    if value is None or value == "":
        return None
    try:
        return parse_moment(value)
    except InvalidInput as exc:
        raise _refuse(exc) from None


DateQuery = Annotated[dt.date | None, BeforeValidator(query_date)]
"""An optional ISO date (``YYYY-MM-DD``, 2000-01-01 … 2100-12-31)."""

MomentQuery = Annotated[dt.datetime | dt.date | None, BeforeValidator(query_moment)]
"""An optional as-of: an ISO date (the end of that day) or an ISO date-time; pass it through ``as_of_moment``."""

# A row's id in a path (a PostgreSQL bigint: a larger number is a 422, not a database error).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="编号")]
