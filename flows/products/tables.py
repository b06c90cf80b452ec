"""Indicator tables: ``OUT/<village>/indicators.parquet`` (one row per date and stream) and
``OUT/indicators.parquet`` (every village's), rebuilt from the written figures each time, so a
re-run of a date replaces its row and never duplicates it.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from aoi import Village

from ..results import TableResult
from .atomic import atomic_path
from .layout import (ALERTS_FIGURES, CHANGE_FIGURES, CHANGE_FOLDER, DATE_FIGURES, FIELD_CHECK_FIGURES, MAIN_STREAM, TABLE,
                     run_table,
                     village_dir, village_table, watches_dir)

#: the field-check statuses counted per date (``field_check.json``, flows.fieldcheck), each a
#: column ``suspects_<status>``: the date's suspects (and checked bodies) by their status now
FIELD_STATUSES = ("screened", "checked", "confirmed", "cleared", "treated", "relapsed")
INDICATOR_COLUMNS = [
    "village_id", "date", "stream", "sensor", "item_ids", "demo", "valid_fraction", "valid_bands", "resolution_m",
    "ndvi_valid_fraction", "water_valid_fraction", "ndvi_mean", "ndvi_p10", "ndvi_p50", "ndvi_p90", "vegetation_cover", "dense_canopy_share",
    "water_area_m2", "n_water_bodies", "n_black_odorous_suspects", "black_odorous_area_m2",
    "n_persistent_suspects", "n_watch_suspects", "suspect_persistence",
    "vegetation_loss_area_m2", "vegetation_gain_area_m2", "water_gain_area_m2", "water_loss_area_m2",
    "new_black_odorous_suspects", "new_black_odorous_area_m2", "farmland_conversion_area_m2", "ancient_tree_alerts",
    "admin_code", *(f"suspects_{s}" for s in FIELD_STATUSES),
]
#: figures of a change pair (an extra stream's), put into the row of its later date
CHANGE_COLUMNS = ("vegetation_loss_area_m2", "vegetation_gain_area_m2", "water_gain_area_m2",
                  "water_loss_area_m2", "new_black_odorous_suspects", "farmland_conversion_area_m2")
#: the change alerts first detected on a main-stream date (``alerts.json``), put into its row
ALERT_COLUMNS = {"vegetation_loss_area_m2": "vegetation_loss_area_m2", "water_gain_area_m2": "water_gain_area_m2",
                 "water_loss_area_m2": "water_loss_area_m2", "new_black_odorous_area_m2": "black_odorous_area_m2",
                 "farmland_conversion_area_m2": "farmland_conversion_area_m2"}


def _write_parquet(df: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path


def _field_counts(folder: Path) -> dict[str, int] | None:
    """The date's suspects by field-check status (``field_check.json``), ``None`` without one."""
    path = folder / FIELD_CHECK_FIGURES
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("counts", {})


def write_indicator_table(out_root: str | Path, village: Village) -> TableResult:
    """``<village>/indicators.parquet``: one row per (date, stream) from the per-date
    ``indicators.json``; a main-stream row has the area of the change alerts first detected on
    that date (against the same season; ``flows.products.alerts``) and the ancient-tree alerts,
    an extra stream's the figures of the pair change into that date; every row the village's
    12-digit division code (``admin_code``) and a main-stream row the date's suspects by
    field-check status (``suspects_<status>``, from ``field_check.json``: refreshed before the
    table by the night and by ``verify``)."""
    vdir = village_dir(out_root, village)
    rows = []
    for p in sorted(vdir.glob(f"*/{DATE_FIGURES}")) + sorted(vdir.glob(f"*/*/{DATE_FIGURES}")):
        if CHANGE_FOLDER in p.parts:
            continue
        rows.append(json.loads(p.read_text()))
    cdir = vdir / CHANGE_FOLDER
    changes = {}
    for p in sorted(cdir.glob(f"*/{CHANGE_FIGURES}")) + sorted(cdir.glob(f"*/*/{CHANGE_FIGURES}")):
        ch = json.loads(p.read_text())
        stream = p.parent.name if p.parent.parent.name != CHANGE_FOLDER else MAIN_STREAM
        changes[(ch["to"], stream)] = ch
    alerts_path = watches_dir(out_root, village) / ALERTS_FIGURES
    new_by_date = json.loads(alerts_path.read_text()).get("new_by_first_date", {}) if alerts_path.exists() else None
    trees = watches_dir(out_root, village) / "ancient_trees.geojson"
    alerts = Counter(d for f in json.loads(trees.read_text())["features"]
                     for d in f["properties"].get("alert_dates") or []) if trees.exists() else None
    for r in rows:
        r["admin_code"] = getattr(village, "admin_code", None)
        main = r.get("stream", MAIN_STREAM) == MAIN_STREAM
        counts = _field_counts(vdir / r["date"]) if main else None
        for st in FIELD_STATUSES:
            r[f"suspects_{st}"] = counts.get(st, 0) if counts is not None else None
        if main and new_by_date is not None:
            new = new_by_date.get(r["date"], {})
            for col, key in ALERT_COLUMNS.items():
                r[col] = float(new.get(key, 0.0))
        elif not main:
            ch = changes.get((r["date"], r.get("stream", MAIN_STREAM)), {})
            for k in CHANGE_COLUMNS:
                r[k] = ch.get(k)
        r["ancient_tree_alerts"] = alerts.get(r["date"], 0) if alerts is not None and main else None
    df = pd.DataFrame(rows, columns=INDICATOR_COLUMNS)
    df = df.sort_values(["stream", "date"]).drop_duplicates(["date", "stream"], keep="last").reset_index(drop=True)
    df["date"] = pd.to_datetime(df["date"])
    df["admin_code"] = df["admin_code"].astype(pd.StringDtype())  # text, also when unknown (all missing)
    path = _write_parquet(df, village_table(out_root, village))
    return TableResult(village.id, paths=[path])


def read_indicators(out: str | Path, village_id: str | None = None) -> pd.DataFrame:
    """One village's table, or (``village_id`` None) every village's in one table sorted by
    village, stream and date: what ``OUT/indicators.parquet`` holds."""
    if village_id is not None:
        return pd.read_parquet(village_table(out, village_id))
    tables = [pd.read_parquet(p) for p in sorted(Path(out).glob(f"*/{TABLE}"))]
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame()
    df = pd.concat(tables, ignore_index=True)
    return df.sort_values(["village_id", "stream", "date"]).reset_index(drop=True)


def write_run_table(out: str | Path) -> Path | None:
    """``OUT/indicators.parquet``: every village's table in one (rebuilt, so idempotent)."""
    df = read_indicators(out)
    return None if df.empty else _write_parquet(df, run_table(out))
