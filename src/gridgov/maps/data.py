"""Data for maps: grids with their counts as a GeoDataFrame (EPSG:4326)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from gridgov.grids.service import list_grids
from gridgov.ledger.counts import COUNT_COLUMNS, grid_counts


def grid_frame(session: Session, *, parent_code: str | None = None, level: str | None = None) -> gpd.GeoDataFrame:
    """Live grids (all, or one parent's subtree down to ``level``) with their counts."""
    grids = list_grids(session, level=level)
    if parent_code:
        by_code = {g.code: g for g in grids}
        all_grids = {g.code: g for g in list_grids(session)} if level else by_code

        def under(code: str | None) -> bool:
            while code:
                if code == parent_code:
                    return True
                code = all_grids[code].parent_code if code in all_grids else None
            return False

        grids = [g for g in grids if under(g.code)]
    counts = grid_counts(session)
    rows = [
        {
            "code": g.code,
            "name": g.name,
            "level": g.level,
            "parent_code": g.parent_code,
            "version": g.version,
            **counts.get(g.id, dict.fromkeys(COUNT_COLUMNS, 0)),
            "geometry": g.geom,
        }
        for g in grids
    ]
    df = pd.DataFrame(rows, columns=["code", "name", "level", "parent_code", "version", *COUNT_COLUMNS, "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=4326)
