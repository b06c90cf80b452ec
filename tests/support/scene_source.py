"""A tiny in-memory imagery source for flow tests: hands the flow a Scene built from arrays
(any dtype, NaN/inf, extra streams), so tests can feed it hostile input directly."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from aoi import Village, grid_for
from sensing.scene import make_scene

BANDS = ("blue", "green", "red", "nir", "swir16")
#: reflectance per land cover: vegetation, water
VEG = dict(blue=0.03, green=0.06, red=0.035, nir=0.35, swir16=0.18)
WATER = dict(blue=0.065, green=0.07, red=0.045, nir=0.02, swir16=0.008)


def arrays_for(village: Village, n_dates: int = 2, *, resolution: float = 10.0,
               dtype: str = "float32") -> tuple[dict[str, np.ndarray], Any]:
    """Per band a ``(time, y, x)`` array on the village grid: vegetation with a water square
    in the middle."""
    g = grid_for(village, resolution)
    h, w = g.shape
    water = np.zeros((h, w), bool)
    water[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = True
    out = {}
    for b in BANDS:
        a = np.where(water, WATER[b], VEG[b]).astype("float64")
        out[b] = np.repeat(a[None], n_dates, axis=0).astype(dtype)
    return out, g


def scene_from(village: Village, bands: Mapping[str, np.ndarray], g, *, dates=("2024-05-01", "2024-06-01"),
               sensor: str = "sentinel-2-l2a", cast: bool = True) -> xr.Dataset:
    y, x = g.coords()
    ds = make_scene(dict(bands), times=list(dates), y=y, x=x, crs=g.crs, sensor=sensor,
                    item_ids=[f"ARRAY_{d}" for d in dates])
    if not cast:  # keep the arrays' own dtype (make_scene casts to float32)
        for name, arr in bands.items():
            ds[name] = (("time", "y", "x"), arr)
            ds[name] = ds[name].chunk({"time": 1})
    return ds


@dataclass(frozen=True, eq=False)
class ArraySource:
    """``load`` returns ``scenes[village.id]`` (or raises ``errors[village.id]``);
    ``streams[village.id]`` become extra streams (``extra_scenes``)."""

    scenes: Mapping[str, xr.Dataset] = field(default_factory=dict)
    errors: Mapping[str, BaseException] = field(default_factory=dict)
    streams: Mapping[str, Mapping[str, xr.Dataset]] = field(default_factory=dict)
    kind: str = "demo"

    def load(self, village: Village, start: dt.date, end: dt.date) -> xr.Dataset:
        if village.id in self.errors:
            raise self.errors[village.id]
        ds = self.scenes[village.id]
        t = pd.DatetimeIndex(ds["time"].values)
        keep = (t >= pd.Timestamp(start)) & (t <= pd.Timestamp(end))
        return ds.isel(time=np.flatnonzero(keep))

    def extra_scenes(self, village: Village, start: dt.date, end: dt.date) -> dict[str, xr.Dataset]:
        return dict(self.streams.get(village.id, {}))

    def describe(self) -> dict:
        return {"kind": "array", "villages": sorted(self.scenes)}
