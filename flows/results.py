"""What the steps of a night return, one type per kind, and the one place they are added up.

Both executors (``flows.execute_plain``, ``flows.execute_prefect``) hand every step's result to
:meth:`VillageRun.add`; nothing else aggregates results, and nothing tells their kinds apart
by looking at a string.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .products.layout import MAIN_STREAM


@dataclass
class StepResult:
    """Products of one step: the paths written (or found up to date), its figures, the
    products it skipped with the reason, and whether everything was reused."""

    village_id: str
    stream: str = MAIN_STREAM
    paths: list[Path] = field(default_factory=list)
    indicators: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    reused: bool = False


@dataclass
class DateResult(StepResult):
    """One acquisition date of one stream (``flows.products.date``)."""

    date: str = ""


@dataclass
class ChangeResult(StepResult):
    """The change between two dates of one stream (``flows.products.change``)."""

    d_from: str = ""
    d_to: str = ""


@dataclass
class WatchResult(StepResult):
    """One watch product (``flows.products.watches``): ``watch`` is ``ancient_trees`` or
    ``farmland_conversion``; ``key`` the change pair of a farmland watch, else ``""``."""

    watch: str = ""
    key: str = ""


@dataclass
class BaselineResult(StepResult):
    """The same-season baseline of a quarter (``flows.products.baseline``)."""

    season: str = ""


@dataclass
class AlertResult(StepResult):
    """The village's change alerts (``flows.products.alerts``): figures per kind."""


@dataclass
class TableResult(StepResult):
    """The village's indicator table (``flows.products.tables``)."""


@dataclass
class VillageRun:
    """What happened to one village in a run (``status``: ok, no-data, failed)."""

    village_id: str
    status: str = "ok"
    reason: str = ""
    dates: list[str] = field(default_factory=list)
    dropped_dates: dict[str, str] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    reused: int = 0
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, result: StepResult) -> None:
        """Fold one step's result in: its paths, and its figures by kind (the latest main-stream
        date's figures; the alerts' vegetation loss and farmland conversion (candidate and
        confirmed area); the ancient-tree alerts of the watch)."""
        self.products += [str(p) for p in result.paths]
        self.reused += int(result.reused)
        main = result.stream == MAIN_STREAM
        if isinstance(result, DateResult) and main:
            self.dates.append(result.date)
            if result.date == max(self.dates):
                self.figures.update(result.indicators)
        elif isinstance(result, AlertResult):
            for k in ("vegetation_loss_area_m2", "farmland_conversion_area_m2", "water_gain_area_m2"):
                if result.indicators.get(k) is not None:
                    self.figures[k] = result.indicators[k]
        elif isinstance(result, WatchResult):
            if "ancient_tree_alerts" in result.indicators:
                self.figures["ancient_tree_alerts"] = result.indicators["ancient_tree_alerts"]
            self._sum("farmland_conversion_area_m2", result.indicators.get("farmland_conversion_area_m2"))

    def _sum(self, name: str, value: float | None) -> None:
        if value is not None:
            self.figures[name] = (self.figures.get(name) or 0.0) + value

    def fail(self, reason: str, *, status: str = "failed") -> None:
        """Mark the village failed (or ``no-data``); the first reason is kept."""
        self.status = status
        self.reason = self.reason or reason

    def finish(self) -> None:
        """After every step: a village with no main-stream date is ``no-data``."""
        self.dates.sort()
        if self.status == "ok" and not self.dates:
            self.status, self.reason = "no-data", "no usable acquisition in the window (every date below the valid-fraction threshold, or none)"

    def summary_row(self) -> dict[str, Any]:
        return {
            "village": self.village_id,
            "status": self.status,
            "dates": len(self.dates),
            "latest": self.dates[-1] if self.dates else "",
            "products": len(self.products),
            "water_m2": self.figures.get("water_area_m2"),
            "suspects": self.figures.get("n_black_odorous_suspects"),
            "veg_loss_m2": self.figures.get("vegetation_loss_area_m2"),
            "farmland_m2": self.figures.get("farmland_conversion_area_m2"),
            "tree_alerts": self.figures.get("ancient_tree_alerts"),
            "reason": self.reason,
        }
