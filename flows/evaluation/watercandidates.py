"""The candidate fallback rules for water when no histogram is bimodal, measured on every real
labelled scene (docs/validation.md, "Water on real labelled scenes": the candidates table).

Each candidate is a raw mask (no clean-up) of a Scene of reflectance bands; NaN is never water.
The rule the pipeline uses (``indices.water``, ``fallback_rule="agreement"``) was chosen on the
development scenes among these; the held-out scenes are only reported.

* ``MNDWI > 0`` (Xu 2006) and ``NDWI > 0`` (McFeeters 1996), each alone;
* their agreement, ``MNDWI > 0 & NDWI > 0`` (``indices.agreement_water``, the pipeline's rule);
* the Fmask water test (Zhu & Woodcock 2012, Remote Sens. Environ. 118: 83-94, eq. 5):
  ``(NDVI < 0.01 & NIR < 0.11) | (NDVI < 0.1 & NIR < 0.05)``;
* Zou et al. (2018, PNAS 115(15): 3810-3815): ``(MNDWI > NDVI | MNDWI > EVI) & EVI < 0.1``;
* a locally adaptive threshold (after Cao et al. 2019): MNDWI above the median Otsu threshold of
  the 128 x 128 px tiles whose histogram is bimodal (``indices.otsu_threshold``), 0 if none is;
* ``NIR < 0.10`` (the plain NIR threshold of ``realwater``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import xarray as xr

import indices

from .metrics import confusion
from .realscenes import SCENES, Labelled, LabelledScene, MissingSceneData

TILE_PX = 128


def _v(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da.values, dtype=np.float64)


def _nir(ds: xr.Dataset) -> np.ndarray:
    return _v(ds[indices.nir_band(ds)])


def _gt(a: np.ndarray, t) -> np.ndarray:
    out = np.zeros(a.shape, bool)
    np.greater(a, t, out=out, where=np.isfinite(a))
    return out


def _lt(a: np.ndarray, t) -> np.ndarray:
    out = np.zeros(a.shape, bool)
    np.less(a, t, out=out, where=np.isfinite(a))
    return out


def fmask_water(ds: xr.Dataset) -> np.ndarray:
    """Fmask's water test (Zhu & Woodcock 2012, eq. 5)."""
    ndvi, nir = _v(indices.ndvi(ds)), _nir(ds)
    return (_lt(ndvi, 0.01) & _lt(nir, 0.11)) | (_lt(ndvi, 0.1) & _lt(nir, 0.05))


def zou_water(ds: xr.Dataset) -> np.ndarray:
    """Zou et al. 2018: (MNDWI > NDVI or MNDWI > EVI) and EVI < 0.1."""
    mndwi, ndvi, evi = _v(indices.mndwi(ds)), _v(indices.ndvi(ds)), _v(indices.evi(ds))
    ok = np.isfinite(mndwi) & np.isfinite(ndvi) & np.isfinite(evi)
    with np.errstate(invalid="ignore"):
        return ok & ((mndwi > ndvi) | (mndwi > evi)) & (evi < 0.1)


def tile_otsu_threshold(index2d: np.ndarray, tile: int = TILE_PX) -> float:
    """Median Otsu threshold of the ``tile`` x ``tile`` tiles whose histogram is bimodal, 0 if none."""
    found = []
    for r in range(0, index2d.shape[0], tile):
        for c in range(0, index2d.shape[1], tile):
            res = indices.otsu_threshold(index2d[r:r + tile, c:c + tile])
            if res.method == "otsu":
                found.append(res.value)
    return float(np.median(found)) if found else 0.0


def tile_otsu_water(ds: xr.Dataset) -> np.ndarray:
    mndwi = _v(indices.mndwi(ds))
    return _gt(mndwi, tile_otsu_threshold(mndwi))


#: candidate name -> raw mask of a Scene (order of the table)
CANDIDATES: dict[str, Callable[[xr.Dataset], np.ndarray]] = {
    "MNDWI > 0": lambda ds: _gt(_v(indices.mndwi(ds)), 0.0),
    "NDWI > 0": lambda ds: _gt(_v(indices.ndwi(ds)), 0.0),
    "MNDWI > 0 & NDWI > 0 (pipeline)": lambda ds: np.asarray(indices.agreement_water(ds).values, bool),
    "Fmask water test": fmask_water,
    "Zou et al. 2018": zou_water,
    "MNDWI > tile Otsu (128 px)": tile_otsu_water,
    "NIR < 0.10": lambda ds: _lt(_nir(ds), 0.10),
}


def candidate_scores(lab: Labelled) -> dict[str, float]:
    """F1 of each candidate over the labelled pixels where the scene's water index is finite (as
    ``realwater`` scores), or, on a scene with no water labelled, the number of pixels called water."""
    scored = (lab.water | lab.other) & np.asarray(indices.water_valid(lab.scene).values, bool)
    has_water = bool(lab.water.any())
    out = {}
    for name, rule in CANDIDATES.items():
        c = confusion(rule(lab.scene), lab.water, scored)
        out[name] = c.f1 if has_water else float(c.fp)
    return out


def candidates_table(labelled: dict[str, Labelled], scenes: Sequence[LabelledScene] = SCENES) -> str:
    """Markdown: one row per candidate, one column per scene (F1; pixels called water on the
    water-free scene)."""
    names = [s.name for s in scenes if s.name in labelled]
    roles = {s.name: s.role for s in scenes}
    scores = {n: candidate_scores(labelled[n]) for n in names}
    head = "| candidate | " + " | ".join(f"{n} ({roles[n]})" for n in names) + " |"
    lines = [head, "|---" * (len(names) + 1) + "|"]
    for cand in CANDIDATES:
        cells = []
        for n in names:
            v = scores[n][cand]
            cells.append(f"{int(v):,} px" if not labelled[n].water.any() else f"{v:.3f}")
        lines.append(f"| {cand} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_candidates_table(text: str) -> dict[tuple[str, str], float]:
    """{(candidate, scene): value} from :func:`candidates_table` (scene without its role)."""
    out: dict[tuple[str, str], float] = {}
    scenes: list[str] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cells or not line.strip().startswith("|"):
            continue
        if cells[0] == "candidate":
            scenes = [c.split(" (")[0] for c in cells[1:]]
        elif cells[0] in CANDIDATES and scenes:
            for s, v in zip(scenes, cells[1:]):
                out[(cells[0], s)] = float(v.replace(" px", "").replace(",", ""))
    return out


def load_labelled(data_dir, realdata, scenes: Sequence[LabelledScene] = SCENES) -> tuple[dict[str, Labelled], dict[str, str]]:
    """Every scene whose data are here, and the reason for each one skipped."""
    out, skipped = {}, {}
    for s in scenes:
        try:
            out[s.name] = s.load(data_dir, realdata)
        except MissingSceneData as exc:
            skipped[s.name] = str(exc)
    return out, skipped


#: markers of the candidates table in docs/validation.md
CANDIDATES_START = "<!-- watercandidates:start (flows.evaluation.watercandidates.candidates_table) -->"
CANDIDATES_END = "<!-- watercandidates:end -->"


def replace_candidates(doc: str, table: str) -> str:
    """``doc`` with the text between :data:`CANDIDATES_START` and :data:`CANDIDATES_END` replaced."""
    a, b = doc.index(CANDIDATES_START) + len(CANDIDATES_START), doc.index(CANDIDATES_END)
    return doc[:a] + "\n" + table + doc[b:]
