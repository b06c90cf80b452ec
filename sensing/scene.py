"""The Scene contract (DESIGN.md): what every source hands to ``indices``.

An ``xarray.Dataset``, Dask-backed, dims ``(time, y, x)``, one float32 variable per band
named by STAC ``eo:common_name``, surface reflectance (0..1, scale/offset applied), masked
pixels NaN, CRS via rioxarray, attrs ``sensor`` and per-time ``item_id`` (a coordinate on
``time``, also listed in ``attrs["item_ids"]``) and ``valid_fraction`` (a coordinate on ``time``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from affine import Affine

from .errors import SceneContractError

COMMON_NAMES: tuple[str, ...] = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
    "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "pan",
)
DIMS = ("time", "y", "x")
DEFAULT_CHUNKS = {"time": 1, "y": 1024, "x": 1024}


def make_scene(
    bands: Mapping[str, Any],
    *,
    times: Sequence[Any],
    y: np.ndarray,
    x: np.ndarray,
    crs: str,
    sensor: str,
    item_ids: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
    chunks: Mapping[str, int] | None = None,
    valid_fraction: Sequence[float] | None = None,
) -> xr.Dataset:
    """Assemble a contract-conforming Scene from per-band ``(time, y, x)`` arrays.

    Arrays may be NumPy or Dask; the result is float32, Dask-chunked, with CRS, transform,
    ``item_id`` and ``valid_fraction`` coordinates on ``time`` (computed from the bands unless
    given).
    """
    times = pd.DatetimeIndex(pd.to_datetime(list(times)))
    if len(item_ids) != len(times):
        raise SceneContractError(f"{len(item_ids)} item ids for {len(times)} dates")
    data_vars = {}
    for name, arr in bands.items():
        if name not in COMMON_NAMES:
            raise SceneContractError(f"band {name!r} is not an eo:common_name")
        data_vars[name] = xr.Variable(DIMS, arr).astype("float32")
    ds = xr.Dataset(data_vars, coords={"time": times, "y": y, "x": x})
    ds = ds.assign_coords(item_id=("time", [str(i) for i in item_ids]))
    ds.attrs.update(dict(attrs or {}))
    ds.attrs["sensor"] = sensor
    ds.attrs["item_ids"] = [str(i) for i in item_ids]
    ds = ds.rio.write_crs(crs)
    res_x = float(x[1] - x[0]) if len(x) > 1 else float(ds.attrs.get("resolution", 1.0))
    res_y = float(y[1] - y[0]) if len(y) > 1 else -res_x
    ds = ds.rio.write_transform(
        Affine(res_x, 0.0, float(x[0]) - res_x / 2, 0.0, res_y, float(y[0]) - res_y / 2)
    )
    ds.attrs.setdefault("resolution", abs(res_x))
    ds = ds.chunk({**DEFAULT_CHUNKS, **dict(chunks or {})})
    if valid_fraction is not None:  # known without reading the bands (e.g. from SCL/QA)
        ds = ds.assign_coords(valid_fraction=("time", np.asarray(valid_fraction, dtype="float64")))
    else:
        ds = ds.assign_coords(valid_fraction=("time", _valid_fraction(ds).values))
    return ds


def _valid_fraction(scene: xr.Dataset, aoi_mask: xr.DataArray | None = None) -> xr.DataArray:
    """Per date, the share of (AOI) pixels where every band is finite. Computes eagerly (small)."""
    ok = None
    for name in scene.data_vars:
        fin = np.isfinite(scene[name])
        ok = fin if ok is None else ok & fin
    if ok is None:
        raise SceneContractError("scene has no bands")
    if aoi_mask is not None:
        ok = ok.where(aoi_mask)
    return ok.mean(dim=("y", "x")).astype("float64").compute()


def check_scene(scene: xr.Dataset, *, require_dask: bool = True) -> xr.Dataset:
    """Raise ``SceneContractError`` naming what is wrong if ``scene`` breaks the contract."""
    if not isinstance(scene, xr.Dataset):
        raise SceneContractError(f"a Scene is an xarray.Dataset, got {type(scene).__name__}")
    if not scene.data_vars:
        raise SceneContractError("scene has no band variables")
    for name, da in scene.data_vars.items():
        if name not in COMMON_NAMES:
            raise SceneContractError(f"variable {name!r} is not an eo:common_name band")
        if tuple(da.dims) != DIMS:
            raise SceneContractError(f"band {name!r} has dims {da.dims}, expected {DIMS}")
        if da.dtype != np.float32:
            raise SceneContractError(f"band {name!r} is {da.dtype}, expected float32")
        if require_dask and da.chunks is None:
            raise SceneContractError(f"band {name!r} is not Dask-backed")
    if scene.rio.crs is None:
        raise SceneContractError("scene has no CRS (rioxarray .rio.crs is None)")
    if "sensor" not in scene.attrs:
        raise SceneContractError("scene attrs lack 'sensor'")
    if "item_id" not in scene.coords or scene["item_id"].dims != ("time",):
        raise SceneContractError("scene lacks the per-time 'item_id' coordinate")
    return scene


def bands_present(scene: xr.Dataset) -> frozenset[str]:
    return frozenset(str(n) for n in scene.data_vars)


valid_fraction = _valid_fraction
