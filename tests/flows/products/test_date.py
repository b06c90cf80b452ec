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
