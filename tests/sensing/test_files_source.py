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
    assert set(ds.data_vars) == {"red", "green", "blue"} and ds.attrs["sensor"] == "drone-rgb"
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
