"""The demo village's landscape: a seeded layout in metres (local UTM), rasterised on any grid.

A layout is resolution-free: hills (Gaussian bumps and short waves) decide forest, a
rotated field grid gives paddy / cropland / grassland / bare parcels, and shapely features
are burned over it in order (settlements, roads, fish-pond dikes, a meandering turbid river,
ponds and fish ponds, a black-odorous channel beside a settlement, and the planted changes).
The same layout therefore renders a 10 m Sentinel-2 grid and a 0.5 m drone grid that agree.

Rural pond sizes follow a log-normal around 6,000 m2 (most 2,000-20,000 m2, a few 25,000-
60,000 m2), typical of the Pearl River Delta's ponds and fish ponds (dikes ~10 m).
Pond, fish-pond and patch edges are snapped to a 10 m lattice (whole Sentinel-2 pixels).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from shapely import affinity, contains_xy
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from .spectra import (
    ALGAL_POND,
    BARE,
    BLACK_WATER,
    BUILT,
    CROP,
    FOREST,
    GRASS,
    PADDY,
    POND,
    RIVER,
)

LATTICE_M = 10.0
#: minimum size of the planted changes
CLEARED_MIN_M2 = 20_000.0
NEW_POND_MIN_M2 = 5_000.0
DRONE_BOX_M = 400.0


@dataclass(frozen=True)
class Feature:
    """A shape burned over the background: class ``before`` and ``after`` the planted change
    (0 = keep the background), ``amp`` (vegetation-cover amplitude; water: brightness gain)."""

    name: str
    geometry: BaseGeometry
    before: int
    after: int
    amp: float = 1.0
    phase: float = 0.0


@dataclass(frozen=True, eq=False)
class Layout:
    crs: str
    extent: tuple[float, float, float, float]
    hills: np.ndarray  # (K, 4): cx, cy, sigma, height
    waves: np.ndarray  # (J, 4): kx, ky, phase, amplitude
    river: dict
    forest_threshold: float
    fields: dict
    tree_salt: int
    features: tuple[Feature, ...]
    drone_box: tuple[float, float, float, float]
    notes: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ analytic fields
    def river_coords(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(along-axis s, signed distance from the meandering centreline) of points."""
        r = self.river
        dx, dy = x - r["ox"], y - r["oy"]
        c, s_ = math.cos(r["theta"]), math.sin(r["theta"])
        s = dx * c + dy * s_
        n = -dx * s_ + dy * c
        return s, n - _meander(s, r["meanders"])

    def terrain(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Relative elevation: hills + waves - river valley (forest above ``forest_threshold``)."""
        t = np.zeros(np.broadcast(x, y).shape, dtype="float64")
        for cx, cy, sig, h in self.hills:
            t += h * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * sig * sig))
        for kx, ky, ph, a in self.waves:
            t += a * np.sin(kx * x + ky * y + ph)
        _, d = self.river_coords(x, y)
        t -= self.river["valley_depth"] * np.exp(-(d * d) / (2.0 * self.river["valley_sigma"] ** 2))
        return t

    def field_cell(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the field parcel containing each point."""
        f = self.fields
        ca, sa = math.cos(f["angle"]), math.sin(f["angle"])
        dx, dy = x - f["ox"], y - f["oy"]
        p = dx * ca + dy * sa
        q = -dx * sa + dy * ca
        col = np.clip(np.searchsorted(f["col_edges"], p), 0, len(f["col_edges"]))
        row = np.clip(np.searchsorted(f["row_edges"], q), 0, len(f["row_edges"]))
        return row * (len(f["col_edges"]) + 1) + col

    def tree_share(self, x: np.ndarray, y: np.ndarray, block_m: float = 20.0) -> np.ndarray:
        """Uniform 0..1 per ``block_m`` block (integer hash: identical on every platform)."""
        bx = np.floor(x / block_m).astype("int64")
        by = np.floor(y / block_m).astype("int64")
        h = (bx * 73856093) ^ (by * 19349663) ^ self.tree_salt
        h = (h * 2654435761) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 2246822519) & 0xFFFFFFFF
        h ^= h >> 13
        return (h & 0xFFFFFF).astype("float64") / float(0x1000000)

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)


def _meander(s: np.ndarray, meanders: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    out = np.zeros_like(np.asarray(s, dtype="float64"))
    for a, wl, ph in meanders:
        out = out + a * np.sin(2.0 * math.pi * s / wl + ph)
    return out


def _snap(v: float) -> float:
    return round(v / LATTICE_M) * LATTICE_M


def _snapped_box(cx: float, cy: float, w: float, h: float) -> Polygon:
    x0, y0 = _snap(cx - w / 2), _snap(cy - h / 2)
    return box(x0, y0, x0 + max(_snap(w), LATTICE_M), y0 + max(_snap(h), LATTICE_M))


# ----------------------------------------------------------------------------- layout
def make_layout(rng: np.random.Generator, extent: tuple[float, float, float, float], crs: str,
                village_local: BaseGeometry, *, label: str = "village") -> Layout:
    """A seeded landscape over ``extent`` (left, bottom, right, top; metres in ``crs``).

    Key objects are placed inside ``village_local`` (the boundary in ``crs``) when it has room.
    """
    left, bottom, right, top = extent
    width, height = right - left, top - bottom
    if min(width, height) < 600.0:
        raise ValueError(f"{label}: demo scenes need an area at least 600 m across, got "
                         f"{width:.0f} x {height:.0f} m")
    cx0, cy0 = (left + right) / 2, (top + bottom) / 2
    half_diag = 0.5 * math.hypot(width, height) + 200.0
    area_km2 = width * height / 1e6

    # hills and waves
    k = int(np.clip(round(area_km2 * 1.5), 4, 14))
    hills = np.column_stack([
        rng.uniform(left, right, k), rng.uniform(bottom, top, k),
        rng.uniform(300.0, 900.0, k), rng.uniform(0.5, 1.0, k),
    ])
    j = 6
    wl = rng.uniform(150.0, 450.0, j)
    ang = rng.uniform(0, math.pi, j)
    waves = np.column_stack([
        2 * math.pi / wl * np.cos(ang), 2 * math.pi / wl * np.sin(ang),
        rng.uniform(0, 2 * math.pi, j), rng.uniform(0.04, 0.10, j),
    ])

    # the river: through the middle 60 % of the scene, meandering
    theta = rng.uniform(0, math.pi)
    off = rng.uniform(-0.3, 0.3) * min(width, height) / 2
    river = {
        "ox": cx0 - off * math.sin(theta), "oy": cy0 + off * math.cos(theta), "theta": theta,
        "meanders": ((rng.uniform(50, 120), rng.uniform(800, 1400), rng.uniform(0, 2 * math.pi)),
                     (rng.uniform(15, 40), rng.uniform(250, 450), rng.uniform(0, 2 * math.pi))),
        "width": float(rng.uniform(30.0, 60.0)),
        "valley_depth": 1.2, "valley_sigma": 350.0,
    }
    s = np.linspace(-half_diag, half_diag, int(2 * half_diag / 10.0) + 1)
    n = _meander(s, river["meanders"])
    c, sn = math.cos(theta), math.sin(theta)
    centre = LineString(np.column_stack([river["ox"] + s * c - n * sn, river["oy"] + s * sn + n * c]))
    river_poly = centre.buffer(river["width"] / 2, cap_style="flat")

    proto = Layout(crs, extent, hills, waves, river, 0.0, {}, 0, (), (0, 0, 0, 0))
    # forest share 20-40 % of the scene
    gx = np.linspace(left + 5, right - 5, max(int(width / 20), 2))
    gy = np.linspace(bottom + 5, top - 5, max(int(height / 20), 2))
    gX, gY = np.meshgrid(gx, gy)
    thr = float(np.quantile(proto.terrain(gX, gY), 1.0 - rng.uniform(0.2, 0.4)))

    fields = _make_fields(rng, proto, thr, cx0, cy0, half_diag, theta)
    layout_args = dict(crs=crs, extent=extent, hills=hills, waves=waves, river=river,
                       forest_threshold=thr, fields=fields,
                       tree_salt=int(rng.integers(0, 2**31 - 1)))
    base = Layout(**layout_args, features=(), drone_box=(0, 0, 0, 0))

    region = village_local.buffer(-30.0) if village_local.area > 0.5e6 else None
    inner = box(left + 60, bottom + 60, right - 60, top - 60)
    if region is None or region.is_empty or region.area < 0.3e6:
        region = inner
    region = region.intersection(inner)
    placer = _Placer(rng, region, inner, base, obstacles=[river_poly.buffer(20.0)], label=label)

    features: list[Feature] = []
    # settlements: the main one beside the river, inside the village
    n_settle = int(np.clip(round(area_km2 / 2.5) + 2, 2, 4))
    settlements = []
    for i in range(n_settle):
        radius = float(rng.uniform(120, 260) if i == 0 else rng.uniform(80, 180))

        def cand(radius=radius, by_river=(i == 0)):
            if by_river:
                p = centre.interpolate(float(rng.uniform(0.3, 0.7)), normalized=True)
                side = 1 if rng.random() < 0.5 else -1
                dist = river["width"] / 2 + radius + rng.uniform(60, 140)
                pt = (p.x - side * dist * sn, p.y + side * dist * c)
            else:
                pt = placer.point()
            return _blob(rng, pt, radius)

        # the main settlement: beside the river in the lowland if possible, else anywhere
        attempts = [dict(make=cand, lowland=True)]
        if i == 0:
            attempts += [dict(make=cand), dict(make=lambda: cand(0.6 * radius, False)),
                         dict(make=lambda: cand(80.0, False), within=None)]
        geom = None
        for att in attempts:
            geom = placer.place(att.pop("make"), margin=40.0, tries=150, **att)
            if geom is not None:
                break
        if geom is not None:
            if not settlements:  # ponds may sit in the main settlement, beside the channel
                main_obstacle = placer.obstacles[-1]
            settlements.append(geom)
            features.append(Feature(f"settlement_{i}", geom, BUILT, BUILT, float(rng.uniform(0.3, 0.8))))
    if not settlements:
        raise ValueError(f"{label}: no room for a settlement in the demo scene")
    main = settlements[0]

    # roads: one through the main settlement, one more for larger scenes
    roads = []
    for i in range(1 if area_km2 < 6 else 2):
        a = rng.uniform(0, math.pi)
        mc = main.centroid
        d = half_diag
        mid = (mc.x + rng.uniform(-40, 40), mc.y + rng.uniform(-40, 40))
        line = LineString([(mid[0] - d * math.cos(a), mid[1] - d * math.sin(a)), mid,
                           (mid[0] + d * math.cos(a + 0.2), mid[1] + d * math.sin(a + 0.2))])
        road = line.buffer(5.0, cap_style="flat")
        roads.append(road)
        features.append(Feature(f"road_{i}", road, BUILT, BUILT, 0.0))
    placer.obstacles.extend(r.buffer(10.0) for r in roads)

    # the black-odorous channel: from inside the main settlement towards the river
    mc = main.centroid
    start = (mc.x + rng.uniform(-0.3, 0.3) * 100, mc.y + rng.uniform(-0.3, 0.3) * 100)
    near = nearest_points(Point(start), centre)[1]
    vx, vy = near.x - start[0], near.y - start[1]
    dist = math.hypot(vx, vy)
    ux, uy = vx / dist, vy / dist
    if dist >= 300.0:  # drains into the river
        length = min(dist, float(rng.uniform(350, 600)))
    else:  # the river is close: the channel runs along it
        ux, uy = (-uy, ux) if rng.random() < 0.5 else (uy, -ux)
        length = float(rng.uniform(300, 500))
    pts = []
    for t in np.linspace(0, 1, 5):
        lat = 0.0 if t in (0.0, 1.0) else rng.uniform(-30, 30)
        pts.append((start[0] + ux * length * t - uy * lat, start[1] + uy * length * t + ux * lat))
    ch_width = 30.0
    channel_line = LineString(pts)
    channel = channel_line.buffer(ch_width / 2, cap_style="flat")
    placer.obstacles.append(channel.buffer(15.0))

    # the pond that turns black-odorous, beside the channel
    def beside_channel(w, h, dmin, dmax):
        def cand():
            p = channel_line.interpolate(float(rng.uniform(0.1, 0.9)), normalized=True)
            side = 1 if rng.random() < 0.5 else -1
            dd = rng.uniform(dmin, dmax) + max(w, h) / 2
            return _snapped_box(p.x - side * uy * dd, p.y + side * ux * dd, w, h)
        return cand

    turn_w, turn_h = _snap(rng.uniform(70, 100)), _snap(rng.uniform(80, 120))
    turning = None
    for dmax, within in ((70, "region"), (70, None), (200, None)):
        turning = placer.place(beside_channel(turn_w, turn_h, 25, dmax), margin=10.0, within=within,
                               ignore=main_obstacle)
        if turning is not None:
            break
    if turning is None:  # the channel has no room beside it: anywhere in the scene
        turning = placer.force(lambda: _snapped_box(*placer.point(), turn_w, turn_h), margin=10.0)
    t_type = POND if rng.random() < 0.6 else ALGAL_POND

    # drone footprint: the turning pond and the nearest stretch of the channel
    tc = turning.centroid
    near = nearest_points(tc, channel_line)[1]
    gap = math.hypot(near.x - tc.x, near.y - tc.y)
    step = min(0.5, 120.0 / gap) if gap > 0 else 0.0
    dcx, dcy = tc.x + (near.x - tc.x) * step, tc.y + (near.y - tc.y) * step
    hb = DRONE_BOX_M / 2
    dcx = min(max(dcx, left + hb), right - hb)
    dcy = min(max(dcy, bottom + hb), top - hb)
    x0, y0 = _snap(dcx - hb), _snap(dcy - hb)
    drone_box = (x0, y0, x0 + DRONE_BOX_M, y0 + DRONE_BOX_M)

    # an ordinary pond in the drone footprint too
    nb_w, nb_h = _snap(rng.uniform(50, 80)), _snap(rng.uniform(50, 80))
    in_box = box(x0 + 10, y0 + 10, x0 + DRONE_BOX_M - 10, y0 + DRONE_BOX_M - 10)

    def neighbour_cand():
        return _snapped_box(rng.uniform(x0 + 50, x0 + DRONE_BOX_M - 50), rng.uniform(y0 + 50, y0 + DRONE_BOX_M - 50),
                            nb_w, nb_h)

    neighbour = placer.place(neighbour_cand, margin=10.0, within=in_box, ignore=main_obstacle)

    # planted: forest patch cleared (>= 2 ha), new pond dug on cropland (>= 5,000 m2)
    def cleared_cand():
        w, h = rng.uniform(150, 210), rng.uniform(150, 200)
        p = placer.point()
        poly = Polygon([(p[0] + sx * w / 2 + rng.uniform(-12, 12), p[1] + sy * h / 2 + rng.uniform(-12, 12))
                        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
        return affinity.rotate(poly, float(rng.uniform(-30, 30)), origin="centroid")

    cleared = placer.place(cleared_cand, margin=30.0, forest=True, min_area=CLEARED_MIN_M2 * 1.15)
    if cleared is None:  # no forest large enough: plant a woodlot and clear it
        cleared = placer.force(cleared_cand, margin=30.0, min_area=CLEARED_MIN_M2 * 1.15)

    def new_pond_cand():
        p = placer.point()
        return _snapped_box(p[0], p[1], rng.uniform(80, 110), rng.uniform(70, 100))

    new_pond = placer.place(new_pond_cand, margin=30.0, lowland=True, farmland=True)
    if new_pond is None:
        new_pond = placer.force(new_pond_cand, margin=30.0)

    # ordinary ponds (scaled with area) and a fish-pond cluster
    ponds: list[Feature] = []
    fish = _fish_ponds(rng, placer)
    if fish is not None:
        dike, cells = fish
        features.append(Feature("fishpond_dikes", dike, GRASS, GRASS, 0.6))
        for i, cell in enumerate(cells):
            kind = ALGAL_POND if rng.random() < 0.7 else POND
            ponds.append(Feature(f"fishpond_{i}", cell, kind, kind, float(rng.uniform(0.85, 1.15))))
    n_ponds = int(np.clip(round(area_km2 * 3), 6, 40))
    for i in range(n_ponds):
        big = rng.random() < 0.1
        area = rng.uniform(25_000, 60_000) if big else float(np.clip(rng.lognormal(math.log(6000), 0.7), 1500, 22_000))
        aspect = rng.uniform(1.0, 2.2)
        w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
        if rng.random() < 0.5:
            w, h = h, w

        def pond_cand(w=w, h=h):
            p = placer.point()
            return _snapped_box(p[0], p[1], w, h)

        geom = placer.place(pond_cand, margin=10.0, lowland=True, tries=60)
        if geom is not None:
            kind = POND if rng.random() < 0.6 else ALGAL_POND
            ponds.append(Feature(f"pond_{i}", geom, kind, kind, float(rng.uniform(0.85, 1.15))))

    features += [Feature("river", river_poly, RIVER, RIVER, float(rng.uniform(0.9, 1.1)))]
    features += ponds
    features += [Feature("black_channel", channel, BLACK_WATER, BLACK_WATER, float(rng.uniform(0.9, 1.1)))]
    if neighbour is not None:
        kind = POND if rng.random() < 0.5 else ALGAL_POND
        features.append(Feature("drone_pond", neighbour, kind, kind, float(rng.uniform(0.9, 1.1))))
    features += [
        Feature("turning_pond", turning, t_type, BLACK_WATER, float(rng.uniform(0.9, 1.1))),
        Feature("new_pond", new_pond, CROP, POND, float(rng.uniform(0.9, 1.1))),
        Feature("cleared_patch", cleared, FOREST, BARE, 1.0),
    ]
    return Layout(**layout_args, features=tuple(features), drone_box=drone_box,
                  notes={"n_ponds": len(ponds), "fish_ponds": fish is not None})


def _blob(rng: np.random.Generator, pt: tuple[float, float], radius: float) -> Polygon:
    """An irregular settlement outline: a circle with random low harmonics."""
    phi = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    r = np.ones_like(phi)
    for m in (2, 3, 4):
        r += rng.uniform(0.05, 0.18) * np.cos(m * phi + rng.uniform(0, 2 * math.pi))
    return Polygon(np.column_stack([pt[0] + radius * r * np.cos(phi), pt[1] + radius * r * np.sin(phi)]))


def _make_fields(rng, proto: Layout, thr: float, cx0: float, cy0: float, half_diag: float,
                 theta: float) -> dict:
    """A rotated, irregular grid of field parcels, classes drawn by relative elevation."""
    angle = theta + rng.uniform(-0.2, 0.2)
    col_edges = np.cumsum(rng.uniform(40, 140, int(2 * half_diag / 40) + 2)) - half_diag
    row_edges = np.cumsum(rng.uniform(30, 90, int(2 * half_diag / 30) + 2)) - half_diag
    col_edges = col_edges[col_edges < half_diag]
    row_edges = row_edges[row_edges < half_diag]
    pc = np.concatenate([[col_edges[0] - 50], (col_edges[:-1] + col_edges[1:]) / 2, [col_edges[-1] + 50]])
    qc = np.concatenate([[row_edges[0] - 50], (row_edges[:-1] + row_edges[1:]) / 2, [row_edges[-1] + 50]])
    Q, P = np.meshgrid(qc, pc, indexing="ij")
    ca, sa = math.cos(angle), math.sin(angle)
    X = cx0 + P * ca - Q * sa
    Y = cy0 + P * sa + Q * ca
    rel = proto.terrain(X, Y) - thr  # < 0 lowland
    u = rng.random(X.shape)
    low = rel < -0.35
    cls = np.where(low,
                   np.select([u < 0.60, u < 0.82, u < 0.95], [PADDY, CROP, GRASS], BARE),
                   np.select([u < 0.20, u < 0.62, u < 0.93], [PADDY, CROP, GRASS], BARE))
    return {
        "ox": cx0, "oy": cy0, "angle": angle, "col_edges": col_edges, "row_edges": row_edges,
        "cell_class": cls.ravel().astype("int8"),
        "cell_amp": rng.uniform(0.88, 1.05, cls.size).astype("float32"),
        "cell_phase": rng.uniform(-10, 10, cls.size).astype("float32"),
    }


def _fish_ponds(rng, placer: "_Placer"):
    nr, nc = int(rng.integers(2, 4)), int(rng.integers(3, 6))
    cw, chh = _snap(rng.uniform(60, 90)), _snap(rng.uniform(80, 120))
    dike = LATTICE_M
    W, H = nc * cw + (nc + 1) * dike, nr * chh + (nr + 1) * dike

    def cand():
        p = placer.point()
        return _snapped_box(p[0], p[1], W, H)

    outline = placer.place(cand, margin=20.0, lowland=True, tries=80)
    if outline is None:
        return None
    x0, y0 = outline.bounds[:2]
    cells = [box(x0 + dike + i * (cw + dike), y0 + dike + j * (chh + dike),
                 x0 + dike + i * (cw + dike) + cw, y0 + dike + j * (chh + dike) + chh)
             for j in range(nr) for i in range(nc)]
    return outline, cells


class _Placer:
    """Rejection sampling of non-overlapping shapes inside a region."""

    def __init__(self, rng, region: BaseGeometry, inner: BaseGeometry, layout: Layout, obstacles,
                 label: str = "village"):
        self.rng, self.region, self.inner, self.layout, self.label = rng, region, inner, layout, label
        self.obstacles: list[BaseGeometry] = list(obstacles)
        self._minx, self._miny, self._maxx, self._maxy = region.bounds

    def point(self) -> tuple[float, float]:
        for _ in range(200):
            x = float(self.rng.uniform(self._minx, self._maxx))
            y = float(self.rng.uniform(self._miny, self._maxy))
            if contains_xy(self.region, x, y):
                return x, y
        c = self.region.representative_point()
        return c.x, c.y

    def _terrain_ok(self, geom, *, forest: bool, lowland: bool, farmland: bool) -> bool:
        if not (forest or lowland or farmland):
            return True
        x0, y0, x1, y1 = geom.bounds
        xs, ys = np.meshgrid(np.arange(x0 + 5, x1, 10.0), np.arange(y0 + 5, y1, 10.0))
        inside = contains_xy(geom, xs, ys)
        xs, ys = xs[inside], ys[inside]
        if xs.size == 0:
            return False
        t = self.layout.terrain(xs, ys)
        thr = self.layout.forest_threshold
        if forest and not (t > thr + 0.02).all():
            return False
        if lowland and not (t < thr - 0.05).all():
            return False
        if farmland:
            cls = self.layout.fields["cell_class"][self.layout.field_cell(xs, ys)]
            if not np.isin(cls, (PADDY, CROP)).mean() > 0.6:
                return False
        return True

    def place(self, make: Callable[[], BaseGeometry], *, margin: float, tries: int = 300,
              within: BaseGeometry | None | str = "region", forest: bool = False, lowland: bool = False,
              farmland: bool = False, min_area: float = 0.0,
              ignore: BaseGeometry | None = None) -> BaseGeometry | None:
        area_in = self.inner if within is None else self.region if isinstance(within, str) else within
        for _ in range(tries):
            g = make()
            if g.area < min_area or not area_in.contains(g):
                continue
            if any(g.intersects(o) for o in self.obstacles if o is not ignore):
                continue
            if not self._terrain_ok(g, forest=forest, lowland=lowland, farmland=farmland):
                continue
            self.obstacles.append(g.buffer(margin))
            return g
        return None

    def force(self, make: Callable[[], BaseGeometry], *, margin: float, min_area: float = 0.0) -> BaseGeometry:
        """Like :meth:`place` without terrain rules and, failing that, anywhere in the scene."""
        g = self.place(make, margin=margin, tries=500, min_area=min_area)
        if g is None:
            g = self.place(make, margin=margin, tries=500, within=None, min_area=min_area)
        if g is None:
            raise ValueError(f"{self.label}: the demo scene has no room for its planted changes "
                             f"(area too small or too narrow)")
        return g
