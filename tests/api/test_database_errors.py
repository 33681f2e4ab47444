"""Database trouble through the API: 503 in Chinese JSON when it is down, the statement timeout, contention as 409,
a deadlocked request run once more, and never a plain-text 500 or a traceback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.dependencies import SessionDep, get_session
from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.db.engine import session_scope
from gridgov.db.locks import writers_lock

from tests.conftest import _create_db, _drop_db
from tests.factories import make_street

UNREACHABLE = "postgresql://gridgov:x@127.0.0.1:1/gridgov"
TOKEN = {"Authorization": "Bearer ggv_anything"}


def _shape(body: dict[str, object], error: str) -> None:
    assert set(body) == {"detail", "error", "details", "request_id"} and body["error"] == error
    assert body["details"] is None and len(str(body["request_id"])) == 12
    detail = str(body["detail"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail)  # Chinese
    assert "SELECT" not in detail and "Traceback" not in detail


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        ("GET", "/api/grids", {}),
        ("GET", "/api/grids/610103006", {}),
        ("GET", "/api/ledger", {"headers": TOKEN}),
        ("GET", "/maps/grid", {}),
        (
            "POST",
            "/api/grids",
            {
                "headers": TOKEN,
                "json": {
                    "name": "x",
                    "level": "street",
                    "code": "610103007",
                    "geometry": {"type": "Point", "coordinates": [0, 0]},
                },
            },
        ),
        ("DELETE", "/api/tokens/1", {"headers": TOKEN}),
    ],
)
def test_every_route_gives_503_in_chinese_json_when_the_database_is_down(
    tmp_path: Path, method: str, path: str, kw: dict[str, object]
) -> None:
    app = create_app(Settings(database_url=UNREACHABLE, home=tmp_path / "home", maps_dir=tmp_path / "maps"))
    with TestClient(app) as client:
        r = client.request(method, path, **kw)  # type: ignore[arg-type]
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/json")
    _shape(r.json(), "DatabaseUnavailable")
    assert "数据库不可用" in r.json()["detail"]


def test_healthz_stays_503_with_its_own_body(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=UNREACHABLE, home=tmp_path / "home"))
    with TestClient(app) as client:
        r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unavailable"


def test_an_unexpected_database_error_is_a_chinese_500_without_sql(server_url: str, tmp_path: Path) -> None:
    url = _create_db(server_url, "gridgov_unmigrated")  # no tables: every query fails
    try:
        app = create_app(Settings(database_url=url, home=tmp_path / "home"))
        with TestClient(app) as client:
            r = client.get("/api/grids")
        app.state.engine.dispose()
    finally:
        _drop_db(server_url, url)
    assert r.status_code == 500
    _shape(r.json(), "DatabaseError")
    assert "grid" not in r.json()["detail"]


def test_any_other_exception_is_a_chinese_500(clean_engine: Engine, settings_for: Settings) -> None:
    app = create_app(settings_for, clean_engine)

    @app.get("/_test/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/_test/boom")
    assert r.status_code == 500 and "secret" not in r.text
    _shape(r.json(), "InternalError")
    assert r.json()["detail"].startswith("服务器内部错误")


def _app_with_probe(engine: Engine, settings: Settings) -> TestClient:
    app = create_app(settings, engine)

    @app.get("/_test/timeout")
    def timeout(session: SessionDep) -> str:
        return str(session.execute(text("SHOW statement_timeout")).scalar_one())

    @app.get("/_test/sleep")
    def sleep(session: SessionDep) -> None:
        session.execute(text("SELECT pg_sleep(5)"))

    return TestClient(app)


def test_every_request_has_a_statement_timeout(clean_engine: Engine, settings_for: Settings) -> None:
    with _app_with_probe(clean_engine, settings_for.model_copy(update={"statement_timeout_s": 0.3})) as client:
        assert client.get("/_test/timeout").json() == "300ms"
        r = client.get("/_test/sleep")
    assert r.status_code == 503
    _shape(r.json(), "QueryTimeout")
    assert r.json()["detail"] == "查询超时（超过 0.3 秒）已中止，请缩小范围后重试"
    with _app_with_probe(clean_engine, settings_for.model_copy(update={"statement_timeout_s": 0})) as client:
        assert client.get("/_test/timeout").json() == "0"  # 0 = no limit


def test_the_default_timeout_is_a_minute_and_only_for_the_api(clean_engine: Engine, settings_for: Settings) -> None:
    assert Settings().statement_timeout_s == 60
    gen = get_session(clean_engine, settings_for)
    session = next(gen)
    assert session.execute(text("SHOW statement_timeout")).scalar_one() == "1min"
    gen.close()
    with Session(clean_engine) as s:  # the CLI's sessions: no limit
        assert s.execute(text("SHOW statement_timeout")).scalar_one() == "0"


@pytest.fixture
def admin(clean_engine: Engine) -> dict[str, str]:
    """The factory street and an admin's auth header."""
    with session_scope(clean_engine) as s:
        make_street(s)
        plain = create_token(s, Actor.system(), "管理员", "admin")[0]
    return {"Authorization": f"Bearer {plain}"}


def test_a_grid_edit_while_a_writer_holds_the_lock_is_409_busy(
    clean_engine: Engine, settings_for: Settings, admin: dict[str, str]
) -> None:
    app = create_app(settings_for.model_copy(update={"statement_timeout_s": 0.5}), clean_engine)
    with TestClient(app) as client, Session(clean_engine) as importer, importer.begin():
        writers_lock(importer)  # e.g. a long CLI import
        r = client.patch("/api/grids/610103006001001", json={"version": 1, "name": "改名"}, headers=admin)
    assert r.status_code == 409 and r.headers["retry-after"] == "2"
    _shape({**r.json(), "details": None}, "Busy")
    assert r.json()["detail"] == "数据正被其他操作修改（锁冲突），请稍后重试"


def test_a_deadlocked_request_is_run_once_more(probe: Engine, settings_for: Settings) -> None:
    app = create_app(settings_for, probe)
    runs: list[int] = []

    def other_writer(ready: threading.Event) -> None:
        with probe.connect() as conn:
            conn.execute(text("SET deadlock_timeout = '10s'"))  # the request's session detects the deadlock
            conn.execute(text("SELECT 1 FROM test_lock_probe WHERE id = 2 FOR UPDATE"))
            ready.set()
            conn.execute(text("SELECT 1 FROM test_lock_probe WHERE id = 1 FOR UPDATE"))
            conn.commit()

    @app.post("/_test/deadlock")
    def deadlock(session: SessionDep, body: dict[str, int]) -> dict[str, int]:
        runs.append(body["n"])
        session.execute(text("SELECT 1 FROM test_lock_probe WHERE id = 1 FOR UPDATE"))
        if len(runs) == 1:
            ready = threading.Event()
            threading.Thread(target=other_writer, args=(ready,), daemon=True).start()
            assert ready.wait(10)
        session.execute(text("SELECT 1 FROM test_lock_probe WHERE id = 2 FOR UPDATE"))
        return {"runs": len(runs)}

    with TestClient(app) as client:
        r = client.post("/_test/deadlock", json={"n": 7})
    assert r.status_code == 200 and r.json() == {"runs": 2} and runs == [7, 7]  # the body was replayed
    assert "x-gridgov-retry" not in r.headers


def test_a_failed_commit_is_the_response_not_a_200(clean_engine: Engine, settings_for: Settings) -> None:
    app = create_app(settings_for, clean_engine)

    @app.post("/_test/late")
    def late(session: SessionDep) -> dict[str, bool]:
        session.execute(text("CREATE TEMP TABLE late (id int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"))
        session.execute(text("INSERT INTO late VALUES (1), (1)"))  # refused only at commit
        return {"ok": True}

    with TestClient(app) as client:
        r = client.post("/_test/late")
    assert r.status_code == 500
    _shape(r.json(), "DatabaseError")
