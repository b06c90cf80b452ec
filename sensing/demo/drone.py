"""The demo's 0.5 m RGB drone orthomosaics: the flight's grid, date, Scene and truth."""
from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import xarray as xr
from affine import Affine

from aoi import Grid, Village

from ..scene import make_scene
from .render import drone_rgb
from .source import DRONE_DAYS_AFTER_CHANGE, DRONE_RESOLUTION, DRONE_VILLAGES, _fields, _stream
from .spectra import BLACK_WATER, CLASS_NAMES, WATER_CLASSES, band_index


def drone_grid(source, village: Village) -> Grid | None:
    """The flight's 0.5 m grid over the layout's drone box; None for villages without a flight."""
    if village.id not in DRONE_VILLAGES:
        return None
    left, bottom, right, top = source.layout(village).drone_box
    res = DRONE_RESOLUTION
    return Grid(crs=source.grid(village).crs, resolution=res, transform=Affine(res, 0.0, left, 0.0, -res, top),
                width=int(round((right - left) / res)), height=int(round((top - bottom) / res)))


def drone_date(source) -> str:
    """The flight: two days after the first pass that shows the pond turned black-odorous
    (two days after the second pass without planted changes)."""
    span = source.change_dates("became_black_odorous")
    first_after = span[1] if span else source.acquisition_dates[min(1, len(source.acquisition_dates) - 1)]
    return (dt.date.fromisoformat(first_after) + dt.timedelta(days=DRONE_DAYS_AFTER_CHANGE)).isoformat()


def drone_scene(source, village: Village) -> xr.Dataset | None:
    """A 0.5 m RGB drone orthomosaic (Scene, sensor ``drone-rgb``, one date, reflectance-
    calibrated, cloud-free) over the black-odorous channel and its ponds; None for
    villages without a flight (``DRONE_VILLAGES``)."""
    grid = drone_grid(source, village)
    if grid is None:
        return None
    rgb = _drone_render(*source._key(village), grid, drone_date(source), source._after(village, drone_date(source)))
    y, x = grid.coords()
    date = drone_date(source)
    attrs = source._base_attrs(village)
    attrs.update({"resolution": grid.resolution, "platform": "demo drone flight, reflectance-calibrated RGB"})
    return make_scene({b: rgb[k][None] for k, b in enumerate(("red", "green", "blue"))},
                      times=[date], y=y, x=x, crs=grid.crs, sensor="drone-rgb",
                      item_ids=[f"DEMO_DRONE_{village.id}_{date.replace('-', '')}"], attrs=attrs,
                      valid_fraction=[1.0], resolution=grid.resolution,
                      reflectance_units="reflectance", reflectance_level="surface")


def drone_truth(source, village: Village) -> xr.Dataset | None:
    """``water`` and ``black_odorous`` (time, y, x) on the drone grid; None without a flight."""
    grid = drone_grid(source, village)
    if grid is None:
        return None
    seed, vid, wkb = source._key(village)
    cls = _fields(seed, vid, wkb, grid).cls(source._after(village, drone_date(source)))
    ds = xr.Dataset({"water": (("time", "y", "x"), np.isin(cls, WATER_CLASSES)[None]),
                     "black_odorous": (("time", "y", "x"), (cls == BLACK_WATER)[None]),
                     "land_cover": (("time", "y", "x"), cls.astype("uint8")[None],
                                    {"classes": {int(c): n for c, n in CLASS_NAMES.items()}})},
                    coords=source._coords(grid, [drone_date(source)]))
    ds.attrs.update(source._base_attrs(village))
    ds.attrs["resolution"] = grid.resolution
    return source._georef(ds, grid)


@functools.lru_cache(maxsize=8)
def _drone_render(seed: int, village_id: str, wkb: bytes, grid: Grid, date: str, after) -> np.ndarray:
    fields = _fields(seed, village_id, wkb, grid)
    d = dt.date.fromisoformat(date)
    rgb = drone_rgb(fields, after=after, doy=d.timetuple().tm_yday, band_cols=band_index(("red", "green", "blue")),
                    resolution=grid.resolution, rng=_stream(seed, village_id, 5, d.toordinal()))
    rgb.setflags(write=False)
    return rgb
