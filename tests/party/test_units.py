"""Resident units and 两新 organisations (gridgov.party.units): placed on grids by their point (also from gcj02),
versioned edits, joining a community 大党委, retirement; contacts only for readers in scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgov.assign.locate import to_lonlat
from gridgov.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from gridgov.party import orgs, units

from tests.factories import X0, Y0, D
from tests.party.test_orgs import ADMIN, COMMUNITY, OTHER, scoped, street  # noqa: F401 - the fixture

WEST = (X0 + D / 4, Y0 + D / 2)  # compound …001001
EAST = (X0 + 1.5 * D, Y0 + D / 2)  # compound …002001


def _unit(s: Session, code: str = "U1", place: tuple[float, float] = WEST) -> units.Unit:
    return units.create_unit(s, ADMIN, code=code, name="市第一医院", kind="医院", lon=place[0], lat=place[1],
                             contact_name="王联络", contact_phone="13800000001", has_party_org="是")  # fmt: skip


def test_a_unit_is_placed_edited_and_retired_with_history(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        made = _unit(s)
        assert (made.grid_code, made.kind, made.has_party_org, made.version) == ("610103006001001", "医院", True, 1)
        moved = units.update_unit(s, "U1", {"lon": EAST[0], "lat": EAST[1], "kind": "事业单位"}, ADMIN,
                                  expected_version=1)  # fmt: skip
        assert (moved.grid_code, moved.kind, moved.version) == ("610103006002001", "机关事业单位", 2)
        with pytest.raises(StaleVersion):
            units.update_unit(s, "U1", {"name": "改"}, ADMIN, expected_version=1)
        with pytest.raises(InvalidInput, match="单位类型：未知的取值 工厂"):
            units.update_unit(s, "U1", {"kind": "工厂"}, ADMIN, expected_version=2)
        orgs.create_org(s, ADMIN, code="UO", name="医院党委", kind="党委", form="驻区单位党组织", unit="U1")
        with pytest.raises(Conflict, match="UO 仍在"):
            units.retire_unit(s, "U1", ADMIN, reason="搬迁")
        orgs.dissolve_org(s, "UO", ADMIN, reason="撤销")
        gone = units.retire_unit(s, "U1", ADMIN, reason="搬迁", expected_version=2)
        history = units.unit_history(s, "U1", ADMIN)
        rows = s.scalar(text("SELECT count(*) FROM resident_unit WHERE code = 'U1'"))
    assert gone.retired and gone.end_reason == "搬迁" and rows == 3
    assert units.unit_changes(history[0], history[1]) == ["类型：医院 → 机关事业单位",
                                                          "位置：610103006001001 → 610103006002001"]


def test_gcj02_places_are_converted(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        x, y = WEST
        gx, gy = x + 0.005, y + 0.001  # far enough from the datum shift not to matter at a compound's size
        made = units.create_unit(s, ADMIN, code="U2", name="某公司", kind="民营企业", lon=gx, lat=gy, crs="gcj02")
    expected = to_lonlat(gx, gy, "gcj02")
    assert made.kind == "非公企业"
    assert made.lon == pytest.approx(expected[0]) and made.lat == pytest.approx(expected[1])


def test_joining_a_community_grand_committee(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        _unit(s)
        orgs.create_org(s, ADMIN, code="CP", name="一社区党委", kind="党委", form="社区党组织", grids=[COMMUNITY])
        orgs.create_org(s, ADMIN, code="BA", name="支部", kind="党支部", form="网格党支部", grids=["610103006001001"])
        with pytest.raises(InvalidInput, match="只能加入社区党组织"):
            units.join_unit(s, "U1", ADMIN, org="BA")
        joined = units.join_unit(s, "U1", ADMIN, org="CP", joined_on="2025-03-01")
        detail = orgs.org_detail(s, "CP", ADMIN)
        left = units.join_unit(s, "U1", ADMIN, org=None)
        with pytest.raises(Conflict, match="未加入任何大党委"):
            units.join_unit(s, "U1", ADMIN, org="")
    assert (joined.member_of_code, joined.joined_on, joined.version) == ("CP", dt.date(2025, 3, 1), 2)
    assert detail.units == [("U1", "市第一医院", dt.date(2025, 3, 1))]
    assert (left.member_of_code, left.joined_on, left.version) == (None, None, 3)


def test_scope_and_contacts(street: Engine) -> None:  # noqa: F811
    with Session(street) as s, s.begin():
        _unit(s, "UE", EAST)
        comm1 = scoped(s, "community", COMMUNITY)
        with pytest.raises(Forbidden, match="超出权限范围"):
            units.create_unit(s, comm1, code="U9", name="x", kind="学校", lon=EAST[0], lat=EAST[1])
        with pytest.raises(Forbidden):
            units.update_unit(s, "UE", {"name": "改"}, comm1, expected_version=1)
        mine = units.create_unit(s, comm1, code="UW", name="学校", kind="学校", lon=WEST[0], lat=WEST[1],
                                 contact_name="李老师", contact_phone="13800000002")  # fmt: skip
        with pytest.raises(Forbidden):  # moving one's own unit into the other community
            units.update_unit(s, "UW", {"lon": EAST[0], "lat": EAST[1]}, comm1, expected_version=1)
        seen = {u.code: u for u in units.list_units(s, scoped(s, "community", OTHER))}
        viewer = {u.code: u for u in units.list_units(s, scoped(s, "viewer", None))}
    assert mine.contact_name == "李老师" and list(seen) == ["UE"] and seen["UE"].contact_name == "王联络"
    assert [(u.code, u.contact_name, u.contact_phone) for u in viewer.values()] == [("UE", None, None),
                                                                                  ("UW", None, None)]
