"""StacSource.load on real STAC items re-pointed at small local COGs written on each item's
own grid (known DNs, SCL/QA with cloud classes): radiometry per processing baseline and
catalogue flag, masking, valid fraction over the village polygon, threshold drops, saved
item JSON and offline re-runs, same-day fusion of items with different offsets."""
from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import rasterio

from aoi import grid_for
from sensing.errors import NoDataError
from sensing.scene import check_scene
from sensing.stac import StacSource

from support.stac_fixtures import (S2_STRIPES, S2_VILLAGE, STATIC_ITEMS, aligned_origin, cassette_items, load_json,
                            localize, need, s2_local_item, utm_box_village, window_origin, write_catalog,
                            write_cog, write_item)
from affine import Affine

PC_BANDS = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}
ES_BANDS = {"blue": "blue", "green": "green", "red": "red", "nir": "nir"}
BANDS = ("blue", "green", "red", "nir")


def _pc_item() -> dict:
    return load_json(need(STATIC_ITEMS / "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"))


def _es_item() -> dict:
    return next(f for f in cassette_items("test_multiple_collections.yaml") if f["id"] == "S2A_13TDE_20231008_0_L2A")


def _es_c1_item() -> dict:
    return next(f for f in cassette_items("TestCLISearch.test_filter[inprocess].yaml", 1)
                if f["id"] == "S2B_T24MVV_20250731T130245_L2A")


def _origin(item: dict, key: str) -> tuple[float, float]:
    t = item["assets"][key]["proj:transform"]
    return float(t[2]), float(t[5])


def _epsg(item: dict) -> str:
    return f"EPSG:{item['properties']['proj:epsg']}"


def _load_s2(tmp_path, item, band_keys, scl_key, **kw):
    crs = _epsg(item)
    x0, y0 = window_origin(item, crs, _origin(item, scl_key), 20.0)
    local, v = s2_local_item(item, tmp_path / "cogs", x0, y0, band_keys, scl_key, crs)
    cat = write_catalog(tmp_path / "catalog", [local])
    day = item["properties"]["datetime"][:10]
    src = StacSource(url=str(cat), collection=item.get("collection") or "sentinel-2-l2a", bands=BANDS, **kw)
    return src, v, day, (x0, y0), crs


def _stripe_pixels(ds, x0, y0):
    """(x, y) pixel centres in the middle of each 20 m SCL stripe of the village, and one at a
    vegetation pixel outside it."""
    yc = y0 - (S2_VILLAGE[0] + S2_VILLAGE[1]) / 2 + 5
    return [(x0 + S2_VILLAGE[0] + 20 * i + 5, yc) for i in range(len(S2_STRIPES))]


def _at(da, x, y):
    return float(da.sel(x=x, y=y, method="nearest").values)


def test_pc_baseline_0212_item_reflectance_and_scl_mask(tmp_path):
    src, v, day, (x0, y0), crs = _load_s2(tmp_path, _pc_item(), PC_BANDS, "SCL")
    ds = src.load(v, day, day)
    check_scene(ds)
    assert ds.sizes["time"] == 1 and ds.rio.crs.to_string() == crs == "EPSG:32606"
    g = grid_for(v, 10.0)
    assert ds.rio.transform() == g.transform and (ds.sizes["y"], ds.sizes["x"]) == g.shape
    assert ds["red"].chunks is not None and ds["red"].dtype == np.float32
    assert ds.attrs["sensor"] == "sentinel-2-l2a"
    assert ds["item_id"].values.tolist() == ["S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531"]
    red = ds["red"].isel(time=0).compute()
    for (x, y), cls in zip(_stripe_pixels(ds, x0, y0), S2_STRIPES):
        value = _at(red, x, y)
        if cls in (4, 5, 6):
            assert value == pytest.approx(0.05 if cls == 6 else 0.15, abs=1e-6), cls  # 6: water stripe, DN 500
        else:
            assert np.isnan(value), f"SCL class {cls} not masked"
    assert _at(ds["nir"].isel(time=0), x0 + 305, y0 - 405) == pytest.approx(0.3, abs=1e-6)
    assert np.isnan(_at(red, x0 + 125, y0 - 405))  # DN 0 (no data) columns
    assert float(ds["valid_fraction"][0]) == pytest.approx(0.3)  # 3 of 10 stripes over the polygon


def test_copy_with_baseline_0400_subtracts_1000_dn_and_keeps_negatives(tmp_path):
    # the real PC item with only s2:processing_baseline changed to 04.00 (said so: no real
    # 04.00+ Planetary Computer item is in the recorded data)
    item = copy.deepcopy(_pc_item())
    item["properties"]["s2:processing_baseline"] = "04.00"
    src, v, day, (x0, y0), _ = _load_s2(tmp_path, item, PC_BANDS, "SCL")
    ds = src.load(v, day, day).isel(time=0).compute()
    veg, water = _stripe_pixels(ds, x0, y0)[0], _stripe_pixels(ds, x0, y0)[2]
    assert _at(ds["red"], *veg) == pytest.approx(0.05, abs=1e-6)  # DN 1500 -> 0.05, not 0.15
    assert _at(ds["red"], *water) == pytest.approx(-0.05, abs=1e-6)  # dark water stays negative
    assert _at(ds["blue"], *veg) == pytest.approx(0.0, abs=1e-6)
    assert _at(ds["nir"], *veg) == pytest.approx(0.2, abs=1e-6)


def test_earth_search_boa_offset_applied_is_not_subtracted_twice(tmp_path):
    item = _es_item()
    assert item["properties"]["earthsearch:boa_offset_applied"] is True
    src, v, day, (x0, y0), crs = _load_s2(tmp_path, item, ES_BANDS, "scl")
    assert crs == "EPSG:32613"
    ds = src.load(v, day, day).isel(time=0).compute()
    assert _at(ds["red"], *_stripe_pixels(ds, x0, y0)[0]) == pytest.approx(0.15, abs=1e-6)
    assert float(ds["valid_fraction"]) == pytest.approx(0.3)


def test_earth_search_c1_item_uses_raster_bands_offset(tmp_path):
    item = _es_c1_item()
    src, v, day, (x0, y0), crs = _load_s2(tmp_path, item, ES_BANDS, "scl")
    assert src.collection == "sentinel-2-c1-l2a" and src.sensor == "sentinel-2-l2a"
    ds = src.load(v, day, day).isel(time=0).compute()
    assert ds.rio.crs.to_string() == crs == "EPSG:32724"
    assert _at(ds["red"], *_stripe_pixels(ds, x0, y0)[0]) == pytest.approx(0.05, abs=1e-6)


def test_dates_under_the_valid_fraction_are_dropped_with_a_log_line(tmp_path, caplog):
    src, v, day, _, _ = _load_s2(tmp_path, _pc_item(), PC_BANDS, "SCL", min_valid_fraction=0.5)
    with caplog.at_level(logging.INFO, logger="villagewatch.sensing.stac"):
        with pytest.raises(NoDataError, match=rf"s2-test-village.*{day}\.\.{day}.*0\.50"):
            src.load(v, day, day)
    assert f"village s2-test-village: {day} dropped: valid fraction 0.30" in caplog.text


def test_items_saved_and_offline_rerun_from_saved_items(tmp_path):
    src, v, day, _, _ = _load_s2(tmp_path, _pc_item(), PC_BANDS, "SCL", items_dir=tmp_path / "items")
    first = src.load(v, day, day)
    saved = sorted(p.name for p in (tmp_path / "items").glob("*.json"))
    assert saved == ["S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"]
    again = StacSource.from_saved_items(tmp_path / "items", bands=BANDS).load(v, day, day)
    assert again.attrs["collection"] == "sentinel-2-l2a"
    np.testing.assert_array_equal(first["red"].values, again["red"].values)
    assert not list((tmp_path / "items").glob(".*tmp"))  # atomic writes leave no temporaries


def test_one_day_two_items_with_different_offsets_are_fused_per_item(tmp_path):
    """Two real-item copies on the same solar day, one 02.12 (west half) one 04.00 (east half):
    each half gets its own offset, then they are mosaicked into one date."""
    base = _pc_item()
    crs = _epsg(base)
    x0, y0 = window_origin(base, crs, _origin(base, "SCL"), 20.0)
    n10, n20 = 80, 40
    t10, t20 = Affine(10, 0, x0, 0, -10, y0), Affine(20, 0, x0, 0, -20, y0)
    items = []
    for half, pb in (("west", "02.12"), ("east", "04.00")):
        it = copy.deepcopy(base)
        it["id"] = f"{base['id']}_{half}"
        it["properties"]["s2:processing_baseline"] = pb
        red = np.full((n10, n10), 1500, np.uint16)
        scl = np.full((n20, n20), 4, np.uint8)
        if half == "west":
            red[:, n10 // 2:] = 0
            scl[:, n20 // 2:] = 0
        else:
            red[:, : n10 // 2] = 0
            scl[:, : n20 // 2] = 0
        d = tmp_path / half
        d.mkdir()
        assets = {"B04": (write_cog(d / "B04.tif", red, t10, crs), t10, red.shape),
                  "SCL": (write_cog(d / "SCL.tif", scl, t20, crs), t20, scl.shape)}
        items.append(localize(it, assets))
    cat = write_catalog(tmp_path / "catalog", items)
    v = utm_box_village(crs, x0 + 200, y0 - 600, x0 + 600, y0 - 200)
    ds = StacSource(url=str(cat), bands=("red",)).load(v, "2019-06-29", "2019-06-29")
    assert ds.sizes["time"] == 1
    assert sorted(ds["item_id"].values[0].split("+")) == sorted(i["id"] for i in items)
    red = ds["red"].isel(time=0)
    assert _at(red, x0 + 305, y0 - 405) == pytest.approx(0.15, abs=1e-6)  # west: 02.12
    assert _at(red, x0 + 505, y0 - 405) == pytest.approx(0.05, abs=1e-6)  # east: 04.00
    assert float(ds["valid_fraction"][0]) == pytest.approx(1.0)


# ------------------------------------------------------------------ Landsat C2 L2
QA_CLEAR, QA_WATER, QA_CLOUD, QA_SHADOW, QA_SNOW = 21824, 21952, 22280, 23888, 30048


def test_landsat_sr_scale_and_qa_pixel_bits(tmp_path):
    item = load_json(need(STATIC_ITEMS / "LC08_L2SP_028030_20200114_20200824_02_T1_SR.json"))
    crs = _epsg(item)
    t = item["properties"]["proj:transform"]
    x0, y0 = window_origin(item, crs, (t[2], t[5]), 30.0)
    n = 40
    tr = Affine(30, 0, x0, 0, -30, y0)
    red = np.full((n, n), 10000, np.uint16)
    qa = np.full((n, n), QA_CLEAR, np.uint16)
    blocks = {QA_WATER: (10, 10), QA_CLOUD: (10, 20), QA_SHADOW: (20, 10), QA_SNOW: (20, 20)}
    for value, (r, c) in blocks.items():
        qa[r:r + 10, c:c + 10] = value
    red[10:20, 10:20] = 7000  # dark water: 7000 x 2.75e-5 - 0.2 = -0.0075
    d = tmp_path / "ls"
    d.mkdir()
    assets = {"red": (write_cog(d / "SR_B4.tif", red, tr, crs), tr, red.shape),
              "qa_pixel": (write_cog(d / "QA_PIXEL.tif", qa, tr, crs, nodata=1), tr, qa.shape)}
    local = localize(item, assets)
    write_item(tmp_path / "items", local)
    v = utm_box_village(crs, x0 + 300, y0 - 900, x0 + 900, y0 - 300)
    src = StacSource(url=str(tmp_path / "items"), collection="landsat-c2l2-sr", bands=("red",))
    ds = src.load(v, "2020-01-14", "2020-01-14")
    check_scene(ds)
    assert src.sensor == "landsat-c2-l2" and ds.attrs["resolution"] == 30.0
    assert ds.rio.crs.to_string() == "EPSG:32615"
    red_out = ds["red"].isel(time=0).compute()

    def centre(r, c):  # centre of a 10x10-pixel block
        return x0 + 30 * (c + 5), y0 - 30 * (r + 5)

    assert _at(red_out, *centre(10, 10)) == pytest.approx(-0.0075, abs=1e-6)  # water, valid, negative
    assert _at(red_out, x0 + 30 * 35, y0 - 30 * 35) == pytest.approx(0.075, abs=1e-6)  # clear land
    for value in (QA_CLOUD, QA_SHADOW, QA_SNOW):
        assert np.isnan(_at(red_out, *centre(*blocks[value]))), value
    assert float(ds["valid_fraction"][0]) == pytest.approx(0.25, abs=0.06)  # 1 of 4 blocks


def test_local_cog_values_are_what_the_items_point_at(tmp_path):
    """Sanity of the fixture: the COG written for an item sits on the item's own grid."""
    item = _pc_item()
    crs = _epsg(item)
    x0, y0 = window_origin(item, crs, _origin(item, "SCL"), 20.0)
    assert (x0 - 399960) % 20 == 0 and (6800040 - y0) % 20 == 0
    local, _ = s2_local_item(item, tmp_path, x0, y0, {"red": "B04"}, "SCL", crs)
    with rasterio.open(local["assets"]["B04"]["href"]) as f:
        assert f.crs.to_string() == crs and f.transform.c == x0 and f.read(1)[0, 0] == 1500
    assert aligned_origin(399960, x0 + 7, 10) == x0


def test_unreadable_asset_is_source_unavailable_naming_the_village(tmp_path):
    from sensing.errors import SourceUnavailableError

    item = _pc_item()
    crs = _epsg(item)
    x0, y0 = window_origin(item, crs, _origin(item, "SCL"), 20.0)
    local, v = s2_local_item(item, tmp_path / "cogs", x0, y0, {"red": "B04"}, "SCL", crs)
    missing = tmp_path / "gone" / "SCL.tif"
    local["assets"]["SCL"]["href"] = str(missing)
    write_item(tmp_path / "items", local)
    with pytest.raises(SourceUnavailableError, match=r"s2-test-village.*gone/SCL.tif"):
        StacSource(url=str(tmp_path / "items"), bands=("red",)).load(v, "2019-06-29", "2019-06-29")
