"""Sensor spectral response functions (blue, green, red) and what follows from them: band
values of a spectrum, and each sensor's RGB -> CIE XYZ transform. Standalone (NumPy only).

Tables (``data/srf/``, 400-900 nm at 2.5 nm; ``data/srf/README.md`` gives sources and licences):

* ``sentinel-2a-msi``: B2, B3, B4, B8 of the ESA Sentinel-2A MSI spectral response functions;
* ``landsat-8-oli``: B2, B3, B4, B5 of the NASA/USGS Landsat 8 OLI relative spectral responses
  (Landsat 9 OLI-2 is built to the same band specification; its measured curves are not stored);
* ``gf-2-pms``: **Gaussian approximations** of GF-2 PMS B1-B4 from the published band edges
  (0.45-0.52, 0.52-0.59, 0.63-0.69, 0.77-0.89 um: centre mid-band, FWHM = band width). No
  measured GF-2 SRF table was found in the public sources we could reach.

The RGB -> XYZ transform (``rgb_to_xyz_matrix``): the 3 x 3 matrix M that best reproduces the
CIE 1931 2-degree colour matching functions from the sensor's three (unit-area) responses,
``[xbar, ybar, zbar](lambda) ~ M [s_red, s_green, s_blue](lambda)`` in least squares over
380-780 nm; then X = M [R, G, B] for band values R, G, B (band means of the reflectance).
This is the colorimetric characterisation of a three-channel sensor by the Luther-Ives
condition (e.g. Hung P.-C. 1993, Colorimetric calibration in electronic imaging devices using a
look-up-table model and interpolations, J. Electron. Imaging 2(1): 53-61) and the way water-colour
work derives XYZ from a satellite's bands (Van der Woerd H.J. & Wernand M.R. 2015/2018, Remote
Sens. 7(8): 9979, 10(2): 180, who fit more bands). Each row is then rescaled so that a flat
spectrum maps exactly onto the equal-energy white E (x = y = 1/3), and the matrix so that Y of a
flat unit reflectance is 1. CMFs: ``data/cie1931_2deg_cmf_5nm.csv`` (CIE 015:2018 tables, as
distributed by colour-science 0.4.7).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"

SRF_FILES = {
    "sentinel-2a-msi": "srf/sentinel2a_msi.csv",
    "landsat-8-oli": "srf/landsat8_oli.csv",
    "gf-2-pms": "srf/gf2_pms_gaussian.csv",
}
SENSORS: tuple[str, ...] = tuple(SRF_FILES)
BANDS: tuple[str, ...] = ("blue", "green", "red", "nir")


def load_srf(sensor: str) -> tuple[np.ndarray, np.ndarray]:
    """(wavelengths nm (m,), responses (m, 4) in the order blue, green, red, nir; peak-normalised)."""
    if sensor not in SRF_FILES:
        raise KeyError(f"no spectral response stored for sensor {sensor!r}; choose one of {SENSORS}")
    t = np.loadtxt(DATA / SRF_FILES[sensor], delimiter=",", skiprows=1)
    return t[:, 0], t[:, 1:5]


def load_cmf() -> tuple[np.ndarray, np.ndarray]:
    """CIE 1931 2-degree colour matching functions: (wavelengths 380-780 nm at 5 nm, (m, 3) xbar, ybar, zbar)."""
    t = np.loadtxt(DATA / "cie1931_2deg_cmf_5nm.csv", delimiter=",", skiprows=1)
    return t[:, 0], t[:, 1:4]


def band_values(spectra: np.ndarray, wl: np.ndarray, sensor: str) -> np.ndarray:
    """Band means of ``spectra`` (n, len(wl)) through the sensor's responses:
    ``sum(S(l) s_j(l)) / sum(s_j(l))`` on the responses' grid (the spectra are interpolated
    onto it). Returns (n, 4): blue, green, red, nir."""
    swl, s = load_srf(sensor)
    spectra = np.atleast_2d(np.asarray(spectra, dtype="float64"))
    if not (np.isclose(wl[0], swl[0]) and len(wl) == len(swl) and np.allclose(wl, swl)):
        spectra = np.stack([np.interp(swl, wl, row) for row in spectra])
    return spectra @ s / s.sum(axis=0)


def rgb_to_xyz_matrix(sensor: str, *, step: float = 2.5) -> np.ndarray:
    """The sensor's RGB -> XYZ matrix (rows X, Y, Z; columns red, green, blue): least squares of
    the CIE 1931 CMFs on the unit-area responses, rows rescaled so that a flat spectrum maps to
    E, scaled so that its Y is 1 (see the module docstring)."""
    cwl, cmf = load_cmf()
    swl, s = load_srf(sensor)
    grid = np.arange(380.0, 780.0 + 1e-9, step)
    c = np.stack([np.interp(grid, cwl, cmf[:, k]) for k in range(3)], axis=1)
    r = np.stack([np.interp(grid, swl, s[:, k], left=0.0, right=0.0) for k in (2, 1, 0)], axis=1)  # red, green, blue
    r = r / (r.sum(axis=0) * step)  # unit area: a band value is the band's mean reflectance
    m, *_ = np.linalg.lstsq(r, c, rcond=None)  # c ~ r @ m
    m = m.T  # rows X, Y, Z
    return m / m.sum(axis=1)[:, None]  # flat unit spectrum -> X = Y = Z = 1: white E, Y = 1
