"""Read a tabular or spatial file into canonical columns, keeping each row's number in the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely

from gridgov.errors import InvalidInput
from gridgov.files import detect_encoding
from gridgov.importing.columns import Column

TABULAR = (".csv", ".xlsx")
SPATIAL = (".geojson", ".json", ".gpkg")
WKT_ALIASES = ("wkt", "geometry", "geom", "几何")


@dataclass
class Table:
    """Rows as strings under canonical names; ``rows`` are file row numbers; ``geometry`` if the file had one."""

    frame: pd.DataFrame
    rows: list[int]
    geometry: list[Any] | None
    crs: Any
    row_word: str  # "行" for spreadsheets (header is row 1), "个要素" for GeoJSON/GeoPackage


def _canonical(columns: Sequence[str], spec: Sequence[Column], path: Path) -> dict[str, str]:
    """Source column → canonical name, by exact name or alias (case-insensitive)."""
    lookup: dict[str, str] = {}
    for col in spec:
        for alias in (col.name, *col.aliases):
            lookup.setdefault(alias.lower(), col.name)
    mapping: dict[str, str] = {}
    for c in columns:
        canon = lookup.get(str(c).strip().lstrip("\ufeff").lower())
        if canon and canon not in mapping.values():
            mapping[c] = canon
    missing = [col.name for col in spec if col.required and col.name not in mapping.values()]
    if missing:
        raise InvalidInput(f"{path.name} 缺少必需列：{', '.join(missing)}（现有列：{', '.join(map(str, columns))}）")
    return mapping


def read_table(path: Path, spec: Sequence[Column]) -> Table:
    """Read CSV (UTF-8/GBK), XLSX, GeoJSON or GeoPackage; unknown columns are ignored."""
    if not path.exists():
        raise InvalidInput(f"文件不存在：{path}")
    suffix = path.suffix.lower()
    geometry: list[Any] | None = None
    crs: Any = None
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=detect_encoding(path))
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        elif suffix in SPATIAL:
            gdf = pyogrio.read_dataframe(path)
            crs = gdf.crs
            geometry = list(gdf.geometry.values)
            frame = pd.DataFrame(gdf.drop(columns="geometry")).astype(object).where(gdf.notna(), "").astype(str)
        else:
            raise InvalidInput(f"不支持的文件格式：{path.name}（可用 CSV、XLSX、GeoJSON、GeoPackage）")
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/openpyxl/GDAL raise many types for unreadable files
        raise InvalidInput(f"无法读取文件 {path.name}：{exc}") from exc
    if geometry is None:
        wkt = next((c for c in frame.columns if str(c).strip().lower() in WKT_ALIASES), None)
        if wkt is not None:
            texts = frame.pop(wkt).tolist()
            geometry = [shapely.from_wkt(t, on_invalid="ignore") if t else None for t in texts]
    mapping = _canonical(list(frame.columns), spec, path)
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.apply(lambda s: s.astype(str).str.strip())
    spatial_file = suffix in SPATIAL
    rows = [i + (1 if spatial_file else 2) for i in range(len(frame))]
    return Table(frame.reset_index(drop=True), rows, geometry, crs, "个要素" if spatial_file else "行")
