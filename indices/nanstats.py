"""The per-pixel median over time of a (time, y, x) stack, NaN = no observation.

``numpy.nanmedian(a, axis=0)`` on a few dates goes through ``numpy.ma.median`` (its
``_nanmedian_small``: a masked sort, masked indexing and a masked sum), which costs most of a
village's seasonal statistics. :func:`nanmedian0` is that same algorithm on plain arrays: sort
with NaN sorted as +inf (``numpy.ma`` fills masked values with +inf to sort), take the low and
high middle of each pixel's valid values and average them as ``numpy.ma`` does (their sum, an
``add.reduce``, halved in the input's dtype). The result is bit for bit
``numpy.nanmedian(a, axis=0)`` (tested, signed zeros and infinities included), NaN where a
pixel has no valid value (silently: the callers ignore numpy's all-NaN warning).
"""
from __future__ import annotations

import numpy as np


def nanmedian0(a: np.ndarray) -> np.ndarray:
    """``numpy.nanmedian(a, axis=0)`` of a floating-point array, NaN where all are NaN."""
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.ndim < 1 or a.shape[0] == 0:
        return np.nanmedian(a, axis=0)
    nan = np.isnan(a)
    n = a.shape[0] - np.count_nonzero(nan, axis=0)
    ordered = np.sort(np.where(nan, np.inf, a), axis=0)
    high = n // 2
    low = np.where(n % 2 == 1, high, high - 1)  # odd: the middle value twice
    pick = np.clip(np.stack([low, high]), 0, a.shape[0] - 1)
    with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf is NaN, as numpy.ma says silently
        out = np.take_along_axis(ordered, pick, axis=0).sum(axis=0)
        np.true_divide(out, 2.0, out=out, casting="unsafe")
    out[n == 0] = np.nan
    return out
