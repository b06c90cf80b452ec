"""Per-pixel median composite of a Scene over a period (for change maps between periods).

The per-pixel median of cloud-masked observations is the standard robust compositing rule
for optical time series (Flood, 2013, *Remote Sensing* 5(12), 6481-6500, "Seasonal composite
Landsat TM/ETM+ images using the medoid"; Griffiths et al., 2013, *IEEE JSTARS* 6(5)).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from .errors import NoDataError


def median_composite(scene: xr.Dataset, start: Any, end: Any, *, min_count: int = 1) -> xr.Dataset:
    """Median over ``time`` of the dates in ``[start, end]`` (inclusive days), NaN-skipping.

    Returns a ``(y, x)`` Dataset with the same bands, CRS and transform, float32, lazy; a pixel
    observed fewer than ``min_count`` times is NaN. attrs record the period, the dates used and
    their item ids; the variable ``n_obs`` is not added (bands only), use
    ``scene[b].notnull().sum("time")`` for counts.
    """
    t0 = pd.Timestamp(start).normalize()
    t1 = pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)
    times = pd.DatetimeIndex(scene["time"].values)
    sel = (times >= t0) & (times <= t1)
    if not sel.any():
        raise NoDataError(f"no dates between {t0.date()} and {t1.date()} to composite "
                          f"(scene has {', '.join(str(t.date()) for t in times) or 'none'})")
    sub = scene.isel(time=np.flatnonzero(sel))
    bands = {}
    for name, da in sub.data_vars.items():
        if "time" not in da.dims:
            continue
        arr = da.chunk({"time": -1}) if da.chunks is not None else da
        med = arr.median("time", skipna=True)
        if min_count > 1:
            med = med.where(arr.notnull().sum("time") >= min_count)
        bands[name] = med.astype("float32")
    out = xr.Dataset(bands, attrs=dict(scene.attrs))
    out.attrs.update({
        "composite": "median",
        "composite_start": str(t0.date()),
        "composite_end": str(t1.date()),
        "composite_dates": [str(pd.Timestamp(t).date()) for t in sub["time"].values],
    })
    if "item_id" in sub.coords:
        out.attrs["item_ids"] = [str(i) for i in sub["item_id"].values]
    if scene.rio.crs is not None:
        out = out.rio.write_crs(scene.rio.crs)
        try:
            out = out.rio.write_transform(scene.rio.transform())
        except Exception:  # noqa: BLE001 - transform is derivable from coords anyway
            pass
    return out



def fuse_same_day(ds: xr.Dataset, valid: xr.DataArray, days: list[str]) -> tuple[xr.Dataset, xr.DataArray]:
    """Time steps of the same solar day (``days``, one per step) fused into one: the first
    valid pixel wins, in time order; the quality masks are or-ed."""
    out, vout = [], []
    for day in dict.fromkeys(days):
        idx = [i for i, d in enumerate(days) if d == day]
        fused = ds.isel(time=idx[0])
        v = valid.isel(time=idx[0])
        for i in idx[1:]:
            fused = fused.combine_first(ds.isel(time=i).drop_vars("time"))
            v = v | valid.isel(time=i).drop_vars("time")
        out.append(fused)
        vout.append(v)
    return xr.concat(out, dim="time"), xr.concat(vout, dim="time")
