"""Digital numbers to surface reflectance, per STAC item and asset (pure functions).

Sentinel-2 L2A (ESA S2-PDGS-TAS-DI-PSD v15; Sentinel-2 L2A product upgrade notice, 2021):
``reflectance = (DN + BOA_ADD_OFFSET) / 10000`` with ``BOA_ADD_OFFSET = -1000`` from processing
baseline 04.00 (25 Jan 2022) on, 0 before; DN 0 is no data. Catalogues differ in what they
serve, so for each item and asset the rules are tried in this order:

1. ``earthsearch:boa_offset_applied: true`` (or the v0 name ``sentinel:boa_offset_applied``):
   Element84 already added the offset to the DNs it serves (cirrus-geo/cirrus-earth-search#21),
   so reflectance = DN x 1e-4 and nothing is subtracted. Such items still carry
   ``raster:bands`` ``offset: -0.1``, which would subtract it twice (Element84/earth-search#71),
   so the flag wins over ``raster:bands``.
2. ``raster:bands[0]`` with an ``offset`` key describes the asset as served
   (``value = DN x scale + offset``, STAC raster extension v1.1); used as given.
3. ``s2:processing_baseline`` (or ``sentinel:processing_baseline``, or the ``_Nxxyy_`` field of
   the ESA product id) decides the offset through ``sensing.sensors.s2_boa_offset`` (not the
   date: reprocessed old scenes carry 04.00+).
4. No baseline at all: the acquisition date decides (>= 2022-01-25 -> -1000), with a warning.

Landsat 8/9 Collection 2 Level-2 (USGS LSDS-1619): ``SR = DN x 0.0000275 - 0.2``, DN 0 no data;
``raster:bands`` scale/offset are used where present (USGS, Earth Search and Planetary Computer
publish the same numbers).

Negative reflectance (dark water after the offset) is kept, never clipped.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .sensors import S2_BOA_ADD_OFFSET, Sensor, s2_boa_offset

log = logging.getLogger("villagewatch.sensing.radiometry")

#: first acquisition day of processing baseline 04.00 (used only when an item has no baseline)
S2_BASELINE_0400_DATE = dt.date(2022, 1, 25)
BOA_APPLIED_KEYS = ("earthsearch:boa_offset_applied", "sentinel:boa_offset_applied")
BASELINE_KEYS = ("s2:processing_baseline", "sentinel:processing_baseline")
#: product identifiers that embed the baseline as ``_Nxxyy_`` (ESA naming convention)
PRODUCT_ID_KEYS = ("s2:product_uri", "s2:product_id", "sentinel:product_id")
_PRODUCT_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")


@dataclass(frozen=True)
class Radiometry:
    """``reflectance = DN x scale + offset``; ``nodata`` DNs become NaN. ``rule`` says which
    metadata decided it (recorded for provenance)."""

    scale: float
    offset: float
    nodata: float | None
    rule: str

    def key(self) -> tuple[float, float, float | None]:
        return (float(self.scale), float(self.offset), None if self.nodata is None else float(self.nodata))


def _props(item: Any) -> Mapping[str, Any]:
    return item.properties if hasattr(item, "properties") else item.get("properties", {})


def _asset(item: Any, key: str) -> Mapping[str, Any]:
    if hasattr(item, "assets"):
        return item.assets[key].to_dict()
    return item["assets"][key]


def raster_band(asset: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first ``raster:bands`` entry of an asset dict, or None."""
    bands = asset.get("raster:bands") or asset.get("bands")
    if isinstance(bands, list) and bands and isinstance(bands[0], Mapping):
        return bands[0]
    return None


def boa_offset_applied(properties: Mapping[str, Any]) -> bool | None:
    """The catalogue's own harmonisation flag (True/False), or None when absent."""
    for k in BOA_APPLIED_KEYS:
        if k in properties and properties[k] is not None:
            return bool(properties[k])
    return None


def processing_baseline(properties: Mapping[str, Any]) -> str | None:
    """``s2:processing_baseline`` (or its v0 name), else the ``_Nxxyy_`` field of the ESA
    product id (``S2A_MSIL2A_..._N0214_...`` -> ``02.14``), else None."""
    for k in BASELINE_KEYS:
        if properties.get(k):
            return str(properties[k])
    for k in PRODUCT_ID_KEYS:
        m = _PRODUCT_BASELINE.search(str(properties.get(k) or ""))
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    return None


def _acq_date(properties: Mapping[str, Any]) -> dt.date | None:
    t = properties.get("datetime") or properties.get("start_datetime")
    if not t:
        return None
    return pd.Timestamp(t).date()


def s2_l2a_radiometry(properties: Mapping[str, Any], band: Mapping[str, Any] | None = None,
                      *, quantification: float = 1e-4, nodata: float | None = 0) -> Radiometry:
    """Sentinel-2 L2A scale/offset for one asset, by the rules in the module docstring."""
    band = band or {}
    scale = float(band.get("scale", quantification))
    nd = band.get("nodata", nodata)
    if boa_offset_applied(properties):
        return Radiometry(scale, 0.0, nd, "earthsearch:boa_offset_applied=true: DN already harmonised")
    if "offset" in band:
        return Radiometry(scale, float(band["offset"]), nd, "raster:bands scale/offset")
    pb = processing_baseline(properties)
    if pb is not None:
        boa = s2_boa_offset(pb)
        return Radiometry(scale, boa * quantification, nd, f"s2:processing_baseline {pb}: BOA_ADD_OFFSET {boa:g}")
    day = _acq_date(properties)
    boa = S2_BOA_ADD_OFFSET if (day is not None and day >= S2_BASELINE_0400_DATE) else 0.0
    log.warning("item dated %s has no s2:processing_baseline; BOA_ADD_OFFSET %g assumed from the date",
                day, boa)
    return Radiometry(scale, boa * quantification, nd, f"no processing baseline: date {day} -> BOA_ADD_OFFSET {boa:g}")


def fixed_radiometry(sensor: Sensor, band: Mapping[str, Any] | None = None) -> Radiometry:
    """Sensors with one published scale/offset (Landsat C2 L2: 2.75e-5, -0.2); ``raster:bands``
    values are used where present."""
    band = band or {}
    if "scale" in band or "offset" in band:
        return Radiometry(float(band.get("scale", 1.0)), float(band.get("offset", 0.0)),
                          band.get("nodata", sensor.nodata), "raster:bands scale/offset")
    return Radiometry(sensor.scale, sensor.offset, band.get("nodata", sensor.nodata),
                      f"{sensor.name} published scale/offset")


def asset_radiometry(item: Any, asset_key: str, sensor: Sensor) -> Radiometry:
    """Scale/offset/nodata of ``item`` (pystac Item or dict) asset ``asset_key`` for ``sensor``."""
    band = raster_band(_asset(item, asset_key))
    if sensor.offset_rule == "s2_processing_baseline":
        return s2_l2a_radiometry(_props(item), band, quantification=sensor.scale, nodata=sensor.nodata)
    return fixed_radiometry(sensor, band)


def to_reflectance(dn: xr.DataArray, scale: Any, offset: Any, nodata: Any = None) -> xr.DataArray:
    """``DN x scale + offset`` as float32, NaN where ``DN == nodata`` (or already NaN).

    ``scale``/``offset``/``nodata`` may be scalars or DataArrays (e.g. along ``time``, one value
    per item). Negative results are kept (dark water), not clipped.
    """
    x = dn.astype("float32")
    out = x * xr.DataArray(scale).astype("float32") + xr.DataArray(offset).astype("float32")
    if nodata is not None:
        nd = xr.DataArray(nodata)
        if nd.dtype.kind == "f":
            ok = (x != nd) | nd.isnull()
        else:
            ok = x != nd
        out = out.where(ok)
    return out.astype("float32")


def reflectance_ok(values: np.ndarray) -> bool:
    """True when finite values look like reflectance (within -0.5..2, allowing dark-water
    negatives and specular highlights)."""
    v = values[np.isfinite(values)]
    return v.size == 0 or (float(v.min()) >= -0.5 and float(v.max()) <= 2.0)
