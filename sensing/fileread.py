"""Lazy reading of one band of a GeoTIFF/COG as float32 values with its dataset mask applied.

GDAL gives every band a mask (``GDALRasterBand::GetMaskBand``, RFC 15; rasterio
``DatasetReader.read_masks`` / ``mask_flag_enums``): a per-dataset mask band (an internal
``GDAL_TIFF_INTERNAL_MASK`` mask or a ``.msk`` sidecar), an alpha band, the band's nodata
value, or "all valid". Photogrammetry tools (Agisoft Metashape, Pix4D, WebODM/ODM) mark the
fill around an orthomosaic this way, usually with black fill pixels that would otherwise read
as data. Here a pixel is NaN when

- its DN equals the band's ``nodata`` (given by the user, or the file's own), or is not finite;
- the dataset's mask band (internal or ``.msk``, or GDAL's alpha-derived mask) is 0 there
  (``dataset_mask``), and / or
- the alpha band ``alpha`` (1-based; a band the band map calls ``alpha`` that GDAL does not
  flag as one) is 0 there.

Values are ``DN x scale + offset`` in float32 (``sensing.radiometry.to_reflectance``'s rule).
Blocks are read with windowed ``rasterio`` reads under Dask, so nothing is read until computed.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Mapping

import dask.array as dsa
import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from affine import Affine
from dask.base import tokenize
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.windows import Window


def _read_block(path: str, index: int, scale: float, offset: float, nodata: float | None,
                dataset_mask: bool, alpha: int | None, block_info: Any = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    win = Window(c0, r0, c1 - c0, r1 - r0)
    with rasterio.open(path) as src:
        dn = src.read(index, window=win)
        ok = np.isfinite(dn) if dn.dtype.kind == "f" else np.ones(dn.shape, bool)
        if nodata is not None and not np.isnan(nodata):
            ok &= dn != nodata  # compared in float64 when the types differ: exact for integer DNs
        if dataset_mask:
            ok &= src.read_masks(index, window=win) != 0
        if alpha is not None:
            ok &= src.read(alpha, window=win) != 0
    out = dn.astype("float32") * np.float32(scale) + np.float32(offset)
    out[~ok] = np.nan
    return out


def read_band(path: str | Path, index: int, *, scale: float, offset: float, nodata: float | None,
              dataset_mask: bool, alpha: int | None, chunks: Mapping[str, int]) -> xr.DataArray:
    """Band ``index`` (1-based) of ``path`` as a lazy ``(y, x)`` float32 DataArray with the
    file's CRS, transform and pixel-centre coordinates; masked pixels NaN (module docstring)."""
    path = str(path)
    with rasterio.open(path) as src:
        h, w = src.height, src.width
        transform: Affine = src.transform
        crs = src.crs
        stat = Path(path).stat()
    cy, cx = int(chunks.get("y", 1024)), int(chunks.get("x", 1024))
    block_chunks = (_split(h, cy), _split(w, cx))
    token = tokenize(path, stat.st_mtime_ns, stat.st_size, index, scale, offset, nodata, dataset_mask, alpha, block_chunks)
    arr = dsa.map_blocks(partial(_read_block, path, int(index), float(scale), float(offset),
                                 None if nodata is None else float(nodata), bool(dataset_mask), alpha),
                         chunks=block_chunks, dtype="float32", meta=np.array((), dtype="float32"),
                         name=f"read-band-{token}")
    y = transform.f + transform.e * (np.arange(h) + 0.5)
    x = transform.c + transform.a * (np.arange(w) + 0.5)
    da = xr.DataArray(arr, dims=("y", "x"), coords={"y": y, "x": x})
    return da.rio.write_crs(crs).rio.write_transform(transform)


def _split(n: int, size: int) -> tuple[int, ...]:
    size = max(1, size)
    return tuple([size] * (n // size) + ([n % size] if n % size else []))


def mask_info(src: rasterio.DatasetReader, data_indexes: tuple[int, ...], *,
              not_alpha: int | None = None) -> tuple[bool, int | None, str]:
    """``(dataset_mask, gdal_alpha, description)`` of an open file: whether the data bands have
    a per-dataset GDAL mask (mask band, ``.msk`` or alpha), the 1-based band whose colour
    interpretation is alpha (or None), and a text saying which mask it is. ``not_alpha``: a band
    flagged alpha that is read as data; a mask GDAL derives from it is not used."""
    flags = [src.mask_flag_enums[i - 1] for i in data_indexes]
    per_dataset = any(MaskFlags.per_dataset in f for f in flags)
    alphas = [i + 1 for i, ci in enumerate(src.colorinterp) if ci == ColorInterp.alpha and i + 1 != not_alpha]
    gdal_alpha = alphas[0] if alphas else None
    if not per_dataset:
        return False, gdal_alpha, ""
    if any(MaskFlags.alpha in f for f in flags):
        if gdal_alpha is None:  # GDAL's mask is the band read as data: not a mask
            return False, None, ""
        return True, gdal_alpha, f"alpha band {gdal_alpha}"
    sidecar = any(str(f).lower().endswith(".msk") for f in (src.files or []))
    return True, gdal_alpha, "GDAL mask band (.msk sidecar)" if sidecar else "GDAL mask band (internal)"
