#!/usr/bin/env bash
# Set up (with test extras and Chromium), then run the whole test suite.
# Usage: scripts/test.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PREFECT_SERVER_ANALYTICS_ENABLED=false
# two workers (pytest-xdist) on the 2-core machines we run on; VILLAGEWATCH_TEST_WORKERS=0 runs in
# one process. The session's demo night is built once and shared by the workers (tests/conftest.py).
exec .venv/bin/python -m pytest -n "${VILLAGEWATCH_TEST_WORKERS:-2}" "$@"
