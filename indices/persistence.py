"""Persistence of black-odorous suspects over dates: a single-date flag is a *watch*; a water
body flagged on at least ``min_flags`` (2) of its last ``window`` (3) clear observations is a
*persistent* suspect.

Single-date colour screening is weak (the spectral test bed finds a minority of black-odorous
water at <= 10 % false alarms, ``docs/validation_testbed.md``), and an atmospheric-correction
residual or a passing bloom flips a pond for one date; black-odorous water is a lasting
condition (the national guidance lists it by reach and re-checks it over months: 生态环境部
办公厅 et al., 农村黑臭水体治理工作指南, 2023). Repeated flags are the evidence an officer can
defend.

A *clear observation* of a body on an earlier date: that date's water bodies hold the same
``wb_id`` (stable ids: ``indices.water_bodies(previous=...)``), or bodies covering at least
``min_overlap`` of its area, classified ``ordinary`` or ``suspect_black_odorous`` (not
``too_small``, ``no_valid_observation`` or cloud-hidden). It *flags* the body when the same id
is a suspect there, or suspects there cover at least ``min_overlap`` of its area. Pure
function on GeoDataFrames; no I/O (the flow reads the earlier dates' written products).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

PERSISTENT = "persistent"
WATCH = "watch"
SUSPECT = "suspect_black_odorous"
OBSERVED = ("ordinary", SUSPECT)


def _observation(geom, area: float, wb_id, earlier, min_overlap: float) -> bool | None:
    """None: no clear observation on that date; else whether it flagged the body."""
    if earlier is None or not len(earlier):
        return None
    seen = earlier[earlier["status"].isin(OBSERVED)]
    same = seen[seen["wb_id"] == wb_id] if "wb_id" in seen else seen.iloc[0:0]
    if len(same):
        return bool((same["status"] == SUSPECT).any())
    if area <= 0 or geom is None or geom.is_empty:
        return None
    near = seen[seen.intersects(geom)]
    if not len(near):
        return None
    inter = near.intersection(geom).area.to_numpy(dtype="float64")
    if inter.sum() < min_overlap * area:
        return None
    return bool(inter[(near["status"] == SUSPECT).to_numpy()].sum() >= min_overlap * area)


def suspect_persistence(current, date: str, history: Sequence[tuple[str, object]], *, window: int = 3,
                        min_flags: int = 2, min_overlap: float = 0.5):
    """``current`` (one date's classified water bodies, a GeoDataFrame) with three columns,
    filled on suspects and empty ("") elsewhere:

    * ``persistence``: ``persistent`` when at least ``min_flags`` of the body's last ``window``
      clear observations (this date included) flag it, else ``watch``;
    * ``persistence_dates``: comma list of the ISO dates that flagged it (oldest first);
    * ``persistence_observations``: comma list of the clear observations considered.

    ``history``: ``(date, water bodies)`` of earlier dates (any order, same CRS as ``current``;
    ``None`` bodies = nothing written that date); only dates before ``date`` count.
    """
    if window < 1 or not 1 <= min_flags <= window:
        raise ValueError(f"persistence needs window >= 1 and 1 <= min_flags <= window, got {window}, {min_flags}")
    out = current.copy()
    n = len(out)
    status, flagged_dates, observed_dates = [""] * n, [""] * n, [""] * n
    earlier = sorted(((str(d)[:10], g) for d, g in history if str(d)[:10] < str(date)[:10]), reverse=True)
    is_suspect = (out["status"] == SUSPECT).to_numpy() if n else np.zeros(0, bool)
    areas = out.geometry.area.to_numpy(dtype="float64") if n else np.zeros(0)
    for i in np.flatnonzero(is_suspect):
        geom, wb_id = out.geometry.iloc[i], out["wb_id"].iloc[i] if "wb_id" in out else None
        obs = [(str(date)[:10], True)]
        for d, bodies in earlier:
            if len(obs) >= window:
                break
            flag = _observation(geom, float(areas[i]), wb_id, bodies, min_overlap)
            if flag is not None:
                obs.append((d, flag))
        votes = sorted(d for d, f in obs if f)
        status[i] = PERSISTENT if len(votes) >= min_flags else WATCH
        flagged_dates[i] = ",".join(votes)
        observed_dates[i] = ",".join(sorted(d for d, _ in obs))
    out["persistence"] = status
    out["persistence_dates"] = flagged_dates
    out["persistence_observations"] = observed_dates
    return out
