"""The demo's random streams (one independent generator per seed, village and purpose, salted
by the profile) and its date parsing."""
from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import numpy as np
import pandas as pd

from .profiles import DEFAULT_PROFILE, get_profile


def _entropy(seed, village_id: str, *tags: int) -> list[int]:
    """The entropy of a (seed, village, purpose) stream; ``seed`` is an int (development) or
    ``(seed, profile name)``, whose profile's salt enters every stream (another realisation)."""
    head = [seed] if isinstance(seed, int) else [seed[0], get_profile(seed[1]).salt]
    return [*head, zlib.crc32(village_id.encode()), *tags]


def _stream(seed, village_id: str, *tags: int) -> np.random.Generator:
    """An independent RNG per (seed, village, purpose); zlib.crc32 is stable across runs."""
    return np.random.default_rng(np.random.SeedSequence(_entropy(seed, village_id, *tags)))


def _profile(seed):
    return get_profile(DEFAULT_PROFILE if isinstance(seed, int) else seed[1])


def _as_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise ValueError(f"demo: {what} {value!r} is not a date") from None
