"""The validation report: one :class:`Metric` per measured number with its target and verdict,
printed, written as markdown into ``docs/validation.md`` and as JSON."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import DEMO_SEED

MARK_START = "<!-- validation:results:start (written by `villagewatch validate --out-md`) -->"
MARK_END = "<!-- validation:results:end -->"
TESTBED_GROUP = "spectral test bed"


@dataclass(frozen=True)
class Metric:
    """One measured number: ``value`` against ``target`` with ``op`` (``>=`` or ``<=``);
    ``target`` None = descriptive (no verdict). ``scope`` is ``all``, a village id, a date or
    a method; ``detail`` holds the counts behind the value."""

    group: str
    name: str
    value: float
    target: float | None = None
    op: str = ">="
    scope: str = "all"
    dataset: str = ""
    method: str = ""
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return None
        if self.op == ">=":
            return bool(self.value >= self.target - 1e-12)
        if self.op == "<=":
            return bool(self.value <= self.target + 1e-12)
        raise ValueError(f"unknown comparison {self.op!r}")

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-" if self.target is None else "n/a"}[self.passed]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = _json_number(self.value)
        d["passed"] = self.passed
        d["verdict"] = self.verdict
        return d


@dataclass(frozen=True)
class Skipped:
    group: str
    reason: str


@dataclass(frozen=True)
class ValidationReport:
    metrics: tuple[Metric, ...]
    skipped: tuple[Skipped, ...] = ()
    villages: tuple[str, ...] = ()
    seed: int = DEMO_SEED
    seconds: float = 0.0
    params: dict = field(default_factory=dict)
    profiles: tuple[str, ...] = ("development",)

    @property
    def failed(self) -> list[Metric]:
        return [m for m in self.metrics if m.passed is False]

    def get(self, group: str, name: str, scope: str = "all") -> Metric:
        for m in self.metrics:
            if (m.group, m.name, m.scope) == (group, name, scope):
                return m
        raise KeyError(f"no metric {group} / {name} / {scope}")

    def select(self, group: str | None = None, name: str | None = None, scope: str | None = None) -> list[Metric]:
        return [m for m in self.metrics if (group is None or m.group == group) and (name is None or m.name == name)
                and (scope is None or m.scope == scope)]

    def as_dict(self) -> dict[str, Any]:
        return {"villages": list(self.villages), "seed": self.seed, "profiles": list(self.profiles),
                "seconds": round(self.seconds, 1),
                "params": self.params, "n_failed": len(self.failed),
                "metrics": [m.as_dict() for m in self.metrics],
                "skipped": [asdict(s) for s in self.skipped]}


def _json_number(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def fmt_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    v = float(v)
    if v == int(v) and abs(v) >= 1:
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3f}"


def fmt_target(m: Metric) -> str:
    return "-" if m.target is None else f"{m.op} {fmt_value(m.target) if m.target != 0 else '0'}"


def summary_metrics(report: ValidationReport) -> list[Metric]:
    """What the summary table shows: every metric except the per-village / per-date demo rows."""
    return [m for m in report.metrics if not _per_village(m) and m.group != TESTBED_GROUP]


def _per_village(m: Metric) -> bool:
    """A demo metric of one village (not pooled over all: scope ``all`` or ``all <window>``)."""
    return m.group.startswith("demo") and not (m.scope == "all" or m.scope.startswith("all "))


def format_report(report: ValidationReport) -> str:
    """A plain-text table of every metric (per-village demo rows included)."""
    rows = [("group", "metric", "scope", "value", "target", "result")]
    rows += [(m.group, m.name, m.scope, fmt_value(m.value), fmt_target(m), m.verdict) for m in report.metrics]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for s in report.skipped:
        lines.append(f"SKIPPED {s.group}: {s.reason}")
    n_t = sum(m.passed is not None for m in report.metrics)
    lines.append(f"{n_t - len(report.failed)} of {n_t} targets met, {len(report.failed)} missed "
                 f"({len(report.metrics)} metrics, {report.seconds:.0f} s)")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def results_markdown(report: ValidationReport) -> str:
    """The results section of ``docs/validation.md`` (deterministic: no timestamps)."""
    out = [MARK_START, "",
           f"Demo seed {report.seed}, profile(s) {', '.join(report.profiles)}; villages: "
           f"{', '.join(report.villages) or 'none'}. Parameters: the pipeline defaults (`flows.params.Params`).", ""]
    n_t = sum(m.passed is not None for m in report.metrics)
    out.append(f"**{n_t - len(report.failed)} of {n_t} targets met; {len(report.failed)} missed.** "
               "A dash in *result* means a descriptive number without a target.")
    out += ["", "### Summary", "", "| group | metric | scope | value | target | result | detail |",
            "|---|---|---|---|---|---|---|"]
    for m in summary_metrics(report):
        out.append(f"| {m.group} | {_md_escape(m.name)} | {_md_escape(m.scope)} | {fmt_value(m.value)} | "
                   f"{_md_escape(fmt_target(m))} | {m.verdict} | {_md_escape(m.detail)} |")
    out += _testbed_table(report)
    for profile in report.profiles:
        out += _village_table(report, profile)
    out += ["", "### How each number was measured", ""]
    seen = set()
    for m in report.metrics:
        key = (m.group, m.name.split(",")[0], m.method)
        if key in seen or _per_village(m) or m.group == TESTBED_GROUP:
            continue
        seen.add(key)
        out.append(f"- **{m.group} / {_md_escape(m.name)}**: {_md_escape(m.method)}. Data: {_md_escape(m.dataset)}.")
    if report.skipped:
        out += ["", "### Skipped", ""] + [f"- {s.group}: {_md_escape(s.reason)}" for s in report.skipped]
    out += ["", MARK_END]
    return "\n".join(out) + "\n"


def _testbed_table(report: ValidationReport) -> list[str]:
    """Per sensor and method: ROC AUC and balanced accuracies of the spectral test bed."""
    rows = report.select(TESTBED_GROUP)
    if not rows:
        return []
    out = ["", "### Spectral test bed: black-odorous (both types) vs all other water, held-out draw", "",
           rows[0].dataset + "; method and setup in [validation_testbed.md](validation_testbed.md).", "",
           "| sensor | method | ROC AUC | balanced accuracy, development-best threshold | balanced accuracy, default |",
           "|---|---|---|---|---|"]
    for scope in dict.fromkeys(m.scope for m in rows):
        sensor, method = scope.split(" ", 1)
        vals = [fmt_value(report.get(TESTBED_GROUP, n, scope).value) for n in (
            "ROC AUC vs all other water", "balanced accuracy, development-best threshold",
            "balanced accuracy, default threshold")]
        out.append(f"| {sensor} | {method} | " + " | ".join(vals) + " |")
    return out


def _village_table(report: ValidationReport, profile: str) -> list[str]:
    """The per-village lines of one demo profile."""
    g_water, g_bo, g_change = (f"demo {w} [{profile}]" for w in ("water", "black-odorous", "change (seasonal)"))
    villages = list(dict.fromkeys(m.scope.split(" ")[0] for m in report.metrics
                                  if m.group in (g_water, g_bo, g_change) and _per_village(m)))
    if not villages:
        return []
    out = ["", f"### Demo profile {profile}, per village", "",
           "Water IoU over the processed dates of the default night (lowest / mean), black-odorous suspects per "
           "water body (precision / recall, pooled over dates; all sizes and >= 2,000 m2); the change products: the "
           "worst published product's false-alarm area (% of the village) in each window (default night / April / "
           "August), and the clear observations until each planted change's alert was confirmed (vegetation loss, "
           "water gain, newly black-odorous).", "",
           "| village | water IoU min | mean | BO P | BO R | BO P >= 2000 m2 | BO R >= 2000 m2 | false alarm % "
           "(night / April / August) | confirmed after (loss / gain / black-odorous) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for vid in villages:
        ious = [m.value for m in report.select(g_water, "water IoU") if m.scope.startswith(vid + " ")]

        def val(group, name):
            try:
                return fmt_value(report.get(group, name, vid).value)
            except KeyError:
                return "n/a"

        def change(name, kind=""):
            rows = [m for m in report.select(g_change, name) if m.scope.startswith(f"{vid} {kind}")]
            return " / ".join(fmt_value(m.value) for m in rows) or "n/a"

        out.append(" | ".join([
            f"| {vid}", fmt_value(min(ious)) if ious else "n/a", fmt_value(float(np.mean(ious))) if ious else "n/a",
            val(g_bo, "suspect precision per water body"), val(g_bo, "suspect recall per water body"),
            val(g_bo, "suspect precision per water body >= 2000 m2"), val(g_bo, "suspect recall per water body >= 2000 m2"),
            change("false-alarm area, worst published product (% of village)"),
            " / ".join(change("confirmation delay (clear observations)", k)
                       for k in ("vegetation_loss ", "water_gain ", "black_odorous ")),
        ]) + " |")
    return out


def write_markdown(report: ValidationReport, path: str | Path) -> Path:
    """Write the results into ``path`` between the result markers (the prose around them is
    kept), or a new file holding only the results when it has no markers."""
    from flows.products.atomic import write_text

    path = Path(path)
    section = results_markdown(report)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        new = head + section.rstrip("\n") + tail
    else:
        new = "# villagewatch validation results\n\n" + section
    write_text(path, new)
    return path


def write_json(report: ValidationReport, path: str | Path) -> Path:
    from flows.products.atomic import write_text

    path = Path(path)
    write_text(path, json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return path
