"""Benchmark 2: NDVI COG from two Sentinel-2-sized uint16 bands; ours vs rio and GDAL CLIs.

Inputs: red and NIR as 10980 x 10980 uint16 DEFLATE COGs (1024-px tiles, nodata 0, a
no-data swath edge), synthesised once by ``_synth.py`` into ``benchmarks/.cache/``.
Every contender computes ``NDVI = (nir - red) / (nir + red)`` on L2A reflectance
``(DN - 1000) / 10000`` as float32 with NaN as nodata, and ends with a DEFLATE COG with
512-px tiles and ``average`` overviews:

* ours: ``rioxarray.open_rasterio(chunks=...)`` -> reflectance -> ``indices.spectral.ndvi``
  -> ``flows.products.rasters.write_cog`` (one Python process; DEFLATE level 1 with the
  floating-point predictor, ``flows.products.rasters.FLOAT_COMPRESSION``);
* rio: ``rio calc`` (tiled DEFLATE intermediate) then ``rio cogeo create -p deflate``;
* GDAL: ``gdal_calc.py`` (tiled DEFLATE intermediate) then ``gdal_translate -of COG``;
* GDAL with our options (informative, no target): ``gdal_calc.py`` with an uncompressed tiled
  intermediate, then ``gdal_translate -of COG`` with ours' compression options, i.e. the
  same file format as ours from the command-line tools.

The CLIs get the algebraically identical ``(N - R) / (N + R - 2000)`` on DNs (the scale
cancels, the offsets add up), i.e. fewer operations than ours.

Start-up (each contender's import floor): ``floors()`` gives, per step, a command that starts
the same program and exits without work (ours: the same imports; the CLIs: ``--help`` or
``--version``); ``run_all.py`` subtracts its time and peak memory to give the figures
beyond start-up.

Sub-commands (each run in its own process by ``run_all.py``): ``prepare``, ``ours``,
``verify``. ``commands()`` builds the contenders' command lines (stdlib only).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SEED = 20240601
GENERATOR_VERSION = 1
RIO_EXPR = "(/ (- (read 2 1 'float32') (read 1 1 'float32')) (+ (read 2 1 'float32') (read 1 1 'float32') -2000))"
GDAL_EXPR = "where((A==0)|(B==0),nan,(B.astype(float32)-A)/(B.astype(float32)+A-2000))"


def input_paths(cache: Path, size: int) -> dict[str, Path]:
    return {b: cache / f"s2_{size}_seed{SEED}_v{GENERATOR_VERSION}_{b}.tif" for b in ("red", "nir")}


def commands(red: Path, nir: Path, work: Path, *, python: str, gdal_calc: str | None, gdal_translate: str | None,
             gdal_python: str | None) -> dict[str, list[tuple[str, list[str]]]]:
    """Per contender, its steps as (label, argv); intermediates and outputs under ``work``."""
    rio = str(Path(python).with_name("rio"))
    out = {
        "ours": [("ndvi + write_cog", [python, str(HERE / "bench_ndvi_s2.py"), "ours", "--red", str(red),
                                        "--nir", str(nir), "--out", str(work / "ours.tif")])],
        "rio": [
            ("rio calc", [rio, "calc", "-t", "float32", "--overwrite",
                          "--co", "compress=deflate", "--co", "tiled=true", "--co", "blockxsize=512",
                          "--co", "blockysize=512", "--co", "nodata=nan", "--co", "BIGTIFF=IF_SAFER",
                          RIO_EXPR, str(red), str(nir), str(work / "rio_calc.tif")]),
            ("rio cogeo create", [rio, "cogeo", "create", "-q", "-p", "deflate", "--blocksize", "512",
                                  "--overview-resampling", "average", "--threads", "ALL_CPUS",
                                  str(work / "rio_calc.tif"), str(work / "rio.tif")]),
        ],
    }
    if gdal_calc and gdal_translate:
        calc = [gdal_python, gdal_calc] if gdal_python else [gdal_calc]

        def gdal(name: str, intermediate: str, cog: list[str]) -> list[tuple[str, list[str]]]:
            tmp = str(work / f"{name}_calc.tif")
            return [
                ("gdal_calc.py", calc + ["--quiet", "-A", str(red), "-B", str(nir), "--type=Float32",
                                         "--hideNoData", "--NoDataValue=nan", "--overwrite",
                                         "--co", f"COMPRESS={intermediate}", "--co", "TILED=YES",
                                         "--co", "BLOCKXSIZE=512", "--co", "BLOCKYSIZE=512",
                                         "--co", "BIGTIFF=IF_SAFER", f"--calc={GDAL_EXPR}", "--outfile", tmp]),
                ("gdal_translate -of COG", [gdal_translate, "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE",
                                            "-co", "BLOCKSIZE=512", "-co", "RESAMPLING=AVERAGE",
                                            "-co", "OVERVIEWS=AUTO", "-co", "NUM_THREADS=ALL_CPUS",
                                            "-co", "BIGTIFF=IF_SAFER", *cog, tmp, str(work / f"{name}.tif")]),
            ]

        out["gdal"] = gdal("gdal", "DEFLATE", [])
        out["gdal-our-options"] = gdal("gdal_our_options", "NONE", ["-co", "PREDICTOR=YES", "-co", "LEVEL=1"])
    return out


def floors(cmds: dict[str, list[tuple[str, list[str]]]], *, python: str) -> dict[str, list[list[str]]]:
    """Per contender, per step: the same program started with no work (its start-up floor)."""
    out: dict[str, list[list[str]]] = {}
    for name, steps in cmds.items():
        out[name] = []
        for label, argv in steps:
            if label.startswith("ndvi"):
                out[name].append([python, str(HERE / "bench_ndvi_s2.py"), "floor"])
            elif label == "rio calc":
                out[name].append([argv[0], "calc", "--help"])
            elif label == "rio cogeo create":
                out[name].append([argv[0], "cogeo", "create", "--help"])
            elif label == "gdal_calc.py":
                out[name].append(argv[:argv.index("--quiet")] + ["--help"])
            else:
                out[name].append([argv[0], "--version"])
    return out


OUTPUTS = {"ours": "ours.tif", "rio": "rio.tif", "gdal": "gdal.tif", "gdal-our-options": "gdal_our_options.tif"}
INTERMEDIATES = {"rio": "rio_calc.tif", "gdal": "gdal_calc.tif", "gdal-our-options": "gdal_our_options_calc.tif"}


def prepare(cache: Path, size: int) -> dict:
    import _synth

    paths = input_paths(cache, size)
    for band, path in paths.items():
        if not path.exists():
            _synth.write_band(path, band, size=size, seed=SEED, cog=True, nodata_corner=True)
    return {b: str(p) for b, p in paths.items()}


def _imports() -> None:
    """What ours imports (its start-up floor, also measured alone by ``floor``)."""
    import dask  # noqa: F401
    import rioxarray  # noqa: F401
    import xarray  # noqa: F401

    import _synth  # noqa: F401
    import flows.products.rasters  # noqa: F401
    import indices.spectral  # noqa: F401


def _peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux ``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ours(red: Path, nir: Path, out: Path, chunk: int) -> dict:
    """The pipeline's way: lazy reflectance Scene -> indices.spectral.ndvi -> write_cog.
    Returns the seconds spent importing and in the chain itself, and the peak memory after
    the imports."""
    t0 = time.perf_counter()
    _imports()
    import dask
    import rioxarray
    import xarray as xr

    import _synth
    from flows.products.rasters import write_cog
    from indices.spectral import ndvi

    def band(path: Path) -> xr.DataArray:
        dn = rioxarray.open_rasterio(path, chunks={"y": chunk, "x": chunk}, lock=False).squeeze("band", drop=True)
        return _synth.reflectance(dn).expand_dims(time=1)

    t1 = time.perf_counter()
    import_rss = _peak_rss_mib()
    red_r, nir_r = band(red), band(nir)
    scene = xr.Dataset({"red": red_r, "nir": nir_r}).rio.write_crs(red_r.rio.crs)
    with dask.config.set(scheduler="threads"):
        write_cog(ndvi(scene), out)
    return {"import_s": t1 - t0, "chain_s": time.perf_counter() - t1, "import_rss_mib": import_rss}


def verify(work: Path, names: list[str]) -> dict:
    """COG validity, nodata and value agreement of every output with ours (read in windows)."""
    import numpy as np
    import rasterio
    from rio_cogeo.cogeo import cog_validate

    ref_path = work / OUTPUTS["ours"]
    report = {}
    with rasterio.open(ref_path) as ref:
        for name in names:
            path = work / OUTPUTS[name]
            if not path.exists():
                report[name] = {"exists": False}
                continue
            valid, errors, _ = cog_validate(str(path), quiet=True)
            max_diff, nan_mismatch = 0.0, 0
            with rasterio.open(path) as src:
                info = {"exists": True, "valid_cog": bool(valid), "cog_errors": errors, "dtype": src.dtypes[0],
                        "nodata": repr(src.nodata), "compress": str(src.compression.value if src.compression else None),
                        "overviews": src.overviews(1), "blocksize": src.block_shapes[0],
                        "size_mb": path.stat().st_size / 1e6}
                for _, win in ref.block_windows(1):
                    a = ref.read(1, window=win)
                    b = src.read(1, window=win)
                    na, nb = np.isnan(a), np.isnan(b)
                    nan_mismatch += int((na != nb).sum())
                    both = ~na & ~nb
                    if both.any():
                        max_diff = max(max_diff, float(np.abs(a[both] - b[both]).max()))
            info.update(max_abs_diff_vs_ours=max_diff, nan_mismatch_vs_ours=nan_mismatch)
            report[name] = info
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("--cache", type=Path, required=True)
    pp.add_argument("--size", type=int, default=10980)
    po = sub.add_parser("ours")
    po.add_argument("--red", type=Path, required=True)
    po.add_argument("--nir", type=Path, required=True)
    po.add_argument("--out", type=Path, required=True)
    po.add_argument("--chunk", type=int, default=1024)
    sub.add_parser("floor")
    pv = sub.add_parser("verify")
    pv.add_argument("--work", type=Path, required=True)
    pv.add_argument("names", nargs="+")
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        print(json.dumps(prepare(a.cache, a.size)))
    elif a.cmd == "ours":
        print(json.dumps(ours(a.red, a.nir, a.out, a.chunk)))
    elif a.cmd == "floor":
        _imports()
    else:
        print(json.dumps(verify(a.work, a.names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
