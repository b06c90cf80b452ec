"""``DemoSource``: an embedded, deterministic Sentinel-2-like time series with ground truth.

Per village (seed combined with the CRC-32 of the village id) a landscape is laid out
(``scenery``), rendered per acquisition date from published spectra (``spectra``, ``render``)
with seeded clouds and shadows (``clouds``), and wrapped into a Scene (``sensing.scene``).
Planted changes happen between the second and third acquisition (or the last two when
fewer): a forest patch (>= 2 ha) is cleared to bare soil, a pond (>= 5,000 m2) is dug on
cropland, and a pond beside the village's black-odorous channel turns black-odorous.
``truth(village)`` holds what is really on the ground; ``scl(village)`` the SCL layer.
Two villages also have a 0.5 m RGB drone orthomosaic (``drone``, ``drone_truth``).
"""
from __future__ import annotations

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
from affine import Affine
from shapely.ops import unary_union

from aoi import Grid, Village, grid_for

from ..errors import NoDataError
from ..masking import aoi_mask
from ..scene import make_scene
from ..sensors import SENSORS
from .clouds import cloud_codes, make_clouds
from .confounders import add_confounders
from .optics import fine_grid, observe, shadow_truth
from .profiles import DEFAULT_PROFILE, get_profile
from .render import drone_rgb, reflectance, scl_classes, smooth_noise
from .rasterize import rasterize_layout
from .scenery import Layout, make_layout
from .spectra import (
    BLACK_ODOROUS_CLASSES,
    BLACK_WATER,
    CLASS_NAMES,
    FOREST,
    SPECTRA_SOURCES,
    WATER_CLASSES,
    band_index,
)

DEMO_VERSION = "1"
DEFAULT_DATES: tuple[str, ...] = ("2024-01-15", "2024-04-20", "2024-07-18", "2024-10-25", "2025-01-12")
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
#: key features clouds and shadows never cover (so the planted changes stay observable)
PROTECTED = ("black_channel", "turning_pond", "drone_pond", "new_pond", "cleared_patch", "fishpond_dikes")


def demo_villages_with_drone() -> tuple[str, ...]:
    """Ids of the villages whose demo includes a drone orthomosaic."""
    return DRONE_VILLAGES


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


# ----------------------------------------------------------------------------- cached pieces
@functools.lru_cache(maxsize=32)
def _layout(seed: int, village_id: str, wkb: bytes) -> Layout:
    geom = shapely.from_wkb(wkb)
    v = Village(id=village_id, name_zh="", name_en="", province="", county="", town="",
                pilot_type="domain-featured", focus=(), geometry=geom)
    g = grid_for(v, LAYOUT_RESOLUTION)
    layout = make_layout(_stream(seed, village_id, 1), g.bounds, g.crs, g.to_crs(geom), label=f"village {village_id}")
    if _profile(seed).confounders:
        layout = add_confounders(layout, _stream(seed, village_id, 6), label=f"village {village_id}")
    return layout


@functools.lru_cache(maxsize=64)
def _fields(seed: int, village_id: str, wkb: bytes, grid: Grid):
    return rasterize_layout(_layout(seed, village_id, wkb), grid.transform, grid.shape)


@functools.lru_cache(maxsize=64)
def _texture(seed: int, village_id: str, grid: Grid) -> np.ndarray:
    return smooth_noise(_stream(seed, village_id, 4, int(grid.resolution * 1000)), grid.shape, 1.5)


@functools.lru_cache(maxsize=256)
def _clouds(seed: int, village_id: str, wkb: bytes, date: str, cloud_cover: float):
    layout = _layout(seed, village_id, wkb)
    lat = shapely.from_wkb(wkb).centroid.y
    protected = unary_union([layout.feature(n).geometry.buffer(30.0) for n in PROTECTED
                             if any(f.name == n for f in layout.features)])
    d = dt.date.fromisoformat(date)
    return make_clouds(_stream(seed, village_id, 2, d.toordinal()), layout.extent, d, lat, cloud_cover, protected)


@functools.lru_cache(maxsize=128)
def _cloud_codes(seed: int, village_id: str, wkb: bytes, grid: Grid, date: str, cloud_cover: float) -> np.ndarray:
    codes = cloud_codes(_clouds(seed, village_id, wkb, date, cloud_cover), grid.transform, grid.shape)
    codes.setflags(write=False)
    return codes


@functools.lru_cache(maxsize=24)
def _render(seed: int, village_id: str, wkb: bytes, grid: Grid, bands: tuple[str, ...], date: str,
            after: bool, cloud_cover: float) -> np.ndarray:
    """(bands, y, x) float32 reflectance of one date, NaN under cloud and shadow."""
    prof = _profile(seed)
    g = fine_grid(grid, prof.supersample) if prof.observed else grid
    fields = _fields(seed, village_id, wkb, g)
    d = dt.date.fromisoformat(date)
    rng = _stream(seed, village_id, 3, d.toordinal(), int(grid.resolution * 1000))
    refl = reflectance(fields, after=after, doy=d.timetuple().tm_yday, band_cols=band_index(bands),
                       texture=_texture(seed, village_id, g), rng=rng, **({"psf_sigma_px": 0.0} if prof.observed else {}))
    if prof.observed:  # the profile's water spectra, shadows, mixed pixels, adjacency, MTF, haze, noise
        res = int(grid.resolution * 1000)
        refl = observe(prof, refl, fields, _layout(seed, village_id, wkb), g, grid, date=date, after=after, bands=bands,
                       lat_deg=shapely.from_wkb(wkb).centroid.y, body_entropy=_entropy(seed, village_id, 8),
                       date_entropy=_entropy(seed, village_id, 7, d.toordinal(), res))
    masked = _cloud_codes(seed, village_id, wkb, grid, date, cloud_cover) > 0
    refl[:, masked] = np.nan
    refl.setflags(write=False)
    return refl


def _render_band_stack(seed, village_id, wkb, grid, bands, date, after, cloud_cover) -> np.ndarray:
    return _render(seed, village_id, wkb, grid, bands, date, after, cloud_cover)


# ----------------------------------------------------------------------------- the source
@dataclass(frozen=True, kw_only=True)
class DemoSource:
    """Synthetic Sentinel-2-like imagery with ground truth, identical for the same ``seed``.

    ``dates``: acquisition dates (ISO strings; default ``DEFAULT_DATES``); ``cloud_cover``:
    average cloud share per date (0..0.6); ``resolution``: grid pixel size in metres;
    ``drone_stream``: hand the drone orthomosaics to the flows as an extra stream
    (:meth:`extra_scenes`). Off by default: the RGB-only drone has no NIR/SWIR, and
    ``indices`` refuses water extraction from visible bands alone. ``profile``:
    ``development`` (default) or the held-out ``evaluation`` (:mod:`sensing.demo.profiles`).
    """

    seed: int = 2024
    sensor: str = "sentinel-2-l2a"
    dates: tuple[str, ...] | None = None
    cloud_cover: float = 0.08
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
        if not 0.0 <= float(self.cloud_cover) <= 0.6:
            raise ValueError(f"demo cloud_cover must be within 0..0.6, got {self.cloud_cover}")
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
    def change_index(self) -> int | None:
        """Index of the first date after the planted changes (None with a single date)."""
        n = len(self.acquisition_dates)
        return None if n < 2 else min(2, n - 1)

    def _after(self, i: int) -> bool:
        k = self.change_index
        return k is not None and i >= k

    def describe(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "sensor": self.sensor,
                "dates": list(self.acquisition_dates), "cloud_cover": self.cloud_cover,
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
        """Sentinel-2-like Scene of the acquisitions within [start, end] (inclusive)."""
        start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
        dates = self.acquisition_dates
        idx = [i for i, d in enumerate(dates) if start_d <= dt.date.fromisoformat(d) <= end_d]
        if not idx:
            raise NoDataError(f"demo: no acquisition for village {village.id} between {start_d} and {end_d} "
                              f"(demo dates: {', '.join(dates)})")
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        _fields(seed, vid, wkb, grid)  # fail early (clear error) on an unusable boundary; warm the cache
        bands = self.bands
        h, w = grid.shape
        stacks = []
        for i in idx:
            delayed = dask.delayed(_render_band_stack, pure=True)(
                seed, vid, wkb, grid, bands, dates[i], self._after(i), self.cloud_cover)
            stacks.append(da.from_delayed(delayed, shape=(len(bands), h, w), dtype="float32"))
        cube = da.stack(stacks, axis=1)  # (band, time, y, x)
        inside = aoi_mask(village.geometry, grid).values
        vf = []
        for i in idx:
            masked = _cloud_codes(seed, vid, wkb, grid, dates[i], self.cloud_cover) > 0
            n = int(inside.sum())
            vf.append(float((~masked & inside).sum()) / n if n else float((~masked).mean()))
        y, x = grid.coords()
        prefix = ITEM_PREFIX.get(self.sensor, "X")
        ids = [f"DEMO_{prefix}_{vid}_{dates[i].replace('-', '')}" for i in idx]
        attrs = self._base_attrs(village)
        attrs.update({"cloud_cover": self.cloud_cover, "resolution": self.resolution,
                      "planted_changes": self._changes_text()})
        return make_scene({b: cube[k] for k, b in enumerate(bands)}, times=[dates[i] for i in idx], y=y, x=x,
                          crs=grid.crs, sensor=self.sensor, item_ids=ids, attrs=attrs, valid_fraction=vf,
                          resolution=grid.resolution, reflectance_units="reflectance", reflectance_level="surface")

    def _changes_text(self) -> str:
        k = self.change_index
        if k is None:
            return "none (single date)"
        d = self.acquisition_dates
        return (f"between {d[k - 1]} and {d[k]}: forest patch cleared to bare soil, pond dug on "
                f"cropland, ordinary pond turned black-odorous")

    def extra_scenes(self, village: Village, start: dt.date, end: dt.date) -> dict[str, xr.Dataset]:
        """Extra streams for the flows: ``{"drone": scene}`` when ``drone_stream`` is on and the
        village has a drone flight within [start, end], else ``{}``."""
        scene = self.drone(village) if self.drone_stream else None
        if scene is None:
            return {}
        t = pd.Timestamp(scene["time"].values[0]).date()
        return {"drone": scene} if _as_date(start, "start") <= t <= _as_date(end, "end") else {}

    # ------------------------------------------------------------------ SCL and truth
    def scl(self, village: Village) -> xr.DataArray:
        """uint8 (time, y, x) Sentinel-2 SCL-like classes of every acquisition date
        (3 shadow, 4 vegetation, 5 not vegetated, 6 water, 8/9 cloud medium/high)."""
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        fields = _fields(seed, vid, wkb, grid)
        dates = self.acquisition_dates
        arr = np.stack([
            scl_classes(fields, after=self._after(i), doy=dt.date.fromisoformat(d).timetuple().tm_yday,
                        cloud_codes=_cloud_codes(seed, vid, wkb, grid, d, self.cloud_cover))
            for i, d in enumerate(dates)])
        out = xr.DataArray(arr, dims=("time", "y", "x"), coords=self._coords(grid, dates), name="scl",
                           attrs={**self._base_attrs(village),
                                  "flag_values": [3, 4, 5, 6, 8, 9],
                                  "flag_meanings": "cloud_shadow vegetation not_vegetated water "
                                                   "cloud_medium_probability cloud_high_probability"})
        return self._georef(out, grid)

    def truth(self, village: Village) -> xr.Dataset:
        """Ground truth on the Scene's grid: per date ``water``, ``black_odorous``, ``cloud``,
        ``land_cover``; timeless ``vegetation_loss``, ``water_gain``, ``became_black_odorous``
        between ``attrs["change_from"]`` and ``attrs["change_to"]``."""
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        fields = _fields(seed, vid, wkb, grid)
        dates = self.acquisition_dates
        lc = np.stack([fields.cls(self._after(i)) for i in range(len(dates))]).astype("uint8")
        water = np.isin(lc, WATER_CLASSES)
        cloud = np.stack([_cloud_codes(seed, vid, wkb, grid, d, self.cloud_cover) > 0 for d in dates])
        k = self.change_index
        a, b = (fields.cls_before, fields.cls_after)
        w_a, w_b = np.isin(a, WATER_CLASSES), np.isin(b, WATER_CLASSES)
        dims = ("time", "y", "x")
        ds = xr.Dataset(
            {
                "water": (dims, water),
                "black_odorous": (dims, np.isin(lc, BLACK_ODOROUS_CLASSES)),
                "cloud": (dims, cloud),
                "cast_shadow": (dims, shadow_truth(self.layout(village), grid, dates, village.geometry.centroid.y)),
                "land_cover": (dims, lc, {"classes": {int(c): n for c, n in CLASS_NAMES.items()},
                                          "flag_values": list(CLASS_NAMES),
                                          "flag_meanings": " ".join(CLASS_NAMES.values())}),
                "vegetation_loss": (("y", "x"), (a == FOREST) & (b != FOREST) & ~w_b),
                "water_gain": (("y", "x"), ~w_a & w_b),
                "became_black_odorous": (("y", "x"), w_a & (a != BLACK_WATER) & (b == BLACK_WATER)),
            },
            coords=self._coords(grid, dates),
        )
        change_from = dates[k - 1] if k is not None else ""
        change_to = dates[k] if k is not None else ""
        if k is None:
            for name in ("vegetation_loss", "water_gain", "became_black_odorous"):
                ds[name][:] = False
        ds.attrs.update(self._base_attrs(village))
        ds.attrs.update({
            "change_from": change_from, "change_to": change_to,
            "changes": {n: [change_from, change_to] for n in ("vegetation_loss", "water_gain", "became_black_odorous")},
            "description": self._changes_text(),
            "resolution": self.resolution,
        })
        for name in ("vegetation_loss", "water_gain", "became_black_odorous"):
            ds[name].attrs.update({"change_from": change_from, "change_to": change_to})
        return self._georef(ds, grid)

    # ------------------------------------------------------------------ watches
    def trees(self, village: Village):
        """A demo ancient-tree registry (一树一码), clearly marked demo (codes ``DEMO-<village>-NNN``,
        ``demo: True``): 001 inside the planted forest clearing (its canopy NDVI falls after
        ``truth().attrs["change_from"]``: the watch must alert), 002 in stable forest away from
        every feature (no alert), 003 a village tree (风水树) in the main settlement. Points in
        EPSG:4326 with ``code``, ``species``, ``name_zh``, ``age_years``, ``demo``, ``placement``."""
        import geopandas as gpd
        from shapely.geometry import Point

        lay = self.layout(village)
        cleared = lay.feature("cleared_patch").geometry
        pts = [(cleared.buffer(-25.0).representative_point(), "Cinnamomum camphora", "樟树（演示）", 320,
                "in the planted forest clearing")]
        left, bottom, right, top = lay.extent
        xs, ys = np.meshgrid(np.arange(left + 100, right - 100, 20.0), np.arange(bottom + 100, top - 100, 20.0))
        xs, ys = xs.ravel(), ys.ravel()
        t = lay.terrain(xs, ys)
        feats = unary_union([f.geometry for f in lay.features]).buffer(60.0)
        ok = (t > lay.forest_threshold + 0.1) & ~shapely.contains_xy(feats, xs, ys)
        local = shapely.ops.transform(self._to_grid(village), village.geometry)
        inside = ok & shapely.contains_xy(local, xs, ys)
        pick = inside if inside.any() else ok
        if pick.any():
            i = int(np.flatnonzero(pick)[np.argmax(t[pick])])
            pts.append((Point(xs[i], ys[i]), "Castanopsis fissa", "黧蒴锥（演示）", 150, "in stable forest"))
        main = lay.feature("settlement_0").geometry
        pts.append((main.buffer(-20.0).representative_point() if main.buffer(-20.0).area > 0 else main.centroid,
                    "Ficus microcarpa", "榕树（演示）", 210, "village tree in the main settlement"))
        gdf = gpd.GeoDataFrame(
            {"code": [f"DEMO-{village.id}-{k + 1:03d}" for k in range(len(pts))],
             "species": [p[1] for p in pts], "name_zh": [p[2] for p in pts], "age_years": [p[3] for p in pts],
             "demo": [True] * len(pts), "placement": [p[4] for p in pts]},
            geometry=[p[0] for p in pts], crs=lay.crs)
        return gdf.to_crs("EPSG:4326")

    def _to_grid(self, village: Village):
        from pyproj import Transformer

        return Transformer.from_crs("EPSG:4326", self.grid(village).crs, always_xy=True).transform

    def cropland(self, village: Village) -> xr.DataArray:
        """Cropland (paddy and dry cropland) before the planted changes, bool on the Scene's grid,
        from the demo layout: the stand-in for a cropland layer (e.g. 永久基本农田) the demo
        has and real sources do not; ``attrs["source"]`` says so."""
        seed, vid, wkb = self._key(village)
        grid = self.grid(village)
        from .spectra import CROP, PADDY

        fields = _fields(seed, vid, wkb, grid)
        y, x = grid.coords()
        out = xr.DataArray(np.isin(fields.cls_before, (PADDY, CROP)), dims=("y", "x"), coords={"y": y, "x": x},
                           name="cropland", attrs={**self._base_attrs(village),
                                                   "source": "demo layout: paddy and cropland parcels (synthetic)"})
        return self._georef(out, grid)

    # ------------------------------------------------------------------ drone
    def drone_grid(self, village: Village) -> Grid | None:
        if village.id not in DRONE_VILLAGES:
            return None
        left, bottom, right, top = self.layout(village).drone_box
        res = DRONE_RESOLUTION
        return Grid(crs=self.grid(village).crs, resolution=res, transform=Affine(res, 0.0, left, 0.0, -res, top),
                    width=int(round((right - left) / res)), height=int(round((top - bottom) / res)))

    def drone_date(self) -> str:
        k = self.change_index or 0
        first_after = dt.date.fromisoformat(self.acquisition_dates[k])
        return (first_after + dt.timedelta(days=DRONE_DAYS_AFTER_CHANGE)).isoformat()

    def drone(self, village: Village) -> xr.Dataset | None:
        """A 0.5 m RGB drone orthomosaic (Scene, sensor ``drone-rgb``, one date, reflectance-
        calibrated, cloud-free) over the black-odorous channel and its ponds; None for
        villages without a flight (see :func:`demo_villages_with_drone`)."""
        grid = self.drone_grid(village)
        if grid is None:
            return None
        rgb = _drone_render(*self._key(village), grid, self.drone_date(), self.change_index is not None)
        y, x = grid.coords()
        date = self.drone_date()
        attrs = self._base_attrs(village)
        attrs.update({"resolution": grid.resolution, "platform": "demo drone flight, reflectance-calibrated RGB"})
        return make_scene({b: rgb[k][None] for k, b in enumerate(("red", "green", "blue"))},
                          times=[date], y=y, x=x, crs=grid.crs, sensor="drone-rgb",
                          item_ids=[f"DEMO_DRONE_{village.id}_{date.replace('-', '')}"], attrs=attrs,
                          valid_fraction=[1.0], resolution=grid.resolution,
                          reflectance_units="reflectance", reflectance_level="surface")

    def drone_truth(self, village: Village) -> xr.Dataset | None:
        """``water`` and ``black_odorous`` (time, y, x) on the drone grid; None without a flight."""
        grid = self.drone_grid(village)
        if grid is None:
            return None
        seed, vid, wkb = self._key(village)
        cls = _fields(seed, vid, wkb, grid).cls(self.change_index is not None)
        ds = xr.Dataset({"water": (("time", "y", "x"), np.isin(cls, WATER_CLASSES)[None]),
                         "black_odorous": (("time", "y", "x"), (cls == BLACK_WATER)[None]),
                         "land_cover": (("time", "y", "x"), cls.astype("uint8")[None],
                                        {"classes": {int(c): n for c, n in CLASS_NAMES.items()}})},
                        coords=self._coords(grid, [self.drone_date()]))
        ds.attrs.update(self._base_attrs(village))
        ds.attrs["resolution"] = grid.resolution
        return self._georef(ds, grid)


@functools.lru_cache(maxsize=8)
def _drone_render(seed: int, village_id: str, wkb: bytes, grid: Grid, date: str, after: bool) -> np.ndarray:
    fields = _fields(seed, village_id, wkb, grid)
    d = dt.date.fromisoformat(date)
    rgb = drone_rgb(fields, after=after, doy=d.timetuple().tm_yday, band_cols=band_index(("red", "green", "blue")),
                    resolution=grid.resolution, rng=_stream(seed, village_id, 5, d.toordinal()))
    rgb.setflags(write=False)
    return rgb


def _as_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise ValueError(f"demo: {what} {value!r} is not a date") from None


def clear_cache() -> None:
    """Forget every cached layout, field and rendering (tests use it to prove determinism)."""
    for fn in (_layout, _fields, _texture, _clouds, _cloud_codes, _render, _drone_render):
        fn.cache_clear()
