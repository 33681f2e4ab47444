"""Grid files: every format, every accepted CRS (gcj02 included), field aliases, bad input, round trip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from gridgov.errors import InvalidInput
from gridgov.geo.crs import GCJ02, MetricFrame, from_wgs84, parse_crs
from gridgov.grids.io import read_grid_file, write_grid_file

SAMPLE = Path(__file__).resolve().parents[2] / "geodata" / "sample" / "grids.gpkg"
COMMUNITY = "610103006001"


@pytest.fixture(scope="module")
def subtree(sample_dir: Path) -> gpd.GeoDataFrame:
    """The sample street, one community and its compounds (real road-following boundaries)."""
    df = pyogrio.read_dataframe(sample_dir / "grids.gpkg")
    keep = (df.level == "street") | (df.code == COMMUNITY) | (df.parent_code == COMMUNITY)
    out = df[keep].reset_index(drop=True)
    out["parent_code"] = out["parent_code"].astype(object).where(out["parent_code"].notna(), None)
    return out


def write(df: gpd.GeoDataFrame, path: Path, crs: str = "EPSG:4326") -> Path:
    """Write ``df`` (EPSG:4326) in the format given by the suffix, in ``crs``."""
    out = df.copy()
    if crs == GCJ02:
        out = gpd.GeoDataFrame(out, geometry=list(from_wgs84(out.geometry.values, GCJ02)), crs="EPSG:4326")
    elif crs != "EPSG:4326":
        out = out.to_crs(crs)
    if path.suffix == ".zip":
        shp_dir = path.with_suffix("")
        shp_dir.mkdir()
        pyogrio.write_dataframe(out, shp_dir / "grids.shp")
        with zipfile.ZipFile(path, "w") as z:
            for f in shp_dir.iterdir():
                z.write(f, f.name)
    elif path.suffix == ".csv":
        table = out.drop(columns="geometry").assign(wkt=shapely.to_wkt(out.geometry.values, rounding_precision=9))
        table.to_csv(path, index=False)
    elif path.suffix == ".kml":
        pyogrio.write_dataframe(out.to_crs(4326), path, driver="KML")
    else:
        pyogrio.write_dataframe(out, path)
    return path


def max_offset_m(a: list[shapely.Geometry], b: list[shapely.Geometry]) -> float:
    """Largest Hausdorff distance in metres between paired geometries."""
    frame = MetricFrame(108.97)
    return max(shapely.hausdorff_distance(frame.to_m(x), frame.to_m(y)) for x, y in zip(a, b, strict=True))


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".kml", ".csv"])
def test_every_format_reads_the_same_grids(subtree: gpd.GeoDataFrame, tmp_path: Path, suffix: str) -> None:
    path = write(subtree, tmp_path / f"grids{suffix}")
    got = read_grid_file(path)
    assert got.findings == [] and got.crs == "EPSG:4326"
    assert [(g.code, g.name, g.level, g.parent_code) for g in got.inputs] == [
        (r.code, r.name, r.level, r.parent_code) for r in subtree.itertuples()
    ]
    assert max_offset_m([g.geometry for g in got.inputs], list(subtree.geometry)) < 0.01


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4545", "EPSG:4524", "EPSG:4509", GCJ02])
def test_every_crs_lands_within_1m(subtree: gpd.GeoDataFrame, tmp_path: Path, crs: str) -> None:
    path = write(subtree, tmp_path / "grids.gpkg", crs)
    got = read_grid_file(path, crs=GCJ02 if crs == GCJ02 else None)  # gcj02 files declare 4326: say so
    assert got.crs == crs and got.findings == []
    assert max_offset_m([g.geometry for g in got.inputs], list(subtree.geometry)) < 1.0


def test_gcj02_not_declared_is_off_by_hundreds_of_metres(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = write(subtree, tmp_path / "grids.geojson", GCJ02)
    got = read_grid_file(path)
    assert max_offset_m([g.geometry for g in got.inputs], list(subtree.geometry)) > 100


def test_chinese_field_names_and_levels(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    zh = subtree.rename(columns={"code": "编码", "name": "名称", "level": "层级", "parent_code": "上级编码"})
    zh["层级"] = zh["层级"].map({"street": "街道", "community": "社区", "compound": "楼院"})
    got = read_grid_file(write(zh, tmp_path / "zh.geojson"))
    assert [(g.code, g.level) for g in got.inputs] == list(zip(subtree.code, subtree.level, strict=True))


def test_explicit_field_map(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    odd = subtree.rename(columns={"code": "BH", "parent_code": "SJBH"})
    with pytest.raises(InvalidInput, match="缺少必需字段：code"):
        read_grid_file(write(odd, tmp_path / "odd.geojson"))
    got = read_grid_file(tmp_path / "odd.geojson", field_map={"BH": "code", "SJBH": "parent_code"})
    assert [g.parent_code for g in got.inputs] == list(subtree.parent_code)


def test_gbk_csv(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = write(subtree, tmp_path / "grids.csv")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    got = read_grid_file(gbk)
    assert [g.name for g in got.inputs] == list(subtree.name)


def test_bad_features_are_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,level,parent_code,wkt\n"
        '610103006,街道,street,,"POLYGON((108.96 34.24,108.97 34.24,108.97 34.25,108.96 34.24))"\n'
        "610103006001,蝴蝶,community,610103006,"
        '"POLYGON((108.96 34.24,108.97 34.25,108.97 34.24,108.96 34.25,108.96 34.24))"\n'
        '610103006002,颠倒,community,610103006,"POLYGON((34.24 108.96,34.24 108.97,34.25 108.97,34.24 108.96))"\n'
        "610103006003,空,community,610103006,\n"
        '610103006004,未知,district,610103006,"POLYGON((108.96 34.24,108.97 34.24,108.97 34.25,108.96 34.24))"\n',
        encoding="utf-8",
    )
    got = read_grid_file(path)
    by_row = {f.rows[0]: f for f in got.findings}
    assert sorted(by_row) == [2, 3, 4, 5]
    assert by_row[2].rule == "invalid_geometry" and "Self-intersection" in by_row[2].message
    assert "颠倒" in by_row[3].message
    assert by_row[4].rule == "invalid_geometry" and "为空" in by_row[4].message
    assert by_row[5].rule == "level_mismatch" and "district" in by_row[5].message


def test_nan_and_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "nan.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"code":"610103006","level":"street"},'
        '"geometry":{"type":"Polygon","coordinates":[[[108.96,34.24],[200.0,34.24],[108.97,34.25],[108.96,34.24]]]}}]}',
        encoding="utf-8",
    )
    got = read_grid_file(path)
    assert got.findings[0].rows == [1] and "超出范围" in got.findings[0].message


@pytest.mark.parametrize(
    ("crs", "message"),
    [("EPSG:3857", "不支持的坐标系"), ("EPSG:99999", "无法识别坐标系"), ("wgs99", "无法识别坐标系")],
)
def test_unknown_or_unsupported_crs(crs: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_crs(crs)


def test_projected_file_without_crs_asks_for_one(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    projected = subtree.to_crs("EPSG:4545")
    path = tmp_path / "nocrs.csv"
    projected.drop(columns="geometry").assign(wkt=shapely.to_wkt(projected.geometry.values)).to_csv(path, index=False)
    with pytest.raises(InvalidInput, match="--crs"):
        read_grid_file(path)
    assert read_grid_file(path, crs="EPSG:4545").findings == []


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match="无法读取文件"):
        read_grid_file(junk)
    dwg = tmp_path / "x.dwg"
    dwg.write_bytes(b"AC1027")
    with pytest.raises(InvalidInput, match="不支持的文件格式"):
        read_grid_file(dwg)
    with pytest.raises(InvalidInput, match="文件不存在"):
        read_grid_file(tmp_path / "missing.gpkg")


def test_export_round_trip(subtree: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grids = read_grid_file(write(subtree, tmp_path / "in.gpkg")).inputs

    class Rec:
        def __init__(self, g: object) -> None:
            self.code, self.name, self.level = g.code, g.name, g.level  # type: ignore[attr-defined]
            self.parent_code, self.geom = g.parent_code, g.geometry  # type: ignore[attr-defined]

    for suffix in (".geojson", ".gpkg"):
        out = write_grid_file([Rec(g) for g in grids], tmp_path / f"out{suffix}")
        back = read_grid_file(out).inputs
        assert [(b.code, b.parent_code) for b in back] == [(g.code, g.parent_code) for g in grids]
        assert np.allclose(
            [b.geometry.area for b in back],
            [g.geometry.area for g in grids],
            rtol=1e-9,  # type: ignore[union-attr]
        )
