"""Change against the same season on real series (flows.evaluation.realchange): the Slovenia
Sentinel-2 crop cycle must not come out as vegetation loss (issue #13: at most 0.5 % of the
cultivated land and grassland), and the NAIP lakes' water change must lie where the lakes
changed (judged against an independent reference: NDWI > 0 on both dates, unambiguous pixels).
Numbers are parsed from each metric's detail and checked against the issue's targets."""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest

from flows.evaluation import realchange as RC

TARGET_PCT = 0.5  # issue #13: no crop cycle as loss; the demo's false-alarm bar, here per period
NOT_MET = "not met (docs/validation.md); a strict xfail fails once the target is met"


@pytest.fixture(scope="module")
def slovenia(realdata):
    return {(m.scope, m.name): m for m in RC.slovenia_change_metrics(realdata)}


@pytest.fixture(scope="module")
def naip(realdata):
    return {(m.scope, m.name): m for m in RC.naip_change_metrics(realdata)}


def _by_class(detail: str) -> dict[str, int]:
    return ast.literal_eval(re.search(r"confirmed m2 by class (\{[^}]*\})", detail).group(1))


@pytest.mark.parametrize("period", ["development 2016-H2", "held-out 2017"])
def test_slovenia_crop_cycle_is_not_loss_with_the_flows_land_cover(slovenia, period):
    """With the flow's land cover (cropland from the history's phenology) no cultivated or
    grassland pixel is confirmed as loss in either period. Trivially so: snow and leaf-off make
    the whole patch swing like a crop, and the phenology calls all of it cropland (said in
    docs/validation.md; the next test scores the loss rule alone)."""
    m = slovenia[(f"Slovenia {period}", "crop cycle as confirmed loss (% of cultivated + grassland)")]
    confirmed = _by_class(m.detail)
    assert confirmed["cultivated"] == confirmed["grassland"] == 0 and m.value <= TARGET_PCT
    share = float(re.search(r"cropland by phenology (\d+) % of the patch", m.detail).group(1))
    assert share >= 99  # the trivial reason, stated


def test_slovenia_loss_rule_alone_development_period(slovenia):
    """The loss rule on every pixel, no land-cover exclusion, where the model was chosen: no
    confirmed loss on the cultivated land or grassland."""
    m = slovenia[("Slovenia development 2016-H2",
                  "crop cycle as confirmed loss, no land-cover exclusion (% of cultivated + grassland)")]
    confirmed = _by_class(m.detail)
    assert confirmed["cultivated"] + confirmed["grassland"] == 0 and m.value <= TARGET_PCT


@pytest.mark.xfail(strict=True, reason=NOT_MET + ": 0.56 % on the held-out 2017 passes (1,000 m2 of grassland; "
                                                 "2.3 % of the patch, nearly all forest, on snowy L1C passes: no snow mask, and the series "
                                                 "carries NDVI and cloud probability only, no band for a snow test)")
def test_slovenia_loss_rule_alone_held_out(slovenia):
    m = slovenia[("Slovenia held-out 2017",
                  "crop cycle as confirmed loss, no land-cover exclusion (% of cultivated + grassland)")]
    assert m.value <= TARGET_PCT


def test_slovenia_series_has_no_band_for_a_snow_test(realdata):
    """Why the held-out Slovenia miss stays (docs/validation.md): a published snow test needs
    green and SWIR (NDSI = (G - SWIR1) / (G + SWIR1) > 0.4 with NIR > 0.11, Hall et al. 1995;
    Fmask's snow test, Zhu & Woodcock 2012), but the 68-date series carries NDVI and the cloud
    probability only. The 13-band scenes beside it are five of its summer-2015 passes: their
    NDVI from B08 and B04 equals a series date's NDVI to float precision, and none is in 2017."""
    import json

    root = realdata / RC.SLOVENIA
    assert sorted(p.name for p in (root / "TestEOPatch" / "data").glob("*.npy")) == ["CLP.npy", "NDVI.npy"]
    ref = np.load(root / "REFERENCE_SCENES.npy")  # (5, y, x, 13): B01..B12 with B8A and B10
    ndvi = np.load(root / "TestEOPatch" / "data" / "NDVI.npy")[..., 0]
    times = json.loads((root / "TestEOPatch" / "timestamps.json").read_text())
    matched = []
    for scene in ref:
        mine = (scene[..., 7] - scene[..., 3]) / (scene[..., 7] + scene[..., 3])  # NIR B08, red B04
        err = np.nanmean(np.abs(ndvi - mine[None]), axis=(1, 2))
        j = int(np.argmin(err))
        assert err[j] < 1e-5
        matched.append(times[j][:10])
    assert all("2015-07-01" <= d <= "2015-09-30" for d in matched), matched


@pytest.mark.parametrize("pair", ["2009->2015", "2015->2019"])
@pytest.mark.parametrize("kind", ["gain", "loss"])
def test_naip_water_change_agrees_with_an_independent_threshold(naip, pair, kind):
    """Each published water change of the same season between years lies, on at least 80 % of
    its area, where the fixed NDWI > 0 of both dates (a published threshold, not ours) sees the
    same change on unambiguous pixels."""
    m = naip[(f"NAIP {pair}", f"NAIP water {kind}: precision vs fixed NDWI > 0")]
    assert m.value >= 0.8, m


def test_naip_change_is_the_wet_year_and_lakes_not_scattered_pixels(naip):
    """2015 was wet (the water area rose by about 1.8 km2 between 2009 and 2015; 2015 and 2019
    within a few per cent): the gain 2009 -> 2015 is over 1 km2 and every change is either at
    a lake's shore or whole lakes filling or drying, which together make up the whole area."""
    num = r"([0-9.]+)"
    for pair, kind in (("2009->2015", "gain"), ("2015->2019", "gain"), ("2009->2015", "loss"), ("2015->2019", "loss")):
        d = naip[(f"NAIP {pair}", f"NAIP water {kind}: precision vs fixed NDWI > 0")].detail
        area = float(re.search(rf"{num} km2 {kind}", d).group(1))
        shore = float(re.search(rf"{num} % within 20 m", d).group(1)) / 100
        whole = float(re.search(rf"whole lakes \w+ \({num} km2\)", d).group(1))
        assert shore * area + whole == pytest.approx(area, abs=0.01), d
        if (pair, kind) == ("2009->2015", "gain"):
            assert area > 1.0
        else:
            assert area < 0.5
