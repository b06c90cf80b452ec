"""The demo's time axis: when Sentinel-2 passes, how cloudy each pass is, and when the
planted changes happen.

- **Acquisitions**: every 5 days (Sentinel-2A and -2B together; ESA Sentinel-2 User Handbook,
  2015) from :data:`FIRST_DATE` to :data:`LAST_DATE`: two years, 146 passes.
- **Cloud climatology** (:data:`CLEAR_SKY`): the share of a scene that is clear, per month,
  for a Guangdong village. Its shape follows the probability of acquiring cloud-free imagery
  over South China from 30 years of daily AVHRR cloud masks (Wu, Fang, Xu et al. 2021,
  *Atmosphere* 12(2): 214, doi:10.3390/atmos12020214): lowest in the June monsoon (5.3 %, the
  lowest of any Chinese region and month), highest from October to January. Our monthly
  values are a demo parameter shaped after it, higher than AVHRR's 1 km whole-pixel figures
  because a 10 m pixel is clear more often than a 1 km one: about 70 passes a year of which
  roughly 30 keep a fifth of the village clear, few of them from April to September.
  Each pass draws its cloud share from a Beta distribution with the month's mean (interpolated
  between mid-month knots) and concentration :data:`CLOUD_CONCENTRATION` (< 2: mostly clear or
  mostly overcast, as subtropical passes are).
- **Planted changes** (:data:`PLANTED`): in the second year's clear season, at known dates.
  With explicit demo dates the three changes all happen the day after the second date (the
  first-version behaviour, kept for short custom series).
"""
from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

REVISIT_DAYS = 5
FIRST_DATE = dt.date(2024, 1, 2)
LAST_DATE = dt.date(2025, 12, 31)

#: planted permanent changes: layout feature -> the day it happens
PLANTED: Mapping[str, dt.date] = MappingProxyType({
    "cleared_patch": dt.date(2025, 11, 9),  # forest patch cleared to bare soil
    "turning_pond": dt.date(2025, 11, 10),  # ordinary pond turns black-odorous
    "new_pond": dt.date(2025, 11, 14),  # pond dug on cropland
})
#: what truth calls each planted change
PLANTED_KINDS: Mapping[str, str] = MappingProxyType({
    "cleared_patch": "vegetation_loss", "turning_pond": "became_black_odorous", "new_pond": "water_gain",
})
#: the demo night's default window: the recent weeks holding the planted changes, their
#: confirmation and the late-rice harvest (a bounded number of dates with full products)
DEFAULT_WINDOW = (dt.date(2025, 11, 1), dt.date(2025, 12, 3))

#: clear share of a scene per month (Jan..Dec), see the module docstring for the source
CLEAR_SKY: tuple[float, ...] = (0.55, 0.35, 0.25, 0.20, 0.15, 0.10, 0.20, 0.20, 0.30, 0.60, 0.70, 0.65)
CLOUD_CONCENTRATION = 1.5
#: a pass's cloud share is capped below 1 (a few clear holes remain even on the worst days)
MAX_CLOUD = 0.97


def acquisition_dates(first: dt.date = FIRST_DATE, last: dt.date = LAST_DATE,
                      revisit_days: int = REVISIT_DAYS) -> tuple[str, ...]:
    """ISO dates of the passes from ``first`` to ``last`` every ``revisit_days``."""
    n = (last - first).days // revisit_days + 1
    return tuple((first + dt.timedelta(days=revisit_days * k)).isoformat() for k in range(n))


def mean_cloud(date: dt.date) -> float:
    """The climatological cloud share of ``date``: 1 - clear sky, interpolated cyclically
    between mid-month knots (day 15 of each month)."""
    doy = date.timetuple().tm_yday
    knots = np.array([dt.date(2023, m, 15).timetuple().tm_yday for m in range(1, 13)], dtype=float)
    clear = float(np.interp(doy, knots, np.array(CLEAR_SKY), period=365.0))
    return 1.0 - clear


def draw_cloud_cover(rng: np.random.Generator, date: dt.date) -> float:
    """One pass's cloud share: Beta(m k, (1 - m) k), m the climatological mean, k the
    concentration; capped at :data:`MAX_CLOUD`."""
    m = min(max(mean_cloud(date), 0.02), 0.98)
    a, b = m * CLOUD_CONCENTRATION, (1.0 - m) * CLOUD_CONCENTRATION
    return float(min(rng.beta(a, b), MAX_CLOUD))


def planted_dates(dates: Sequence[str], explicit: bool) -> dict[str, dt.date]:
    """When each planted change happens: :data:`PLANTED` for the default time axis; with
    explicit ``dates``, the day after the second date (the last but one with fewer than
    three), all three at once; none with a single date."""
    if not explicit:
        return dict(PLANTED)
    if len(dates) < 2:
        return {}
    k = min(2, len(dates) - 1)
    day = dt.date.fromisoformat(dates[k - 1]) + dt.timedelta(days=1)
    return {name: day for name in PLANTED}


def change_span(planted: Mapping[str, dt.date], dates: Sequence[str], kind: str) -> tuple[str, str] | None:
    """(last acquisition before, first acquisition on or after) the planted change of ``kind``
    (``vegetation_loss``, ``water_gain``, ``became_black_odorous``); None when it does not
    happen within ``dates``."""
    name = next(n for n, k in PLANTED_KINDS.items() if k == kind)
    day = planted.get(name)
    before = [d for d in dates if day and dt.date.fromisoformat(d) < day]
    after = [d for d in dates if day and dt.date.fromisoformat(d) >= day]
    return (before[-1], after[0]) if before and after else None


def describe_planted(planted: Mapping[str, dt.date]) -> str:
    """The planted changes in words, by date."""
    if not planted:
        return "none (single date)"
    what = {"cleared_patch": "forest patch cleared to bare soil", "new_pond": "pond dug on cropland",
            "turning_pond": "ordinary pond turned black-odorous"}
    return "; ".join(f"{day.isoformat()}: {what[name]}" for name, day in sorted(planted.items(), key=lambda kv: kv[1]))


def changed_by(planted: Mapping[str, dt.date], date: str | dt.date) -> frozenset[str]:
    """The planted changes that have happened on ``date`` (inclusive)."""
    d = dt.date.fromisoformat(date) if isinstance(date, str) else date
    return frozenset(name for name, day in planted.items() if day <= d)


def year_jitter_days(cell: np.ndarray, year: int, salt: int, spread_days: float = 7.0) -> np.ndarray:
    """A per-parcel, per-year shift of the crop calendar (days, uniform in +-``spread_days``):
    farmers do not transplant or harvest on the same day every year, so the same season of
    two years differs on cropland. An integer hash of (parcel, year, salt): identical on every
    platform; ``cell`` < 0 (no parcel) gets 0."""
    h = (cell.astype("int64") * 2654435761 + year * 40503 + salt) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 2246822519) & 0xFFFFFFFF
    h ^= h >> 13
    u = (h & 0xFFFFFF).astype("float64") / float(0x1000000)
    return np.where(cell >= 0, (2.0 * u - 1.0) * spread_days, 0.0).astype("float32")


__all__ = ["REVISIT_DAYS", "FIRST_DATE", "LAST_DATE", "PLANTED", "PLANTED_KINDS", "DEFAULT_WINDOW",
           "CLEAR_SKY", "acquisition_dates", "mean_cloud", "draw_cloud_cover", "planted_dates", "changed_by",
           "change_span", "describe_planted",
           "year_jitter_days"]
