"""Persistent black-odorous suspects scored against the demo truth (issue #12).

The flow gives every suspect its persistence (``indices.suspect_persistence``: ``persistent``
when at least ``Params.persistence_min_flags`` of its last ``Params.persistence_window`` clear
observations flag it, else ``watch``) from the earlier dates' written water bodies. Here the
same function runs on the earlier dates' classified bodies (what those files hold), date after
date, and the persistent suspects of at least 2,000 m2 are scored per water body:

* **precision**: a persistent suspect is correct when the truth's black-odorous water covers at
  least ``MIN_OVERLAP`` of its pixels on this date **and on every date that voted for it**
  (a body is truly black-odorous when the truth says so on those dates);
* **recall**: a truth black-odorous object (>= 2,000 m2) of this date is found when persistent
  suspects cover at least ``MIN_OVERLAP`` of it.

Only dates with at least ``persistence_min_flags - 1`` earlier dates are scored (on the first
date no body can be persistent); any list of dates works.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import indices

from .common import BO_NATIONAL_MIN_AREA_M2, MIN_OVERLAP, select_labels
from .metrics import ObjectScores, object_scores

EMPTY = ObjectScores(0, 0, 0, 0, MIN_OVERLAP)


def persistent_scores(classified, date: str, history: Sequence[tuple[str, object]], lab: np.ndarray,
                      bo_truth_by_date: dict[str, np.ndarray], valid: np.ndarray, *, window: int, min_flags: int,
                      min_pixels_truth: int) -> ObjectScores:
    """Per-body scores of one date's persistent suspects of >= 2,000 m2 (module docstring).

    ``classified``: the date's classified water bodies (``flows.products.date.classify_water``);
    ``history``: ``(date, classified bodies)`` of the earlier dates; ``lab``: the bodies' row
    position + 1 on the grid; ``bo_truth_by_date``: the truth's black-odorous water (clear
    pixels) of this date and the earlier ones."""
    if sum(1 for d, _ in history if str(d)[:10] < str(date)[:10]) < min_flags - 1:
        return EMPTY
    with_p = indices.suspect_persistence(classified, date, history, window=window, min_flags=min_flags)
    big = with_p["area_m2"].to_numpy(dtype="float64") >= BO_NATIONAL_MIN_AREA_M2
    persistent = (with_p["persistence"] == indices.PERSISTENT).to_numpy() & big
    truth = bo_truth_by_date[date]
    correct = 0
    for i in np.flatnonzero(persistent):
        pix = (lab == i + 1) & valid
        if not pix.any():
            continue
        votes = [d for d in str(with_p["persistence_dates"].iloc[i]).split(",") if d]
        correct += all(d in bo_truth_by_date and bo_truth_by_date[d][pix].mean() >= MIN_OVERLAP for d in [date, *votes])
    found = object_scores(select_labels(lab, persistent), truth, min_overlap=MIN_OVERLAP, valid=valid,
                          min_pixels_truth=min_pixels_truth)
    n_pred = int(sum(((lab == i + 1) & valid).any() for i in np.flatnonzero(persistent)))
    return ObjectScores(n_pred, int(correct), found.n_truth, found.n_truth_found, MIN_OVERLAP)
