"""Output writers: COGs valid and exact, GeoJSON RFC 7946, atomic and byte-stable."""
from __future__ import annotations

import json

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import Polygon, box

from flows.products.atomic import atomic_path, clean_stale_temporaries, sha256_file, write_json
from flows.products.rasters import is_valid_cog, mask_to_uint8, write_cog
from flows.products.vectors import feature_collection, write_geojson


def raster(values: np.ndarray, *, dask_chunks=None, crs="EPSG:32650", res=10.0, name="ndvi") -> xr.DataArray:
    h, w = values.shape
    y = 2_700_000 - res * (np.arange(h) + 0.5)
    x = 400_000 + res * (np.arange(w) + 0.5)
    data = da.from_array(values, chunks=dask_chunks) if dask_chunks else values
    return xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}, name=name).rio.write_crs(crs)


@pytest.mark.parametrize("chunks", [None, (300, 257)])
def test_cog_valid_and_exact(tmp_path, chunks):
    rng = np.random.default_rng(0)
    vals = rng.random((700, 900)).astype("float32")
    vals[5, 7] = np.nan
    path = write_cog(raster(vals, dask_chunks=chunks), tmp_path / "ndvi.tif", tags={"DEMO": "yes"})
    ok, errors, _ = is_valid_cog(path)
    assert ok, errors
    with rasterio.open(path) as src:
        back = src.read(1)
        assert src.crs.to_epsg() == 32650
        assert src.transform.c == 400_000 and src.transform.f == 2_700_000 and src.transform.a == 10.0
        assert np.isnan(src.nodata)
        assert src.tags()["DEMO"] == "yes"
        assert src.overviews(1), "COG has overviews"
    np.testing.assert_array_equal(np.isnan(back), np.isnan(vals))
    np.testing.assert_array_equal(back[~np.isnan(back)], vals[~np.isnan(vals)])


def test_cog_same_bytes_on_rerun(tmp_path):
    a = raster(np.arange(600 * 600, dtype="float32").reshape(600, 600))
    p = write_cog(a, tmp_path / "x.tif")
    first = sha256_file(p)
    write_cog(a, tmp_path / "x.tif")
    assert sha256_file(p) == first
    assert [f.name for f in tmp_path.iterdir()] == ["x.tif"], "no temporaries left behind"


def test_in_memory_and_staged_routes_write_the_same_bytes(tmp_path, monkeypatch):
    """A raster up to IN_MEMORY_PIXELS goes through a MEM dataset, a larger one through a
    staging GeoTIFF: the same pixels give the same COG, byte for byte, either way."""
    import flows.products.rasters as rasters

    rng = np.random.default_rng(3)
    vals = rng.random((1100, 700)).astype("float32")
    vals[:40, :40] = np.nan
    mask = (rng.random((1100, 700)) > 0.6).astype("uint8")
    mask[-3:] = 255
    digests = {}
    for route, limit in (("memory", 10**9), ("staged", 0)):
        monkeypatch.setattr(rasters, "IN_MEMORY_PIXELS", limit)
        for name, arr, kw in (("ndvi", vals, {}), ("water_mask", mask, {"nodata": 255})):
            path = write_cog(raster(arr, dask_chunks=(512, 300), name=name), tmp_path / route / f"{name}.tif",
                             tags={"VILLAGE": "v"}, **kw)
            assert is_valid_cog(path)[0]
            digests[route, name] = sha256_file(path)
        assert sorted(p.name for p in (tmp_path / route).iterdir()) == ["ndvi.tif", "water_mask.tif"]
    assert digests["memory", "ndvi"] == digests["staged", "ndvi"]
    assert digests["memory", "water_mask"] == digests["staged", "water_mask"]


def test_cog_compression_is_deflate_with_the_predictor_for_floats(tmp_path):
    """DEFLATE with the floating-point predictor (3) for floats, on the full resolution and
    the overviews; integer classes without predictor (rasterio reports the TIFF tags GDAL
    wrote; predictor 1, none, is not listed)."""
    f = write_cog(raster(np.linspace(0, 1, 1200 * 1100, dtype="float32").reshape(1200, 1100)), tmp_path / "f.tif")
    m = write_cog(raster(np.eye(1200, 1100, dtype="uint8"), name="mask"), tmp_path / "m.tif", nodata=255)
    for path, predictor in ((f, "3"), (m, None)):
        for level in (None, 0):
            kw = {} if level is None else {"OVERVIEW_LEVEL": level}
            with rasterio.open(path, **kw) as src:
                tags = src.tags(ns="IMAGE_STRUCTURE")
                assert tags["COMPRESSION"] == "DEFLATE" and tags.get("PREDICTOR") == predictor, (path, level, tags)


def test_mask_written_as_uint8_with_nodata(tmp_path):
    m = raster(np.array([[True, False], [False, True]]), name="water")
    valid = raster(np.array([[True, True], [False, True]]), name="valid")
    p = write_cog(mask_to_uint8(m, valid), tmp_path / "water_mask.tif", nodata=255)
    with rasterio.open(p) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        np.testing.assert_array_equal(src.read(1), [[1, 0], [255, 1]])


def test_cog_refuses_missing_crs(tmp_path):
    a = xr.DataArray(np.zeros((3, 3), "float32"), dims=("y", "x"), coords={"y": [2.5, 1.5, 0.5], "x": [0.5, 1.5, 2.5]})
    with pytest.raises(ValueError, match="no CRS"):
        write_cog(a, tmp_path / "a.tif")
    assert not list(tmp_path.iterdir())


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    final = tmp_path / "table.json"
    write_json(final, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed mid-write")
    assert json.loads(final.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.json"]


def test_stale_temporaries_cleaned(tmp_path):
    (tmp_path / "v" / "2024-01-01").mkdir(parents=True)
    stale = tmp_path / "v" / "2024-01-01" / ".ndvi.tif.abc.tmp"
    stale.write_bytes(b"partial")
    assert clean_stale_temporaries(tmp_path) == 1 and not stale.exists()


def test_geojson_rfc7946(tmp_path):
    # a clockwise square in UTM 50N: written in EPSG:4326, lon/lat, counter-clockwise exterior
    cw = Polygon([(400000, 2700000), (400000, 2700100), (400100, 2700100), (400100, 2700000)])
    assert not cw.exterior.is_ccw
    gdf = gpd.GeoDataFrame({"wb_id": ["wb-1"], "area_m2": [np.float64(10000.0)], "n": [np.int64(100)],
                            "flag": [np.bool_(True)], "miss": [np.nan]}, geometry=[cw], crs="EPSG:32650")
    p = write_geojson(gdf, tmp_path / "w.geojson", properties={"village": "x", "demo": True})
    fc = json.loads(p.read_text())
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    feat = fc["features"][0]
    assert feat["properties"] == {"wb_id": "wb-1", "area_m2": 10000.0, "n": 100, "flag": True, "miss": None}
    ring = feat["geometry"]["coordinates"][0]
    lon, lat = ring[0]
    assert 115.9 < lon < 116.1 and 24.3 < lat < 24.5  # UTM 50N: easting 400 km is ~1 degree west of 117E
    assert Polygon(ring).exterior.is_ccw
    back = gpd.read_file(p)
    assert back.crs.to_epsg() == 4326
    assert abs(back.to_crs(32650).area.iloc[0] - 10000.0) < 1.0


def test_geojson_bytes_stable(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)], crs="EPSG:4326")
    p1 = write_geojson(gdf, tmp_path / "a.geojson")
    h = sha256_file(p1)
    write_geojson(gdf, tmp_path / "a.geojson")
    assert sha256_file(p1) == h
    assert feature_collection(gdf.iloc[:0])["features"] == []
