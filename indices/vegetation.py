"""Vegetation state from NDVI: cover fractions, fractional vegetation cover, forest quality.

Thresholds are conventional NDVI breakpoints, parameters to calibrate per region and season:
NDVI of about 0.2-0.3 separates sparse (shrub, grass) from bare surfaces and 0.6-0.8 marks
dense temperate or tropical canopy (USGS EROS, "NDVI, the foundation for remote sensing
phenology"; the NDVI thresholds method of Sobrino et al. 2004, Remote Sens. Environ. 90:
434-440, uses NDVI < 0.2 for soil and > 0.5 for full vegetation). Defaults: vegetated at
NDVI >= 0.3, dense canopy at NDVI >= 0.6.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .errors import IndicesError
from .units import require_reflectance

_SPATIAL = ("y", "x")


def _share(ndvi: xr.DataArray, threshold: float, mask: xr.DataArray | None, name: str) -> xr.DataArray:
    require_reflectance(ndvi, product=f"{name} (NDVI >= {threshold} on reflectance)")
    ok = np.isfinite(ndvi)
    if mask is not None:
        ok = ok & mask.astype(bool)
    dims = [d for d in ndvi.dims if d in _SPATIAL]
    n_ok = ok.sum(dims)
    n_hit = ((ndvi >= threshold) & ok).sum(dims)
    out = (n_hit / n_ok.where(n_ok > 0)).astype("float64")
    out.name = name
    return out


def vegetation_cover(ndvi: xr.DataArray, *, threshold: float = 0.3, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Share of valid (finite, and inside ``mask`` if given) pixels with NDVI >= ``threshold``
    (0.3, module docstring), per date if ``ndvi`` has ``time``; NaN when no pixel is valid.
    Lazy under Dask."""
    out = _share(ndvi, threshold, mask, "vegetation_cover")
    out.attrs = {"long_name": f"share of valid pixels with NDVI >= {threshold}", "threshold": threshold}
    return out


def dense_canopy_share(ndvi: xr.DataArray, *, threshold: float = 0.6, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Share of valid pixels with NDVI >= ``threshold`` (0.6: dense canopy, module docstring).
    Lazy under Dask."""
    out = _share(ndvi, threshold, mask, "dense_canopy_share")
    out.attrs = {"long_name": f"share of valid pixels with NDVI >= {threshold}", "threshold": threshold}
    return out


def fractional_vegetation_cover(ndvi: xr.DataArray, *, ndvi_soil: float = 0.05, ndvi_veg: float = 0.86) -> xr.DataArray:
    """FVC = (NDVI - NDVI_soil) / (NDVI_veg - NDVI_soil), clipped to [0, 1]: the dimidiate
    pixel (two end-member linear mixture) model of Gutman & Ignatov 1998, Int. J. Remote
    Sens. 19(8): 1533-1543 (NaN stays NaN; lazy).

    The end-members are site- and sensor-specific (Gutman & Ignatov used 0.04 and 0.52 for
    AVHRR). The defaults 0.05 / 0.86 are conventional values for bare soil and full canopy
    in 10-30 m surface reflectance; a common alternative is the scene's 5th and 95th NDVI
    percentiles (on how much NDVI_soil varies, see Remote Sens. 2016, 8(1): 29, doi:10.3390/rs8010029).
    """
    if not ndvi_veg > ndvi_soil:
        raise IndicesError(f"fractional_vegetation_cover needs ndvi_veg > ndvi_soil, got {ndvi_veg} <= {ndvi_soil}")
    fvc = ((ndvi - ndvi_soil) / (ndvi_veg - ndvi_soil)).clip(0.0, 1.0).astype("float32")
    fvc.name = "fvc"
    fvc.attrs = {"long_name": "fractional vegetation cover", "units": "1",
                 "formula": f"clip((ndvi - {ndvi_soil}) / ({ndvi_veg} - {ndvi_soil}), 0, 1)",
                 "source": "Gutman & Ignatov 1998, Int. J. Remote Sens. 19(8): 1533-1543"}
    return fvc


def _decimal_years(times: np.ndarray) -> np.ndarray:
    t = pd.DatetimeIndex(times)
    start = pd.DatetimeIndex([pd.Timestamp(year=y, month=1, day=1) for y in t.year])
    length = np.where(t.is_leap_year, 366.0, 365.0)
    return t.year + ((t - start) / pd.Timedelta(days=1)).to_numpy() / length


def forest_quality(ndvi_series: xr.DataArray, forest_mask: xr.DataArray, *, threshold: float = 0.6) -> xr.Dataset:
    """Forest canopy state over time inside ``forest_mask`` (bool, (y, x)).

    Per date: ``dense_canopy_share`` (share of valid forest pixels with NDVI >= ``threshold``),
    ``ndvi_mean`` and ``valid_fraction`` of the forest. Trend of the dense-canopy share per
    year over the dates with valid forest pixels: Theil-Sen slope with its 95 % interval
    (``scipy.stats.theilslopes``; Sen 1968, robust to a few cloudy or off-season dates) and
    the ordinary least-squares slope (``scipy.stats.linregress``), NaN with fewer than 3
    dates. Compare dates of the same season: NDVI phenology is not a trend.

    A reduction over the forest: computes.
    """
    if "time" not in ndvi_series.dims:
        raise IndicesError(f"forest_quality needs an NDVI series with a 'time' dimension, got {ndvi_series.dims}")
    forest = forest_mask.astype(bool)
    n_forest = int(forest.sum())
    if n_forest == 0:
        raise IndicesError("forest_quality: the forest mask has no forest pixel")
    share = dense_canopy_share(ndvi_series, threshold=threshold, mask=forest)
    ok = np.isfinite(ndvi_series) & forest
    mean = ndvi_series.where(ok).mean(_SPATIAL)
    valid = ok.sum(_SPATIAL) / n_forest
    ds = xr.Dataset({"dense_canopy_share": share, "ndvi_mean": mean, "valid_fraction": valid}).compute()
    ds = ds.drop_vars([c for c in ds.coords if c not in ("time",)])
    years = _decimal_years(ds["time"].values)
    y = ds["dense_canopy_share"].values.astype(np.float64)
    use = np.isfinite(y)
    slope = low = high = lin = float("nan")
    if use.sum() >= 3 and np.ptp(years[use]) > 0:
        from scipy import stats  # here, not at import: scipy.stats alone costs ~1 s and ~50 MiB to import

        slope, _, low, high = (float(v) for v in stats.theilslopes(y[use], years[use], alpha=0.95))
        lin = float(stats.linregress(years[use], y[use]).slope)
    ds["theil_sen_slope_per_year"] = slope
    ds["theil_sen_low"] = low
    ds["theil_sen_high"] = high
    ds["linear_slope_per_year"] = lin
    ds.attrs = {"threshold": threshold, "forest_pixels": n_forest,
                "source": "Theil-Sen: Sen 1968, J. Am. Stat. Assoc. 63(324): 1379-1389"}
    return ds
