"""What each demo land-cover class looks like: endmember surface reflectance per band,
how classes mix endmembers, and their seasonal vegetation cover.

Surface reflectance (0..1) at the band centres of Sentinel-2 MSI (``eo:common_name``:
coastal 443, blue 490, green 560, red 665, rededge1 705, rededge2 740, rededge3 783,
nir 842, nir08 865, swir16 1610, swir22 2190 nm). Values are rounded, representative
figures read off published spectra, not convolutions of them:

=================== ==========================================================================
endmember           source
=================== ==========================================================================
forest_canopy       evergreen broadleaf canopy: green-leaf spectra of the USGS Spectral Library
                    v7 (Kokaly et al. 2017, USGS Data Series 1035), NIR lowered for canopy
                    shadowing to the 0.30-0.35 typical of subtropical forest in S2 L2A
herbaceous_canopy   rice / vegetables / grass: USGS splib07 "Lawn_Grass GDS91" (Kokaly et al. 2017)
soil_dry            red lateritic soil (South-China latosol): ECOSTRESS / ASTER soil spectra
                    (Baldridge et al. 2009, RSE 113:711; Meerdink et al. 2019, RSE 230:111196)
soil_moist          wet paddy soil: soil_dry darkened by moisture, strongest in the SWIR
                    (water absorption; Lobell & Asner 2002, SSSAJ 66:722)
built               concrete, asphalt and tile roofs: USGS splib07 concrete and ECOSTRESS
                    man-made materials (Kokaly et al. 2017; Meerdink et al. 2019)
water_clear         ordinary (mesotrophic) pond water, Rrs shaped like Yao et al. 2019's ordinary water
water_algal         eutrophic fish-pond water (green peak, 705 nm chlorophyll peak), same source
water_turbid        sediment-laden river, red >= green: BOI is low although the water is bright
                    (the false positive of a one-sided BOI test)
water_black         black-odorous water: low and flat over green-red, Rrs of Yao et al. 2019
                    (遥感学报 23(2)) and Wen et al. 2018 (环境科学 39(1))
=================== ==========================================================================

Water values are given as remote-sensing reflectance Rrs (sr^-1) and converted to surface
reflectance with rho = pi x Rrs. The black-odorous index BOI = (G - R) / (B + G + R)
(Yao et al. 2019, threshold 0.065 on Rrs) is a ratio, so it is the same on rho: black water
here has BOI ~ 0.02, clear and algal water ~ 0.25, turbid river ~ -0.04 but is bright.
SWIR of water is the small residual an atmospheric correction leaves (~0.004).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

#: band order of the endmember table
BANDS: tuple[str, ...] = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
    "nir", "nir08", "swir16", "swir22",
)

_PI = float(np.pi)

#: endmember surface reflectance, one row per endmember, columns in ``BANDS`` order
ENDMEMBERS: dict[str, tuple[float, ...]] = {
    #                    coast  blue   green  red    re1    re2    re3    nir    nir08  swir16 swir22
    "forest_canopy":     (0.020, 0.025, 0.050, 0.028, 0.085, 0.235, 0.300, 0.320, 0.330, 0.155, 0.070),
    "herbaceous_canopy": (0.030, 0.035, 0.085, 0.040, 0.125, 0.320, 0.410, 0.440, 0.450, 0.230, 0.110),
    "soil_dry":          (0.060, 0.075, 0.115, 0.185, 0.210, 0.230, 0.245, 0.260, 0.270, 0.330, 0.280),
    "soil_moist":        (0.045, 0.055, 0.075, 0.100, 0.115, 0.130, 0.140, 0.150, 0.155, 0.170, 0.130),
    "built":             (0.115, 0.125, 0.145, 0.165, 0.175, 0.185, 0.195, 0.205, 0.210, 0.235, 0.215),
}
#: water remote-sensing reflectance Rrs (sr^-1), same band order
WATER_RRS: dict[str, tuple[float, ...]] = {
    "water_clear":  (0.0065, 0.0075, 0.0120, 0.0060, 0.0045, 0.0020, 0.0015, 0.0012, 0.0010, 0.0012, 0.0008),
    "water_algal":  (0.0050, 0.0060, 0.0150, 0.0080, 0.0095, 0.0040, 0.0030, 0.0026, 0.0023, 0.0012, 0.0008),
    "water_turbid": (0.0120, 0.0140, 0.0240, 0.0265, 0.0230, 0.0125, 0.0105, 0.0090, 0.0085, 0.0015, 0.0010),
    "water_black":  (0.0040, 0.0045, 0.0062, 0.0058, 0.0052, 0.0036, 0.0031, 0.0028, 0.0026, 0.0012, 0.0008),
}
for _k, _v in WATER_RRS.items():
    ENDMEMBERS[_k] = tuple(round(_PI * r, 5) for r in _v)

#: pure-water absorption a_w (m^-1) at the band centres (Pope & Fry 1997 to 700 nm; Kou,
#: Labrie & Chylek 1993 beyond), for the shallow water of a flooded paddy
WATER_ABSORPTION: tuple[float, ...] = (0.007, 0.015, 0.062, 0.43, 0.70, 2.7, 2.4, 4.5, 4.6, 650.0, 2700.0)
PADDY_WATER_DEPTH_M = 0.05
PADDY_WATER_SURFACE = 0.01  # Fresnel and suspended-mud reflectance added at the surface (visible)


def _paddy_water() -> tuple[float, ...]:
    """A flooded paddy at puddling / transplanting: 5 cm of muddy water over wet soil. The
    soil shows through, attenuated twice by the water column, exp(-2 a_w z): the NIR passes
    a few centimetres almost unabsorbed (NDVI stays near 0, not < 0 as over deep water) while
    SWIR is absorbed within millimetres (MNDWI / LSWI high: the flooding signal of Xiao et al.
    2005, Remote Sens. Environ. 95: 480-492)."""
    soil = ENDMEMBERS["soil_moist"]
    out = []
    for i, (r, a) in enumerate(zip(soil, WATER_ABSORPTION)):
        t = float(np.exp(-2.0 * a * PADDY_WATER_DEPTH_M))
        out.append(round(0.9 * r * t + (PADDY_WATER_SURFACE if i < 4 else 0.002), 5))
    return tuple(out)


ENDMEMBERS["water_paddy"] = _paddy_water()

ENDMEMBER_NAMES: tuple[str, ...] = tuple(ENDMEMBERS)
ENDMEMBER_TABLE = np.array([ENDMEMBERS[n] for n in ENDMEMBER_NAMES], dtype="float32")
ENDMEMBER_TABLE.setflags(write=False)


def em(name: str) -> int:
    """Row index of an endmember."""
    return ENDMEMBER_NAMES.index(name)


SPECTRA_SOURCES: tuple[str, ...] = (
    "Kokaly, R.F. et al. 2017. USGS Spectral Library Version 7. USGS Data Series 1035. doi:10.3133/ds1035",
    "Baldridge, A.M. et al. 2009. The ASTER spectral library version 2.0. Remote Sens. Environ. 113:711-715",
    "Meerdink, S.K. et al. 2019. The ECOSTRESS spectral library version 1.0. Remote Sens. Environ. 230:111196",
    "Lobell, D.B., Asner, G.P. 2002. Moisture effects on soil reflectance. Soil Sci. Soc. Am. J. 66:722-727",
    "Adams, J.B. et al. 1986. Spectral mixture modeling. J. Geophys. Res. 91(B8):8098-8112",
    "Xiao, X. et al. 2006. Mapping paddy rice agriculture with multi-temporal MODIS. Remote Sens. Environ. 100:95-113",
    "Xiao, X. et al. 2005. Mapping paddy rice agriculture in southern China using multi-temporal MODIS images. "
    "Remote Sens. Environ. 95:480-492",
    "Pope, R.M., Fry, E.S. 1997. Absorption spectrum (380-700 nm) of pure water. Appl. Opt. 36(33):8710-8723",
    "Kou, L., Labrie, D., Chylek, P. 1993. Refractive indices of water and ice in the 0.65-2.5 um range. "
    "Appl. Opt. 32(19):3531-3540",
    "Yao Y., Shen Q., Zhu L. et al. 2019. 高分二号的沈阳市黑臭水体遥感识别. 遥感学报 (J. Remote Sens.) 23(2). "
    "doi:10.11834/jrs.20197482 (BOI < 0.065 on Rrs)",
    "Wen S., Wang Q., Li Y. et al. 2018. 基于高分影像的城市黑臭水体遥感识别: 以南京为例. 环境科学 39(1):57-67. "
    "doi:10.13227/j.hjkx.201703264",
)

# ----------------------------------------------------------------------------- classes
FOREST, PADDY, CROP, GRASS, BARE, BUILT = 1, 2, 3, 4, 5, 6
RIVER, POND, ALGAL_POND, BLACK_WATER = 10, 11, 12, 13
#: the evaluation profile's confounders (sensing.demo.confounders): bright high-SPM
#: black-odorous water (Shen et al. 2019) and a flooded paddy at transplanting
BRIGHT_BLACK, FLOODED_PADDY = 14, 15

CLASS_NAMES = MappingProxyType({
    FOREST: "forest", PADDY: "paddy", CROP: "cropland", GRASS: "grassland", BARE: "bare_soil",
    BUILT: "built_up", RIVER: "turbid_river", POND: "clear_pond", ALGAL_POND: "algal_pond",
    BLACK_WATER: "black_odorous_water", BRIGHT_BLACK: "black_odorous_bright", FLOODED_PADDY: "flooded_paddy",
})
WATER_CLASSES: tuple[int, ...] = (RIVER, POND, ALGAL_POND, BLACK_WATER, BRIGHT_BLACK, FLOODED_PADDY)
#: truth black-odorous water, of either type
BLACK_ODOROUS_CLASSES: tuple[int, ...] = (BLACK_WATER, BRIGHT_BLACK)
VEGETATED_CLASSES: tuple[int, ...] = (FOREST, PADDY, CROP, GRASS)

#: per class: (vegetation endmember, background endmember, phenology calendar).
#: reflectance = fc x vegetation + (1 - fc) x background, fc = amplitude x calendar(day of year)
#: (linear spectral mixing, Adams et al. 1986, JGR 91(B8):8098). Water: one endmember, fc = 1.
RECIPES = MappingProxyType({
    FOREST: ("forest_canopy", "soil_dry", "evergreen"),
    PADDY: ("herbaceous_canopy", "soil_moist", "double_rice"),
    CROP: ("herbaceous_canopy", "soil_dry", "vegetables"),
    GRASS: ("herbaceous_canopy", "soil_dry", "grass"),
    BARE: ("herbaceous_canopy", "soil_dry", "bare"),
    BUILT: ("forest_canopy", "built", "constant"),  # fc = share of village trees
    RIVER: ("water_turbid", "water_turbid", "constant"),
    POND: ("water_clear", "water_clear", "constant"),
    ALGAL_POND: ("water_algal", "water_algal", "constant"),
    BLACK_WATER: ("water_black", "water_black", "constant"),
    # evaluation profile only; its optics step replaces every water pixel (sensing.demo.optics)
    BRIGHT_BLACK: ("water_turbid", "water_turbid", "constant"),
    FLOODED_PADDY: ("water_turbid", "water_turbid", "constant"),
})

#: vegetation cover through the year: (day of year, cover) knots, interpolated cyclically.
#: Double-cropped rice of South China: fields puddled and flooded late March, early rice
#: transplanted early April (day 100) and harvested mid July (day ~200); late rice transplanted
#: early August (day 213) and harvested early-mid November (day ~315); winter fallow with weeds
#: (Guangdong crop calendar; Xiao et al. 2005, RSE 95:480 and 2006, RSE 100:95 on paddy phenology).
CALENDARS = MappingProxyType({
    "evergreen": ((15, 0.93), (120, 0.95), (200, 0.97), (300, 0.95)),
    "double_rice": ((15, 0.12), (80, 0.12), (92, 0.03), (100, 0.05), (125, 0.35), (160, 0.88), (192, 0.88),
                    (200, 0.20), (207, 0.04), (213, 0.05), (240, 0.40), (275, 0.88), (305, 0.85), (318, 0.22),
                    (345, 0.12)),
    # dry cropland under vegetables: four short crops a year (sown, ~50 days to full cover,
    # harvested at ~70, bare soil until the next sowing), as Guangdong's multiple-cropped plots
    "vegetables": tuple((c * 91 + d, v) for c in range(4) for d, v in ((2, 0.06), (25, 0.35), (50, 0.78),
                                                                      (68, 0.78), (76, 0.06))),
    "grass": ((15, 0.50), (110, 0.65), (200, 0.80), (300, 0.70)),
    "bare": ((1, 0.03), (180, 0.05)),
    "constant": ((1, 1.0), (180, 1.0)),
})
CALENDAR_NAMES: tuple[str, ...] = tuple(CALENDARS)


#: flooded paddy: (first, last) day of year with standing water, from puddling ~10 days before
#: transplanting to ~20 days after (tillering), for the early and the late rice crop
FLOOD_WINDOWS: tuple[tuple[int, int], ...] = ((90, 120), (205, 233))
FLOOD_RAMP_DAYS = 3.0


def flood_fraction(doy: np.ndarray | float) -> np.ndarray:
    """Share (0..1) of a paddy's soil under standing water on day(s) of year ``doy``: 1 inside a
    :data:`FLOOD_WINDOWS` window, ramping to 0 over :data:`FLOOD_RAMP_DAYS` at its ends."""
    d = np.asarray(doy, dtype="float64") % 365.0
    out = np.zeros(np.shape(d))
    for a, b in FLOOD_WINDOWS:
        inside = np.clip(np.minimum(d - a, b - d) / FLOOD_RAMP_DAYS + 1.0, 0.0, 1.0)
        out = np.maximum(out, inside)
    return out


def calendar_cover(name: str, doy: np.ndarray | float) -> np.ndarray:
    """Vegetation cover on day(s) of year ``doy`` for calendar ``name`` (cyclic, period 365)."""
    knots = CALENDARS[name]
    xs = np.array([k[0] for k in knots], dtype="float64")
    ys = np.array([k[1] for k in knots], dtype="float64")
    return np.interp(np.asarray(doy, dtype="float64") % 365.0, xs, ys, period=365.0)


def band_index(bands: tuple[str, ...]) -> list[int]:
    """Columns of ``ENDMEMBER_TABLE`` for the requested common names (KeyError if unknown)."""
    missing = [b for b in bands if b not in BANDS]
    if missing:
        raise KeyError(f"demo spectra have no band(s) {missing}; known: {', '.join(BANDS)}")
    return [BANDS.index(b) for b in bands]
