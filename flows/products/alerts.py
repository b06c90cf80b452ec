"""The change alerts of a village: every monitored clear observation compared with what the
pixel looked like in the same season of earlier years, land-cover aware, with a status that
follows the next clear observations (``indices.seasonal_anomalies``, ``indices.alert_status``).

``OUT/<village>/watches/`` (``flows.products.layout.alert_file``), per kind of
``layout.ALERT_PRODUCTS``:

- ``<kind>_alerts.geojson``: polygons (at least ``Params.change_min_area_m2``) with ``kind``,
  ``status`` (``candidate``: one anomalous clear observation so far; ``confirmed``: the next
  clear observation(s) agreed, ``SeasonalChangeParams.confirm_obs`` in all), ``first_date``
  (first anomalous clear observation), ``confirmed_date``, ``last_date`` (last clear
  observation assessed), ``n_observations``, ``area_m2``, ``n_pixels``, ``confirmed_share``,
  ``mean_magnitude`` (vegetation loss: the mean NDVI drop below the baseline minimum); farmland
  conversion adds ``conversion`` (``built_or_bare`` or ``pond_dug``). Reverted alerts (a
  temporary anomaly that went back to normal) are not drawn;
- ``<kind>_status.tif`` (uint8: 0 none, 1 candidate, 2 confirmed, 3 reverted, 255 never
  assessed), ``<kind>_first.tif`` and ``<kind>_confirmed.tif`` (int32 YYYYMMDD, 0 none);
- ``alerts.json``: the figures (per kind the confirmed and candidate area, the new area per
  first date) and what was compared; ``alerts.manifest.json`` (companion manifest).

Kinds: ``vegetation_loss`` (not cropland, not water), ``water_gain`` (open water appearing where
the season was dry), ``water_loss`` (permanent water drying), ``black_odorous`` (water newly
black-odorous: suspect pixels where the season never had any), ``farmland_conversion`` (the
farmland watch, 耕地非农化: cropland below any NDVI its history showed, turning built or bare, or
a pond dug). Inputs: the monitored dates' products (``monitoring``) and the baselines.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

import indices
from aoi import Village
from sensing.base import Source

from ..params import Params
from ..results import AlertResult
from .atomic import write_json
from .cache import product_key, read_manifest, reuse, write_manifest
from .layout import ALERT_PRODUCTS, ALERTS_FIGURES, ALERTS_MANIFEST, alert_file, date_dir, watches_dir
from .monitoring import baselines_for, date_stack, monitored_dates, season_for
from .rasters import georef, grid_of, write_cog
from .vectors import write_geojson

log = logging.getLogger("villagewatch.flows")


def _yyyymmdd(dates: xr.DataArray) -> xr.DataArray:
    v = pd.DatetimeIndex(np.asarray(dates.values).ravel())
    num = np.where(v.isna(), 0, v.year * 10000 + v.month * 100 + v.day).astype("int32")
    return dates.copy(data=num.reshape(dates.shape))


def compute_alerts(stack: xr.Dataset, base, params: Params) -> dict[str, Any]:
    """Anomalies and alert states of every kind from a date stack and its baselines: ``{kind:
    (status Dataset, anomalies)}`` plus ``"anomalies"`` and ``"season"`` (what the validation
    scores is exactly this)."""
    season = season_for(base, stack["time"].values, params)
    season = season.assign_coords(time=stack["time"].values)
    an = indices.seasonal_anomalies(stack, season, base.land_cover, base.annual_low, params.change)
    an["farmland_conversion"] = an["farmland_built"] | an["farmland_pond"]
    an["farmland_conversion_assessed"] = an["farmland_built_assessed"] | an["farmland_pond_assessed"]
    p = params.change
    out: dict[str, Any] = {"anomalies": an, "season": season}
    for kind in ALERT_PRODUCTS:
        if kind == "farmland_conversion":
            out[kind] = _farmland_status(an, p)
            continue
        out[kind] = indices.alert_status(an[kind], an[f"{kind}_assessed"], confirm_obs=p.confirm_obs,
                                         revert_obs=p.revert_obs)
    return out


def _farmland_status(an: xr.Dataset, p) -> xr.Dataset:
    """The farmland watch's states: a pond dug as any alert; a conversion to built or bare land
    only once confirmed and lasting ``farmland_min_days`` (bare soil is part of the crop cycle
    for weeks), else not claimed (status none)."""
    pond = indices.alert_status(an["farmland_pond"], an["farmland_pond_assessed"], confirm_obs=p.confirm_obs,
                                revert_obs=p.revert_obs)
    built = indices.alert_status(an["farmland_built"], an["farmland_built_assessed"], confirm_obs=p.confirm_obs,
                                 revert_obs=p.revert_obs)
    lasted = (built["last"] - built["first"]) >= np.timedelta64(int(p.farmland_min_days), "D")
    claimed = (built["status"] == indices.alerts.CONFIRMED) & lasted.fillna(False)
    use_built = claimed & ~pond["status"].isin([indices.alerts.CANDIDATE, indices.alerts.CONFIRMED])
    out = pond.copy()
    for var in ("status", "first", "confirmed", "last", "n_anomalous"):
        out[var] = xr.where(use_built, built[var], pond[var])
    out["status"] = out["status"].astype("uint8")
    return out


def alert_vectors(result: dict[str, Any], stack: xr.Dataset, params: Params) -> dict[str, Any]:
    """Polygons per kind, georeferenced like ``stack``."""
    vectors = {}
    an = result["anomalies"]
    grid = grid_of(stack)
    for kind in ALERT_PRODUCTS:
        st = georef(result[kind], grid)
        mag = None
        if kind == "vegetation_loss" and "ndvi" in stack:
            drop = (stack["ndvi"] - result["season"]["ndvi_min"]).where(an["vegetation_loss"])
            mag = drop.min("time", skipna=True)
        polys = indices.alert_polygons(st, kind=kind, min_area_m2=params.change_min_area_m2, magnitude=mag)
        if kind == "farmland_conversion" and len(polys):
            pond = an["farmland_pond"].any("time").values
            share = indices.polygon_share(polys, pond, stack.rio.transform(recalc=True))
            polys["conversion"] = ["pond_dug" if s >= 0.5 else "built_or_bare" for s in share]
        vectors[kind] = polys
    return vectors


def process_alerts(source: Source, village: Village, out_root: str | Path, params: Params = Params(),
                   dates: Sequence[str] = ()) -> AlertResult:
    """The village's alerts over its monitored dates (every main-stream date in the output
    whose quarter has a baseline, the last year of them); reused when up to date."""
    result = AlertResult(village.id)
    folder = watches_dir(out_root, village)
    mon = monitored_dates(out_root, village)
    base = baselines_for(out_root, village, mon, params) if mon else None
    if not mon or base is None or not base.history:
        result.skipped["alerts"] = "no monitored date with a same-season baseline (no history before the window?)"
        log.info("%s: alerts skipped: %s", village.id, result.skipped["alerts"])
        return result
    stack = date_stack(out_root, village, mon)
    key = product_key(village, stack.keys + base.keys, source, params, "alerts")
    if reuse(result, folder, key, ALERTS_FIGURES, name=ALERTS_MANIFEST, part="figures"):
        log.info("%s: alerts up to date, skipped", village.id)
        return result
    log.info("%s: alerts over %d monitored dates (%s..%s)", village.id, len(mon), mon[0], mon[-1])
    data = stack.data
    res = compute_alerts(data, base, params)
    vectors = alert_vectors(res, data, params)
    demo = bool((read_manifest(date_dir(out_root, village, mon[-1])) or {}).get("inputs", {}).get("demo", False))
    tags = {"VILLAGE": village.id, "DATES": f"{mon[0]}..{mon[-1]}", **({"DEMO": "synthetic demo data"} if demo else {})}
    outputs: list[Path] = []
    figures: dict[str, Any] = {"latest_date": mon[-1], "first_date": mon[0], "n_dates": len(mon)}
    new_by_date: dict[str, dict[str, float]] = {}
    grid = grid_of(data)
    for kind in ALERT_PRODUCTS:
        st = res[kind]
        outputs.append(write_cog(georef(st["status"].rename(f"{kind}_status"), grid),
                                 folder / alert_file(kind, "status"), nodata=255, dtype="uint8",
                                 tags={**tags, "CLASSES": "0 none, 1 candidate, 2 confirmed, 3 reverted, 255 never assessed"}))
        for what in ("first", "confirmed"):
            outputs.append(write_cog(georef(_yyyymmdd(st[what]).rename(f"{kind}_{what}"), grid),
                                     folder / alert_file(kind, what), nodata=0, dtype="int32",
                                     tags={**tags, "UNITS": "YYYYMMDD"}))
        polys = vectors[kind]
        meta = {"village": village.id, "kind": kind, "demo": demo, "dates": mon,
                "confirm_obs": params.change.confirm_obs, "cropland_source": base.cropland_source}
        outputs.append(write_geojson(polys, folder / alert_file(kind, "polygons"), properties=meta, crs=params.geojson_crs))
        conf = polys[polys["status"] == "confirmed"] if len(polys) else polys
        cand = polys[polys["status"] == "candidate"] if len(polys) else polys
        figures[f"{kind}_confirmed_area_m2"] = float(conf["area_m2"].sum()) if len(conf) else 0.0
        figures[f"{kind}_candidate_area_m2"] = float(cand["area_m2"].sum()) if len(cand) else 0.0
        figures[f"{kind}_area_m2"] = figures[f"{kind}_confirmed_area_m2"] + figures[f"{kind}_candidate_area_m2"]
        figures[f"{kind}_n"] = int(len(polys))
        for d, a in (polys.groupby("first_date")["area_m2"].sum().items() if len(polys) else []):
            new_by_date.setdefault(str(d), {})[f"{kind}_area_m2"] = float(a)
    payload = {"figures": figures, "new_by_first_date": new_by_date, "village": village.id, "dates": mon,
               "baselines": base.keys, "cropland_source": base.cropland_source, "demo": demo,
               "rule": "same-season baseline (indices.seasonal_anomalies), candidate / confirmed (indices.alert_status)"}
    outputs.append(write_json(folder / ALERTS_FIGURES, payload))
    manifest = write_manifest(folder, village=village, key=key, outputs=outputs, source=source, params=params,
                              inputs={"dates": mon, "item_ids": stack.item_ids, "products": stack.keys,
                                      "baselines": base.keys, "demo": demo},
                              name=ALERTS_MANIFEST)
    result.paths, result.indicators = outputs + [manifest], figures
    return result
