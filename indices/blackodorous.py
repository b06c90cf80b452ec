"""Black-odorous water (黑臭水体) from the visible bands: per-pixel indices and flags, the
turbid-water guard, and a per-water-body screening classification.

Every function works on any ``xarray.Dataset`` with ``blue``, ``green``, ``red`` bands, dims
``(time, y, x)`` or ``(y, x)``, NaN = masked; per-pixel functions stay lazy under Dask.

Units. Scene bands are surface reflectance rho (the Scene contract); over water this
approximates the water-leaving ("remote-sensing") reflectance, and the literature's
thresholds are stated on remote-sensing reflectance Rrs = rho / pi (sr^-1). **Ratio indices
(BOI, NDBWI, G/R, CIE chromaticity) are unit-free**: the same on rho and on Rrs, so their
published thresholds apply directly. Only the absolute brightness guard depends on units:
functions that use it take ``units="reflectance" | "rrs"`` and keep their thresholds in
reflectance units (an Rrs scene is multiplied by pi before comparing).

Methods (sources; see ``docs/blackodorous.md`` for the table and the test spectra):

* ``boi``   BOI = (G - R) / (B + G + R); black-odorous where BOI < 0.065 on Rrs.
  姚月 (Yao Y.), 申茜, 朱利, 高红杰, 曹红业, 韩惠, 孙建国, 李俊生 2019, 高分二号的沈阳市黑臭水体
  遥感识别 (Remote sensing identification of urban black-odorous water in Shenyang from GF-2),
  遥感学报 (J. Remote Sens.) 23(2), doi:10.11834/jrs.20197482. Their abstract: BOI from Rrs
  < 0.065 is black-odorous; on Rayleigh-corrected reflectance only (no aerosol correction) the
  threshold is 0.05, and the method suits clear images (AOT(550) <= 0.5). Our scenes are
  fully atmospherically corrected, so the Rrs threshold 0.065 applies.
* ``ndbwi`` NDBWI = (G - R) / (G + R); black-odorous where -0.05 <= NDBWI <= 0.115.
  The green/red family of 温爽 (Wen S.), 王桥, 李云梅, 朱利 et al. 2018, 基于高分影像的城市黑臭水体
  遥感识别: 以南京为例, 环境科学 39(1): 57-67, doi:10.13227/j.hjkx.201703264. Their abstract
  lists four GF-2 rules (green single band, blue-green difference, green/red ratio,
  chromaticity) and finds the green/red ratio most accurate. The normalised form and the
  bounds -0.05 / 0.115 are as later work cites them (e.g. 姚焕玫 et al. 2019, 环境工程,
  PlanetScope over Qinzhou, best accuracy > 90 %); we could not check them against the paper
  text offline.
* ``ratio`` G / R, the same green/red information as NDBWI: NDBWI = (G/R - 1) / (G/R + 1) is
  monotone in G/R, so the NDBWI bounds are *exactly* 0.905 <= G/R <= 1.260. Those are the
  defaults ("to be calibrated": the paper's own ratio bounds were not verifiable here). Because
  it carries no information beyond NDBWI it is **not** a default method (it would be a
  duplicate vote); request it explicitly. (Yao et al. 2019 found BOI more accurate than a
  red/green ratio index on their Shenyang data.)
* ``cie``   CIE 1931 excitation purity (and optionally dominant wavelength) of the water colour:
  black-odorous water is dark grey, i.e. close to the white point. Shen Q., Yao Y., Li J.,
  Zhang F., Wang S., Wu Y., Ye H., Zhang B. 2019, A CIE color purity algorithm to detect black
  and odorous water in urban rivers using high-resolution multispectral remote sensing images,
  IEEE TGRS 57(9): 6577-6590, doi:10.1109/TGRS.2019.2907283. Their threshold is sensor-specific
  (GF-2, in-situ calibrated) and could not be verified offline; our default purity < 0.25 with
  the CIE RGB->XYZ transform is **ours**, set between literature-shaped black-odorous spectra
  (purity 0.08-0.22) and ordinary, clear-blue, algal and turbid spectra (0.26-0.49). Real
  turbid coastal water (the S2-like Wadden Sea test image) is greyish too (median purity
  0.13): colour alone does not exclude turbid water; the darkness guard does. Calibrate per
  sensor.

The turbid-water guard: see ``black_odorous_pixels``.
"""
from __future__ import annotations

import math
from typing import Any, Literal, Sequence

import numpy as np
import xarray as xr

from .colour import CIE_RGB_TO_XYZ, _dominant_and_purity, _missing, chromaticity, colour_purity, dominant_wavelength
from .units import require_reflectance

Units = Literal["reflectance", "rrs"]

#: published / documented defaults (each cited in the module docstring and the functions)
BOI_THRESHOLD = 0.065  # Yao et al. 2019
NDBWI_LOW, NDBWI_HIGH = -0.05, 0.115  # Wen et al. 2018 (as cited)
RATIO_LOW = (1 + NDBWI_LOW) / (1 - NDBWI_LOW)  # 0.9048: NDBWI = -0.05 as G/R
RATIO_HIGH = (1 + NDBWI_HIGH) / (1 - NDBWI_HIGH)  # 1.2599: NDBWI = 0.115 as G/R
MAX_PURITY = 0.25  # ours, see the module docstring (Shen et al. 2019 method)
DARK_THRESHOLD = 0.05  # ours: max visible rho (Rrs 0.0159 sr^-1), see ``darkness``
NATIONAL_MIN_AREA_M2 = 2000.0  # 农村黑臭水体治理工作指南 (2023 revision): national list >= 2000 m2

ALL_METHODS: tuple[str, ...] = ("boi", "ndbwi", "ratio", "cie")
DEFAULT_METHODS: tuple[str, ...] = ("boi", "ndbwi", "cie")
STATUSES = ("ordinary", "suspect_black_odorous", "too_small", "no_valid_observation")


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
    """Green / red band ratio G / R (the band-ratio family of Wen et al. 2018). Unit-free.

    NaN where R <= 0 or a band is NaN.
    """
    _, g, r = _bands(scene, "green/red ratio")
    return _ratio(g, r).rename("green_red_ratio")


def green_red_ratio_flag(scene: xr.Dataset, *, low: float = RATIO_LOW, high: float = RATIO_HIGH) -> xr.DataArray:
    """Black-odorous by G / R: ``low <= G/R <= high``.

    Defaults 0.905 and 1.260 are the NDBWI bounds (-0.05, 0.115) re-expressed exactly
    (G/R = (1 + NDBWI) / (1 - NDBWI)); to be calibrated: the published ratio bounds of Wen et al.
    2018 could not be verified offline. With these defaults the flag equals ``ndbwi_flag``.
    """
    v = green_red_ratio(scene)
    out = (v >= low) & (v <= high)
    out.attrs.update(formula="low <= G/R <= high", low=low, high=high,
                     source="Wen et al. 2018 band ratio; defaults = NDBWI bounds, to be calibrated")
    return out.rename("ratio_flag")


def cie_purity(scene: xr.Dataset, *, matrix: np.ndarray = CIE_RGB_TO_XYZ) -> xr.DataArray:
    """CIE 1931 excitation purity of each pixel's colour (``indices.colour``). Unit-free."""
    x, y = chromaticity(scene, matrix=matrix)
    return colour_purity(x, y).rename("purity")


def cie_dominant_wavelength(scene: xr.Dataset, *, matrix: np.ndarray = CIE_RGB_TO_XYZ) -> xr.DataArray:
    """CIE 1931 dominant wavelength (nm; negative = complementary, a purple). Unit-free."""
    x, y = chromaticity(scene, matrix=matrix)
    return dominant_wavelength(x, y).rename("dominant_wavelength")


def cie_flag(
    scene: xr.Dataset,
    *,
    max_purity: float = MAX_PURITY,
    wavelength_range: tuple[float, float] | None = None,
    matrix: np.ndarray = CIE_RGB_TO_XYZ,
) -> xr.DataArray:
    """Black-odorous by colour (the CIE colour-purity method of Shen et al. 2019): low
    excitation purity, ``purity < max_purity``, and, if ``wavelength_range`` is given, a
    dominant wavelength inside it (purples, which have negative wavelengths, then fail).

    Default ``max_purity=0.25`` is ours (see the module docstring: the published GF-2
    threshold could not be verified; calibrate per sensor). The dominant-wavelength band is
    off by default: in our test spectra black-odorous (567-570 nm) and turbid (568-574 nm)
    water share it. Unit-free. False where NaN.
    """
    x, y = chromaticity(scene, matrix=matrix)
    out = colour_purity(x, y) < max_purity
    if wavelength_range is not None:
        lo, hi = wavelength_range
        wl = dominant_wavelength(x, y)
        out = out & (wl >= lo) & (wl <= hi)
    out.attrs.update(formula="CIE 1931 excitation purity < max_purity", max_purity=max_purity,
                     wavelength_range=str(wavelength_range), source="Shen et al. 2019, IEEE TGRS 57(9); threshold ours")
    return out.rename("cie_flag")


# --------------------------------------------------------------------------- brightness guard
def brightness(scene: xr.Dataset, *, units: Units = "reflectance") -> xr.DataArray:
    """max(B, G, R) expressed as surface reflectance rho (an Rrs scene is multiplied by pi).

    NaN where any of the three bands is NaN.
    """
    b, g, r = _bands(scene, "brightness")
    top = np.maximum(np.maximum(b, g), r)  # NaN-propagating
    return (top * _to_reflectance(units)).rename("brightness")


def darkness(scene: xr.Dataset, *, threshold: float = DARK_THRESHOLD, units: Units = "reflectance") -> xr.DataArray:
    """The brightness guard: True where ``max(B, G, R) < threshold`` in reflectance units.

    Black-odorous water is the darkest urban water, with a low, flat visible spectrum
    (Wen et al. 2018: lowest reflectance, no prominent peaks; Shen et al. 2019); sediment-laden
    turbid water is bright. Default 0.05 rho (= Rrs 0.0159 sr^-1) is **ours**: above the
    in-situ black-odorous magnitudes reported in those studies (Rrs below about 0.01-0.012
    sr^-1 across the visible) and below turbid, red-dominant water (Rrs >= 0.02 sr^-1 in
    green/red). With ``units="rrs"`` the scene is taken as Rrs and converted (x pi) first;
    getting ``units`` wrong shifts the guard by a factor pi. False where NaN.
    """
    require_reflectance(scene, product="the black-odorous darkness guard (max(B,G,R) < threshold)")
    out = brightness(scene, units=units) < threshold
    out.attrs.update(formula="max(B,G,R) as rho < threshold", threshold=threshold, units="reflectance",
                     source="guard; threshold ours from Wen et al. 2018 / Shen et al. 2019 magnitudes")
    return out.rename("dark")


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
    methods: Sequence[str] = DEFAULT_METHODS,
    units: Units = "reflectance",
    boi_threshold: float = BOI_THRESHOLD,
    ndbwi_low: float = NDBWI_LOW,
    ndbwi_high: float = NDBWI_HIGH,
    ratio_low: float = RATIO_LOW,
    ratio_high: float = RATIO_HIGH,
    max_purity: float = MAX_PURITY,
    wavelength_range: tuple[float, float] | None = None,
    dark_threshold: float = DARK_THRESHOLD,
    matrix: np.ndarray = CIE_RGB_TO_XYZ,
) -> xr.Dataset:
    """Per-pixel black-odorous flags on water (lazy): a boolean ``<method>_flag`` per method,
    ``dark`` (the brightness guard), ``votes`` (uint8, how many methods flag the pixel) and
    ``is_suspect``. Every variable is False off water and where a band is NaN.

    The guard. A one-sided index such as BOI < 0.065 also flags red-dominant turbid water
    (G < R gives BOI < 0), and near-neutral turbid water (G/R ~ 1.07) even passes the
    two-sided NDBWI. What sets black-odorous water apart is that it is *dark* and *grey*
    (low colour purity), while turbid water is bright (and, in literature spectra, a more
    saturated yellow; real turbid coastal water can be greyish, so darkness is the decisive
    part). Clear deep water is dark too but blue (high purity). So a pixel is a suspect only
    when the index, the darkness guard and the colour agree::

        is_suspect = water & boi_flag & dark & cie_flag

    always computed with the thresholds given here, whatever ``methods`` lists. ``methods``
    (any of ``boi``, ``ndbwi``, ``ratio``, ``cie``) chooses the reported flags and the votes;
    ``ratio`` duplicates ``ndbwi`` at the default bounds, hence not a default.
    ``units`` only affects ``dark`` (see ``darkness``); ``dark_threshold`` is in reflectance.
    """
    bad = [m for m in methods if m not in ALL_METHODS]
    if bad:
        raise ValueError(f"unknown black-odorous method(s) {bad}; choose from {ALL_METHODS}")
    if not methods:
        raise ValueError("black_odorous_pixels needs at least one method")
    b, _, _ = _bands(scene, "black_odorous_pixels")
    water = _as_mask(water_mask, b)
    flags = {
        "boi": lambda: boi_flag(scene, threshold=boi_threshold),
        "ndbwi": lambda: ndbwi_flag(scene, low=ndbwi_low, high=ndbwi_high),
        "ratio": lambda: green_red_ratio_flag(scene, low=ratio_low, high=ratio_high),
        "cie": lambda: cie_flag(scene, max_purity=max_purity, wavelength_range=wavelength_range, matrix=matrix),
    }
    computed = {m: flags[m]() for m in dict.fromkeys([*methods, "boi", "cie"])}
    dark = darkness(scene, threshold=dark_threshold, units=units)
    out: dict[str, xr.DataArray] = {}
    votes = None
    for m in methods:
        f = (computed[m] & water).rename(f"{m}_flag")
        f.attrs = dict(computed[m].attrs)
        out[f"{m}_flag"] = f
        votes = f.astype("uint8") if votes is None else votes + f.astype("uint8")
    out["dark"] = (dark & water).assign_attrs(dark.attrs)
    out["votes"] = votes.astype("uint8").assign_attrs(description=f"number of methods flagging the pixel, of {len(methods)}")
    out["is_suspect"] = (water & computed["boi"] & dark & computed["cie"]).assign_attrs(
        formula="water & boi_flag & dark & cie_flag", description="guarded black-odorous suspect pixel")
    ds = xr.Dataset({k: v.transpose(*b.dims) for k, v in out.items()})
    ds.attrs.update(methods=",".join(methods), units=units, boi_threshold=boi_threshold, ndbwi_low=ndbwi_low,
                    ndbwi_high=ndbwi_high, ratio_low=ratio_low, ratio_high=ratio_high, max_purity=max_purity,
                    wavelength_range=str(wavelength_range), dark_threshold=dark_threshold)
    return ds


# --------------------------------------------------------------------------- per water body
def _single_date(obj, what: str):
    if "time" in obj.dims:
        if obj.sizes["time"] != 1:
            raise ValueError(f"classify_water_bodies works on one date; {what} has {obj.sizes['time']} dates "
                             "(select one with .isel(time=i))")
        obj = obj.isel(time=0)
    return obj


def _labels(water_bodies, scene2: xr.Dataset, label_raster) -> np.ndarray:
    shape = (scene2.sizes["y"], scene2.sizes["x"])
    if label_raster is not None:
        lab = np.asarray(_single_date(label_raster, "label_raster").values)
        if lab.shape != shape:
            raise ValueError(f"label raster shape {lab.shape} differs from the scene's {shape}")
        lab = np.nan_to_num(lab.astype("float64"), nan=0).astype("int64")
        if lab.min() < 0 or lab.max() > len(water_bodies):
            raise ValueError(f"label raster values must be 0 (no body) or 1..{len(water_bodies)} (row position + 1)")
        return lab
    from rasterio.features import rasterize

    gdf = water_bodies
    crs = scene2.rio.crs
    if crs is not None and gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    shapes = [(geom, i + 1) for i, geom in enumerate(gdf.geometry) if geom is not None and not geom.is_empty]
    if not shapes:
        return np.zeros(shape, dtype="int64")
    return rasterize(shapes, out_shape=shape, transform=scene2.rio.transform(recalc=True), fill=0,
                     dtype="int32").astype("int64")


def classify_water_bodies(
    water_bodies,
    pixel_flags: xr.Dataset,
    *,
    scene: xr.Dataset,
    label_raster: xr.DataArray | None = None,
    units: Units = "reflectance",
    min_share: float = 0.5,
    min_votes: int = 2,
    min_pixels: int = 9,
    small_body_weight: float = 0.5,
    national_min_area_m2: float = NATIONAL_MIN_AREA_M2,
    matrix: np.ndarray = CIE_RGB_TO_XYZ,
):
    """One screening verdict per water body on one date (a ``(y, x)`` scene, or ``time`` of 1).

    ``water_bodies``: a GeoDataFrame in the scene's grid CRS (``indices.waterbodies.water_bodies``:
    ``wb_id``, ``area_m2``, ``n_pixels``, ``resolvable``, ...); each body is rasterised on the
    scene grid (pixel centres) unless ``label_raster`` gives, per pixel, the body's row position
    + 1 (0 = none). ``pixel_flags``: ``black_odorous_pixels`` on the same scene. Over each body's
    valid pixels (all of B, G, R finite) it adds:

    * ``n_valid``; ``blue_mean``, ``green_mean``, ``red_mean`` (the scene's units);
    * ``boi_mean``, ``ndbwi_mean``, ``purity_mean``, ``dominant_wavelength_mean``,
      ``brightness_mean`` (reflectance): the indices *of the body's mean spectrum*, i.e. the
      colour a radiometer over the body would record, not a mean of noisy per-pixel ratios;
    * ``share_<method>`` and ``share_suspect``: the share of valid pixels flagged;
    * ``methods_agreeing``: comma list of the methods flagging >= ``min_share`` of the pixels;
    * ``status``: ``too_small`` if the body is not resolvable (column ``resolvable``, else fewer
      than ``min_pixels`` pixels, 9 = a 3x3 block as in ``indices.waterbodies``); else
      ``no_valid_observation`` if no valid pixel; else ``suspect_black_odorous`` if ``share_suspect >= min_share`` and at least ``min_votes``
      methods agree; else ``ordinary``;
    * ``confidence`` in [0, 1], a score of the black-odorous evidence (not a probability):
      (methods agreeing / methods) x share_suspect, x ``small_body_weight`` when not
      resolvable; 0 without a valid pixel;
    * ``list``: ``national`` if ``area_m2 >= 2000`` else ``provincial``, the list a confirmed
      body would go on (生态环境部办公厅/水利部办公厅/农业农村部办公厅, 农村黑臭水体治理工作指南,
      2023 revision: water area >= 2000 m2 -> national supervision list, smaller -> provincial);
    * ``verification``: ``unverified``. The guidance decides by senses, public survey or water
      tests on site; remote sensing only points where to look.
    """
    import geopandas as gpd

    scene2 = _single_date(scene, "scene")
    flags2 = _single_date(pixel_flags, "pixel_flags")
    b_da, g_da, r_da = _bands(scene2, "classify_water_bodies")
    methods = [m for m in str(flags2.attrs.get("methods", "")).split(",") if m] or \
        [m for m in ALL_METHODS if f"{m}_flag" in flags2]
    gdf = gpd.GeoDataFrame(water_bodies).copy()
    n = len(gdf)
    lab = _labels(gdf, scene2, label_raster)
    flag_names = [f"{m}_flag" for m in methods] + ["is_suspect"]
    missing = [v for v in flag_names if v not in flags2]
    if missing:
        raise ValueError(f"pixel_flags lacks {', '.join(missing)} (pass the output of black_odorous_pixels)")
    if tuple(flags2["is_suspect"].shape) != lab.shape:
        raise ValueError(f"pixel_flags are {flags2['is_suspect'].shape}, the scene (y, x) {lab.shape}")
    # one pass over the (possibly lazy) inputs: bands and flags share their source graph
    both = xr.Dataset({"blue": b_da.variable, "green": g_da.variable, "red": r_da.variable,
                       **{v: flags2[v].variable for v in flag_names}}).compute()
    b, g, r = (np.asarray(both[k].values, dtype="float64") for k in ("blue", "green", "red"))
    if b.shape != lab.shape:
        raise ValueError(f"scene bands are {b.shape}, expected (y, x) {lab.shape}")
    valid = np.isfinite(b) & np.isfinite(g) & np.isfinite(r) & (lab > 0)
    idx = lab[valid]

    def per_body(weights=None):
        return np.bincount(idx, weights=weights, minlength=n + 1)[1:].astype("float64")

    n_pix = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    n_valid = per_body()
    with np.errstate(divide="ignore", invalid="ignore"):
        means = {k: per_body(v[valid]) / n_valid for k, v in (("blue", b), ("green", g), ("red", r))}
        shares = {}
        for m in methods:
            f = np.asarray(both[f"{m}_flag"].values, dtype=bool)
            shares[m] = per_body(f[valid].astype("float64")) / n_valid
        share_suspect = per_body(np.asarray(both["is_suspect"].values, dtype=bool)[valid].astype("float64")) / n_valid
    mb, mg, mr = means["blue"], means["green"], means["red"]
    m = np.asarray(matrix, dtype="float64")
    xyz = m @ np.vstack([mr, mg, mb])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xyz.sum(axis=0)
        cx, cy = np.where(s > 0, xyz[0] / s, np.nan), np.where(s > 0, xyz[1] / s, np.nan)
    wl, purity = _dominant_and_purity(cx, cy)

    if "resolvable" in gdf:
        resolvable = gdf["resolvable"].fillna(False).astype(bool).to_numpy()
    else:
        resolvable = n_pix >= min_pixels
    area = gdf["area_m2"].to_numpy(dtype="float64") if "area_m2" in gdf else gdf.geometry.area.to_numpy()

    agreeing, status, confidence = [], [], []
    for i in range(n):
        agree = [mth for mth in methods if n_valid[i] > 0 and shares[mth][i] >= min_share]
        agreeing.append(",".join(agree))
        if not resolvable[i]:
            st = "too_small"
        elif n_valid[i] == 0:
            st = "no_valid_observation"
        elif share_suspect[i] >= min_share and len(agree) >= min_votes:
            st = "suspect_black_odorous"
        else:
            st = "ordinary"
        status.append(st)
        if n_valid[i] == 0:
            confidence.append(0.0)
        else:
            c = len(agree) / len(methods) * float(share_suspect[i])
            confidence.append(float(c * (1.0 if resolvable[i] else small_body_weight)))

    gdf["n_valid"] = n_valid.astype("int64")
    gdf["blue_mean"], gdf["green_mean"], gdf["red_mean"] = mb, mg, mr
    gdf["boi_mean"] = _boi(mb, mg, mr)
    gdf["ndbwi_mean"] = _ndbwi(mg, mr)
    gdf["purity_mean"] = purity
    gdf["dominant_wavelength_mean"] = wl
    gdf["brightness_mean"] = np.max(np.vstack([mb, mg, mr]), axis=0) * _to_reflectance(units)
    for mth in methods:
        gdf[f"share_{mth}"] = shares[mth]
    gdf["share_suspect"] = share_suspect
    gdf["methods_agreeing"] = agreeing
    gdf["status"] = status
    gdf["confidence"] = np.round(np.asarray(confidence, dtype="float64"), 4)
    gdf["list"] = np.where(area >= national_min_area_m2, "national", "provincial")
    gdf["verification"] = "unverified"
    return gdf
