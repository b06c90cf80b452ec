"""Batches of small villages: many villages' whole nights in one task, their tiles read once.

A night of a county has hundreds of villages of a few hundred pixels each; one orchestrated
task per step (``flows.execute_prefect``) then costs more than the step, and each village
reads its own window of the same tiles. :func:`make_batches` puts neighbouring small villages
(:data:`SMALL_VILLAGE_KM2`) in batches of at most :data:`BATCH_VILLAGES`; :func:`run_batch`
runs a batch's nights in one call (one Prefect task, or a loop of the plain executor):
discovery with the scenes loaded together (``flows.scenes.load_many``: villages reading the same
tile and date share the read, ``sensing.tileshare``), then every village's steps through
``flows.work.run_step`` (date by date across the villages that share tile reads, so a date of a
tile is read once for all of them; village by village otherwise), on a pool of one thread per core, each step after the steps it needs
(``Step.needs``). Each village's results are added in its plan's order (``VillageRun.add``),
so a batch gives the same products and run records as the villages run one by one; a failing
village is reported with its reason and the others finish.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from aoi import Village
from sensing import tileshare
from sensing.base import Source
from sensing.errors import NoDataError
from sensing.http import redact_text

from . import scenes
from .params import Params
from .plan import DateStep, NightPlan, Step, VillagePlan, Window, plan_village
from .results import StepResult, VillageRun
from .retry import failure_reason, with_read_retry
from .work import run_step

log = logging.getLogger("villagewatch.flows")

#: villages per batch: one task for up to this many small villages' nights (a county of 300
#: villages is 10 tasks); small enough that a night's batches keep every core of a few
#: workers busy
BATCH_VILLAGES = 32
#: a village whose bounding box is at most this large (km2) is batched: at 10 m it is at most
#: 1,000,000 pixels, inside ``flows.scenes.IN_MEMORY_MAX_PIXELS`` with its 200 m buffer; a
#: larger area (a district) keeps one task per step, its dates computed block by block
SMALL_VILLAGE_KM2 = 100.0
#: batches a process runs at once: two overlap one batch's last, sequential steps with the
#: next one's first
CONCURRENT_BATCHES = 2



@dataclass(frozen=True)
class Batch:
    """Villages whose nights run in one task (neighbours: their tiles are read once)."""

    villages: tuple[Village, ...]

    @property
    def id(self) -> str:
        return f"batch-{self.villages[0].id}-{len(self.villages)}"

    @property
    def cost(self) -> float:
        """What the batch costs, roughly: its villages' bounding-box area (km2)."""
        return sum(bbox_km2(v) for v in self.villages)


def bbox_km2(village: Village) -> float:
    """The area of the village's lon/lat bounding box in km2 (equirectangular; a size class,
    not a measurement)."""
    g = village.geometry
    if g is None or g.is_empty:
        return 0.0
    w, s, e, n = g.bounds
    return (e - w) * (n - s) * 111.32 ** 2 * math.cos(math.radians((s + n) / 2))


def is_small(village: Village) -> bool:
    return bbox_km2(village) <= SMALL_VILLAGE_KM2


def _centre(village: Village) -> tuple[float, float]:
    g = village.geometry
    if g is None or g.is_empty:
        return (0.0, 0.0)
    c = g.centroid
    return (c.x, c.y)


def _bisect(villages: list[Village], size: int) -> list[list[Village]]:
    """Villages cut into ``ceil(n / size)`` compact groups of even size: halves at the median
    across the longer side of their extent, recursively (a k-d split)."""
    k = math.ceil(len(villages) / size)
    if k <= 1:
        return [villages] if villages else []
    xy = [_centre(v) for v in villages]
    lat = sum(y for _, y in xy) / len(xy)
    wide = (max(x for x, _ in xy) - min(x for x, _ in xy)) * math.cos(math.radians(lat))
    tall = max(y for _, y in xy) - min(y for _, y in xy)
    axis = 0 if wide >= tall else 1
    ordered = sorted(villages, key=lambda v: (_centre(v)[axis], v.id))
    cut = round(len(ordered) * (k // 2) / k)
    return _bisect(ordered[:cut], size) + _bisect(ordered[cut:], size)


def make_batches(villages: Sequence[Village], *, size: int = BATCH_VILLAGES) -> list[Batch]:
    """Small villages in batches of at most ``size`` neighbours: per 6-degree zone, a k-d
    split into compact groups of even size (33 villages are 17 + 16, not 32 + 1)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    zones: dict[int, list[Village]] = {}
    for v in sorted(villages, key=lambda v: v.id):
        zones.setdefault(int(math.floor((_centre(v)[0] + 180.0) / 6.0)), []).append(v)
    return [Batch(tuple(g)) for z in sorted(zones) for g in _bisect(zones[z], size)]


def split(plan: NightPlan) -> tuple[list[Village], NightPlan]:
    """The plan's small villages (batched) and a plan of the others (one task per step)."""
    small = [v for v in plan.villages if is_small(v)]
    large = tuple(v for v in plan.villages if not is_small(v))
    return small, dataclasses.replace(plan, villages=large, windows={v.id: plan.windows[v.id] for v in large})


def task_runs(plan: NightPlan, *, size: int = BATCH_VILLAGES, plans: Sequence[VillagePlan] = ()) -> int:
    """How many Prefect task runs the night makes: one per batch of small villages; for each
    other village a discovery task and one per step (``plans``: their discovered plans)."""
    small, large = split(plan)
    return len(make_batches(small, size=size)) + len(large.villages) + sum(len(p.steps()) for p in plans)


# --------------------------------------------------------------------------- running a batch
def _discover(source: Source, village: Village, window: Window, params: Params, plan: NightPlan) -> VillagePlan:
    return with_read_retry(plan_village, source, village, window, params, plan.cropland.get(village.id),
                           what=f"{village.id} load")


_publish_lock = threading.Lock()


def _publish(village: Village, out: str | Path) -> None:
    """The village's quicklooks, map images and change zips (one village at a time: the
    pictures are drawn by matplotlib, which is not thread-safe)."""
    from .publish import publish_village

    try:
        with _publish_lock:
            publish_village(village, Path(out).resolve())
    except Exception as exc:  # noqa: BLE001 - the run's publishing tries again and reports it
        log.warning("%s: publishing during the night failed (%s); left to the run's publishing", village.id, exc)


def _fail(run: VillageRun, exc: BaseException) -> None:
    if isinstance(exc, NoDataError):
        run.fail(redact_text(str(exc)), status="no-data")
        log.warning("%s: no data: %s", run.village_id, exc)
    else:
        run.fail(failure_reason(exc))
        log.error("%s: failed: %s\n%s", run.village_id, exc,
                  "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def step_order(plans: Sequence[VillagePlan], shared: frozenset[int] | set[int] = frozenset()) -> list[tuple[int, Step]]:
    """Every step of ``plans`` (with its plan's index) in the order a batch starts them. The
    villages of ``shared`` (plan indices: their scenes share tile reads) first: the steps before
    their first date, then their dates across villages in calendar order (a tile's date is then
    read once for all of them), then the rest village by village; the other villages after,
    village by village (each village's data stays warm in its source's caches). Each plan's own
    order is kept, so every step comes after the steps it needs."""
    keyed = []
    for pi, vp in enumerate(plans):
        steps = vp.steps()
        first = next((i for i, s in enumerate(steps) if isinstance(s, DateStep)), len(steps))
        for i, s in enumerate(steps):
            if pi not in shared:
                key = (1, 0, "", "", pi, i)
            elif isinstance(s, DateStep):
                key = (0, 1, s.date, s.stream, pi, i)
            else:
                key = (0, 0 if i < first else 2, "", "", pi, i)
            keyed.append((key, pi, s))
    return [(pi, s) for _, pi, s in sorted(keyed, key=lambda k: k[0])]


def run_steps(plans: Sequence[VillagePlan], call: Callable[[Step, VillagePlan], list[StepResult]], *,
              threads: int, on_error: Callable[[int, BaseException], None],
              after: Callable[[VillagePlan], None] | None = None,
              shared: frozenset[int] | set[int] = frozenset()) -> dict[str, list[StepResult]]:
    """``call(step, plan)`` for every step of ``plans`` on ``threads`` threads, each step once
    the steps it needs are done, in :func:`step_order`; a step that raises stops its village's
    later steps (``on_error(plan index, exception)``); ``after(plan)`` once a village's steps
    are all done (on the same threads: its publishing, while other villages compute). The
    results by step id."""
    pending = step_order(plans, shared)
    left = [len(vp.steps()) for vp in plans]
    done: set[str] = set()
    failed: set[int] = set()
    results: dict[str, list[StepResult]] = {}
    running: dict[Future, tuple[int, Step | None]] = {}
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="villagewatch-batch") as pool:
        while pending or running:
            for item in list(pending):
                if len(running) >= max(1, threads):
                    break
                pi, step = item
                if pi in failed:
                    pending.remove(item)
                elif all(n in done for n in step.needs):
                    pending.remove(item)
                    running[pool.submit(scenes.in_context(call), step, plans[pi])] = item
            if not running:  # what is left waits for steps that are not in its plan
                for pi, step in pending:
                    if pi not in failed:
                        failed.add(pi)
                        on_error(pi, RuntimeError(f"step {step.id} waits for {', '.join(step.needs)}, never run"))
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                pi, step = running.pop(fut)
                if step is None:  # an ``after``: its own errors are its own
                    continue
                try:
                    results[step.id] = fut.result()
                    done.add(step.id)
                except Exception as exc:  # noqa: BLE001 - the village fails, the batch goes on
                    if pi not in failed:
                        failed.add(pi)
                        on_error(pi, exc)
                    continue
                left[pi] -= 1
                if not left[pi] and after is not None and pi not in failed:
                    running[pool.submit(scenes.in_context(after), plans[pi])] = (pi, None)
    return results


def run_batch(villages: Sequence[Village], plan: NightPlan, source: Source, out: str | Path,
              params: Params = Params(), *, publish: bool = True) -> list[VillageRun]:
    """The nights of ``villages`` (of ``plan``) in one call: the same products and run
    records as :func:`flows.execute_plain.run_village` for each; never raises for data
    problems (a failing village gets ``status`` and ``reason``). ``publish``: each village's
    pictures, map images and change zips made as soon as its steps are done, while the others
    compute (``flows.publish.publish_village``: the run's publishing then finds them up to
    date)."""
    with _slots():
        return _run_batch(villages, plan, source, out, params, publish=publish)


_slots_lock = threading.Lock()
_slots_sem: threading.BoundedSemaphore | None = None


def _slots() -> threading.BoundedSemaphore:
    """At most :data:`CONCURRENT_BATCHES` batches of this process at once (Prefect starts as
    many tasks as its thread pool has threads): a batch keeps every core busy on its own, more
    at once only add memory."""
    global _slots_sem
    with _slots_lock:
        if _slots_sem is None:
            _slots_sem = threading.BoundedSemaphore(CONCURRENT_BATCHES)
    return _slots_sem


def _run_batch(villages: Sequence[Village], plan: NightPlan, source: Source, out: str | Path,
               params: Params, *, publish: bool) -> list[VillageRun]:
    from .cluster import local_cluster_threads

    runs = {v.id: VillageRun(v.id) for v in villages}
    threads = local_cluster_threads()
    windows: dict[Window, list[Village]] = {}
    for v in villages:
        windows.setdefault(plan.windows[v.id], []).append(v)
    for w, vs in windows.items():  # villages of one tile and date share its read
        try:
            scenes.load_many(source, vs, w.start, w.end)
        except Exception as exc:  # noqa: BLE001 - each village's own load reports it
            log.info("shared load of %d villages failed (%s); loaded one by one", len(vs), exc)
    plans: list[VillagePlan] = []
    with ThreadPoolExecutor(threads, thread_name_prefix="villagewatch-discover") as pool:
        found = {v.id: pool.submit(scenes.in_context(_discover), source, v, plan.windows[v.id], params, plan) for v in villages}
        for v in villages:
            try:
                vp = found[v.id].result()
            except Exception as exc:  # noqa: BLE001 - reported per village
                _fail(runs[v.id], exc)
                continue
            runs[v.id].dropped_dates.update(vp.dropped)
            plans.append(vp)

    def call(step: Step, vp: VillagePlan) -> list[StepResult]:
        return run_step(step, vp, source, out, params)

    shared = {pi for pi, vp in enumerate(plans)
              if any(tileshare.is_shared(sc) for sc in scenes.cached(source, vp.village, vp.window.start, vp.window.end))}
    results = run_steps(plans, call, threads=threads, on_error=lambda pi, exc: _fail(runs[plans[pi].village.id], exc),
                        after=(lambda vp: _publish(vp.village, out)) if publish else None, shared=shared)
    for vp in plans:  # in each plan's order, as the plain executor adds them
        for step in vp.steps():
            for result in results.get(step.id, []):
                runs[vp.village.id].add(result)
    tileshare.release([s for v in villages for s in scenes.cached(source, v, plan.windows[v.id].start,
                                                                  plan.windows[v.id].end)])
    for run in runs.values():
        run.finish()
    return [runs[v.id] for v in villages]

