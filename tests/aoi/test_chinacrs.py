"""aoi.chinacrs (GCJ-02 <-> WGS 84, CGCS2000) and boundaries read in China's coordinates;
aoi.admin_codes (12-digit statistical division codes of the pilot villages).

Reference points come from independent implementations' own test vectors, not from our code:

- googollee/eviltransform (BSD-2-Clause), ``python/test.py`` (the same points in ``go/transform_test.go``),
  commit 03ba58d92dfda57f8a1635f3805483c8fc10bd77: WGS 84 and GCJ-02 of Shanghai, Shenzhen, Beijing.
- wandergis/coordtransform (MIT), ``test/app.js``, commit 606c6f3b57b6f1d60458793fea39928d2b11b637:
  ``wgs84togcj02(116.404, 39.915) = [116.41024449916938, 39.91640428150164]``.
- hujiulong/gcoord (MIT), ``test/fixtures/china-cities.json`` (commit fedbaa105f198d5afc23fec2d60c0a0df32ef663):
  23 of its city points in ``tests/data/gcj02_vectors/`` (README there; its GCJ-02 values sit a constant
  ~0.65 m from the formula, hence a 1 m tolerance for them).
"""
from __future__ import annotations

import argparse
import csv
import json
import warnings
from pathlib import Path

from support.paths import REPO

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod
from shapely.geometry import Polygon, mapping

from aoi.admin_codes import check_admin_code, county_codes
from aoi.chinacrs import (
    CGCS2000,
    gcj02_to_wgs84,
    gcj02_to_wgs84_geometry,
    out_of_china,
    parse_crs_option,
    to_cgcs2000,
    wgs84_to_gcj02,
    wgs84_to_gcj02_geometry,
)
from aoi.errors import (BoundaryCRSError, BoundaryOptionError, CRSOptionError, MissingCRSError, VillageError,
                        VillagePropertyError)
from aoi.registry import (
    load_villages,
    parse_boundary_option,
    read_boundary,
    village_to_feature,
    villages_to_geodataframe,
    with_boundary,
)

DATA = REPO / "tests" / "data" / "gcj02_vectors"
GEOD = Geod(ellps="WGS84")

#: eviltransform python/test.py TESTS: (wgsLat, wgsLng, gcjLat, gcjLng)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]
#: coordtransform test/app.js: wgs84 (lng, lat) -> gcj02 (lng, lat)
COORDTRANSFORM = [((116.404, 39.915), (116.41024449916938, 39.91640428150164))]


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _gcoord() -> dict[str, np.ndarray]:
    with open(DATA / "gcoord_china_cities.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat")} \
        | {"name": np.array([r["name"] for r in rows]), "province": np.array([r["province"] for r in rows])}


# --------------------------------------------------------------------------- the transform
@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_forward_and_inverse_match_eviltransform(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert _metres(lon, lat, glon, glat) < 0.5
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert _metres(back_lon, back_lat, wlon, wlat) < 0.5  # eviltransform's gcj2wgs_exact target
    # the shift itself is the 50-700 m a GCJ-02 boundary is off by
    assert 100 < _metres(wlon, wlat, glon, glat) < 700


def test_forward_matches_coordtransform():
    for (wlon, wlat), (glon, glat) in COORDTRANSFORM:
        assert _metres(*wgs84_to_gcj02(wlon, wlat), glon, glat) < 0.5


def test_gcoord_city_points_within_one_metre_both_ways():
    d = _gcoord()
    assert len(d["name"]) == 23 and {"广东省", "重庆市"} <= set(d["province"])
    f_lon, f_lat = wgs84_to_gcj02(d["wgs84_lon"], d["wgs84_lat"])
    assert _metres(f_lon, f_lat, d["gcj02_lon"], d["gcj02_lat"]).max() < 1.0
    w_lon, w_lat = gcj02_to_wgs84(d["gcj02_lon"], d["gcj02_lat"])
    err = _metres(w_lon, w_lat, d["wgs84_lon"], d["wgs84_lat"])
    assert err.max() < 1.0
    assert _metres(d["wgs84_lon"], d["wgs84_lat"], d["gcj02_lon"], d["gcj02_lat"]).min() > 50


def test_inverse_is_exact_to_a_millimetre_and_vectorised():
    rng = np.random.default_rng(14)
    lon = rng.uniform(98, 124, (40, 25))
    lat = rng.uniform(19, 45, (40, 25))
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert w_lon.shape == lon.shape == g_lon.shape
    assert _metres(w_lon.ravel(), w_lat.ravel(), lon.ravel(), lat.ravel()).max() < 1e-3


def test_outside_china_gcj02_is_wgs84():
    lon = np.array([2.35, 151.21, -74.0, 139.77])  # Paris, Sydney, New York, Tokyo (east of the box)
    lat = np.array([48.86, -33.87, 40.71, 35.68])
    assert out_of_china(lon, lat).all()
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        got_lon, got_lat = fn(lon, lat)
        np.testing.assert_array_equal(got_lon, lon)
        np.testing.assert_array_equal(got_lat, lat)
    assert not out_of_china(113.91, 22.54)
    # at the box's edges (> 100 km from China's land) the offset stops: every GCJ-02 point either
    # inverts exactly or, having no WGS 84 pre-image, is returned unchanged; NaN passes through
    lon = 137.8347 + np.linspace(-0.02, 0.02, 201)
    w_lon, w_lat = gcj02_to_wgs84(lon, np.full_like(lon, 45.0))
    f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
    exact = (np.abs(f_lon - lon) < 1e-9) & (np.abs(f_lat - 45.0) < 1e-9)
    assert np.all(exact | ((w_lon == lon) & (w_lat == 45.0)))
    assert exact.sum() > 150
    assert np.isnan(gcj02_to_wgs84(np.nan, 30.0)[0])


def test_geometry_transforms_every_vertex():
    d = _gcoord()
    gd = d["province"] == "广东省"
    gcj = shapely.multipoints(np.column_stack([d["gcj02_lon"][gd], d["gcj02_lat"][gd]]))
    wgs = gcj02_to_wgs84_geometry(gcj)
    xy = shapely.get_coordinates(wgs)
    assert _metres(xy[:, 0], xy[:, 1], d["wgs84_lon"][gd], d["wgs84_lat"][gd]).max() < 1.0
    again = shapely.get_coordinates(wgs84_to_gcj02_geometry(wgs))
    np.testing.assert_allclose(again, shapely.get_coordinates(gcj), atol=1e-9)


# --------------------------------------------------------------------------- boundaries in China's CRSs
def _guangdong_polygon() -> tuple[Polygon, Polygon]:
    """A polygon through gcoord's Guangdong city points, in GCJ-02 and (truth) in WGS 84."""
    d = _gcoord()
    gd = np.flatnonzero(d["province"] == "广东省")
    w = np.column_stack([d["wgs84_lon"][gd], d["wgs84_lat"][gd]])
    order = np.argsort(np.arctan2(w[:, 1] - w[:, 1].mean(), w[:, 0] - w[:, 0].mean()))  # star-shaped ring
    gd = gd[order]
    gcj = Polygon(np.column_stack([d["gcj02_lon"][gd], d["gcj02_lat"][gd]]))
    truth = Polygon(np.column_stack([d["wgs84_lon"][gd], d["wgs84_lat"][gd]]))
    assert gcj.is_valid and truth.is_valid
    return gcj, truth


def _write_geojson(path: Path, geom, props=None) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props or {}, "geometry": mapping(geom)}]}), encoding="utf-8")
    return path


def _vertex_error_m(got, truth) -> float:
    """Largest distance (m) between matching vertices (rings normalised: a Shapefile turns them)."""
    a, b = shapely.get_coordinates(shapely.normalize(got)), shapely.get_coordinates(shapely.normalize(truth))
    assert a.shape == b.shape
    return float(_metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max())


def test_gcj02_geojson_boundary_lands_within_5_m_of_its_wgs84_truth(tmp_path):
    gcj, truth = _guangdong_polygon()
    path = _write_geojson(tmp_path / "traced_on_amap.geojson", gcj)
    got = read_boundary(path, crs="gcj02", within_china=True)
    assert _vertex_error_m(got, truth) < 5.0  # the target
    assert _vertex_error_m(got, truth) < 1.0  # what the reference points allow
    # read as the file says (RFC 7946 WGS 84), it is off by the GCJ-02 shift
    assert _vertex_error_m(read_boundary(path), truth) > 50
    # a GeoPackage labelled EPSG:4326 but traced in GCJ-02 converts the same way
    gpd.GeoDataFrame(geometry=[gcj], crs="EPSG:4326").to_file(tmp_path / "traced.gpkg", engine="pyogrio")
    assert _vertex_error_m(read_boundary(tmp_path / "traced.gpkg", crs="GCJ-02"), truth) < 1.0


def test_cgcs2000_geopackage_reads_as_any_crs(tmp_path):
    v = load_villages(ids=["meijiang-sanjiao-pankeng"])[0]
    gpkg = tmp_path / "pankeng_cgcs2000.gpkg"
    gpd.GeoDataFrame({"id": [v.id]}, geometry=[v.geometry], crs="EPSG:4490").to_file(gpkg, engine="pyogrio")
    assert gpd.read_file(gpkg).crs.to_epsg() == 4490
    got = read_boundary(gpkg, village_id=v.id, within_china=True)
    # CGCS2000 and WGS 84 lon/lat agree within decimetres; PROJ applies no shift between them
    assert _vertex_error_m(got, v.geometry) < 1.0
    assert _vertex_error_m(read_boundary(gpkg, crs="EPSG:4490"), v.geometry) < 1.0
    # the same boundary as CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548) metres
    gk = tmp_path / "pankeng_gk.gpkg"
    gpd.GeoDataFrame(geometry=[v.geometry], crs="EPSG:4326").to_crs("EPSG:4548").to_file(gk, engine="pyogrio")
    assert _vertex_error_m(read_boundary(gk), v.geometry) < 0.01
    with pytest.raises(BoundaryCRSError, match=r"pankeng_gk.gpkg.*projected CRS.*GCJ-02"):
        read_boundary(gk, crs="gcj02")
    with pytest.raises(BoundaryCRSError, match=r"pankeng_gk.gpkg.*declares the CRS.*not the"):
        read_boundary(gk, crs="EPSG:4490")


def test_crs_option_assigns_a_crs_to_files_that_have_none(tmp_path):
    v = load_villages(ids=["shapingba-zhongliang"])[0]
    gk = gpd.GeoSeries([v.geometry], crs="EPSG:4326").to_crs("EPSG:4545").iloc[0]  # CGCS2000 GK CM 108E
    shp = tmp_path / "zl.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpd.GeoDataFrame(geometry=[gk], crs=None).to_file(shp, engine="pyogrio")
    with pytest.raises(MissingCRSError):
        read_boundary(shp)
    assert _vertex_error_m(read_boundary(shp, crs="EPSG:4545"), v.geometry) < 0.01
    # a CGCS2000 GeoJSON without a 'crs' member: the option replaces the RFC 7946 default
    gj = _write_geojson(tmp_path / "zl_gk.geojson", gk)
    assert _vertex_error_m(read_boundary(gj, crs="EPSG:4545"), v.geometry) < 0.01


def test_unknown_crs_names_the_valid_values(tmp_path):
    path = _write_geojson(tmp_path / "b.geojson", _guangdong_polygon()[0])
    for bad in ("gcj03", "EPSG:999999", "", 42):
        with pytest.raises(CRSOptionError) as err:
            read_boundary(path, crs=bad)
        assert isinstance(err.value, VillageError)
        for name in ("'gcj02'", "'wgs84'", "'EPSG:4490'"):
            assert name in str(err.value)
    assert parse_crs_option("wgs84").equals(CRS.from_epsg(4326))
    assert parse_crs_option("CGCS2000").equals(CGCS2000)
    assert parse_crs_option("GCJ02") == "gcj02" and parse_crs_option(None) is None
    with pytest.raises(CRSOptionError, match="--boundary-crs 'bd09'"):
        parse_boundary_option(f"x={path}", crs="bd09")


def test_with_boundary_and_cli_boundary_crs(tmp_path):
    from flows.cli import build_parser, load_selected_villages

    v = load_villages(ids=["meijiang-sanjiao-pankeng"])[0]
    gcj = wgs84_to_gcj02_geometry(v.geometry)  # the village as drawn on a Chinese web map
    path = _write_geojson(tmp_path / "pankeng_amap.geojson", gcj)
    new = with_boundary(v, path, crs="gcj02")
    assert new.boundary_source.startswith("file:pankeng_amap.geojson (sha256 ")
    assert new.boundary_source.endswith(", read as GCJ-02, converted to WGS 84)")
    assert _vertex_error_m(new.geometry, v.geometry) < 0.01

    args = build_parser().parse_args(["villages", "--villages", v.id, "--boundary", f"{v.id}={path}",
                                      "--boundary-crs", "gcj02"])
    (cli_v,) = load_selected_villages(args)
    assert _vertex_error_m(cli_v.geometry, v.geometry) < 0.01
    plain = build_parser().parse_args(["villages", "--villages", v.id, "--boundary", f"{v.id}={path}"])
    assert _vertex_error_m(load_selected_villages(plain)[0].geometry, v.geometry) > 50
    with pytest.raises(BoundaryOptionError, match="no --boundary"):
        load_selected_villages(argparse.Namespace(villages=v.id, registry=None, boundary=[], boundary_crs="gcj02"))


def test_to_cgcs2000_relabels_without_moving(tmp_path):
    v = load_villages(ids=["meijiang-sanjiao-pankeng"])
    gdf = villages_to_geodataframe(v)
    out = to_cgcs2000(gdf)
    assert out.crs.to_epsg() == 4490 and gdf.crs.to_epsg() == 4326
    assert _vertex_error_m(out.geometry.iloc[0], gdf.geometry.iloc[0]) < 1.0
    # written as GeoJSON it carries a legacy 'crs' member (not RFC 7946) and reads back as CGCS2000
    out.to_file(tmp_path / "pankeng.cgcs2000.geojson", driver="GeoJSON", engine="pyogrio")
    doc = json.loads((tmp_path / "pankeng.cgcs2000.geojson").read_text(encoding="utf-8"))
    assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4490"
    assert _vertex_error_m(read_boundary(tmp_path / "pankeng.cgcs2000.geojson"), v[0].geometry) < 1.0
    with pytest.raises(CRSOptionError, match="no CRS"):
        to_cgcs2000(gpd.GeoDataFrame(geometry=[v[0].geometry]))


# --------------------------------------------------------------------------- administrative codes
def test_registry_admin_codes_sit_in_the_villages_counties():
    villages = {v.id: v for v in load_villages()}
    known = {k: v for k, v in villages.items() if v.admin_code is not None}
    assert len(known) == 9
    assert villages["haizhu-jianghai-hongwei"].admin_code is None
    assert villages["yingde-xiniu-tangmian"].admin_code is None
    for v in known.values():
        county = county_codes()[v.admin_code[:6]]
        if v.id == "shenshan-chishi-daan":  # the NBS files Chishi under Haifeng county
            assert county == "海丰县"
        else:
            assert county == v.county.split()[0], (v.id, v.admin_code, county)
    # a pilot town carries its 9-digit town code padded with 000
    assert villages["shapingba-zhongliang"].admin_code.endswith("000")
    gdf = villages_to_geodataframe(villages.values())
    codes = {i: (None if not isinstance(c, str) else c) for i, c in zip(gdf["id"], gdf["admin_code"])}
    assert codes == {k: v.admin_code for k, v in villages.items()}
    assert gdf["admin_code"].isna().sum() == 2
    assert village_to_feature(villages["meijiang-sanjiao-pankeng"])["properties"]["admin_code"] == "441402102205"


def test_bad_admin_codes_are_refused(tmp_path):
    where = "x.geojson, feature 0"
    assert check_admin_code(441402102205, where) == "441402102205"  # a GeoPackage integer column
    assert check_admin_code(None, where) is None and check_admin_code("", where) is None
    for bad, needle in [("44140210220", "not a 12-digit"), ("4414021022O5", "not a 12-digit"),
                        (4.41e11, "must be 12 digits"), ("449999102205", "not a county of"),
                        ("110101001001", "not a county of")]:
        with pytest.raises(VillagePropertyError, match=needle):
            check_admin_code(bad, where)
    with pytest.raises(VillagePropertyError, match=r"province is '广东省 Guangdong' \(44\)"):
        check_admin_code("500106112000", where, province="广东省 Guangdong")
    # through the registry: the message names file and feature
    feat = village_to_feature(load_villages(ids=["meijiang-sanjiao-pankeng"])[0])
    feat["properties"]["admin_code"] = "441402"
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}), encoding="utf-8")
    with pytest.raises(VillagePropertyError, match=r"bad.geojson, feature 0 \(id 'meijiang-sanjiao-pankeng'\)"):
        load_villages(path)
