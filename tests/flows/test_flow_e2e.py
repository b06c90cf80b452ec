"""End to end on the demo: the nightly chain (plain and under Prefect) writes valid products,
finds and confirms the planted changes against the same season (and nothing else), isolates a
failing village and re-runs without changing a byte."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize

from flows.products.atomic import sha256_file
from flows.params import Params
from flows.products.rasters import is_valid_cog

pytestmark = pytest.mark.slow

START, END = dt.date(2025, 11, 1), dt.date(2025, 12, 3)  # the demo night's window (conftest)


@pytest.fixture(scope="module")
def night(demo_night):
    """(OUT, runs) of the shared demo night (Prefect executor, three villages)."""
    return demo_night.out, list(demo_night.runs)


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith("."))


def test_every_village_gets_its_products(night, demo_villages):
    out, runs = night
    assert [r.status for r in runs] == ["ok"] * len(demo_villages), [r.reason for r in runs]
    for v, run in zip(demo_villages, runs):
        assert len(run.dates) >= 3
        for d in run.dates:
            folder = out / v.id / d
            for name in ("ndvi.tif", "water_mask.tif", "water_bodies.geojson",
                         "black_odorous_suspects.geojson", "manifest.json"):
                assert (folder / name).exists(), folder / name
        # one change against the same season per calendar month of the window's dates
        from flows.products.layout import month_periods

        changes = sorted(c.name for c in (out / v.id / "change").iterdir() if c.is_dir())
        assert changes == [f"{a}_{b}" for a, b in month_periods(run.dates)]
        assert (out / v.id / "baseline" / "2025-Q4" / "land_cover.tif").exists()
        assert (out / v.id / "watches" / "vegetation_loss_alerts.geojson").exists()
        assert (out / v.id / "indicators.parquet").exists()


def test_drone_orthomosaic_gives_rgb_products_and_says_why_no_water(night, demo_villages, demo_source):
    """The RGB-only drone stream (0.5 m) gets its visible-band vegetation indices at native
    resolution; water and black-odorous products are skipped with the reason in the manifest."""
    import pandas as pd

    out, _ = night
    from sensing.demo.source import demo_villages_with_drone

    drone = [v for v in demo_villages if v.id in demo_villages_with_drone()]
    assert len(drone) == 2
    for v in drone:
        date = demo_source.drone_date()
        folder = out / v.id / date / "drone"
        # RGB-only: the visible-band indices and the true colour (issue #14), no water product
        assert sorted(p.name for p in folder.glob("*.tif")) == ["exg.tif", "true_colour.tif", "vari.tif"]
        with rasterio.open(folder / "exg.tif") as src:
            assert abs(src.res[0] - 0.5) < 1e-9
            exg = src.read(1, masked=True)
        assert is_valid_cog(folder / "exg.tif")[0]
        assert -2 <= float(exg.min()) and float(exg.max()) <= 2 and float(exg.std()) > 0.01
        m = json.loads((folder / "manifest.json").read_text())
        assert m["inputs"]["sensor"] == "drone-rgb"
        assert set(m["skipped_products"]) == {"water_mask", "black_odorous", "water_bodies", "black_odorous_suspects"}
        assert "nir or swir16" in m["skipped_products"]["water_mask"]
        assert "ndvi" in m["skipped_indices"]
        df = pd.read_parquet(out / v.id / "indicators.parquet")
        drone = df[df["stream"] == "drone"]
        assert len(drone) == 1 and drone["water_area_m2"].isna().all()
        assert drone["resolution_m"].iloc[0] == 0.5


def test_outputs_are_valid_cogs_in_the_village_crs(night, demo_villages):
    from aoi import grid_for

    out, _ = night
    for v in demo_villages:
        epsg = int(grid_for(v, 10.0).crs.split(":")[1])
        tifs = [p for p in _files(out / v.id, "*.tif") if "drone" not in p.parts[-2]]
        assert len(tifs) > 10
        for tif in tifs:
            ok, errors, _ = is_valid_cog(tif)
            assert ok, (tif, errors)
            with rasterio.open(tif) as src:
                assert src.crs.to_epsg() == epsg
                assert src.nodata is not None
                assert "DEMO" in src.tags()


def test_geojson_is_rfc7946_with_required_fields(night):
    out, _ = night
    gj = _files(out, "*.geojson")
    assert gj
    for p in gj:
        fc = json.loads(p.read_text())
        assert fc["type"] == "FeatureCollection" and "crs" not in fc
        assert fc["properties"]["demo"] is True
        for f in fc["features"]:
            kinds = ("Point",) if p.name == "ancient_trees.geojson" else ("Polygon", "MultiPolygon")
            assert f["type"] == "Feature" and f["geometry"]["type"] in kinds
            g = f["geometry"]
            rings = ([[g["coordinates"]]] if g["type"] == "Point" else
                     g["coordinates"] if g["type"] == "Polygon" else [r for poly in g["coordinates"] for r in poly])
            xy = np.array([c for ring in rings for c in ring])
            assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
    for p in _files(out, "water_bodies.geojson"):
        for f in json.loads(p.read_text())["features"]:
            props = f["properties"]
            assert props["area_m2"] > 0 and props["wb_id"]
            assert props["status"] in ("ordinary", "suspect_black_odorous", "too_small", "no_valid_observation",
                                       "flooded_cropland")
            assert props["verification"] == "unverified"


def test_manifest_lists_inputs_params_versions_checksums(night, demo_villages):
    out, runs = night
    v, run = demo_villages[0], runs[0]
    m = json.loads((out / v.id / run.dates[0] / "manifest.json").read_text())
    assert m["inputs"]["item_ids"][0].startswith("DEMO")
    assert m["inputs"]["demo"] is True
    bo = m["parameters"]["black_odorous"]  # every black-odorous threshold the run used
    import dataclasses

    import indices

    assert set(bo) == {f.name for f in dataclasses.fields(indices.BlackOdorousParams)}
    assert bo["boi_threshold"] == 0.065 and (bo["ndbwi_low"], bo["ndbwi_high"]) == (-0.05, 0.115)  # published
    water = json.loads((out / v.id / run.dates[0] / "water_bodies.geojson").read_text())["features"]
    assert water and all(json.loads(f["properties"]["bo_params"]) == bo for f in water)  # and on every body
    assert "prefect" in m["versions"] and "gdal" in m["versions"]
    for name, meta in m["outputs"].items():
        assert sha256_file(out / v.id / run.dates[0] / name) == meta["sha256"]


def _truth_overlap(gj: Path, truth_mask: np.ndarray, grid) -> float:
    """Share of the truth pixels covered by the polygons of ``gj``."""
    gdf = gpd.read_file(gj)
    if not len(gdf) or not truth_mask.any():
        return 0.0
    gdf = gdf.to_crs(grid.crs)
    hit = rasterize([(g, 1) for g in gdf.geometry], out_shape=truth_mask.shape,
                    transform=grid.transform, fill=0, dtype="uint8").astype(bool)
    return float((hit & truth_mask).sum() / truth_mask.sum())


def test_planted_changes_found_and_confirmed(night, demo_villages, demo_source):
    """Every planted change is an alert (candidate, then confirmed by the next clear pass) first
    seen on or after the day it happened, and is in the month's change against the same season;
    no other alert is raised (the November harvest and the winter fallow are not loss)."""
    from aoi import grid_for

    out, _ = night
    kinds = {"vegetation_loss": "vegetation_loss", "water_gain": "water_gain",
             "black_odorous": "became_black_odorous"}
    for v in demo_villages:
        truth = demo_source.truth(v, START, END)
        grid = grid_for(v, 10.0)
        planted_any = truth["vegetation_loss"].values | truth["water_gain"].values | truth["became_black_odorous"].values
        for kind, tkind in kinds.items():
            mask = truth[tkind].values.astype(bool)
            gj = out / v.id / "watches" / f"{kind}_alerts.geojson"
            assert _truth_overlap(gj, mask, grid) >= 0.8, (v.id, kind)
            alerts = gpd.read_file(gj)
            planted = truth.attrs["planted"][tkind]
            hit = alerts[alerts.geometry.to_crs(grid.crs).apply(lambda g: _truth_overlap_geom(g, mask, grid) > 0)]
            assert len(hit) >= 1 and (hit["first_date"] >= planted).all(), (v.id, kind, hit)
            assert set(hit["status"]) <= {"candidate", "confirmed"}
            assert (hit.loc[hit["status"] == "confirmed", "confirmed_date"] > hit.loc[hit["status"] == "confirmed", "first_date"]).all()
            # the monthly clear-sky composite shows it too: the median of a month in which the change
            # happened halfway holds it where most of the pixel's clear passes came after it (the next
            # month holds all of it; the window ends on its 3rd)
            name = "new_black_odorous_suspects.geojson" if kind == "black_odorous" else f"{kind}.geojson"
            periods = [p for p in sorted((out / v.id / "change").iterdir()) if p.is_dir() and p.name[:10] >= planted[:8] + "01"]
            assert max(_truth_overlap(p / name, mask, grid) for p in periods) >= 0.5, (v.id, kind)
        # nothing but the planted changes: every alert polygon lies (mostly) on one of them
        for kind in ("vegetation_loss", "water_gain", "water_loss", "black_odorous", "farmland_conversion"):
            for g in gpd.read_file(out / v.id / "watches" / f"{kind}_alerts.geojson").to_crs(grid.crs).geometry:
                assert _truth_overlap_geom(g, planted_any, grid) >= 0.5, (v.id, kind, g.area)


def _truth_overlap_geom(geom, truth_mask: np.ndarray, grid) -> float:
    """Share of a polygon's pixels that are truth."""
    hit = rasterize([(geom, 1)], out_shape=truth_mask.shape, transform=grid.transform, fill=0, dtype="uint8").astype(bool)
    return float((hit & truth_mask).sum() / max(hit.sum(), 1))


def test_indicator_table_one_row_per_date(night, demo_villages):
    import pandas as pd

    out, runs = night
    for v, run in zip(demo_villages, runs):
        df = pd.read_parquet(out / v.id / "indicators.parquet")
        main = df[df["stream"] == "main"]
        assert list(main["date"].dt.strftime("%Y-%m-%d")) == run.dates
        assert (main["water_area_m2"] > 0).all()
        assert main["ndvi_mean"].between(-1, 1).all()


def test_rerun_skips_and_changes_no_byte(plain_night, demo_villages, demo_source, tmp_path):
    import shutil

    from flows.runner import finish_run, run_plain

    out = tmp_path / "out"
    shutil.copytree(plain_night.out, out)
    before = {p: sha256_file(p) for p in _files(out, "*") if p.is_file()}
    runs = run_plain(demo_villages[:1], demo_source, out, START, END, Params())
    finish_run(out, demo_villages[:1], runs)
    after = {p: sha256_file(p) for p in _files(out, "*") if p.is_file()}
    assert all(r.reused == len(r.products) - 1 or r.reused > 0 for r in runs)
    changed = [str(p) for p in before if before[p] != after.get(p)]
    assert not changed, changed


def test_prefect_flow_matches_plain_run(night, plain_night, demo_villages):
    """Both executors run the same plan: every file of the village is the same, byte for byte."""
    pout, pruns = night
    assert [r.status for r in pruns] == ["ok"] * len(demo_villages), [r.reason for r in pruns]
    v = demo_villages[0]
    files = _files(pout / v.id, "*")
    assert len(files) > 100
    for p in files:
        twin = plain_night.out / p.relative_to(pout)
        assert sha256_file(p) == sha256_file(twin), p
    (plain_run,) = plain_night.runs
    prefect_run = next(r for r in pruns if r.village_id == v.id)
    assert plain_run.summary_row() == prefect_run.summary_row()


def test_failing_village_is_reported_and_others_finish(tmp_path, demo_villages, demo_source, prefect_server):
    from dataclasses import dataclass

    from flows.runner import run_prefect

    @dataclass(frozen=True)
    class Flaky:
        inner: object
        bad: str
        kind: str = "demo"

        def load(self, village, start, end):
            if village.id == self.bad:
                raise OSError(f"imagery for {village.id} is unreadable")
            return self.inner.load(village, start, end)

        def describe(self):
            return self.inner.describe()

    # a short window (the window's first two passes) keeps the healthy village's chain small
    runs = run_prefect(demo_villages[:2], Flaky(demo_source, demo_villages[0].id), tmp_path, START,
                       dt.date(2025, 11, 8), Params())
    by = {r.village_id: r for r in runs}
    assert by[demo_villages[0].id].status == "failed"
    assert "unreadable" in by[demo_villages[0].id].reason
    assert by[demo_villages[1].id].status == "ok"
    assert (tmp_path / demo_villages[1].id / "indicators.parquet").exists()
