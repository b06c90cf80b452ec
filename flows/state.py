"""Run state kept in the output folder: per village, the last acquisition processed successfully.

``OUT/state.json`` is written atomically and holds no timestamps, so re-running a finished
night rewrites the same bytes. The nightly flow starts each village at its last success
(inclusive: that date's products are up to date and skipped, and the change to the first new
date needs it), so each night processes only newer acquisitions.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Iterable, Mapping

from .products.atomic import write_json
from .products.layout import STATE

STATE_FILE = STATE
log = logging.getLogger("villagewatch.flows")


def read_state(out: str | Path) -> dict:
    path = Path(out) / STATE_FILE
    if not path.exists():
        return {"villages": {}}
    try:
        state = json.loads(path.read_text())
    except ValueError as exc:
        # written atomically, so this is damage from outside: start afresh but say so
        log.warning("state file %s is unreadable (%s); treating every village as new", path, exc)
        return {"villages": {}}
    state.setdefault("villages", {})
    return state


def last_success(out: str | Path) -> dict[str, dt.date]:
    """``{village_id: last acquisition date processed successfully}``."""
    return {
        vid: dt.date.fromisoformat(v["last_success"])
        for vid, v in read_state(out)["villages"].items()
        if v.get("last_success")
    }


def windows(village_ids: Iterable[str], out: str | Path, start: dt.date, end: dt.date,
            *, incremental: bool = True) -> dict[str, tuple[dt.date, dt.date]]:
    """Per village, the window to process: from its last success (if later than ``start``)."""
    since = last_success(out) if incremental else {}
    return {vid: (max(start, since.get(vid, start)), end) for vid in village_ids}


def record(out: str | Path, runs: Iterable, ) -> Path:
    """Fold a run's results into the state: the newest successful date per village, and the
    status/reason of the latest run."""
    state = read_state(out)
    for run in runs:
        entry: dict = state["villages"].setdefault(run.village_id, {})
        entry["last_status"] = run.status
        entry["last_reason"] = run.reason
        if run.status == "ok" and run.dates:
            newest = max(run.dates)
            if not entry.get("last_success") or newest > entry["last_success"]:
                entry["last_success"] = newest
    state["villages"] = dict(sorted(state["villages"].items()))
    return write_json(Path(out) / STATE_FILE, state)


def statuses(out: str | Path) -> Mapping[str, dict]:
    return read_state(out)["villages"]
