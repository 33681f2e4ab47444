"""Patrol teams, members, areas and routes (gridgov.patrol.teams) on the factory street, checked on the rows in
PostGIS: history kept by the trigger, members dated, leaders by name or by 队长, areas from GeoJSON and files
(GeoJSON, GeoPackage, zipped Shapefile in a CGCS2000 projection, KML), rota communities, and the scope rule."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, box, mapping
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion
from gridgov.history import day_of, start_of
from gridgov.patrol import teams as svc

from tests.factories import X0, Y0, D, make_street

ADMIN = Actor.system("tests")
OWN, OTHER, COMPOUND = "610103006001", "610103006002", "610103006001001"
TODAY = day_of(None)
MONTH_AGO = TODAY - dt.timedelta(days=30)
WEEK_AGO = TODAY - dt.timedelta(days=7)
GEOD = Geod(ellps="WGS84")
# Two squares inside community …001 (west), one straddling both communities, one inside …002 (east).
WEST_A = box(X0 + 0.1 * D, Y0 + 0.1 * D, X0 + 0.4 * D, Y0 + 0.4 * D)
WEST_B = box(X0 + 0.5 * D, Y0 + 0.5 * D, X0 + 0.8 * D, Y0 + 0.8 * D)
ACROSS = box(X0 + 0.5 * D, Y0 + 0.2 * D, X0 + 1.5 * D, Y0 + 0.8 * D)
EAST = box(X0 + 1.1 * D, Y0 + 0.1 * D, X0 + 1.4 * D, Y0 + 0.4 * D)
ROUTE = LineString([(X0 + 0.15 * D, Y0 + 0.15 * D), (X0 + 0.35 * D, Y0 + 0.15 * D), (X0 + 0.35 * D, Y0 + 0.35 * D)])


def geodesic_m2(geom: Any) -> float:
    """The area on the WGS84 spheroid (what PostGIS's geography area gives)."""
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def geodesic_m(line: LineString) -> float:
    """The length on the WGS84 spheroid."""
    return float(GEOD.geometry_length(line))


@pytest.fixture
def street(clean_engine: Engine) -> dict[str, Actor]:
    """The factory street (recorded 90 days ago), staff S1…S4 by plain SQL, and actors scoped to each community."""
    with session_scope(clean_engine) as s:
        make_street(s)
        s.execute(text("UPDATE grid SET valid_from = now() - interval '90 days'"))
        s.execute(text("INSERT INTO staff (code, name, phone, organisation) VALUES "
                       "('S1', '张队', '13900000001', '街道办'), ('S2', '李队', '13900000002', '派出所'), "
                       "('S3', '王员', '13900000003', NULL), ('S4', '赵员', NULL, NULL)"))  # fmt: skip
        ids = dict(s.execute(text("SELECT code, id FROM grid WHERE code IN (:a, :b, :c)"),
                             {"a": OWN, "b": OTHER, "c": COMPOUND}).all())  # fmt: skip
    return {code: Actor(f"user:{code}", "community" if code != COMPOUND else "grid", ids[code], code)
            for code in (OWN, OTHER, COMPOUND)}  # fmt: skip


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


# ------------------------------------------------------------------------------------------------ teams


def test_a_team_is_created_edited_and_keeps_its_history(clean_engine: Engine, street: dict[str, Actor]) -> None:
    with session_scope(clean_engine) as s:
        team = svc.create_team(s, ADMIN, code="T1", name="一社区巡逻队", kind="干部", shift="上半夜", unit="街道办",
                               grid=OWN, leader="S1", effective=MONTH_AGO)  # fmt: skip
    assert (team.code, team.kind, team.shift, team.unit, team.grid_code, team.grid_name) == (
        "T1", "机关干部", "上半夜", "街道办", OWN, "文艺北路一社区")  # fmt: skip
    assert (team.leader_code, team.leader_name, team.leader_phone, team.leader_from_members) == (
        "S1", "张队", "13900000001", False)  # fmt: skip
    assert (team.version, team.members, team.areas, day_of(team.valid_from)) == (1, 0, [], MONTH_AGO)

    with session_scope(clean_engine) as s:
        edited = svc.update_team(s, "T1", {"name": "一社区夜巡队", "shift": "下半夜", "unit": "", "leader": "S2"},
                                 ADMIN, expected_version=1, effective=WEEK_AGO)  # fmt: skip
        assert (edited.version, edited.name, edited.shift, edited.unit, edited.leader_code) == (
            2, "一社区夜巡队", "下半夜", None, "S2")  # fmt: skip
        with pytest.raises(StaleVersion, match="已被他人修改（当前版本 2，您编辑的是版本 1）"):
            svc.update_team(s, "T1", {"name": "再改"}, ADMIN, expected_version=1)
    stored = rows(clean_engine, "SELECT lineage_id IS NULL, name, shift, unit, version, valid_from, valid_to "
                                "FROM patrol_team WHERE code = 'T1' ORDER BY valid_from")  # fmt: skip
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in stored] == [
        (False, "一社区巡逻队", "上半夜", "街道办", 1), (True, "一社区夜巡队", "下半夜", None, 2)]  # fmt: skip
    assert stored[0][6] == stored[1][5] == start_of(WEEK_AGO) and stored[1][6] is None

    with session_scope(clean_engine) as s:
        history = svc.team_history(s, "T1", ADMIN)
        before = svc.get_team(s, "T1", ADMIN, as_of_moment=start_of(WEEK_AGO) - dt.timedelta(days=1))
        listed_before = svc.list_teams(s, ADMIN, as_of_moment=start_of(MONTH_AGO) - dt.timedelta(days=1))
    assert [h.version for h in history] == [1, 2]
    assert svc.team_changes(history[0], history[1]) == [
        "名称：一社区巡逻队 → 一社区夜巡队", "班次：上半夜 → 下半夜", "所属单位：街道办 → （空）",
        "队长：张队（S1） → 李队（S2）"]  # fmt: skip
    assert (before.name, before.version) == ("一社区巡逻队", 1) and listed_before == []


def test_refused_values_say_why_in_chinese(clean_engine: Engine, street: dict[str, Actor]) -> None:
    with session_scope(clean_engine) as s:
        svc.create_team(s, ADMIN, code="T1", name="一队")
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"kind": "特警"}, InvalidInput, "巡逻队类型：未知的取值 特警（可选：机关干部、社区志愿者、党员巡回队、专职）"),
        ({"shift": "白班"}, InvalidInput, "班次：未知的取值 白班（可选：上半夜、下半夜）"),
        ({"grid": COMPOUND}, InvalidInput, f"巡逻队服务的网格应为社区或街道，{COMPOUND} 是楼院"),
        ({"leader": "S9"}, InvalidInput, "队长不存在或已离职：S9"),
        ({"code": "T 2"}, InvalidInput, "巡逻队编码：应为 1–40 个字符"),
        ({"code": "T1"}, Conflict, "巡逻队编码已存在：T1"),
        ({"name": " "}, InvalidInput, "巡逻队名称：必填项为空"),
    ]  # fmt: skip
    for given, error, message in cases:
        with Session(clean_engine) as s, s.begin(), pytest.raises(error) as caught:
            svc.create_team(s, ADMIN, **({"code": "T2", "name": "二队"} | given))
        assert message in caught.value.args[0], given
    with Session(clean_engine) as s, s.begin(), pytest.raises(NotFound, match="巡逻队不存在：T9"):
        svc.update_team(s, "T9", {"name": "x"}, ADMIN, expected_version=None)
    assert rows(clean_engine, "SELECT code FROM patrol_team") == [("T1",)]


def test_members_are_dated_and_a_captain_leads_when_no_leader_is_named(clean_engine: Engine,
                                                                       street: dict[str, Actor]) -> None:  # fmt: skip
    with session_scope(clean_engine) as s:
        svc.create_team(s, ADMIN, code="T1", name="一队", grid=OWN)
        svc.add_member(s, "T1", ADMIN, staff_code="S3", since=MONTH_AGO)
        svc.add_member(s, "T1", ADMIN, staff_code="S2", role="队长", since=WEEK_AGO)
        svc.add_member(s, "T1", ADMIN, staff_code="S4", role="队员", since=MONTH_AGO)
        with pytest.raises(Conflict, match=f"S3 已是巡逻队 T1 的队员（自 {MONTH_AGO.isoformat()} 至今）"):
            svc.add_member(s, "T1", ADMIN, staff_code="S3")
        with pytest.raises(InvalidInput, match="队内职务：未知的取值 副队长（可选：队长、队员）"):
            svc.add_member(s, "T1", ADMIN, staff_code="S1", role="副队长")
        ended = svc.end_member(s, "T1", ADMIN, staff_code="S4", until=WEEK_AGO + dt.timedelta(days=1))
        assert (ended.until, ended.end_reason) == (WEEK_AGO + dt.timedelta(days=1), "离队")
        with pytest.raises(NotFound, match="S4 目前不是巡逻队 T1 的队员"):
            svc.end_member(s, "T1", ADMIN, staff_code="S4")
        team = svc.get_team(s, "T1", ADMIN)
        now = [(m.staff_code, m.role) for m in svc.team_members(s, "T1", ADMIN)]
        then = [(m.staff_code, m.role) for m in svc.team_members(s, "T1", ADMIN, on_day=WEEK_AGO - dt.timedelta(1))]
        every = [(m.staff_code, m.in_force) for m in svc.team_members(s, "T1", ADMIN, include_ended=True)]
    assert (team.leader_code, team.leader_name, team.leader_from_members, team.members) == ("S2", "李队", True, 2)
    assert now == [("S2", "队长"), ("S3", "队员")]
    assert then == [("S3", "队员"), ("S4", "队员")]
    assert every == [("S2", True), ("S3", True), ("S4", False)]
    assert rows(clean_engine, "SELECT s.code, m.role, m.since, m.until, m.end_reason FROM patrol_team_member m "
                              "JOIN staff s ON s.id = m.staff_id ORDER BY s.code") == [
        ("S2", "队长", WEEK_AGO, None, None), ("S3", "队员", MONTH_AGO, None, None),
        ("S4", "队员", MONTH_AGO, WEEK_AGO + dt.timedelta(days=1), "离队")]  # fmt: skip


def test_a_team_rostered_in_the_future_is_retired_only_when_told(clean_engine: Engine,
                                                                 street: dict[str, Actor]) -> None:  # fmt: skip
    with session_scope(clean_engine) as s:
        svc.create_team(s, ADMIN, code="T1", name="一队", grid=OWN, effective=MONTH_AGO)
        svc.add_member(s, "T1", ADMIN, staff_code="S3", since=MONTH_AGO)
        team_id = s.scalar(text("SELECT id FROM patrol_team WHERE code = 'T1'"))
        for night, shift in (
            (TODAY - dt.timedelta(days=1), "上半夜"),
            (TODAY, "上半夜"),
            (TODAY + dt.timedelta(days=3), "下半夜"),
            (TODAY + dt.timedelta(days=3), "上半夜"),
        ):
            s.execute(text("INSERT INTO patrol_roster (night, shift, team_id, source) VALUES (:n, :s, :t, '规则')"),
                      {"n": night, "s": shift, "t": team_id})  # fmt: skip
    later = TODAY + dt.timedelta(days=3)
    with Session(clean_engine) as s, s.begin(), pytest.raises(Conflict) as refused:
        svc.retire_team(s, "T1", ADMIN, reason="合并", expected_version=1)
    assert refused.value.message == (
        f"巡逻队 T1 在 {TODAY.isoformat()} 及以后还有排班：{TODAY.isoformat()}、"
        f"{later.isoformat()}（2 个夜晚）。请先调整排班，"
        "或选择「一并取消这些排班」后再撤销"
    )
    assert refused.value.details == {"nights": [TODAY.isoformat(), later.isoformat()]}
    with session_scope(clean_engine) as s:
        retired = svc.retire_team(s, "T1", ADMIN, reason="合并", expected_version=1, cancel_rosters=True)
        with pytest.raises(Conflict, match="已于 .* 撤销，不能修改"):
            svc.update_team(s, "T1", {"name": "x"}, ADMIN, expected_version=None)
        assert svc.list_teams(s, ADMIN) == []
        assert [t.code for t in svc.list_teams(s, ADMIN, include_retired=True)] == ["T1"]
    assert (retired.retired, retired.end_reason, retired.version) == (True, "合并", 2)
    # the last state stays as history; the live row is the retirement itself, in force at no moment (migration 0010)
    assert rows(clean_engine, "SELECT version, lineage_id IS NULL, valid_to = valid_from, end_reason FROM patrol_team "
                              "WHERE code = 'T1' ORDER BY version") == [
        (1, False, False, None), (2, True, True, "合并")]  # fmt: skip
    with session_scope(clean_engine) as s:
        assert svc.get_team(s, "T1", ADMIN, as_of_moment=start_of(WEEK_AGO)).version == 1
    assert rows(clean_engine, "SELECT night, shift FROM patrol_roster") == [(TODAY - dt.timedelta(days=1), "上半夜")]
    assert rows(clean_engine, "SELECT until, end_reason FROM patrol_team_member") == [(TODAY, "合并")]


# ------------------------------------------------------------------------------------------------ areas


def test_an_area_from_geojson_with_rota_route_and_history(clean_engine: Engine, street: dict[str, Actor]) -> None:
    two = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": mapping(g)}
                                                     for g in (WEST_A, WEST_B)]}  # fmt: skip
    with session_scope(clean_engine) as s:
        svc.create_team(s, ADMIN, code="T1", name="一队", grid=OWN)
        area = svc.create_area(s, ADMIN, code="A1", name="一号区域", geometry=json.dumps(two), team="T1",
                               rota=f"{OWN}，{OTHER}", route=mapping(ROUTE), effective=MONTH_AGO)  # fmt: skip
    assert (area.code, area.name, area.team_code, area.rota_codes, area.rota_names) == (
        "A1", "一号区域", "T1", [OWN, OTHER], ["文艺北路一社区", "文艺北路二社区"])  # fmt: skip
    assert area.communities == [f"{OWN} 文艺北路一社区"] and area.version == 1
    assert area.area_m2 == pytest.approx(geodesic_m2(WEST_A) + geodesic_m2(WEST_B), rel=1e-6)
    assert area.route_m == pytest.approx(geodesic_m(ROUTE), rel=1e-6)
    assert shapely.equals_exact(
        shapely.normalize(shapely.geometry.shape(area.geometry)),
        shapely.normalize(shapely.MultiPolygon([WEST_A, WEST_B])),
        tolerance=1e-7,
    )

    with session_scope(clean_engine) as s:
        moved = svc.update_area(s, "A1", {"geometry": mapping(ACROSS), "rota": ""}, ADMIN, expected_version=1)
        cleared = svc.set_route(s, "A1", None, ADMIN, expected_version=2)
        assert svc.get_team(s, "T1", ADMIN).areas == ["A1"]
        history = svc.area_history(s, "A1", ADMIN)
    assert moved.communities == [f"{OWN} 文艺北路一社区", f"{OTHER} 文艺北路二社区"] and moved.rota_codes == []
    assert (cleared.version, cleared.route, cleared.route_m) == (3, None, None)
    assert [svc.area_changes(a, b) for a, b in zip([None, *history], history, strict=False)] == [
        ["新建"],
        [f"轮值社区：{OWN}、{OTHER} → （空）",
         f"范围：{history[0].area_m2 / 1e4:.2f} → {history[1].area_m2 / 1e4:.2f} 公顷"],
        ["计划路线：已清除"]]  # fmt: skip
    assert rows(clean_engine, "SELECT version, route IS NULL, rota_grid_ids IS NULL, lineage_id IS NULL "
                              "FROM patrol_area WHERE code = 'A1' ORDER BY version") == [
        (1, False, False, False), (2, False, True, False), (3, True, True, True)]  # fmt: skip

    with session_scope(clean_engine) as s:
        svc.retire_area(s, "A1", ADMIN, reason="调整", expected_version=3)
        assert svc.list_areas(s, ADMIN) == [] and svc.get_team(s, "T1", ADMIN).areas == []
        assert [a.code for a in svc.list_areas(s, ADMIN, include_retired=True)] == ["A1"]


def test_refused_areas_say_why(clean_engine: Engine, street: dict[str, Actor]) -> None:
    bow_tie = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + D, Y0 + D], [X0 + D, Y0], [X0, Y0 + D], [X0, Y0]]]}
    apart = {
        "type": "MultiLineString",
        "coordinates": [[[X0, Y0], [X0 + D / 4, Y0]], [[X0, Y0 + D / 2], [X0 + D / 4, Y0 + D / 2]]],
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"geometry": bow_tie}, "几何无效：边自相交"),
        ({"geometry": mapping(ROUTE)}, "没有面（Polygon/MultiPolygon）（找到：LineString）"),
        ({"geometry": "{not json"}, "无法解析的 GeoJSON"),
        ({"route": apart}, "计划路线应为一条连续的线：合并后仍有 2 段不相连"),
        ({"rota": [OWN, OTHER, OWN]}, "轮值社区最多 2 个"),
        ({"rota": [OWN, OWN]}, "轮值社区重复"),
        ({"rota": [COMPOUND]}, f"轮值的应是社区网格：{COMPOUND}（楼院）"),
        ({"rota": ["610103006009"]}, "轮值社区不存在：610103006009"),
        ({"team": "T9"}, "巡逻队不存在或已撤销：T9"),
    ]  # fmt: skip
    for given, message in cases:
        with Session(clean_engine) as s, s.begin(), pytest.raises(InvalidInput) as caught:
            svc.create_area(s, ADMIN, **({"code": "A1", "name": "区", "geometry": mapping(WEST_A)} | given))
        assert message in caught.value.message, (given, caught.value.message)
    assert rows(clean_engine, "SELECT count(*) FROM patrol_area") == [(0,)]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the file without a CRS is the point
def test_areas_and_routes_come_from_files(tmp_path: Path) -> None:
    """GeoJSON, a GeoPackage with an area and a route layer, a zipped Shapefile in CGCS2000 3° zone 36 (EPSG:4524,
    central meridian 108°E), and KML: each converted to WGS84."""
    frame = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=[WEST_A, WEST_B], crs="EPSG:4326")
    frame.to_file(tmp_path / "a.geojson", driver="GeoJSON")
    frame.to_file(tmp_path / "t.gpkg", layer="areas", driver="GPKG")
    gpd.GeoDataFrame({"n": [1]}, geometry=[ROUTE], crs="EPSG:4326").to_file(tmp_path / "t.gpkg", layer="routes",
                                                                              driver="GPKG")  # fmt: skip
    (tmp_path / "shp").mkdir()
    frame.to_crs("EPSG:4524").to_file(tmp_path / "shp" / "a.shp")
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        for part in (tmp_path / "shp").iterdir():
            z.write(part, part.name)
    frame.to_file(tmp_path / "a.kml", driver="KML")
    both = shapely.MultiPolygon([WEST_A, WEST_B])
    for name in ("a.geojson", "t.gpkg", "a.zip", "a.kml"):
        got = svc.area_from_file(tmp_path / name)
        assert len(got.geoms) == 2 and shapely.hausdorff_distance(got, both) < 1e-7, name
    assert shapely.equals_exact(svc.route_from_file(tmp_path / "t.gpkg"), ROUTE, tolerance=1e-9)
    with pytest.raises(InvalidInput, match="a.geojson：没有线（LineString）（找到：Polygon）"):
        svc.route_from_file(tmp_path / "a.geojson")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InvalidInput, match="不支持的文件格式：a.txt"):
        svc.area_from_file(tmp_path / "a.txt")
    metres = gpd.GeoDataFrame(geometry=[box(36_500_000, 3_790_000, 36_500_100, 3_790_100)])  # no CRS declared
    metres.to_file(tmp_path / "m.geojson", driver="GeoJSON")
    projected = svc.area_from_file(tmp_path / "m.geojson", crs="EPSG:4524")
    assert 107.9 < projected.centroid.x < 108.1 and geodesic_m2(projected) == pytest.approx(10_000, rel=1e-3)


# ------------------------------------------------------------------------------------------------ scope


def test_every_write_stays_in_the_actors_scope(clean_engine: Engine, street: dict[str, Actor]) -> None:
    own, other, compound = street[OWN], street[OTHER], street[COMPOUND]
    with session_scope(clean_engine) as s:
        mine = svc.create_team(s, own, code="TW", name="西队")  # its grid: the actor's community
        svc.create_team(s, ADMIN, code="TE", name="东队", grid=OTHER)
        s.execute(text("INSERT INTO patrol_team (code, name) VALUES ('TX', '老队')"))  # no grid: where its areas are
        svc.create_area(s, ADMIN, code="AX", name="老区", geometry=mapping(EAST), team="TX")
        svc.create_area(s, own, code="AW", name="西区", geometry=mapping(WEST_A), team="TW", rota=[OWN])
        svc.add_member(s, "TW", own, staff_code="S3")
    assert mine.grid_code == OWN
    refused: list[Any] = [
        lambda s: svc.create_team(s, own, code="T9", name="x", grid=OTHER),
        lambda s: svc.update_team(s, "TE", {"name": "x"}, own, expected_version=None),
        lambda s: svc.update_team(s, "TW", {"grid": OTHER}, own, expected_version=None),
        lambda s: svc.update_team(s, "TX", {"name": "x"}, own, expected_version=None),
        lambda s: svc.retire_team(s, "TE", own, reason="合并"),
        lambda s: svc.add_member(s, "TE", own, staff_code="S4"),
        lambda s: svc.end_member(s, "TW", other, staff_code="S3"),
        lambda s: svc.create_area(s, own, code="A9", name="x", geometry=mapping(ACROSS)),
        lambda s: svc.create_area(s, own, code="A9", name="x", geometry=mapping(WEST_B), team="TE"),
        lambda s: svc.create_area(s, own, code="A9", name="x", geometry=mapping(WEST_B), rota=[OTHER]),
        lambda s: svc.update_area(s, "AW", {"geometry": mapping(ACROSS)}, own, expected_version=None),
        lambda s: svc.update_area(s, "AW", {"team": "TX"}, own, expected_version=None),
        lambda s: svc.set_route(s, "AW", {"type": "LineString", "coordinates": [
            [X0 + 0.2 * D, Y0 + 0.2 * D], [X0 + 1.2 * D, Y0 + 0.2 * D]]}, own),
        lambda s: svc.retire_area(s, "AX", own, reason="调整"),
        lambda s: svc.create_team(s, compound, code="T9", name="x"),
    ]  # fmt: skip
    for write in refused:
        with Session(clean_engine) as s, s.begin(), pytest.raises((Forbidden, InvalidInput)) as caught:
            write(s)
        assert caught.value.args[0].startswith(("超出权限范围", "请指定巡逻队服务的社区或街道")), caught.value.args[0]
    with session_scope(clean_engine) as s:
        assert svc.update_area(s, "AX", {"name": "老区东"}, other, expected_version=1).version == 2  # TX's area
        assert svc.update_team(s, "TX", {"unit": "派出所"}, other, expected_version=1).unit == "派出所"
        assert svc.set_route(s, "AW", mapping(ROUTE), own).route_m == pytest.approx(geodesic_m(ROUTE), rel=1e-6)
    assert rows(clean_engine, "SELECT code FROM patrol_team WHERE lineage_id IS NULL ORDER BY code") == [
        ("TE",), ("TW",), ("TX",)]  # fmt: skip
    assert rows(clean_engine, "SELECT code, version FROM patrol_area WHERE lineage_id IS NULL ORDER BY code") == [
        ("AW", 2), ("AX", 2)]  # fmt: skip
