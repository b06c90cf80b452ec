"""Issue 11 on real files (../shared/realdata, never copied into the repo; derived files are
written to tmp_path): masks and per-band nodata applied exactly, mosaics that keep every imaged
pixel, units on the Scene and the guard of absolute-threshold products, per-product validity,
one band per file (Landsat 8 L1T bands with their MTL), an ad-hoc AOI from a polygon file.

Expected values come from the files themselves read with rasterio (DN == nodata, the alpha or
mask band, the MTL's published TOA coefficients), never from the code under test."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from rasterio.features import geometry_mask
from shapely.geometry import mapping
from shapely.ops import transform as shp_transform

import indices
from aoi.registry import village_from_file
from indices.errors import MissingBandError, UncalibratedError
from sensing.errors import ImageryFileError
from sensing.files import FilesSource
from sensing.scene import check_scene, valid_fraction_name

from support.realfiles import overlapping_pieces, write_pieces
from support.stac_fixtures import REALDATA, need, raster_village

AIRBORNE = REALDATA / "airborne_rgb_10cm" / "OSBS_029.tif"
RGBN = REALDATA / "rgbn_5m_river_village" / "rgbn.tif"
NAIP = REALDATA / "naip_lakes_north_dakota" / "m_4709963_se_14_1_20190904.tif"
ITAIPU = REALDATA / "landsat8_itaipu_rgb"
ITAIPU_TIF = ITAIPU / "LC08_L1TP_224078_20200518_20200518_01_RT_B234_crop.tif"
ITAIPU_POLYGONS = ITAIPU / "LC08_L1TP_224078_20200518_20200518_01_RT_polygons.gpkg"
L1T = REALDATA / "landsat8_l1t_cloudy"
WADDEN = REALDATA / "s2_like_wadden_coast" / "cog.tif"
RGB = ("red", "green", "blue")


def _aoi_pixels(village, path) -> np.ndarray:
    """The village polygon rasterised on the file's own pixel grid (pixel centres inside)."""
    with rasterio.open(path) as src:
        tr = Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
        local = shp_transform(tr.transform, village.geometry)
        return geometry_mask([mapping(local)], out_shape=src.shape, transform=src.transform, invert=True)


def _on_file_grid(ds, path) -> tuple[np.ndarray, np.ndarray]:
    """Row and column in ``path`` of every pixel of a native-mode scene (its pixels are the file's)."""
    with rasterio.open(path) as src:
        t = src.transform
    cols, rows = ~t * np.meshgrid(ds.x.values, ds.y.values)
    r, c = np.floor(rows).astype(int), np.floor(cols).astype(int)
    assert np.allclose(rows, r + 0.5) and np.allclose(cols, c + 0.5)  # pixel centres: same grid
    return r, c


def test_airborne_rgb_per_band_nodata_is_nan_exactly_and_each_band_reports_its_share():
    need(AIRBORNE)
    v = raster_village(AIRBORNE, shrink=0.1)
    ds = FilesSource(paths=AIRBORNE, resampling="native", date="2018-06-01").load(v, "2018-06-01", "2018-06-01")
    with rasterio.open(AIRBORNE) as f:
        dn = f.read()
        assert f.nodata == 255
    r, c = _on_file_grid(ds, AIRBORNE)
    aoi = _aoi_pixels(v, AIRBORNE)
    for b, band in enumerate(RGB):
        got = ds[band][0].values
        np.testing.assert_array_equal(np.isnan(got), dn[b][r, c] == 255)  # NaN exactly on its own nodata
        true = float((dn[b][aoi] != 255).mean())
        assert float(ds[valid_fraction_name(band)][0]) == pytest.approx(true, abs=1e-12)
    # the bands' nodata differ (red about 1 %, blue 0.45 % of the pixels): every-band share is the
    # intersection, and it says over which bands it was computed
    every = float((dn[:, aoi] != 255).all(axis=0).mean())
    assert float(ds["valid_fraction"][0]) == pytest.approx(every, abs=1e-12)
    assert float(ds["valid_fraction_blue"][0]) > float(ds["valid_fraction_red"][0])
    assert ds["valid_fraction"].attrs["bands"] == list(ds.data_vars)
    # 8-bit, no scale, no sensor tag: relative values of an unknown sensor
    assert (ds.attrs["reflectance_units"], ds.attrs["sensor"]) == ("relative", "unknown")
    rec = ds.attrs["radiometry"]["OSBS_029.tif"]
    assert (rec["nodata"], rec["nodata_from"], rec["mask"]) == (255.0, "file", "nodata 255")
    # ratio indices run on relative values, valid where their bands are; the darkness guard refuses
    scene_t = ds.isel(time=0)
    exg = indices.exg(scene_t)
    valid = indices.valid_for(scene_t, indices.INDICES["exg"].bands)
    np.testing.assert_array_equal(valid.values, np.isfinite(exg.values))
    np.testing.assert_array_equal(valid.values, (dn[:, r, c] != 255).all(axis=0))
    with pytest.raises(UncalibratedError, match="darkness guard.*relative"):
        indices.darkness(scene_t)
    with pytest.raises(UncalibratedError, match="darkness guard"):
        indices.black_odorous_pixels(scene_t, xr.ones_like(scene_t["red"], dtype=bool))


def test_airborne_orthos_whose_fill_overlaps_keep_every_imaged_pixel_and_the_true_share(tmp_path):
    """Two orthomosaics cut from the real 10 cm file, each with black fill marked by an internal
    GDAL mask (as Metashape/ODM write them), the first one's fill over the second's pixels."""
    need(AIRBORNE)
    with rasterio.open(AIRBORNE) as f:
        dn, prof = f.read(), f.profile
    imaged_a, imaged_b = overlapping_pieces(dn.shape[1:], second_top=0.25)
    paths = write_pieces(tmp_path, dn, prof, {"a_20180601.tif": imaged_a, "b_20180601.tif": imaged_b})
    v = raster_village(AIRBORNE, shrink=0.05)
    ds = FilesSource(paths=paths, resampling="native").load(v, "2018-06-01", "2018-06-01")
    aoi = _aoi_pixels(v, AIRBORNE)
    union = imaged_a | imaged_b
    true_share = float(union[aoi].mean())
    assert 0.6 < true_share < 0.9
    assert float(ds["valid_fraction"][0]) == pytest.approx(true_share, abs=1e-12)
    r, c = _on_file_grid(ds, AIRBORNE)
    got = ds["green"][0].values
    np.testing.assert_array_equal(np.isnan(got), ~union[r, c])
    ok = union[r, c]
    np.testing.assert_allclose(got[ok] * 255.0, dn[1][r, c][ok], atol=1e-3)  # real pixels, never the fill


def _rgba(tmp_path, alpha_zero) -> tuple:
    """The real RGBN river-village file's RGB with an alpha band (a WebODM-style orthophoto)."""
    with rasterio.open(RGBN) as f:
        dn, prof = f.read(), f.profile
    alpha = np.full(dn.shape[1:], 255, np.uint8)
    alpha[alpha_zero] = 0
    p = tmp_path / "odm_orthophoto_20210430.tif"
    with rasterio.open(p, "w", **{**prof, "count": 4, "photometric": "RGB", "alpha": "YES"}) as out:
        out.write(np.concatenate([dn[:3], alpha[None]]))
    return p, dn, alpha


def test_rgba_orthophoto_alpha_masks_every_band_and_is_never_nir(tmp_path):
    need(RGBN)
    zero = np.zeros((403, 515), bool)
    zero[:120, :] = True
    zero[:, 400:] = True
    p, _, alpha = _rgba(tmp_path, zero)
    v = raster_village(RGBN, shrink=0.1)
    with pytest.raises(ImageryFileError) as e:
        FilesSource(paths=p, band_map=("red", "green", "blue", "nir")).load(v, "2021-04-30", "2021-04-30")
    msg = str(e.value)
    assert msg.startswith(f"{p}: band 4 is alpha")
    assert re.findall(r"\b\w+(?:,\w+){3}\b", msg) == ["red,green,blue,alpha"]
    ds = FilesSource(paths=p, resampling="native").load(v, "2021-04-30", "2021-04-30")
    assert set(ds.data_vars) == set(RGB)
    r, c = _on_file_grid(ds, p)
    for band in RGB:
        np.testing.assert_array_equal(np.isnan(ds[band][0].values), alpha[r, c] == 0)
    assert float(ds["valid_fraction"][0]) == pytest.approx(float((alpha[_aoi_pixels(v, p)] > 0).mean()), abs=1e-12)
    # no NIR: no NDVI, no NDWI, no water (not 1.0 on every transparent pixel)
    with pytest.raises(MissingBandError):
        indices.ndwi(ds.isel(time=0))
    _, skipped = indices.compute_indices(ds.isel(time=0))
    assert {"ndvi", "ndwi", "mndwi"} <= set(skipped)


def test_rgbn_8bit_is_relative_ndvi_runs_cover_needs_a_scale():
    need(RGBN)
    v = raster_village(RGBN)
    ds = FilesSource(paths=RGBN, band_map="red,green,blue,nir", date="2021-04-30").load(v, "2021-04-30", "2021-04-30")
    assert ds.attrs["reflectance_units"] == "relative"
    nd = indices.ndvi(ds.isel(time=0))
    assert nd.attrs["reflectance_units"] == "relative" and np.isfinite(nd.values).mean() > 0.99
    with pytest.raises(UncalibratedError) as e:
        indices.vegetation_cover(nd)
    assert str(e.value).startswith("vegetation_cover (NDVI >= 0.3 on reflectance) needs calibrated reflectance")
    with pytest.raises(UncalibratedError, match="dense_canopy_share"):
        indices.dense_canopy_share(nd)
    # the user says the file is reflectance x 255: cover is computed, equal to the share counted here
    ds = FilesSource(paths=RGBN, band_map="red,green,blue,nir", date="2021-04-30", scale=1 / 255,
                     resampling="native").load(v, "2021-04-30", "2021-04-30")
    assert ds.attrs["reflectance_units"] == "reflectance" and ds.attrs["reflectance_level"] == "unknown"
    with rasterio.open(RGBN) as f:
        red, nir = f.read(1).astype("float64"), f.read(4).astype("float64")
    r, c = _on_file_grid(ds, RGBN)
    expected_ndvi = (nir - red)[r, c] / (nir + red)[r, c]
    cover = float(indices.vegetation_cover(indices.ndvi(ds.isel(time=0))))
    e = expected_ndvi[np.isfinite(expected_ndvi)]
    ties = int((np.abs(e - 0.3) < 1e-6).sum())  # e.g. DN nir 13, red 7: exactly 0.3, float32 rounds either way
    assert abs(cover - float((e >= 0.3).mean())) * e.size <= ties + 1e-6
    # a notebook's own xarray without the attribute is taken as reflectance
    bare = ds.isel(time=0)
    bare.attrs = {}
    assert float(indices.vegetation_cover(indices.ndvi(bare))) == pytest.approx(cover)


def test_naip_8bit_relative_record_and_black_odorous_guard():
    need(NAIP)
    v = raster_village(NAIP)
    ds = FilesSource(paths=NAIP, band_map="red,green,blue,nir").load(v, "2019-09-04", "2019-09-04")
    rec = ds.attrs["radiometry"][NAIP.name]
    assert (rec["units"], rec["nodata"], rec["nodata_from"], rec["sensor"]) == ("relative", 0.0, "file", "unknown")
    assert ds.attrs["dates_from"] == {NAIP.name: "file name"}
    scene_t = ds.isel(time=0)
    water = indices.water_mask(scene_t)  # NDWI (a ratio): computable
    with pytest.raises(UncalibratedError):
        indices.black_odorous_pixels(scene_t, water)


def test_itaipu_landsat_rgb_is_never_drone_rgb_needs_a_scale_and_an_aoi_file_is_enough():
    need(ITAIPU_TIF)
    need(ITAIPU_POLYGONS)
    v = village_from_file(ITAIPU_POLYGONS)
    assert v.id == "lc08-l1tp-224078-20200518-20200518-01-rt-polygons" and v.pilot_type == "ad-hoc"
    assert v.boundary_source.startswith(f"file:{ITAIPU_POLYGONS.name} (sha256 ")
    with pytest.raises(ImageryFileError, match=r"cannot tell which band is which \(3 bands\).*red,green,blue"):
        FilesSource(paths=ITAIPU_TIF).load(v, "2020-05-18", "2020-05-18")
    with pytest.raises(ImageryFileError, match=r"values reach \d+.*no scale given; give scale and offset"):
        FilesSource(paths=ITAIPU_TIF, band_map="blue,green,red").load(v, "2020-05-18", "2020-05-18")
    ds = FilesSource(paths=ITAIPU_TIF, band_map="blue,green,red", scale=2e-5, offset=-0.1, level="toa",
                     method="nearest").load(v, "2020-05-18", "2020-05-18")
    check_scene(ds)
    assert ds.attrs["sensor"] == "unknown"  # an 8/16-bit RGB is not a drone unless someone says so
    assert (ds.attrs["reflectance_units"], ds.attrs["reflectance_level"]) == ("reflectance", "toa")
    rec = ds.attrs["radiometry"][ITAIPU_TIF.name]
    assert (rec["scale"], rec["offset"], rec["scale_from"], rec["level_from"]) == (2e-5, -0.1, "option", "option")
    assert float(ds["valid_fraction"][0]) == pytest.approx(1.0)  # the polygons lie inside the crop


def test_wadden_float_cog_units_follow_the_given_scale():
    need(WADDEN)
    v = raster_village(WADDEN)
    ds = FilesSource(paths=WADDEN, band_map="blue,green,red,nir", scale=1e-4, date="2021-06-01").load(
        v, "2021-06-01", "2021-06-01")
    assert ds.attrs["reflectance_units"] == "reflectance"
    assert ds.attrs["radiometry"]["cog.tif"]["units_from"] == "scale given (option)"


def _mtl(key: str) -> str:
    m = re.search(rf"^\s*{key} = (.+)$", (L1T / "l8_MTL.txt").read_text(), re.MULTILINE)
    return m.group(1).strip().strip('"')


L1T_BANDS = {"2": "blue", "3": "green", "4": "red", "5": "nir08", "6": "swir16", "7": "swir22"}


def test_landsat8_l1t_one_band_per_file_toa_from_mtl_and_swir2_nodata_blanks_only_its_products(tmp_path):
    need(L1T)
    sun = math.sin(math.radians(float(_mtl("SUN_ELEVATION"))))
    # USGS Landsat 8 data users handbook: rho_TOA = (M_rho x DN + A_rho) / sin(sun elevation)
    scale = {cn: float(_mtl(f"REFLECTANCE_MULT_BAND_{n}")) / sun for n, cn in L1T_BANDS.items()}
    offset = {cn: float(_mtl(f"REFLECTANCE_ADD_BAND_{n}")) / sun for n, cn in L1T_BANDS.items()}
    bm = {"bands": L1T_BANDS, "scale": scale, "offset": offset, "level": "toa", "date": _mtl("DATE_ACQUIRED"),
          "nodata": 0}
    # SWIR2 with a wider fill than the other bands (a stripe of DN 0), written beside the real bands
    with rasterio.open(L1T / "l8_B7.tif") as f:
        b7, prof = f.read(1), f.profile
    stripe = np.zeros(b7.shape, bool)
    stripe[:, 200:260] = True
    with rasterio.open(tmp_path / "l8_B7.tif", "w", **prof) as out:
        out.write(np.where(stripe, 0, b7)[None])
    for p in L1T.glob("l8_*.tif"):  # the real bands beside it (links, not copies): one acquisition folder
        if p.name != "l8_B7.tif":
            (tmp_path / p.name).symlink_to(p)
    paths = tmp_path
    v = raster_village(L1T / "l8_B4.tif", shrink=0.1)
    src = FilesSource(paths=paths, band_map=bm, band_pattern="l8_B{band}.tif", resampling="native")
    ds = src.load(v, "2015-08-04", "2015-08-04")
    assert set(ds.data_vars) == set(L1T_BANDS.values()) and ds.attrs["reflectance_level"] == "toa"
    assert ds.sizes["time"] == 1 and list(ds["item_id"].values) == ["l8"]
    assert {p.rsplit("/", 1)[-1] for p in ds.attrs["skipped_files"]} == {
        "l8_B1.tif", "l8_B9.tif", "l8_B10.tif", "l8_B11.tif", "l8_BQA.tif"}
    r, c = _on_file_grid(ds, L1T / "l8_B4.tif")
    for n, cn in L1T_BANDS.items():
        with rasterio.open(tmp_path / "l8_B7.tif" if n == "7" else L1T / f"l8_B{n}.tif") as f:
            dn = f.read(1).astype("float64")
        exp = np.where(dn == 0, np.nan, dn * scale[cn] + offset[cn])[r, c]
        got = ds[cn][0].values
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
        np.testing.assert_allclose(got[~np.isnan(got)], exp[~np.isnan(exp)], rtol=2e-6)
    aoi = _aoi_pixels(v, L1T / "l8_B4.tif")
    assert float(ds["valid_fraction_swir22"][0]) == pytest.approx(1 - float(stripe[aoi].mean()), abs=1e-12)
    assert float(ds["valid_fraction_swir16"][0]) == pytest.approx(1.0)
    # an MNDWI water mask (green, swir16) is valid on the SWIR2 stripe; AWEI_nsh (uses swir22) is not
    scene_t = ds.isel(time=0)
    for dask_backed in (True, False):
        s = scene_t if dask_backed else scene_t.compute()
        ok = indices.product_valid(s, "water_mask", water_index="mndwi")
        assert (ok.chunks is not None) is dask_backed
        ok = ok.values
        every = indices.valid_for(s, list(s.data_vars)).values
        on_stripe = stripe[r, c]
        assert ok[on_stripe].all() and not every[on_stripe].any()
        assert int(ok.sum() - every.sum()) == int(on_stripe.sum())
        np.testing.assert_array_equal(ok, np.isfinite(indices.mndwi(s).values))
    assert indices.product_bands("water_mask", scene_t) == ("green", "swir16")
    assert indices.product_bands("black_odorous", water_index="mndwi") == ("green", "swir16", "blue", "red")
    assert indices.product_bands("awei_nsh") == ("green", "swir16", "nir", "swir22")
