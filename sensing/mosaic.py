"""Mosaics of rasters on one pixel grid: the first *valid* pixel wins, not the first file; and
pasting a raster into a grid it shares pixels with (``paste``).

Orthomosaics carry fill (black or white pixels around the flown area) that their masks mark
invalid; once masked it is NaN here. "First file wins" would let one file's fill (or its
footprint's bounding box) hide another file's real pixels; taking per pixel the first file
that is valid there keeps every imaged pixel (GDAL's ``gdalbuildvrt`` / ``gdal_merge`` do the
same with ``-srcnodata``: sources are painted in order, masked pixels left transparent).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr
from affine import Affine


def first_valid(parts: Sequence[xr.Dataset], bands: Sequence[str], *, every_band: bool = True) -> xr.Dataset:
    """Per pixel, values from the first of ``parts`` (in order) that is valid there; lazy.

    ``every_band=True`` (files of different acquisitions): a pixel comes from the first part
    whose every band in ``bands`` is finite there, so bands of one pixel come from one file;
    where no part is valid in every band, each band takes its own first finite value.
    ``every_band=False`` (files of one acquisition, e.g. one band per file): each band takes
    its first finite value among the parts that hold it.
    """
    bands = [b for b in bands if any(b in p for p in parts)]
    per_band = {}
    for b in bands:
        layers = [p[b] for p in parts if b in p]
        v = layers[0]
        for layer in layers[1:]:
            v = v.fillna(layer)
        per_band[b] = v
    if not every_band or len(parts) == 1:
        return xr.Dataset(per_band)
    full_parts = [p for p in parts if all(b in p for b in bands)]
    taken = None
    chosen = {b: xr.full_like(per_band[b], np.nan) for b in bands}
    for p in full_parts:
        full = None
        for b in bands:
            f = np.isfinite(p[b])
            full = f if full is None else full & f
        pick = full if taken is None else full & ~taken
        for b in bands:
            chosen[b] = xr.where(pick, p[b], chosen[b])
        taken = full if taken is None else taken | full
    if taken is None:
        return xr.Dataset(per_band)
    return xr.Dataset({b: xr.where(taken, chosen[b], per_band[b]).astype(per_band[b].dtype) for b in bands})


def geobox_coords(gbox) -> tuple[np.ndarray, np.ndarray]:
    t: Affine = gbox.transform
    ny, nx = gbox.shape
    return t.f + t.e * (np.arange(ny) + 0.5), t.c + t.a * (np.arange(nx) + 0.5)


def paste(da: xr.DataArray, info, target) -> xr.DataArray:
    """Copy the overlapping window of ``da`` into ``target``'s shape (NaN elsewhere): exact,
    no resampling, for files on the target's pixel grid."""
    ys, xs = info.roi_src
    yd, xd = info.roi_dst
    H, W = target.shape
    sub = da.isel(y=ys, x=xs).drop_vars(["y", "x", "spatial_ref"], errors="ignore")
    padded = sub.pad(y=(yd.start, H - yd.stop), x=(xd.start, W - xd.stop), constant_values=np.nan)
    return padded.astype("float32")
