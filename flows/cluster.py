"""The Dask cluster a night computes on: a local one sized to the machine, or an existing one
by address (``--dask-address``), with the two Dask settings a run needs (docs/operations.md)."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

from .errors import ConfigurationError, DaskClusterUnavailableError

log = logging.getLogger("villagewatch.flows")


#: seconds to wait for an existing Dask scheduler before giving up (env VILLAGEWATCH_DASK_TIMEOUT)
DASK_CONNECT_TIMEOUT_S = 20.0


def _connect_timeout() -> float:
    text = os.environ.get("VILLAGEWATCH_DASK_TIMEOUT")
    try:
        return float(text) if text else DASK_CONNECT_TIMEOUT_S
    except ValueError:
        raise ConfigurationError(f"VILLAGEWATCH_DASK_TIMEOUT is not a number of seconds: {text!r}") from None


def local_cluster_threads() -> int:
    """Cores this process may use (CPU affinity and cgroup quota, as Dask counts them)."""
    from dask.system import CPU_COUNT

    return max(1, int(CPU_COUNT or os.cpu_count() or 1))


def _probe_scheduler(address: str, wait: float) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``wait`` seconds, or raise
    ``TimeoutError``/``OSError``. ``distributed``'s own ``connect`` bounds the TCP connect but
    not the handshake, so a port that accepts and never answers (not a Dask scheduler, a
    stuck proxy) would hang ``Client(address, timeout=...)`` for ever."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    from distributed.comm import connect

    async def probe() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=wait), wait)
        await comm.close()

    pool = ThreadPoolExecutor(1, thread_name_prefix="dask-probe")  # works inside a running event loop too
    try:
        pool.submit(asyncio.run, probe()).result(timeout=wait + 5)
    except FutureTimeout:
        raise TimeoutError(f"no answer from {address} after {wait:g} s") from None
    finally:
        pool.shutdown(wait=False)


@contextlib.contextmanager
def dask_client(address: str | None = None, *, timeout: float | None = None) -> Iterator[object]:
    """A ``dask.distributed`` client, the default scheduler of every Dask computation in this
    process (Prefect's task threads included) while the block runs.

    ``address`` given: the existing cluster whose scheduler listens there (``tcp://host:8786``);
    if it does not answer within ``timeout`` seconds (default ``VILLAGEWATCH_DASK_TIMEOUT`` or
    20 s) a ``DaskClusterUnavailableError`` names the address, instead of a hang.
    No address: a local cluster sized to the machine, one worker with a thread per core in
    this process (no pickling or copying of arrays between processes; GDAL and NumPy release
    the GIL). See docs/operations.md for what runs where.

    Low-level graph fusion is off inside the block: concurrent tasks compute graphs that
    share keys (every date of a village comes from one lazy scene), and fusion gives the same
    key a different task in each graph (a fused ``_execute_subgraph`` here, a plain
    ``getitem`` there), which the scheduler cannot reconcile ("Detected different run_spec",
    then KeyErrors; dask/dask#9888). Without it every key means one task.

    The worker's statistical profiler is off too: it samples every thread's stack with
    ``sys._current_frames()`` every 10 ms, and on CPython 3.11 that deadlocks against threads
    being created and torn down (python/cpython#106883), which a Prefect run does all night
    (a nightly demo run hung with every thread waiting for the GIL)."""
    import dask
    import distributed  # noqa: F401  (loads its config defaults first: leaving the block restores them)

    with dask.config.set({"optimization.fuse.active": False, "distributed.worker.profile.enabled": False}):
        yield from _client(address, timeout)


def _client(address: str | None, timeout: float | None) -> Iterator[object]:
    from distributed import Client, LocalCluster

    if address:
        wait = _connect_timeout() if timeout is None else timeout
        try:
            _probe_scheduler(address, wait)
            client = Client(address, timeout=wait, set_as_default=True)
        except ValueError as exc:
            raise DaskClusterUnavailableError(
                f"--dask-address {address!r} is not a Dask scheduler address ({exc}); "
                "expected e.g. tcp://scheduler:8786") from exc
        except (OSError, TimeoutError) as exc:
            raise DaskClusterUnavailableError(
                f"cannot reach the Dask scheduler at {address} within {wait:g} s "
                f"({type(exc).__name__}: {exc}); is the cluster running, and is --dask-address "
                "(or VILLAGEWATCH_DASK_ADDRESS) its scheduler address?") from exc
        with client:
            workers = client.scheduler_info().get("workers", {})
            log.info("Dask: using the cluster at %s (%d workers, %d threads)", address, len(workers),
                     sum(w.get("nthreads", 0) for w in workers.values()))
            yield client
        return
    n = local_cluster_threads()
    with LocalCluster(n_workers=1, threads_per_worker=n, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            yield client
