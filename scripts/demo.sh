#!/usr/bin/env bash
# The README's main-job command: set up, start the embedded PostGIS, load and assign the sample
# street, write the maps under maps/ (kept when neither the data nor the options changed), and serve the API and
# pages at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
gg=.venv/bin/gridgov
$gg db up
$gg db migrate
[ -f geodata/sample/sample_meta.json ] || $gg sample generate
$gg sample load --skip-existing
$gg assign
$gg map grid -o maps/grid.html --if-changed
$gg map coverage -o maps/coverage.html --if-changed
$gg map patrol -o maps/patrol.html --if-changed
echo "gridgov: http://${GRIDGOV_HOST:-127.0.0.1}:${GRIDGOV_PORT:-8000}/"
exec $gg serve
