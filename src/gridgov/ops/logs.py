"""Log files of a running server, and the request id that ties a user's error message to them.

``gridgov.log`` holds the application's and uvicorn's messages, ``access.log`` one line per request (request id,
user, method, path, status, milliseconds); both are rotated by size. Several server processes (``--workers``)
append to the same files, so the handler is ``concurrent-log-handler``'s: a lock file serialises the writes and
the rotation (the standard ``RotatingFileHandler`` of each process would rename the file under the others and
lose or interleave lines). The request id comes from ``asgi-correlation-id`` (a context variable set per
request): every line logged while a request runs carries it, the response sends it as ``X-Request-ID`` and error
pages show it. Only paths are logged, never query strings, bodies, cookies or headers.
"""

from __future__ import annotations

import logging
import logging.config
import re
import secrets
import time
from pathlib import Path
from typing import Any

from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgov.errors import InstallationError, InvalidInput

APP_LOG = "gridgov.log"
ACCESS_LOG = "access.log"
ACCESS_LOGGER = "gridgov.access"
REQUEST_ID_HEADER = "X-Request-ID"
NO_ID = "-"  # lines logged outside a request (start-up, background jobs)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# What an incoming X-Request-ID (set by a reverse proxy, e.g. nginx's $request_id) must look like to be kept:
# a short plain token, so it can neither forge log lines nor carry markup onto the error page.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# uvicorn logs this with the traceback of an error the app's own handler already logged (with its request id).
_UVICORN_TRACEBACK = "Exception in ASGI application"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a decoded path may hold %0A: written escaped, never as a new line


def new_request_id() -> str:
    """A fresh request id: 12 hex digits, short enough to read out on the telephone."""
    return secrets.token_hex(6)


def valid_request_id(value: str) -> bool:
    """Whether an incoming request id is a plain short token (letters, digits, ``_.-``; at most 64)."""
    return _TOKEN.fullmatch(value) is not None


def current_request_id() -> str | None:
    """The id of the request being served in this context (None outside a request)."""
    return correlation_id.get()


def log_dir_for(log_dir: Path | None, home: Path) -> Path:
    """Where the log files go: ``log_dir`` (``GRIDGOV_LOG_DIR``) or ``GRIDGOV_HOME/logs``, absolute."""
    return (log_dir or home / "logs").expanduser().resolve()


class DropDuplicateTraceback(logging.Filter):
    """Drops uvicorn's copy of an unhandled error's traceback: the app's handler logged it already, with the
    request's method, path and id (see ``gridgov.api.errors``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for uvicorn's "Exception in ASGI application" record."""
        return not (record.name.startswith("uvicorn") and record.msg == _UVICORN_TRACEBACK)


def logging_config(log_dir: Path, level: str = "INFO", max_mb: float = 20, backups: int = 10,
                   stderr: bool = True) -> dict[str, Any]:  # fmt: skip
    """The ``logging.config.dictConfig`` of a server: the two rotated files (and stderr for the application log).

    uvicorn takes it as ``log_config`` and applies it in every worker process; it names classes by their import
    path only, so it can be handed to spawned processes."""
    name = level.upper()
    if name not in LEVELS:
        raise InvalidInput(f"日志级别无效：{level}（可选 {'、'.join(LEVELS)}）")
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InstallationError(f"无法创建日志目录 {log_dir}：{exc.strerror}（检查 GRIDGOV_LOG_DIR 与权限）") from exc
    rotated = {
        "class": "concurrent_log_handler.ConcurrentRotatingFileHandler",
        "maxBytes": int(max_mb * 1024 * 1024),
        "backupCount": backups,
        "encoding": "utf-8",
        "filters": ["request_id"],
    }
    app_handlers = ["file", "stderr"] if stderr else ["file"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "default_value": NO_ID},
            "no_duplicate": {"()": f"{__name__}.DropDuplicateTraceback"},
        },
        "formatters": {
            "app": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s",
                    "datefmt": "%Y-%m-%d %H:%M:%S%z"},  # fmt: skip
            "access": {"format": "%(asctime)s %(correlation_id)s %(message)s", "datefmt": "%Y-%m-%d %H:%M:%S%z"},
        },
        "handlers": {
            "file": {**rotated, "filename": str(log_dir / APP_LOG), "formatter": "app",
                     "filters": ["request_id", "no_duplicate"]},  # fmt: skip
            "access": {**rotated, "filename": str(log_dir / ACCESS_LOG), "formatter": "access"},
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "app",
                       "filters": ["request_id", "no_duplicate"]},  # fmt: skip
        },
        "loggers": {
            "uvicorn": {"level": name, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": name, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},  # replaced by ACCESS_LOGGER
            ACCESS_LOGGER: {"level": "INFO", "handlers": ["access"], "propagate": False},
            # HTTP clients log whole URLs at INFO: query strings may hold keys (天地图 tk) or personal data.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "alembic": {"level": "WARNING"},  # its plugins announce themselves at INFO whenever it is imported
        },
        "root": {"level": name, "handlers": app_handlers},
    }


def configure_logging(log_dir: Path, level: str = "INFO", max_mb: float = 20, backups: int = 10) -> dict[str, Any]:
    """Send this process's logging to the rotated files under ``log_dir`` and to stderr; returns the config."""
    config = logging_config(log_dir, level, max_mb, backups)
    logging.config.dictConfig(config)
    return config


class AccessLog:
    """ASGI middleware: one ``access.log`` line per HTTP request, after its response: user (when a login or token
    was checked), method, path (never the query string), status and milliseconds. The request id is added by the
    log format. An error that escapes the app counts as status 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # The dependencies store the caller in request.state, i.e. this dict; made here so inner copies of the
        # scope share it.
        state = scope.setdefault("state", {})
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            actor = state.get("actor")
            user = getattr(actor, "name", None) or NO_ID
            ms = (time.perf_counter() - started) * 1000
            path = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(scope.get("path", "")))
            self.log.info("%s %s %s %d %.1fms", user, scope.get("method", ""), path, status, ms)
