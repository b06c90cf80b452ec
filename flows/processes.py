"""Batches in worker processes: a night's batches of small villages (``flows.batches``) on a
local ``dask.distributed`` cluster of one single-threaded worker process per core.

A batch is mostly Python (xarray bookkeeping, GeoJSON, manifests, the demo's rendering) that
holds the GIL: in threads of one process a night used about 1.25 of 2 cores. In a process
per core the batches run side by side. The plain and the Prefect executors hand every batch to
:func:`submit` while a :func:`batch_pool` is active; the batch then runs
``flows.batches.run_batch`` in a worker (its own Dask computations on the worker's threads,
``dask.config`` ``scheduler="threads"``: a worker never submits to its own cluster) and returns
its ``VillageRun`` records and its log records, which are logged again in the caller (in a
Prefect run, under the batch's task run: the logs say which village and date, when the batch
ends). Without a pool (one core, a tiny night, ``VILLAGEWATCH_BATCH_PROCESSES=0``, a cluster given
by address, a source that cannot be pickled) a batch runs in the caller's process, as before.
The products are the same bytes either way (tested).
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import pickle
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from aoi import Village
from sensing.base import Source

from . import batches
from .params import Params
from .plan import NightPlan
from .results import VillageRun

log = logging.getLogger("villagewatch.flows")

#: ``VILLAGEWATCH_BATCH_PROCESSES``: ``auto`` (the default: one worker per core on two cores or
#: more, from :data:`MIN_VILLAGES` small villages), ``0`` never, ``1`` always, ``N`` N workers
ENV = "VILLAGEWATCH_BATCH_PROCESSES"
#: batches per worker a night is cut into at least (neighbours stay together up to
#: ``batches.BATCH_VILLAGES``): a worker that finishes early takes the next batch (:class:`_Gate`);
#: the smaller the batches, the less one worker waits for the other at the end (an 11-village
#: demo night on 2 workers: its villages cost 4.9 to 12.0 CPU-s each; in 5 batches one worker
#: had 57 CPU-s of work and the other 45; in 11 batches of one village, 47 and 41)
BATCHES_PER_WORKER = 6
#: a night of fewer small villages runs its batches in this process (by default)
MIN_VILLAGES = 4
#: the logger whose records a worker sends back (``villagewatch.flows``, ``villagewatch.*``)
LOGGER = "villagewatch"


def workers_wanted(n_villages: int, *, cores: int | None = None, setting: str | None = None) -> int:
    """Worker processes for a night of ``n_villages`` small villages: 0 (run in this process)
    on a single core, for a tiny night (under :data:`MIN_VILLAGES`: starting the workers and
    their imports would cost more than they win) or with ``VILLAGEWATCH_BATCH_PROCESSES=0``;
    else one per core (``1``: even for a tiny night; ``N``: N workers), at most one per batch."""
    from .cluster import local_cluster_threads
    from .errors import ConfigurationError

    text = (os.environ.get(ENV, "auto") if setting is None else setting).strip().lower()
    cores = local_cluster_threads() if cores is None else cores
    if text in ("", "auto"):
        n = cores if cores >= 2 and n_villages >= MIN_VILLAGES else 0
    elif text in ("0", "no", "off", "false"):
        n = 0
    elif text in ("1", "yes", "on", "true"):
        n = max(cores, 2)
    else:
        try:
            n = int(text)
        except ValueError:
            raise ConfigurationError(f"{ENV} is not 0, 1, auto or a number of workers: {text!r}") from None
    return min(n, n_villages) if n >= 2 and n_villages >= 2 else 0


def batch_size(n_villages: int, workers: int) -> int:
    """Villages per batch: :data:`batches.BATCH_VILLAGES`, or fewer so that ``workers``
    processes get at least :data:`BATCHES_PER_WORKER` batches each."""
    if workers < 2:
        return batches.BATCH_VILLAGES
    return max(1, min(batches.BATCH_VILLAGES, math.ceil(n_villages / (workers * BATCHES_PER_WORKER))))


# --------------------------------------------------------------------------- in the worker
class _Collect(logging.Handler):
    """Keeps the records of a batch (their message formatted, picklable) to send back."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


def run_in_worker(villages: Sequence[Village], plan: NightPlan, source: Source, out: str, params: Params,
                  level: int) -> tuple[list[VillageRun], list[logging.LogRecord]]:
    """``batches.run_batch`` in a worker process: its Dask computations on the process's own
    threads; its runs and its log records (``level`` and above)."""
    import dask

    logger = logging.getLogger(LOGGER)
    handler = _Collect()
    handler.setLevel(level)
    logger.addHandler(handler)
    old = logger.level, logger.propagate
    logger.setLevel(level)
    logger.propagate = False  # sent back, not printed by the worker too
    try:
        with dask.config.set({"scheduler": "threads", "optimization.fuse.active": False}):
            runs = batches.run_batch(villages, plan, source, out, params)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]
    return runs, handler.records


def _warm() -> None:
    """Import the pipeline in a worker while the night is being planned."""
    from . import work  # noqa: F401
    from .publish import publish_village  # noqa: F401


# --------------------------------------------------------------------------- in the caller
def _replay(records: Sequence[logging.LogRecord]) -> None:
    """A worker's records, logged again here (in the caller's context: a Prefect task run's)."""
    for r in records:
        logging.getLogger(r.name).handle(r)


class _Gate:
    """At most ``slots`` batches handed to the worker processes at once, the costliest waiting
    batch first (longest processing time first, Graham 1969). Dask assigns a task of unknown
    duration to a worker as soon as it is submitted: with every batch submitted at the start,
    one worker of a demo night was left with 65 CPU-s of batches and the other with 34
    (measured); handed out one per free worker, the batches finish together."""

    def __init__(self, slots: int) -> None:
        self._cond = threading.Condition()
        self._free = slots
        self._waiting: list[tuple[float, int]] = []
        self._order = itertools.count()

    def acquire(self, cost: float) -> None:
        with self._cond:
            me = (-cost, next(self._order))
            heapq.heappush(self._waiting, me)
            while not (self._free and self._waiting[0] == me):
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            self._cond.notify_all()  # a slot may still be free for the next waiter

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()


class BatchPool:
    """A local cluster of ``workers`` single-threaded worker processes for the night's batches,
    started in the background (the first :meth:`submit` waits for it); a batch goes to a
    worker when one is free (:class:`_Gate`)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.gate = _Gate(workers)
        self._ready = threading.Event()
        self._cluster: Any = None
        self._client: Any = None
        self._error: BaseException | None = None
        self._warm: list[Any] = []
        self._thread = threading.Thread(target=self._start, name="villagewatch-batch-pool", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster

            # Dask's default MALLOC_TRIM_THRESHOLD_ for workers turns off glibc's adaptive mmap
            # threshold: every large NumPy array is then mapped and unmapped afresh (measured:
            # 20x the page faults, a quarter of the workers' CPU time in the kernel)
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=":0")
            self._client = Client(self._cluster, set_as_default=False)
            self._warm = [self._client.submit(_warm, workers=[w], pure=False, allow_other_workers=False)
                          for w in self._client.scheduler_info()["workers"]]
        except BaseException as exc:  # noqa: BLE001 - the batches then run in this process
            self._error = exc
        finally:
            self._ready.set()

    def client(self) -> Any:
        self._ready.wait()
        if self._error is not None:
            return None
        return self._client

    def close(self) -> None:
        self._thread.join()
        for obj in (self._client, self._cluster):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()


_active: BatchPool | None = None
_active_lock = threading.Lock()


@contextlib.contextmanager
def batch_pool(plan: NightPlan, source: Source, *, dask_address: str | None = None) -> Iterator[BatchPool | None]:
    """While the block runs, :func:`submit` sends batches to worker processes (when
    :func:`workers_wanted` says so for the plan's batches; not with a cluster by address, whose
    workers compute the arrays instead, nor for a source that cannot be pickled)."""
    global _active
    small, _ = batches.split(plan)
    n = workers_wanted(len(small))
    if n and dask_address:
        log.info("batches run in this process: the Dask cluster at %s computes the arrays", dask_address)
        n = 0
    if n:
        try:
            pickle.dumps(source)
        except Exception as exc:  # noqa: BLE001 - any pickling failure
            log.info("batches run in this process: the %s source cannot go to a worker process (%s)",
                     getattr(source, "kind", "source"), exc)
            n = 0
    if not n:
        yield None
        return
    pool = BatchPool(n)
    with _active_lock:
        _active = pool
    try:
        yield pool
    finally:
        with _active_lock:
            _active = None
        pool.close()


def make_batches(small: Sequence[Village]) -> list[batches.Batch]:
    """The night's batches: :func:`batches.make_batches`, smaller while a pool is active so that
    every worker gets several; the costliest first (``Batch.cost``), the order the executors
    submit them in, so that the workers finish together."""
    pool = _active
    made = batches.make_batches(small, size=batch_size(len(small), pool.workers if pool else 0))
    return sorted(made, key=lambda b: -b.cost)


class _Here:
    """A batch to run in this process when its result is asked for."""

    def __init__(self, fn: Callable[[], list[VillageRun]]) -> None:
        self._fn = fn

    def result(self) -> list[VillageRun]:
        return self._fn()


class _There:
    """A batch running in a worker process."""

    def __init__(self, future: Any, batch: batches.Batch) -> None:
        self._future, self._batch = future, batch

    def result(self) -> list[VillageRun]:
        runs, records = self._future.result()
        _replay(records)
        return runs


def submit(batch: batches.Batch, plan: NightPlan, source: Source, out: str | Path, params: Params = Params()):
    """The batch's nights (``batches.run_batch``), in a worker process while a pool is active,
    else in this process: an object whose ``result()`` gives the batch's ``VillageRun`` list
    (and, from a worker, logs its records here first)."""
    client = _active.client() if _active is not None else None
    if client is None:
        return _Here(lambda: batches.run_batch(batch.villages, plan, source, out, params))
    level = logging.getLogger(LOGGER).getEffectiveLevel()
    gate = _active.gate
    gate.acquire(batch.cost)
    try:
        fut = client.submit(run_in_worker, batch.villages, plan, source, str(out), params, level,
                            key=f"{batch.id}-{os.getpid()}-{id(batch)}", pure=False, retries=0)
    except BaseException:
        gate.release()
        raise
    fut.add_done_callback(lambda _: gate.release())
    return _There(fut, batch)
