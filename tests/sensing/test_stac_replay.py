"""StacSource against recorded Earth Search and Planetary Computer responses replayed on
127.0.0.1 (tests/stacreplay.py): items and assets as recorded, paging through ``next`` (POST
body tokens and GET query tokens), retries through injected 429/500/timeouts/broken bodies,
and clear errors for an unreachable API and an empty search."""
from __future__ import annotations

import json
import time

import pytest
from shapely.geometry import Point, shape

from sensing.errors import NoDataError, SourceUnavailableError
from sensing.http import stac_api_io
from sensing.stac import StacSource, save_item_json

from support.stac_fixtures import CASSETTES, cassette_items, need, village
from support.stac_replay import Fault, ReplayServer, closed_port_url

ES = "https://earth-search.aws.element84.com/v1"
PC = "https://planetarycomputer.microsoft.com/api/stac/v1"
ES_ROOT = "TestCLISearch.test_filter[inprocess].yaml"  # also pages 1-2 of a CQL2 search
ES_MULTI = "test_multiple_collections.yaml"
PC_ROOT = "test_fallback_strategy.yaml"  # PC landing page, landsat-c2-l2 collection and items
PC_NAIP = "TestItemSearch.test_results.yaml"  # PC POST search with body-token paging

LONGMONT = Point(-105.1019, 40.1672)  # the point the Earth Search cassette searched


@pytest.fixture
def es():
    with ReplayServer(need(CASSETTES / ES_ROOT), need(CASSETTES / ES_MULTI)) as srv:
        yield srv


def _fast(url: str, **kw) -> StacSource:
    return StacSource(url=url, **{"max_retries": 3, "backoff": 0.05, "timeout": 5.0, **kw})


def test_earth_search_items_and_assets_match_the_recording(es):
    recorded = {f["id"]: f for f in cassette_items(ES_MULTI)}
    src = _fast(es.url_for(ES), collection="sentinel-2-l2a")
    items = src.search(village(LONGMONT.buffer(0.003)), "2023-10-08", "2023-10-08")
    assert [i.id for i in items] == ["S2A_13TDE_20231008_0_L2A"]  # the Landsat item is not S2
    it = items[0]
    rec = recorded[it.id]
    assert it.assets["red"].href == rec["assets"]["red"]["href"]  # asset hosts are not rewritten
    assert it.assets["scl"].href == rec["assets"]["scl"]["href"]
    assert it.properties["earthsearch:boa_offset_applied"] is True
    search = [r for r in es.requests if r.method == "POST"]
    first = search[0].body
    assert first["collections"] == ["sentinel-2-l2a"]
    assert first["datetime"] == "2023-10-08T00:00:00Z/2023-10-08T23:59:59Z"
    assert first["query"] == {"eo:cloud_cover": {"lte": 60.0}}
    assert shape(first["intersects"]).contains(LONGMONT)
    # the recorded next link was followed with its POST body token
    assert search[1].token == "2023-10-08T17:37:26.656958Z,LC08_L2SP_033032_20231008_02_T1,landsat-c2-l2"
    assert search[1].matched == "exact"


def test_paging_through_next_finds_an_item_only_on_page_two(es):
    page1 = {f["id"] for f in cassette_items(ES_ROOT, 1)}
    page2 = {f["id"] for f in cassette_items(ES_ROOT, 2)}
    src = _fast(es.url_for(ES), collection="sentinel-2-l2a")
    items = src.search(village(Point(-39.3, -4.7).buffer(0.003)), "2025-07-31", "2025-07-31")
    assert [i.id for i in items] == ["S2B_24MVV_20250731_0_L2A"]
    assert items[0].id in page2 and items[0].id not in page1
    posts = [r for r in es.requests if r.method == "POST"]
    assert [r.matched for r in posts] == ["first-page", "exact", "end-of-recording"]


def test_planetary_computer_post_body_token_paging():
    from pystac_client import Client

    recorded = [f["id"] for f in cassette_items(PC_NAIP, 0) + cassette_items(PC_NAIP, 1)]
    with ReplayServer(need(CASSETTES / PC_ROOT), need(CASSETTES / PC_NAIP)) as srv:
        client = Client.open(srv.url_for(PC), stac_io=stac_api_io(timeout=5, max_retries=2, backoff=0.05))
        ids = [i.id for i in client.search(collections=["naip"], limit=10, max_items=20).items()]
        assert ids == recorded and len(ids) == 20
        posts = [r for r in srv.requests if r.method == "POST"]
        assert posts[1].body == {"limit": 10, "collections": ["naip"],
                                 "token": "next:naip:mt_m_4811501_se_11_060_20231117_20240103"}


def test_planetary_computer_get_query_token_paging():
    from pystac_client import Client

    recorded = [f["id"] for f in cassette_items(PC_ROOT, 2)]
    with ReplayServer(need(CASSETTES / PC_ROOT)) as srv:
        client = Client.open(srv.url_for(PC), stac_io=stac_api_io(timeout=5, max_retries=2, backoff=0.05))
        ids = [i.id for i in client.get_collection("landsat-c2-l2").get_items()]
        assert ids == recorded
        gets = [r for r in srv.requests if r.path.endswith("/items")]
        assert gets[0].query == {"collections": ["landsat-c2-l2"]}
        assert gets[1].token == "next:landsat-c2-l2:LC09_L2SR_084056_20250722_02_T1"
        assert gets[1].matched == "end-of-recording"


def test_planetary_computer_landsat_search_signing_and_saved_json(tmp_path):
    feats = cassette_items(PC_ROOT, 2)
    v = village(Point(162.9, -19.5).buffer(0.01))
    expected = sorted(f["id"] for f in feats if shape(f["geometry"]).intersects(v.geometry)
                      and f["properties"]["eo:cloud_cover"] <= 60)
    assert expected  # the village sits where recorded scenes overlap
    page = json.loads(json.dumps({"type": "FeatureCollection", "features": feats, "links": []}))

    def fake_sign(item):  # what planetary_computer.sign_inplace does to hrefs
        for a in item.assets.values():
            a.href += "?st=2025-01-01&se=2025-01-02&sp=rl&sv=2021-06-08&sr=c&sig=SECRET"

    with ReplayServer(need(CASSETTES / PC_ROOT)) as srv:
        srv.add_route("POST", f"{PC}/search", page)
        src = _fast(srv.url_for(PC), collection="landsat-c2-l2", sign=fake_sign, items_dir=tmp_path)
        items = src.search(v, "2025-07-22", "2025-07-22")
        assert sorted(i.id for i in items) == expected
        assert all("sig=SECRET" in i.assets["red"].href for i in items)
        body = [r for r in srv.requests if r.method == "POST"][0].body
        assert body["collections"] == ["landsat-c2-l2"] and body["query"] == {"eo:cloud_cover": {"lte": 60.0}}
    saved = save_item_json(items[0], tmp_path)
    text = saved.read_text()
    assert "SECRET" not in text and "sig=" not in text
    assert json.loads(text)["assets"]["red"]["href"].endswith("_SR_B4.TIF")
    assert src.describe()["sign"] == "custom" and "SECRET" not in json.dumps(src.describe())


def test_presets_and_describe():
    pc = StacSource(url="planetary-computer", collection="landsat-c2-l2")
    d = pc.describe()
    assert d["url"] == PC and d["preset"] == "planetary-computer" and d["sign"] == "planetary_computer"
    assert d["resolution"] == 30.0 and d["sensor"] == "landsat-c2-l2" and "nir08" in d["bands"]
    es = StacSource()
    assert es.describe()["url"] == ES and es.describe()["resolution"] == 10.0
    assert es.describe()["collection"] == "sentinel-2-l2a" and es.describe()["sign"] == "auto"
    with pytest.raises(ValueError, match="unknown STAC collection"):
        StacSource(collection="naip")
    with pytest.raises(ValueError, match="not offered"):
        StacSource(bands=("red", "thermal"))


@pytest.mark.parametrize("fault, min_requests", [
    (Fault(status=429, retry_after=1, times=2), 3),
    (Fault(status=500, times=2), 3),
    (Fault(status=503, times=1, path_contains="search"), 2),
    (Fault(delay=1.5, times=1), 2),  # read timeout 0.5 s, then retried
    (Fault(truncate=True, path_contains="search"), 2),  # 200 with half a JSON body
    (Fault(drop_connection=True, path_contains="search"), 2),  # body cut, connection closed
])
def test_search_survives_injected_faults(es, fault, min_requests):
    es.inject(fault)
    src = _fast(es.url_for(ES), collection="sentinel-2-l2a", timeout=0.5)
    t0 = time.monotonic()
    items = src.search(village(LONGMONT.buffer(0.003)), "2023-10-08", "2023-10-08")
    assert [i.id for i in items] == ["S2A_13TDE_20231008_0_L2A"]
    assert es.pending_faults == 0 and len(es.requests) >= min_requests + 1
    if fault.retry_after:
        gaps = [b.at - a.at for a, b in zip(es.requests, es.requests[1:3])]
        assert min(gaps) >= 0.9, f"Retry-After: 1 not respected: {gaps}"
        assert time.monotonic() - t0 >= 1.8


def test_persistent_server_error_names_the_api(es):
    es.fail_next(20, status=503)
    url = es.url_for(ES)
    with pytest.raises(SourceUnavailableError, match="503") as e:
        _fast(url).search(village(LONGMONT.buffer(0.003)), "2023-10-08", "2023-10-08")
    assert url in str(e.value)
    assert len(es.requests) == 4  # one try + 3 retries


def test_closed_port_is_source_unavailable_naming_the_url():
    url = closed_port_url("/v1")
    with pytest.raises(SourceUnavailableError, match="unreachable") as e:
        StacSource(url=url, max_retries=1, backoff=0.01, timeout=2).search(
            village(LONGMONT.buffer(0.003)), "2023-10-08", "2023-10-08")
    assert url in str(e.value)


def test_nothing_found_is_no_data_naming_village_and_window(es):
    far = village(Point(113.3, 23.1).buffer(0.003), vid="gz-test")  # Guangzhou: no recorded item there
    with pytest.raises(NoDataError, match=r"gz-test.*2023-10-08\.\.2023-10-08"):
        _fast(es.url_for(ES), collection="sentinel-2-l2a").load(far, "2023-10-08", "2023-10-08")
