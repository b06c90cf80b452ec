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


def cropland_from_ndvi_series(
    ndvi_series: xr.DataArray,
    *,
    min_max: float = 0.5,
    min_amplitude: float = 0.3,
    min_dates: int = 4,
    min_span_days: float = 180.0,
) -> xr.DataArray:
    """Cropland from crop phenology in an NDVI time series (lazy): a pixel is cropland when
    its NDVI peaks at ``min_max`` (0.5) or more and its seasonal amplitude (max - min over the
    finite dates) reaches ``min_amplitude`` (0.3), with at least ``min_dates`` (4) finite
    dates spanning ``min_span_days`` (180) or more; otherwise False.

    Crops green up and are harvested within a season, so their NDVI swings far more than
    evergreen forest's or built land's; the annual NDVI amplitude is the classic phenology
    metric for mapping cropland (Reed et al. 1994, J. Veg. Sci. 5: 703-714; as the seasonal
    amplitude of TIMESAT, Jönsson & Eklundh 2004, Comput. Geosci. 30: 833-845). The 0.5 peak
    and 0.3 amplitude are conventional defaults, not published constants: evergreen forest
    stays within ~0.1, double-cropped rice swings ~0.5, but vegetables or orchards can swing
    less than 0.3 (missed). Use only dates *before* the change being examined (a clearing
    also swings NDVI by > 0.3) and a year of them where possible. attrs record the rule and
    ``n_dates`` / ``span_days`` of the series; the mask is all False when the series is too
    short (``attrs["sufficient"]`` False): a user's cropland layer is better then.
    """
    if "time" not in ndvi_series.dims:
        raise IndicesError(f"cropland_from_ndvi_series needs a 'time' dimension, got {ndvi_series.dims}")
    times = pd.DatetimeIndex(ndvi_series["time"].values)
    span = float((times.max() - times.min()).days) if len(times) else 0.0
    nd = ndvi_series.transpose("time", "y", "x")
    n_ok = np.isfinite(nd).sum("time")
    hi, lo = nd.max("time", skipna=True), nd.min("time", skipna=True)
    sufficient = len(times) >= min_dates and span >= min_span_days
    out = (hi >= min_max) & ((hi - lo) >= min_amplitude) & (n_ok >= min_dates) & sufficient
    out = out.drop_vars("time", errors="ignore").rename("cropland")
    out.attrs = {"long_name": "cropland from NDVI phenology (peak and seasonal amplitude)",
                 "min_max": min_max, "min_amplitude": min_amplitude, "min_dates": min_dates,
                 "min_span_days": min_span_days, "n_dates": len(times), "span_days": span,
                 "sufficient": bool(sufficient),
                 "source": "NDVI seasonal amplitude (Reed et al. 1994; Jönsson & Eklundh 2004)"}
    return out


#: classes of :func:`farmland_conversion_classes`
FARMLAND_CLASSES = {0: "none", 1: "built_or_bare", 2: "pond_dug"}


def farmland_conversion_classes(
    before: xr.Dataset,
    after: xr.Dataset,
    cropland_mask: xr.DataArray,
    *,
    history_ndvi: xr.DataArray | None = None,
    water_before: xr.DataArray | None = None,
    water_after: xr.DataArray | None = None,
    ndvi_drop: float = 0.2,
    ndbi_rise: float = 0.1,
    bsi_rise: float = 0.1,
    new_low_margin: float = 0.05,
) -> xr.DataArray:
    """Suspected cropland conversion by kind, lazily, as uint8: 1 ``built_or_bare``
    (:func:`farmland_conversion`: NDVI drop with an NDBI or BSI rise), 2 ``pond_dug``
    (cropland with the NDVI drop that is water after and not before: 耕地挖塘), else 0.

    ``history_ndvi`` (time, y, x; the dates up to and including ``before``): a pixel is only
    flagged when its NDVI after is below anything it showed before, by ``new_low_margin``
    (0.05): a harvest returns cropland to its usual seasonal low (winter paddy ~0.3) and
    is not conversion, while a building, a yard or a pond takes it lower than any crop
    season did. A conventional guard, not a published rule; with a short history an early
    harvest can still be flagged. ``water_before`` / ``water_after``: water masks (NaN or
    False where unknown); pixels that are water before are never flagged (a pond already dug
    is no longer cropland); without ``water_after`` no pond is looked for.
    """
    crop = cropland_mask.astype(bool)
    built = farmland_conversion(before, after, crop, ndbi_rise=ndbi_rise, bsi_rise=bsi_rise, ndvi_drop=ndvi_drop)
    b = _with_indices(before, "before")["ndvi"]
    a = _with_indices(after, "after")["ndvi"]
    guard = None
    if history_ndvi is not None:
        low = history_ndvi.min("time", skipna=True).drop_vars("time", errors="ignore")
        guard = a < (low - new_low_margin)
        built = built & guard
    def as_bool(m: xr.DataArray) -> xr.DataArray:
        return m.fillna(0).astype(bool) if m.dtype.kind == "f" else m.astype(bool)

    was_water = as_bool(water_before) if water_before is not None else None
    if was_water is not None:  # water already before: no longer cropland, whatever its NDVI does
        built = built & ~was_water
    cls = xr.where(built, 1, 0)
    if water_after is not None:
        pond = crop & ((a - b) <= -ndvi_drop) & as_bool(water_after)
        if was_water is not None:
            pond = pond & ~was_water
        if guard is not None:
            pond = pond & guard
        cls = xr.where(pond & ~built, 2, cls)
    out = cls.astype("uint8").rename("farmland_conversion")
    out.attrs = {"long_name": "suspected cropland conversion (耕地非农化): 1 built or bare, 2 pond dug",
                 "flag_values": [0, 1, 2], "flag_meanings": "none built_or_bare pond_dug",
                 "ndvi_drop": ndvi_drop, "ndbi_rise": ndbi_rise, "bsi_rise": bsi_rise,
                 "new_low_margin": new_low_margin if history_ndvi is not None else None}
    return out
