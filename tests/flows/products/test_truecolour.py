"""The true-colour product (``true_colour.tif``): the 2-98 % stretch pooled over red, green and
blue inside the village, 1..255 with 0 for no data, as a 3-band uint8 COG with its stretch in
the tags and the manifest; and the GeoJSON products in CGCS2000 on request.

Expected values: numpy's percentile of the pooled values and the stated formula
``1 + 254 (x - low) / (high - low)``, computed here."""
from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from flows.products.rasters import is_valid_cog
from flows.products.truecolour import RGB, stretch_limits, to_uint8, write_true_colour


def scene(h=60, w=80, seed=3) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    y = 2_700_000 - 10.0 * (np.arange(h) + 0.5)
    x = 400_000 + 10.0 * (np.arange(w) + 0.5)
    bands = {"red": rng.uniform(0.02, 0.20, (h, w)), "green": rng.uniform(0.03, 0.15, (h, w)),
             "blue": rng.uniform(0.01, 0.10, (h, w)), "nir": rng.uniform(0.1, 0.4, (h, w))}
    bands["red"][:5, :5] = np.nan  # a cloud
    ds = xr.Dataset({k: (("y", "x"), v.astype("float32")) for k, v in bands.items()}, coords={"y": y, "x": x})
    return ds.rio.write_crs("EPSG:32650")


def test_stretch_is_the_pooled_2_and_98_percentiles_inside_the_village():
    ds = scene()
    inside = np.zeros((60, 80), dtype=bool)
    inside[10:50, 10:70] = True
    arrays = {b: ds[b].values for b in RGB}
    st = stretch_limits(arrays, inside)
    ok = inside & np.isfinite(arrays["red"])
    pooled = np.concatenate([arrays[b][ok] for b in RGB]).astype("float64")
    assert st.low == pytest.approx(np.percentile(pooled, 2)) and st.high == pytest.approx(np.percentile(pooled, 98))
    assert st.n == pooled.size == 3 * ok.sum()
    # one stretch for all three bands: a grey pixel (r = g = b) stays grey
    grey = xr.DataArray(np.full((1, 1), 0.07))
    assert to_uint8(grey, st).item() == round(1 + 254 * (0.07 - st.low) / (st.high - st.low))
    assert to_uint8(xr.DataArray(np.full((1, 1), st.low - 1)), st).item() == 1  # clipped, never 0 (no data)
    assert to_uint8(xr.DataArray(np.full((1, 1), st.high + 1)), st).item() == 255
    assert to_uint8(xr.DataArray(np.full((1, 1), np.nan)), st).item() == 0
    assert stretch_limits(arrays, np.zeros_like(inside)) is None


def test_true_colour_cog_has_three_bands_the_stretch_and_no_data(tmp_path):
    ds = scene()
    inside = xr.DataArray(np.ones((60, 80), dtype=bool), dims=("y", "x"))
    path, st = write_true_colour(ds, inside, tmp_path, {"VILLAGE": "v"})
    ok, errors, _ = is_valid_cog(path)
    assert ok, errors
    with rasterio.open(path) as src:
        assert src.count == 3 and src.dtypes == ("uint8",) * 3 and src.nodata == 0
        assert src.descriptions == ("red", "green", "blue")
        assert [c.name for c in src.colorinterp] == ["red", "green", "blue"]
        tags = src.tags()
        assert float(tags["STRETCH_LOW"]) == pytest.approx(st.low, rel=1e-5)
        assert float(tags["STRETCH_HIGH"]) == pytest.approx(st.high, rel=1e-5)
        data = src.read()
    assert (data[:, :5, :5] == 0).all() and (data[:, 5:, 5:] > 0).all()  # red missing: no data in all three
    expected = np.clip(np.round(1 + 254 * (ds["green"].values[30, 40] - st.low) / (st.high - st.low)), 1, 255)
    assert data[1, 30, 40] == expected
    assert st.as_dict()["percentiles"] == [2.0, 98.0]
    # no visible band: no picture
    assert write_true_colour(ds[["nir"]], inside, tmp_path / "x", {}) is None


def test_the_demo_dates_carry_their_true_colour_and_its_stretch(demo_out):
    manifests = sorted(demo_out.glob("*/20*/manifest.json"))
    assert manifests
    for m in manifests:
        doc = json.loads(m.read_text(encoding="utf-8"))
        assert "true_colour.tif" in doc["outputs"], m
        st = doc["true_colour"]
        assert st["percentiles"] == [2.0, 98.0] and 0 <= st["low"] < st["high"] < 1.5  # reflectance
        with rasterio.open(m.parent / "true_colour.tif") as src:
            assert float(src.tags()["STRETCH_LOW"]) == pytest.approx(st["low"], rel=1e-5)


def test_geojson_products_in_cgcs2000_on_request(tmp_path):
    import geopandas as gpd

    from flows.cli import _geojson_crs, build_parser
    from flows.params import Params
    from flows.products.vectors import geojson_epsg, write_geojson

    gdf = gpd.GeoDataFrame({"wb_id": ["a"]}, geometry=[box(400_000, 2_690_000, 400_100, 2_690_050)], crs="EPSG:32650")
    wgs = json.loads(write_geojson(gdf, tmp_path / "w.geojson").read_text())
    cgcs = json.loads(write_geojson(gdf, tmp_path / "c.geojson", crs="EPSG:4490").read_text())
    assert "crs" not in wgs and geojson_epsg(wgs) == 4326
    assert cgcs["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4490" and geojson_epsg(cgcs) == 4490
    a = np.array(wgs["features"][0]["geometry"]["coordinates"][0])
    b = np.array(cgcs["features"][0]["geometry"]["coordinates"][0])
    assert np.abs(a - b).max() < 1e-6  # PROJ applies no shift: the same numbers, a different datum label
    assert gpd.read_file(tmp_path / "c.geojson").crs.to_epsg() == 4490
    # reachable from the command line, recorded in the parameters (and so in every manifest)
    args = build_parser().parse_args(["nightly", "--geojson-crs", "cgcs2000"])
    assert Params(geojson_crs=_geojson_crs(args)).as_dict()["geojson_crs"] == "EPSG:4490"
    assert Params().as_dict()["geojson_crs"] == "EPSG:4326"
    with pytest.raises(ValueError, match="geojson_crs"):
        Params(geojson_crs="EPSG:3857")
