"""What the pages say of a village's field checks: the screening precision (confirmed of the
checked screenings), every body's status now and history, the sheets per date and the lists;
and the precision of a county (its villages' checks pooled)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from aoi import Village

from ..products.layout import (FIELD_CHECK_CSV, FIELD_CHECK_GEOJSON, FIELD_CHECK_XLSX, NATIONAL_LIST, PROVINCIAL_LIST,
                               date_dir, fieldcheck_dir, register_path)
from .register import Check, FieldCheckParams, precision, read_register
from .status import Screening, current_status, read_figures


@dataclass
class FieldCheckSummary:
    """One village's field checks, for the pages."""

    village_id: str
    precision: dict[str, Any]
    statuses: Counter = field(default_factory=Counter)  # status now -> number of bodies
    bodies: list[dict[str, Any]] = field(default_factory=list)  # one row per body flagged or checked
    sheets: list[tuple[str, dict[str, Path], int | None]] = field(default_factory=list)  # date, files, rows; newest first
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)  # national/provincial -> n, files
    register: Path | None = None
    checks: tuple[Check, ...] = ()
    latest: dict[str, Any] = field(default_factory=dict)  # the latest date's field_check.json


def village_summary(out: str | Path, village: Village, params: FieldCheckParams = FieldCheckParams()) -> FieldCheckSummary:
    """The village's field checks as the pages show them (read from the register and products)."""
    out = Path(out)
    register = read_register(out, village.id)
    scr = Screening(out, village.id)
    flagged = scr.flagged()
    s = FieldCheckSummary(village.id, precision(register.checks), checks=register.checks,
                          register=register_path(out, village.id) if register_path(out, village.id).is_file() else None)
    for wb_id in sorted(set(flagged) | set(register.bodies)):
        status = current_status(register, wb_id, flagged, scr, params)
        s.statuses[status] += 1
        seen = flagged.get(wb_id, [])
        s.bodies.append({"wb_id": wb_id, "status": status, "first_seen": seen[0] if seen else None,
                         "last_seen": seen[-1] if seen else None, "n_dates": len(seen),
                         "checks": [f"{c.check_date} {c.verdict} ({c.inspector})" for c in register.of(wb_id)]})
    for d in reversed(scr.dates):
        folder = date_dir(out, village.id, d)
        files = {n: folder / n for n in (FIELD_CHECK_CSV, FIELD_CHECK_XLSX, FIELD_CHECK_GEOJSON) if (folder / n).is_file()}
        if files:
            s.sheets.append((d, files, read_figures(folder).get("n_on_sheet")))
    if scr.dates:
        s.latest = read_figures(date_dir(out, village.id, scr.dates[-1]))
    folder = fieldcheck_dir(out, village.id)
    for kind, name in (("national", NATIONAL_LIST), ("provincial", PROVINCIAL_LIST)):
        gj = folder / f"{name}.geojson"
        if gj.is_file():
            import json

            n = len(json.loads(gj.read_text(encoding="utf-8")).get("features", []))
            s.lists[kind] = {"n": n, "files": [folder / f"{name}.csv", gj]}
    return s


def pooled_precision(summaries: Iterable[FieldCheckSummary]) -> dict[str, Any]:
    """The precision of several villages' checks together (a county's)."""
    checks = [c for s in summaries for c in s.checks]
    return precision(checks)


def county_precision(summaries: Mapping[str, FieldCheckSummary], villages: Iterable[Village]) -> dict[str, dict[str, Any]]:
    """county -> pooled precision of its villages' checks (counties with a check only)."""
    by_county: dict[str, list[FieldCheckSummary]] = {}
    for v in villages:
        if v.id in summaries:
            by_county.setdefault(v.county, []).append(summaries[v.id])
    out = {c: pooled_precision(ss) for c, ss in by_county.items()}
    return {c: p for c, p in sorted(out.items()) if p["checked"]}
