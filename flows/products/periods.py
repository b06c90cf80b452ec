"""A calendar month's change against the same season, on the clear-sky composite of the month.

``OUT/<village>/change/<first day>_<last day>/`` (``layout.PERIOD_FILES``):
``ndvi_median.tif`` (per-pixel median NDVI of the month's clear observations),
``clear_count.tif`` (how many clear observations each pixel had), ``ndvi_change.tif`` (the
median minus the same season's baseline median), ``vegetation_change.tif`` (1 loss, 2 gain, 0
none, 255 no clear observation), ``water_share.tif`` (share of clear observations that saw
water), ``water_change.tif`` (1 gain, 2 loss, 0 none, 255 no clear observation),
``vegetation_loss.geojson``, ``vegetation_gain.geojson``, ``water_gain.geojson``,
``water_loss.geojson``, ``new_black_odorous_suspects.geojson`` (water newly black-odorous),
``change.json`` (figures), ``manifest.json``.

The composite is compared with the same calendar window (+- the season half window) of
earlier years by the alerts' rules (``indices.seasonal_anomalies``: land-cover aware, cropland's
own cycle excluded); a pixel's change is ``confirmed`` when its month had at least
``confirm_obs`` clear observations (the median then rests on agreeing observations), else
``candidate``. Every polygon carries ``status``, ``clear_obs`` (median count of its pixels),
``first_date`` and ``confirmed_date`` (from the alerts of its kind, when they have found it),
``area_m2`` and ``mean_magnitude`` (mean NDVI change or water share).
"""
from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

import indices
from aoi import Village
from indices.nanstats import nanmedian0
from sensing.base import Source

from ..params import Params
from ..results import ChangeResult
from .atomic import write_json
from .cache import product_key, read_manifest, reuse, write_manifest
from .layout import (ALERTS_MANIFEST, CHANGE_FIGURES, MAIN_STREAM, NEW_SUSPECTS, PERIOD_FILES, alert_file, change_dir,
                     date_dir, period_vectors, watches_dir)
from .monitoring import baselines_for, date_stack, monitored_dates, season_for
from .rasters import open_raster, write_cog
from .vectors import write_geojson

log = logging.getLogger("villagewatch.flows")
#: period polygon kind -> the alert kind whose dates it carries
ALERT_OF = {"vegetation_loss": "vegetation_loss", "water_gain": "water_gain", "water_loss": "water_loss",
            "new_black_odorous_suspects": "black_odorous"}


def composite(data: xr.Dataset) -> xr.Dataset:
    """The clear-sky composite of a (time, y, x) stack: per-pixel median of ``ndvi``, ``ndwi``,
    ``ndbi`` over clear observations (Flood 2013; Griffiths et al. 2013), the share of clear
    observations that saw ``water`` / a ``suspect``, and ``clear_count`` (NDVI's clear
    observations) and ``water_count``."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in ("ndvi", "ndwi", "ndbi"):
            if k in data:
                out[k] = xr.DataArray(nanmedian0(data[k].values).astype("float32"), dims=("y", "x"))
        for k in ("water", "suspect"):
            if k in data:
                out[f"{k}_share"] = xr.DataArray(np.nanmean(data[k].values, axis=0).astype("float32"), dims=("y", "x"))
    if "ndvi" in data:
        out["clear_count"] = xr.DataArray(np.isfinite(data["ndvi"].values).sum(axis=0).astype("int16"), dims=("y", "x"))
    if "water" in data:
        out["water_count"] = xr.DataArray(np.isfinite(data["water"].values).sum(axis=0).astype("int16"), dims=("y", "x"))
    return xr.Dataset(out, coords={"y": data["y"], "x": data["x"]})


def period_masks(comp: xr.Dataset, season: xr.Dataset, base, params: Params) -> dict[str, xr.DataArray]:
    """The month's changes (2-D bool) by the alerts' rules on the composite."""
    cur = {k: comp[k] for k in ("ndvi", "ndwi", "ndbi") if k in comp}
    for k in ("water", "suspect"):
        if f"{k}_share" in comp:
            s = comp[f"{k}_share"]
            cur[k] = (s >= 0.5).astype("float32").where(np.isfinite(s))
    current = xr.Dataset(cur).expand_dims(time=season["time"].values)
    an = indices.seasonal_anomalies(current, season, base.land_cover, base.annual_low, params.change).isel(time=0)
    masks = {"vegetation_loss": an["vegetation_loss"], "water_gain": an["water_gain"], "water_loss": an["water_loss"],
             "new_black_odorous_suspects": an["black_odorous"]}
    if "ndvi" in comp and "ndvi_max" in season:
        lc = base.land_cover  # gain only where neither cropland nor water (0 other, 2 forest)
        high = comp["ndvi"] >= season["ndvi_max"].isel(time=0, drop=True) + params.change.ndvi_loss
        masks["vegetation_gain"] = (high.fillna(False) & ((lc == 0) | (lc == 2))).astype(bool)
    return masks


def _iso(yyyymmdd: int) -> str:
    return f"{yyyymmdd // 10000:04d}-{yyyymmdd // 100 % 100:02d}-{yyyymmdd % 100:02d}"


def _polygon_props(polys: gpd.GeoDataFrame, count: np.ndarray, transform, alerts: dict[str, np.ndarray],
                   confirm_obs: int, end: str) -> gpd.GeoDataFrame:
    """Status (confirmed: at least half the pixels had ``confirm_obs`` clear observations in the
    month, or the alerts confirmed it by the month's end), clear observations and alert dates."""
    status, clear, first, conf = [], [], [], []
    for m in indices.polygon_pixels(polys, count.shape, transform):
        c = count[m]
        clear.append(int(np.median(c)) if c.size else 0)
        for arr, acc in ((alerts.get("first"), first), (alerts.get("confirmed"), conf)):
            v = arr[m] if arr is not None else np.array([])
            v = v[v > 0]
            acc.append(_iso(int(v.min())) if v.size else None)
        by_alert = conf[-1] is not None and conf[-1] <= end
        status.append("confirmed" if (c.size and (c >= confirm_obs).mean() >= 0.5) or by_alert else "candidate")
    polys = polys.copy()
    polys["status"], polys["clear_obs"], polys["first_date"], polys["confirmed_date"] = status, clear, first, conf
    return polys


def process_period(source: Source, village: Village, start: str, end: str, out_root: str | Path,
                   params: Params = Params()) -> ChangeResult:
    """The change of the month [start, end] against the same season; reused when up to date."""
    result = ChangeResult(village.id, MAIN_STREAM, d_from=start, d_to=end)
    folder = change_dir(out_root, village, start, end)
    mon = [d for d in monitored_dates(out_root, village) if start <= d <= end]
    base = baselines_for(out_root, village, mon, params) if mon else None
    if not mon or base is None or not base.history:
        result.skipped["period_change"] = f"no monitored date with a baseline in {start}..{end}"
        log.info("%s %s..%s: period change skipped: %s", village.id, start, end, result.skipped["period_change"])
        return result
    stack = date_stack(out_root, village, mon)
    alerts_key = (read_manifest(watches_dir(out_root, village), ALERTS_MANIFEST) or {}).get("inputs_key", "")
    key = product_key(village, stack.keys + base.keys + [f"alerts:{alerts_key}"], source, params, "period")
    if reuse(result, folder, key, CHANGE_FIGURES):
        log.info("%s %s..%s: period change up to date, skipped", village.id, start, end)
        return result
    log.info("%s %s..%s: change against the same season on %d clear-sky dates", village.id, start, end, len(mon))
    data = stack.data
    comp = composite(data)
    d0, d1 = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    mid = pd.Timestamp(d0 + (d1 - d0) / 2)
    season = season_for(base, [mid], params, extra_days=(d1 - d0).days / 2)
    masks = period_masks(comp, season, base, params)
    crs, transform = data.rio.crs, data.rio.transform(recalc=True)

    def geo(da: xr.DataArray, name: str) -> xr.DataArray:
        da = da.rename(name).assign_coords(y=data["y"], x=data["x"])
        return da.rio.write_crs(crs).rio.write_transform(transform)

    demo = bool((read_manifest(date_dir(out_root, village, mon[-1])) or {}).get("inputs", {}).get("demo", False))
    tags = {"VILLAGE": village.id, "CHANGE_FROM": start, "CHANGE_TO": end, "DATES": ",".join(mon),
            **({"DEMO": "synthetic demo data, not an observation"} if demo else {})}
    outputs: list[Path] = []
    count = comp["clear_count"].values if "clear_count" in comp else np.zeros(data["y"].shape + data["x"].shape, "int16")
    nodata = count == 0
    if "ndvi" in comp:
        base_med = season["ndvi_median"].isel(time=0, drop=True)
        outputs.append(write_cog(geo(comp["ndvi"], "ndvi_median"), folder / PERIOD_FILES["ndvi_median"], tags=tags))
        outputs.append(write_cog(geo(comp["ndvi"] - base_med, "ndvi_change"), folder / PERIOD_FILES["ndvi_change"], tags=tags))
        vcls = xr.where(masks["vegetation_loss"], 1, xr.where(masks.get("vegetation_gain", False), 2, 0)).where(~nodata, 255)
        outputs.append(write_cog(geo(vcls.astype("uint8"), "vegetation_change"), folder / PERIOD_FILES["vegetation_change"],
                                 nodata=255, dtype="uint8", tags=tags))
    outputs.append(write_cog(geo(comp["clear_count"], "clear_count"), folder / PERIOD_FILES["clear_count"],
                             nodata=-1, dtype="int16", tags=tags))  # 0 = no clear observation; -1 never written
    if "water_share" in comp:
        wnod = comp["water_count"].values == 0
        outputs.append(write_cog(geo(comp["water_share"], "water_share"), folder / PERIOD_FILES["water_share"], tags=tags))
        wcls = xr.where(masks["water_gain"], 1, xr.where(masks["water_loss"], 2, 0)).where(~wnod, 255)
        outputs.append(write_cog(geo(wcls.astype("uint8"), "water_change"), folder / PERIOD_FILES["water_change"],
                                 nodata=255, dtype="uint8", tags=tags))
    wfold = watches_dir(out_root, village)
    figures: dict[str, Any] = {"from": start, "to": end, "dates": mon, "n_dates": len(mon),
                               "clear_obs_median": float(np.median(count[~nodata])) if (~nodata).any() else 0.0}
    meta = {"village": village.id, "from": start, "to": end, "demo": demo, "dates": mon,
            "method": "clear-sky median composite vs the same season of earlier years (indices.seasonal_anomalies)",
            "confirm_obs": params.change.confirm_obs, "cropland_source": base.cropland_source}
    magnitude = {"vegetation_loss": "ndvi", "vegetation_gain": "ndvi", "water_gain": "water_share",
                 "water_loss": "water_share", "new_black_odorous_suspects": "suspect_share"}
    for kind, mask in masks.items():
        mag = comp[magnitude[kind]] if magnitude[kind] in comp else None
        if kind.startswith("vegetation") and "ndvi" in comp:
            mag = comp["ndvi"] - season["ndvi_median"].isel(time=0, drop=True)
        polys = indices.change_polygons(geo(mask, kind), geo(mag, "m") if mag is not None else None,
                                        min_area_m2=params.change_min_area_m2, kind=kind)
        alert = ALERT_OF.get(kind)
        arrays = {}
        for what in ("first", "confirmed"):
            p = wfold / alert_file(alert, what) if alert else None
            if p is not None and p.is_file():
                arrays[what] = np.asarray(open_raster(p, chunks=None, masked=False).values)
        polys = _polygon_props(polys, count, transform, arrays, params.change.confirm_obs, end) if len(polys) else polys
        name = NEW_SUSPECTS if kind == "new_black_odorous_suspects" else period_vectors(kind)
        outputs.append(write_geojson(polys, folder / name, properties={**meta, "kind": kind}, crs=params.geojson_crs))
        figures[f"{kind}_area_m2"] = float(polys["area_m2"].sum()) if len(polys) else 0.0
        figures[f"{kind}_n"] = int(len(polys))
        if len(polys):
            figures[f"{kind}_confirmed_area_m2"] = float(polys.loc[polys["status"] == "confirmed", "area_m2"].sum())
    figures["new_black_odorous_suspects"] = figures.pop("new_black_odorous_suspects_n", 0)
    outputs.append(write_json(folder / CHANGE_FIGURES, figures))
    manifest = write_manifest(folder, village=village, key=key, outputs=outputs, source=source, params=params,
                              inputs={"from": start, "to": end, "dates": mon, "item_ids": stack.item_ids,
                                      "baselines": base.keys, "demo": demo})
    result.paths, result.indicators = outputs + [manifest], figures
    return result
