"""Cloud-Optimized GeoTIFF writing that never holds a large raster in memory.

Every COG is made by GDAL's COG driver (``rasterio.shutil.copy(..., driver="COG")``) from a
source holding the pixels: a raster of at most ``IN_MEMORY_PIXELS`` (every village product)
is computed in one go into an in-memory (``MEM``) dataset; a larger one is computed a few
Dask blocks at a time into an uncompressed tiled staging GeoTIFF beside the output, which
the driver reads twice (overviews, then the copy). Either way the result is written to a
temporary name and renamed into place (``atomic``); the same pixels give the same bytes by
either route.

Compression: DEFLATE, readable by every GeoTIFF reader (``COG_OPTIONS``). Float rasters
(indices, changes) at level 1 with TIFF's floating-point predictor (predictor 3, Adobe
Photoshop TIFF Technical Note 3, 2005; ``FLOAT_COMPRESSION``): measured on a float32 NDVI of
a Sentinel-2 tile (``docs/performance.md``, benchmark 2) the predictor makes the file 11 %
smaller than DEFLATE alone, and level 1 takes about a third less compression time than the
default level 6 for 1 % more bytes. Integer rasters (masks, classes) keep DEFLATE's default level 6 without
predictor: on 0/1/255 masks and class maps the predictor makes files 3-15 % larger and level
1 makes them 40-60 % larger, for little time (they are small). Lossless either way: the
values are those computed, bit for bit.

Speed and memory: the staging file is not compressed (written once, read twice, deleted; it
lives in the page cache) and is written by a background thread while the next Dask blocks are
computed; the driver computes overviews and compresses on every core (``GDAL_NUM_THREADS`` and
``NUM_THREADS``), its temporary overview file at ZSTD level 1 (``TMP_OVERVIEW_ZSTD_LEVEL``),
and GDAL's block cache is capped at ``GDAL_CACHE_BYTES`` while
writing (GDAL's default, 5 % of RAM, fills with blocks that are never read again), unless
the ``GDAL_CACHEMAX`` environment variable says otherwise.
"""
from __future__ import annotations

import itertools
import os
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.env import get_gdal_config, set_gdal_config
from rasterio.windows import Window

from ..errors import ProductWriteError
from .atomic import TMP_SUFFIX, atomic_path

#: GDAL COG driver options of the COGs we publish (compression: see the module docstring)
COG_OPTIONS: dict[str, Any] = {
    "COMPRESS": "DEFLATE",
    "BLOCKSIZE": 512,
    "OVERVIEWS": "AUTO",
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}

#: added for float rasters: the floating-point predictor (3: the driver's choice for floats), level 1
FLOAT_COMPRESSION: dict[str, Any] = {"PREDICTOR": "YES", "LEVEL": 1}

_FLOAT_NODATA = float("nan")

#: rasters of at most this many pixels are computed whole into an in-memory dataset (16 MiB
#: as float32); larger ones are streamed block by block through a staging GeoTIFF
IN_MEMORY_PIXELS = 2048 * 2048
#: the staging GeoTIFF: tiled like the COG, not compressed (see the module docstring)
STAGE_OPTIONS: dict[str, Any] = {"tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "NONE",
                                 "BIGTIFF": "IF_SAFER"}
#: ZSTD level of the driver's temporary overview file (GDAL compresses it with ZSTD, level 9 by
#: default; it is written once, read once and deleted): level 1 spares about 0.5 s of CPU on a
#: Sentinel-2 tile (benchmark 2) for the same overview values. (Not compressing it at all,
#: ``COG_TMP_COMPRESSION=NONE``, changes GDAL's average overviews at its processing-chunk
#: edges where the ratio is not 2, e.g. 2745 -> 1372 px; so it is not used.)
TMP_OVERVIEW_ZSTD_LEVEL = 1
#: upper bound of GDAL's block cache (bytes) while a COG is written
GDAL_CACHE_BYTES = 32 * 2**20

_cache_lock = threading.Lock()
_cache_users = 0
_cache_saved: int | None = None


@contextmanager
def _bounded_gdal_cache():
    """Cap GDAL's (process-wide) block cache at ``GDAL_CACHE_BYTES`` while any writer runs.

    Reference-counted so concurrent writers in threads restore the previous size only when
    the last one finishes; a smaller cache, or ``GDAL_CACHEMAX`` set in the environment, is
    left alone.
    """
    global _cache_users, _cache_saved
    if "GDAL_CACHEMAX" in os.environ:
        yield
        return
    with _cache_lock:
        if _cache_users == 0:
            current = int(get_gdal_config("GDAL_CACHEMAX") or 0)
            _cache_saved = current
            if current > GDAL_CACHE_BYTES:
                set_gdal_config("GDAL_CACHEMAX", GDAL_CACHE_BYTES)
        _cache_users += 1
    try:
        yield
    finally:
        with _cache_lock:
            _cache_users -= 1
            if _cache_users == 0 and _cache_saved and _cache_saved > GDAL_CACHE_BYTES:
                set_gdal_config("GDAL_CACHEMAX", _cache_saved)


def _to_2d(da: xr.DataArray) -> xr.DataArray:
    """``da`` as (y, x), or (band, y, x) when it has a ``band`` dimension of several bands."""
    keep = ("band", "y", "x") if "band" in da.dims and da.sizes["band"] > 1 else ("y", "x")
    for d in [d for d in da.dims if d not in keep]:
        if da.sizes[d] != 1:
            raise ProductWriteError(f"{da.name}: write one 2-D layer (or bands) at a time (dim {d} has {da.sizes[d]})")
        da = da.isel({d: 0}, drop=True)
    return da.transpose(*keep)


def write_cog(
    da: xr.DataArray,
    path: str | os.PathLike,
    *,
    nodata: float | int | None = None,
    dtype: str | None = None,
    resampling: str | None = None,
    tags: dict[str, str] | None = None,
    blocks_at_once: int = 4,
) -> Path:
    """Write a 2-D georeferenced DataArray (CRS and transform via rioxarray) as a COG; a
    ``band`` dimension of several bands (e.g. red, green, blue) gives one COG band each, with
    the ``band`` coordinate's names as band descriptions and, for red/green/blue, the RGB
    colour interpretation.

    Floats get ``nodata=NaN`` by default; booleans/masks are written as ``uint8``
    (0/1, nodata 255 where the input is NaN-masked is the caller's choice via ``nodata``).
    ``resampling`` for overviews defaults to ``average`` for floats and ``nearest`` for
    integer classes. ``tags`` become GeoTIFF metadata (e.g. provenance, ``DEMO=1``).
    """
    da = _to_2d(da)
    if da.rio.crs is None:
        raise ProductWriteError(f"{da.name or 'raster'}: no CRS; cannot write {path}")
    out_dtype = np.dtype(dtype or (np.uint8 if da.dtype == bool else da.dtype))
    if nodata is None and np.issubdtype(out_dtype, np.floating):
        nodata = _FLOAT_NODATA
    if resampling is None:
        resampling = "average" if np.issubdtype(out_dtype, np.floating) else "nearest"
    height, width = da.shape[-2:]
    names = [str(b) for b in da["band"].values] if da.ndim == 3 else [str(da.name)] if da.name else []
    profile = {
        "height": height,
        "width": width,
        "count": 1 if da.ndim == 2 else da.shape[0],
        "dtype": out_dtype.name,
        "crs": da.rio.crs,
        "transform": da.rio.transform(recalc=True),
        "nodata": nodata,
    }
    data = da.data
    if not isinstance(data, dask.array.Array):
        data = np.asarray(data)
    elif da.ndim == 3:
        data = data.rechunk({0: -1})
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    threads = single_block_threads(height, width)
    cog = {"RESAMPLING": resampling.upper(), **COG_OPTIONS, "NUM_THREADS": threads,
           **(FLOAT_COMPRESSION if np.issubdtype(out_dtype, np.floating) else {})}

    def fill(dst, at_once: int) -> None:
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)
        if names == ["red", "green", "blue"]:
            from rasterio.enums import ColorInterp

            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
        _write_blocks(dst, data, out_dtype, nodata, at_once)

    with _bounded_gdal_cache(), rasterio.Env(GDAL_NUM_THREADS=threads,  # overviews: all cores beyond one block
                                             ZSTD_LEVEL_OVERVIEW=TMP_OVERVIEW_ZSTD_LEVEL):
        if height * width * profile["count"] <= IN_MEMORY_PIXELS:  # every block at once, no staging file
            with atomic_path(final) as tmp:
                with rasterio.open(final.name, "w", driver="MEM", **profile) as mem:
                    fill(mem, getattr(data, "npartitions", 1))
                    rasterio.shutil.copy(mem, tmp, driver="COG", **cog)
            return final
        fd, stage_name = tempfile.mkstemp(prefix=f".{final.name}.stage.", suffix=".tif" + TMP_SUFFIX, dir=final.parent)
        os.close(fd)
        stage = Path(stage_name)
        try:
            with rasterio.open(stage, "w", driver="GTiff", **profile, **STAGE_OPTIONS) as dst:
                fill(dst, blocks_at_once)
            with atomic_path(final) as tmp:
                rasterio.shutil.copy(stage, tmp, driver="COG", **cog)
        finally:
            stage.unlink(missing_ok=True)
    return final


def single_block_threads(height: int, width: int) -> str | int:
    """GDAL's threads for a COG of ``height`` x ``width``: ``COG_OPTIONS["NUM_THREADS"]`` (all
    cores), or 1 when the raster fits in one block (every village product of the demo: a few
    hundred pixels a side), which one thread compresses alone while starting the others costs
    time (measured: 8 % less CPU per small COG). The bytes are the same either way."""
    return 1 if max(height, width) <= COG_OPTIONS["BLOCKSIZE"] else COG_OPTIONS["NUM_THREADS"]


def _write_blocks(dst, data, out_dtype: np.dtype, nodata, blocks_at_once: int) -> None:
    """Write ``data`` ((y, x), or (band, y, x) with every band in one chunk; NumPy: at once;
    Dask: ``blocks_at_once`` blocks computed together at a time) into ``dst``.

    Dask blocks are written by one background thread while the next batch is computed (at
    most two batches in memory), so the cores keep computing while GDAL writes; ``dst`` is
    only ever used by one thread at a time."""
    if isinstance(data, np.ndarray):
        _write_array(dst, data, 0, 0, out_dtype, nodata)
        return
    bands = data.ndim == 3
    row_starts = np.cumsum((0,) + data.chunks[-2][:-1])
    col_starts = np.cumsum((0,) + data.chunks[-1][:-1])
    keys = list(itertools.product(range(len(row_starts)), range(len(col_starts))))
    step = max(1, blocks_at_once)

    def write(batch: list[tuple[int, int]], arrays: tuple) -> None:
        for (r, c), arr in zip(batch, arrays):
            _write_array(dst, np.asarray(arr), int(row_starts[r]), int(col_starts[c]), out_dtype, nodata)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="write_cog") as writer:
        pending: Future | None = None
        for i in range(0, len(keys), step):
            batch = keys[i : i + step]
            arrays = dask.compute(*[data.blocks[0, r, c] if bands else data.blocks[r, c] for r, c in batch])
            if pending is not None:
                pending.result()  # the previous batch is in the file (or its error is raised here)
            pending = writer.submit(write, batch, arrays)
        if pending is not None:
            pending.result()


def _write_array(dst, arr: np.ndarray, row: int, col: int, out_dtype: np.dtype, nodata) -> None:
    if arr.dtype == bool:
        arr = arr.astype(out_dtype)
    elif np.issubdtype(arr.dtype, np.floating):
        # inf (a division by ~0 upstream) is no value: write nodata, never inf
        fill = nodata if nodata is not None else (np.nan if np.issubdtype(out_dtype, np.floating) else 0)
        arr = np.where(np.isfinite(arr), arr, fill).astype(out_dtype, copy=False)
    else:
        arr = arr.astype(out_dtype, copy=False)
    win = Window(col, row, arr.shape[-1], arr.shape[-2])
    if arr.ndim == 3:
        dst.write(arr, list(range(1, arr.shape[0] + 1)), window=win)
    else:
        dst.write(arr, 1, window=win)


def grid_of(like: xr.Dataset | xr.DataArray) -> tuple[Any, Any]:
    """``like``'s (CRS, transform), the transform from its coordinates: computed once for the
    rasters written on one grid (rioxarray derives it from the coordinates at each call, 2 ms)."""
    return like.rio.crs, like.rio.transform(recalc=True)


def georef(da: xr.DataArray | xr.Dataset, grid: tuple[Any, Any]) -> xr.DataArray | xr.Dataset:
    """``da`` with the CRS and transform of ``grid`` (:func:`grid_of`), for writing."""
    crs, transform = grid
    return da.rio.write_crs(crs).rio.write_transform(transform)


def mask_to_uint8(mask: xr.DataArray, valid: xr.DataArray | None = None, *, nodata: int = 255) -> xr.DataArray:
    """A boolean mask as uint8 0/1 with ``nodata`` where ``valid`` is False (lazy)."""
    out = mask.astype("uint8")
    if valid is not None:
        out = out.where(valid, nodata).astype("uint8")
    out.attrs = {}
    out.rio.write_crs(mask.rio.crs, inplace=True)
    return out.rio.write_nodata(nodata)


def open_raster(path: str | os.PathLike, *, chunks: Any = True, masked: bool = True) -> xr.DataArray:
    """One COG as a lazy (y, x) DataArray with CRS; nodata masked to NaN unless ``masked`` is
    False (then the stored values, e.g. a mask's 255). ``chunks=True``: Dask's automatic chunk
    size, in whole bands; ``chunks=None``: read into memory."""
    import rioxarray

    if chunks is True:  # a dict: rioxarray turns True into a deprecated dimension-order tuple
        chunks = {"band": 1, "y": "auto", "x": "auto"}
    da = rioxarray.open_rasterio(path, chunks=chunks, masked=masked).squeeze("band", drop=True)
    da.name = Path(path).stem
    return da


def is_valid_cog(path: str | os.PathLike) -> tuple[bool, list[str], list[str]]:
    """(valid, errors, warnings) from rio-cogeo's validator."""
    from rio_cogeo.cogeo import cog_validate

    return cog_validate(str(path), quiet=True)
