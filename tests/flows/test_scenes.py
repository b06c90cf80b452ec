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


def test_numpy_dates_run_on_one_thread_per_core_dask_dates_inline(monkeypatch):
    import threading
    import time

    from flows.cluster import local_cluster_threads

    monkeypatch.setattr(scenes, "IN_MEMORY_MAX_PIXELS", 40 * 50)
    small, large = _date(40, 50), _date(41, 50)
    assert scenes.compute_date(large, lambda: threading.current_thread().name) == threading.current_thread().name
    assert scenes.compute_date(small, lambda: threading.current_thread().name).startswith("villagewatch-numpy")
    with pytest.raises(ZeroDivisionError):  # the step's error reaches the caller
        scenes.compute_date(small, lambda: 1 / 0)
    busy, most, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.05)
        with lock:
            busy[0] -= 1

    callers = [threading.Thread(target=scenes.compute_date, args=(small, work)) for _ in range(12)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert most[0] == local_cluster_threads()  # twelve callers, never more at once than cores


def test_select_date_keeps_the_bands_and_time_and_leaves_the_per_date_scalars_behind():
    from sensing.scene import make_scene

    rng = np.random.default_rng(1)
    bands = {b: rng.random((3, 4, 5)).astype("float32") for b in ("red", "nir")}
    sc = make_scene(bands, times=["2025-01-02", "2025-01-07", "2025-01-12"], y=4000.5 - 10 * np.arange(4),
                    x=500.5 + 10 * np.arange(5), crs="EPSG:32650", sensor="test", item_ids=["a", "b", "c"],
                    valid_fraction=[1.0, 0.5, 0.25])
    one = scenes.select_date(sc, "2025-01-07")
    assert one.attrs["item_id"] == "b"
    assert str(one["time"].values)[:10] == "2025-01-07"
    assert set(one.coords) == {"time", "y", "x", "spatial_ref"}  # no item_id, valid_fraction(_band) scalars
    for b in bands:
        np.testing.assert_array_equal(one[b].values, bands[b][1])
    assert one.rio.crs == sc.rio.crs and one.rio.transform() == sc.rio.transform()
    with pytest.raises(scenes.NoDataError):
        scenes.select_date(sc, "2025-01-08")
