"""End to end on real inputs, offline: ``villagewatch nightly --source stac`` against the
loopback replay server answering with real Planetary Computer Sentinel-2 L2A items (tile
35MNM, 2020) whose assets are small local COGs on each item's own grid (tests/_flow_fixtures),
plain and through Prefect; and ``--source files`` on real rasters (a 5 m RGBN village scene,
three NAIP dates). Valid COGs and RFC 7946 GeoJSON, the planted numbers found, manifests that
record the items and the resampling choice."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from flows.products.atomic import sha256_file
from flows.cli import main
from flows.products.rasters import is_valid_cog

from support.flow_items import (CLEARED_M2, DATES, HISTORY, PIX, POND_GROWTH_M2, s2_items, search_page, site2_item,
                            village_feature, village_geometry, window_corner, write_registry)
from support.stac_fixtures import CASSETTES, REALDATA, need, raster_village
from support.stac_replay import ReplayServer

pytestmark = pytest.mark.slow

ES = "https://earth-search.aws.element84.com/v1"
ES_ROOT = "TestCLISearch.test_filter[inprocess].yaml"
VID = "tanganyika-test-village"
CLEAR = ["2020-06-16", "2020-07-16"]
WINDOW = ["--start", "2020-06-01", "--end", "2020-07-31"]
#: water of the synthetic scene: a clear pond of 60 000 m2 (80 000 m2 after it grows) and a
#: dark pond of 30 000 m2
CLEAR_POND_M2 = {"2020-06-16": 60_000.0, "2020-07-16": 60_000.0 + POND_GROWTH_M2}
DARK_POND_M2 = 30_000.0


def _products(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if not p.name.startswith("."))


def _at(tif: Path, row: int, col: int) -> float:
    """The product's value at window pixel (row, col) of the synthetic scene."""
    x0, y0 = window_corner()
    with rasterio.open(tif) as src:
        r, c = src.index(x0 + (col + 0.5) * PIX, y0 - (row + 0.5) * PIX)
        return float(src.read(1)[r, c])


def _check_geojson(p: Path) -> dict:
    fc = json.loads(p.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    for f in fc["features"]:
        g = f["geometry"]
        assert g["type"] in ("Polygon", "MultiPolygon")
        rings = g["coordinates"] if g["type"] == "Polygon" else [r for poly in g["coordinates"] for r in poly]
        xy = np.array([c for ring in rings for c in ring])
        assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
    return fc


def _area(fc: dict) -> float:
    return sum(f["properties"]["area_m2"] for f in fc["features"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("stac-world")
    items = s2_items(root / "cogs", {**HISTORY, **DATES})  # the same season a year before, then the window
    registry = write_registry(root / "villages" / "test.geojson", [village_feature(VID, village_geometry())])
    return items, registry


@pytest.fixture(scope="module")
def plain(world, tmp_path_factory):
    items, registry = world
    out = tmp_path_factory.mktemp("stac-plain")
    with ReplayServer(need(CASSETTES / ES_ROOT)) as srv:
        srv.add_route("POST", f"{ES}/search", search_page(items))
        rc = main(["nightly", "--source", "stac", "--stac-url", srv.url_for(ES), "--registry", str(registry),
                   "--out", str(out), *WINDOW, "--no-prefect"])
        searched = [r for r in srv.requests if r.method == "POST"]
    return rc, out, searched


def test_stac_nightly_cli_writes_valid_products_for_the_clear_dates(plain):
    rc, out, searched = plain
    assert rc == 0
    assert searched and searched[0].body["collections"] == ["sentinel-2-l2a"]
    assert searched[0].body["datetime"].startswith("2020-06-01")
    vdir = out / VID
    # 07-01 all cloud; the two quarters' same-season baselines (history: the 2019 passes)
    assert sorted(p.name for p in vdir.iterdir() if p.is_dir()) == [*CLEAR, "baseline", "change", "watches"]
    assert sorted(p.name for p in (vdir / "baseline").iterdir()) == ["2020-Q2", "2020-Q3"]
    tifs = _products(vdir, "*.tif")
    assert len(tifs) >= 12
    for t in tifs:
        ok, errors, _ = is_valid_cog(t)
        assert ok, (t, errors)
        with rasterio.open(t) as src:
            assert src.crs.to_epsg() == 32735 and src.nodata is not None and src.res == (10.0, 10.0)
            assert "DEMO" not in src.tags()
    for d in CLEAR:
        with rasterio.open(vdir / d / "ndvi.tif") as src:
            assert src.tags()["ITEM_ID"] == site2_item(d)["id"]
    for p in _products(vdir, "*.geojson"):
        _check_geojson(p)


def test_stac_nightly_finds_the_planted_numbers(plain):
    _, out, _ = plain
    vdir = out / VID
    d0, d1 = (vdir / d for d in CLEAR)
    # NDVI from the DNs (one multiplicative noise field for every band: ratios are exact)
    assert _at(d0 / "ndvi.tif", 50, 50) == pytest.approx((3500 - 350) / (3500 + 350), abs=2e-3)  # vegetation
    assert _at(d0 / "ndvi.tif", 50, 120) == pytest.approx((2200 - 1600) / (2200 + 1600), abs=2e-3)  # bare soil
    assert _at(d0 / "ndvi.tif", 70, 75) == pytest.approx((200 - 450) / (200 + 450), abs=2e-3)  # clear pond
    assert _at(d1 / "ndvi.tif", 105, 70) == pytest.approx((2200 - 1600) / (2200 + 1600), abs=2e-3)  # cleared
    assert _at(d0 / "water_mask.tif", 70, 75) == 1 and _at(d0 / "water_mask.tif", 50, 50) == 0
    for d in CLEAR:
        ind = json.loads((vdir / d / "indicators.json").read_text())
        assert ind["valid_fraction"] == pytest.approx(1.0)
        assert ind["n_water_bodies"] == 2 and ind["n_black_odorous_suspects"] == 1
        bodies = {f["properties"]["status"]: f["properties"]["area_m2"]
                  for f in _check_geojson(vdir / d / "water_bodies.geojson")["features"]}
        # the clear pond; the dark pond is the black-odorous suspect (its 20 m SWIR edges mix
        # with the land around, so the water mask makes it smaller than drawn; the screening
        # joins the edge pixels the 10 m NIR says are water back to it: share_mixed)
        props = [f["properties"] for f in _check_geojson(vdir / d / "water_bodies.geojson")["features"]]
        assert bodies["ordinary"] == pytest.approx(CLEAR_POND_M2[d], rel=0.05), d
        assert 0.5 * DARK_POND_M2 <= bodies["suspect_black_odorous"] <= 1.05 * DARK_POND_M2
        # the water mask's area is the bodies' area less the mixed pixels the screening added
        in_mask = sum(p["area_m2"] * (1 - p["share_mixed"]) for p in props)
        assert ind["water_area_m2"] == pytest.approx(in_mask, rel=0.02)
        sus = _check_geojson(vdir / d / "black_odorous_suspects.geojson")["features"]
        assert [f["properties"]["area_m2"] for f in sus] == [bodies["suspect_black_odorous"]]
    # against the same season of 2019: June as then; July's clear-sky composite (one clear pass)
    # has lost the cleared block and the strip of vegetation the growing pond drowned
    assert sorted(p.name for p in (vdir / "change").iterdir() if p.is_dir()) == \
        ["2020-06-01_2020-06-30", "2020-07-01_2020-07-31"]
    june = vdir / "change" / "2020-06-01_2020-06-30"
    for kind in ("vegetation_loss", "vegetation_gain", "water_gain", "water_loss"):
        assert not _check_geojson(june / f"{kind}.geojson")["features"], kind
    ch = vdir / "change" / "2020-07-01_2020-07-31"
    feats = _check_geojson(ch / "vegetation_loss.geojson")["features"]
    loss = sorted(f["properties"]["area_m2"] for f in feats)
    assert loss == [pytest.approx(POND_GROWTH_M2, rel=0.1), pytest.approx(CLEARED_M2, rel=0.05)]
    # one clear pass since: candidates, first seen on 07-16 (the alerts' date)
    assert {(f["properties"]["status"], f["properties"]["first_date"]) for f in feats} == {("candidate", "2020-07-16")}
    assert _area(_check_geojson(ch / "water_gain.geojson")) == pytest.approx(POND_GROWTH_M2, rel=0.15)
    assert not _check_geojson(ch / "vegetation_gain.geojson")["features"]
    assert not _check_geojson(ch / "water_loss.geojson")["features"]
    alerts = _check_geojson(vdir / "watches" / "vegetation_loss_alerts.geojson")["features"]
    assert sorted(f["properties"]["area_m2"] for f in alerts) == loss


def test_stac_manifest_state_and_saved_items(plain, world):
    _, out, _ = plain
    vdir = out / VID
    m = json.loads((vdir / CLEAR[0] / "manifest.json").read_text())
    assert m["inputs"]["item_ids"] == [site2_item(CLEAR[0])["id"]] and m["inputs"]["demo"] is False
    assert m["source"]["kind"] == "stac" and m["source"]["collection"] == "sentinel-2-l2a"
    assert m["source"]["resampling"] == {"reflectance": "bilinear", "quality": "nearest"}
    for name, meta in m["outputs"].items():
        assert sha256_file(vdir / CLEAR[0] / name) == meta["sha256"]
    saved = sorted(p.stem for p in (out / "_stac_items").glob("*.json"))
    assert saved == sorted(site2_item(d)["id"] for d in [*HISTORY, *CLEAR])  # the baselines' history too
    st = json.loads((out / "state.json").read_text())["villages"][VID]
    assert st["last_status"] == "ok" and st["last_success"] == CLEAR[1]
    if (out / "catalog.json").exists():
        json.loads((out / "catalog.json").read_text())


def test_stac_through_prefect_gives_the_same_bytes(plain, world, tmp_path, prefect_server):
    from aoi.registry import load_villages
    from flows.params import Params
    from flows.runner import run_prefect
    from sensing.stac import StacSource

    _, out_plain, _ = plain
    items, registry = world
    villages = load_villages(registry)
    with ReplayServer(need(CASSETTES / ES_ROOT)) as srv:
        srv.add_route("POST", f"{ES}/search", search_page(items))
        src = StacSource(url=srv.url_for(ES), items_dir=tmp_path / "_stac_items")
        runs = run_prefect(villages, src, tmp_path, dt.date(2020, 6, 1), dt.date(2020, 7, 31), Params())
    assert [(r.village_id, r.status, r.dates) for r in runs] == [(VID, "ok", CLEAR)], runs
    tifs = _products(tmp_path / VID, "*.tif")
    assert tifs
    for p in tifs:
        assert sha256_file(p) == sha256_file(out_plain / p.relative_to(tmp_path)), p


# --------------------------------------------------------------------------- files source, real rasters
RGBN = REALDATA / "rgbn_5m_river_village" / "rgbn.tif"
NAIP = REALDATA / "naip_lakes_north_dakota"


def _files_registry(tmp_path: Path, raster: Path, vid: str, shrink: float) -> Path:
    v = raster_village(raster, shrink=shrink, vid=vid)
    return write_registry(tmp_path / "villages.geojson", [village_feature(vid, v.geometry)])


def _files_night(tmp_path: Path, imagery: Path, vid: str, shrink: float, window: tuple[str, str], *extra: str) -> Path:
    """``villagewatch nightly --source files`` on real rasters (RGBN bands) for a one-village
    registry cut from ``imagery``; returns the output folder."""
    raster = imagery if imagery.is_file() else sorted(imagery.glob("*.tif"))[0]
    reg = _files_registry(tmp_path, raster, vid, shrink)
    out = tmp_path / "out"
    rc = main(["nightly", "--source", "files", "--imagery", str(imagery), "--band-map", "red,green,blue,nir",
               *extra, "--registry", str(reg), "--out", str(out), "--start", window[0], "--end", window[1],
               "--no-prefect"])
    assert rc == 0
    return out


def test_files_rgbn_village_scene_end_to_end(tmp_path):
    need(RGBN)
    out = _files_night(tmp_path, RGBN, "river-village", 0.25, ("2024-01-01", "2024-12-31"), "--date", "2024-06-01")
    folder = out / "river-village" / "2024-06-01"
    tifs = _products(folder, "*.tif")
    # 8-bit without a scale: relative values; NDWI is not bimodal there and its fixed 0 assumes
    # reflectance, so no water mask (issue #11), the reason in the manifest
    assert "ndvi.tif" in {p.name for p in tifs} and "water_mask.tif" not in {p.name for p in tifs}
    for t in tifs:
        assert is_valid_cog(t)[0], t
        with rasterio.open(t) as src:
            assert src.crs.to_epsg() == 32618 and src.res == (5.0, 5.0)
    for p in _products(folder, "*.geojson"):
        _check_geojson(p)
    m = json.loads((folder / "manifest.json").read_text())
    assert m["source"]["resampling"] == "grid" and m["source"]["method"].startswith("auto")
    assert m["source"]["band_map"] == ["red", "green", "blue", "nir"] and m["source"]["date"] == "2024-06-01"
    assert m["inputs"]["item_ids"] == ["rgbn"]
    assert "needs calibrated reflectance" in m["skipped_products"]["water_mask"]
    # NDVI equals the formula on the file's own 8-bit values, bilinearly interpolated at the
    # product pixel's centre (the village grid is snapped to 5 m; the file's origin is 3 m/2 m
    # off it, so no product pixel coincides with a file pixel)
    with rasterio.open(RGBN) as src, rasterio.open(folder / "ndvi.tif") as nd:
        vals = nd.read(1)
        for fx, fy in ((0.5, 0.5), (0.35, 0.6), (0.6, 0.4)):
            x = src.bounds.left + fx * (src.bounds.right - src.bounds.left)
            y = src.bounds.bottom + fy * (src.bounds.top - src.bounds.bottom)
            r2, c2 = nd.index(x, y)
            cx, cy = nd.xy(r2, c2)
            rf, cf = (src.bounds.top - cy) / src.res[1] - 0.5, (cx - src.bounds.left) / src.res[0] - 0.5
            r0, c0 = int(np.floor(rf)), int(np.floor(cf))
            dr, dc = rf - r0, cf - c0
            w = np.array([[(1 - dr) * (1 - dc), (1 - dr) * dc], [dr * (1 - dc), dr * dc]])
            red, nir = ((src.read(b, window=((r0, r0 + 2), (c0, c0 + 2))).astype(float) * w).sum() for b in (1, 4))
            assert float(vals[r2, c2]) == pytest.approx((nir - red) / (nir + red), abs=1e-3), (fx, fy)


def test_files_naip_three_dates_native_resampling_end_to_end(tmp_path):
    need(NAIP)
    out = _files_night(tmp_path, NAIP, "lakes-village", 0.3, ("2009-01-01", "2020-12-31"), "--resampling", "native")
    vdir = out / "lakes-village"
    dates = ["2009-08-18", "2015-09-26", "2019-09-04"]
    # four years apart: no date has the same season of the three years before it to compare with
    # (the baseline), so no change against the same season is claimed (the validation scores the
    # NAIP change as the year-over-year water change: flows.evaluation.realchange)
    assert sorted(p.name for p in vdir.iterdir() if p.is_dir()) == dates
    for t in _products(vdir, "*.tif"):
        assert is_valid_cog(t)[0], t
        with rasterio.open(t) as src:
            assert src.crs.to_epsg() == 26914  # native: the files' own CRS and pixels
    for p in _products(vdir, "*.geojson"):
        _check_geojson(p)
    m = json.loads((vdir / dates[0] / "manifest.json").read_text())
    assert m["source"]["resampling"] == "native"
    # prairie potholes: every date finds open water
    for d in dates:
        assert json.loads((vdir / d / "indicators.json").read_text())["water_area_m2"] > 10_000
