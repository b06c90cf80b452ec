"""The night as data: which village, window, stream, date and pair; built once, run by either
executor (``flows.execute_plain``, ``flows.execute_prefect``).

A :class:`NightPlan` holds each village's window. Discovery (:func:`plan_village`) loads the
village's scenes lazily and turns its window into a :class:`VillagePlan`: the usable dates of
each stream (the rest dropped with the reason) and, from them, the steps in the order they
may run: the same-season baseline of each quarter the main stream's dates fall in (history
read lazily, reused across nights), each date (after the stream's previous date, whose
water-body ids it continues, and its quarter's baseline, whose land cover it reads), the change
alerts (after every main-stream date), each calendar month's change against the same season
(after the alerts; an extra stream's consecutive pairs after both dates), the watches (after
every date and change), the indicator table (last). ``Step.needs`` names the steps a step
waits for.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

import xarray as xr

from aoi import Village
from sensing.base import Source

from . import scenes
from .errors import BoundaryCheckError
from .params import Params
from .products.layout import MAIN_STREAM, month_periods, season_of

log = logging.getLogger("villagewatch.flows")

#: boundaries larger than this are refused before any imagery is read: a pilot area is a
#: village or at most a district (Chongqing Shapingba: ~400 km2); far larger is almost always
#: a boundary in the wrong CRS or units, and would not fit in memory at 10 m
MAX_VILLAGE_AREA_KM2 = 5000.0


@dataclass(frozen=True)
class Window:
    """Acquisitions from ``start`` to ``end``, both inclusive."""

    start: dt.date
    end: dt.date


# --------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class Step:
    village_id: str

    @property
    def id(self) -> str:
        raise NotImplementedError

    @property
    def needs(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class BaselineStep(Step):
    season: str  # YYYY-Qn

    @property
    def id(self) -> str:
        return f"baseline:{self.village_id}:{self.season}"


@dataclass(frozen=True)
class DateStep(Step):
    stream: str
    date: str
    previous: str | None  # the stream's previous date in this plan (stable water-body ids)
    baseline: bool = False  # the main stream waits for its quarter's baseline (land cover)

    @property
    def id(self) -> str:
        return f"date:{self.village_id}:{self.stream}:{self.date}"

    @property
    def needs(self) -> tuple[str, ...]:
        prev = (DateStep(self.village_id, self.stream, self.previous, None).id,) if self.previous else ()
        return prev + ((BaselineStep(self.village_id, season_of(self.date)).id,) if self.baseline else ())


@dataclass(frozen=True)
class AlertStep(Step):
    dates: tuple[str, ...]  # the main-stream dates of this plan
    after: tuple[str, ...] = ()  # their date steps and the baselines

    @property
    def id(self) -> str:
        return f"alerts:{self.village_id}"

    @property
    def needs(self) -> tuple[str, ...]:
        return self.after


@dataclass(frozen=True)
class PeriodStep(Step):
    start: str  # a calendar month's first and last day
    end: str
    after: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"period:{self.village_id}:{self.start}:{self.end}"

    @property
    def needs(self) -> tuple[str, ...]:
        return self.after


@dataclass(frozen=True)
class ChangeStep(Step):
    stream: str
    d_from: str
    d_to: str

    @property
    def id(self) -> str:
        return f"change:{self.village_id}:{self.stream}:{self.d_from}:{self.d_to}"

    @property
    def needs(self) -> tuple[str, ...]:
        return (DateStep(self.village_id, self.stream, self.d_from, None).id,
                DateStep(self.village_id, self.stream, self.d_to, None).id)


@dataclass(frozen=True)
class WatchStep(Step):
    dates: tuple[str, ...]  # the main-stream dates of this plan
    after: tuple[str, ...] = ()  # every date and change step of the village

    @property
    def id(self) -> str:
        return f"watches:{self.village_id}"

    @property
    def needs(self) -> tuple[str, ...]:
        return self.after


@dataclass(frozen=True)
class TableStep(Step):
    after: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"table:{self.village_id}"

    @property
    def needs(self) -> tuple[str, ...]:
        return self.after


# --------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class VillagePlan:
    """One village's night after discovery: usable dates per stream, dropped dates with why."""

    village: Village
    window: Window
    streams: Mapping[str, tuple[str, ...]]
    dropped: Mapping[str, str] = field(default_factory=dict)
    cropland: str | None = None  # an official cropland layer (--cropland), else the phenology

    def steps(self) -> list[Step]:
        """Every step, in an order that satisfies ``needs`` (so a plain loop may run them)."""
        vid = self.village.id
        work: list[Step] = []
        main = tuple(self.streams.get(MAIN_STREAM, ()))
        baselines = [BaselineStep(vid, s) for s in sorted({season_of(d) for d in main})]
        work += baselines
        for stream, dates in self.streams.items():
            is_main = stream == MAIN_STREAM
            work += [DateStep(vid, stream, d, prev, is_main) for prev, d in zip((None,) + tuple(dates[:-1]), dates)]
            if not is_main:
                work += [ChangeStep(vid, stream, a, b) for a, b in zip(dates, dates[1:])]
        if main:
            alerts = AlertStep(vid, main, tuple(s.id for s in work if isinstance(s, (BaselineStep, DateStep))
                                                 and getattr(s, "stream", MAIN_STREAM) == MAIN_STREAM))
            work.append(alerts)
            work += [PeriodStep(vid, a, b, (alerts.id,)) for a, b in month_periods(list(main))]
        before = tuple(s.id for s in work)
        if MAIN_STREAM in self.streams:
            work.append(WatchStep(vid, tuple(self.streams[MAIN_STREAM]), before))
        work.append(TableStep(vid, tuple(s.id for s in work)))
        return work


@dataclass(frozen=True)
class NightPlan:
    """The villages of a night, each with its window (incremental runs start each village at
    its last success: ``flows.state.windows``)."""

    villages: tuple[Village, ...]
    windows: Mapping[str, Window]
    cropland: Mapping[str, str] = field(default_factory=dict)  # village id -> official cropland file

    @classmethod
    def build(cls, villages: Sequence[Village], windows: Mapping[str, tuple[dt.date, dt.date]],
              cropland: Mapping[str, str] | None = None) -> "NightPlan":
        return cls(tuple(villages), {v.id: Window(*windows[v.id]) for v in villages}, dict(cropland or {}))

    def __iter__(self) -> Iterator[tuple[Village, Window]]:
        return ((v, self.windows[v.id]) for v in self.villages)


# --------------------------------------------------------------------------- discovery
def check_boundary(village: Village) -> float:
    """The boundary's area in km2 (local UTM); ``BoundaryCheckError`` naming the village when
    it is empty, has zero area, or exceeds :data:`MAX_VILLAGE_AREA_KM2`."""
    from pyproj import Transformer
    from shapely.ops import transform as shp_transform

    from aoi import utm_epsg

    g = village.geometry
    if g is None or g.is_empty:
        raise BoundaryCheckError(f"village {village.id}: the boundary is empty")
    c = g.centroid
    tr = Transformer.from_crs("EPSG:4326", f"EPSG:{utm_epsg(c.x, c.y)}", always_xy=True)
    km2 = shp_transform(tr.transform, g).area / 1e6
    if not (g.area > 0 and km2 * 1e6 >= 1.0):  # collinear lon/lat points still span m2 in UTM
        raise BoundaryCheckError(f"village {village.id}: the boundary has zero area ({g.geom_type}); "
                                 f"a village boundary must be a polygon with an inside")
    if km2 > MAX_VILLAGE_AREA_KM2:
        raise BoundaryCheckError(f"village {village.id}: the boundary covers {km2:,.0f} km2, more than the "
                                 f"{MAX_VILLAGE_AREA_KM2:,.0f} km2 a village run handles; check the boundary file "
                                 f"(coordinates in the wrong CRS or units?)")
    return km2


def usable_dates(scene: xr.Dataset, village: Village, params: Params) -> tuple[list[str], dict[str, str]]:
    """Dates whose valid fraction reaches ``params.min_valid_fraction``; the rest with a reason."""
    dates = scenes.scene_dates(scene)
    keep, dropped = [], {}
    vf = scene["valid_fraction"].values if "valid_fraction" in scene.coords else [1.0] * len(dates)
    for d, f in zip(dates, vf):
        if float(f) < params.min_valid_fraction:
            dropped[d] = f"valid fraction {float(f):.2f} < {params.min_valid_fraction}"
            log.info("%s %s: dropped, %s", village.id, d, dropped[d])
        else:
            keep.append(d)
    return keep, dropped


def plan_village(source: Source, village: Village, window: Window, params: Params,
                 cropland: str | None = None) -> VillagePlan:
    """Discovery: check the boundary, load the village's scenes (lazily, cached for the steps)
    and keep each stream's usable dates; ``cropland``: an official cropland layer file."""
    check_boundary(village)
    streams: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, str] = {}
    for stream, scene in scenes.load_all(source, village, window.start, window.end).items():
        keep, drop = usable_dates(scene, village, params)
        streams[stream] = tuple(keep)
        dropped.update(drop)
    return VillagePlan(village, window, streams, dropped, cropland)
