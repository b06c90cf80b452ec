"""Change, vegetation state and the two watches on inputs with known answers (NumPy and Dask),
plus forest canopy on real Sentinel-2 land cover."""
from __future__ import annotations

import json

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Point, box

from indices import (
    IndicesError,
    MissingBandError,
    ancient_tree_watch,
    change_polygons,
    dense_canopy_share,
    farmland_conversion,
    forest_quality,
    fractional_vegetation_cover,
    median_composite,
    ndvi_change,
    vegetation_cover,
    water_change,
)

from support.indices_data import CRS, X0, Y0, coords, dataarray, scene


# --------------------------------------------------------------------------- NDVI change
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_ndvi_change_known_values(backend):
    before = dataarray(np.array([[0.8, 0.5, 0.3, np.nan]], np.float32), dask=backend == "dask")
    after = dataarray(np.array([[0.3, 0.45, 0.6, 0.2]], np.float32), dask=backend == "dask")
    ch = ndvi_change(before, after, threshold=0.2)
    if backend == "dask":
        assert dask.is_dask_collection(ch["dndvi"]) and dask.is_dask_collection(ch["loss"])
    np.testing.assert_allclose(ch["dndvi"].values[0, :3], [-0.5, -0.05, 0.3], atol=1e-6)
    assert np.isnan(ch["dndvi"].values[0, 3]) and ch["dndvi"].dtype == np.float32
    assert ch["loss"].values.tolist() == [[True, False, False, False]]
    assert ch["gain"].values.tolist() == [[False, False, True, False]]
    assert ch["valid"].values.tolist() == [[True, True, True, False]]


def test_ndvi_change_of_two_single_dates_and_grid_mismatch():
    a = dataarray(np.full((1, 4, 4), 0.7), times=["2024-05-01"])
    b = dataarray(np.full((1, 4, 4), 0.2), times=["2024-06-01"])
    ch = ndvi_change(a, b)
    assert ch["dndvi"].dims == ("y", "x") and bool(ch["loss"].all())
    with pytest.raises(IndicesError, match="same grid"):
        ndvi_change(dataarray(np.zeros((4, 4))), dataarray(np.zeros((4, 5))))


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_planted_clearing_is_found_as_one_polygon(backend):
    rng = np.random.default_rng(0)
    before = rng.normal(0.75, 0.03, (60, 60)).astype(np.float32)
    after = before + rng.normal(0, 0.03, (60, 60)).astype(np.float32)
    after[20:28, 30:38] = 0.15  # cleared 8x8 at 10 m = 6,400 m2
    after[50, 5] = 0.1  # one-pixel change: under the 1,000 m2 minimum
    ch = ndvi_change(dataarray(before, dask=backend == "dask"), dataarray(after, dask=backend == "dask"))
    polys = change_polygons(ch["loss"].compute(), ch["dndvi"].compute(), min_area_m2=1000)
    assert len(polys) == 1 and polys.crs == CRS
    p = polys.iloc[0]
    assert p["kind"] == "loss" and p["area_m2"] == 6400.0 and p["n_pixels"] == 64
    assert p["mean_magnitude"] == pytest.approx(float(0.15 - before[20:28, 30:38].mean()), abs=1e-5)
    assert p.geometry.equals(box(X0 + 300, Y0 - 280, X0 + 380, Y0 - 200))
    assert len(change_polygons(ch["gain"].compute(), min_area_m2=1000)) == 0


def test_change_polygons_columns_kind_and_minimum():
    m = np.zeros((20, 20), bool)
    m[0:3, 0:4] = True  # 12 px = 1,200 m2
    m[10:13, 10:13] = True  # 9 px = 900 m2
    out = change_polygons(dataarray(m), min_area_m2=1000, kind="water_gain")
    assert list(out.columns) == ["kind", "area_m2", "n_pixels", "mean_magnitude", "geometry"]
    assert out["kind"].tolist() == ["water_gain"] and out["area_m2"].tolist() == [1200.0]
    assert np.isnan(out["mean_magnitude"].iloc[0])
    assert len(change_polygons(dataarray(m), min_area_m2=900)) == 2
    empty = change_polygons(dataarray(np.zeros((5, 5), bool)))
    assert len(empty) == 0 and list(empty.columns) == ["kind", "area_m2", "n_pixels", "mean_magnitude", "geometry"]


# --------------------------------------------------------------------------- water change
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_water_change_only_where_both_valid(backend):
    d = backend == "dask"
    before = dataarray(np.array([[1, 1, 0, 0, 0, 1]], bool), dask=d)
    after = dataarray(np.array([[1, 0, 1, 0, 1, 0]], bool), dask=d)
    bv = dataarray(np.array([[1, 1, 1, 1, 0, 1]], bool), dask=d)
    av = dataarray(np.array([[1, 1, 1, 1, 1, 0]], bool), dask=d)
    ch = water_change(before, after, bv, av)
    assert dask.is_dask_collection(ch["gain"]) == d
    assert ch["gain"].values.tolist() == [[False, False, True, False, False, False]]
    assert ch["loss"].values.tolist() == [[False, True, False, False, False, False]]
    assert ch["valid"].values.tolist() == [[True, True, True, True, False, False]]


# --------------------------------------------------------------------------- composite
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_median_composite_known_medians(backend):
    red = np.array([[[0.1, np.nan]], [[0.3, np.nan]], [[0.2, 0.5]], [[0.9, np.nan]]], np.float32)  # (4, 1, 2)
    nir = np.full_like(red, 0.4)
    times = ["2024-05-01", "2024-05-11", "2024-05-21", "2024-07-01"]
    s = scene({"red": red, "nir": nir}, times=times, dask=backend == "dask")
    s = s.assign_coords(item_id=("time", ["a", "b", "c", "d"]))
    comp = median_composite(s, "2024-05-01", "2024-05-21")
    assert dask.is_dask_collection(comp["red"]) == (backend == "dask")
    assert comp["red"].dims == ("y", "x") and comp["red"].dtype == np.float32
    np.testing.assert_allclose(comp["red"].values, [[0.2, 0.5]], rtol=1e-6)  # median of 0.1, 0.3, 0.2; NaN skipped
    assert comp.attrs["n_dates"] == 3 and comp.attrs["item_ids"] == ["a", "b", "c"] and comp.rio.crs == CRS
    allnan = median_composite(s.where(s["red"] > 10), "2024-05-01", "2024-07-01")
    assert np.isnan(allnan["red"].values).all()
    with pytest.raises(IndicesError, match="no acquisition between 2024-06-01 and 2024-06-30"):
        median_composite(s, "2024-06-01", "2024-06-30")


# --------------------------------------------------------------------------- vegetation
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_cover_shares_known_fractions(backend):
    nd = dataarray(np.array([[0.1, 0.3, 0.5, 0.7, np.nan], [0.65, 0.2, -0.1, 0.9, np.nan]]), dask=backend == "dask")
    cover = vegetation_cover(nd)
    assert float(cover) == pytest.approx(5 / 8)  # >= 0.3 among 8 valid pixels
    assert float(dense_canopy_share(nd)) == pytest.approx(3 / 8)
    mask = dataarray(np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool))
    assert float(vegetation_cover(nd, mask=mask)) == pytest.approx(3 / 4)
    series = dataarray(np.stack([np.full((3, 3), 0.8), np.full((3, 3), 0.1)]), dask=backend == "dask")
    np.testing.assert_allclose(vegetation_cover(series).values, [1.0, 0.0])
    assert np.isnan(float(vegetation_cover(dataarray(np.full((2, 2), np.nan)))))


def test_fractional_vegetation_cover_dimidiate():
    nd = dataarray(np.array([[0.05, 0.455, 0.86, 0.95, -0.3, np.nan]]), dask=True)
    f = fractional_vegetation_cover(nd)
    assert dask.is_dask_collection(f)
    np.testing.assert_allclose(f.values[0, :5], [0.0, 0.5, 1.0, 1.0, 0.0], atol=1e-6)
    assert np.isnan(f.values[0, 5])
    np.testing.assert_allclose(fractional_vegetation_cover(nd, ndvi_soil=0.04, ndvi_veg=0.52).values[0, 1],
                               (0.455 - 0.04) / 0.48, rtol=1e-6)
    with pytest.raises(IndicesError):
        fractional_vegetation_cover(nd, ndvi_soil=0.5, ndvi_veg=0.4)


def test_forest_quality_trend_per_year():
    years = pd.to_datetime([f"{y}-07-01" for y in range(2018, 2024)])
    share = [0.9, 0.8, 0.7, 0.6, 0.5, 0.95]  # last year an outlier: Theil-Sen shrugs, OLS does not
    frames = []
    for s in share:
        a = np.full((10, 10), 0.3)
        a.ravel()[: int(round(s * 100))] = 0.8
        frames.append(a)
    nd = dataarray(np.stack(frames), times=years, dask=True)
    forest = dataarray(np.ones((10, 10), bool))
    q = forest_quality(nd, forest)
    np.testing.assert_allclose(q["dense_canopy_share"].values, share)
    assert q["theil_sen_slope_per_year"].item() == pytest.approx(-0.1, abs=0.02)
    assert q["theil_sen_low"].item() <= q["theil_sen_slope_per_year"].item() <= q["theil_sen_high"].item()
    assert abs(q["linear_slope_per_year"].item() - (-0.1)) > 0.03
    clean = forest_quality(nd.isel(time=slice(0, 5)), forest)
    assert clean["theil_sen_slope_per_year"].item() == pytest.approx(-0.1, abs=1e-3)
    assert clean["linear_slope_per_year"].item() == pytest.approx(-0.1, abs=1e-3)
    with pytest.raises(IndicesError, match="no forest pixel"):
        forest_quality(nd, dataarray(np.zeros((10, 10), bool)))


@pytest.mark.realdata
def test_forest_canopy_on_real_sentinel2(realdata):
    """Slovenia: 68 Sentinel-2 dates of eo-learn NDVI with its land cover (2 forest,
    3 grassland, 8 artificial) and a cloud-free label per date. On the 11 cloud-free summer
    (June-August) dates the dense-canopy share ranks forest > grassland > artificial;
    measured means 0.964, 0.755, 0.360."""
    folder = realdata / "sentinel2_l1c_slovenia" / "TestEOPatch"
    need = [folder / "data" / "NDVI.npy", folder / "mask_timeless" / "LULC.npy", folder / "timestamps.json",
            folder / "label" / "IS_CLOUDLESS.npy"]
    if not all(p.exists() for p in need):
        pytest.skip(f"{folder} lacks NDVI / LULC / timestamps / IS_CLOUDLESS")
    ndvi = np.load(need[0])[..., 0]
    lulc = np.load(need[1])[..., 0]
    times = pd.to_datetime(json.loads(need[2].read_text()))
    summer = np.load(need[3]).ravel().astype(bool) & np.isin(times.month, [6, 7, 8])
    assert summer.sum() == 11
    nd = dataarray(ndvi[summer], times=times[summer], crs="EPSG:32633", dask=True)
    shares = []
    for cls in (2, 3, 8):
        q = forest_quality(nd, dataarray(lulc == cls, crs="EPSG:32633"))
        assert q.attrs["forest_pixels"] == int((lulc == cls).sum())
        assert q["theil_sen_low"].item() <= q["theil_sen_slope_per_year"].item() <= q["theil_sen_high"].item()
        shares.append(float(q["dense_canopy_share"].mean()))
    assert shares[0] > shares[1] > shares[2]
    np.testing.assert_allclose(shares, [0.964, 0.755, 0.360], atol=0.01)


# --------------------------------------------------------------------------- ancient trees
def tree_series():
    """Three dates of NDVI 0.8 everywhere; tree A's neighbourhood drops to 0.55 on date 3."""
    nd = np.full((3, 30, 30), 0.8)
    nd[2, 9:12, 9:12] = 0.55
    nd[1, 20, 20] = np.nan  # a cloudy pixel inside tree B's buffer
    return dataarray(nd, times=["2024-06-01", "2024-07-01", "2024-08-01"], dask=True)


def test_ancient_tree_watch_alerts_on_decline_only():
    y, x = coords(30, 30)
    trees = gpd.GeoDataFrame({"code": ["440100-0001", "440100-0002", "440100-0003"]},
                             geometry=[Point(x[10], y[10]), Point(x[20], y[20]), Point(X0 - 500, Y0 + 500)], crs=CRS)
    out = ancient_tree_watch(tree_series(), trees, buffer_m=10, decline_threshold=0.15)
    assert len(out) == 9 and out.crs == CRS
    a = out[out["code"] == "440100-0001"].reset_index(drop=True)
    assert (a["n_pixels"] == 5).all()  # centre + 4 neighbours at 10 m; diagonals are 14.1 m away
    np.testing.assert_allclose(a["ndvi_mean"], [0.8, 0.8, 0.55], atol=1e-9)
    np.testing.assert_allclose(a["change"], [0.0, 0.0, -0.25], atol=1e-9)
    assert a["alert"].tolist() == [False, False, True]
    b = out[out["code"] == "440100-0002"].reset_index(drop=True)
    assert b["n_valid"].tolist() == [5, 4, 5] and not b["alert"].any()
    outside = out[out["code"] == "440100-0003"]
    assert (outside["n_pixels"] == 0).all() and not outside["alert"].any() and outside["ndvi_mean"].isna().all()
    mild = ancient_tree_watch(tree_series(), trees, decline_threshold=0.3)
    assert not mild["alert"].any()
    maxbase = ancient_tree_watch(tree_series(), trees.iloc[:1], baseline="max")
    assert maxbase["baseline_ndvi"].tolist() == [0.8] * 3


def test_ancient_tree_watch_small_buffer_reprojection_and_errors():
    y, x = coords(30, 30)
    pt = Point(x[10] + 3, y[10] - 2)  # off-centre inside pixel (10, 10)
    trees = gpd.GeoDataFrame({"code": ["T1"]}, geometry=[pt], crs=CRS).to_crs("EPSG:4326")
    out = ancient_tree_watch(tree_series(), trees, buffer_m=1)
    assert out["n_pixels"].tolist() == [1, 1, 1] and out["alert"].tolist() == [False, False, True]
    with pytest.raises(IndicesError, match="code"):
        ancient_tree_watch(tree_series(), gpd.GeoDataFrame(geometry=[pt], crs=CRS))
    with pytest.raises(IndicesError, match="points"):
        ancient_tree_watch(tree_series(), gpd.GeoDataFrame({"code": ["x"]}, geometry=[pt.buffer(5)], crs=CRS))


# --------------------------------------------------------------------------- farmland conversion
def farm_pair(dask_backed=False):
    """Date 1: crops everywhere. Date 2: a 6x6 block built on inside cropland, the same
    outside cropland, a harvested field (NDVI drop, no NDBI/BSI rise) and a cloud."""
    ny = nx = 40
    before = {"ndvi": np.full((ny, nx), 0.75), "ndbi": np.full((ny, nx), -0.35), "bsi": np.full((ny, nx), -0.25)}
    after = {k: v.copy() for k, v in before.items()}
    for rows, cols in ((slice(5, 11), slice(5, 11)), (slice(5, 11), slice(30, 36))):
        after["ndvi"][rows, cols] = 0.15
        after["ndbi"][rows, cols] = 0.05
    after["ndvi"][25:31, 5:11] = 0.30  # harvest: NDVI falls, NDBI/BSI barely move
    after["bsi"][25:31, 5:11] = -0.2
    after["ndvi"][8, 8] = np.nan
    crop = np.zeros((ny, nx), bool)
    crop[:, :25] = True
    mk = lambda d: xr.Dataset({k: dataarray(v.astype(np.float32), dask=dask_backed) for k, v in d.items()})
    return mk(before), mk(after), dataarray(crop)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_farmland_conversion_flags_built_block_in_cropland_only(backend):
    before, after, crop = farm_pair(backend == "dask")
    sus = farmland_conversion(before, after, crop)
    assert dask.is_dask_collection(sus) == (backend == "dask") and sus.dtype == bool
    v = sus.values
    expected = np.zeros((40, 40), bool)
    expected[5:11, 5:11] = True
    expected[8, 8] = False  # NaN -> not flagged
    np.testing.assert_array_equal(v, expected)
    polys = change_polygons(sus.compute(), min_area_m2=1000, kind="farmland_conversion")
    assert len(polys) == 1 and polys.iloc[0]["area_m2"] == 3500.0 and polys.iloc[0]["kind"] == "farmland_conversion"


def test_farmland_conversion_bsi_rise_and_from_bands():
    before, after, crop = farm_pair()
    after = after.copy()
    after["ndbi"] = before["ndbi"]  # no built-up signal ...
    after["bsi"] = after["bsi"].where(~(crop & (after["ndvi"] < 0.2)), 0.0)  # ... but bare soil rises by 0.25
    sus = farmland_conversion(before, after, crop)
    assert int(sus.sum()) == 35
    assert int(farmland_conversion(before, after, crop, bsi_rise=0.3).sum()) == 0
    # bands instead of indices: computed on the fly
    b1 = scene({"red": np.full((4, 4), 0.04), "nir": np.full((4, 4), 0.40), "swir16": np.full((4, 4), 0.15),
                "blue": np.full((4, 4), 0.03)})
    b2 = scene({"red": np.full((4, 4), 0.20), "nir": np.full((4, 4), 0.22), "swir16": np.full((4, 4), 0.30),
                "blue": np.full((4, 4), 0.15)})
    assert bool(farmland_conversion(b1, b2, dataarray(np.ones((4, 4), bool))).all())
    with pytest.raises(MissingBandError, match="farmland_conversion"):
        farmland_conversion(scene({"red": np.ones((4, 4))}), b2, dataarray(np.ones((4, 4), bool)))
