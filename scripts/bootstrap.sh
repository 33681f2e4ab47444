#!/usr/bin/env bash
# Set up everything gridgov needs on a fresh Debian 12 / Ubuntu 22.04+ machine, idempotently:
# OS packages (only those missing), the virtualenv with the package and its dev extras, and the
# pinned npm front-end assets. Safe to run again; it does nothing that is already done.
# GRIDGOV_BENCH=1 also sets up the benchmarks (bench/): gdal-bin (ogr2ogr, the baseline of
# bench/import_bench.py) and the package's bench extras.
set -euo pipefail
cd "$(dirname "$0")/.."

# The package lists live in scripts/packages.sh (shared with scripts/bundle.sh, the offline bundle).
. scripts/packages.sh
APT_PKGS=("${RUNTIME_DEBS[@]}" "${DEV_DEBS[@]}")
BENCH=${GRIDGOV_BENCH:-0}
if [ "$BENCH" = 1 ]; then
  APT_PKGS+=("${BENCH_DEBS[@]}")
fi

missing=()
for p in "${APT_PKGS[@]}"; do
  deb_present "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing OS packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# PostGIS for the newest installed PostgreSQL major (Debian 12: 15, Ubuntu 22.04: 14, 24.04: 16).
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
if [ -n "$pg_major" ] && ! ls /usr/share/postgresql/"$pg_major"/extension/postgis.control >/dev/null 2>&1; then
  echo "bootstrap: installing PostGIS for PostgreSQL $pg_major"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(postgis_debs "$pg_major")
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
extras=dev
stamp=.venv/.gridgov-installed
if [ "$BENCH" = 1 ]; then
  extras=dev,bench
  stamp=.venv/.gridgov-installed-bench
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing gridgov[$extras] into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[$extras]"
  touch "$stamp"
  if [ "$BENCH" = 1 ]; then touch .venv/.gridgov-installed; fi  # the dev extras came with it
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "bootstrap: installing pinned front-end assets (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
echo "bootstrap: ready"
