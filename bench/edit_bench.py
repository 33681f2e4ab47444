"""The grid editor's round trips on the sample street: what each edit costs while a user draws.

One change, as the editor sends it: a vertex two neighbouring compounds share moved 40 m (both grids change).
Timed in the same process on the same freshly loaded database:

* validate (baseline) — ``POST /api/grids/validate`` with the two changed grids as drafts: the check the editor
  ran after every edit before batch saves existed (findings only);
* preview             — ``POST /api/grids/batch`` with ``dry_run``: the findings *and* the households and
  residents that change grid (the save written in a savepoint and rolled back);
* save + revert       — the real batch save, then a second batch putting the grids back (so each run starts from
  the same state): what clicking 保存 costs.

Printed: the median of --repeat runs of each and the ratios against the baseline.

    .venv/bin/python bench/edit_bench.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def median_of(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def shared_vertex(engine: Any) -> tuple[str, str, Any, Any, Any, Any]:
    """Two sibling compounds with a common interior vertex, their shapes, and the shapes with it moved 40 m."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon
    from sqlalchemy.orm import Session

    from gridgov.geo.crs import MetricFrame
    from gridgov.grids import service

    with Session(engine) as s:
        grids = [g for g in service.list_grids(s, level="compound")]
    for a in grids:
        for b in grids:
            if a.code >= b.code or a.parent_code != b.parent_code:
                continue
            common = set(map(tuple, shapely.get_coordinates(a.geom))) & set(map(tuple, shapely.get_coordinates(b.geom)))
            inner = [v for v in common if shapely.Point(v).buffer(1e-4).within(shapely.union(a.geom, b.geom))]
            if inner:
                v = inner[0]
                frame = MetricFrame.for_geoms([a.geom])
                x, y = shapely.get_coordinates(frame.to_m(shapely.Point(v)))[0]
                moved = tuple(shapely.get_coordinates(frame.to_ll(shapely.Point(x + 40, y)))[0])

                def move(g: Any, v: tuple[float, float] = v, to: tuple[float, float] = moved) -> Any:
                    return MultiPolygon([Polygon([to if tuple(c) == v else tuple(c) for c in p.exterior.coords])
                                         for p in g.geoms])  # fmt: skip

                return a.code, b.code, a.geom, b.geom, move(a.geom), move(b.geom)
    raise SystemExit("no pair of compounds with a shared interior vertex")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    from assign_bench import bench_database
    from fastapi.testclient import TestClient
    from shapely.geometry import mapping
    from sqlalchemy import text
    from street_bench import load_sample

    from gridgov.api.factory import create_app
    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token
    from gridgov.config import Settings
    from gridgov.db.engine import session_scope

    with bench_database() as engine:
        url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
        load_sample(url)
        with session_scope(engine) as s:
            token = create_token(s, Actor.system("bench"), "bench", "admin")[0]
        a, b, old_a, old_b, new_a, new_b = shared_vertex(engine)
        with engine.connect() as conn:
            moving = conn.execute(text("SELECT count(*) FROM household h JOIN grid g ON g.id = h.grid_id "
                                       "WHERE h.valid_to IS NULL AND g.code IN (:a, :b)"),
                                  {"a": a, "b": b}).scalar()  # fmt: skip
        print(f"  compounds {a} and {b} ({moving} households between them): shared vertex moved 40 m", flush=True)
        headers = {"Authorization": f"Bearer {token}"}
        versions = {a: 0, b: 0}
        with TestClient(create_app(Settings(database_url=url), engine)) as client:
            def current() -> None:
                for code in (a, b):
                    versions[code] = client.get(f"/api/grids/{code}", headers=headers).json()["version"]

            def batch(ga: Any, gb: Any, **extra: Any) -> dict[str, Any]:
                current()
                body = {"update": [{"code": a, "version": versions[a], "geometry": mapping(ga)},
                                   {"code": b, "version": versions[b], "geometry": mapping(gb)}], **extra}  # fmt: skip
                r = client.post("/api/grids/batch", json=body, headers=headers)
                assert r.status_code == 200, r.text
                return r.json()

            parent = client.get(f"/api/grids/{a}", headers=headers).json()["parent_code"]
            drafts = {"parent": parent, "grids": [
                {"code": a, "name": "a", "level": "compound", "parent_code": parent, "geometry": mapping(new_a)},
                {"code": b, "name": "b", "level": "compound", "parent_code": parent, "geometry": mapping(new_b)}]}

            def validate() -> None:
                assert client.post("/api/grids/validate", json=drafts, headers=headers).status_code == 200

            preview = batch(new_a, new_b, dry_run=True)
            print(f"  preview: {preview['moves']['households']} households, {preview['moves']['persons']} residents "
                  f"change grid; {len(preview['findings'])} findings", flush=True)  # fmt: skip
            base = median_of(validate, args.repeat)
            dry = median_of(lambda: batch(new_a, new_b, dry_run=True), args.repeat)

            def save_and_revert() -> None:
                batch(new_a, new_b, accept_findings=True)
                batch(old_a, old_b, accept_findings=True)

            save = median_of(save_and_revert, args.repeat) / 2
    print("| step | median s | ÷ validate |")
    print("|---|---:|---:|")
    for name, t in (("validate (baseline)", base), ("preview (dry run)", dry), ("save (one batch)", save)):
        print(f"| {name} | {t:.3f} | {t / base:.1f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
