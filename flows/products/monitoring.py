"""What the alerts and the period changes read: the monitored dates' written products as one
(time, y, x) stack, and the same-season baselines they are compared with. Nothing here reads
the scene again, and nothing reads the demo's truth."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import indices
from aoi import Village

from ..params import Params
from .baseline import read_baseline
from .cache import Kept, read_manifest
from .layout import HISTORY_LAYERS, baseline_dir, date_dir, season_of
from .layout import dates as product_dates
from .rasters import georef, grid_of, open_raster

#: the date products a monitored date contributes: layer -> file
DATE_LAYERS = {"ndvi": "ndvi.tif", "ndwi": "ndwi.tif", "ndbi": "ndbi.tif", "water": "water_mask.tif",
               "suspect": "black_odorous.tif"}
#: how far back the alerts follow a pixel's clear observations (the monitoring period)
MONITOR_DAYS = 365


def monitored_dates(out_root: str | Path, village: Village, *, upto: str | None = None) -> list[str]:
    """Main-stream dates with products and with their quarter's baseline in the output, within
    :data:`MONITOR_DAYS` before the newest (or before ``upto``), oldest first."""
    have = [d for d in product_dates(out_root, village) if (date_dir(out_root, village, d) / DATE_LAYERS["ndvi"]).exists()
            and read_manifest(baseline_dir(out_root, village, season_of(d))) is not None]
    if upto is not None:
        have = [d for d in have if d <= upto]
    if not have:
        return []
    first = (dt.date.fromisoformat(have[-1]) - dt.timedelta(days=MONITOR_DAYS)).isoformat()
    return [d for d in have if d >= first]


#: date layers kept in memory, up to 64 MiB (a village's alerts and then each of its months read
#: the same dates' products in a row)
_kept_layers = Kept(64 * 2**20, size=lambda a: a.nbytes)


def _layer(folder: Path, name: str) -> xr.DataArray | None:
    """A date's product as float32 (y, x), NaN where not valid; the last few read are kept,
    keyed on the file's identity, size and time (a rewritten file has another key)."""
    path = folder / DATE_LAYERS[name]
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _kept_layers.get((str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns), lambda: _read_layer(path, name))


def _read_layer(path: Path, name: str) -> xr.DataArray:
    if name in ("water", "suspect"):  # 1 / 0, 255 = no valid observation
        raw = open_raster(path, chunks=None, masked=False)
        return raw.astype("float32").where(raw != 255)
    return open_raster(path, chunks=None).astype("float32")


@dataclass(frozen=True)
class DateStack:
    """Monitored dates' products: ``data`` (time, y, x) per layer, NaN where not clear; the
    dates' scene item ids, and ``keys`` (date, item and product key: for the cache key)."""

    data: xr.Dataset
    item_ids: list[str]
    keys: list[str]

    @property
    def dates(self) -> list[str]:
        return [pd.Timestamp(t).strftime("%Y-%m-%d") for t in self.data["time"].values]


def date_stack(out_root: str | Path, village: Village, dates: list[str]) -> DateStack:
    """The products of ``dates`` as one stack; a layer missing on any date is left out."""
    per: dict[str, list[xr.DataArray]] = {k: [] for k in DATE_LAYERS}
    ids, keys = [], []
    like = None
    for d in dates:
        folder = date_dir(out_root, village, d)
        m = read_manifest(folder) or {}
        ids.append(str((m.get("inputs", {}).get("item_ids") or [""])[0]))
        keys.append(f"{d}:{ids[-1]}:{m.get('inputs_key', '')}")
        for k in DATE_LAYERS:
            a = _layer(folder, k)
            if a is not None:
                like = a if like is None else like
                per[k].append(a.drop_vars([c for c in a.coords if c not in ("y", "x")]))
            else:
                per[k].append(None)
    times = pd.DatetimeIndex(pd.to_datetime(dates))
    data = {k: xr.concat(v, dim="time").assign_coords(time=times) for k, v in per.items()
            if v and all(a is not None for a in v)}
    ds = xr.Dataset(data)
    if like is not None:
        ds = georef(ds, grid_of(like))
    return DateStack(ds, ids, keys)


@dataclass(frozen=True)
class Baselines:
    """The same-season history of the seasons involved, merged; the newest season's land cover
    and NDVI low; the baselines' keys."""

    history: dict[str, xr.DataArray]
    land_cover: xr.DataArray
    annual_low: xr.DataArray
    keys: list[str]
    cropland_source: str
    n_harmonics: int = 1

    @functools.cached_property
    def harmonic(self) -> xr.Dataset:
        """The NDVI history's harmonic model (``indices.harmonic_fit``)."""
        return indices.harmonic_fit(self.history["ndvi"], n_harmonics=self.n_harmonics)


#: the last 4 baselines read, kept in memory (a village's alerts and months read the same ones in a row)
_kept_baselines = Kept(4)


def _files_state(out_root: str | Path, village: Village, seasons: list[str]) -> tuple:
    """Every file of the seasons' baselines with its size and modification time: the key of
    a baseline read already (a rewritten baseline has another)."""
    state = []
    for s in seasons:
        folder = baseline_dir(out_root, village, s)
        try:
            for f in sorted(folder.iterdir()):
                st = f.stat()
                state.append((s, f.name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            state.append((s, None))
    return tuple(state)


def baselines_for(out_root: str | Path, village: Village, dates: list[str], params: Params = Params()) -> Baselines | None:
    """The baselines of the quarters of ``dates`` (None when none is written). The last few
    read are kept (keyed on their files' sizes and times): the alerts and each month of a
    village read the same baselines, and their harmonic model is then fitted once."""
    seasons = sorted({season_of(d) for d in dates})
    key = (str(Path(out_root).resolve()), village.id, params.change.n_harmonics, _files_state(out_root, village, seasons))
    return _kept_baselines.get(key, lambda: _read_baselines(out_root, village, seasons, params))


def _read_baselines(out_root: str | Path, village: Village, seasons: list[str], params: Params) -> Baselines | None:
    found = [(s, b) for s in seasons if (b := read_baseline(out_root, village, s))]
    if not found:
        return None
    history: dict[str, xr.DataArray] = {}
    for layer in HISTORY_LAYERS:
        parts = [b["history"][layer] for _, b in found if b["history"].get(layer) is not None]
        if parts:
            merged = xr.concat(parts, dim="time")
            _, first = np.unique(merged["time"].values, return_index=True)
            history[layer] = merged.isel(time=np.sort(first))
    newest = found[-1][1]
    return Baselines(history, newest["land_cover"], newest["annual_low"], [f"{s}:{b['key']}" for s, b in found],
                     newest["figures"].get("cropland_source", ""), params.change.n_harmonics)


def season_for(base: Baselines, targets, params: Params, *, extra_days: float = 0.0) -> xr.Dataset:
    """The same-season summaries at ``targets`` the anomalies need: ``ndvi_min``, ``ndvi_max``,
    ``ndvi_median``, ``ndbi_median``, ``water_share``, ``suspect_share`` (``<name>_n`` clear
    observations); ``extra_days`` widens the window (a period's half length)."""
    p = params.change
    kw = {"half_window_days": p.season_half_window_days + extra_days,
          "fallback_half_window_days": p.fallback_half_window_days + extra_days}
    out = {}
    wanted = {"ndvi": ("min", "max", "median"), "ndbi": ("median",), "water": ("mean",), "suspect": ("mean",)}
    names = {"mean": "share"}
    for layer, stats in wanted.items():
        h = base.history.get(layer)
        if h is None or not h.sizes["time"]:
            continue
        s = indices.season_summary(h, targets, stats=stats, **kw)
        for st in stats:
            out[f"{layer}_{names.get(st, st)}"] = s[st]
        out[f"{layer}_n"] = s["n_obs"]
    if p.vegetation_model == "harmonic" and base.history.get("ndvi") is not None:
        fit = base.harmonic
        pred = indices.harmonic_predict(fit, targets)
        out["ndvi_expected"] = pred.assign_coords(time=out["ndvi_min"]["time"].values) if "ndvi_min" in out else pred
        out["ndvi_rmse"] = fit["rmse"].expand_dims(time=out["ndvi_expected"]["time"].values)
    return xr.Dataset(out)
