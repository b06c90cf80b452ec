"""Batches in worker processes (flows.processes): when a night uses them, how its villages are
cut into batches, and that a night whose batches ran in other processes writes the same bytes
as the session's demo night (threads in one process) and logs, here, which village and date
each worker computed."""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from flows import batches, processes
from flows.errors import ConfigurationError

START, END = dt.date(2025, 11, 1), dt.date(2025, 12, 3)  # the demo night's window (conftest)


def test_a_pool_is_used_from_a_few_villages_on_two_cores_or_when_asked():
    wanted = processes.workers_wanted
    assert wanted(11, cores=2, setting="auto") == 2
    assert wanted(300, cores=8, setting="") == 8
    assert wanted(processes.MIN_VILLAGES - 1, cores=2, setting="auto") == 0  # a tiny night stays here
    assert wanted(11, cores=1, setting="auto") == 0  # one core: nothing to win
    assert wanted(11, cores=2, setting="0") == 0
    assert wanted(2, cores=1, setting="1") == 2  # asked for: even a tiny night, even on one core
    assert wanted(1, cores=4, setting="1") == 0  # one village is one batch
    assert wanted(3, cores=2, setting="8") == 3  # at most one worker per village
    with pytest.raises(ConfigurationError, match="VILLAGEWATCH_BATCH_PROCESSES"):
        wanted(11, cores=2, setting="many")


def test_batches_are_cut_so_that_each_worker_gets_several():
    assert processes.batch_size(11, 0) == batches.BATCH_VILLAGES  # no pool: batches as before
    assert processes.batch_size(11, 2) == 1  # ceil(11 / (2 workers x 6))
    assert processes.batch_size(100, 2) == 9
    assert processes.batch_size(300, 2) == 25  # ceil(300 / 12)
    assert processes.batch_size(1000, 2) == batches.BATCH_VILLAGES  # never above the batch size
    assert processes.batch_size(2, 2) == 1


def _wait_for(cond, timeout: float = 5.0) -> bool:
    import time

    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True


def test_the_gate_hands_a_free_worker_the_costliest_waiting_batch():
    """One worker, busy; five batches arrive: each freed slot goes to the costliest waiting
    batch (ties in arrival order)."""
    import threading

    gate = processes._Gate(1)
    gate.acquire(0.0)
    started: list[str] = []
    threads = []
    for name, cost in [("a", 3.0), ("b", 9.0), ("c", 1.0), ("d", 9.0), ("e", 5.0)]:
        threads.append(threading.Thread(target=lambda n=name, c=cost: (gate.acquire(c), started.append(n))))
        threads[-1].start()
        assert _wait_for(lambda: len(gate._waiting) == len(threads))  # queued in this order
    for k in range(1, 6):
        gate.release()
        assert _wait_for(lambda: len(started) == k)
    for t in threads:
        t.join(5)
    assert started == ["b", "d", "e", "a", "c"]


def test_the_gate_lets_as_many_batches_run_as_there_are_workers():
    import threading

    gate = processes._Gate(2)
    gate.acquire(1.0)
    gate.acquire(1.0)  # two workers, two batches: no waiting
    third = threading.Thread(target=gate.acquire, args=(5.0,))
    third.start()
    assert not _wait_for(lambda: not third.is_alive(), timeout=0.2)  # waits for a free worker
    gate.release()
    assert _wait_for(lambda: not third.is_alive())


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_batches_in_worker_processes_write_the_bytes_of_threads(demo_out, demo_villages, demo_source, tmp_path,
                                                                 monkeypatch, caplog):
    """Two villages of the session's demo night, one batch each in its own worker process
    (``VILLAGEWATCH_BATCH_PROCESSES=1``), plain executor: every file of their folders has the
    bytes of the session night's (Prefect, threads of one process)."""
    from flows.params import Params
    from flows.runner import finish_run, run_plain

    vs = demo_villages[1:3]
    monkeypatch.setenv(processes.ENV, "1")
    caplog.set_level(logging.INFO, logger="villagewatch")
    out = tmp_path / "out"
    runs = run_plain(vs, demo_source, out, START, END, Params())
    assert [r.status for r in runs] == ["ok", "ok"]
    finish_run(out, vs, runs)
    # the workers' records were logged here, with the village and the date, from their own processes
    worked = {(r.process, r.getMessage().split(":")[0]) for r in caplog.records
              if "computing indicators" in r.getMessage()}
    assert {pid for pid, _ in worked} and os.getpid() not in {pid for pid, _ in worked}
    assert len({pid for pid, _ in worked}) == 2  # one batch in each worker
    assert {w.split()[0] for _, w in worked} == {v.id for v in vs}
    assert all(len(w.split()) == 2 and w.split()[1].startswith("2025-") for _, w in worked)
    for v in vs:
        mine, session = _files(out / v.id), _files(demo_out / v.id)
        assert len(mine) > 100 and mine.keys() == session.keys()
        assert [k for k in mine if mine[k] != session[k]] == []


def test_the_nights_batches_come_costliest_first():
    """``processes.make_batches`` (what both executors submit, in its order): the batches of
    ``batches.make_batches``, largest bounding-box area first (no pool: no smaller cut)."""
    from aoi.county import CountySpec, make_county

    villages = make_county(CountySpec(villages=60, seed=15)).villages
    got = processes.make_batches(villages)
    costs = [sum(batches.bbox_km2(v) for v in b.villages) for b in got]
    assert len(got) > 1 and costs == sorted(costs, reverse=True) and costs[0] > costs[-1]
    assert sorted(b.id for b in got) == sorted(b.id for b in batches.make_batches(villages))
