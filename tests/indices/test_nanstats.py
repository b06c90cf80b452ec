"""indices.nanstats.nanmedian0 (bottleneck) against numpy.nanmedian(a, axis=0) on small stacks: the same
values, NaNs and infinities; only the sign of a zero median may differ (-0.0 == 0.0)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from indices.nanstats import nanmedian0


def test_median_of_the_valid_values_by_hand():
    nan = np.nan
    a = np.array([[1.0, nan, nan, 4.0], [3.0, 2.0, nan, 1.0], [2.0, nan, nan, 2.0], [nan, nan, nan, 3.0]], "float32")
    # column 0: {1, 3, 2} -> 2; column 1: {2} -> 2; column 2: none -> NaN; column 3: {4, 1, 2, 3} -> 2.5
    got = nanmedian0(a)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([2.0, 2.0, nan, 2.5], "float32"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_values_as_numpy_nanmedian(dtype):
    """Ties, signed zeros, infinities, all-NaN pixels and stacks of one date."""
    rng = np.random.default_rng(15)
    for trial in range(200):
        shape = (int(rng.integers(1, 14)), int(rng.integers(1, 40)), int(rng.integers(1, 40)))
        a = rng.normal(size=shape).astype(dtype)
        if trial % 3:
            a = np.round(a * 2) / 2  # ties, and -0.0 beside 0.0
        a[rng.random(shape) < rng.random()] = np.nan
        if trial % 7 == 0:
            a[rng.random(shape) < 0.05] = np.inf
        if trial % 11 == 0:
            a[rng.random(shape) < 0.05] = -np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanmedian(a, axis=0)
        got = nanmedian0(a)
        assert got.dtype == want.dtype and got.shape == want.shape
        # equal values, NaN where NaN, inf where inf (-0.0 == 0.0: the only byte difference seen)
        np.testing.assert_array_equal(got, want, err_msg=f"trial {trial}")
