"""Batch edits: a change of several grids is checked as a coverage, previewed with the households and residents
that change grid, and written all or nothing."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.config import GridSettings
from gridgov.db.engine import session_scope
from gridgov.errors import Conflict, InvalidInput, StaleVersion
from gridgov.geo.crs import MetricFrame
from gridgov.grids import service
from gridgov.grids.checks import check_live, stored_findings
from gridgov.grids.edits import GridEdit, GridUpdate, NewGrid, Retirement, save_edit

from tests.factories import X0, Y0, D, make_street

A, B, C = "610103006001001", "610103006001002", "610103006002001"
COMMUNITY = "610103006001"
SETTINGS = GridSettings()
WHO = Actor.system("编辑员")
FRAME = MetricFrame(108.96)


def add_households(engine: Engine, points: list[tuple[float, float]], residents: int = 2) -> None:
    """Households at the points (assigned by the on-write trigger), each with ``residents`` residents."""
    with engine.begin() as conn:
        for i, (x, y) in enumerate(points):
            hid = conn.execute(
                text("INSERT INTO household (code, kind, geom) VALUES "
                     "(:c, '常住户', ST_SetSRID(ST_Point(:x, :y), 4326)) RETURNING id"), {"c": f"H{i}", "x": x, "y": y},
            ).scalar_one()  # fmt: skip
            for j in range(residents):
                conn.execute(text("INSERT INTO person (code, household_id, name) VALUES (:c, :h, '居民')"),
                             {"c": f"P{i}-{j}", "h": hid})  # fmt: skip


def grid_of_households(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT h.code, g.code FROM household h LEFT JOIN grid g ON g.id = h.grid_id "
                                 "WHERE h.valid_to IS NULL ORDER BY h.code"))  # fmt: skip
        return {r[0]: r[1] for r in rows}


def moved_edge(s: object) -> GridEdit:
    """A and B's shared edge (x = X0 + D/2) moved 0.002° east: A grows, B shrinks, both in one save."""
    a, b = service.get_grid(s, A), service.get_grid(s, B)  # type: ignore[arg-type]
    mid = X0 + D / 2 + 0.002
    return GridEdit(update=[
        GridUpdate(A, a.version, geometry=mapping(box(X0, Y0, mid, Y0 + D))),
        GridUpdate(B, b.version, geometry=mapping(box(mid, Y0, X0 + D, Y0 + D))),
    ])  # fmt: skip


def test_preview_counts_who_changes_grid_and_writes_nothing(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    # two households in the strip that changes hands, one that stays in B, one in A
    add_households(clean_engine, [(X0 + D / 2 + 0.001, Y0 + 0.003), (X0 + D / 2 + 0.0015, Y0 + 0.006),
                                  (X0 + 0.008, Y0 + 0.005), (X0 + 0.001, Y0 + 0.005)], residents=3)  # fmt: skip
    before = grid_of_households(clean_engine)
    with session_scope(clean_engine) as s:
        result = save_edit(s, moved_edge(s), actor=WHO, settings=SETTINGS, dry_run=True)
    moves = result.plan.as_dict()["moves"]
    assert not result.applied and result.plan.findings_after == []
    assert moves["households"] == 2 and moves["persons"] == 6
    assert moves["transfers"] == [{"from_code": B, "to_code": A, "households": 2, "persons": 6}]
    by_code = {g["code"]: g for g in moves["grids"]}
    assert by_code[A]["households_in"] == 2 and by_code[B]["households_out"] == 2 and by_code[B]["persons_out"] == 6
    assert grid_of_households(clean_engine) == before  # nothing written
    with session_scope(clean_engine) as s:
        assert [service.get_grid(s, c).version for c in (A, B)] == [1, 1]


def test_a_save_writes_every_grid_or_none(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    add_households(clean_engine, [(X0 + D / 2 + 0.001, Y0 + 0.003)])
    with session_scope(clean_engine) as s:  # someone else changes B meanwhile
        b = service.get_grid(s, B)
        service.update_grid(s, B, expected_version=b.version, actor=WHO, name="第二网格（改）")
    with session_scope(clean_engine) as s:
        edit = moved_edge(s)
        stale = GridEdit(update=[edit.update[0], GridUpdate(B, 1, geometry=edit.update[1].geometry)])
        with pytest.raises(StaleVersion, match=B):
            save_edit(s, stale, actor=WHO, settings=SETTINGS)
    with session_scope(clean_engine) as s:
        assert service.get_grid(s, A).version == 1 and service.get_grid(s, B).version == 2  # A untouched too
    assert grid_of_households(clean_engine) == {"H0": B}

    with session_scope(clean_engine) as s:
        result = save_edit(s, moved_edge(s), actor=WHO, settings=SETTINGS)
    assert result.applied and result.versions == {A: 2, B: 3} and result.reassigned["household"] == 1
    assert grid_of_households(clean_engine) == {"H0": A}
    with session_scope(clean_engine) as s:
        assert check_live(s, parent_code=COMMUNITY) == []
        history = service.history(s, A)
    assert [h.version for h in history] == [1, 2] and history[0].valid_to == history[1].valid_from


def test_an_overlap_is_refused_until_accepted(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        a = service.get_grid(s, A)
        grow = GridEdit(update=[GridUpdate(A, a.version, geometry=mapping(box(X0, Y0, X0 + D / 2 + 0.002, Y0 + D)))])
        with pytest.raises(Conflict, match="重叠") as refused:
            save_edit(s, grow, actor=WHO, settings=SETTINGS)
        assert {f["rule"] for f in refused.value.details["findings"]} == {"overlap"}
        result = save_edit(s, grow, actor=WHO, settings=SETTINGS, accept_findings=True)
        assert result.applied
        assert [f.rule for f in stored_findings(s, A)] == ["overlap"]  # kept for the grid pages


def test_retiring_gives_the_area_to_the_neighbour_exactly(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
    add_households(clean_engine, [(X0 + 0.007, Y0 + 0.005)])
    with session_scope(clean_engine) as s:
        a, b = service.get_grid(s, A), service.get_grid(s, B)
        result = save_edit(s, GridEdit(retire=[Retirement(B, b.version, give_to=A)]), actor=WHO, settings=SETTINGS)
    assert result.applied and result.plan.findings_after == []
    with session_scope(clean_engine) as s:
        merged, community = service.get_grid(s, A), service.get_grid(s, COMMUNITY)
        live = [g.code for g in service.list_grids(s, parent_code=COMMUNITY)]
        assert live == [A] and merged.version == a.version + 1
        # the outer boundary is exactly the community's: same area, no sliver either way
        assert FRAME.to_m(shapely.symmetric_difference(merged.geom, community.geom)).area < 1e-6
        # no new vertex: each is one of A's or B's (where the old edge met the border stays, for the neighbours)
        assert set(map(tuple, shapely.get_coordinates(merged.geom))) <= set(
            map(tuple, shapely.get_coordinates(shapely.union(a.geom.boundary, b.geom.boundary))))  # fmt: skip
        with pytest.raises(Exception, match="不存在"):
            service.get_grid(s, B)
        assert service.history(s, B)[-1].valid_to is not None  # retired, its history kept
    assert grid_of_households(clean_engine) == {"H0": A}


def test_retiring_without_a_taker_reports_the_gap(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        b = service.get_grid(s, B)
        edit = GridEdit(retire=[Retirement(B, b.version)])
        preview = save_edit(s, edit, actor=WHO, settings=SETTINGS, dry_run=True)
        gaps = [f for f in preview.plan.findings_after if f.rule == "gap"]
        assert len(gaps) == 1 and A in gaps[0].codes and gaps[0].area_m2 == pytest.approx(
            FRAME.to_m(b.geom).area, rel=1e-3)  # fmt: skip
        with pytest.raises(Conflict, match="空隙"):
            save_edit(s, edit, actor=WHO, settings=SETTINGS)


def test_new_grids_get_codes_and_keep_their_key(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        c = service.get_grid(s, C)
        half = X0 + D + D / 2
        edit = GridEdit(
            update=[GridUpdate(C, c.version, geometry=mapping(box(X0 + D, Y0, half, Y0 + D)))],
            create=[NewGrid("draft:7", "新建院落", "compound", "610103006002",
                            mapping(box(half, Y0, X0 + 2 * D, Y0 + D)))],
        )  # fmt: skip
        result = save_edit(s, edit, actor=WHO, settings=SETTINGS)
        created = [ch for ch in result.plan.changes if ch.action == "create"]
        assert [(ch.key, ch.code) for ch in created] == [("draft:7", "610103006002002")]
        assert result.versions == {C: 2, "610103006002002": 1}
        assert check_live(s, parent_code="610103006002") == []


def test_bad_requests_are_refused_in_chinese(clean_engine: Engine) -> None:
    with session_scope(clean_engine) as s:
        make_street(s)
        with pytest.raises(InvalidInput, match="出现多次"):
            save_edit(s, GridEdit(update=[GridUpdate(A, 1, name="x")], retire=[Retirement(A, 1)]), actor=WHO,
                      settings=SETTINGS)  # fmt: skip
        with pytest.raises(InvalidInput, match="同一上级"):
            save_edit(s, GridEdit(retire=[Retirement(B, 1, give_to=C)]), actor=WHO, settings=SETTINGS)
        with pytest.raises(InvalidInput, match="不相邻"):  # A shrunk away from B: B cannot go to it
            save_edit(s, GridEdit(retire=[Retirement(B, 1, give_to=A)], update=[
                GridUpdate(A, 1, geometry=mapping(box(X0, Y0, X0 + D / 4, Y0 + D)))]), actor=WHO, settings=SETTINGS)
        with pytest.raises(Conflict, match="下级网格"):
            save_edit(s, GridEdit(retire=[Retirement(COMMUNITY, 1)]), actor=WHO, settings=SETTINGS)
