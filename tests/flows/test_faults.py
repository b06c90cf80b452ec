"""Faults injected on the loopback STAC replay server and the asset HTTP server (and on disk),
run through the nightly chain: retries where retrying helps (429 with Retry-After, 5xx,
timeouts, truncated JSON, an asset connection dropped mid-read), a clear per-village status
otherwise (an asset truncated on disk, an AOI outside every scene, a corrupt GeoTIFF), an
all-cloud date dropped with a log line, and the other villages always finish."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from pathlib import Path

import pytest
import rasterio
from shapely.geometry import Point

from flows import state
from flows.params import Params
from flows.products.rasters import is_valid_cog
from sensing.http import clear_gdal_http_cache
from sensing.stac import StacSource

from support.flow_items import DATES, s2_items, search_page, village_geometry, window_corner, write_item_assets
from support.stac_fixtures import CASSETTES, REALDATA, need, raster_village, village
from support.asset_http import AssetServer
from support.stac_replay import ReplayServer

ES = "https://earth-search.aws.element84.com/v1"
ES_ROOT = "TestCLISearch.test_filter[inprocess].yaml"
START, END = dt.date(2020, 6, 1), dt.date(2020, 7, 31)
CLEAR_DATES = ["2020-06-16", "2020-07-16"]


@pytest.fixture(autouse=True)
def _short_read_retry(monkeypatch):
    import flows.retry

    monkeypatch.setattr(flows.retry, "READ_RETRY_DELAY_S", 0.1)


@pytest.fixture(scope="module")
def cogs(tmp_path_factory):
    """The three real 35MNM items (clear, all-cloud, changed) on local COGs."""
    return s2_items(tmp_path_factory.mktemp("cogs"))


def _villages():
    north = village(village_geometry(rows=(45, 85)), vid="north-village")
    south = village(village_geometry(rows=(95, 135)), vid="south-village")
    far = village(Point(113.3, 23.1).buffer(0.003), vid="far-village")  # Guangzhou: no scene there
    return north, south, far


def _source(srv: ReplayServer, **kw) -> StacSource:
    return StacSource(url=srv.url_for(ES), **{"timeout": 1.0, "max_retries": 2, "backoff": 0.05,
                                              "bands": ("blue", "green", "red", "nir", "swir16"), **kw})


def _replay(items) -> ReplayServer:
    srv = ReplayServer(need(CASSETTES / ES_ROOT))
    srv.add_route("POST", f"{ES}/search", search_page(items))
    return srv


def _run(villages, source, out):
    """Each village in turn through ``run_village``, what ``run_plain`` calls per village (without
    its dask.distributed cluster, whose per-compute overhead triples these small runs)."""
    from flows.execute_plain import run_village

    return {v.id: run_village(source, v, START, END, out, Params()) for v in villages}


def _searches(srv):
    return [r for r in srv.requests if r.method == "POST" and r.path.endswith("/search")]


def _valid_products(out: Path, vid: str, dates) -> None:
    for d in dates:
        folder = out / vid / d
        tifs = sorted(folder.glob("*.tif"))
        assert {"ndvi.tif", "water_mask.tif"} <= {p.name for p in tifs}, folder
        for t in tifs:
            assert is_valid_cog(t)[0], t
        json.loads((folder / "water_bodies.geojson").read_text())
        json.loads((folder / "manifest.json").read_text())


# --------------------------------------------------------------------------- search faults
def test_search_faults_retried_cloudy_date_dropped_far_village_no_data(tmp_path, cogs, caplog):
    """Searches answered 429 (Retry-After: 1), 500, a read timeout and a truncated JSON body
    in turn, then normally; far-village lies outside every scene."""
    north, _, far = _villages()
    with _replay(cogs) as srv:
        srv.fail_next(1, status=429, retry_after=1, path_contains="search")
        srv.fail_next(1, status=500, path_contains="search")
        srv.slow_next(1, delay=1.6, path_contains="search")
        srv.truncate_next(1, path_contains="search")
        with caplog.at_level(logging.INFO):
            runs = _run([north, far], _source(srv), tmp_path)
        assert srv.pending_faults == 0
        s = _searches(srv)
    assert {k: r.status for k, r in runs.items()} == {"north-village": "ok", "far-village": "no-data"}, \
        {k: r.reason for k, r in runs.items()}
    assert runs["north-village"].dates == CLEAR_DATES
    assert "village north-village: 2020-07-01 dropped: valid fraction 0.00 over the AOI < 0.20" in caplog.text
    assert not (tmp_path / "north-village" / "2020-07-01").exists()
    _valid_products(tmp_path, "north-village", CLEAR_DATES)
    assert "no sentinel-2-l2a items" in runs["far-village"].reason and "far-village" in runs["far-village"].reason
    kinds = [(f.status or ("timeout" if f.delay else "truncated")) if f else 200 for f in (r.fault for r in s)]
    assert kinds[:5] == [429, 500, "timeout", "truncated", 200]
    assert s[1].at - s[0].at >= 0.9, "Retry-After: 1 was not honoured"
    # 429 and 500 used the source's two HTTP retries, so the timeout made north's load fail; flows
    # retried the load, whose truncated answer the source retried itself
    assert "north-village load: read failed (SourceUnavailableError" in caplog.text
    assert "failed (JSONDecodeError" in caplog.text and "retry 1/1" in caplog.text


def test_persistent_503_fails_one_village_the_other_finishes_and_next_night_completes(tmp_path, cogs):
    north, south, _ = _villages()
    with _replay(cogs) as srv:
        # 3 tries in the source (1 + 2 retries) x 2 loads in flows (1 + 1 read retry)
        srv.fail_next(6, status=503, path_contains="search")
        runs = _run([north, south], _source(srv), tmp_path)
        state.record(tmp_path, runs.values())
        # + south's window and its two quarters' history (the same-season baselines of 2020-Q2, -Q3)
        assert len(_searches(srv)) == 6 + 1 + 2
        assert runs["north-village"].status == "failed"
        reason = runs["north-village"].reason
        assert "SourceUnavailableError" in reason and "HTTP 503" in reason and srv.url_for(ES) in reason
        assert runs["south-village"].status == "ok" and runs["south-village"].dates == CLEAR_DATES
        st = state.statuses(tmp_path)
        assert st["north-village"]["last_status"] == "failed" and "last_success" not in st["north-village"]
        assert st["south-village"]["last_success"] == "2020-07-16"
        # the next night: the API is back; north is done, south's products are reused
        again = _run([north, south], _source(srv), tmp_path)
    assert again["north-village"].status == "ok" and again["north-village"].dates == CLEAR_DATES
    # every product set of south (two dates, their change, the watches' sets) reused, none redone
    south_sets = [p for p in (tmp_path / "south-village").rglob("*manifest*.json")
                  if not p.name.startswith("field_check")]  # field-check products: made from files, not steps
    assert again["south-village"].reused == len(south_sets) >= 3, south_sets
    _valid_products(tmp_path, "north-village", CLEAR_DATES)


# --------------------------------------------------------------------------- asset faults
def test_asset_connection_dropped_mid_read_is_retried(tmp_path, caplog):
    """Assets served over HTTP with a signed-URL query; the first B04 read drops half-way (GDAL
    sees a short read and keeps it in its /vsicurl/ cache), a B08 read answers 503 once (GDAL's
    own HTTP retry). The date is retried with the cache cleared: both villages (the second
    reads the same assets) complete with the right values."""
    north, south, _ = _villages()
    with AssetServer(tmp_path / "cogs") as assets:
        items = s2_items(tmp_path / "cogs", {d: DATES[d] for d in CLEAR_DATES},
                         href=lambda p: assets.href(p.name, "st=2020-01-01&se=2030-01-01&sig=DROPSECRET"))
        with _replay(items) as srv:
            clear_gdal_http_cache()  # nothing from earlier tests answers from memory
            assets.drop_next(1, path_contains="B04")
            assets.fail_next(1, status=503, path_contains="B08")
            with caplog.at_level(logging.WARNING):
                runs = _run([north, south], _source(srv), tmp_path / "out")
            assert assets.pending_faults == 0
            b04 = [r for r in assets.requests if "B04" in r.path and r.method == "GET"]
    assert {k: r.status for k, r in runs.items()} == {"north-village": "ok", "south-village": "ok"}, \
        {k: r.reason for k, r in runs.items()}
    # the first read of 2020-06-16's B04 is the date's, or the 2020-Q3 baseline's (June is its phenology)
    assert re.search(r"north-village (2020-06-16|baseline 2020-Q3): read failed", caplog.text) and "retry 1/1" in caplog.text
    assert "DROPSECRET" not in caplog.text
    assert len(b04) >= 3  # the dropped read, its retry, the second date
    for vid, (row, col) in (("north-village", (60, 50)), ("south-village", (125, 50))):  # vegetation
        for d in CLEAR_DATES:
            with rasterio.open(tmp_path / "out" / vid / d / "ndvi.tif") as src:
                x0, y0 = window_corner()
                r, c = src.index(x0 + (col + 0.5) * 10, y0 - (row + 0.5) * 10)
                assert float(src.read(1)[r, c]) == pytest.approx((3500 - 350) / (3500 + 350), abs=2e-3)


def test_asset_truncated_on_disk_fails_that_village_clearly_the_other_finishes(tmp_path, caplog):
    """A COG cut short on disk (its last 64-pixel tile row lost): the south village, which
    reads that tile row, fails naming the file (after one retry: a read error may be
    transient); the north village, whose pixels are intact, completes."""
    north, south, _ = _villages()
    items = [write_item_assets(tmp_path / "cogs", d, DATES[d], seed=i, blocksize=64)
             for i, d in enumerate(CLEAR_DATES)]
    b04 = Path(items[1]["assets"]["B04"]["href"])
    with rasterio.open(b04) as src:
        cut = int(src.get_tag_item("BLOCK_OFFSET_0_2", "TIFF", bidx=1))
    b04.write_bytes(b04.read_bytes()[: cut + 10])
    with _replay(items) as srv, caplog.at_level(logging.WARNING):
        runs = _run([north, south], _source(srv), tmp_path / "out")
    assert runs["north-village"].status == "ok" and runs["north-village"].dates == CLEAR_DATES
    bad = runs["south-village"]
    assert bad.status == "failed"
    assert b04.name in bad.reason and "IReadBlock failed" in bad.reason, bad.reason
    assert caplog.text.count("south-village 2020-07-16: read failed") == 1  # retried once, then reported
    _valid_products(tmp_path / "out", "south-village", ["2020-06-16"])  # the good date is kept
    assert not (tmp_path / "out" / "south-village" / "2020-07-16" / "manifest.json").exists()


# --------------------------------------------------------------------------- files source
NAIP = REALDATA / "naip_lakes_north_dakota"


def test_corrupt_geotiff_among_good_files_is_skipped_and_named(tmp_path, caplog):
    need(NAIP)
    folder = tmp_path / "flights"
    folder.mkdir()
    for f in sorted(NAIP.glob("*.tif"))[:2]:
        (folder / f.name).symlink_to(f)
    bad = folder / "m_4709963_se_14_1_20170701.tif"
    bad.write_bytes(b"II*\x00" + bytes(range(256)) * 8)  # a TIFF signature, then garbage
    from sensing.files import FilesSource

    from flows.execute_plain import run_village

    v = raster_village(folder / "m_4709963_se_14_1_20090818.tif", shrink=0.35, vid="naip-village")
    src = FilesSource(paths=folder, band_map=("red", "green", "blue", "nir"), resolution=20.0)
    with caplog.at_level(logging.WARNING):
        run = run_village(src, v, dt.date(2000, 1, 1), dt.date(2030, 1, 1), tmp_path / "out")
    assert run.status == "ok" and run.dates == ["2009-08-18", "2015-09-26"], run.reason
    assert f"skipping {bad}" in caplog.text and "not a readable GeoTIFF" in caplog.text
    m = json.loads((tmp_path / "out" / "naip-village" / "2009-08-18" / "manifest.json").read_text())
    assert str(bad) in m["skipped_files"]
    # alone, the corrupt file is a failure naming it
    only = run_village(FilesSource(paths=bad, band_map=("red", "green", "blue", "nir")), v,
                       dt.date(2000, 1, 1), dt.date(2030, 1, 1), tmp_path / "out2")
    assert only.status == "failed" and bad.name in only.reason and "ImageryFileError" in only.reason


# --------------------------------------------------------------------------- Prefect
@pytest.mark.slow
def test_prefect_retries_unreachable_search_but_not_no_data(tmp_path, cogs, prefect_server):
    from flows.runner import run_prefect

    north, _, far = _villages()
    with _replay(cogs) as srv:
        srv.fail_next(3, status=503, path_contains="search")
        t0 = time.monotonic()
        runs = {r.village_id: r for r in run_prefect([north, far], _source(srv), tmp_path, START,
                                                     dt.date(2020, 6, 30), Params())}
        took = time.monotonic() - t0
        n_search = len(_searches(srv))
    assert runs["north-village"].status == "ok" and runs["north-village"].dates == CLEAR_DATES[:1]
    assert runs["far-village"].status == "no-data"
    # 3 failed searches + one answer per village: no retry of the no-data village; + north's
    # 2020-Q2 baseline history
    assert n_search == 5 + 1
    assert took < 30
