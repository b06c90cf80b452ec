"""The watches in the flow: ancient trees (flows.products.watches) and the farmland watch, an
alert kind (flows.products.alerts), on one village of the shared demo night, checked against
the demo truth; products RFC 7946, reused byte for byte on a re-run; registry errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

VID = "meijiang-sanjiao-pankeng"


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
    dates = run["run"].dates
    fc = _rfc7946(run["vdir"] / "watches" / "ancient_trees.geojson")
    assert fc["properties"]["demo"] is True and fc["properties"]["dates"] == dates
    by = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert set(by) == {f"DEMO-{VID}-00{i}" for i in (1, 2, 3)}
    cleared, forest, village_tree = (by[f"DEMO-{VID}-00{i}"] for i in (1, 2, 3))
    cut = run["source"].truth(run["village"], *dates[:1] * 2).attrs["planted"]["vegetation_loss"]
    assert cleared["alert"] and cleared["change"] <= -0.5          # canopy (0.8) to bare soil (0.2)
    seen_after = [x["date"] for x in cleared["series"] if x["date"] > cut and x["n_valid"] > 0]
    assert cleared["alert_dates"] == seen_after                     # every clear pass after the clearing
    assert len(cleared["series"]) == len(dates)
    assert [x["ndvi"] for x in cleared["series"] if x["n_valid"] > 0][0] > 0.7
    for t in (forest, village_tree):
        assert not t["alert"] and not t["alert_dates"] and abs(t["change"]) < 0.05
    assert run["run"].figures["ancient_tree_alerts"] == 1


def test_farmland_watch_finds_the_dug_pond_not_the_harvest(run):
    """The farmland watch (耕地非农化) is an alert kind: cropland from the history's phenology (not
    the demo's truth) going below any NDVI its history showed: the pond dug on cropland, not the
    late-rice harvest or the vegetable plots' harvests of the same weeks."""
    src, village, vdir = run["source"], run["village"], run["vdir"]
    pond = _feature_mask(src, village, "new_pond")
    cleared = _feature_mask(src, village, "cleared_patch")
    fc = _rfc7946(vdir / "watches" / "farmland_conversion_alerts.geojson")
    assert fc["properties"]["demo"] is True and "phenology" in fc["properties"]["cropland_source"]
    assert "demo layout" not in json.dumps(fc["properties"])
    status = _raster(vdir / "watches" / "farmland_conversion_status.tif")
    flagged = (status == 1) | (status == 2)
    assert not (flagged & cleared).any()                             # forest is not cropland
    assert flagged.sum() >= 50 and (flagged & pond).sum() == flagged.sum()  # the pond, nothing else
    (f,) = fc["features"]
    p = f["properties"]
    assert p["conversion"] == "pond_dug" and p["status"] == "confirmed" and p["area_m2"] >= 5000
    planted = src.truth(village, *run["run"].dates[:1] * 2).attrs["planted"]["water_gain"]
    assert planted < p["first_date"] < p["confirmed_date"]
    figures = json.loads((vdir / "watches" / "alerts.json").read_text())["figures"]
    assert figures["farmland_conversion_area_m2"] == p["area_m2"]
    assert run["run"].figures["farmland_conversion_area_m2"] == p["area_m2"]


def test_rerun_reuses_watch_products_byte_for_byte(run):
    from flows.products import watches as watch_steps
    from flows.products.alerts import process_alerts
    from flows.products.atomic import sha256_file

    vdir = run["vdir"]
    files = sorted(p for p in vdir.glob("watches/*"))
    assert len(files) == 3 + 5 * 4 + 2  # trees (3), five alert kinds (4 files each), alerts.json and its manifest
    before = {p: sha256_file(p) for p in files}
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    res = watch_steps.run_watches(run["source"], run["village"], run["out"], dates=run["run"].dates)
    alerts = process_alerts(run["source"], run["village"], run["out"], dates=run["run"].dates)
    assert [r.reused for r in res] == [True] and alerts.reused
    assert {p: sha256_file(p) for p in files} == before
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes


def test_cropland_from_the_phenology_of_the_history(run):
    """The baseline's land cover (never the demo's truth): double rice and the vegetable plots
    are cropland by their NDVI swing, evergreen forest is not."""
    lc = _raster(run["vdir"] / "baseline" / "2025-Q4" / "land_cover.tif")
    truth = run["source"].truth(run["village"], *run["run"].dates[:1] * 2)
    paddy = truth["land_cover"].values[0] == 2
    forest = truth["forest"].values & (truth["land_cover"].values[0] == 1)
    assert (lc[paddy] == 1).mean() >= 0.9
    assert (lc[forest] == 1).mean() <= 0.01 and (lc[forest] == 2).mean() >= 0.9
    crop = truth["cropland"].values
    assert ((lc == 1) & crop).sum() / max((lc == 1).sum(), 1) >= 0.85  # precision of the phenology rule


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
