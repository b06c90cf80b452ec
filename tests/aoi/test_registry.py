"""aoi: the pilot-village registry, boundary files (GeoJSON / GeoPackage / Shapefile) and grids."""
from __future__ import annotations

import hashlib
import json
import math
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping

import aoi
from aoi import grid_for, utm_epsg
from aoi.errors import (
    BoundaryFileError,
    BoundaryOptionError,
    BoundaryRepairedWarning,
    DuplicateVillageError,
    EmptyGeometryError,
    GeometryTypeError,
    MissingCRSError,
    OutsideChinaError,
    UnknownVillageError,
    UnsafeVillageIdError,
    VillageError,
    VillagePropertyError,
)
from aoi.registry import (
    CHINA_BBOX,
    DEFAULT_REGISTRY,
    ENV_VAR,
    is_chinese_province,
    load_villages,
    parse_boundary_option,
    read_boundary,
    village_area_km2,
    village_to_feature,
    villages_to_geodataframe,
    with_boundary,
)

from support.paths import REPO  # noqa: E402

GUANGDONG_REGIONAL = {"大安村", "泮坑村", "雍陌村", "读岗村"}
GUANGDONG_DOMAIN = {"红卫联社", "总寮社区", "古一村", "红光村", "石狗村", "塘面村"}


@pytest.fixture(scope="module")
def villages():
    return load_villages()


@pytest.fixture(scope="module")
def by_id(villages):
    return {v.id: v for v in villages}


def _utm(geom, epsg=None):
    c = geom.centroid
    epsg = epsg or utm_epsg(c.x, c.y)
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return shapely.transform(geom, tr.transform, interleaved=False)


# --------------------------------------------------------------------------- the registry itself
def test_registry_is_the_repo_data_folder():
    assert DEFAULT_REGISTRY == REPO / "data" / "villages"
    files = sorted(DEFAULT_REGISTRY.glob("*.geojson"))
    assert len(files) == 11
    for f in files:  # one FeatureCollection per village, file name = id, RFC 7946 (no crs member)
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert doc["type"] == "FeatureCollection" and "crs" not in doc
        assert len(doc["features"]) == 1
        assert doc["features"][0]["properties"]["id"] == f.stem


def test_eleven_villages_of_the_two_pilot_plans(villages):
    assert len(villages) == 11
    assert [v.id for v in villages] == sorted(v.id for v in villages)
    regional = [v for v in villages if v.pilot_type == "regional-comprehensive"]
    domain = [v for v in villages if v.pilot_type == "domain-featured"]
    assert len(regional) == 5 and len(domain) == 6
    gd_regional = {v.name_zh for v in regional if v.province.startswith("广东")}
    assert gd_regional == GUANGDONG_REGIONAL
    assert {v.name_zh for v in domain} == GUANGDONG_DOMAIN
    assert all(v.province == "广东省 Guangdong" for v in domain)
    (cq,) = [v for v in regional if not v.province.startswith("广东")]
    assert (cq.id, cq.name_zh, cq.province, cq.county) == (
        "shapingba-zhongliang", "中梁镇", "重庆市 Chongqing", "沙坪坝区 Shapingba")
    assert "names no village" in cq.notes
    towns = {v.id: v.town for v in villages}
    assert towns["meijiang-sanjiao-pankeng"] == "三角镇 Sanjiao"
    assert towns["haizhu-jianghai-hongwei"] == "江海街 Jianghai"
    assert towns["shenshan-chishi-daan"] == "赤石镇 Chishi"
    assert towns["yingde-xiniu-tangmian"] == "西牛镇 Xiniu"


def test_every_village_is_approximate_plausible_and_inside_china(villages):
    w, s, e, n = CHINA_BBOX
    for v in villages:
        assert v.is_approximate and "pproximate" in v.notes, v.id
        assert v.focus and set(v.focus) <= set(aoi.FOCUS_KINDS), v.id
        assert v.geometry.geom_type == "Polygon" and v.geometry.is_valid, v.id
        area = village_area_km2(v)
        assert 1.0 <= area <= 15.0, (v.id, area)
        minx, miny, maxx, maxy = v.geometry.bounds
        assert w <= minx and maxx <= e and s <= miny and maxy <= n, v.id
        assert 8 <= len(v.geometry.exterior.coords) - 1 <= 16, v.id
        # irregular: clearly not its own bounding box (an axis-aligned rectangle fills it)
        assert v.geometry.area < 0.9 * v.geometry.envelope.area, v.id
        assert v.geometry.contains(Point(v.centre)), v.id
    # the plan text's one measured figure: Pankeng covers about 7 km2 (village reports 7.11 km2)
    pankeng = next(v for v in villages if v.id == "meijiang-sanjiao-pankeng")
    assert village_area_km2(pankeng) == pytest.approx(7.1, abs=0.5)


def test_known_locations(by_id):
    """Centres within ~0.1 degree of independently known places."""
    known = {  # (lon, lat) of well-known nearby places
        "meijiang-sanjiao-pankeng": (116.12, 24.27),   # Meizhou railway station, Pankeng village
        "haizhu-jianghai-hongwei": (113.35, 23.07),    # Haizhu National Wetland Park
        "zhongshan-sanxiang-yongmo": (113.43, 22.35),  # Sanxiang town, 113 26' E 22 21' N
        "shapingba-zhongliang": (106.40, 29.57),       # Geleshan, southern end of Zhongliang Mountain
    }
    for vid, (lon, lat) in known.items():
        c = by_id[vid].geometry.centroid
        assert math.hypot(c.x - lon, c.y - lat) < 0.1, vid
    # Xiniu town lies within 113 00'-113 12' E, 24 08'-24 14' N (gazetteer)
    c = by_id["yingde-xiniu-tangmian"].geometry.centroid
    assert 113.0 <= c.x <= 113.2 and 24.13 <= c.y <= 24.24


def test_grid_for_utm_zone_snapping_and_cover(by_id):
    expected = {"meijiang-sanjiao-pankeng": "EPSG:32650", "shapingba-zhongliang": "EPSG:32648",
                "haizhu-jianghai-hongwei": "EPSG:32649", "shenshan-chishi-daan": "EPSG:32650"}
    for vid, crs in expected.items():
        v = by_id[vid]
        for res in (10.0, 30.0, 0.5):
            g = grid_for(v, res, buffer_m=200.0)
            assert g.crs == crs
            left, bottom, right, top = g.bounds
            for b in (left, bottom, right, top):
                assert b / res == pytest.approx(round(b / res), abs=1e-9)
            local = _utm(v.geometry, int(crs.split(":")[1]))
            assert box(left, bottom, right, top).contains(local.buffer(200.0))
            # snapped outward by less than one pixel beyond the buffer
            lx, ly, ux, uy = local.buffer(200.0).bounds
            assert 0 <= lx - left < res and 0 <= ly - bottom < res and 0 <= right - ux < res and 0 <= top - uy < res
            assert (g.width, g.height) == (round((right - left) / res), round((top - bottom) / res))


def test_ids_filter_and_unknown_ids(villages):
    picked = load_villages(ids=["shapingba-zhongliang", "meijiang-sanjiao-pankeng"])
    assert [v.id for v in picked] == ["meijiang-sanjiao-pankeng", "shapingba-zhongliang"]
    with pytest.raises(UnknownVillageError) as err:
        load_villages(ids=["meijiang-sanjiao-pankeng", "atlantis"])
    msg = str(err.value)
    assert "atlantis" in msg and all(v.id in msg for v in villages)


def test_env_var_overrides_default_registry(tmp_path, monkeypatch):
    _write(tmp_path / "reg" / "only.geojson", [_feature("only-one")])
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "reg"))
    assert [v.id for v in load_villages()] == ["only-one"]
    monkeypatch.delenv(ENV_VAR)
    assert len(load_villages()) == 11


def test_is_chinese_province():
    assert is_chinese_province("广东省 Guangdong") and is_chinese_province("Guangdong")
    assert is_chinese_province("重庆市") and is_chinese_province("chongqing")
    assert not is_chinese_province("test") and not is_chinese_province("Bavaria")


# --------------------------------------------------------------------------- bad registry files
PANKENG_BOX = box(116.12, 24.25, 116.14, 24.27)


def _feature(vid="test-village", geometry=PANKENG_BOX, **props):
    p = {"id": vid, "name_zh": "测试村", "name_en": "Ceshi", "province": "广东省 Guangdong",
         "county": "梅江区 Meijiang", "town": "三角镇 Sanjiao", "pilot_type": "domain-featured",
         "focus": ["water", "vegetation"]}
    p.update(props)
    gj = geometry if isinstance(geometry, (dict, type(None))) else mapping(geometry)
    return {"type": "Feature", "properties": p, "geometry": gj}


def _write(path: Path, features, **extra) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _raises(cls, path, *needles, source=None):
    with pytest.raises(cls) as err:
        load_villages(source if source is not None else path)
    msg = str(err.value)
    assert path.name in msg, msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_bowtie_is_repaired_with_a_warning(tmp_path):
    bowtie = Polygon([(116.12, 24.25), (116.14, 24.27), (116.14, 24.25), (116.12, 24.27), (116.12, 24.25)])
    assert not bowtie.is_valid
    f = _write(tmp_path / "bow.geojson", [_feature("ok-one"), _feature("bow-tie", bowtie)])
    with pytest.warns(BoundaryRepairedWarning) as rec:
        vs = load_villages(f)
    msg = str(rec[0].message)
    assert "bow.geojson" in msg and "feature 1" in msg and "'bow-tie'" in msg and "Self-intersection" in msg
    v = next(v for v in vs if v.id == "bow-tie")
    assert v.geometry.is_valid and v.geometry.geom_type == "MultiPolygon" and len(v.geometry.geoms) == 2
    # two triangles, each a quarter of the 0.02 x 0.02 degree box
    assert v.geometry.area == pytest.approx(0.5 * 0.02 * 0.02, rel=1e-9)


@pytest.mark.parametrize("geometry", [None, {"type": "Polygon", "coordinates": []},
                                      {"type": "MultiPolygon", "coordinates": []}])
def test_empty_geometry(tmp_path, geometry):
    f = _write(tmp_path / "empty.geojson", [_feature("fine"), _feature("no-shape", geometry)])
    _raises(EmptyGeometryError, f, "feature 1", "'no-shape'", "empty")


def test_empty_feature_collection(tmp_path):
    _raises(EmptyGeometryError, _write(tmp_path / "none.geojson", []), "no features")


@pytest.mark.parametrize("geometry,kind", [(Point(116.13, 24.26), "Point"),
                                           ({"type": "LineString", "coordinates": [[116.1, 24.2], [116.2, 24.3]]},
                                            "LineString")])
def test_point_or_line_geometry(tmp_path, geometry, kind):
    f = _write(tmp_path / "pt.geojson", [_feature("a-point", geometry)])
    _raises(GeometryTypeError, f, "feature 0", "'a-point'", kind, "Polygon or MultiPolygon")


def test_coordinates_in_europe_for_a_chinese_village(tmp_path):
    paris = box(2.30, 48.84, 2.36, 48.88)
    f = _write(tmp_path / "eu.geojson", [_feature("lost-village", paris)])
    _raises(OutsideChinaError, f, "feature 0", "'lost-village'", "CHINA_BBOX", "lat 48.84")
    # a village of another country may lie there (test fixtures use province 'test')
    g = _write(tmp_path / "fr" / "eu.geojson", [_feature("paris-test", paris, province="test")])
    assert load_villages(g)[0].geometry.equals(paris)


def test_projected_coordinates_in_geojson(tmp_path):
    utm = box(410000, 2682000, 413000, 2685000)  # Pankeng in EPSG:32650, written as if lon/lat
    f = _write(tmp_path / "proj.geojson", [_feature("projected", utm)])
    _raises(OutsideChinaError, f, "not longitude/latitude", "RFC 7946")
    g = _write(tmp_path / "x" / "proj.geojson", [_feature("projected", utm, province="test")])
    _raises(BoundaryFileError, g, "not longitude/latitude")


def test_legacy_crs_member_is_honoured(tmp_path):
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    merc = shapely.transform(PANKENG_BOX, tr.transform, interleaved=False)
    f = _write(tmp_path / "legacy.geojson", [_feature("legacy", merc)],
               crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}})
    v = load_villages(f)[0]
    assert v.geometry.equals_exact(PANKENG_BOX, tolerance=1e-9)
    g = _write(tmp_path / "x" / "legacy.geojson", [_feature("legacy")],
               crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    assert load_villages(g)[0].geometry.equals(PANKENG_BOX)


def test_duplicate_id_across_two_files(tmp_path):
    _write(tmp_path / "reg" / "a.geojson", [_feature("twin")])
    _write(tmp_path / "reg" / "b.geojson", [_feature("other"), _feature("twin")])
    with pytest.raises(DuplicateVillageError) as err:
        load_villages(tmp_path / "reg")
    msg = str(err.value)
    assert "a.geojson, feature 0" in msg and "b.geojson, feature 1" in msg and "'twin'" in msg
    # the same through a list of files
    with pytest.raises(DuplicateVillageError):
        load_villages([tmp_path / "reg" / "b.geojson", tmp_path / "reg" / "a.geojson"])


@pytest.mark.parametrize("bad", ["../../etc", "a/b", "Pankeng", "with space", "..", ""])
def test_unsafe_id(tmp_path, bad):
    f = _write(tmp_path / "unsafe.geojson", [_feature(bad)])
    cls = VillagePropertyError if bad == "" else UnsafeVillageIdError
    msg = _raises(cls, f, "feature 0")
    if bad:
        assert repr(bad) in msg


def test_missing_properties_bad_pilot_type_and_focus(tmp_path):
    feat = _feature("incomplete")
    del feat["properties"]["name_zh"], feat["properties"]["town"]
    _raises(VillagePropertyError, _write(tmp_path / "miss.geojson", [feat]),
            "'incomplete'", "missing required properties", "name_zh", "town")
    _raises(VillagePropertyError, _write(tmp_path / "pt.geojson", [_feature("p", pilot_type="pilot")]),
            "'pilot'", "regional-comprehensive")
    _raises(VillagePropertyError, _write(tmp_path / "fo.geojson", [_feature("f", focus=["water", "smog"])]),
            "smog", "black_odorous")
    noprops = {"type": "Feature", "properties": None, "geometry": mapping(PANKENG_BOX)}
    _raises(VillagePropertyError, _write(tmp_path / "np.geojson", [noprops]), "feature 0", "no properties")


def test_unreadable_files(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    _raises(BoundaryFileError, bad, "not valid JSON", "line 1")
    geom = tmp_path / "geom.geojson"
    geom.write_text(json.dumps({"type": "Polygon", "coordinates": []}), encoding="utf-8")
    _raises(BoundaryFileError, geom, "FeatureCollection or Feature", "'Polygon'")
    with pytest.raises(BoundaryFileError, match="no such"):
        load_villages(tmp_path / "nowhere")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(BoundaryFileError, match=r"no \*\.geojson"):
        load_villages(tmp_path / "emptydir")


def test_all_errors_are_village_errors():
    for cls in (BoundaryFileError, DuplicateVillageError, EmptyGeometryError, GeometryTypeError, MissingCRSError,
                OutsideChinaError, UnknownVillageError, UnsafeVillageIdError, VillagePropertyError,
                BoundaryOptionError):
        assert issubclass(cls, VillageError) and issubclass(cls, ValueError)
    assert issubclass(BoundaryRepairedWarning, UserWarning)


# --------------------------------------------------------------------------- boundary files in any CRS
def _local_polygon(epsg: int, lon: float, lat: float) -> Polygon:
    """An irregular ~4 km2 polygon around (lon, lat) written in ``epsg`` coordinates."""
    x0, y0 = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    th = np.linspace(0, 2 * np.pi, 11, endpoint=False)
    r = 1100 * (1 + 0.2 * np.sin(3 * th))
    return Polygon(zip(x0 + 1.3 * r * np.cos(th), y0 + r * np.sin(th) / 1.3))


def test_no_crs_geopackage_and_shapefile(tmp_path):
    poly = _local_polygon(32650, 116.13, 24.26)
    gdf = gpd.GeoDataFrame({"id": ["x"]}, geometry=[poly], crs=None)
    for name in ("nocrs.gpkg", "nocrs.shp"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf.to_file(tmp_path / name, engine="pyogrio")
        with pytest.raises(MissingCRSError) as err:
            read_boundary(tmp_path / name)
        assert name in str(err.value) and "no coordinate reference system" in str(err.value)
    assert ".prj" in str(err.value)
    # a registry GeoPackage without CRS is refused the same way
    with pytest.raises(MissingCRSError, match="nocrs.gpkg"):
        load_villages(tmp_path / "nocrs.gpkg")


def test_read_boundary_geopackage_in_web_mercator(tmp_path):
    poly = _local_polygon(3857, 116.13, 24.26)
    gpd.GeoDataFrame({"name": ["official"]}, geometry=[poly], crs="EPSG:3857").to_file(
        tmp_path / "pankeng.gpkg", engine="pyogrio")
    got = read_boundary(tmp_path / "pankeng.gpkg")
    assert got.geom_type == "Polygon" and got.is_valid
    minx, miny, maxx, maxy = got.bounds
    assert 116.1 < minx < maxx < 116.16 and 24.23 < miny < maxy < 24.29
    # same polygon: compare in the source CRS
    back = shapely.transform(got, Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform,
                             interleaved=False)
    assert back.area == pytest.approx(poly.area, rel=1e-3)
    assert back.symmetric_difference(poly).area / poly.area < 1e-6


def test_read_boundary_shapefile_in_utm(tmp_path):
    poly = _local_polygon(32648, 106.39, 29.63)
    gpd.GeoDataFrame({"id": [1]}, geometry=[poly], crs="EPSG:32648").to_file(tmp_path / "zl.shp", engine="pyogrio")
    got = read_boundary(tmp_path / "zl.shp")
    assert village_area_km2(got) == pytest.approx(poly.area / 1e6, rel=1e-3)
    assert _utm(got, 32648).symmetric_difference(poly).area / poly.area < 1e-6
    assert got.centroid.distance(Point(106.39, 29.63)) < 0.005


def test_read_boundary_selects_by_id_unions_otherwise(tmp_path):
    a = _local_polygon(32650, 116.13, 24.26)
    b = _local_polygon(32650, 116.20, 24.30)
    gpd.GeoDataFrame({"id": ["pankeng", "other"]}, geometry=[a, b], crs="EPSG:32650").to_file(
        tmp_path / "two.gpkg", engine="pyogrio")
    one = read_boundary(tmp_path / "two.gpkg", village_id="pankeng")
    assert _utm(one, 32650).area == pytest.approx(a.area, rel=1e-3)
    both = read_boundary(tmp_path / "two.gpkg")
    assert isinstance(both, MultiPolygon) and _utm(both, 32650).area == pytest.approx(a.area + b.area, rel=1e-3)
    with pytest.raises(BoundaryFileError, match=r"two.gpkg.*none of its 2 features has id 'nowhere'"):
        read_boundary(tmp_path / "two.gpkg", village_id="nowhere")
    # parcels with numeric ids: union
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[a, b], crs="EPSG:32650").to_file(
        tmp_path / "parcels.gpkg", engine="pyogrio")
    assert read_boundary(tmp_path / "parcels.gpkg", village_id="pankeng").equals(both)


def test_read_boundary_multi_layer_and_bad_features(tmp_path):
    a = _local_polygon(32650, 116.13, 24.26)
    gpkg = tmp_path / "layers.gpkg"
    gpd.GeoDataFrame(geometry=[a], crs="EPSG:32650").to_file(gpkg, layer="village", engine="pyogrio")
    gpd.GeoDataFrame(geometry=[Point(a.centroid)], crs="EPSG:32650").to_file(gpkg, layer="wells", engine="pyogrio")
    with pytest.raises(BoundaryFileError, match=r"layers.gpkg.*2 layers.*village.*wells"):
        read_boundary(gpkg)
    assert _utm(read_boundary(gpkg, layer="village"), 32650).area == pytest.approx(a.area, rel=1e-3)
    with pytest.raises(GeometryTypeError, match=r"layers.gpkg, feature 0.*Point"):
        read_boundary(gpkg, layer="wells")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a geopackage")
    with pytest.raises(BoundaryFileError, match="junk.gpkg.*cannot be read"):
        read_boundary(junk)
    with pytest.raises(BoundaryFileError, match="no such boundary file"):
        read_boundary(tmp_path / "missing.shp")


def test_with_boundary_swaps_geometry_and_source(tmp_path, by_id):
    v = by_id["meijiang-sanjiao-pankeng"]
    poly = _local_polygon(3857, 116.13, 24.26)
    path = tmp_path / "pankeng_official.gpkg"
    gpd.GeoDataFrame({"id": ["meijiang-sanjiao-pankeng"]}, geometry=[poly], crs="EPSG:3857").to_file(
        path, engine="pyogrio")
    new = with_boundary(v, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert new.boundary_source == f"file:pankeng_official.gpkg (sha256 {digest[:12]})"
    assert not new.is_approximate and v.is_approximate  # the original is untouched
    assert not new.geometry.equals(v.geometry)
    assert new.geometry.equals(read_boundary(path))
    assert (new.id, new.name_zh, new.focus, new.centre) == (v.id, v.name_zh, v.focus, v.centre)
    assert grid_for(new, 10).crs == "EPSG:32650"
    # an official file placed in Europe is refused for a Chinese village, naming village and file
    gpd.GeoDataFrame(geometry=[_local_polygon(3857, 2.35, 48.86)], crs="EPSG:3857").to_file(
        tmp_path / "paris.gpkg", engine="pyogrio")
    with pytest.raises(OutsideChinaError, match=r"village meijiang-sanjiao-pankeng: .*paris.gpkg.*CHINA_BBOX"):
        with_boundary(v, tmp_path / "paris.gpkg")


def test_parse_boundary_option(tmp_path):
    f = tmp_path / "b=c.geojson"
    f.write_text("{}", encoding="utf-8")
    assert parse_boundary_option(f"meijiang-sanjiao-pankeng={f}") == ("meijiang-sanjiao-pankeng", f)
    for text, needle in [("meijiang-sanjiao-pankeng", "expected ID=PATH"), ("=x.gpkg", "expected ID=PATH"),
                         ("pankeng=", "expected ID=PATH"), (f"../x={f}", "not a village id"),
                         ("pankeng=/no/such/file.gpkg", "does not exist")]:
        with pytest.raises(BoundaryOptionError, match=needle):
            parse_boundary_option(text)


def test_villages_to_geodataframe_round_trips_through_a_geopackage(villages, tmp_path):
    gdf = villages_to_geodataframe(villages)
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 11
    assert list(gdf["id"]) == [v.id for v in villages]
    for col in ("name_zh", "name_en", "province", "county", "town", "pilot_type", "focus",
                "boundary_source", "notes", "centre_lon", "centre_lat", "area_km2"):
        assert col in gdf.columns
    # areas in each village's own UTM zone, as geopandas measures them
    for geom, area in zip(gdf.geometry, gdf["area_km2"]):
        one = gpd.GeoSeries([geom], crs="EPSG:4326")
        assert area == pytest.approx(one.to_crs(one.estimate_utm_crs()).area.iloc[0] / 1e6, rel=1e-9)
    gdf.to_file(tmp_path / "registry.gpkg", engine="pyogrio")
    again = load_villages(tmp_path / "registry.gpkg")
    assert again == villages  # geometry is not compared by Village.__eq__
    for a, b in zip(again, villages):
        assert a.geometry.equals_exact(b.geometry, tolerance=1e-9) and a.centre == b.centre
    empty = villages_to_geodataframe([])
    assert len(empty) == 0 and "area_km2" in empty.columns and empty.crs.to_epsg() == 4326


# --------------------------------------------------------------------------- property test
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lon=st.floats(75.0, 134.0), lat=st.floats(19.0, 53.0),
    n=st.integers(8, 16), radius=st.floats(300.0, 3000.0), aspect=st.floats(0.4, 2.5),
    jitter=st.lists(st.floats(0.6, 1.4), min_size=16, max_size=16),
    resolution=st.sampled_from([0.5, 3.0, 10.0, 20.0, 30.0]),
)
def test_random_polygons_round_trip_and_grid_covers_them(lon, lat, n, radius, aspect, jitter, resolution):
    """A star-shaped polygon around a centre in China survives write-GeoJSON/read exactly,
    and its grid (local UTM, 200 m buffer) always covers it."""
    epsg = utm_epsg(lon, lat)
    fwd = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    inv = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    x0, y0 = fwd.transform(lon, lat)
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * np.asarray(jitter[:n])
    local = Polygon(zip(x0 + r * np.cos(th) * aspect, y0 + r * np.sin(th) / aspect))
    poly = shapely.transform(local, inv.transform, interleaved=False)
    v = aoi.Village(id="prop-test", name_zh="测试村", name_en="Ceshi", province="广东省 Guangdong",
                    county="c", town="t", pilot_type="domain-featured", focus=("water",), geometry=poly,
                    centre=(lon, lat))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "prop-test.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [village_to_feature(v)]}),
                        encoding="utf-8")
        (got,) = load_villages(path)
    assert got == v and got.geometry.equals_exact(poly, tolerance=0) and got.centre == (lon, lat)
    g = grid_for(got, resolution)
    c = got.geometry.centroid
    epsg = utm_epsg(c.x, c.y)  # the centroid's zone (the centre's, unless next to a zone edge)
    assert g.crs == f"EPSG:{epsg}"
    left, bottom, right, top = g.bounds
    assert box(left, bottom, right, top).contains(_utm(got.geometry, epsg).buffer(199.0))
