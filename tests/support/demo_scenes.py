"""Test villages for the demo generator and a digest of a rendered scene (used in a fresh
interpreter too, to show no salted hash changes the bytes)."""
from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
from shapely.geometry import Polygon

from aoi import Village

ALL = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
#: the demo night's default window (sensing.demo.timeline.DEFAULT_WINDOW): seven passes
WINDOW = (dt.date(2025, 11, 1), dt.date(2025, 12, 3))
#: passes of the default time axis across the crop calendar: winter fallow, early rice flooded
#: at transplanting, early rice ripe, late rice flooded, late rice ripe, harvested (2024), and the
#: planted changes' passes (2025)
SEASONS = ("2024-01-07", "2024-04-11", "2024-07-05", "2024-08-09", "2024-10-08", "2024-11-27",
           "2025-11-07", "2025-11-12", "2025-11-17", "2025-11-22")


def _village(vid: str, lon: float, lat: float, *, dx: float = 0.013, dy: float = 0.010,
             focus=("water", "black_odorous")) -> Village:
    """An irregular ~2.6 x 2.2 km village polygon around (lon, lat)."""
    ring = [(lon - dx, lat - dy), (lon + 0.6 * dx, lat - 1.1 * dy), (lon + dx, lat - 0.2 * dy),
            (lon + 0.8 * dx, lat + dy), (lon - 0.3 * dx, lat + 1.1 * dy), (lon - 1.1 * dx, lat + 0.4 * dy)]
    return Village(id=vid, name_zh="测试村", name_en="Test", province="Guangdong", county="Meijiang",
                   town="Sanjiao", pilot_type="domain-featured", focus=tuple(focus), geometry=Polygon(ring))


PANKENG = _village("meijiang-sanjiao-pankeng", 116.13, 24.27)
HONGWEI = _village("haizhu-jianghai-hongwei", 113.33, 23.08, dx=0.010, dy=0.008)
PLAIN = _village("test-plain-village", 114.40, 23.60, dx=0.009, dy=0.008, focus=("vegetation",))


def _digest(ds) -> str:
    h = hashlib.sha256()
    for name in sorted(ds.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(ds[name].values).tobytes())
    return h.hexdigest()
