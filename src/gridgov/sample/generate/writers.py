"""File output: the fast CSV writer and the GeoPackage layers (grids, buildings)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio

from gridgov.sample.generate.arrays import STR_DTYPE, StrArr, as_str, concat
from gridgov.sample.generate.buildings import Buildings
from gridgov.sample.generate.constants import DISTRICT_NAME, OUTPUT_CRS, STREET_CODE, STREET_NAME
from gridgov.sample.generate.geometry import as_multi
from gridgov.sample.generate.grids import Grids

_CSV_SLICE = 250_000  # rows joined per numpy pass
_GPKG_DATE = "2026-11-21T00:00:00Z"  # fixed OGR_CURRENT_DATE: GeoPackages stay byte-identical


class CsvWriter:
    """Minimal fast CSV writer for StringDType columns (UTF-8, LF, no quoting needed)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = list(header)
        self.rows = 0
        self._fh = path.open("w", encoding="utf-8", newline="\n")
        self._fh.write(",".join(self.header) + "\n")

    def write(self, cols: Sequence[StrArr], check: bool = True) -> None:
        """Append rows given column-wise (``check=False`` when the sources were validated already)."""
        if len(cols) != len(self.header):
            raise ValueError("column count mismatch")
        n = len(cols[0])
        for name, col in zip(self.header, cols, strict=True):
            if len(col) != n:
                raise ValueError(f"column {name} has wrong length")
        for start in range(0, n, _CSV_SLICE):
            part = [c[start : start + _CSV_SLICE] for c in cols]
            line: Any = part[0]
            for c in part[1:]:
                line = np.strings.add(np.strings.add(line, ","), c)
            # fields are never quoted: refuse commas or quotes inside fields
            if check and (
                bool((np.strings.count(line, ",") != len(cols) - 1).any())
                or bool((np.strings.find(line, '"') >= 0).any())
            ):
                bad = [h for h, c in zip(self.header, part, strict=True) if (np.strings.find(c, ",") >= 0).any()]
                raise ValueError(f"CSV fields must not contain commas or quotes (columns {bad})")
            self.write_lines(np.asarray(line, dtype=STR_DTYPE))

    def write_lines(self, lines: StrArr) -> None:
        """Append pre-joined rows (the caller guarantees field safety)."""
        if len(lines) == 0:
            return
        self._fh.write("\n".join(lines.tolist()))
        self._fh.write("\n")
        self.rows += len(lines)

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def write_gpkg(
    path: Path,
    layer: str,
    columns: dict[str, list[Any]],
    geoms: Sequence[Any],
    geometry_type: str,
    append: bool = False,
) -> None:
    """Write one GeoPackage layer with pyogrio (fixed GPKG timestamp for reproducibility)."""
    if not append and path.exists():
        path.unlink()
    gdf = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(list(geoms), crs=OUTPUT_CRS))
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type=geometry_type, append=append)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def write_grids(out: Path, grids: Grids) -> int:
    """grids.gpkg: street, communities, compounds."""
    codes = [STREET_CODE, *grids.comm_codes, *grids.comp_codes]
    names = [STREET_NAME, *grids.comm_names, *grids.comp_names]
    levels = ["street"] + ["community"] * len(grids.comm_codes) + ["compound"] * len(grids.comp_codes)
    parents: list[str | None] = [None] + [STREET_CODE] * len(grids.comm_codes)
    parents += [grids.comm_codes[c] for c in grids.comp_comm.tolist()]
    geoms = as_multi(np.asarray([grids.street_ll, *grids.comm_ll, *grids.comp_ll], dtype=object))
    write_gpkg(
        out / "grids.gpkg",
        "grids",
        {"code": codes, "name": names, "level": levels, "parent_code": parents},
        list(geoms),
        "MultiPolygon",
    )
    return len(codes)


def write_buildings(out: Path, grids: Grids, bld: Buildings) -> None:
    """buildings.gpkg: footprints (Polygon) or points, with code, name, address, floors, grid_code."""
    comp_codes = np.asarray(grids.comp_codes, dtype=STR_DTYPE)
    comp_addr = np.asarray(grids.comp_addr, dtype=STR_DTYPE)
    names = concat(as_str(bld.serial), "号楼")
    addr = concat(DISTRICT_NAME, comp_addr[bld.comp], names)
    write_gpkg(
        out / "buildings.gpkg",
        "buildings",
        {
            "code": bld.codes.tolist(),
            "name": names.tolist(),
            "address": addr.tolist(),
            "floors": bld.floors.tolist(),
            "grid_code": comp_codes[bld.comp].tolist(),
        },
        list(bld.geom_ll),
        "Unknown",
    )
