"""The coverage map outlines missed duties only: low coverage inside a rostered team's area (every low grid when
the period has no roster), names its grids, and lists the least-covered ones beside the map."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from sqlalchemy import Engine, text

from gridgov.db.engine import session_scope
from gridgov.maps.coverage import coverage_map

from tests.factories import X0, Y0, D, make_street
from tests.patrol.test_tracks import NIGHT, T0, add_team, add_track

A, B, C = "610103006001001", "610103006001002", "610103006002001"


def _street_with_a_walk(engine: Engine, rostered: bool) -> None:
    """Team T1 patrols the west community; its track walks compound A only; rostered that night or not."""
    with session_scope(engine) as s:
        make_street(s)
        team = add_team(s, "T1", "610103006001")
        lon = np.linspace(X0 + 0.001, X0 + D / 2 - 0.001, 40)
        lonlat = np.column_stack([lon, np.full_like(lon, Y0 + D / 2)])
        add_track(s, team, lonlat, [T0 + dt.timedelta(seconds=30 * i) for i in range(len(lon))])
        if rostered:
            s.execute(text("INSERT INTO patrol_roster (night, shift, team_id) VALUES (:n, '上半夜', :t)"),
                      {"n": NIGHT, "t": team})  # fmt: skip


def shows(html: str, words: str) -> bool:
    """Whether the page has ``words`` (as text, or as the JSON string a script writes)."""
    return words in html or json.dumps(words)[1:-1] in html


def _low_and_html(engine: Engine) -> tuple[set[str], str]:
    with session_scope(engine) as s:
        m = coverage_map(s, date_from=NIGHT, date_to=NIGHT, threshold=0.02)  # the walk covers about 4 % of A
    html = m.get_root().render()
    features = next(c for c in m._children.values() if c.get_name().startswith("feature_group"))  # noqa: SLF001
    geojson = next(c for c in features._children.values() if hasattr(c, "data"))  # noqa: SLF001
    return {f["properties"]["code"] for f in geojson.data["features"] if f["properties"]["low"]}, html


def test_only_rostered_grids_missed_are_outlined(clean_engine: Engine) -> None:
    _street_with_a_walk(clean_engine, rostered=True)
    low, html = _low_and_html(clean_engine)
    assert low == {B}  # C is barely covered too, but nobody was rostered there
    assert shows(html, "排班区域内覆盖率低于 2% 的网格：1 个")
    assert shows(html, "覆盖率最低的 3 个网格") and shows(html, "红色：排班巡逻区域内、低于阈值")
    assert html.count("gridgov-label-text") >= 3  # the compounds are named on the map


def test_without_a_roster_every_low_grid_is_outlined(clean_engine: Engine) -> None:
    _street_with_a_walk(clean_engine, rostered=False)
    low, html = _low_and_html(clean_engine)
    assert low == {B, C}
    assert shows(html, "覆盖率低于 2% 的网格：2 个") and not shows(html, "排班区域内")
    assert shows(html, "红色：低于阈值（本期没有排班）")


def test_daytime_inspections_have_a_coverage_map_of_their_own(clean_engine: Engine) -> None:
    """A grid worker's daytime walk through B covers B on the 日巡查 map and nothing on the night patrols' map."""
    _street_with_a_walk(clean_engine, rostered=False)
    with session_scope(clean_engine) as s:
        staff = s.execute(text("INSERT INTO staff (code, name) VALUES ('S1', '网格员甲') RETURNING id")).scalar_one()
        lon = np.linspace(X0 + D / 2 + 0.001, X0 + D - 0.001, 40)
        start = dt.datetime.combine(NIGHT, dt.time(9, 0), tzinfo=dt.timezone(dt.timedelta(hours=8)))
        s.execute(text("INSERT INTO patrol_track (staff_id, kind, night, started_at, ended_at, geom) VALUES "
                       "(:s, '日巡查', :n, :a, :b, ST_GeomFromText(:w, 4326))"),
                  {"s": staff, "n": NIGHT, "a": start, "b": start + dt.timedelta(minutes=20),
                   "w": "MULTILINESTRING((" + ",".join(f"{x} {Y0 + D / 2}" for x in lon) + "))"})  # fmt: skip
    with session_scope(clean_engine) as s:
        day = coverage_map(s, date_from=NIGHT, date_to=NIGHT, threshold=0.02, kind="日巡查").get_root().render()
        night = coverage_map(s, date_from=NIGHT, date_to=NIGHT, threshold=0.02).get_root().render()
    assert shows(day, "日巡查覆盖率图") and shows(night, "巡逻覆盖率图")
    assert shows(day, "覆盖率低于 2% 的网格：2 个")  # A and C: the day walk covered only B
    assert shows(night, "覆盖率低于 2% 的网格：2 个")  # B and C: the night walk covered only A
