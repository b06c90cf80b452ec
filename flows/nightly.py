"""Prefect 3 flows: ``nightly`` (every village), ``village`` (one), ``backfill`` (a date range).

Tasks take a village, dates and paths, and return paths, so results cache and retry cleanly;
loading retries on failure; a failing village is reported and the others finish.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture, wait

from aoi import Village
from sensing.base import Source
from sensing.errors import NoDataError

from . import scenes, watch_steps
from .params import Params
from .steps import process_change, process_date, write_indicator_table
from .village_run import VillageRun, check_boundary, failure_reason, usable_dates, with_read_retry

log = logging.getLogger("villagewatch.flows")


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date


def _worth_retrying(task, task_run, state) -> bool:
    """Retry loading only where a retry can help (API or asset unreachable, I/O); not when
    the window has no usable data or the input is bad (ValueError family): those fail the
    same way again, 12 s later."""
    try:
        state.result()
    except (NoDataError, ValueError):
        return False
    except Exception:  # noqa: BLE001 - anything else may be transient
        return True
    return False


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_worth_retrying,
      task_run_name="discover-{village.id}")
def discover(source: Source, village: Village, window: Window, params: Params) -> dict[str, Any]:
    """Load (lazily) the village's scenes; the usable dates per stream and the dropped ones."""
    check_boundary(village)
    streams: dict[str, list[str]] = {}
    dropped: dict[str, str] = {}
    for stream, scene in scenes.load_all(source, village, window.start, window.end).items():
        keep, drop = usable_dates(scene, village, params)
        streams[stream] = keep
        dropped.update(drop)
    return {"streams": streams, "dropped": dropped}


@task(task_run_name="date-{village.id}-{date}-{stream}")
def date_task(source: Source, village: Village, window: Window, date: str, previous: str | None,
              stream: str, out: str, params: Params) -> dict[str, Any]:
    scene = scenes.load_all(source, village, window.start, window.end)[stream]
    r = with_read_retry(process_date, source, village, date, out, params, scene=scene,
                        stream=None if stream == "main" else stream, previous_date=previous,
                        what=f"{village.id} {date}")
    return {"paths": [str(p) for p in r.paths], "indicators": r.indicators, "reused": r.reused}


@task(task_run_name="change-{village.id}-{d_from}-{d_to}-{stream}")
def change_task(source: Source, village: Village, window: Window, d_from: str, d_to: str,
                stream: str, out: str, params: Params) -> dict[str, Any]:
    scene = scenes.load_all(source, village, window.start, window.end)[stream]
    r = with_read_retry(process_change, source, village, d_from, d_to, out, params, scene=scene,
                        stream=None if stream == "main" else stream, what=f"{village.id} {d_from}..{d_to}")
    return {"paths": [str(p) for p in r.paths], "indicators": r.indicators, "reused": r.reused}


@task(task_run_name="watch-{village.id}")
def watch_task(source: Source, village: Village, dates: list[str], out: str, params: Params) -> dict[str, Any]:
    results = watch_steps.run_watches(source, village, out, params, dates)
    return {"paths": [str(p) for r in results for p in r.paths], "reused": all(r.reused for r in results),
            "indicators": {"watches": watch_steps.watch_figures(results)}}


@task(task_run_name="table-{village.id}")
def table_task(village: Village, out: str) -> str:
    return str(write_indicator_table(out, village))


def _submit_village(source, village, window, streams, out, params) -> list[PrefectFuture]:
    futures: list[PrefectFuture] = []
    for stream, dates in streams.items():
        prev_future, by_date = None, {}
        prev_date = None
        for d in dates:
            f = date_task.submit(source, village, window, d, prev_date, stream, out, params,
                                 wait_for=[prev_future] if prev_future else None)
            by_date[d] = f
            futures.append(f)
            prev_future, prev_date = f, d
        for a, b in zip(dates, dates[1:]):
            futures.append(change_task.submit(source, village, window, a, b, stream, out, params,
                                              wait_for=[by_date[a], by_date[b]]))
    if "main" in streams:
        futures.append(watch_task.submit(source, village, streams["main"], out, params, wait_for=list(futures)))
    futures.append(table_task.submit(village, out, wait_for=list(futures)))
    return futures


@flow(name="villagewatch-nightly", log_prints=True)
def nightly(
    villages: Sequence[Village],
    source: Source,
    out: str,
    start: dt.date,
    end: dt.date,
    params: Params = Params(),
    windows: dict[str, tuple[dt.date, dt.date]] | None = None,
) -> list[VillageRun]:
    """Every village's chain, villages in parallel; returns one ``VillageRun`` per village.
    ``windows`` overrides [start, end] per village (incremental runs start at the last success)."""
    logger = get_run_logger()
    win = {v.id: Window(*(windows or {}).get(v.id, (start, end))) for v in villages}
    Path(out).mkdir(parents=True, exist_ok=True)
    discovered = {v.id: discover.submit(source, v, win[v.id], params) for v in villages}
    runs: dict[str, VillageRun] = {v.id: VillageRun(v.id) for v in villages}
    chains: dict[str, list[PrefectFuture]] = {}
    for v in villages:
        fut = discovered[v.id]
        fut.wait()
        if not fut.state.is_completed():
            exc = _exception(fut)
            runs[v.id].status = "no-data" if type(exc).__name__ == "NoDataError" else "failed"
            runs[v.id].reason = failure_reason(exc)
            logger.warning("village %s: %s", v.id, runs[v.id].reason)
            continue
        found = fut.result()
        runs[v.id].dropped_dates = found["dropped"]
        chains[v.id] = _submit_village(source, v, win[v.id], found["streams"], out, params)
    for vid, futs in chains.items():
        wait(futs)
        run = runs[vid]
        for f in futs:
            if not f.state.is_completed():
                exc = _exception(f)
                run.status, run.reason = "failed", run.reason or failure_reason(exc)
                continue
            res = f.result()
            if isinstance(res, str):
                run.products.append(res)
                continue
            run.products += res["paths"]
            run.reused += int(res["reused"])
            ind = res["indicators"]
            run.figures.update(ind.get("watches", {}))
            if "date" in ind and ind.get("stream") == "main":
                run.dates.append(ind["date"])
                run.figures.update(ind)
            if "from" in ind:
                run.figures["vegetation_loss_area_m2"] = (run.figures.get("vegetation_loss_area_m2") or 0.0) + (
                    ind.get("vegetation_loss_area_m2") or 0.0)
        if run.status == "ok" and not run.dates:
            run.status, run.reason = "no-data", "no usable acquisition in the window"
        if run.status == "failed":
            logger.error("village %s failed: %s", vid, run.reason)
    return [runs[v.id] for v in villages]


def _exception(fut: PrefectFuture) -> BaseException:
    try:
        fut.result()
    except BaseException as exc:  # noqa: BLE001 - we report whatever stopped it
        return exc
    return RuntimeError(f"state {fut.state.type}")
