"""The grid importer writes set-based: a fixed number of statements whatever the number of features."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from sqlalchemy import Engine, event, text

from gridgov.auth.scope import Actor
from gridgov.db.engine import session_scope
from gridgov.grids.importer import import_grids
from gridgov.grids.service import get_grid, history


def _import(engine: Engine, path: Path) -> tuple[int, object]:
    sent = [0]

    def count(*_: object) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine, actor="test") as s:
            report = import_grids(s, path, actor=Actor.system("test"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return sent[0], report


def test_new_parents_moves_and_renames_in_a_fixed_number_of_statements(
    clean_engine: Engine, sample_dir: Path, tmp_path: Path
) -> None:
    df = pyogrio.read_dataframe(sample_dir / "grids.gpkg")
    n, report = _import(clean_engine, sample_dir / "grids.gpkg")
    assert report.written and len(report.created) == len(df)  # type: ignore[attr-defined]
    assert n < 75, n  # a fixed number (a few per assigned table), whatever the rows
    communities = df.index[df.level == "community"]
    moved = int(df.index[(df.level == "compound") & (df.parent_code == df.loc[communities[0], "code"])][0])
    renamed = int(df.index[(df.level == "compound") & (df.parent_code == df.loc[communities[1], "code"])][0])
    # a new community (a copy of the first one's area) with a new compound, and a compound moved under it
    new_community = df.loc[[communities[0]]].assign(code="610103006901", name="新社区")
    new_compound = df.loc[[moved]].assign(code="610103006901001", name="新楼院", parent_code="610103006901")
    df.loc[moved, "parent_code"] = "610103006901"
    df.loc[renamed, "name"] = "改名的院"
    df.loc[renamed, "geometry"] = shapely.affinity.translate(df.loc[renamed, "geometry"], xoff=0.00001)
    changed = tmp_path / "changed.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(pd_concat(df, new_community, new_compound), crs=4326), changed)
    n2, report2 = _import(clean_engine, changed)
    assert report2.created == ["610103006901", "610103006901001"]  # type: ignore[attr-defined]
    assert sorted(report2.updated) == sorted([df.loc[moved, "code"], df.loc[renamed, "code"]])  # type: ignore[attr-defined]
    assert n2 < 75, n2
    with session_scope(clean_engine) as s:
        assert get_grid(s, df.loc[moved, "code"]).parent_code == "610103006901"
        assert get_grid(s, "610103006901001").parent_code == "610103006901"
        versions = history(s, df.loc[renamed, "code"])
        assert [(v.version, v.name) for v in versions][-1] == (2, "改名的院")
        assert versions[0].valid_to == versions[1].valid_from
        live = s.execute(text("SELECT count(*) FROM grid WHERE valid_to IS NULL")).scalar_one()
    assert live == len(df) + 2


def pd_concat(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
