"""Benchmark gridgov's point assignment against geopandas.sjoin and a naive PostGIS UPDATE.

Usage (from the repository root)::

    .venv/bin/python bench/assign_bench.py --households 100000 --compounds 1000
    .venv/bin/python bench/assign_bench.py --all          # 10^5/10^3, 10^6/10^4, 10^7/10^5

Each size: generate the sample street (cached under bench/out/data_h<N>_c<M>, or --data-dir), create a
throw-away database on the embedded server, migrate it, and time on the same data:

* load        grids + households with COPY and one INSERT (bulk mode: triggers skipped, grid_id NULL)
* naive       ``UPDATE household h SET grid_id = g.id FROM grid g WHERE ST_Contains(g.geom, h.geom)`` (leaf
              level only), from the loaded state, rolled back afterwards
* cold        ``assign_table(session, "household")`` from the loaded state: assigns and writes every row
* steady      ``assign_table`` again: the whole rule over every row, nothing left to write
* staged      a second load that assigns the staging table first (``assign_staged``) and inserts the rows
              already assigned (one write per row)
* roll-up     ``grid_counts`` (the ledger's pass) and a households-only roll-up through the hierarchy
* sjoin       ``geopandas.sjoin(predicate="within")`` on the same points and leaf polygons (read from the
              database; only the join is timed), and ``covered_by`` + the smallest-code tie rule
* duckdb      the same points and leaves in an in-memory DuckDB (``spatial`` extension, ``threads`` = 2); only
              the join is timed: ``LEFT JOIN … ON ST_Covers(leaf, point)`` + ``arg_min(grid_id, code)`` per
              household (DuckDB plans it as its SPATIAL_JOIN operator, checked with EXPLAIN)
* CLI         the whole user command ``gridgov assign`` as a subprocess against the bench database
              (steady, wall time including Python start-up)
* repeats     steady, the joins and the CLI are run --repeat times alternately and the median is kept (the
              machine may be shared)
* ledger      ``build_ledger`` for the whole city and for the community with the most households (median
              of --repeat), its households checked against the households assigned inside the community
* incremental one household inserted / moved per transaction with the trigger (median of 50), and
              ``reassign_area`` over one leaf (median of 10)

Results are compared per household (gridgov vs each other method) and written to bench/out/*.json.
The database is dropped at the end; generated data is kept unless --drop-data.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridgov.assign.points import assign_staged, assign_table, reassign_area  # noqa: E402
from gridgov.config import get_settings  # noqa: E402
from gridgov.db.engine import libpq_url, make_engine  # noqa: E402
from gridgov.db.migrate import upgrade  # noqa: E402
from gridgov.ledger.counts import grid_counts  # noqa: E402
from gridgov.ledger.report import build_ledger  # noqa: E402
from gridgov.sample.generate import generate  # noqa: E402
from gridgov.sample.load import copy_grids  # noqa: E402

OUT = ROOT / "bench" / "out"
DUCK = "duckdb ST_Covers join + tie rule"
CLI = "gridgov assign (CLI subprocess)"
COMMUNITY = "ledger, one community"
GRIDGOV = Path(sys.executable).with_name("gridgov")  # the venv's console script
DUCKDB_THREADS = 2  # the machine's cores, as many as PostgreSQL's parallel workers per gather
PRESETS = ((100_000, 1_000), (1_000_000, 10_000), (10_000_000, 100_000))

STAGE_HH = """CREATE TEMP TABLE s_hh (
    id bigint DEFAULT nextval(pg_get_serial_sequence('household', 'id')),
    code text, address text, building_code text, kind text, lon float8, lat float8,
    geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    grid_id bigint) ON COMMIT DROP"""
COPY_HH = "COPY s_hh (code, address, building_code, kind, lon, lat) FROM STDIN WITH (FORMAT csv, HEADER true)"
INSERT_HH = """INSERT INTO household (id, code, address, kind, geom, grid_id)
               SELECT s.id, s.code, s.address, s.kind, s.geom, {grid} FROM s_hh s {join}"""
LEAVES = """SELECT l.id, l.code, ST_AsBinary(l.geom) AS wkb FROM grid l
             WHERE l.valid_to IS NULL AND l.lineage_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM grid c WHERE c.parent_id = l.id AND c.valid_to IS NULL)"""
NAIVE = """UPDATE household h SET grid_id = g.id FROM grid g
            WHERE g.level = 'compound' AND g.valid_to IS NULL AND ST_Contains(g.geom, h.geom)"""
DUCK_RULE = """CREATE OR REPLACE TABLE duck_assign AS
SELECT h.id, arg_min(l.grid_id, l.code) AS grid_id
  FROM hh h LEFT JOIN leaf l ON ST_Covers(l.geom, h.geom) GROUP BY h.id"""
BIGGEST_COMMUNITY = """SELECT c.code FROM household h JOIN grid l ON l.id = h.grid_id JOIN grid c ON c.id = l.parent_id
  WHERE c.level = 'community' GROUP BY c.code ORDER BY count(*) DESC, c.code LIMIT 1"""
HH_UNDER = """WITH RECURSIVE
live AS (SELECT id, parent_id, code FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL),
sub AS (SELECT id FROM live WHERE code = :code UNION ALL SELECT g.id FROM live g JOIN sub ON g.parent_id = sub.id)
SELECT count(*) FROM household WHERE grid_id IN (SELECT id FROM sub)"""
ROLLUP_HH = """WITH RECURSIVE live AS (SELECT id, parent_id FROM grid WHERE valid_to IS NULL AND lineage_id IS NULL),
anc(leaf_id, anc_id) AS (SELECT id, id FROM live UNION ALL
    SELECT a.leaf_id, l.parent_id FROM anc a JOIN live l ON l.id = a.anc_id WHERE l.parent_id IS NOT NULL),
hh AS (SELECT grid_id, count(*) AS n FROM household WHERE grid_id IS NOT NULL GROUP BY grid_id)
SELECT a.anc_id, coalesce(sum(hh.n), 0)::bigint FROM anc a LEFT JOIN hh ON hh.grid_id = a.leaf_id GROUP BY a.anc_id"""


@dataclass
class Result:
    """Everything measured for one size."""

    households: int
    compounds: int
    seconds: dict[str, float] = field(default_factory=dict)
    load_avg: dict[str, float] = field(default_factory=dict)
    breakdown: dict[str, dict[str, float]] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    incremental_ms: dict[str, float] = field(default_factory=dict)


class StatementTimes:
    """Collects the duration of each SQL statement an engine runs (to break assign_table down)."""

    MARKERS = (
        ("gridgov_assign_scan ON COMMIT DROP AS", "scan"),
        ("gridgov_assign_move ON COMMIT DROP AS", "move"),
        ("SELECT (SELECT coalesce(sum(s.own)", "covered"),
        ("SELECT count(e.grid_id), count(*)", "assigned"),
        ("SELECT c.gid", "stale"),
        ("SET grid_id = m.gid", "apply (write)"),
        ("SET grid_id = NULL", "unassign (write)"),
    )

    def __init__(self, engine: Engine) -> None:
        self.times: dict[str, float] = {}
        self.active = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        if not self.active:
            return
        dt = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        label = next((name for marker, name in self.MARKERS if marker in statement), "other")
        self.times[label] = self.times.get(label, 0.0) + dt

    @contextlib.contextmanager
    def collect(self) -> Iterator[dict[str, float]]:
        """Record statement times within the block."""
        self.times = {}
        self.active = True
        try:
            yield self.times
        finally:
            self.active = False


def timed(result: Result, name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``, store its wall time under ``name`` and print it."""
    result.load_avg[name] = os.getloadavg()[0]
    t0 = time.perf_counter()
    value = fn()
    result.seconds[name] = time.perf_counter() - t0
    print(f"  {name:<28} {result.seconds[name]:9.2f} s   (load avg {result.load_avg[name]:.2f})", flush=True)
    return value


def data_dir(households: int, compounds: int, base: Path | None) -> Path:
    """Generated sample data for this size (generated on first use)."""
    d = (base or OUT) / f"data_h{households}_c{compounds}"
    meta = d / "sample_meta.json"
    if meta.exists():
        params = json.loads(meta.read_text(encoding="utf-8"))["params"]
        if params["households"] == households and params["compounds"] == compounds:
            return d
    t0 = time.perf_counter()
    generate(d, households=households, compounds=compounds)
    print(f"  generated {d} in {time.perf_counter() - t0:.1f} s", flush=True)
    return d


@contextlib.contextmanager
def bench_database() -> Iterator[Engine]:
    """A fresh migrated database on the embedded server, dropped afterwards."""
    server_url = libpq_url(get_settings(), start=True)
    server = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    name = f"gridgov_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with contextlib.closing(psycopg.connect(server, autocommit=True)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with contextlib.closing(psycopg.connect(server, autocommit=True)) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def maintenance(engine: Engine, sql: str) -> None:
    """Run VACUUM and the like outside a transaction."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))


def load_grids(conn: Connection, directory: Path) -> None:
    """The generated grids (grids.gpkg) with COPY and one INSERT per level, in the caller's bulk transaction."""
    copy_grids(conn, directory / "grids.gpkg", actor="bench")


def load(engine: Engine, directory: Path, *, staged: bool) -> None:
    """Grids (when not loaded yet) and households with COPY; ``staged`` assigns them before the INSERT."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('gridgov.bulk', 'on', true), set_config('gridgov.actor', 'bench', true)"))
        if conn.execute(text("SELECT count(*) FROM grid")).scalar_one() == 0:
            load_grids(conn, directory)
        conn.execute(text(STAGE_HH))
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(COPY_HH) as cp, (directory / "households.csv").open("rb") as f:  # type: ignore[union-attr]
            while chunk := f.read(1 << 20):
                cp.write(chunk)
        if staged:
            with Session(bind=conn) as s:
                picked = assign_staged(s, "s_hh")
            conn.execute(text(INSERT_HH.format(grid="m.gid", join=f"LEFT JOIN {picked} m ON m.id = s.id")))
        else:
            conn.execute(text(INSERT_HH.format(grid="NULL", join="")))


def copy_frame(engine: Engine, query: str, names: list[str]) -> pd.DataFrame:
    """A query's result through COPY … CSV (fast for millions of rows)."""
    buf = io.BytesIO()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as cp:  # type: ignore[union-attr]
            for chunk in cp:
                buf.write(chunk)
    buf.seek(0)
    return pd.read_csv(buf, names=names, header=None)


def assignment(engine: Engine) -> np.ndarray:
    """grid_id per household ordered by id (-1 = unassigned)."""
    df = copy_frame(engine, "SELECT id, grid_id FROM household ORDER BY id", ["id", "grid_id"])
    return df["grid_id"].fillna(-1).to_numpy(dtype=np.int64)


def naive_update(engine: Engine, result: Result) -> np.ndarray:
    """Time the naive UPDATE from the loaded state; returns its assignment and rolls it back."""
    with engine.connect() as conn:
        conn.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))  # one audit row, like gridgov's pass
        timed(result, "naive UPDATE", lambda: conn.execute(text(NAIVE)))
        raw = conn.connection.driver_connection
        buf = io.BytesIO()
        query = "COPY (SELECT id, grid_id FROM household ORDER BY id) TO STDOUT WITH (FORMAT csv)"
        with raw.cursor() as cur, cur.copy(query) as cp:  # type: ignore[union-attr]
            for chunk in cp:
                buf.write(chunk)
        conn.rollback()
    buf.seek(0)
    return pd.read_csv(buf, names=["id", "grid_id"], header=None)["grid_id"].fillna(-1).to_numpy(dtype=np.int64)


def sjoin_inputs(engine: Engine) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The households (ordered by id) and the live leaf grids, as GeoDataFrames read from the database."""
    pts = copy_frame(engine, "SELECT id, ST_X(geom), ST_Y(geom) FROM household ORDER BY id", ["id", "x", "y"])
    geometry = gpd.points_from_xy(pts["x"], pts["y"])
    households = gpd.GeoDataFrame({"id": pts["id"].to_numpy()}, geometry=geometry, crs=4326)
    with engine.connect() as conn:
        rows = conn.execute(text(LEAVES)).all()
    leaves = gpd.GeoDataFrame(
        {"grid_id": [r.id for r in rows], "code": [r.code for r in rows]},
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]),
        crs=4326,
    )
    return households, leaves


def sjoin_within(households: gpd.GeoDataFrame, leaves: gpd.GeoDataFrame) -> pd.DataFrame:
    """geopandas.sjoin(predicate="within") as is (a fresh copy of the leaves: the tree is built each time)."""
    return gpd.sjoin(households, leaves.copy(), predicate="within", how="left")


def sjoin_rule(households: gpd.GeoDataFrame, leaves: gpd.GeoDataFrame) -> pd.DataFrame:
    """geopandas.sjoin(predicate="covered_by") plus gridgov's tie rule (smallest code among covering leaves)."""
    j = gpd.sjoin(households, leaves.copy(), predicate="covered_by", how="left")
    multi = j.index.duplicated(keep=False)
    if multi.any():
        ties = j[multi].sort_values("code", kind="stable")
        j = pd.concat([j[~multi], ties[~ties.index.duplicated(keep="first")]])
    return j


def grid_per_household(j: pd.DataFrame, n: int) -> np.ndarray:
    """grid_id per household position (-1 = none; the first match where there are several)."""
    j = j[~j.index.duplicated(keep="first")]
    return j["grid_id"].reindex(range(n)).fillna(-1).to_numpy(dtype=np.int64)


def load_spatial(con: duckdb.DuckDBPyConnection) -> str:
    """Load DuckDB's ``spatial`` extension: the PyPI package ``duckdb-extension-spatial`` when installed (no
    network needed), else ``INSTALL spatial`` (downloads it once from DuckDB's extension server)."""
    try:
        import duckdb_extension_spatial  # type: ignore[import-not-found]
    except ImportError:
        con.execute("INSTALL spatial; LOAD spatial")
        return "INSTALL spatial (extension server)"
    found = sorted((Path(duckdb_extension_spatial.__file__).parent / "extensions").rglob("spatial.duckdb_extension"))
    con.execute(f"LOAD '{found[-1]}'")  # signature checked (allow_unsigned_extensions stays off)
    return "PyPI duckdb-extension-spatial"


def duckdb_inputs(households: gpd.GeoDataFrame, leaves: gpd.GeoDataFrame) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """An in-memory DuckDB holding the sjoin frames: points ``hh(id, geom)`` (id = position in the frame, i.e.
    household order) and leaves ``leaf(grid_id, code, geom)`` from their WKB. Not timed."""
    con = duckdb.connect()
    con.execute(f"SET threads = {DUCKDB_THREADS}")
    source = load_spatial(con)
    xy = pd.DataFrame({"id": np.arange(len(households), dtype=np.int64),
                       "x": households.geometry.x.to_numpy(), "y": households.geometry.y.to_numpy()})  # fmt: skip
    polys = pd.DataFrame({"grid_id": leaves["grid_id"].to_numpy(dtype=np.int64), "code": leaves["code"].astype(str),
                          "wkb": shapely.to_wkb(leaves.geometry.values)})  # fmt: skip
    con.register("xy_frame", xy)
    con.register("leaf_frame", polys)
    con.execute("CREATE TABLE hh AS SELECT id, ST_Point(x, y) AS geom FROM xy_frame")
    con.execute("CREATE TABLE leaf AS SELECT grid_id, code, ST_GeomFromWKB(wkb) AS geom FROM leaf_frame")
    con.unregister("xy_frame")
    con.unregister("leaf_frame")
    query = DUCK_RULE.split(" AS\n", 1)[1]
    plan = "\n".join(str(row[-1]) for row in con.execute("EXPLAIN " + query).fetchall())
    ops = ("SPATIAL_JOIN", "RTREE_INDEX_SCAN", "PIECEWISE_MERGE_JOIN", "NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN")
    info = {
        "version": duckdb.__version__,
        "spatial": con.execute(
            "SELECT extension_version FROM duckdb_extensions() WHERE extension_name = 'spatial'"
        ).fetchone()[0],  # type: ignore[index]
        "spatial from": source,
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],  # type: ignore[index]
        "join operator": [op for op in ops if op in plan],
        "join condition": next((ln.strip(" │") for ln in plan.splitlines() if "ST_" in ln), ""),
    }
    return con, info


def duckdb_rule(con: duckdb.DuckDBPyConnection) -> None:
    """The timed DuckDB join: every household's covering leaf with the smallest code (NULL outside every leaf),
    materialised inside DuckDB (gridgov's result also stays in its database)."""
    con.execute(DUCK_RULE)


def duckdb_result(con: duckdb.DuckDBPyConnection, n: int) -> np.ndarray:
    """grid_id per household position from the last timed DuckDB join (-1 = none)."""
    df = con.execute("SELECT id, grid_id FROM duck_assign").df()
    return df.set_index("id")["grid_id"].reindex(range(n)).fillna(-1).to_numpy(dtype=np.int64)


def database_url(engine: Engine) -> str:
    """The bench database's URL, for ``GRIDGOV_DATABASE_URL``."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def cli(url: str, *args: str) -> str:
    """Run the ``gridgov`` command against ``url``; its standard output."""
    env = {k: v for k, v in os.environ.items() if k != "GRIDGOV_TOKEN"} | {"GRIDGOV_DATABASE_URL": url}
    done = subprocess.run([str(GRIDGOV), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gridgov {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def cli_assign(url: str) -> list[dict[str, Any]]:
    """``gridgov assign --json`` as a subprocess: per table assigned / unassigned / changed."""
    return list(json.loads(cli(url, "assign", "--json")))


def ledger_city(engine: Engine, result: Result, repeat: int) -> None:
    """``build_ledger`` for the whole city and for its biggest community, median of ``repeat``, with checks."""
    with engine.connect() as conn:
        community = conn.execute(text(BIGGEST_COMMUNITY)).scalar_one()
        inside = conn.execute(text(HH_UNDER), {"code": community}).scalar_one()
        assigned = conn.execute(text("SELECT count(grid_id) FROM household")).scalar_one()
        tracks = conn.execute(text("SELECT count(*) FROM patrol_track")).scalar_one()

    def ledger(parent: str | None, patrol: bool) -> Any:
        with Session(engine) as s:
            led = build_ledger(s, parent=parent, with_patrol=patrol)  # all levels; patrol as the API and CLI do
            s.rollback()
        return led

    # name -> (parent, with patrol); a step that fails is reported and dropped, and a community ledger that
    # fails with patrol is timed without it (to tell the patrol part from the rest)
    steps: dict[str, tuple[str | None, bool]] = {"ledger, whole city": (None, True), COMMUNITY: (community, True)}
    runs: dict[str, list[float]] = {}
    loads: dict[str, list[float]] = {}
    rows: dict[str, Any] = {}
    for _ in range(repeat):
        for name, (parent, patrol) in list(steps.items()):
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            try:
                rows[name] = ledger(parent, patrol)
            except Exception as exc:  # noqa: BLE001 - a failing ledger is a result to report, not the end of the run
                result.checks[f"error: {name}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                print(f"  {name} FAILED: {result.checks[f'error: {name}']}", flush=True)
                del steps[name]
                if name == COMMUNITY:
                    steps[COMMUNITY + " (no patrol)"] = (community, False)
                continue
            runs.setdefault(name, []).append(time.perf_counter() - t0)
            loads.setdefault(name, []).append(load)
    for name, values in runs.items():
        result.seconds[name] = statistics.median(values)
        result.load_avg[name] = loads[name][0]
        result.checks[f"runs: {name}"] = [round(v, 3) for v in values]
        result.checks[f"load: {name}"] = [round(v, 2) for v in loads[name]]
        print(f"  {name:<28} {result.seconds[name]:9.2f} s   (median of {len(values)}; "
              f"load avg {min(loads[name]):.2f}–{max(loads[name]):.2f})", flush=True)  # fmt: skip
    checks: dict[str, Any] = {"community": community, "community households (assigned inside it)": int(inside)}
    checks |= {"households assigned": int(assigned), "patrol tracks in the database": int(tracks)}
    if "ledger, whole city" in rows:
        city = rows["ledger, whole city"].rows
        top = sum(r.households for r in city if r.parent_code is None)
        checks |= {"rows, whole city": len(city), "top-level households (ledger)": top, "city matches": top == assigned}
    one = rows.get(COMMUNITY) or rows.get(COMMUNITY + " (no patrol)")
    if one is not None:
        own = next(r for r in one.rows if r.code == community)
        checks |= {"rows, one community": len(one.rows), "community households (ledger)": own.households,
                   "community matches": own.households == inside}  # fmt: skip
    result.checks["ledger"] = checks
    print(f"  ledger checks: {result.checks['ledger']}", flush=True)


def incremental(engine: Engine, result: Result, runs: int = 50) -> None:
    """Single-entity writes with the trigger: statement and whole-transaction times, median over ``runs``."""
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM grid) s")
        ).one()
        sample = conn.execute(text("SELECT id FROM household TABLESAMPLE SYSTEM (1) LIMIT 200")).scalars()
        ids = [int(i) for i in sample]
        leaves = conn.execute(text(LEAVES + " ORDER BY random() LIMIT 10")).all()
    rng = random.Random(20261121)
    insert = text(
        "INSERT INTO household (code, kind, geom) VALUES (:c, '常住户', ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
        "RETURNING grid_id IS NOT DISTINCT FROM gridgov_leaf_for_point(geom)"
    )
    move = text(
        "UPDATE household SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE id = :id "
        "RETURNING grid_id IS NOT DISTINCT FROM gridgov_leaf_for_point(geom)"
    )
    ok = True
    for name, stmt in (("insert", insert), ("move", move)):
        stmt_ms: list[float] = []
        tx_ms: list[float] = []
        for i in range(runs + 3):
            params: dict[str, Any] = {"x": round(rng.uniform(x0, x1), 7), "y": round(rng.uniform(y0, y1), 7)}
            params |= {"c": f"BENCH{name}{i}"} if name == "insert" else {"id": ids[i % len(ids)]}
            with engine.connect() as conn:
                t0 = time.perf_counter()
                with conn.begin():
                    t1 = time.perf_counter()
                    ok &= bool(conn.execute(stmt, params).scalar_one())
                    t2 = time.perf_counter()
                t3 = time.perf_counter()
            if i >= 3:  # warm-up
                stmt_ms.append((t2 - t1) * 1000)
                tx_ms.append((t3 - t0) * 1000)
        result.incremental_ms[f"{name} statement median"] = statistics.median(stmt_ms)
        result.incremental_ms[f"{name} statement p95"] = float(np.percentile(stmt_ms, 95))
        result.incremental_ms[f"{name} transaction median"] = statistics.median(tx_ms)
    area_ms: list[float] = []
    for leaf in leaves:
        with Session(engine) as s, s.begin():
            t0 = time.perf_counter()
            reassign_area(s, shapely.from_wkb(bytes(leaf.wkb)))
            area_ms.append((time.perf_counter() - t0) * 1000)
    result.incremental_ms["reassign_area one leaf median"] = statistics.median(area_ms)
    result.checks["incremental_rule_ok"] = ok
    for k, v in result.incremental_ms.items():
        print(f"  {k:<36} {v:8.2f} ms", flush=True)


def run(households: int, compounds: int, args: argparse.Namespace) -> Result:
    """All measurements for one size."""
    print(f"\n== {households:,} households / {compounds:,} compounds ==", flush=True)
    result = Result(households, compounds)
    directory = data_dir(households, compounds, args.data_dir)
    with bench_database() as engine:
        stmts = StatementTimes(engine)
        timed(result, "load (COPY + INSERT)", lambda: load(engine, directory, staged=False))
        timed(result, "vacuum analyze (load)", lambda: maintenance(engine, "VACUUM ANALYZE household, grid"))
        naive = naive_update(engine, result) if not args.skip_naive else None
        if naive is not None:
            timed(result, "vacuum (naive rollback)", lambda: maintenance(engine, "VACUUM household"))

        def gridgov_assign() -> Any:
            with Session(engine) as s, s.begin():
                s.execute(text("SELECT set_config('gridgov.bulk', 'on', true)"))
                return assign_table(s, "household")

        with stmts.collect() as times:
            cold = timed(result, "gridgov assign, cold", gridgov_assign)
        result.breakdown["gridgov assign, cold"] = dict(times)
        timed(result, "vacuum analyze (cold)", lambda: maintenance(engine, "VACUUM ANALYZE household"))
        with stmts.collect() as times:
            steady = timed(result, "gridgov assign, steady", gridgov_assign)
        result.breakdown["gridgov assign, steady"] = dict(times)
        result.checks["cold"] = vars(cold)
        result.checks["steady"] = vars(steady)

        def rollup_counts() -> int:
            with Session(engine) as s:
                return len(grid_counts(s))

        def rollup_households() -> int:
            with engine.connect() as conn:
                return len(conn.execute(text(ROLLUP_HH)).all())

        timed(result, "roll-up grid_counts", rollup_counts)
        timed(result, "roll-up households only", rollup_households)
        ours = assignment(engine)
        points, leaves = sjoin_inputs(engine)
        # geopandas runs "within" as "contains" with the STRtree built on the points (the left frame) and cached
        # there: a fresh frame for every run, so each timed join builds its tree, like a join on freshly read
        # data. "tree cached" re-joins a frame whose tree exists (gridgov's GiST is kept by the database, so that
        # is the other fair reading). "covered_by" queries a tree of the leaves with every point.
        j = timed(result, "sjoin within", lambda: sjoin_within(points.copy(), leaves))
        result.checks["sjoin_within_multi_matches"] = int(j.index.duplicated().sum())
        others = {"sjoin within": grid_per_household(j, len(points))}
        j = timed(result, "sjoin covered_by + tie rule", lambda: sjoin_rule(points.copy(), leaves))
        others["sjoin covered_by + rule"] = grid_per_household(j, len(points))
        del j
        points.sindex  # noqa: B018 - build the tree of the frame used for the "tree cached" runs
        timed(result, "sjoin within, tree cached", lambda: sjoin_within(points, leaves))
        duck, result.checks["duckdb"] = duckdb_inputs(points, leaves)
        print(f"  duckdb: {result.checks['duckdb']}", flush=True)
        timed(result, DUCK, lambda: duckdb_rule(duck))
        others[DUCK] = duckdb_result(duck, len(points))
        url = database_url(engine)
        counts = timed(result, CLI, lambda: cli_assign(url))
        result.checks["gridgov assign (CLI) output"] = counts
        # The machine may be shared: repeat the compared steps alternately and keep the medians.
        compared: tuple[str, ...] = ("gridgov assign, steady", "sjoin within", "sjoin covered_by + tie rule")
        compared += ("sjoin within, tree cached", DUCK, CLI)
        runs = {k: [result.seconds[k]] for k in compared}
        loads = {k: [result.load_avg[k]] for k in compared}
        for _ in range(args.repeat - 1):
            for name, fn, fresh in (
                ("gridgov assign, steady", lambda _: gridgov_assign(), False),
                ("sjoin within", lambda f: sjoin_within(f, leaves), True),
                ("sjoin covered_by + tie rule", lambda f: sjoin_rule(f, leaves), True),
                ("sjoin within, tree cached", lambda f: sjoin_within(f, leaves), False),
                (DUCK, lambda _: duckdb_rule(duck), False),
                (CLI, lambda _: cli_assign(url), False),
            ):
                frame = points.copy() if fresh else points
                loads[name].append(os.getloadavg()[0])
                t0 = time.perf_counter()
                fn(frame)
                runs[name].append(time.perf_counter() - t0)
                del frame
        for name, values in runs.items():
            result.seconds[name] = statistics.median(values)
            result.checks[f"runs: {name}"] = [round(v, 3) for v in values]
            result.checks[f"load: {name}"] = [round(v, 2) for v in loads[name]]
        # the last DuckDB run's result must be the first one's
        again = duckdb_result(duck, len(points))
        result.checks["duckdb result stable across runs"] = bool((again == others[DUCK]).all())
        duck.close()
        if naive is not None:
            others["naive UPDATE (ST_Contains)"] = naive
        for name, theirs in others.items():
            diff = int((theirs != ours).sum())
            result.checks[f"differences vs {name}"] = diff
            print(f"  households assigned differently by {name}: {diff}", flush=True)
            if name == DUCK and diff:
                where = np.flatnonzero(theirs != ours)[:20]
                result.checks["duckdb differences (position, gridgov, duckdb)"] = [
                    (int(i), int(ours[i]), int(theirs[i])) for i in where
                ]
        hh_counts = next(c for c in counts if c["table"] == "household")
        result.checks["CLI households assigned = bench"] = hh_counts["assigned"] == int((ours != -1).sum())
        ledger_city(engine, result, args.repeat)
        result.checks["unassigned"] = int((ours == -1).sum())
        incremental(engine, result)
        if not args.skip_staged:
            maintenance(engine, "TRUNCATE household RESTART IDENTITY CASCADE")
            maintenance(engine, "CHECKPOINT")
            with stmts.collect() as times:
                timed(result, "load staged (assigned)", lambda: load(engine, directory, staged=True))
            result.breakdown["load staged (assigned)"] = dict(times)
            staged = assignment(engine)
            result.checks["differences staged load vs assign_table"] = int((staged != ours).sum())
            print(f"  staged load assigned differently: {result.checks['differences staged load vs assign_table']}")
    if args.drop_data:
        shutil.rmtree(directory, ignore_errors=True)
    return result


def report(r: Result) -> str:
    """A plain-text table of seconds and ratios."""
    s = r.seconds
    lines = [f"{r.households:,} households / {r.compounds:,} compounds", f"{'step':<32}{'seconds':>10}"]
    lines += [f"{k:<32}{v:>10.2f}" for k, v in s.items()]
    for base in ("gridgov assign, steady", "gridgov assign, cold"):
        for other in ("sjoin within", "sjoin covered_by + tie rule", "sjoin within, tree cached", DUCK, "naive UPDATE"):
            if base in s and other in s:
                lines.append(f"{other} / {base}: {s[other] / s[base]:.2f}x")
    rollup = s.get("roll-up households only", 0.0)
    lines.append(f"assign cold + roll-up (hh): {s['gridgov assign, cold'] + rollup:.1f} s")
    if "load staged (assigned)" in s:
        extra = s["load staged (assigned)"] - s["load (COPY + INSERT)"]
        lines.append(f"staged load - plain load (assignment at load): {extra:.1f} s; + roll-up: {extra + rollup:.1f} s")
    lines += [f"{k}: {v}" for k, v in r.checks.items()]
    lines += [f"{k}: {v:.2f} ms" for k, v in r.incremental_ms.items()]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    mem = Path("/proc/meminfo").read_text().split()[1]
    with make_engine(libpq_url(get_settings(), start=True)).connect() as conn:
        pg = conn.execute(text("SELECT version()")).scalar_one()
        pgis = conn.execute(text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "mem_gb": round(int(mem) / 1024 / 1024, 1),
        "postgres": pg,
        "postgis": pgis,
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "geos (shapely)": shapely.geos_version_string,
        "duckdb": duckdb.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the requested sizes."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--compounds", type=int, default=1_000)
    ap.add_argument("--all", action="store_true", help="10^5/10^3, 10^6/10^4 and 10^7/10^5")
    ap.add_argument("--data-dir", type=Path, default=None, help="where generated data is cached (default bench/out)")
    ap.add_argument("--drop-data", action="store_true", help="delete the generated data afterwards")
    ap.add_argument("--skip-naive", action="store_true", help="skip the naive UPDATE")
    ap.add_argument("--skip-staged", action="store_true", help="skip the second, assigned-at-load load")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the compared steps (median kept)")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = PRESETS if args.all else ((args.households, args.compounds),)
    info = machine()
    print(json.dumps(info, ensure_ascii=False, indent=1))
    for households, compounds in sizes:
        r = run(households, compounds, args)
        print("\n" + report(r), flush=True)
        out = OUT / f"assign_h{households}_c{compounds}.json"
        out.write_text(json.dumps({"machine": info, **vars(r)}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"  -> {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
