"""Two watches for village officers: ancient trees (一树一码) and suspected conversion of
cropland to non-agricultural use (耕地非农化)."""
from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from .errors import IndicesError, MissingBandError
from .spectral import INDICES, missing_bands

BASELINES = ("first", "median", "max")


def _windows(ndvi: xr.DataArray, x0: float, y0: float, r: float) -> tuple[xr.DataArray | None, np.ndarray, int]:
    """The (time, y, x) window around (x0, y0) and the boolean disk of pixel centres within
    ``r`` (the pixel containing the point when no centre is that close)."""
    xs = ndvi["x"].values.astype(np.float64)
    ys = ndvi["y"].values.astype(np.float64)
    dx_pix = abs(xs[1] - xs[0]) if xs.size > 1 else np.inf
    dy_pix = abs(ys[1] - ys[0]) if ys.size > 1 else np.inf
    cols = np.flatnonzero(np.abs(xs - x0) <= r)
    rows = np.flatnonzero(np.abs(ys - y0) <= r)
    if cols.size and rows.size:
        win = ndvi.isel(x=slice(cols[0], cols[-1] + 1), y=slice(rows[0], rows[-1] + 1))
        dd = np.hypot(*np.meshgrid(xs[cols[0]:cols[-1] + 1] - x0, ys[rows[0]:rows[-1] + 1] - y0))
        disk = dd <= r
        if disk.any():
            return win, disk, int(disk.sum())
    c, rr = int(np.argmin(np.abs(xs - x0))), int(np.argmin(np.abs(ys - y0)))
    if abs(xs[c] - x0) <= dx_pix / 2 and abs(ys[rr] - y0) <= dy_pix / 2:
        return ndvi.isel(x=slice(c, c + 1), y=slice(rr, rr + 1)), np.ones((1, 1), dtype=bool), 1
    return None, np.zeros((0, 0), dtype=bool), 0


def ancient_tree_watch(
    ndvi_series: xr.DataArray,
    trees: gpd.GeoDataFrame,
    *,
    buffer_m: float = 10.0,
    decline_threshold: float = 0.15,
    baseline: str = "first",
) -> gpd.GeoDataFrame:
    """Canopy NDVI around each registered ancient tree, per date, with a decline alert.

    ``trees``: points (reprojected to the raster's CRS if needed) with a ``code`` column (the
    tree's 一树一码 code). For each tree and date: ``ndvi_mean`` over the finite pixels whose
    centres lie within ``buffer_m`` (10 m) of the tree (the pixel holding the tree if none
    does), ``n_pixels`` (in the buffer) and ``n_valid``; ``baseline_ndvi`` ("first": the
    first date with a value; or the "median" or "max" over the dates); ``change`` = ndvi_mean
    - baseline_ndvi; ``alert`` = change <= -``decline_threshold``.

    The 0.15 NDVI decline is a conventional default to calibrate per species and season, not
    a published constant; compare dates of the same season (leaf-off is not decline). At
    10 m a crown covers one to a few pixels, so this watches the tree's neighbourhood (a
    cleared neighbour also alerts): sub-metre drone NDVI resolves the crown itself. Trees
    outside the raster get ``n_pixels`` 0 and never alert.

    Reads only the windows around the trees (computed together).
    """
    if "time" not in ndvi_series.dims:
        raise IndicesError(f"ancient_tree_watch needs an NDVI series with a 'time' dimension, got {ndvi_series.dims}")
    if baseline not in BASELINES:
        raise IndicesError(f"unknown baseline {baseline!r}; use one of {', '.join(BASELINES)}")
    if "code" not in trees.columns:
        raise IndicesError("ancient_tree_watch: the trees layer lacks the 'code' column (一树一码)")
    crs = ndvi_series.rio.crs
    if trees.crs is not None and crs is not None and trees.crs != crs:
        trees = trees.to_crs(crs)
    if len(trees) and not (trees.geometry.geom_type == "Point").all():
        bad = sorted(set(trees.geometry.geom_type) - {"Point"})
        raise IndicesError(f"ancient_tree_watch: trees must be points, got {', '.join(bad)}")
    nd = ndvi_series.transpose("time", "y", "x")
    times = pd.DatetimeIndex(nd["time"].values)

    wins, disks, npix = [], [], []
    for pt in trees.geometry:
        w, d, n = _windows(nd, pt.x, pt.y, float(buffer_m))
        wins.append(w.data if w is not None else None)
        disks.append(d)
        npix.append(n)
    lazy = [w for w in wins if w is not None]
    computed = iter(dask.compute(*lazy)) if lazy else iter(())
    rows = []
    for (code, pt), w, d, n in zip(zip(trees["code"].astype(str), trees.geometry), wins, disks, npix):
        if w is None:
            means = np.full(len(times), np.nan)
            nvalid = np.zeros(len(times), dtype=np.int64)
        else:
            vals = np.asarray(next(computed), dtype=np.float64)[:, d]  # (time, pixels in disk)
            ok = np.isfinite(vals)
            nvalid = ok.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(nvalid > 0, np.where(ok, vals, 0.0).sum(axis=1) / np.maximum(nvalid, 1), np.nan)
        have = means[np.isfinite(means)]
        if not have.size:
            base = np.nan
        elif baseline == "first":
            base = float(have[0])
        elif baseline == "median":
            base = float(np.median(have))
        else:
            base = float(have.max())
        change = means - base
        for t, m, nv, c in zip(times, means, nvalid, change):
            rows.append({"code": code, "date": t, "ndvi_mean": float(m), "n_pixels": int(n), "n_valid": int(nv),
                         "baseline_ndvi": base, "change": float(c),
                         "alert": bool(np.isfinite(c) and c <= -decline_threshold), "geometry": pt})
    cols = ["code", "date", "ndvi_mean", "n_pixels", "n_valid", "baseline_ndvi", "change", "alert"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    out.attrs.update({"buffer_m": float(buffer_m), "decline_threshold": float(decline_threshold), "baseline": baseline})
    return out


def _with_indices(ds: xr.Dataset, which: str) -> xr.Dataset:
    """``ds`` (one date: a length-1 ``time`` is dropped) with ndvi / ndbi / bsi, computed from
    its bands where it does not hold them."""
    if "time" in ds.dims and ds.sizes["time"] == 1:
        ds = ds.isel(time=0)
    ds = ds.drop_vars("time", errors="ignore")
    out = {}
    for name in ("ndvi", "ndbi", "bsi"):
        if name in ds.data_vars:
            out[name] = ds[name]
        elif not missing_bands(ds, INDICES[name].bands):
            out[name] = INDICES[name].func(ds)
    if "ndvi" not in out or not ({"ndbi", "bsi"} & set(out)):
        raise MissingBandError(f"farmland_conversion ({which})", ["ndvi and ndbi or bsi (or the bands: nir, red, swir16)"],
                               [str(v) for v in ds.data_vars])
    return xr.Dataset(out)


def farmland_conversion(
    before: xr.Dataset,
    after: xr.Dataset,
    cropland_mask: xr.DataArray,
    *,
    ndbi_rise: float = 0.1,
    bsi_rise: float = 0.1,
    ndvi_drop: float = 0.2,
) -> xr.DataArray:
    """Suspected conversion of cropland to non-agricultural use (耕地非农化), lazily:

    ``cropland & (dNDVI <= -ndvi_drop) & ((dNDBI >= ndbi_rise) | (dBSI >= bsi_rise))``

    with d = after - before, False where any input is NaN. ``before`` / ``after`` hold
    ``ndvi`` and ``ndbi`` and/or ``bsi`` (or the bands to compute them). The logic is the
    usual built-up/bare-soil signature of construction on farmland: vegetation lost (NDVI,
    Rouse et al. 1974) while built-up (NDBI, Zha et al. 2003) or bare soil (BSI, Rikimaru et
    al. 2002) rises. The three thresholds are conventional defaults to calibrate against
    verified cases, not published constants.

    Harvest and ploughing also lower NDVI and raise BSI: compare the same season of two
    years (e.g. ``median_composite`` of the same months), not a crop date with a bare one.
    Vectorise the result with ``change_polygons(mask, kind="farmland_conversion")``.
    """
    b = _with_indices(before, "before")
    a = _with_indices(after, "after")
    crop = cropland_mask.astype(bool)
    d_ndvi = a["ndvi"] - b["ndvi"]
    rise = None
    for name, thr in (("ndbi", ndbi_rise), ("bsi", bsi_rise)):
        if name in a and name in b:
            r = (a[name] - b[name]) >= thr
            rise = r if rise is None else rise | r
    if rise is None:
        raise IndicesError("farmland_conversion: before and after share neither ndbi nor bsi")
    out = (crop & (d_ndvi <= -ndvi_drop) & rise).rename("farmland_conversion")
    out.attrs = {"long_name": "suspected conversion of cropland to non-agricultural use (耕地非农化)",
                 "ndvi_drop": ndvi_drop, "ndbi_rise": ndbi_rise, "bsi_rise": bsi_rise}
    return out
