#!/usr/bin/env bash
# The README's test command: full set-up (OS packages, .venv, npm assets, embedded PostGIS), then
# the whole test suite against the real server. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
.venv/bin/gridgov db up
.venv/bin/gridgov db migrate
# Lint and types first: a finding fails the run like a failing test.
.venv/bin/ruff check src tests bench
.venv/bin/mypy src
exec .venv/bin/python -m pytest "$@"
