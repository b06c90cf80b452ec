"""What a pixel is expected to look like at a time of year, from its history.

Two models, both pure functions on (time, y, x) arrays with NaN where a date is not clear:

- **same-season baseline** (:func:`season_summary`): every clear observation of the earlier
  years whose day of year lies within ``half_window_days`` of the target's (circular), summarised
  per pixel (minimum, median, share of a flag). This is the baseline of the operational
  disturbance alerts: OPERA DIST-ALERT compares each Harmonized Landsat Sentinel-2 observation
  with "all cloud-free observations from the previous three years within a 31-day window"
  (JPL OPERA DIST-ALERT product specification; GLAD, University of Maryland), vegetation loss
  counted against the baseline *minimum*; GLAD-S2 alerts use two prior years (Pickens et al.
  2020). A clear-sky composite of a period compared with the same period of earlier years is
  the year-over-year comparison of the same season.
- **harmonic regression** (:func:`harmonic_fit`, :func:`harmonic_predict`): per pixel ordinary
  least squares of ``c0 + sum_k a_k cos(2 pi k t / T) + b_k sin(2 pi k t / T)`` (T one year), the
  seasonal model of CCDC (Zhu & Woodcock 2014, Remote Sens. Environ. 144: 152-171; no trend
  term here: a one- or two-year baseline cannot separate a trend from the annual harmonic),
  with the fit's root-mean-square error per pixel.

Which the flow uses for vegetation loss was measured on the development data (the demo's
development seed and the Slovenia Sentinel-2 series' 2016 dates; ``flows.evaluation.realchange``,
docs/validation.md): both models confirm no false loss on the demo, and on Slovenia the
harmonic model with one harmonic, whose threshold follows each pixel's own noise (three times
its RMSE), confirms fewer false losses than the same-season minimum; two harmonics need more
clear observations than a cloudy year gives. The flow fits one harmonic to the baseline's
history and falls back to the same-season rule where the fit has too few observations; the
flags (water, black-odorous water, farmland) are compared with their same-season share.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .errors import IndicesError
from .nanstats import nanmedian0

DAYS_PER_YEAR = 365.25


def _doy(times) -> np.ndarray:
    return pd.DatetimeIndex(times).dayofyear.to_numpy().astype("float64")


def doy_distance(a, b) -> np.ndarray:
    """Circular distance in days between day-of-year arrays ``a`` and ``b`` (broadcast)."""
    d = np.abs(np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")) % 365.0
    return np.minimum(d, 365.0 - d)


def season_members(history_times, targets, *, half_window_days: float = 15.0,
                   fallback_half_window_days: float | None = None, years_before: bool = True) -> np.ndarray:
    """(targets, history) bool: which history dates belong to each target's season: day of year
    within ``half_window_days`` (circular) and, with ``years_before``, at least 300 days earlier
    (earlier years only, never the monitored season itself). A target whose window holds no
    history date uses ``fallback_half_window_days`` when given."""
    ht, tt = pd.DatetimeIndex(history_times), pd.DatetimeIndex(targets)
    dist = doy_distance(_doy(tt)[:, None], _doy(ht)[None, :])
    earlier = ((tt.values[:, None] - ht.values[None, :]) >= np.timedelta64(300, "D")) if years_before \
        else np.ones(dist.shape, bool)
    member = (dist <= half_window_days) & earlier
    if fallback_half_window_days is not None:
        empty = ~member.any(axis=1)
        if empty.any():
            member[empty] = ((dist <= fallback_half_window_days) & earlier)[empty]
    return member


def _nanstat(values: np.ndarray, stat: str) -> np.ndarray:
    with warnings.catch_warnings():  # all-NaN pixels give NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        if stat == "min":
            return np.nanmin(values, axis=0)
        if stat == "max":
            return np.nanmax(values, axis=0)
        if stat == "median":
            return nanmedian0(values)  # numpy.nanmedian(values, axis=0)'s values (bottleneck), faster
        if stat == "mean":
            return np.nanmean(values, axis=0)
    raise IndicesError(f"unknown statistic {stat!r}; use min, max, median or mean")


def season_summary(history: xr.DataArray, targets: Sequence, *, stats: Sequence[str] = ("min", "median"),
                   half_window_days: float = 15.0, fallback_half_window_days: float | None = None,
                   years_before: bool = True) -> xr.Dataset:
    """Per target date and pixel, the same-season statistics of ``history`` (time, y, x; NaN =
    no clear observation): one variable per statistic in ``stats`` and ``n_obs`` (clear
    observations in the season), dims (time, y, x) with ``time`` = ``targets``. For a flag
    (0/1 with NaN) the ``mean`` is the share of the season's observations that were flagged.
    Computed in memory (the history of one village is small)."""
    if "time" not in history.dims:
        raise IndicesError(f"season_summary needs a 'time' dimension, got {history.dims}")
    h = history.transpose("time", "y", "x")
    vals = np.asarray(h.values, dtype="float32")
    tt = pd.DatetimeIndex(pd.to_datetime(list(targets)))
    member = season_members(h["time"].values, tt, half_window_days=half_window_days,
                            fallback_half_window_days=fallback_half_window_days, years_before=years_before)
    shape = (len(tt),) + vals.shape[1:]
    out = {s: np.full(shape, np.nan, "float32") for s in stats}
    n_obs = np.zeros(shape, "int16")
    for i in range(len(tt)):
        sel = vals[member[i]]
        if not sel.shape[0]:
            continue
        n_obs[i] = np.isfinite(sel).sum(axis=0)
        for s in stats:
            out[s][i] = _nanstat(sel, s)
    coords = {"time": tt, "y": h["y"], "x": h["x"]}
    ds = xr.Dataset({s: (("time", "y", "x"), v) for s, v in out.items()}, coords=coords)
    ds["n_obs"] = (("time", "y", "x"), n_obs)
    ds.attrs = {"half_window_days": float(half_window_days),
                "fallback_half_window_days": fallback_half_window_days, "years_before": bool(years_before),
                "source": "same-season baseline of earlier years (OPERA DIST-ALERT: 31-day window, prior years)"}
    return ds


# --------------------------------------------------------------------------- harmonic regression
def _design(times, n_harmonics: int, period_days: float) -> np.ndarray:
    t = (pd.DatetimeIndex(times) - pd.Timestamp("2000-01-01")).days.to_numpy().astype("float64")
    cols = [np.ones_like(t)]
    for k in range(1, n_harmonics + 1):
        w = 2.0 * np.pi * k * t / period_days
        cols += [np.cos(w), np.sin(w)]
    return np.stack(cols, axis=1)


def harmonic_fit(series: xr.DataArray, *, n_harmonics: int = 2, period_days: float = DAYS_PER_YEAR,
                 min_obs: int | None = None) -> xr.Dataset:
    """Per-pixel OLS fit of ``n_harmonics`` annual harmonics and a constant (CCDC's seasonal
    model, Zhu & Woodcock 2014) to ``series`` (time, y, x; NaN skipped). ``coef`` (coef, y, x),
    ``rmse`` (y, x; residual standard error, n - K degrees of freedom) and ``n_obs``; NaN where
    a pixel has fewer than ``min_obs`` (default 3 K, as CCDC asks three observations per
    coefficient) clear observations."""
    s = series.transpose("time", "y", "x")
    x = _design(s["time"].values, n_harmonics, period_days)  # (T, K)
    k = x.shape[1]
    min_obs = 3 * k if min_obs is None else int(min_obs)
    y = np.asarray(s.values, dtype="float64").reshape(s.sizes["time"], -1)  # (T, P)
    ok = np.isfinite(y)
    yz = np.where(ok, y, 0.0)
    # the normal equations per pixel, A = sum_t ok x x^T and b = sum_t y x, as two matrix
    # products (BLAS; a three-operand einsum loops in C without it: 10x slower)
    a = (ok.T.astype("float64") @ (x[:, :, None] * x[:, None, :]).reshape(len(x), k * k)).reshape(-1, k, k)
    b = yz.T @ x
    n = ok.sum(axis=0)
    good = n >= max(min_obs, k + 1)
    coef = np.full((y.shape[1], k), np.nan)
    if good.any():
        a_g = a[good] + np.eye(k)[None] * 1e-9
        coef[good] = np.linalg.solve(a_g, b[good][..., None])[..., 0]
    pred = x @ np.nan_to_num(coef).T  # (T, P)
    resid = np.where(ok, y - pred, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt((resid ** 2).sum(axis=0) / np.maximum(n - k, 1))
    rmse[~good] = np.nan
    hw = (s.sizes["y"], s.sizes["x"])
    ds = xr.Dataset({
        "coef": (("term", "y", "x"), coef.T.reshape((k,) + hw).astype("float32")),
        "rmse": (("y", "x"), rmse.reshape(hw).astype("float32")),
        "n_obs": (("y", "x"), n.reshape(hw).astype("int16")),
    }, coords={"term": np.arange(k), "y": s["y"], "x": s["x"]})
    ds.attrs = {"n_harmonics": int(n_harmonics), "period_days": float(period_days), "min_obs": min_obs,
                "source": "harmonic regression (CCDC, Zhu & Woodcock 2014), no trend term"}
    return ds


def harmonic_predict(fit: xr.Dataset, times: Sequence) -> xr.DataArray:
    """The fitted seasonal model at ``times``: (time, y, x), NaN where the fit is NaN."""
    tt = pd.DatetimeIndex(pd.to_datetime(list(times)))
    x = _design(tt, int(fit.attrs["n_harmonics"]), float(fit.attrs["period_days"]))
    coef = fit["coef"].values  # (K, y, x)
    pred = np.einsum("tk,kyx->tyx", x, coef).astype("float32")
    return xr.DataArray(pred, dims=("time", "y", "x"), coords={"time": tt, "y": fit["y"], "x": fit["x"]},
                        name="expected")
