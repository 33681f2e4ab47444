"""Tests for the grid code scheme: checking, renumbering (west→east, north→south) and allocating codes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gridgov.errors import Conflict, InvalidInput
from gridgov.geo.crs import MetricFrame
from gridgov.grids.codes import CodeScheme, check_code, next_code, renumber
from gridgov.grids.findings import GridInput
from gridgov.grids.topology import validate

SAMPLE = Path(__file__).resolve().parents[2] / "geodata" / "sample" / "grids.gpkg"
FRAME = MetricFrame(108.96)
_origin = FRAME.to_m(Point(108.96, 34.24))
X0, Y0 = round(_origin.x), round(_origin.y)
STREET = "610103006"
COMM = "610103006001"


def ll(geom_m: BaseGeometry) -> BaseGeometry:
    """Local metres (origin near 108.96°E 34.24°N) → EPSG:4326."""
    return FRAME.to_ll(translate(geom_m, X0, Y0))


def compound(code: str, geom_m: BaseGeometry, parent: str = COMM) -> GridInput:
    """A compound grid from a geometry in local metres."""
    return GridInput(code, code, "compound", parent, ll(geom_m))


# --- check_code -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("610103006", "street", None),
        ("610103006001", "community", "610103006"),
        ("610103006001", "community", None),
        ("610103006001012", "compound", "610103006001"),
        ("610103006001999", "compound", "610103006001"),
        ("61010300600101203", "building", "610103006001012"),
    ],
)
def test_default_scheme_accepts(code: str, level: str, parent: str | None) -> None:
    assert check_code(code, level, parent, CodeScheme()) is None


@pytest.mark.parametrize(
    ("code", "level", "parent", "fragment"),
    [
        ("61010300", "street", None, "9 位"),
        ("61010300A", "street", None, "数字"),
        ("61010300601", "community", "610103006", "12 位"),
        ("610103007001", "community", "610103006", "610103006"),
        ("6101030060010123", "compound", "610103006001", "3 位"),
        ("610103006001000", "compound", "610103006001", "全零"),
        ("610103006001", "compound", "610103006001", "序号"),
        ("610103006002001", "compound", "610103006001", "610103006001"),
        ("61010300600100A", "compound", "610103006001", "数字"),
        ("610103006001012B03", "building", "610103006001012", "数字"),
        ("610103006001012003", "building", "610103006001012", "2 位"),
        ("", "compound", "610103006001", "为空"),
        ("610103006001001", "village", "610103006001", "未知层级"),
    ],
)
def test_default_scheme_rejects(code: str, level: str, parent: str | None, fragment: str) -> None:
    reason = check_code(code, level, parent, CodeScheme())
    assert reason is not None and fragment in reason


def test_check_code_default_scheme_when_none() -> None:
    assert check_code("610103006001001", "compound", COMM, None) is None


# --- CodeScheme from JSON -----------------------------------------------------------------------------------------


def test_scheme_from_json_partial_keeps_level_defaults() -> None:
    scheme = CodeScheme.from_json('{"building": {"separator": "B"}}')
    assert scheme.building.separator == "B"
    assert scheme.building.serial_digits == 2  # the building default, not the generic 3
    assert scheme.compound == CodeScheme().compound
    assert check_code("610103006001012B03", "building", "610103006001012", scheme) is None
    assert check_code("61010300600101203", "building", "610103006001012", scheme) is not None
    assert next_code(["610103006001012B01", "610103006001012B02"], "610103006001012", "building", scheme) == (
        "610103006001012B03"
    )


def test_scheme_from_json_pattern_and_dict() -> None:
    scheme = CodeScheme.from_json(
        {"community": {"length": None, "serial_digits": None, "pattern": "^{parent}[0-9]{3}$"}, "street": {"length": 6}}
    )
    assert check_code("610103", "street", None, scheme) is None
    assert check_code("610103006", "street", None, scheme) is not None
    assert check_code("610103123", "community", "610103", scheme) is None
    reason = check_code("6101031234", "community", "610103", scheme)
    assert reason is not None and "格式" in reason


def test_scheme_json_round_trip_and_default() -> None:
    custom = CodeScheme.from_json('{"compound": {"serial_digits": 4, "row_band_deg": 0.001}}')
    assert CodeScheme.from_json(custom.model_dump_json()) == custom
    assert CodeScheme.from_json(None) == CodeScheme() == CodeScheme.from_json("  ")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "JSON"),
        ('["street"]', "JSON 对象"),
        ('{"town": {}}', "town"),
        ('{"compound": {"digits_only": true}}', "digits_only"),
        ('{"compound": {"serial_digits": 0}}', "serial_digits"),
        ('{"compound": {"pattern": "^{parent}[0-9"}}', "正则"),
    ],
)
def test_scheme_from_json_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        CodeScheme.from_json(text)
    assert "编码规则配置" in exc.value.message and fragment in exc.value.message


def test_validate_uses_custom_scheme() -> None:
    scheme = CodeScheme.from_json('{"compound": {"serial_digits": 4}}')
    grids = [
        GridInput(STREET, "街道", "street", None, ll(shapely.box(0, 0, 100, 100))),
        GridInput(COMM, "社区", "community", STREET, ll(shapely.box(0, 0, 100, 100))),
        compound(COMM + "0001", shapely.box(0, 0, 100, 100)),
    ]
    assert validate(grids, scheme=scheme) == []
    assert [f.rule for f in validate(grids)] == ["bad_code"]


# --- renumber -----------------------------------------------------------------------------------------------------


def _three_by_two() -> tuple[list[GridInput], dict[tuple[int, int], str]]:
    """Six 300 m cells, 3 columns × 2 rows; old codes shuffled; returns inputs and (col, row) → old code."""
    cells = [(c, r) for r in range(2) for c in range(3)]
    old = [f"{COMM}{k:03d}" for k in (5, 11, 2, 30, 7, 1)]
    random.Random(4).shuffle(old)
    where = dict(zip(cells, old, strict=True))
    grids = []
    for (c, r), code in where.items():
        west, top = 300 * c, 600 - 300 * r
        if (c, r) == (0, 0):
            # the north-west cell is lower (its centroid 190 m below the top stays in the first row band,
            # 0.002° ≈ 222 m) and narrower (its centroid is east of the south-west cell's)
            west, top = 20, top - 40
        grids.append(compound(code, shapely.box(west, top - 300, 300 * c + 300, top)))
    random.Random(9).shuffle(grids)
    return grids, where


def test_renumber_rows_north_to_south_then_west_to_east() -> None:
    grids, where = _three_by_two()
    mapping = renumber(grids, COMM, CodeScheme())
    expected = {
        where[(0, 0)]: f"{COMM}001",
        where[(1, 0)]: f"{COMM}002",
        where[(2, 0)]: f"{COMM}003",
        where[(0, 1)]: f"{COMM}004",
        where[(1, 1)]: f"{COMM}005",
        where[(2, 1)]: f"{COMM}006",
    }
    assert mapping == expected
    assert renumber(list(reversed(grids)), COMM) == expected  # deterministic, order-independent


def test_renumber_row_band_from_parent_geometry() -> None:
    grids, where = _three_by_two()
    # A parent reaching 270 m further north: the first row's centroids are 420 m below its northern bound
    # (band 1 = 222–444 m), the lowered north-west cell's 460 m (band 2), the southern row's 720 m (band 3).
    mapping = renumber(grids, COMM, parent_geometry=ll(shapely.box(0, 0, 900, 870)))
    assert mapping == {
        where[(1, 0)]: f"{COMM}001",
        where[(2, 0)]: f"{COMM}002",
        where[(0, 0)]: f"{COMM}003",
        where[(0, 1)]: f"{COMM}004",
        where[(1, 1)]: f"{COMM}005",
        where[(2, 1)]: f"{COMM}006",
    }


def test_renumber_band_override() -> None:
    grids, where = _three_by_two()
    # With a huge band everything is one row: west→east only (the narrower NW cell's centroid is east of SW's).
    mapping = renumber(grids, COMM, row_band_deg=1.0)
    assert mapping[where[(0, 1)]] == f"{COMM}001"
    assert mapping[where[(0, 0)]] == f"{COMM}002"
    assert {mapping[where[(1, 0)]], mapping[where[(1, 1)]]} == {f"{COMM}003", f"{COMM}004"}
    assert {mapping[where[(2, 0)]], mapping[where[(2, 1)]]} == {f"{COMM}005", f"{COMM}006"}


def test_renumber_reproduces_sample_codes() -> None:
    df = pyogrio.read_dataframe(SAMPLE)
    comps = df[df.level == "compound"]
    assert len(comps) > 0
    for comm in df[df.level == "community"].itertuples():
        kids = [GridInput(r.code, r.name, r.level, r.parent_code, r.geometry) for r in comps.itertuples()
                if r.parent_code == comm.code]  # fmt: skip
        assert renumber(kids, comm.code, parent_geometry=comm.geometry) == {k.code: k.code for k in kids}
        assert renumber(kids, comm.code) == {k.code: k.code for k in kids}


def test_renumber_errors() -> None:
    grids, _ = _three_by_two()
    assert renumber([], COMM) == {}
    with pytest.raises(InvalidInput, match="同一层级"):
        renumber([*grids, GridInput(COMM, "c", "community", STREET, grids[0].geometry)], COMM)
    with pytest.raises(InvalidInput, match="重复编码"):
        renumber([*grids, grids[0]], COMM)
    with pytest.raises(InvalidInput, match="没有几何"):
        renumber([*grids, GridInput(f"{COMM}099", "x", "compound", COMM, None)], COMM)
    with pytest.raises(InvalidInput, match="不能自动生成"):
        renumber([GridInput(STREET, "s", "street", None, grids[0].geometry)], "610103")
    many = [compound(f"{COMM}{k:03d}", shapely.box(k, 0, k + 1, 1)) for k in range(1, 12)]
    tight = CodeScheme.from_json('{"compound": {"serial_digits": 1}}')
    with pytest.raises(Conflict, match="用尽"):
        renumber(many, COMM, tight)


# --- next_code ----------------------------------------------------------------------------------------------------


def test_next_code_appends_after_highest_including_retired() -> None:
    existing = [
        f"{COMM}001",
        f"{COMM}002",
        f"{COMM}007",  # retired, never reused
        f"{COMM}00201",  # a building under compound 002: not a compound serial
        "610103006002009",  # another community
        STREET,
        COMM,
    ]
    assert next_code(existing, COMM, "compound", CodeScheme()) == f"{COMM}008"
    assert next_code(set(existing), COMM, "compound") == f"{COMM}008"
    assert next_code([], COMM, "compound") == f"{COMM}001"
    assert next_code(existing, f"{COMM}002", "building") == f"{COMM}00202"
    assert next_code(existing, STREET, "community") == "610103006002"


def test_next_code_errors() -> None:
    with pytest.raises(Conflict, match="用尽"):
        next_code([f"{COMM}999"], COMM, "compound")
    with pytest.raises(InvalidInput, match="不能自动生成"):
        next_code(["610103006"], "610103", "street")
    with pytest.raises(InvalidInput, match="未知层级"):
        next_code([], COMM, "village")
    # A parent code that cannot give a valid child code under the scheme (community must be 12 digits).
    with pytest.raises(InvalidInput, match="12 位"):
        next_code([], "61010300", "community")


def test_next_code_serials_are_numbers_not_strings() -> None:
    existing = np.asarray([f"{COMM}{k:03d}" for k in (9, 10, 100)], dtype=object).tolist()
    assert next_code(existing, COMM, "compound") == f"{COMM}101"
