"""Benchmark 5: a county of many villages: villages per hour, peak memory and Prefect task
runs at 11, 100 and 300 villages, on the in-process Dask cluster and on a LocalCluster by
address.

Each size is a synthetic county (``aoi.county``, fixed seed) written once as a registry into
``benchmarks/.cache/``; the measured command is the nightly demo flow over that registry,
``villagewatch nightly --source demo --registry COUNTY --out DIR`` (Prefect, ephemeral API
server, private ``PREFECT_HOME`` as in benchmark 3), each run into a fresh output folder:

* ``in-process``: the flow's own local cluster (one worker, a thread per core, in the flow's
  process: ``flows.cluster.dask_client``) and its batches in one worker process per core
  (``flows.processes``);
* ``by-address``: a ``distributed.LocalCluster`` started beforehand in its own process
  (``python bench_county.py cluster``: one worker, a thread per core, no nanny), used with
  ``--dask-address``; its wall, CPU and peak memory are measured too (``_measure.Background``).

Sizes per mode: by default (``run_all.py``'s full mode) in-process runs 11, 100 and 300
villages and by-address 11 and 100 only (``BY_ADDRESS_SIZES_WHY``); ``run_all.py
--county-sizes-by-address`` sets by-address's sizes, and the report says which sizes each
mode ran and why.

From each run: wall time, villages per hour (villages / wall), CPU time and peak RSS of the
flow's process and its worker processes (and of the cluster's), the sampled peak of them all, GeoTIFFs written, and from the Prefect database the
task runs (``bench_nightly.prefect_stats``).

Stdlib only at import (``run_all.py`` imports it); sub-commands ``registry`` and ``cluster``
run in their own processes.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 15
MODES = ("in-process", "by-address")
#: why by-address runs fewer sizes than in-process by default (said in the report)
BY_ADDRESS_SIZES_WHY = ("by-address stops at 100 villages by default: a 300-village night takes about 25 min a run "
                        "on this machine, so by-address at 300 villages too (twice) would add close to an hour to "
                        "one regeneration of this report; `run_all.py --county-sizes-by-address` sets its sizes")


def sizes_by_mode(sizes: list[int], modes: list[str], mode_sizes: dict[str, list[int]] | None) -> dict[str, list[int]]:
    """Per mode, the county sizes it runs: ``mode_sizes[mode]`` where given, else ``sizes``."""
    return {m: sorted((mode_sizes or {}).get(m, sizes)) for m in modes}


def registry_path(cache: Path, villages: int) -> Path:
    return cache / f"county_{villages}_seed{SEED}.geojson"


def registry_command(python: str, cache: Path, villages: int) -> list[str]:
    """Writes the county's registry (``aoi.county``) unless it is there already."""
    return [python, str(Path(__file__).resolve()), "registry", "--villages", str(villages), "--out",
            str(registry_path(cache, villages))]


def command(villagewatch: str, registry: Path, out: Path, *, dask_address: str | None = None,
            window: tuple[str, str] | None = None) -> list[str]:
    cmd = [villagewatch, "nightly", "--source", "demo", "--registry", str(registry), "--out", str(out)]
    if window:
        cmd += ["--start", window[0], "--end", window[1]]
    if dask_address:
        cmd += ["--dask-address", dask_address]
    return cmd


def cluster_command(python: str, threads: int) -> list[str]:
    return [python, str(Path(__file__).resolve()), "cluster", "--threads", str(threads)]


def villages_per_hour(villages: int, wall_s: float) -> float:
    return villages / wall_s * 3600.0


def _registry(villages: int, out: Path) -> None:
    from aoi.county import CountySpec, make_county

    if not out.exists():
        make_county(CountySpec(villages=villages, seed=SEED)).write(out)
    print(json.dumps({"registry": str(out), "villages": villages}))


def _cluster(threads: int) -> None:
    """A LocalCluster like ``flows.cluster`` makes (one worker, ``threads`` threads, no
    nanny, profiler and fusion as the flow sets them), serving until SIGTERM; prints its
    scheduler address first."""
    import dask
    from distributed import LocalCluster

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with dask.config.set({"optimization.fuse.active": False, "distributed.worker.profile.enabled": False}):
        with LocalCluster(n_workers=1, threads_per_worker=threads, processes=False, protocol="tcp",
                          host="127.0.0.1", dashboard_address=None) as c:
            print(c.scheduler_address, flush=True)
            stop.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("registry")
    r.add_argument("--villages", type=int, required=True)
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("cluster")
    c.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    if a.cmd == "registry":
        _registry(a.villages, a.out)
    else:
        _cluster(a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
