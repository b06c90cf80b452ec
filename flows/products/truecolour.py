"""The true-colour picture of one date: ``true_colour.tif``, a 3-band uint8 COG (red, green,
blue) that the quicklooks and the page's map draw, since the products keep no reflectance.

The stretch is linear between two percentiles (default 2 and 98 %) of the date's valid red,
green and blue values inside the village, **pooled over the three bands** (one low and one high
for all three): one stretch for all bands keeps the band ratios, so black-odorous water stays
grey-black and algal water green, where a per-band stretch would re-balance every date's
colour. Values map to 1..255 (``1 + 254 (x - low) / (high - low)``, clipped); 0 is no data (a
pixel missing any of the three bands).
The percentiles and the stretch limits (reflectance, or the scene's relative units) are in the
COG's tags and returned for the manifest. Percentiles are taken on a regular subsample of at
most :data:`MAX_SAMPLE` pixels (a 0.5 m drone date over a village has tens of millions).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .layout import TRUE_COLOUR
from .rasters import georef, grid_of, write_cog

#: the bands of a true-colour picture, in COG band order
RGB = ("red", "green", "blue")
#: default stretch percentiles (the common 2-98 % linear stretch)
PERCENTILES = (2.0, 98.0)
#: at most this many pixels enter the percentiles (a regular subsample)
MAX_SAMPLE = 1_000_000
NODATA = 0


@dataclass(frozen=True)
class Stretch:
    """A linear stretch of reflectance ``low..high`` to 1..255, from ``percentiles`` of ``n`` values."""

    low: float
    high: float
    percentiles: tuple[float, float]
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"method": "linear, percentiles pooled over red, green and blue inside the village",
                "percentiles": list(self.percentiles), "low": self.low, "high": self.high, "n_values": self.n,
                "bands": list(RGB), "nodata": NODATA}


def stretch_limits(bands: dict[str, np.ndarray], inside: np.ndarray | None = None,
                   percentiles: tuple[float, float] = PERCENTILES) -> Stretch | None:
    """The pooled ``percentiles`` of the pixels where red, green and blue are all finite (and
    ``inside`` is True); ``None`` when there is no such pixel."""
    ok = np.logical_and.reduce([np.isfinite(bands[b]) for b in RGB])
    if inside is not None:
        ok &= inside
    values = np.concatenate([bands[b][ok] for b in RGB]).astype("float64")
    if not values.size:
        return None
    low, high = np.percentile(values, percentiles)
    if not high > low:  # a flat image: a unit-wide window around its value
        low, high = low - 0.5 * max(abs(low), 1e-3), high + 0.5 * max(abs(high), 1e-3)
    return Stretch(float(low), float(high), (float(percentiles[0]), float(percentiles[1])), int(values.size))


def to_uint8(band: xr.DataArray, stretch: Stretch, valid: xr.DataArray | None = None) -> xr.DataArray:
    """``1 + 254 (x - low) / (high - low)`` rounded and clipped to 1..255, 0 where ``x`` is NaN
    or ``valid`` is False (lazy)."""
    scaled = 1.0 + 254.0 * (band - stretch.low) / (stretch.high - stretch.low)
    ok = np.isfinite(band) if valid is None else valid & np.isfinite(band)
    return xr.where(ok, np.clip(np.round(scaled), 1, 255), NODATA).astype("uint8")


def _sample_step(shape: tuple[int, int]) -> int:
    return max(1, math.ceil(math.sqrt(shape[0] * shape[1] / MAX_SAMPLE)))


def write_true_colour(scene_t: xr.Dataset, inside: xr.DataArray, folder: Path, tags: dict[str, str],
                      percentiles: tuple[float, float] = PERCENTILES) -> tuple[Path, Stretch] | None:
    """``true_colour.tif`` of one date (``None`` when the scene lacks a visible band or has no
    valid visible pixel inside the village); the stretch is also written as tags."""
    if any(b not in scene_t.data_vars for b in RGB):
        return None
    k = _sample_step((scene_t.sizes["y"], scene_t.sizes["x"]))
    sub = scene_t[list(RGB)].isel(y=slice(None, None, k), x=slice(None, None, k)).compute()
    stretch = stretch_limits({b: np.asarray(sub[b].values) for b in RGB},
                             np.asarray(inside.values[::k, ::k], dtype=bool), percentiles)
    if stretch is None:
        return None
    valid = np.isfinite(scene_t["red"]) & np.isfinite(scene_t["green"]) & np.isfinite(scene_t["blue"])
    rgb = xr.concat([to_uint8(scene_t[b], stretch, valid) for b in RGB], dim="band").assign_coords(band=list(RGB))
    rgb = georef(rgb, grid_of(scene_t))
    rgb.name = "true_colour"
    stretch_tags = {"STRETCH": f"linear {percentiles[0]:g}-{percentiles[1]:g} % pooled over red, green, blue inside "
                               "the village; 1..255 = low..high, 0 = no data",
                    "STRETCH_LOW": f"{stretch.low:.6g}", "STRETCH_HIGH": f"{stretch.high:.6g}"}
    path = write_cog(rgb, folder / TRUE_COLOUR, nodata=NODATA, dtype="uint8", resampling="average",
                     tags={**tags, **stretch_tags})
    return path, stretch
