"""The 巡逻覆盖率图 on the sample street: offline in Chromium, category filter, low-coverage grids, no personal data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import pytest
import shapely
import shapely.geometry
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.config import Settings
from gridgov.errors import InvalidInput, NotFound
from gridgov.maps import external_urls, save_offline
from gridgov.maps.basemap import basemap, display_geoms
from gridgov.maps.coverage import _heat, coverage_map
from gridgov.patrol.tracks import grid_coverage

from tests.browser import COUNT_POLYGONS_JS, PageLog, assert_not_blank, colours, open_page, settle

SCREENSHOT = Path("/tmp/coverage_map.png")
DATE_FROM, DATE_TO = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
TZ = "Asia/Shanghai"

_LIVE = "valid_to IS NULL AND lineage_id IS NULL"
_SUBTREE_SQL = f"""
WITH RECURSIVE sub AS (
    SELECT id, code FROM grid WHERE {_LIVE} AND (CAST(:parent AS text) IS NULL OR code = CAST(:parent AS text))
                                 AND (CAST(:parent AS text) IS NOT NULL OR parent_id IS NULL)
    UNION
    SELECT g.id, g.code FROM grid g JOIN sub ON g.parent_id = sub.id WHERE g.{_LIVE.replace(" AND ", " AND g.")}
)
SELECT sub.id, sub.code,
       NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = sub.id AND c.{_LIVE.replace(" AND ", " AND c.")}) AS leaf
  FROM sub
"""
"""Every live grid under :parent (itself included; NULL = the whole tree) and whether it is a leaf."""

_DAY_COUNTS_SQL = f"""
SELECT CAST(i.reported_at AT TIME ZONE '{TZ}' AS date) AS day, i.category, count(*) AS n
  FROM incident i JOIN grid g ON g.id = i.grid_id
 WHERE g.{_LIVE.replace(" AND ", " AND g.")}
   AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.{_LIVE.replace(" AND ", " AND c.")})
   AND CAST(i.reported_at AT TIME ZONE '{TZ}' AS date) BETWEEN :d0 AND :d1
 GROUP BY 1, 2
"""
"""Incidents of the live leaf grids per local day and category."""


@dataclass(frozen=True)
class Built:
    """The street-wide map of October 2026, saved offline."""

    map: folium.Map
    path: Path
    html: str


def _subtree(engine: Engine, parent: str | None = None) -> dict[str, tuple[int, bool]]:
    with Session(engine) as s:
        return {r.code: (int(r.id), bool(r.leaf)) for r in s.execute(text(_SUBTREE_SQL), {"parent": parent})}


def _geojson_features(m: folium.Map) -> list[list[dict[str, Any]]]:
    """The embedded GeoJSON feature lists of a map, in drawing order."""
    out: list[list[dict[str, Any]]] = []

    def visit(el: Any) -> None:
        if isinstance(el, folium.GeoJson):
            out.append(el.data["features"])
        for child in el._children.values():
            visit(child)

    visit(m)
    return out


def _low_codes(engine: Engine, leaves: dict[str, int], threshold: float, **kwargs: Any) -> set[str]:
    """Leaves whose coverage from the service is below ``threshold``."""
    with Session(engine) as s:
        cov = grid_coverage(s, **kwargs)
    return {code for code, gid in leaves.items() if cov[gid].ratio < threshold}


@pytest.fixture(scope="module")
def built(sample_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    with Session(sample_engine) as s:
        m = coverage_map(s, date_from=DATE_FROM, date_to=DATE_TO)
    path = save_offline(m, tmp_path_factory.mktemp("coverage") / "maps" / "coverage.html")
    yield Built(m, path, path.read_text(encoding="utf-8"))


@pytest.fixture
def page(browser: Any, built: Built) -> Iterator[tuple[Any, PageLog, str]]:
    """The saved map opened from file:// with every non-local request aborted; the log is checked after."""
    log = PageLog()
    pg = open_page(browser, built.path, log)
    name = built.map.get_name()
    try:
        pg.wait_for_function(
            f"() => window['{name}'] && document.querySelector('.leaflet-overlay-pane canvas')"
            " && document.querySelector('.gridgov-category-select')"
        )
        settle(pg, name)
        yield pg, log, name
    finally:
        pg.context.close()
    log.assert_clean()


def _heat_name(built: Built) -> str:
    heat = [c for c in built.map._children.values() if isinstance(c, folium.plugins.HeatMapWithTime)]
    assert len(heat) == 1
    return heat[0].get_name()


def test_coverage_map_offline_in_chromium(built: Built, page: tuple[Any, PageLog, str], sample_engine: Engine) -> None:
    pg, log, name = page
    assert external_urls(built.html) == []
    tree = _subtree(sample_engine)
    n_leaves = sum(leaf for _, leaf in tree.values())
    assert n_leaves == 72 and len(tree) == 83  # the sample street: 72 compounds, 10 communities, 1 street
    assert pg.evaluate(COUNT_POLYGONS_JS, name) == len(tree)  # every leaf filled + every parent outlined

    assert "文艺路街道巡逻覆盖率图" in pg.locator(".gridgov-title").inner_text()
    assert "2026-10-01 至 2026-10-31" in pg.locator(".gridgov-title").inner_text()
    legend = pg.locator(".gridgov-legend").inner_text()
    assert "街道边界（1）" in legend and "社区边界（10）" in legend
    layers = pg.locator(".leaflet-control-layers-overlays").inner_text()
    assert all(t in layers for t in ("巡逻覆盖率（楼院）", "网格边界", "事件热力图（按日）"))
    assert "巡逻覆盖率（%）" in pg.locator(".legend.leaflet-control").inner_text()  # branca colour bar (d3)
    assert pg.locator(".timecontrol-date").inner_text().strip() == "2026-10-01"
    assert pg.evaluate(f"() => window['{name}'].timeDimension.getAvailableTimes().length") == 31

    # a real click on a grid opens its Chinese popup (the heat canvas above lets clicks through)
    x, y, code = pg.evaluate(
        """(name) => {
            const map = window[name];
            const centre = map.latLngToContainerPoint(map.getCenter());
            let best = null;
            map.eachLayer((l) => {
                if (!(l instanceof L.Polygon) || !l.feature || !l.feature.properties.code) return;
                const p = map.latLngToContainerPoint(l.getCenter());
                const d = p.distanceTo(centre);
                if (best === null || d < best[0]) best = [d, p, l.feature.properties.code];
            });
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + best[1].x, box.top + best[1].y, best[2]];
        }""",
        name,
    )
    pg.mouse.click(x, y)
    pg.wait_for_selector(".leaflet-popup-content")
    popup = pg.locator(".leaflet-popup-content").inner_text()
    for label in ("名称", "编码", code, "覆盖率 (%)", "巡逻里程 (km)", "巡逻时长 (h)"):
        assert label in popup, (label, popup)
    pg.evaluate(f"() => {{ window['{name}'].closePopup(); }}")
    settle(pg, name)

    png = pg.screenshot()
    SCREENSHOT.write_bytes(png)
    assert_not_blank(png)
    pixels = colours(png).astype(int)
    # the heat gradient's purple is drawn (first frame, about 25 incidents)
    purple = (pixels[..., 2] - pixels[..., 1] > 60) & (pixels[..., 0] < 140)
    assert purple.sum() > 300


def test_category_filter_swaps_heat_data(built: Built, page: tuple[Any, PageLog, str], sample_engine: Engine) -> None:
    pg, _log, name = page
    heat = _heat_name(built)
    with Session(sample_engine) as s:
        rows = s.execute(text(_DAY_COUNTS_SQL), {"d0": DATE_FROM, "d1": DATE_TO}).all()
    counts = {(r.day, r.category): int(r.n) for r in rows}
    # the day of October with the most categories, and its second most frequent category (not the whole day)
    day = max(sorted({d for d, _ in counts}), key=lambda d: sum(1 for k in counts if k[0] == d))
    per_cat = sorted(((n, c) for (d, c), n in counts.items() if d == day), reverse=True)
    category = per_cat[1][1]
    day_total = sum(n for n, _ in per_cat)
    assert 0 < counts[(day, category)] < day_total

    frame = (day - DATE_FROM).days + 1
    points = f"window['{heat}']._currentTimeData.data.length"
    pg.evaluate(f"() => window['{name}'].timeDimension.setCurrentTime({frame})")
    pg.wait_for_function(f"() => document.querySelector('.timecontrol-date').textContent.trim() === '{day:%Y-%m-%d}'")
    pg.wait_for_function(f"() => {points} === {day_total}")

    select = pg.locator(".gridgov-category-select")
    options = select.locator("option").all_inner_texts()
    assert options[0] == "全部" and set(options[1:]) == {c for _, c in counts}
    assert "事件类别" in pg.locator(".gridgov-category").inner_text()
    select.select_option(label=category)
    pg.wait_for_function(f"() => {points} === {counts[(day, category)]}")

    # the filter holds when the time moves on
    next_day = day + dt.timedelta(days=1)
    pg.evaluate(f"() => window['{name}'].timeDimension.setCurrentTime({frame + 1})")
    pg.wait_for_function(f"() => {points} === {counts.get((next_day, category), 0)}")

    select.select_option(label="全部")
    pg.wait_for_function(f"() => {points} === {sum(n for (d, _c), n in counts.items() if d == next_day)}")


def test_low_coverage_grids_are_those_of_the_service(
    built: Built, page: tuple[Any, PageLog, str], sample_engine: Engine
) -> None:
    pg, _log, name = page
    leaves = {code: gid for code, (gid, leaf) in _subtree(sample_engine).items() if leaf}
    expected = _low_codes(sample_engine, leaves, 0.5, date_from=DATE_FROM, date_to=DATE_TO)
    assert 0 < len(expected) < len(leaves)
    drawn = pg.evaluate(
        """(name) => {
            const out = [];
            window[name].eachLayer((l) => {
                if (l instanceof L.Polygon && l.feature && l.feature.properties.code && l.options.dashArray)
                    out.push(l.feature.properties.code);
            });
            return out;
        }""",
        name,
    )
    assert sorted(drawn) == sorted(expected)
    text_ = f"覆盖率低于 50% 的网格：{len(expected)} 个"
    assert text_ in pg.locator(".gridgov-legend").inner_text()
    assert text_ in pg.locator(".gridgov-title").inner_text()


def test_parent_threshold_and_team(sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        community = s.execute(text(f"SELECT code FROM grid WHERE {_LIVE} AND level = 'community' ORDER BY code"))
        parent = community.scalars().first()
        team = s.execute(text("SELECT code FROM patrol_team ORDER BY code")).scalars().first()
        amap = basemap("amap", Settings())
        m = coverage_map(
            s, parent_code=parent, date_from=DATE_FROM, date_to=DATE_TO, threshold=0.6, team_code=team, basemap=amap
        )
        first = s.execute(
            text(f"SELECT ST_AsText(geom) FROM grid WHERE {_LIVE} AND code = (SELECT min(code) FROM grid"
                 f" WHERE {_LIVE} AND parent_id = (SELECT id FROM grid WHERE {_LIVE} AND code = :p))"),
            {"p": parent},
        ).scalar_one()  # fmt: skip
    tree = _subtree(sample_engine, parent)
    leaves = {code: gid for code, (gid, leaf) in tree.items() if leaf}
    choropleth, on_time, overdue, outlines = _geojson_features(m)  # the incident figures' layers between
    assert sorted(f["properties"]["code"] for f in choropleth) == sorted(leaves)
    assert [f["properties"]["code"] for f in on_time] == [f["properties"]["code"] for f in overdue] == \
        [f["properties"]["code"] for f in choropleth]
    assert len(outlines) == 1  # the community itself
    low = {f["properties"]["code"] for f in choropleth if f["properties"]["low"]}
    expected = _low_codes(sample_engine, leaves, 0.6, date_from=DATE_FROM, date_to=DATE_TO, team_code=team)
    assert low == expected and expected
    # over 高德 tiles every overlay is shifted to GCJ-02 (a few hundred metres in 西安) and rounded
    by_code = {f["properties"]["code"]: f for f in choropleth}
    drawn = shapely.geometry.shape(by_code[min(by_code)]["geometry"])
    wgs84 = shapely.from_wkt(first)
    assert shapely.equals_exact(drawn, display_geoms([wgs84], amap)[0], tolerance=1e-9)
    assert 100 < shapely.hausdorff_distance(drawn, wgs84) * 111_000 < 1000
    html = m.get_root().render()
    assert f"覆盖率低于 60% 的网格：{len(expected)} 个" in json.loads(f'"{_legend_json(html)}"')


def _legend_json(html: str) -> str:
    """The TitleLegend's legend HTML as written (a JSON string literal) in the page."""
    start = html.index("div.innerHTML = ") + len("div.innerHTML = ") + 1
    return html[start : html.index('";', start)]


def test_no_incident_text_in_html(built: Built, sample_engine: Engine) -> None:
    with Session(sample_engine) as s:
        rows = s.execute(text("SELECT code, description FROM incident")).all()
    assert len(rows) > 2000
    page = built.html
    for code, description in rows:
        for value in (code, description):
            if value:
                # raw, and as written by a JSON encoder that escapes non-ASCII (jinja's tojson)
                assert value not in page and json.dumps(value)[1:-1] not in page, value
    assert "description" not in page and "subcategory" not in page


def test_weekly_frames_for_long_periods(sample_engine: Engine) -> None:
    leaves = [gid for gid, leaf in _subtree(sample_engine).values() if leaf]
    d0, d1 = dt.date(2026, 6, 1), dt.date(2026, 10, 31)  # 153 days
    with Session(sample_engine) as s:
        heat = _heat(s, leaves, d0, d1, None, "Asia/Shanghai")
        n = sum(int(r.n) for r in s.execute(text(_DAY_COUNTS_SQL), {"d0": d0, "d1": d1}))
    assert heat.weekly and len(heat.frames) == 22 == len(heat.labels)
    assert heat.labels[0] == "2026-06-01～06-07" and heat.labels[-1] == "2026-10-26～10-31"
    assert sum(len(f) for f in heat.frames) == heat.total == n
    assert [len(f) for f in heat.frames] == [len(c) for c in heat.cats]


def test_bad_input_raises_domain_errors(sample_engine: Engine, clean_engine: Engine) -> None:
    with Session(sample_engine) as s:
        with pytest.raises(InvalidInput, match="日期范围无效"):
            coverage_map(s, date_from=DATE_TO, date_to=DATE_FROM)
        for bad in (1.5, -0.1, float("nan"), "半数"):
            with pytest.raises(InvalidInput, match="覆盖率阈值无效"):
                coverage_map(s, threshold=bad)  # type: ignore[arg-type]
        with pytest.raises(NotFound, match="网格不存在"):
            coverage_map(s, parent_code="999999999999")
        with pytest.raises(InvalidInput, match="上级网格编码"):
            coverage_map(s, parent_code=" ")
        with pytest.raises(NotFound, match="巡逻队不存在"):
            coverage_map(s, team_code="NOPE")
    with Session(clean_engine) as s, pytest.raises(InvalidInput, match="没有可绘制的网格"):
        coverage_map(s)
