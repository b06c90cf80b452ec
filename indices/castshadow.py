"""Cast shadows on water for the black-odorous screening: where the sun puts a house's or a
tree's shadow on a pond, and the guard that keeps such strips from being called suspects.

Why. Building and tree shadows on water are the main false alarm of the GF-2 black-odorous
studies (the Nanjing GF-2 study the issue cites reached 85.7 % confirmed suspects only after
removing building shadows). A shadowed strip of an ordinary pond is dark and grey, as
black-odorous water is; the NIR share guard (``BlackOdorousParams.shadow_nir_share``) misses it
where the strip is a mixed pixel (its NIR comes from the bank and the adjacency effect; once
unmixed, ``indices.mixedwater``, its NIR is the water endmember's, whatever the light).

What a cast shadow on water must be, by geometry (the shadow's position is fixed by the sun:
Shahtahmassebi et al. 2013, Chinese Geographical Science 23(4): 403-420, review of shadow
detection; shadow-to-caster geometry: Li Y., Gong P., Sasagawa T. 2005, Integrated shadow
removal based on photogrammetry and image analysis, Int. J. Remote Sens. 26(18): 3911-3929):

1. on the sun-opposite side of a caster: going from the pixel **towards the sun**, land (a
   house, a tree: what is not water) is met within ``L = H tan(theta_z)`` plus the mixed edge,
   ``H`` the tallest caster expected (``max_height_m``), ``theta_z`` the sun zenith;
2. a **strip** no longer than ``L``: going **away from the sun**, sunlit water of the same
   water (screening water that is not suspect) is met within the same distance.

A suspect pixel meeting both is a possible cast shadow (``cast_shadow_strips``) and is guarded.
Black-odorous water is not hit: a channel or ditch has land, not lit water, on its sun-opposite
side; a black-odorous pond is suspect across, so the water beyond its sunward rim is not lit
ordinary water. What it costs: black-odorous water confined to a strip along the sunward shore
of ordinary water is not seen on that date (summer's short shadows shrink the strip: the
persistence over dates, ``indices.persistence``, still sees it then).

The sun: the scene's ``sun_zenith`` / ``sun_azimuth`` attributes (degrees) when its source gives
them (STAC ``view:sun_elevation`` / ``view:sun_azimuth``), else ``solar_position`` at the
scene's centre and acquisition time; a date without a time of day (00:00) is taken at 10:30
local solar time, the descending-node crossing of Sentinel-2, and about that of Landsat 8/9
and GF-2 (ESA Sentinel-2 User Handbook 2015; USGS Landsat 8 Data Users Handbook).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import xarray as xr

from ._raster import as_2d
from .errors import IndicesError

#: local solar time (hours) of a sun-synchronous morning overpass (Sentinel-2: 10:30 descending node)
OVERPASS_SOLAR_HOUR = 10.5


def solar_position(when, lat_deg: float, lon_deg: float = 0.0, *, solar_hour: float | None = None) -> tuple[float, float]:
    """(zenith, azimuth) of the sun in degrees (azimuth clockwise from north) at ``when`` (UTC;
    a ``datetime``, ``numpy.datetime64``, ISO text or ``date``) and the place (degrees).

    Declination and equation of time: Spencer J.W. 1971, Fourier series representation of the
    position of the sun, Search 2(5): 172 (as in Iqbal 1983, *An Introduction to Solar
    Radiation*, ch. 1); local solar time = UTC + lon / 15 h + EoT; zenith and azimuth from the
    spherical triangle. ``solar_hour`` (or a time of exactly 00:00, a date alone) sets the
    local solar time instead (``OVERPASS_SOLAR_HOUR`` for a bare date). Error < 0.5 degree.
    """
    t = pd.Timestamp(when)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    day = t.dayofyear
    g = 2.0 * math.pi * (day - 1) / 365.0
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    eot_h = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g) - 0.014615 * math.cos(2 * g)
                      - 0.040849 * math.sin(2 * g)) / 60.0
    if solar_hour is None and t == t.normalize():
        solar_hour = OVERPASS_SOLAR_HOUR
    hour = solar_hour if solar_hour is not None else (t.hour + t.minute / 60 + t.second / 3600 + lon_deg / 15.0 + eot_h)
    h = math.radians(15.0 * (hour - 12.0))
    phi = math.radians(lat_deg)
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(h)
    zen = math.degrees(math.acos(max(-1.0, min(1.0, cos_z))))
    az = math.degrees(math.atan2(math.sin(h), math.cos(h) * math.sin(phi) - math.tan(decl) * math.cos(phi))) + 180.0
    return zen, az % 360.0


def scene_sun(scene: xr.Dataset | xr.DataArray) -> tuple[float, float]:
    """(zenith, azimuth) in degrees for a one-date scene: its ``sun_zenith`` / ``sun_azimuth``
    attributes, else ``solar_position`` at the grid's centre and the scene's ``time``.
    ``IndicesError`` when neither can be had (no time, or no CRS to place the grid)."""
    attrs = scene.attrs
    if attrs.get("sun_zenith") is not None and attrs.get("sun_azimuth") is not None:
        return float(attrs["sun_zenith"]), float(attrs["sun_azimuth"])
    if "time" not in scene.coords:
        raise IndicesError("the sun's position needs the scene's time (or sun_zenith / sun_azimuth attributes)")
    t = np.atleast_1d(scene["time"].values)
    if t.size != 1:
        raise IndicesError(f"the sun's position is for one date; the scene has {t.size}")
    from pyproj import Transformer

    crs = scene.rio.crs
    if crs is None or "x" not in scene.coords or "y" not in scene.coords:
        raise IndicesError("the sun's position needs the scene's CRS and x / y coordinates (or sun_zenith / "
                           "sun_azimuth attributes)")
    x, y = float(scene["x"].mean()), float(scene["y"].mean())
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return solar_position(t[0], lat, lon)


def _march(mask: np.ndarray, step_rc: tuple[float, float], max_px: float) -> np.ndarray:
    """True where ``mask`` is met walking from the pixel along ``step_rc`` (rows, cols per
    pixel of distance) for at most ``max_px`` pixels (half-pixel steps; outside the grid: not met)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    seen = set()
    for d in np.arange(0.5, max_px + 1e-9, 0.5):
        dr, dc = int(round(d * step_rc[0])), int(round(d * step_rc[1]))
        if (dr, dc) in seen or (dr, dc) == (0, 0):
            continue
        seen.add((dr, dc))
        if abs(dr) >= h or abs(dc) >= w:
            continue
        shifted = np.zeros_like(mask)
        shifted[max(0, -dr):h - max(0, dr), max(0, -dc):w - max(0, dc)] = \
            mask[max(0, dr):h - max(0, -dr), max(0, dc):w - max(0, -dc)]
        out |= shifted
    return out


def cast_shadow_strips(suspect, water, *, sun_zenith: float, sun_azimuth: float, pixel_size_m: float,
                       max_height_m: float = 20.0, margin_px: float = 0.5, lit=None) -> xr.DataArray:
    """Suspect pixels placed where a cast shadow can be (module docstring): land (not
    ``water``) within ``D = max_height_m tan(zenith) / pixel_size_m + margin_px`` pixels towards
    the sun, and sunlit water within ``D`` away from it: ``lit`` & ``water`` & not ``suspect``
    (``lit`` None: all such water). ``suspect``, ``water``, ``lit``: (y, x) booleans on one
    grid, rows from north to south (north-up, as every product grid). The zenith is capped at
    80 degrees (shadows longer than 5.7 H are not followed)."""
    sus_da = as_2d(suspect, "suspect")
    sus = np.nan_to_num(np.asarray(sus_da.values, dtype="float64"), nan=0.0) != 0
    wat = np.nan_to_num(np.asarray(as_2d(water, "water").values, dtype="float64"), nan=0.0) != 0
    if sus.shape != wat.shape:
        raise IndicesError(f"suspect has shape {sus.shape}, the water {wat.shape}")
    if not pixel_size_m > 0:
        raise IndicesError(f"pixel_size_m must be positive, got {pixel_size_m}")
    reach = max_height_m * math.tan(math.radians(min(float(sun_zenith), 80.0))) / pixel_size_m + margin_px
    az = math.radians(float(sun_azimuth))
    towards_sun = (-math.cos(az), math.sin(az))  # (row, col) per pixel: north is row - 1, east col + 1
    away = (-towards_sun[0], -towards_sun[1])
    sunward_land = _march(~wat, towards_sun, reach)
    litm = wat & ~sus if lit is None else (np.nan_to_num(np.asarray(as_2d(lit, "lit").values, dtype="float64"), nan=0.0) != 0) & wat & ~sus
    lit_beyond = _march(litm, away, reach)
    out = sus & wat & sunward_land & lit_beyond
    return xr.DataArray(out, dims=sus_da.dims, coords=sus_da.coords, name="cast_shadow",
                        attrs={"formula": "suspect & land within D towards the sun & lit water within D away from it",
                               "reach_px": reach, "sun_zenith": float(sun_zenith), "sun_azimuth": float(sun_azimuth),
                               "max_height_m": max_height_m})


def guard_cast_shadows(flags: xr.Dataset, water, water_mask, *, sun_zenith: float | None, sun_azimuth: float | None,
                       pixel_size_m: float, params=None) -> xr.Dataset:
    """``flags`` (``black_odorous_pixels`` on the screening ``water``) with the cast-shadow guard
    applied (``params``: ``BlackOdorousParams``, its ``cast_shadow_*`` fields): ``cast_shadow``
    (the guarded suspect pixels, ``cast_shadow_strips``) is added, removed from ``is_suspect``
    and ``is_suspect_bright`` and added to ``guarded``. Sunlit water: pixels of ``water_mask``
    (pure water) that at most ``cast_shadow_lit_max_votes`` methods flag, or blue-dominant
    (clear). ``attrs``: ``cast_shadow_guard_applied``, the sun used. Computed (NumPy)."""
    from .boparams import DEFAULT_PARAMS

    p = params or DEFAULT_PARAMS
    out = flags.copy()
    sus = flags["is_suspect"]
    if not p.cast_shadow_guard or sun_zenith is None:
        out["cast_shadow"] = xr.zeros_like(sus, dtype=bool)
        out.attrs.update(cast_shadow_guard_applied=0)
        return out
    mask2 = np.nan_to_num(np.asarray(as_2d(water_mask, "water mask").values, dtype="float64"), nan=0.0) != 0
    lit = (np.asarray(as_2d(flags["votes"], "votes").values) <= p.cast_shadow_lit_max_votes) \
        | np.asarray(as_2d(flags["blue_dominant"], "blue_dominant").values, dtype=bool)
    lit_da = xr.DataArray(lit & mask2, dims=("y", "x"))
    cs = cast_shadow_strips(as_2d(sus, "is_suspect").compute(), water, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth,
                            pixel_size_m=pixel_size_m, max_height_m=p.cast_shadow_max_height_m,
                            margin_px=p.cast_shadow_margin_px, lit=lit_da)
    cs = cs.transpose(*[d for d in sus.dims if d in cs.dims])
    if sus.ndim != cs.ndim:
        cs = cs.expand_dims({d: sus.sizes[d] for d in sus.dims if d not in cs.dims}).transpose(*sus.dims)
    cs = cs.assign_coords({d: sus[d] for d in cs.dims if d in sus.coords})
    out["cast_shadow"] = cs
    out["is_suspect"] = (sus & ~cs).assign_attrs(sus.attrs)
    out["is_suspect_bright"] = (flags["is_suspect_bright"] & ~cs).assign_attrs(flags["is_suspect_bright"].attrs)
    out["guarded"] = (flags["guarded"] | cs).assign_attrs(description="shadow | blue_dominant | too_bright | cast_shadow")
    out.attrs.update(cast_shadow_guard_applied=1, sun_zenith=round(float(sun_zenith), 2),
                     sun_azimuth=round(float(sun_azimuth), 2))
    return out


def guard_scene_cast_shadows(flags: xr.Dataset, water, water_mask, scene: xr.Dataset, params=None) -> xr.Dataset:
    """``guard_cast_shadows`` with the sun of ``scene`` (``scene_sun``) and its pixel size. Where
    the guard is off, or the sun cannot be placed (no time, no CRS), ``flags`` come back unguarded
    with ``cast_shadow_guard_applied`` 0 (and the reason in ``cast_shadow_not_applied``)."""
    from ._raster import transform_of
    from .boparams import DEFAULT_PARAMS

    p = params or DEFAULT_PARAMS
    try:
        zenith, azimuth = scene_sun(scene) if p.cast_shadow_guard else (None, None)
    except IndicesError as exc:
        out = flags.copy()
        out["cast_shadow"] = xr.zeros_like(flags["is_suspect"], dtype=bool)
        out.attrs.update(cast_shadow_guard_applied=0, cast_shadow_not_applied=str(exc))
        return out
    pixel = abs(float(transform_of(scene["blue"] if "blue" in scene else scene, "scene").a))
    return guard_cast_shadows(flags, water, water_mask, sun_zenith=zenith, sun_azimuth=azimuth, pixel_size_m=pixel,
                              params=p)
