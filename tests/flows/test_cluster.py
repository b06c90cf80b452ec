"""``--dask-address``: the nightly chain's Dask work runs on an existing cluster, found by its
scheduler address (a ``distributed.LocalCluster`` of worker *processes* started here), with and
without Prefect, and gives the same bytes as the default local cluster; the scheduler's task
stream proves the Dask work ran in the workers (a village-sized date's products are computed
with NumPy in the flow's process once its bands are read: flows.scenes). A dead or mute address is a clear error naming
it, within the connect timeout, never a hang."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from flows.products.atomic import sha256_file
from flows.cli import main

pytestmark = pytest.mark.slow

VILLAGE = "meijiang-sanjiao-pankeng"
#: three passes of the default night (2025-11-02, -07, -12; the forest cleared on 11-09) with
#: their quarter's same-season baseline, alerts and month: enough to exercise every step
WINDOW = ["--start", "2025-11-01", "--end", "2025-11-12"]
#: the run's bookkeeping (times of the run), not products
NOT_PRODUCTS = {"state.json"}


def _args(out: Path, *extra: str) -> list[str]:
    return ["nightly", "--source", "demo", "--villages", VILLAGE, "--out", str(out), *WINDOW, *extra]


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name not in NOT_PRODUCTS}


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes behind a scheduler that listens on a TCP port."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as c:
        yield c


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    """The same night on the default local cluster (threads in this process): every file but
    ``state.json`` (times of the run), catalog and download page included."""
    out = tmp_path_factory.mktemp("local")
    assert main(_args(out, "--no-prefect")) == 0
    digests = _digests(out)
    assert any(k.endswith("ndvi.tif") for k in digests) and any("/change/" in k for k in digests)
    assert any("/baseline/" in k for k in digests) and any(k.endswith("vegetation_loss_alerts.geojson") for k in digests)
    return digests


def _run_on(cluster, argv: list[str]) -> list[dict]:
    """Run the CLI against the cluster's address; the task-stream records of what ran meanwhile."""
    from distributed import Client, get_task_stream

    with Client(cluster.scheduler_address) as client, get_task_stream(client) as stream:
        assert main([*argv, "--dask-address", cluster.scheduler_address]) == 0
        pids = client.run(os.getpid)
    records = stream.data
    assert records, "no task ran on the cluster"
    workers = set(cluster.scheduler.workers)
    assert {r["worker"] for r in records} <= workers
    assert os.getpid() not in pids.values(), "the workers are other processes"
    return records


def _prefixes(records: list[dict]) -> set[str]:
    from dask.utils import key_split

    return {key_split(r["key"]) for r in records}


def test_plain_run_on_an_existing_cluster_gives_the_same_bytes_and_runs_there(cluster, reference, tmp_path):
    out = tmp_path / "out"
    records = _run_on(cluster, _args(out, "--no-prefect"))
    assert _digests(out) == reference
    # the demo's band rendering, the change arithmetic and the reads of COGs the run had already
    # written (the watches) ran in the workers; a village-sized date is read from the cluster
    # once and its products (the black-odorous colour kernel among them) are computed with NumPy
    # in the flow's process (flows.scenes.compute_route)
    prefixes = _prefixes(records)
    assert {"demo_render", "open_rasterio"} <= prefixes, sorted(prefixes)
    assert "kernel" not in prefixes, sorted(prefixes)
    assert len(records) >= 50, len(records)


def test_prefect_run_on_an_existing_cluster_gives_the_same_bytes_and_runs_there(cluster, reference, tmp_path,
                                                                                prefect_server):
    out = tmp_path / "out"
    records = _run_on(cluster, _args(out))
    assert _digests(out) == reference
    assert "demo_render" in _prefixes(records)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["closed-port", "mute-listener", "not-an-address"])
def test_unreachable_dask_address_is_a_clear_error_not_a_hang(kind, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VILLAGEWATCH_DASK_TIMEOUT", "2")
    mute = None
    if kind == "closed-port":
        address = f"tcp://127.0.0.1:{_closed_port()}"
    elif kind == "mute-listener":  # accepts the connection, never speaks Dask
        mute = socket.socket()
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        address = f"tcp://127.0.0.1:{mute.getsockname()[1]}"
    else:
        address = "bogus://127.0.0.1:8786"  # no such Dask protocol
    out = tmp_path / "out"
    t0 = time.monotonic()
    try:
        rc = main(_args(out, "--no-prefect", "--dask-address", address))
    finally:
        if mute is not None:
            mute.close()
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "villagewatch: error:" in err and address in err, err
    assert elapsed < 15, elapsed
    assert not list(out.rglob("*.tif")), "nothing computed without a cluster"
