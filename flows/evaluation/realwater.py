"""Water masks on real labelled scenes: the pipeline's rule against a plain NIR threshold.

For every real scene with independent water labels (``tests/data/<name>/``, and the shared
real-data folder where a scene lives there), this runs the pipeline's water mask
(``indices.water_mask`` with ``Params().water_kwargs()`` on the scene's own pixel size), the
rule the nightly used before (``BEFORE_KWARGS``) and two plain NIR thresholds, and scores each
per labelled pixel: precision, recall, F1, IoU (``confusion``).

* **Scored pixels**: the labelled pixels of each scene (``flows.evaluation.realscenes``: the
  scenes, their roles, sources and labels, and which pixels are labelled), where the water
  index is finite.
* **NIR baseline** (the issue's "plain NIR threshold"): water where NIR reflectance
  < ``NIR_WATER_MAX`` = 0.10 (water reflects under 0.05-0.10 in the NIR, land above; e.g. the
  NIR test of Fmask's water rule, Zhu & Woodcock 2012, uses 0.11 with NDVI < 0.01). Otsu on
  NIR is also reported (``nir_otsu``); it is not the baseline, as land classes dominate an
  NIR histogram and Otsu splits them rather than water from land.
* **Spectra** (independent samples, not an image) are thresholded without spatial clean-up.

``score_all`` returns the scores; ``markdown_table`` writes them for docs/validation.md.
Which scene set which rule (development) and which only reports (held-out) is in
``realscenes.SCENES`` and docs/validation.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr

import indices
from flows.params import Params

from .common import DEFAULT_REALDATA
from .metrics import Confusion, confusion
from .realscenes import NOT_SCORED, SCENES, TESTS_DATA, Labelled, LabelledScene, MissingSceneData

#: the issue's target for water on every real labelled scene
REAL_WATER_F1_TARGET = 0.90

#: the NIR baseline: water where NIR reflectance < 0.10
NIR_WATER_MAX = 0.10
#: the water mask of the nightly before issue #11 (MNDWI/NDWI edge-Otsu, fixed 0 fallback,
#: 400 m2 minimum area with no pixel floor, no opening). Otsu itself is today's
#: (``indices.water.otsu_value``, mid-gap): where the old skimage value differed (the spectra,
#: F1 0.987 then) docs/validation.md, "Water on real labelled scenes" gives the number measured on the old code.
BEFORE_KWARGS = {"method": "edge_otsu", "fallback_rule": "fixed", "fallback": 0.0, "min_area_m2": 400.0,
                 "min_pixels": 1, "opening_radius_px": 0}
METHODS = ("pipeline", "before", "nir<0.10", "nir_otsu")


@dataclass(frozen=True)
class WaterScore:
    """One method on one scene: the confusion counts and scores over the labelled pixels."""

    scene: str
    method: str
    tp: int
    fp: int
    fn: int
    tn: int
    detail: str = ""

    @property
    def confusion(self) -> Confusion:
        return Confusion(self.tp, self.fp, self.fn, self.tn)

    @property
    def precision(self) -> float:
        return self.confusion.precision

    @property
    def recall(self) -> float:
        return self.confusion.recall

    @property
    def f1(self) -> float:
        return self.confusion.f1

    @property
    def iou(self) -> float:
        return self.confusion.iou

    @property
    def false_water_share(self) -> float:
        """FP / (FP + TN): the share of labelled non-water called water."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


# --------------------------------------------------------------------------- scoring
def _nir(ds: xr.Dataset) -> np.ndarray:
    return ds[indices.nir_band(ds)].values


def pipeline_kwargs(params: Params, spatial: bool) -> dict:
    """``params.water_kwargs()``, without spatial clean-up for independent samples."""
    kw = params.water_kwargs()
    if not spatial:
        kw = {**kw, "min_area_m2": 0.0, "min_pixels": 1, "opening_radius_px": 0, "max_hole_m2": 0.0}
    return kw


def _score(name: str, method: str, pred: np.ndarray, lab: Labelled, valid: np.ndarray, detail: str) -> WaterScore:
    c = confusion(pred, lab.water, (lab.water | lab.other) & valid)
    return WaterScore(name, method, c.tp, c.fp, c.fn, c.tn, detail)


def _thr(w: xr.DataArray) -> str:
    return f"{w.attrs['water_index']} {w.attrs['threshold_method']} {w.attrs['threshold']:.3f}"


def score_scene(scene: LabelledScene, lab: Labelled, params: Params = Params()) -> list[WaterScore]:
    """The four ``METHODS`` on one loaded scene."""
    from skimage.filters import threshold_otsu

    valid = indices.water_valid(lab.scene).values
    out = []
    for method, kw in (("pipeline", pipeline_kwargs(params, scene.spatial)),
                       ("before", BEFORE_KWARGS if scene.spatial else {**BEFORE_KWARGS, "min_area_m2": 0.0})):
        w = indices.water_mask(lab.scene, **kw)
        out.append(_score(scene.name, method, w.values, lab, valid, _thr(w)))
    nir = _nir(lab.scene)
    finite = np.isfinite(nir)
    out.append(_score(scene.name, "nir<0.10", finite & (np.nan_to_num(nir, nan=1.0) < NIR_WATER_MAX), lab, valid,
                      f"NIR < {NIR_WATER_MAX:g}"))
    t = float(threshold_otsu(nir[finite]))
    out.append(_score(scene.name, "nir_otsu", finite & (np.nan_to_num(nir, nan=1.0) < t), lab, valid,
                      f"NIR < {t:.3f} (Otsu)"))
    return out


def score_all(params: Params = Params(), *, data_dir: Path = TESTS_DATA, realdata: Path | None = DEFAULT_REALDATA,
              scenes: Sequence[LabelledScene] = SCENES,
              labelled: dict[str, Labelled] | None = None) -> tuple[list[WaterScore], dict[str, str]]:
    """Scores of every scene whose data are here, and the reason for each scene skipped
    (``labelled``: scenes already loaded, by name)."""
    scores: list[WaterScore] = []
    skipped: dict[str, str] = {}
    for s in scenes:
        try:
            lab = (labelled or {}).get(s.name) or s.load(Path(data_dir), Path(realdata) if realdata is not None
                                                          else Path("/nonexistent"))
        except MissingSceneData as exc:
            skipped[s.name] = str(exc)
            continue
        scores += score_scene(s, lab, params)
    return scores, skipped


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown_table(scores: Sequence[WaterScore], scenes: Sequence[LabelledScene] = SCENES,
                   skipped: dict[str, str] | None = None) -> str:
    """One row per scene and method: role, sensor, resolution, P, R, F1, IoU, false-water share,
    counts; then the scenes skipped and why."""
    meta = {s.name: s for s in scenes}
    lines = ["| scene | role | sensor | m | method | precision | recall | F1 | IoU | false water | TP / FP / FN / TN | how |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in scores:
        s = meta.get(r.scene)
        lines.append(" | ".join([
            f"| {r.scene}", s.role if s else "", s.sensor if s else "", f"{s.resolution_m:g}" if s else "",
            r.method, _fmt(r.precision), _fmt(r.recall), _fmt(r.f1), _fmt(r.iou), _fmt(r.false_water_share),
            f"{r.tp:,} / {r.fp:,} / {r.fn:,} / {r.tn:,}", r.detail.replace("|", "\\|"),
        ]) + " |")
    for name, why in {**NOT_SCORED, **(skipped or {})}.items():
        lines.append(f"\nNot scored: **{name}**: {why}")
    return "\n".join(lines) + "\n"


def parse_markdown_table(text: str) -> dict[tuple[str, str], dict[str, float]]:
    """The numbers of ``markdown_table`` back: {(scene, method): {"precision", "recall", "f1", "iou"}}."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 12 or cells[0] in ("scene", "---"):
            continue
        out[(cells[0], cells[4])] = {k: (float("nan") if v == "n/a" else float(v))
                                     for k, v in zip(("precision", "recall", "f1", "iou"), cells[5:9])}
    return out


#: markers of the summary table in docs/validation.md (written by :func:`replace_summary`)
SUMMARY_START = "<!-- realwater:summary:start (flows.evaluation.realwater.summary_markdown) -->"
SUMMARY_END = "<!-- realwater:summary:end -->"
_SUMMARY_COLS = ("f1", "precision", "recall", "f1_nir", "f1_before", "false_water")


def summary_markdown(scores: Sequence[WaterScore], scenes: Sequence[LabelledScene] = SCENES) -> str:
    """One row per scene: role, sensor, pixel size, the pipeline's F1, precision and recall, the F1
    of the NIR < 0.10 baseline and of the rule before issue #11, the pipeline's false-water share
    (labelled non-water called water), and the two targets as met / not met."""
    by = {(r.scene, r.method): r for r in scores}
    lines = ["| scene | role | sensor, level | m | F1 | precision | recall | F1 NIR < 0.10 | F1 before | false water "
             "| F1 >= 0.90 | not below NIR |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for sc in scenes:
        r, nir, before = (by.get((sc.name, m)) for m in ("pipeline", "nir<0.10", "before"))
        if r is None:
            continue
        has_water = r.tp + r.fn > 0
        f1_ok = ("met" if r.f1 >= REAL_WATER_F1_TARGET else "**not met**") if has_water else "(no water labelled)"
        nir_ok = ("met" if (r.f1 >= nir.f1 - 1e-9 if has_water else r.fp <= nir.fp) else "**not met**")
        lines.append(" | ".join([f"| {sc.name}", sc.role, sc.sensor, f"{sc.resolution_m:g}", _fmt(r.f1),
                                 _fmt(r.precision), _fmt(r.recall), _fmt(nir.f1), _fmt(before.f1),
                                 _fmt(r.false_water_share), f1_ok, nir_ok]) + " |")
    return "\n".join(lines) + "\n"


def parse_summary(text: str) -> dict[str, dict[str, object]]:
    """The rows of :func:`summary_markdown` back: {scene: {"role", "f1", "precision", "recall",
    "f1_nir", "f1_before", "false_water" (floats, NaN for n/a), "f1_target", "nir_target" (the words)}}."""
    out: dict[str, dict[str, object]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 12 or cells[0] in ("scene", "---") or set(cells[0]) <= {"-"}:
            continue
        row: dict[str, object] = {"role": cells[1]}
        row.update({k: (float("nan") if v == "n/a" else float(v)) for k, v in zip(_SUMMARY_COLS, cells[4:10])})
        row["f1_target"], row["nir_target"] = cells[10], cells[11]
        out[cells[0]] = row
    return out


def replace_summary(doc: str, scores: Sequence[WaterScore]) -> str:
    """``doc`` with the text between :data:`SUMMARY_START` and :data:`SUMMARY_END` replaced by
    :func:`summary_markdown` of ``scores``."""
    a, b = doc.index(SUMMARY_START) + len(SUMMARY_START), doc.index(SUMMARY_END)
    return doc[:a] + "\n" + summary_markdown(scores) + doc[b:]


def realwater_metrics(realdata: Path, params: Params = Params()) -> list:
    """The scores as validation metrics: per scene the pipeline's F1 against the target, and its
    margin over the plain NIR threshold on the same scene (>= 0 is the target); on a scene with no
    water labelled, the share of its pixels called water (target 0)."""
    from .report import Metric

    scores, _ = score_all(params, realdata=realdata)
    by = {(r.scene, r.method): r for r in scores}
    meta = {s.name: s for s in SCENES}
    out = []
    for (scene, method), r in sorted(by.items()):
        if method != "pipeline":
            continue
        s = meta.get(scene)
        ds = f"{s.sensor}, {s.resolution_m:g} m, {s.role}" if s else scene
        how = "indices.water_mask with Params().water_kwargs()"
        if r.tp + r.fn == 0:
            out.append(Metric("real: labelled water", "share of water-free pixels called water", r.false_water_share,
                              0.0, "<=", scene, ds, how, f"{r.fp:,} of {r.fp + r.tn:,} pixels; {r.detail}"))
            continue
        out.append(Metric("real: labelled water", "water F1", r.f1, REAL_WATER_F1_TARGET, ">=", scene, ds, how,
                          f"P {r.precision:.3f}, R {r.recall:.3f}; {r.detail}"))
        nir = by.get((scene, "nir<0.10"))
        if nir is not None:
            out.append(Metric("real: labelled water", "F1 minus the NIR < 0.10 baseline's", r.f1 - nir.f1, 0.0, ">=",
                              scene, ds, "pipeline F1 - F1 of NIR < 0.10", f"NIR baseline F1 {nir.f1:.3f}"))
    return out


def write_doc_tables(path: Path, params: Params = Params(), *, realdata: Path | None = DEFAULT_REALDATA) -> None:
    """Rewrite the summary table and the candidates table of ``path`` (docs/validation.md) from the
    scenes found here."""
    from . import watercandidates as wc

    labelled, _ = wc.load_labelled(TESTS_DATA, Path(realdata) if realdata is not None else Path("/nonexistent"))
    scores, _ = score_all(params, realdata=realdata, labelled=labelled)
    text = replace_summary(Path(path).read_text(encoding="utf-8"), scores)
    Path(path).write_text(wc.replace_candidates(text, wc.candidates_table(labelled)), encoding="utf-8")

