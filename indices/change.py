"""Change between two dates or periods: NDVI difference, water gain/loss, composites, polygons."""
from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from ._raster import as_2d, label, label_means, label_sums, pixel_area_m2, polygons, transform_of
from .errors import IndicesError


def _pair(a: xr.DataArray, b: xr.DataArray, what: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Drop length-1 ``time`` dims (two single dates differ in time) and require the same grid."""
    def squeeze(da: xr.DataArray) -> xr.DataArray:
        if "time" in da.dims and da.sizes["time"] == 1:
            da = da.isel(time=0)
        return da.drop_vars("time", errors="ignore") if "time" not in da.dims else da

    a, b = squeeze(a), squeeze(b)
    try:
        return xr.align(a, b, join="exact")
    except ValueError as exc:
        raise IndicesError(f"{what}: the two rasters are not on the same grid ({exc})") from exc


def ndvi_change(before: xr.DataArray, after: xr.DataArray, *, threshold: float = 0.2) -> xr.Dataset:
    """NDVI differencing between two co-registered dates (lazy).

    ``dndvi`` = after - before (float32, NaN where either is NaN); ``loss`` = dndvi <= -threshold;
    ``gain`` = dndvi >= +threshold (both False where ``valid`` is False); ``valid`` = both finite.

    NDVI differencing was the most reliable of the vegetation-index change methods compared by
    Lyon, Yuan, Lunetta & Elvidge 1998, Photogramm. Eng. Remote Sens. 64(2): 143-150. The
    |dNDVI| >= 0.2 default is a conventional cut for a clear canopy change (clearing, new
    planting) rather than seasonal or sensor noise, not a published constant: calibrate it,
    and compare dates of the same season.
    """
    b, a = _pair(before, after, "ndvi_change")
    d = (a.astype("float32") - b.astype("float32")).astype("float32")
    valid = np.isfinite(d)
    ds = xr.Dataset({
        "dndvi": d.assign_attrs(long_name="NDVI change (after - before)", units="1"),
        "loss": (d <= -threshold).assign_attrs(long_name=f"NDVI drop of at least {threshold}"),
        "gain": (d >= threshold).assign_attrs(long_name=f"NDVI rise of at least {threshold}"),
        "valid": valid.assign_attrs(long_name="both dates valid"),
    })
    ds.attrs = {"threshold": threshold, "source": "NDVI differencing, Lyon et al. 1998"}
    return ds


def water_change(before_mask: xr.DataArray, after_mask: xr.DataArray,
                 before_valid: xr.DataArray, after_valid: xr.DataArray) -> xr.Dataset:
    """Water ``gain`` (land -> water) and ``loss`` (water -> land), only where both dates are
    ``valid``; lazy. A pixel invalid on either date is neither gain nor loss."""
    bm, am = _pair(before_mask.astype(bool), after_mask.astype(bool), "water_change masks")
    bv, av = _pair(before_valid.astype(bool), after_valid.astype(bool), "water_change validity")
    bm, bv = _pair(bm, bv, "water_change mask vs validity")
    both = bv & av
    return xr.Dataset({
        "gain": (am & ~bm & both).assign_attrs(long_name="water gain (land before, water after)"),
        "loss": (bm & ~am & both).assign_attrs(long_name="water loss (water before, land after)"),
        "valid": both.assign_attrs(long_name="both dates valid"),
    })


def _nanmedian_last(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN pixels give NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=-1).astype(np.float32)


def median_composite(scene: xr.Dataset, start, end) -> xr.Dataset:
    """Per-pixel median over the dates in [``start``, ``end``] (inclusive), ignoring NaN
    (masked) observations; NaN where a pixel is never valid. Lazy under Dask (the period's
    dates are put in one chunk per pixel block). attrs add ``composite``, ``start``, ``end``,
    ``n_dates`` and the period's ``item_ids``."""
    if "time" not in scene.dims:
        raise IndicesError("median_composite needs a scene with a 'time' dimension")
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    times = pd.DatetimeIndex(scene["time"].values)
    if t1 == t1.normalize():  # a date: the whole day counts
        t1 = t1 + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    sel = scene.isel(time=np.flatnonzero((times >= t0) & (times <= t1)))
    if sel.sizes["time"] == 0:
        have = ", ".join(t.strftime("%Y-%m-%d") for t in times) or "none"
        raise IndicesError(f"no acquisition between {t0.date()} and {t1.date()} (scene has {have})")
    if any(v.chunks is not None for v in sel.data_vars.values()):
        sel = sel.chunk({"time": -1})
    med = xr.apply_ufunc(_nanmedian_last, sel, input_core_dims=[["time"]], dask="parallelized",
                         output_dtypes=[np.float32], keep_attrs=True)
    med = med.drop_vars([c for c in med.coords if "time" in med[c].dims or c == "time"], errors="ignore")
    ids = [str(i) for i in sel["item_id"].values] if "item_id" in sel.coords else []
    med.attrs.update({"composite": "median", "start": str(t0.date()), "end": str(t1.date()),
                      "n_dates": int(sel.sizes["time"]), "item_ids": ids})
    return med


def change_polygons(
    mask2d: xr.DataArray,
    magnitude2d: xr.DataArray | None = None,
    *,
    min_area_m2: float = 1000.0,
    kind: str | None = None,
) -> gpd.GeoDataFrame:
    """Polygons of the 8-connected regions of ``mask2d`` of at least ``min_area_m2`` (default
    1,000 m2 = ten 10 m pixels: a conventional minimum for reporting a change, a parameter),
    in the grid's CRS. Columns: ``kind`` (``kind``, else the mask's name, else ``"change"``),
    ``area_m2`` (pixels x pixel area), ``n_pixels``, ``mean_magnitude`` (mean of the finite
    ``magnitude2d`` over the region, NaN without it), ``geometry``. Regions are ordered as
    labelled (raster order). Vectorising needs the whole raster: Dask inputs are computed.
    """
    mask = as_2d(mask2d, "change_polygons mask")
    transform = transform_of(mask, "change_polygons mask")
    crs = mask.rio.crs
    pix = pixel_area_m2(mask, "change_polygons mask")
    name = kind or (str(mask2d.name) if mask2d.name is not None else "change")
    m = np.asarray(mask.values)
    if m.dtype != bool:
        m = np.nan_to_num(m.astype(np.float64), nan=0.0) != 0
    labels, n = label(m)
    counts, _ = label_sums(labels, n)
    min_px = max(1, math.ceil(min_area_m2 / pix - 1e-9))
    keep = np.flatnonzero(counts >= min_px) + 1
    cols = ["kind", "area_m2", "n_pixels", "mean_magnitude"]
    if keep.size == 0:
        return gpd.GeoDataFrame({"kind": pd.Series([], dtype=object), "area_m2": pd.Series([], dtype=float),
                                 "n_pixels": pd.Series([], dtype=np.int64), "mean_magnitude": pd.Series([], dtype=float)},
                                geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    relabel = np.zeros(n + 1, dtype=np.int32)
    relabel[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    labels = relabel[labels]
    k = int(keep.size)
    counts = counts[keep - 1]
    if magnitude2d is not None:
        mag = as_2d(magnitude2d, "change_polygons magnitude")
        if mag.shape != labels.shape:
            raise IndicesError(f"change_polygons: magnitude has shape {mag.shape}, the mask {labels.shape}")
        means = label_means(labels, k, np.asarray(mag.values))
    else:
        means = np.full(k, np.nan)
    geoms = polygons(labels, transform)
    gdf = gpd.GeoDataFrame(
        {"kind": [name] * k, "area_m2": counts.astype(np.float64) * pix, "n_pixels": counts.astype(np.int64),
         "mean_magnitude": means},
        geometry=[geoms[i] for i in range(1, k + 1)], crs=crs,
    )
    return gdf[cols + ["geometry"]]
