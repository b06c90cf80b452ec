"""The confounders of the demo's evaluation profile, added to a village's layout: what real
scenes hold and the development demo lacked.

* **Ditches narrower than a pixel**: two black-odorous ditches (3-8 m wide, 200-400 m long,
  rural sewage ditches) and one ordinary drainage ditch, not snapped to the pixel lattice.
* **Building and tree shadows on water**: a row of houses (6-18 m high, 2-5 storeys) on the
  south side of up to three ordinary ponds and a tree row (8-15 m) on the east side of up to
  two more; each date's shadow is cast away from the sun (``clouds.solar_position``) by
  height x tan(zenith) (:func:`shadows`). The main false alarm of the GF-2 studies.
* **Bright, high-suspended-matter black-odorous water** (Shen et al. 2019): one pond.
* **Another dark black-odorous pond**, away from the channel.
* **An algal bloom** (surface scum; ``bloom_pond``).
* **Flooded paddy** at transplanting (two parcels; shallow muddy water, wet soil, seedlings).
* The **turbid river** is already in every layout.

Ponds are rotated and not snapped, so their edges are mixed pixels at any resolution.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
from shapely import affinity
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from .clouds import solar_position
from .scenery import Feature, Layout, _Placer
from .spectra import ALGAL_POND, BLACK_WATER, BRIGHT_BLACK, BUILT, FLOODED_PADDY, FOREST, POND

#: (low, high) caster heights in metres: village houses of 2-5 storeys, bamboo and tree rows
HOUSE_HEIGHT_M = (6.0, 18.0)
TREE_HEIGHT_M = (8.0, 15.0)
DITCH_WIDTH_M = (3.0, 8.0)
DITCH_LENGTH_M = (200.0, 400.0)


def add_confounders(layout: Layout, rng: np.random.Generator, *, label: str = "village") -> Layout:
    """``layout`` with the confounding features added (placed clear of every existing one);
    caster heights in ``notes["casters"]`` (feature name -> metres)."""
    left, bottom, right, top = layout.extent
    inner = box(left + 60, bottom + 60, right - 60, top - 60)
    placer = _Placer(rng, inner, inner, layout, obstacles=[f.geometry.buffer(10.0) for f in layout.features],
                     label=label)
    new: list[Feature] = []
    casters: dict[str, float] = {}

    for i, (kind, name) in enumerate(((BLACK_WATER, "black_ditch_0"), (BLACK_WATER, "black_ditch_1"),
                                      (POND, "drain_ditch_0"))):
        geom = placer.place(lambda: _ditch(rng, placer.point()), margin=10.0, lowland=True, tries=200) \
            or placer.place(lambda: _ditch(rng, placer.point()), margin=10.0, tries=200)
        if geom is not None:
            new.append(Feature(name, geom, kind, kind, 1.0))

    for name, kind, (lo, hi) in (("bright_black_pond", BRIGHT_BLACK, (2500.0, 7000.0)),
                                 ("black_pond", BLACK_WATER, (2000.0, 6000.0)),
                                 ("bloom_pond", ALGAL_POND, (3000.0, 10000.0))):
        area = float(rng.uniform(lo, hi))
        geom = placer.place(lambda: _pond(rng, placer.point(), area), margin=15.0, lowland=True, tries=200) \
            or placer.place(lambda: _pond(rng, placer.point(), area), margin=15.0, tries=300)
        if geom is not None:
            new.append(Feature(name, geom, kind, kind, 1.0))

    for i in range(2):
        geom = placer.place(lambda: _pond(rng, placer.point(), float(rng.uniform(5000, 10000)), rotate=10.0),
                            margin=10.0, lowland=True, farmland=True, tries=200)
        if geom is not None:
            new.append(Feature(f"flooded_paddy_{i}", geom, FLOODED_PADDY, FLOODED_PADDY, 1.0))

    ponds = [f for f in layout.features if f.name.startswith("pond_") and f.before == POND == f.after]
    taken = unary_union([f.geometry for f in layout.features if not f.name.startswith("pond_")] +
                        [f.geometry for f in new]).buffer(2.0)
    n_house = n_tree = 0
    for pond in ponds:
        if n_house + n_tree >= 5:
            break
        house = n_house < 3
        x0, y0, x1, y1 = pond.geometry.bounds
        depth = float(rng.uniform(10.0, 20.0)) if house else 8.0
        caster = box(x0, y0 - 2.0 - depth, x1, y0 - 2.0) if house else box(x1 + 2.0, y0, x1 + 2.0 + depth, y1)
        if not inner.contains(caster) or caster.intersects(taken) or any(
                caster.intersects(f.geometry) for f in layout.features if f is not pond):
            continue
        name = f"shadow_house_{n_house}" if house else f"shadow_trees_{n_tree}"
        new.append(Feature(name, caster, BUILT if house else FOREST, BUILT if house else FOREST,
                           0.1 if house else 1.0))
        casters[name] = float(rng.uniform(*(HOUSE_HEIGHT_M if house else TREE_HEIGHT_M)))
        taken = taken.union(caster.buffer(2.0))
        n_house, n_tree = n_house + house, n_tree + (not house)

    notes = {**layout.notes, "casters": casters, "confounders": [f.name for f in new]}
    return dataclasses.replace(layout, features=layout.features + tuple(new), notes=notes)


def _ditch(rng: np.random.Generator, start: tuple[float, float]) -> BaseGeometry:
    length = float(rng.uniform(*DITCH_LENGTH_M))
    width = float(rng.uniform(*DITCH_WIDTH_M))
    a = float(rng.uniform(0, 2 * math.pi))
    ux, uy = math.cos(a), math.sin(a)
    pts = []
    for t in np.linspace(0.0, 1.0, 6):
        lat = 0.0 if t in (0.0, 1.0) else float(rng.uniform(-20, 20))
        pts.append((start[0] + ux * length * t - uy * lat, start[1] + uy * length * t + ux * lat))
    return LineString(pts).buffer(width / 2, cap_style="flat")


def _pond(rng: np.random.Generator, centre: tuple[float, float], area: float, rotate: float = 35.0) -> Polygon:
    aspect = float(rng.uniform(1.0, 2.0))
    w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
    poly = box(centre[0] - w / 2, centre[1] - h / 2, centre[0] + w / 2, centre[1] + h / 2)
    return affinity.rotate(poly, float(rng.uniform(-rotate, rotate)), origin="centroid")


def shadows(layout: Layout, date: str | dt.date, lat_deg: float) -> BaseGeometry:
    """The shadows the layout's casters throw on ``date`` at the overpass (metres, grid CRS):
    each caster swept away from the sun by height x tan(zenith), minus the caster itself."""
    casters = layout.notes.get("casters", {})
    if not casters:
        return Polygon()
    d = dt.date.fromisoformat(str(date)[:10]) if not isinstance(date, dt.date) else date
    zen, az = solar_position(d, lat_deg)
    tz = math.tan(math.radians(min(zen, 80.0)))
    away = math.radians(az + 180.0)
    out = []
    for f in layout.features:
        if f.name in casters:
            length = casters[f.name] * tz
            moved = affinity.translate(f.geometry, length * math.sin(away), length * math.cos(away))
            out.append(unary_union([f.geometry, moved]).convex_hull.difference(f.geometry))
    return unary_union(out)
