"""Grid helpers shared by water, water bodies and change: pixel size, labels, polygons."""
from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
import rasterio.errors
import rasterio.features
import rioxarray  # noqa: F401  (registers .rio)
import shapely
import xarray as xr
from affine import Affine
from shapely.geometry import shape
from skimage.measure import label as _label

from .errors import IndicesError

# rasterio.features wraps an array in an in-memory dataset that has no transform until it sets
# the one given, and hides the NotGeoreferencedWarning of that moment with
# ``warnings.catch_warnings``, which is not thread-safe: under concurrent threads the warning
# escapes now and then. Ignored only where rasterio.features raises it; a file opened without
# georeferencing still warns (that one is raised from ``rasterio.open``).
warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning, module=r"rasterio\.features")


def burn_mask(geom, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Bool mask of the pixel centres inside ``geom`` (``rasterio.features.rasterize``)."""
    return rasterio.features.rasterize([(geom, 1)], out_shape=shape, transform=transform, fill=0,
                                       dtype="uint8").astype(bool)


def as_2d(da: xr.DataArray, what: str) -> xr.DataArray:
    """``da`` as (y, x): a length-1 ``time`` dimension is dropped; anything else is an error."""
    if not isinstance(da, xr.DataArray):
        raise IndicesError(f"{what}: expected an xarray.DataArray, got {type(da).__name__}")
    for dim in [d for d in da.dims if d not in ("y", "x")]:
        if da.sizes[dim] != 1:
            raise IndicesError(f"{what}: expected a single (y, x) raster, got dims {dict(da.sizes)}")
        da = da.isel({dim: 0})
    if set(da.dims) != {"y", "x"}:
        raise IndicesError(f"{what}: expected dims (y, x), got {da.dims}")
    return da.transpose("y", "x")


def transform_of(da: xr.DataArray | xr.Dataset, what: str = "raster") -> Affine:
    """The affine transform (from rioxarray, or from the ``x``/``y`` coordinates), after
    checking that the CRS, if any, is projected (areas are in CRS units, taken as metres)."""
    if "x" not in da.coords or "y" not in da.coords:
        raise IndicesError(f"{what}: needs 'x' and 'y' coordinates to know its pixel size")
    crs = da.rio.crs
    if crs is not None and not crs.is_projected:
        raise IndicesError(f"{what}: CRS {crs} is not projected; areas need a metric grid (reproject to UTM first)")
    try:
        return da.rio.transform(recalc=True)
    except Exception as exc:  # a single row or column with no stored transform
        raise IndicesError(f"{what}: cannot derive the pixel size from its coordinates ({exc})") from exc


def pixel_area_m2(da: xr.DataArray | xr.Dataset, what: str = "raster") -> float:
    """Area of one pixel in CRS units squared (m2 on a projected metric grid)."""
    t = transform_of(da, what)
    area = abs(t.a * t.e - t.b * t.d)
    if not area > 0:
        raise IndicesError(f"{what}: pixel area is {area}")
    return float(area)


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean array (``skimage.measure.label``, connectivity 2)."""
    lab, n = _label(np.asarray(mask, dtype=bool), connectivity=2, return_num=True)
    return lab.astype(np.int32), int(n)


def label_sums(labels: np.ndarray, n: int, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per label 1..n: (count of finite values, sum of finite values); counts of pixels if
    ``values`` is None."""
    flat = labels.ravel()
    if values is None:
        c = np.bincount(flat, minlength=n + 1)[1:].astype(np.int64)
        return c, c.astype(np.float64)
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(v) & (flat > 0)
    cnt = np.bincount(flat[ok], minlength=n + 1)[1:].astype(np.int64)
    tot = np.bincount(flat[ok], weights=v[ok], minlength=n + 1)[1:]
    return cnt, tot


def label_means(labels: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Mean of the finite ``values`` per label 1..n (NaN for a label with none)."""
    cnt, tot = label_sums(labels, n, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def label_mins(labels: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Minimum of ``values`` per label 1..n."""
    from scipy import ndimage

    return np.asarray(ndimage.minimum(np.asarray(values, dtype=np.float64), labels, np.arange(1, n + 1)), dtype=np.float64)


def polygons(labels: np.ndarray, transform: Affine) -> dict[int, shapely.Geometry]:
    """One (Multi)Polygon per label value, in the grid's CRS, from ``rasterio.features.shapes``.

    Pixel edges become polygon edges, so a pixel-aligned square has exactly its pixel area.
    Shapes are traced 4-connected and unioned per label: pixels of one 8-connected body that
    touch only at a corner give a MultiPolygon (a valid geometry) rather than a self-touching
    ring.
    """
    parts: dict[int, list] = defaultdict(list)
    lab = np.ascontiguousarray(labels, dtype=np.int32)
    for geom, value in rasterio.features.shapes(lab, mask=lab > 0, transform=transform, connectivity=4):
        parts[int(value)].append(shape(geom))
    return {k: (v[0] if len(v) == 1 else shapely.union_all(v)) for k, v in parts.items()}


def centroids(labels: np.ndarray, n: int, transform: Affine) -> tuple[np.ndarray, np.ndarray]:
    """Per label 1..n, the centroid (x, y) in CRS coordinates (mean of pixel centres)."""
    rows, cols = np.indices(labels.shape)
    cnt, sr = label_sums(labels, n, rows.astype(np.float64) + 0.5)
    _, sc = label_sums(labels, n, cols.astype(np.float64) + 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        r, c = sr / cnt, sc / cnt
    x = transform.c + transform.a * c + transform.b * r
    y = transform.f + transform.d * c + transform.e * r
    return x, y
