"""The independent spectral test bed of the black-odorous rules: bio-optical spectra of each
water class (``biooptical``) seen through each sensor (``srf``), scored per method.

Observation model, per sample and sensor: band values of rho_w = pi Rrs (the sensor's
responses), plus an atmospheric-correction residual ``d (lambda_c / 550)^-alpha`` (d ~ N(0,
0.002), alpha ~ U(0.5, 2): an aerosol-like error left by the correction, at the band centroid
lambda_c) and sensor noise N(0, 0.0005) per band. The ``shadowed`` class is ordinary, turbid
or eutrophic water in a building's or tree's shadow: lit by skylight only over a share k ~
U(0.6, 1) of the pixel, ``rho = rho_w (1 - k + k f_d(lambda))`` with ``f_d`` the diffuse share of
the irradiance (``biooptical.diffuse_fraction``, tau_a(550) ~ U(0.05, 0.5), sun zenith ~ U(20,
60) degrees), then the same residual and noise.

Two draws: ``DEVELOPMENT_SEED`` (thresholds may be tuned on it) and ``HELDOUT_SEED``
(everything reported is measured on it). ``testbed_rows`` returns, per sensor, method and
negative class (and all classes pooled), the ROC AUC, the threshold that maximises balanced
accuracy on the development draw, the balanced accuracy of that threshold on the held-out
draw, and the balanced accuracy of our default threshold on the held-out draw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from indices import blackodorous as bo
from indices.colour import _dominant_and_purity, rgb_to_xyz_matrix_for

from . import biooptical, srf

DEVELOPMENT_SEED = 20250
HELDOUT_SEED = 20251
N_PER_CLASS = 1500
RESIDUAL_SD = 0.002
NOISE_SD = 0.0005
SHADOWED_FROM = ("ordinary", "turbid_river", "eutrophic")
CLASSES: tuple[str, ...] = (*biooptical.WATER_CLASSES, "shadowed")
BLACK_CLASSES: tuple[str, ...] = tuple(n for n, c in biooptical.WATER_CLASSES.items() if c.black_odorous)


def _band_centres(sensor: str) -> np.ndarray:
    wl, s = srf.load_srf(sensor)
    return (wl[:, None] * s).sum(axis=0) / s.sum(axis=0)


def sample_spectra(seed: int, n_per_class: int = N_PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """rho_w spectra (n, len(WAVELENGTHS)) on the model grid and their class names (n,), one
    seeded draw. The shadowed class is already shaded (``rho_w (1 - k + k f_d)``)."""
    rng = np.random.default_rng(seed)
    spectra, names = [], []
    for name, cls in biooptical.WATER_CLASSES.items():
        _, rrs = biooptical.sample_class(cls, n_per_class, rng)
        spectra.append(np.pi * rrs)
        names += [name] * n_per_class
    src = rng.choice(len(SHADOWED_FROM), n_per_class)
    shaded = np.empty((n_per_class, biooptical.WAVELENGTHS.size))
    for i, name in enumerate(SHADOWED_FROM):
        pick = src == i
        _, rrs = biooptical.sample_class(biooptical.WATER_CLASSES[name], int(pick.sum()), rng)
        shaded[pick] = np.pi * rrs
    f_d = biooptical.diffuse_fraction(rng.uniform(0.05, 0.5, n_per_class), rng.uniform(20.0, 60.0, n_per_class))
    k = rng.uniform(0.6, 1.0, n_per_class)[:, None]
    spectra.append(shaded * (1 - k + k * f_d))
    names += ["shadowed"] * n_per_class
    return np.vstack(spectra), np.asarray(names)


def observe(spectra: np.ndarray, names: np.ndarray, sensor: str, seed: int) -> xr.Dataset:
    """The sensor's blue, green, red, nir reflectance of ``spectra`` with the residual and noise
    (dims ``sample``; variables ``blue``, ``green``, ``red``, ``nir``, ``water_class``, ``black_odorous``)."""
    rng = np.random.default_rng([seed, srf.SENSORS.index(sensor)])
    bands = srf.band_values(spectra, biooptical.WAVELENGTHS, sensor)
    n = len(bands)
    centres = _band_centres(sensor)
    d = rng.normal(0.0, RESIDUAL_SD, n)[:, None]
    alpha = rng.uniform(0.5, 2.0, n)[:, None]
    bands = bands + d * (centres[None, :] / 550.0) ** -alpha + rng.normal(0.0, NOISE_SD, bands.shape)
    black = np.isin(names, BLACK_CLASSES)
    return xr.Dataset({"blue": ("sample", bands[:, 0]), "green": ("sample", bands[:, 1]), "red": ("sample", bands[:, 2]),
                       "nir": ("sample", bands[:, 3]), "water_class": ("sample", names), "black_odorous": ("sample", black)},
                      attrs={"sensor": sensor, "seed": seed, "units": "reflectance"})


def draw(seed: int, sensors: Sequence[str] = srf.SENSORS, n_per_class: int = N_PER_CLASS) -> dict[str, xr.Dataset]:
    """One seeded draw of the test bed, per sensor."""
    spectra, names = sample_spectra(seed, n_per_class)
    return {s: observe(spectra, names, s, seed) for s in sensors}


# --------------------------------------------------------------------------- methods as scores
@dataclass(frozen=True)
class Method:
    """A method as a score (higher = more black-odorous) and its default rule on that score."""

    name: str
    score: Callable[[xr.Dataset, bo.BlackOdorousParams], np.ndarray]
    default: Callable[[bo.BlackOdorousParams], float | None]  # default threshold on the score (>=), or None
    rule: str


def _purity_wl(ds: xr.Dataset, params: bo.BlackOdorousParams) -> tuple[np.ndarray, np.ndarray]:
    m = rgb_to_xyz_matrix_for(ds.attrs.get("sensor"))
    rgb = np.vstack([ds["red"].values, ds["green"].values, ds["blue"].values])
    xyz = m @ rgb
    s = xyz.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = np.where(s > 0, xyz[0] / s, np.nan), np.where(s > 0, xyz[1] / s, np.nan)
    return _dominant_and_purity(x, y)


def _ndbwi_score(ds, p):
    centre, half = (p.ndbwi_low + p.ndbwi_high) / 2, (p.ndbwi_high - p.ndbwi_low) / 2
    return half - np.abs(bo.ndbwi(ds).values - centre)


def _classifier_score(ds, p):
    f = bo.black_odorous_pixels(ds, xr.ones_like(ds["blue"], dtype=bool), params=p)
    votes = f["votes"].values.astype("float64")
    votes = np.where(f["is_suspect_bright"].values, np.maximum(votes, p.min_votes), votes)
    return np.where(f["guarded"].values, -1.0, votes)


METHODS: tuple[Method, ...] = (
    Method("boi", lambda ds, p: -bo.boi(ds).values, lambda p: -p.boi_threshold, "BOI < t"),
    Method("ndbwi", _ndbwi_score, lambda p: 0.0, "low <= NDBWI <= high (two-sided)"),
    Method("green_red_ratio", lambda ds, p: -bo.green_red_ratio(ds).values,
           lambda p: -(1 + p.ndbwi_high) / (1 - p.ndbwi_high), "G/R <= t (one-sided; = one-sided NDBWI)"),
    Method("cie_purity", lambda ds, p: -_purity_wl(ds, p)[1], lambda p: -p.max_purity, "purity < t"),
    Method("dominant_wavelength", lambda ds, p: _purity_wl(ds, p)[0], lambda p: None,
           "lambda_d >= t (one-sided, purples negative; no default rule)"),
    Method("darkness", lambda ds, p: -bo.brightness(ds).values, lambda p: -p.dark_threshold, "max(B,G,R) < t"),
    Method("classifier", _classifier_score, lambda p: float(p.min_votes), "votes >= min_votes, after guards"),
)


# --------------------------------------------------------------------------- scores
def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC = P(score of a positive > score of a negative) (ties count half; Mann-Whitney U).
    NaN scores rank lowest (a method that cannot score a sample does not flag it)."""
    s = np.where(np.isfinite(score), score, -np.inf)
    pos = np.asarray(positive, dtype=bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def balanced_accuracy(flag: np.ndarray, positive: np.ndarray) -> float:
    """(true-positive rate + true-negative rate) / 2."""
    flag, pos = np.asarray(flag, dtype=bool), np.asarray(positive, dtype=bool)
    return float((flag[pos].mean() + (~flag[~pos]).mean()) / 2)


def best_threshold(score: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """The threshold t (flag = score >= t) with the highest balanced accuracy, and that accuracy."""
    s = np.where(np.isfinite(score), score, -np.inf)
    cand = np.unique(s[np.isfinite(s)])
    if cand.size > 400:
        cand = np.unique(np.quantile(s[np.isfinite(s)], np.linspace(0, 1, 401)))
    best = (float("nan"), -1.0)
    for t in cand:
        acc = balanced_accuracy(s >= t, positive)
        if acc > best[1]:
            best = (float(t), acc)
    return best


@dataclass(frozen=True)
class Row:
    sensor: str
    method: str
    positive: str
    negative: str
    auc: float
    best_threshold: float
    accuracy_best: float  # held-out balanced accuracy at the development-best threshold
    accuracy_default: float | None  # held-out balanced accuracy at our default threshold
    n_positive: int
    n_negative: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _subsets(names: np.ndarray, positive: Sequence[str], negatives: Iterable[str]):
    pos = np.isin(names, positive)
    for neg in negatives:
        negmask = ~pos if neg == "all" else names == neg
        yield neg, pos | negmask, pos


def testbed_rows(params: bo.BlackOdorousParams | None = None, *, sensors: Sequence[str] = srf.SENSORS,
                 methods: Sequence[Method] = METHODS, n_per_class: int = N_PER_CLASS,
                 positives: dict[str, Sequence[str]] | None = None,
                 development_seed: int = DEVELOPMENT_SEED, heldout_seed: int = HELDOUT_SEED) -> list[Row]:
    """Per sensor, method, positive set and negative class (each other class, and ``all``):
    AUC, development-best threshold and the held-out accuracies (see the module docstring).
    ``positives`` default: ``{"black_odorous": both black types, "black_odorous_bright": the
    bright type}``."""
    p = params or bo.BlackOdorousParams()
    positives = positives or {"black_odorous (both)": BLACK_CLASSES, "black_odorous_bright": ("black_odorous_bright",)}
    dev, held = draw(development_seed, sensors, n_per_class), draw(heldout_seed, sensors, n_per_class)
    rows: list[Row] = []
    for sensor in sensors:
        dn, hn = dev[sensor]["water_class"].values, held[sensor]["water_class"].values
        for m in methods:
            ds_, hs_ = m.score(dev[sensor], p), m.score(held[sensor], p)
            t_def = m.default(p)
            for plabel, pclasses in positives.items():
                others = [c for c in CLASSES if c not in BLACK_CLASSES]
                negs = [*others, "all"] if len(pclasses) > 1 else ["all"]
                for (neg, dsel, dpos), (_, hsel, hpos) in zip(_subsets(dn, pclasses, negs), _subsets(hn, pclasses, negs)):
                    if len(pclasses) == 1:  # one black type against every non-black class
                        dsel, hsel = dsel & ~np.isin(dn, [c for c in BLACK_CLASSES if c not in pclasses]), \
                            hsel & ~np.isin(hn, [c for c in BLACK_CLASSES if c not in pclasses])
                    t_best, _ = best_threshold(ds_[dsel], dpos[dsel])
                    hs, hp = hs_[hsel], hpos[hsel]
                    hs_f = np.where(np.isfinite(hs), hs, -np.inf)
                    rows.append(Row(sensor, m.name, plabel, neg, roc_auc(hs, hp), t_best,
                                    balanced_accuracy(hs_f >= t_best, hp),
                                    None if t_def is None else balanced_accuracy(hs_f >= t_def - 1e-12, hp),
                                    int(hp.sum()), int((~hp).sum())))
    return rows


def markdown_table(rows: Sequence[Row], *, value: str = "auc", positive: str | None = None) -> str:
    """A markdown table: one line per (sensor, method), one column per negative class, cells
    ``value`` (``auc``, ``accuracy_best``, ``accuracy_default``) to 3 decimals."""
    rows = [r for r in rows if positive is None or r.positive == positive]
    negs = list(dict.fromkeys(r.negative for r in rows))
    keys = list(dict.fromkeys((r.sensor, r.method, r.positive) for r in rows))
    cell = {(r.sensor, r.method, r.positive, r.negative): getattr(r, value) for r in rows}
    head = ["sensor", "method", *(["positive"] if positive is None else []), *negs]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s, m, pos in keys:
        vals = [cell.get((s, m, pos, n)) for n in negs]
        txt = ["n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.3f}" for v in vals]
        out.append("| " + " | ".join([s, m, *([pos] if positive is None else []), *txt]) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------- tuning (development draw only)
#: the grid our thresholds were chosen from (published BOI and NDBWI bounds are not tuned)
TUNING_GRID: dict[str, tuple] = {
    "dark_threshold": (0.032, 0.035, 0.04, 0.045, 0.05),  # >= pi x 0.01: in-situ black-odorous Rrs stays dark
    "max_purity": (0.10, 0.125, 0.15, 0.20, 0.25, 0.30),
    "min_votes": (2, 3, 4),
    "shadow_nir_share": (0.0, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18),  # 0: no shadow guard
}
#: ``bright_max`` (0.08) is set by hand, not tuned: above the bright black-odorous type's 95th
#: percentile brightness in the development draw (0.07) and below the real turbid coast image's
#: 5th percentile (0.11, tests/test_blackodorous.py::test_real_turbid_coast_guard)
MAX_FALSE_ALARM = 0.10  # per non-black class and sensor
#: recalls closer than this are ties (about one standard error of a rate near 0.2 from 1500 samples)
RECALL_TOLERANCE = 0.01


def class_rates(ds: xr.Dataset, params: bo.BlackOdorousParams) -> dict[str, float]:
    """Share of each class's samples the classifier calls a suspect."""
    f = bo.black_odorous_pixels(ds, xr.ones_like(ds["blue"], dtype=bool), params=params)
    sus, names = f["is_suspect"].values, ds["water_class"].values
    return {c: float(sus[names == c].mean()) for c in CLASSES}


def tune(seed: int = DEVELOPMENT_SEED, *, grid: dict[str, tuple] = TUNING_GRID, max_false_alarm: float = MAX_FALSE_ALARM,
         recall_tolerance: float = RECALL_TOLERANCE, n_per_class: int = N_PER_CLASS,
         base: bo.BlackOdorousParams | None = None) -> list[tuple[float, float, dict]]:
    """Our thresholds' selection rule, on one draw (the development seed): among the grid's
    settings whose false-alarm rate is at most ``max_false_alarm`` for every non-black class on
    every sensor, the highest recall of the worse-found black-odorous type (on its worse
    sensor: neither type may be given up for the other); settings within ``recall_tolerance``
    of that recall count as ties, and the tie with the lowest worst false-alarm rate wins.
    Returns (that recall, worst false-alarm rate, setting), the chosen setting first, then the
    rest by recall. About a minute and a half on two cores. ``base`` (default: the defaults, the
    bright type off as it has been since the tuning demo, ``docs/blackodorous.md``) holds the
    settings the grid does not vary; with the bright type screened (``BlackOdorousParams(
    bright_type=True)``, as when the thresholds were first chosen) the rule picks darkness 0.032
    and purity 0.20 instead of 0.04 and 0.25."""
    import itertools

    base = base or bo.BlackOdorousParams()
    data = draw(seed, n_per_class=n_per_class)
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        setting = dict(zip(keys, values))
        p = base.replace(**setting)
        rates = [class_rates(ds, p) for ds in data.values()]
        worst = max(r[c] for r in rates for c in CLASSES if c not in BLACK_CLASSES)
        recall = float(min(r[c] for r in rates for c in BLACK_CLASSES))
        if worst <= max_false_alarm:
            out.append((recall, worst, setting))
    out.sort(key=lambda t: (-t[0], t[1]))
    if out:
        ties = [t for t in out if t[0] >= out[0][0] - recall_tolerance]
        chosen = min(ties, key=lambda t: (t[1], -t[0]))
        out.remove(chosen)
        out.insert(0, chosen)
    return out


# --------------------------------------------------------------------------- in the validation report
def testbed_metrics(params: bo.BlackOdorousParams | None = None, *, n_per_class: int = N_PER_CLASS) -> list:
    """Per sensor and method, black-odorous water (both types) against all other water on the
    held-out draw: ROC AUC, balanced accuracy at the development-best threshold and at our
    default threshold (``flows.evaluation.report.Metric``, descriptive: the targets are in
    ``tests/flows/evaluation/test_testbed.py``)."""
    from .report import Metric

    rows = testbed_rows(params, n_per_class=n_per_class, positives={"black_odorous (both)": BLACK_CLASSES})
    ds = (f"spectral test bed, held-out draw (seed {HELDOUT_SEED}, {n_per_class} per class; thresholds of the "
          f"development draw, seed {DEVELOPMENT_SEED})")
    out = []
    for r in rows:
        if r.negative != "all":
            continue
        scope = f"{r.sensor} {r.method}"
        detail = f"{r.n_positive} black-odorous vs {r.n_negative} other water samples"
        m = next(m for m in METHODS if m.name == r.method)
        out += [Metric("spectral test bed", "ROC AUC vs all other water", r.auc, None, ">=", scope, ds, m.rule, detail),
                Metric("spectral test bed", "balanced accuracy, development-best threshold", r.accuracy_best, None,
                       ">=", scope, ds, f"{m.rule}; threshold {r.best_threshold:.4g} set on the development draw", detail),
                Metric("spectral test bed", "balanced accuracy, default threshold",
                       float("nan") if r.accuracy_default is None else r.accuracy_default, None, ">=", scope, ds,
                       f"{m.rule}; our default (n/a: no default rule)", detail)]
    return out
