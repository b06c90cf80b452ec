#!/usr/bin/env bash
# Set up, then run the nightly flow on the embedded demo for every pilot village.
# Usage: scripts/demo.sh [OUT] [extra villagewatch nightly options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
OUT=${1:-out}
shift || true
export PREFECT_SERVER_ANALYTICS_ENABLED=false
exec .venv/bin/villagewatch nightly --source demo --out "$OUT" "$@"
