"""Deployments: the nightly flow on a cron schedule, and the backfill flow.

Parameters here are JSON (ids, names, paths), so the flows can be scheduled on a Prefect
server (``prefect server start``; an ephemeral server cannot schedule) and run by
``villagewatch schedule`` (``flow.serve``) or by a work pool (see ``prefect.yaml``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.schedules import Cron

from .params import Params

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEPLOYMENT_NAME = "villagewatch-nightly"


def _run(source: str, out: str, villages: list[str] | None, source_options: dict[str, Any] | None,
         start: dt.date, end: dt.date, *, incremental: bool, registry: str | None,
         dask_address: str | None) -> list[dict]:
    from aoi.registry import load_villages

    from .products.atomic import output_lock
    from .runner import finish_run, run_prefect
    from .sources import build_source

    vs = load_villages(registry, ids=villages)
    src = build_source(source, **(source_options or {}))
    with output_lock(out):
        runs = run_prefect(vs, src, Path(out), start, end, Params(), dask_address=dask_address,
                           incremental=incremental)
        finish_run(Path(out), vs, runs)
    return [r.summary_row() for r in runs]


@flow(name="villagewatch-scheduled-nightly")
def scheduled_nightly(
    source: str = "demo",
    out: str = "out",
    villages: list[str] | None = None,
    source_options: dict[str, Any] | None = None,
    lookback_days: int = 30,
    registry: str | None = None,
    dask_address: str | None = None,
) -> list[dict]:
    """Every village's acquisitions newer than its last success (state.json), looking back
    at most ``lookback_days`` for a village never processed."""
    today = dt.date.today()
    return _run(source, out, villages, source_options, today - dt.timedelta(days=lookback_days), today,
                incremental=True, registry=registry, dask_address=dask_address)


@flow(name="villagewatch-backfill")
def backfill(
    start: str,
    end: str,
    source: str = "demo",
    out: str = "out",
    villages: list[str] | None = None,
    source_options: dict[str, Any] | None = None,
    registry: str | None = None,
    dask_address: str | None = None,
) -> list[dict]:
    """Process a date range whatever the state says (products already up to date are skipped)."""
    return _run(source, out, villages, source_options, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                incremental=False, registry=registry, dask_address=dask_address)


def nightly_deployment(*, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE,
                       parameters: dict[str, Any] | None = None, name: str = DEPLOYMENT_NAME):
    """The ``RunnerDeployment`` of the scheduled nightly flow (02:00 Asia/Shanghai by default)."""
    return scheduled_nightly.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=parameters or {},
        description="villagewatch: every pilot village's new acquisitions, every night",
        tags=["villagewatch", "nightly"],
    )


def register(**kw) -> Any:
    """Create or update the nightly deployment on the Prefect server at PREFECT_API_URL;
    returns its id (the server then schedules the runs)."""
    return nightly_deployment(**kw).apply()


def serve(**kw) -> None:
    """Register the deployment and run it on schedule in this process (Ctrl-C stops)."""
    from prefect import serve as prefect_serve

    prefect_serve(nightly_deployment(**kw))
