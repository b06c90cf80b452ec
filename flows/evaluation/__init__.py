"""Evaluation: every indicator scored wherever a reference exists, with its target and verdict.

Runs the flow's own functions with the run's parameters (``flows.params.Params``) and scores
them (``metrics``) against the demo truth (``demo``), real labelled or reference data in the
real-data folder (``visible``: Itaipu and the demo drone; ``naip``; ``clouds``; ``realchange``: the
Slovenia series and NAIP's lakes against the same season), every change product of demo nights
(``changes``), and
literature-shaped spectra (``spectra``). ``report`` holds the results and writes
``docs/validation.md``; ``villagewatch validate`` runs :func:`run_validation`.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Callable, Sequence

from flows.params import Params

from .changes import CHANGE_PROFILES, change_metrics
from .clouds import landsat_cloud_metrics, slovenia_cloud_metrics
from .common import DEFAULT_REALDATA, DEMO_PROFILES, DEMO_SEED, DEMO_WINDOW
from .demo import demo_metrics
from .naip import naip_metrics
from .realchange import baseline_choice_metrics, naip_change_metrics, slovenia_change_metrics
from .realwater import realwater_metrics
from .report import Metric, Skipped, ValidationReport, format_report, results_markdown, write_json, write_markdown
from .spectra import spectra_metrics
from .testbed import testbed_metrics
from .visible import drone_visible_metrics, itaipu_metrics

__all__ = ["run_validation", "DEFAULT_REALDATA", "DEMO_SEED", "DEMO_WINDOW", "Metric", "Skipped",
           "ValidationReport", "format_report", "results_markdown", "write_json", "write_markdown",
           "demo_metrics", "drone_visible_metrics", "itaipu_metrics", "naip_metrics", "slovenia_cloud_metrics",
           "landsat_cloud_metrics", "spectra_metrics", "testbed_metrics", "DEMO_PROFILES", "change_metrics",
           "baseline_choice_metrics", "slovenia_change_metrics", "naip_change_metrics"]

REAL_CHECKS: tuple[tuple[str, Callable[..., list[Metric]]], ...] = (
    ("real: Itaipu water", itaipu_metrics),
    ("real: NAIP water", naip_metrics),
    ("real: labelled water", realwater_metrics),
    ("real: seasonal change (Slovenia S2)", slovenia_change_metrics),
    ("real: NAIP water change", naip_change_metrics),
    ("real: cloud masks (S2 L1C)", lambda p, params=None: slovenia_cloud_metrics(p)),
    ("real: cloud masks (Landsat-8)", lambda p, params=None: landsat_cloud_metrics(p)),
)


@functools.lru_cache(maxsize=4)
def _real(realdata: str, params: Params) -> tuple[tuple[Metric, ...], tuple[Skipped, ...]]:
    root = Path(realdata)
    metrics: list[Metric] = []
    skipped: list[Skipped] = []
    if not root.is_dir():
        return (), (Skipped("real data", f"folder {root} is missing (set VILLAGEWATCH_REALDATA)"),)
    for group, func in REAL_CHECKS:
        try:
            metrics += func(root, params)
        except FileNotFoundError as exc:
            skipped.append(Skipped(group, str(exc)))
    return tuple(metrics), tuple(skipped)


def run_validation(villages: Sequence | None = None, *, realdata: str | Path | None = DEFAULT_REALDATA,
                   params: Params = Params(), seed: int = DEMO_SEED, profiles: Sequence[str] = DEMO_PROFILES,
                   testbed: bool = True, change: bool = True, change_out: str | Path | None = None) -> ValidationReport:
    """Every validation: demo truth of each profile in ``profiles`` for ``villages`` (default:
    all of the registry), the demo drone (development profile), real data under ``realdata``
    (None: skipped), black-odorous spectra, the spectral test bed (``testbed``); with
    ``change``, for each of ``profiles`` in ``changes.CHANGE_PROFILES`` the demo nights of
    ``changes.CHANGE_WINDOWS`` (into ``change_out``, a temporary folder when None) and every
    change product they publish, and the choice of the seasonal model (development profile)."""
    from sensing.demo import DemoSource

    t0 = time.perf_counter()
    if villages is None:
        from aoi.registry import load_villages

        villages = load_villages()
    metrics = []
    for profile in profiles:
        metrics += demo_metrics(villages, source=DemoSource(seed=seed, profile=profile), params=params)
    metrics += drone_visible_metrics(villages, source=DemoSource(seed=seed), params=params)
    skipped: list[Skipped] = []
    if change:
        for profile in (p for p in profiles if p in CHANGE_PROFILES):
            metrics += change_metrics(villages, source=DemoSource(seed=seed, profile=profile), params=params,
                                      out=change_out)
        metrics += baseline_choice_metrics(villages, DemoSource(seed=seed),
                                           None if realdata is None else Path(realdata), params)
    else:
        skipped.append(Skipped("demo change (seasonal)", "not requested (--no-change)"))
    if realdata is None:
        skipped.append(Skipped("real data", "not requested"))
    else:
        m, s = _real(str(Path(realdata).resolve()), params)
        metrics += m
        skipped += s
    metrics += spectra_metrics()
    if testbed:
        metrics += testbed_metrics(params.black_odorous)
    else:
        skipped.append(Skipped("spectral test bed", "not requested"))
    return ValidationReport(tuple(metrics), tuple(skipped), tuple(v.id for v in villages), seed,
                            time.perf_counter() - t0, params.as_dict(), tuple(profiles))
