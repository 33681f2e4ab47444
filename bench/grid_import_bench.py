"""Benchmark the grid importer: a whole generated street (≈10^4 compounds) into a fresh database, then again.

Usage (from the repository root)::

    .venv/bin/gridgov sample generate --households 1000000 --compounds 10000 -o /tmp/street
    .venv/bin/python bench/grid_import_bench.py /tmp/street/grids.gpkg

Creates a throw-away migrated database on the embedded server and times ``import_grids``:

* create   the file into the empty database (every feature a new grid)
* update   the same file with every compound renamed (every compound a new version, history kept)
* same     the same file again (nothing to write)

Each step is one transaction, commit included; the statements it sends are counted. Then the user's path:
``gridgov grids import FILE`` as a subprocess into a second fresh database (create, then the renamed file:
update), wall time including Python start-up and the file read. The databases are dropped at the end.
Results are printed and written to bench/out/grid_import.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyogrio
from sqlalchemy import Engine, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assign_bench import bench_database, cli, database_url  # noqa: E402  (bench/ is on sys.path as a script)

from gridgov.auth.scope import Actor  # noqa: E402
from gridgov.db.engine import session_scope  # noqa: E402
from gridgov.grids.importer import import_grids  # noqa: E402

OUT = ROOT / "bench" / "out"


def timed_import(engine: Engine, path: Path) -> dict[str, Any]:
    """One import in its own transaction: seconds, statements sent and the report's sizes."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        t0 = time.perf_counter()
        with session_scope(engine, actor="bench") as s:
            report = import_grids(s, path, actor=Actor.system("bench"))
        seconds = time.perf_counter() - t0
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert report.written and not report.blocking, report.blocking[:3]
    return {"seconds": round(seconds, 2), "statements": sent[0], "created": len(report.created),
            "updated": len(report.updated), "unchanged": len(report.unchanged)}  # fmt: skip


def timed_cli(engine: Engine, path: Path) -> dict[str, Any]:
    """``gridgov grids import FILE --json`` as a subprocess against the bench database: wall seconds, sizes."""
    t0 = time.perf_counter()
    out = json.loads(cli(database_url(engine), "grids", "import", str(path), "--json"))
    seconds = time.perf_counter() - t0
    assert out["written"] and not out["refused"], out["findings"][:3]
    return {"seconds": round(seconds, 2), "created": len(out["created"]), "updated": len(out["updated"]),
            "unchanged": len(out["unchanged"])}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on one grid file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grids", type=Path, help="grid file (e.g. grids.gpkg of a generated street)")
    ap.add_argument("--label", default="", help="a name for this run in the output")
    args = ap.parse_args(argv)
    frame = pyogrio.read_dataframe(args.grids)
    renamed = Path(os.environ.get("TMPDIR", "/tmp")) / f"grid_import_bench_{os.getpid()}.gpkg"
    compound = frame.level == "compound"
    frame.loc[compound, "name"] = frame.loc[compound, "name"] + "（新）"
    pyogrio.write_dataframe(frame, renamed)
    results: dict[str, Any] = {"file": str(args.grids), "features": len(frame), "label": args.label,
                               "load_avg_start": round(os.getloadavg()[0], 2)}  # fmt: skip
    try:
        with bench_database() as engine:
            results["create"] = timed_import(engine, args.grids)
            results["update"] = timed_import(engine, renamed)
            results["same"] = timed_import(engine, renamed)
            with engine.connect() as conn:
                results["rows"] = conn.execute(text("SELECT count(*) FROM grid")).scalar_one()
        with bench_database() as engine:
            results["cli create"] = timed_cli(engine, args.grids)
            results["cli update"] = timed_cli(engine, renamed)
            with engine.connect() as conn:
                results["cli rows"] = conn.execute(text("SELECT count(*) FROM grid")).scalar_one()
    finally:
        renamed.unlink(missing_ok=True)
    results["load_avg_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"grid_import{('_' + args.label) if args.label else ''}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
