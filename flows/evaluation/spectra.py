"""Black-odorous rules on literature-shaped spectra, on both sides of every published threshold."""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import xarray as xr

import indices

from .report import Metric

#: literature-shaped in-situ Rrs (sr^-1), band means B, G, R (also tests/test_blackodorous.py):
#: black-odorous water is dark and flat (Wen et al. 2018; Shen et al. 2019), ordinary water has a
#: green peak, clear deep water is dark and blue, algal water a strong green peak, turbid water is
#: bright with red >= green. Value: whether the guarded rule should call it black-odorous.
LITERATURE_SPECTRA: dict[str, tuple[tuple[float, float, float], bool]] = {
    "black_odorous": ((0.0040, 0.0060, 0.0058), True),
    "black_odorous_flat": ((0.0030, 0.0035, 0.0034), True),
    "ordinary": ((0.0080, 0.0180, 0.0100), False),
    "clear_blue": ((0.0060, 0.0030, 0.0028), False),
    "algal": ((0.0060, 0.0200, 0.0080), False),
    "turbid_red": ((0.0200, 0.0400, 0.0450), False),
    "turbid_neutral": ((0.0150, 0.0300, 0.0280), False),
}


def _spectra_scene(spectra: Sequence[tuple[float, float, float]], factor: float = math.pi,
                   sensor: str = "sentinel-2-l2a") -> xr.Dataset:
    """Band-mean spectra as a one-row scene of ``sensor`` (its RGB -> XYZ transform for colour)."""
    arr = np.asarray(spectra, dtype="float64") * factor
    bands = {name: (("y", "x"), arr[None, :, i].astype("float32")) for i, name in enumerate(("blue", "green", "red"))}
    return xr.Dataset(bands, coords={"y": [5.0], "x": 10.0 * np.arange(len(arr)) + 5.0}, attrs={"sensor": sensor})


def _threshold_cases() -> list[tuple[str, tuple[float, float, float], Callable[[xr.Dataset], xr.DataArray], bool]]:
    """Spectra just inside and just outside each published threshold (as Rrs), the flag
    function, and the expected flag."""
    from indices import blackodorous as bo
    from scipy.optimize import brentq

    r, b = 0.006, 0.004

    def g_for_boi(k):  # BOI = (G - R) / (B + G + R) = k
        return (r * (1 + k) + k * b) / (1 - k)

    def g_for_ndbwi(n):
        return r * (1 + n) / (1 - n)

    def purity_spectrum(target):
        def spec(t):
            return (0.005, 0.005 + 0.004 * t, 0.005 + 0.002 * t)
        t = brentq(lambda t: float(bo.cie_purity(_spectra_scene([spec(t)], 1.0)).values[0, 0]) - target, 0.0, 5.0,
                   xtol=1e-10)
        return spec(t)

    t_boi, lo, hi, p = bo.BOI_THRESHOLD, bo.NDBWI_LOW, bo.NDBWI_HIGH, bo.MAX_PURITY
    dark = bo.DARK_THRESHOLD / math.pi  # as Rrs
    return [
        (f"BOI {t_boi - 0.005:.3f} < {t_boi}", (b, g_for_boi(t_boi - 0.005), r), bo.boi_flag, True),
        (f"BOI {t_boi + 0.005:.3f} >= {t_boi}", (b, g_for_boi(t_boi + 0.005), r), bo.boi_flag, False),
        (f"NDBWI {lo - 0.01:.2f} < {lo}", (b, g_for_ndbwi(lo - 0.01), r), bo.ndbwi_flag, False),
        (f"NDBWI {lo + 0.01:.2f} in range", (b, g_for_ndbwi(lo + 0.01), r), bo.ndbwi_flag, True),
        (f"NDBWI {hi - 0.005:.3f} in range", (b, g_for_ndbwi(hi - 0.005), r), bo.ndbwi_flag, True),
        (f"NDBWI {hi + 0.005:.3f} > {hi}", (b, g_for_ndbwi(hi + 0.005), r), bo.ndbwi_flag, False),
        (f"purity {p - 0.01:.2f} < {p}", purity_spectrum(p - 0.01), bo.cie_flag, True),
        (f"purity {p + 0.01:.2f} >= {p}", purity_spectrum(p + 0.01), bo.cie_flag, False),
        (f"brightness {0.98 * bo.DARK_THRESHOLD:.3f} < {bo.DARK_THRESHOLD}", (0.3 * dark, 0.98 * dark, 0.6 * dark),
         bo.darkness, True),
        (f"brightness {1.02 * bo.DARK_THRESHOLD:.3f} >= {bo.DARK_THRESHOLD}", (0.3 * dark, 1.02 * dark, 0.6 * dark),
         bo.darkness, False),
    ]


def spectra_metrics() -> list[Metric]:
    """The guarded black-odorous rule on literature-shaped spectra, and each threshold from both sides."""
    from indices import blackodorous as bo

    names = list(LITERATURE_SPECTRA)
    scene = _spectra_scene([LITERATURE_SPECTRA[n][0] for n in names])
    flags = indices.black_odorous_pixels(scene, xr.ones_like(scene["blue"], dtype=bool))
    got = flags["is_suspect"].values[0]
    want = np.array([LITERATURE_SPECTRA[n][1] for n in names])
    wrong = [n for n, g, w in zip(names, got, want) if bool(g) != bool(w)]
    turbid = [n for n, g in zip(names, got) if n.startswith("turbid") and g]
    boi_only = [n for n in names if n.startswith("turbid") and bool(flags["boi_flag"].values[0, names.index(n)])]
    cases = _threshold_cases()
    right = []
    for label, spec, func, expect in cases:
        right.append(bool(func(_spectra_scene([spec])).values[0, 0]) == expect)
    ds = f"{len(names)} literature-shaped Rrs spectra ({', '.join(names)})"
    return [
        Metric("black-odorous spectra", "guarded decision correct (share of spectra)", float(np.mean(got == want)), 1.0,
               ">=", "all", ds, f"indices.black_odorous_pixels with the default BlackOdorousParams (BOI < {bo.BOI_THRESHOLD}, "
               f"{bo.NDBWI_LOW} <= NDBWI <= {bo.NDBWI_HIGH}, purity < {bo.MAX_PURITY}, max rho < {bo.DARK_THRESHOLD}; "
               f"{bo.BlackOdorousParams().min_votes} votes; shadow, blue and bright guards)",
               "wrong: " + (", ".join(wrong) or "none")),
        Metric("black-odorous spectra", "turbid spectra flagged suspect", float(len(turbid)), 0.0, "<=", "all", ds,
               "turbid_red (G < R) and turbid_neutral pass one-sided BOI; the guard must reject them",
               f"one-sided BOI alone flags: {', '.join(boi_only) or 'none'}"),
        Metric("black-odorous spectra", "threshold sides correct (share)", float(np.mean(right)), 1.0, ">=", "all",
               f"{len(cases)} spectra just inside / outside BOI, NDBWI (both bounds), CIE purity, brightness",
               "each flag function on a spectrum 0.005-0.01 (2 % for brightness) from its threshold",
               "wrong: " + (", ".join(c[0] for c, ok in zip(cases, right) if not ok) or "none")),
    ]


