"""Scores against the demo's truth: water per date, black-odorous suspects per water body, and
the planted changes (vegetation loss, water gain, newly black-odorous bodies)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params
from flows.products.change import new_suspect_rows, water_change_polygons
from flows.products.date import classify_water

from .common import BO_PRECISION_TARGET, BO_RECALL_TARGET, CHANGE_PRECISION_TARGET, CHANGE_RECALL_TARGET, DEMO_SEED, DEMO_WINDOW, MIN_OVERLAP, MIN_TRUTH_PIXELS, WATER_IOU_TARGET, body_labels, conf_detail, obj_detail, select_labels
from .metrics import Confusion, ObjectScores, confusion, object_scores
from .report import Metric

@dataclass
class _DemoTally:
    water: list = field(default_factory=list)  # (date, Confusion)
    bo_bodies: ObjectScores = field(default_factory=lambda: ObjectScores(0, 0, 0, 0, MIN_OVERLAP))
    bo_pixels: Confusion = field(default_factory=lambda: Confusion(0, 0, 0, 0))
    turbid_fp: int = 0
    n_bodies: int = 0
    change: dict = field(default_factory=dict)  # kind -> ObjectScores


def _demo_village(village, source, params: Params) -> _DemoTally:
    scene = source.load(village, *DEMO_WINDOW).compute()
    truth = source.truth(village)
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

    d0, d1 = truth.attrs.get("change_from"), truth.attrs.get("change_to")
    if d0 in per_date and d1 in per_date:
        a, b = per_date[d0], per_date[d1]
        both = a["valid"] & b["valid"]
        veg = indices.ndvi_change(indices.ndvi(a["scene"]), indices.ndvi(b["scene"]),
                                  threshold=params.ndvi_change_threshold).compute()
        loss = indices.change_polygons(veg["loss"], veg["dndvi"], min_area_m2=params.change_min_area_m2)
        # the planted changes that remove vegetation: forest cleared to bare soil, pond dug on cropland
        planted = truth["vegetation_loss"].values | truth["water_gain"].values
        tally.change["vegetation_loss"] = object_scores(
            body_labels(loss, a["scene"]), planted, min_overlap=MIN_OVERLAP, valid=both)
        tally.change["vegetation_loss_forest_only"] = object_scores(
            body_labels(loss, a["scene"]), truth["vegetation_loss"].values, min_overlap=MIN_OVERLAP, valid=both)
        _, wpolys = water_change_polygons(a["water"], b["water"], xr.DataArray(a["valid"], dims=("y", "x")),
                                          xr.DataArray(b["valid"], dims=("y", "x")), params)
        gain = wpolys["gain"]
        tally.change["water_gain"] = object_scores(
            body_labels(gain, a["scene"]), truth["water_gain"].values, min_overlap=MIN_OVERLAP, valid=both)
        cl1 = b["classified"]
        cl0 = a["classified"]
        new_rows = new_suspect_rows(cl0[cl0["status"] == "suspect_black_odorous"],
                                    cl1[cl1["status"] == "suspect_black_odorous"])
        new = cl1["wb_id"].isin(set(new_rows["wb_id"]))
        tally.change["new_black_odorous"] = object_scores(
            select_labels(body_labels(cl1, b["scene"]), new.to_numpy()), truth["became_black_odorous"].values,
            min_overlap=MIN_OVERLAP, valid=both, min_pixels_truth=MIN_TRUTH_PIXELS)
    return tally


CHANGE_METHODS = {
    "vegetation_loss": ("NDVI loss polygons (dNDVI <= -{t}, >= {a:g} m2) vs the planted changes that remove "
                        "vegetation (forest cleared, pond dug on cropland)"),
    "vegetation_loss_forest_only": "the same loss polygons vs the forest clearing alone (truth `vegetation_loss`)",
    "water_gain": "water-gain polygons (water_change, >= {a:g} m2) vs truth `water_gain` (pond dug)",
    "new_black_odorous": ("bodies suspect on the later date, neither with a wb_id suspect on the earlier one nor "
                          "half covered by its suspects (flows.products.change.new_suspect_rows) vs truth `became_black_odorous`"),
}


def demo_metrics(villages: Sequence, *, source=None, params: Params = Params()) -> list[Metric]:
    """Scores on the demo's ground truth for each village, and pooled over them (scope ``all``)."""
    from sensing.demo import DemoSource

    source = source or DemoSource(seed=DEMO_SEED)
    ds = f"demo seed {source.seed}"
    out: list[Metric] = []
    pool_bo = ObjectScores(0, 0, 0, 0, MIN_OVERLAP)
    pool_px = Confusion(0, 0, 0, 0)
    pool_water: list[float] = []
    pool_change: dict[str, ObjectScores] = {}
    turbid = 0
    for v in villages:
        t = _demo_village(v, source, params)
        for date, c in t.water:
            out.append(Metric("demo water", "water IoU", c.iou, WATER_IOU_TARGET, ">=", f"{v.id} {date}", ds,
                              f"water_mask ({params.water_method}) vs truth water, clear pixels", conf_detail(c)))
            pool_water.append(c.iou)
        out += _bo_metrics(t.bo_bodies, t.bo_pixels, t.turbid_fp, v.id, ds)
        out += _change_metrics(t.change, v.id, ds, params)
        pool_bo = pool_bo + t.bo_bodies
        pool_px = pool_px + t.bo_pixels
        turbid += t.turbid_fp
        for k, s in t.change.items():
            pool_change[k] = pool_change[k] + s if k in pool_change else s
    if villages:
        n = len(villages)
        out.append(Metric("demo water", "water IoU (lowest date)", min(pool_water), WATER_IOU_TARGET, ">=", "all", ds,
                          f"lowest per-date IoU over {n} village(s) x dates",
                          f"mean {np.mean(pool_water):.3f} over {len(pool_water)} village-dates"))
        out += _bo_metrics(pool_bo, pool_px, turbid, "all", ds)
        out += _change_metrics(pool_change, "all", ds, params)
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


def _change_metrics(change: dict, scope: str, ds: str, params: Params) -> list[Metric]:
    out = []
    for kind, s in change.items():
        method = CHANGE_METHODS[kind].format(t=params.ndvi_change_threshold, a=params.change_min_area_m2,
                                             w=params.water_min_area_m2)
        tp = (CHANGE_PRECISION_TARGET, CHANGE_RECALL_TARGET) if kind != "vegetation_loss_forest_only" else (None, CHANGE_RECALL_TARGET)
        out.append(Metric("demo change", f"{kind} precision", s.precision, tp[0], ">=", scope, ds,
                          method + f"; object coverage >= {MIN_OVERLAP:g}", obj_detail(s, "polygons")))
        out.append(Metric("demo change", f"{kind} recall", s.recall, tp[1], ">=", scope, ds,
                          method + f"; object coverage >= {MIN_OVERLAP:g}", obj_detail(s, "polygons")))
    return out


