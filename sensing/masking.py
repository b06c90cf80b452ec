"""Validity masks from quality bands, and each date's valid fraction over the village AOI.

- Sentinel-2 L2A Scene Classification (ESA, S2-PDGS-MPC-ATBD-L2A): classes listed in
  ``sensing.sensors.SCL_MASKED`` (0 no data, 1 saturated/defective, 3 cloud shadow,
  8 cloud medium probability, 9 cloud high probability, 10 thin cirrus, 11 snow) are invalid;
  2 dark area, 4 vegetation, 5 not vegetated, 6 water, 7 unclassified stay.
- Landsat Collection 2 QA_PIXEL (USGS LSDS-1619 table 6-3): a pixel is invalid when any of
  bits 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow is set
  (``sensing.sensors.QA_MASKED_BITS``). A QA value of 0 never occurs in real data (clear pixels
  set bit 6), so it marks pixels outside the scene.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import Transformer
from rasterio.features import geometry_mask
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shp_transform

from .sensors import QA_MASKED_BITS, SCL_MASKED, MaskRule


def scl_valid(scl: xr.DataArray, masked: Iterable[int] = SCL_MASKED) -> xr.DataArray:
    """True where the SCL class is not in ``masked`` (and not NaN)."""
    return (~scl.isin(list(masked))) & scl.notnull()


def qa_bits_valid(qa: xr.DataArray, bits: Iterable[int] = QA_MASKED_BITS, *,
                  zero_is_nodata: bool = True) -> xr.DataArray:
    """True where none of ``bits`` is set in the QA value (and, by default, QA != 0)."""
    mask = 0
    for b in bits:
        mask |= 1 << int(b)
    q = qa.fillna(0).astype("int64") if qa.dtype.kind == "f" else qa.astype("int64")
    ok = (q & mask) == 0
    if zero_is_nodata:
        ok = ok & (q != 0)
    return ok


def quality_valid(quality: xr.DataArray, rule: MaskRule) -> xr.DataArray:
    """Validity from a quality band following a sensor's :class:`MaskRule`."""
    if rule.kind == "classes":
        return scl_valid(quality, rule.values)
    if rule.kind == "bits":
        return qa_bits_valid(quality, rule.values)
    return quality.notnull()


def _pixel_coords(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    x = transform.c + transform.a * (np.arange(nx) + 0.5)
    y = transform.f + transform.e * (np.arange(ny) + 0.5)
    return y, x


#: largest analysis grid (pixels) a village is processed on: the AOI mask is held in memory
#: (1e8 px: 10 000 km2 at 10 m, 100 km2 at 1 m, 1 km2 at 10 cm)
MAX_AOI_PIXELS = 100_000_000


def aoi_mask(geometry: BaseGeometry, grid: Any, *, src_crs: str = "EPSG:4326",
             all_touched: bool = False) -> xr.DataArray:
    """The village polygon rasterised on ``grid`` (an ``aoi.Grid`` or ``odc.geo.GeoBox``):
    a ``(y, x)`` bool DataArray, True for pixels whose centre lies inside. A polygon smaller
    than a pixel falls back to ``all_touched`` so the AOI is never empty. A grid larger than
    :data:`MAX_AOI_PIXELS` is a ``SensingError`` (not an out-of-memory crash)."""
    from .errors import SensingError

    shape = tuple(int(v) for v in grid.shape)
    if shape[0] * shape[1] > MAX_AOI_PIXELS:
        raise SensingError(
            f"the analysis grid would be {shape[1]} x {shape[0]} pixels, more than {MAX_AOI_PIXELS:,}: "
            f"the boundary is too large for this resolution (check the boundary, or give a coarser resolution)")
    crs = str(grid.crs)
    tr = Transformer.from_crs(src_crs, crs, always_xy=True)
    local = shp_transform(tr.transform, geometry)
    transform = grid.transform
    inside = geometry_mask([mapping(local)], out_shape=shape, transform=transform,
                           invert=True, all_touched=all_touched)
    if not inside.any() and not all_touched:
        inside = geometry_mask([mapping(local)], out_shape=shape, transform=transform,
                               invert=True, all_touched=True)
    y, x = _pixel_coords(transform, shape)
    return xr.DataArray(inside, dims=("y", "x"), coords={"y": y, "x": x}, name="aoi")


def aoi_valid_fraction(valid: xr.DataArray, aoi: xr.DataArray, *, compute: bool = True) -> xr.DataArray:
    """Per date, the share of AOI pixels that are valid (eager: small; lazy with
    ``compute=False``). ``valid`` is a ``(time, y, x)`` bool array on the same pixels as the
    ``(y, x)`` ``aoi``."""
    n = int(np.asarray(aoi).sum())
    if n == 0:
        frac = xr.zeros_like(valid.isel(y=0, x=0), dtype="float64")
    else:
        a = xr.DataArray(np.asarray(aoi), dims=("y", "x"))
        frac = ((valid.astype("int32") * a).sum(dim=("y", "x")) / n).astype("float64")
    return frac.compute() if compute else frac


def aoi_valid_fractions(scene: xr.Dataset, aoi: xr.DataArray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per date, the share of AOI pixels valid (finite) in every band, and in each band alone:
    ``(overall, {band: fractions})``, computed in one pass over the bands (eager: small)."""
    import dask

    return valid_fractions_from(*dask.compute(aoi_valid_counts(scene, aoi))[0])


def aoi_valid_counts(scene: xr.Dataset, aoi: xr.DataArray) -> tuple[int, list[str], list[Any]]:
    """What :func:`aoi_valid_fractions` computes, lazy: ``(n AOI pixels, bands, [count valid
    in every band, count valid per band])`` (computed together for many villages at once:
    ``sensing.tileshare``)."""
    n = int(np.asarray(aoi).sum())
    bands = [str(b) for b in scene.data_vars]
    if n == 0:
        return 0, bands, [np.zeros(scene.sizes["time"], dtype="int64")] * (len(bands) + 1)
    a = xr.DataArray(np.asarray(aoi), dims=("y", "x"))
    fin = {b: np.isfinite(scene[b]) for b in bands}
    every = None
    for f in fin.values():
        every = f if every is None else every & f
    return n, bands, [(every.astype("int32") * a).sum(dim=("y", "x"))] + [
        (fin[b].astype("int32") * a).sum(dim=("y", "x")) for b in bands]


def valid_fractions_from(n: int, bands: list[str], counts: list[Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`aoi_valid_fractions`' result from the computed :func:`aoi_valid_counts`."""
    if n == 0:
        zeros = np.zeros(len(np.asarray(counts[0])), dtype="float64")
        return zeros, {b: zeros.copy() for b in bands}
    fracs = [np.asarray(getattr(c, "values", c), dtype="float64") / n for c in counts]
    return fracs[0], dict(zip(bands, fracs[1:]))
