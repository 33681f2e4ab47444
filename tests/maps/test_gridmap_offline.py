"""The grid map saved offline works in headless Chromium from file:// with every network request blocked."""

from __future__ import annotations

from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from gridgov.errors import InvalidInput
from gridgov.maps import external_urls, grid_map, save_offline

from tests.browser import COUNT_POLYGONS_JS, PageLog, assert_not_blank, colours, open_page, settle

SCREENSHOT = Path("/tmp/gridmap_offline.png")


def _grids() -> gpd.GeoDataFrame:
    """A street, a community and two compounds (one a MultiPolygon) around 108.96 E, 34.24 N (西安)."""
    rows = [
        dict(code="610103006", name="文艺路街道", level="street",
             geometry=box(108.9500, 34.2320, 108.9700, 34.2480)),
        dict(code="610103006001", name="建设巷社区", level="community",
             geometry=Polygon([(108.9520, 34.2340), (108.9610, 34.2340), (108.9625, 34.2400),
                               (108.9610, 34.2460), (108.9520, 34.2460)])),
        dict(code="610103006001001", name="和平小区", level="compound",
             geometry=box(108.95301234567, 34.23601234567, 108.9565, 34.2395),
             households=320, persons=870, party_members=41),
        dict(code="610103006001002", name="幸福家园", level="compound",
             geometry=MultiPolygon([box(108.9575, 34.2400, 108.9600, 34.2445),
                                    box(108.9540, 34.2415, 108.9560, 34.2440)]),
             households=210, persons=None, party_members=12),
    ]  # fmt: skip
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def test_grid_map_offline_in_chromium(browser: object, tmp_path: Path) -> None:
    m = grid_map(_grids(), title="文艺路街道网格图")
    out = save_offline(m, tmp_path / "maps" / "grid.html")
    html = out.read_text(encoding="utf-8")
    assert external_urls(html) == []
    assert "108.953012," in html and "108.95301234567" not in html  # coordinates rounded to 6 decimals

    log = PageLog()
    page = open_page(browser, out, log)
    try:
        name = m.get_name()
        page.wait_for_function(f"() => window['{name}'] && document.querySelector('.leaflet-overlay-pane canvas')")
        settle(page, name)

        assert page.evaluate(COUNT_POLYGONS_JS, name) == 4
        assert page.evaluate(f"() => window['{name}'].options.preferCanvas") is True
        assert page.evaluate(f"() => window['{name}'].getMaxZoom()") == 20
        assert page.evaluate(f"() => window['{name}'].getZoom()") >= 15  # compound labels placed at fit zoom

        # every label is in the page; those that would overlap a label of higher priority wait for room (hidden)
        labels = page.locator(".gridgov-label-text").all_text_contents()
        assert sorted(labels) == ["和平小区610103006001001", "幸福家园610103006001002"]
        assert page.locator(".gridgov-community-label-text").all_text_contents() == ["建设巷社区"]
        assert page.locator(".gridgov-community-label-text").is_visible()
        assert page.locator(".gridgov-label-text", has_text="和平小区").is_visible()
        assert "文艺路街道网格图" in page.locator(".gridgov-title").inner_text()
        legend = page.locator(".gridgov-legend").inner_text()
        assert "图例" in legend and "楼院（2）" in legend and "街道（1）" in legend
        layer_names = page.locator(".leaflet-control-layers-overlays").inner_text()
        assert all(n in layer_names for n in ("街道", "社区", "楼院"))
        assert page.locator(".leaflet-control-scale").count() == 1
        assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
        assert "测量" in page.locator(".leaflet-control-measure").inner_html()

        # a compound's popup lists the ledger in Chinese
        page.evaluate(
            """(name) => {
                const map = window[name];
                map.eachLayer((l) => {
                    if (l instanceof L.Polygon && l.feature && l.feature.properties.code === "610103006001001") {
                        l.fire("click", {latlng: l.getCenter()}, true);
                    }
                });
            }""",
            name,
        )
        popup = page.locator(".leaflet-popup-content").inner_text()
        for text in ("名称", "和平小区", "编码", "层级", "楼院", "户数", "320", "人数", "870", "党员数", "41"):
            assert text in popup, (text, popup)
        page.evaluate(f"() => window['{name}'].closePopup()")
        settle(page, name)

        png = page.screenshot()
        SCREENSHOT.write_bytes(png)
    finally:
        page.context.close()  # type: ignore[attr-defined]

    log.assert_clean()
    assert_not_blank(png)
    pixels = colours(png)
    # the compound fill colour (#8ce99a blended) is actually drawn somewhere
    greenish = (pixels[..., 1].astype(int) - pixels[..., 0].astype(int) > 40) & (pixels[..., 1] > 150)
    assert greenish.sum() > 1000


def test_supported_plugins_load_offline(browser: object, tmp_path: Path) -> None:
    """Each supported plugin's local library actually defines what the plugin's script expects."""
    m = folium.Map(location=[34.24, 108.96], zoom_start=15, tiles=None, maxZoom=19)  # clusters need maxZoom
    folium.plugins.Fullscreen().add_to(m)
    folium.plugins.MeasureControl(localization="cn").add_to(m)
    cluster = folium.plugins.MarkerCluster().add_to(m)
    folium.Marker([34.24, 108.96], icon=folium.Icon(icon="home", prefix="fa", angle=45)).add_to(cluster)
    folium.Marker([34.241, 108.961], icon=folium.Icon(icon="flag", prefix="glyphicon")).add_to(cluster)
    folium.plugins.FastMarkerCluster([[34.242, 108.962]]).add_to(m)
    folium.plugins.HeatMap([[34.24, 108.96, 1.0], [34.241, 108.962, 0.5]]).add_to(m)
    folium.plugins.HeatMapWithTime([[[34.24, 108.96, 1.0]], [[34.241, 108.961, 1.0]]]).add_to(m)
    line = folium.PolyLine([[34.239, 108.958], [34.243, 108.963]]).add_to(m)
    folium.plugins.PolyLineTextPath(line, "巡查路线 ►", repeat=True).add_to(m)
    fg = folium.FeatureGroup(name="点位").add_to(m)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "网格站"},
                                                    "geometry": {"type": "Point", "coordinates": [108.96, 34.24]}}]}
    ).add_to(fg)  # fmt: skip
    folium.plugins.Search(fg, search_label="name").add_to(m)
    folium.plugins.GeoMan().add_to(m)
    out = save_offline(m, tmp_path / "plugins.html")

    log = PageLog()
    page = open_page(browser, out, log)
    try:
        page.wait_for_function(f"() => window['{m.get_name()}'] !== undefined")
        settle(page, m.get_name())
        checks = page.evaluate(
            """() => ({
                fullscreen: typeof L.Control.FullScreen,
                measure: typeof L.Control.Measure,
                cluster: typeof L.markerClusterGroup,
                heat: typeof L.heatLayer,
                timedim: typeof L.TimeDimension,
                textpath: typeof L.Polyline.prototype.setText,
                search: typeof L.Control.Search,
                geoman: typeof L.PM,
                awesome: typeof L.AwesomeMarkers,
                jquery: typeof jQuery,
                bootstrap: typeof bootstrap,
                glyphFont: getComputedStyle(document.querySelector('.glyphicon') || document.body).fontFamily,
            })"""
        )
        page.wait_for_load_state("networkidle")  # fonts and images requested by the plugins have loaded or failed
    finally:
        page.context.close()  # type: ignore[attr-defined]
    for k in ("fullscreen", "measure", "cluster", "heat", "timedim", "textpath", "search", "geoman", "jquery"):
        assert checks[k] == "function" or (k == "geoman" and checks[k] == "object"), (k, checks)
    assert checks["awesome"] == "object" and checks["bootstrap"] == "object"
    log.assert_clean()


def test_grid_map_rejects_bad_input() -> None:
    g = _grids()
    with pytest.raises(InvalidInput, match="层级"):
        grid_map(g.assign(level=["street", "community", "building", "compound"]))
    with pytest.raises(InvalidInput, match="缺少字段"):
        grid_map(g.drop(columns=["code"]))


def test_grid_map_reprojects_and_needs_no_ledger(tmp_path: Path) -> None:
    g = _grids().drop(columns=["households", "persons", "party_members"]).to_crs(3857)
    m = grid_map(g)
    html = save_offline(m, tmp_path / "g.html").read_text(encoding="utf-8")
    assert "108.96" in html  # back in EPSG:4326
    assert "户数" not in html and "\\u6237\\u6570" not in html  # no ledger columns: no ledger rows in popups
