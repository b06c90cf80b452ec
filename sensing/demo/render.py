"""Demo pixels: land-cover fields -> surface reflectance per band, SCL classes, drone RGB.

reflectance = fc x vegetation + (1 - fc) x background endmember (linear mixing; water uses
its own endmember times a per-water-body gain; a paddy's background is flooded soil
(``water_paddy``) while its calendar has standing water, ``spectra.flood_fraction``), then small
spatially correlated noise
(multiplicative on land, additive on water) and a slight Gaussian point-spread function
(sigma 0.4 px; Sentinel-2's own MTF at Nyquist of 0.15-0.3 is a little blurrier, ~0.5-0.6 px,
Gascon et al. 2017, Remote Sens. 9:584; kept sharper so that pixel-level truth stays
unambiguous at pond edges).

A date is rendered band by band (:func:`date_mixture` once per date, then
:func:`band_reflectance` per band, each band's noise from its own generator), so a band reads
the same whichever other bands are asked for, and a Scene can be computed for a few bands only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import ndtr

from ..sensors import SCL_NOT_VEGETATED, SCL_VEGETATION, SCL_WATER
from .rasterize import Fields
from .spectra import (
    BUILT,
    CALENDAR_NAMES,
    ENDMEMBER_TABLE,
    PADDY,
    RECIPES,
    WATER_CLASSES,
    calendar_cover,
    em,
    flood_fraction,
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
_PADDY_WATER = em("water_paddy")
#: a paddy pixel is standing water (truth ``water``, SCL 6) where at least this share of its soil is
#: flooded (a partly drained field mixes soil in: MNDWI falls below 0 at about three quarters)
FLOODED_WATER_SHARE = 0.9


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


def flooded(cls: np.ndarray, phase: np.ndarray, doy: float) -> np.ndarray:
    """Per pixel share (0..1) of a paddy's soil under standing water on ``doy`` (0 off paddy)."""
    out = np.zeros(cls.shape, "float32")
    m = cls == PADDY
    if m.any():
        out[m] = flood_fraction(doy + phase[m])
    return out


def mix(cls: np.ndarray, fc: np.ndarray, amp: np.ndarray, band_cols: list[int],
        flood: np.ndarray | None = None) -> np.ndarray:
    """(bands, y, x) noise-free surface reflectance of the class mixture; ``flood`` (share of
    a paddy's soil under standing water) replaces that share of the background by flooded soil."""
    water = _WATER[cls]
    veg, bg = _VEG[cls], _BG[cls]
    out = np.empty((len(band_cols),) + cls.shape, "float32")
    for k, b in enumerate(band_cols):
        col = ENDMEMBER_TABLE[:, b]
        back = col[bg] if flood is None else (1.0 - flood) * col[bg] + flood * col[_PADDY_WATER]
        land = fc * col[veg] + (1.0 - fc) * back
        out[k] = np.where(water, amp * col[veg], land)
    return out


@dataclass(frozen=True, eq=False)
class Mixture:
    """What every band of one date shares: classes, cover, flooding, the shared noise."""

    cls: np.ndarray
    amp: np.ndarray
    fc: np.ndarray
    flood: np.ndarray
    gain: np.ndarray  # multiplicative land gain (texture + the date's shared noise)
    shared_water: np.ndarray  # additive water noise


def date_mixture(fields: Fields, *, after, doy: float, texture: np.ndarray, rng: np.random.Generator) -> Mixture:
    """The per-date state of :func:`band_reflectance` (``after``: see ``Fields.cls``)."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    shape = cls.shape
    shared_land = smooth_noise(rng, shape, 1.0) * LAND_NOISE_STD
    shared_water = smooth_noise(rng, shape, 2.0) * WATER_NOISE_STD
    return Mixture(cls, amp, fc, flooded(cls, fields.phase, doy), 1.0 + LAND_TEXTURE_STD * texture + shared_land,
                   shared_water)


def band_reflectance(m: Mixture, band_col: int, rng: np.random.Generator,
                     psf_sigma_px: float = PSF_SIGMA_PX) -> np.ndarray:
    """(y, x) float32 surface reflectance of one band of one date (clouds not applied)."""
    base = mix(m.cls, m.fc, m.amp, [band_col], m.flood)[0]
    noise = smooth_noise(rng, m.cls.shape, 1.0)
    land = base * (m.gain + BAND_NOISE_STD * noise)
    wat = base + m.shared_water + WATER_BAND_NOISE_STD * noise
    r = np.where(_WATER[m.cls], wat, land)
    if psf_sigma_px > 0:
        r = gaussian_filter(r, psf_sigma_px, mode="nearest")
    return np.clip(r, 0.0005, 1.0).astype("float32")


def reflectance(fields: Fields, *, after, doy: float, band_cols: list[int], texture: np.ndarray,
                rng: np.random.Generator, band_rngs: list[np.random.Generator] | None = None,
                psf_sigma_px: float = PSF_SIGMA_PX) -> np.ndarray:
    """(bands, y, x) float32 surface reflectance of one date (clouds not applied); each band's
    noise from ``band_rngs[k]`` (default: drawn in turn from ``rng``)."""
    m = date_mixture(fields, after=after, doy=doy, texture=texture, rng=rng)
    rngs = band_rngs if band_rngs is not None else [rng] * len(band_cols)
    return np.stack([band_reflectance(m, b, r, psf_sigma_px) for b, r in zip(band_cols, rngs)]).astype("float32")


def water_classes(cls: np.ndarray, flood: np.ndarray) -> np.ndarray:
    """Truth water: the water classes and paddies under standing water (``FLOODED_WATER_SHARE``)."""
    return _WATER[cls] | ((cls == PADDY) & (flood >= FLOODED_WATER_SHARE))


def scl_classes(fields: Fields, *, after, doy: float, cloud_codes: np.ndarray) -> np.ndarray:
    """uint8 Sentinel-2 SCL-like classes: 6 water (flooded paddies too), 4 vegetation, 5 not
    vegetated, cloud codes on top."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    water = water_classes(cls, flooded(cls, fields.phase, doy))
    scl = np.where(water, SCL_WATER, np.where(fc >= SCL_VEG_COVER, SCL_VEGETATION, SCL_NOT_VEGETATED))
    return np.where(cloud_codes > 0, cloud_codes, scl).astype("uint8")


def drone_rgb(fields: Fields, *, after, doy: float, band_cols: list[int], resolution: float,
              rng: np.random.Generator) -> np.ndarray:
    """(3, y, x) reflectance-calibrated drone RGB at sub-metre pixels: village trees as
    crowns a few metres across instead of a mixture, stronger texture on land, smooth water."""
    cls, amp = fields.cls(after), fields.amp(after)
    fc = vegetation_cover(cls, amp, fields.phase, doy)
    u = ndtr(smooth_noise(rng, cls.shape, 2.0 / resolution))  # ~uniform 0..1, blobs ~4 m across
    fc = np.where(cls == BUILT, (u < amp).astype("float32"), fc)
    refl = mix(cls, fc, amp, band_cols, flooded(cls, fields.phase, doy))
    water = _WATER[cls]
    shape = cls.shape
    tex = 1.0 + 0.10 * smooth_noise(rng, shape, 2.0) + 0.04 * rng.standard_normal(shape).astype("float32")
    wtex = 1.0 + 0.03 * smooth_noise(rng, shape, 10.0)
    for k in range(refl.shape[0]):
        r = np.where(water, refl[k] * wtex, refl[k] * tex)
        refl[k] = np.clip(r, 0.0005, 1.0)
    return refl
