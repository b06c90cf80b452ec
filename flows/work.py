"""One step of a village's plan, exactly as both executors run it (plain loop or Prefect task)."""
from __future__ import annotations

import logging
from pathlib import Path

from sensing.base import Source

from . import scenes
from .errors import RegisterError
from .fieldcheck import refresh_village
from .params import Params
from .plan import AlertStep, BaselineStep, ChangeStep, DateStep, PeriodStep, Step, TableStep, VillagePlan, WatchStep
from .products.alerts import process_alerts
from .products.baseline import process_baseline
from .products.change import process_change
from .products.date import process_date
from .products.layout import is_main
from .products.periods import process_period
from .products.tables import write_indicator_table
from .products.watches import run_watches
from .results import StepResult
from .retry import with_read_retry

log = logging.getLogger("villagewatch.flows")


def run_step(step: Step, plan: VillagePlan, source: Source, out: str | Path, params: Params) -> list[StepResult]:
    """The results of ``step`` of ``plan`` (a baseline, a date, the alerts, a period's or a
    pair's change, the watches, the table); a transient read failure is retried once
    (``flows.retry``)."""
    village = plan.village
    if isinstance(step, BaselineStep):
        return [with_read_retry(process_baseline, source, village, step.season, out, params,
                                cropland_file=plan.cropland, what=f"{village.id} baseline {step.season}")]
    if isinstance(step, DateStep):
        scene = scenes.load_all(source, village, plan.window.start, plan.window.end)[step.stream]
        return [scenes.compute_date(scene, with_read_retry, process_date, source, village, step.date, out, params,
                                    scene=scene, stream=None if is_main(step.stream) else step.stream,
                                    previous_date=step.previous, what=f"{village.id} {step.date}")]
    if isinstance(step, AlertStep):
        return [process_alerts(source, village, out, params, step.dates)]
    if isinstance(step, PeriodStep):
        return [process_period(source, village, step.start, step.end, out, params)]
    if isinstance(step, ChangeStep):
        return [process_change(source, village, step.d_from, step.d_to, out, params,
                               stream=None if is_main(step.stream) else step.stream)]
    if isinstance(step, WatchStep):
        return list(run_watches(source, village, out, params, step.dates))
    if isinstance(step, TableStep):
        try:  # field-check statuses and sheets first (the register is an input of both)
            refresh_village(out, village)
        except RegisterError as exc:  # an unreadable register is left alone; the products stand
            log.error("%s: field-check statuses not refreshed: %s", village.id, exc)
        return [write_indicator_table(out, village)]
    raise TypeError(f"not a plan step: {step!r}")
