"""`villagewatch schedule` hands the scheduled flow every option a night uses: the official
boundaries (as absolute paths), the GeoJSON CRS and the pages' basemap; the scheduled flow then
runs with them. Plain logic: the Prefect server and the night are replaced by recorders."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import mapping

from aoi.errors import BoundaryOptionError
from aoi.registry import load_villages

VID = "meijiang-sanjiao-pankeng"


def _official_boundary(folder: Path) -> Path:
    """The registry's polygon shrunk by ~50 m, as an official boundary file."""
    (v,) = load_villages(ids=[VID])
    geom = v.geometry.buffer(-0.0005)
    path = folder / "pankeng_official.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(geom)}]}))
    return path


@pytest.fixture
def registered(monkeypatch, tmp_path):
    """`villagewatch schedule --register-only ...` with deploy.register recording its keywords."""
    from flows import cli, deploy

    seen: dict = {}
    monkeypatch.setattr(deploy, "register", lambda **kw: seen.update(kw) or "dep-1")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.chdir(tmp_path)
    _official_boundary(tmp_path)

    def run(*extra: str) -> dict:
        code = cli.main(["schedule", "--register-only", "--villages", VID, "--out", "night-out", *extra])
        assert code == 0
        return seen
    return run


def test_schedule_records_boundaries_geojson_crs_and_basemap(registered, tmp_path):
    kw = registered("--boundary", f"{VID}=pankeng_official.geojson", "--geojson-crs", "cgcs2000",
                    "--basemap", "osm")
    params = kw["parameters"]
    assert kw["cron"] == "0 2 * * *" and kw["timezone"] == "Asia/Shanghai"
    assert params["villages"] == [VID]
    assert params["out"] == str(tmp_path / "night-out")
    # relative to where `schedule` was typed, absolute for the run at 02:00
    assert params["boundaries"] == [f"{VID}={tmp_path / 'pankeng_official.geojson'}"]
    assert params["geojson_crs"] == "EPSG:4490"
    assert params["basemap"] == {"kind": "osm"}
    json.dumps(params)  # a deployment's parameters are JSON


def test_schedule_files_source_options_are_json_with_absolute_paths(registered, tmp_path):
    (tmp_path / "flights").mkdir()
    (tmp_path / "flights" / "band_map.json").write_text(json.dumps({"bands": ["red", "green", "blue", "nir"]}))
    params = registered("--source", "files", "--imagery", "flights", "--band-map", "flights/band_map.json",
                        "--scale", "0.0001")["parameters"]
    opts = params["source_options"]
    assert opts["paths"] == str(tmp_path / "flights")
    assert opts["band_map"] == str(tmp_path / "flights" / "band_map.json")
    assert opts["scale"] == 0.0001 and "date" not in opts
    listed = registered("--source", "files", "--imagery", "flights", "--band-map", "red,green,blue")["parameters"]
    assert listed["source_options"]["band_map"] == ["red", "green", "blue"]
    json.dumps(params)


def test_schedule_refuses_a_bad_boundary_before_registering(registered, tmp_path, capsys):
    from aoi.registry import select_villages
    from flows import cli

    code = cli.main(["schedule", "--register-only", "--villages", VID, "--boundary", f"{VID}=missing.gpkg"])
    assert code == 2
    assert "missing.gpkg does not exist" in capsys.readouterr().err
    other = f"shenshan-chishi-daan={tmp_path / 'pankeng_official.geojson'}"
    with pytest.raises(BoundaryOptionError, match="names unknown village"):
        select_villages(ids=[VID], boundaries=[other])


def test_scheduled_run_uses_the_boundary_and_the_geojson_crs(monkeypatch, tmp_path):
    """deploy._run loads the official boundary and runs with Params(geojson_crs=...)."""
    from flows import deploy, runner

    path = _official_boundary(tmp_path)
    got: dict = {}

    def fake_run_prefect(villages, source, out, start, end, params, **kw):
        got.update(villages=villages, params=params)
        return []

    monkeypatch.setattr(runner, "run_prefect", fake_run_prefect)
    monkeypatch.setattr(runner, "finish_run", lambda out, vs, runs, basemap=None: got.update(basemap=basemap))
    opts = deploy.RunOptions(out=str(tmp_path / "o"), villages=[VID], boundaries=[f"{VID}={path}"],
                             geojson_crs="EPSG:4490", basemap={"kind": "osm"})
    import datetime as dt

    assert deploy._run(opts, dt.date(2025, 1, 1), dt.date(2025, 1, 31), incremental=True) == []
    (v,) = got["villages"]
    (registry_v,) = load_villages(ids=[VID])
    assert v.boundary_source.startswith("file:pankeng_official.geojson (sha256 ")
    assert v.geometry.area == pytest.approx(registry_v.geometry.buffer(-0.0005).area, rel=1e-9)
    assert got["params"].geojson_crs == "EPSG:4490"
    assert got["basemap"] == {"kind": "osm"}


def test_deployment_accepts_the_parameters_schedule_sends(registered):
    """Every parameter `schedule` sends is a parameter of the scheduled flow."""
    import inspect

    from flows import deploy

    params = registered("--geojson-crs", "cgcs2000")["parameters"]
    assert set(params) <= set(inspect.signature(deploy.scheduled_nightly.fn).parameters)
    assert set(params) <= set(inspect.signature(deploy.backfill.fn).parameters)


def test_schedule_records_the_cropland_layer_and_the_run_uses_it(registered, monkeypatch, tmp_path):
    """`--cropland ID=PATH` (the change alerts' land cover) reaches the scheduled run as an
    absolute path, and deploy._run hands it to the night."""
    import datetime as dt

    from flows import deploy, runner

    crop = _official_boundary(tmp_path).rename(tmp_path / "farmland.geojson")
    params = registered("--cropland", f"{VID}=farmland.geojson")["parameters"]
    assert params["cropland"] == [f"{VID}={crop}"]
    got: dict = {}
    monkeypatch.setattr(runner, "run_prefect", lambda *a, **kw: got.update(kw) or [])
    monkeypatch.setattr(runner, "finish_run", lambda *a, **kw: None)
    deploy._run(deploy.RunOptions(out=str(tmp_path / "o"), villages=[VID], cropland=params["cropland"]),
                dt.date(2025, 1, 1), dt.date(2025, 1, 31), incremental=True)
    assert got["cropland"] == {VID: str(crop)}


def test_both_flows_hand_every_option_to_the_run(monkeypatch):
    """scheduled_nightly and backfill build the same RunOptions from their parameters."""
    import dataclasses
    import datetime as dt

    from flows import deploy

    calls: list = []
    monkeypatch.setattr(deploy, "_run", lambda opts, start, end, *, incremental: calls.append(
        (opts, start, end, incremental)) or [])
    given = {"source": "stac", "out": "/srv/out", "villages": [VID], "source_options": {"max_cloud": 40},
             "registry": "/srv/reg", "dask_address": "tcp://s:8786", "boundaries": [f"{VID}=/b.gpkg"],
             "boundary_crs": "gcj02", "aoi": None, "geojson_crs": "EPSG:4490", "basemap": {"kind": "osm"},
             "cropland": None}
    deploy.scheduled_nightly.fn(**given, lookback_days=10)
    deploy.backfill.fn("2025-01-01", "2025-01-31", **given)
    expected = deploy.RunOptions(**{**given, "cropland": []})
    (nightly, start, end, inc), (back, b_start, b_end, b_inc) = calls
    assert nightly == back == expected
    assert {f.name for f in dataclasses.fields(expected)} == set(given)
    assert (end - start, inc) == (dt.timedelta(days=10), True)
    assert (b_start, b_end, b_inc) == (dt.date(2025, 1, 1), dt.date(2025, 1, 31), False)
