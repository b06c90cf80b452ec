"""Demo pixels: land-cover fields -> surface reflectance per band, SCL classes, drone RGB.

reflectance = fc x vegetation + (1 - fc) x background endmember (linear mixing; water uses
its own endmember times a per-water-body gain), then small spatially correlated noise
(multiplicative on land, additive on water) and a slight Gaussian point-spread function
(sigma 0.4 px; Sentinel-2's own MTF at Nyquist of 0.15-0.3 is a little blurrier, ~0.5-0.6 px,
Gascon et al. 2017, Remote Sens. 9:584; kept sharper so that pixel-level truth stays
unambiguous at pond edges).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import ndtr

from ..sensors import SCL_NOT_VEGETATED, SCL_VEGETATION, SCL_WATER
from .rasterize import Fields
from .spectra import (
    BUILT,
    CALENDAR_NAMES,
    ENDMEMBER_TABLE,
    RECIPES,
    WATER_CLASSES,
    calendar_cover,
    em,
)

PSF_SIGMA_PX = 0.4
LAND_TEXTURE_STD = 0.05   # static within-parcel variation (multiplicative)
LAND_NOISE_STD = 0.015    # per-date, shared by the bands (multiplicative)
BAND_NOISE_STD = 0.008    # per-date, per band (multiplicative)
WATER_NOISE_STD = 0.0008  # per-date, shared by the bands (additive reflectance)
WATER_BAND_NOISE_STD = 0.0003
#: SCL "vegetation" where the vegetation cover is at least this (stand-in for the L2A NDVI test)
SCL_VEG_COVER = 0.35

_NCLS = 16
_VEG = np.zeros(_NCLS, "int16")
_BG = np.zeros(_NCLS, "int16")
_CAL = np.zeros(_NCLS, "int16")
_WATER = np.zeros(_NCLS, bool)
for _c, (_v, _b, _cal) in RECIPES.items():
    _VEG[_c], _BG[_c], _CAL[_c] = em(_v), em(_b), CALENDAR_NAMES.index(_cal)
_WATER[list(WATER_CLASSES)] = True


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Spatially correlated Gaussian noise with unit standard deviation."""
    f = gaussian_filter(rng.standard_normal(shape).astype("float32"), sigma_px, mode="wrap")
    sd = float(f.std())
    return f / sd if sd > 0 else f


def vegetation_cover(cls: np.ndarray, amp: np.ndarray, phase: np.ndarray, doy: float) -> np.ndarray:
    """Per pixel vegetation cover fc (0..1): amplitude x the class calendar at doy + phase."""
    cal = _CAL[cls]
    fc = np.empty(cls.shape, "float32")
    for i, name in enumerate(CALENDAR_NAMES):
        m = cal == i
        if m.any():
            fc[m] = calendar_cover(name, doy + phase[m])
    return np.clip(fc * amp, 0.0, 1.0)


def mix(cls: np.ndarray, fc: np.ndarray, amp: np.ndarray, band_cols: list[int]) -> np.ndarray:
    """(bands, y, x) noise-free surface reflectance of the class mixture."""
    water = _WATER[cls]
    veg, bg = _VEG[cls], _BG[cls]
    out = np.empty((len(band_cols),) + cls.shape, "float32")
    for k, b in enumerate(band_cols):
        col = ENDMEMBER_TABLE[:, b]
        land = fc * col[veg] + (1.0 - fc) * col[bg]
        out[k] = np.where(water, amp * col[veg], land)
    return out


def reflectance(fields: Fields, *, after: bool, doy: float, band_cols: list[int],
                texture: np.ndarray, rng: np.random.Generator, psf_sigma_px: float = PSF_SIGMA_PX) -> np.ndarray:
    """(bands, y, x) float32 surface reflectance of one date (clouds not applied)."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    refl = mix(cls, fc, amp, band_cols)
    water = _WATER[cls]
    shape = cls.shape
    shared_land = smooth_noise(rng, shape, 1.0) * LAND_NOISE_STD
    shared_water = smooth_noise(rng, shape, 2.0) * WATER_NOISE_STD
    gain = 1.0 + LAND_TEXTURE_STD * texture + shared_land
    for k in range(refl.shape[0]):
        band = smooth_noise(rng, shape, 1.0)
        land = refl[k] * (gain + BAND_NOISE_STD * band)
        wat = refl[k] + shared_water + WATER_BAND_NOISE_STD * band
        r = np.where(water, wat, land)
        if psf_sigma_px > 0:
            r = gaussian_filter(r, psf_sigma_px, mode="nearest")
        refl[k] = np.clip(r, 0.0005, 1.0)
    return refl


def scl_classes(fields: Fields, *, after: bool, doy: float, cloud_codes: np.ndarray) -> np.ndarray:
    """uint8 Sentinel-2 SCL-like classes: 6 water, 4 vegetation, 5 not vegetated, cloud codes on top."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    scl = np.where(_WATER[cls], SCL_WATER, np.where(fc >= SCL_VEG_COVER, SCL_VEGETATION, SCL_NOT_VEGETATED))
    return np.where(cloud_codes > 0, cloud_codes, scl).astype("uint8")


def drone_rgb(fields: Fields, *, after: bool, doy: float, band_cols: list[int], resolution: float,
              rng: np.random.Generator) -> np.ndarray:
    """(3, y, x) reflectance-calibrated drone RGB at sub-metre pixels: village trees as
    crowns a few metres across instead of a mixture, stronger texture on land, smooth water."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    u = ndtr(smooth_noise(rng, cls.shape, 2.0 / resolution))  # ~uniform 0..1, blobs ~4 m across
    fc = np.where(cls == BUILT, (u < amp).astype("float32"), fc)
    refl = mix(cls, fc, amp, band_cols)
    water = _WATER[cls]
    shape = cls.shape
    tex = 1.0 + 0.10 * smooth_noise(rng, shape, 2.0) + 0.04 * rng.standard_normal(shape).astype("float32")
    wtex = 1.0 + 0.03 * smooth_noise(rng, shape, 10.0)
    for k in range(refl.shape[0]):
        r = np.where(water, refl[k] * wtex, refl[k] * tex)
        refl[k] = np.clip(r, 0.0005, 1.0)
    return refl
