"""The one table that maps domain errors to HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gridgov import errors as e

STATUS: dict[type[e.GridgovError], int] = {
    e.InvalidInput: 422,
    e.NotFound: 404,
    e.Conflict: 409,
    e.StaleVersion: 412,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.TooLarge: 413,
    e.DatabaseUnavailable: 503,
}


def status_for(exc: e.GridgovError) -> int:
    """The HTTP status for a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400


def install(app: FastAPI) -> None:
    """Register the handler that turns domain errors into JSON ``{"detail", "error", "details"}``."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.GridgovError)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthenticated) else None
        return JSONResponse(
            status_code=status_for(exc),
            content={"detail": exc.message, "error": type(exc).__name__, "details": exc.details},
            headers=headers,
        )

    app.add_exception_handler(e.GridgovError, handle)
