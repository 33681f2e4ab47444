"""Log files and request ids: every response's X-Request-ID is on its access line and on the error it shows;
a 500 logs its traceback with the id; several processes share the rotated files; nothing private is logged."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.users import add_user
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.errors import InvalidInput
from gridgov.ops.logs import ACCESS_LOG, APP_LOG, configure_logging, logging_config, valid_request_id

from tests.web.conftest import csrf_of

RID = re.compile(r"[0-9a-f]{12}")
SECRET_PASSWORD = "Geheim-Pw-20261130"
PERSON = "张秘密"


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """This process logs into ``tmp_path/logs`` for the test; the logging set-up is restored afterwards."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "gridgov.access")
    before = (list(root.handlers), root.level,
              {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level, logging.getLogger(n).propagate)
               for n in names})  # fmt: skip
    where = tmp_path / "logs"
    configure_logging(where, "INFO", 1, 3)
    yield where
    handlers, level, loggers = before
    for lg in [root, *(logging.getLogger(n) for n in names)]:
        for h in list(lg.handlers):
            lg.removeHandler(h)
            h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    for n, (hs, lvl, prop) in loggers.items():
        lg = logging.getLogger(n)
        for h in hs:
            lg.addHandler(h)
        lg.setLevel(lvl)
        lg.propagate = prop


@pytest.fixture
def client(clean_engine: Engine, settings_for: Settings, log_dir: Path) -> Iterator[TestClient]:
    """The app with one more route that fails unexpectedly, and a user ``clerk``; errors answered, not raised."""
    with session_scope(clean_engine) as s:
        add_user(s, Actor.system("tests"), "clerk", SECRET_PASSWORD, "admin", None, "测试管理员")
    app = create_app(settings_for, clean_engine)

    def boom() -> None:
        raise RuntimeError("故意的错误 for the test")

    app.add_api_route("/api/boom", boom)
    app.add_api_route("/boom-page", boom)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _read(path: Path) -> str:
    for h in logging.getLogger().handlers + logging.getLogger("gridgov.access").handlers:
        h.flush()
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_every_response_has_a_request_id_and_errors_show_it(client: TestClient, log_dir: Path) -> None:
    ok = client.get("/healthz")
    rid = ok.headers["X-Request-ID"]
    assert RID.fullmatch(rid)
    assert client.get("/healthz").headers["X-Request-ID"] != rid  # a new one per request

    missing = client.get("/api/grids/999999999999999")
    body = missing.json()
    assert missing.status_code == 404 and body["error"] == "NotFound"
    assert body["request_id"] == missing.headers["X-Request-ID"] and RID.fullmatch(body["request_id"])

    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    shown = page.headers["X-Request-ID"]
    assert f"错误编号：<span class=\"font-monospace user-select-all\">{shown}</span>（联系管理员时请提供）" in page.text

    access = _read(log_dir / ACCESS_LOG)
    assert re.search(rf"^\S+ \S+ {rid} - GET /healthz 200 \d+\.\dms$", access, re.M), access
    assert re.search(rf" {shown} - GET /no-such-page 404 ", access)


def test_a_proxys_request_id_is_kept_only_when_it_is_a_plain_token(client: TestClient, log_dir: Path) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a9c_01"})
    assert kept.headers["X-Request-ID"] == "nginx-7f3a9c_01"
    for bad in ("<script>alert(1)</script>", "a b", "x" * 65, "id一".encode(), "-leading"):
        r = client.get("/healthz", headers={"X-Request-ID": bad})
        assert RID.fullmatch(r.headers["X-Request-ID"]), bad
    assert valid_request_id("0" * 64) and not valid_request_id("")
    access = _read(log_dir / ACCESS_LOG)
    assert "nginx-7f3a9c_01 - GET /healthz 200" in access and "<script>" not in access


def test_a_500_logs_its_traceback_with_the_id_and_the_user_sees_only_the_id(client: TestClient, log_dir: Path) -> None:
    api = client.get("/api/boom")
    assert api.status_code == 500
    body = api.json()
    rid = api.headers["X-Request-ID"]
    assert body["error"] == "InternalError" and body["request_id"] == rid and "Traceback" not in api.text
    assert "故意的错误" not in api.text

    page = client.get("/boom-page", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "服务器内部错误" in page.text
    page_id = page.headers["X-Request-ID"]
    assert f">{page_id}</span>（联系管理员时请提供）" in page.text
    assert "Traceback" not in page.text and "RuntimeError" not in page.text

    app_log = _read(log_dir / APP_LOG)
    for shown, path in ((rid, "/api/boom"), (page_id, "/boom-page")):
        entry = re.search(rf"^\S+ \S+ ERROR \[{shown}\] gridgov\.api\.errors: 未处理的错误：GET {path}\n"
                          r"Traceback \(most recent call last\):\n(?:.*\n)*?RuntimeError: 故意的错误", app_log, re.M)
        assert entry, app_log
    assert app_log.count("Traceback (most recent call last)") == 2  # once each, no second copy
    assert re.search(rf" {rid} - GET /api/boom 500 ", _read(log_dir / ACCESS_LOG))


def test_the_access_log_names_the_user_and_never_the_password_cookie_or_query(client: TestClient,
                                                                              log_dir: Path) -> None:  # fmt: skip
    form = client.get("/login", headers={"Accept": "text/html"})
    token = csrf_of(form.text)
    done = client.post("/login", data={"csrftoken": token, "username": "clerk", "password": SECRET_PASSWORD,
                                       "next": "/"})  # fmt: skip
    assert done.status_code == 303
    searched = client.get("/", params={"q": PERSON, "id_number": "610103199001011234"},
                          headers={"Accept": "text/html"})  # fmt: skip
    assert searched.status_code == 200
    rid = searched.headers["X-Request-ID"]

    access = _read(log_dir / ACCESS_LOG)
    assert re.search(rf" {rid} user:clerk GET / 200 ", access), access
    assert re.search(r" - POST /login 303 ", access)  # who logs in is not known before the form is checked
    everything = access + _read(log_dir / APP_LOG)
    cookies = [v for v in client.cookies.values() if len(v) > 8]
    assert cookies
    for private in (SECRET_PASSWORD, PERSON, "610103199001011234", "id_number", token, *cookies):
        assert private not in everything


WRITER = """
import logging, sys
from pathlib import Path
from gridgov.ops.logs import configure_logging
configure_logging(Path(sys.argv[1]), "INFO", 0.01, int(sys.argv[4]))
log = logging.getLogger("gridgov.test")
for i in range(int(sys.argv[3])):
    log.info("worker %s line %04d %s", sys.argv[2], i, "填充" * 20)
"""


def _write_lines(where: Path, workers: int, n: int, backups: int) -> None:
    """``workers`` processes (only the logging module imported) each log ``n`` lines into ``where`` at once."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(where), str(w), str(n), str(backups)],
                              stderr=subprocess.DEVNULL) for w in range(workers)]  # fmt: skip
    assert [p.wait(timeout=300) for p in procs] == [0] * workers


def test_several_processes_share_the_rotated_files(tmp_path: Path) -> None:
    """Three processes write 300 lines each into one 10 KB-rotated gridgov.log: every line arrives once, whole."""
    where = tmp_path / "logs"
    _write_lines(where, 3, 300, 20)
    files = sorted(where.glob(f"{APP_LOG}*"))
    assert len(files) > 5  # rotated many times
    limit = int(0.01 * 1024 * 1024)
    lines = [ln for f in files for ln in f.read_text(encoding="utf-8").splitlines()]
    assert all(f.stat().st_size <= limit + 300 for f in files)
    pattern = re.compile(r"\S+ \S+ INFO \[-\] gridgov\.test: worker (\d) line (\d{4}) (?:填充){20}")
    seen = [pattern.fullmatch(ln) for ln in lines]
    assert all(seen), [ln for ln, m in zip(lines, seen, strict=True) if not m][:3]
    pairs = sorted((m.group(1), m.group(2)) for m in seen if m)
    assert pairs == sorted((str(w), f"{i:04d}") for w in range(3) for i in range(300))


def test_rotation_keeps_the_configured_number_of_files(tmp_path: Path) -> None:
    where = tmp_path / "logs"
    _write_lines(where, 1, 300, 2)
    assert sorted(p.name for p in where.glob(f"{APP_LOG}*")) == [APP_LOG, f"{APP_LOG}.1", f"{APP_LOG}.2"]
    last = (where / APP_LOG).read_text(encoding="utf-8").splitlines()[-1]
    assert "worker 0 line 0299" in last  # the newest lines are in the current file
    config = logging_config(where, "warning", 0.01, 2)
    assert config["root"]["level"] == "WARNING"
    assert config["handlers"]["file"]["backupCount"] == 2
    with pytest.raises(InvalidInput, match="日志级别无效"):
        logging_config(where, "verbose")
