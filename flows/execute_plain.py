"""The plain executor: a night's plan run as a loop of plain functions (no Prefect), village
by village, with a progress bar on a terminal. Notebooks and tests call :func:`run_village`.
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
import traceback
from pathlib import Path

from aoi import Village
from sensing.base import Source
from sensing.errors import NoDataError
from sensing.http import redact_text

from . import batches, processes
from .params import Params
from .plan import NightPlan, Window, plan_village
from .results import VillageRun
from .retry import failure_reason, with_read_retry
from .work import run_step

log = logging.getLogger("villagewatch.flows")


def run_village(source: Source, village: Village, start: dt.date, end: dt.date, out_root: str | Path,
                params: Params = Params(), *, cropland: str | None = None) -> VillageRun:
    """All products of one village for acquisitions in [start, end]; never raises for data
    problems: a village that fails gets ``status`` and ``reason`` instead. ``cropland``: an
    official cropland layer file (else cropland comes from the history's phenology)."""
    run = VillageRun(village.id)
    try:
        plan = with_read_retry(plan_village, source, village, Window(start, end), params, cropland,
                               what=f"{village.id} load")
        run.dropped_dates.update(plan.dropped)
        for step in plan.steps():
            for result in run_step(step, plan, source, out_root, params):
                run.add(result)
    except NoDataError as exc:
        run.fail(redact_text(str(exc)), status="no-data")
        log.warning("%s: no data: %s", village.id, exc)
    except Exception as exc:  # a failing village is reported, the others go on
        run.fail(failure_reason(exc))
        log.error("%s: failed: %s\n%s", village.id, exc, traceback.format_exc())
    run.finish()
    return run


def run_night(plan: NightPlan, source: Source, out: Path, params: Params = Params()) -> list[VillageRun]:
    """Every village of ``plan``: the small ones in batches (``flows.batches``), the others in turn."""
    from tqdm import tqdm

    small, large = batches.split(plan)
    runs = {}
    # the largest first (``processes.make_batches``): worker processes then finish together
    submitted = [processes.submit(b, plan, source, out, params) for b in processes.make_batches(small)]
    for fut in submitted:
        runs.update((r.village_id, r) for r in fut.result())
    bar = tqdm(large.villages, desc="villages", unit="village", disable=not sys.stderr.isatty())
    for v in bar:
        bar.set_postfix_str(v.id)
        w = plan.windows[v.id]
        runs[v.id] = run_village(source, v, w.start, w.end, out, params, cropland=plan.cropland.get(v.id))
    return [runs[v.id] for v in plan.villages]
