"""Cropland's edge pixels: the mixed pixels at a parcel's border, and parcels whose trough the
clouds hid, that the phenology rule (peak and seasonal amplitude) misses.

A 10 m pixel that straddles a paddy's border averages the paddy's seasonal swing with its
neighbour's (linear mixing of reflectance; the sensor's MTF blurs it further: Sentinel-2 MSI's
MTF at Nyquist is 0.15-0.3, Gascon et al. 2017, Remote Sens. 9: 584), so its NDVI amplitude is a
fraction of the parcel's; and a paddy whose harvest or flooding fell on cloudy days never shows
its low. Either way the amplitude falls under the cropland bar (0.3) while the pixel still
follows the crop calendar of the parcel beside it. Such a pixel is called cropland when

- it lies within ``reach_px`` pixels (a square footprint, scikit-image morphology) of a pixel
  the phenology called cropland;
- it was green at some time (peak NDVI >= ``min_max``) and swung by at least
  ``min_amplitude`` over its clear dates (the lower bar of a mixed pixel: about two thirds of the
  cropland bar, above the seasonal swing of evergreen forest, ~0.1, Reed et al. 1994, J. Veg.
  Sci. 5: 703-714);
- its own NDVI series follows the neighbouring cropland's: Pearson correlation at least
  ``min_r`` (0.7: the neighbour's calendar explains half the variance of its NDVI) with the
  mean NDVI of the cropland pixels within ``reach_px``, over the dates both are clear (at least
  ``min_dates``). Using the neighbouring parcel's seasonal profile as the
  reference follows the profile-similarity classifiers of crop phenology (e.g. the
  time-weighted similarity of Maus et al. 2016, IEEE JSTARS 9: 3729-3739; here the plain
  correlation on shared dates): a pixel with its own, different cycle is not absorbed.

The thresholds were set on the demo's tuning profile (mixed pixels, MTF) and checked on the
development profile (docs/validation.md, issue #13 round 4). One pass only: the edge of the
edge is not added (the reach is bounded by ``reach_px``).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import dilation, footprint_rectangle


def neighbour_profile(ndvi: np.ndarray, crop: np.ndarray, reach_px: int = 1) -> np.ndarray:
    """(time, y, x) mean NDVI of the ``crop`` pixels within ``reach_px`` (a square window) of
    each pixel on each date, over those that are clear (finite); NaN where none is."""
    v = np.asarray(ndvi, dtype="float64")
    ok = np.isfinite(v) & np.asarray(crop, dtype=bool)[None]
    size = (1, 2 * reach_px + 1, 2 * reach_px + 1)
    s = ndi.uniform_filter(np.where(ok, v, 0.0), size=size, mode="constant")
    c = ndi.uniform_filter(ok.astype("float64"), size=size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 1e-9, s / np.where(c > 1e-9, c, 1.0), np.nan)


def series_correlation(a: np.ndarray, b: np.ndarray, min_dates: int = 4) -> np.ndarray:
    """Per pixel the Pearson correlation of two (time, y, x) series over the dates both are
    finite; NaN with fewer than ``min_dates`` such dates or a constant series."""
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    both = np.isfinite(a) & np.isfinite(b)
    n = both.sum(axis=0)
    x, y = np.where(both, a, 0.0), np.where(both, b, 0.0)
    mx, my = x.sum(axis=0) / np.maximum(n, 1), y.sum(axis=0) / np.maximum(n, 1)
    dx, dy = np.where(both, a - mx, 0.0), np.where(both, b - my, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(axis=0) / np.sqrt((dx ** 2).sum(axis=0) * (dy ** 2).sum(axis=0))
    return np.where(n >= min_dates, r, np.nan)


def crop_edge(ndvi: np.ndarray, crop: np.ndarray, *, reach_px: int = 1, min_amplitude: float = 0.2,
              min_max: float = 0.4, min_r: float = 0.7, min_dates: int = 4) -> np.ndarray:
    """Bool (y, x): pixels that are not ``crop`` but lie within ``reach_px`` of it, peak at
    ``min_max`` or more, swing by ``min_amplitude`` or more and correlate at ``min_r`` or more
    with the neighbouring cropland's NDVI (module docstring). ``ndvi``: (time, y, x), NaN where
    not clear; ``crop``: (y, x) bool, the phenology's cropland."""
    v = np.asarray(ndvi, dtype="float64")
    crop = np.asarray(crop, dtype=bool)
    if reach_px < 1 or not crop.any() or v.shape[0] == 0:
        return np.zeros(crop.shape, bool)
    near = dilation(crop, footprint_rectangle((2 * reach_px + 1, 2 * reach_px + 1))) & ~crop
    n_ok = np.isfinite(v).sum(axis=0)
    with np.errstate(invalid="ignore"):
        hi = np.where(n_ok > 0, np.max(np.where(np.isfinite(v), v, -np.inf), axis=0), np.nan)
        lo = np.where(n_ok > 0, np.min(np.where(np.isfinite(v), v, np.inf), axis=0), np.nan)
        cand = near & (n_ok >= min_dates) & (hi >= min_max) & ((hi - lo) >= min_amplitude)
    if not cand.any():
        return cand
    iy, ix = np.nonzero(cand)  # the correlation of the candidates only (per pixel: the same values)
    r = series_correlation(v[:, iy, ix], neighbour_profile(v, crop, reach_px)[:, iy, ix], min_dates)
    out = np.zeros(crop.shape, bool)
    with np.errstate(invalid="ignore"):
        out[iy, ix] = r >= min_r
    return out
