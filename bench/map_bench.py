"""Grid-map size and speed: gridgov's 网格图 against a naive ``folium.GeoJson(gdf)`` map, in the same run.

Data: the sample generator with 500 compound grids and 20,000 households (one street, 10 communities).
Both maps get the same grids (with their ledger numbers) and the same household points:

* naive   — ``folium.Map`` + ``folium.GeoJson(grids_gdf)`` + ``folium.GeoJson(households_gdf)`` (one marker per
            household, full-precision coordinates, every attribute in the properties, SVG renderer);
* gridgov — :func:`gridgov.maps.gridmap.grid_map`: coordinates rounded to 1e-6°, each level simplified as a
            coverage (``shapely.coverage_simplify``, 0.5 m: shared borders stay shared), the canvas renderer,
            households in ``FastMarkerCluster`` layers (compact arrays), popups pre-rendered.

Timed: building the folium map and rendering it to HTML (assets localised, as served), median of --repeat runs.
Printed: HTML sizes, times and the ratios naive ÷ gridgov. Results go to bench/out/map_bench.json.

    .venv/bin/python bench/map_bench.py [--households 20000] [--compounds 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.chdir(ROOT)  # node_modules/ is found from the project root

import folium  # noqa: E402
import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
import pyogrio  # noqa: E402

from gridgov.maps.assets import render_offline  # noqa: E402
from gridgov.maps.gridmap import grid_map  # noqa: E402

OUT = ROOT / "bench" / "out"


def sample(households: int, compounds: int) -> Path:
    """Generated data for this size (cached under bench/out, shared with assign_bench.py)."""
    from assign_bench import data_dir

    return data_dir(households, compounds, None)


def inputs(d: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Grids with ledger-like counts per compound (rolled up by code prefix) and household points."""
    grids = pyogrio.read_dataframe(d / "grids.gpkg", layer="grids")
    hh = pd.read_csv(d / "households.csv", usecols=["code", "kind", "lon", "lat"])
    hh["compound"] = hh["code"].str[:15]
    per = hh.groupby("compound").size()
    grids["households"] = [int(per[per.index.str.startswith(c)].sum()) for c in grids["code"]]
    grids["persons"] = (grids["households"] * 2.6).round().astype(int)
    grids["party_members"] = (grids["households"] * 0.15).round().astype(int)
    return grids, hh


def naive(grids: gpd.GeoDataFrame, hh: pd.DataFrame) -> str:
    """What one writes without care: GeoJson of the frames as they are."""
    minx, miny, maxx, maxy = grids.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=15, tiles=None)
    folium.GeoJson(grids, name="网格", popup=folium.GeoJsonPopup(fields=["name", "code", "households"])).add_to(m)
    points = gpd.GeoDataFrame(hh[["code", "kind"]], geometry=gpd.points_from_xy(hh["lon"], hh["lat"]), crs=4326)
    folium.GeoJson(points, name="住户").add_to(m)
    return render_offline(m, "http")


def ours(grids: gpd.GeoDataFrame, hh: pd.DataFrame) -> str:
    """gridgov's grid map with the household layer."""
    return render_offline(grid_map(grids, title="基准测试 网格图", households=hh[["lon", "lat", "kind"]]), "http")


def timed(fn: Any, *args: Any, repeat: int) -> tuple[float, str]:
    """Median wall time of ``repeat`` runs and the last output."""
    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def mvt(compounds: int, households: int) -> dict[str, Any]:
    """Large area: inline grid-map HTML size vs MVT tiles from PostGIS (ST_AsMVT) for every tile of the street."""
    import math

    from assign_bench import bench_database, load_grids
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from gridgov.maps.tiles import grid_tile

    d = sample(households, compounds)
    grids = pyogrio.read_dataframe(d / "grids.gpkg", layer="grids")
    t0 = time.perf_counter()
    inline = len(render_offline(grid_map(grids, title="大范围"), "http").encode())
    t_inline = time.perf_counter() - t0
    with bench_database() as engine:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
            load_grids(conn, d)
        minx, miny, maxx, maxy = grids.total_bounds
        out: dict[str, Any] = {"grids": len(grids), "inline_bytes": inline, "inline_seconds": t_inline}
        with Session(engine) as s:
            for z in (13, 15, 17):

                def tile(lon: float, lat: float, z: int = z) -> tuple[int, int]:
                    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z
                    return int((lon + 180) / 360 * 2**z), int(y)

                (x0, y0), (x1, y1) = tile(minx, maxy), tile(maxx, miny)
                tiles = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
                t0 = time.perf_counter()
                sizes = [len(grid_tile(s, z, x, y)) for x, y in tiles]
                dt_ = time.perf_counter() - t0
                out[f"z{z}"] = {"tiles": len(tiles), "bytes": sum(sizes), "max_tile_bytes": max(sizes),
                                "ms_per_tile": 1000 * dt_ / len(tiles)}  # fmt: skip
        return out


def main() -> int:
    """Run the comparison and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--compounds", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mvt", type=int, metavar="COMPOUNDS", help="also compare inline HTML with MVT tiles at this size")
    args = ap.parse_args()
    grids, hh = inputs(sample(args.households, args.compounds))
    n_compounds = int((grids["level"] == "compound").sum())
    print(f"{len(grids)} grids ({n_compounds} compounds), {len(hh)} households; load avg {os.getloadavg()[0]:.2f}")
    t_naive, h_naive = timed(naive, grids, hh, repeat=args.repeat)
    t_ours, h_ours = timed(ours, grids, hh, repeat=args.repeat)
    s_naive, s_ours = len(h_naive.encode()), len(h_ours.encode())
    result = {
        "grids": len(grids), "compounds": n_compounds, "households": len(hh), "repeat": args.repeat,
        "naive": {"seconds": t_naive, "bytes": s_naive}, "gridgov": {"seconds": t_ours, "bytes": s_ours},
        "ratio_size": s_naive / s_ours, "ratio_time": t_naive / t_ours, "load_avg": os.getloadavg()[0],
    }  # fmt: skip
    print(f"naive folium.GeoJson: {s_naive / 1e6:6.2f} MB  {t_naive:6.2f} s")
    print(f"gridgov grid_map:     {s_ours / 1e6:6.2f} MB  {t_ours:6.2f} s")
    print(f"ratios naive ÷ gridgov: size {result['ratio_size']:.2f}×, time {result['ratio_time']:.2f}×")
    print(f"targets: ≤ 3 MB → {'met' if s_ours <= 3e6 else 'MISSED'}; ≤ 3 s → {'met' if t_ours <= 3 else 'MISSED'}")
    if args.mvt:
        result["mvt"] = big = mvt(args.mvt, args.mvt * 40)
        print(f"{big['grids']} grids inline: {big['inline_bytes'] / 1e6:.1f} MB in {big['inline_seconds']:.1f} s")
        for z in (13, 15, 17):
            t = big[f"z{z}"]
            print(f"  MVT z{z}: {t['tiles']} tiles, {t['bytes'] / 1e6:.2f} MB in all, "
                  f"largest {t['max_tile_bytes'] / 1e3:.0f} kB, {t['ms_per_tile']:.1f} ms/tile")  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "map_bench.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
