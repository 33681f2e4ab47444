"""Read and write grid files (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV with WKT) with pyogrio.

Reading maps field names (canonical ``code``, ``name``, ``level``, ``parent_code`` or Chinese aliases
such as 编码/名称/层级/上级编码), converts coordinates to EPSG:4326 and reports every unusable
feature by its 1-based feature number. Writing produces the same canonical properties, so an
export can be imported again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon

from gridgov.errors import InvalidInput
from gridgov.files import detect_encoding
from gridgov.geo.checks import MAX_GRID_VERTICES, geometry_problem, repaired_polygon
from gridgov.geo.crs import GCJ02, parse_crs, to_wgs84
from gridgov.grids.findings import Finding, GridInput
from gridgov.vocab import GRID_LEVELS

CANONICAL = ("code", "name", "level", "parent_code")
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "网格编码", "代码", "网格代码", "grid_code"),
    "name": ("name", "名称", "网格名称", "名字"),
    "level": ("level", "层级", "级别", "网格层级", "类型"),
    "parent_code": ("parent_code", "parent_cod", "parent", "上级编码", "父级编码", "上级网格编码", "上级代码"),
}
LEVEL_VALUES = {**{t: t for t in GRID_LEVELS.terms}, **GRID_LEVELS.synonyms}  # a level as files write it
SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".zip": "ESRI Shapefile",
            ".shp": "ESRI Shapefile", ".kml": "KML", ".csv": "CSV"}  # fmt: skip
WRITE_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
FORMATS_ZH = "GeoJSON、GeoPackage、zip 压缩的 Shapefile、KML、含 WKT 的 CSV"
WKT_COLUMNS = ("wkt", "WKT", "geometry", "geom", "the_geom", "几何", "边界")


@dataclass
class GridFile:
    """What was read: grid inputs, the CRS used, and per-feature problems (all blocking)."""

    path: Path
    features: int
    crs: str
    inputs: list[GridInput] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _encoding(path: Path) -> str | None:
    """The text encoding of CSV files; None for binary formats."""
    if path.suffix.lower() != ".csv":
        return None
    enc = detect_encoding(path)
    return "utf-8" if enc == "utf-8-sig" else enc  # GDAL skips a BOM by itself


def _read_frame(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(f"不支持的文件格式：{path.name}（可用 {FORMATS_ZH}）")
    kwargs: dict[str, Any] = {}
    encoding = _encoding(path)
    if encoding:
        kwargs["encoding"] = encoding
    if suffix == ".csv":
        header = path.read_bytes().split(b"\n", 1)[0].decode(encoding or "utf-8").lstrip("\ufeff")
        names = [h.strip().strip('"') for h in header.split(",")]
        geom_col = next((c for c in WKT_COLUMNS if c in names), None)
        if geom_col is None:
            raise InvalidInput(f"{path.name}：CSV 缺少 WKT 几何列（列名可为 {', '.join(WKT_COLUMNS)}）")
        kwargs |= {"GEOM_POSSIBLE_NAMES": geom_col, "KEEP_GEOM_COLUMNS": "NO"}
    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
        if layer is None and len(layers) > 1:
            if suffix != ".kml":
                raise InvalidInput(f"{path.name} 含多个图层：{', '.join(layers)}，请用 --layer 指定")
            frames = [pyogrio.read_dataframe(path, layer=name, **kwargs) for name in layers]
            return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        return pyogrio.read_dataframe(path, layer=layer, **kwargs)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL raises many types for unreadable files
        raise InvalidInput(f"无法读取文件 {path.name}：{exc}") from exc


def _resolve_fields(columns: Sequence[str], field_map: Mapping[str, str] | None) -> dict[str, str | None]:
    """Canonical field → source column (explicit mapping first, then aliases, case-insensitive)."""
    lower = {c.lower(): c for c in columns}
    out: dict[str, str | None] = {}
    explicit = {v: k for k, v in (field_map or {}).items()}  # user gives 源列=规范名 as {source: canonical}
    for canon in CANONICAL:
        src = explicit.get(canon)
        if src is not None and src not in columns:
            raise InvalidInput(f"字段映射 {src}={canon}：文件中没有列 {src}（现有列：{', '.join(columns)}）")
        if src is None:
            src = next((lower[a.lower()] for a in FIELD_ALIASES[canon] if a.lower() in lower), None)
        out[canon] = src
    missing = [c for c in ("code", "level") if out[c] is None]
    if missing:
        raise InvalidInput(
            f"缺少必需字段：{', '.join(missing)}（现有列：{', '.join(columns)}；可用 --map 源列=code 等指定映射）"
        )
    return out


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip()
    return s or None


def _assume_crs(frame: gpd.GeoDataFrame, crs: Any, path: Path) -> CRS | str:
    if crs is not None:
        return parse_crs(crs)
    if frame.crs is not None:
        return parse_crs(frame.crs)
    # No CRS declared: take lon/lat when most features look like degrees (the odd swapped or broken
    # feature is then reported on its own); projected metres are never guessed.
    geoms = frame.geometry.values[~frame.geometry.isna().to_numpy()]
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geoms)
        degrees = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(bounds[:, [1, 3]]) <= 90).all(axis=1)
    if len(geoms) and degrees.mean() > 0.5:
        return parse_crs("EPSG:4326")
    raise InvalidInput(f"{path.name} 未声明坐标系且坐标不是经纬度，请用 --crs 指定（如 EPSG:4545 或 gcj02）")


def read_grid_file(
    path: Path,
    *,
    crs: Any = None,
    field_map: Mapping[str, str] | None = None,
    layer: str | None = None,
    max_vertices: int | None = MAX_GRID_VERTICES,
) -> GridFile:
    """Read a grid file into EPSG:4326 GridInputs; unusable features become ``invalid_geometry`` findings.

    A feature with more than ``max_vertices`` vertices is unusable. An unusable geometry that can be repaired
    (a bow-tie, swapped lon/lat) keeps its repaired shape on the input, so the gap check of its parent still
    runs (the file is refused all the same); the others become None.
    """
    if not path.exists():
        raise InvalidInput(f"文件不存在：{path}")
    frame = _read_frame(path, layer)
    fields = _resolve_fields([c for c in frame.columns if c != "geometry"], field_map)
    src_crs = _assume_crs(frame, crs, path)
    crs_label = GCJ02 if src_crs == GCJ02 else f"EPSG:{src_crs.to_epsg()}"  # type: ignore[union-attr]
    with np.errstate(all="ignore"):
        geoms = to_wgs84(frame.geometry.values, src_crs)
    result = GridFile(path=path, features=len(frame), crs=crs_label)
    for i, (rec, geom) in enumerate(zip(frame.to_dict("records"), geoms, strict=True), start=1):
        code = _text(rec.get(fields["code"] or ""))
        raw_level = _text(rec.get(fields["level"] or ""))
        level = LEVEL_VALUES.get((raw_level or "").lower(), LEVEL_VALUES.get(raw_level or ""))
        name = _text(rec.get(fields["name"] or "")) if fields["name"] else None
        parent = _text(rec.get(fields["parent_code"] or "")) if fields["parent_code"] else None
        label = code or f"第{i}个要素"
        if code is None:
            result.findings.append(Finding("invalid_geometry", [], f"第 {i} 个要素缺少编码", rows=[i]))
            continue
        if level is None:
            result.findings.append(
                Finding("level_mismatch", [code], f"第 {i} 个要素（{label}）层级无法识别：{raw_level}", rows=[i])
            )
            continue
        if isinstance(geom, Polygon):
            geom = MultiPolygon([geom])
        problem = geometry_problem(geom, max_vertices)
        if problem is None and not isinstance(geom, MultiPolygon):
            problem = f"几何类型应为面，实际为 {geom.geom_type}"
        if problem is not None:
            result.findings.append(Finding("invalid_geometry", [code], f"第 {i} 个要素（{code}）：{problem}", rows=[i]))
            fixed = repaired_polygon(geom, max_vertices) if isinstance(geom, MultiPolygon) else None
            geom = MultiPolygon([fixed]) if isinstance(fixed, Polygon) else fixed
        result.inputs.append(GridInput(code, name or code, level, parent, geom, row=i))
    return result


def write_grid_file(records: Sequence[Any], path: Path) -> Path:
    """Write grids (objects with code, name, level, parent_code, geom) with the canonical properties."""
    driver = WRITE_DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(f"导出格式应为 .geojson 或 .gpkg：{path.name}")
    frame = gpd.GeoDataFrame(
        {
            "code": [r.code for r in records],
            "name": [r.name for r in records],
            "level": [r.level for r in records],
            "parent_code": [r.parent_code for r in records],
        },
        geometry=[r.geom for r in records],
        crs="EPSG:4326",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(frame, path, driver=driver, layer="grids" if driver == "GPKG" else None)
    return path
