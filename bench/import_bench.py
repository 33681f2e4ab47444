"""Benchmark ``gridgov import households`` (and ``buildings``) at city scale against a GIS engineer's manual path.

Usage (from the repository root; ``GRIDGOV_BENCH=1 ./scripts/bootstrap.sh`` installs ogr2ogr and py-spy)::

    .venv/bin/python bench/import_bench.py                                        # 10^6 households, 10^4 compounds
    .venv/bin/python bench/import_bench.py --households 100000 --compounds 1000   # quick run

The generated street (``assign_bench.data_dir``: grids.gpkg, buildings.gpkg, households.csv) goes into a fresh
migrated database (``assign_bench.bench_database``); the grids are loaded once with ``copy_grids``. Each repeat
then times, on the same files:

* user path   ``import_entities`` exactly as ``gridgov import`` calls it (actor ``Actor.system("cli")``, every
              check, commit included): buildings.gpkg, then households.csv (households name their buildings)
* CLI         the same two commands as a user runs them: ``gridgov import buildings|households FILE`` in a
              subprocess with GRIDGOV_DATABASE_URL set to the bench database (interpreter start-up included)
* baseline    ``ogr2ogr -f PostgreSQL`` of households.csv into table hh_manual (COPY, spatial index, one
              transaction), then one ``UPDATE … FROM grid … ST_Covers`` with the tie rule (smallest code among
              the covering live leaves), right after the load (no statistics yet) and, as a second baseline,
              after ``ANALYZE`` (what autovacuum soon does): the two get different plans (see ``baseline``)

The tables are emptied between runs; medians are kept. Both paths must assign every household to the same grid
(compared by household code → grid code). ``--profile`` also samples one more households import_entities with
py-spy, waits for PostgreSQL included (collapsed stacks in bench/out/import_profile_*.txt; the functions with the
most samples are printed).
Results: bench/out/import_h<N>_c<M>[_label].json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assign_bench import (  # noqa: E402  (bench/ is on sys.path when run as a script)
    StatementTimes,
    bench_database,
    cli,
    copy_frame,
    data_dir,
    database_url,
    machine,
    maintenance,
)

from gridgov.auth.scope import Actor  # noqa: E402
from gridgov.config import get_settings  # noqa: E402
from gridgov.db.engine import session_scope  # noqa: E402
from gridgov.importing.entities import import_entities  # noqa: E402
from gridgov.sample.load import copy_grids  # noqa: E402

OUT = ROOT / "bench" / "out"
PY_SPY = Path(sys.executable).with_name("py-spy")  # the bench extra's
MANUAL = "hh_manual"

# A live leaf: a live grid without live children (the rule of gridgov.assign.points).
LEAF = """g.valid_to IS NULL AND g.lineage_id IS NULL AND NOT EXISTS (
             SELECT 1 FROM grid c WHERE c.parent_id = g.id AND c.valid_to IS NULL AND c.lineage_id IS NULL)"""
MANUAL_UPDATE = f"""UPDATE {MANUAL} h SET grid_id = w.gid
  FROM (SELECT DISTINCT ON (x.id) x.id, g.id AS gid
          FROM {MANUAL} x JOIN grid g ON ST_Covers(g.geom, x.geom)
         WHERE {LEAF}
         ORDER BY x.id, g.code) w
 WHERE h.id = w.id"""
ASSIGNED = "SELECT h.code, g.code FROM {table} h LEFT JOIN grid g ON g.id = h.grid_id"


def ogr2ogr_command(url: str, path: Path) -> list[str]:
    """ogr2ogr of a households CSV (lon/lat columns, EPSG:4326) into a new PostGIS table: COPY, spatial index, one
    transaction (so the table has no statistics before the load commits)."""
    u = make_url(url)
    pg = f"PG:dbname={u.database} host={u.host} port={u.port} user={u.username} password={u.password}"
    return ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", MANUAL, "-lco", "GEOMETRY_NAME=geom",
            "-lco", "FID=id", "-nlt", "POINT", "-a_srs", "EPSG:4326", "-oo", "X_POSSIBLE_NAMES=lon",
            "-oo", "Y_POSSIBLE_NAMES=lat", "-oo", "KEEP_GEOM_COLUMNS=NO", "--config", "PG_USE_COPY", "YES",
            "-gt", "unlimited"]  # fmt: skip


class Runs:
    """Seconds and the 1-minute load average before each run of each step."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}
        self.load_avg: dict[str, list[float]] = {}

    def time(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` and record its wall time under ``name``."""
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        value = fn()
        dt = time.perf_counter() - t0
        self.seconds.setdefault(name, []).append(dt)
        self.load_avg.setdefault(name, []).append(load)
        print(f"  {name:<34} {dt:9.2f} s   (load avg {load:.2f})", flush=True)
        return value

    def median(self, name: str) -> float:
        """Median seconds of a step."""
        return statistics.median(self.seconds[name])


def empty(engine: Engine) -> None:
    """No households, buildings or manual table: the state each timed run starts from."""
    maintenance(engine, f"DROP TABLE IF EXISTS {MANUAL}")
    maintenance(engine, "TRUNCATE household, building RESTART IDENTITY CASCADE")
    maintenance(engine, "CHECKPOINT")


def user_path(engine: Engine, entity: str, path: Path) -> dict[str, Any]:
    """``import_entities`` as ``gridgov import`` calls it, in its own transaction; the report's counts."""
    with session_scope(engine, actor="cli") as s:
        report = import_entities(s, entity, path, actor=Actor.system("cli"), timezone=get_settings().timezone)
    if not report.written:
        raise SystemExit(f"{path.name} refused: {report.errors[:5]}")
    return {"imported": report.imported, "assigned": report.assigned, "unassigned": report.unassigned}


class ImportStatements(StatementTimes):
    """Seconds per kind of SQL statement an import sends (COPY goes round SQLAlchemy: it is in the rest)."""

    MARKERS = (  # type: ignore[assignment]
        *StatementTimes.MARKERS,
        ("INSERT INTO household", "INSERT into household"),
        ("INSERT INTO building", "INSERT into building"),
        ("gridgov_leaf_for_building", "assign buildings (row by row)"),
        ("stage_geom_gist", "staging GiST index"),
        ("ANALYZE stage", "ANALYZE staging"),
        ("UPDATE stage SET id", "staging ids (UPDATE)"),
        ("ALTER TABLE stage", "staging geometry (ALTER)"),
        ("FROM stage s WHERE s.", "reference checks"),
        ("WHERE code = ANY", "reference checks"),
        ("FROM stage s LEFT JOIN", "summary"),
        ("FROM stage s JOIN", "summary"),
    )


def profiled(path: Path, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` while py-spy samples this process (waits for PostgreSQL included); collapsed stacks to ``path``."""
    spy = subprocess.Popen([str(PY_SPY), "record", "--pid", str(os.getpid()), "--idle", "--format", "raw", "--rate",
                            "50", "-o", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(2)  # attached
    try:
        return fn()
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes the profile when interrupted
        spy.wait(120)


def baseline(engine: Engine, url: str, path: Path, runs: Runs, *, analyzed: bool) -> bool:
    """The manual path: ogr2ogr into a new table, then one UPDATE with the tie rule, timed together too.

    The UPDATE's plan depends on the new table's statistics. Right after the load it has none: PostgreSQL takes
    the leaves as the outer loop (each polygon prepared once, points from the table's GiST index). Once it is
    analyzed (``analyzed``: ANALYZE is run and timed, as autovacuum does within a minute), it takes the points
    as the outer loop and tests each against the unprepared street, community and compound polygons that
    cover it. Returns whether the table had statistics when the UPDATE ran."""
    name = "baseline, analyzed" if analyzed else "baseline"
    t0 = time.perf_counter()
    runs.time(f"  {name}: ogr2ogr", lambda: subprocess.run(ogr2ogr_command(url, path), check=True,
                                                              capture_output=True))  # fmt: skip
    if analyzed:
        runs.time(f"  {name}: ANALYZE", lambda: maintenance(engine, f"ANALYZE {MANUAL}"))

    def update() -> bool:
        with engine.begin() as conn:
            stats = bool(conn.execute(text(f"SELECT count(*) FROM pg_stats WHERE tablename = '{MANUAL}'")).scalar())
            conn.execute(text(f"ALTER TABLE {MANUAL} ADD COLUMN grid_id bigint"))
            conn.execute(text(MANUAL_UPDATE))
        return stats

    stats = bool(runs.time(f"  {name}: UPDATE … ST_Covers + tie rule", update))
    runs.seconds.setdefault(f"{name}: ogr2ogr + UPDATE", []).append(time.perf_counter() - t0)
    runs.load_avg.setdefault(f"{name}: ogr2ogr + UPDATE", []).append(runs.load_avg[f"  {name}: ogr2ogr"][-1])
    return stats


def differences(engine: Engine) -> dict[str, int]:
    """Households the two paths assign differently (by household code → grid code)."""
    ours = copy_frame(engine, ASSIGNED.format(table="household"), ["code", "grid"]).set_index("code")["grid"]
    theirs = copy_frame(engine, ASSIGNED.format(table=MANUAL), ["code", "grid"]).set_index("code")["grid"]
    both = ours.to_frame("ours").join(theirs.rename("theirs"), how="outer")
    differ = ~((both["ours"] == both["theirs"]) | (both["ours"].isna() & both["theirs"].isna()))
    return {"households": len(ours), "manual rows": len(theirs), "assigned differently": int(differ.sum()),
            "unassigned": int(both["ours"].isna().sum())}  # fmt: skip


def top_functions(profile: Path, n: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Shares of the import's samples in a py-spy raw (collapsed) profile: inclusive for gridgov's own functions
    (where the import spends its time, waiting for PostgreSQL included), and self for every function."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in profile.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if "import_entities (" not in stack:  # the import only: not py-spy's start and stop, not idle threads
            continue
        total += int(count)
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0] for f in stack.split(";")]
        for frame in {f for f, raw in zip(frames, stack.split(";"), strict=True) if "gridgov/" in raw}:
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    if not total:
        return {}
    return {"inclusive (gridgov)": [(f, round(c / total, 3)) for f, c in inclusive.most_common(n)],
            "self": [(f, round(c / total, 3)) for f, c in own.most_common(n)]}  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every timed step for one size; returns what goes into the JSON."""
    directory = data_dir(args.households, args.compounds, args.data_dir)
    households, buildings = directory / "households.csv", directory / "buildings.gpkg"
    runs = Runs()
    out: dict[str, Any] = {"households": args.households, "compounds": args.compounds, "label": args.label,
                           "files": {p.name: p.stat().st_size for p in (households, buildings)}}  # fmt: skip
    with bench_database() as engine:
        url = database_url(engine)
        stmts = ImportStatements(engine)
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
            runs.time("grids (copy_grids, once)", lambda: copy_grids(conn, directory / "grids.gpkg"))
        maintenance(engine, "VACUUM ANALYZE grid")
        for i in range(args.repeat):
            print(f"-- run {i + 1}/{args.repeat}", flush=True)
            empty(engine)
            for entity, path in (("buildings", buildings), ("households", households)):
                with stmts.collect() as times:
                    out[f"{entity} report"] = runs.time(f"{entity}: import_entities",
                                                        partial(user_path, engine, entity, path))  # fmt: skip
                out.setdefault(f"{entity}: SQL seconds by statement", []).append(
                    {k: round(v, 2) for k, v in sorted(times.items(), key=lambda kv: -kv[1])}
                )
            if not args.skip_baseline:
                for analyzed in (False, True):
                    stats = baseline(engine, url, households, runs, analyzed=analyzed)
                    out.setdefault(f"manual table had statistics (analyzed={analyzed})", []).append(stats)
                    out[f"check (analyzed={analyzed})"] = differences(engine)
                    print(f"  check: {out[f'check (analyzed={analyzed})']}", flush=True)
                    maintenance(engine, f"DROP TABLE {MANUAL}")
            if not args.skip_cli:
                empty(engine)
                for entity, path in (("buildings", buildings), ("households", households)):
                    out[f"{entity} CLI output"] = runs.time(f"{entity}: CLI",
                                                            partial(cli, url, "import", entity, str(path)))  # fmt: skip
        if args.profile:
            empty(engine)
            user_path(engine, "buildings", buildings)
            profile = OUT / f"import_profile_h{args.households}{('_' + args.label) if args.label else ''}.txt"
            profiled(profile, lambda: user_path(engine, "households", households))
            out["profile"] = {"file": str(profile.relative_to(ROOT)), **top_functions(profile)}
    out["seconds (median)"] = {k: round(runs.median(k), 2) for k in runs.seconds}
    out["runs"] = {k: [round(v, 2) for v in vs] for k, vs in runs.seconds.items()}
    out["load avg before"] = {k: [round(v, 2) for v in vs] for k, vs in runs.load_avg.items()}
    return out


def table(out: dict[str, Any]) -> str:
    """The printed summary: medians, load averages and the ratios baseline ÷ gridgov."""
    med, load = out["seconds (median)"], out["load avg before"]
    n = len(out["runs"]["households: import_entities"])
    lines = [f"{out['households']:,} households / {out['compounds']:,} compounds (median of {n})",
             f"{'step':<36}{'seconds':>10}   load avg before"]  # fmt: skip
    lines += [f"{k:<36}{v:>10.2f}   {', '.join(f'{x:.2f}' for x in load[k])}" for k, v in med.items()]
    for base in ("baseline: ogr2ogr + UPDATE", "baseline, analyzed: ogr2ogr + UPDATE", "  baseline: ogr2ogr"):
        for ours in ("households: import_entities", "households: CLI"):
            if base in med and ours in med:
                lines.append(f"{base.strip()} ÷ {ours}: {med[base] / med[ours]:.2f}×")
    lines += [f"{k}: {v}" for k, v in out.items() if k.startswith(("check", "manual table"))]
    for kind, top in out.get("profile", {}).items():
        if kind != "file":
            lines.append(f"profile, {kind} share of samples (--idle: waiting for PostgreSQL counts):")
            lines += [f"  {share:6.1%}  {name}" for name, share in top]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run and report."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--compounds", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of every step (median kept)")
    ap.add_argument("--data-dir", type=Path, default=None, help="where generated data is cached (default bench/out)")
    ap.add_argument("--label", default="", help="a name for this run in the output file (e.g. before)")
    ap.add_argument("--skip-cli", action="store_true", help="skip the CLI subprocess runs")
    ap.add_argument("--skip-baseline", action="store_true", help="skip ogr2ogr + UPDATE")
    ap.add_argument("--profile", action="store_true", help="also sample a households import with py-spy")
    args = ap.parse_args(argv)
    os.chdir(ROOT)  # the embedded server of the repository (GRIDGOV_HOME is relative), wherever this is run from
    if not args.skip_baseline and shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr not found: run GRIDGOV_BENCH=1 ./scripts/bootstrap.sh (installs gdal-bin)")
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    out = {"machine": info, **run(args)}
    print("\n" + table(out), flush=True)
    path = OUT / f"import_h{args.households}_c{args.compounds}{('_' + args.label) if args.label else ''}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"  -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
