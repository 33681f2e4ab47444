"""Tests for the deterministic sample street generator (no database needed)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from gridgov import vocab as gen_vocab
from gridgov.ids import id_check_digit
from gridgov.sample import generate as gen
from gridgov.sample.generate import SampleSummary, generate
from gridgov.sample.generate import frame as gen_frame
from gridgov.sample.generate import households as gen_households
from gridgov.sample.generate.incidents import INCIDENT_TYPES

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 10, 31)
TZ8 = timezone(timedelta(hours=8))
TO_M = Transformer.from_crs("EPSG:4326", "EPSG:4524", always_xy=True)


@dataclass
class Run:
    """A generated sample and its summary."""

    out: Path
    summary: SampleSummary
    seconds: float

    def csv(self, name: str) -> pd.DataFrame:
        """Read one of the CSV outputs as strings."""
        return pd.read_csv(self.out / name, dtype=str, keep_default_na=False)

    def gpkg(self, name: str, layer: str | None = None) -> gpd.GeoDataFrame:
        """Read one GeoPackage layer."""
        return pyogrio.read_dataframe(self.out / name, layer=layer)

    def meta(self) -> dict:
        """The sample_meta.json contents."""
        return json.loads((self.out / "sample_meta.json").read_text(encoding="utf-8"))


def _run(out: Path, **kwargs: object) -> Run:
    t0 = time.perf_counter()
    summary = generate(out, **kwargs)  # type: ignore[arg-type]
    return Run(out, summary, time.perf_counter() - t0)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The default-size sample (20,000 households)."""
    return _run(tmp_path_factory.mktemp("sample_default"))


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A small sample (2,000 households, 20 compounds)."""
    return _run(tmp_path_factory.mktemp("sample_small_a"), households=2000, compounds=20)


@pytest.fixture(scope="session")
def small_run_again(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same small sample generated again into another directory."""
    return _run(tmp_path_factory.mktemp("sample_small_b"), households=2000, compounds=20)


def _to_m(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.column_stack(TO_M.transform(c[:, 0], c[:, 1])))


# ---------------------------------------------------------------------------------------------
# counts
# ---------------------------------------------------------------------------------------------


def test_default_counts(default_run: Run) -> None:
    s = default_run.summary
    grids = default_run.gpkg("grids.gpkg", "grids")
    levels = Counter(grids["level"])
    assert levels["street"] == 1 and s.streets == 1
    assert levels["community"] == s.communities == 10
    assert levels["compound"] == s.compounds >= 60
    assert s.buildings == len(default_run.gpkg("buildings.gpkg", "buildings")) >= 600
    assert s.households == len(default_run.csv("households.csv")) >= 20_000
    persons = default_run.csv("persons.csv")
    assert s.persons == len(persons) >= 50_000
    members = persons[persons["is_party_member"] == "1"]
    assert s.party_members == len(members) >= 1_500
    assert set(members["member_type"]) == set(gen.MEMBER_TYPES)
    assert (persons.loc[persons["is_party_member"] == "0", "member_type"] == "").all()
    assert (members["is_volunteer"] == "1").mean() >= 0.5
    assert s.incidents == len(default_run.csv("incidents.csv")) >= 2_000
    assert s.nights == 35 and s.tracks > 0
    assert s.staff == default_run.csv("staff.csv")["staff_code"].nunique()
    assert default_run.seconds < 60  # typically ~3 s; generous for slow CI machines


def test_default_names_and_codes(default_run: Run) -> None:
    grids = default_run.gpkg("grids.gpkg", "grids")
    street = grids[grids["level"] == "street"].iloc[0]
    assert street["code"] == "610103006" and street["name"] == "文艺路街道"
    assert street["parent_code"] is None or pd.isna(street["parent_code"])
    comm = grids[grids["level"] == "community"]
    division = json.loads((REPO / "geodata" / "division_610103006.json").read_text(encoding="utf-8"))
    expected = {c["code"]: gen.community_display_name(c["name"]) for c in division["communities"]}
    assert dict(zip(comm["code"], comm["name"], strict=True)) == expected
    assert dict(gen.COMMUNITIES) == {c["code"]: c["name"] for c in division["communities"]}
    assert "文艺北路一社区" in set(comm["name"])
    assert (comm["parent_code"] == "610103006").all()
    comp = grids[grids["level"] == "compound"]
    assert comp["code"].str.fullmatch(r"610103006\d{6}").all()
    assert (comp["code"].str[:12] == comp["parent_code"]).all()
    assert comp["name"].is_unique and comp["code"].is_unique
    lon0, lat0, lon1, lat1 = shapely.total_bounds(grids.geometry.values)
    assert 108.95 <= lon0 < lon1 <= 108.99 and 34.23 <= lat0 < lat1 <= 34.26


# ---------------------------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------------------------


def _check_tiling(grids: gpd.GeoDataFrame) -> None:
    geoms = dict(zip(grids["code"], grids.geometry.values, strict=True))
    assert shapely.is_valid(grids.geometry.values).all()
    assert (grids.geometry.geom_type == "MultiPolygon").all()
    for parent_code, children in grids.groupby("parent_code"):
        parent = geoms[parent_code]
        kids = children.geometry.values
        # exact in degrees
        assert shapely.union_all(kids).symmetric_difference(parent).area < 1e-9
        kids_m = _to_m(kids)
        parent_m = _to_m(np.array([parent]))[0]
        assert abs(float(shapely.area(kids_m).sum()) - parent_m.area) < 0.01
        assert shapely.union_all(kids_m).symmetric_difference(parent_m).area < 0.01
        tree = shapely.STRtree(kids_m)
        left, right = tree.query(kids_m, predicate="intersects")
        pairs = left < right
        if pairs.any():
            overlap = shapely.area(shapely.intersection(kids_m[left[pairs]], kids_m[right[pairs]]))
            assert float(overlap.max()) < 0.01
        assert shapely.coverage_is_valid(kids)


def test_children_tile_parents(default_run: Run) -> None:
    _check_tiling(default_run.gpkg("grids.gpkg", "grids"))


def test_children_tile_parents_small(small_run: Run) -> None:
    _check_tiling(small_run.gpkg("grids.gpkg", "grids"))


def test_coordinates_have_7_decimals(default_run: Run) -> None:
    grids = default_run.gpkg("grids.gpkg", "grids")
    c = shapely.get_coordinates(grids.geometry.values)
    assert np.array_equal(np.round(c, 7), c)
    hh = default_run.csv("households.csv")
    assert hh["lon"].str.fullmatch(r"\d{3}\.\d{7}").all() and hh["lat"].str.fullmatch(r"\d{2}\.\d{7}").all()


def _row_band_sorted(geoms: np.ndarray, north: float, band: float) -> list[int]:
    cen = shapely.get_coordinates(shapely.centroid(geoms))
    row = np.floor((north - cen[:, 1]) / band)
    return list(np.lexsort((cen[:, 0], row)))


def test_compound_codes_follow_rule(default_run: Run) -> None:
    grids = default_run.gpkg("grids.gpkg", "grids")
    meta = default_run.meta()
    band = meta["compound_row_band_deg"]
    comm = grids[grids["level"] == "community"].set_index("code")
    for parent, kids in grids[grids["level"] == "compound"].groupby("parent_code"):
        kids = kids.sort_values("code")
        assert list(kids["code"].str[-3:].astype(int)) == list(range(1, len(kids) + 1))
        order = _row_band_sorted(kids.geometry.values, comm.loc[parent].geometry.bounds[3], band)
        assert order == list(range(len(kids)))
        # north first in the large: the first compound lies in the northernmost row
        lat = shapely.get_coordinates(shapely.centroid(kids.geometry.values))[:, 1]
        assert lat[0] >= lat.min()


def test_buildings(default_run: Run) -> None:
    b = default_run.gpkg("buildings.gpkg", "buildings")
    grids = default_run.gpkg("grids.gpkg", "grids").set_index("code")
    assert b["code"].is_unique
    assert b["code"].str.fullmatch(r"610103006\d{6}B\d{2}").all()
    assert (b["code"].str[:15] == b["grid_code"]).all()
    assert b["floors"].between(2, 33).all()
    assert b["name"].str.fullmatch(r"\d+号楼").all()
    assert b["address"].str.startswith("碑林区").all()
    assert all(a.endswith(n) for a, n in zip(b["address"], b["name"], strict=True))
    kinds = Counter(b.geometry.geom_type)
    assert set(kinds) == {"Polygon", "Point"}
    assert 0.02 <= kinds["Point"] / len(b) <= 0.10
    geoms = b.geometry.values
    assert shapely.is_valid(geoms).all()
    comp = grids.loc[b["grid_code"]].geometry.values
    assert shapely.contains_properly(comp, geoms).all()
    poly = b[b.geometry.geom_type == "Polygon"]
    gm = _to_m(poly.geometry.values)
    sides = [np.hypot(*np.diff(shapely.get_coordinates(g)[:3], axis=0).T) for g in gm]
    long_side = np.array([max(s) for s in sides])
    short_side = np.array([min(s) for s in sides])
    assert long_side.min() > 14.9 and long_side.max() < 60.1
    assert short_side.min() > 9.9 and short_side.max() < 18.1
    tree = shapely.STRtree(gm)
    left, right = tree.query(gm, predicate="intersects")
    assert (left == right).all(), "buildings overlap"
    # building serials: row bands from the compound's north bound, then west→east
    band = default_run.meta()["building_row_band_deg"]
    for code, grp in b.groupby("grid_code"):
        grp = grp.sort_values("code")
        assert _row_band_sorted(grp.geometry.values, grids.loc[code].geometry.bounds[3], band) == list(range(len(grp)))


# ---------------------------------------------------------------------------------------------
# households and persons
# ---------------------------------------------------------------------------------------------


def test_households(default_run: Run) -> None:
    hh = default_run.csv("households.csv")
    b = default_run.gpkg("buildings.gpkg", "buildings").set_index("code")
    meta = default_run.meta()
    special = set(meta["boundary_households"]) | set(meta["outside_households"])
    assert len(meta["boundary_households"]) == 12 and len(meta["outside_households"]) == 5
    assert hh["code"].is_unique
    assert (hh["code"].str[:18] == hh["building_code"]).all()
    assert hh["building_code"].isin(b.index).all()
    share = hh["kind"].value_counts(normalize=True)
    assert set(share.index) == set(gen.HOUSEHOLD_KINDS)
    for kind, expected in zip(gen.HOUSEHOLD_KINDS, (0.70, 0.18, 0.08, 0.04), strict=True):
        assert abs(share[kind] - expected) < 0.03, (kind, share[kind])
    m = hh["address"].str.extract(r"(\d+)号楼(\d+)单元(\d+)室$")
    assert m.notna().all().all()
    floor = m[2].astype(int) // 100
    assert (floor[hh["kind"] == "底商"] == 1).all()
    floors = b.loc[hh["building_code"], "floors"].to_numpy()
    assert (floor.to_numpy() <= floors).all()
    # every ordinary household lies in its building (footprint or point)
    normal = ~hh["code"].isin(special)
    pts = np.asarray(shapely.points(hh.loc[normal, ["lon", "lat"]].astype(float).to_numpy()), dtype=object)
    bg = b.loc[hh.loc[normal, "building_code"]].geometry.values
    is_pt = shapely.get_type_id(bg) == 0
    assert shapely.contains_properly(bg[~is_pt], pts[~is_pt]).all()
    assert shapely.equals(bg[is_pt], pts[is_pt]).all()


def test_edge_and_outside_households(default_run: Run) -> None:
    hh = default_run.csv("households.csv").set_index("code")
    meta = default_run.meta()
    grids = default_run.gpkg("grids.gpkg", "grids")
    comp = grids[grids["level"] == "compound"].geometry.values
    street = grids[grids["level"] == "street"].geometry.values[0]
    for code in meta["boundary_households"]:
        lon, lat = float(hh.loc[code, "lon"]), float(hh.loc[code, "lat"])
        pt = shapely.Point(lon, lat)
        assert shapely.touches(comp, pt).sum() >= 2, code
        assert not shapely.within(pt, comp).any(), code
    kinds = Counter(d["kind"] for d in meta["boundary_household_details"])
    assert kinds["vertex"] >= 4 and kinds["edge"] >= 4
    street_m = _to_m(np.array([street]))[0]
    for code in meta["outside_households"]:
        pt = shapely.Point(float(hh.loc[code, "lon"]), float(hh.loc[code, "lat"]))
        assert not street.intersects(pt)
        assert 100 < street_m.distance(_to_m(np.array([pt]))[0]) < 800


def test_persons(default_run: Run) -> None:
    p = default_run.csv("persons.csv")
    hh = default_run.csv("households.csv").set_index("code")
    assert p["code"].is_unique and p["id_number"].is_unique
    assert (p["code"].str.rsplit("P", n=1).str[0] == p["household_code"]).all()
    kinds = hh.loc[p["household_code"], "kind"]
    assert "空房户" not in set(kinds)
    assert p["sex"].isin(["男", "女"]).all()
    assert p["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    phones = p.loc[p["phone"] != "", "phone"]
    assert phones.str.fullmatch(r"1[358]\d{9}").all() and phones.is_unique
    for col in ("is_resident_rep", "is_volunteer", "is_party_member"):
        assert p[col].isin(["0", "1"]).all()
    assert 0.008 < (p["is_resident_rep"] == "1").mean() < 0.025
    assert 0.045 < (p["is_party_member"] == "1").mean() < 0.07
    tags = Counter(t for s in p["tags"] if s for t in s.split(";"))
    assert set(tags) <= set(gen.TAGS)
    assert sum(1 for s in p["tags"] if s) < 0.1 * len(p)
    by = p["birth_year"].astype(int)
    assert by.between(1925, 2026).all()


def test_id_numbers(default_run: Run) -> None:
    p = default_run.csv("persons.csv")
    ids = p["id_number"]
    assert ids.str.fullmatch(r"610103\d{11}[\dX]").all()
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for i in ids:
        s = sum(int(c) * w for c, w in zip(i[:17], weights, strict=True))
        assert i[17] == "10X98765432"[s % 11], i
        assert id_check_digit(i[:17]) == i[17]
        datetime.strptime(i[6:14], "%Y%m%d")  # valid date
    assert (ids.str[6:10] == p["birth_year"]).all()
    male_digit = ids.str[16].astype(int) % 2 == 1
    assert (male_digit == (p["sex"] == "男")).all()
    assert (ids.str[6:14] <= END.strftime("%Y%m%d")).all()


def test_party_contacts(default_run: Run) -> None:
    p = default_run.csv("persons.csv").set_index("code")
    c = default_run.csv("party_contacts.csv")
    members = set(p.index[p["is_party_member"] == "1"])
    unlinked = set(default_run.meta()["party_gaps"]["contacts"])  # the member placed without any (a gap)
    assert len(unlinked) == 1 and set(c["person_code"]) == members - unlinked
    per = c.groupby("person_code").size()
    assert per.between(1, 3).all()
    assert not c.duplicated().any()
    own_comp = p.loc[c["person_code"], "household_code"].str[:15].to_numpy()
    assert (c["household_code"].str[:15].to_numpy() == own_comp).all()
    assert (c["since"] < END.isoformat()).all()


def test_staff(default_run: Run) -> None:
    staff = default_run.csv("staff.csv")
    grids = default_run.gpkg("grids.gpkg", "grids")
    assert set(grids["code"]) <= set(staff["grid_code"])
    assert set(staff["role"]) == set(gen.STAFF_ROLES)
    assert not staff.duplicated().any()
    for code in grids["code"]:
        roles = set(staff.loc[staff["grid_code"] == code, "role"])
        assert {"网格长", "网格员", "网格党支部书记", "网格警员"} <= roles, code
    # one person may hold several roles
    assert (staff.groupby("staff_code").size() > 1).any()
    names = staff.groupby("staff_code")[["name", "phone"]].nunique()
    assert (names == 1).all().all()


# ---------------------------------------------------------------------------------------------
# incidents and patrols
# ---------------------------------------------------------------------------------------------


def test_incidents(default_run: Run) -> None:
    inc = default_run.csv("incidents.csv")
    assert inc["code"].is_unique
    assert inc["code"].str.fullmatch(r"E\d{12}").all()
    pairs = {(c, s) for c, s, _, _ in INCIDENT_TYPES}
    assert set(zip(inc["category"], inc["subcategory"], strict=True)) <= pairs
    assert {f"{c}/{s}" for c, s in pairs} <= set(gen_vocab.INCIDENT_SUBCATEGORIES.terms)
    assert {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "民生服务", "治安隐患", "矛盾纠纷",
            "消防安全"} <= set(inc["category"])  # fmt: skip
    assert set(inc["status"]) == set(gen_vocab.INCIDENT_STATUSES.terms)
    assert set(inc["level"]) == {"网格", "社区", "街道"}
    assert set(inc["source"]) == {"网格员上报", "12345热线", "居民反映", "巡逻发现"}
    assert set(inc["urgency"]) == {"一般", "紧急"} and (inc["urgency"] == "紧急").mean() < 0.15
    assert (inc.loc[inc["category"] == "突发事件", "urgency"] == "紧急").mean() > 0.6
    reported = inc["source"].isin(["12345热线", "居民反映"])
    assert (inc.loc[reported, "reporter_name"] != "").all() and (inc.loc[~reported, "reporter_name"] == "").all()
    assert inc.loc[reported, "reporter_phone"].str.fullmatch(r"1\d{10}").all()
    assert (inc["address"] != "").all() and inc.apply(lambda r: r["address"] in r["description"], axis=1).all()
    assert (inc["level"] == "网格").mean() > 0.8
    assert inc["reported_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    t = pd.to_datetime(inc["reported_at"], format="ISO8601")
    first = datetime(2026, 8, 3, tzinfo=TZ8)  # 90 days ending 2026-10-31
    assert t.min() >= first and t.max() < datetime(2026, 11, 1, tzinfo=TZ8)
    assert t.dt.date.nunique() >= 85
    old = t < datetime(2026, 10, 1, tzinfo=TZ8)
    assert (inc.loc[old, "status"].isin(["结案", "作废"])).mean() > 0.95
    events = default_run.csv("incident_events.csv")
    assert default_run.summary.incident_events == len(events) > 5 * len(inc)
    assert set(events["code"]) == set(inc["code"])
    assert (inc["code"].str[1:9] == t.dt.strftime("%Y%m%d")).all()
    street = default_run.gpkg("grids.gpkg", "grids").query("level == 'street'").geometry.values[0]
    inside = shapely.contains_xy(street, inc["lon"].astype(float), inc["lat"].astype(float))
    assert inside.mean() > 0.9
    assert inc["description"].str.len().min() > 8


def test_patrols(default_run: Run) -> None:
    areas = default_run.gpkg("patrol_teams.gpkg", "areas")
    routes = default_run.gpkg("patrol_teams.gpkg", "routes")
    assert 3 <= len(areas) <= 4 and list(areas["team_code"]) == list(routes["team_code"])
    assert (areas.geometry.geom_type == "MultiPolygon").all()
    assert (routes.geometry.geom_type == "LineString").all()
    assert shapely.is_valid(areas.geometry.values).all()
    shifts: dict[date, set[str]] = {}
    n_tracks = 0
    for team, area in zip(areas["team_code"], areas.geometry.values, strict=True):
        route = routes.loc[routes["team_code"] == team].geometry.values[0]
        assert shapely.buffer(area, 0.0003).contains(route)
        gpx = gpxpy.parse((default_run.out / "patrol" / f"{team}.gpx").read_text(encoding="utf-8"))
        area_buf = shapely.buffer(area, 0.0003)  # ~30 m: GPS noise around boundary roads
        for trk in gpx.tracks:
            n_tracks += 1
            assert trk.name is not None
            night_s, shift = trk.name.split(" ")
            night = date.fromisoformat(night_s)
            assert trk.type == shift and trk.description == team
            shifts.setdefault(night, set()).add(shift)
            pts = trk.segments[0].points
            assert len(pts) > 100
            assert all(pt.time is not None for pt in pts)
            times = [pt.time.astimezone(TZ8) for pt in pts if pt.time is not None]
            dt = np.diff([x.timestamp() for x in times])
            assert dt.min() >= 10 and dt.max() <= 30
            start = datetime(
                night.year,
                night.month,
                night.day,
                20 if shift == "上半夜" else 23,
                0 if shift == "上半夜" else 30,
                tzinfo=TZ8,
            )
            end = start + (timedelta(hours=3, minutes=30) if shift == "上半夜" else timedelta(hours=6, minutes=30))
            assert start <= times[0] and times[-1] <= end
            xy = np.array([[pt.longitude, pt.latitude] for pt in pts])
            assert shapely.contains_xy(area_buf, xy[:, 0], xy[:, 1]).mean() > 0.99
            step = np.hypot((xy[1:, 0] - xy[:-1, 0]) * 92_000, (xy[1:, 1] - xy[:-1, 1]) * 111_000)
            speed = np.median(step / dt)
            assert 0.8 < speed < 6.0
    assert n_tracks == default_run.summary.tracks
    nights = sorted(shifts)
    assert len(nights) >= 30 and nights[-1] == END
    assert all(s == {"上半夜", "下半夜"} for s in shifts.values())


# ---------------------------------------------------------------------------------------------
# determinism and small scale
# ---------------------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_determinism(small_run: Run, small_run_again: Run) -> None:
    a, b = small_run.out, small_run_again.out
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in {".csv", ".gpx", ".json"})
    assert len(files) >= 10
    # GeoPackages are written with a fixed OGR_CURRENT_DATE; their content is compared below as well
    files += sorted(p.relative_to(a) for p in a.rglob("*.gpkg"))
    for rel in files:
        assert _digest(a / rel) == _digest(b / rel), rel
    for name, layers in (
        ("grids.gpkg", ["grids"]),
        ("buildings.gpkg", ["buildings"]),
        ("patrol_teams.gpkg", ["areas", "routes"]),
    ):
        for layer in layers:
            da = small_run.gpkg(name, layer)
            db = small_run_again.gpkg(name, layer)
            pd.testing.assert_frame_equal(da.drop(columns="geometry"), db.drop(columns="geometry"))
            assert all(shapely.equals_exact(da.geometry.values, db.geometry.values, tolerance=0))


def test_other_seed_differs(tmp_path: Path, small_run: Run) -> None:
    run = _run(tmp_path, households=2000, compounds=20, seed=7, nights=2, days=10)
    assert _digest(run.out / "households.csv") != _digest(small_run.out / "households.csv")
    assert run.summary.nights == 2 and run.summary.tracks == 2 * 7
    assert run.summary.compounds == 20


def test_small_run(small_run: Run) -> None:
    s = small_run.summary
    assert (s.communities, s.compounds, s.households) == (10, 20, 2000)
    assert s.buildings >= 20 and s.persons > 4000
    assert len(small_run.meta()["boundary_households"]) == 12
    assert small_run.seconds < 30


def test_large_scale_skips_people(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(gen_frame, "LARGE_SCALE_HOUSEHOLDS", 3000)
    monkeypatch.setattr(gen_households, "_CHUNK_HOUSEHOLDS", 1000)
    s = generate(tmp_path, households=5000, compounds=30)
    assert (s.persons, s.incidents, s.tracks, s.staff) == (0, 0, 0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "buildings.gpkg",
        "grids.gpkg",
        "households.csv",
        "sample_meta.json",
    ]
    hh = pd.read_csv(tmp_path / "households.csv", dtype=str)
    assert len(hh) == 5000 and hh["code"].is_unique
    meta = json.loads((tmp_path / "sample_meta.json").read_text(encoding="utf-8"))
    assert meta["large_scale"] is True
    assert set(meta["boundary_households"]) <= set(hh["code"])


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, households=100, compounds=5)
    with pytest.raises(ValueError):
        generate(tmp_path, households=10, compounds=20)


def test_scale_grows_extent() -> None:
    small, _ = gen_frame.derive_scale(20_000, None)
    big, _ = gen_frame.derive_scale(10_000_000, 100_000)
    assert small.compounds == 72 and small.communities == 10
    assert big.communities >= math.ceil(100_000 / 999)
    assert big.half_w / small.half_w == pytest.approx(math.sqrt(100_000 / 72))
    assert big.large and not small.large
