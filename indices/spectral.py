"""Spectral indices on a Scene (``xarray.Dataset`` of surface-reflectance bands named by
STAC ``eo:common_name``), lazy under Dask.

Conventions shared by every function here:

* **NIR**: ``nir`` when the scene has it, else ``nir08``. Sentinel-2 has both (B08 at 842 nm,
  10 m, and B8A at 865 nm, 20 m): B08 is used. Landsat 8/9 OLI has only ``nir08`` (B5, 865 nm).
  In band requirements and error messages ``"nir"`` stands for either.
* Arithmetic in float64, result **float32**, named after the index, with attrs ``long_name``,
  ``formula`` and ``source``. Coordinates (``time``, ``y``, ``x``, ``spatial_ref``) are kept,
  so ``.rio.crs`` still works on the result.
* A zero denominator gives **NaN**, never inf; so does a result beyond the float32 range.
  NaN (masked) input pixels stay NaN.
* Nothing is computed: Dask-backed bands give a Dask-backed index (one task per chunk).

How: each index is a per-pixel NumPy kernel (the formula, on float64 arrays) run by
``xarray.apply_ufunc`` over the bands (``dask="parallelized"`` under Dask), through
:func:`pixelwise`, which evaluates it in slabs of :data:`SLAB_PIXELS` pixels so that the
float64 temporaries stay in the CPU cache: the float64 arithmetic then costs about what the
float32 one-liner costs (``docs/performance.md``, benchmark 1), with the same float32 result,
bit for bit, as evaluating the formula on whole float64 arrays.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import xarray as xr

from .errors import IndicesError, MissingBandError

NIR_BANDS: tuple[str, ...] = ("nir", "nir08")
_F32_MAX = float(np.finfo(np.float32).max)

#: name -> (long name, source). Formulas are set per call (they show the parameters used).
_META: dict[str, tuple[str, str]] = {
    "ndvi": ("Normalized Difference Vegetation Index",
             "Rouse, Haas, Schell & Deering 1974, Monitoring vegetation systems in the Great Plains "
             "with ERTS, NASA SP-351: 309-317"),
    "evi": ("Enhanced Vegetation Index",
            "Huete, Liu, Batchily & van Leeuwen 1997, Remote Sens. Environ. 59(3): 440-451, "
            "doi:10.1016/S0034-4257(96)00112-5; coefficients of Huete et al. 2002, Remote Sens. "
            "Environ. 83: 195-213"),
    "savi": ("Soil-Adjusted Vegetation Index",
             "Huete 1988, Remote Sens. Environ. 25(3): 295-309, doi:10.1016/0034-4257(88)90106-X"),
    "ndre": ("Normalized Difference Red-Edge index (NIR / red-edge 1)",
             "Gitelson & Merzlyak 1994, J. Photochem. Photobiol. B 22(3): 247-252, "
             "doi:10.1016/1011-1344(93)06963-4"),
    "ndwi": ("Normalized Difference Water Index (McFeeters)",
             "McFeeters 1996, Int. J. Remote Sens. 17(7): 1425-1432, doi:10.1080/01431169608948714"),
    "mndwi": ("Modified Normalized Difference Water Index",
              "Xu 2006, Int. J. Remote Sens. 27(14): 3025-3033, doi:10.1080/01431160600589179"),
    "awei_nsh": ("Automated Water Extraction Index, no-shadow form",
                 "Feyisa, Meilby, Fensholt & Proud 2014, Remote Sens. Environ. 140: 23-35, "
                 "doi:10.1016/j.rse.2013.08.029, Eq. 1"),
    "awei_sh": ("Automated Water Extraction Index, shadow form",
                "Feyisa, Meilby, Fensholt & Proud 2014, Remote Sens. Environ. 140: 23-35, "
                "doi:10.1016/j.rse.2013.08.029, Eq. 2"),
    "exg": ("Excess Green index on chromatic coordinates",
            "Woebbecke, Meyer, Von Bargen & Mortensen 1995, Trans. ASAE 38(1): 259-269, "
            "doi:10.13031/2013.27838"),
    "vari": ("Visible Atmospherically Resistant Index",
             "Gitelson, Kaufman, Stark & Rundquist 2002, Remote Sens. Environ. 80(1): 76-87, "
             "doi:10.1016/S0034-4257(01)00289-9"),
    "ngrdi": ("Normalized Green-Red Difference Index (= -NDTI)",
              "Tucker 1979, Remote Sens. Environ. 8(2): 127-150, doi:10.1016/0034-4257(79)90013-0; as a "
              "turbidity index with the opposite sign (NDTI): Lacaux et al. 2007, Remote Sens. Environ. "
              "106(1): 66-74, doi:10.1016/j.rse.2006.07.012"),
    "blue_red_ndi": ("Normalized blue-red difference (= -IKAW, the Kawashima index with the sign reversed)",
                     "Kawashima & Nakatani 1998, Ann. Bot. 81(1): 49-54, doi:10.1006/anbo.1997.0544 "
                     "(IKAW = (red - blue) / (red + blue))"),
    "bcc": ("Blue chromatic coordinate",
            "Gillespie, Kahle & Walker 1987, Remote Sens. Environ. 22(3): 343-365, "
            "doi:10.1016/0034-4257(87)90088-5"),
    "ndbi": ("Normalized Difference Built-up Index",
             "Zha, Gao & Ni 2003, Int. J. Remote Sens. 24(3): 583-594, doi:10.1080/01431160304987"),
    "bsi": ("Bare Soil Index",
            "Rikimaru, Roy & Miyatake 2002, Tropical forest cover density mapping, "
            "Tropical Ecology 43(1): 39-47"),
}


def nir_band(scene: xr.Dataset) -> str | None:
    """The band used as NIR: ``nir`` if present, else ``nir08``, else ``None``."""
    for name in NIR_BANDS:
        if name in scene.data_vars:
            return name
    return None


def _resolve(scene: xr.Dataset, name: str) -> str | None:
    if name == "nir":
        return nir_band(scene)
    return name if name in scene.data_vars else None


def missing_bands(scene: xr.Dataset, bands: Sequence[str]) -> list[str]:
    """Which of ``bands`` the scene lacks (``"nir"`` is satisfied by ``nir08``)."""
    return [b for b in bands if _resolve(scene, b) is None]


def _bands(scene: xr.Dataset, index: str, names: Sequence[str]) -> list[xr.DataArray]:
    """The scene's bands ``names`` (as stored: the kernels promote each slab to float64)."""
    if not isinstance(scene, xr.Dataset):
        raise IndicesError(f"{index}: expected a Scene (xarray.Dataset of bands), got {type(scene).__name__}")
    missing = missing_bands(scene, names)
    if missing:
        raise MissingBandError(index, missing, [str(n) for n in scene.data_vars])
    return [scene[_resolve(scene, n)] for n in names]


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``; NaN where ``den == 0`` once :func:`pixelwise` has guarded the result.

    A zero denominator gives inf (or NaN for 0 / 0), which the guard turns into NaN; every
    kernel here passes a quotient on only through operations that keep it infinite or NaN
    (a product with a constant, never a division by it), so the index is NaN there, as if
    the denominator had been masked first, without the masking's two passes over the slab."""
    return num / den


#: pixels per slab in :func:`pixelwise`: a slab's float64 temporaries (512 KiB each) stay in
#: the CPU cache, yet the Python loop runs only once per 65,536 pixels
SLAB_PIXELS = 1 << 16


def pixelwise(kernel: Callable[..., np.ndarray], *arrays: np.ndarray, **params: float) -> np.ndarray:
    """``kernel(*arrays, **params)`` evaluated on float64 copies of the arrays, slab by slab,
    as float32, with NaN where the result is NaN, infinite or beyond the float32 range.

    The same operations in the same order as on whole float64 arrays, so the result is the
    same bit for bit; only the temporaries are small (slabs of whole rows, about
    ``SLAB_PIXELS`` pixels). A kernel gets its own copies of the slab and may overwrite them."""
    arrays = np.broadcast_arrays(*[np.asarray(a) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=np.float32)
    if out.size == 0:
        return out
    ncols = out.shape[-1] if out.ndim else 1
    rows = [a.reshape(-1, ncols) for a in arrays]  # views for C-ordered arrays and their chunks
    dst = out.reshape(-1, ncols)
    step = max(1, SLAB_PIXELS // ncols)
    shape = (min(step, dst.shape[0]), ncols)
    ins = [np.empty(shape, dtype=np.float64) for _ in rows]
    mag, bad = np.empty(shape, dtype=np.float64), np.empty(shape, dtype=bool)
    with np.errstate(all="ignore"):
        for i in range(0, dst.shape[0], step):
            k = min(step, dst.shape[0] - i)
            for buf, a in zip(ins, rows):
                buf[:k] = a[i:i + k]
            res = np.asarray(kernel(*[buf[:k] for buf in ins], **params), dtype=np.float64)
            np.greater(np.abs(res, out=mag[:k]), _F32_MAX, out=bad[:k])  # inf and beyond float32
            np.putmask(res, bad[:k], np.nan)  # (NaN stays NaN)
            dst[i:i + k] = res
    return out


def _apply(kernel: Callable[..., np.ndarray], bands: Sequence[xr.DataArray], **params: float) -> xr.DataArray:
    """The kernel over the bands as a float32 DataArray with their coordinates (lazy under Dask)."""
    out = xr.apply_ufunc(functools.partial(pixelwise, kernel, **params), *bands, dask="parallelized",
                         output_dtypes=[np.float32], keep_attrs=True)  # True keeps spatial_ref's CRS
    out.attrs = {}
    return out


#: scene attrs an index keeps, so guards downstream know what its inputs were (``indices.units``)
CARRIED_ATTRS = ("reflectance_units", "reflectance_level", "sensor")


def _index(scene: xr.Dataset, name: str, bands: Sequence[str], kernel: Callable[..., np.ndarray], formula: str,
           **params: float) -> xr.DataArray:
    """Index ``name`` of the scene: ``kernel`` on ``bands`` (in that order), named, with attrs."""
    out = _apply(kernel, _bands(scene, name, bands), **params)
    long_name, source = _META[name]
    out.name = name
    out.attrs = {"long_name": long_name, "formula": formula, "source": source, "units": "1"}
    out.attrs.update({k: scene.attrs[k] for k in CARRIED_ATTRS if k in scene.attrs})
    return out


# --------------------------------------------------------------------------- kernels
# Per-pixel formulas on float64 NumPy arrays (the functions below say whose formula each is).
def _nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) (``pixelwise`` hands kernels their own float64 copies: ``a`` may be
    overwritten, which spares two allocations per slab)."""
    num = a - b
    return _div(num, np.add(a, b, out=a))


def _evi(n, r, b, *, G: float, C1: float, C2: float, L: float) -> np.ndarray:
    return G * _div(n - r, n + C1 * r - C2 * b + L)


def _savi(n, r, *, L: float) -> np.ndarray:
    return (1.0 + L) * _div(n - r, n + r + L)


def _awei_nsh(g, s1, n, s2) -> np.ndarray:
    return 4.0 * (g - s1) - (0.25 * n + 2.75 * s2)


def _awei_sh(b, g, n, s1, s2) -> np.ndarray:
    return b + 2.5 * g - 1.5 * (n + s1) - 0.25 * s2


def _share(r, g, b, *, which: int) -> np.ndarray:
    return _div((r, g, b)[which], r + g + b)


def _exg(r, g, b) -> np.ndarray:
    return _div(2.0 * g - r - b, r + g + b)


def _vari(g, r, b) -> np.ndarray:
    return _div(g - r, g + r - b)


def _bsi(s1, r, n, b) -> np.ndarray:
    return _div((s1 + r) - (n + b), (s1 + r) + (n + b))


# --------------------------------------------------------------------------- vegetation
def ndvi(scene: xr.Dataset) -> xr.DataArray:
    """NDVI = (NIR - red) / (NIR + red) (Rouse et al. 1974). In [-1, 1] for non-negative
    reflectance."""
    return _index(scene, "ndvi", ("nir", "red"), _nd, "(nir - red) / (nir + red)")


def evi(scene: xr.Dataset, *, G: float = 2.5, C1: float = 6.0, C2: float = 7.5, L: float = 1.0) -> xr.DataArray:
    """EVI = G (NIR - red) / (NIR + C1 red - C2 blue + L) (Huete et al. 1997; MODIS
    coefficients G=2.5, C1=6, C2=7.5, L=1 of Huete et al. 2002). Unbounded in theory (the
    denominator can vanish); vegetation lies in about [0, 1]."""
    formula = f"{G} * (nir - red) / (nir + {C1} * red - {C2} * blue + {L})"
    return _index(scene, "evi", ("nir", "red", "blue"), _evi, formula, G=G, C1=C1, C2=C2, L=L)


def savi(scene: xr.Dataset, *, L: float = 0.5) -> xr.DataArray:
    """SAVI = (1 + L)(NIR - red) / (NIR + red + L), L = 0.5 for intermediate vegetation
    density (Huete 1988). In [-(1+L), 1+L] for non-negative reflectance."""
    return _index(scene, "savi", ("nir", "red"), _savi, f"(1 + {L}) * (nir - red) / (nir + red + {L})", L=L)


def ndre(scene: xr.Dataset) -> xr.DataArray:
    """NDRE = (NIR - rededge1) / (NIR + rededge1).

    Gitelson & Merzlyak (1994) defined it on 750 and 705 nm. Here red-edge is ``rededge1``
    (Sentinel-2 B5, 705 nm) and NIR is ``nir`` (B08, 842 nm), or ``nir08`` (B8A, 865 nm) when
    B08 is absent: the NDREI of the Awesome Spectral Indices catalogue. Variants exist and give
    other numbers: Barnes et al. (2000) used 790/720 nm; Sentinel-2 studies also use
    (B8A - B5)/(B8A + B5), (B7 - B5)/(B7 + B5) or (B6 - B5)/(B6 + B5). Compare NDRE values only
    between the same band pair. In [-1, 1] for non-negative reflectance.
    """
    return _index(scene, "ndre", ("nir", "rededge1"), _nd, "(nir - rededge1) / (nir + rededge1)")


# --------------------------------------------------------------------------- water
def ndwi(scene: xr.Dataset) -> xr.DataArray:
    """NDWI = (green - NIR) / (green + NIR) (McFeeters 1996); water > 0. In [-1, 1] for
    non-negative reflectance. (Not Gao's 1996 NIR/SWIR NDWI for leaf water.)"""
    return _index(scene, "ndwi", ("green", "nir"), _nd, "(green - nir) / (green + nir)")


def mndwi(scene: xr.Dataset) -> xr.DataArray:
    """MNDWI = (green - SWIR1) / (green + SWIR1) with SWIR1 = ``swir16`` (Xu 2006); water > 0,
    and built-up land, which NDWI confuses with water, < 0. In [-1, 1] for non-negative
    reflectance."""
    return _index(scene, "mndwi", ("green", "swir16"), _nd, "(green - swir16) / (green + swir16)")


def awei_nsh(scene: xr.Dataset) -> xr.DataArray:
    """AWEI_nsh = 4 (green - SWIR1) - (0.25 NIR + 2.75 SWIR2) (Feyisa et al. 2014, Eq. 1, on
    Landsat TM bands 2, 5, 4, 7); water > 0, for scenes without dark shadow or built-up.

    Note the sign of SWIR2: the paper subtracts the whole bracket, so SWIR2 enters with -2.75.
    Some catalogues (the Awesome Spectral Indices list, as shipped by spyndex 0.12:
    ``4.0*(G-S1)-0.25*N+2.75*S2``) carry +2.75; that version differs from this one by
    exactly 5.5 SWIR2. This follows the paper.
    """
    return _index(scene, "awei_nsh", ("green", "swir16", "nir", "swir22"), _awei_nsh,
                  "4 * (green - swir16) - (0.25 * nir + 2.75 * swir22)")


def awei_sh(scene: xr.Dataset) -> xr.DataArray:
    """AWEI_sh = blue + 2.5 green - 1.5 (NIR + SWIR1) - 0.25 SWIR2 (Feyisa et al. 2014, Eq. 2);
    water > 0, also removes shadow pixels (mountain or building shadow) that AWEI_nsh keeps."""
    return _index(scene, "awei_sh", ("blue", "green", "nir", "swir16", "swir22"), _awei_sh,
                  "blue + 2.5 * green - 1.5 * (nir + swir16) - 0.25 * swir22")


# --------------------------------------------------------------------------- visible (RGB drones)
def chromatic_coordinates(scene: xr.Dataset) -> xr.Dataset:
    """Chromatic coordinates r, g, b = band / (red + green + blue) (Woebbecke et al. 1995);
    r + g + b = 1 wherever red + green + blue != 0, NaN where it is 0."""
    rgb = _bands(scene, "chromatic coordinates", ("red", "green", "blue"))
    return xr.Dataset({k: _apply(_share, rgb, which=i) for i, k in enumerate(("r", "g", "b"))})


def exg(scene: xr.Dataset) -> xr.DataArray:
    """ExG = 2g - r - b on chromatic coordinates (Woebbecke et al. 1995), i.e.
    (2 green - red - blue) / (red + green + blue). In [-1, 2] for non-negative reflectance.
    (Some catalogues, e.g. spyndex, list ExG on raw bands, 2G - R - B.)"""
    return _index(scene, "exg", ("red", "green", "blue"), _exg,
                  "2g - r - b, with r, g, b = red, green, blue / (red + green + blue)")


def vari(scene: xr.Dataset) -> xr.DataArray:
    """VARI = (green - red) / (green + red - blue) (Gitelson et al. 2002). Unbounded: the
    denominator vanishes when blue = green + red."""
    return _index(scene, "vari", ("green", "red", "blue"), _vari, "(green - red) / (green + red - blue)")


# --------------------------------------------------------------------------- visible-only water candidates
# Measured and rejected as water indices (see indices.water.water_index_for and
# docs/validation.md): none is in INDICES, so the flow writes no product from them.
def ngrdi(scene: xr.Dataset) -> xr.DataArray:
    """NGRDI = (green - red) / (green + red) (Tucker 1979); NDTI (Lacaux et al. 2007) is its
    negative. In [-1, 1] for non-negative reflectance. Positive for clear water *and* for green
    vegetation, negative for turbid water (red >= green)."""
    return _index(scene, "ngrdi", ("green", "red"), _nd, "(green - red) / (green + red)")


def blue_red_ndi(scene: xr.Dataset) -> xr.DataArray:
    """(blue - red) / (blue + red), i.e. minus the Kawashima index IKAW = (red - blue) /
    (red + blue) (Kawashima & Nakatani 1998). In [-1, 1] for non-negative reflectance.

    Positive where blue exceeds red: clear water (and sky-lit shade) in **surface** reflectance;
    vegetation, soil and built-up land are negative. Turbid water (red >= blue) and black-odorous
    water (dark, spectrally flat, red ~ green > blue: Shen et al. 2019) are negative too, so
    it finds clear water only. On top-of-atmosphere data Rayleigh path radiance raises blue
    over every surface: the index is meaningless there without an atmospheric correction
    (e.g. dark-object subtraction, Chavez 1988)."""
    return _index(scene, "blue_red_ndi", ("blue", "red"), _nd, "(blue - red) / (blue + red)")


def bcc(scene: xr.Dataset) -> xr.DataArray:
    """Blue chromatic coordinate b = blue / (red + green + blue) (Gillespie et al. 1987; the
    ``b`` of ``chromatic_coordinates``). In [0, 1]; 1/3 for a grey surface. High for clear
    water in surface reflectance; same limits as ``blue_red_ndi``."""
    return _index(scene, "bcc", ("red", "green", "blue"), _share, "blue / (red + green + blue)", which=2)


# --------------------------------------------------------------------------- built-up, bare soil
def ndbi(scene: xr.Dataset) -> xr.DataArray:
    """NDBI = (SWIR1 - NIR) / (SWIR1 + NIR) (Zha et al. 2003); built-up and bare land > 0.
    In [-1, 1] for non-negative reflectance."""
    return _index(scene, "ndbi", ("swir16", "nir"), _nd, "(swir16 - nir) / (swir16 + nir)")


def bsi(scene: xr.Dataset) -> xr.DataArray:
    """BSI = ((SWIR1 + red) - (NIR + blue)) / ((SWIR1 + red) + (NIR + blue)) (Rikimaru et al.
    2002; "BI" in the Awesome Spectral Indices list); bare soil > 0. In [-1, 1] for
    non-negative reflectance."""
    return _index(scene, "bsi", ("swir16", "red", "nir", "blue"), _bsi,
                  "((swir16 + red) - (nir + blue)) / ((swir16 + red) + (nir + blue))")


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class IndexSpec:
    """One index: its function, the bands it needs (``"nir"`` = ``nir`` or ``nir08``), its
    source and its theoretical range for non-negative reflectance (``None``: unbounded)."""

    name: str
    func: Callable[[xr.Dataset], xr.DataArray]
    bands: tuple[str, ...]
    source: str
    valid_range: tuple[float, float] | None
    long_name: str = ""
    #: the formula holds constants defined on reflectance (EVI's +1 and 6/7.5, SAVI's L, AWEI's
    #: fitted weights): its values mean nothing on relative (uncalibrated) digital numbers
    needs_reflectance: bool = False

    def missing(self, scene: xr.Dataset) -> list[str]:
        return missing_bands(scene, self.bands)


def _spec(func, bands, valid_range, needs_reflectance: bool = False) -> IndexSpec:
    name = func.__name__
    return IndexSpec(name, func, tuple(bands), _META[name][1], valid_range, _META[name][0], needs_reflectance)


INDICES: dict[str, IndexSpec] = {
    s.name: s
    for s in (
        _spec(ndvi, ("nir", "red"), (-1.0, 1.0)),
        _spec(evi, ("nir", "red", "blue"), None, needs_reflectance=True),
        _spec(savi, ("nir", "red"), (-1.5, 1.5), needs_reflectance=True),
        _spec(ndre, ("nir", "rededge1"), (-1.0, 1.0)),
        _spec(ndwi, ("green", "nir"), (-1.0, 1.0)),
        _spec(mndwi, ("green", "swir16"), (-1.0, 1.0)),
        _spec(awei_nsh, ("green", "swir16", "nir", "swir22"), None, needs_reflectance=True),
        _spec(awei_sh, ("blue", "green", "nir", "swir16", "swir22"), None, needs_reflectance=True),
        _spec(exg, ("red", "green", "blue"), (-1.0, 2.0)),
        _spec(vari, ("green", "red", "blue"), None),
        _spec(ndbi, ("swir16", "nir"), (-1.0, 1.0)),
        _spec(bsi, ("swir16", "red", "nir", "blue"), (-1.0, 1.0)),
    )
}
"""Every index of this module by name. ``valid_range`` is for non-negative reflectance."""


def compute_indices(scene: xr.Dataset, names: Sequence[str] | None = None) -> tuple[xr.Dataset, dict[str, str]]:
    """The indices in ``names`` (default: all of ``INDICES``) that the scene's bands allow.

    Returns ``(dataset, skipped)``: a Dataset with one float32 variable per computed index
    (lazy under Dask, the scene's coordinates and attrs), and ``{index: reason}`` for the
    indices the bands do not allow, e.g. ``"needs nir, swir16; scene has red, green, blue"``,
    and, on relative (uncalibrated) values, for those whose formula holds constants defined on
    reflectance (``IndexSpec.needs_reflectance``: EVI, SAVI, AWEI).
    Missing bands are never an error here; an unknown index name is (``IndicesError``).
    """
    if not isinstance(scene, xr.Dataset):
        raise IndicesError(f"compute_indices expects a Scene (xarray.Dataset of bands), got {type(scene).__name__}")
    wanted = list(INDICES) if names is None else [str(n) for n in names]
    unknown = [n for n in wanted if n not in INDICES]
    if unknown:
        raise IndicesError(f"unknown index {', '.join(unknown)}; known: {', '.join(INDICES)}")
    present = ", ".join(str(n) for n in scene.data_vars) or "no bands"
    relative = str(scene.attrs.get("reflectance_units") or "reflectance") == "relative"
    out: dict[str, xr.DataArray] = {}
    skipped: dict[str, str] = {}
    for name in wanted:
        spec = INDICES[name]
        lacking = spec.missing(scene)
        if lacking:
            skipped[name] = f"needs {', '.join(lacking)}; scene has {present}"
        elif spec.needs_reflectance and relative:
            skipped[name] = (f"{name}'s formula holds constants defined on reflectance ({spec.source}), but the "
                             f"input is relative (uncalibrated digital numbers); give the imagery's scale and offset")
        else:
            out[name] = spec.func(scene)
    ds = xr.Dataset(out, coords=scene.coords, attrs=dict(scene.attrs))
    return ds, skipped
