"""Which products need absolute reflectance, and the guard that refuses relative values.

A Scene says what its values are in ``attrs["reflectance_units"]`` (``sensing.scene``):
``"reflectance"`` (calibrated, surface or top-of-atmosphere) or ``"relative"``
(uncalibrated digital numbers, e.g. an 8-bit drone RGB divided by 255 for display). Ratio
indices (NDVI, NDWI, MNDWI, ExG, VARI...) are unchanged by a common gain on all bands, so
they stay computable on relative data. Thresholds on reflectance itself (the black-odorous
darkness guard, ``max(B, G, R) < 0.05``) or on NDVI values calibrated on reflectance
(vegetation cover 0.3, dense canopy 0.6: each band of an uncalibrated camera has its own
gain, so NDVI itself shifts) are not. Data without the attribute (an xarray built in a
notebook) are taken as reflectance.
"""
from __future__ import annotations

from typing import Any

from .errors import UncalibratedError

#: products (and the functions behind them) whose thresholds need calibrated reflectance
ABSOLUTE_PRODUCTS: dict[str, str] = {
    "darkness": "indices.blackodorous.darkness (max(B,G,R) < dark_threshold)",
    "black_odorous_pixels": "indices.blackodorous.black_odorous_pixels (uses the darkness guard)",
    "vegetation_cover": "indices.vegetation.vegetation_cover (NDVI >= 0.3)",
    "dense_canopy_share": "indices.vegetation.dense_canopy_share (NDVI >= 0.6)",
}


def reflectance_units(obj: Any) -> str:
    """``"reflectance"`` or ``"relative"`` from ``obj.attrs`` (Dataset or DataArray);
    ``"reflectance"`` when the attribute is absent."""
    attrs = getattr(obj, "attrs", None) or {}
    return str(attrs.get("reflectance_units") or "reflectance")


def require_reflectance(obj: Any, *, product: str) -> None:
    """Raise :class:`~indices.errors.UncalibratedError` naming ``product`` when ``obj``
    (a Scene, or an index DataArray carrying the scene's units) holds relative values."""
    units = reflectance_units(obj)
    if units == "relative":
        attrs = getattr(obj, "attrs", {}) or {}
        note = f"Sensor {attrs['sensor']}." if attrs.get("sensor") else ""
        raise UncalibratedError(product, units, note)
