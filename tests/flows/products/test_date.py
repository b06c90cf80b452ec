"""A date's products use the run's recorded parameters: changing a black-odorous threshold in
``Params`` changes the suspects, and the manifest and every water body record what was used."""
from __future__ import annotations

import dataclasses
import json

import pytest

from flows.params import Params

VID = "meijiang-sanjiao-pankeng"


@pytest.fixture(scope="module")
def one_date(demo_villages, demo_source):
    village = next(v for v in demo_villages if v.id == VID)
    scene = demo_source.load(village, *demo_source_window(demo_source))
    return village, scene


def demo_source_window(src):
    import datetime as dt

    return dt.date(2024, 1, 1), dt.date(2025, 12, 31)


def _date_with_suspects(scene) -> str:
    from flows.scenes import scene_dates

    return scene_dates(scene)[-1]


def test_the_recorded_black_odorous_thresholds_are_the_ones_used(one_date, demo_source, tmp_path):
    from flows.products.date import process_date

    village, scene = one_date
    date = _date_with_suspects(scene)
    default = process_date(demo_source, village, date, tmp_path / "a", Params(), scene=scene)
    assert default.indicators["n_black_odorous_suspects"] >= 1  # the demo's black-odorous bodies
    strict = Params(black_odorous=Params().black_odorous.replace(boi_threshold=-1.0))  # BOI >= 0 for dark water
    changed = process_date(demo_source, village, date, tmp_path / "b", strict, scene=scene)
    assert changed.indicators["n_black_odorous_suspects"] < default.indicators["n_black_odorous_suspects"]
    for out, p in ((tmp_path / "a", Params()), (tmp_path / "b", strict)):
        m = json.loads((out / VID / date / "manifest.json").read_text())
        assert m["parameters"]["black_odorous"] == p.black_odorous.as_dict()
        assert m["parameters"]["black_odorous"]["boi_threshold"] == p.black_odorous.boi_threshold
        bodies = json.loads((out / VID / date / "water_bodies.geojson").read_text())["features"]
        assert bodies and all(json.loads(b["properties"]["bo_params"]) == p.black_odorous.as_dict() for b in bodies)
    assert {f.name for f in dataclasses.fields(type(Params().black_odorous))} == set(
        json.loads((tmp_path / "a" / VID / date / "manifest.json").read_text())["parameters"]["black_odorous"])


def test_cgcs2000_on_request_reaches_the_date_products_and_the_field_check(one_date, demo_source, tmp_path):
    """``--geojson-crs cgcs2000`` (``Params.geojson_crs``): every GeoJSON of the date, and the
    field-check GeoJSON made from them, in EPSG:4490 with the same numbers as in WGS 84."""
    import geopandas as gpd
    import numpy as np

    from flows.fieldcheck import refresh_village
    from flows.products.date import process_date

    village, scene = one_date
    date = _date_with_suspects(scene)
    process_date(demo_source, village, date, tmp_path / "w", Params(), scene=scene)
    process_date(demo_source, village, date, tmp_path / "c", Params(geojson_crs="EPSG:4490"), scene=scene)
    refresh_village(tmp_path / "c", village)
    folder_w, folder_c = tmp_path / "w" / VID / date, tmp_path / "c" / VID / date
    for name in ("water_bodies.geojson", "black_odorous_suspects.geojson", "field_check.geojson"):
        doc = json.loads((folder_c / name).read_text())
        assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4490", name
        assert gpd.read_file(folder_c / name).crs.to_epsg() == 4490
    a = gpd.read_file(folder_w / "water_bodies.geojson")
    b = gpd.read_file(folder_c / "water_bodies.geojson")
    assert list(a["wb_id"]) == list(b["wb_id"])
    assert np.allclose(a.geometry.bounds.to_numpy(), b.geometry.bounds.to_numpy(), atol=1e-7)
    assert json.loads((folder_c / "manifest.json").read_text())["parameters"]["geojson_crs"] == "EPSG:4490"


def test_numpy_and_dask_routes_write_the_same_products(one_date, demo_source, tmp_path, monkeypatch):
    """The date step reads a village-sized scene into memory and computes with NumPy
    (``flows.scenes.IN_MEMORY_MAX_PIXELS``); forced through Dask it writes the same files,
    byte for byte; the manifests differ only in the ``compute`` record of the route taken."""
    import flows.scenes
    from flows.products.date import process_date

    village, scene = one_date
    date = _date_with_suspects(scene)
    pixels = scene.sizes["y"] * scene.sizes["x"]
    assert pixels <= flows.scenes.IN_MEMORY_MAX_PIXELS  # a demo village is village-sized
    process_date(demo_source, village, date, tmp_path / "numpy", Params(), scene=scene)
    monkeypatch.setattr(flows.scenes, "IN_MEMORY_MAX_PIXELS", 0)
    process_date(demo_source, village, date, tmp_path / "dask", Params(), scene=scene)
    a, b = tmp_path / "numpy" / VID / date, tmp_path / "dask" / VID / date
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir()) and "ndvi.tif" in files and "water_bodies.geojson" in files
    assert [f for f in files if f != "manifest.json" and (a / f).read_bytes() != (b / f).read_bytes()] == []
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert ma.pop("compute") == {"engine": "numpy", "pixels": pixels, "in_memory_max_pixels": 2_000_000}
    assert mb.pop("compute") == {"engine": "dask", "pixels": pixels, "in_memory_max_pixels": 0}
    assert ma == mb
