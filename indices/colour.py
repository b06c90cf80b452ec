"""CIE 1931 colorimetry of water from three visible bands: XYZ, chromaticity (x, y), dominant
wavelength and excitation purity.

Used by the CIE colour-purity test for black-odorous water (Shen et al. 2019, IEEE TGRS 57(9):
6577-6590, doi:10.1109/TGRS.2019.2907283). Chromaticity is a ratio, so everything here is
unit-free: the same water gives the same (x, y), dominant wavelength and purity whether the
bands hold surface reflectance rho or remote-sensing reflectance Rrs = rho / pi.

Conventions (CIE 015:2004, Colorimetry, 3rd ed.):

* reference white: the equal-energy point E, (x, y) = (1/3, 1/3): the colour of a spectrally
  flat reflectance under an equal-energy illuminant, as in the water-colour literature
  (e.g. Wang S. et al. 2015, Forel-Ule index from MODIS, Opt. Express 23(8): 10243);
* dominant wavelength: where the ray from the white point through (x, y) meets the spectral
  locus (380-700 nm, 5 nm table, linear in between);
* purples: when the ray meets the purple line (380 nm to 700 nm), the dominant wavelength is
  undefined; we return the *complementary* wavelength (where the opposite ray meets the
  locus) with a **negative sign**, the CIE convention (also what colour-science returns);
* excitation purity: |white -> sample| / |white -> locus (or purple line)| along that ray:
  0 at white, 1 on the locus. Samples outside the locus (negative bands) give purity > 1.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .errors import MissingBandError

#: CIE 1931 2-degree standard observer, chromaticity coordinates of the spectral locus,
#: 380-700 nm at 5 nm (CIE 015:2004 tables; 700 nm coincides with 780 nm to 1e-4).
#: Rows: (wavelength nm, x, y).
CIE1931_LOCUS = np.array([
    (380, 0.17411, 0.00496), (385, 0.17401, 0.00498), (390, 0.17380, 0.00492), (395, 0.17356, 0.00492),
    (400, 0.17334, 0.00480), (405, 0.17302, 0.00478), (410, 0.17258, 0.00480), (415, 0.17209, 0.00483),
    (420, 0.17141, 0.00510), (425, 0.17030, 0.00579), (430, 0.16888, 0.00690), (435, 0.16690, 0.00856),
    (440, 0.16441, 0.01086), (445, 0.16110, 0.01379), (450, 0.15664, 0.01770), (455, 0.15099, 0.02274),
    (460, 0.14396, 0.02970), (465, 0.13550, 0.03988), (470, 0.12412, 0.05780), (475, 0.10959, 0.08684),
    (480, 0.09129, 0.13270), (485, 0.06871, 0.20072), (490, 0.04539, 0.29498), (495, 0.02346, 0.41270),
    (500, 0.00817, 0.53842), (505, 0.00386, 0.65482), (510, 0.01387, 0.75019), (515, 0.03885, 0.81202),
    (520, 0.07430, 0.83380), (525, 0.11416, 0.82621), (530, 0.15472, 0.80586), (535, 0.19288, 0.78163),
    (540, 0.22962, 0.75433), (545, 0.26578, 0.72432), (550, 0.30160, 0.69231), (555, 0.33736, 0.65885),
    (560, 0.37310, 0.62445), (565, 0.40874, 0.58961), (570, 0.44406, 0.55471), (575, 0.47877, 0.52020),
    (580, 0.51249, 0.48659), (585, 0.54479, 0.45443), (590, 0.57515, 0.42423), (595, 0.60293, 0.39650),
    (600, 0.62704, 0.37249), (605, 0.64823, 0.35139), (610, 0.66576, 0.33401), (615, 0.68008, 0.31975),
    (620, 0.69150, 0.30834), (625, 0.70061, 0.29930), (630, 0.70792, 0.29203), (635, 0.71403, 0.28593),
    (640, 0.71903, 0.28093), (645, 0.72303, 0.27695), (650, 0.72599, 0.27401), (655, 0.72827, 0.27173),
    (660, 0.72997, 0.27003), (665, 0.73109, 0.26891), (670, 0.73199, 0.26801), (675, 0.73272, 0.26728),
    (680, 0.73342, 0.26658), (685, 0.73405, 0.26595), (690, 0.73439, 0.26561), (695, 0.73459, 0.26541),
    (700, 0.73469, 0.26531),
], dtype="float64")

#: equal-energy white E
WHITE_E: tuple[float, float] = (1.0 / 3.0, 1.0 / 3.0)

#: CIE 1931 RGB -> XYZ (primaries 700.0, 546.1, 435.8 nm; CIE 1931, e.g. Wyszecki & Stiles 1982,
#: Color Science, 2nd ed.), normalised so that Y = R + 4.5907 G + 0.0601 B.
#: Rows X, Y, Z; columns R, G, B. R = G = B maps to x = y = 1/3 (each row sums to 5.6508).
#: The sensor's red, green, blue bands stand in for the CIE primaries: the usual three-band
#: approximation of the Chinese black-odorous / water-colour literature for GF-1/GF-2 PMS
#: (no sensor-specific coefficients are published for Sentinel-2 B2-B4 alone; Van der Woerd &
#: Wernand 2018, Remote Sens. 10(2): 180, need MSI B1-B5). Pass ``matrix=`` to use others.
CIE_RGB_TO_XYZ = np.array([
    [2.7689, 1.7517, 1.1302],
    [1.0000, 4.5907, 0.0601],
    [0.0000, 0.0565, 5.5943],
], dtype="float64")


#: Each sensor's own RGB -> XYZ (rows X, Y, Z; columns red, green, blue): the least-squares fit
#: of the CIE 1931 2-degree colour matching functions (CIE 015:2018 tables) by the sensor's
#: unit-area blue, green and red spectral responses over 380-780 nm, each row rescaled so that
#: a flat spectrum maps onto white E, Y of a flat unit reflectance = 1. Derived by
#: ``flows.evaluation.srf.rgb_to_xyz_matrix`` from the tables in ``flows/evaluation/data/srf``
#: (``tests/test_testbed.py`` re-derives them). Sentinel-2A MSI B2-B4 (ESA SRF), Landsat 8
#: OLI B2-B4 (NASA/USGS RSR), GF-2 PMS B1-B3 (**Gaussian approximations** of the published band
#: edges: no measured GF-2 table was available). Far better than the CIE RGB primaries, whose
#: 435.8 nm blue and 700 nm red no sensor band has, but three broad bands cannot reproduce the
#: CMFs exactly: purity from any of them is an approximation of the eye's.
SENSOR_RGB_TO_XYZ: dict[str, np.ndarray] = {
    "sentinel-2a-msi": np.array([
        [0.1423507903, 0.6811781564, 0.1764710533],
        [0.0292190212, 0.6149457572, 0.3558352217],
        [0.0000000541, 0.0052501403, 0.9947498056],
    ], dtype="float64"),
    "landsat-8-oli": np.array([
        [0.1812364638, 0.6846996162, 0.1340639201],
        [0.0519093047, 0.7743754563, 0.1737152390],
        [0.0000040878, 0.0094548650, 0.9905410472],
    ], dtype="float64"),
    "gf-2-pms": np.array([
        [0.2897830323, 0.6872413373, 0.0229756305],
        [0.0794011369, 0.8387286546, 0.0818702085],
        [0.0061952662, -0.2454586971, 1.2392634309],
    ], dtype="float64"),
}

#: scene ``sensor`` attributes (the Scene contract's names) -> the matrix to use
SENSOR_ALIASES: dict[str, str] = {
    "sentinel-2-l2a": "sentinel-2a-msi", "sentinel-2": "sentinel-2a-msi", "sentinel-2a": "sentinel-2a-msi",
    "sentinel-2b": "sentinel-2a-msi",  # S2B's B2-B4 differ from S2A's by a few nm; its table is not stored
    "landsat-c2-l2": "landsat-8-oli", "landsat-8": "landsat-8-oli", "landsat-9": "landsat-8-oli",
    "gf-2": "gf-2-pms", "gf2": "gf-2-pms", "gf-2-pms1": "gf-2-pms", "gf-2-pms2": "gf-2-pms",
}


def rgb_to_xyz_matrix_for(sensor: str | None) -> np.ndarray:
    """The RGB -> XYZ matrix of a scene's ``sensor`` (``SENSOR_RGB_TO_XYZ`` by name or alias);
    the CIE 1931 RGB primaries (``CIE_RGB_TO_XYZ``) for a sensor without a stored response
    (e.g. a drone camera)."""
    key = str(sensor or "").lower()
    key = SENSOR_ALIASES.get(key, key)
    return SENSOR_RGB_TO_XYZ.get(key, CIE_RGB_TO_XYZ)


def rgb_to_xyz(scene: xr.Dataset, *, matrix: np.ndarray = CIE_RGB_TO_XYZ) -> xr.Dataset:
    """Tristimulus X, Y, Z from the ``red``, ``green``, ``blue`` bands (lazy).

    ``[X, Y, Z]^T = matrix @ [R, G, B]^T`` with the CIE 1931 RGB -> XYZ matrix by default
    (see ``CIE_RGB_TO_XYZ``). Linear, so the units of X, Y, Z are those of the bands; the
    chromaticity derived from them is unit-free.
    """
    m = np.asarray(matrix, dtype="float64")
    if m.shape != (3, 3):
        raise ValueError(f"the RGB -> XYZ matrix must be 3x3, got shape {m.shape}")
    missing = [b for b in ("red", "green", "blue") if b not in scene.data_vars]
    if missing:
        raise _missing("CIE chromaticity", missing, scene)
    r, g, b = scene["red"], scene["green"], scene["blue"]
    out = {name: m[i, 0] * r + m[i, 1] * g + m[i, 2] * b for i, name in enumerate("XYZ")}
    return xr.Dataset(out, attrs={"matrix": m.tolist(), "source": "CIE 1931 RGB->XYZ (CIE 015:2004)"})


def chromaticity(scene: xr.Dataset, *, matrix: np.ndarray = CIE_RGB_TO_XYZ) -> tuple[xr.DataArray, xr.DataArray]:
    """CIE 1931 chromaticity ``x = X / (X+Y+Z)``, ``y = Y / (X+Y+Z)`` (lazy; unit-free).

    NaN where a band is NaN or ``X+Y+Z <= 0`` (no light: no colour).
    """
    xyz = rgb_to_xyz(scene, matrix=matrix)
    s = xyz["X"] + xyz["Y"] + xyz["Z"]
    s = s.where(s > 0)
    x, y = xyz["X"] / s, xyz["Y"] / s
    return x.rename("cie_x"), y.rename("cie_y")


# --------------------------------------------------------------------------- the locus geometry
def _ray_hits(ox, oy, dx, dy, ax, ay, bx, by):
    """Ray o + t d against segments a -> b (broadcast): (t, u), NaN where they do not meet
    (t > 0, 0 <= u <= 1)."""
    ex, ey = bx - ax, by - ay
    den = dx * ey - dy * ex
    wx, wy = ax - ox, ay - oy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (wx * ey - wy * ex) / den
        u = (wx * dy - wy * dx) / den
    ok = (den != 0) & (t > 1e-12) & (u >= -1e-12) & (u <= 1 + 1e-12)
    return np.where(ok, t, np.nan), np.where(ok, np.clip(u, 0.0, 1.0), np.nan)


def _dominant_and_purity(x: Any, y: Any, xw: float = WHITE_E[0], yw: float = WHITE_E[1]):
    """NumPy kernel: (dominant wavelength nm, excitation purity) of chromaticities ``x, y``.

    Negative wavelength = complementary wavelength of a purple. NaN input -> NaN, NaN;
    the white point itself -> NaN wavelength, purity 0. Works in blocks of pixels so that the
    pixel x segment arrays stay small.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    shape = np.broadcast(x, y).shape
    xf, yf = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
    wavelength = np.full(xf.shape, np.nan)
    purity = np.full(xf.shape, np.nan)
    for start in range(0, xf.size, _BLOCK):
        sl = slice(start, start + _BLOCK)
        wavelength[sl], purity[sl] = _kernel_block(xf[sl], yf[sl], xw, yw)
    return wavelength.reshape(shape), purity.reshape(shape)


_BLOCK = 32768
_LAM, _PTS = CIE1931_LOCUS[:, 0], CIE1931_LOCUS[:, 1:]
_A, _B = _PTS[:-1], _PTS[1:]  # spectral segments 380->385 ... 695->700


def _first_spectral_hit(xw, yw, dx, dy):
    """Nearest crossing of the rays white + t (dx, dy) with the spectral locus: (t, wavelength)."""
    t, u = _ray_hits(xw, yw, dx[:, None], dy[:, None], _A[None, :, 0], _A[None, :, 1], _B[None, :, 0], _B[None, :, 1])
    t = np.where(np.isnan(t), np.inf, t)
    k = np.argmin(t, axis=1)
    rows = np.arange(len(k))
    t_best, u_best = t[rows, k], u[rows, k]
    hit = np.isfinite(t_best)
    wl = _LAM[k] + u_best * (_LAM[k + 1] - _LAM[k])
    return np.where(hit, t_best, np.nan), np.where(hit, wl, np.nan)


def _kernel_block(x, y, xw, yw):
    dx, dy = x - xw, y - yw
    ok = np.isfinite(dx) & np.isfinite(dy)
    at_white = ok & (np.abs(dx) < 1e-12) & (np.abs(dy) < 1e-12)
    ray = ok & ~at_white
    wavelength = np.full(x.shape, np.nan)
    purity = np.full(x.shape, np.nan)
    purity[at_white] = 0.0
    if not ray.any():
        return wavelength, purity
    rdx, rdy = dx[ray], dy[ray]
    t_spec, wl = _first_spectral_hit(xw, yw, rdx, rdy)
    # the purple line, from 700 nm back to 380 nm
    t_purp, _ = _ray_hits(xw, yw, rdx, rdy, _PTS[-1, 0], _PTS[-1, 1], _PTS[0, 0], _PTS[0, 1])
    purple = np.isfinite(t_purp) & ~(np.isfinite(t_spec) & (t_spec <= t_purp))
    if purple.any():
        _, wl_c = _first_spectral_hit(xw, yw, -rdx[purple], -rdy[purple])
        wl[purple] = -wl_c
        t_spec[purple] = t_purp[purple]
    wavelength[ray] = wl
    with np.errstate(divide="ignore"):
        purity[ray] = 1.0 / t_spec
    return wavelength, purity


def _apply(which: int, x, y, white: tuple[float, float]):
    def kernel(a, b):
        return _dominant_and_purity(a, b, *white)[which]

    if isinstance(x, xr.DataArray) or isinstance(y, xr.DataArray):
        return xr.apply_ufunc(kernel, x, y, dask="parallelized", output_dtypes=["float64"])
    out = kernel(x, y)
    return out if np.ndim(out) else float(out)


def dominant_wavelength(x, y, *, white: tuple[float, float] = WHITE_E):
    """Dominant wavelength (nm) of chromaticity ``(x, y)`` seen from ``white`` (CIE 015:2004).

    The ray from the white point through (x, y) meets the CIE 1931 spectral locus at the
    dominant wavelength (linear between the 5 nm table points). Purples (the ray meets the
    380-700 nm purple line) have no dominant wavelength: the complementary wavelength is
    returned **negated** (e.g. -520 for a magenta). NaN at the white point and for NaN input.
    Works on floats, NumPy arrays and (lazily, Dask) DataArrays.
    """
    return _apply(0, x, y, white)


def colour_purity(x, y, *, white: tuple[float, float] = WHITE_E):
    """Excitation purity of chromaticity ``(x, y)``: distance white -> sample over distance
    white -> spectral locus (or purple line) along the same ray (CIE 015:2004).

    0 at the white point, 1 on the locus; achromatic (grey, black-odorous-like) water is low.
    NaN for NaN input. Floats, NumPy arrays or (lazily) DataArrays.
    """
    return _apply(1, x, y, white)


def _missing(index: str, missing: list[str], scene: xr.Dataset) -> MissingBandError:
    """The error for a scene without the visible bands ``index`` needs."""
    sensor = scene.attrs.get("sensor")
    return MissingBandError(index, missing, present=[str(v) for v in scene.data_vars],
                            note=f"sensor {sensor}" if sensor else "")
