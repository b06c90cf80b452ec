"""flows.scenes' compute policy: a date's scene up to IN_MEMORY_MAX_PIXELS pixels per band is
read into memory once (NumPy-backed, same values), a larger one stays lazy (Dask)."""
from __future__ import annotations

import dask
import numpy as np
import pytest

import flows.scenes as scenes

from support.indices_data import scene


def _date(ny: int, nx: int):
    rng = np.random.default_rng(0)
    return scene({b: rng.random((ny, nx)).astype("float32") for b in ("red", "nir")}, dask=True)


@pytest.mark.parametrize("ny, nx, engine", [(40, 50, "numpy"), (41, 50, "dask")])
def test_route_by_pixel_count(monkeypatch, ny, nx, engine):
    monkeypatch.setattr(scenes, "IN_MEMORY_MAX_PIXELS", 40 * 50)
    lazy = _date(ny, nx)
    route = scenes.compute_route(lazy)
    assert route == {"engine": engine, "pixels": ny * nx, "in_memory_max_pixels": 2000}
    out = scenes.for_products(lazy)
    assert all(dask.is_dask_collection(out[b]) == (engine == "dask") for b in out.data_vars)
    for b in lazy.data_vars:
        np.testing.assert_array_equal(out[b].values, lazy[b].values)
    assert out.attrs == lazy.attrs and out.rio.crs == lazy.rio.crs
