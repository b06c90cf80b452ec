"""One village's whole chain as plain functions: load -> per date -> change -> table.

Used by the Prefect tasks in ``flows.nightly`` and directly by notebooks and tests.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import xarray as xr

from aoi import Village
from sensing.base import Source
from sensing.errors import NoDataError
from sensing.http import clear_gdal_http_cache, is_transient_read_error, redact_text

from . import scenes, watch_steps
from .params import Params
from .steps import DateResult, process_change, process_date, scene_dates, write_indicator_table

log = logging.getLogger("villagewatch.flows")
T = TypeVar("T")


@dataclass
class VillageRun:
    """What happened to one village in a run (``status``: ok, no-data, failed)."""

    village_id: str
    status: str = "ok"
    reason: str = ""
    dates: list[str] = field(default_factory=list)
    dropped_dates: dict[str, str] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    reused: int = 0
    figures: dict[str, Any] = field(default_factory=dict)

    def summary_row(self) -> dict[str, Any]:
        return {
            "village": self.village_id,
            "status": self.status,
            "dates": len(self.dates),
            "latest": self.dates[-1] if self.dates else "",
            "products": len(self.products),
            "water_m2": self.figures.get("water_area_m2"),
            "suspects": self.figures.get("n_black_odorous_suspects"),
            "veg_loss_m2": self.figures.get("vegetation_loss_area_m2"),
            "farmland_m2": self.figures.get("farmland_conversion_area_m2"),
            "tree_alerts": self.figures.get("ancient_tree_alerts"),
            "reason": self.reason,
        }


def failure_reason(exc: BaseException, *, limit: int = 600) -> str:
    """``Type: message`` plus the distinct messages of its causes (GDAL names the unreadable
    file only in the cause: ``RasterioIOError: Read failed`` <- ``B04.tif, band 1: IReadBlock
    failed``), credentials redacted, at most ``limit`` characters."""
    parts, seen, e = [], set(), exc
    while e is not None and id(e) not in seen and len(parts) < 3:
        seen.add(id(e))
        msg = str(e).strip()
        if msg and not any(msg in p for p in parts):
            parts.append(msg if parts else f"{type(e).__name__}: {msg}")
        e = e.__cause__ or e.__context__
    text = " <- ".join(parts) or type(exc).__name__
    text = redact_text(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: a failed read (asset connection dropped, source unreachable) is retried this many times,
#: after this many seconds, with GDAL's HTTP cache cleared first
READ_RETRIES = 1
READ_RETRY_DELAY_S = 1.0


def _clear_http_caches() -> None:
    """GDAL's HTTP cache here and, under dask.distributed, in every worker (a remote cluster's
    workers are other processes)."""
    clear_gdal_http_cache()
    try:
        from distributed import get_client

        get_client().run(clear_gdal_http_cache)
    except (ImportError, ValueError):  # no client: the local scheduler runs in this process
        pass


def with_read_retry(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, retried ``READ_RETRIES`` times when it fails with a transient
    read error (``sensing.http.is_transient_read_error``); other errors are raised at once."""
    for attempt in range(READ_RETRIES + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt >= READ_RETRIES or not is_transient_read_error(exc):
                raise
            log.warning("%s: read failed (%s); retry %d/%d in %.1f s", what, failure_reason(exc, limit=300),
                        attempt + 1, READ_RETRIES, READ_RETRY_DELAY_S)
            _clear_http_caches()
            time.sleep(READ_RETRY_DELAY_S)
    raise AssertionError("unreachable")  # pragma: no cover


#: boundaries larger than this are refused before any imagery is read: a pilot area is a
#: village or at most a district (Chongqing Shapingba: ~400 km2); far larger is almost always
#: a boundary in the wrong CRS or units, and would not fit in memory at 10 m
MAX_VILLAGE_AREA_KM2 = 5000.0


def check_boundary(village: Village) -> float:
    """The boundary's area in km2 (local UTM); ``ValueError`` naming the village when it is
    empty, has zero area, or exceeds :data:`MAX_VILLAGE_AREA_KM2`."""
    from pyproj import Transformer
    from shapely.ops import transform as shp_transform

    from aoi import utm_epsg

    g = village.geometry
    if g is None or g.is_empty:
        raise ValueError(f"village {village.id}: the boundary is empty")
    c = g.centroid
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{utm_epsg(c.x, c.y)}", always_xy=True)
    km2 = shp_transform(tr.transform, g).area / 1e6
    if not (g.area > 0 and km2 * 1e6 >= 1.0):  # collinear lon/lat points still span m2 in UTM
        raise ValueError(f"village {village.id}: the boundary has zero area ({g.geom_type}); "
                         f"a village boundary must be a polygon with an inside")
    if km2 > MAX_VILLAGE_AREA_KM2:
        raise ValueError(f"village {village.id}: the boundary covers {km2:,.0f} km2, more than the "
                         f"{MAX_VILLAGE_AREA_KM2:,.0f} km2 a village run handles; check the boundary file "
                         f"(coordinates in the wrong CRS or units?)")
    return km2


def usable_dates(scene: xr.Dataset, village: Village, params: Params) -> tuple[list[str], dict[str, str]]:
    """Dates whose valid fraction reaches ``params.min_valid_fraction``; the rest with a reason."""
    dates = scene_dates(scene)
    keep, dropped = [], {}
    vf = scene["valid_fraction"].values if "valid_fraction" in scene.coords else [1.0] * len(dates)
    for d, f in zip(dates, vf):
        if float(f) < params.min_valid_fraction:
            dropped[d] = f"valid fraction {float(f):.2f} < {params.min_valid_fraction}"
            log.info("%s %s: dropped, %s", village.id, d, dropped[d])
        else:
            keep.append(d)
    return keep, dropped


def run_stream(
    source: Source,
    village: Village,
    scene: xr.Dataset,
    out_root: str | Path,
    params: Params,
    run: VillageRun,
    *,
    stream: str | None = None,
    previous_date: str | None = None,
) -> list[DateResult]:
    """Process every usable date of ``scene`` in order, then the change between consecutive dates."""
    dates, dropped = usable_dates(scene, village, params)
    run.dropped_dates.update(dropped)
    results: list[DateResult] = []
    prev = previous_date
    for d in dates:
        r = with_read_retry(process_date, source, village, d, out_root, params, scene=scene, stream=stream,
                            previous_date=prev, what=f"{village.id} {d}")
        results.append(r)
        prev = d
    for d_from, d_to in zip(dates, dates[1:]):
        results.append(with_read_retry(process_change, source, village, d_from, d_to, out_root, params,
                                       scene=scene, stream=stream, what=f"{village.id} {d_from}..{d_to}"))
    return results


def run_village(
    source: Source,
    village: Village,
    start: dt.date,
    end: dt.date,
    out_root: str | Path,
    params: Params = Params(),
) -> VillageRun:
    """All products of one village for acquisitions in [start, end]; never raises for data
    problems: a village that fails gets ``status`` and ``reason`` instead."""
    run = VillageRun(village.id)
    try:
        check_boundary(village)
        results: list[DateResult] = []
        loaded = with_read_retry(scenes.load_all, source, village, start, end, what=f"{village.id} load")
        for stream, scene in loaded.items():
            results += run_stream(source, village, scene, out_root, params, run,
                                  stream=None if stream == "main" else stream)
        results += watch_steps.run_watches(source, village, out_root, params,
                                           [r.date for r in results if r.stream == "main" and "_" not in r.date])
        table = write_indicator_table(out_root, village)
        _collect(run, results, table)
        run.figures.update(watch_steps.watch_figures(results))
        if not run.dates:
            run.status, run.reason = "no-data", "every date below the valid-fraction threshold"
    except NoDataError as exc:
        run.status, run.reason = "no-data", redact_text(str(exc))
        log.warning("%s: no data: %s", village.id, exc)
    except Exception as exc:  # a failing village is reported, the others go on
        run.status, run.reason = "failed", failure_reason(exc)
        log.error("%s: failed: %s\n%s", village.id, exc, traceback.format_exc())
    return run


def _collect(run: VillageRun, results: list[DateResult], table: Path) -> None:
    main_dates = [r for r in results if r.stream == "main" and "_" not in r.date]
    run.dates = [r.date for r in main_dates]
    run.products = [str(p) for r in results for p in r.paths] + [str(table)]
    run.reused = sum(r.reused for r in results)
    if main_dates:
        run.figures.update(main_dates[-1].indicators)
    changes = [r for r in results if r.stream == "main" and "_" in r.date]
    if changes:
        run.figures["vegetation_loss_area_m2"] = sum(r.indicators.get("vegetation_loss_area_m2", 0.0) for r in changes)
