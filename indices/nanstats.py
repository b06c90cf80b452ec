"""The per-pixel median over time of a (time, y, x) stack, NaN = no observation.

``numpy.nanmedian(a, axis=0)`` on a few dates goes through ``numpy.ma`` (its
``_nanmedian_small``: a masked sort, masked indexing and a masked sum), which cost most of a
village's seasonal statistics. Bottleneck's ``nanmedian`` (a partial sort per pixel in C, the
library xarray itself uses for its NaN reductions) gives the same values, NaN where a pixel has no
valid value (only the sign of a zero median can differ); tested against numpy in
``tests/indices/test_nanstats.py``.
"""
from __future__ import annotations

import bottleneck
import numpy as np


def nanmedian0(a: np.ndarray) -> np.ndarray:
    """``numpy.nanmedian(a, axis=0)`` of a floating-point array (bottleneck), NaN where all are NaN."""
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.ndim < 1 or a.shape[0] == 0:
        return np.nanmedian(a, axis=0)
    return np.asarray(bottleneck.nanmedian(a, axis=0), dtype=a.dtype)
