"""Hostile and degenerate input: ids and names that try to leave the output folder, huge and
zero-area boundaries, NaN/inf and wrong dtypes in bands, property tests of the index functions
and of boundary parsing, and credentials that must never reach logs, manifests or item JSON."""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box

from aoi import Village
from flows.params import Params
from flows.products.rasters import is_valid_cog, write_cog
from flows.execute_plain import run_village
from sensing.http import redact, strip_signed_query

from support.scene_source import ArraySource, arrays_for, scene_from
from support.stac_fixtures import village

PEARL = Point(113.3, 23.1)  # Guangzhou
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
UNSAFE_IDS = ["../../etc", "a/b", "/etc/passwd", "..", ".hidden", "C:\\x", "a b", "", "x" * 65, "Ünïcode"]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _forged(vid: str) -> Village:
    """A Village whose id bypassed the constructor's check (possible from Python)."""
    v = village(PEARL.buffer(0.003), vid="ok-village")
    object.__setattr__(v, "id", vid)
    return v


# --------------------------------------------------------------------------- path traversal
@pytest.mark.parametrize("vid", UNSAFE_IDS)
def test_village_refuses_unsafe_ids(vid):
    with pytest.raises(ValueError, match="not an ASCII slug"):
        village(PEARL.buffer(0.003), vid=vid)


@pytest.mark.parametrize("vid", ["../../escaped", "/tmp/escaped-abs", "a/b", ".."])
def test_flows_never_write_outside_out_even_for_a_forged_village_id(tmp_path, vid):
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    v = _forged(vid)
    bands, g = arrays_for(village(PEARL.buffer(0.003)))
    src = ArraySource(scenes={vid: scene_from(v, bands, g)})
    before = _tree(tmp_path)
    run = run_village(src, v, START, END, out)
    assert run.status == "failed"
    assert "refusing to use it as a folder name" in run.reason and repr(vid) in run.reason
    assert _tree(tmp_path) == before, "nothing written anywhere"
    assert not Path("/tmp/escaped-abs").exists()


@pytest.mark.parametrize("stream", ["../../escaped", "/tmp/escaped-stream", "a/b"])
def test_hostile_stream_names_from_a_source_are_refused(tmp_path, stream):
    """Extra streams (drone mosaics) get a sub-folder named by the source: a name that is not
    a slug fails the village instead of writing outside its folder."""
    out = tmp_path / "out"
    v = village(PEARL.buffer(0.003), vid="stream-village")
    bands, g = arrays_for(v)
    ds = scene_from(v, bands, g)
    src = ArraySource(scenes={v.id: ds.isel(time=[])}, streams={v.id: {stream: ds}})
    run = run_village(src, v, START, END, out)
    assert run.status == "failed" and "stream" in run.reason and repr(stream) in run.reason
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped-stream").exists()
    assert all(p.is_relative_to(out) for p in tmp_path.rglob("*") if p != out)


def test_hostile_stac_item_id_cannot_leave_the_items_folder(tmp_path):
    import pystac

    from sensing.stac import save_item_json

    items = tmp_path / "out" / "_stac_items"
    for bad, expected in [("../../evil", "_.._evil.json"), ("/etc/evil", "_etc_evil.json"),
                          ("..", "item.json"), ("a/../../b", "a_.._.._b.json")]:
        it = pystac.Item(id=bad, geometry=None, bbox=None, datetime=dt.datetime(2024, 1, 1), properties={})
        p = save_item_json(it, items)
        assert p.parent == items and p.name == expected, (bad, p)
        assert json.loads(p.read_text())["id"] == bad  # the JSON keeps the real id
    assert {x.name for x in tmp_path.iterdir()} == {"out"}
    assert not Path("/etc/evil.json").exists()


# --------------------------------------------------------------------------- credentials in URLs
@pytest.mark.parametrize("url, secret", [
    ("https://acc.blob.core.windows.net/c/B04.tif?st=2025-01-01&se=2025-01-02&sp=rl&sv=2021&sr=c&sig=S3CR3T%2B", "S3CR3T"),
    ("https://bucket.s3.amazonaws.com/B04.tif?X-Amz-Credential=AKIAXX&X-Amz-Signature=deadbeef", "deadbeef"),
    ("https://stac.example.org/v1?access_token=tok123", "tok123"),
    ("https://alice:hunter2@stac.example.org/v1", "hunter2"),
])
def test_redact_removes_tokens_signatures_and_passwords(url, secret):
    assert secret not in redact(url) and secret not in strip_signed_query(url)
    assert redact(url).split("?")[0].endswith(url.split("?")[0].rsplit("/", 1)[1])


def test_stac_source_describe_and_logs_never_show_url_credentials(caplog):
    from sensing.errors import SourceUnavailableError
    from sensing.stac import StacSource

    from support.stac_replay import closed_port_url

    url = closed_port_url("/v1").replace("http://", "http://alice:hunter2@") + "?access_token=tok123"
    src = StacSource(url=url, max_retries=1, backoff=0.01, timeout=1)
    assert "hunter2" not in json.dumps(src.describe()) and "tok123" not in json.dumps(src.describe())
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceUnavailableError) as e:
        src.search(village(PEARL.buffer(0.003)), "2024-01-01", "2024-01-02")
    assert "hunter2" not in str(e.value) and "tok123" not in str(e.value)
    assert "hunter2" not in caplog.text and "tok123" not in caplog.text


# --------------------------------------------------------------------------- NaN / inf in the writers
def test_cog_writer_turns_inf_into_nodata(tmp_path):
    import xarray as xr

    vals = np.array([[0.1, np.inf, -np.inf], [np.nan, 0.5, -0.2]], "float32")
    y, x = 2_700_005 - 10 * np.arange(2), 400_005 + 10 * np.arange(3)
    da = xr.DataArray(vals, dims=("y", "x"), coords={"y": y, "x": x}, name="ndvi").rio.write_crs("EPSG:32650")
    p = write_cog(da, tmp_path / "ndvi.tif")
    assert is_valid_cog(p)[0]
    with rasterio.open(p) as src:
        back = src.read(1)
        assert np.isnan(src.nodata)
    assert np.isfinite(back).sum() == 3 and not np.isinf(back).any()
    np.testing.assert_array_equal(back[np.isfinite(back)], np.array([0.1, 0.5, -0.2], "float32"))


# --------------------------------------------------------------------------- degenerate and huge boundaries
def test_zero_area_boundary_is_a_clear_failure(tmp_path):
    from shapely.geometry import Polygon

    flat = village(Polygon([(113.30, 23.10), (113.31, 23.10), (113.32, 23.10)]), vid="flat-village")
    bands, g = arrays_for(village(PEARL.buffer(0.003)))
    run = run_village(ArraySource(scenes={"flat-village": scene_from(flat, bands, g)}), flat, START, END, tmp_path)
    assert run.status == "failed" and "flat-village" in run.reason and "zero area" in run.reason
    assert not any(tmp_path.iterdir())


def test_million_km2_boundary_is_refused_before_any_imagery_is_read(tmp_path):
    import time

    huge = village(box(100.0, 20.0, 110.0, 29.0), vid="huge-village")  # ~1.0e6 km2

    class Untouchable(ArraySource):
        def load(self, *a, **k):
            raise AssertionError("the source must not be asked for a continent")

    t0 = time.monotonic()
    run = run_village(Untouchable(), huge, START, END, tmp_path)
    assert time.monotonic() - t0 < 5
    assert run.status == "failed" and "huge-village" in run.reason
    assert "km2, more than the 5,000 km2" in run.reason
    km2 = float(run.reason.split("covers ")[1].split(" km2")[0].replace(",", ""))
    assert 0.9e6 < km2 < 1.2e6
    assert not any(tmp_path.iterdir())


def test_grid_too_large_for_the_resolution_is_a_sensing_error_not_an_oom():
    from aoi import grid_for
    from sensing.errors import SensingError
    from sensing.masking import MAX_AOI_PIXELS, aoi_mask

    v = village(box(113.0, 23.0, 113.5, 23.5), vid="district")  # ~2,800 km2: fine at 10 m
    assert aoi_mask(v.geometry, grid_for(v, 10.0)).values.any()
    g = grid_for(v, 1.0)  # 1 m: ~2.8e9 pixels
    assert g.width * g.height > MAX_AOI_PIXELS
    with pytest.raises(SensingError, match="too large for this resolution"):
        aoi_mask(v.geometry, g)


# --------------------------------------------------------------------------- wrong dtypes from a source
@pytest.mark.parametrize("dtype", ["int16", "float64", "uint16"])
def test_source_breaking_the_float32_contract_fails_the_village_clearly(tmp_path, dtype):
    v = village(PEARL.buffer(0.003), vid="dtype-village")
    bands, g = arrays_for(v, dtype="float64")
    if dtype != "float64":
        bands = {k: (a * 10000).astype(dtype) for k, a in bands.items()}  # digital numbers
    ds = scene_from(v, bands, g, cast=False)
    run = run_village(ArraySource(scenes={v.id: ds}), v, START, END, tmp_path)
    assert run.status == "failed", run
    assert "breaks the Scene contract" in run.reason and f"is {dtype}, expected float32" in run.reason
    assert not (tmp_path / v.id / "2024-05-01").exists()


# --------------------------------------------------------------------------- index functions: properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

ALL_BANDS = ("blue", "green", "red", "rededge1", "nir", "swir16", "swir22")
_refl = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, width=32)
_any = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=False), st.just(0.0), st.just(np.nan))


def _scene(values: dict[str, np.ndarray]):
    import xarray as xr

    return xr.Dataset({k: (("y", "x"), v.astype("float32")) for k, v in values.items()})


def _band_arrays(elements):
    return st.fixed_dictionaries({b: arrays("float32", (3, 4), elements=elements) for b in ALL_BANDS})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_band_arrays(_refl))
def test_indices_stay_in_their_published_ranges_and_never_give_inf(values):
    import indices

    ds, skipped = indices.compute_indices(_scene(values))
    assert not skipped
    for name, spec in indices.INDICES.items():
        out = ds[name].values
        assert out.dtype == np.float32, name
        assert not np.isinf(out).any(), name
        if spec.valid_range is not None:
            lo, hi = spec.valid_range
            fin = out[np.isfinite(out)]
            assert ((fin >= lo - 1e-5) & (fin <= hi + 1e-5)).all(), (name, fin.min(), fin.max())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_band_arrays(_any))
def test_nan_in_a_band_gives_nan_never_inf(values):
    """Any float input (huge, tiny, negative, zero, NaN): NaN where a needed band is NaN or the
    denominator vanishes, finite elsewhere, never inf."""
    import indices

    ds, _ = indices.compute_indices(_scene(values))
    for name, spec in indices.INDICES.items():
        out = ds[name].values
        assert not np.isinf(out).any(), name
        need = [b if b != "nir" else "nir" for b in spec.bands]
        nan_in = np.zeros(out.shape, bool)
        for b in need:
            nan_in |= np.isnan(values[b])
        assert np.isnan(out[nan_in]).all(), name


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({b: arrays("int16", (2, 3), elements=st.integers(0, 32767)) for b in ("red", "nir")}))
def test_integer_bands_are_computed_in_float_without_overflow(values):
    """int16 digital numbers (nir + red overflows int16 above 32767) give the float answer."""
    import xarray as xr

    import indices

    ds = xr.Dataset({k: (("y", "x"), v) for k, v in values.items()})
    n, r = values["nir"].astype("float64"), values["red"].astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(n + r != 0, (n - r) / (n + r), np.nan).astype("float32")
    np.testing.assert_allclose(indices.ndvi(ds).values, expected, rtol=1e-6, equal_nan=True)


# --------------------------------------------------------------------------- signed asset URLs end to end
SAS = "st=2020-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c&sig=Zm9vYmFyU0VDUkVUdG9rZW4%3D"
TOKEN = "Zm9vYmFyU0VDUkVUdG9rZW4"


@pytest.mark.slow
def test_sas_token_never_reaches_logs_manifests_item_json_or_catalog(tmp_path, caplog):
    """A STAC run (run_plain: dask.distributed, as in production) whose signer appends an Azure
    SAS token to every asset href (as planetary_computer.sign does), with one asset read dropping
    mid-way (GDAL and odc-stac errors name the URL; distributed logs the pickled error): the
    token is used (the asset server sees it), the dropped read is retried, and the token appears
    nowhere we write or log."""
    from flows.runner import finish_run, run_plain
    from sensing.stac import StacSource

    from support.flow_items import search_page, s2_items, village_geometry
    from support.stac_fixtures import CASSETTES, need
    from support.asset_http import AssetServer
    from support.stac_replay import ReplayServer

    es = "https://earth-search.aws.element84.com/v1"
    v = village(village_geometry(), vid="signed-village")
    out = tmp_path / "out"
    with AssetServer(tmp_path / "cogs") as assets:
        items = s2_items(tmp_path / "cogs", {"2020-06-16": "clear"}, href=lambda p: assets.href(p.name))

        def sign(item):
            for a in item.assets.values():
                a.href += "?" + SAS

        with ReplayServer(need(CASSETTES / "TestCLISearch.test_filter[inprocess].yaml")) as srv:
            srv.add_route("POST", f"{es}/search", search_page(items))
            src = StacSource(url=srv.url_for(es), sign=sign, items_dir=out / "_stac_items",
                             timeout=2, max_retries=1, backoff=0.05, bands=("blue", "green", "red", "nir", "swir16"))
            assets.drop_next(1, path_contains="B03")
            with caplog.at_level(logging.DEBUG):
                runs = run_plain([v], src, out, dt.date(2020, 6, 1), dt.date(2020, 6, 30), Params())
                finish_run(out, [v], runs)
        assert runs[0].status == "ok", runs[0].reason
        assert any(TOKEN in r.query for r in assets.requests), "the signed hrefs were used"
    assert "read failed" in caplog.text  # the dropped read was logged (and retried)
    assert TOKEN not in caplog.text and "sig=Zm9v" not in caplog.text
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in written) and list((out / "_stac_items").glob("*.json"))
    for p in written:
        data = p.read_bytes()
        assert TOKEN.encode() not in data, p
    for p in (out / "_stac_items").glob("*.json"):
        for a in json.loads(p.read_text())["assets"].values():
            assert "?" not in a["href"] or "sig=" not in a["href"]


# --------------------------------------------------------------------------- boundary parsing: properties
_lonlat = st.tuples(st.floats(116.10, 116.16), st.floats(24.23, 24.29))  # around Pankeng
_junk_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12),
                         st.floats(-1e6, 1e6))
_junk_coords = st.recursive(st.one_of(_junk_number, st.text(max_size=3), st.none(), st.booleans()),
                            lambda inner: st.lists(inner, max_size=5), max_leaves=24)
_near_polygon = st.lists(_lonlat, min_size=0, max_size=8).map(
    lambda pts: [[list(p) for p in pts] + ([list(pts[0])] if pts else [])])  # one ring, closed
_geometry = st.one_of(
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": _near_polygon}),
    st.none(),
    st.fixed_dictionaries({"type": st.just("MultiPolygon"), "coordinates": st.lists(_near_polygon, max_size=3)}),
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString",
                                                     "GeometryCollection", "Bogus", ""]),
                           "coordinates": _junk_coords}),
    st.just({"type": "Polygon"}),
    st.just({"type": "GeometryCollection", "geometries": []}),
)
_VALID_PROPS = {"id": "ok-village", "name_zh": "测试村", "name_en": "Ceshi", "province": "广东省 Guangdong",
                "county": "c", "town": "t", "pilot_type": "domain-featured", "focus": ["water"]}
_fuzzed_props = st.fixed_dictionaries(
    {},
    optional={"id": st.one_of(st.sampled_from(UNSAFE_IDS), st.text(max_size=8), st.integers(), st.none()),
              "name_zh": st.one_of(st.text(max_size=4), st.none()),
              "province": st.sampled_from(["test", "", "x"]),
              "pilot_type": st.sampled_from(["regional-comprehensive", "bogus", ""]),
              "focus": st.one_of(st.lists(st.text(max_size=6), max_size=3), st.text(max_size=6), st.integers())})
_props = st.one_of(
    st.just(_VALID_PROPS),                                              # a good feature
    _fuzzed_props.map(lambda over: {**_VALID_PROPS, **over}),           # one or more bad values
    st.builds(lambda drop: {k: v for k, v in _VALID_PROPS.items() if k not in drop},  # missing ones
              st.sets(st.sampled_from(sorted(_VALID_PROPS)), min_size=1, max_size=3)),
)
_feature = st.fixed_dictionaries({"type": st.sampled_from(["Feature"] * 5 + ["feature"]),
                                  "properties": st.one_of(_props, _props, _props, st.none(), st.integers()),
                                  "geometry": _geometry})
_document = st.one_of(
    st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": st.lists(_feature, min_size=1, max_size=1)}),
    st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": st.lists(_feature, max_size=3)}),
    st.fixed_dictionaries({"type": st.sampled_from(["Feature", "Topology", "Polygon"]), "properties": _props,
                           "geometry": _geometry}),
    st.lists(st.integers(), max_size=2),
    st.just("not a feature collection"),
)


def _check_parsed_boundary(geom) -> None:
    assert geom.geom_type in ("Polygon", "MultiPolygon") and not geom.is_empty and geom.is_valid
    minx, miny, maxx, maxy = geom.bounds
    assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


@pytest.mark.filterwarnings("ignore::RuntimeWarning:pyogrio.raw")  # GDAL's own notes on the broken files drawn
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_document, raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_any_registry_file_gives_valid_villages_or_a_village_error_naming_it(doc, raw):
    """Whatever a registry or boundary file holds (malformed JSON, wrong types, junk or NaN
    coordinates, open, empty or self-intersecting rings, unsafe ids, missing properties), the
    parsers give villages with safe ids and valid finite lon/lat (Multi)Polygons, or raise a
    ``VillageError`` that names the file: never another exception."""
    import tempfile
    import warnings

    from aoi.errors import BoundaryRepairedWarning, VillageError
    from aoi.registry import load_villages, read_boundary
    from aoi.village import is_safe_id

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hostile.geojson"
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=True), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BoundaryRepairedWarning)
            try:
                villages = load_villages(path)
            except VillageError as exc:
                assert "hostile.geojson" in str(exc), exc
            else:
                for v in villages:
                    assert is_safe_id(v.id)
                    _check_parsed_boundary(v.geometry)
            try:  # an official boundary handed over with --boundary (read through OGR)
                geom = read_boundary(path, village_id="ok-village")
            except VillageError as exc:
                assert "hostile.geojson" in str(exc), exc
            else:
                _check_parsed_boundary(geom)


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(max_size=30), st.sampled_from([f"{u}=x" for u in UNSAFE_IDS]),
                      st.builds(lambda a, b: f"{a}={b}", st.text(max_size=10), st.text(max_size=10))))
def test_any_boundary_option_parses_to_a_safe_id_and_a_file_or_says_why(text):
    from aoi.errors import BoundaryOptionError
    from aoi.registry import parse_boundary_option
    from aoi.village import is_safe_id

    try:
        vid, path = parse_boundary_option(text)
    except BoundaryOptionError as exc:
        assert "--boundary" in str(exc)
    else:
        assert is_safe_id(vid) and path.is_file()


# --------------------------------------------------------------------------- broken boundary files on the command line
@pytest.mark.parametrize("kind", ["truncated-json", "point", "no-prj-shapefile", "projected-as-lonlat", "other-villages"])
def test_broken_boundary_file_on_the_command_line_stops_clearly_before_any_work(kind, tmp_path, capsys):
    """``--boundary ID=PATH`` with a file that cannot be this village's boundary: exit code 2,
    one line naming the file and what is wrong, nothing computed or written."""
    import geopandas as gpd

    from flows.cli import main

    vid = "meijiang-sanjiao-pankeng"
    pankeng = box(116.12, 24.25, 116.14, 24.27)
    if kind == "truncated-json":
        path = tmp_path / "pankeng.geojson"
        path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geom', encoding="utf-8")
        needle = "cannot be read"
    elif kind == "point":
        path = tmp_path / "pankeng.geojson"
        gpd.GeoDataFrame(geometry=[Point(116.13, 24.26)], crs="EPSG:4326").to_file(path)
        needle = "Point"
    elif kind == "no-prj-shapefile":
        path = tmp_path / "pankeng.shp"
        gpd.GeoDataFrame(geometry=[pankeng], crs="EPSG:4326").to_file(path)
        path.with_suffix(".prj").unlink()
        needle = "no coordinate reference system"
    elif kind == "projected-as-lonlat":
        path = tmp_path / "pankeng.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [[[410000, 2682000], [413000, 2682000],
                                                                         [413000, 2685000], [410000, 2682000]]]}}]}))
        needle = "not longitude/latitude"
    else:
        path = tmp_path / "county.geojson"
        gpd.GeoDataFrame({"id": ["a-village", "b-village"]}, geometry=[pankeng, pankeng.buffer(0.01)],
                         crs="EPSG:4326").to_file(path)
        needle = "none of its 2 features"
    out = tmp_path / "out"
    rc = main(["nightly", "--source", "demo", "--no-prefect", "--villages", vid, "--out", str(out),
               "--boundary", f"{vid}={path}"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("villagewatch: error:") and path.name in err and needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists() or not list(out.rglob("*.tif"))
