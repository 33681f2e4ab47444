"""Domain errors. Services raise these; the API maps them to HTTP codes in one table."""

from __future__ import annotations

from typing import Any


class GridgovError(Exception):
    """Base class: a message for the user (Chinese) and optional structured details."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(GridgovError):
    """The thing asked for does not exist."""


class Conflict(GridgovError):
    """A write would break uniqueness or another invariant."""


class StaleVersion(GridgovError):
    """Optimistic locking failed: the caller edited an old version."""


class InvalidInput(GridgovError):
    """Bad input: a file, a coordinate, a field."""


class Unauthenticated(GridgovError):
    """No valid token."""


class Forbidden(GridgovError):
    """The token lacks the role or scope for this action."""


class TooLarge(GridgovError):
    """An upload exceeds the configured limit."""


class TooManyRequests(GridgovError):
    """A client already has as many expensive requests running as it may."""


class DatabaseUnavailable(GridgovError):
    """The database server cannot be reached or lacks PostGIS."""


class Busy(GridgovError):
    """Another transaction holds the rows or locks this one needs (deadlock, lock wait): retry later."""


class QueryTimeout(GridgovError):
    """A statement ran longer than the statement timeout and was cancelled."""


class InstallationError(GridgovError):
    """The installation lacks something it needs (a front-end asset, a font): the operator must fix the set-up."""


class OfflineAssetError(InstallationError):
    """A map needs an asset that has no local copy (unknown CDN URL, or missing file in node_modules)."""
