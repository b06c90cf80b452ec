"""Deployments: the nightly flow on a cron schedule, and the backfill flow.

Parameters here are JSON (ids, names, paths), so the flows can be scheduled on a Prefect
server (``prefect server start``; an ephemeral server cannot schedule) and run by
``villagewatch schedule`` (``flow.serve``) or by a work pool (see ``prefect.yaml``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.schedules import Cron

from .params import Params

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEPLOYMENT_NAME = "villagewatch-nightly"


@dataclass(frozen=True)
class RunOptions:
    """What a scheduled or backfill run is asked to do beyond its window (JSON parameters of the
    deployment, the CLI's options of the same names)."""

    source: str = "demo"
    out: str = "out"
    villages: list[str] | None = None
    source_options: dict[str, Any] | None = None
    registry: str | None = None
    dask_address: str | None = None
    #: official boundaries, ``"ID=PATH"`` (``--boundary``), read as ``boundary_crs`` when given
    boundaries: list[str] = field(default_factory=list)
    boundary_crs: str | None = None
    #: an ad-hoc area of interest (``--aoi``)
    aoi: str | None = None
    #: the CRS of every GeoJSON product (``--geojson-crs``: EPSG:4326 or EPSG:4490)
    geojson_crs: str = "EPSG:4326"
    #: the pages' online basemap (``--basemap``; None: offline maps)
    basemap: dict | None = None
    #: official cropland layers, ``"ID=PATH"`` (``--cropland``): the land cover of the change alerts
    cropland: list[str] = field(default_factory=list)

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> "RunOptions":
        """The options among a flow's ``parameters`` (its other parameters, such as the
        window, left out), lists given as None made empty."""
        kw = {f.name: parameters[f.name] for f in fields(cls) if f.name in parameters}
        return cls(**{**kw, "boundaries": list(kw.get("boundaries") or []),
                      "cropland": list(kw.get("cropland") or [])})


def _run(opts: RunOptions, start: dt.date, end: dt.date, *, incremental: bool) -> list[dict]:
    from aoi.registry import select_villages

    from .products.atomic import output_lock
    from .runner import finish_run, run_prefect
    from .sources import build_source

    vs = select_villages(opts.registry, ids=opts.villages, boundaries=opts.boundaries,
                         boundary_crs=opts.boundary_crs, aoi=opts.aoi)
    cropland = {vid.strip(): raw.strip() for vid, _, raw in (c.partition("=") for c in opts.cropland)}
    src = build_source(opts.source, **(opts.source_options or {}))
    with output_lock(opts.out):
        runs = run_prefect(vs, src, Path(opts.out), start, end, Params(geojson_crs=opts.geojson_crs),
                           dask_address=opts.dask_address, incremental=incremental, cropland=cropland or None)
        finish_run(Path(opts.out), vs, runs, basemap=opts.basemap)
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
    boundaries: list[str] | None = None,
    boundary_crs: str | None = None,
    aoi: str | None = None,
    geojson_crs: str = "EPSG:4326",
    basemap: dict | None = None,
    cropland: list[str] | None = None,
) -> list[dict]:
    """Every village's acquisitions newer than its last success (state.json), looking back
    at most ``lookback_days`` for a village never processed."""
    opts = RunOptions.from_parameters(locals())
    today = dt.date.today()
    return _run(opts, today - dt.timedelta(days=lookback_days), today, incremental=True)


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
    boundaries: list[str] | None = None,
    boundary_crs: str | None = None,
    aoi: str | None = None,
    geojson_crs: str = "EPSG:4326",
    basemap: dict | None = None,
    cropland: list[str] | None = None,
) -> list[dict]:
    """Process a date range whatever the state says (products already up to date are skipped)."""
    opts = RunOptions.from_parameters(locals())
    return _run(opts, dt.date.fromisoformat(start), dt.date.fromisoformat(end), incremental=False)


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
