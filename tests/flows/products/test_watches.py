"""The watches in the flow (flows.products.watches): ancient trees and cropland conversion on
one village of the shared demo night, checked against the demo truth; products RFC 7946, reused byte for byte on a re-run; registry errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

VID = "meijiang-sanjiao-pankeng"
DATES = ("2024-01-15", "2024-04-20", "2024-07-18", "2024-10-25", "2025-01-12")


@pytest.fixture(scope="module")
def run(demo_night, demo_villages, demo_source):
    """The shared demo night's first village (its watches ran in the night)."""
    village = next(v for v in demo_villages if v.id == VID)
    r = next(r for r in demo_night.runs if r.village_id == VID)
    assert r.status == "ok", r.reason
    return {"out": demo_night.out, "village": village, "source": demo_source, "run": r, "vdir": demo_night.out / VID}


def _raster(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def _feature_mask(source, village, name: str) -> np.ndarray:
    from sensing.demo.source import _fields

    lay = source.layout(village)
    fid = [f.name for f in lay.features].index(name) + 1
    return _fields(*source._key(village), source.grid(village)).feature_id == fid


def _rfc7946(path: Path) -> dict:
    fc = json.loads(path.read_text())
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    for f in fc["features"]:
        coords = np.array(f["geometry"]["coordinates"], dtype=object)
        flat = np.array(list(_flatten(f["geometry"]["coordinates"])), dtype=float).reshape(-1, 2)
        assert coords is not None and (flat[:, 0] > 73).all() and (flat[:, 0] < 136).all()
        assert (flat[:, 1] > 18).all() and (flat[:, 1] < 54).all()
    return fc


def _flatten(c):
    if isinstance(c[0], (int, float)):
        yield from c
    else:
        for x in c:
            yield from _flatten(x)


def test_tree_in_cleared_area_alerts_stable_trees_do_not(run):
    fc = _rfc7946(run["vdir"] / "watches" / "ancient_trees.geojson")
    assert fc["properties"]["demo"] is True and fc["properties"]["dates"] == list(DATES)
    by = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert set(by) == {f"DEMO-{VID}-00{i}" for i in (1, 2, 3)}
    cleared, forest, village_tree = (by[f"DEMO-{VID}-00{i}"] for i in (1, 2, 3))
    assert cleared["alert"] and cleared["change"] <= -0.5          # measured: -0.58 (0.80 -> 0.20)
    assert cleared["alert_dates"] == list(DATES[2:])               # from the first date after the clearing
    assert len(cleared["series"]) == 5 and cleared["series"][0]["ndvi"] > 0.7
    for t in (forest, village_tree):
        assert not t["alert"] and not t["alert_dates"] and abs(t["change"]) < 0.05
    assert run["run"].figures["ancient_tree_alerts"] == 1


def test_farmland_conversion_against_demo_truth(run):
    src, village, vdir = run["source"], run["village"], run["vdir"]
    truth = src.truth(village)
    pond = _feature_mask(src, village, "new_pond")               # dug on cropland between 04-20 and 07-18
    cleared = _feature_mask(src, village, "cleared_patch")       # forest, not cropland
    figs = {}
    for a, b in zip(DATES, DATES[1:]):
        folder = vdir / "change" / f"{a}_{b}"
        fc = _rfc7946(folder / "farmland_conversion.geojson")
        assert fc["properties"]["demo"] is True and "demo layout" in fc["properties"]["cropland_source"]
        figs[(a, b)] = json.loads((folder / "farmland_conversion.json").read_text())["figures"]
        cls = _raster(folder / "farmland_conversion.tif")
        assert not (((cls == 1) | (cls == 2)) & cleared).any(), f"forest clearing flagged in {a}..{b}"
        if (a, b) == ("2024-04-20", "2024-07-18"):
            dug = cls == 2
            assert dug.sum() >= 50 and (dug & pond).sum() == dug.sum()  # 59 of the pond's 70 pixels, none outside
            assert (dug & truth["water_gain"].values).sum() == dug.sum()
            assert [f["properties"]["kind"] for f in fc["features"]] == ["pond_dug"]
            assert fc["features"][0]["properties"]["area_m2"] >= 5000
        if (a, b) == ("2024-10-25", "2025-01-12"):
            # paddy harvested into winter fallow is flagged only where the only earlier winter
            # observation (2024-01-15) was under cloud: there the pixel never showed its winter low
            flagged = (cls == 1) | (cls == 2)
            assert not (flagged & ~truth["cloud"].values[0]).any()
    assert figs[("2024-01-15", "2024-04-20")]["farmland_conversion_area_m2"] == 0.0
    assert figs[("2024-07-18", "2024-10-25")]["farmland_conversion_area_m2"] == 0.0
    assert figs[("2024-04-20", "2024-07-18")]["pond_dug_area_m2"] == pytest.approx(5900.0)
    assert figs[("2024-04-20", "2024-07-18")]["built_or_bare_area_m2"] == 0.0
    total = sum(f["farmland_conversion_area_m2"] for f in figs.values())
    assert run["run"].figures["farmland_conversion_area_m2"] == pytest.approx(total)


def test_rerun_reuses_watch_products_byte_for_byte(run):
    from flows.products import watches as watch_steps
    from flows.products.atomic import sha256_file

    vdir = run["vdir"]
    files = sorted(vdir.glob("watches/*")) + sorted(vdir.glob("change/*/farmland_conversion*"))
    assert len(files) == 3 + 4 * 4
    before = {p: sha256_file(p) for p in files}
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    res = watch_steps.run_watches(run["source"], run["village"], run["out"], dates=list(DATES))
    assert [r.reused for r in res] == [True] * 5
    assert {p: sha256_file(p) for p in files} == before
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes


def test_cropland_from_ndvi_phenology_on_the_demo_year(run):
    import indices

    series, _ = __import__("flows.products.watches", fromlist=["x"]).ndvi_series(run["out"], run["village"], list(DATES))
    crop = indices.cropland_from_ndvi_series(series).values
    lc = run["source"].truth(run["village"])["land_cover"].values
    stable = (lc == lc[0]).all(axis=0)
    paddy, forest = stable & (lc[0] == 2), stable & (lc[0] == 1)
    assert crop[paddy].mean() >= 0.9          # double rice swings ~0.45 in NDVI
    assert crop[forest].mean() <= 0.01        # evergreen forest stays within ~0.03
    short = indices.cropland_from_ndvi_series(series.isel(time=slice(0, 2)))
    assert not short.attrs["sufficient"] and not short.values.any()


@pytest.mark.parametrize("features, message", [
    ([{"code": "A1"}, {"code": "A1"}], "duplicate code, also feature 0"),
    ([{"code": "A1"}, {"species": "榕树"}], "feature 1: missing 'code'"),
    ([{"code": "A1", "_geom": {"type": "Polygon", "coordinates": [[[113, 23], [113.1, 23], [113.1, 23.1], [113, 23]]]}}],
     "is a Polygon, a tree must be a Point"),
    ([{"code": "A1", "_geom": {"type": "Point", "coordinates": [2.35, 48.85]}}], "lies outside China"),
    ([{"code": "A1", "_geom": None}], "no geometry"),
])
def test_tree_registry_errors_name_file_and_feature(tmp_path, features, message):
    from flows.products.watches import TreeRegistryError, load_trees

    path = tmp_path / "v.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: v for k, v in f.items() if k != "_geom"},
         "geometry": f.get("_geom", {"type": "Point", "coordinates": [113.0 + i / 100, 23.0]})}
        for i, f in enumerate(features)]}
    path.write_text(json.dumps(fc, ensure_ascii=False))
    with pytest.raises(TreeRegistryError) as err:
        load_trees(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_registry_file_overrides_the_demo_and_broken_one_skips_only_the_watch(tmp_path, run):
    from flows.products.watches import load_trees, trees_for

    (tmp_path / f"{VID}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "440000-GS-0001", "species": "Ficus microcarpa", "name_zh": "榕树"},
         "geometry": {"type": "Point", "coordinates": [116.1, 24.3]}}]}))
    trees, origin = trees_for(run["source"], run["village"], tmp_path)
    assert list(trees["code"]) == ["440000-GS-0001"] and origin.endswith(f"{VID}.geojson")
    assert trees["age_years"].isna().all()
    assert load_trees(tmp_path / f"{VID}.geojson").crs.to_epsg() == 4326
    none, why = trees_for(object(), run["village"], tmp_path / "nothing")
    assert none is None and "does not exist" in why
