"""The CLI starts without its heavy libraries: the commands that need them import them when they run."""

from __future__ import annotations

import subprocess
import sys

# The libraries the commands import when they run: database, geometry, files, maps, boards, ledgers, the API.
DATABASE = ["sqlalchemy", "geoalchemy2", "alembic", "psycopg"]
GEO = ["shapely", "pyogrio", "pyproj", "pandas", "numpy", "gpxpy"]
OUTPUT = ["folium", "matplotlib", "weasyprint", "openpyxl", "xlsxwriter", "fastapi", "uvicorn"]
HEAVY = DATABASE + GEO + OUTPUT


def test_importing_the_cli_loads_no_heavy_library() -> None:
    """``import gridgov.cli.main`` (what ``gridgov --help`` and ``gridgov version`` pay for) loads none of them."""
    code = f"import gridgov.cli.main, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout.strip() == "[]", r.stdout
