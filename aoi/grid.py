"""Analysis grids: each village is processed on a local UTM grid snapped to the resolution."""
from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shp_transform

from .village import Village

#: default buffer (metres) around the village boundary
DEFAULT_BUFFER_M = 200.0


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone containing (lon, lat)."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: ``crs`` (e.g. ``"EPSG:32650"``), pixel ``resolution`` in metres,
    ``transform`` (upper-left origin) and ``width`` x ``height`` pixels."""

    crs: str
    resolution: float
    transform: Affine
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in grid CRS units."""
        left, top = self.transform.c, self.transform.f
        return (left, top - self.height * self.resolution, left + self.width * self.resolution, top)

    def coords(self) -> tuple["np.ndarray", "np.ndarray"]:  # noqa: F821
        """Pixel-centre coordinates ``(y, x)``; y decreasing (north-up)."""
        import numpy as np

        left, _, _, top = self.bounds
        r = self.resolution
        x = left + r * (np.arange(self.width) + 0.5)
        y = top - r * (np.arange(self.height) + 0.5)
        return y, x

    def geobox(self):
        """The same grid as an ``odc.geo.geobox.GeoBox`` (what odc-stac loads onto)."""
        from odc.geo.geobox import GeoBox

        return GeoBox((self.height, self.width), self.transform, self.crs)

    def to_crs(self, geometry: BaseGeometry, src_crs: str = "EPSG:4326") -> BaseGeometry:
        """Reproject a geometry from ``src_crs`` into this grid's CRS."""
        tr = Transformer.from_crs(src_crs, self.crs, always_xy=True)
        return shp_transform(tr.transform, geometry)

    @property
    def pixel_area_m2(self) -> float:
        return self.resolution * self.resolution


def grid_for(
    village: Village,
    resolution: float,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    crs: str | None = None,
) -> Grid:
    """The village's analysis grid: local UTM (or ``crs``), the boundary buffered by
    ``buffer_m`` metres, bounds snapped outward to multiples of ``resolution``."""
    if resolution <= 0 or not math.isfinite(resolution):
        raise ValueError(f"village {village.id}: resolution must be a positive number, got {resolution}")
    if crs is None:
        c = village.geometry.centroid
        crs = f"EPSG:{utm_epsg(c.x, c.y)}"
    CRS.from_user_input(crs)  # validates
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    local = shp_transform(tr.transform, village.geometry).buffer(buffer_m)
    minx, miny, maxx, maxy = local.bounds
    left = math.floor(minx / resolution) * resolution
    bottom = math.floor(miny / resolution) * resolution
    right = math.ceil(maxx / resolution) * resolution
    top = math.ceil(maxy / resolution) * resolution
    width = int(round((right - left) / resolution))
    height = int(round((top - bottom) / resolution))
    return Grid(
        crs=crs,
        resolution=float(resolution),
        transform=Affine(resolution, 0.0, left, 0.0, -resolution, top),
        width=width,
        height=height,
    )
