"""Water extraction and water bodies: Otsu and its fallback, edge-buffered Otsu, the water
mask on synthetic ponds of known size, minimum mapping unit, water bodies (areas, ids,
classes, statistics), and real NAIP lakes."""
from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from shapely.geometry import box
from skimage.draw import disk as draw_disk
from skimage.filters import threshold_otsu

import indices
from indices import IndicesError, MissingBandError, ThresholdResult
from indices.water import edge_buffered_otsu, otsu_threshold, water_index_for, water_mask, water_valid
from indices.waterbodies import centroid_id, water_bodies

from support.indices_data import CRS, X0, Y0, coords, dataarray, scene

RES = 10.0


# --------------------------------------------------------------------------- Otsu
def test_otsu_bimodal_threshold_splits_as_skimage_and_sits_mid_gap():
    """Same histogram and criterion as skimage: the samples fall on the same sides as in
    skimage's class split (bins up to its argmax); where that maximum is a plateau over empty
    bins (two well-separated modes), the threshold is in the middle of the gap, not at the
    centre of the plateau's first bin."""
    from skimage.exposure import histogram

    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(-0.4, 0.08, 3000), rng.normal(0.5, 0.08, 1000), [np.nan] * 50])
    r = otsu_threshold(v)
    assert isinstance(r, ThresholdResult) and r.method == "otsu"
    assert -0.3 < r.value < 0.4  # in the gap, more than one sigma from either mode
    f = v[np.isfinite(v)]
    _, centers = histogram(f, 256, source_range="image")
    half = (centers[1] - centers[0]) / 2
    np.testing.assert_array_equal(f > r.value, f > float(threshold_otsu(f)) + half)
    assert r.separability > 0.9 and r.n == 4000
    # hand-computed: classes {0, 0, 0, 1, 1, 1} and {5, 5}; the gap's middle is 3 (skimage: 1.006)
    gap = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 5.0, 5.0] * 10)
    assert otsu_threshold(gap).value == pytest.approx(3.0, abs=5 / 256)
    assert float(threshold_otsu(gap)) == pytest.approx(1.0, abs=5 / 256)


def test_otsu_falls_back_on_unimodal_with_documented_separability():
    rng = np.random.default_rng(1)
    r = otsu_threshold(rng.normal(0.1, 0.2, 200_000), fallback=0.0)
    assert r.method == "fallback" and r.value == 0.0 and "not bimodal" in r.reason
    assert r.separability == pytest.approx(2 / np.pi, abs=0.01)  # one Gaussian: eta = 2/pi


def test_otsu_separability_at_three_sigma_is_the_cutoff():
    """Two equal Gaussians 4 sigma apart pass (eta ~ 0.81), 2 sigma apart fall back (~0.68)."""
    rng = np.random.default_rng(2)
    far = np.concatenate([rng.normal(-2, 1, 100_000), rng.normal(2, 1, 100_000)])
    near = np.concatenate([rng.normal(-1, 1, 100_000), rng.normal(1, 1, 100_000)])
    assert otsu_threshold(far).separability == pytest.approx(0.81, abs=0.01)
    assert otsu_threshold(far).method == "otsu"
    assert otsu_threshold(near).method == "fallback"


def test_otsu_falls_back_on_too_few_or_constant_or_lopsided():
    assert otsu_threshold(np.array([0.1, 0.5, np.nan]), fallback=0.05).value == 0.05
    r = otsu_threshold(np.full(500, 0.3))
    assert r.method == "fallback" and "equal" in r.reason
    rng = np.random.default_rng(3)
    few_water = np.concatenate([rng.normal(-0.4, 0.05, 5000), [0.6] * 5])  # 5 water pixels
    r = otsu_threshold(few_water)
    assert r.method == "fallback"


def test_otsu_on_dask_dataarray_computes():
    rng = np.random.default_rng(4)
    v = np.concatenate([rng.normal(-0.4, 0.05, 600), rng.normal(0.4, 0.05, 600)]).reshape(30, 40)
    a = otsu_threshold(dataarray(v, dask=True))
    assert a.method == "otsu" and a.value == pytest.approx(otsu_threshold(v).value)


# --------------------------------------------------------------------------- synthetic ponds
def ponds_truth(ny=120, nx=120):
    """Truth masks: a 12x12 square pond, a disk pond of radius 7 px, a 3x3 pond (900 m2),
    and specks below the 400 m2 MMU (a single pixel, a 1x3 strip)."""
    big = np.zeros((ny, nx), bool)
    big[20:32, 20:32] = True
    rr, cc = draw_disk((80, 70), 7, shape=(ny, nx))
    round_ = np.zeros((ny, nx), bool)
    round_[rr, cc] = True
    small = np.zeros((ny, nx), bool)
    small[60:63, 20:23] = True
    specks = np.zeros((ny, nx), bool)
    specks[100, 100] = True
    specks[10, 90:93] = True
    return big, round_, small, specks


def water_scene(truth: np.ndarray, *, seed=0, dask_backed=False, cloud: tuple | None = None, times=None):
    """Sentinel-2-like reflectance: land MNDWI ~ -0.4, water ~ +0.6, with noise."""
    rng = np.random.default_rng(seed)
    t = truth if truth.ndim == 3 else truth[None]
    sh = t.shape
    green = np.where(t, 0.08, 0.09) + rng.normal(0, 0.004, sh)
    swir16 = np.where(t, 0.018, 0.22) + rng.normal(0, 0.006, sh)
    nir = np.where(t, 0.03, 0.30) + rng.normal(0, 0.01, sh)
    red = np.where(t, 0.05, 0.07) + rng.normal(0, 0.004, sh)
    blue = np.where(t, 0.07, 0.05) + rng.normal(0, 0.004, sh)
    swir22 = np.where(t, 0.01, 0.12) + rng.normal(0, 0.004, sh)
    bands = dict(green=green, swir16=swir16, nir=nir, red=red, blue=blue, swir22=swir22)
    if cloud is not None:
        for b in bands.values():
            b[(slice(None),) + cloud] = np.nan
    if truth.ndim == 2:
        bands = {k: v[0] for k, v in bands.items()}
    return scene(bands, dask=dask_backed, times=times)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_water_mask_recovers_ponds_and_removes_specks(backend):
    big, round_, small, specks = ponds_truth()
    truth = big | round_ | small
    stack = np.stack([truth | specks, truth | specks])
    ds = water_scene(stack, dask_backed=backend == "dask", cloud=(slice(0, 8), slice(0, 120)),
                     times=["2024-05-01", "2024-06-01"])
    w = water_mask(ds)
    assert w.dtype == bool and w.dims == ("time", "y", "x") and w.rio.crs == ds.rio.crs
    assert w.attrs["water_index"] == "mndwi" and w.attrs["method"] == "edge_otsu"
    assert w.attrs["threshold_method"] == ["otsu", "otsu"] and len(w.attrs["threshold"]) == 2
    assert all(-0.42 < t < 0.63 for t in w.attrs["threshold"])  # between the land and water medians
    for d in range(2):
        m = w.values[d]
        for pond in (big, round_, small):
            assert iou(m & pond, pond) >= 0.95
        assert iou(m, truth) >= 0.95
        assert not (m & specks).any()  # 1 px and 1x3 specks: under 400 m2
        assert not m[:8].any()  # cloud (NaN) is never water
    valid = water_valid(ds)
    assert dask.is_dask_collection(valid) == (backend == "dask")
    assert not bool(valid.values[:, :8].any()) and bool(valid.values[:, 8:].all())


def test_water_mask_2d_and_dask_equal_numpy():
    big, round_, small, _ = ponds_truth()
    truth = big | round_ | small
    a = water_mask(water_scene(truth))
    b = water_mask(water_scene(truth, dask_backed=True))
    assert a.dims == ("y", "x") and isinstance(a.attrs["threshold"], float)
    np.testing.assert_array_equal(a.values, b.values)


def test_minimum_mapping_unit_uses_pixel_size():
    idx = np.full((40, 40), -0.5)
    idx[5:7, 5:7] = 0.5  # 2x2
    idx[20, 10:13] = 0.5  # 1x3
    # at 10 m: 2x2 = 400 m2 kept, 1x3 = 300 m2 dropped (no opening, so only the MMU acts)
    m10 = water_mask(dataarray(idx, res=10.0, name="mndwi"), method="fixed", opening_radius_px=0, min_area_m2=400)
    assert m10.values[5:7, 5:7].all() and not m10.values[20].any()
    # at 5 m the same 2x2 is 100 m2: dropped
    m5 = water_mask(dataarray(idx, res=5.0, name="mndwi"), method="fixed", opening_radius_px=0, min_area_m2=400)
    assert not m5.values.any()


def test_opening_radius_and_mmu_pixels_hand_computed():
    """r = floor((width / pixel - 1) / 2): the widest (2r+1)-pixel square not wider than the width;
    MMU pixels = max(min_pixels, ceil(area / pixel area))."""
    from indices import area_pixels, opening_radius_for

    assert opening_radius_for(1.5, 0.5) == 1  # 3 px = 1.5 m
    assert opening_radius_for(1.5, 0.1) == 7  # 15 px = 1.5 m
    assert opening_radius_for(1.5, 0.75) == 0  # 3 px would be 2.25 m > 1.5 m
    assert opening_radius_for(3.0, 1.0) == 1 and opening_radius_for(2.9, 1.0) == 0
    assert opening_radius_for(1.5, 10.0) == opening_radius_for(1.5, 30.0) == opening_radius_for(0.0, 0.5) == 0
    assert area_pixels(400, 100, 2) == 4 and area_pixels(400, 900, 2) == 2 and area_pixels(400, 900, 1) == 1
    assert area_pixels(400, 25, 2) == 16 and area_pixels(400, 0.25, 2) == 1600 and area_pixels(401, 100) == 5
    with pytest.raises(IndicesError, match="pixel size"):
        opening_radius_for(1.5, 0.0)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_opening_and_mmu_scale_with_pixel_size(backend):
    """One picture at three pixel sizes: a 1-px line (a ditch), a 3-px-wide channel and a
    single-pixel speck. Default clean-up (1.5 m opening width, 400 m2 with a 2-pixel floor):
    at 10 m no opening, the 1-px ditch (600 m2) is kept and the speck (100 m2) dropped; at 30 m
    (400 m2 < 1 pixel) the 2-pixel floor still drops the speck and keeps the ditch; at 0.5 m a
    3x3 opening removes the 0.5 m line but keeps the 1.5 m channel, which then falls under
    400 m2 (1,600 px) unless the MMU is lowered. An explicit opening_radius_px=1 removes the
    ditch at 10 m (the old default)."""
    idx = np.full((30, 60), -0.5)
    idx[10, :] = 0.5  # 1 px wide line
    idx[20:23, :] = 0.5  # 3 px wide channel
    idx[5, 5] = 0.5  # speck
    line, channel = np.zeros(idx.shape, bool), np.zeros(idx.shape, bool)
    line[10, :] = True
    channel[20:23, :] = True

    def mask(res, **kw):
        w = water_mask(dataarray(idx, res=res, name="ndwi", dask=backend == "dask"), method="fixed", **kw)
        return w.values, w.attrs

    m10, a10 = mask(10.0)
    assert a10["opening_radius_px"] == 0 and a10["min_area_pixels"] == 4
    np.testing.assert_array_equal(m10, line | channel)
    m30, a30 = mask(30.0)
    assert a30["opening_radius_px"] == 0 and a30["min_area_pixels"] == 2
    np.testing.assert_array_equal(m30, line | channel)
    m05, a05 = mask(0.5, min_area_m2=1.0)
    assert a05["opening_radius_px"] == 1 and a05["min_area_pixels"] == 4
    np.testing.assert_array_equal(m05, channel)
    assert not mask(0.5)[0].any()  # 60 x 3 px = 45 m2 < 400 m2
    np.testing.assert_array_equal(mask(10.0, opening_radius_px=1)[0], channel)


def test_small_holes_filled_large_kept():
    idx = np.full((40, 40), -0.5)
    idx[5:35, 5:35] = 0.5
    idx[10, 10] = -0.5  # 1-pixel island (100 m2): filled
    idx[20:27, 20:27] = -0.5  # 7x7 island (4,900 m2): kept
    m = water_mask(dataarray(idx, name="mndwi"), method="fixed").values
    assert m[10, 10] and not m[20:27, 20:27].any()


def test_edge_otsu_finds_threshold_where_global_otsu_falls_back():
    """One pond in a big land scene (1 % water): the whole histogram is not bimodal
    enough, the edge buffer is."""
    rng = np.random.default_rng(5)
    idx = rng.normal(-0.3, 0.06, (200, 200))
    idx[90:110, 90:110] = rng.normal(0.45, 0.06, (20, 20))
    assert otsu_threshold(idx).method == "fallback"
    e = edge_buffered_otsu(idx, buffer_px=3)
    assert e.method == "otsu" and -0.15 < e.value < 0.3 and "edge buffer" in e.reason
    none = edge_buffered_otsu(np.full((20, 20), -0.5))
    assert none.method == "fallback" and "no valid pixel above" in none.reason


def test_edge_otsu_chain_falls_back_to_whole_image_then_fixed():
    rng = np.random.default_rng(6)
    idx = rng.normal(-0.2, 0.15, (100, 100))  # unimodal: no water structure at all
    m = water_mask(dataarray(idx, name="mndwi"), fallback=0.0)
    assert m.attrs["threshold_method"] == "fallback" and m.attrs["threshold"] == 0.0
    assert "edge buffer" in m.attrs["threshold_reason"] and "whole image" in m.attrs["threshold_reason"]


def test_water_index_choice_and_rgb_refusal():
    s2 = scene({"green": [[0.1]], "swir16": [[0.1]], "nir": [[0.1]]})
    naip = scene({"red": [[0.1]], "green": [[0.1]], "blue": [[0.1]], "nir": [[0.1]]})
    landsat_nir = scene({"green": [[0.1]], "nir08": [[0.1]]})
    assert water_index_for(s2) == "mndwi"
    assert water_index_for(naip) == "ndwi" and water_index_for(landsat_nir) == "ndwi"
    rgb = scene({"red": [[0.1]], "green": [[0.1]], "blue": [[0.1]]})
    with pytest.raises(MissingBandError, match="needs nir or swir16; scene has red, green, blue"):
        water_index_for(rgb)
    with pytest.raises(MissingBandError):
        water_mask(rgb)


def test_visible_candidates_find_clear_water_only():
    """Why RGB-only scenes are refused, on the literature-shaped spectra of the black-odorous
    tests (B, G, R surface reflectance): the blue-dominance candidates (blue - red)/(blue + red)
    and the blue chromatic coordinate put clear water above paddy, but turbid and black-odorous
    water below it or level with it; (green - red)/(green + red) puts paddy above every water type. Measured on
    real and demo data in tests/test_validation.py."""
    from indices import spectral

    spectra = {  # B, G, R (reflectance): water from tests/test_blackodorous.py x pi, paddy from the demo
        "clear": (0.0188, 0.0094, 0.0088), "ordinary": (0.0251, 0.0565, 0.0314),
        "black_odorous": (0.0126, 0.0188, 0.0182), "turbid": (0.0628, 0.1257, 0.1414),
        "paddy": (0.039, 0.083, 0.053),
    }
    names = list(spectra)
    arr = np.array([spectra[n] for n in names])
    s = scene({"blue": [arr[:, 0]], "green": [arr[:, 1]], "red": [arr[:, 2]]})
    for func in (spectral.blue_red_ndi, spectral.bcc, spectral.ngrdi):
        v = dict(zip(names, func(s).values[0].tolist()))
        assert func(s).dtype == np.float32 and func(s).attrs["source"]
        if func is spectral.ngrdi:
            assert all(v["paddy"] > v[w] for w in ("clear", "black_odorous", "turbid"))
        else:
            assert v["clear"] > v["paddy"] > v["turbid"]
        if func is spectral.blue_red_ndi:
            assert v["black_odorous"] < v["paddy"]
        if func is spectral.bcc:  # black-odorous water barely bluer than paddy: no margin to threshold
            assert abs(v["black_odorous"] - v["paddy"]) < 0.05
    assert float(spectral.bcc(scene({"blue": [[0.1]], "green": [[0.1]], "red": [[0.1]]})).values[0, 0]) == pytest.approx(1 / 3)
    for name in ("blue_red_ndi", "bcc", "ngrdi"):  # candidates only: never a product
        assert name not in indices.INDICES


def test_awei_sh_option_and_bad_inputs():
    big, round_, small, _ = ponds_truth()
    truth = big | round_ | small
    ds = water_scene(truth)
    w = water_mask(ds, index="awei_sh")
    assert w.attrs["water_index"] == "awei_sh" and iou(w.values, truth) >= 0.95
    with pytest.raises(IndicesError, match="not a water index"):
        water_mask(ds, index="ndvi")
    with pytest.raises(IndicesError, match="unknown water threshold method"):
        water_mask(ds, method="kmeans")
    geo = scene({"green": [[0.1, 0.2]], "swir16": [[0.1, 0.0]]}, crs="EPSG:4326")
    with pytest.raises(IndicesError, match="not projected"):
        water_mask(geo)


# --------------------------------------------------------------------------- water bodies
def mask_da(m, res=RES, crs=CRS):
    return dataarray(np.asarray(m, bool), res=res, crs=crs, name="water")


def test_water_body_areas_classes_and_resolvable():
    m = np.zeros((60, 60), bool)
    m[5:15, 5:15] = True  # 10x10 at 10 m = 10,000 m2
    m[30, 30:32] = True  # 2-pixel pond
    m[40:45, 40:44] = True  # 20 px = 2,000 m2: national (>=)
    m[50:53, 5:9] = True  # 12 px = 1,200 m2
    gdf = water_bodies(mask_da(m))
    assert gdf.crs == CRS and len(gdf) == 4
    by_n = gdf.set_index("n_pixels")
    assert by_n.loc[100, "area_m2"] == 10_000.0 and by_n.loc[100, "perimeter_m"] == 400.0
    assert by_n.loc[100, "geometry"].area == 10_000.0
    assert by_n.loc[100, "resolvable"] and by_n.loc[100, "size_class"] == "national"
    assert by_n.loc[2, "area_m2"] == 200.0 and not by_n.loc[2, "resolvable"]
    assert by_n.loc[2, "size_class"] == "provincial"
    assert by_n.loc[20, "size_class"] == "national" and by_n.loc[12, "size_class"] == "provincial"
    assert list(gdf.columns[:6]) == ["wb_id", "area_m2", "perimeter_m", "n_pixels", "resolvable", "size_class"]
    # the 10x10 square's bounds are its pixel edges
    y, x = coords(60, 60)
    assert by_n.loc[100, "geometry"].bounds == (X0 + 50, Y0 - 150, X0 + 150, Y0 - 50)


def test_water_body_id_is_rounded_centroid():
    m = np.zeros((30, 30), bool)
    m[10:20, 10:20] = True  # centroid at the corner between pixels (X0 + 150, Y0 - 150)
    gdf = water_bodies(mask_da(m))
    assert gdf.loc[0, "wb_id"] == f"wb-{int(X0 + 150)}-{int(Y0 - 150)}" == centroid_id(X0 + 150, Y0 - 150)
    assert centroid_id(741522.3, -2811204.7) == "wb-741520-m2811200"


def test_ids_stable_across_dates_with_shifted_pond():
    d1 = np.zeros((50, 50), bool)
    d1[10:20, 10:20] = True
    d1[30:36, 30:36] = True
    d2 = np.zeros((50, 50), bool)
    d2[11:21, 11:21] = True  # shifted one pixel (10 m) diagonally
    d2[30:35, 30:36] = True  # shrank
    d2[40:44, 5:9] = True  # new pond
    g1 = water_bodies(mask_da(d1))
    g2 = water_bodies(mask_da(d2), previous=g1)
    ids1 = dict(zip(g1["n_pixels"], g1["wb_id"]))
    ids2 = dict(zip(g2["n_pixels"], g2["wb_id"]))
    assert ids2[100] == ids1[100] and ids2[30] == ids1[36]
    assert ids2[16] not in set(g1["wb_id"])
    alone = water_bodies(mask_da(d2))  # without previous the shifted pond's centroid moved
    assert ids1[100] not in set(alone["wb_id"])
    again = water_bodies(mask_da(d1))  # same pond, same grid: same id without previous
    assert list(again["wb_id"]) == list(g1["wb_id"])
    prev_ll = g1.to_crs("EPSG:4326")  # previous in another CRS is reprojected
    assert set(water_bodies(mask_da(d2), previous=prev_ll)["wb_id"]) == set(g2["wb_id"])


def test_split_pond_keeps_id_on_largest_part():
    d1 = np.zeros((40, 40), bool)
    d1[5:25, 5:15] = True
    d2 = d1.copy()
    d2[18:20, :] = False  # a dike splits it: 13x10 and 5x10
    g1 = water_bodies(mask_da(d1))
    g2 = water_bodies(mask_da(d2), previous=g1)
    assert len(g2) == 2 and g2["wb_id"].is_unique
    assert g2.set_index("n_pixels").loc[130, "wb_id"] == g1.loc[0, "wb_id"]


def test_body_statistics_and_connectivity():
    m = np.zeros((30, 30), bool)
    m[2:5, 2:5] = True
    m[10, 10] = m[11, 11] = True  # touch at a corner: one 8-connected body
    m[20:27, 20:27] = True
    m[23, 23] = False  # a hole
    ndvi = np.full((30, 30), 0.5, np.float32)
    ndvi[2:5, 2:5] = -0.2
    ndvi[2, 2] = np.nan  # ignored in the mean
    mndwi = np.where(m, 0.4, -0.3).astype(np.float32)
    idx = xr.Dataset({"ndvi": dataarray(ndvi), "mndwi": dataarray(mndwi)})
    vc = np.full((30, 30), 3, np.int16)
    vc[21, 21] = 1
    gdf = water_bodies(mask_da(m), indices=idx, valid_count=dataarray(vc)).set_index("n_pixels")
    assert len(gdf) == 3
    diag = gdf.loc[2]
    assert diag.geometry.is_valid and diag.geometry.geom_type == "MultiPolygon" and diag.geometry.area == 200.0
    assert gdf.loc[9, "mean_ndvi"] == pytest.approx(-0.2) and gdf.loc[9, "mean_mndwi"] == pytest.approx(0.4)
    ring = gdf.loc[48]
    assert ring["area_m2"] == 4_800.0 and ring["perimeter_m"] == 280.0 + 40.0  # outer + hole
    assert ring["valid_obs"] == 1 and gdf.loc[9, "valid_obs"] == 3


def test_water_bodies_empty_and_input_checks():
    empty = water_bodies(mask_da(np.zeros((10, 10), bool)), indices=xr.Dataset({"ndvi": dataarray(np.zeros((10, 10)))}))
    assert len(empty) == 0 and empty.crs == CRS
    assert {"wb_id", "area_m2", "size_class", "mean_ndvi", "geometry"} <= set(empty.columns)
    with pytest.raises(IndicesError, match="shape"):
        water_bodies(mask_da(np.ones((10, 10), bool)), indices=xr.Dataset({"ndvi": dataarray(np.zeros((5, 5)))}))
    with pytest.raises(IndicesError, match="wb_id"):
        water_bodies(mask_da(np.ones((10, 10), bool)),
                     previous=gpd.GeoDataFrame({"x": [1]}, geometry=[box(X0, Y0 - 100, X0 + 100, Y0)], crs=CRS))
    one_date = dataarray(np.ones((1, 10, 10), bool))
    assert water_bodies(one_date).loc[0, "area_m2"] == 10_000.0


def test_water_mask_to_bodies_pipeline_on_dask_scene():
    big, round_, small, specks = ponds_truth()
    truth = big | round_ | small
    ds = water_scene(truth | specks, dask_backed=True)
    idx, _ = indices.compute_indices(ds, names=["mndwi", "ndvi"])
    w = water_mask(ds)
    gdf = water_bodies(w, indices=idx, valid_count=water_valid(ds).astype("int16"))
    assert len(gdf) == 3
    assert sorted(gdf["n_pixels"]) == sorted([int(small.sum()), int(round_.sum()), int(big.sum())])
    assert (gdf["mean_mndwi"] > 0.5).all() and (gdf["valid_obs"] == 1).all()
    assert list(gdf["resolvable"]) == [True, True, True]


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_naip_lakes_real(realdata):
    """NAIP 5 m (R, G, B, NIR; uint8 scaled to 0..1) over North Dakota prairie potholes.
    Measured on these files: water fraction 0.119 (2009), 0.225 (2015), 0.231 (2019); the
    thresholds are bimodal Otsu (edge buffer in 2009; whole image in 2015/2019, whose
    vegetated shores make the edge buffer not bimodal)."""
    rioxarray = pytest.importorskip("rioxarray")
    folder = realdata / "naip_lakes_north_dakota"
    files = sorted(folder.glob("m_4709963_se_14_1_*.tif"))
    if len(files) != 3:
        pytest.skip(f"{folder} lacks the three NAIP dates")
    fractions, bodies, prev = [], [], None
    for f in files:
        da = rioxarray.open_rasterio(f)
        arr = da.values.astype(np.float32) / 255.0
        ds = xr.Dataset({n: (("y", "x"), arr[i]) for i, n in enumerate(("red", "green", "blue", "nir"))},
                        coords={"y": da.y, "x": da.x}).rio.write_crs(da.rio.crs).chunk({"y": 256, "x": 256})
        w = water_mask(ds)
        assert w.attrs["water_index"] == "ndwi" and w.attrs["threshold_method"] == "otsu"
        fractions.append(float(w.mean()))
        g = water_bodies(w, previous=prev)
        bodies.append(g)
        prev = g
    np.testing.assert_allclose(fractions, [0.119, 0.225, 0.231], atol=0.01)
    # the largest lake is one body on every date and keeps its id through the chain
    largest = [g.sort_values("area_m2").iloc[-1] for g in bodies]
    assert largest[0]["area_m2"] > 300_000 and all(l["resolvable"] for l in largest)
    assert largest[1]["wb_id"] == largest[2]["wb_id"]
    assert all(g.geometry.is_valid.all() and g.crs == "EPSG:26914" for g in bodies)


def test_suspect_reach_becomes_its_own_body_and_speckle_does_not_split():
    """A river (3 px wide, 50 px long) whose last 15 px are black-odorous: with the cleaned
    suspect mask as ``split`` it is two bodies, 105 + 45 px; a 2-pixel suspect speck and a
    one-pixel gap in the reach neither split nor break it."""
    from indices import suspect_reaches

    m = np.zeros((20, 60), bool)
    m[5:8, 5:55] = True
    sus = np.zeros_like(m)
    sus[5:8, 40:55] = True
    sus[6, 47] = False  # a one-pixel gap inside the reach: closed
    sus[6, 10:12] = True  # a 2-pixel speck upstream: too small to be a reach
    reach = suspect_reaches(mask_da(sus), mask_da(m))
    assert int(reach.sum()) == 45 and bool(reach.values[6, 47]) and not reach.values[6, 10:12].any()
    assert not (reach.values & ~m).any()
    whole = water_bodies(mask_da(m))
    split = water_bodies(mask_da(m), split=reach)
    assert len(whole) == 1 and sorted(split["n_pixels"]) == [45, 105]
    assert split["area_m2"].sum() == whole["area_m2"].sum() == 150 * 100.0
    with pytest.raises(IndicesError, match="split mask has shape"):
        water_bodies(mask_da(m), split=mask_da(sus[:10]))


# --------------------------------------------------------------------------- relative (uncalibrated) values
def _relative(ds):
    ds = ds.copy()
    ds.attrs["reflectance_units"] = "relative"
    return ds


def test_relative_values_get_a_water_mask_only_from_a_bimodal_otsu_threshold():
    """Per-band camera gains move NDWI's zero: 20 % water at NDWI 0.45, land at -0.2 and (a
    second land class) -0.1. With the NIR gain doubled (an uncalibrated camera) land stays below
    water and Otsu still splits them; NDWI > 0 would not be trusted, and a histogram that is not
    bimodal gives no mask at all on relative values."""
    g = np.full((40, 40), 0.08)
    n = np.full((40, 40), 0.12)   # land: NDWI (0.08 - 0.12) / 0.20 = -0.2
    n[:, 20:] = 0.098             # land: NDWI -0.1
    n[:8, :] = 0.03               # water: NDWI 0.455
    ds = _relative(scene({"green": g, "nir": n}))
    w = water_mask(ds, min_area_m2=0, min_pixels=1)
    assert w.attrs["threshold_method"] == "otsu"
    np.testing.assert_array_equal(w.values, n == 0.03)
    from indices.errors import UncalibratedError

    with pytest.raises(UncalibratedError, match="water_mask.*No histogram of ndwi is bimodal"):
        water_mask(ds, min_separation=1.01)
    with pytest.raises(UncalibratedError, match="fixed threshold on ndwi"):
        water_mask(ds, method="fixed")
    # calibrated: the same scene falls back to the published 0 (NDWI > 0)
    cal = scene({"green": g, "nir": n})
    np.testing.assert_array_equal(water_mask(cal, min_separation=1.01, min_area_m2=0, min_pixels=1).values, n == 0.03)


def test_relative_values_skip_the_indices_whose_constants_assume_reflectance():
    ds = _relative(scene({"blue": [[0.1]], "green": [[0.1]], "red": [[0.1]], "nir": [[0.3]],
                          "swir16": [[0.2]], "swir22": [[0.1]]}))
    idx, skipped = indices.compute_indices(ds)
    assert {"evi", "savi", "awei_nsh", "awei_sh"} <= set(skipped)
    assert all("relative" in skipped[k] for k in ("evi", "savi", "awei_nsh", "awei_sh"))
    assert {"ndvi", "ndwi", "mndwi", "exg"} <= set(idx.data_vars)
    cal = ds.copy()
    cal.attrs["reflectance_units"] = "reflectance"
    idx_cal, skipped_cal = indices.compute_indices(cal)
    assert {"evi", "savi", "awei_nsh", "awei_sh"} <= set(idx_cal.data_vars) and set(skipped_cal) == {"ndre"}
