"""A small API for analysts' notebooks: open a run's products, tables and re-run a village.

>>> from flows import api
>>> out = api.output_dir()                       # $VILLAGEWATCH_OUT, default ../out
>>> api.villages_in("out")                       # ['haizhu-jianghai-hongwei', ...]
>>> api.dates("out", "meijiang-sanjiao-pankeng")   # ['2024-01-15', ...]
>>> ds = api.open_products("out", "meijiang-sanjiao-pankeng", "2024-07-18")   # xarray, lazy
>>> wb = api.water_bodies("out", "meijiang-sanjiao-pankeng", "2024-07-18")    # GeoDataFrame
>>> df = api.indicators("out")                    # every village, one row per date
>>> api.rerun("meijiang-sanjiao-pankeng", "2024-07-18", out="out")           # recompute one date
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from .errors import UnsafeNameError
from .products import layout
from .products.rasters import open_raster
from .products.tables import read_indicators, write_run_table
from .publish.fonts import CJK_FONTS, use_cjk_font

__all__ = ["output_dir", "villages_in", "dates", "change_pairs", "open_raster", "open_products", "open_change",
           "alerts", "open_alerts",
           "read_geojson", "water_bodies", "suspects", "change_vectors", "manifest", "indicators",
           "write_run_table", "load_scene", "true_colour", "use_cjk_font", "CJK_FONTS", "rerun"]


def output_dir(default: str | Path = "../out", *, env: str = "VILLAGEWATCH_OUT") -> Path:
    """The run's output folder: ``$VILLAGEWATCH_OUT`` if set, else ``default``; a clear
    ``FileNotFoundError`` if it does not exist (run ``villagewatch nightly --source demo`` first)."""
    out = Path(os.environ.get(env) or default).expanduser()
    if not out.is_dir():
        raise FileNotFoundError(
            f"output folder {out} does not exist: set {env} or run `villagewatch nightly --source demo --out {out}`"
        )
    return out


def _vdir(out: str | Path, village_id: str) -> Path:
    if not isinstance(village_id, str):
        raise UnsafeNameError(f"not a village id: {village_id!r}")
    try:
        d = layout.village_dir(out, village_id)
    except UnsafeNameError:
        raise UnsafeNameError(f"not a village id: {village_id!r}") from None
    if not d.is_dir():
        raise FileNotFoundError(f"no products for village {village_id!r} under {out}")
    return d


def _check_date(date: str) -> str:
    """``date`` if it is a real calendar date written YYYY-MM-DD, else ``ValueError``."""
    if not isinstance(date, str):
        raise UnsafeNameError(f"not a date (YYYY-MM-DD): {date!r}")
    try:
        return layout.safe_part(date, "date", date=True)
    except UnsafeNameError:
        raise UnsafeNameError(f"not a date (YYYY-MM-DD): {date!r}") from None


def _check_stream(stream: str | None) -> str | None:
    if stream is not None:
        try:
            layout.safe_part(stream if isinstance(stream, str) else repr(stream), "stream")
        except UnsafeNameError:
            raise UnsafeNameError(f"not a stream name: {stream!r}") from None
    return stream


def _folder(out, village_id: str, date: str, stream: str | None) -> Path:
    _check_date(date)
    _check_stream(stream)
    _vdir(out, village_id)
    d = layout.date_dir(out, village_id, date, stream)
    if not d.is_dir():
        raise FileNotFoundError(f"no products for {village_id} on {date}{' (' + stream + ')' if stream else ''}")
    return d


def _change_folder(out, village_id: str, d_from: str, d_to: str) -> Path:
    _check_date(d_from)
    _check_date(d_to)
    _vdir(out, village_id)
    folder = layout.change_dir(out, village_id, d_from, d_to)
    if not folder.is_dir():
        raise FileNotFoundError(f"no change products for {village_id} {d_from}..{d_to}")
    return folder


def villages_in(out: str | Path) -> list[str]:
    """Village ids with products under ``out``."""
    if not Path(out).is_dir():
        raise FileNotFoundError(f"output folder {out} does not exist")
    return sorted(p.name for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def dates(out: str | Path, village_id: str, *, stream: str | None = None) -> list[str]:
    """Acquisition dates with products for the village, oldest first: of the main (satellite)
    stream, or of ``stream`` (e.g. ``"drone"``, whose products sit in ``<date>/<stream>/``)."""
    _check_stream(stream)
    _vdir(out, village_id)
    return layout.dates(out, village_id, stream=stream)


def change_pairs(out: str | Path, village_id: str) -> list[tuple[str, str]]:
    """``(from, to)`` date pairs with change products for the village, oldest first."""
    _vdir(out, village_id)
    return layout.change_pairs(out, village_id)


def open_products(out: str | Path, village_id: str, date: str, *, stream: str | None = None) -> xr.Dataset:
    """Every single-band COG of a village's date as one lazy Dataset (ndvi, mndwi, water_mask,
    ...); the 3-band ``true_colour.tif`` is a picture, not a layer (open it with rioxarray)."""
    folder = _folder(out, village_id, date, stream)
    layers = {p.stem: open_raster(p) for p in sorted(folder.glob("*.tif")) if p.name != layout.TRUE_COLOUR}
    ds = xr.Dataset(layers)
    ds.attrs.update({"village": village_id, "date": date, "stream": stream or "main"})
    return ds


def open_change(out: str | Path, village_id: str, d_from: str, d_to: str) -> xr.Dataset:
    """The change COGs between two dates (ndvi_change, vegetation_change, water_change) as one lazy Dataset."""
    folder = _change_folder(out, village_id, d_from, d_to)
    return xr.Dataset({p.stem: open_raster(p) for p in sorted(folder.glob("*.tif"))})


def read_geojson(path: str | Path) -> gpd.GeoDataFrame:
    """A GeoJSON product as a GeoDataFrame (EPSG:4326, as RFC 7946 requires)."""
    gdf = gpd.read_file(path)
    return gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf


def water_bodies(out, village_id: str, date: str, *, stream: str | None = None) -> gpd.GeoDataFrame:
    """Water bodies of one date, with ``wb_id``, ``status``, area and index statistics (EPSG:4326)."""
    return read_geojson(_folder(out, village_id, date, stream) / layout.WATER_BODIES)


def suspects(out, village_id: str, date: str, *, stream: str | None = None) -> gpd.GeoDataFrame:
    """Water bodies suspected black-odorous (黑臭水体疑似) on one date (EPSG:4326)."""
    return read_geojson(_folder(out, village_id, date, stream) / layout.SUSPECTS)


def change_vectors(out, village_id: str, d_from: str, d_to: str) -> dict[str, gpd.GeoDataFrame]:
    """Change polygons between two dates by kind (vegetation_loss, water_gain, new_black_odorous_suspects, ...)."""
    folder = _change_folder(out, village_id, d_from, d_to)
    return {p.stem: read_geojson(p) for p in sorted(folder.glob("*.geojson"))}


def alerts(out, village_id: str) -> dict[str, gpd.GeoDataFrame]:
    """The village's change alerts by kind (vegetation_loss, water_gain, water_loss,
    black_odorous, farmland_conversion): polygons with ``status`` (candidate / confirmed),
    ``first_date``, ``confirmed_date``, ``last_date``, ``area_m2`` (``flows.products.alerts``)."""
    folder = layout.watches_dir(out, _vdir(out, village_id).name)
    return {k: read_geojson(folder / layout.alert_file(k, "polygons")) for k in layout.ALERT_PRODUCTS
            if (folder / layout.alert_file(k, "polygons")).is_file()}


def open_alerts(out, village_id: str) -> xr.Dataset:
    """The alerts' COGs as one lazy Dataset: ``<kind>_status`` (0 none, 1 candidate, 2 confirmed,
    3 reverted, 255 never assessed), ``<kind>_first`` and ``<kind>_confirmed`` (YYYYMMDD)."""
    folder = layout.watches_dir(out, _vdir(out, village_id).name)
    names = [layout.alert_file(k, w) for k in layout.ALERT_PRODUCTS for w in ("status", "first", "confirmed")]
    if not all((folder / n).is_file() for n in names):
        raise FileNotFoundError(f"no change alerts for {village_id} in {folder}")
    return xr.Dataset({Path(n).stem: open_raster(folder / n, masked=False) for n in names})


def manifest(out, village_id: str, date: str, *, stream: str | None = None) -> dict:
    """The date's ``manifest.json``: inputs (item ids), parameters, versions, checksums."""
    return json.loads((_folder(out, village_id, date, stream) / layout.MANIFEST).read_text())


def indicators(out: str | Path, village_id: str | None = None) -> pd.DataFrame:
    """The indicator table (columns: ``flows.products.tables.INDICATOR_COLUMNS``): one village's,
    one row per (date, stream); or, when ``village_id`` is None, every village's in one table
    sorted by village, stream and date, i.e. what ``OUT/indicators.parquet`` holds."""
    if village_id is not None:
        _vdir(out, village_id)
    elif not Path(out).is_dir():
        raise FileNotFoundError(f"output folder {out} does not exist")
    return read_indicators(out, village_id)


def load_scene(village_id: str, start: str | dt.date, end: str | dt.date | None = None, *,
               source: Any = "demo", registry: str | Path | None = None, **source_options: Any) -> xr.Dataset:
    """The Scene (lazy reflectance, dims time/y/x) behind the products: what ``source`` holds
    for the village between ``start`` and ``end`` (inclusive; ``end`` defaults to ``start``)."""
    from aoi.registry import load_villages

    from .sources import build_source

    (village,) = load_villages(registry, ids=[village_id])
    src = build_source(source, **source_options) if isinstance(source, str) else source
    start = dt.date.fromisoformat(_check_date(start)) if isinstance(start, str) else start
    end = start if end is None else (dt.date.fromisoformat(_check_date(end)) if isinstance(end, str) else end)
    return src.load(village, start, end)


def true_colour(ds: xr.Dataset, *, bands: Sequence[str] = ("red", "green", "blue"),
                percentiles: tuple[float, float] = (2.0, 98.0)) -> np.ndarray:
    """A (y, x, 3) RGB array in 0..1 for ``imshow`` from one date of a Scene: each band
    linearly stretched between its ``percentiles`` (NaN stays NaN, shown transparent)."""
    missing = [b for b in bands if b not in ds]
    if missing:
        raise KeyError(f"scene has no band(s) {missing}; it has {list(ds.data_vars)}")
    layers = []
    for b in bands:
        a = np.asarray(ds[b].squeeze(drop=True).values, dtype="float64")
        if a.ndim != 2:
            raise ValueError(f"true_colour needs one date (y, x); band {b} has dims {ds[b].dims}")
        fin = a[np.isfinite(a)]
        lo, hi = np.percentile(fin, percentiles) if fin.size else (0.0, 1.0)
        layers.append(np.clip((a - lo) / max(hi - lo, 1e-6), 0.0, 1.0))
    return np.dstack(layers)


def rerun(village_id: str, date: str, *, out: str | Path = "out", source: Any = "demo",
          registry: str | Path | None = None, previous_date: str | None = None, force: bool = False,
          **source_options: Any):
    """Recompute one village's products for one date (plain functions, no Prefect), refresh its
    indicator table and the run-wide one, and return the ``DateResult`` (paths and figures).

    Water-body ids are matched against ``previous_date``'s (default: the date before ``date``
    in ``out``, as the nightly run did), so a re-run with the same inputs reproduces the same
    products: it is skipped as up to date unless ``force`` (then recomputed, same bytes).
    ``source="demo"`` without options rebuilds the demo source the night used, from the date's
    manifest (seed, dates, drone stream); STAC and files sources need their options."""
    from aoi.registry import load_villages

    from .products.date import process_date
    from .products.tables import write_indicator_table
    from .sources import build_source, options_from_description

    _check_date(date)
    (village,) = load_villages(registry, ids=[village_id])
    if previous_date is None and layout.village_dir(out, village_id).is_dir():
        earlier = [d for d in dates(out, village_id) if d < date]
        previous_date = earlier[-1] if earlier else None
    if isinstance(source, str):
        if not source_options:  # rebuild the source the night used (seed, dates, drone stream ...)
            mpath = layout.date_dir(out, village, date) / layout.MANIFEST
            described = json.loads(mpath.read_text()).get("source") if mpath.is_file() else None
            source_options = options_from_description(source, described)
        src = build_source(source, **source_options)
    else:
        src = source
    day = dt.date.fromisoformat(date)
    scene = src.load(village, day, day)
    if force:  # without a manifest the products are not "up to date": recompute them
        (layout.date_dir(out, village, date) / layout.MANIFEST).unlink(missing_ok=True)
    result = process_date(src, village, date, out, scene=scene, previous_date=previous_date)
    write_indicator_table(out, village)
    write_run_table(out)
    return result
