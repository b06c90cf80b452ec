"""FilesSource on real rasters from ../shared/realdata: NAIP 5 m RGBN on three dates, a 5 m
RGBN village scene, a 10 cm airborne RGB orthomosaic and an EPSG:4326 S2-like COG (x10000)
that must be reprojected; native and grid modes, dates, band maps and bad input."""
from __future__ import annotations

import datetime as dt
import json
import logging

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from aoi import grid_for
from sensing.errors import ImageryFileError, NoDataError
from sensing.files import FilesSource, date_from_name, read_band_map
from sensing.scene import check_scene

from support.stac_fixtures import REALDATA, need, raster_village, utm_box_village, write_cog

NAIP = REALDATA / "naip_lakes_north_dakota"
NAIP_FILES = ["m_4709963_se_14_1_20090818.tif", "m_4709963_se_14_1_20150926.tif", "m_4709963_se_14_1_20190904.tif"]
RGBN = REALDATA / "rgbn_5m_river_village" / "rgbn.tif"
AIRBORNE = REALDATA / "airborne_rgb_10cm" / "OSBS_029.tif"
WADDEN = REALDATA / "s2_like_wadden_coast" / "cog.tif"
RGBN_MAP = ("red", "green", "blue", "nir")


def _file_value(path, band: int, x: float, y: float, crs: str) -> float:
    """The file's DN at the pixel containing (x, y) given in ``crs``."""
    with rasterio.open(path) as src:
        fx, fy = Transformer.from_crs(crs, src.crs, always_xy=True).transform(x, y)
        r, c = src.index(fx, fy)
        return float(src.read(band, window=((r, r + 1), (c, c + 1)))[0, 0])


def test_naip_native_three_dates_in_time_order_values_equal_the_files():
    need(NAIP)
    v = raster_village(NAIP / NAIP_FILES[0])
    # the three real NAIP files sit on grids offset by 1-2 m: the first is pasted exactly, the
    # later ones are resampled onto its grid (nearest here, so every value is a file DN)
    src = FilesSource(paths=NAIP, band_map=RGBN_MAP, resampling="native", method="nearest")
    ds = src.load(v, "2000-01-01", "2030-12-31")
    check_scene(ds)
    assert [str(t)[:10] for t in ds["time"].values] == ["2009-08-18", "2015-09-26", "2019-09-04"]
    assert list(ds["item_id"].values) == [f[:-4] for f in NAIP_FILES]
    assert set(ds.data_vars) == set(RGBN_MAP) and ds.attrs["resampling"] == "native"
    with rasterio.open(NAIP / NAIP_FILES[0]) as f:
        ft, fcrs = f.transform, f.crs
    t = ds.rio.transform()
    assert ds.rio.crs == fcrs and (t.a, t.e) == (ft.a, ft.e)  # the file's own CRS and pixels
    col, row = ~ft * (t.c, t.f)
    assert col == pytest.approx(round(col)) and row == pytest.approx(round(row)) and col > 0 and row > 0
    rng = np.random.default_rng(0)
    for ti, name in enumerate(NAIP_FILES):
        for _ in range(3):
            j, i = int(rng.integers(0, ds.sizes["y"])), int(rng.integers(0, ds.sizes["x"]))
            x, y = float(ds.x[i]), float(ds.y[j])
            for b, band in enumerate(RGBN_MAP, start=1):
                dn = _file_value(NAIP / name, b, x, y, str(fcrs))
                assert float(ds[band][ti, j, i]) * 255.0 == pytest.approx(dn, abs=1e-3)
    assert np.allclose(ds["valid_fraction"].values, 1.0)
    assert src.describe()["resampling"] == "native" and src.describe()["band_map"] == list(RGBN_MAP)


def test_naip_grid_mode_is_the_village_utm_grid_and_nearest_samples_the_file():
    need(NAIP)
    v = raster_village(NAIP / NAIP_FILES[2])
    ds = FilesSource(paths=[NAIP / f for f in NAIP_FILES], band_map="red,green,blue,nir",
                     resampling="grid", method="nearest").load(v, "2015-01-01", "2020-01-01")
    g = grid_for(v, 5.0)
    assert ds.rio.crs.to_string() == g.crs == "EPSG:32614"  # WGS 84 UTM, not the file's NAD83
    assert ds.rio.transform() == g.transform and (ds.sizes["y"], ds.sizes["x"]) == g.shape
    assert [str(t)[:10] for t in ds["time"].values] == ["2015-09-26", "2019-09-04"]
    j, i = ds.sizes["y"] // 2 + 7, ds.sizes["x"] // 2 - 11
    dn = _file_value(NAIP / NAIP_FILES[2], 4, float(ds.x[i]), float(ds.y[j]), g.crs)
    assert float(ds["nir"][1, j, i]) * 255 == pytest.approx(dn, abs=1e-3)


def test_rgbn_with_band_map_file_native(tmp_path):
    need(RGBN)
    bm = tmp_path / "band_map.json"
    bm.write_text(json.dumps({"bands": list(RGBN_MAP), "scale": 0.003921, "offset": 0, "sensor": "gf2-pms",
                              "date": "2021-04-30"}))
    v = raster_village(RGBN)
    src = FilesSource(paths=RGBN, band_map=bm, resampling="native")
    ds = src.load(v, "2021-04-30", "2021-04-30")
    assert ds.attrs["sensor"] == "gf2-pms" and ds.rio.crs.to_epsg() == 32618
    assert ds.attrs["dates_from"] == {"rgbn.tif": "band map"}
    j, i = 40, 60
    for b, band in enumerate(RGBN_MAP, start=1):
        dn = _file_value(RGBN, b, float(ds.x[i]), float(ds.y[j]), "EPSG:32618")
        assert float(ds[band][0, j, i]) == pytest.approx(dn * 0.003921, rel=1e-6)
    d = src.describe()
    assert d["band_map_file"] == str(bm) and d["scale"] == 0.003921 and d["resampling"] == "native"


def test_airborne_rgb_10cm_native_inferred_rgb_and_its_nodata():
    need(AIRBORNE)
    v = raster_village(AIRBORNE, shrink=0.3)
    with pytest.raises(ImageryFileError, match="OSBS_029.tif.*no acquisition date"):
        FilesSource(paths=AIRBORNE, resampling="native").load(v, "2018-01-01", "2018-12-31")
    ds = FilesSource(paths=AIRBORNE, resampling="native", date="2018-06-01").load(v, "2018-01-01", "2018-12-31")
    # RGB by colour interpretation; no sensor tag or option: "unknown", never a guessed drone-rgb;
    # 8-bit without a scale: relative values, not reflectance
    assert set(ds.data_vars) == {"red", "green", "blue"} and ds.attrs["sensor"] == "unknown"
    assert ds.attrs["reflectance_units"] == "relative" and ds.attrs["reflectance_level"] == "none"
    assert ds.rio.crs.to_epsg() == 32617 and ds.rio.transform().a == pytest.approx(0.1)
    with rasterio.open(AIRBORNE) as f:
        arr = f.read()
        assert f.nodata == 255
    j, i = 20, 33
    x, y = float(ds.x[i]), float(ds.y[j])
    with rasterio.open(AIRBORNE) as f:
        r, c = f.index(x, y)
    expected = arr[0, r, c] / 255.0 if arr[0, r, c] != 255 else np.nan
    np.testing.assert_allclose(float(ds["red"][0, j, i]), expected, rtol=1e-6)
    # the file declares 255 as nodata: such pixels are NaN, and the valid fraction says so
    share_255 = float((arr[0] == 255).mean())
    assert 0 < share_255 < 0.2 and float(ds["valid_fraction"][0]) < 1.0


def test_wadden_epsg4326_cog_is_reprojected_into_utm_32n():
    need(WADDEN)
    v = raster_village(WADDEN)
    with pytest.raises(ImageryFileError, match="cog.tif.*scale"):
        FilesSource(paths=WADDEN, band_map=("blue", "green", "red", "nir"), date="2021-06-01").load(
            v, "2021-06-01", "2021-06-01")
    ds = FilesSource(paths=WADDEN, band_map=("blue", "green", "red", "nir"), scale=1e-4, date="2021-06-01",
                     method="nearest").load(v, "2021-06-01", "2021-06-01")
    assert ds.rio.crs.to_string() == "EPSG:32632" and ds.attrs["resolution"] == pytest.approx(10.0)
    j, i = ds.sizes["y"] // 2, ds.sizes["x"] // 2
    dn = _file_value(WADDEN, 3, float(ds.x[i]), float(ds.y[j]), "EPSG:32632")
    assert float(ds["red"][0, j, i]) == pytest.approx(dn * 1e-4, rel=1e-5)
    assert 0 < float(ds["red"].mean()) < 0.5  # reflectance, not x10000


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # the test writes such a file
def test_corrupt_no_crs_and_band_count_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken_20240501.tif"
    bad.write_bytes(b"II*\x00 this is not a tiff")
    v = utm_box_village("EPSG:32650", 500000, 2500000, 500100, 2500100)
    with pytest.raises(ImageryFileError, match="broken_20240501.tif"):
        FilesSource(paths=bad).load(v, "2024-01-01", "2024-12-31")
    nocrs = tmp_path / "nocrs_20240501.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=4, height=4, count=3, dtype="uint8") as f:
        f.write(np.ones((3, 4, 4), np.uint8))
    with pytest.raises(ImageryFileError, match="nocrs_20240501.tif.*no CRS"):
        FilesSource(paths=nocrs).load(v, "2024-01-01", "2024-12-31")
    need(RGBN)
    with pytest.raises(ImageryFileError, match="rgbn.tif.*4 band.*3"):
        FilesSource(paths=RGBN, band_map="red,green,blue", date="2021-01-01").load(
            raster_village(RGBN), "2021-01-01", "2021-01-01")
    with pytest.raises(ImageryFileError, match="rgbn.tif.*band map"):
        FilesSource(paths=RGBN, date="2021-01-01").load(raster_village(RGBN), "2021-01-01", "2021-01-01")


def test_files_not_overlapping_are_skipped_and_none_is_no_data(tmp_path, caplog):
    need(RGBN)
    need(NAIP)
    v = raster_village(RGBN, vid="river-village")
    with caplog.at_level(logging.WARNING, logger="villagewatch.sensing.files"):
        ds = FilesSource(paths=[RGBN, NAIP / NAIP_FILES[0]], band_map=RGBN_MAP, date="2021-05-01").load(
            v, "2000-01-01", "2030-01-01")
    assert list(ds["item_id"].values) == ["rgbn"]
    assert f"{NAIP_FILES[0]} does not overlap the village" in caplog.text
    with pytest.raises(NoDataError, match="river-village"):
        FilesSource(paths=NAIP / NAIP_FILES[0], band_map=RGBN_MAP).load(v, "2000-01-01", "2030-01-01")


def test_dates_from_tags_name_and_per_file_band_map(tmp_path):
    tr = Affine(1, 0, 500000, 0, -1, 2500100)
    a = np.full((3, 20, 20), 100, np.uint8)
    tagged = write_cog(tmp_path / "flight_20240101.tif", a, tr, "EPSG:32650",
                       tags={"ACQUISITIONDATETIME": "2024-03-05T02:11:00Z", "TIFFTAG_DATETIME": "2024:04:01 10:00:00"})
    with rasterio.open(tagged) as f:
        assert f.tags()["ACQUISITIONDATETIME"].startswith("2024-03-05")
    named = write_cog(tmp_path / "flight_2024-03-06_rgb.tif", a, tr, "EPSG:32650")
    plain = write_cog(tmp_path / "plain.tif", a, tr, "EPSG:32650")
    (tmp_path / "band_map.yaml").write_text(
        "bands: [red, green, blue]\nfiles:\n  plain.tif:\n    date: 2024-03-07\n    scale: 0.002\n")
    src = FilesSource(paths=tmp_path)
    specs = {s.path.name: s for s in map(src.spec, src.files)}
    assert specs["flight_20240101.tif"].date == dt.date(2024, 3, 5)  # acquisition tag beats the name
    assert specs["flight_2024-03-06_rgb.tif"].date == dt.date(2024, 3, 6)
    assert specs["plain.tif"].date == dt.date(2024, 3, 7) and specs["plain.tif"].scale == 0.002
    v = utm_box_village("EPSG:32650", 500005, 2500085, 500015, 2500095)
    ds = src.load(v, "2024-03-01", "2024-03-31")
    assert [str(t)[:10] for t in ds["time"].values] == ["2024-03-05", "2024-03-06", "2024-03-07"]
    assert float(ds["red"][0].mean()) == pytest.approx(100 / 255, rel=1e-6)
    assert float(ds["red"][2].mean()) == pytest.approx(0.2, rel=1e-6)


def test_date_and_band_map_parsing():
    assert date_from_name("m_4709963_se_14_1_20090818.tif") == dt.date(2009, 8, 18)
    assert date_from_name("village_2024_05_01_ortho.tif") == dt.date(2024, 5, 1)
    assert date_from_name("tile_12345678901.tif") is None
    assert date_from_name("dji_20241399.tif") is None  # month 13: not a date
    assert read_band_map("red, green ,blue") == {"bands": ["red", "green", "blue"]}
    assert read_band_map(("red", "nir")) == {"bands": ["red", "nir"]}
    with pytest.raises(ValueError, match="resampling"):
        FilesSource(paths=REALDATA, resampling="nearest")


def test_airborne_10cm_onto_1m_grid_averages_the_pixels_it_covers():
    need(AIRBORNE)
    v = raster_village(AIRBORNE, shrink=0.3)
    src = FilesSource(paths=AIRBORNE, resampling="grid", resolution=1.0, date="2018-06-01")
    ds = src.load(v, "2018-06-01", "2018-06-01")
    g = grid_for(v, 1.0)
    assert ds.rio.crs.to_string() == g.crs == "EPSG:32617" and ds.rio.transform() == g.transform
    assert src.describe()["method"].startswith("auto")
    with rasterio.open(AIRBORNE) as f:
        arr = f.read(1).astype("float64")
        ft = f.transform
    arr[arr == 255] = np.nan  # the file's nodata
    red = ds["red"].isel(time=0).values
    # grid pixel (j, i) covers file pixels rows r0+10j.., cols c0+10i.. (1 m edges fall on 0.1 m edges)
    c0, r0 = ~ft * (g.transform.c, g.transform.f)
    c0, r0 = int(round(c0)), int(round(r0))
    j0, i0 = -(r0 // 10) if r0 < 0 else 0, -(c0 // 10) if c0 < 0 else 0
    nj, ni = (arr.shape[0] - (r0 + 10 * j0)) // 10, (arr.shape[1] - (c0 + 10 * i0)) // 10
    sub = arr[r0 + 10 * j0: r0 + 10 * (j0 + nj), c0 + 10 * i0: c0 + 10 * (i0 + ni)]
    means = sub.reshape(nj, 10, ni, 10).mean(axis=(1, 3))  # NaN where a block holds nodata
    got = red[j0:j0 + nj, i0:i0 + ni] * 255
    ok = np.isfinite(means)
    assert ok.sum() > 500
    np.testing.assert_allclose(got[ok], means[ok], atol=0.51)  # 1 m pixel = mean of its 100


# =========================================================================== issue 11: masks, units,
# per-band validity, one band per file, the empty window. Small files written here with rasterio.
import re  # noqa: E402

from rasterio.enums import ColorInterp  # noqa: E402

from sensing.errors import UnknownSensorError  # noqa: E402
from sensing.scene import make_scene, valid_fraction_name  # noqa: E402
from sensing.sensors import SENSORS  # noqa: E402

CRS = "EPSG:32650"
X0, Y0 = 500000.0, 2500060.0
TR = Affine(1, 0, X0, 0, -1, Y0)  # 1 m pixels; files are 60 rows x 80 columns
H, W = 60, 80


def _write(path, arr, *, transform=TR, nodata=None, mask=None, alpha=False, colorinterp=None, tags=None,
           internal_mask=True, scales=None, offsets=None, photometric=None):
    """A GeoTIFF with optional nodata, GDAL mask band (internal, or a .msk sidecar), alpha."""
    arr = arr if arr.ndim == 3 else arr[None]
    prof = dict(driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0], dtype=arr.dtype,
                crs=CRS, transform=transform, nodata=nodata)
    if alpha:
        prof.update(photometric="RGB", alpha="YES")
    elif photometric:
        prof.update(photometric=photometric)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=internal_mask):
        with rasterio.open(path, "w", **prof) as dst:
            dst.write(arr)
            if mask is not None:
                dst.write_mask(mask.astype(np.uint8) * 255)
            if colorinterp is not None:
                dst.colorinterp = colorinterp
            if tags:
                dst.update_tags(**tags)
            if scales is not None:
                dst.scales = scales
            if offsets is not None:
                dst.offsets = offsets
    return path


def _box_village(c0, r0, c1, r1, vid="mask-village"):
    """A village whose boundary is the file-pixel rectangle rows r0..r1-1, cols c0..c1-1."""
    return utm_box_village(CRS, X0 + c0, Y0 - r1, X0 + c1, Y0 - r0, vid=vid)


def _file_rc(ds, transform=TR):
    """For each scene pixel its (row, col) in a file with ``transform`` (may lie outside)."""
    xx, yy = np.meshgrid(ds.x.values, ds.y.values)
    cols, rows = ~transform * (xx, yy)
    return np.floor(rows).astype(int), np.floor(cols).astype(int)


def _expected(ds, values, valid, transform=TR):
    """``values`` where ``valid`` (file arrays), NaN elsewhere and outside the file, on the scene's pixels."""
    r, c = _file_rc(ds, transform)
    inside = (r >= 0) & (r < values.shape[0]) & (c >= 0) & (c < values.shape[1])
    out = np.full(r.shape, np.nan)
    rr, cc = np.clip(r, 0, values.shape[0] - 1), np.clip(c, 0, values.shape[1] - 1)
    ok = inside & valid[rr, cc]
    out[ok] = values[rr, cc][ok]
    return out


def _rgb(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(1, 255, size=(3, H, W), dtype=np.uint8)


AOI_PX = (10, 5, 70, 55)  # cols 10..69, rows 5..54: 60 x 50 = 3000 pixels


def _aoi_share(valid):
    c0, r0, c1, r1 = AOI_PX
    return float(valid[r0:r1, c0:c1].mean())


@pytest.mark.parametrize("internal", [True, False], ids=["internal-mask", "msk-sidecar"])
def test_gdal_mask_band_internal_or_msk_makes_exactly_the_masked_pixels_nan(tmp_path, internal):
    dn = _rgb()
    valid = np.ones((H, W), bool)
    valid[:, :25] = False           # the fill strip of an orthomosaic ...
    valid[40:, 50:] = False         # ... and a notch
    dn[:, ~valid] = 0               # black fill, which without the mask would read as data
    f = _write(tmp_path / "ortho_20240501.tif", dn, mask=valid, internal_mask=internal)
    assert (tmp_path / "ortho_20240501.tif.msk").exists() is (not internal)
    src = FilesSource(paths=f, resampling="native")
    assert src.spec(f).mask == ("GDAL mask band (internal)" if internal else "GDAL mask band (.msk sidecar)")
    ds = src.load(_box_village(*AOI_PX), "2024-05-01", "2024-05-01")
    for b, band in enumerate(("red", "green", "blue")):
        got = ds[band][0].values
        exp = _expected(ds, dn[b] / 255.0, valid)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
        np.testing.assert_allclose(got[~np.isnan(got)], exp[~np.isnan(exp)], rtol=1e-6)
        assert float(ds[valid_fraction_name(band)][0]) == pytest.approx(_aoi_share(valid), abs=1e-12)
    # 3000 AOI pixels, of which cols 10..24 (15 x 50) and rows 40..54 x cols 50..69 (15 x 20) are masked
    assert float(ds["valid_fraction"][0]) == pytest.approx(1 - (15 * 50 + 15 * 20) / 3000, abs=1e-12)
    assert ds["valid_fraction"].attrs["bands"] == ["red", "green", "blue"]


def test_rgba_alpha_is_the_mask_never_data_and_nir_on_alpha_is_refused(tmp_path):
    dn = _rgb(1)
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, 60:] = 0
    alpha[:10, :] = 0
    f = _write(tmp_path / "webodm_20240601.tif", np.concatenate([dn, alpha[None]]), alpha=True)
    with rasterio.open(f) as s:
        assert s.colorinterp[3] == ColorInterp.alpha
    v = _box_village(*AOI_PX)
    ds = FilesSource(paths=f, resampling="native").load(v, "2024-06-01", "2024-06-01")  # inferred: R,G,B + alpha
    assert set(ds.data_vars) == {"red", "green", "blue"}
    for b, band in enumerate(("red", "green", "blue")):
        exp = _expected(ds, dn[b] / 255.0, alpha > 0)
        np.testing.assert_array_equal(np.isnan(ds[band][0].values), np.isnan(exp))
    assert float(ds["valid_fraction"][0]) == pytest.approx(_aoi_share(alpha > 0), abs=1e-12)
    # the issue's trap: the 4th band named nir. Refused, naming the file and the band, and the
    # suggested band map keeps alpha as alpha (never red,green,blue,nir)
    with pytest.raises(ImageryFileError) as e:
        FilesSource(paths=f, band_map="red,green,blue,nir").load(v, "2024-06-01", "2024-06-01")
    msg = str(e.value)
    assert "webodm_20240601.tif" in msg and "band 4 is alpha" in msg
    examples = re.findall(r"\b[a-z0-9]+(?:,[a-z0-9]+){2,}\b", msg)
    assert examples == ["red,green,blue,alpha"]
    assert "red,green,blue,nir" not in msg.replace("calls it 'nir'", "")
    # named alpha explicitly: the same mask
    ds2 = FilesSource(paths=f, band_map="red,green,blue,alpha", resampling="native").load(v, "2024-06-01", "2024-06-01")
    np.testing.assert_array_equal(np.isnan(ds2["red"][0].values), np.isnan(ds["red"][0].values))


def test_band_map_alpha_on_a_file_without_alpha_colour_interpretation(tmp_path):
    dn = _rgb(2)
    alpha = np.full((H, W), 255, np.uint8)
    alpha[20:30, 15:45] = 0
    f = _write(tmp_path / "plain_20240601.tif", np.concatenate([dn, alpha[None]]), photometric="MINISBLACK")
    with rasterio.open(f) as s:
        assert ColorInterp.alpha not in s.colorinterp  # gray, undefined...: GDAL knows no alpha here
    src = FilesSource(paths=f, band_map="red,green,blue,alpha", resampling="native")
    assert src.spec(f).alpha == 4 and "alpha band 4 (band map)" in src.spec(f).mask
    ds = src.load(_box_village(*AOI_PX), "2024-06-01", "2024-06-01")
    exp = _expected(ds, dn[2] / 255.0, alpha > 0)
    np.testing.assert_array_equal(np.isnan(ds["blue"][0].values), np.isnan(exp))
    assert float(ds["valid_fraction"][0]) == pytest.approx(1 - 10 * 30 / 3000, abs=1e-12)


def test_per_band_nodata_blanks_only_its_band_and_each_band_reports_its_own_share(tmp_path):
    dn = _rgb(3)
    dn[0, :, :20] = 0          # red: nodata on cols 0..19 (10 AOI columns: 10..19)
    dn[2, :, :40] = 0          # blue: a wider nodata area (SWIR2-like), cols 0..39 (30 AOI columns)
    f = _write(tmp_path / "scene_20240701.tif", dn, nodata=0)
    ds = FilesSource(paths=f, resampling="native").load(_box_village(*AOI_PX), "2024-07-01", "2024-07-01")
    for b, band in enumerate(("red", "green", "blue")):
        exp = _expected(ds, dn[b] / 255.0, dn[b] != 0)
        np.testing.assert_array_equal(np.isnan(ds[band][0].values), np.isnan(exp))
    assert float(ds["valid_fraction_red"][0]) == pytest.approx(50 / 60, abs=1e-12)
    assert float(ds["valid_fraction_green"][0]) == pytest.approx(1.0, abs=1e-12)
    assert float(ds["valid_fraction_blue"][0]) == pytest.approx(30 / 60, abs=1e-12)
    assert float(ds["valid_fraction"][0]) == pytest.approx(30 / 60, abs=1e-12)  # every band: blue's area
    # a VRT with a different nodata value per band (GeoTIFF holds one): each band's own is used
    raw = _write(tmp_path / "raw.tif", np.stack([np.full((H, W), 7, np.uint16), np.full((H, W), 9, np.uint16)]))
    with rasterio.open(raw) as s:
        s.read()
    bands_xml = "".join(
        f'<VRTRasterBand dataType="UInt16" band="{i}"><NoDataValue>{nd}</NoDataValue><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">raw.tif</SourceFilename><SourceBand>{i}</SourceBand></SimpleSource>'
        f'</VRTRasterBand>' for i, nd in ((1, 7), (2, 5)))
    gt = ", ".join(str(v) for v in (TR.c, TR.a, TR.b, TR.f, TR.d, TR.e))
    vrt = tmp_path / "perband_20240701.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}"><SRS>{CRS}</SRS><GeoTransform>{gt}'
                   f'</GeoTransform>{bands_xml}</VRTDataset>')
    spec = FilesSource(paths=vrt, band_map="red,nir", units="relative").spec(vrt)
    assert spec.nodatas == (7.0, 5.0) and spec.origin["nodata"] == "file"
    ds = FilesSource(paths=vrt, band_map="red,nir", units="relative", resampling="native").load(
        _box_village(*AOI_PX), "2024-07-01", "2024-07-01")
    assert bool(ds["red"].isnull().all()) and not bool(ds["nir"].isnull().any())  # 7 is red's nodata only


def test_two_orthos_whose_fill_overlaps_the_others_pixels_keep_every_imaged_pixel(tmp_path):
    a, b = _rgb(4), _rgb(5)
    va = np.zeros((H, W), bool)
    va[:, :45] = True                 # ortho A imaged cols 0..44
    vb = np.zeros((H, W), bool)
    vb[:, 30:65] = True               # ortho B imaged cols 30..64; cols 65..79 imaged by neither
    vb[:15, :] = False                # and not rows 0..14
    a[:, ~va] = 0
    b[:, ~vb] = 0                     # black fill, marked by each file's internal mask
    fa = _write(tmp_path / "a_20240801.tif", a, mask=va)
    fb = _write(tmp_path / "b_20240801.tif", b, mask=vb)
    v = _box_village(*AOI_PX)
    ds = FilesSource(paths=[fa, fb], resampling="native").load(v, "2024-08-01", "2024-08-01")
    assert list(ds["item_id"].values) == ["a_20240801+b_20240801"]
    union = va | vb
    true_share = _aoi_share(union)
    assert true_share == pytest.approx((35 * 50 + 20 * 40) / 3000)  # cols 10..44 all rows; 45..64 rows 15..54
    assert float(ds["valid_fraction"][0]) == pytest.approx(true_share, abs=1e-12)
    exp = _expected(ds, np.where(va, a[0], b[0]) / 255.0, union)  # A where it imaged, else B
    got = ds["red"][0].values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
    np.testing.assert_allclose(got[~np.isnan(got)], exp[~np.isnan(exp)], rtol=1e-6)
    # grid mode (reprojection onto the village grid, nearest): the same share
    ds = FilesSource(paths=[fa, fb], method="nearest").load(v, "2024-08-01", "2024-08-01")
    assert float(ds["valid_fraction"][0]) == pytest.approx(true_share, abs=1e-12)


def test_units_relative_for_8bit_without_scale_and_every_scaling_recorded(tmp_path, caplog):
    dn = _rgb(6)
    f = _write(tmp_path / "rgb_20240901.tif", dn)
    v = _box_village(*AOI_PX)
    with caplog.at_level(logging.WARNING, logger="villagewatch.sensing.files"):
        ds = FilesSource(paths=f).load(v, "2024-09-01", "2024-09-01")
    assert ds.attrs["reflectance_units"] == "relative" and ds.attrs["reflectance_level"] == "none"
    warn = [r for r in caplog.records if r.levelno == logging.WARNING and "RELATIVE" in r.getMessage()]
    assert len(warn) == 1 and str(f) in warn[0].getMessage() and "DN/255" in warn[0].getMessage()
    rec = ds.attrs["radiometry"]["rgb_20240901.tif"]
    assert rec["scale"] == pytest.approx(1 / 255) and rec["units"] == "relative"
    assert rec["units_from"] == "8-bit digital numbers without a scale"
    # the user's scale makes it reflectance; where each value came from is kept
    ds = FilesSource(paths=f, scale=0.004, sensor="drone-rgb", level="surface").load(v, "2024-09-01", "2024-09-01")
    rec = ds.attrs["radiometry"]["rgb_20240901.tif"]
    assert ds.attrs["reflectance_units"] == "reflectance" and ds.attrs["reflectance_level"] == "surface"
    assert (rec["scale"], rec["scale_from"], rec["offset"], rec["offset_from"]) == (0.004, "option", 0.0, "default 0")
    assert rec["sensor"] == "drone-rgb" and rec["sensor_from"] == "option" and ds.attrs["sensor"] == "drone-rgb"
    r, c = 30, 40
    j, i = np.argwhere(_file_rc(ds)[0] == r)[0][0], np.argwhere(_file_rc(ds)[1] == c)[0][1]
    assert float(ds["green"][0, j, i]) == pytest.approx(dn[1, r, c] * 0.004, rel=1e-6)
    # scale/offset tags of the file (uint16 x 1e-4 - 0.1), per band
    u16 = (np.arange(H * W, dtype=np.uint16).reshape(H, W) % 5000 + 1000)[None].repeat(2, 0)
    g = _write(tmp_path / "tagged_20240901.tif", u16, scales=[1e-4, 2e-4], offsets=[-0.1, -0.1])
    spec = FilesSource(paths=g, band_map="red,nir").spec(g)
    assert spec.scales == (1e-4, 2e-4) and spec.offsets == (-0.1, -0.1) and spec.units == "reflectance"
    assert spec.origin["scale"] == "file tags (scale/offset)" and spec.level == "unknown"
    # a band map's per-band scale and a level; the sensor table gives the level of a known product
    bm = tmp_path / "bm.json"
    bm.write_text(json.dumps({"bands": ["red", "nir"], "scale": {"red": 2.75e-5, "nir": 2.75e-5}, "offset": -0.2,
                              "sensor": "landsat-c2-l2"}))
    spec = FilesSource(paths=g, band_map=bm).spec(g)
    assert spec.scales == (2.75e-5, 2.75e-5) and spec.origin["scale"] == "band map"
    assert spec.level == "surface" and spec.origin["level"] == "sensor table (landsat-c2-l2)"


def _listed_names(msg: str) -> list[str]:
    m = re.search(r"valid names: ([^()]+?) \(", msg)
    return [s.strip() for s in m.group(1).split(",")] if m else []


def test_sensor_comes_from_the_user_or_the_file_never_a_guess_and_unknown_names_list_the_valid(tmp_path, caplog,
                                                                                              capsys):
    f = _write(tmp_path / "rgb_20240901.tif", _rgb(7))
    v = _box_village(*AOI_PX)
    with caplog.at_level(logging.WARNING, logger="villagewatch.sensing.files"):
        ds = FilesSource(paths=f).load(v, "2024-09-01", "2024-09-01")
    assert ds.attrs["sensor"] == "unknown" and ds.attrs["sensors_from"]["rgb_20240901.tif"].startswith("neither")
    assert any("rgb_20240901.tif" in r.getMessage() and "'unknown'" in r.getMessage() for r in caplog.records)
    tagged = _write(tmp_path / "t_20240901.tif", _rgb(7), tags={"SENSOR": "gf2-pms"})
    ds = FilesSource(paths=tagged, band_map="blue,green,red").load(v, "2024-09-01", "2024-09-01")
    assert ds.attrs["sensor"] == "gf2-pms" and ds.attrs["sensors_from"]["t_20240901.tif"] == "file tag SENSOR"
    for make in (lambda: FilesSource(paths=f, sensor="landsat8"),
                 lambda: FilesSource(paths=f, band_map={"bands": ["red", "green", "blue"], "sensor": "dji"})):
        with pytest.raises(UnknownSensorError) as e:
            make()
        assert _listed_names(str(e.value)) == list(SENSORS)
    from flows.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["nightly", "--source", "files", "--imagery", str(f), "--sensor", "landsat9"])
    err = capsys.readouterr().err
    assert "unknown sensor 'landsat9'" in err and _listed_names(err) == list(SENSORS)
    bm = tmp_path / "band_map.json"
    bm.write_text(json.dumps({"bands": ["red", "green", "blue"], "files": {"rgb_20240901.tif": {"sensor": "x"}}}))
    with pytest.raises(UnknownSensorError) as e:
        FilesSource(paths=f, band_map=bm).spec(f)
    assert "rgb_20240901.tif" in str(e.value) and _listed_names(str(e.value)) == list(SENSORS)


def test_one_band_per_file_folders_stack_by_band_pattern(tmp_path):
    sr = {"SR_B2": 9000, "SR_B3": 10000, "SR_B4": 11000, "SR_B5": 20000, "SR_B6": 15000, "SR_B7": 12000}
    folder = tmp_path / "landsat"
    folder.mkdir()
    name = "LC08_L2SP_122044_20240310_20240320_02_T1_{}.TIF"
    for band, value in sr.items():
        a = np.full((H, W), value, np.uint16)
        a[:5, :] = 0  # fill, Landsat's DN 0
        _write(folder / name.format(band), a, nodata=0)
    _write(folder / name.format("QA_PIXEL"), np.full((H, W), 21824, np.uint16))
    v = _box_village(0, 0, W, H)
    src = FilesSource(paths=folder, band_pattern="LC08_*_SR_B{band}.TIF", sensor="landsat-c2-l2",
                      scale=2.75e-5, offset=-0.2, resampling="native")
    ds = src.load(v, "2024-03-01", "2024-03-31")
    assert set(ds.data_vars) == {"blue", "green", "red", "nir08", "swir16", "swir22"}  # SR_B5 is nir08 for OLI
    assert list(ds["item_id"].values) == ["LC08_L2SP_122044_20240310_20240320_02_T1_SR"]
    assert ds.sizes["time"] == 1 and ds.attrs["sensor"] == "landsat-c2-l2"
    for band, value in sr.items():
        cn = SENSORS["landsat-c2-l2"].bands[band]
        assert float(ds[cn][0, 30, 40]) == pytest.approx(value * 2.75e-5 - 0.2, rel=1e-5)
        assert float(ds[valid_fraction_name(cn)][0]) == pytest.approx(55 / 60, abs=1e-12)
    assert any("QA_PIXEL" in k for k in ds.attrs["skipped_files"])
    # band numbers: B4 -> red from the sensor table, or from the band map's mapping
    nums = tmp_path / "nums"
    nums.mkdir()
    for n in (3, 4, 5):
        _write(nums / f"scene_20240310_B{n}.tif", np.full((H, W), 100 * n, np.uint16))
    ds = FilesSource(paths=nums, band_pattern="scene_*_B{band}.tif", sensor="landsat-c2-l2", scale=1e-4).load(
        v, "2024-03-10", "2024-03-10")
    assert set(ds.data_vars) == {"green", "red", "nir08"} and float(ds["red"][0].mean()) == pytest.approx(0.04)
    ds = FilesSource(paths=nums, band_pattern="scene_*_B{band}.tif", scale=1e-4,
                     band_map={"bands": {"3": "green", "4": "red", "5": "nir"}}).load(v, "2024-03-10", "2024-03-10")
    assert set(ds.data_vars) == {"green", "red", "nir"} and float(ds["nir"][0].mean()) == pytest.approx(0.05)
    with pytest.raises(ImageryFileError, match=r"scene_20240310_B3\.tif: band '3' .*--sensor"):
        FilesSource(paths=nums, band_pattern="scene_*_B{band}.tif", scale=1e-4).load(v, "2024-03-10", "2024-03-10")
    # a bureau delivery: red.tif, nir.tif, named by common names, the date in the band map
    bureau = tmp_path / "bureau"
    bureau.mkdir()
    for band, value in (("red", 300), ("nir", 2500)):
        _write(bureau / f"{band}.tif", np.full((H, W), value, np.uint16))
    (bureau / "band_map.json").write_text(json.dumps({"band_pattern": "{band}.tif", "scale": 1e-4,
                                                      "date": "2024-04-02"}))
    ds = FilesSource(paths=bureau).load(v, "2024-04-01", "2024-04-30")
    assert set(ds.data_vars) == {"red", "nir"} and list(ds["item_id"].values) == ["bureau"]
    assert float(ds["nir"][0].mean()) == pytest.approx(0.25) and float(ds["red"][0].mean()) == pytest.approx(0.03)
    # no pattern: the band map's files entries name one band per file; one folder and date stack
    (bureau / "band_map.json").write_text(json.dumps({"scale": 1e-4, "date": "2024-04-02", "files": {
        "red.tif": {"bands": ["red"]}, "nir.tif": {"bands": ["nir"]}}}))
    ds = FilesSource(paths=bureau).load(v, "2024-04-01", "2024-04-30")
    assert set(ds.data_vars) == {"red", "nir"} and ds.sizes["time"] == 1
    assert float(ds["nir"][0].mean()) == pytest.approx(0.25)


def test_one_row_raster_keeps_its_30m_pixels(tmp_path):
    row = np.array([[500, 800, 1200, 3000, 150]], np.uint16)[None].repeat(2, 0)
    f = _write(tmp_path / "samples_20240101.tif", row, transform=Affine(30, 0, X0, 0, -30, Y0))
    v = utm_box_village(CRS, X0, Y0 - 30, X0 + 150, Y0)
    ds = FilesSource(paths=f, band_map="green,nir", scale=1e-4, resampling="native").load(v, "2024-01-01", "2024-01-01")
    assert (ds.sizes["y"], ds.sizes["x"]) == (1, 5)
    assert ds.attrs["resolution"] == 30.0 and ds.rio.resolution() == (30.0, -30.0)
    assert ds.isel(time=0).rio.transform(recalc=True).a == 30.0
    # make_scene: a one-column array needs (and keeps) its resolution instead of 1 m
    s = make_scene({"red": np.ones((1, 4, 1), "float32")}, times=["2024-01-01"], y=np.array([45.0, 15, -15, -45]),
                   x=np.array([15.0]), crs=CRS, sensor="unknown", item_ids=["a"], resolution=30.0)
    assert s.rio.transform().a == 30.0 and s.rio.transform().e == -30.0


def test_empty_window_lists_each_files_date_and_the_window_to_use(tmp_path, capsys):
    for d in ("20240305", "20240307"):
        _write(tmp_path / f"flight_{d}.tif", _rgb(8))
    v = _box_village(*AOI_PX)
    src = FilesSource(paths=tmp_path)
    with pytest.raises(NoDataError) as e:
        src.load(v, "2025-01-01", "2025-01-31")
    msg = str(e.value)
    dates = re.findall(r"(flight_\d{8}\.tif) (\d{4}-\d{2}-\d{2}) \(file name\)", msg)
    assert dates == [("flight_20240305.tif", "2024-03-05"), ("flight_20240307.tif", "2024-03-07")]
    assert re.search(r"use --start (\S+) --end (\S+)$", msg).groups() == ("2024-03-05", "2024-03-07")
    assert src.window_error("2024-03-01", "2024-03-31") is None
    # the CLI says it in one line, exit code 2, no traceback
    from aoi.registry import village_from_file
    from flows.cli import main

    aoi_file = tmp_path / "Test Area.geojson"  # only a geometry, no registry properties
    aoi_file.write_text(json.dumps({"type": "Feature", "properties": {},
                                    "geometry": json.loads(json.dumps(v.geometry.__geo_interface__))}))
    adhoc = village_from_file(aoi_file)
    assert (adhoc.id, adhoc.name_en, adhoc.pilot_type) == ("test-area", "Test Area", "ad-hoc")
    assert adhoc.geometry.symmetric_difference(v.geometry).area < 1e-12 * v.geometry.area
    code = main(["nightly", "--source", "files", "--imagery", str(tmp_path), "--aoi", str(aoi_file),
                 "--start", "2025-01-01", "--end", "2025-01-31", "--out", str(tmp_path / "out"), "--no-prefect"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert err[0].endswith("use --start 2024-03-05 --end 2024-03-07")
