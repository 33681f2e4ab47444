"""The grid map from the database: CLI and API faces, ledger and staff popups, search, optional layers,
the Party layer's authorisation, privacy, vector tiles for large areas, and basemaps."""

from __future__ import annotations

import http.server
import io
import json
import math
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.api.factory import create_app
from gridgov.auth.scope import Actor
from gridgov.auth.tokens import create_token
from gridgov.config import Settings
from gridgov.errors import InvalidInput
from gridgov.maps.assets import external_urls
from gridgov.maps.basemap import basemap
from gridgov.maps.gridmap import HOUSEHOLD_COLOURS, grid_map, grid_map_from_db
from gridgov.maps.gridmap_data import grid_frame

from tests.browser import COUNT_POLYGONS_JS, PageLog, assert_not_blank, open_page, serve, settle
from tests.db.test_embedded import run_cli

COMPOUND = "610103006001001"
COMMUNITY = "610103006001"


def _url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def settings(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("mapsdb")
    return Settings(database_url=_url(sample_engine), home=tmp / "home", maps_dir=tmp / "maps")


@pytest.fixture(scope="module")
def base_url(sample_engine: Engine, settings: Settings) -> Iterator[str]:
    with serve(create_app(settings, sample_engine)) as url:
        yield url


@pytest.fixture(scope="module")
def party_tokens(sample_engine: Engine) -> dict[str, dict[str, str]]:
    with Session(sample_engine) as s, s.begin():
        street = create_token(s, Actor.system(), "地图测试-街道", "street", "610103006")[0]
        scoped = create_token(s, Actor.system(), "地图测试-社区", "community", COMMUNITY)[0]
        viewer = create_token(s, Actor.system(), "地图测试-只读", "viewer")[0]
    return {"street": {"Authorization": f"Bearer {street}"}, "community": {"Authorization": f"Bearer {scoped}"},
            "viewer": {"Authorization": f"Bearer {viewer}"}}  # fmt: skip


@pytest.fixture(scope="module")
def private(sample_engine: Engine) -> dict[str, set[str]]:
    """Residents' names (those not also a staff name), phones and ID numbers: must never be on a public page."""
    with sample_engine.connect() as conn:
        staff = set(conn.execute(text("SELECT name FROM staff")).scalars())
        rows = conn.execute(text("SELECT name, phone, id_number FROM person")).all()
    return {
        "names": {r.name for r in rows if r.name and r.name not in staff},
        "numbers": {v for r in rows for v in (r.phone, r.id_number) if v},
    }


def _leaks(page_html: str, private: dict[str, set[str]]) -> list[str]:
    words = set(re.findall(r"[\u4e00-\u9fff]{2,4}", page_html))
    numbers = set(re.findall(r"\d{11,18}X?", page_html))
    return sorted((words & private["names"]) | (numbers & private["numbers"]))


def _db_counts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        grids = conn.execute(text("SELECT count(*) FROM grid WHERE valid_to IS NULL")).scalar_one()
        kinds = dict(
            conn.execute(text("SELECT kind, count(*) FROM household WHERE grid_id IS NOT NULL AND valid_to IS NULL "
                              "GROUP BY 1")).all()
        )
    return {"grids": grids, "kinds": kinds}


def test_grid_page_served_offline_with_ledger_popups_and_search(
    browser: Any, base_url: str, sample_engine: Engine, private: dict[str, set[str]]
) -> None:
    expected = _db_counts(sample_engine)
    log = PageLog()
    page = open_page(browser, f"{base_url}/maps/grid?layers=households,buildings", log, viewport=(1400, 900))
    try:
        html = page.content()
        assert external_urls(html) == []
        assert _leaks(html, private) == []
        name = page.evaluate("() => Object.keys(window).find((k) => k.startsWith('map_'))")
        page.wait_for_function(f"() => window['{name}'] && document.querySelector('.leaflet-overlay-pane canvas')")
        settle(page, name)
        polygons = page.evaluate(COUNT_POLYGONS_JS, name)
        with sample_engine.connect() as conn:
            polygon_buildings = conn.execute(
                text("SELECT count(*) FROM building WHERE GeometryType(geom) <> 'POINT' AND grid_id IS NOT NULL "
                     "AND valid_to IS NULL")
            ).scalar_one()
        assert polygons == expected["grids"] + polygon_buildings
        overlays = page.locator(".leaflet-control-layers-overlays").inner_text()
        for kind in HOUSEHOLD_COLOURS:
            assert f"住户：{kind}（{expected['kinds'][kind]}）" in overlays
        assert "党建" not in overlays  # not asked for, and no token

        # search by code: the grid's popup opens with its ledger and staff
        page.locator(".leaflet-control-search input.search-input").press_sequentially(COMPOUND, delay=20)
        page.wait_for_selector(".leaflet-control-search .search-tip")
        page.click(".leaflet-control-search .search-tip")
        page.wait_for_selector(".leaflet-popup-content .gridgov-popup")
        popup = page.locator(".leaflet-popup-content").inner_text()
        with Session(sample_engine) as s:
            row = grid_frame(s, parent_code=COMPOUND).iloc[0]
        for text_ in ("户数", str(row["households"]), "人数", str(row["persons"]), "党员数", "楼栋数", "网格人员"):
            assert text_ in popup, (text_, popup)
        assert str(row["staff"]).split("；")[0] in popup  # first role: name (phone)
        png = page.screenshot()
        Path("/tmp/grid_page.png").write_bytes(png)
    finally:
        page.context.close()
    log.assert_clean()
    assert_not_blank(png)


def test_party_layer_needs_a_token_and_stays_in_scope(
    browser: Any, base_url: str, sample_engine: Engine, party_tokens: dict[str, dict[str, str]]
) -> None:
    import httpx

    r = httpx.get(f"{base_url}/maps/grid?layers=party")
    assert r.status_code == 401 and "令牌" in r.json()["detail"]
    r = httpx.get(f"{base_url}/maps/grid?layers=party&parent=610103006002", headers=party_tokens["community"])
    assert r.status_code == 403
    r = httpx.get(f"{base_url}/maps/grid?layers=party", headers=party_tokens["viewer"])  # no personal data
    assert r.status_code == 403 and "查看个人信息" in r.json()["detail"]
    log = PageLog()
    page = open_page(browser, f"{base_url}/maps/grid?layers=party", log, headers=party_tokens["community"])
    try:
        overlays = page.locator(".leaflet-control-layers-overlays").inner_text()
        with sample_engine.connect() as conn:
            party_households = conn.execute(
                text(
                    "SELECT count(DISTINCT h.id) FROM person p JOIN household h ON h.id = p.household_id "
                    "JOIN grid g ON g.id = h.grid_id WHERE p.is_party_member AND g.code LIKE :c"
                ),
                {"c": COMMUNITY + "%"},
            ).scalar_one()
        assert f"党建（党员户 {party_households}）" in overlays  # the scoped token gets its community only
        assert "建设巷社区" in page.locator(".gridgov-title").inner_text() or COMMUNITY in page.content()
    finally:
        page.context.close()
    log.assert_clean()


def test_cli_writes_an_offline_grid_map(sample_engine: Engine, tmp_path: Path, private: dict[str, set[str]]) -> None:
    out = tmp_path / "maps" / "community.html"
    r = run_cli(
        ["map", "grid", "--parent", COMMUNITY, "--layers", "households", "-o", str(out)],
        {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home")},
    )
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert external_urls(html) == [] and (out.parent / "lib" / "leaflet" / "dist" / "leaflet.js").is_file()
    with sample_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM grid WHERE code LIKE :c AND valid_to IS NULL"),
                         {"c": COMMUNITY + "%"}).scalar_one()  # fmt: skip
    assert html.count('"popup": "\\u003ctable class=\\"gridgov-popup\\"') == n
    assert _leaks(html, private) == []
    bad = run_cli(["map", "grid", "--layers", "gardens", "-o", str(out)],
                  {"GRIDGOV_DATABASE_URL": _url(sample_engine), "GRIDGOV_HOME": str(tmp_path / "home")})  # fmt: skip
    assert bad.returncode == 1 and "未知的图层" in bad.stderr


def test_vector_tiles_for_large_areas(browser: Any, sample_engine: Engine, settings: Settings, base_url: str) -> None:
    import httpx

    lon, lat, z = 108.96, 34.24, 15  # inside 文艺路街道
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    tile = httpx.get(f"{base_url}/api/tiles/grids/{z}/{x}/{y}.mvt")
    assert tile.status_code == 200 and tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert b"grids" in tile.content and b"610103006" in tile.content
    assert httpx.get(f"{base_url}/api/tiles/grids/15/99999/1.mvt").status_code == 422
    assert httpx.get(f"{base_url}/api/tiles/grids/3/1/1.mvt").content == b""  # nothing there

    small = settings.model_copy(update={"mvt_min_grids": 10})  # the sample's 83 grids count as "large"
    with serve(create_app(small, sample_engine)) as url:
        log = PageLog()
        page = open_page(browser, f"{url}/maps/grid", log)
        try:
            html = page.content()
            assert '"type": "FeatureCollection"' not in html  # nothing inlined
            page.wait_for_function("() => window.gridgovTiles && Object.keys(window.gridgovTiles._tiles).length > 0"
                                   " && !window.gridgovTiles.isLoading()")
            settle(page)
            loaded = page.evaluate("() => Object.keys(window.gridgovTiles._tiles).length")
            png = page.screenshot()
            Path("/tmp/grid_tiles.png").write_bytes(png)
        finally:
            page.context.close()
    log.assert_clean()
    assert loaded >= 1
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    greenish = (pixels[..., 1].astype(int) - pixels[..., 0].astype(int) > 40) & (pixels[..., 1] > 150)
    assert greenish.sum() > 5000  # compounds drawn from the tiles


class _Tiles(http.server.BaseHTTPRequestHandler):
    """A stand-in intranet tile server: one grey PNG for every tile, and a log of what was asked."""

    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), (222, 226, 230)).save(buf, "PNG")
        type(self).asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(buf.getvalue())

    def log_message(self, *args: Any) -> None:
        pass


def test_intranet_basemap_loads_only_local_tiles(browser: Any, sample_engine: Engine, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tiles/{{z}}/{{x}}/{{y}}.png"
        bm = basemap("intranet", Settings(basemap_url=url))
        with Session(sample_engine) as s:
            m = grid_map_from_db(s, parent_code=COMMUNITY, basemap=bm)
        from gridgov.maps.assets import save_offline

        out = save_offline(m, tmp_path / "intranet.html")
        log = PageLog()
        page = open_page(browser, out, log)
        page.wait_for_load_state("networkidle")  # the basemap's tiles asked and answered
        settle(page)
        page.context.close()
    finally:
        server.shutdown()
    # Leaflet cancels the tile loads of the start zoom when fitBounds moves on: those aborts are expected
    log.failed = [f for f in log.failed if not ("/tiles/" in f and "ERR_ABORTED" in f)]
    log.assert_clean()
    assert any(p.startswith("/tiles/") for p in _Tiles.asked)


def test_basemap_choices_and_the_gcj02_shift(sample_engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="GRIDGOV_TIANDITU_KEY"):
        basemap("tianditu", Settings(tianditu_key=None))
    with pytest.raises(InvalidInput, match="GRIDGOV_BASEMAP_URL"):
        basemap("intranet", Settings(basemap_url="http://10.1.1.1/tiles.png"))
    with pytest.raises(InvalidInput, match="未知的底图"):
        basemap("google", Settings())
    assert basemap(None, Settings()).layers == ()  # none by default
    tdt = basemap("tianditu", Settings(tianditu_key="k123"))
    assert len(tdt.layers) == 2 and all("tk=k123" in x.url for x in tdt.layers) and not tdt.gcj02

    with Session(sample_engine) as s:
        frame = grid_frame(s, parent_code=COMPOUND)
    plain = grid_map(frame, simplify_m=0).get_root().render()
    amap = grid_map(frame, basemap=basemap("amap", Settings()), simplify_m=0).get_root().render()
    assert "autonavi.com" in amap and "autonavi.com" not in plain

    def first_xy(html: str) -> np.ndarray:
        m = re.search(r'"coordinates": \[\[\[\[?([\d.]+), ([\d.]+)\]', html)
        assert m is not None
        return np.array([float(m[1]), float(m[2])])

    shift = first_xy(amap) - first_xy(plain)
    # GCJ-02 in Xi'an: about +0.0047° lon and -0.0015° lat (钟楼: WGS 108.9421, 34.2611 → GCJ 108.9468, 34.2596)
    assert 0.003 < shift[0] < 0.007 and -0.003 < shift[1] < -0.0005, shift


def test_the_grid_map_as_of_a_day_shows_the_posts_and_households_of_that_day(sample_engine: Engine) -> None:
    import datetime as dt

    from gridgov.history import day_of
    from gridgov.sample.changes import HANDED_OVER

    with Session(sample_engine) as s:
        handed = s.execute(text(
            """SELECT g.code, old.name AS before, new.name AS after, r.until FROM grid_role r
                 JOIN grid g ON g.id = r.grid_id JOIN staff old ON old.id = r.staff_id
                 JOIN grid_role n ON n.grid_id = r.grid_id AND n.role = r.role AND n.since = r.until
                 JOIN staff new ON new.id = n.staff_id
                WHERE r.end_reason = '交接' ORDER BY r.until""")).all()  # fmt: skip
        assert len(handed) == len(HANDED_OVER)
        code, before, after, day = handed[0]
        parent = s.execute(text("SELECT p.code FROM grid g JOIN grid p ON p.id = g.parent_id "
                                "WHERE g.code = :c AND g.valid_to IS NULL"), {"c": code}).scalar_one()  # fmt: skip
        the_day_before = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), dt.UTC)
        then = grid_frame(s, parent_code=parent, as_of=the_day_before).set_index("code")
        now = grid_frame(s, parent_code=parent).set_index("code")
        assert before in then.loc[code, "staff"] and after not in then.loc[code, "staff"]
        assert after in now.loc[code, "staff"] and before not in now.loc[code, "staff"]
        html_then = grid_map_from_db(s, parent_code=parent, as_of=the_day_before).get_root().render()
        html_now = grid_map_from_db(s, parent_code=parent).get_root().render()
        shows = lambda html, name: name in html or json.dumps(name)[1:-1] in html  # noqa: E731 - maybe \u-escaped
        assert shows(html_then, before) and not shows(html_then, after) and shows(html_now, after)
        assert f"（{the_day_before:%Y-%m-%d}）" in html_then
        moved_out = s.execute(text("SELECT count(*) FROM household WHERE end_reason = '搬离' AND valid_to > :t"),
                              {"t": the_day_before}).scalar_one()  # fmt: skip
        street_then = grid_frame(s, level="street", as_of=the_day_before)["households"].sum()
        street_now = grid_frame(s, level="street")["households"].sum()
        moved_in = s.execute(text(
            "SELECT count(*) FROM (SELECT coalesce(lineage_id, id) FROM household GROUP BY 1 "
            "HAVING min(valid_from) > :t AND bool_or(lineage_id IS NULL AND valid_to IS NULL)) f"),
            {"t": the_day_before}).scalar_one()  # fmt: skip
        assert street_then - street_now == moved_out - moved_in
        assert day <= day_of(None)
