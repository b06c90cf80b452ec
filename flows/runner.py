"""Run a night: plan it, execute the plan (plain or with Prefect) on a Dask cluster, record
the state and publish. The CLI, the scheduled deployment and the tests all come through here.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Mapping, Sequence

from aoi import Village
from sensing.base import Source

from . import state
from .cluster import dask_client
from .params import Params
from .processes import batch_pool
from .plan import NightPlan
from .products.atomic import clean_stale_temporaries
from .products.tables import write_run_table
from .results import VillageRun

log = logging.getLogger("villagewatch.flows")


def plan_night(villages: Sequence[Village], out: Path, start: dt.date, end: dt.date, *,
               incremental: bool = False, cropland: Mapping[str, str] | None = None) -> NightPlan:
    """The night's plan: each village's window, from its last success when ``incremental``;
    ``cropland``: official cropland layer files by village id (``--cropland``)."""
    return NightPlan.build(villages, state.windows([v.id for v in villages], out, start, end, incremental=incremental),
                           cropland)


def run(villages: Sequence[Village], source: Source, out: Path, start: dt.date, end: dt.date,
        params: Params = Params(), *, prefect: bool = True, dask_address: str | None = None,
        incremental: bool = False, cropland: Mapping[str, str] | None = None) -> list[VillageRun]:
    """Plan the night and run it with the Prefect executor (``prefect=True``) or the plain one,
    on a local Dask cluster or the one at ``dask_address``."""
    if prefect:
        from .execute_prefect import run_night
    else:
        from .execute_plain import run_night
    out = Path(out)
    clean_stale_temporaries(out)
    plan = plan_night(villages, out, start, end, incremental=incremental, cropland=cropland)
    with dask_client(dask_address), batch_pool(plan, source, dask_address=dask_address):
        return run_night(plan, source, out, params)


def run_plain(villages: Sequence[Village], source: Source, out: Path, start: dt.date, end: dt.date,
              params: Params = Params(), **kw) -> list[VillageRun]:
    """:func:`run` without Prefect."""
    return run(villages, source, out, start, end, params, prefect=False, **kw)


def run_prefect(villages: Sequence[Village], source: Source, out: Path, start: dt.date, end: dt.date,
                params: Params = Params(), **kw) -> list[VillageRun]:
    """:func:`run` with Prefect (an ephemeral API server unless PREFECT_API_URL is set)."""
    return run(villages, source, out, start, end, params, prefect=True, **kw)


def finish_run(out: Path, villages: Sequence[Village], runs: Sequence[VillageRun], *,
               basemap: dict | None = None) -> None:
    """Record the run in ``state.json``, the run-wide indicator table, then publish the STAC
    catalog, quicklooks, map images, packages and the download page (an online ``basemap``
    under its maps only when given)."""
    with _outside_a_run():
        state.record(out, runs)
        write_run_table(out)
        from .publish import publish

        publish(out, villages, runs, basemap=basemap)


@contextlib.contextmanager
def _outside_a_run():
    """After a Prefect flow, its logs (state, tables, publishing) belong to no run: they go to
    the console only, not to Prefect's API, which would warn for each that it has no flow run id
    (``PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW``). Nothing changes for a plain night."""
    if "prefect" not in sys.modules:
        yield
        return
    from prefect.settings import PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW, temporary_settings

    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}):
        yield


def republish(out: Path, villages: Sequence[Village], *, basemap: dict | None = None) -> list[Path]:
    """Publish ``out`` again without a night (after ``villagewatch verify``, or ``villagewatch
    publish``): each village's field-check products (from its register), its indicator table,
    the run-wide table, then the catalog, quicklooks, map images and pages. Only what changed
    is rewritten."""
    from .fieldcheck import refresh_village
    from .products.layout import village_dir
    from .products.tables import write_indicator_table
    from .publish import publish

    out = Path(out)
    for v in villages:
        if village_dir(out, v.id).is_dir():
            refresh_village(out, v)
            write_indicator_table(out, v)
    write_run_table(out)
    return publish(out, villages, basemap=basemap)
