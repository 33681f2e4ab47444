"""Each map kind served by the API and written by the CLI on the sample street, checked in offline Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gridgov.api.factory import create_app
from gridgov.config import Settings
from gridgov.maps.assets import external_urls

from tests.browser import COUNT_POLYGONS_JS, PageLog, assert_not_blank, chromium, open_page, serve, settle
from tests.db.test_embedded import run_cli

LEAVES = "SELECT count(*) FROM grid g WHERE g.valid_to IS NULL AND g.level = 'compound'"
ALL_GRIDS = "SELECT count(*) FROM grid WHERE valid_to IS NULL"


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def base_url(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("pages")
    settings = Settings(database_url=_url(sample_engine), home=tmp / "home", maps_dir=tmp / "maps")
    with serve(create_app(settings, sample_engine)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@pytest.mark.parametrize(
    ("path", "expected_sql"),
    [
        ("/maps/grid", ALL_GRIDS),
        ("/maps/coverage?from=2026-10-01&to=2026-10-31", ALL_GRIDS),  # leaves coloured + parent outlines
        ("/maps/patrol", LEAVES),  # every leaf, visited or not; areas are drawn as lines
    ],
)
def test_served_map_works_offline(
    browser: Any, base_url: str, sample_engine: Engine, path: str, expected_sql: str
) -> None:
    log = PageLog()
    page = open_page(browser, base_url + path, log, viewport=(1280, 800))
    try:
        assert external_urls(page.content()) == []
        name = page.evaluate("() => Object.keys(window).find((k) => k.startsWith('map_'))")
        page.wait_for_function(f"() => window['{name}'] && document.querySelector('.leaflet-overlay-pane canvas')")
        settle(page, name)
        polygons = page.evaluate(COUNT_POLYGONS_JS, name)
        assert "gridgov-title" in page.content()
        png = page.screenshot()
        Path(f"/tmp/page_{path.split('?')[0].rsplit('/', 1)[-1]}.png").write_bytes(png)
    finally:
        page.context.close()
    log.assert_clean()
    assert polygons == _count(sample_engine, expected_sql)
    assert_not_blank(png)


def test_map_pages_report_bad_input_as_4xx(base_url: str) -> None:
    import httpx

    assert httpx.get(f"{base_url}/maps/patrol?team=PT99").status_code == 404
    assert httpx.get(f"{base_url}/maps/coverage?from=2026-10-31&to=2026-10-01").status_code == 422
    assert httpx.get(f"{base_url}/maps/grid?basemap=google").status_code == 422
    assert httpx.get(f"{base_url}/maps/grid?level=bogus").status_code == 422


@pytest.mark.parametrize(
    ("args", "name"),
    [(["coverage", "--from", "2026-10-01", "--to", "2026-10-31"], "coverage.html"), (["patrol"], "patrol.html")],
)
def test_cli_writes_each_map_kind(sample_engine: Engine, tmp_path: Path, args: list[str], name: str) -> None:
    out = tmp_path / "maps" / name
    env = {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home")}
    r = run_cli(["map", *args, "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert external_urls(html) == [] and (out.parent / "lib" / "leaflet" / "dist" / "leaflet.js").is_file()
    bad = run_cli(["map", "patrol", "--team", "PT99", "-o", str(out)], env)
    assert bad.returncode == 4 and "巡逻队不存在" in bad.stderr and "Traceback" not in bad.stderr
