"""Seeded cumulus clouds and their shadows for one demo acquisition.

Clouds are a few irregular blobs; each casts its shadow away from the sun, displaced by
cloud height x tan(solar zenith). The sun is placed for Sentinel-2's 10:30 local solar time
descending node (ESA Sentinel-2 User Handbook, 2015) with the textbook declination and
hour-angle formulas (Cooper 1969, Solar Energy 12:333; Iqbal 1983, *An Introduction to Solar
Radiation*). A cloud is high-probability cloud (SCL 9) in its core and medium (SCL 8) in a
fringe ring; shadow is SCL 3 (ESA S2-PDGS-MPC-ATBD-L2A). Above :data:`DECK_COVER` a pass is an
overcast deck over the whole scene with a few clear holes (the monsoon passes of the cloud
climatology, ``sensing.demo.timeline``).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from shapely import affinity
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from ..sensors import SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM, SCL_CLOUD_SHADOW
from .rasterize import burn

OVERPASS_SOLAR_HOUR = 10.5
FRINGE_M = 20.0
#: cloud shares above this are drawn as a deck with clear holes instead of separate clouds
DECK_COVER = 0.6


def solar_position(date: dt.date, lat_deg: float, solar_hour: float = OVERPASS_SOLAR_HOUR) -> tuple[float, float]:
    """(zenith, azimuth) in degrees; azimuth clockwise from north.

    Declination delta = 23.45 sin(360 (284 + n) / 365) (Cooper 1969); hour angle
    H = 15 (t - 12); cos(zenith) = sin(phi) sin(delta) + cos(phi) cos(delta) cos(H).
    """
    n = date.timetuple().tm_yday
    decl = math.radians(23.45 * math.sin(math.radians(360.0 * (284 + n) / 365.0)))
    phi = math.radians(lat_deg)
    h = math.radians(15.0 * (solar_hour - 12.0))
    cos_z = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(h)
    zen = math.degrees(math.acos(max(-1.0, min(1.0, cos_z))))
    az = math.degrees(math.atan2(math.sin(h), math.cos(h) * math.sin(phi) - math.tan(decl) * math.cos(phi))) + 180.0
    return zen, az % 360.0


@dataclass(frozen=True)
class CloudScene:
    """Cloud cores, their fringes and shadows (metres, grid CRS) of one date."""

    core: BaseGeometry
    fringe: BaseGeometry
    shadow: BaseGeometry
    zenith: float
    azimuth: float


def make_clouds(rng: np.random.Generator, extent: tuple[float, float, float, float], date: dt.date,
                lat_deg: float, cloud_cover: float, protected: BaseGeometry) -> CloudScene:
    """A few clouds covering about ``cloud_cover`` of ``extent``, none of them (nor their
    shadows) touching ``protected`` (where the tests need clear views)."""
    zen, az = solar_position(date, lat_deg)
    empty = Polygon()
    if cloud_cover <= 0:
        return CloudScene(empty, empty, empty, zen, az)
    left, bottom, right, top = extent
    w, h = right - left, top - bottom
    if cloud_cover > DECK_COVER:
        return _deck(rng, extent, cloud_cover, zen, az)
    target = cloud_cover * w * h * rng.uniform(0.6, 1.4)
    k = int(rng.integers(1, 5))
    shares = rng.dirichlet(np.ones(k) * 2.0)
    shadow_dir = math.radians(az + 180.0)
    cores, shadows = [], []
    for share in shares:
        radius = math.sqrt(share * target / math.pi)
        height = rng.uniform(600.0, 1500.0)
        dist = height * math.tan(math.radians(min(zen, 75.0)))
        dx, dy = dist * math.sin(shadow_dir), dist * math.cos(shadow_dir)
        for _ in range(40):
            cx = rng.uniform(left - 0.1 * w, right + 0.1 * w)
            cy = rng.uniform(bottom - 0.1 * h, top + 0.1 * h)
            core = _cloud_blob(rng, cx, cy, radius)
            fringe = core.buffer(FRINGE_M)
            shadow = affinity.translate(fringe, dx, dy)
            if not (fringe.intersects(protected) or shadow.intersects(protected)):
                cores.append(core)
                shadows.append(shadow)
                break
    core = unary_union(cores) if cores else empty
    fringe = core.buffer(FRINGE_M) if cores else empty
    shadow = unary_union(shadows) if shadows else empty
    return CloudScene(core, fringe, shadow, zen, az)


def _deck(rng: np.random.Generator, extent: tuple[float, float, float, float], cloud_cover: float,
          zen: float, az: float) -> CloudScene:
    """An overcast deck over the scene (and beyond, so its edge casts no shadow inside) with
    1-4 clear holes of total area (1 - cloud_cover) of the scene; the deck's shadow is the
    deck moved away from the sun, so a hole is clear where the sun shines through it."""
    left, bottom, right, top = extent
    w, h = right - left, top - bottom
    height = rng.uniform(800.0, 2000.0)
    dist = height * math.tan(math.radians(min(zen, 75.0)))
    shadow_dir = math.radians(az + 180.0)
    dx, dy = dist * math.sin(shadow_dir), dist * math.cos(shadow_dir)
    k = int(rng.integers(1, 5))
    holes = []
    for share in rng.dirichlet(np.ones(k) * 2.0):
        radius = math.sqrt(share * (1.0 - cloud_cover) * w * h / math.pi)
        holes.append(_cloud_blob(rng, rng.uniform(left, right), rng.uniform(bottom, top), radius))
    pad = max(w, h) + dist + 2 * FRINGE_M
    sky = Polygon([(left - pad, bottom - pad), (right + pad, bottom - pad), (right + pad, top + pad), (left - pad, top + pad)])
    clear = unary_union(holes)
    core = sky.difference(clear.buffer(FRINGE_M))
    fringe = sky.difference(clear)
    shadow = affinity.translate(fringe, dx, dy)
    return CloudScene(core, fringe, shadow, zen, az)


def _cloud_blob(rng: np.random.Generator, cx: float, cy: float, radius: float) -> Polygon:
    phi = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    r = np.ones_like(phi)
    for m in (2, 3, 5, 7):
        r += rng.uniform(0.04, 0.15) * np.cos(m * phi + rng.uniform(0, 2 * math.pi))
    return Polygon(np.column_stack([cx + radius * r * np.cos(phi), cy + radius * r * np.sin(phi)]))


def cloud_codes(clouds: CloudScene, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """uint8 SCL cloud codes on a grid: 3 shadow, 8 fringe (medium), 9 core (high), 0 clear."""
    shapes = [(g, code) for g, code in ((clouds.shadow, SCL_CLOUD_SHADOW), (clouds.fringe, SCL_CLOUD_MEDIUM),
                                        (clouds.core, SCL_CLOUD_HIGH)) if not g.is_empty]
    return burn(shapes, shape, transform, "uint8")


def clear_share(clouds: CloudScene, area: BaseGeometry) -> float:
    """The share of ``area`` outside the clouds' fringes and their shadows: the geometry the SCL
    classes 3, 8 and 9 are burned from, so a pass's valid fraction without rasterising it."""
    if area.area <= 0:
        return 1.0
    covered = unary_union([g for g in (clouds.fringe, clouds.shadow) if not g.is_empty])
    return 1.0 if covered.is_empty else float(min(1.0, max(0.0, 1.0 - area.intersection(covered).area / area.area)))
