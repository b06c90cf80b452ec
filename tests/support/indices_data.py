"""Small Scene-contract builders for the ``indices`` tests (NumPy- or Dask-backed)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401
import xarray as xr

CRS = "EPSG:32650"  # UTM 50N (Guangdong)
X0, Y0 = 500000.0, 2500000.0


def coords(ny: int, nx: int, res: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a north-up grid whose top-left corner is (X0, Y0)."""
    x = X0 + res / 2 + res * np.arange(nx)
    y = Y0 - res / 2 - res * np.arange(ny)
    return y, x


def dataarray(arr, *, res: float = 10.0, crs: str | None = CRS, times: Sequence | None = None,
              name: str | None = None, dask: bool = False) -> xr.DataArray:
    arr = np.asarray(arr)
    y, x = coords(arr.shape[-2], arr.shape[-1], res)
    if arr.ndim == 3:
        t = pd.DatetimeIndex(times if times is not None else pd.date_range("2024-01-01", periods=arr.shape[0], freq="30D"))
        da = xr.DataArray(arr, dims=("time", "y", "x"), coords={"time": t, "y": y, "x": x}, name=name)
    else:
        da = xr.DataArray(arr, dims=("y", "x"), coords={"y": y, "x": x}, name=name)
    if crs is not None:
        da = da.rio.write_crs(crs)
    if dask:
        da = da.chunk({d: max(1, s // 2) for d, s in da.sizes.items()})
    return da


def scene(bands: Mapping[str, np.ndarray], *, res: float = 10.0, crs: str | None = CRS,
          times: Sequence | None = None, dask: bool = False) -> xr.Dataset:
    """A Scene: float32 bands, (y, x) or (time, y, x), CRS via rioxarray, optionally chunked."""
    das = {k: dataarray(np.asarray(v, dtype=np.float32), res=res, crs=None, times=times) for k, v in bands.items()}
    ds = xr.Dataset(das)
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    ds.attrs["sensor"] = "test"
    if dask:
        ds = ds.chunk({d: max(1, s // 2) for d, s in ds.sizes.items()})
    return ds
