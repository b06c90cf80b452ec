"""The same-season baseline (flows.products.baseline) of the shared demo night: which passes of
the history it reads, its land cover from phenology or an official cropland layer, its reuse
across nights; and that no product reads the demo's truth."""
from __future__ import annotations

import ast
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import rasterio

VID = "meijiang-sanjiao-pankeng"


@pytest.fixture(scope="module")
def night(demo_night, demo_villages, demo_source):
    village = next(v for v in demo_villages if v.id == VID)
    return {"out": demo_night.out, "village": village, "source": demo_source,
            "folder": demo_night.out / VID / "baseline" / "2025-Q4"}


def test_the_history_is_the_same_season_of_earlier_years_and_a_pass_a_half_month(night):
    from flows.params import Params
    from flows.products.baseline import history_window

    fig = json.loads((night["folder"] / "baseline.json").read_text())
    first, last = history_window("2025-Q4", Params())
    assert (first, last) == (dt.date(2022, 9, 16), dt.date(2025, 9, 30))  # 3 years back, up to the quarter
    hist = [dt.date.fromisoformat(d) for d in fig["history"]]
    assert fig["n_history"] == len(hist) >= 15 and all(first <= d <= last for d in hist)
    # the season (Oct-Dec, +- 15 days: Sep 16 .. Jan 15) of earlier years, and at most one pass
    # per half-month of the twelve months before the quarter otherwise (the phenology)
    season = [d for d in hist if (d.month, d.day) >= (9, 16) or (d.month, d.day) <= (1, 15)]
    others = [d for d in hist if d not in season]
    assert len(season) >= 10 and others
    halves = [(d.year, d.month, d.day > 15) for d in others]
    assert len(halves) == len(set(halves)) and all(dt.date(2024, 10, 1) <= d for d in others)
    # every pass read was usable (valid fraction >= 0.2)
    scene = night["source"].load(night["village"], first, last)
    vf = dict(zip([str(t)[:10] for t in scene["time"].values], scene["valid_fraction"].values))
    assert all(vf[d.isoformat()] >= Params().min_valid_fraction for d in hist)
    with rasterio.open(night["folder"] / "history_ndvi.tif") as src:
        assert src.count == len(hist) and list(src.descriptions) == fig["history"]


def test_rerun_reuses_the_baseline_and_an_official_cropland_layer_replaces_the_phenology(night, tmp_path):
    from shapely.geometry import box, mapping

    from flows.params import Params
    from flows.products.atomic import sha256_file
    from flows.products.baseline import process_baseline

    out = tmp_path / "out"
    shutil.copytree(night["out"] / VID / "baseline", out / VID / "baseline")
    before = {p.name: sha256_file(p) for p in (out / VID / "baseline" / "2025-Q4").iterdir()}
    again = process_baseline(night["source"], night["village"], "2025-Q4", out, Params())
    assert again.reused and {p.name: sha256_file(p) for p in (out / VID / "baseline" / "2025-Q4").iterdir()} == before
    # an official layer: a box over the village's middle (EPSG:4326)
    minx, miny, maxx, maxy = night["village"].geometry.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    layer = tmp_path / "farmland.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(box(cx - 0.002, cy - 0.002, cx + 0.002, cy + 0.002))}]}))
    official = process_baseline(night["source"], night["village"], "2025-Q4", out, Params(), cropland_file=layer)
    assert not official.reused and official.indicators["cropland_source"] == "file farmland.geojson"
    with rasterio.open(out / VID / "baseline" / "2025-Q4" / "land_cover.tif") as src:
        lc = src.read(1)
    # ~445 m x 445 m at 24 N: about 2,000 pixels of cropland, nothing else (water keeps its class)
    assert 1500 < (lc == 1).sum() < 2500
    m = json.loads((out / VID / "baseline" / "2025-Q4" / "manifest.json").read_text())
    assert m["inputs"]["cropland"] == "file farmland.geojson"


def test_cli_cropland_option_is_checked(tmp_path):
    from flows.cli import cropland_options

    class V:
        id = VID

    layer = tmp_path / "f.geojson"
    layer.write_text("{}")
    assert cropland_options([f"{VID}={layer}"], [V]) == {VID: str(layer.resolve())}
    for bad, msg in ((f"{VID}", "expected ID=PATH"), (f"other-village={layer}", "not in this run"),
                     (f"{VID}={tmp_path / 'missing.gpkg'}", "does not exist")):
        with pytest.raises(SystemExit, match=msg):
            cropland_options([bad], [V])


def test_no_product_reads_the_demo_truth():
    """Demo truth is for scoring only: nothing in the pipeline (flows outside evaluation, sensing
    sources' load paths, indices) calls ``truth``/``drone_truth`` or a ``cropland`` of the demo."""
    root = Path(__file__).resolve().parents[3]
    offenders = []
    for folder in ("flows", "indices"):
        for p in (root / folder).rglob("*.py"):
            if "evaluation" in p.parts:
                continue
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in ("truth", "drone_truth"):
                    offenders.append(f"{p.relative_to(root)}:{node.lineno}")
    assert not offenders
    from sensing.base import CroplandLayer
    from sensing.demo import DemoSource

    assert not isinstance(DemoSource(), CroplandLayer)


def test_baselines_are_read_once_for_a_village_and_again_once_rewritten(night, tmp_path):
    """The alerts and every month of a village ask for the same baselines: the second ask is the
    same object (its harmonic model fitted once); a baseline written again is read again."""
    import numpy as np

    from flows.params import Params
    from flows.products.monitoring import baselines_for

    out = tmp_path / "out"
    shutil.copytree(night["out"] / VID / "baseline", out / VID / "baseline")
    dates = ["2025-11-02", "2025-11-27"]
    first = baselines_for(out, night["village"], dates, Params())
    assert first is not None and first.history["ndvi"].sizes["time"] >= 15
    assert baselines_for(out, night["village"], dates, Params()) is first
    ndvi = out / VID / "baseline" / "2025-Q4" / "history_ndvi.tif"
    with rasterio.open(ndvi) as src:
        profile, data = src.profile, src.read()
    data[0] = np.where(data[0] == src.nodata, data[0], 1234)  # NDVI 0.1234 on the first pass
    ndvi.unlink()
    with rasterio.open(ndvi, "w", **profile) as dst:
        dst.write(data)
    again = baselines_for(out, night["village"], dates, Params())
    assert again is not first
    first_pass = again.history["ndvi"].isel(time=0).values
    assert np.allclose(first_pass[np.isfinite(first_pass)], 0.1234)


def test_a_history_stack_staged_uncompressed_or_with_zstd_gives_the_same_cog(tmp_path, monkeypatch):
    """A village's stack is staged uncompressed, a large one with ZSTD: the COG driver
    compresses either way, so the published COG is the same bytes, its values those given."""
    import numpy as np
    import pandas as pd
    import rioxarray  # noqa: F401
    import xarray as xr

    from flows.products import baseline

    rng = np.random.default_rng(15)
    v = rng.normal(0.5, 0.2, (5, 40, 50)).astype("float32")
    v[rng.random(v.shape) < 0.2] = np.nan
    stack = xr.DataArray(v, dims=("time", "y", "x"),
                         coords={"time": pd.date_range("2025-01-01", periods=5, freq="16D"),
                                 "y": 2.5e6 - 10.0 * np.arange(40) - 5, "x": 4e5 + 10.0 * np.arange(50) + 5},
                         ).rio.write_crs("EPSG:32649")
    small = baseline._write_stack(stack, tmp_path / "small" / "ndvi.tif", "ndvi", {"VILLAGE": "v"})
    monkeypatch.setattr(baseline, "IN_MEMORY_PIXELS", 0)
    large = baseline._write_stack(stack, tmp_path / "large" / "ndvi.tif", "ndvi", {"VILLAGE": "v"})
    assert small.read_bytes() == large.read_bytes()
    with rasterio.open(small) as src:
        got = src.read()
        assert src.descriptions[0] == "2025-01-01" and src.nodata == baseline.INT16_NODATA
    want = np.where(np.isfinite(v), np.round(v / baseline.SCALE), baseline.INT16_NODATA)
    np.testing.assert_array_equal(got, want)
