"""Cropland's edge pixels (issue #13 round 4, ``indices.cropedge``): a paddy's mixed border
pixel and a paddy whose trough the clouds hid are cropland; forest beside a paddy, and land
beyond the reach, are not; a permanent clearing is still reported as vegetation loss."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

import indices
from indices import alerts as A
from indices.cropedge import crop_edge, series_correlation

DATES = pd.date_range("2024-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
#: double-cropped rice, one value a month: peak 0.8, low 0.2 (amplitude 0.6)
PADDY = np.array([0.2, 0.2, 0.3, 0.6, 0.8, 0.8, 0.3, 0.5, 0.8, 0.7, 0.3, 0.2])
#: a pixel 40 % paddy, 60 % land at a constant 0.5 (linear mixing): 0.3 + 0.4 x paddy, so its
#: peak is 0.3 + 0.32 = 0.62 and its amplitude 0.4 x 0.6 = 0.24 < 0.3 (the phenology misses it)
EDGE = 0.3 + 0.4 * PADDY
#: evergreen forest with one annual hump of the same amplitude 0.24 (0.62..0.86), median 0.74
FOREST = np.array([0.62, 0.64, 0.70, 0.78, 0.84, 0.86, 0.86, 0.84, 0.78, 0.70, 0.64, 0.62])
#: stable evergreen forest (amplitude 0.06)
STABLE = np.array([0.8, 0.82, 0.8, 0.83, 0.85, 0.84, 0.86, 0.85, 0.83, 0.82, 0.8, 0.81])
NAN = np.nan
#: a paddy whose harvests and flooding fell on cloudy days: seen 0.8, 0.8, 0.55, 0.75, 0.6 and
#: 0.6 (its low 0.55: amplitude 0.25)
HIDDEN = np.array([NAN, NAN, NAN, 0.6, 0.8, 0.8, NAN, 0.55, NAN, 0.75, NAN, 0.6])


def _stack(*columns) -> np.ndarray:
    """(time, 1, x) from per-pixel series."""
    return np.array(columns, dtype="float64").T[:, None, :]


def test_series_correlation_against_numpy():
    a = _stack(PADDY, PADDY, PADDY)
    b = _stack(EDGE, FOREST, HIDDEN)
    r = series_correlation(a, b)[0]
    assert r[0] == np.float64(1.0) or abs(r[0] - 1.0) < 1e-12  # a linear mix of the paddy: r = 1
    assert abs(r[1] - np.corrcoef(PADDY, FOREST)[0, 1]) < 1e-12  # 0.666
    ok = np.isfinite(HIDDEN)
    assert abs(r[2] - np.corrcoef(PADDY[ok], HIDDEN[ok])[0, 1]) < 1e-12
    # fewer than 4 shared dates: undefined
    few = HIDDEN.copy()
    few[[3, 4, 5]] = NAN
    assert np.isnan(series_correlation(_stack(PADDY), _stack(few))[0, 0])


def test_mixed_edge_and_hidden_trough_are_cropland_forest_and_far_land_are_not():
    # columns: 0 edge | 1 paddy | 2 forest (hump) | 3 grass 0.3 | 4 an edge-like series 3 px from the paddy
    #          (row 2) 0 hidden-trough paddy | 1 paddy | 2 anti-phase forest | 3 grass | 4 grass
    anti = 0.9 - 0.4 * PADDY  # amplitude 0.24, peak 0.82, r = -1 with the paddy
    row0 = [EDGE, PADDY, FOREST, np.full(12, 0.3), EDGE]
    row1 = [HIDDEN, PADDY, anti, np.full(12, 0.3), np.full(12, 0.3)]
    nd = np.stack([np.array(row0).T, np.array(row1).T], axis=1)  # (time, 2, 5)
    crop = np.zeros((2, 5), bool)
    crop[:, 1] = True
    got = crop_edge(nd, crop)  # the defaults: reach 1 px, amplitude 0.2, peak 0.4, r 0.7
    # the edge (amplitude 0.24, r 1) and the hidden trough (amplitude 0.25, r 0.98 with the paddy)
    # are cropland; the hump forest (amplitude 0.24, r 0.666 < 0.7) and the anti-phase forest
    # (r -1) beside the paddy are not, nor grass (amplitude 0) nor the edge-like series 3 px away
    expected = [[True, False, False, False, False], [True, False, False, False, False]]
    assert got.tolist() == expected
    # with the bar at 0.5 the hump forest (r 0.666) would be taken, the anti-phase one not
    loose = crop_edge(nd, crop, reach_px=1, min_amplitude=0.2, min_max=0.4, min_r=0.5)
    assert loose.tolist() == [[True, False, True, False, False], [True, False, False, False, False]]
    # the amplitude bar: 0.25 keeps the hidden trough (0.25) and drops the edge (0.24)
    amp = crop_edge(nd, crop, min_amplitude=0.245)
    assert amp[:, 0].tolist() == [False, True]
    # a reach of 3 px reaches column 4 (the edge-like series there follows the paddy: r 1)
    assert crop_edge(nd, crop, reach_px=3)[0, 4]
    # reach 0: the rule is off
    assert not crop_edge(nd, crop, reach_px=0).any()


def test_land_cover_takes_the_edge_and_a_clearing_beside_the_paddy_is_still_loss():
    """In the flow's land cover: 0 paddy, 1 its 40 % mixed edge, 2 stable forest beside the
    paddy, 3 the forest series with the same amplitude as the edge (0.24) but two pixels from any
    cropland. With the rule the edge is cropland (its harvest is not vegetation loss); the forest
    stays forest, and a clearing of it (NDVI 0.15 against a season minimum of 0.8) is reported."""
    nd = xr.DataArray(_stack(PADDY, EDGE, STABLE, FOREST).astype("float32"), dims=("time", "y", "x"),
                      coords={"time": DATES, "y": [0.0], "x": np.arange(4.0)})
    water = xr.zeros_like(nd)
    p = indices.SeasonalChangeParams()
    assert (p.crop_edge_px, p.crop_edge_min_amplitude, p.crop_edge_min_r) == (1, 0.2, 0.7)
    lc = indices.land_cover_from_history(nd, water, p)
    assert lc.values[0].tolist() == [A.CROPLAND, A.CROPLAND, A.FOREST, A.FOREST]
    assert "r >= 0.7" in lc.attrs["cropland_source"]
    off = indices.land_cover_from_history(nd, water, indices.SeasonalChangeParams(crop_edge_px=0))
    assert off.values[0].tolist() == [A.CROPLAND, A.OTHER, A.FOREST, A.FOREST]  # median 0.46 < 0.6: other
    # a date: the paddy and its edge harvested (0.2, 0.3), both forests cleared (0.15)
    one = lambda v: xr.DataArray(np.array([[v]], dtype="float32"), dims=("time", "y", "x"),  # noqa: E731
                                 coords={"time": [pd.Timestamp("2025-08-10")], "y": [0.0], "x": np.arange(4.0)})
    cur = xr.Dataset({"ndvi": one([0.2, 0.3, 0.15, 0.15])})
    season = xr.Dataset({"ndvi_min": one([0.75, 0.58, 0.8, 0.78])})
    low = xr.DataArray(np.array([[0.2, 0.38, 0.8, 0.62]], dtype="float32"), dims=("y", "x"))
    loss = indices.seasonal_anomalies(cur, season, lc, low, p)["vegetation_loss"].values[0, 0].tolist()
    assert loss == [False, False, True, True]
    # without the rule the edge's harvest (0.3 <= 0.58 - 0.2) would be published as loss
    loss_off = indices.seasonal_anomalies(cur, season, off, low, p)["vegetation_loss"].values[0, 0].tolist()
    assert loss_off == [False, True, True, True]
