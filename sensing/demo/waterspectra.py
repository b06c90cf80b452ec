"""Water spectra of the demo's evaluation profile: one spectrum per water body and date, drawn
from published ranges of band remote-sensing reflectance Rrs (sr^-1) and band ratios, instead
of one endmember per class times a gain (which leaves every ratio index unchanged).

Per body a level (Rrs at 560 nm, log-uniform) and four shape ratios are drawn once from the
class's ranges (uniform); per date each is varied by a factor exp(N(0, ``DATE_JITTER``)) and
kept in its range. The other bands follow from them: coastal = blue x U(0.8, 1.05); the
near-infrared bands from NIR, which water absorbs strongly beyond 700 nm (rededge2 = NIR x
1.25, rededge3 = NIR x 1.08, nir08 = NIR x 0.95); SWIR is the small residual an atmospheric
correction leaves over water (Rrs 0.0004).

Ranges (``CLASS_RANGES``; green Rrs, B/G, R/G, rededge1/R, NIR/R). They span the values the
cited studies show; they were read from their abstracts and published spectra, not digitised:

* ``black_odorous``: dark (Rrs(560) 0.0025-0.009), flat from green to red (R/G 0.85-1.05,
  BOI < 0.065) and rising from blue to green (B/G 0.6-0.95): Wen et al. 2018 (环境科学 39(1):
  57-67), Yao et al. 2019 (遥感学报 23(2)), Shen et al. 2019 (IEEE TGRS 57(9): 6577-6590),
  丁潇蕾 et al. 2018 (环境科学 39(10)); kept NIR from particles (NIR/R 0.2-0.7: 姚焕玫 et al.
  2019, 环境工程 37(10)).
* ``black_odorous_bright``: the high-suspended-matter type of Shen et al. 2019, brighter
  (0.009-0.02), greyish (R/G 0.92-1.1).
* ``ordinary``: a green peak (R/G 0.35-0.75, B/G 0.45-0.85; Rrs(560) 0.005-0.02): the
  ordinary urban water of Yao et al. 2019 and Wen et al. 2018.
* ``algal``: eutrophic ponds with the chlorophyll peak near 700 nm over the 675 nm trough
  (rededge1/R 1-2; Gitelson 1992, Int. J. Remote Sens. 13(17): 3367-3373).
* ``bloom``: a cyanobacterial bloom with surface scum, NIR above red (NIR/R 1-4; Hu 2009,
  Remote Sens. Environ. 113: 2118-2129, the floating algae index).
* ``turbid``: sediment-laden river water, bright and red-dominant (Rrs(560) 0.015-0.045, R/G
  0.9-1.25; Doxaran et al. 2002, Remote Sens. Environ. 81: 149-161; Knaeps et al. 2015,
  Remote Sens. Environ. 168: 66-79).
* ``paddy_water``: the muddy water of a flooded paddy at transplanting (R/G 0.95-1.2); the
  optics step mixes it with wet soil and rice seedlings (flooded paddy: LSWI above NDVI,
  Xiao et al. 2005, Remote Sens. Environ. 95: 480-492).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .spectra import ALGAL_POND, BANDS, BLACK_WATER, BRIGHT_BLACK, FLOODED_PADDY, POND, RIVER

DATE_JITTER = 0.08
SWIR_RRS = 0.0004
#: per class: (low, high) of Rrs(560), B/G, R/G, rededge1/R, NIR/R
CLASS_RANGES = MappingProxyType({
    "black_odorous": ((0.0025, 0.009), (0.60, 0.95), (0.85, 1.05), (0.80, 1.00), (0.20, 0.70)),
    "black_odorous_bright": ((0.009, 0.020), (0.55, 0.85), (0.92, 1.10), (0.85, 1.05), (0.35, 0.75)),
    "ordinary": ((0.005, 0.020), (0.45, 0.85), (0.35, 0.75), (0.60, 0.95), (0.15, 0.45)),
    "algal": ((0.008, 0.025), (0.30, 0.65), (0.35, 0.70), (1.00, 2.00), (0.25, 0.80)),
    "bloom": ((0.012, 0.035), (0.25, 0.55), (0.40, 0.80), (1.30, 2.50), (1.00, 4.00)),
    "turbid": ((0.015, 0.045), (0.45, 0.75), (0.90, 1.25), (0.75, 0.95), (0.25, 0.60)),
    "paddy_water": ((0.010, 0.025), (0.50, 0.80), (0.95, 1.20), (0.85, 1.00), (0.40, 0.80)),
})
#: the spectral class of a water land-cover class (a feature named ``bloom*`` is ``bloom``)
CLASS_OF = MappingProxyType({
    RIVER: "turbid", POND: "ordinary", ALGAL_POND: "algal", BLACK_WATER: "black_odorous",
    BRIGHT_BLACK: "black_odorous_bright", FLOODED_PADDY: "paddy_water",
})


def spectral_class(cls: int, feature_name: str) -> str:
    """The spectral class of a water body of land-cover ``cls`` (feature ``feature_name``)."""
    if cls == ALGAL_POND and feature_name.startswith("bloom"):
        return "bloom"
    return CLASS_OF[int(cls)]


def draw_params(name: str, rng: np.random.Generator) -> np.ndarray:
    """One body's (level, B/G, R/G, rededge1/R, NIR/R) drawn from ``CLASS_RANGES[name]``."""
    (g_lo, g_hi), *ratios = CLASS_RANGES[name]
    level = float(np.exp(rng.uniform(np.log(g_lo), np.log(g_hi))))
    return np.array([level] + [float(rng.uniform(lo, hi)) for lo, hi in ratios])


def jitter(params: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """A date's version of a body's parameters: each times exp(N(0, DATE_JITTER)), kept in range."""
    lo = np.array([r[0] for r in CLASS_RANGES[name]])
    hi = np.array([r[1] for r in CLASS_RANGES[name]])
    return np.clip(params * np.exp(rng.normal(0.0, DATE_JITTER, params.size)), lo, hi)


def band_rrs(params: np.ndarray, coastal_ratio: float = 0.95) -> np.ndarray:
    """Rrs (sr^-1) in ``spectra.BANDS`` order from (level, B/G, R/G, rededge1/R, NIR/R)."""
    g, b_g, r_g, re1_r, nir_r = (float(v) for v in params)
    blue, red = g * b_g, g * r_g
    nir = red * nir_r
    values = {"coastal": blue * coastal_ratio, "blue": blue, "green": g, "red": red, "rededge1": red * re1_r,
              "rededge2": nir * 1.25, "rededge3": nir * 1.08, "nir": nir, "nir08": nir * 0.95,
              "swir16": SWIR_RRS, "swir22": SWIR_RRS}
    return np.array([values[b] for b in BANDS])
