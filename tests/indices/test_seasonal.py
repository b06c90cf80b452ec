"""Change against the same season: the same-season baseline, the harmonic model, land cover
from the history, the anomaly rules and the candidate / confirmed alerts, on small arrays
whose expected values follow from the definitions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine

import indices
from indices import alerts as A


def series(values, dates) -> xr.DataArray:
    v = np.asarray(values, dtype="float32")
    v = v.reshape(v.shape[0], 1, -1) if v.ndim == 2 else v
    return xr.DataArray(v, dims=("time", "y", "x"),
                        coords={"time": pd.to_datetime(dates), "y": [0.0], "x": np.arange(v.shape[2], dtype=float)})


# --------------------------------------------------------------------------- same-season baseline
def test_season_members_are_earlier_years_within_the_window():
    hist = pd.to_datetime(["2023-12-27", "2024-01-20", "2024-01-21", "2024-12-25", "2024-06-30"])
    m = indices.season_members(hist, pd.to_datetime(["2025-01-05"]), half_window_days=15)
    # 2023-12-27: 9 days from Jan 5 across the new year; 2024-01-20: 15 days; 2024-01-21: 16 days
    # (outside); 2024-12-25: the monitored season itself (11 days before), never its own baseline
    assert m.tolist() == [[True, True, False, False, False]]
    wide = indices.season_members(hist, pd.to_datetime(["2025-07-20"]), half_window_days=15,
                                  fallback_half_window_days=45)
    assert wide.tolist() == [[False, False, False, False, True]]  # only 2024-06-30, 20 days off


def test_season_summary_min_median_share_and_counts():
    dates = ["2024-11-05", "2024-11-10", "2024-11-20", "2024-05-01"]
    ndvi = [[0.8, 0.2], [0.6, np.nan], [0.7, 0.4], [0.1, 0.1]]  # the May value is out of season
    s = indices.season_summary(series(ndvi, dates), ["2025-11-12"], stats=("min", "median", "mean"))
    np.testing.assert_allclose(s["min"].values[0, 0], [0.6, 0.2])
    np.testing.assert_allclose(s["median"].values[0, 0], [0.7, 0.3], atol=1e-6)
    np.testing.assert_allclose(s["mean"].values[0, 0], [0.7, 0.3], atol=1e-6)
    assert s["n_obs"].values[0, 0].tolist() == [3, 2]
    empty = indices.season_summary(series(ndvi, dates), ["2025-02-01"], stats=("min",))
    assert np.isnan(empty["min"].values).all() and (empty["n_obs"].values == 0).all()


def test_harmonic_fit_recovers_a_known_curve():
    rng = np.random.default_rng(3)
    dates = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.sort(rng.choice(730, 40, replace=False)), "D")
    t = (dates - pd.Timestamp("2000-01-01")).days.to_numpy()
    w = 2 * np.pi * t / 365.25
    truth = 0.5 + 0.3 * np.cos(w) - 0.1 * np.sin(w) + 0.05 * np.cos(2 * w)
    noise = rng.normal(0, 0.02, t.size)
    y = np.stack([truth, truth + noise], axis=1)
    fit = indices.harmonic_fit(series(y, dates), n_harmonics=2)
    np.testing.assert_allclose(fit["coef"].values[:, 0, 0], [0.5, 0.3, -0.1, 0.05, 0.0], atol=1e-5)
    assert fit["rmse"].values[0, 0] < 1e-5
    assert 0.012 < fit["rmse"].values[0, 1] < 0.03  # residual sd of N(0, 0.02) noise, 35 dof
    new = pd.to_datetime(["2026-03-01"])
    tn = (new - pd.Timestamp("2000-01-01")).days.to_numpy()[0]
    wn = 2 * np.pi * tn / 365.25
    expect = 0.5 + 0.3 * np.cos(wn) - 0.1 * np.sin(wn) + 0.05 * np.cos(2 * wn)
    assert indices.harmonic_predict(fit, new).values[0, 0, 0] == pytest.approx(expect, abs=1e-5)
    few = indices.harmonic_fit(series(y[:10], dates[:10]), n_harmonics=2)  # 10 < 3 x 5 coefficients
    assert np.isnan(few["rmse"].values).all() and np.isnan(few["coef"].values).all()


def test_harmonic_fit_with_gaps_is_each_pixels_own_least_squares():
    """Clouded dates (NaN) drop out of each pixel's normal equations: the coefficients and the
    residual error are numpy.linalg.lstsq's on that pixel's clear dates alone."""
    rng = np.random.default_rng(11)
    dates = pd.to_datetime("2023-01-01") + pd.to_timedelta(np.sort(rng.choice(1000, 45, replace=False)), "D")
    y = rng.normal(0.5, 0.2, (45, 6)).astype("float32")
    y[rng.random(y.shape) < 0.35] = np.nan
    fit = indices.harmonic_fit(series(y, dates), n_harmonics=2)
    t = (dates - pd.Timestamp("2000-01-01")).days.to_numpy().astype("float64")
    w = 2 * np.pi * t / 365.25
    design = np.stack([np.ones_like(t), np.cos(w), np.sin(w), np.cos(2 * w), np.sin(2 * w)], axis=1)
    for p in range(y.shape[1]):
        ok = np.isfinite(y[:, p])
        coef, res, *_ = np.linalg.lstsq(design[ok], y[ok, p].astype("float64"), rcond=None)
        np.testing.assert_allclose(fit["coef"].values[:, 0, p], coef, rtol=1e-5, atol=1e-6)
        assert fit["n_obs"].values[0, p] == ok.sum()
        assert fit["rmse"].values[0, p] == pytest.approx(np.sqrt(res[0] / (ok.sum() - 5)), rel=1e-5)


# --------------------------------------------------------------------------- land cover
def test_land_cover_from_the_history():
    dates = pd.date_range("2024-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
    crop = [0.2, 0.2, 0.3, 0.6, 0.8, 0.8, 0.3, 0.5, 0.8, 0.7, 0.3, 0.2]  # double-cropped: amplitude 0.6
    forest = [0.8, 0.82, 0.8, 0.83, 0.85, 0.84, 0.86, 0.85, 0.83, 0.82, 0.8, 0.81]
    other = [0.3, 0.32, 0.35, 0.33, 0.34, 0.3, 0.31, 0.36, 0.33, 0.3, 0.32, 0.3]
    pond = [-0.3] * 12
    margin = [0.15] * 12  # a reedy pond margin, wet two months of twelve
    # a paddy whose ripe rice the clouds hid: peak seen 0.45 (< 0.5), but flooded in April-May
    cloudy_paddy = [0.25, 0.25, 0.3, 0.05, 0.05, 0.45, 0.3, 0.1, 0.45, 0.4, 0.3, 0.25]
    nd = series(np.array([crop, forest, other, pond, margin, crop, cloudy_paddy]).T, dates)
    water = np.zeros((12, 7))
    water[:, 3] = 1
    water[3:5, 4] = 1  # occurrence 1/6: seasonal water
    water[3:5, 5] = 1  # a paddy flooded at transplanting: still cropland (its water is its cycle)
    water[3:5, 6] = 1
    lc = indices.land_cover_from_history(nd, series(water, dates))
    assert lc.values[0].tolist() == [A.CROPLAND, A.FOREST, A.OTHER, A.PERMANENT_WATER, A.SEASONAL_WATER,
                                     A.CROPLAND, A.CROPLAND]
    assert "phenology" in lc.attrs["cropland_source"]
    official = xr.DataArray(np.array([[False, False, True, False, False, False, False]]), dims=("y", "x"))
    lc2 = indices.land_cover_from_history(nd, series(water, dates), cropland=official)
    # the official layer decides cropland: the crop-like pixel outside it is other (median NDVI 0.4)
    assert lc2.values[0, :3].tolist() == [A.OTHER, A.FOREST, A.CROPLAND]
    assert lc2.attrs["cropland_source"] == "official cropland layer"
    short = indices.land_cover_from_history(nd.isel(time=slice(0, 3)), series(water[:3], dates[:3]))
    assert A.CROPLAND not in short.values and "too short" in short.attrs["cropland_source"]


# --------------------------------------------------------------------------- anomalies
def _one(values: dict, when="2025-11-12") -> xr.Dataset:
    return xr.Dataset({k: series(np.array([v], dtype="float32"), [when]) for k, v in values.items()})


def test_too_few_clear_observations_leave_the_land_cover_unknown():
    """Issue #13 round 3: a vegetable plot whose peak and harvest fell on cloudy days (peak seen
    0.49 < 0.5, amplitude 0.28 < 0.3) cannot be told from "other" land by 8 clear observations:
    fewer than CCDC's 12 (3 per coefficient of constant, slope and one harmonic pair; Zhu &
    Woodcock 2014) leaves it unknown. Forest (median NDVI >= 0.6) and water stay decided."""
    dates = pd.date_range("2024-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
    nan = np.nan
    plot = [0.21, 0.3, nan, nan, 0.49, nan, nan, 0.35, 0.4, 0.3, 0.25, nan]  # 8 clear of 12
    plot_12 = [0.21, 0.3, 0.33, 0.4, 0.49, 0.45, 0.42, 0.35, 0.4, 0.3, 0.25, 0.22]  # all 12 clear
    forest_few = [0.8, nan, nan, nan, 0.82, nan, nan, nan, 0.85, nan, 0.8, nan]  # 4 clear
    pond_few = [-0.3, nan, nan, nan, -0.3, nan, nan, nan, -0.3, nan, -0.3, nan]
    nd = series(np.array([plot, plot_12, forest_few, pond_few]).T, dates)
    water = np.where(np.isfinite(nd.values[:, 0]), 0.0, np.nan)
    water[:, 3] = np.where(np.isfinite(pond_few), 1.0, np.nan)
    p = indices.SeasonalChangeParams()
    assert p.phenology_min_obs == 3 * 4  # CCDC: 12 clear observations for its 4-coefficient model
    lc = indices.land_cover_from_history(nd, series(water, dates), p)
    assert lc.values[0].tolist() == [A.UNKNOWN, A.OTHER, A.FOREST, A.PERMANENT_WATER]
    assert "< 12 clear dates: unknown" in lc.attrs["cropland_source"]
    # with 7 required, 8 observations decide it: other
    lc7 = indices.land_cover_from_history(nd, series(water, dates), indices.SeasonalChangeParams(phenology_min_obs=7))
    assert lc7.values[0, 0] == A.OTHER
    # an official cropland layer says what is cropland: the phenology's sampling no longer matters
    official = xr.DataArray(np.zeros((1, 4), bool), dims=("y", "x"))
    assert indices.land_cover_from_history(nd, series(water, dates), p, cropland=official).values[0, 0] == A.OTHER
    # vegetation loss is not assessed on unknown land; forest's still is (0.15 < 0.8 - 0.2)
    cur = _one({"ndvi": [0.05, 0.05, 0.15, -0.3]})
    season = _one({"ndvi_min": [0.3, 0.3, 0.8, -0.3]})
    an = indices.seasonal_anomalies(cur, season, lc, series(np.array([[0.2, 0.2, 0.8, -0.3]]), ["2025-01-01"]).isel(time=0),
                                    p).isel(time=0)
    assert an["vegetation_loss_assessed"].values[0].tolist() == [False, True, True, True]
    assert an["vegetation_loss"].values[0].tolist() == [False, True, True, False]


def test_anomalies_are_land_cover_aware():
    p = indices.SeasonalChangeParams()
    # pixels: 0 forest cleared, 1 cropland harvested, 2 flooded paddy (shallow: NDWI < 0),
    # 3 pond dug on cropland (open water), 4 permanent pond drained, 5 pond turned black-odorous,
    # 6 cropland built over
    lc = xr.DataArray(np.array([[A.FOREST, A.CROPLAND, A.CROPLAND, A.CROPLAND, A.PERMANENT_WATER,
                                 A.PERMANENT_WATER, A.CROPLAND]], dtype="uint8"), dims=("y", "x"))
    cur = _one({"ndvi": [0.15, 0.25, 0.05, -0.4, 0.3, -0.3, 0.10],
                "ndwi": [-0.2, -0.3, -0.07, 0.6, -0.3, 0.4, -0.3],
                "ndbi": [0.1, -0.1, -0.9, -0.8, 0.0, -0.8, 0.25],
                "water": [0, 0, 1, 1, 0, 1, 0], "suspect": [0, 0, 0, 0, 0, 1, 0]})
    season = _one({"ndvi_min": [0.78, 0.75, 0.30, 0.40, -0.3, -0.3, 0.30], "ndbi_median": [-0.2, -0.2, -0.2, -0.2, 0, 0, -0.1],
                   "water_share": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0], "suspect_share": [0, 0, 0, 0, 0, 0.0, 0]})
    low = xr.DataArray(np.array([[0.7, 0.28, 0.28, 0.3, -0.4, -0.4, 0.3]], dtype="float32"), dims=("y", "x"))
    an = indices.seasonal_anomalies(cur, season, lc, low, p).isel(time=0)
    assert an["vegetation_loss"].values[0].tolist() == [True, False, False, False, False, False, False]
    assert an["water_gain"].values[0].tolist() == [False, False, False, True, False, False, False]
    assert an["water_loss"].values[0].tolist() == [False, False, False, False, True, False, False]
    assert an["black_odorous"].values[0].tolist() == [False, False, False, False, False, True, False]
    assert an["farmland_pond"].values[0].tolist() == [False, False, False, True, False, False, False]
    assert an["farmland_built"].values[0].tolist() == [False, False, False, False, False, False, True]
    # the harvest is not a farmland conversion either: 0.25 is above the history's low 0.28 - 0.05
    assert not an["farmland_built"].values[0, 1]
    # no baseline (NaN) -> not assessed, never anomalous
    season2 = season.copy()
    season2["ndvi_min"] = season["ndvi_min"].where(False)
    an2 = indices.seasonal_anomalies(cur, season2, lc, low, p).isel(time=0)
    assert not an2["vegetation_loss"].any() and not an2["vegetation_loss_assessed"].any()


# --------------------------------------------------------------------------- alert states
def test_alert_status_candidate_confirmed_reverted():
    dates = pd.date_range("2025-11-02", periods=6, freq="5D")
    # columns: 0 changes for good from obs 2; 1 one anomalous obs (candidate dropped);
    # 2 anomalous under a cloud gap: confirmed by the next clear obs; 3 confirmed, then normal twice
    a = np.array([[0, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 1], [1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 1, 0]], bool)
    o = np.array([[1, 1, 1, 1], [1, 1, 0, 1], [1, 1, 0, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]], bool)
    st = indices.alert_status(series(a, dates).astype(bool), series(o, dates).astype(bool))
    assert st["status"].values[0].tolist() == [A.CONFIRMED, A.NONE, A.CONFIRMED, A.REVERTED]
    d = lambda v: [None if pd.isna(x) else str(x)[:10] for x in v]  # noqa: E731
    assert d(st["first"].values[0]) == ["2025-11-12", None, "2025-11-17", "2025-11-02"]
    assert d(st["confirmed"].values[0]) == ["2025-11-17", None, "2025-11-22", "2025-11-07"]
    assert st["n_anomalous"].values[0].tolist() == [4, 0, 3, 3]
    assert d(st["last"].values[0]) == ["2025-11-27"] * 4
    three = indices.alert_status(series(a, dates).astype(bool), series(o, dates).astype(bool), confirm_obs=3)
    # three in a row: column 2 confirmed on its third clear anomalous obs; column 3 on obs 3, reverted after
    assert three["status"].values[0].tolist() == [A.CONFIRMED, A.NONE, A.CONFIRMED, A.REVERTED]
    assert str(three["confirmed"].values[0, 2])[:10] == "2025-11-27"
    never = indices.alert_status(series(a, dates).astype(bool), series(np.zeros_like(o), dates).astype(bool))
    assert (never["status"].values == A.UNOBSERVED).all()


def test_alert_polygons_carry_status_and_dates():
    shape = (20, 20)
    status = np.zeros(shape, "uint8")
    status[2:8, 2:8] = A.CONFIRMED  # 36 px = 3,600 m2
    status[2:8, 8] = A.CANDIDATE  # joined: 6 more px, still confirmed by majority
    status[15, 15] = A.CANDIDATE  # 100 m2, under the minimum area
    first = np.full(shape, np.datetime64("NaT"), "datetime64[ns]")
    conf = first.copy()
    first[2:8, 2:9] = np.datetime64("2025-11-12")
    first[2, 2] = np.datetime64("2025-11-07")
    conf[2:8, 2:8] = np.datetime64("2025-11-17")
    coords = {"y": 1000.0 - 10 * np.arange(20) - 5, "x": 10 * np.arange(20) + 5.0}
    ds = xr.Dataset({"status": (("y", "x"), status), "first": (("y", "x"), first), "confirmed": (("y", "x"), conf),
                     "last": (("y", "x"), np.full(shape, np.datetime64("2025-12-02"), "datetime64[ns]")),
                     "n_anomalous": (("y", "x"), np.where(status > 0, 3, 0).astype("int16"))}, coords=coords)
    ds = ds.rio.write_crs("EPSG:32650").rio.write_transform(Affine(10, 0, 0, 0, -10, 1000))
    polys = indices.alert_polygons(ds, kind="vegetation_loss", min_area_m2=1000)
    assert len(polys) == 1
    row = polys.iloc[0]
    assert (row.status, row.first_date, row.confirmed_date, row.last_date) == \
        ("confirmed", "2025-11-07", "2025-11-17", "2025-12-02")
    assert row.area_m2 == 4200.0 and row.n_pixels == 42 and row.confirmed_share == pytest.approx(36 / 42)
    assert row.geometry.area == pytest.approx(4200.0)
    # a clearing seen whole on one pass but only partly on the one before: its part seen twice
    # (12 px = 1,200 m2, over the minimum area) confirms it although most of it is a candidate
    part = ds.copy(deep=True)
    part["status"].values[:] = 0
    part["status"].values[2:8, 2:10] = A.CANDIDATE
    part["status"].values[2:4, 2:8] = A.CONFIRMED
    row = indices.alert_polygons(part, kind="vegetation_loss", min_area_m2=1000).iloc[0]
    assert row.status == "confirmed" and row.confirmed_share == pytest.approx(12 / 48)
    part["status"].values[3, 2:8] = A.CANDIDATE  # 6 px seen twice: under the minimum, a candidate
    assert indices.alert_polygons(part, kind="vegetation_loss", min_area_m2=1000).iloc[0].status == "candidate"
