"""Mixed water-land pixels for the black-odorous screening: the water the screening looks at
and the water colour of each mixed pixel.

Why. Rural black-odorous water is mostly ditches and channels 5-20 m wide: at 10-30 m most of
their pixels are mixed with the banks. A water mask from MNDWI / NDWI loses dark water first,
because both indices put the green band in the numerator and black-odorous water has almost
none: 60 % black-odorous water (green rho 0.015) beside land (green 0.08, SWIR 0.2) gives
MNDWI -0.34, the same share of ordinary pond water (green 0.04) -0.19. And a mixed pixel's
colour is mostly its bank's, so the colour votes see land, not water. Measured on the demo's
``tuning`` profile (``docs/validation.md``): the water mask held 28 % of the black-odorous
pixels; with the truth water instead, per-body recall rose from 0.23 to 0.73.

Method (pure water from a water index, mixed water-land pixels next to it, their water
fraction by linear mixing with local endmembers: Xie H., Luo X., Xu X., Pan H., Tong X. 2016,
Automated subpixel surface water mapping from heterogeneous urban environments using Landsat
8 OLI imagery, Remote Sens. 8(7): 584, doi:10.3390/rs8070584; Xiong L., Deng R., Li J. et al.
2018, Subpixel Surface Water Extraction (SSWE) using Landsat 8 OLI data, Water 10(5); linear
mixing: Adams J.B., Smith M.O., Johnson P.E. 1986, J. Geophys. Res. 91(B8): 8098-8112):

1. **land endmember**, per pixel: the mean of each band over the land pixels (valid, outside
   the water mask and more than ``mixed_exclusion_px`` pixels from it, and, after a first pass
   of step 3, not more than ``mixed_land_max_fraction`` water: a ditch the mask missed is its
   own neighbour) of the surrounding ``(2 mixed_window_px + 1)^2`` window; at least
   ``mixed_min_land_pixels`` of them, else none;
2. **water endmember**, per date: the median NIR of the water mask's interior (3 x 3 erosion);
3. **water fraction** f = (N_land - N) / (N_land - N_water), clipped to 0..1, from the NIR
   band, where the two endmembers differ by at least ``mixed_min_contrast`` (reflectance).
   NIR, because water absorbs it whatever its colour (unlike the green of MNDWI / NDWI), and
   because every sensor with a water mask has it (GF-2 has no SWIR);
4. **screening water** = the water mask plus the pixels with f >= ``mixed_min_fraction``
   (mostly water) 8-connected to it through such pixels (hysteresis:
   ``skimage.filters.apply_hysteresis_threshold``). A dark pixel far from any water is never
   added (a building shadow on a road is dark and low in NIR too), unless the opt-in
   ``mixed_seed_fraction`` seeds open water the mask missed whole (``nir_water_seeds``);
5. **water colour** of a mixed pixel (f finite, ``mixed_min_fraction`` <= f < 1): each band
   unmixed, rho_w = (rho - (1 - f) rho_land) / f. Pixels deep inside the water (no land in
   reach) and mask pixels with f below ``mixed_min_fraction`` (water by the index, too little
   NIR contrast to unmix) keep their observed values.

The written water mask (``indices.water``) is not changed: this is the screening's own view.
NumPy (the windows and the connectivity need the whole date): Dask inputs are computed, and the
result is chunked as the input was.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold

from ._raster import as_2d
from .errors import IndicesError, MissingBandError

if TYPE_CHECKING:  # pragma: no cover
    from .blackodorous import BlackOdorousParams

#: the bands unmixed (what the black-odorous votes and guards read)
UNMIXED_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir")


def _window_mean(values: np.ndarray, ok: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean of ``values`` over ``ok`` pixels, count of them) in each (2 half + 1)^2 window."""
    k = 2 * half + 1
    total = ndi.uniform_filter(np.where(ok, values, 0.0), k, mode="constant") * (k * k)
    count = ndi.uniform_filter(ok.astype("float64"), k, mode="constant") * (k * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0.5, total / np.maximum(count, 1.0), np.nan), np.rint(count)


def mixed_water(scene: xr.Dataset, water_mask: xr.DataArray, *, params: "BlackOdorousParams | None" = None,
                units: str = "reflectance") -> xr.Dataset:
    """The black-odorous screening's water and water colour of one date (module docstring).

    ``scene``: one date, (y, x) or ``time`` of 1, with ``blue``, ``green``, ``red`` and ``nir``.
    ``water_mask``: the date's water mask on the same grid. ``params``: the run's
    ``BlackOdorousParams`` (``mixed_*`` fields; ``mixed_pixels=False`` returns the scene and
    the mask unchanged). Returns the scene's bands (B, G, R, NIR unmixed where mixed) and:

    * ``screening_water`` (bool): the water mask plus the mixed pixels joined to it;
    * ``water_fraction`` (float, NaN where no land endmember or contrast): the NIR fraction f;
    * ``mixed_added`` (bool): screening water outside the mask; ``unmixed`` (bool): pixels
      whose colour was unmixed.

    ``attrs``: ``mixed_pixels_applied`` (0 when switched off, without a ``nir`` band or
    without water) and the date's water endmember ``water_nir``.
    """
    from .blackodorous import DEFAULT_PARAMS, _to_reflectance

    p = params or DEFAULT_PARAMS
    missing = [b for b in UNMIXED_BANDS[:3] if b not in scene.data_vars]
    if missing:
        raise MissingBandError("the black-odorous mixed-pixel step", missing, list(map(str, scene.data_vars)))
    applies = bool(p.mixed_pixels) and "nir" in scene.data_vars  # the water fraction is NIR's
    if "time" in scene.dims:
        if scene.sizes["time"] != 1:
            raise IndicesError(f"mixed_water works on one date; the scene has {scene.sizes['time']}")
        scene = scene.isel(time=0)
    bands = {b: as_2d(scene[b], f"band {b}") for b in UNMIXED_BANDS if b in scene.data_vars}
    like = bands["blue"]
    mask = np.nan_to_num(np.asarray(as_2d(water_mask, "water mask").values, dtype="float64"), nan=0.0) != 0
    if mask.shape != like.shape:
        raise IndicesError(f"water mask has shape {mask.shape}, the scene {like.shape}")
    arr = {b: np.asarray(v.values, dtype="float64") for b, v in bands.items()}
    valid = np.logical_and.reduce([np.isfinite(a) for a in arr.values()])
    mask &= valid
    out = scene.copy()

    def grid(values, name, **attrs):  # like's coordinates, the CRS (spatial_ref) included
        return xr.DataArray(values, dims=like.dims, coords=like.coords, name=name, attrs=attrs)

    no = np.zeros(mask.shape, bool)
    if not applies or not mask.any():
        out["screening_water"] = grid(mask, "screening_water")
        out["water_fraction"] = grid(np.full(mask.shape, np.nan), "water_fraction")
        out["mixed_added"], out["unmixed"] = grid(no, "mixed_added"), grid(no, "unmixed")
        out["nir_seeds"] = grid(no, "nir_seeds")
        out.attrs.update(mixed_pixels_applied=0, water_nir=float("nan"))
        return _like_input(out, like)

    near = ndi.binary_dilation(mask, np.ones((2 * p.mixed_exclusion_px + 1,) * 2, bool)) if p.mixed_exclusion_px else mask
    interior = ndi.binary_erosion(mask, np.ones((3, 3), bool))
    water_nir = float(np.median(arr["nir"][interior])) if interior.sum() >= 9 else float(np.median(arr["nir"][mask]))
    water_nir = max(water_nir, 0.0)
    min_contrast = p.mixed_min_contrast / _to_reflectance(units)  # type: ignore[arg-type]

    def fraction(land):
        nir_land, n_land = _window_mean(arr["nir"], land, p.mixed_window_px)
        contrast = nir_land - water_nir
        ok = valid & (n_land >= p.mixed_min_land_pixels) & (contrast >= min_contrast)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, np.clip((nir_land - arr["nir"]) / contrast, 0.0, 1.0), np.nan)

    # the land endmember leaves out water the mask missed (a ditch is its own neighbour): a first
    # pass finds the pixels more than ``mixed_land_max_fraction`` water, the second leaves them out
    land = valid & ~near
    land &= ~(np.nan_to_num(fraction(land), nan=0.0) > p.mixed_land_max_fraction)
    frac = fraction(land)
    land_mean = {b: _window_mean(a, land, p.mixed_window_px)[0] for b, a in arr.items()}
    candidate = valid & ~mask & (np.nan_to_num(frac, nan=0.0) >= p.mixed_min_fraction)
    seeds = nir_water_seeds(frac, valid & ~mask, p.mixed_seed_fraction) if p.mixed_seed_fraction is not None else no
    screening = apply_hysteresis_threshold((mask | seeds) * 2.0 + candidate * 1.0, 0.5, 1.5)
    unmix = screening & np.isfinite(frac) & (frac >= p.mixed_min_fraction) & (frac < 1.0)
    f = np.where(unmix, frac, 1.0)
    for b, a in arr.items():
        water_colour = np.where(unmix, (a - (1.0 - f) * np.nan_to_num(land_mean[b])) / f, a)
        out[b] = grid(water_colour.astype(scene[b].dtype), b, **scene[b].attrs)
    out["screening_water"] = grid(screening, "screening_water",
                                  description="water mask + mixed pixels (NIR water fraction >= mixed_min_fraction) joined to it")
    out["water_fraction"] = grid(frac, "water_fraction", formula="(N_land - N) / (N_land - N_water), NIR")
    out["mixed_added"] = grid(screening & ~mask, "mixed_added")
    out["nir_seeds"] = grid(seeds, "nir_seeds", formula=f"f >= {p.mixed_seed_fraction}, holes filled, 3x3 interior")
    out["unmixed"] = grid(unmix, "unmixed", formula="rho_w = (rho - (1 - f) rho_land) / f")
    out.attrs.update(mixed_pixels_applied=1, water_nir=water_nir)
    return _like_input(out, like)


def nir_water_seeds(frac: np.ndarray, allowed: np.ndarray, min_fraction: float) -> np.ndarray:
    """Open water the water index missed, seen by its NIR: the pixels of ``allowed`` with NIR
    water fraction f >= ``min_fraction`` (near-pure water), holes filled (a pond's interior,
    with no land in its window, has no fraction), kept where the group has a pure interior
    pixel (3 x 3 erosion non-empty: a water body one can judge, as ``water_bodies``'
    ``resolvable``; Freitas et al. 2019).

    Why: MNDWI and NDWI put the green band in the numerator, and black-odorous water has
    almost none: dark water under a positive atmospheric-correction residual and adjacency
    (which raise the SWIR as much as the green: Warren et al. 2019; Bulgarelli & Zibordi 2018)
    has MNDWI near 0 and is missed whole, so ``mixed_water`` had nothing to join it to. NIR
    absorption by water does not depend on its colour (the fraction's rationale: Xie et al.
    2016). What else has f >= 0.9 in a 3 x 3 block: a house's or tree's shadow on land is at
    most H tan(sun zenith) deep (2 pixels for the 20 m caster of ``indices.castshadow`` at the
    winter sun of south China), so it has no 3 x 3 interior."""
    strong = allowed & (np.nan_to_num(frac, nan=0.0) >= min_fraction)
    if not strong.any():
        return strong
    filled = ndi.binary_fill_holes(strong) & allowed
    core = ndi.binary_erosion(filled, np.ones((3, 3), bool))
    lab, n = ndi.label(filled, np.ones((3, 3), bool))
    if not n:
        return filled
    keep = np.bincount(lab.ravel(), weights=core.ravel().astype(np.float64), minlength=n + 1) > 0
    keep[0] = False
    return keep[lab]


def _like_input(out: xr.Dataset, like: xr.DataArray) -> xr.Dataset:
    """``out`` chunked as the input was: the votes that follow stay lazy (and run where the
    input's Dask graph runs, e.g. on a cluster's workers)."""
    return out.chunk(dict(like.chunksizes)) if like.chunks is not None else out
