"""The Prefect executor: the same plan as ``flows.execute_plain``, as a Prefect 3 flow.

``nightly`` discovers every village (a task, retried where a retry can help), then submits
each village's steps as tasks that wait for the steps they need (``Step.needs``), villages in
parallel; a failing village is reported and the others finish. Tasks take the plan's steps and
return the steps' results (``flows.results``), aggregated by ``VillageRun.add`` as in a plain run.
"""
from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture, wait

from aoi import Village
from sensing.base import Source
from sensing.errors import NoDataError

from . import batches, prefect_api, processes
from .params import Params
from .plan import NightPlan, Step, VillagePlan, Window, plan_village
from .results import StepResult, VillageRun
from .retry import failure_reason
from .work import run_step

log = logging.getLogger("villagewatch.flows")


def _worth_retrying(task, task_run, state) -> bool:
    """Retry discovery only where a retry can help (API or asset unreachable, I/O); not when
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
def discover(source: Source, village: Village, window: Window, params: Params,
             cropland: str | None = None) -> VillagePlan:
    """The village's plan: its scenes loaded lazily, the usable dates per stream."""
    return plan_village(source, village, window, params, cropland)


@task(task_run_name="step")
def step_task(step: Step, plan: VillagePlan, source: Source, out: str, params: Params) -> list[StepResult]:
    return run_step(step, plan, source, out, params)


def _submit(plan: VillagePlan, source: Source, out: str, params: Params) -> list[PrefectFuture]:
    futures: dict[str, PrefectFuture] = {}
    for step in plan.steps():
        futures[step.id] = step_task.with_options(task_run_name=step.id.replace(":", "-")).submit(
            step, plan, source, out, params, wait_for=[futures[n] for n in step.needs] or None)
    return list(futures.values())


def _exception(fut: PrefectFuture) -> BaseException:
    try:
        fut.result()
    except BaseException as exc:  # noqa: BLE001 - we report whatever stopped it
        return exc
    return RuntimeError(f"state {fut.state.type}")


@task(task_run_name="{batch.id}")
def batch_task(batch: batches.Batch, plan: NightPlan, source: Source, out: str, params: Params) -> list[VillageRun]:
    """The nights of a batch of small villages (``flows.batches``): one task, not one per step."""
    return processes.submit(batch, plan, source, out, params).result()  # in a worker process when a pool is active


def _batch_runs(fut: PrefectFuture, batch: batches.Batch) -> list[VillageRun]:
    fut.wait()
    if fut.state.is_completed():
        return fut.result()
    reason = failure_reason(_exception(fut))
    return [VillageRun(v.id, status="failed", reason=reason) for v in batch.villages]


@flow(name="villagewatch-nightly", log_prints=True)
def nightly(plan: NightPlan, source: Source, out: str, params: Params = Params()) -> list[VillageRun]:
    """Every village's chain, villages in parallel; one ``VillageRun`` per village. Small
    villages run in batches, one task each (``flows.batches``)."""
    logger = get_run_logger()
    Path(out).mkdir(parents=True, exist_ok=True)
    whole, (small, plan) = plan, batches.split(plan)  # small villages in batches, the others step by step
    batched = {b: batch_task.submit(b, whole, source, out, params)  # the largest first: the workers finish together
               for b in processes.make_batches(small)}
    discovered = {v.id: discover.submit(source, v, w, params, plan.cropland.get(v.id)) for v, w in plan}
    runs = {v.id: VillageRun(v.id) for v in plan.villages}
    chains: dict[str, list[PrefectFuture]] = {}
    for v in plan.villages:
        fut = discovered[v.id]
        fut.wait()
        if not fut.state.is_completed():
            exc = _exception(fut)
            runs[v.id].fail(failure_reason(exc), status="no-data" if isinstance(exc, NoDataError) or type(exc).__name__ == "NoDataError" else "failed")
            logger.warning("village %s: %s", v.id, runs[v.id].reason)
            continue
        vplan = fut.result()
        runs[v.id].dropped_dates.update(vplan.dropped)
        chains[v.id] = _submit(vplan, source, out, params)
    for vid, futs in chains.items():
        wait(futs)
        run = runs[vid]
        for f in futs:
            if f.state.is_completed():
                for result in f.result():
                    run.add(result)
            else:
                run.fail(failure_reason(_exception(f)))
        if run.status == "failed":
            logger.error("village %s failed: %s", vid, run.reason)
    for run in runs.values():
        run.finish()
    runs.update((r.village_id, r) for b, fut in batched.items() for r in _batch_runs(fut, b))
    return [runs[v.id] for v in whole.villages]


def run_night(plan: NightPlan, source: Source, out: Path, params: Params = Params()) -> list[VillageRun]:
    """The Prefect ``nightly`` flow (an ephemeral API server unless PREFECT_API_URL is set:
    the one the command started early, ``flows.prefect_api``, or else Prefect's own)."""
    with prefect_api.api():
        return nightly(plan, source, str(out), params)

