"""The 巡逻路线图 on the sample street: offline in Chromium, popups against track_grid_stats, unvisited grids
against an independent SQL computation, the team filter, the default night, and bad input."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import folium
import numpy as np
import pytest
import shapely
from branca.element import Element
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.errors import InvalidInput, NotFound
from gridgov.geo.crs import GCJ02, MetricFrame, from_wgs84
from gridgov.maps import external_urls, save_offline
from gridgov.maps.basemap import Basemap
from gridgov.maps.elements import TitleLegend
from gridgov.maps.patrol import arrow_marks, patrol_map
from gridgov.patrol.tracks import track_grid_stats

from tests.browser import COUNT_POLYGONS_JS, PageLog, assert_not_blank, colours, open_page, settle

SCREENSHOT = Path("/tmp/patrol_map.png")
TZ = ZoneInfo("Asia/Shanghai")

COUNT_TRACKS_JS = """
(name) => {
    let n = 0;
    window[name].eachLayer((l) => {
        if (l instanceof L.Polyline && !(l instanceof L.Polygon)
            && (l.options.className || "").split(" ").includes("gridgov-track")) n += 1;
    });
    return n;
}
"""

UNVISITED_JS = """
(name) => {
    const codes = [];
    window[name].eachLayer((l) => {
        if (l instanceof L.Polygon && l.feature && !l.feature.properties.visited) codes.push(l.feature.properties.code);
    });
    return codes.sort();
}
"""

OPEN_TRACK_POPUP_JS = """
([name, id]) => {
    window[name].eachLayer((l) => {
        if (l instanceof L.Polyline && (l.options.className || "").split(" ").includes("gridgov-track-" + id)) {
            const pts = l.getLatLngs().flat(2);  // a track is a multi-line (a gap splits it)
            l.fire("click", {latlng: pts[Math.floor(pts.length / 2)]});
        }
    });
}
"""

# Independent of track_grid_stats: a leaf is in the area when more than half of it lies inside the team's
# patrol area(s); it was visited when some track of the night has a line of positive length inside it.
UNVISITED_SQL = """
WITH leaf AS (
    SELECT g.code, g.geom FROM grid g
     WHERE g.valid_to IS NULL AND g.lineage_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)
), zone AS (
    SELECT ST_Union(a.geom) AS geom FROM patrol_area a JOIN patrol_team t ON t.id = a.team_id
     WHERE t.code = CAST(:team AS text)
), shown AS (
    SELECT l.* FROM leaf l
     WHERE CAST(:team AS text) IS NULL
        OR ST_Area(ST_Intersection(l.geom, (SELECT geom FROM zone))) > 0.5 * ST_Area(l.geom)
)
SELECT s.code, EXISTS (
           SELECT 1 FROM patrol_track k JOIN patrol_team t ON t.id = k.team_id
            WHERE k.night = :night AND (CAST(:team AS text) IS NULL OR t.code = CAST(:team AS text))
              AND ST_Intersects(k.geom, s.geom) AND ST_Length(ST_Intersection(k.geom, s.geom)) > 0
       ) AS visited
  FROM shown s
 ORDER BY s.code
"""


def _walk(el: Element) -> Iterator[Element]:
    yield el
    for child in el._children.values():
        yield from _walk(child)


def _track_lines(m: folium.Map) -> dict[int, folium.PolyLine]:
    """Track polylines by track id (from their class name)."""
    out: dict[int, folium.PolyLine] = {}
    for el in _walk(m):
        if isinstance(el, folium.PolyLine):
            found = re.search(r"\bgridgov-track-(\d+)\b", el.options.get("className", ""))
            if found:
                out[int(found.group(1))] = el
    return out


def _popup_html(line: folium.PolyLine) -> str:
    popup = next(c for c in line._children.values() if isinstance(c, folium.Popup))
    return "".join(str(getattr(h, "data", "")) for h in popup.html._children.values())


def _popup_minutes(popup: str) -> dict[str, str]:
    """grid code -> minutes cell of a track popup."""
    rows = re.findall(r'<tr data-grid-code="([^"]+)">.*?class="num gridgov-min">([^<]*)<', popup)
    return {html.unescape(code): minutes for code, minutes in rows}


def _grid_features(m: folium.Map) -> dict[str, bool]:
    """Leaf grid code -> visited, from the map's grid GeoJSON layers."""
    out: dict[str, bool] = {}
    for el in _walk(m):
        if isinstance(el, folium.GeoJson):
            for f in el.data["features"]:
                out[html.unescape(f["properties"]["code"])] = bool(f["properties"]["visited"])
    return out


def _legend(m: folium.Map) -> TitleLegend:
    return next(el for el in _walk(m) if isinstance(el, TitleLegend))


def _unvisited(engine: Engine, night: dt.date, team: str | None) -> tuple[set[str], set[str]]:
    """(all leaves shown, unvisited leaves) by UNVISITED_SQL."""
    with engine.connect() as conn:
        rows = conn.execute(text(UNVISITED_SQL), {"night": night, "team": team}).all()
    return {r.code for r in rows}, {r.code for r in rows if not r.visited}


def _latest(engine: Engine, team: str | None = None) -> dt.date:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT max(k.night) FROM patrol_track k JOIN patrol_team t ON t.id = k.team_id"
                " WHERE CAST(:team AS text) IS NULL OR t.code = CAST(:team AS text)"
            ),
            {"team": team},
        ).scalar_one()


def _track_ids(engine: Engine, night: dt.date, team: str | None = None) -> set[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT k.id FROM patrol_track k JOIN patrol_team t ON t.id = k.team_id WHERE k.night = :night"
                " AND (CAST(:team AS text) IS NULL OR t.code = CAST(:team AS text))"
            ),
            {"night": night, "team": team},
        ).all()
    return {int(r.id) for r in rows}


def test_patrol_map_offline_in_chromium(browser: Any, sample_engine: Engine, tmp_path: Path) -> None:
    night = _latest(sample_engine)
    with Session(sample_engine) as s:
        m = patrol_map(s)
        stats = track_grid_stats(s, date_from=night, date_to=night)
    out = save_offline(m, tmp_path / "maps" / "patrol.html")
    assert external_urls(out.read_text(encoding="utf-8")) == []
    shown, unvisited = _unvisited(sample_engine, night, None)
    tracks = _track_ids(sample_engine, night)
    assert len(shown) == 72 and 0 < len(unvisited) < 72 and len(tracks) == 7
    # the track whose popup is checked: the one through the most grids
    per_track: dict[int, dict[str, float]] = {}
    for st in stats:
        per_track.setdefault(st.track_id, {})[st.grid_code] = st.seconds_inside
    track_id = max(per_track, key=lambda k: len(per_track[k]))

    log = PageLog()
    page = open_page(browser, out, log)
    try:
        name = m.get_name()
        page.wait_for_function(f"() => window['{name}'] && document.querySelector('.leaflet-overlay-pane canvas')")
        settle(page, name)
        assert page.evaluate(f"() => window['{name}'].options.preferCanvas") is True
        assert page.evaluate(COUNT_POLYGONS_JS, name) == len(shown)  # the only polygons are leaf grids
        assert page.evaluate(COUNT_TRACKS_JS, name) == len(tracks)
        assert page.evaluate(UNVISITED_JS, name) == sorted(unvisited)
        assert page.evaluate(f"() => window['{name}'].getZoom()") >= 14  # arrows are shown from zoom 14
        arrows = page.locator(".gridgov-arrow")
        assert arrows.count() > 100 and arrows.first.is_visible()
        assert page.locator(".gridgov-badge").count() == 2 * len(tracks)  # 起点 + 终点 per track
        assert page.locator(".gridgov-badge").first.inner_text() in ("起", "终")

        assert f"文艺路街道 巡逻路线图 {night.isoformat()}" in page.locator(".gridgov-title").inner_text()
        legend = page.locator(".gridgov-legend").inner_text()
        for text_ in (f"未巡逻网格：{len(unvisited)} 个", "上半夜", "下半夜", "计划路线", "轨迹起点"):
            assert text_ in legend, (text_, legend)
        layers = page.locator(".leaflet-control-layers-overlays").inner_html()
        assert "· 上半夜" in layers and "· 下半夜" in layers and "计划路线" in layers

        png = page.screenshot()  # before the popup pans the map
        SCREENSHOT.write_bytes(png)

        page.evaluate(OPEN_TRACK_POPUP_JS, [name, track_id])
        popup = page.locator(".gridgov-track-popup")
        popup.wait_for()
        assert popup.get_attribute("data-track-id") == str(track_id)
        shown_minutes = {
            row.get_attribute("data-grid-code"): row.locator(".gridgov-min").inner_text()
            for row in popup.locator("tr[data-grid-code]").all()
        }
        assert shown_minutes == {code: f"{sec / 60:.1f}" for code, sec in per_track[track_id].items()}
        assert "总里程" in popup.inner_text() and "开始" in popup.inner_text()
    finally:
        page.context.close()

    log.assert_clean()
    assert_not_blank(png)
    pixels = colours(png).astype(int)
    orange = (pixels[..., 0] > 200) & (pixels[..., 1] > 130) & (pixels[..., 1] < 200) & (pixels[..., 2] < 160)
    assert orange.sum() > 500  # the unvisited grids are filled


def test_track_popup_minutes_equal_track_grid_stats(sample_engine: Engine) -> None:
    night = _latest(sample_engine) - dt.timedelta(days=3)
    with Session(sample_engine) as s:
        m = patrol_map(s, night=night)
        stats = track_grid_stats(s, date_from=night, date_to=night)
        times = {
            int(r.id): (r.started_at, r.ended_at)
            for r in s.execute(text("SELECT id, started_at, ended_at FROM patrol_track WHERE night = :n"), {"n": night})
        }
    lines = _track_lines(m)
    assert set(lines) == set(times)
    for track_id, line in lines.items():
        popup = _popup_html(line)
        expected = {st.grid_code: f"{st.seconds_inside / 60:.1f}" for st in stats if st.track_id == track_id}
        assert expected and _popup_minutes(popup) == expected, track_id
        started, ended = times[track_id]
        assert f"开始：{started.astimezone(TZ):%Y-%m-%d %H:%M}" in popup
        assert f"结束：{ended.astimezone(TZ):%Y-%m-%d %H:%M}" in popup


@pytest.mark.parametrize("team", [None, "PT04", "PT01"])
def test_unvisited_grids_are_the_area_leaves_without_track(sample_engine: Engine, team: str | None) -> None:
    night = _latest(sample_engine, team)
    with Session(sample_engine) as s:
        m = patrol_map(s, team_code=team)
        stats = track_grid_stats(s, date_from=night, date_to=night, team_code=team)
    shown, unvisited = _unvisited(sample_engine, night, team)
    grids = _grid_features(m)
    assert set(grids) == shown
    assert {code for code, visited in grids.items() if not visited} == unvisited
    assert unvisited == shown - {st.grid_code for st in stats}  # "no stats that night"
    if team == "PT04":
        assert unvisited  # the sample's volunteer team leaves part of its area unpatrolled on the latest night
    assert f"未巡逻网格：{len(unvisited)} 个" in _legend(m).legend_html


def test_team_filter_and_default_night(sample_engine: Engine) -> None:
    latest = _latest(sample_engine)
    with Session(sample_engine) as s:
        everyone = patrol_map(s)
        pt02 = patrol_map(s, team_code="PT02")
        earlier = latest - dt.timedelta(days=10)
        pt01_earlier = patrol_map(s, night=earlier, team_code="PT01")
    assert set(_track_lines(everyone)) == _track_ids(sample_engine, latest)
    assert f"巡逻路线图 {latest.isoformat()}" in _legend(everyone).title_html
    assert set(_track_lines(pt02)) == _track_ids(sample_engine, _latest(sample_engine, "PT02"), "PT02")
    assert _track_ids(sample_engine, latest, "PT02") < _track_ids(sample_engine, latest)  # others filtered out
    assert set(_track_lines(pt01_earlier)) == _track_ids(sample_engine, earlier, "PT01")
    assert f"巡逻路线图 {earlier.isoformat()}" in _legend(pt01_earlier).title_html
    layer_names = [el.layer_name for el in _walk(pt02) if isinstance(el, folium.FeatureGroup)]
    assert all("PT02" in n for n in layer_names if "上半夜" in n or "下半夜" in n) and len(layer_names) >= 4


def test_overlays_are_shifted_to_gcj02_on_amap(sample_engine: Engine) -> None:
    amap = Basemap("amap", "高德", gcj02=True)  # no tile layers: only the overlay shift matters here
    with Session(sample_engine) as s:
        track_id, wkb = s.execute(
            text("SELECT id, ST_AsBinary(geom) FROM patrol_track WHERE team_id = (SELECT id FROM patrol_team"
                 " WHERE code = 'PT03') ORDER BY night DESC, started_at LIMIT 1")
        ).one()  # fmt: skip
        m = patrol_map(s, team_code="PT03", basemap=amap)
    lon, lat = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))[0]
    gx, gy = shapely.get_coordinates(from_wgs84([shapely.Point(lon, lat)], GCJ02)[0])[0]
    first = _track_lines(m)[int(track_id)].locations[0][0]  # the first part's first point
    assert first == pytest.approx([round(gy, 6), round(gx, 6)], abs=1.5e-6)
    assert abs(first[1] - lon) > 1e-3  # the GCJ-02 offset is hundreds of metres


def test_arrows_follow_the_direction_and_repeated_loops_are_thinned() -> None:
    frame = MetricFrame(108.96)
    start = np.array(shapely.get_coordinates(frame.to_m(shapely.Point(108.96, 34.24)))[0])
    east = shapely.LineString([start, start + [1000.0, 0.0]])
    once = arrow_marks([frame.to_ll(east)], frame)
    assert len(once) == 5 and all(abs(deg - 90.0) < 1.0 for _, _, deg in once)
    # the same street walked east, west, east, west: one set of arrows per direction
    loop = shapely.LineString([start, start + [1000.0, 0.0], start + [0.0, 1.0], start + [1000.0, 2.0], start])
    marks = arrow_marks([frame.to_ll(loop)], frame)
    assert sorted(round(deg) for _, _, deg in marks).count(90) == 5
    assert sorted(round(deg) for _, _, deg in marks).count(270) == 5
    assert arrow_marks([], frame) == []


def test_bad_input_raises_domain_errors_in_chinese(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        with pytest.raises(NotFound, match="巡逻队不存在：PT99"):
            patrol_map(s, team_code="PT99")
        with pytest.raises(NotFound, match=r"2001-01-01 当晚所有巡逻队都没有巡逻轨迹.*最近有轨迹的一晚：\d{4}-"):
            patrol_map(s, night=dt.date(2001, 1, 1))
        with pytest.raises(NotFound, match=r"2001-01-01 当晚巡逻队 平安志愿者巡逻队（PT04）没有巡逻轨迹") as err:
            patrol_map(s, night=dt.date(2001, 1, 1), team_code="PT04")
        assert err.value.details == {"night": "2001-01-01", "team_code": "PT04"}
        with pytest.raises(InvalidInput, match="日期无效"):
            patrol_map(s, night="2026-10-31")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="巡逻队编号不能为空"):
            patrol_map(s, team_code="  ")
