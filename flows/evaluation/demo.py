"""Scores against the demo's truth: water per date and black-odorous suspects per water body
(the change products, against the same season: ``flows.evaluation.changes``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params
from flows.products.date import classify_water

from .common import BO_PRECISION_TARGET, BO_RECALL_TARGET, DEMO_SEED, DEMO_WINDOW, MIN_OVERLAP, MIN_TRUTH_PIXELS, WATER_IOU_TARGET, body_labels, conf_detail, obj_detail, select_labels
from .metrics import Confusion, ObjectScores, confusion, object_scores
from .report import Metric

@dataclass
class _DemoTally:
    water: list = field(default_factory=list)  # (date, Confusion)
    bo_bodies: ObjectScores = field(default_factory=lambda: ObjectScores(0, 0, 0, 0, MIN_OVERLAP))
    bo_pixels: Confusion = field(default_factory=lambda: Confusion(0, 0, 0, 0))
    turbid_fp: int = 0
    n_bodies: int = 0


def _demo_village(village, source, params: Params) -> _DemoTally:
    scene = source.load(village, *DEMO_WINDOW)
    # the dates the flow processes (valid fraction >= Params.min_valid_fraction), as it does
    scene = scene.isel(time=[i for i, f in enumerate(scene["valid_fraction"].values)
                             if f >= params.min_valid_fraction]).compute()
    truth = source.truth(village, *DEMO_WINDOW)
    dates = [str(t)[:10] for t in scene["time"].values]
    tdates = [str(t)[:10] for t in truth["time"].values]
    lc_names = {v: k for k, v in truth["land_cover"].attrs.get("classes", {}).items()}
    turbid_code = int(lc_names.get("turbid_river", 10))
    tally = _DemoTally()
    per_date: dict[str, dict[str, Any]] = {}
    previous = None
    for i, date in enumerate(dates):
        ti = tdates.index(date)
        s = scene.isel(time=i)
        valid = indices.water_valid(s).values
        w = indices.water_mask(s, **params.water_kwargs())
        tally.water.append((date, confusion(w.values, truth["water"].values[ti], valid)))
        cl, _ = classify_water(s, w, xr.DataArray(valid, dims=("y", "x")), previous=previous)
        previous = cl
        lab = body_labels(cl, s)
        suspect = (cl["status"] == "suspect_black_odorous").to_numpy()
        sus_lab = select_labels(lab, suspect)
        bo_truth = truth["black_odorous"].values[ti] & valid
        tally.bo_bodies = tally.bo_bodies + object_scores(
            sus_lab, bo_truth, min_overlap=MIN_OVERLAP, valid=valid, min_pixels_truth=MIN_TRUTH_PIXELS)
        tally.bo_pixels = tally.bo_pixels + confusion(sus_lab > 0, bo_truth, valid)
        turbid = (truth["land_cover"].values[ti] == turbid_code) & valid
        tally.turbid_fp += object_scores(sus_lab, turbid, min_overlap=MIN_OVERLAP, valid=valid).n_pred_correct
        tally.n_bodies += int(len(cl))
        per_date[date] = {"scene": s, "water": w, "valid": valid, "classified": cl, "suspect_ids": set(cl.loc[suspect, "wb_id"])}

    return tally


def demo_metrics(villages: Sequence, *, source=None, params: Params = Params()) -> list[Metric]:
    """Scores on the demo's ground truth for each village, and pooled over them (scope ``all``)."""
    from sensing.demo import DemoSource

    source = source or DemoSource(seed=DEMO_SEED)
    ds = f"demo seed {source.seed}"
    out: list[Metric] = []
    pool_bo = ObjectScores(0, 0, 0, 0, MIN_OVERLAP)
    pool_px = Confusion(0, 0, 0, 0)
    pool_water: list[float] = []
    turbid = 0
    for v in villages:
        t = _demo_village(v, source, params)
        for date, c in t.water:
            out.append(Metric("demo water", "water IoU", c.iou, WATER_IOU_TARGET, ">=", f"{v.id} {date}", ds,
                              f"water_mask ({params.water_method}) vs truth water, clear pixels", conf_detail(c)))
            pool_water.append(c.iou)
        out += _bo_metrics(t.bo_bodies, t.bo_pixels, t.turbid_fp, v.id, ds)
        pool_bo = pool_bo + t.bo_bodies
        pool_px = pool_px + t.bo_pixels
        turbid += t.turbid_fp
    if villages:
        n = len(villages)
        out.append(Metric("demo water", "water IoU (lowest date)", min(pool_water), WATER_IOU_TARGET, ">=", "all", ds,
                          f"lowest per-date IoU over {n} village(s) x dates",
                          f"mean {np.mean(pool_water):.3f} over {len(pool_water)} village-dates"))
        out += _bo_metrics(pool_bo, pool_px, turbid, "all", ds)
    return out


def _bo_metrics(obj: ObjectScores, px: Confusion, turbid_fp: int, scope: str, ds: str) -> list[Metric]:
    body = ("bodies classified suspect_black_odorous vs truth black-odorous water; a body is correct when "
            f">= {MIN_OVERLAP:g} of its pixels are black-odorous, a truth object (>= {MIN_TRUTH_PIXELS} px) "
            f"is found when >= {MIN_OVERLAP:g} of it lies in suspect bodies; pooled over dates")
    return [
        Metric("demo black-odorous", "suspect precision per water body", obj.precision, BO_PRECISION_TARGET, ">=",
               scope, ds, body, obj_detail(obj, "suspect bodies")),
        Metric("demo black-odorous", "suspect recall per water body", obj.recall, BO_RECALL_TARGET, ">=",
               scope, ds, body, obj_detail(obj, "suspect bodies")),
        Metric("demo black-odorous", "suspect pixel precision", px.precision, None, ">=", scope, ds,
               "pixels of suspect bodies vs truth black-odorous pixels", conf_detail(px)),
        Metric("demo black-odorous", "suspect pixel recall", px.recall, None, ">=", scope, ds,
               "pixels of suspect bodies vs truth black-odorous pixels", conf_detail(px)),
        Metric("demo black-odorous", "turbid-river bodies flagged suspect", float(turbid_fp), 0.0, "<=", scope, ds,
               f"suspect bodies >= {MIN_OVERLAP:g} on the turbid river (the known false positive of one-sided BOI)",
               "issue #4: no turbid-water false positive"),
    ]
