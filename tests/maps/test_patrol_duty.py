"""The patrol route map shows the roster's late and absent teams in its legend, draws that date's daytime
inspections as a layer of their own, and draws a rostered night without any track instead of refusing it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import shapely
from sqlalchemy import Engine, text

from gridgov.db.engine import session_scope
from gridgov.maps.patrol import patrol_map

from tests.factories import X0, Y0, D, make_street
from tests.patrol.test_tracks import NIGHT, TZ, add_team, add_track


def shows(html: str, words: str) -> bool:
    """Whether the page has ``words`` (as text, or as the JSON string a script writes)."""
    return words in html or json.dumps(words)[1:-1] in html


def _street(engine: Engine, with_tracks: bool) -> None:
    """T1 and T2 rostered for 上半夜; T1 starts at 20:40 (late), T2 never comes; a grid worker's daytime
    inspection of the same date."""
    with session_scope(engine) as s:
        make_street(s)
        t1, t2 = add_team(s, "T1", "610103006001"), add_team(s, "T2", "610103006002")
        s.execute(text("UPDATE patrol_team SET name = code || '巡逻队'"))
        for team in (t1, t2):
            s.execute(text("INSERT INTO patrol_roster (night, shift, team_id) VALUES (:n, '上半夜', :t)"),
                      {"n": NIGHT, "t": team})  # fmt: skip
        if not with_tracks:
            return
        lon = np.linspace(X0 + 0.001, X0 + D - 0.001, 60)
        lonlat = np.column_stack([lon, np.full_like(lon, Y0 + D / 2)])
        start = dt.datetime.combine(NIGHT, dt.time(20, 40), tzinfo=TZ)
        add_track(s, t1, lonlat, [start + dt.timedelta(seconds=30 * i) for i in range(len(lon))])
        staff = s.execute(text("INSERT INTO staff (code, name) VALUES ('S1', '网格员甲') RETURNING id")).scalar_one()
        day = dt.datetime.combine(NIGHT, dt.time(9, 0), tzinfo=TZ)
        s.execute(text("INSERT INTO patrol_track (staff_id, kind, night, shift, started_at, ended_at, geom) VALUES "
                       "(:s, '日巡查', :n, NULL, :a, :b, ST_GeomFromWKB(:w, 4326))"),
                  {"s": staff, "n": NIGHT, "a": day, "b": day + dt.timedelta(hours=1),
                   "w": shapely.MultiLineString([lonlat[:20]]).wkb})  # fmt: skip


def test_late_and_absent_teams_are_flagged_and_daytime_walks_drawn_apart(clean_engine: Engine) -> None:
    _street(clean_engine, with_tracks=True)
    with session_scope(clean_engine) as s:
        html = patrol_map(s, night=NIGHT).get_root().render()
    assert shows(html, "T2巡逻队 上半夜：当晚无轨迹") and shows(html, "T1巡逻队 上半夜：20:40 才到")
    assert shows(html, "排班 迟到 1、缺勤 1")
    assert shows(html, "日巡查（1 条）") and "gridgov-day-" in html
    assert html.count("gridgov-track-") >= 1  # the night track is there too, on its own layer


def test_a_rostered_night_without_tracks_is_a_map_of_absences(clean_engine: Engine) -> None:
    _street(clean_engine, with_tracks=False)
    with session_scope(clean_engine) as s:
        html = patrol_map(s, night=NIGHT).get_root().render()
    assert shows(html, "排班 缺勤 2") and shows(html, "轨迹 0 条")
    assert shows(html, "T1巡逻队 上半夜：当晚无轨迹") and shows(html, "T2巡逻队 上半夜：当晚无轨迹")
