"""The one interface every imagery source implements (a small Protocol, as in stackstac)."""
from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

import xarray as xr

from aoi import Village


@runtime_checkable
class Source(Protocol):
    """``load(village, start, end) -> Scene`` (see ``sensing.scene``).

    ``kind`` is ``"demo"``, ``"stac"`` or ``"files"``. ``describe()`` returns the options
    that shaped the load, recorded in each product's manifest (never credentials).
    """

    kind: str

    def load(self, village: Village, start: dt.date, end: dt.date) -> xr.Dataset: ...

    def describe(self) -> dict: ...
