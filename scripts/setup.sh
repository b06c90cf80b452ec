#!/usr/bin/env bash
# Set up villagewatch in ./.venv from the locked requirements (idempotent, fast on re-run).
# Usage: scripts/setup.sh [--test]   (--test adds the test extras and the system packages the tests use)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" - <<'PYEOF' || { echo "villagewatch needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYEOF
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv>=0.5"
fi
LOCK=requirements.lock
stamp=.venv/.villagewatch-installed
want="$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)-bytecode${1:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # bytecode compiled at install (every package in the environment): the night's worker
  # processes run with -B (they never write .pyc), so without it each worker compiled
  # matplotlib and the rest from source at every run (about 0.9 CPU-s a worker)
  .venv/bin/uv pip install -q --python .venv/bin/python --compile-bytecode -r "$LOCK"
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  echo "$want" > "$stamp"
fi
.venv/bin/python -m compileall -q -j 0 aoi sensing indices flows > /dev/null  # ours too (fast when up to date)
if [ "${1:-}" = "--test" ]; then
  bash scripts/system-packages.sh
fi
