"""Run the nightly chain with or without Prefect, on a local or existing Dask cluster."""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

from aoi import Village
from sensing.base import Source

from . import state
from .atomic import clean_stale_temporaries
from .params import Params
from .village_run import VillageRun, run_village

log = logging.getLogger("villagewatch.flows")


@contextlib.contextmanager
def dask_client(address: str | None = None) -> Iterator[object]:
    """A ``dask.distributed`` client: to ``address`` if given, else a small local cluster
    sized to the machine (threads in this process, so Prefect's threads share it)."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            log.info("Dask: using the cluster at %s", address)
            yield client
        return
    n = max(1, os.cpu_count() or 1)
    with LocalCluster(n_workers=1, threads_per_worker=n, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def run_plain(villages: Sequence[Village], source: Source, out: Path, start: dt.date, end: dt.date,
              params: Params = Params(), *, dask_address: str | None = None,
              incremental: bool = False) -> list[VillageRun]:
    """Every village in turn without Prefect (progress bar on a terminal)."""
    from tqdm import tqdm

    clean_stale_temporaries(out)
    win = state.windows([v.id for v in villages], out, start, end, incremental=incremental)
    runs = []
    with dask_client(dask_address):
        bar = tqdm(villages, desc="villages", unit="village", disable=not sys.stderr.isatty())
        for v in bar:
            bar.set_postfix_str(v.id)
            runs.append(run_village(source, v, *win[v.id], out, params))
    return runs


def run_prefect(villages: Sequence[Village], source: Source, out: Path, start: dt.date, end: dt.date,
                params: Params = Params(), *, dask_address: str | None = None,
                incremental: bool = False) -> list[VillageRun]:
    """The Prefect ``nightly`` flow (an ephemeral API server unless PREFECT_API_URL is set)."""
    from .nightly import nightly

    clean_stale_temporaries(out)
    win = state.windows([v.id for v in villages], out, start, end, incremental=incremental)
    with dask_client(dask_address):
        return nightly(list(villages), source, str(out), start, end, params, windows=win)


def finish_run(out: Path, villages: Sequence[Village], runs: Sequence[VillageRun]) -> None:
    """Record the run in ``state.json``, then publish the STAC catalog and the download page."""
    state.record(out, runs)
    from .api import write_run_table

    write_run_table(out)
    try:
        from .publish import publish
    except ImportError:  # publishing not installed in this build
        return
    publish(out, villages, runs)
