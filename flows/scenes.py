"""Scenes per (source, village, window), loaded lazily once per process and shared by tasks.

A scene is a lazy Dask-backed Dataset, so keeping it is cheap; this spares each task a
repeated STAC search. ``extra_scenes`` (drone orthomosaics of the demo, for instance) become
extra *streams* whose products go in a sub-folder named after the stream.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

import pandas as pd
import xarray as xr

from aoi import Village
from sensing.base import ExtraScenes, Source
from sensing.errors import NoDataError, SceneContractError
from sensing import tileshare
from sensing.scene import check_scene

from .products.layout import DATE_FMT, MAIN_STREAM

T = TypeVar("T")
log = logging.getLogger("villagewatch.flows")
_lock = threading.Lock()
_cache: dict[tuple, dict[str, xr.Dataset]] = {}
#: lazy scenes kept (cheap: graphs, not pixels); a batch of villages (``flows.batches``) keeps
#: its villages' scenes from discovery to its last date
MAX_CACHED = 512


def load_all(source: Source, village: Village, start: dt.date, end: dt.date) -> dict[str, xr.Dataset]:
    """``{"main": scene, <stream>: scene, ...}`` for the village and window (cached)."""
    key = (source, village.id, village.boundary_source, start, end)
    with _lock:
        if key in _cache:
            return _cache[key]
    return _keep(source, village, key, source.load(village, start, end))


def load_many(source: Source, villages: Sequence[Village], start: dt.date, end: dt.date) -> None:
    """Load the villages' scenes (one window) into the cache, sharing each tile's read among
    the villages that read it (``sensing.tileshare``); a village the shared load does not
    cover, or fails for, is left to :func:`load_all` (its own load, its own error)."""
    todo = [v for v in villages if (source, v.id, v.boundary_source, start, end) not in _cache]
    shared = tileshare.load_many(source, todo, start, end)
    for v in todo:
        scene = shared.get(v.id)
        if isinstance(scene, xr.Dataset):
            try:
                _keep(source, v, (source, v.id, v.boundary_source, start, end), scene)
            except Exception as exc:  # noqa: BLE001 - its own load (load_all) reports it
                log.info("village %s: shared scene not kept (%s); loaded alone", v.id, exc)


def cached(source: Source, village: Village, start: dt.date, end: dt.date) -> list[xr.Dataset]:
    """The village's cached scenes for the window (every stream; none when not loaded)."""
    with _lock:
        return list(_cache.get((source, village.id, village.boundary_source, start, end), {}).values())


def _keep(source: Source, village: Village, key: tuple, main: xr.Dataset) -> dict[str, xr.Dataset]:
    """The village's streams (``main`` and the source's extra scenes), checked and cached."""
    start, end = key[-2:]
    scenes = {MAIN_STREAM: main}
    if isinstance(source, ExtraScenes):
        scenes.update(source.extra_scenes(village, start, end))
    for stream, scene in scenes.items():  # a source breaking the contract (DN ints, float64...)
        try:                               # would give silently wrong thresholds downstream
            check_scene(scene)
        except SceneContractError as exc:
            raise SceneContractError(f"village {village.id}: {getattr(source, 'kind', 'source')} "
                                     f"scene ({stream}) breaks the Scene contract: {exc}") from exc
    with _lock:
        if len(_cache) >= MAX_CACHED:
            _cache.pop(next(iter(_cache)))
        _cache[key] = scenes
    return scenes


def scene_dates(scene: xr.Dataset) -> list[str]:
    """The scene's acquisition dates, YYYY-MM-DD, in its time order."""
    return [pd.Timestamp(t).strftime(DATE_FMT) for t in scene["time"].values]


def select_date(scene: xr.Dataset, date: str) -> xr.Dataset:
    """The 2-D (y, x) scene of one date, its ``item_id`` in attrs; ``NoDataError`` if the
    scene has no such date."""
    dates = scene_dates(scene)
    if date not in dates:
        raise NoDataError(f"no acquisition on {date} (have {', '.join(dates) or 'none'})")
    one = scene.isel(time=dates.index(date))
    one.attrs = dict(scene.attrs)
    one.attrs["item_id"] = str(one["item_id"].values)
    # the per-date scalars (item id, valid fractions) stay behind: every arithmetic operation
    # on the date's bands would merge them again (a quarter of a history pass's time)
    return one.drop_vars([c for c in one.coords if c not in ("time", "spatial_ref") and not one[c].dims])


#: a date's scene with at most this many pixels per band (y * x) is read into memory once
#: before its products are made, and every product is then computed with NumPy; a larger one
#: stays lazy and is computed block by block with Dask. A village is a few hundred pixels
#: wide: at that size Dask's scheduling of each product's graph costs more than the arithmetic
#: and every product re-reads the bands (``docs/performance.md``, benchmark 5). The products
#: are the same either way; the date manifest records which way a date went (``compute``).
#: 2,000,000 pixels are 80 MB for ten float32 bands, about a 14 x 14 km area at 10 m.
IN_MEMORY_MAX_PIXELS = 2_000_000


def compute_route(scene_t: xr.Dataset) -> dict[str, object]:
    """How the date step computes ``scene_t``'s products: ``{"engine": "numpy" | "dask",
    "pixels": y * x, "in_memory_max_pixels": IN_MEMORY_MAX_PIXELS}`` (for the manifest)."""
    pixels = int(scene_t.sizes.get("y", 1) * scene_t.sizes.get("x", 1))
    engine = "numpy" if pixels <= IN_MEMORY_MAX_PIXELS else "dask"
    return {"engine": engine, "pixels": pixels, "in_memory_max_pixels": IN_MEMORY_MAX_PIXELS}



def in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` to run on another thread in a copy of the caller's context (a copy per call: a
    context cannot be entered by two threads at once), so the work logs inside the caller's
    Prefect task run (without it Prefect warns that the logs have no flow run id and they are
    missing from the run's log)."""
    return functools.partial(contextvars.copy_context().run, fn)


_numpy_pool: ThreadPoolExecutor | None = None


def compute_date(scene: xr.Dataset, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, the making of one date's products of ``scene``: on one of this
    process's NumPy threads (one per core, ``flows.cluster.local_cluster_threads``) when
    :func:`compute_route` sends the date to NumPy, else in the calling thread (Dask does the
    work on its cluster). NumPy work runs where it is called, not on the Dask cluster: without
    this a Prefect night computes every village's date at once, each holding its arrays (about
    100 MiB for a demo village) for no gain once the cores are busy, and in as many threads,
    each keeping its own malloc arena of freed memory (measured: 1.9 GiB instead of 1.2 GiB
    for an 11-village county night)."""
    global _numpy_pool
    if compute_route(scene)["engine"] != "numpy":
        return fn(*args, **kwargs)
    with _lock:
        if _numpy_pool is None:
            from .cluster import local_cluster_threads

            _numpy_pool = ThreadPoolExecutor(local_cluster_threads(), thread_name_prefix="villagewatch-numpy")
    return _numpy_pool.submit(in_context(fn), *args, **kwargs).result()


def for_products(scene_t: xr.Dataset) -> xr.Dataset:
    """``scene_t`` read into memory (NumPy-backed, read once; with the same date of the other
    villages of a shared tile read, ``sensing.tileshare.read_date``) when :func:`compute_route`
    says ``numpy``, else unchanged (lazy)."""
    if compute_route(scene_t)["engine"] == "numpy" and any(v.chunks for v in scene_t.data_vars.values()):
        return tileshare.read_date(scene_t)  # with the other villages of its tile when shared
    return scene_t


def clear() -> None:
    with _lock:
        _cache.clear()
