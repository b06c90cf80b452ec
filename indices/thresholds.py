"""Per-date thresholds of a water index: Otsu (1979) with a bimodality test, and Otsu on the
edge buffer of the initial water mask (after Donchyts et al. 2016). Used by ``indices.water``.

Bimodality test (when Otsu falls back)
-------------------------------------
Otsu always returns a threshold, even for a unimodal histogram. ``otsu_threshold`` trusts it
only when the histogram separates: the separability eta = sigma_between^2 / sigma_total^2
at the Otsu threshold (Otsu 1979's own criterion) must reach ``min_separation`` = 0.75, the
"BMax" bimodality cut-off of Cao et al. (2019), Water 11(4): 786, doi:10.3390/w11040786,
also used by Markert et al. (2020), Remote Sens. 12(15): 2469, doi:10.3390/rs12152469. For
reference: one Gaussian gives eta = 2/pi = 0.64 (falls back); two equal Gaussians give 0.75
when their means are about 3 standard deviations apart, 0.81 at 4. It also falls back on
too few valid pixels, or when one side of the threshold has too few pixels to be a class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from skimage.morphology import dilation, disk, erosion

from .errors import IndicesError


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold, how it was found (``"otsu"`` or ``"fallback"``/``"fixed"``) and why;
    ``separability`` is Otsu's eta at the threshold (NaN if not computed), ``n`` the number
    of pixels the histogram held."""

    value: float
    method: str
    reason: str
    separability: float = float("nan")
    n: int = 0


def _finite_values(values: Any) -> np.ndarray:
    v = np.asarray(values.values if isinstance(values, xr.DataArray) else values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def otsu_value(values: np.ndarray, nbins: int = 256) -> float:
    """Otsu's (1979) threshold of finite ``values`` on a ``nbins`` histogram, as
    ``skimage.filters.threshold_otsu`` computes it (same histogram, same between-class
    variance), except where the maximum is reached: the variance is flat over empty bins, and
    the threshold is put in the middle of that gap (between the last occupied bin of the lower
    class and the first of the upper), not at the centre of the lowest bin of the plateau,
    which puts the samples of that bin's upper half in the upper class. Without empty bins at
    the maximum it is skimage's value."""
    from skimage.exposure import histogram

    hist, centers = histogram(np.asarray(values, dtype=np.float64).ravel(), nbins, source_range="image")
    hist = hist.astype(np.float64)
    if hist.size < 2:
        return float(centers[0])
    w1 = np.cumsum(hist)
    w2 = np.cumsum(hist[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = np.cumsum(hist * centers) / w1
        m2 = (np.cumsum((hist * centers)[::-1]) / w2[::-1])[::-1]
    var12 = np.nan_to_num(w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2)
    best = var12.max()
    i0 = int(np.argmax(var12))
    i1 = i0
    while i1 + 1 < var12.size and var12[i1 + 1] >= best - 1e-12 * abs(best):
        i1 += 1
    if i1 == i0:  # no empty bins at the maximum: skimage's threshold
        return float(centers[i0])
    return float(0.5 * (centers[i0] + centers[i1 + 1]))


def otsu_threshold(
    values: Any,
    *,
    fallback: float = 0.0,
    min_separation: float = 0.75,
    min_pixels: int = 50,
    min_class_pixels: int = 10,
    nbins: int = 256,
) -> ThresholdResult:
    """Otsu's threshold of the finite ``values`` (``otsu_value``), or
    ``fallback`` when the histogram is not bimodal (see the module docstring): fewer than
    ``min_pixels`` values, a constant image, fewer than ``min_class_pixels`` on either
    side, or separability eta < ``min_separation`` (0.75, Cao et al. 2019).

    Needs the whole histogram: a Dask-backed DataArray is computed.
    """
    v = _finite_values(values)
    if v.size < min_pixels:
        return ThresholdResult(float(fallback), "fallback", f"only {v.size} valid pixels (< {min_pixels})", n=int(v.size))
    if v.min() == v.max():
        return ThresholdResult(float(fallback), "fallback", f"all {v.size} values equal {v.min():g}", 0.0, int(v.size))
    t = otsu_value(v, nbins=nbins)
    above = v > t
    n1 = int(above.sum())
    n0 = int(v.size - n1)
    if min(n0, n1) < min_class_pixels:
        return ThresholdResult(float(fallback), "fallback",
                               f"Otsu threshold {t:.3f} leaves {n1} pixels above and {n0} below "
                               f"(< {min_class_pixels} on one side)", n=int(v.size))
    w1 = n1 / v.size
    w0 = 1.0 - w1
    eta = float(w0 * w1 * (v[above].mean() - v[~above].mean()) ** 2 / v.var())
    if eta < min_separation:
        return ThresholdResult(float(fallback), "fallback",
                               f"histogram not bimodal: Otsu separability {eta:.2f} < {min_separation} "
                               f"(threshold would be {t:.3f})", eta, int(v.size))
    return ThresholdResult(t, "otsu", f"bimodal: separability {eta:.2f} >= {min_separation}", eta, int(v.size))


def edge_buffered_otsu(
    index2d: Any,
    *,
    initial_threshold: float = 0.0,
    buffer_px: int = 3,
    fallback: float = 0.0,
    min_separation: float = 0.75,
    min_pixels: int = 50,
) -> ThresholdResult:
    """Otsu on the pixels within ``buffer_px`` of the edges of ``index2d > initial_threshold``
    (dilation minus erosion by ``disk(buffer_px)``), after Donchyts et al. (2016) (see the
    module docstring for how this differs from their Canny edges). Falls back to ``fallback``
    when there are no candidate edges or the buffer histogram is not bimodal.

    Needs the whole image: a Dask-backed DataArray is computed.
    """
    a = np.asarray(index2d.values if isinstance(index2d, xr.DataArray) else index2d, dtype=np.float64)
    if a.ndim != 2:
        raise IndicesError(f"edge_buffered_otsu needs a 2-D (y, x) index, got shape {a.shape}")
    finite = np.isfinite(a)
    cand = np.zeros(a.shape, dtype=bool)
    np.greater(a, initial_threshold, out=cand, where=finite)
    n_cand = int(cand.sum())
    if n_cand == 0:
        return ThresholdResult(float(fallback), "fallback", f"no valid pixel above the initial threshold {initial_threshold:g}")
    if n_cand == int(finite.sum()):
        return ThresholdResult(float(fallback), "fallback", f"every valid pixel is above the initial threshold {initial_threshold:g}")
    fp = disk(int(buffer_px))
    zone = dilation(cand, fp) & ~erosion(cand, fp) & finite
    res = otsu_threshold(a[zone], fallback=fallback, min_separation=min_separation, min_pixels=min_pixels)
    return ThresholdResult(res.value, res.method, f"edge buffer ({int(zone.sum())} px): {res.reason}",
                           res.separability, res.n)
