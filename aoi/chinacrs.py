"""China's coordinate systems: GCJ-02 (the shifted lon/lat of Chinese web maps) and CGCS2000.

**GCJ-02** ("Mars coordinates", 国测局坐标) is WGS 84 longitude/latitude plus a deliberate,
smoothly varying offset of roughly 50-700 m, used by AMap/Gaode, Tencent, Tianditu's consumer
tiles before 2018 and Google Maps inside China. A boundary traced on one of those maps is in
GCJ-02 even when its file says EPSG:4326. The forward offset (WGS 84 -> GCJ-02) is the widely
published reconstruction followed here from ``eviltransform`` (googollee/eviltransform, BSD-2,
``python/eviltransform/__init__.py``) and ``coordtransform`` (wandergis/coordtransform, MIT,
``index.js``)::

    x = lon - 105, y = lat - 35
    dlat' = -100 + 2x + 3y + 0.2y^2 + 0.1xy + 0.2 sqrt|x|
            + 2/3 (20 sin 6πx + 20 sin 2πx) + 2/3 (20 sin πy + 40 sin(πy/3))
            + 2/3 (160 sin(πy/12) + 320 sin(πy/30))
    dlon' = 300 + x + 2y + 0.1x^2 + 0.1xy + 0.1 sqrt|x|
            + 2/3 (20 sin 6πx + 20 sin 2πx) + 2/3 (20 sin πx + 40 sin(πx/3))
            + 2/3 (150 sin(πx/12) + 300 sin(πx/30))
    (dlat', dlon' are metres; turned into degrees on the Krasovsky 1940 ellipsoid,
     a = 6378245 m, e^2 = 0.00669342162296594323, at latitude φ = lat:)
    W = 1 - e^2 sin^2 φ
    dlat = dlat' * 180 / (π a (1 - e^2) / W^1.5)      (meridian radius of curvature M)
    dlon = dlon' * 180 / (π a / sqrt(W) * cos φ)       (prime-vertical radius N times cos φ)
    GCJ-02 = (lon + dlon, lat + dlat)

Outside China's box (:data:`GCJ02_BOX`, eviltransform's ``outOfChina``) GCJ-02 equals WGS 84.
There is no closed-form inverse: :func:`gcj02_to_wgs84` solves ``wgs84_to_gcj02(w) = g`` by
fixed-point iteration ``w <- w - (wgs84_to_gcj02(w) - g)`` from ``w0 = g - offset(g)``; the
offset's gradient is ~1e-5, so each step gains ~5 digits and two or three steps reach 1e-9 deg
(0.1 mm), far below the 0.5 m of eviltransform's ``gcj2wgs_exact`` bisection.

**CGCS2000** (EPSG:4490, China Geodetic Coordinate System 2000) is the official datum. It is
ITRF97 at epoch 2000.0 on an ellipsoid almost equal to GRS80; WGS 84 (G1762) agrees with it to
a few decimetres, and PROJ defines no shift between them (its EPSG:4326 <-> EPSG:4490
transformation is a "ballpark" null shift): files in EPSG:4490 read as any CRS through pyproj,
and :func:`to_cgcs2000` writes outputs with the EPSG:4490 label and unchanged numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from .errors import CRSOptionError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

#: Krasovsky 1940 ellipsoid used by the GCJ-02 offset: semi-major axis (m)
KRASOVSKY_A: float = 6378245.0
#: ... and first eccentricity squared
KRASOVSKY_EE: float = 0.00669342162296594323
#: (west, south, east, north) in degrees inside which GCJ-02 differs from WGS 84
#: (eviltransform's ``outOfChina``: 72.004..137.8347 E, 0.8293..55.8271 N)
GCJ02_BOX: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)
#: CGCS2000 geographic 2D
CGCS2000 = CRS.from_epsg(4490)
WGS84 = CRS.from_epsg(4326)

#: the ``crs`` values read_boundary / --boundary-crs understand besides any pyproj CRS string
GCJ02_NAMES = frozenset({"gcj02", "gcj-02", "gcj_02", "mars"})
_ALIASES = {"wgs84": "EPSG:4326", "wgs-84": "EPSG:4326", "wgs_84": "EPSG:4326",
            "cgcs2000": "EPSG:4490", "cgcs-2000": "EPSG:4490"}
VALID_CRS_HELP = ("None (use the file's CRS), 'gcj02' (GCJ-02 lon/lat of Chinese web maps, converted "
                  "to WGS 84), 'wgs84' (EPSG:4326), 'cgcs2000' or 'EPSG:4490', or any CRS pyproj "
                  "understands (e.g. 'EPSG:4547')")


def _offset_m(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """The GCJ-02 offset polynomials (metres, north and east) at ``x = lon-105, y = lat-35``."""
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_ax = np.sqrt(np.abs(x))
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_ax + common
            + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_ax + common
            + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0)
    return dlat, dlon


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where (lon, lat) lies outside :data:`GCJ02_BOX` (there GCJ-02 equals WGS 84)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w, s, e, n = GCJ02_BOX
    return ~((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n))


def gcj02_offset(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(dlon, dlat)`` in degrees that WGS 84 (lon, lat) gains in GCJ-02 (zero outside China)."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    dlat_m, dlon_m = _offset_m(lon - 105.0, lat - 35.0)
    rad = np.deg2rad(lat)
    w = 1.0 - KRASOVSKY_EE * np.sin(rad) ** 2
    dlat = dlat_m * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (w * np.sqrt(w)) * np.pi)
    dlon = dlon_m * 180.0 / (KRASOVSKY_A / np.sqrt(w) * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS 84 lon/lat -> GCJ-02 lon/lat (arrays of any matching shape)."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    dlon, dlat = gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10,
                   max_iter: int = 20) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 lon/lat -> WGS 84 lon/lat by fixed-point iteration of :func:`wgs84_to_gcj02`
    until the forward transform of the result matches the input to ``tol_deg`` (1e-10 deg is
    about 0.01 mm); the iteration contracts by ~1e-5 per step, so 3 steps suffice inside China.
    Points outside :data:`GCJ02_BOX` are returned unchanged (eviltransform's ``gcj2wgs`` tests
    the GCJ-02 point too); so are the few within ~700 m inside its edges (> 100 km from China's
    land) that have no pre-image because the offset stops at the edge."""
    g_lon, g_lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    dlon, dlat = gcj02_offset(g_lon, g_lat)
    w_lon, w_lat = g_lon - dlon, g_lat - dlat
    done = ~(np.isfinite(g_lon) & np.isfinite(g_lat))
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        r_lon, r_lat = f_lon - g_lon, f_lat - g_lat
        done |= (np.abs(r_lon) < tol_deg) & (np.abs(r_lat) < tol_deg)
        if done.all():
            break
        w_lon, w_lat = np.where(done, w_lon, w_lon - r_lon), np.where(done, w_lat, w_lat - r_lat)
    return np.where(done, w_lon, g_lon), np.where(done, w_lat, g_lat)


def _geometry_transform(geom: BaseGeometry, fn) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def gcj02_to_wgs84_geometry(geom: BaseGeometry) -> BaseGeometry:
    """A shapely geometry (or array of them) in GCJ-02 lon/lat, in WGS 84 lon/lat."""
    return _geometry_transform(geom, gcj02_to_wgs84)


def wgs84_to_gcj02_geometry(geom: BaseGeometry) -> BaseGeometry:
    """A shapely geometry (or array of them) in WGS 84 lon/lat, in GCJ-02 lon/lat (to draw on
    a Chinese web map)."""
    return _geometry_transform(geom, wgs84_to_gcj02)


def parse_crs_option(value: Any, *, where: str = "crs") -> str | CRS | None:
    """The ``crs`` of :func:`aoi.registry.read_boundary` / ``--boundary-crs`` resolved:
    ``None`` (use the file's), ``"gcj02"``, or a :class:`pyproj.CRS` (``"wgs84"`` is
    EPSG:4326, ``"cgcs2000"`` EPSG:4490). Anything else raises :class:`CRSOptionError`
    naming the valid values."""
    if value is None or isinstance(value, CRS):
        return value
    if not isinstance(value, str) or not value.strip():
        raise CRSOptionError(f"{where} {value!r}: expected {VALID_CRS_HELP}")
    text = value.strip()
    if text.lower() in GCJ02_NAMES:
        return "gcj02"
    try:
        return CRS.from_user_input(_ALIASES.get(text.lower(), text))
    except CRSError as exc:
        raise CRSOptionError(f"{where} {value!r} is not a known CRS ({exc}); expected {VALID_CRS_HELP}") from None


def to_cgcs2000(gdf: "geopandas.GeoDataFrame") -> "geopandas.GeoDataFrame":
    """``gdf`` in CGCS2000 (EPSG:4490) lon/lat, for officials who ask for it beside the RFC 7946
    (WGS 84) GeoJSON. PROJ applies no datum shift between WGS 84 and CGCS2000 (they agree
    within a few decimetres), so a WGS 84 frame keeps its numbers and changes its label."""
    if gdf.crs is None:
        raise CRSOptionError("to_cgcs2000: the GeoDataFrame has no CRS; set it first")
    return gdf.to_crs(CGCS2000)
