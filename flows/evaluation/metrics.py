"""Scores of a map against a reference: per pixel (confusion counts, precision, recall, F1,
accuracy, IoU, Cohen's kappa) and per object (coverage matching). Pure NumPy, no I/O.

Definitions (the usual ones; e.g. Congalton & Green 2019, *Assessing the Accuracy of Remotely
Sensed Data*, 3rd ed., CRC Press):

* precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 P R / (P + R),
  accuracy = (TP + TN) / N, IoU (Jaccard) = TP / (TP + FP + FN);
* Cohen's kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement and p_e the agreement
  expected by chance from the two maps' class shares (Cohen 1960, Educ. Psychol. Meas.
  20(1): 37-46). Landis & Koch 1977 (Biometrics 33(1): 159-174) call 0.61-0.80 "substantial"
  and above 0.80 "almost perfect" agreement.

A ratio whose denominator is zero is NaN (e.g. precision with no positive prediction).

Object scores (``object_scores``) match by *coverage*, not one-to-one: a predicted object is
correct when at least ``min_overlap`` (default 0.5) of its pixels lie on the reference mask;
a reference object is found when at least ``min_overlap`` of its pixels lie on the predicted
mask. Precision = correct predicted objects / predicted objects; recall = found reference
objects / reference objects. Objects are 8-connected components unless label rasters are given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from skimage.measure import label as _sk_label

from ..errors import FlowsError


class ScoreError(FlowsError, ValueError):
    """Two rasters cannot be scored against each other (shapes differ, bad labels, bad options)."""


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean array (``skimage.measure.label``, connectivity 2)."""
    lab, n = _sk_label(np.asarray(mask, dtype=bool), connectivity=2, return_num=True)
    return lab.astype(np.int32), int(n)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


@dataclass(frozen=True)
class Confusion:
    """Pixel (or sample) confusion counts of a binary map against a reference, with the
    derived scores as properties."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.n)

    @property
    def iou(self) -> float:
        return _ratio(self.tp, self.tp + self.fp + self.fn)

    @property
    def kappa(self) -> float:
        n = self.n
        if not n:
            return float("nan")
        po = (self.tp + self.tn) / n
        pe = ((self.tp + self.fp) * (self.tp + self.fn) + (self.fn + self.tn) * (self.fp + self.tn)) / (n * n)
        if pe == 1.0:  # both maps constant and equal: perfect agreement, kappa undefined
            return float("nan")
        return (po - pe) / (1.0 - pe)

    def __add__(self, other: "Confusion") -> "Confusion":
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    def as_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "precision": self.precision,
                "recall": self.recall, "f1": self.f1, "accuracy": self.accuracy, "iou": self.iou,
                "kappa": self.kappa}


def _bool(a: Any, what: str) -> np.ndarray:
    arr = np.asarray(getattr(a, "values", a))
    if arr.dtype != bool:
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0) != 0
    return arr


def confusion(pred: Any, truth: Any, valid: Any | None = None) -> Confusion:
    """Confusion counts of the boolean map ``pred`` against ``truth`` over the pixels where
    ``valid`` is True (all pixels by default). NumPy arrays or DataArrays of the same shape;
    non-boolean input counts non-zero (NaN = False)."""
    p, t = _bool(pred, "pred"), _bool(truth, "truth")
    if p.shape != t.shape:
        raise ScoreError(f"confusion: prediction {p.shape} and reference {t.shape} differ in shape")
    if valid is not None:
        v = _bool(valid, "valid")
        if v.shape != p.shape:
            raise ScoreError(f"confusion: valid mask {v.shape} differs from {p.shape}")
        p, t = p[v], t[v]
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return Confusion(tp, fp, fn, int(p.size) - tp - fp - fn)


def iou(pred: Any, truth: Any, valid: Any | None = None) -> float:
    """Intersection over union (Jaccard index) of two boolean maps over ``valid``."""
    return confusion(pred, truth, valid).iou


def cohen_kappa(a: Any, b: Any, valid: Any | None = None) -> float:
    """Cohen's kappa of two boolean maps over ``valid`` (symmetric in ``a`` and ``b``)."""
    return confusion(a, b, valid).kappa


@dataclass(frozen=True)
class ObjectScores:
    """Object-level scores by coverage (see the module docstring)."""

    n_pred: int
    n_pred_correct: int
    n_truth: int
    n_truth_found: int
    min_overlap: float

    @property
    def precision(self) -> float:
        return _ratio(self.n_pred_correct, self.n_pred)

    @property
    def recall(self) -> float:
        return _ratio(self.n_truth_found, self.n_truth)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if math.isnan(p) or math.isnan(r) or p + r == 0:
            return float("nan") if (math.isnan(p) or math.isnan(r)) else 0.0
        return 2 * p * r / (p + r)

    def __add__(self, other: "ObjectScores") -> "ObjectScores":
        if other.min_overlap != self.min_overlap:
            raise ScoreError("cannot pool object scores with different min_overlap")
        return ObjectScores(self.n_pred + other.n_pred, self.n_pred_correct + other.n_pred_correct,
                            self.n_truth + other.n_truth, self.n_truth_found + other.n_truth_found, self.min_overlap)

    def as_dict(self) -> dict[str, float]:
        return {"n_pred": self.n_pred, "n_pred_correct": self.n_pred_correct, "n_truth": self.n_truth,
                "n_truth_found": self.n_truth_found, "min_overlap": self.min_overlap,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def _labels(a: Any, what: str, min_pixels: int) -> tuple[np.ndarray, int]:
    arr = np.asarray(getattr(a, "values", a))
    if arr.dtype == bool:
        lab, n = label(arr)
    else:
        lab = np.nan_to_num(arr.astype(np.float64), nan=0.0).astype(np.int64)
        if lab.min(initial=0) < 0:
            raise ScoreError(f"object_scores: {what} labels must be >= 0")
        n = int(lab.max(initial=0))
    if min_pixels > 1 and n:
        counts = np.bincount(lab.ravel(), minlength=n + 1)
        small = counts < min_pixels
        small[0] = False
        lab = np.where(small[lab], 0, lab)
    return lab, n


def _covered(lab: np.ndarray, n: int, other: np.ndarray, min_overlap: float) -> tuple[int, int]:
    """(objects present, objects with >= min_overlap of their pixels on ``other``)."""
    if n == 0:
        return 0, 0
    flat = lab.ravel()
    size = np.bincount(flat, minlength=n + 1)[1:]
    on = np.bincount(flat, weights=other.ravel().astype(np.float64), minlength=n + 1)[1:]
    present = size > 0
    ok = present & (on >= min_overlap * size - 1e-9)
    return int(present.sum()), int(ok.sum())


def object_scores(pred: Any, truth: Any, *, min_overlap: float = 0.5, valid: Any | None = None,
                  min_pixels_pred: int = 1, min_pixels_truth: int = 1) -> ObjectScores:
    """Object precision and recall by coverage (module docstring).

    ``pred`` and ``truth``: boolean masks (objects = 8-connected components) or integer label
    rasters (0 = background; e.g. water bodies rasterised with their row number + 1). Pixels
    outside ``valid`` are removed from both first (a boolean mask is labelled after that).
    Objects with fewer than ``min_pixels_pred`` / ``min_pixels_truth`` pixels are ignored
    (e.g. reference objects too small to be resolved).
    """
    if not 0 < min_overlap <= 1:
        raise ScoreError(f"object_scores: min_overlap must be in (0, 1], got {min_overlap}")
    p_arr = np.asarray(getattr(pred, "values", pred))
    t_arr = np.asarray(getattr(truth, "values", truth))
    if p_arr.shape != t_arr.shape:
        raise ScoreError(f"object_scores: prediction {p_arr.shape} and reference {t_arr.shape} differ in shape")
    if valid is not None:
        v = _bool(valid, "valid")
        p_arr = np.where(v, p_arr, 0).astype(p_arr.dtype)
        t_arr = np.where(v, t_arr, 0).astype(t_arr.dtype)
    p_lab, n_p = _labels(p_arr, "prediction", int(min_pixels_pred))
    t_lab, n_t = _labels(t_arr, "reference", int(min_pixels_truth))
    p_mask, t_mask = p_lab > 0, t_lab > 0
    n_pred, n_pred_ok = _covered(p_lab, n_p, t_mask, min_overlap)
    n_truth, n_truth_ok = _covered(t_lab, n_t, p_mask, min_overlap)
    return ObjectScores(n_pred, n_pred_ok, n_truth, n_truth_ok, float(min_overlap))


def coefficient_of_variation(values: Any) -> float:
    """Sample standard deviation (ddof=1) over the mean of the finite ``values``; NaN for
    fewer than two values or a zero mean."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2 or v.mean() == 0:
        return float("nan")
    return float(v.std(ddof=1) / abs(v.mean()))
