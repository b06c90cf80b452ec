"""Radiometry, masks, AOI fractions, composites and HTTP helpers: pure functions, real item
metadata from ../shared/realdata/stac."""
from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd
import pystac
import pytest
import xarray as xr
from shapely.geometry import box

from aoi import grid_for
from sensing.composite import median_composite
from sensing.errors import NoDataError
from sensing.http import call_with_retries, retry_policy, strip_signed_query
from sensing.masking import aoi_mask, aoi_valid_fraction, qa_bits_valid, scl_valid
from sensing.radiometry import (Radiometry, asset_radiometry, processing_baseline, raster_band,
                                s2_l2a_radiometry, to_reflectance)
from sensing.sensors import SENSORS

from support.stac_fixtures import STATIC_ITEMS, cassette_items, load_json, need, utm_box_village

S2 = SENSORS["sentinel-2-l2a"]
LS = SENSORS["landsat-c2-l2"]


def _es_items():
    return {f["id"]: f for f in cassette_items("test_multiple_collections.yaml")}


def _es_c1_item():
    feats = cassette_items("TestCLISearch.test_filter[inprocess].yaml", 1)
    return next(f for f in feats if f["id"] == "S2B_T24MVV_20250731T130245_L2A")


def _pc_s2():
    return load_json(need(STATIC_ITEMS / "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"))


# ------------------------------------------------------------------ Sentinel-2 rules
def test_pc_baseline_0212_item_has_no_offset():
    item = _pc_s2()
    assert item["properties"]["s2:processing_baseline"] == "02.12"
    r = asset_radiometry(item, "B04", S2)
    assert (r.scale, r.offset, r.nodata) == (1e-4, 0.0, 0)
    assert "02.12" in r.rule


def test_pc_raster_ext_item_with_nodata_only_still_uses_the_baseline():
    item = load_json(need(STATIC_ITEMS / "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531_raster_ext.json"))
    assert raster_band(item["assets"]["B04"]) == {"nodata": 0, "data_type": "uint16"}
    r = asset_radiometry(item, "B04", S2)
    assert (r.scale, r.offset) == (1e-4, 0.0)


def test_copy_of_real_item_with_baseline_0400_gets_minus_1000_dn():
    # the real PC item with only s2:processing_baseline changed (no real 04.00+ PC item here)
    item = copy.deepcopy(_pc_s2())
    item["properties"]["s2:processing_baseline"] = "04.00"
    r = asset_radiometry(item, "B04", S2)
    assert r.offset == pytest.approx(-0.1)
    assert float(1500 * r.scale + r.offset) == pytest.approx(0.05)


def test_earth_search_boa_offset_applied_wins_over_raster_bands_offset():
    item = _es_items()["S2A_13TDE_20231008_0_L2A"]
    p = item["properties"]
    assert p["earthsearch:boa_offset_applied"] is True and p["s2:processing_baseline"] == "05.09"
    assert raster_band(item["assets"]["red"])["offset"] == -0.1  # as recorded
    r = asset_radiometry(item, "red", S2)
    assert (r.scale, r.offset) == (1e-4, 0.0)
    assert float(1500 * r.scale + r.offset) == pytest.approx(0.15)  # no double subtraction


def test_earth_search_c1_item_raster_bands_offset_is_used():
    item = _es_c1_item()
    assert "earthsearch:boa_offset_applied" not in item["properties"]
    r = asset_radiometry(item, "red", S2)
    assert (r.scale, r.offset) == (1e-4, -0.1)
    assert r.rule.startswith("raster:bands")


def test_flag_false_with_baseline_0400_subtracts():
    props = {"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": False}
    assert s2_l2a_radiometry(props).offset == pytest.approx(-0.1)
    assert s2_l2a_radiometry({"sentinel:boa_offset_applied": True, "s2:processing_baseline": "04.00"}).offset == 0


def test_baseline_from_product_id_of_earth_search_v0_item():
    item = load_json(need(STATIC_ITEMS / "S2A_28QCH_20200714_0_L2A.json"))
    assert "s2:processing_baseline" not in item["properties"]
    assert processing_baseline(item["properties"]) == "02.14"
    assert asset_radiometry(item, "B04", S2).offset == 0.0


def test_no_baseline_falls_back_to_the_date(caplog):
    with caplog.at_level(logging.WARNING, logger="villagewatch.sensing.radiometry"):
        late = s2_l2a_radiometry({"datetime": "2023-05-01T10:00:00Z"})
        early = s2_l2a_radiometry({"datetime": "2021-05-01T10:00:00Z"})
    assert late.offset == pytest.approx(-0.1) and early.offset == 0.0
    assert "no s2:processing_baseline" in caplog.text


def test_landsat_scale_offset_from_raster_bands_and_published_default():
    es = _es_items()["LC08_L2SP_033032_20231008_02_T1"]
    r1 = asset_radiometry(es, "red", LS)
    usgs = load_json(need(STATIC_ITEMS / "LC08_L2SP_028030_20200114_20200824_02_T1_SR.json"))
    r2 = asset_radiometry(pystac.Item.from_dict(usgs), "red", LS)
    for r in (r1, r2):
        assert (r.scale, r.offset) == (2.75e-5, -0.2)
    assert r1.rule.startswith("raster:bands") and "published" in r2.rule
    assert float(10000 * r1.scale + r1.offset) == pytest.approx(0.075)


def test_to_reflectance_nodata_negative_kept_and_per_time_offsets():
    dn = xr.DataArray(np.array([[[0, 500, 1500, 10000]], [[0, 500, 1500, 10000]]], np.uint16),
                      dims=("time", "y", "x"))
    out = to_reflectance(dn, xr.DataArray([1e-4, 1e-4], dims="time"), xr.DataArray([0.0, -0.1], dims="time"), 0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.values[0, 0], [np.nan, 0.05, 0.15, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out.values[1, 0], [np.nan, -0.05, 0.05, 0.9], rtol=1e-5)


def test_radiometry_key_is_hashable_and_distinguishes_offsets():
    a, b = Radiometry(1e-4, 0.0, 0, "x"), Radiometry(1e-4, -0.1, 0, "y")
    assert a.key() != b.key() and len({a.key(), Radiometry(1e-4, 0.0, 0, "z").key()}) == 1


# ------------------------------------------------------------------ masks
def test_scl_mask_keeps_vegetation_bare_water_dark_unclassified():
    scl = xr.DataArray(np.arange(12, dtype=np.uint8))
    ok = scl_valid(scl).values
    assert [int(c) for c in np.flatnonzero(ok)] == [2, 4, 5, 6, 7]


def test_qa_pixel_bits_on_real_usgs_values():
    # USGS C2 L2 QA_PIXEL values (LSDS-1619): clear land, clear water, dilated cloud,
    # high-confidence cloud, cloud shadow, snow, high cirrus, fill, outside the scene
    values = {21824: True, 21952: True, 21762: False, 22280: False, 23888: False, 30048: False,
              54596: False, 1: False, 0: False}
    qa = xr.DataArray(np.array(list(values), np.uint16))
    assert qa_bits_valid(qa).values.tolist() == list(values.values())


def test_aoi_mask_is_the_polygon_not_the_buffered_box():
    v = utm_box_village("EPSG:32650", 500000, 2500000, 500200, 2500100)
    g = grid_for(v, 10.0)
    m = aoi_mask(v.geometry, g)
    assert m.shape == g.shape
    assert int(m.sum()) == 20 * 10  # 200 m x 100 m at 10 m
    valid = xr.DataArray(np.ones((2,) + g.shape, bool), dims=("time", "y", "x"))
    valid[1, :, : g.width // 2] = False  # west half invalid: the polygon sits in the middle
    vf = aoi_valid_fraction(valid, m)
    assert vf.values[0] == 1.0 and 0 < vf.values[1] < 1


# ------------------------------------------------------------------ composite
def test_median_composite_of_a_period_skips_nan():
    t = pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-21", "2024-03-01"])
    red = np.stack([np.full((2, 2), v, np.float32) for v in (0.1, 0.3, 0.2, 0.9)])
    red[1, 0, 0] = np.nan
    ds = xr.Dataset({"red": (("time", "y", "x"), red)},
                    coords={"time": t, "y": [1.5, 0.5], "x": [0.5, 1.5],
                            "item_id": ("time", ["a", "b", "c", "d"])}).chunk({"time": 1})
    ds = ds.rio.write_crs("EPSG:32650")
    comp = median_composite(ds, "2024-01-01", "2024-01-31")
    assert comp["red"].dims == ("y", "x")
    np.testing.assert_allclose(comp["red"].values, [[0.15, 0.2], [0.2, 0.2]], rtol=1e-6)
    assert comp.attrs["item_ids"] == ["a", "b", "c"] and comp.rio.crs.to_epsg() == 32650
    with pytest.raises(NoDataError, match="2025-01-01"):
        median_composite(ds, "2025-01-01", "2025-02-01")


# ------------------------------------------------------------------ http helpers
def test_strip_signed_query_removes_sas_and_aws_tokens_only():
    pc = ("https://sentinel2l2a01.blob.core.windows.net/x/B04.tif?st=2024-01-01T00%3A00%3A00Z&se=2024-01-02"
          "&sp=rl&sv=2021-06-08&sr=c&skoid=abc&sig=SECRET%3D")
    assert strip_signed_query(pc) == "https://sentinel2l2a01.blob.core.windows.net/x/B04.tif"
    aws = "https://b.s3.amazonaws.com/k.tif?X-Amz-Signature=abc&X-Amz-Credential=x&versionId=3"
    assert strip_signed_query(aws) == "https://b.s3.amazonaws.com/k.tif?versionId=3"
    tile = "https://planetarycomputer.microsoft.com/api/data/v1/item/tilejson.json?collection=c&assets=visual"
    assert strip_signed_query(tile) == tile
    assert strip_signed_query("/data/local.tif") == "/data/local.tif"


def test_retry_policy_covers_rate_limits_server_errors_and_post():
    r = retry_policy(4, 0.5)
    assert set(r.status_forcelist) == {429, 500, 502, 503, 504}
    assert r.allowed_methods is None and r.respect_retry_after_header and r.total == 4
    assert r.backoff_factor == 0.5


def test_call_with_retries_retries_only_transient_body_errors():
    import json

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            json.loads('{"type": "FeatureColl')
        return "ok"

    assert call_with_retries(flaky, attempts=3, backoff=0.0) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(KeyError):
        call_with_retries(lambda: calls.append(1) or {}["x"], attempts=3, backoff=0.0)
    assert len(calls) == 1


def test_village_grid_box_area_check():
    # the test village helper builds the rectangle it is asked for (sanity of the fixtures)
    v = utm_box_village("EPSG:32606", 402260, 6797540, 402460, 6797740)
    g = grid_for(v, 10.0)
    assert g.crs == "EPSG:32606"
    local = g.to_crs(v.geometry)
    assert local.area == pytest.approx(200 * 200, rel=1e-6)
    assert local.equals_exact(box(402260, 6797540, 402460, 6797740), tolerance=1e-3) or \
        local.symmetric_difference(box(402260, 6797540, 402460, 6797740)).area < 1e-3
