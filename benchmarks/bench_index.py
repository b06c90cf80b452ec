"""Benchmark 1: the index step against the in-memory NumPy bound.

``indices.spectral.ndvi`` / ``mndwi`` on a Dask-backed Scene (``sensing.scene.make_scene``,
chunks ``time=1, y=x=1024``) built from in-memory float32 arrays, computed with Dask's
threaded scheduler, against plain NumPy ``(nir - red) / (nir + red)`` on the very same
arrays. Also ``ndvi`` on the NumPy-backed (``.compute()``-d) Scene, which separates the cost
of the index's float64 arithmetic and NaN guards from Dask's scheduling. Best of
``--repeats`` wall times (timer: ``time.perf_counter``), inputs built before timing.

Run: ``python benchmarks/bench_index.py --size 2048 --dates 4`` (prints one JSON object).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        out = None
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def run(size: int, dates: int, repeats: int, chunk: int = 1024) -> dict:
    import dask
    import numpy as np

    import _synth
    from indices.spectral import mndwi, ndvi
    from sensing.scene import make_scene

    seed = 7
    arrays = {}
    for band in ("red", "nir", "green", "swir16"):
        stack = np.empty((dates, size, size), dtype=np.float32)
        for t in range(dates):
            stack[t] = _synth.reflectance(_synth.dn_block(band, 0, 0, size, size, size=size, seed=seed, date=t + 1))
        arrays[band] = stack
    res = 10.0
    x = 600000.0 + res * (np.arange(size) + 0.5)
    y = 2600040.0 - res * (np.arange(size) + 0.5)
    times = [f"2024-{m:02d}-15" for m in range(1, dates + 1)]
    scene = make_scene(arrays, times=times, y=y, x=x, crs="EPSG:32649", sensor="sentinel-2",
                       item_ids=[f"synthetic-{t}" for t in times], valid_fraction=[1.0] * dates,
                       chunks={"time": 1, "y": chunk, "x": chunk})
    in_memory = scene.compute()
    red, nir, green, swir = (arrays[b] for b in ("red", "nir", "green", "swir16"))

    rows = []
    with dask.config.set(scheduler="threads"):
        for name, index, a, b in (("ndvi", ndvi, nir, red), ("mndwi", mndwi, green, swir)):
            t_np, ref = _timed(lambda: (a - b) / (a + b), repeats)
            t_dask, ours = _timed(lambda: index(scene).compute(), repeats)
            t_xr, _ = _timed(lambda: index(in_memory), repeats)
            ours_v = np.asarray(ours.values)
            diff = float(np.nanmax(np.abs(ours_v - ref)))
            same_nan = bool(np.array_equal(np.isnan(ours_v), np.isnan(ref)))
            rows.append({
                "index": name,
                "numpy_s": min(t_np), "numpy_median_s": statistics.median(t_np),
                "ours_dask_s": min(t_dask), "ours_dask_median_s": statistics.median(t_dask),
                "ours_numpy_backed_s": min(t_xr), "ours_numpy_backed_median_s": statistics.median(t_xr),
                "ratio_dask": min(t_dask) / min(t_np), "ratio_numpy_backed": min(t_xr) / min(t_np),
                "max_abs_diff": diff, "same_nan": same_nan,
            })
    return {
        "size": size, "dates": dates, "chunk": chunk, "repeats": repeats,
        "pixels": dates * size * size, "threads": dask.system.CPU_COUNT, "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--dates", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--chunk", type=int, default=1024)
    a = p.parse_args(argv)
    print(json.dumps(run(a.size, a.dates, a.repeats, a.chunk)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
