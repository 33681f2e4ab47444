"""Importing grid files into PostGIS: atomic refusal, dry runs, updates with history, stored findings."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon
from sqlalchemy import Engine, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.grids.importer import import_grids
from gridgov.grids.service import history

COMMUNITY = "610103006001"
COUNTED = ("grid", "grid_finding", "household", "audit_log")


@pytest.fixture(scope="module")
def subtree_file(sample_dir: Path) -> Path:
    """The whole sample street: 83 grids on a road network, topologically clean."""
    return sample_dir / "grids.gpkg"


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def test_import_creates_the_hierarchy(clean_engine: Engine, subtree_file: Path) -> None:
    with session_scope(clean_engine, actor="test") as s:
        report = import_grids(s, subtree_file, actor=Actor.system("王科长"))
    assert report.written and not report.blocking and report.findings == []
    n = len(pyogrio.read_dataframe(subtree_file))
    assert len(report.created) == n
    with clean_engine.connect() as conn:
        levels = dict(conn.execute(text("SELECT level, count(*) FROM grid GROUP BY level")).all())
        parents = conn.execute(
            text(
                "SELECT count(*) FROM grid c JOIN grid p ON p.id = c.parent_id WHERE c.level = 'compound' "
                "AND p.code = :c"
            ),
            {"c": COMMUNITY},
        ).scalar()
    assert levels == {"street": 1, "community": 10, "compound": n - 11}
    assert parents == (pyogrio.read_dataframe(subtree_file).parent_code == COMMUNITY).sum()


def test_a_bad_feature_refuses_the_whole_file(clean_engine: Engine, subtree_file: Path, tmp_path: Path) -> None:
    df = pyogrio.read_dataframe(subtree_file)
    bowtie = Polygon([(108.96, 34.24), (108.97, 34.25), (108.97, 34.24), (108.96, 34.25)])
    assert (df.level[20:40] == "compound").all()  # leaves: no cascades below the broken features
    df.loc[20, "geometry"] = bowtie
    df.loc[30, "parent_code"] = "610103006999"  # orphan
    df.loc[35, "code"] = df.loc[36, "code"]  # duplicate
    bad = tmp_path / "bad.gpkg"
    pyogrio.write_dataframe(df, bad)
    before = counts(clean_engine)
    with session_scope(clean_engine, actor="test") as s:
        report = import_grids(s, bad, actor=Actor.system("test"))
    assert not report.written and counts(clean_engine) == before
    assert sorted((f.rule, tuple(f.rows)) for f in report.blocking) == [
        ("duplicate_code", (36, 37)),
        ("invalid_geometry", (21,)),
        ("orphan", (31,)),
    ]
    dup = next(f for f in report.blocking if f.rule == "duplicate_code")
    assert dup.codes == [df.loc[36, "code"]]
    data = report.as_dict()
    assert data["refused"] is True and json.dumps(data, ensure_ascii=False)


def test_dry_run_writes_nothing(clean_engine: Engine, subtree_file: Path) -> None:
    before = counts(clean_engine)
    with session_scope(clean_engine, actor="test") as s:
        report = import_grids(s, subtree_file, actor=Actor.system("test"), dry_run=True)
    assert not report.written and len(report.created) == 83 and counts(clean_engine) == before


def test_reimport_updates_changed_grids_with_history_and_stores_findings(
    clean_engine: Engine, subtree_file: Path, tmp_path: Path
) -> None:
    with session_scope(clean_engine, actor="test") as s:
        import_grids(s, subtree_file, actor=Actor.system("test"))
    df = pyogrio.read_dataframe(subtree_file)
    i = int(df.index[df.level == "compound"][0])
    code = df.loc[i, "code"]
    df.loc[i, "name"] = "改名后的院"
    # push the compound 0.0005° (~46 m) east: it now overlaps its neighbour and leaves a gap
    df.loc[i, "geometry"] = shapely.affinity.translate(df.loc[i, "geometry"], xoff=0.0005)
    changed = tmp_path / "changed.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(df, crs=4326), changed)
    with session_scope(clean_engine, actor="test") as s:
        report = import_grids(s, changed, actor=Actor.system("李编辑"))
        versions = history(s, code)
    assert report.written and report.updated == [code] and len(report.unchanged) == len(df) - 1
    original = pyogrio.read_dataframe(subtree_file).loc[i, "name"]
    assert [(v.version, v.name, v.valid_to is None) for v in versions] == [
        (1, original, False),
        (2, "改名后的院", True),
    ]
    rules = {f.rule for f in report.findings}
    assert {"overlap", "outside_parent"} <= rules or {"overlap", "gap"} <= rules
    with clean_engine.connect() as conn:
        stored = conn.execute(text("SELECT rule, codes FROM grid_finding WHERE source = 'import'")).all()
    assert stored and all(code in codes or COMMUNITY in codes for _, codes in stored)


def test_codes_and_names_off_the_official_list_are_warned_not_refused(clean_engine: Engine, subtree_file: Path
                                                                     ) -> None:  # fmt: skip
    """After ``gridgov init`` the street's official communities are known: a community code the list lacks, or a
    name that differs from the official one, is a warning on the import (stored, shown), never a refusal."""
    names = dict(pyogrio.read_dataframe(subtree_file, columns=["code", "name"])[["code", "name"]].values)
    communities = sorted(c for c in names if len(c) == 12)
    with session_scope(clean_engine, actor="test") as s:
        s.execute(text("INSERT INTO division (code, name, level, parent_code) "
                       "VALUES ('610103006', :n, 'street', NULL)"), {"n": names["610103006"]})  # fmt: skip
        # the list lacks the last community and names the first one otherwise
        listed = communities[:-1]
        official = ["官方名称社区" if c == communities[0] else names[c] for c in listed]
        s.execute(text("INSERT INTO division (code, name, level, parent_code) SELECT code, name, 'community', "
                       "'610103006' FROM unnest(CAST(:c AS text[]), CAST(:n AS text[])) AS t(code, name)"),
                  {"c": listed, "n": official})  # fmt: skip
        report = import_grids(s, subtree_file, actor=Actor.system("王科长"))
    warned = {f.codes[0]: f.message for f in report.findings if f.rule == "unofficial_code"}
    assert report.written and not report.blocking and set(warned) == {communities[0], communities[-1]}
    assert f"的名称「{names[communities[0]]}」与官方名称「官方名称社区」不同" in warned[communities[0]]
    assert "不在本街道的官方区划代码中" in warned[communities[-1]]
    with clean_engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM grid_finding WHERE rule = 'unofficial_code'")).scalar_one()
    assert stored == 2
