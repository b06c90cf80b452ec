"""Change against the same season on real series, and the choice of the seasonal model.

- **Which model** (``baseline_choice_metrics``): the same-season baseline (OPERA DIST-ALERT's)
  against a harmonic regression (CCDC's seasonal model, 1 and 2 harmonics, the same-season rule
  where it cannot be fitted) on the same history, compared by how well each predicts the
  monitored season's clear NDVI on unchanged pixels (RMSE), how often each one's loss rule
  fires there (false alarms), and whether it finds the planted clearing. Decided on the
  development data, declared before measuring: the fewest confirmed false losses, ties broken
  by the RMSE; the demo's development seed (history 2024, monitored 2025-Q4) and the Slovenia
  series' development dates (history 2015-07..2016-06, monitored 2016-07..12). Held out:
  Slovenia 2017. The flow uses the winner (``SeasonalChangeParams.vegetation_model``).
- **Slovenia** (``slovenia_change_metrics``): 68 Sentinel-2 L1C dates of NDVI (eo-learn
  TestEOPatch, s2cloudless CLM as the cloud mask) with a land-cover map: confirmed vegetation
  loss by class, the crop cycle (cultivated land and grassland / meadow) must not come out as
  loss.
- **NAIP** (``naip_change_metrics``): three late-summer dates of the same lakes (2009, 2015,
  2019): the water change of the same season between years, judged against an independent
  reference (the published fixed NDWI > 0 on both dates, counting only pixels whose NDWI is
  clearly on one side, |NDWI| >= 0.1, on both) and by where it lies (at a lake's edge, or a
  whole lake appearing or going).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

import indices
from flows.params import Params

from .common import need_file
from .metrics import confusion
from .report import Metric

SLOVENIA = "sentinel2_l1c_slovenia"
NAIP = "naip_lakes_north_dakota"
LULC_NAMES = {1: "cultivated", 2: "forest", 3: "grassland", 4: "shrubland", 8: "artificial"}
CROP_CYCLE_TARGET_PCT = 0.5
GROUP = "real: seasonal change"


# --------------------------------------------------------------------------- the rules, on arrays
def _grid(arr: np.ndarray, res: float = 10.0, crs: str = "EPSG:32633"):
    h, w = arr.shape[-2:]
    return {"y": np.arange(h) * -res + h * res, "x": np.arange(w) * res}, Affine(res, 0, 0, 0, -res, h * res), crs


def loss_alerts(ndvi: xr.DataArray, monitored: Sequence, params: Params, *, method: str = "season",
                n_harmonics: int = 2, crop: np.ndarray | None = None) -> dict:
    """Vegetation-loss anomalies and alerts of ``monitored`` dates against the history (the
    dates before the first monitored one) of ``ndvi`` (time, y, x; NaN not clear): ``season``
    (below the same-season minimum by ``ndvi_loss``) or ``harmonic`` (below the fitted model of
    ``n_harmonics`` by ``max(ndvi_loss, rmse_factor x RMSE)``, CCDC's residual test; the
    same-season rule where the model cannot be fitted: with 1 harmonic, the flow's rule).
    Pixels in ``crop`` (cropland, and unknown land cover, as the flow excludes them) are never a loss."""
    p = params.change
    mon = pd.DatetimeIndex(pd.to_datetime(list(monitored)))
    hist = ndvi.sel(time=ndvi["time"] < mon.min())
    cur = ndvi.sel(time=mon)
    s = indices.season_summary(hist, mon, stats=("min", "median"), half_window_days=p.season_half_window_days,
                               fallback_half_window_days=p.fallback_half_window_days)
    low, expected = s["min"].values - p.ndvi_loss, s["median"].values
    if method == "harmonic":
        fit = indices.harmonic_fit(hist, n_harmonics=n_harmonics)
        model = indices.harmonic_predict(fit, mon).values
        mlow = model - np.maximum(p.ndvi_loss, p.rmse_factor * fit["rmse"].values)[None]
        low = np.where(np.isfinite(mlow), mlow, low)
        expected = np.where(np.isfinite(model), model, expected)
    v = cur.values
    assessed = np.isfinite(v) & np.isfinite(low)
    anomalous = assessed & (v <= low)
    if crop is not None:
        anomalous &= ~crop[None]
    a = xr.DataArray(anomalous, dims=("time", "y", "x"), coords={"time": mon, "y": ndvi["y"], "x": ndvi["x"]})
    st = indices.alert_status(a, a.copy(data=assessed), confirm_obs=p.confirm_obs, revert_obs=p.revert_obs)
    resid = np.where(assessed, v - expected, np.nan)
    return {"status": st, "anomalous": anomalous, "assessed": assessed, "residual": resid}


def _confirmed(st: xr.Dataset) -> np.ndarray:
    return np.asarray(st["status"].values) == indices.alerts.CONFIRMED


def _rmse(resid: np.ndarray, keep: np.ndarray) -> float:
    r = resid[:, keep] if keep.ndim == 2 else resid
    r = r[np.isfinite(r)]
    return float(np.sqrt(np.mean(r ** 2))) if r.size else float("nan")


# --------------------------------------------------------------------------- Slovenia
def slovenia_series(realdata: Path) -> tuple[xr.DataArray, np.ndarray]:
    """(NDVI (time, y, x), NaN where CLM says cloud or IS_VALID says no data; LULC (y, x))."""
    root = realdata / SLOVENIA / "TestEOPatch"
    ndvi = np.load(need_file(root / "data" / "NDVI.npy"))[..., 0].astype("float32")
    clm = np.load(need_file(root / "mask" / "CLM.npy"))[..., 0].astype(bool)
    valid = np.load(need_file(root / "mask" / "IS_VALID.npy"))[..., 0].astype(bool)
    lulc = np.load(need_file(root / "mask_timeless" / "LULC.npy"))[..., 0]
    times = pd.to_datetime([t[:10] for t in json.loads((root / "timestamps.json").read_text())])
    keep = ~times.duplicated()  # 2015-12-08 twice: the first pass of the day
    v = np.where(clm | ~valid, np.nan, ndvi)[keep]
    coords, transform, crs = _grid(v)
    da = xr.DataArray(v, dims=("time", "y", "x"), coords={"time": times[keep], **coords}, name="ndvi")
    return da.rio.write_crs(crs).rio.write_transform(transform), lulc


def slovenia_change_metrics(realdata: Path, params: Params = Params()) -> list[Metric]:
    """Confirmed vegetation loss on the Slovenia patch by land-cover class, development period
    (2016-07..12 against 2015-07..2016-06) and held-out (2017 against 2015-07..2016-12)."""
    ndvi, lulc = slovenia_series(realdata)
    ds = "eo-learn TestEOPatch Slovenia, S2 L1C NDVI, 67 dates 2015-07-11..2017-12-22, CLM clouds"
    out = []
    periods = {"development 2016-H2": ("2016-07-01", "2016-12-31"), "held-out 2017": ("2017-01-01", "2017-12-31")}
    for name, (a, b) in periods.items():
        t = pd.DatetimeIndex(ndvi["time"].values)
        mon = t[(t >= a) & (t <= b)]
        hist = ndvi.sel(time=t < pd.Timestamp(a))
        lc = indices.land_cover_from_history(hist, xr.full_like(hist, np.nan), params.change)
        crop = lc.values == indices.alerts.CROPLAND
        unknown = lc.values == indices.alerts.UNKNOWN  # too few clear dates to tell from cropland: not assessed
        res = loss_alerts(ndvi, mon, params, crop=crop | unknown, method=params.change.vegetation_model,
                          n_harmonics=params.change.n_harmonics)
        st = res["status"].rio.write_crs(ndvi.rio.crs).rio.write_transform(ndvi.rio.transform())
        polys = indices.alert_polygons(st, kind="vegetation_loss", min_area_m2=params.change_min_area_m2)
        from .common import body_labels

        lab = body_labels(polys, ndvi.isel(time=0)) > 0
        conf = lab & _confirmed(res["status"])
        ag = np.isin(lulc, (1, 3))
        pct_ag = 100.0 * conf[ag].sum() / max(ag.sum(), 1)
        by = {LULC_NAMES[c]: int(conf[lulc == c].sum()) * 100 for c in LULC_NAMES}
        out.append(Metric(GROUP, "crop cycle as confirmed loss (% of cultivated + grassland)", pct_ag,
                          CROP_CYCLE_TARGET_PCT, "<=", f"Slovenia {name}", ds,
                          "confirmed vegetation-loss alert polygons (>= 1000 m2) on LULC cultivated and grassland; "
                          "cropland by the history's phenology and unknown land cover excluded as in the flow",
                          f"{len(mon)} monitored dates; confirmed m2 by class {by}; cropland by phenology "
                          f"{100 * crop.mean():.0f} % of the patch; unknown (fewer than {params.change.phenology_min_obs} "
                          f"clear dates) {100 * unknown.mean():.0f} %"))
        out.append(Metric(GROUP, "confirmed vegetation loss (% of the patch)", 100.0 * conf.mean(), None, "<=",
                          f"Slovenia {name}", ds, "no change is labelled here: descriptive",
                          f"candidates {int((lab & (res['status']['status'].values == 1)).sum()) * 100} m2"))
        # the same-season baseline alone, every pixel assessed (no land-cover exclusion): does the
        # comparison with the same season by itself keep the crop and meadow cycle out of the loss?
        bare = loss_alerts(ndvi, mon, params, method=params.change.vegetation_model, n_harmonics=params.change.n_harmonics)
        bst = bare["status"].rio.write_crs(ndvi.rio.crs).rio.write_transform(ndvi.rio.transform())
        blab = body_labels(indices.alert_polygons(bst, kind="vegetation_loss", min_area_m2=params.change_min_area_m2),
                           ndvi.isel(time=0)) > 0
        bconf = blab & _confirmed(bare["status"])
        bby = {LULC_NAMES[c]: int(bconf[lulc == c].sum()) * 100 for c in LULC_NAMES}
        out.append(Metric(GROUP, "crop cycle as confirmed loss, no land-cover exclusion (% of cultivated + grassland)",
                          100.0 * bconf[ag].sum() / max(ag.sum(), 1), CROP_CYCLE_TARGET_PCT, "<=", f"Slovenia {name}", ds,
                          "the flow's loss rule alone on every pixel (snow and leaf-off included)",
                          f"confirmed m2 by class {bby}; whole patch {100.0 * bconf.mean():.2f} %"))
    return out


# --------------------------------------------------------------------------- which model
def _compare(ndvi, monitored, params, keep, found_mask, where: str, ds: str, crop=None) -> list[Metric]:
    out = []
    for label, kw in (("same-season baseline", {"method": "season"}),
                      ("harmonic, 1 harmonic", {"method": "harmonic", "n_harmonics": 1}),
                      ("harmonic, 2 harmonics", {"method": "harmonic", "n_harmonics": 2})):
        r = loss_alerts(ndvi, monitored, params, crop=crop, **kw)
        fa = float(r["anomalous"][:, keep].sum() / max(r["assessed"][:, keep].sum(), 1))
        cover = float(r["assessed"][:, keep].mean())
        conf_fa = float((_confirmed(r["status"]) & keep).sum() / max(keep.sum(), 1))
        detail = (f"NDVI RMSE {_rmse(r['residual'], keep):.3f}; assessed {cover:.0%} of the unchanged clear observations; "
                  f"confirmed false loss on {100 * conf_fa:.2f} % of unchanged pixels")
        if found_mask is not None and found_mask.any():
            detail += f"; planted clearing confirmed on {float(_confirmed(r['status'])[found_mask].mean()):.0%} of it"
        out.append(Metric("seasonal model choice", f"false loss rate, {label}", fa, None, "<=", where, ds,
                          "share of unchanged pixels' assessed clear observations the loss rule flags", detail))
        out.append(Metric("seasonal model choice", f"NDVI RMSE, {label}", _rmse(r["residual"], keep), None, "<=", where,
                          ds, "prediction error of the expected NDVI on unchanged pixels' clear observations", detail))
    return out


def baseline_choice_metrics(villages: Sequence, source, realdata: Path | None, params: Params = Params()) -> list[Metric]:
    """Same-season baseline vs harmonic regression on the demo's development seed (history
    2024, monitored 2025-Q4, cropland excluded as in the flow) and on Slovenia (development:
    2016-H2; held out: 2017)."""
    out: list[Metric] = []
    for v in villages:
        s = source.load(v, dt.date(2024, 1, 1), dt.date(2025, 12, 31))
        use = [i for i, (t, f) in enumerate(zip(s["time"].values, s["valid_fraction"].values))
               if f >= params.min_valid_fraction and (str(t)[:4] == "2024" or str(t)[:10] >= "2025-10-01")]
        sub = s[["red", "nir"]].isel(time=use).compute()
        nd = indices.ndvi(sub)
        t = pd.DatetimeIndex(nd["time"].values)
        mon = t[t >= pd.Timestamp("2025-10-01")]
        truth = source.truth(v, "2025-12-27", "2025-12-27")
        planted = truth["vegetation_loss"].values | truth["water_gain"].values | truth["became_black_odorous"].values
        crop = truth["cropland"].values  # the comparison's domain: the flow leaves cropland to the farmland watch
        keep = ~planted & ~crop
        out += _compare(nd, mon, params, keep, truth["vegetation_loss"].values, v.id,
                        f"demo seed {source.seed} (development), history 2024, monitored 2025-10..12", crop=crop)
    if realdata is not None and (realdata / SLOVENIA).is_dir():
        ndvi, lulc = slovenia_series(realdata)
        t = pd.DatetimeIndex(ndvi["time"].values)
        for where, (a, b) in {"Slovenia development 2016-H2": ("2016-07-01", "2016-12-31"),
                              "Slovenia held-out 2017": ("2017-01-01", "2017-12-31")}.items():
            mon = t[(t >= a) & (t <= b)]
            out += _compare(ndvi, mon, params, lulc > 0, None, where, "eo-learn Slovenia S2 L1C NDVI (no changes labelled)")
    return out


# --------------------------------------------------------------------------- NAIP
def naip_change_metrics(realdata: Path, params: Params = Params()) -> list[Metric]:
    """Water change between the NAIP dates (the same late-summer season of three years)."""
    import rioxarray
    from scipy.ndimage import binary_dilation

    files = sorted((realdata / NAIP).glob("m_4709963_se_14_1_*.tif"))
    if len(files) != 3:
        raise FileNotFoundError(f"{realdata / NAIP} lacks the three NAIP dates (found {len(files)})")
    ds = "NAIP North Dakota 5 m R,G,B,NIR: 2009-08-18, 2015-09-26, 2019-09-04 (late summer each)"
    masks, ndwis = [], []
    first = None
    for f in files:
        da = rioxarray.open_rasterio(f)
        if first is None:
            first = da
        else:  # the same footprint; a row more or less: onto the first date's grid
            da = da.rio.reproject_match(first)
        arr = da.values.astype(np.float32) / 255.0
        scene = xr.Dataset({n: (("y", "x"), arr[i]) for i, n in enumerate(("red", "green", "blue", "nir"))},
                           coords={"y": da.y, "x": da.x}).rio.write_crs(da.rio.crs)
        masks.append(indices.water_mask(scene, **params.water_kwargs()).values.astype(bool))
        ndwis.append(indices.ndwi(scene).values)
        like = da.isel(band=0, drop=True)
    pix = abs(float(like.rio.resolution()[0] * like.rio.resolution()[1]))
    out = []
    names = ["2009", "2015", "2019"]
    for i, j in ((0, 1), (1, 2)):
        a, b, na, nb = masks[i], masks[j], ndwis[i], ndwis[j]
        gain, loss = b & ~a & (nb > params.change.open_water_ndwi), a & ~b
        sure = (np.abs(na) >= 0.1) & (np.abs(nb) >= 0.1)
        ref_gain, ref_loss = (nb > 0) & (na <= 0) & sure, (na > 0) & (nb <= 0) & sure
        for kind, got, ref in (("gain", gain, ref_gain), ("loss", loss, ref_loss)):
            gl = xr.DataArray(got, dims=("y", "x"), coords={"y": like.y, "x": like.x}).rio.write_crs(like.rio.crs)
            gl = gl.rio.write_transform(like.rio.transform())
            polys = indices.change_polygons(gl, None, min_area_m2=params.change_min_area_m2)
            from .common import body_labels

            lab = body_labels(polys, gl) > 0
            c = confusion(lab[sure], ref[sure])
            lakes = a | b
            edge = binary_dilation(a & b, iterations=4)  # within 20 m of water on both dates
            whole = lab & ~edge
            out.append(Metric(GROUP, f"NAIP water {kind}: precision vs fixed NDWI > 0", c.precision, 0.8, ">=",
                              f"NAIP {names[i]}->{names[j]}", ds,
                              f"water {kind} polygons (>= {params.change_min_area_m2:g} m2) vs the change of NDWI > 0 on both "
                              "dates, on pixels whose NDWI is clearly on one side (|NDWI| >= 0.1) on both",
                              f"{lab.sum() * pix / 1e6:.3f} km2 {kind}; recall {c.recall:.2f}; "
                              f"{100 * (lab & edge).sum() / max(lab.sum(), 1):.0f} % within 20 m of a lake present on both "
                              f"dates, the rest whole lakes {'filling' if kind == 'gain' else 'drying'} "
                              f"({whole.sum() * pix / 1e6:.3f} km2); water on either date {lakes.sum() * pix / 1e6:.2f} km2"))
    return out
