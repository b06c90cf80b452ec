"""Persistence of suspects in a demo night (issue #12 point 5) and the thresholds its manifests
record: read from the session's demo night (``demo_out``)."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd

from flows.params import Params
from flows.products.layout import MANIFEST, SUSPECTS, dates, date_dir, village_dir
from indices import BlackOdorousParams

VILLAGES = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei", "yingde-xiniu-tangmian")


def _suspects(out, vid, d):
    return [f["properties"] for f in json.loads((date_dir(out, vid, d) / SUSPECTS).read_text())["features"]]


def test_every_suspect_says_persistent_or_watch_with_the_dates_that_voted(demo_out):
    """The development demo's black-odorous channel is a suspect on every date: on the first date
    every suspect is a watch (no history); from its second clear observation on the channel is
    persistent, flagged on each of its last 2-3 clear observations."""
    for vid in VILLAGES:
        ds = dates(demo_out, vid)
        assert len(ds) >= 3
        seen_persistent = 0
        for i, d in enumerate(ds):
            props = _suspects(demo_out, vid, d)
            assert props, (vid, d)
            for p in props:
                voted = p["persistence_dates"].split(",")
                observed = p["persistence_observations"].split(",")
                assert d in voted and set(voted) <= set(observed) <= set(ds[: i + 1]) and len(observed) <= 3
                assert p["persistence"] == ("persistent" if len(voted) >= 2 else "watch"), p
            if i == 0:
                assert {p["persistence"] for p in props} == {"watch"}
            else:
                # the channel, flagged on each of its last (up to 3) clear observations: persistent
                # once it was seen clear before (under the climatology's clouds a date may miss it)
                best = max(props, key=lambda p: len(p["persistence_dates"]))
                voted = best["persistence_dates"].split(",")
                assert voted == best["persistence_observations"].split(",") and voted[-1] == d
                assert best["persistence"] == ("persistent" if len(voted) >= 2 else "watch")
                seen_persistent += best["persistence"] == "persistent"
        assert seen_persistent >= len(ds) - 3  # persistent from the second clear observation on


def test_table_counts_persistent_and_watch_suspects(demo_out):
    for vid in VILLAGES:
        df = pd.read_parquet(village_dir(demo_out, vid) / "indicators.parquet")
        main = df[df["stream"] == "main"]
        assert (main["n_persistent_suspects"] + main["n_watch_suspects"] == main["n_black_odorous_suspects"]).all()
        assert (main["n_persistent_suspects"].iloc[1:] >= 1).all() and main["n_persistent_suspects"].iloc[0] == 0
        last = main.iloc[-1]
        listed = [s.split(": ")[1].split(" (")[0] for s in last["suspect_persistence"].split("; ")]
        assert listed.count("persistent") == last["n_persistent_suspects"]


def test_page_lists_suspects_with_their_persistence(demo_out):
    html = (village_dir(demo_out, VILLAGES[0]) / "index.html").read_text(encoding="utf-8")
    assert html.count("疑似黑臭水体 Black-odorous suspects</h4>") == len(dates(demo_out, VILLAGES[0]))
    assert "持续疑似 persistent" in html and "观察 watch (flagged once)" in html


def test_date_manifests_record_every_threshold_and_what_persistence_read(demo_out):
    """A demo run's manifests carry every black-odorous threshold used (each field of
    BlackOdorousParams at its value), the persistence settings, the earlier dates read, and the
    sun's position the cast-shadow guard used (a morning sun in the south-east at ~22 N)."""
    fields = {f.name for f in dataclasses.fields(BlackOdorousParams)}
    p = Params()
    for vid in VILLAGES:
        ds = dates(demo_out, vid)
        for i, d in enumerate(ds):
            m = json.loads((date_dir(demo_out, vid, d) / MANIFEST).read_text())
            bo = m["parameters"]["black_odorous"]
            assert set(bo) == fields and bo == p.black_odorous.as_dict()
            assert (m["parameters"]["persistence_window"], m["parameters"]["persistence_min_flags"]) == (3, 2)
            assert sorted(m["inputs"]["persistence_inputs"]) == ds[max(0, i - p.persistence_lookback): i]
            for s in _suspects(demo_out, vid, d):
                assert json.loads(s["bo_params"]) == bo
            # the sun the cast-shadow guard used (a bare demo date: 10:30 local solar time, indices.solar_position)
            sun = m["black_odorous_screening"]
            assert sun["cast_shadow_guard_applied"] == 1 and 0 < sun["sun_zenith"] < 70 and 90 < sun["sun_azimuth"] < 180


def test_page_states_the_screenings_blind_spots(demo_out):
    """The village page says what the black-odorous screening cannot see, from the thresholds the
    run recorded: the bright high-SPM type is not screened by default (issue #12: no rule separated
    it from the tuning demo's dim turbid river), nor water the mask misses."""
    from flows.publish.page import screening_limits

    html = (village_dir(demo_out, VILLAGES[0]) / "index.html").read_text(encoding="utf-8")
    assert html.count("What the black-odorous screening cannot see") == 1
    assert "bright, high-suspended-matter type of black-odorous water is not screened" in html
    on = {"parameters": {"black_odorous": {**Params().black_odorous.as_dict(), "bright_type": True}}}
    text = screening_limits(on)
    assert "screened only below reflectance 0.08 and with NIR/red &gt;= 0.4" in text and "is not screened" not in text
    assert screening_limits({}) == ""
    # the shadow item follows the recorded cast-shadow guard (on by default since version 9)
    assert "Shadows of houses and trees up to 20.0 m high are removed by the sun" in html  # (escaped apostrophe follows)
    off = {"parameters": {"black_odorous": {**Params().black_odorous.as_dict(), "cast_shadow_guard": False}}}
    assert "Building and tree shadows on water can still be called suspects." in screening_limits(off)
