"""Street-scale steps a user waits for, on the sample street, against the code they replaced, in one run.

Each step runs in two worker processes on the same database (the sample street: 20,000 households, 72
compounds, 245 patrol tracks), one importing gridgov from this tree ("current"), one from a git worktree of
``--baseline-ref`` ("baseline": the code before this release's speed work), so every ratio compares the two
implementations on the same data, machine and load. The main process loads the data, runs the workers one
after the other and prints the table; results go to ``bench/out/street_bench.json``.

Steps (in-process, through the API where a user goes through it: FastAPI's TestClient, no network):

=================  =============================================================================================
ledger             ``build_ledger`` for every level, all dates, with patrol coverage (what the JSON, file and CLI
                   ledgers compute)
ledger file        ``GET /api/ledger/file`` (xlsx, viewer token)
coverage map       ``GET /maps/coverage`` (all dates)
patrol map         ``GET /maps/patrol`` (the latest night)
grid map           ``GET /maps/grid``
board (API)        ``GET /api/boards/{code}`` (A4 PDF) for the first compound, and ``format=png``
validate           ``validate_and_store`` over every grid (what ``gridgov grids validate`` runs)
CLI start          ``python -m gridgov.cli --help`` and ``version`` (subprocesses, from the main process)
CLI ledger         ``python -m gridgov.cli ledger -o 台帐.xlsx`` (subprocess: start + work + file)
=================  =============================================================================================

Per step: the first run ("cold": after the data was loaded, nothing derived from it has been asked for
yet) and the median of ``--repeat`` later runs ("warm"). The targets apply to warm runs.

    .venv/bin/python bench/street_bench.py [--repeat 5] [--baseline-ref d025fda]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
# The last commit before the speed work of this release (issue 12).
BASELINE_REF = "d025fda"
TARGETS = {"ledger": 1.0, "coverage map": 2.0, "patrol map": 1.0, "board pdf (API)": 2.0, "board png (API)": 2.0,
           "validate": 0.5, "CLI --help": 0.5, "CLI version": 0.5}  # fmt: skip


def median_runs(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """The first run's seconds and the median of ``repeat`` more."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return {"cold": cold, "warm": statistics.median(warm), "load": os.getloadavg()[0]}


def worker(repeat: int) -> dict[str, dict[str, float]]:
    """Time every in-process step with whichever gridgov is on sys.path (GRIDGOV_DATABASE_URL set by main)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from gridgov.api.factory import create_app
    from gridgov.auth.scope import Actor
    from gridgov.auth.tokens import create_token
    from gridgov.config import get_settings
    from gridgov.db.engine import get_engine
    from gridgov.grids.checks import validate_and_store
    from gridgov.ledger.report import build_ledger

    settings = get_settings()
    engine = get_engine(settings)
    with Session(engine) as s, s.begin():
        plain, _ = create_token(s, Actor.system("bench"), "bench-viewer", "viewer")
        code = s.execute(text("SELECT min(code) FROM grid WHERE level = 'compound' AND valid_to IS NULL")).scalar_one()

    def ledger() -> None:
        with Session(engine) as s, s.begin():
            rows = build_ledger(s, patrol_buffer_m=settings.patrol_buffer_m).rows
            assert rows and any(r.patrol_coverage for r in rows)

    def validate() -> None:
        with Session(engine) as s, s.begin():
            validate_and_store(s, Actor.system("bench"), parent_code=None, settings=settings, store=True)

    out: dict[str, dict[str, float]] = {"ledger": median_runs(ledger, repeat)}
    with TestClient(create_app(settings, engine)) as client:
        auth = {"Authorization": f"Bearer {plain}"}

        def get(path: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
            def run() -> None:
                r = client.get(path, headers=headers or {})
                assert r.status_code == 200, (path, r.status_code, r.text[:300])

            return run

        out["ledger file (API)"] = median_runs(get("/api/ledger/file?format=xlsx", auth), repeat)
        out["coverage map"] = median_runs(get("/maps/coverage"), repeat)
        out["patrol map"] = median_runs(get("/maps/patrol"), repeat)
        out["grid map"] = median_runs(get("/maps/grid"), repeat)
        out["board pdf (API)"] = median_runs(get(f"/api/boards/{code}"), repeat)
        out["board png (API)"] = median_runs(get(f"/api/boards/{code}?format=png"), repeat)
    out["validate"] = median_runs(validate, repeat)
    return out


def baseline_tree(ref: str) -> Path:
    """A git worktree of ``ref`` under bench/out (made once)."""
    path = OUT / f"baseline-{ref}"
    if not (path / "src" / "gridgov").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), ref], check=True,
                       capture_output=True)  # fmt: skip
    return path


def env_for(src: Path, url: str) -> dict[str, str]:
    """Environment that makes ``python`` import gridgov from ``src`` and use the bench database."""
    return {**os.environ, "PYTHONPATH": str(src), "GRIDGOV_DATABASE_URL": url}


def run_worker(src: Path, url: str, repeat: int) -> dict[str, dict[str, float]]:
    """Run :func:`worker` in a subprocess with gridgov imported from ``src``."""
    done = subprocess.run([sys.executable, __file__, "--worker", "--repeat", str(repeat)], env=env_for(src, url),
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"worker ({src}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cli_steps(src: Path, url: str, repeat: int) -> dict[str, dict[str, float]]:
    """CLI start and the CLI ledger, as subprocesses (the wall time a user sees)."""
    env = env_for(src, url)

    def cli(*args: str) -> Callable[[], None]:
        def run() -> None:
            subprocess.run([sys.executable, "-m", "gridgov.cli", *args], env=env, cwd=ROOT, check=True,
                           capture_output=True)  # fmt: skip

        return run

    with tempfile.TemporaryDirectory() as tmp:
        return {
            "CLI --help": median_runs(cli("--help"), repeat),
            "CLI version": median_runs(cli("version"), repeat),
            "CLI ledger -o xlsx": median_runs(cli("ledger", "-o", f"{tmp}/台帐.xlsx"), max(1, repeat // 2)),
        }


def load_sample(url: str) -> None:
    """The sample street, loaded and assigned by this tree's code (the same data for both workers)."""
    from sqlalchemy.orm import Session

    from gridgov.assign.points import assign_all
    from gridgov.config import PatrolSettings, defaults
    from gridgov.db.engine import make_engine
    from gridgov.sample.generate import generate
    from gridgov.sample.load import load_sample as load

    sample = ROOT / "geodata" / "sample"
    if not (sample / "sample_meta.json").exists():
        generate(sample)
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:  # as `gridgov sample load` does: footprints stored for the configured buffer
        load(conn, sample, patrol_buffer_m=defaults(PatrolSettings).patrol_buffer_m)
    with Session(engine) as s, s.begin():
        assign_all(s)
    engine.dispose()
    print(f"  sample street loaded in {time.perf_counter() - t0:.1f} s", flush=True)


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """The table: baseline and current (cold, warm), ratio of warm runs, target, and the 1-minute load average
    at the end of each step's runs (baseline / current)."""
    lines = ["| step | baseline cold | baseline warm | current cold | current warm | ratio | target | load |",
             "|---|---:|---:|---:|---:|---:|---|---|"]  # fmt: skip
    for step, cur in results["current"].items():
        base = results["baseline"].get(step)
        target = TARGETS.get(step)
        met = "" if target is None else f"≤ {target:g} s {'✓' if cur['warm'] <= target else '✗'}"
        ratio = f"{base['warm'] / cur['warm']:.1f}×" if base else "—"
        b = (f"{base['cold']:.3f}", f"{base['warm']:.3f}", f"{base['load']:.1f}") if base else ("—", "—", "—")
        lines.append(f"| {step} | {b[0]} | {b[1]} | {cur['cold']:.3f} | {cur['warm']:.3f} | {ratio} | {met} "
                     f"| {b[2]} / {cur['load']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="warm runs per step (median kept)")
    p.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of the baseline code")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.repeat)))
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "bench"))
    from assign_bench import bench_database, machine

    OUT.mkdir(parents=True, exist_ok=True)
    old = baseline_tree(args.baseline_ref)
    results: dict[str, dict[str, dict[str, float]]] = {}
    with bench_database() as engine:
        url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
        load_sample(url)
        for name, src in (("baseline", old / "src"), ("current", ROOT / "src")):
            print(f"  {name}: {src}", flush=True)
            results[name] = run_worker(src, url, args.repeat)
            results[name].update(cli_steps(src, url, args.repeat))
    table = report(results)
    print(table)
    (OUT / "street_bench.json").write_text(
        json.dumps({"machine": machine(), "baseline_ref": args.baseline_ref, "repeat": args.repeat,
                    "results": results}, indent=1, ensure_ascii=False),  # fmt: skip
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
