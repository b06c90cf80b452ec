"""A demo output shared by the notebook and API tests: three villages run once per session
with the plain (no Prefect) runner, then published like a nightly run.

Load it in a test module with ``pytest_plugins = ["_demo_out"]`` (one fixture definition for
the whole session, so the run happens once however many modules use it).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

#: three demo villages (different counties, so different scenes and planted changes)
VILLAGES = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei", "yingde-xiniu-tangmian")
START, END = dt.date(2024, 1, 1), dt.date(2025, 12, 31)


@pytest.fixture(scope="session")
def demo_villages_3():
    registry = pytest.importorskip("aoi.registry", reason="aoi.registry (the village registry) is not available")
    return registry.load_villages(ids=list(VILLAGES))


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory, demo_villages_3) -> Path:
    """``OUT`` of ``villagewatch nightly --source demo --no-prefect`` for :data:`VILLAGES` (with the
    drone stream, as the CLI runs the demo)."""
    from flows.params import Params
    from flows.runner import finish_run, run_plain
    from sensing.demo import DemoSource

    out = tmp_path_factory.mktemp("demo_out")
    runs = run_plain(demo_villages_3, DemoSource(drone_stream=True), out, START, END, Params())
    failed = {r.village_id: r.reason for r in runs if r.status != "ok"}
    assert not failed, f"demo run failed: {failed}"
    finish_run(out, demo_villages_3, runs)
    return out
