"""``gridgov patrol team|area|route`` from the shell on a new street without sample data: a team with a leader and
members, its area from a GeoJSON file and its route, edits with history, then tracks imported for the new team;
errors as Chinese messages with the exit codes of gridgov.cli.errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import gpxpy.gpx
import pytest
from pyproj import Geod
from shapely.geometry import LineString, box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.history import day_of

from tests.db.test_embedded import run_cli
from tests.factories import X0, Y0, D, make_street

OWN, OTHER = "610103006001", "610103006002"
AREA = box(X0 + 0.1 * D, Y0 + 0.1 * D, X0 + 0.9 * D, Y0 + 0.9 * D)
ROUTE = LineString([(X0 + 0.2 * D, Y0 + 0.5 * D), (X0 + 0.8 * D, Y0 + 0.5 * D)])


@pytest.fixture
def env(clean_engine: Engine, db_url: str, tmp_path: Path) -> dict[str, str]:
    """The factory street with two staff members (plain SQL), and the CLI's environment (the local operator)."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        s.execute(text("INSERT INTO staff (code, name, phone) VALUES ('S1', '张队', '13900000001'), "
                       "('S2', '王员', '13900000002')"))  # fmt: skip
    return {"GRIDGOV_DATABASE_URL": db_url, "GRIDGOV_HOME": str(tmp_path / "home")}


def cli_json(args: list[str], env: dict[str, str]) -> Any:
    """Run a command with ``--json``; its parsed output (asserting it succeeded)."""
    r = run_cli([*args, "--json"], env)
    assert r.returncode == 0, (args, r.stderr)
    return json.loads(r.stdout)


def geojson(path: Path, geometry: Any) -> Path:
    """A GeoJSON file of one feature."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(geometry)}]}), encoding="utf-8")  # fmt: skip
    return path


def gpx(path: Path, night: dt.date) -> Path:
    """One 上半夜 track along the route: 21:00–21:10 local time (13:00 UTC) on ``night``."""
    g = gpxpy.gpx.GPX()
    trk, seg = gpxpy.gpx.GPXTrack(name=f"{night.isoformat()} 上半夜"), gpxpy.gpx.GPXTrackSegment()
    start = dt.datetime.combine(night, dt.time(13, 0), dt.UTC)
    seg.points = [gpxpy.gpx.GPXTrackPoint(Y0 + 0.5 * D, X0 + (0.2 + 0.03 * i) * D,
                                          time=start + dt.timedelta(seconds=30 * i)) for i in range(21)]  # fmt: skip
    trk.segments.append(seg)
    g.tracks.append(trk)
    path.write_text(g.to_xml(), encoding="utf-8")
    return path


def test_a_new_team_with_its_area_takes_tracks(clean_engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    made = cli_json(["patrol", "team", "add", "PT9", "--name", "新巡逻队", "--kind", "志愿者", "--shift", "上半夜",
                     "--leader", "S1", "--unit", "文艺路街道办", "--grid", OWN], env)  # fmt: skip
    assert (made["code"], made["kind"], made["shift"], made["leader_name"], made["grid_code"], made["version"]) == (
        "PT9", "社区志愿者", "上半夜", "张队", OWN, 1)  # fmt: skip
    member = cli_json(["patrol", "team", "member", "add", "PT9", "--staff", "S2"], env)
    assert (member["staff_name"], member["role"], member["since"]) == ("王员", "队员", day_of(None).isoformat())

    area = cli_json(["patrol", "area", "add", "PA9", "--name", "一社区巡逻区域",
                     "--file", str(geojson(tmp_path / "area.geojson", AREA)), "--team", "PT9",
                     "--rota", f"{OWN},{OTHER}"], env)  # fmt: skip
    assert (area["team_code"], area["rota_codes"], area["version"], area["has_route"]) == (
        "PT9", [OWN, OTHER], 1, False)  # fmt: skip
    routed = cli_json(["patrol", "route", "set", "PA9", "--file", str(geojson(tmp_path / "r.geojson", ROUTE)),
                       "--version", "1"], env)  # fmt: skip
    assert (routed["version"], routed["has_route"]) == (2, True)
    assert routed["route_m"] == pytest.approx(Geod(ellps="WGS84").geometry_length(ROUTE), rel=1e-6)  # ≈ 553 m

    shown = run_cli(["patrol", "team", "show", "PT9"], env)
    assert shown.returncode == 0, shown.stderr
    assert "队长：张队 13900000001（S1）" in shown.stdout and "巡逻区域：PA9" in shown.stdout
    assert "班次：上半夜（20:00–23:30）" in shown.stdout and "队员\t王员\t13900000002\tS2" in shown.stdout

    night = day_of(None) - dt.timedelta(days=2)
    imported = run_cli(["import", "tracks", str(gpx(tmp_path / "t.gpx", night)), "--team", "PT9", "--json"], env)
    assert imported.returncode == 0, imported.stderr
    assert (json.loads(imported.stdout)["tracks"], json.loads(imported.stdout)["team_code"]) == (1, "PT9")
    with clean_engine.connect() as conn:
        tracks = conn.execute(text("SELECT t.code, k.night, k.shift FROM patrol_track k "
                                   "JOIN patrol_team t ON t.id = k.team_id")).all()  # fmt: skip
    assert [tuple(r) for r in tracks] == [("PT9", night, "上半夜")]


def test_edits_keep_history_and_refusals_are_messages(clean_engine: Engine, env: dict[str, str],
                                                      tmp_path: Path) -> None:  # fmt: skip
    cli_json(["patrol", "team", "add", "PT1", "--name", "一队", "--grid", OWN], env)
    edited = cli_json(["patrol", "team", "edit", "PT1", "--name", "一队（夜）", "--shift", "下半夜", "--version", "1"],
                      env)  # fmt: skip
    assert (edited["name"], edited["shift"], edited["version"]) == ("一队（夜）", "下半夜", 2)
    stale = run_cli(["patrol", "team", "edit", "PT1", "--name", "旧", "--version", "1"], env)
    assert stale.returncode == 6 and "已被他人修改（当前版本 2，您编辑的是版本 1）" in stale.stderr
    history = run_cli(["patrol", "team", "history", "PT1"], env)
    assert history.returncode == 0, history.stderr
    assert "名称：一队 → 一队（夜）" in history.stdout and "班次：（空） → 下半夜" in history.stdout

    unknown = run_cli(["patrol", "team", "add", "PT2", "--name", "二队", "--kind", "特警"], env)
    assert unknown.returncode == 1 and "可选：机关干部、社区志愿者、党员巡回队、专职" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    missing = run_cli(["patrol", "team", "show", "PT7"], env)
    assert missing.returncode == 4 and "巡逻队不存在：PT7" in missing.stderr
    bad_file = run_cli(["patrol", "area", "add", "PA1", "--name", "线", "--file",
                        str(geojson(tmp_path / "line.geojson", ROUTE))], env)  # fmt: skip
    assert bad_file.returncode == 1
    assert "line.geojson：没有面（Polygon/MultiPolygon）（找到：LineString）" in bad_file.stderr

    tomorrow = day_of(None) + dt.timedelta(days=1)
    with clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO patrol_roster (night, shift, team_id) SELECT :n, '下半夜', id "
                          "FROM patrol_team WHERE code = 'PT1' AND lineage_id IS NULL"), {"n": tomorrow})  # fmt: skip
    refused = run_cli(["patrol", "team", "retire", "PT1", "--reason", "合并"], env)
    assert refused.returncode == 6 and f"还有排班：{tomorrow.isoformat()}（1 个夜晚）" in refused.stderr
    retired = cli_json(["patrol", "team", "retire", "PT1", "--reason", "合并", "--cancel-rosters"], env)
    assert (retired["retired"], retired["end_reason"], retired["version"]) == (True, "合并", 3)
    assert cli_json(["patrol", "team", "list"], env) == []
    assert [t["code"] for t in cli_json(["patrol", "team", "list", "--all"], env)] == ["PT1"]
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_roster")).scalar_one() == 0


def cli_scope_cases(tmp_path: Path) -> dict[str, list[str]]:
    """The cases proposed for tests/api/test_scope.py's CLI ``refused`` table (its street: teams TW and TE without
    a grid, areas A-1 and A-2 on communities …001 and …002, staff SE; the token is scoped to …001)."""
    east = box(X0 + 1.1 * D, Y0 + 0.1 * D, X0 + 1.3 * D, Y0 + 0.3 * D)
    route = LineString([(X0 + 1.2 * D, Y0 + 0.2 * D), (X0 + 1.3 * D, Y0 + 0.3 * D)])
    area_file, route_file = geojson(tmp_path / "east_area.geojson", east), geojson(tmp_path / "east_route.geojson",
                                                                                     route)  # fmt: skip
    return {
        "patrol team add": ["patrol", "team", "add", "T9", "--name", "新队", "--grid", OTHER],
        "patrol team edit": ["patrol", "team", "edit", "TE", "--name", "改"],
        "patrol team retire": ["patrol", "team", "retire", "TE", "--reason", "合并"],
        "patrol team member add": ["patrol", "team", "member", "add", "TE", "--staff", "SE"],
        "patrol team member end": ["patrol", "team", "member", "end", "TE", "--staff", "SE"],
        "patrol area add": ["patrol", "area", "add", "A9", "--name", "新区", "--file", str(area_file)],
        "patrol area edit": ["patrol", "area", "edit", "A-2", "--name", "改"],
        "patrol area retire": ["patrol", "area", "retire", "A-2", "--reason", "调整"],
        "patrol route set": ["patrol", "route", "set", "A-2", "--file", str(route_file)],
        "patrol route clear": ["patrol", "route", "clear", "A-2"],
    }


def test_a_scoped_token_is_refused_outside_its_community(clean_engine: Engine, env: dict[str, str],
                                                         tmp_path: Path) -> None:  # fmt: skip
    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token

    with Session(clean_engine) as s, s.begin():
        s.execute(text("INSERT INTO staff (code, name) VALUES ('SE', '东员')"))
        for team, grid in (("TW", OWN), ("TE", OTHER)):
            tid = s.execute(text("INSERT INTO patrol_team (code, name) VALUES (:c, :n) RETURNING id"),
                            {"c": team, "n": team}).scalar_one()  # fmt: skip
            s.execute(text("INSERT INTO patrol_area (code, team_id, geom) SELECT 'A-' || :t, :t, geom FROM grid "
                           "WHERE code = :g AND valid_to IS NULL"), {"t": tid, "g": grid})  # fmt: skip
        token = create_token(s, Actor.system(), "一社区", "community", OWN)[0]
    scoped = env | {"GRIDGOV_TOKEN": token}

    def state() -> list[tuple[Any, ...]]:
        with clean_engine.connect() as conn:
            found = conn.execute(text(
                "SELECT 'team', code, version FROM patrol_team UNION ALL SELECT 'area', code, version "
                "FROM patrol_area UNION ALL SELECT 'member', CAST(team_id AS text), staff_id FROM patrol_team_member "
                "ORDER BY 1, 2"))  # fmt: skip
            return [tuple(r) for r in found]

    before = state()
    for what, args in cli_scope_cases(tmp_path).items():
        r = run_cli(args, scoped)
        assert r.returncode == 5 and "超出权限范围" in r.stderr and "Traceback" not in r.stderr, (what, r.stderr)
    assert state() == before
    reads = [["patrol", "team", "list"], ["patrol", "team", "show", "TE"], ["patrol", "team", "history", "TE"],
             ["patrol", "team", "member", "list", "TE"], ["patrol", "area", "list"], ["patrol", "area", "show", "A-2"],
             ["patrol", "area", "history", "A-2"]]  # fmt: skip
    assert [run_cli(args, scoped).returncode for args in reads] == [0] * len(reads)


def test_a_volunteer_joins_from_the_shell(clean_engine: Engine, env: dict[str, str]) -> None:
    """``member add --name --phone``: the staff record and the membership in one command; a token scoped to
    another community is refused and writes neither."""
    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token

    with Session(clean_engine) as s, s.begin():
        s.execute(text("INSERT INTO patrol_team (code, name, grid_id) SELECT :c, :n, id FROM grid WHERE code = :g"),
                  [{"c": "TW", "n": "西队", "g": OWN}, {"c": "TE", "n": "东队", "g": OTHER}])  # fmt: skip
        token = create_token(s, Actor.system(), "二社区", "community", OTHER)[0]
    made = cli_json(["patrol", "team", "member", "add", "TW", "--name", "赵志愿", "--phone", "13912345678",
                     "--organisation", "西社区"], env)  # fmt: skip
    assert (made["staff_name"], made["phone"], made["organisation"], made["role"]) == (
        "赵志愿", "13912345678", "西社区", "队员")  # fmt: skip
    with clean_engine.connect() as conn:
        rows = conn.execute(text("SELECT s.code, s.name, s.phone, t.code FROM staff s JOIN patrol_team_member m "
                                 "ON m.staff_id = s.id JOIN patrol_team t ON t.id = m.team_id")).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(made["staff_code"], "赵志愿", "13912345678", "TW")]
    plain = run_cli(["patrol", "team", "member", "add", "TW", "--name", "钱志愿", "--phone", "13912345679"], env)
    assert plain.returncode == 0 and "已加入巡逻队 TW：队员 钱志愿（S-" in plain.stdout, plain.stderr

    scoped = env | {"GRIDGOV_TOKEN": token}
    refused = run_cli(["patrol", "team", "member", "add", "TW", "--name", "孙志愿", "--phone", "13912345670"], scoped)
    assert refused.returncode == 5 and "超出权限范围" in refused.stderr, refused.stderr
    both = run_cli(["patrol", "team", "member", "add", "TE", "--staff", "X", "--name", "孙志愿"], scoped)
    assert both.returncode == 1 and "请只给出人员编码，或只给出新队员的姓名和电话" in both.stderr, both.stderr
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM staff WHERE name = '孙志愿'")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM patrol_team_member")).scalar_one() == 2
