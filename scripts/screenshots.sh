#!/usr/bin/env bash
# Refresh the user guide's pictures (docs/images/*.png): the browser test of every workspace page, at 1366×768,
# on the sample street, writing its screenshots there. Run after changing a page, then look at them.
set -euo pipefail
cd "$(dirname "$0")/.."
GRIDGOV_SCREENSHOTS="$PWD/docs/images" .venv/bin/python -m pytest -q tests/web/test_screenshots.py
