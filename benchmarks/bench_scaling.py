"""Benchmark 4: peak memory and time as the AOI grows (1x, 4x, 16x pixels).

Inputs per size: ``dates`` x {red, nir} uint16 tiled (512 px) DEFLATE GeoTIFFs at 10 m,
synthesised once by ``_synth.py`` into ``benchmarks/.cache/`` (one file per band and
date, like Sentinel-2 assets). The chain, run in one fresh process per size:
open every file with ``rioxarray.open_rasterio(chunks=...)`` -> L2A reflectance ->
a Scene (``sensing.scene.make_scene``, chunks ``time=1, y=x=1024``) ->
``indices.spectral.ndvi`` (no water mask) -> one NDVI COG per date plus the NDVI change
(last - first date) as a COG, each through ``flows.products.rasters.write_cog``.

Sub-commands: ``prepare --size N --dates D --cache DIR`` and
``run --size N --dates D --cache DIR --out DIR`` (prints one JSON object).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SEED = 11
GENERATOR_VERSION = 1


def input_paths(cache: Path, size: int, dates: int) -> dict[str, list[Path]]:
    folder = cache / f"scaling_{size}_seed{SEED}_v{GENERATOR_VERSION}"
    return {b: [folder / f"d{t:02d}_{b}.tif" for t in range(dates)] for b in ("red", "nir")}


def prepare(cache: Path, size: int, dates: int) -> int:
    import _synth

    made = 0
    for band, paths in input_paths(cache, size, dates).items():
        for t, path in enumerate(paths):
            if not path.exists():
                _synth.write_band(path, band, size=size, seed=SEED, date=t + 1, cog=False, blocksize=512)
                made += 1
    return made


def run(cache: Path, size: int, dates: int, out: Path, chunk: int = 1024) -> dict:
    t0 = time.perf_counter()
    import dask
    import numpy as np
    import rioxarray
    import xarray as xr

    import _synth
    from flows.products.rasters import write_cog
    from indices.spectral import ndvi
    from sensing.scene import make_scene

    t_import = time.perf_counter() - t0
    paths = input_paths(cache, size, dates)
    missing = [str(p) for ps in paths.values() for p in ps if not p.exists()]
    if missing:
        raise SystemExit(f"inputs missing (run prepare first): {missing[:2]} ...")

    def band(name: str) -> xr.DataArray:
        layers = [rioxarray.open_rasterio(p, chunks={"y": chunk, "x": chunk}, lock=False).squeeze("band", drop=True)
                  for p in paths[name]]
        return _synth.reflectance(xr.concat(layers, dim="time"))

    red, nir = band("red"), band("nir")
    times = [f"2024-{m % 12 + 1:02d}-15" if dates <= 12 else f"2024-01-{m + 1:02d}" for m in range(dates)]
    scene = make_scene({"red": red.data, "nir": nir.data}, times=times, y=red["y"].values, x=red["x"].values,
                       crs=str(red.rio.crs), sensor="sentinel-2", item_ids=[f"synthetic-{t}" for t in times],
                       valid_fraction=[1.0] * dates, chunks={"time": 1, "y": chunk, "x": chunk})
    nd = ndvi(scene)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    t1 = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        for t in range(dates):
            written.append(write_cog(nd.isel(time=t), out / f"ndvi_{t:02d}.tif"))
        change = (nd.isel(time=-1) - nd.isel(time=0)).rename("ndvi_change").rio.write_crs(scene.rio.crs)
        written.append(write_cog(change, out / "ndvi_change.tif"))
    t_chain = time.perf_counter() - t1
    import rasterio

    with rasterio.open(written[0]) as src:
        sample = src.read(1, window=((0, min(256, size)), (0, min(256, size))))
    return {
        "size": size, "dates": dates, "chunk": chunk, "pixels": size * size * dates,
        "outputs": len(written), "out_mb": sum(p.stat().st_size for p in written) / 1e6,
        "import_s": t_import, "chain_s": t_chain, "ndvi_sample_mean": float(np.nanmean(sample)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("prepare", "run"):
        s = sub.add_parser(name)
        s.add_argument("--size", type=int, required=True)
        s.add_argument("--dates", type=int, default=12)
        s.add_argument("--cache", type=Path, required=True)
        if name == "run":
            s.add_argument("--out", type=Path, required=True)
            s.add_argument("--chunk", type=int, default=1024)
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        print(json.dumps({"written": prepare(a.cache, a.size, a.dates)}))
    else:
        print(json.dumps(run(a.cache, a.size, a.dates, a.out, a.chunk)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
