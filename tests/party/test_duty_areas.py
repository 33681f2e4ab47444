"""党员责任区 on the factory street: polygons from files (GeoPackage in a projected CRS, zipped Shapefile), duty and
responsible members, edits with history, the topology findings (an overlap inside a compound, the uncovered parts,
a compound without any) and the scope rule on the polygon."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor
from gridgov.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from gridgov.party import duty_areas as svc
from gridgov.party.check import check
from gridgov.party.rules import PartyRules
from gridgov.patrol.teams import area_from_file

from tests.factories import X0, Y0, D, make_street
from tests.party.test_check import _members, _org
from tests.party.test_volunteers import OTHER, OWN, A, B, C, codes_of, scoped

ADMIN = Actor.system("tests")
SOUTH = box(X0, Y0, X0 + D / 2, Y0 + 0.6 * D)  # compound A, south 60%
NORTH = box(X0, Y0 + 0.5 * D, X0 + D / 2, Y0 + 0.9 * D)  # A, overlapping SOUTH by 10%, leaving the top 10%
EAST = box(X0 + D, Y0, X0 + 2 * D, Y0 + D)  # all of compound C


def m2(geom: object) -> float:
    """The area on the WGS84 spheroid, in square metres."""
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0])


@pytest.fixture
def street(clean_engine: Engine) -> Iterator[Engine]:
    """Branch BA on compound A and BC on C; Party members W-P1, W-P2 living in A, E-P1 in C; resident N-P1 in A
    who is not a member."""
    with Session(clean_engine) as s, s.begin():
        make_street(s)
        _members(s, "A", 2, prefix="W")
        _members(s, "C", 1, prefix="E")
        _members(s, "A", 1, prefix="N")
        s.execute(text("UPDATE person SET is_party_member = false, member_type = NULL WHERE code = 'N-P1'"))
        _org(s, "BA", "党支部", "楼院党支部", [A], [])
        _org(s, "BC", "党支部", "楼院党支部", [C], [])
    yield clean_engine


def test_polygons_from_a_geopackage_in_a_projected_crs_and_a_zipped_shapefile(street: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"name": ["南区"]}, geometry=[SOUTH], crs="EPSG:4326").to_crs("EPSG:4545")
    frame.to_file(tmp_path / "south.gpkg", driver="GPKG")
    gpd.GeoDataFrame({"name": ["东区"]}, geometry=[EAST], crs="EPSG:4326").to_file(tmp_path / "east.shp")
    with zipfile.ZipFile(tmp_path / "east.zip", "w") as z:
        for part in tmp_path.glob("east.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    with Session(street) as s, s.begin():
        south = svc.create_area(s, ADMIN, code="Z1", name="南区", duty="环境", org="BA", members="W-P1、W-P2",
                                geometry=area_from_file(tmp_path / "south.gpkg"))  # fmt: skip
        east = svc.create_area(s, ADMIN, code="Z3", name="东区", duty="治安防范", members=["E-P1"],
                               geometry=area_from_file(tmp_path / "east.zip"))  # fmt: skip
        stored = s.execute(text("SELECT code, ST_GeometryType(geom) AS kind, person_ids FROM party_duty_area "
                                "ORDER BY code")).all()  # fmt: skip
    assert (south.duty, south.org_code, south.member_codes, south.member_names) == \
        ("环境维护", "BA", ["W-P1", "W-P2"], ["党员W-H1", "党员W-H2"])
    assert south.compounds == [A] and east.compounds == [C]
    assert south.area_m2 == pytest.approx(m2(SOUTH), rel=1e-4) and east.area_m2 == pytest.approx(m2(EAST), rel=1e-4)
    assert shape(south.geometry).hausdorff_distance(SOUTH) < 1e-7  # back from EPSG:4545 within a centimetre
    assert [(r.code, r.kind, len(r.person_ids)) for r in stored] == [("Z1", "ST_MultiPolygon", 2),
                                                                 ("Z3", "ST_MultiPolygon", 1)]


def test_topology_findings_overlap_and_uncovered_parts(street: Engine) -> None:
    with Session(street) as s, s.begin():
        for code, geom in (("Z1", SOUTH), ("Z2", NORTH), ("Z3", EAST)):
            svc.create_area(s, ADMIN, code=code, name=code, duty="环境维护", geometry=mapping(geom))
        found = svc.check_areas(s, ADMIN)
        report = check(s, ADMIN, PartyRules(), parent="610103006", day=dt.date(2026, 11, 30))
    assert [(f.rule, f.codes) for f in found] == [("overlap", ["Z1", "Z2", A]), ("gap", ["Z2", A]), ("gap", [B])]
    overlap, gap, empty = found
    band = box(X0, Y0 + 0.5 * D, X0 + D / 2, Y0 + 0.6 * D)
    assert overlap.area_m2 == pytest.approx(m2(band), rel=0.01)
    assert overlap.geometry is not None and overlap.geometry.symmetric_difference(band).area < 1e-10
    assert overlap.message == f"楼院 第一网格（{A}）内，责任区 Z1 与 Z2 重叠 {overlap.area_m2:,.1f} 平方米"
    assert gap.area_m2 == pytest.approx(m2(box(X0, Y0 + 0.9 * D, X0 + D / 2, Y0 + D)), rel=0.01)
    assert "不在任何党员责任区内（相邻责任区：Z2）" in gap.message
    assert empty.message.startswith(f"楼院 第二网格（{B}）没有党员责任区")
    # the compliance check's duty_area rule finds the same uncovered compounds
    assert sorted(f.grid_code for f in report.findings if f.rule == "duty_area") == [A, B]


def test_members_edits_history_and_retirement(street: Engine) -> None:
    with Session(street) as s, s.begin():
        with pytest.raises(InvalidInput, match="党员N-H1（N-P1）不是党员"):
            svc.create_area(s, ADMIN, code="Z1", name="南区", duty="环境维护", geometry=mapping(SOUTH),
                            members=["N-P1"])  # fmt: skip
        with pytest.raises(InvalidInput, match="人员不存在或已注销：X-P9"):
            svc.create_area(s, ADMIN, code="Z1", name="南区", duty="环境维护", geometry=mapping(SOUTH),
                            members=["X-P9"])  # fmt: skip
        with pytest.raises(InvalidInput, match="未知的取值 扫地"):
            svc.create_area(s, ADMIN, code="Z1", name="南区", duty="扫地", geometry=mapping(SOUTH))
        svc.create_area(s, ADMIN, code="Z1", name="南区", duty="环境维护", geometry=mapping(SOUTH), members=["W-P1"],
                        effective=dt.date(2026, 1, 1))  # fmt: skip
        with pytest.raises(Conflict, match="责任区编码已存在"):
            svc.create_area(s, ADMIN, code="Z1", name="又一", duty="环境维护", geometry=mapping(NORTH))
        changed = svc.update_area(s, "Z1", {"members": "W-P1,W-P2", "duty": "调解", "geometry": mapping(NORTH)},
                                  ADMIN, expected_version=1, effective=dt.date(2026, 6, 1))  # fmt: skip
        with pytest.raises(StaleVersion):
            svc.update_area(s, "Z1", {"name": "改"}, ADMIN, expected_version=1)
        retired = svc.retire_area(s, "Z1", ADMIN, reason="调整", expected_version=2)
        with pytest.raises(Conflict, match="已于 .* 撤销"):
            svc.update_area(s, "Z1", {"name": "改"}, ADMIN, expected_version=None)
        history = svc.area_history(s, "Z1", ADMIN)
        live = [a.code for a in svc.list_areas(s, ADMIN)], [a.code for a in svc.list_areas(s, ADMIN,
                                                                                          include_retired=True)]
    assert (changed.version, changed.duty, changed.member_codes) == (2, "纠纷调解", ["W-P1", "W-P2"])
    assert (retired.retired, retired.end_reason) == (True, "调整")
    assert svc.area_changes(history[0], history[1])[:2] == ["职责：环境维护 → 纠纷调解",
                                                            "责任党员：党员W-H1 → 党员W-H1、党员W-H2"]
    assert history[1].area_m2 == pytest.approx(m2(NORTH), rel=1e-4)
    assert live == ([], ["Z1"])


def test_an_area_outside_the_scope_is_refused(street: Engine) -> None:
    with Session(street) as s, s.begin():
        svc.create_area(s, ADMIN, code="ZE", name="东区", duty="环境维护", geometry=mapping(EAST))
        comm1 = scoped(s, "community", OWN)
        own = svc.create_area(s, comm1, code="ZW", name="西区", duty="环境维护", geometry=mapping(SOUTH),
                              members=["W-P1"], org="BA")  # fmt: skip
        over = box(X0 + 0.5 * D, Y0, X0 + 1.2 * D, Y0 + 0.5 * D)  # from community …001 into …002
        refusals = [
            lambda: svc.create_area(s, comm1, code="Z9", name="越界", duty="环境维护", geometry=mapping(over)),
            lambda: svc.create_area(s, comm1, code="Z9", name="东", duty="环境维护", geometry=mapping(EAST)),
            lambda: svc.create_area(s, comm1, code="Z9", name="西", duty="环境维护", geometry=mapping(NORTH),
                                    members=["E-P1"]),
            lambda: svc.create_area(s, comm1, code="Z9", name="西", duty="环境维护", geometry=mapping(NORTH),
                                    org="BC"),
            lambda: svc.update_area(s, "ZW", {"geometry": mapping(over)}, comm1, expected_version=1),
            lambda: svc.update_area(s, "ZE", {"name": "改"}, comm1, expected_version=1),
            lambda: svc.retire_area(s, "ZE", comm1, reason="调整"),
            lambda: svc.get_area(s, "ZE", comm1),
            lambda: svc.check_areas(s, comm1, parent=OTHER),
            lambda: svc.list_areas(s, Actor("user:v", "viewer")),
        ]  # fmt: skip
        for refuse in refusals:
            with pytest.raises(Forbidden), s.begin_nested():
                refuse()
        visible = [a.code for a in svc.list_areas(s, comm1)]
        rows = s.scalar(text("SELECT string_agg(code || ':' || version, ',' ORDER BY code) FROM party_duty_area"))
        people = codes_of(s, list(s.scalar(text("SELECT person_ids FROM party_duty_area WHERE code = 'ZW'"))))
    assert own.compounds == [A] and visible == ["ZW"]
    assert rows == "ZE:1,ZW:1" and people == ["W-P1"]
