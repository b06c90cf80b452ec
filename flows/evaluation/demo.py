"""Scores against the demo's truth, per profile (``sensing.demo.profiles``): water per date,
black-odorous suspects per water body (all, and those of at least 2,000 m2; the persistent ones:
``bopersistence``), suspects on the
confounders (turbid river, algal ponds, cast shadows, flooded paddies).
The dates of the demo night's window (``common.demo_window``) that the flow processes are scored
and the counts pooled; the change products, against the same season, are scored by
``flows.evaluation.changes``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params
from flows.products.date import classify_water

from .bopersistence import EMPTY as NO_PERSISTENT, persistent_scores
from .common import (BO_NATIONAL_MIN_AREA_M2, BO_NATIONAL_PRECISION_TARGET, BO_NATIONAL_RECALL_TARGET,
                     BO_PRECISION_TARGET, BO_RECALL_TARGET, DEMO_SEED,
                     MIN_OVERLAP, MIN_TRUTH_PIXELS, WATER_IOU_TARGET, body_labels, conf_detail, demo_group, demo_window,
                     obj_detail, select_labels)
from .metrics import Confusion, ObjectScores, confusion, object_scores
from .report import Metric

@dataclass
class _DemoTally:
    water: list = field(default_factory=list)  # (date, Confusion)
    bo_bodies: ObjectScores = field(default_factory=lambda: ObjectScores(0, 0, 0, 0, MIN_OVERLAP))
    bo_pixels: Confusion = field(default_factory=lambda: Confusion(0, 0, 0, 0))
    national: ObjectScores = field(default_factory=lambda: ObjectScores(0, 0, 0, 0, MIN_OVERLAP))
    #: the same, classified on the truth water instead of the water mask (what the mask costs)
    national_truth_water: ObjectScores = field(default_factory=lambda: ObjectScores(0, 0, 0, 0, MIN_OVERLAP))
    by_type: dict = field(default_factory=dict)  # truth type -> ObjectScores (recall)
    #: persistent suspects >= 2,000 m2 (flows.evaluation.bopersistence), dates where persistence is possible
    persistent: ObjectScores = NO_PERSISTENT
    confounders: dict = field(default_factory=lambda: {k: 0 for k in CONFOUNDERS})
    n_bodies: int = 0


#: confounders (report name -> how its truth mask is made): a suspect body lying >= MIN_OVERLAP
#: on one counts as a false alarm on it
CONFOUNDERS = ("turbid river", "algal pond", "cast shadow", "flooded paddy")


def _confounder_masks(truth, ti: int, valid: np.ndarray) -> dict[str, np.ndarray]:
    names = {v: int(k) for k, v in truth["land_cover"].attrs.get("classes", {}).items()}
    lc = truth["land_cover"].values[ti]
    water, bo = truth["water"].values[ti], truth["black_odorous"].values[ti]
    shadow = truth["cast_shadow"].values[ti] if "cast_shadow" in truth else np.zeros_like(water)
    masks = {"turbid river": lc == names.get("turbid_river", -1), "algal pond": lc == names.get("algal_pond", -1),
             "cast shadow": shadow & water & ~bo, "flooded paddy": lc == names.get("flooded_paddy", -1)}
    if "flooded_paddy" in truth:  # paddies flooded at transplanting (the crop calendar)
        masks["flooded paddy"] = masks["flooded paddy"] | truth["flooded_paddy"].values[ti]
    return {k: m & valid for k, m in masks.items()}


def _demo_village(village, source, params: Params) -> _DemoTally:
    window = demo_window(source)
    scene = source.load(village, *window)
    # the dates the flow processes (valid fraction >= Params.min_valid_fraction), as it does
    scene = scene.isel(time=[i for i, f in enumerate(scene["valid_fraction"].values)
                             if f >= params.min_valid_fraction]).compute()
    truth = source.truth(village, *window)
    dates = [str(t)[:10] for t in scene["time"].values]
    tdates = [str(t)[:10] for t in truth["time"].values]
    lc_names = {v: int(k) for k, v in truth["land_cover"].attrs.get("classes", {}).items()}
    res = float(abs(scene.rio.resolution()[0]))
    min_national_px = int(np.ceil(BO_NATIONAL_MIN_AREA_M2 / (res * res) - 1e-9))
    tally = _DemoTally()
    previous = previous_t = None
    history: list = []  # (date, classified bodies) of the earlier dates: what persistence reads
    bo_by_date: dict[str, np.ndarray] = {}
    for i, date in enumerate(dates):
        ti = tdates.index(date)
        s = scene.isel(time=i)
        valid = indices.water_valid(s).values
        w = indices.water_mask(s, **params.water_kwargs())
        tally.water.append((date, confusion(w.values, truth["water"].values[ti], valid)))
        cl, _ = classify_water(s, w, xr.DataArray(valid, dims=("y", "x")), previous=previous,
                               params=params.black_odorous)
        previous = cl
        lab = body_labels(cl, s)
        suspect = (cl["status"] == "suspect_black_odorous").to_numpy()
        sus_lab = select_labels(lab, suspect)
        bo_truth = truth["black_odorous"].values[ti] & valid
        bo_by_date[date] = bo_truth
        tally.persistent = tally.persistent + persistent_scores(
            cl, date, history, lab, bo_by_date, valid, window=params.persistence_window,
            min_flags=params.persistence_min_flags, min_pixels_truth=min_national_px)
        history.append((date, cl))
        tally.bo_bodies = tally.bo_bodies + object_scores(
            sus_lab, bo_truth, min_overlap=MIN_OVERLAP, valid=valid, min_pixels_truth=MIN_TRUTH_PIXELS)
        tally.bo_pixels = tally.bo_pixels + confusion(sus_lab > 0, bo_truth, valid)
        big = suspect & (cl["area_m2"].to_numpy(dtype="float64") >= BO_NATIONAL_MIN_AREA_M2)
        tally.national = tally.national + object_scores(
            select_labels(lab, big), bo_truth, min_overlap=MIN_OVERLAP, valid=valid, min_pixels_truth=min_national_px)
        tw = xr.DataArray(truth["water"].values[ti] & valid, dims=("y", "x"), coords={"y": s["y"], "x": s["x"]})
        cl_t, _ = classify_water(s, tw, xr.DataArray(valid, dims=("y", "x")), previous=previous_t,
                                 params=params.black_odorous)
        previous_t = cl_t
        big_t = (cl_t["status"] == "suspect_black_odorous").to_numpy() & (cl_t["area_m2"].to_numpy(dtype="float64") >= BO_NATIONAL_MIN_AREA_M2)
        tally.national_truth_water = tally.national_truth_water + object_scores(
            select_labels(body_labels(cl_t, s), big_t), bo_truth, min_overlap=MIN_OVERLAP, valid=valid,
            min_pixels_truth=min_national_px)
        lc = truth["land_cover"].values[ti]
        for kind in ("black_odorous_water", "black_odorous_bright"):
            if kind in lc_names:
                s_t = object_scores(sus_lab, (lc == lc_names[kind]) & valid, min_overlap=MIN_OVERLAP, valid=valid,
                                    min_pixels_truth=min_national_px)
                tally.by_type[kind] = tally.by_type[kind] + s_t if kind in tally.by_type else s_t
        for name, mask in _confounder_masks(truth, ti, valid).items():
            tally.confounders[name] += object_scores(sus_lab, mask, min_overlap=MIN_OVERLAP, valid=valid).n_pred_correct
        tally.n_bodies += int(len(cl))

    return tally


def demo_metrics(villages: Sequence, *, source=None, params: Params = Params()) -> list[Metric]:
    """Scores on the demo's ground truth for each village, and pooled over them (scope ``all``);
    groups ``demo <what> [<profile>]`` (the source's profile, default development)."""
    from sensing.demo import DemoSource

    source = source or DemoSource(seed=DEMO_SEED)
    profile = getattr(source, "profile", "development")
    ds = f"demo seed {source.seed}, profile {profile}"
    g_water, g_bo = (demo_group(w, profile) for w in ("water", "black-odorous"))
    out: list[Metric] = []
    pool = _DemoTally()
    pool_water: list[float] = []
    for v in villages:
        t = _demo_village(v, source, params)
        for date, c in t.water:
            out.append(Metric(g_water, "water IoU", c.iou, WATER_IOU_TARGET, ">=", f"{v.id} {date}", ds,
                              f"water_mask ({params.water_method}) vs truth water, clear pixels", conf_detail(c)))
            pool_water.append(c.iou)
        out += _bo_metrics(t, v.id, ds, g_bo)
        pool = _pool(pool, t)
    if villages:
        n = len(villages)
        out.append(Metric(g_water, "water IoU (lowest date)", min(pool_water), WATER_IOU_TARGET, ">=", "all", ds,
                          f"lowest per-date IoU over {n} village(s) x dates",
                          f"mean {np.mean(pool_water):.3f} over {len(pool_water)} village-dates"))
        out += _bo_metrics(pool, "all", ds, g_bo)
    return out


def _pool(a: _DemoTally, b: _DemoTally) -> _DemoTally:
    def add(x: dict, y: dict) -> dict:
        return {k: x[k] + y[k] if k in x and k in y else x.get(k, y.get(k)) for k in {*x, *y}}

    return _DemoTally(water=a.water + b.water, bo_bodies=a.bo_bodies + b.bo_bodies, bo_pixels=a.bo_pixels + b.bo_pixels,
                      national=a.national + b.national, national_truth_water=a.national_truth_water + b.national_truth_water,
                      by_type=add(a.by_type, b.by_type), persistent=a.persistent + b.persistent,
                      confounders=add(a.confounders, b.confounders), n_bodies=a.n_bodies + b.n_bodies)


def _bo_metrics(t: _DemoTally, scope: str, ds: str, group: str) -> list[Metric]:
    obj, px, nat = t.bo_bodies, t.bo_pixels, t.national
    body = ("bodies classified suspect_black_odorous vs truth black-odorous water (both types); a body is correct "
            f"when >= {MIN_OVERLAP:g} of its pixels are black-odorous, a truth object (>= {MIN_TRUTH_PIXELS} px) "
            f"is found when >= {MIN_OVERLAP:g} of it lies in suspect bodies; pooled over dates")
    national = (f"as above, suspect bodies of area_m2 >= {BO_NATIONAL_MIN_AREA_M2:,.0f} against truth objects of >= "
                f"{BO_NATIONAL_MIN_AREA_M2:,.0f} m2 (the national list's threshold); pooled over dates")
    out = [
        Metric(group, "suspect precision per water body", obj.precision, BO_PRECISION_TARGET, ">=",
               scope, ds, body, obj_detail(obj, "suspect bodies")),
        Metric(group, "suspect recall per water body", obj.recall, BO_RECALL_TARGET, ">=",
               scope, ds, body, obj_detail(obj, "suspect bodies")),
        Metric(group, "suspect precision per water body >= 2000 m2", nat.precision, BO_NATIONAL_PRECISION_TARGET,
               ">=", scope, ds, national, obj_detail(nat, "suspect bodies")),
        Metric(group, "suspect recall per water body >= 2000 m2", nat.recall, BO_NATIONAL_RECALL_TARGET, ">=",
               scope, ds, national, obj_detail(nat, "suspect bodies")),
        Metric(group, "suspect recall per water body >= 2000 m2, truth water", t.national_truth_water.recall, None,
               ">=", scope, ds, "as the recall >= 2000 m2, the same classifier run on the truth water (clear pixels) "
               "instead of the water mask: what the water mask costs", obj_detail(t.national_truth_water, "suspect bodies")),
        Metric(group, "suspect pixel precision", px.precision, None, ">=", scope, ds,
               "pixels of suspect bodies vs truth black-odorous pixels", conf_detail(px)),
        Metric(group, "suspect pixel recall", px.recall, None, ">=", scope, ds,
               "pixels of suspect bodies vs truth black-odorous pixels", conf_detail(px)),
    ]
    pers = ("suspects of area_m2 >= 2,000 m2 that are persistent (indices.suspect_persistence: >= 2 of the last 3 "
            "clear observations flag them) vs truth black-odorous objects >= 2,000 m2; a persistent suspect is correct "
            f"when >= {MIN_OVERLAP:g} of it is black-odorous on this date and on every date that voted; dates with "
            "an earlier date only, pooled")
    if t.persistent.n_pred or t.persistent.n_truth:
        out += [Metric(group, "persistent suspect precision per water body >= 2000 m2", t.persistent.precision, None,
                       ">=", scope, ds, pers, obj_detail(t.persistent, "persistent suspect bodies")),
                Metric(group, "persistent suspect recall per water body >= 2000 m2", t.persistent.recall, None,
                       ">=", scope, ds, pers, obj_detail(t.persistent, "persistent suspect bodies"))]
    for kind, s in sorted(t.by_type.items()):
        if s.n_truth:
            out.append(Metric(group, f"recall of {kind} objects >= 2000 m2", s.recall, None, ">=", scope, ds,
                              f"truth {kind} objects (>= {BO_NATIONAL_MIN_AREA_M2:,.0f} m2) found by suspect bodies",
                              obj_detail(s, "suspect bodies")))
    for name in CONFOUNDERS:
        out.append(Metric(group, f"{name} bodies flagged suspect", float(t.confounders[name]), 0.0, "<=", scope, ds,
                          f"suspect bodies lying >= {MIN_OVERLAP:g} on {name} (truth), summed over dates",
                          "issue #12: no turbid, algal, shadowed or flooded-paddy body called a suspect"))
    return out
