"""How a profiled demo date is observed (:class:`sensing.demo.profiles.DemoProfile`): from
the surface, rendered on a grid ``supersample`` times finer, to the reflectance a
Sentinel-2-like L2A product holds.

1. **Water**: every water pixel gets its body's spectrum of the date (rho = pi Rrs,
   :mod:`sensing.demo.waterspectra`) with a 4 % spatial texture; a flooded paddy mixes its
   muddy water with wet soil (10-35 %) and rice seedlings (3-15 %).
2. **Shadows** (:func:`sensing.demo.confounders.shadows`): a shadowed surface is lit by the
   diffuse sky alone: rho x f_d(lambda), f_d = f_550 (lambda / 550)^-beta, f_550 ~ U(0.12,
   0.3) and beta ~ U(1.5, 3) per date (clear-sky diffuse share of the irradiance, Iqbal 1983,
   *An Introduction to Solar Radiation*; Rayleigh lambda^-4 and aerosol lambda^-alpha make
   skylight blue: Hansen & Travis 1974, Space Sci. Rev. 16: 527-610).
3. **Mixed pixels**: the fine grid is averaged to the output pixels.
4. **Adjacency**: rho' = (1 - a) rho + a (G_sigma * rho), the environment a Gaussian of
   ``adjacency_sigma_m``, a drawn per date from ``profile.adjacency``.
5. **MTF**: a Gaussian PSF of ``mtf_sigma_px``; with the pixel's own box it gives an MTF at
   Nyquist of 0.64 x exp(-2 pi^2 sigma^2 / 4) (0.11 at the evaluation profile's 0.6 px, a
   little blurrier than MSI's 0.15-0.3, Gascon et al. 2017).
6. **Haze**: the additive residual of the atmospheric correction, d (lambda / 550)^-alpha,
   d and alpha drawn per date.
7. **Noise**: N(0, ``noise_sd``) per band and pixel.

Effects 2 and 4-7 are drawn per date from the date's own random stream, so any list of dates
renders the same way.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from affine import Affine
from scipy.ndimage import gaussian_filter

from aoi import Grid

from .confounders import shadows
from .profiles import DemoProfile
from .rasterize import Fields, burn
from .scenery import Layout
from .spectra import BANDS, ENDMEMBER_TABLE, FLOODED_PADDY, WATER_CLASSES, em
from .waterspectra import band_rrs, draw_params, jitter, spectral_class

#: band centres (nm) of ``spectra.BANDS`` (Sentinel-2A MSI)
BAND_CENTRES_NM = dict(zip(BANDS, (443.0, 490.0, 560.0, 665.0, 705.0, 740.0, 783.0, 842.0, 865.0, 1610.0, 2190.0)))
WATER_TEXTURE = 0.04
PADDY_SOIL = (0.10, 0.35)
PADDY_SEEDLINGS = (0.03, 0.15)
SKY_SHARE_550 = (0.12, 0.30)
SKY_EXPONENT = (1.5, 3.0)


def fine_grid(grid: Grid, k: int) -> Grid:
    """``grid`` with pixels ``k`` times smaller (same origin and extent)."""
    if k <= 1:
        return grid
    t = grid.transform
    res = grid.resolution / k
    return Grid(crs=grid.crs, resolution=res, transform=Affine(res, 0.0, t.c, 0.0, -res, t.f),
                width=grid.width * k, height=grid.height * k)


def _water(refl, fields: Fields, layout: Layout, after: bool, band_cols, body_entropy, date_entropy, texture):
    cls = fields.cls(after)
    water = np.isin(cls, WATER_CLASSES)
    if not water.any():
        return
    fid = fields.feature_id
    keys = fid[water].astype("int64") * 64 + cls[water]
    uniq, inv = np.unique(keys, return_inverse=True)
    table = np.empty((len(uniq), len(band_cols)), "float64")
    soil, seed_em = ENDMEMBER_TABLE[em("soil_moist")], ENDMEMBER_TABLE[em("herbaceous_canopy")]
    for j, key in enumerate(uniq):
        f, c = int(key // 64), int(key % 64)
        name = spectral_class(c, layout.features[f - 1].name if f > 0 else "")
        params = draw_params(name, np.random.default_rng([*body_entropy, f, c]))
        rng_d = np.random.default_rng([*date_entropy, f, c])
        rho = np.pi * band_rrs(jitter(params, name, rng_d))
        if c == FLOODED_PADDY:
            s, v = rng_d.uniform(*PADDY_SOIL), rng_d.uniform(*PADDY_SEEDLINGS)
            rho = (1 - s - v) * rho + s * soil + v * seed_em
        table[j] = rho[band_cols]
    values = table[inv].T * (1.0 + WATER_TEXTURE * texture[water])
    refl[:, water] = values.astype("float32")


def observe(profile: DemoProfile, refl: np.ndarray, fields: Fields, layout: Layout, fine: Grid, grid: Grid, *,
            date: str, after: bool, bands: tuple[str, ...], lat_deg: float, body_entropy: list[int],
            date_entropy: list[int]) -> np.ndarray:
    """(bands, y, x) float32 reflectance on ``grid`` of one date, from ``refl`` rendered on the
    fine grid ``fine`` (land and a placeholder for water; no PSF) and its ``fields``.
    ``body_entropy`` seeds each body's spectrum (the same every date), ``date_entropy`` the
    date's effects."""
    from .render import smooth_noise
    from .spectra import band_index

    band_cols = band_index(bands)
    rng = np.random.default_rng(date_entropy)
    texture = smooth_noise(np.random.default_rng([*body_entropy, 1]), fine.shape, 2.0)
    refl = np.array(refl, dtype="float32", copy=True)
    _water(refl, fields, layout, after, band_cols, body_entropy, date_entropy, texture)
    centres = np.array([BAND_CENTRES_NM[b] for b in bands])
    shade = shadows(layout, date, lat_deg)
    if not shade.is_empty:
        mask = burn([(shade, 1)], fine.shape, fine.transform, "uint8").astype(bool)
        f_d = rng.uniform(*SKY_SHARE_550) * (centres / 550.0) ** -rng.uniform(*SKY_EXPONENT)
        refl[:, mask] *= np.clip(f_d, 0.0, 1.0)[:, None].astype("float32")
    k = fine.width // grid.width
    nb = refl.shape[0]
    out = refl.reshape(nb, grid.height, k, grid.width, k).mean(axis=(2, 4), dtype="float64")
    a = rng.uniform(*profile.adjacency)
    d = rng.uniform(*profile.haze)
    alpha = rng.uniform(*profile.haze_angstrom)
    sigma_env = profile.adjacency_sigma_m / grid.resolution
    for b in range(nb):
        band = out[b]
        if a > 0:
            band = (1 - a) * band + a * gaussian_filter(band, sigma_env, mode="nearest")
        if profile.mtf_sigma_px > 0:
            band = gaussian_filter(band, profile.mtf_sigma_px, mode="nearest")
        band = band + d * (centres[b] / 550.0) ** -alpha + rng.normal(0.0, profile.noise_sd, band.shape)
        out[b] = band
    return np.clip(out, 0.0005, 1.0).astype("float32")


def shadow_truth(layout: Layout, grid: Grid, dates, lat_deg: float) -> np.ndarray:
    """(time, y, x) bool: pixel centres in the casters' shadows on each date."""
    out = np.zeros((len(dates),) + grid.shape, bool)
    for i, d in enumerate(dates):
        shade = shadows(layout, dt.date.fromisoformat(str(d)[:10]), lat_deg)
        if not shade.is_empty:
            out[i] = burn([(shade, 1)], grid.shape, grid.transform, "uint8").astype(bool)
    return out
