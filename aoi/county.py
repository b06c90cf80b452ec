"""Synthetic county registries: hundreds of village polygons tiling a county, for the demo and
the scaling benchmarks (``benchmarks/bench_county.py``). Not real boundaries: every feature
says so in ``boundary_source`` and ``notes``.

How a county is made (all in the local UTM zone, then to lon/lat):

1. **Outline**: a smooth irregular polygon, the radius a sum of a few random harmonics
   around the centre, scaled to ``villages x mean_area_km2``.
2. **Settlements**: a settlement density over the county (a few Gaussian "plains" on a
   background of hills), and the villages' seats placed by Lloyd's algorithm on a weighted
   sample of the outline (a centroidal Voronoi tessellation: Lloyd 1982, IEEE Trans. Inf.
   Theory 28(2): 129-137; Du, Faber & Gunzburger 1999, SIAM Review 41(4): 637-676), so a
   village's area goes about as the density to the power -1/2 (the optimal seat density in
   two dimensions, Gersho 1979, IEEE Trans. Inf. Theory 25(4): 373-380): small villages in
   the plains, large ones in the hills, as in Guangdong, whose roughly 20,000 administrative
   villages (行政村) cover mostly 1-10 km2. With the defaults (mean 4 km2, contrast 3) the
   areas span about 1.5-8 km2.
3. **Villages**: the Voronoi cells of the seats (``shapely.voronoi_polygons``) clipped to the
   outline: they tile it without gaps or overlaps. A cell the outline cuts in two keeps its
   larger part; the smaller part joins the neighbour it shares the longest border with.
4. **Towns** (镇): the seats grouped by k-means into about one town per 20 villages.

Names are made of common characters of Guangdong place names (``塘``, ``坑``, ``岭`` ...) with
their pinyin; ids are ``<county>-<town>-<nnn>``. The same ``CountySpec`` (seed included)
gives the same registry, byte for byte.

Command line: ``python -m aoi.county --villages 300 --seed 1 --out county.geojson``; the
file is a registry ``aoi.registry.load_villages`` reads (``--registry`` of the CLI).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity
from pyproj import Transformer
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

from .errors import VillageError
from .grid import utm_epsg
from .registry import village_to_feature
from .village import Village

#: first characters and the cores of village names (character, pinyin)
_HEADS = tuple(zip("东西南北上下大小新老高黄白石龙马牛凤金青云长平陈李林罗梁何谢邓吴钟杨莲桂榕竹松梅沙湖溪",
                   ("dong xi nan bei shang xia da xiao xin lao gao huang bai shi long ma niu feng jin qing yun "
                    "chang ping chen li lin luo liang he xie deng wu zhong yang lian gui rong zhu song mei sha hu "
                    "xi").split()))
_CORES = tuple(zip("塘坑岭田山水头岗坪围洞湾埔寮坝墩园洲圩冲陂塱窝背尾口江河桥屋寨楼",
                   ("tang keng ling tian shan shui tou gang ping wei dong wan pu liao ba dun yuan zhou xu chong "
                    "bei lang wo bei wei kou jiang he qiao wu zhai lou").split()))
#: weighted sample points per village for Lloyd's algorithm, and its iterations
_SAMPLES_PER_VILLAGE = 60
_LLOYD_ITERATIONS = 25
#: villages per town
_VILLAGES_PER_TOWN = 20


class CountySpecError(VillageError):
    """A county cannot be made as specified (too few villages, areas out of range ...)."""


@dataclass(frozen=True, kw_only=True)
class CountySpec:
    """What to generate. ``centre`` (lon, lat) defaults to inland Guangdong; the county's area
    is ``villages x mean_area_km2``; every village's area must fall in ``area_range_km2``;
    ``density_contrast`` is the ratio of the densest to the sparsest settlement density (the
    areas' ratio is about its square root)."""

    villages: int = 300
    seed: int = 0
    centre: tuple[float, float] = (113.35, 23.95)
    mean_area_km2: float = 4.0
    area_range_km2: tuple[float, float] = (1.0, 10.0)
    density_contrast: float = 3.0
    county_zh: str = "示例县"
    county_en: str = "Shili"
    province: str = "广东省 Guangdong"
    focus: tuple[str, ...] = ("water", "black_odorous", "vegetation")

    def __post_init__(self) -> None:
        lo, hi = self.area_range_km2
        if self.villages < 1:
            raise CountySpecError(f"a county needs at least one village, got {self.villages}")
        if not (0 < lo < self.mean_area_km2 < hi):
            raise CountySpecError(f"mean_area_km2 {self.mean_area_km2} must lie inside area_range_km2 {self.area_range_km2}")
        if not 1.0 <= self.density_contrast <= (hi / lo) ** 2:
            raise CountySpecError(f"density_contrast {self.density_contrast} must be in [1, {(hi / lo) ** 2:g}] "
                                  f"(the square of the area range's ratio)")

    @property
    def slug(self) -> str:
        return self.county_en.lower().replace(" ", "-")


@dataclass(frozen=True)
class County:
    """A generated county: its outline (lon/lat), villages (sorted by id), UTM EPSG code and
    the areas (km2, in that UTM zone) of the villages, in the same order."""

    spec: CountySpec
    outline: BaseGeometry
    villages: tuple[Village, ...]
    epsg: int
    areas_km2: tuple[float, ...] = field(repr=False)

    def feature_collection(self) -> dict:
        """The registry as one GeoJSON FeatureCollection (RFC 7946)."""
        return {"type": "FeatureCollection", "features": [village_to_feature(v) for v in self.villages]}

    def write(self, path: str | Path) -> Path:
        """Write the registry file (UTF-8 JSON; the same county, the same bytes)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.feature_collection(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path


# --------------------------------------------------------------------------- geometry
def _outline(rng: np.random.Generator, area_m2: float) -> Polygon:
    """A smooth, star-shaped county outline of ``area_m2`` around (0, 0)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    log_r = np.zeros_like(theta)
    for k in range(2, 7):
        log_r += rng.normal(0.0, 0.16 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.exp(log_r)
    poly = Polygon(np.c_[r * np.cos(theta), r * np.sin(theta)])
    return affinity.scale(poly, *(2 * [math.sqrt(area_m2 / poly.area)]), origin=(0, 0))


def _density(rng: np.random.Generator, radius: float, contrast: float):
    """Settlement density: 1 in the hills, up to ``contrast`` in a few Gaussian plains."""
    n = int(rng.integers(2, 5))
    centres = rng.uniform(-0.6, 0.6, (n, 2)) * radius
    widths = rng.uniform(0.25, 0.45, n) * radius

    def density(xy: np.ndarray) -> np.ndarray:
        d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        bumps = np.exp(-0.5 * d2 / widths[None, :] ** 2).max(axis=1)
        return 1.0 + (contrast - 1.0) * bumps

    return density


def _sample(rng: np.random.Generator, outline: Polygon, n: int) -> np.ndarray:
    """``n`` points uniformly inside ``outline``."""
    minx, miny, maxx, maxy = outline.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), (2 * n, 2))
        out = np.vstack([out, xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _lloyd(rng: np.random.Generator, points: np.ndarray, weights: np.ndarray, k: int, iterations: int) -> np.ndarray:
    """Lloyd's algorithm (weighted k-means) on the sample: ``k`` seats, each the weighted
    centroid of the sample points nearest to it."""
    from scipy.spatial import cKDTree

    p = np.sqrt(weights) / np.sqrt(weights).sum()  # the optimal seat density in 2-D goes as density ** (1/2)
    seats = points[rng.choice(len(points), k, replace=False, p=p)]
    for _ in range(iterations):
        _, nearest = cKDTree(seats).query(points)
        w = np.bincount(nearest, weights=weights, minlength=k)
        empty = w == 0
        for axis in (0, 1):
            s = np.bincount(nearest, weights=weights * points[:, axis], minlength=k)
            seats[~empty, axis] = s[~empty] / w[~empty]
        if empty.any():  # a seat that lost every point restarts at a random sample point
            seats[empty] = points[rng.choice(len(points), int(empty.sum()), replace=False)]
    return seats


def _cells(seats: np.ndarray, outline: Polygon) -> list[Polygon]:
    """The Voronoi cells of ``seats`` clipped to ``outline``, in the seats' order; a cell cut in
    several parts keeps the largest, the others join their longest-bordering neighbour."""
    pts = shapely.points(seats)
    regions = shapely.voronoi_polygons(MultiPoint(seats), extend_to=outline.buffer(outline.length))
    cells: list[BaseGeometry] = [shapely.Polygon()] * len(seats)
    for region in shapely.get_parts(regions):
        hit = np.flatnonzero(shapely.contains(region, pts))
        if len(hit):
            cells[int(hit[0])] = shapely.intersection(region, outline)
    strays: list[Polygon] = []
    for i, cell in enumerate(cells):
        parts = sorted(shapely.get_parts(cell), key=lambda p: -p.area)
        cells[i] = parts[0]
        strays += parts[1:]
    for part in strays:
        border = [shapely.length(shapely.intersection(part.boundary, c.boundary)) for c in cells]
        j = int(np.argmax(border))
        cells[j] = shapely.union(cells[j], part)
    return [shapely.normalize(c) for c in cells]


def _towns(rng: np.random.Generator, seats: np.ndarray) -> np.ndarray:
    """Town index of every seat: k-means of the seats, about one town per 20 villages."""
    k = max(1, round(len(seats) / _VILLAGES_PER_TOWN))
    centres = _lloyd(rng, seats.copy(), np.ones(len(seats)), k, 10)
    from scipy.spatial import cKDTree

    return cKDTree(centres).query(seats)[1]


def _name(rng: np.random.Generator) -> tuple[str, str]:
    (h, hp), (c, cp) = _HEADS[rng.integers(len(_HEADS))], _CORES[rng.integers(len(_CORES))]
    return h + c, (hp + cp).capitalize()


# --------------------------------------------------------------------------- the county
def make_county(spec: CountySpec = CountySpec()) -> County:
    """Generate the county of ``spec`` (deterministic). ``CountySpecError`` if a village's
    area falls outside ``spec.area_range_km2`` (a ``density_contrast`` too high for the range)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, spec.villages, 15]))
    lon, lat = spec.centre
    epsg = utm_epsg(lon, lat)
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    to_lonlat = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    cx, cy = to_utm.transform(lon, lat)
    outline = _outline(rng, spec.villages * spec.mean_area_km2 * 1e6)
    radius = math.sqrt(outline.area / math.pi)
    sample = _sample(rng, outline, spec.villages * _SAMPLES_PER_VILLAGE)
    weights = _density(rng, radius, spec.density_contrast)(sample)
    seats = _lloyd(rng, sample, weights, spec.villages, _LLOYD_ITERATIONS)
    cells = _cells(seats, outline)
    areas = [c.area / 1e6 for c in cells]
    lo, hi = spec.area_range_km2
    bad = [a for a in areas if not lo <= a <= hi]
    if bad:
        raise CountySpecError(f"county {spec.county_en} (seed {spec.seed}, {spec.villages} villages): {len(bad)} "
                              f"village areas outside {lo}-{hi} km2 (e.g. {bad[0]:.2f}); lower density_contrast")
    town_of = _towns(rng, seats)
    town_names = [_name(rng) for _ in range(int(town_of.max()) + 1)]

    def lonlat(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(affinity.translate(g, cx, cy), lambda x, y: to_lonlat.transform(x, y), interleaved=False)

    order = np.lexsort((seats[:, 0], -seats[:, 1], town_of))  # by town, then north to south
    villages, out_areas = [], []
    for n, i in enumerate(order, start=1):
        zh, en = _name(rng)
        tzh, ten = town_names[town_of[i]]
        geom = lonlat(cells[i])
        villages.append(Village(
            id=f"{spec.slug}-{ten.lower()}-{n:03d}" if spec.villages < 1000 else f"{spec.slug}-{ten.lower()}-{n:05d}",
            name_zh=f"{zh}村", name_en=en, province=spec.province, county=f"{spec.county_zh} {spec.county_en}",
            town=f"{tzh}镇 {ten}", pilot_type="regional-comprehensive", focus=tuple(spec.focus), geometry=geom,
            boundary_source=f"synthetic (aoi.county, seed {spec.seed})",
            notes=f"Synthetic village {n} of {spec.villages} of the generated county {spec.county_en}: a Voronoi "
                  "cell of a settlement seat clipped to the county outline, not a real boundary.",
            centre=tuple(round(float(v), 6) for v in lonlat(shapely.points(seats[i])).coords[0])))
        out_areas.append(areas[i])
    pairs = sorted(zip(villages, out_areas), key=lambda p: p[0].id)
    return County(spec, lonlat(outline), tuple(v for v, _ in pairs), epsg, tuple(a for _, a in pairs))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aoi.county", description=__doc__.splitlines()[0])
    p.add_argument("--villages", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mean-area-km2", type=float, default=CountySpec.mean_area_km2)
    p.add_argument("--centre", type=float, nargs=2, metavar=("LON", "LAT"), default=CountySpec.centre)
    p.add_argument("--out", type=Path, required=True, help="registry file to write (GeoJSON)")
    a = p.parse_args(argv)
    try:
        county = make_county(CountySpec(villages=a.villages, seed=a.seed, mean_area_km2=a.mean_area_km2,
                                        centre=tuple(a.centre)))
    except CountySpecError as exc:
        print(f"aoi.county: error: {exc}", file=sys.stderr)
        return 2
    county.write(a.out)
    areas = np.array(county.areas_km2)
    print(f"{a.out}: {len(county.villages)} villages, {areas.sum():.0f} km2, village areas "
          f"{areas.min():.2f}-{areas.max():.2f} km2 (median {np.median(areas):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
