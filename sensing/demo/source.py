"""``DemoSource``: an embedded, deterministic Sentinel-2-like time series with ground truth.

Per village (seed combined with the CRC-32 of the village id) a landscape is laid out
(``scenery``), rendered per acquisition date from published spectra and crop calendars
(``spectra``, ``render``) with clouds and shadows drawn from Guangdong's cloud climatology
(``clouds``, ``timeline``), and wrapped into a lazy Scene (``sensing.scene``): one Dask task per
date and band, so unneeded dates and bands cost nothing.

The default time axis is two years of Sentinel-2 passes every 5 days (``timeline``). Planted
permanent changes happen at known dates in the second year's clear season
(``timeline.PLANTED``): a forest patch (>= 2 ha) is cleared to bare soil, a pond beside the
village's black-odorous channel turns black-odorous, a pond (>= 5,000 m2) is dug on cropland.
With explicit ``dates`` they all happen the day after the second date. ``truth(village)``
holds what is really on the ground (for scoring only; no product reads it); ``scl(village)``
the SCL layer. Two villages also have a 0.5 m RGB drone orthomosaic (``drone``,
``drone_truth``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import dask
import dask.array as da
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from shapely.geometry import Polygon
from shapely.ops import transform as shp_transform
from shapely.ops import unary_union

from aoi import Grid, Village, grid_for

from ..errors import NoDataError
from ..scene import make_scene
from ..sensors import SENSORS
from . import timeline
from .memo import once
from .clouds import clear_share, cloud_codes, make_clouds
from .confounders import add_confounders
from .optics import fine_grid, observe, shadow_truth
from .profiles import DEFAULT_PROFILE, get_profile
from .rasterize import Fields, rasterize_layout
from .render import band_reflectance, date_mixture, flooded, scl_classes, smooth_noise, water_classes
from .scenery import Layout, make_layout
from .streams import _as_date, _entropy, _profile, _stream
from .spectra import (
    BLACK_ODOROUS_CLASSES,
    BLACK_WATER,
    CLASS_NAMES,
    FOREST,
    SPECTRA_SOURCES,
    WATER_CLASSES,
    band_index,
)

DEMO_VERSION = "2"  # 2: two years every 5 days, cloud climatology, flooded paddies, planted dates
DEFAULT_DATES: tuple[str, ...] = timeline.acquisition_dates()
#: Sentinel-2's 10 m and 20 m bands (the 60 m coastal / nir09 / cirrus are left out)
S2_BANDS: tuple[str, ...] = (
    "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22",
)
ITEM_PREFIX = {"sentinel-2-l2a": "S2", "landsat-c2-l2": "LC", "gf2-pms": "GF2"}
DRONE_VILLAGES: tuple[str, ...] = ("meijiang-sanjiao-pankeng", "haizhu-jianghai-hongwei")
DRONE_RESOLUTION = 0.5
DRONE_DAYS_AFTER_CHANGE = 2
LAYOUT_RESOLUTION = 10.0
#: largest demo grid (pixels per date); beyond it a coarser ``resolution`` is needed
MAX_PIXELS = 25_000_000
#: key features clouds and shadows never cover with a fixed ``cloud_cover`` (the climatology
#: covers anything: the planted changes are then seen on the clear passes only)
PROTECTED = ("black_channel", "turning_pond", "drone_pond", "new_pond", "cleared_patch", "fishpond_dikes")


def demo_villages_with_drone() -> tuple[str, ...]:
    """Ids of the villages whose demo includes a drone orthomosaic."""
    return DRONE_VILLAGES


# ----------------------------------------------------------------------------- cached pieces
@once(maxsize=32)
def _layout(seed: int, village_id: str, wkb: bytes) -> Layout:
    geom = shapely.from_wkb(wkb)
    v = Village(id=village_id, name_zh="", name_en="", province="", county="", town="",
                pilot_type="domain-featured", focus=(), geometry=geom)
    g = grid_for(v, LAYOUT_RESOLUTION)
    layout = make_layout(_stream(seed, village_id, 1), g.bounds, g.crs, g.to_crs(geom), label=f"village {village_id}")
    if _profile(seed).confounders:
        layout = add_confounders(layout, _stream(seed, village_id, 6), label=f"village {village_id}")
    return layout


@once(maxsize=64)
def _fields(seed: int, village_id: str, wkb: bytes, grid: Grid):
    return rasterize_layout(_layout(seed, village_id, wkb), grid.transform, grid.shape)


@once(maxsize=64)
def _texture(seed: int, village_id: str, grid: Grid) -> np.ndarray:
    return smooth_noise(_stream(seed, village_id, 4, int(grid.resolution * 1000)), grid.shape, 1.5)


@once(maxsize=64)
def _year_fields(seed: int, village_id: str, wkb: bytes, grid: Grid, year: int) -> Fields:
    """The fields with the year's crop-calendar shift added to each parcel's phase."""
    f = _fields(seed, village_id, wkb, grid)
    if f.cell is None:
        return f
    salt = seed if isinstance(seed, int) else seed[0] ^ get_profile(seed[1]).salt
    jitter = timeline.year_jitter_days(f.cell, year, zlib.crc32(village_id.encode()) ^ salt)
    return dataclasses.replace(f, phase=(f.phase + jitter).astype("float32"))


def cloud_share(seed: int, village_id: str, date: str, cloud_cover: float | None) -> float:
    """The pass's cloud share: ``cloud_cover`` when given, else drawn from the climatology."""
    if cloud_cover is not None:
        return cloud_cover
    d = dt.date.fromisoformat(date)
    return timeline.draw_cloud_cover(_stream(seed, village_id, 9, d.toordinal()), d)


@functools.lru_cache(maxsize=512)
def _clouds(seed: int, village_id: str, wkb: bytes, date: str, cloud_cover: float | None):
    layout = _layout(seed, village_id, wkb)
    lat = shapely.from_wkb(wkb).centroid.y
    protected = unary_union([layout.feature(n).geometry.buffer(30.0) for n in PROTECTED
                             if any(f.name == n for f in layout.features)]) if cloud_cover is not None else Polygon()
    d = dt.date.fromisoformat(date)
    return make_clouds(_stream(seed, village_id, 2, d.toordinal()), layout.extent, d, lat,
                       cloud_share(seed, village_id, date, cloud_cover), protected)


@functools.lru_cache(maxsize=256)
def _cloud_codes(seed: int, village_id: str, wkb: bytes, grid: Grid, date: str, cloud_cover: float | None) -> np.ndarray:
    codes = cloud_codes(_clouds(seed, village_id, wkb, date, cloud_cover), grid.transform, grid.shape)
    codes.setflags(write=False)
    return codes


@once(maxsize=8)
def _mixture(seed, village_id: str, wkb: bytes, grid: Grid, date: str, after):
    d = dt.date.fromisoformat(date)
    fields = _year_fields(seed, village_id, wkb, grid, d.year)
    rng = _stream(seed, village_id, 3, d.toordinal(), int(grid.resolution * 1000))
    return date_mixture(fields, after=after, doy=d.timetuple().tm_yday, texture=_texture(seed, village_id, grid), rng=rng)


@once(maxsize=128)
def _render(seed, village_id: str, wkb: bytes, grid: Grid, bands: tuple[str, ...], date: str,
            after, cloud_cover: float | None) -> np.ndarray:
    """(bands, y, x) float32 reflectance of one date, NaN under cloud and shadow. ``after``:
    the planted changes that have happened (``Fields.cls``). Each band's noise comes from its
    own stream, so a band is the same whichever bands are rendered with it. An observed
    profile renders on a grid ``supersample`` times finer, without the PSF, then through
    ``optics.observe`` (water spectra, shadows, mixed pixels, adjacency, MTF, haze, noise)."""
    prof = _profile(seed)
    g = fine_grid(grid, prof.supersample) if prof.observed else grid
    d = dt.date.fromisoformat(date)
    mixture = _mixture(seed, village_id, wkb, g, date, after)
    res = int(grid.resolution * 1000)
    psf = {"psf_sigma_px": 0.0} if prof.observed else {}
    refl = np.stack([band_reflectance(mixture, col, _stream(seed, village_id, 3, d.toordinal(), res, 100 + col), **psf)
                     for col in band_index(bands)])
    if prof.observed:
        refl = observe(prof, refl, _year_fields(seed, village_id, wkb, g, d.year), _layout(seed, village_id, wkb), g,
                       grid, date=date, after=after, bands=bands, lat_deg=shapely.from_wkb(wkb).centroid.y,
                       body_entropy=_entropy(seed, village_id, 8), date_entropy=_entropy(seed, village_id, 7, d.toordinal(), res))
    masked = _cloud_codes(seed, village_id, wkb, grid, date, cloud_cover) > 0
    refl[:, masked] = np.nan
    refl.setflags(write=False)
    return refl


@functools.lru_cache(maxsize=32)
def _village_in(wkb: bytes, crs: str):
    """The village polygon in the grid's CRS."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shp_transform(tr.transform, shapely.from_wkb(wkb))


def _valid_fraction(seed: int, village_id: str, wkb: bytes, crs: str, date: str, cloud_cover: float | None) -> float:
    """The clear share of the village on ``date`` (``clouds.clear_share``)."""
    return clear_share(_clouds(seed, village_id, wkb, date, cloud_cover), _village_in(wkb, crs))


def _band_block(block_info=None, *, key, band, dates, states, cloud_cover) -> np.ndarray:
    """One (1, y, x) block of a band's (time, y, x) array: the date at the block's position
    (``dask.array.map_blocks``: one task per date and band, and a graph cheap to build)."""
    t = block_info[None]["chunk-location"][0]
    return _render(*key, (band,), dates[t], states[t], cloud_cover)


# ----------------------------------------------------------------------------- the source
@dataclass(frozen=True, kw_only=True)
class DemoSource:
    """Synthetic Sentinel-2-like imagery with ground truth, identical for the same ``seed``.

    ``dates``: acquisition dates (ISO strings; default ``DEFAULT_DATES``: two years every 5
    days); ``cloud_cover``: a fixed average cloud share per date (0..0.6), or ``None``
    (default) for Guangdong's cloud climatology (``timeline``); ``resolution``: grid pixel size
    in metres;
    ``drone_stream``: hand the drone orthomosaics to the flows as an extra stream
    (:meth:`extra_scenes`). Off by default: the RGB-only drone has no NIR/SWIR, and
    ``indices`` refuses water extraction from visible bands alone. ``profile``:
    ``development`` (default) or the held-out ``evaluation`` (:mod:`sensing.demo.profiles`).
    """

    seed: int = 2024
    sensor: str = "sentinel-2-l2a"
    dates: tuple[str, ...] | None = None
    cloud_cover: float | None = None
    resolution: float = 10.0
    drone_stream: bool = False
    profile: str = DEFAULT_PROFILE
    kind: ClassVar[str] = "demo"

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"demo seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        get_profile(self.profile)  # ValueError naming the known profiles
        if self.sensor not in SENSORS:
            raise ValueError(f"demo sensor {self.sensor!r} unknown; known: {', '.join(SENSORS)}")
        if not self.bands:
            raise ValueError(f"demo has no spectra for the bands of sensor {self.sensor!r}")
        if self.dates is not None:
            if isinstance(self.dates, str) or not len(self.dates):
                raise ValueError(f"demo dates must be a non-empty sequence of YYYY-MM-DD, got {self.dates!r}")
            parsed = []
            for d in self.dates:
                try:
                    parsed.append(dt.date.fromisoformat(str(d)[:10]))
                except ValueError:
                    raise ValueError(f"demo date {d!r} is not YYYY-MM-DD") from None
            if len(set(parsed)) != len(parsed):
                raise ValueError(f"demo dates repeat: {self.dates!r}")
            object.__setattr__(self, "dates", tuple(p.isoformat() for p in sorted(parsed)))
        if self.cloud_cover is not None:
            if not 0.0 <= float(self.cloud_cover) <= 0.6:
                raise ValueError(f"demo cloud_cover must be within 0..0.6 (or None: the climatology), "
                                 f"got {self.cloud_cover}")
            object.__setattr__(self, "cloud_cover", float(self.cloud_cover))
        if not float(self.resolution) > 0:
            raise ValueError(f"demo resolution must be positive, got {self.resolution}")
        object.__setattr__(self, "resolution", float(self.resolution))

    # ------------------------------------------------------------------ properties
    @property
    def bands(self) -> tuple[str, ...]:
        """Bands rendered: Sentinel-2's 10/20 m bands, or the sensor's bands the spectra cover."""
        names = SENSORS[self.sensor].common_names()
        if self.sensor == "sentinel-2-l2a":
            return S2_BANDS
        from .spectra import BANDS

        return tuple(b for b in names if b in BANDS)

    @property
    def acquisition_dates(self) -> tuple[str, ...]:
        return self.dates if self.dates is not None else DEFAULT_DATES

    @property
    def planted(self) -> dict[str, dt.date]:
        """Layout feature -> the day its planted change happens (``timeline.planted_dates``)."""
        return timeline.planted_dates(self.acquisition_dates, explicit=self.dates is not None)

    def _after(self, village: Village, date: str) -> frozenset[int]:
        """Feature ids (``Fields.feature_id``) whose planted change has happened on ``date``."""
        done = timeline.changed_by(self.planted, date)
        return frozenset(i + 1 for i, f in enumerate(self.layout(village).features) if f.name in done)

    def change_dates(self, kind: str) -> tuple[str, str] | None:
        """(last pass before, first pass on or after) the planted change ``kind``
        (``timeline.change_span``)."""
        return timeline.change_span(self.planted, self.acquisition_dates, kind)

    def describe(self) -> dict:
        dates = (list(self.dates) if self.dates is not None else
                 f"{DEFAULT_DATES[0]}..{DEFAULT_DATES[-1]} every {timeline.REVISIT_DAYS} days")
        return {"kind": self.kind, "seed": self.seed, "sensor": self.sensor, "dates": dates,
                "cloud_cover": "guangdong climatology" if self.cloud_cover is None else self.cloud_cover,
                "planted": {k: d.isoformat() for k, d in sorted(self.planted.items())},
                "resolution": self.resolution, "drone_stream": bool(self.drone_stream),
                "demo_version": DEMO_VERSION, "profile": self.profile}

    # ------------------------------------------------------------------ helpers
    def _key(self, village: Village) -> tuple[int | tuple[int, str], str, bytes]:
        seed = self.seed if self.profile == DEFAULT_PROFILE else (self.seed, self.profile)
        return (seed, village.id, shapely.to_wkb(village.geometry))

    def grid(self, village: Village) -> Grid:
        g = grid_for(village, self.resolution)
        if g.width * g.height > MAX_PIXELS:
            raise ValueError(f"village {village.id}: the demo grid would be {g.width} x {g.height} pixels at "
                             f"{self.resolution:g} m (limit {MAX_PIXELS:,}); use a coarser resolution")
        return g

    def layout(self, village: Village) -> Layout:
        """The village's landscape (metres, grid CRS): features, drone footprint."""
        return _layout(*self._key(village))

    def _coords(self, grid: Grid, times) -> dict[str, Any]:
        y, x = grid.coords()
        return {"time": pd.DatetimeIndex(pd.to_datetime(list(times))), "y": y, "x": x}

    def _georef(self, obj, grid: Grid):
        obj = obj.rio.write_crs(grid.crs)
        return obj.rio.write_transform(grid.transform)

    def _base_attrs(self, village: Village) -> dict[str, Any]:
        return {"demo": True, "source": "demo", "seed": self.seed, "profile": self.profile, "village_id": village.id,
                "spectra_sources": list(SPECTRA_SOURCES), "demo_version": DEMO_VERSION}

    # ------------------------------------------------------------------ the Scene
    def load(self, village: Village, start: dt.date, end: dt.date) -> xr.Dataset:
        """Sentinel-2-like Scene of the acquisitions within [start, end] (inclusive), lazy: one
        Dask task per date and band (select dates and bands before computing)."""
        start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
        dates = self.acquisition_dates
        idx = [i for i, d in enumerate(dates) if start_d <= dt.date.fromisoformat(d) <= end_d]
        if not idx:
            raise NoDataError(f"demo: no acquisition for village {village.id} between {start_d} and {end_d} "
                              f"(demo dates: {dates[0]}..{dates[-1]}, {len(dates)} passes)")
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        _fields(seed, vid, wkb, grid)  # fail early (clear error) on an unusable boundary; warm the cache
        bands = self.bands
        h, w = grid.shape
        chosen = tuple(dates[i] for i in idx)
        states = tuple(self._after(village, d) for d in chosen)
        token = dask.base.tokenize(seed, vid, wkb, grid, chosen, self.cloud_cover, DEMO_VERSION)
        cube = {b: da.map_blocks(_band_block, dtype="float32", chunks=((1,) * len(chosen), (h,), (w,)),
                                 name=f"demo_render-{token}-{b}", meta=np.empty((0, 0, 0), "float32"),
                                 key=(seed, vid, wkb, grid), band=b, dates=chosen, states=states,
                                 cloud_cover=self.cloud_cover)
                for b in bands}
        vf = [_valid_fraction(seed, vid, wkb, grid.crs, dates[i], self.cloud_cover) for i in idx]
        y, x = grid.coords()
        prefix = ITEM_PREFIX.get(self.sensor, "X")
        ids = [f"DEMO_{prefix}_{vid}_{dates[i].replace('-', '')}" for i in idx]
        attrs = self._base_attrs(village)
        attrs.update({"cloud_cover": "guangdong climatology" if self.cloud_cover is None else self.cloud_cover,
                      "resolution": self.resolution, "planted_changes": self._changes_text()})
        return make_scene(cube, times=[dates[i] for i in idx], y=y, x=x,
                          crs=grid.crs, sensor=self.sensor, item_ids=ids, attrs=attrs, valid_fraction=vf,
                          resolution=grid.resolution, reflectance_units="reflectance", reflectance_level="surface")

    def _changes_text(self) -> str:
        return timeline.describe_planted(self.planted)

    def extra_scenes(self, village: Village, start: dt.date, end: dt.date) -> dict[str, xr.Dataset]:
        """Extra streams for the flows: ``{"drone": scene}`` when ``drone_stream`` is on and the
        village has a drone flight within [start, end], else ``{}``."""
        scene = self.drone(village) if self.drone_stream else None
        if scene is None:
            return {}
        t = pd.Timestamp(scene["time"].values[0]).date()
        return {"drone": scene} if _as_date(start, "start") <= t <= _as_date(end, "end") else {}

    # ------------------------------------------------------------------ SCL and truth
    def _window(self, start, end) -> list[str]:
        dates = self.acquisition_dates
        lo = _as_date(start, "start") if start is not None else None
        hi = _as_date(end, "end") if end is not None else None
        return [d for d in dates if (lo is None or dt.date.fromisoformat(d) >= lo)
                and (hi is None or dt.date.fromisoformat(d) <= hi)]

    def _year_fields(self, village: Village, date: str) -> Fields:
        seed, vid, wkb = self._key(village)
        return _year_fields(seed, vid, wkb, self.grid(village), dt.date.fromisoformat(date).year)

    def scl(self, village: Village, start=None, end=None) -> xr.DataArray:
        """uint8 (time, y, x) Sentinel-2 SCL-like classes of the acquisition dates (all, or
        those within [start, end]): 3 shadow, 4 vegetation, 5 not vegetated, 6 water (flooded
        paddies too), 8/9 cloud medium/high."""
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        dates = self._window(start, end)
        arr = np.stack([
            scl_classes(self._year_fields(village, d), after=self._after(village, d),
                        doy=dt.date.fromisoformat(d).timetuple().tm_yday,
                        cloud_codes=_cloud_codes(seed, vid, wkb, grid, d, self.cloud_cover))
            for d in dates])
        out = xr.DataArray(arr, dims=("time", "y", "x"), coords=self._coords(grid, dates), name="scl",
                           attrs={**self._base_attrs(village),
                                  "flag_values": [3, 4, 5, 6, 8, 9],
                                  "flag_meanings": "cloud_shadow vegetation not_vegetated water "
                                                   "cloud_medium_probability cloud_high_probability"})
        return self._georef(out, grid)

    def truth(self, village: Village, start=None, end=None) -> xr.Dataset:
        """Ground truth on the Scene's grid, for scoring only (no product reads it), of the
        acquisition dates (all, or those within [start, end]): per date ``water`` (the water
        classes and paddies under standing water), ``flooded_paddy``, ``black_odorous``,
        ``cloud``, ``land_cover``; timeless ``vegetation_loss`` (forest cleared),
        ``water_gain`` (pond dug), ``became_black_odorous``, ``cropland`` (paddy and dry
        cropland before the changes) and ``forest``. ``attrs["planted"]``: the day each change
        happens; ``attrs["changes"]``: per change the acquisitions just before and on or after
        it; ``change_from`` / ``change_to`` span them all."""
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        fields = _fields(seed, vid, wkb, grid)
        dates = self._window(start, end)
        lc, flood = [], []
        for d in dates:
            f = self._year_fields(village, d)
            c = f.cls(self._after(village, d))
            lc.append(c)
            flood.append(flooded(c, f.phase, dt.date.fromisoformat(d).timetuple().tm_yday))
        lc = np.stack(lc).astype("uint8") if dates else np.zeros((0,) + grid.shape, "uint8")
        flood = np.stack(flood) if dates else np.zeros((0,) + grid.shape, "float32")
        water = water_classes(lc, flood)
        cloud = np.stack([_cloud_codes(seed, vid, wkb, grid, d, self.cloud_cover) > 0 for d in dates]) \
            if dates else np.zeros((0,) + grid.shape, bool)
        a, b = (fields.cls_before, fields.cls_after)
        w_a, w_b = np.isin(a, WATER_CLASSES), np.isin(b, WATER_CLASSES)
        dims = ("time", "y", "x")
        from .spectra import CROP, PADDY

        ds = xr.Dataset(
            {
                "water": (dims, water),
                "flooded_paddy": (dims, water & ~np.isin(lc, WATER_CLASSES)),
                "black_odorous": (dims, np.isin(lc, BLACK_ODOROUS_CLASSES)),
                "cloud": (dims, cloud),
                "cast_shadow": (dims, shadow_truth(self.layout(village), grid, dates, village.geometry.centroid.y)),
                "land_cover": (dims, lc, {"classes": {int(c): n for c, n in CLASS_NAMES.items()},
                                          "flag_values": list(CLASS_NAMES),
                                          "flag_meanings": " ".join(CLASS_NAMES.values())}),
                "vegetation_loss": (("y", "x"), (a == FOREST) & (b != FOREST) & ~w_b),
                "water_gain": (("y", "x"), ~w_a & w_b),
                "became_black_odorous": (("y", "x"), w_a & (a != BLACK_WATER) & (b == BLACK_WATER)),
                "cropland": (("y", "x"), np.isin(a, (PADDY, CROP))),
                "forest": (("y", "x"), a == FOREST),
            },
            coords=self._coords(grid, dates),
        )
        kinds = ("vegetation_loss", "water_gain", "became_black_odorous")
        changes = {k: self.change_dates(k) for k in kinds}
        for k, span in changes.items():
            if span is None:
                ds[k][:] = False
        spans = [s for s in changes.values() if s]
        change_from = min(s[0] for s in spans) if spans else ""
        change_to = max(s[1] for s in spans) if spans else ""
        planted = {timeline.PLANTED_KINDS[n]: d.isoformat() for n, d in self.planted.items()}
        ds.attrs.update(self._base_attrs(village))
        ds.attrs.update({
            "change_from": change_from, "change_to": change_to,
            "changes": {k: list(s) if s else ["", ""] for k, s in changes.items()},
            "planted": planted, "description": self._changes_text(), "resolution": self.resolution,
        })
        for k, span in changes.items():
            ds[k].attrs.update({"change_from": span[0] if span else "", "change_to": span[1] if span else "",
                                "planted": planted.get(k, "")})
        return self._georef(ds, grid)

    # ------------------------------------------------------------------ watches
    def trees(self, village: Village):
        """A demo ancient-tree registry (一树一码), clearly marked demo (``sensing.demo.trees``):
        001 inside the planted forest clearing (its canopy NDVI falls after the clearing: the
        watch must alert), 002 in stable forest (no alert), 003 a village tree in the main
        settlement. Points in EPSG:4326."""
        from .trees import demo_trees

        return demo_trees(self, village)

    # ------------------------------------------------------------------ drone (sensing.demo.drone)
    def drone_grid(self, village: Village) -> Grid | None:
        from .drone import drone_grid

        return drone_grid(self, village)

    def drone_date(self) -> str:
        from .drone import drone_date

        return drone_date(self)

    def drone(self, village: Village) -> xr.Dataset | None:
        """A 0.5 m RGB drone orthomosaic (Scene, sensor ``drone-rgb``, one date) over the
        black-odorous channel and its ponds; None for villages without a flight."""
        from .drone import drone_scene

        return drone_scene(self, village)

    def drone_truth(self, village: Village) -> xr.Dataset | None:
        """``water`` and ``black_odorous`` (time, y, x) on the drone grid; None without a flight."""
        from .drone import drone_truth

        return drone_truth(self, village)


def clear_cache() -> None:
    """Forget every cached layout, field and rendering (tests use it to prove determinism)."""
    from .drone import _drone_render

    for fn in (_layout, _fields, _year_fields, _texture, _clouds, _cloud_codes, _mixture, _render, _drone_render):
        fn.cache_clear()
