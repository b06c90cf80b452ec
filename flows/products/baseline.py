"""The same-season baseline of a village and quarter: what each pixel looked like in the same
season of earlier years, and its land cover, read once from the source and reused across nights.

``OUT/<village>/baseline/<YYYY-Qn>/``: ``history_<layer>.tif`` (multi-band COGs, one band per
history date, the band described by its date) for the layers ``ndvi``, ``ndbi`` (int16, x 1e-4,
nodata -32768) and ``water``, ``suspect`` (uint8 1/0, 255 not clear), made by :func:`history_layers`
exactly as the date step makes its products; ``land_cover.tif``
(``indices.land_cover_from_history``: cropland from the history's phenology, or the official
cropland layer given with ``--cropland``); ``ndvi_low.tif`` (the lowest NDVI of the history, the
farmland watch's guard); ``baseline.json``; ``manifest.json``.

The history read is lazy and bounded: the same quarter (with ``season_half_window_days`` on
either side) of the ``baseline_years`` earlier years, and the clearest pass of each half-month of
the twelve months before the quarter (the phenology that tells cropland), only for the bands the layers
need (blue, green, red, nir, swir16), only on passes whose valid fraction reaches
``Params.min_valid_fraction``. Its key is the village, the history's item ids, the cropland
layer, the source and the parameters: every night of the quarter reuses it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import rasterio
import rasterio.shutil
import xarray as xr

import indices
from aoi import Village
from sensing.base import CroplandLayer, Source
from sensing.errors import NoDataError

from .. import scenes
from ..params import Params
from ..results import BaselineResult
from .atomic import TMP_SUFFIX, atomic_path, sha256_file, write_json
from .cache import product_key, read_manifest, reuse, write_manifest
from .layout import (ANNUAL_LOW, BASELINE_FIGURES, HISTORY_LAYERS, LAND_COVER, baseline_dir, history_file, safe_part,
                     season_bounds)
from .rasters import COG_OPTIONS, IN_MEMORY_PIXELS, georef, grid_of, open_raster, write_cog

log = logging.getLogger("villagewatch.flows")

#: bands the history layers need (each layer is made from the bands it needs that are present)
HISTORY_BANDS = ("blue", "green", "red", "nir", "swir16")
SCALED = {"ndvi", "ndbi"}
SCALE = 1e-4
INT16_NODATA = -32768
UINT8_NODATA = 255


# --------------------------------------------------------------------------- which passes
def history_window(season: str, params: Params) -> tuple[dt.date, dt.date]:
    """The span the history is read from: the twelve months before the quarter (phenology)
    and the quarter's season, +- the half window, in each of the ``baseline_years`` before."""
    start, _ = season_bounds(season)
    half = dt.timedelta(days=params.change.season_half_window_days)
    first = dt.date(start.year - params.change.baseline_years, start.month, 1) - half
    return first, start - dt.timedelta(days=1)


def history_dates(dates: list[str], valid: list[float], season: str, params: Params) -> list[str]:
    """The usable passes of the history: those in the quarter's season of earlier years (within
    the half window) and the clearest pass of each half-month of the twelve months before the
    quarter (the phenology; :func:`season_passes` tells them apart)."""
    start, end = season_bounds(season)
    keep = {d for d, f in zip(dates, valid) if f >= params.min_valid_fraction}
    targets = pd.date_range(start, end, freq="D")
    member = indices.season_members(pd.DatetimeIndex(sorted(keep)), targets[::5],
                                    half_window_days=params.change.season_half_window_days)
    ordered = sorted(keep)
    season_set = {ordered[j] for j in np.flatnonzero(member.any(axis=0))}
    year_ago = dt.date(start.year - 1, start.month, 1).isoformat()
    halves: dict[str, tuple[float, str]] = {}
    for d, f in zip(dates, valid):
        if d in keep and year_ago <= d < start.isoformat():
            half = d[:7] + ("a" if int(d[8:]) <= 15 else "b")
            if half not in halves or f > halves[half][0]:
                halves[half] = (f, d)
    return sorted(season_set | {d for _, d in halves.values()})


def season_passes(dates: list[str], season: str, params: Params) -> set[str]:
    """Those of ``dates`` inside the quarter's season of earlier years (the rest are the
    monthly phenology passes, of which only NDVI and water are needed)."""
    start, end = season_bounds(season)
    if not dates:
        return set()
    member = indices.season_members(pd.DatetimeIndex(dates), pd.date_range(start, end, freq="D")[::5],
                                    half_window_days=params.change.season_half_window_days)
    return {dates[j] for j in np.flatnonzero(member.any(axis=0))}


# --------------------------------------------------------------------------- the layers
def history_layers(scene_t: xr.Dataset, params: Params, *, layers=HISTORY_LAYERS) -> dict[str, xr.DataArray]:
    """One pass's baseline layers, exactly as the date step makes the same products: ``ndvi``,
    ``ndbi`` (NaN where their bands are not valid), ``water`` (the run's water mask;
    1/0, NaN not valid) and ``suspect`` (the black-odorous pixel flags; 1/0, NaN not valid),
    those of ``layers``. A layer whose bands are missing (or, for ``suspect``, uncalibrated
    reflectance) is left out."""
    out: dict[str, xr.DataArray] = {}
    for name in [n for n in ("ndvi", "ndbi") if n in layers]:
        spec = indices.INDICES[name]
        if not spec.missing(scene_t):
            out[name] = spec.func(scene_t).astype("float32")
    try:
        water = indices.water_mask(scene_t, **params.water_kwargs())
    except indices.MissingBandError:
        return out
    windex = water.attrs.get("water_index")
    wvalid = indices.product_valid(scene_t, "water_mask", water_index=windex)
    out["water"] = water.astype("float32").where(wvalid)
    if "suspect" in layers and indices.reflectance_units(scene_t) != "relative" and \
            all(b in scene_t for b in ("blue", "green", "red")):
        bvalid = indices.product_valid(scene_t, "black_odorous", water_index=windex)
        out["suspect"] = _suspect_on_water(scene_t, water, params).where(bvalid)
    return out


def _suspect_on_water(scene_t: xr.Dataset, water: xr.DataArray, params: Params) -> xr.DataArray:
    """``indices.black_odorous_pixels(...)["is_suspect"]`` as float 1/0, computed on the water
    pixels only (every flag and guard is per pixel, so this is the same map, for a fraction of
    the work: off water nothing is suspect)."""
    w = np.asarray(water.values, dtype=bool)
    sus = np.zeros(w.shape, "float32")
    idx = np.flatnonzero(w.ravel())
    if idx.size:
        bands = [str(b) for b in scene_t.data_vars]
        flat = xr.Dataset({b: (("p",), np.asarray(scene_t[b].values).ravel()[idx]) for b in bands}, attrs=dict(scene_t.attrs))
        flags = indices.black_odorous_pixels(flat, xr.DataArray(np.ones(idx.size, bool), dims="p"),
                                             params=params.black_odorous)
        sus.ravel()[idx] = np.asarray(flags["is_suspect"].values, dtype="float32")
    return water.copy(data=sus)


def _write_stack(stack: xr.DataArray, path: Path, layer: str, tags: dict[str, str]) -> Path:
    """A (time, y, x) layer as a multi-band COG (a band per date, described by it)."""
    vals = np.asarray(stack.values, dtype="float32")
    if layer in SCALED:
        data = np.where(np.isfinite(vals), np.round(vals / SCALE), INT16_NODATA).astype("int16")
        dtype, nodata = "int16", INT16_NODATA
    else:
        data = np.where(np.isfinite(vals), vals, UINT8_NODATA).astype("uint8")
        dtype, nodata = "uint8", UINT8_NODATA
    times = [pd.Timestamp(t).strftime("%Y-%m-%d") for t in stack["time"].values]
    profile = {"driver": "GTiff", "height": data.shape[1], "width": data.shape[2], "count": max(len(times), 1),
               "dtype": dtype, "nodata": nodata, "crs": stack.rio.crs, "transform": stack.rio.transform(recalc=True),
               "tiled": True, "blockxsize": 256, "blockysize": 256,
               # the staging file is read once by the COG driver, which compresses: a village's
               # stack is staged uncompressed (a third less CPU; the same COG bytes), a large one
               # with ZSTD (disk space)
               "compress": "NONE" if data.size <= IN_MEMORY_PIXELS else "ZSTD"}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.stage.", suffix=".tif" + TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    stage = Path(name)
    try:
        with rasterio.open(stage, "w", **profile) as dst:
            dst.update_tags(**tags, LAYER=layer, SCALE=str(SCALE if layer in SCALED else 1))
            if times:
                dst.write(data)
                for i, t in enumerate(times, start=1):
                    dst.set_band_description(i, t)
            else:
                dst.write(np.full(data.shape[1:], nodata, dtype), 1)
                dst.set_band_description(1, "no history")
        with atomic_path(path) as tmp:
            rasterio.shutil.copy(stage, tmp, driver="COG", RESAMPLING="NEAREST", **COG_OPTIONS)
    finally:
        stage.unlink(missing_ok=True)
    return path


def read_history(folder: Path, layer: str) -> xr.DataArray | None:
    """A baseline's history layer as (time, y, x) float32, NaN where not clear; None when the
    baseline lacks it or holds no date. One open of the file (its band descriptions, pixels,
    CRS), the pixel-centre coordinates as rioxarray makes them (``affine_to_coords``)."""
    path = folder / history_file(layer)
    if not path.is_file():
        return None
    from rioxarray.rioxarray import affine_to_coords

    with rasterio.open(path) as src:
        times = list(src.descriptions)
        if times == ["no history"]:
            return None
        raw = src.read(masked=True)
        crs, coords = src.crs, affine_to_coords(src.transform, src.width, src.height)
    vals = raw.astype("float32").filled(np.nan) * (SCALE if layer in SCALED else 1.0)
    out = xr.DataArray(vals, dims=("time", "y", "x"),
                       coords={"time": pd.DatetimeIndex(pd.to_datetime(times)), "y": coords["y"], "x": coords["x"]},
                       name=layer)
    return out.rio.write_crs(crs).rio.write_transform(out.rio.transform(recalc=True))


# --------------------------------------------------------------------------- cropland layer
CROPLAND_DIR = Path(__file__).resolve().parent.parent / "data" / "cropland"


def cropland_file_for(village: Village, given: str | Path | None = None,
                      cropland_dir: str | Path | None = None) -> Path | None:
    """The village's official cropland layer: the file given (``--cropland ID=PATH``), else
    ``data/cropland/<village-id>.{geojson,gpkg,shp}``, else None (cropland from phenology)."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise FileNotFoundError(f"village {village.id}: cropland layer {path} does not exist")
        return path
    for ext in ("geojson", "gpkg", "shp"):
        p = Path(cropland_dir or CROPLAND_DIR) / f"{safe_part(village.id, 'village id')}.{ext}"
        if p.is_file():
            return p
    return None


def official_cropland(source: Source, village: Village, like: xr.DataArray,
                      cropland_file: str | Path | None) -> tuple[xr.DataArray | None, str, str]:
    """(cropland mask on ``like``'s grid or None, where from, a digest): the file given with
    ``--cropland`` (polygons, e.g. 永久基本农田), else a layer the source offers as official
    (``sensing.base.CroplandLayer``), else None (cropland then comes from the phenology)."""
    from rasterio.features import rasterize

    shape, transform = (like.sizes["y"], like.sizes["x"]), like.rio.transform(recalc=True)
    if cropland_file is not None:
        import geopandas as gpd

        path = Path(cropland_file)
        polys = gpd.read_file(path)
        polys = (polys.set_crs("EPSG:4326") if polys.crs is None else polys).to_crs(like.rio.crs)
        geoms = [g for g in polys.geometry if g is not None and not g.is_empty]
        arr = rasterize([(g, 1) for g in geoms], out_shape=shape, transform=transform, fill=0, dtype="uint8") \
            if geoms else np.zeros(shape, "uint8")
        mask = xr.DataArray(arr.astype(bool), dims=("y", "x"), coords={"y": like["y"], "x": like["x"]})
        return mask, f"file {path.name}", sha256_file(path)
    if isinstance(source, CroplandLayer):
        layer = source.cropland(village)
        if layer is not None:
            layer = layer.astype("uint8").rio.reproject_match(like, resampling=rasterio.enums.Resampling.nearest)
            mask = xr.DataArray(np.asarray(layer.values).astype(bool), dims=("y", "x"),
                                coords={"y": like["y"], "x": like["x"]})
            import hashlib

            return (mask, str(layer.attrs.get("source", "the source's cropland layer")),
                    hashlib.sha256(np.packbits(mask.values).tobytes()).hexdigest())
    return None, "", ""


# --------------------------------------------------------------------------- the step
def process_baseline(source: Source, village: Village, season: str, out_root: str | Path, params: Params = Params(),
                     *, cropland_file: str | Path | None = None) -> BaselineResult:
    """The baseline of ``season`` (``YYYY-Qn``) for the village; reused when up to date."""
    folder = baseline_dir(out_root, village, season)
    result = BaselineResult(village.id, season=season)
    first, last = history_window(season, params)
    try:
        scene = scenes.load_all(source, village, first, last)["main"]
        all_dates = scenes.scene_dates(scene)
        vf = [float(v) for v in scene["valid_fraction"].values] if "valid_fraction" in scene.coords else [1.0] * len(all_dates)
        used = history_dates(all_dates, vf, season, params)
    except NoDataError as exc:
        result.skipped["baseline"] = f"no history between {first} and {last} ({exc})"
        log.info("%s %s: no baseline: %s", village.id, season, result.skipped["baseline"])
        return result
    ids = [str(scene["item_id"].values[all_dates.index(d)]) for d in used]
    cropland_file = cropland_file_for(village, cropland_file)
    crop_digest = sha256_file(cropland_file) if cropland_file is not None else ""
    key = product_key(village, ids + [f"cropland:{crop_digest}"], source, params, f"baseline:{season}")
    if reuse(result, folder, key, BASELINE_FIGURES):
        log.info("%s %s: baseline up to date, skipped", village.id, season)
        return result
    log.info("%s %s: baseline from %d history passes (%s..%s)", village.id, season, len(used), first, last)
    layers: dict[str, list[np.ndarray | None]] = {k: [] for k in HISTORY_LAYERS}
    stamps = []
    like = _like(scene, village)
    in_season = season_passes(used, season, params)
    bands = [b for b in HISTORY_BANDS if b in scene.data_vars]
    for d in used:  # one pass at a time (bounded memory); the phenology passes need NDVI and water only
        wanted = HISTORY_LAYERS if d in in_season else ("ndvi", "water")
        need = bands if d in in_season else [b for b in bands if b != "blue"]
        with dask.config.set(scheduler="threads"):
            one = scenes.select_date(scene[need], d).compute()
        per = history_layers(one, params, layers=wanted)
        for k in HISTORY_LAYERS:
            a = per.get(k)
            layers[k].append(np.asarray(a.values, dtype="float32") if a is not None else None)
        stamps.append(pd.Timestamp(d))
    tags = {"VILLAGE": village.id, "SEASON": season,
            **({"DEMO": "synthetic demo data, not an observation"} if scene.attrs.get("demo") else {})}
    outputs: list[Path] = []
    stacks = {}
    for k in HISTORY_LAYERS:
        if any(a is not None for a in layers[k]):  # a pass that lacks the layer has no observation of it
            nan = np.full(like.shape, np.nan, "float32")
            stack = xr.DataArray(np.stack([a if a is not None else nan for a in layers[k]]), dims=("time", "y", "x"),
                                 coords={"time": pd.DatetimeIndex(stamps), "y": like["y"], "x": like["x"]})
        else:
            stack = xr.DataArray(np.zeros((0,) + like.shape, "float32"), dims=("time", "y", "x"),
                                 coords={"time": pd.DatetimeIndex([]), "y": like["y"], "x": like["x"]})
        stack.rio.write_crs(like.rio.crs, inplace=True).rio.write_transform(like.rio.transform(recalc=True), inplace=True)
        outputs.append(_write_stack(stack, folder / history_file(k), k, tags))
        layers[k] = []  # written: free the pass arrays
        if k in ("ndvi", "water"):  # what the land cover needs
            stacks[k] = stack
    official, crop_source, _ = official_cropland(source, village, like, cropland_file)
    lc = indices.land_cover_from_history(stacks["ndvi"], stacks["water"], params.change, cropland=official)
    if official is not None:
        lc.attrs["cropland_source"] = crop_source
    grid = grid_of(like)
    lc = georef(lc, grid)
    outputs.append(write_cog(lc, folder / LAND_COVER, nodata=indices.alerts.UNKNOWN, dtype="uint8",
                             tags={**tags, "CLASSES": json.dumps({str(k): v for k, v in indices.LAND_COVER.items()}),
                                   "CROPLAND_SOURCE": lc.attrs["cropland_source"]}))
    low = stacks["ndvi"].min("time", skipna=True) if stacks["ndvi"].sizes["time"] else xr.full_like(like, np.nan, dtype="float32")
    low = georef(low.astype("float32"), grid)
    outputs.append(write_cog(low.rename("ndvi_low"), folder / ANNUAL_LOW, tags=tags))
    res = float(abs(like.rio.resolution()[0]))
    counts = {int(c): int((lc.values == c).sum()) for c in indices.LAND_COVER}
    figures: dict[str, Any] = {
        "village_id": village.id, "season": season, "history": used, "n_history": len(used),
        "history_window": [first.isoformat(), last.isoformat()], "cropland_source": lc.attrs["cropland_source"],
        **{f"{name}_area_m2": counts[c] * res * res for c, name in indices.LAND_COVER.items()},
    }
    outputs.append(write_json(folder / BASELINE_FIGURES, figures))
    manifest = write_manifest(folder, village=village, key=key, outputs=outputs, source=source, params=params,
                              inputs={"season": season, "item_ids": ids, "history": used,
                                      "cropland": crop_source or "phenology"})
    result.paths, result.indicators = outputs + [manifest], figures
    return result


def _like(scene: xr.Dataset, village: Village) -> xr.DataArray:
    """A (y, x) template of the village's grid (from the history scene)."""
    t = scene[next(iter(scene.data_vars))].isel(time=0, drop=True)
    like = xr.DataArray(np.zeros(t.shape, "float32"), dims=("y", "x"), coords={"y": t["y"], "x": t["x"]})
    return georef(like, grid_of(scene))


def read_baseline(out_root: str | Path, village: Village | str, season: str) -> dict[str, Any] | None:
    """A written baseline: ``history`` (layer -> (time, y, x) or None), ``land_cover``,
    ``annual_low``, ``figures``, ``key``; None when the season has none."""
    folder = baseline_dir(out_root, village, season)
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    return {"history": {k: read_history(folder, k) for k in HISTORY_LAYERS},
            "land_cover": open_raster(folder / LAND_COVER, chunks=None, masked=False),
            "annual_low": open_raster(folder / ANNUAL_LOW, chunks=None),
            "figures": json.loads((folder / BASELINE_FIGURES).read_text()), "key": manifest.get("inputs_key")}


def land_cover_for(out_root: str | Path, village: Village, date: str) -> tuple[xr.DataArray | None, str]:
    """(the land cover of the date's quarter's baseline, its key) or (None, "") without one."""
    from .layout import season_of

    folder = baseline_dir(out_root, village, season_of(date))
    manifest = read_manifest(folder)
    if manifest is None or not (folder / LAND_COVER).is_file():
        return None, ""
    return open_raster(folder / LAND_COVER, chunks=None, masked=False), f"land_cover:{manifest.get('inputs_key', '')}"
