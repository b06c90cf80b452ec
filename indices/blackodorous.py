"""Black-odorous water (黑臭水体) from the visible bands (and NIR where the scene has it):
per-pixel indices and method flags, votes, guards, and a per-water-body screening verdict.

Every function works on any ``xarray.Dataset`` with ``blue``, ``green``, ``red`` bands (``nir``
optional), any dims (``(time, y, x)``, ``(y, x)``, ...), NaN = masked; per-pixel functions stay
lazy under Dask. Every threshold is a field of the frozen ``BlackOdorousParams`` (``as_dict``
for manifests); ``black_odorous_pixels`` and ``classify_water_bodies`` take ``params=``.

Units. Scene bands are surface reflectance rho (the Scene contract); over water this
approximates the water-leaving reflectance, and the literature states thresholds on
remote-sensing reflectance Rrs = rho / pi (sr^-1). **Ratio indices (BOI, NDBWI, G/R, CIE
chromaticity, the NIR share) are unit-free**; only the absolute brightness thresholds depend
on units: functions that use them take ``units="reflectance" | "rrs"`` and keep their
thresholds in reflectance units (an Rrs scene is multiplied by pi before comparing).

Methods (each one independent flag, one vote; sources in ``docs/blackodorous.md``):

* ``boi``   BOI = (G - R) / (B + G + R) < 0.065 (on Rrs). 姚月 (Yao Y.), 申茜, 朱利 et al. 2019,
  高分二号的沈阳市黑臭水体遥感识别, 遥感学报 23(2), doi:10.11834/jrs.20197482 (0.065 on Rrs; 0.05 on
  Rayleigh-only-corrected reflectance; clear images, AOT(550) <= 0.5). Published threshold.
* ``ndbwi`` NDBWI = (G - R) / (G + R), -0.05 <= NDBWI <= 0.115. 温爽 (Wen S.), 王桥, 李云梅, 朱利
  et al. 2018, 环境科学 39(1): 57-67, doi:10.13227/j.hjkx.201703264: of four GF-2 rules (green
  band, blue-green difference, red-green *ratio*, chromaticity) the red-green ratio rule was the
  most accurate. Later work applies that ratio rule as the NDBWI, the normalised form of G/R,
  with these bounds, citing Wen et al. (姚焕玫 et al. 2019, 环境工程, PlanetScope, > 90 %); the
  paper's own formula could not be read offline (abstract only). A
  separate G/R flag would be the same flag (NDBWI = (G/R - 1) / (G/R + 1)), a duplicate vote:
  it is not a method here (``green_red_ratio`` stays as an index).
* ``cie``   CIE 1931 excitation purity < ``max_purity`` (and optionally a dominant-wavelength
  band): black-odorous water is greyish. Shen Q., Yao Y., Li J. et al. 2019, A CIE color purity
  algorithm to detect black and odorous water in urban rivers using high-resolution
  multispectral remote sensing images, IEEE TGRS 57(9): 6577-6590, doi:10.1109/TGRS.2019.2907283.
  Chromaticity goes through the **sensor's own RGB -> XYZ transform** (``indices.colour.
  SENSOR_RGB_TO_XYZ``, derived from its spectral responses), chosen from the scene's ``sensor``
  attribute (or ``params.sensor``); the CIE RGB primaries only for sensors without one.
* ``dark``  max(B, G, R) < ``dark_threshold`` (rho): the darkest urban water, with a low, flat
  visible spectrum (Wen et al. 2018; Shen et al. 2019).

Votes and guards (``black_odorous_pixels``): a water pixel is a suspect when at least
``min_votes`` methods flag it, or when it is of the bright type (below), and no guard applies:

* shadow guard: building and tree shadows on water, the main false alarm of the GF-2 studies.
  Shadowed water is lit by skylight only, which carries little near infrared (Rayleigh
  scattering ~ lambda^-4; shadows are darkest in the NIR: Shahtahmassebi A., Yang N., Wang K.,
  Moore N., Shen Z. 2013, Review of shadow detection and de-shadowing methods in remote sensing,
  Chinese Geographical Science 23(4): 403-420), while black-odorous water itself is raised in the
  NIR (its reflectance rises from red to NIR: 姚焕玫, 卢燕南, 龚祝清 2019, 基于PlanetScope影像的广西
  钦州市黑臭水体识别方法研究, 环境工程 37(10)). So ``NIR / (B + G + R) < shadow_nir_share`` is
  taken as shadow (or water too clear to judge) and never a suspect. Needs a ``nir`` band;
  without one the guard cannot apply (recorded in the output's attrs);
* blue guard: blue-dominant water (B > G) is clear water, not black-odorous (black-odorous Rrs
  is flat or rises from blue to green: Wen et al. 2018);
* bright guard: max(B, G, R) >= ``bright_max`` is turbid, sediment-laden water (and mixed land
  pixels), never black-odorous of either type.

The bright, high-suspended-matter type (Shen et al. 2019) is bright, so the darkness vote can
never find it: a pixel that is not dark, below ``bright_max``, with BOI and CIE flagging and
NIR / red >= ``bright_min_nir_red`` is a suspect of type ``bright``. Flat particle absorption
keeps its red as low as its NIR; sediment-laden water reflects red far above NIR (spectral test
bed: bright type NIR / R 0.45-0.90 on Sentinel-2, moderately and highly turbid water 0.11-0.55).
Bright black-odorous water above ``bright_max`` stays a blind spot, and so does bright
black-odorous water whose NIR / R is as low as turbid water's.

Thresholds: BOI and NDBWI are published and unchanged. ``max_purity``, ``dark_threshold``,
``shadow_nir_share`` and ``min_votes`` are **ours**, chosen by ``flows.evaluation.testbed.tune``
on the test bed's development draw and reported on its held-out draw; ``bright_max`` was set
by hand; ``bright_min_nir_red``, the reach and the mixed-pixel settings (``indices.mixedwater``)
on the demo's ``tuning`` profile (``docs/validation.md`` says which rule was set on which data).
None of these thresholds has been checked on field-verified black-odorous water.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import xarray as xr

from .colour import _missing, chromaticity, colour_purity, dominant_wavelength, \
    rgb_to_xyz_matrix_for
from .units import require_reflectance
from .boparams import (ALL_METHODS, BOI_THRESHOLD, DARK_THRESHOLD, DEFAULT_METHODS, DEFAULT_PARAMS,  # noqa: F401
                       MAX_PURITY, NATIONAL_MIN_AREA_M2, NDBWI_HIGH, NDBWI_LOW, STATUSES, TYPES,
                       BlackOdorousParams)

Units = Literal["reflectance", "rrs"]


def _params(params: BlackOdorousParams | None, overrides: dict[str, Any]) -> BlackOdorousParams:
    p = params or DEFAULT_PARAMS
    if overrides:
        if "methods" in overrides and overrides["methods"] is not None:
            overrides["methods"] = tuple(overrides["methods"])
            if "min_votes" not in overrides:
                overrides["min_votes"] = min(p.min_votes, len(overrides["methods"]))
        p = p.replace(**overrides)
    return p


def scene_matrix(scene: xr.Dataset, params: BlackOdorousParams | None = None) -> np.ndarray:
    """The RGB -> XYZ matrix for ``scene``: ``params.sensor`` or the scene's ``sensor`` attribute."""
    sensor = (params.sensor if params is not None and params.sensor else None) or scene.attrs.get("sensor")
    return rgb_to_xyz_matrix_for(sensor)

# --------------------------------------------------------------------------- bands and units
def _bands(scene: xr.Dataset, index: str = "black-odorous water indices") -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    missing = [b for b in ("blue", "green", "red") if b not in scene.data_vars]
    if missing:
        raise _missing(index, missing, scene)
    return scene["blue"], scene["green"], scene["red"]


def _to_reflectance(units: Units) -> float:
    """Factor that turns the scene's band values into surface reflectance rho."""
    if units == "reflectance":
        return 1.0
    if units == "rrs":
        return math.pi
    raise ValueError(f"units must be 'reflectance' or 'rrs', got {units!r}")


def to_rrs(scene: xr.Dataset) -> xr.Dataset:
    """Remote-sensing reflectance Rrs = rho / pi (sr^-1) of every band (lazy).

    Lambertian water-leaving approximation, as used to compare satellite surface reflectance
    with in-situ Rrs (Mobley 1999, Appl. Opt. 38(36): 7442). Ratio indices do not change.
    """
    out = scene.copy()
    for name in scene.data_vars:
        out[name] = (scene[name] / np.pi).astype(scene[name].dtype)
        out[name].attrs = {**scene[name].attrs, "units": "sr-1"}
    out.attrs = {**scene.attrs, "reflectance_units": "rrs"}
    return out


def _masked(cond, value):
    if isinstance(value, xr.DataArray):
        return value.where(cond)
    return np.where(cond, value, np.nan)


# --------------------------------------------------------------------------- indices (unit-free)
def _boi(b, g, r):
    s = b + g + r
    with np.errstate(divide="ignore", invalid="ignore"):
        return _masked(s > 0, (g - r) / s)


def _ndbwi(g, r):
    s = g + r
    with np.errstate(divide="ignore", invalid="ignore"):
        return _masked(s > 0, (g - r) / s)


def _ratio(g, r):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _masked(r > 0, g / r)


def boi(scene: xr.Dataset) -> xr.DataArray:
    """Black and Odorous water Index BOI = (G - R) / (B + G + R) (Yao et al. 2019).

    Unit-free (identical on rho and Rrs). NaN where B + G + R <= 0 or a band is NaN.
    """
    b, g, r = _bands(scene, "BOI")
    return _boi(b, g, r).rename("boi")


def boi_flag(scene: xr.Dataset, *, threshold: float = BOI_THRESHOLD) -> xr.DataArray:
    """Black-odorous by BOI: ``BOI < threshold`` (default 0.065 on Rrs; Yao et al. 2019).

    One-sided as published: red-dominant turbid water (G < R, BOI < 0) also passes; this is
    the known false positive the guard in ``black_odorous_pixels`` removes. False where NaN.
    """
    out = boi(scene) < threshold
    out.attrs.update(formula="(G-R)/(B+G+R) < t", threshold=threshold,
                     source="Yao et al. 2019, J. Remote Sens. 23(2), doi:10.11834/jrs.20197482")
    return out.rename("boi_flag")


def ndbwi(scene: xr.Dataset) -> xr.DataArray:
    """Normalised Difference Black-odorous Water Index NDBWI = (G - R) / (G + R) (Wen et al. 2018).

    Unit-free. NaN where G + R <= 0 or a band is NaN.
    """
    _, g, r = _bands(scene, "NDBWI")
    return _ndbwi(g, r).rename("ndbwi")


def ndbwi_flag(scene: xr.Dataset, *, low: float = NDBWI_LOW, high: float = NDBWI_HIGH) -> xr.DataArray:
    """Black-odorous by NDBWI: ``low <= NDBWI <= high`` (defaults -0.05, 0.115; Wen et al. 2018,
    as cited). Two-sided, so strongly red-dominant turbid water (NDBWI < -0.05) and green
    (algal, clear) water (NDBWI > 0.115) are excluded. False where NaN."""
    v = ndbwi(scene)
    out = (v >= low) & (v <= high)
    out.attrs.update(formula="low <= (G-R)/(G+R) <= high", low=low, high=high, source="Wen et al. 2018, 环境科学 39(1)")
    return out.rename("ndbwi_flag")


def green_red_ratio(scene: xr.Dataset) -> xr.DataArray:
    """Green / red band ratio G / R (Wen et al. 2018's red-green ratio). Unit-free. Its rule is
    the NDBWI's (``ndbwi_flag``): no separate flag, which would be a duplicate vote.

    NaN where R <= 0 or a band is NaN.
    """
    _, g, r = _bands(scene, "green/red ratio")
    return _ratio(g, r).rename("green_red_ratio")


def cie_purity(scene: xr.Dataset, *, matrix: np.ndarray | None = None) -> xr.DataArray:
    """CIE 1931 excitation purity of each pixel's colour (``indices.colour``). Unit-free.
    ``matrix`` None: the scene's sensor's RGB -> XYZ (``scene_matrix``)."""
    x, y = chromaticity(scene, matrix=scene_matrix(scene) if matrix is None else matrix)
    return colour_purity(x, y).rename("purity")


def cie_dominant_wavelength(scene: xr.Dataset, *, matrix: np.ndarray | None = None) -> xr.DataArray:
    """CIE 1931 dominant wavelength (nm; negative = complementary, a purple). Unit-free.
    ``matrix`` None: the scene's sensor's RGB -> XYZ."""
    x, y = chromaticity(scene, matrix=scene_matrix(scene) if matrix is None else matrix)
    return dominant_wavelength(x, y).rename("dominant_wavelength")


def cie_flag(
    scene: xr.Dataset,
    *,
    max_purity: float = MAX_PURITY,
    wavelength_range: tuple[float, float] | None = None,
    matrix: np.ndarray | None = None,
    where: xr.DataArray | None = None,
) -> xr.DataArray:
    """Black-odorous by colour (the CIE colour-purity method of Shen et al. 2019): low
    excitation purity, ``purity < max_purity``, and, if ``wavelength_range`` is given, a
    dominant wavelength inside it (purples, which have negative wavelengths, then fail).

    Default ``max_purity=0.20`` is ours, set on the spectral test bed's development draw (the
    published GF-2 threshold could not be verified). ``matrix`` None: the scene's sensor's
    RGB -> XYZ. The dominant-wavelength band is off by default: black-odorous and turbid water
    share it (test bed: both about 580-595 nm on Sentinel-2). Unit-free. False where NaN, and
    where ``where`` (a boolean mask, e.g. the water) is False: the purity, a ray traced to the
    spectral locus per pixel, is then computed only where it is used.
    """
    x, y = chromaticity(scene, matrix=scene_matrix(scene) if matrix is None else matrix)
    if where is not None:
        x, y = x.where(where), y.where(where)
    out = colour_purity(x, y) < max_purity
    if wavelength_range is not None:
        lo, hi = wavelength_range
        wl = dominant_wavelength(x, y)
        out = out & (wl >= lo) & (wl <= hi)
    out.attrs.update(formula="CIE 1931 excitation purity < max_purity", max_purity=max_purity,
                     wavelength_range=str(wavelength_range), source="Shen et al. 2019, IEEE TGRS 57(9); threshold ours")
    return out.rename("cie_flag")


# --------------------------------------------------------------------------- brightness, NIR
def brightness(scene: xr.Dataset, *, units: Units = "reflectance") -> xr.DataArray:
    """max(B, G, R) expressed as surface reflectance rho (an Rrs scene is multiplied by pi).

    NaN where any of the three bands is NaN.
    """
    b, g, r = _bands(scene, "brightness")
    top = np.maximum(np.maximum(b, g), r)  # NaN-propagating
    return (top * _to_reflectance(units)).rename("brightness")


def darkness(scene: xr.Dataset, *, threshold: float = DARK_THRESHOLD, units: Units = "reflectance") -> xr.DataArray:
    """The darkness vote: True where ``max(B, G, R) < threshold`` in reflectance units.

    Black-odorous water is the darkest urban water, with a low, flat visible spectrum
    (Wen et al. 2018: lowest reflectance, no prominent peaks; Shen et al. 2019). Default 0.032
    rho (Rrs 0.0102 sr^-1) is **ours**: chosen on the spectral test bed's development draw
    from pi x 0.01 up, so that in-situ black-odorous magnitudes (Rrs up to about 0.01 sr^-1)
    stay dark. Eutrophic and ordinary water (test bed: max rho 0.02-0.08) overlaps it; the other
    votes and guards separate them. With
    ``units="rrs"`` the scene is taken as Rrs and converted (x pi) first; getting ``units``
    wrong shifts the threshold by a factor pi. False where NaN.
    """
    require_reflectance(scene, product="the black-odorous darkness guard (max(B,G,R) < threshold)")
    out = brightness(scene, units=units) < threshold
    out.attrs.update(formula="max(B,G,R) as rho < threshold", threshold=threshold, units="reflectance",
                     source="vote; threshold ours (spectral test bed, development draw)")
    return out.rename("dark")




def nir_share(scene: xr.Dataset) -> xr.DataArray:
    """NIR / (B + G + R) (unit-free); NaN where B + G + R <= 0 or a band is NaN."""
    b, g, r = _bands(scene, "NIR share")
    if "nir" not in scene.data_vars:
        raise _missing("NIR share", ["nir"], scene)
    s = b + g + r
    with np.errstate(divide="ignore", invalid="ignore"):
        return _masked(s > 0, scene["nir"] / s).rename("nir_share")


def shadow_flag(scene: xr.Dataset, *, threshold: float = DEFAULT_PARAMS.shadow_nir_share) -> xr.DataArray:
    """The shadow guard: True where ``NIR / (B + G + R) < threshold`` (default 0.08, ours: set on
    the spectral test bed's development draw). Shadowed water is lit by skylight, which carries
    little NIR (Shahtahmassebi et al. 2013); black-odorous water is raised in the NIR (姚焕玫 et
    al. 2019). Clear water with little NIR is flagged too: it is never black-odorous. False
    where NaN."""
    out = nir_share(scene) < threshold
    out.attrs.update(formula="NIR/(B+G+R) < threshold", threshold=threshold,
                     source="guard; Shahtahmassebi et al. 2013 (shadows dark in NIR), threshold ours")
    return out.rename("shadow")


# --------------------------------------------------------------------------- per pixel
def _as_mask(water_mask: Any, like: xr.DataArray) -> xr.DataArray:
    """``water_mask`` as a boolean DataArray on ``like``'s grid (NaN -> not water)."""
    if not isinstance(water_mask, xr.DataArray):
        arr = np.asarray(water_mask)
        water_mask = xr.DataArray(arr, dims=like.dims[like.ndim - arr.ndim:])
    for d in water_mask.dims:
        if d not in like.dims:
            raise ValueError(f"water mask dimension {d!r} is not a scene dimension {like.dims}")
        if water_mask.sizes[d] != like.sizes[d]:
            raise ValueError(f"water mask has {water_mask.sizes[d]} {d} values, the scene {like.sizes[d]}")
    for d in ("y", "x"):
        if d in water_mask.coords and d in like.coords:
            a, b = np.asarray(water_mask[d], dtype="float64"), np.asarray(like[d], dtype="float64")
            step = float(np.abs(np.diff(b)).min()) if b.size > 1 else 1.0
            if not np.allclose(a, b, rtol=0, atol=1e-6 * step):
                raise ValueError(f"water mask and scene are on different grids ({d} coordinates differ)")
    wm = water_mask.drop_vars([c for c in water_mask.coords if c not in water_mask.dims])
    wm = wm.assign_coords({d: like[d] for d in wm.dims if d in like.coords})
    if wm.dtype != bool:
        wm = wm.fillna(0) != 0
    return wm




def black_odorous_pixels(
    scene: xr.Dataset,
    water_mask: Any,
    *,
    params: BlackOdorousParams | None = None,
    units: Units = "reflectance",
    **overrides: Any,
) -> xr.Dataset:
    """Per-pixel black-odorous flags on water (lazy). ``params`` (default ``BlackOdorousParams()``)
    holds every threshold; keyword ``overrides`` (e.g. ``boi_threshold=0.05``, ``methods=...``)
    replace single fields. ``units`` only affects the brightness thresholds (see ``darkness``).

    Variables (all False off water and where a band is NaN): ``<method>_flag`` for each voting
    method; ``votes`` (uint8: how many methods flag the pixel); ``shadow``, ``blue_dominant``,
    ``too_bright`` (the guards; False when switched off or, for ``shadow``, without a ``nir``
    band); ``guarded`` (any guard); ``is_suspect_bright`` (the bright high-SPM type: BOI and
    CIE flags, not dark, below ``bright_max``); ``is_suspect``::

        is_suspect = water & ~guarded & ((votes >= min_votes) | is_suspect_bright)

    ``attrs``: ``params.as_dict()``, ``units``, the sensor whose RGB -> XYZ transform was used,
    and whether the shadow guard could apply.
    """
    p = _params(params, overrides)
    b, _, _ = _bands(scene, "black_odorous_pixels")
    water = _as_mask(water_mask, b)
    if b.chunks is None and all(scene[v].chunks is None for v in scene.data_vars) and water.chunks is None:
        # in memory: the same operations on the bands without their coordinates (no index to
        # align at every step: most of the time on a village), the coordinates put back once
        bare = xr.Dataset({k: (v.dims, v.data, v.attrs) for k, v in scene.data_vars.items()}, attrs=scene.attrs)
        ds = _pixel_flags(bare, xr.DataArray(water.data, dims=water.dims), p, units, bare["blue"])
        return ds.assign_coords({k: c for k, c in b.coords.items()})
    return _pixel_flags(scene, water, p, units, b)


def _pixel_flags(scene: xr.Dataset, water: xr.DataArray, p: BlackOdorousParams, units: Units,
                 b: xr.DataArray) -> xr.Dataset:
    """The body of :func:`black_odorous_pixels` on a checked water mask."""
    matrix = scene_matrix(scene, p)
    flags = {
        "boi": lambda: boi_flag(scene, threshold=p.boi_threshold),
        "ndbwi": lambda: ndbwi_flag(scene, low=p.ndbwi_low, high=p.ndbwi_high),
        "cie": lambda: cie_flag(scene, max_purity=p.max_purity, wavelength_range=p.wavelength_range, matrix=matrix,
                                where=water),  # only ever used on water
        "dark": lambda: darkness(scene, threshold=p.dark_threshold, units=units),
    }
    computed = {m: flags[m]() for m in dict.fromkeys([*p.methods, "boi", "cie", "dark"])}
    bright_level = brightness(scene, units=units)
    out: dict[str, xr.DataArray] = {}
    votes = None
    for m in p.methods:
        f = (computed[m] & water).rename(f"{m}_flag")
        f.attrs = dict(computed[m].attrs)
        out[f"{m}_flag"] = f
        votes = f.astype("uint8") if votes is None else votes + f.astype("uint8")
    out["votes"] = votes.astype("uint8").assign_attrs(description=f"number of methods flagging the pixel, of {len(p.methods)}")
    false = xr.zeros_like(b, dtype=bool)
    has_nir = "nir" in scene.data_vars
    shadow = shadow_flag(scene, threshold=p.shadow_nir_share) if (p.shadow_guard and has_nir) else false
    blue = (scene["blue"] > scene["green"]) if p.blue_guard else false
    too_bright = (bright_level >= p.bright_max) if p.bright_max is not None else false
    out["shadow"] = (shadow & water).assign_attrs(formula=f"NIR/(B+G+R) < {p.shadow_nir_share}", applied=int(p.shadow_guard and has_nir))
    out["blue_dominant"] = (blue & water).assign_attrs(formula="B > G", applied=int(p.blue_guard))
    out["too_bright"] = (too_bright & water).assign_attrs(formula=f"max(B,G,R) as rho >= {p.bright_max}")
    guarded = shadow | blue | too_bright
    out["guarded"] = (guarded & water).assign_attrs(description="shadow | blue_dominant | too_bright")
    bright_ok = p.bright_type and has_nir  # the NIR / red test needs NIR: without it, no bright type
    with np.errstate(divide="ignore", invalid="ignore"):
        bright_type = (computed["boi"] & computed["cie"] & ~computed["dark"]
                       & (scene["nir"] / scene["red"] >= p.bright_min_nir_red)) if bright_ok else false
    out["is_suspect_bright"] = (water & ~guarded & bright_type).assign_attrs(
        formula=f"water & ~guarded & boi_flag & cie_flag & ~dark & NIR/R >= {p.bright_min_nir_red}",
        applied=int(bright_ok), description="bright high-SPM black-odorous type (Shen et al. 2019)")
    out["is_suspect"] = (water & ~guarded & ((votes >= p.min_votes) | bright_type)).assign_attrs(
        formula="water & ~guarded & (votes >= min_votes | bright type)", min_votes=p.min_votes,
        description="black-odorous suspect pixel")
    ds = xr.Dataset({k: v.transpose(*b.dims) for k, v in out.items()})
    sensor = p.sensor or scene.attrs.get("sensor")
    ds.attrs.update({**{k: (str(v) if v is None or isinstance(v, (list, bool)) else v) for k, v in p.as_dict().items()},
                     "methods": ",".join(p.methods), "units": units, "colour_sensor": str(sensor),
                     "colour_matrix": str(np.round(matrix, 6).tolist()), "shadow_guard_applied": int(p.shadow_guard and has_nir),
                     "bright_type_applied": int(bright_ok)})
    ds.attrs["params"] = p
    return ds


def params_of(pixel_flags: xr.Dataset) -> BlackOdorousParams:
    """The ``BlackOdorousParams`` a ``black_odorous_pixels`` output was made with."""
    p = pixel_flags.attrs.get("params")
    return p if isinstance(p, BlackOdorousParams) else DEFAULT_PARAMS
