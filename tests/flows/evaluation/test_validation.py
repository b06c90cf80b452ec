"""Validation with numbers: the scoring helpers (flows.evaluation.metrics), the demo-truth and
real-data scores of flows.evaluation, and the ``villagewatch validate`` command."""
from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pytest
import xarray as xr

import flows.evaluation as V
from flows.evaluation import common as C
from flows.evaluation import demo as D
from flows.evaluation import metrics as M
from flows.evaluation import spectra as S
from flows.evaluation import visible as VIS
from flows.evaluation import report as R
from flows.params import Params

VILLAGES = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei")


# --------------------------------------------------------------------------- metrics
def test_confusion_scores_known_values():
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 0], bool)
    truth = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0], bool)
    c = M.confusion(pred, truth)
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 1, 1, 5)
    assert c.precision == c.recall == 0.75 and c.f1 == 0.75
    assert c.accuracy == 0.8 and c.iou == 0.6
    # kappa: po 0.8, pe 0.4*0.4 + 0.6*0.6 = 0.52
    assert c.kappa == pytest.approx((0.8 - 0.52) / 0.48)
    valid = np.ones(10, bool)
    valid[2] = False  # drop the false positive
    assert M.confusion(pred, truth, valid).precision == 1.0
    assert M.iou(xr.DataArray(pred), truth) == 0.6 and M.cohen_kappa(truth, pred) == pytest.approx(c.kappa)
    assert (c + c).tp == 6 and c.as_dict()["f1"] == 0.75


def test_scores_undefined_ratios_are_nan():
    none = M.confusion(np.zeros(4, bool), np.zeros(4, bool))
    assert math.isnan(none.precision) and math.isnan(none.recall) and math.isnan(none.iou)
    assert none.accuracy == 1.0 and math.isnan(none.kappa)
    with pytest.raises(M.ScoreError, match="shape"):
        M.confusion(np.zeros(3, bool), np.zeros(4, bool))
    assert math.isnan(M.coefficient_of_variation([2.0]))
    assert M.coefficient_of_variation([1.0, 2.0, 3.0]) == pytest.approx(0.5)


def test_object_scores_by_coverage():
    truth = np.zeros((20, 20), bool)
    truth[1:5, 1:5] = True  # object A, 16 px
    truth[10:12, 10:12] = True  # object B, 4 px (too small when min_pixels_truth = 9)
    pred = np.zeros((20, 20), bool)
    pred[1:5, 1:3] = True  # covers half of A; itself fully on A
    pred[15:18, 15:18] = True  # a false object
    s = M.object_scores(pred, truth)
    assert (s.n_pred, s.n_pred_correct, s.n_truth, s.n_truth_found) == (2, 1, 2, 1)
    assert s.precision == 0.5 and s.recall == 0.5 and s.f1 == 0.5
    assert M.object_scores(pred, truth, min_pixels_truth=9).recall == 1.0
    assert M.object_scores(pred, truth, min_overlap=0.6).recall == 0.0
    # label rasters: one predicted body made of two parts counts once
    lab = np.zeros((20, 20), int)
    lab[1:5, 1:3] = 1
    lab[15:18, 15:18] = 1
    s2 = M.object_scores(lab, truth)
    assert s2.n_pred == 1 and s2.n_pred_correct == 0  # 8 of 17 px on the truth: under half
    pooled = s + s
    assert pooled.n_pred == 4 and pooled.precision == 0.5
    with pytest.raises(M.ScoreError, match="min_overlap"):
        M.object_scores(pred, truth, min_overlap=0)


def test_metric_verdicts():
    assert V.Metric("g", "m", 0.95, 0.9).verdict == "PASS"
    assert V.Metric("g", "m", 0.85, 0.9).verdict == "FAIL"
    assert V.Metric("g", "m", 1.0, 0.0, "<=").verdict == "FAIL"
    assert V.Metric("g", "m", 0.5).verdict == "-" and V.Metric("g", "m", 0.5).passed is None
    assert V.Metric("g", "m", float("nan"), 0.9).verdict == "n/a"
    assert V.Metric("g", "m", float("nan"), 0.9).as_dict()["value"] is None


# --------------------------------------------------------------------------- demo truth and spectra
DEV, EVAL = "development", "evaluation"
_OBJ = re.compile(r"(\d+)/(\d+) [a-z ]+ correct, (\d+)/(\d+) reference objects found \(coverage >= [0-9.]+\)")
_CONF = re.compile(r"TP ([\d,]+), FP ([\d,]+), FN ([\d,]+), TN ([\d,]+)")


def objects(m) -> tuple[int, int, int, int]:
    """(correct, predicted, found, reference) parsed from an object score's detail (the whole string)."""
    hit = _OBJ.fullmatch(m.detail)
    assert hit, m.detail
    return tuple(int(g) for g in hit.groups())


def pixels(m) -> tuple[int, int, int, int]:
    """(TP, FP, FN, TN) parsed from a confusion detail."""
    hit = _CONF.fullmatch(m.detail)
    assert hit, m.detail
    return tuple(int(g.replace(",", "")) for g in hit.groups())


#: evaluation-profile villages of the tests: two whose scores are typical of the eleven in
#: docs/validation.md (the tests' two development villages are the evaluation's easiest)
EVAL_VILLAGES = ("yingde-xiniu-tangmian", "zhongshan-guzhen-guyi")


@pytest.fixture(scope="module")
def report():
    from aoi.registry import load_villages

    # the change products are scored on the session's demo night (test_change_products_of_the_demo_night)
    return V.run_validation(load_villages(ids=list(VILLAGES)), realdata=None, profiles=(DEV,), testbed=False,
                            change=False)


@pytest.fixture(scope="module")
def eval_report():
    from aoi.registry import load_villages
    from sensing.demo import DemoSource

    return V.ValidationReport(tuple(D.demo_metrics(load_villages(ids=list(EVAL_VILLAGES)),
                                                   source=DemoSource(profile=EVAL))), profiles=(EVAL,))


def _get(report, what, name, profile=DEV, scope="all"):
    return report.get(C.demo_group(what, profile), name, scope)


@pytest.fixture(scope="module")
def usable_dates():
    """village id -> the default night's passes the flow processes (valid fraction >= the minimum)."""
    from aoi.registry import load_villages
    from sensing.demo import DemoSource

    src = DemoSource()
    return {v.id: int((src.load(v, *C.DEMO_WINDOW)["valid_fraction"] >= Params().min_valid_fraction).sum())
            for v in load_villages(ids=list(VILLAGES))}


def test_demo_water_iou_every_date(report, usable_dates):
    """docs: water IoU >= 0.9 on every processed date of every village (development); IoU from the counts."""
    rows = report.select(C.demo_group("water", DEV), "water IoU")
    assert len(rows) == sum(usable_dates.values()) >= 2 * 6 and {r.scope.split()[0] for r in rows} == set(VILLAGES)
    for r in rows:
        tp, fp, fn, _ = pixels(r)
        assert tp / (tp + fp + fn) >= C.WATER_IOU_TARGET, r


def test_development_black_odorous_per_water_body(report):
    p = _get(report, "black-odorous", "suspect precision per water body")
    r = _get(report, "black-odorous", "suspect recall per water body")
    # every body called suspect is black-odorous, every black-odorous object (the channel, and
    # the pond that turned, on every processed pass of the default window) found: with suspect
    # reaches splitting the water bodies (algorithm version 2)
    assert p.value == 1.0 and p.passed
    assert r.value == 1.0 and r.passed  # measured: 22 of 22 truth objects (date x village) found
    n = int(r.detail.split(", ")[1].split("/")[1].split(" ")[0])
    correct, predicted, found, reference = objects(r)
    assert found == reference == n and n >= 2 * 2 * 5  # two objects on >= 5 passes each
    assert _get(report, "black-odorous", "turbid river bodies flagged suspect").value == 0
    tp, fp, fn, _ = pixels(_get(report, "black-odorous", "suspect pixel precision"))
    assert fp == 0 and tp > 0


def test_change_products_of_the_demo_night(demo_night, demo_villages, demo_source):
    """Every change product the session's demo night published (alerts of every kind, every
    month's change polygons), its index page and its date products, scored against the truth
    with the validation's own scoring (flows.evaluation.changes)."""
    from flows.evaluation import changes as CH

    start, end = (dt.date.fromisoformat(d) for d in ("2025-11-01", "2025-12-03"))  # conftest's window
    m = CH.score_night(demo_night.out, demo_villages, demo_source, "night", start, end)
    m += CH.page_metrics(demo_night.out, demo_villages, demo_source, "night", start, end)
    r = V.ValidationReport(tuple(m))
    group = C.demo_group(CH.GROUP, DEV)
    worst = r.get(group, "false-alarm area, worst published product (% of village)", "all night")
    assert worst.value <= 0.5  # issue #13: at most 0.5 % of the village (measured 0.0: no false alarm at all)
    assert r.get(group, "crop calendar reported as change (m2)", "all night").value == 0.0
    assert r.get(group, "black-odorous suspect pixels on cropland", "all night").value == 0.0
    found = [f for f in r.select(group, "planted change found (share covered)") if not f.scope.startswith("all")]
    assert len(found) == 4 * len(demo_villages) and all(f.value >= 0.9 for f in found), found
    delays = [d for d in r.select(group, "confirmation delay (clear observations)") if not d.scope.startswith("all")]
    # confirmed on the second clear pass of the changed area after the change (n/a: not yet two)
    assert all(d.passed is not False for d in delays) and sum(d.value == 2 for d in delays) >= 3 * len(demo_villages)
    for d in delays:  # recounted from the detail: the clear passes after the change up to the confirmation
        hit = re.fullmatch(r"happened (\S+); clear passes after it: ([0-9, -]+); first (\S+), confirmed (\S+); "
                           r"(\d+)% of the change covered", d.detail)
        assert hit, d.detail
        happened, passes, confirmed = hit.group(1), hit.group(2).split(", "), hit.group(4)
        assert all(p > happened for p in passes)
        if confirmed != "None":
            assert sum(p <= confirmed for p in passes) <= CH.CONFIRM_DELAY_TARGET, d
        else:  # not confirmed only while fewer than two clear passes followed the change
            assert len(passes) < CH.CONFIRM_DELAY_TARGET, d
    page = r.get(group, "page vegetation loss / planted clearing", "all night")
    assert 0.9 <= page.value <= CH.PAGE_RATIO_TARGET  # measured 1.0: the clearing, not km2


def test_development_no_confounder_called_a_suspect(report):
    for name in D.CONFOUNDERS:
        m = _get(report, "black-odorous", f"{name} bodies flagged suspect", DEV)
        assert int(m.value) == 0, m


@pytest.mark.parametrize("name", ["algal pond", "turbid river", "flooded paddy", "cast shadow"])
def test_evaluation_no_confounder_suspect_in_two_villages(eval_report, name):
    """Issue #12 targets, evaluation profile: no algal (bloom included), turbid-river,
    flooded-paddy or cast-shadow body called a suspect (met on all eleven villages with the rules
    of version 9: 44 river and 7 paddy suspects with version 7's, 3 shadow suspects with version
    8's; docs/validation.md, whose table the results block checks in
    test_docs_issue12_table_is_the_results_block; seed 2025 has one flooded-paddy suspect)."""
    assert int(_get(eval_report, "black-odorous", f"{name} bodies flagged suspect", EVAL).value) == 0


NOT_MET = "not met (docs/validation.md); a strict xfail fails once the target is met"


def test_evaluation_precision_of_national_list_suspects(eval_report):
    """Issue #12 target, met on the evaluation profile: precision >= 0.9 per body of >= 2,000 m2,
    pooled over the eleven villages (1.000 on the two-year axis's default night, 0.935 on the 5-date
    axis; 0.931 with version 8's rules, 0.71 with version 7's:
    checked against the results block in test_docs_issue12_table_is_the_results_block). In these
    two villages 26 of 29 (0.897): at least 0.85 here, three false bodies at most."""
    correct, predicted, _, _ = objects(_get(eval_report, "black-odorous", "suspect precision per water body >= 2000 m2", EVAL))
    assert predicted >= 5 and correct / predicted >= 0.85 and predicted - correct <= 3


@pytest.mark.xfail(strict=True, reason=NOT_MET + ": 0.582 over the eleven villages on the two-year axis (0.525 with version 8's "
                                                 "rules, 0.28 with version 7's; seed 2028, never seen: 0.776; the opt-in whole-body "
                                                 "rule: 0.621 and 0.798): the bright type above max rho 0.04 is not screened "
                                                 "(switched on it calls the turbid river a suspect), dark ponds the mask misses "
                                                 "whole are not seen")
def test_evaluation_recall_of_national_list_bodies(eval_report):
    """Issue #12 target, evaluation profile: recall >= 0.9 per body of >= 2,000 m2."""
    _, _, found, reference = objects(_get(eval_report, "black-odorous", "suspect recall per water body >= 2000 m2", EVAL))
    assert reference >= 10 and found / reference >= C.BO_NATIONAL_RECALL_TARGET


def test_evaluation_dark_type_recall_and_what_the_mask_costs(eval_report):
    """docs: the dark type is found far more often than before (0.80 over the eleven villages on the two-year axis, 0.81 on the 5-date axis,
    0.72 with version 8's rules, 0.20 with version 7's; here at least half), and on the truth water the classifier
    finds no more than 0.1 more of the bodies >= 2,000 m2 than on the water mask (the mask no
    longer costs much recall; it cost 0.46 before)."""
    _, _, found, reference = objects(_get(eval_report, "black-odorous", "recall of black_odorous_water objects >= 2000 m2", EVAL))
    assert reference >= 10 and found / reference >= 0.5
    on_mask = objects(_get(eval_report, "black-odorous", "suspect recall per water body >= 2000 m2", EVAL))
    on_truth = objects(_get(eval_report, "black-odorous", "suspect recall per water body >= 2000 m2, truth water", EVAL))
    assert on_truth[3] == on_mask[3] and on_truth[2] / on_truth[3] - on_mask[2] / on_mask[3] <= 0.1


def test_evaluation_persistent_suspects_scored(eval_report):
    """docs: persistent suspects (>= 2 of the last 3 clear observations) are scored per body of
    >= 2,000 m2 on the dates after the first; in these two villages they are at least as precise
    as the single-date suspects (over the eleven villages on the two-year axis 0.960 against
    1.000: not everywhere; 1.000 against 0.935 on the 5-date axis) and find fewer of the
    black-odorous bodies (0.490), never more than the single-date suspects of the same dates."""
    pc, pp, pf, pr = objects(_get(eval_report, "black-odorous", "persistent suspect precision per water body >= 2000 m2", EVAL))
    sc, sp, sf, sr = objects(_get(eval_report, "black-odorous", "suspect precision per water body >= 2000 m2", EVAL))
    assert pp >= 5 and pc / pp >= C.BO_NATIONAL_PRECISION_TARGET and pc / pp >= sc / sp
    assert 0 < pr < sr and pf <= sf  # the first date is not scored; a persistent suspect is a suspect


def test_evaluation_truth_holds_every_confounder():
    """The evaluation profile's truth of a village has every confounder the metrics count
    (so a zero above is not vacuous), the development profile none of the new ones, and the two
    profiles are different realisations of the same village."""
    from aoi.registry import load_villages
    from sensing.demo import DemoSource

    v = load_villages(ids=[VILLAGES[0]])[0]
    ev, dev = DemoSource(profile=EVAL), DemoSource()
    truth = ev.truth(v)
    names = {n: int(c) for c, n in truth["land_cover"].attrs["classes"].items()}
    lc = truth["land_cover"].values
    for cls in ("turbid_river", "algal_pond", "flooded_paddy", "black_odorous_bright", "black_odorous_water"):
        assert (lc == names[cls]).sum() >= 9, cls
    assert (truth["cast_shadow"].values & truth["water"].values).any(axis=(1, 2)).sum() >= 1
    assert not (dev.truth(v)["land_cover"].values >= names["black_odorous_bright"]).any()
    assert not dev.truth(v)["cast_shadow"].values.any()
    a, b = dev.layout(v).feature("black_channel").geometry, ev.layout(v).feature("black_channel").geometry
    assert a.symmetric_difference(b).area > 0.5 * a.area
    assert ev.describe()["profile"] == EVAL and dev.describe()["profile"] == DEV


def test_tuning_profile_is_another_draw_of_the_frozen_evaluation_profile():
    """The black-odorous rules' development data (``tuning``) has the evaluation profile's settings
    and another salt, so another realisation of each village; the evaluation profile is frozen as
    it was first scored (salt 12, its settings; docs/validation.md: its before / after)."""
    from aoi.registry import load_villages
    from sensing.demo import PROFILES, DemoSource

    ev, tu = PROFILES[EVAL].as_dict(), PROFILES["tuning"].as_dict()
    assert ev == {"name": EVAL, "salt": 12, "supersample": 3, "mtf_sigma_px": 0.6, "adjacency": [0.01, 0.05],
                  "adjacency_sigma_m": 300.0, "haze": [-0.001, 0.006], "haze_angstrom": [0.5, 2.0], "noise_sd": 0.0007,
                  "confounders": True, "water_spectra": "published_ranges"}
    assert {k: v for k, v in tu.items() if k not in ("name", "salt")} == {k: v for k, v in ev.items() if k not in ("name", "salt")}
    assert tu["salt"] not in (None, ev["salt"])
    v = load_villages(ids=[VILLAGES[0]])[0]
    a = DemoSource(profile="tuning").layout(v).feature("black_channel").geometry
    b = DemoSource(profile=EVAL).layout(v).feature("black_channel").geometry
    assert a.symmetric_difference(b).area > 0.5 * a.area
    assert DemoSource().profile == DEV  # the default demo night stays on the development profile


def test_spectra_both_sides_of_every_threshold(report):
    """docs: the literature spectra get the expected decisions and every threshold flips between
    a spectrum just inside and one just outside it."""
    share = report.get("black-odorous spectra", "guarded decision correct (share of spectra)")
    sides = report.get("black-odorous spectra", "threshold sides correct (share)")
    assert share.value == 1.0 and sides.value == 1.0
    assert int(report.get("black-odorous spectra", "turbid spectra flagged suspect").value) == 0


def test_spectra_are_the_black_odorous_test_spectra():
    """The validation's literature spectra are those of tests/test_blackodorous.py, with the
    guarded decisions it expects."""
    from support.bo_spectra import EXPECTED, SPECTRA

    assert {k: v[0] for k, v in S.LITERATURE_SPECTRA.items()} == SPECTRA
    assert {k: v[1] for k, v in S.LITERATURE_SPECTRA.items()} == {k: e[-1] for k, e in EXPECTED.items()}


def test_report_is_json_and_markdown(report, tmp_path):
    d = json.loads(json.dumps(report.as_dict()))
    assert d["villages"] == sorted(VILLAGES) and d["n_failed"] == len(report.failed)
    assert {"group", "name", "value", "target", "passed", "verdict"} <= set(d["metrics"][0])
    md = V.results_markdown(report)
    assert md.startswith(R.MARK_START) and md.rstrip().endswith(R.MARK_END)
    assert "| meijiang-sanjiao-pankeng |" in md and "real data: not requested" in md


def test_qa_cloud_confidence_bits_decoded_by_sensing_masking():
    from sensing.masking import qa_bits_valid

    conf = np.array([0, 1, 2, 3])
    qa = xr.DataArray((conf << 14) | 0b10100, dims="x")  # other bits set too
    assert (~qa_bits_valid(qa, bits=(15,), zero_is_nodata=False)).values.tolist() == [False, False, True, True]


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real(realdata):
    metrics, skipped = V._real(str(realdata.resolve()), Params())
    return V.ValidationReport(metrics, skipped)


@pytest.mark.realdata
def test_itaipu_visible_water_against_labels(real):
    """Visible bands alone do not reach the F1 >= 0.95 hoped for: trees are as green-over-red as
    the reservoir. That is why the pipeline refuses RGB-only water masks."""
    fixed = real.get("real: Itaipu water", "water F1, (G-R)/(G+R) > 0", "(G-R)/(G+R) > 0")
    otsu = real.get("real: Itaipu water", "water F1, (G-R)/(G+R) > Otsu", "(G-R)/(G+R) > Otsu")
    assert 0.6 <= fixed.value < C.LABELLED_WATER_F1_TARGET  # measured 0.682
    assert 0.6 <= otsu.value < C.LABELLED_WATER_F1_TARGET  # measured 0.679
    tp, fp, fn, tn = pixels(fixed)
    assert fn == 0 and tp == 214 and fp >= 150  # all labelled water found; the misses are trees called water
    assert real.get("real: Itaipu water", "pipeline refuses visible-only water (1 = refused)", "pipeline").value == 1


@pytest.mark.realdata
def test_itaipu_visible_candidates_need_atmospheric_correction(real):
    """Blue-dominance candidates separate the clear reservoir from trees only on dark-object-
    subtracted reflectance (Chavez 1988); on TOA every colour candidate calls trees water, and
    darkness finds no bimodal histogram (the reservoir is brighter than the forest)."""
    def f1(name):
        return real.get("real: Itaipu water", f"water F1, {name}", name).value

    for label in ("(B-R)/(B+R)", "blue chromatic coordinate"):
        assert f1(f"{label}, TOA") < 0.7  # measured 0.679 each: trees called water
        # measured 0.998 and 0.986 (TP 213, FP 0 / 5, FN 1) with the clean-up scaled to the pixel
        # size (no opening at 30 m); 0.998 each with the former 3x3 opening
        assert f1(f"{label}, DOS") >= 0.98
    assert f1("(B-R)/(B+R), DOS 1 %") < f1("(B-R)/(B+R), DOS")  # 0.938: depends on the dark object
    assert f1("(G-R)/(G+R), DOS") < 0.7  # measured 0.679
    assert f1("HSV value (darkness), DOS") == 0.0 and f1("HSV value (darkness), TOA") == 0.0


@pytest.mark.realdata
def test_naip_visible_candidates_disagree_with_ndwi(real):
    for label in ("(B-R)/(B+R)", "blue chromatic coordinate"):
        rows = real.select("real: NAIP water", f"kappa NDWI vs visible {label}, DOS")
        assert len(rows) == 3 and all(abs(r.value) < 0.1 < C.AGREEMENT_KAPPA_TARGET for r in rows)  # measured <= 0.03


def test_drone_visible_candidates_miss_the_bar(report):
    """No visible candidate reaches water IoU 0.8 on the demo drone: the blue rules miss the
    turbid river, (G-R)/(G+R) calls paddy water, darkness takes crops or nothing."""
    rows = report.select("drone water (visible, demo)")
    assert len(rows) == 2 * len(VIS.VISIBLE_CANDIDATES)
    assert all(r.value < C.DRONE_VISIBLE_IOU_TARGET for r in rows)
    best = max(r.value for r in rows)
    # measured 0.471: (B-R)/(B+R), Hongwei (no turbid river); 0.585 before Otsu's threshold was put
    # mid-gap (indices.water.otsu_value) instead of at the first bin of the plateau
    assert 0.4 < best < C.DRONE_VISIBLE_IOU_TARGET
    pankeng = report.get("drone water (visible, demo)", "water IoU, (B-R)/(B+R)", "meijiang-sanjiao-pankeng (B-R)/(B+R)")
    share = re.search(r"called water: turbid_river ([0-9.]+),", pankeng.detail)
    assert float(share.group(1)) == 0.0 and pankeng.value < 0.2  # measured 0.139


@pytest.mark.realdata
def test_naip_water_area_and_agreement(real):
    kappas = real.select("real: NAIP water", "kappa NDWI edge-Otsu vs NDWI > 0")
    # measured 0.944, 0.845, 0.881 with no opening at 5 m (clean-up scaled to the pixel size: the
    # former 3x3 opening deleted every channel under 15 m); 0.952, 0.880, 0.893 with it
    assert len(kappas) == 3 and all(k.value >= 0.8 for k in kappas)
    cv = real.get("real: NAIP water", "water area coefficient of variation", "3 dates")
    assert 0.25 < cv.value < 0.4  # measured 0.327: 2009 is a dry year (2.0 km2), 2015/2019 ~3.8-3.9 km2
    ratio = real.get("real: NAIP water", "2009->2015 area ratio, edge-Otsu / fixed", "3 dates")
    assert 0.85 < ratio.value < 1.15  # the change is in the water, not in the threshold
    areas = [m.value for m in real.select("real: NAIP water", "water area km2")]
    assert abs(areas[2] - areas[1]) / areas[1] < 0.05


@pytest.mark.realdata
def test_cloud_masks_agree(real):
    s2 = real.get("real: cloud masks", "S2 L1C kappa CLP>=0.4 vs CLM", "Slovenia")
    l8 = real.get("real: cloud masks", "L8 kappa BQA cloud vs Fmask tests", "Landsat-8")
    assert s2.value >= 0.9  # measured 0.929
    assert l8.value >= 0.65 >= C.AGREEMENT_KAPPA_TARGET  # measured 0.682
    assert not real.skipped


# --------------------------------------------------------------------------- command line
def test_cli_validate_writes_markdown_and_json(tmp_path, capsys):
    from flows.cli import main

    doc = tmp_path / "validation.md"
    doc.write_text(f"# Validation\n\nprose before\n\n{R.MARK_START}\nold numbers\n{R.MARK_END}\n\nprose after\n")
    out_json = tmp_path / "v.json"
    rc = main(["validate", "--villages", VILLAGES[0], "--no-realdata", "--no-testbed", "--no-change", "--out-md", str(doc),
               "--json", str(out_json)])
    assert rc == 0
    printed = capsys.readouterr().out
    data = json.loads(out_json.read_text())
    assert data["villages"] == [VILLAGES[0]] and data["profiles"] == [DEV]
    # the closing line's counts are the JSON's: targets = metrics with a target
    met, total, missed = map(int, re.search(r"^(\d+) of (\d+) targets met, (\d+) missed", printed, re.M).groups())
    assert total == sum(m["target"] is not None for m in data["metrics"]) and missed == data["n_failed"]
    assert met + missed == total
    text = doc.read_text()
    assert text.startswith("# Validation\n\nprose before") and text.rstrip().endswith("prose after")
    assert "old numbers" not in text
    row = re.search(r"^\| demo water \[development\] \| water IoU \(lowest date\) \| all \| ([0-9.]+) \|", text, re.M)
    assert float(row.group(1)) >= C.WATER_IOU_TARGET
    # --strict exits 1: the drone's visible-water candidates miss their bar in this village
    # (test_drone_visible_candidates_miss_the_bar)
    assert main(["validate", "--villages", VILLAGES[0], "--no-realdata", "--no-testbed", "--no-change", "--strict"]) == 1


def test_docs_validation_has_the_results_section():
    text = (C.REPO / "docs" / "validation.md").read_text()
    assert R.MARK_START in text and R.MARK_END in text
    assert "blackodorous.md" in text


def test_cli_validate_strict_exits_1_on_a_missed_target(monkeypatch, capsys):
    from flows.cli import main

    monkeypatch.setattr(D, "WATER_IOU_TARGET", 1.01)  # no real mask reaches IoU > 1
    assert main(["validate", "--villages", "haifeng-haicheng-zongliao", "--no-realdata", "--no-testbed", "--no-change", "--strict"]) == 1
    missed = re.search(r"^\d+ of \d+ targets met, (\d+) missed", capsys.readouterr().out, re.M)
    assert int(missed.group(1)) >= 5  # every date's water IoU (no drone in this village)


# --------------------------------------------------------------------------- docs/validation.md says what was measured
def _results_rows(text: str) -> dict[tuple[str, str, str], list[str]]:
    block = text.split(R.MARK_START, 1)[1].split(R.MARK_END, 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 7:
            rows[(cells[0], cells[1], cells[2])] = cells[3:]
    return rows


def test_docs_issue12_table_is_the_results_block():
    """Each number of the issue #12 table in docs/validation.md is the one its results block
    (written by `villagewatch validate --profile development,tuning,evaluation --out-md`)
    measured, on the evaluation and the tuning profiles, and each verdict follows from the
    target (a dash for the descriptive rows)."""
    text = (C.REPO / "docs" / "validation.md").read_text(encoding="utf-8")
    rows = _results_rows(text)
    g = C.demo_group("black-odorous", EVAL)
    prose = text.split("### Black-odorous suspects: the issue #12 targets", 1)[1].split("What changed in version 9, measured", 1)[0]

    def claimed(label):
        line = next(ln for ln in prose.splitlines() if ln.startswith(f"| {label} |"))
        return line.split("|")[2], line.split("|")[3].strip()

    checks = [("precision ≥ 0.9 per body of ≥ 2,000 m²", "suspect precision per water body >= 2000 m2", 0.9, ">="),
              ("recall ≥ 0.9 per body of ≥ 2,000 m²", "suspect recall per water body >= 2000 m2", 0.9, ">="),
              ("no algal body called a suspect", "algal pond bodies flagged suspect", 0, "<="),
              ("no shadowed body called a suspect", "cast shadow bodies flagged suspect", 0, "<="),
              ("no turbid body called a suspect", "turbid river bodies flagged suspect", 0, "<="),
              ("no flooded-paddy body called a suspect", "flooded paddy bodies flagged suspect", 0, "<="),
              ("(diagnostic) recall ≥ 2,000 m² on the truth water instead of the water mask",
               "suspect recall per water body >= 2000 m2, truth water", None, None),
              ("persistent suspects: precision per body of ≥ 2,000 m²",
               "persistent suspect precision per water body >= 2000 m2", None, None),
              ("persistent suspects: recall per body of ≥ 2,000 m²",
               "persistent suspect recall per water body >= 2000 m2", None, None)]
    tuning = C.demo_group("black-odorous", "tuning")
    for label, metric, target, op in checks:
        value = float(rows[(g, metric, "all")][0])
        cell, verdict = claimed(label)
        assert float(re.search(r"\*\*([0-9.]+)\*\*|^ *([0-9.]+)", cell).group(1) or
                     re.search(r"^ *([0-9.]+)", cell).group(1)) == pytest.approx(value, abs=0.005), label
        met = None if target is None else value >= target if op == ">=" else value <= target
        assert verdict == {True: "met", False: "**not met**", None: "-"}[met], label
        if metric.endswith("2000 m2") or metric.startswith("persistent"):
            n = re.search(r"\((\d+) of (\d+)", cell).groups()
            assert int(n[0]) / int(n[1]) == pytest.approx(value, abs=0.0005), label
        # the tuning column: "before → after", after = the results block's tuning profile
        tuned = next(ln for ln in prose.splitlines() if ln.startswith(f"| {label} |")).split("|")[5]
        after = float(re.search(r"→ *\**([0-9.]+)", tuned).group(1))
        assert after == pytest.approx(float(rows[(tuning, metric, "all")][0]), abs=0.0005), label


def test_docs_testbed_auc_is_a_fresh_run():
    """The test bed's AUC and accuracies in docs/validation.md, per method and sensor (GF-2
    included), are what the test bed measures now."""
    from flows.evaluation import testbed as TB

    text = (C.REPO / "docs" / "validation.md").read_text(encoding="utf-8")
    table = text.split("### Spectral test bed: black-odorous (both types) vs all other water", 1)[1]
    lines = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| sensor")]
    doc = {tuple(c.strip() for c in ln.strip("|").split("|")[:2]): [c.strip() for c in ln.strip("|").split("|")[2:5]]
           for ln in lines[: 3 * len(TB.METHODS)]}
    rows = [r for r in TB.testbed_rows(positives={"black_odorous (both)": TB.BLACK_CLASSES}) if r.negative == "all"]
    assert {r.sensor for r in rows} == {"sentinel-2a-msi", "landsat-8-oli", "gf-2-pms"}
    assert len(doc) == len(rows) == 3 * len(TB.METHODS)
    for r in rows:
        auc, best, default = doc[(r.sensor, r.method)]
        assert float(auc) == pytest.approx(r.auc, abs=5e-4) and float(best) == pytest.approx(r.accuracy_best, abs=5e-4)
        assert default == "n/a" if r.accuracy_default is None else float(default) == pytest.approx(r.accuracy_default, abs=5e-4)


def test_docs_change_targets_are_the_results_block():
    """Issue #13 on both profiles, as docs/validation.md's results block measured them (written by
    `villagewatch validate --profile development,tuning,evaluation --out-md`): in every window the
    worst published change product's false alarm is at most 0.5 % of the village and every
    planted change confirmed within 2 clear observations (n/a: fewer than two clear passes left);
    the page's vegetation loss is about the clearing (at most 1.5 times it); and the prose's
    held-out numbers are the block's."""
    from flows.evaluation import changes as CH

    text = (C.REPO / "docs" / "validation.md").read_text(encoding="utf-8")
    rows = _results_rows(text)
    fa = "false-alarm area, worst published product (% of village)"
    for profile in (DEV, EVAL):
        g = C.demo_group(CH.GROUP, profile)
        for window in CH.CHANGE_WINDOWS:
            value, target, verdict = rows[(g, fa, f"all {window}")][:3]
            assert float(value) <= 0.5 and target == "<= 0.500" and verdict == "PASS", (profile, window)
        delay = rows[(g, "confirmation delay (clear observations)", f"all {next(iter(CH.CHANGE_WINDOWS))}")]
        assert float(delay[0]) <= 2 and delay[2] == "PASS"
        done, total = map(int, re.match(r"(\d+)/(\d+) confirmed within 2", delay[3]).groups())
        pending = int(re.search(r"; (\d+) with fewer than two clear passes left", delay[3]).group(1))
        assert total == 4 * 11 and done + pending == total, delay
        page = rows[(g, "page vegetation loss / planted clearing", f"all {next(iter(CH.CHANGE_WINDOWS))}")]
        assert 0.9 <= float(page[0]) <= 1.5
    # issue #13 round 4's table (the current version's column after each arrow): development and
    # evaluation seed 2024 (its 2nd and 4th columns; the tuning profile's is the 3rd)
    table = text.split("- **Issue #13 round 4 (algorithm version 14)", 1)[1].split("Windows: default night", 1)[0]
    calendar = "crop calendar reported as change (m2)"
    for label, metric, tol in (("| worst false alarm, % of village", fa, 0.0005),
                               ("| crop calendar published as change, m²", calendar, 0.5)):
        row = next(ln.strip() for ln in table.splitlines() if ln.strip().startswith(label)).split("|")
        for profile, cell in ((DEV, row[2]), (EVAL, row[4])):
            claimed = [float(v.replace(",", "")) for v in re.search(r"→ \*\*([0-9., /]+)\*\*", cell).group(1).split(" / ")]
            g = C.demo_group(CH.GROUP, profile)
            measured = [float(rows[(g, metric, f"all {w}")][0].replace(",", "")) for w in CH.CHANGE_WINDOWS]
            assert claimed == pytest.approx(measured, abs=tol), (label, profile)
