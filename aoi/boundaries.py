"""Boundary geometry: checks (lon/lat, polygon, inside China, repaired if invalid), readers of
any OGR vector file (GeoJSON, GeoPackage, Shapefile; any CRS, GCJ-02 on request) and the
official boundaries and ad-hoc areas swapped in for a village (``--boundary``, ``--aoi``).

Every error is a :class:`~aoi.errors.VillageError` subclass whose message names the file and
the feature. geopandas/pyogrio are imported only when a file is read.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .chinacrs import gcj02_to_wgs84_geometry, parse_crs_option
from .errors import (
    BoundaryCRSError,
    BoundaryFileError,
    BoundaryOptionError,
    BoundaryRepairedWarning,
    EmptyGeometryError,
    GeometryTypeError,
    MissingCRSError,
    OutsideChinaError,
    UnsafeVillageIdError,
)
from .grid import utm_epsg
from .village import AD_HOC, FOCUS_KINDS, Village, is_safe_id

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

#: Generous bounding box of the People's Republic of China as (west, south, east, north) in
#: degrees: mainland, Hainan and Taiwan (73.5-135.1 E, 18.2-53.6 N) with a margin. It is a box,
#: not a border: it also takes in parts of neighbouring countries, and it leaves out the South
#: China Sea islands south of 18 N (no pilot village lies there).
CHINA_BBOX: tuple[float, float, float, float] = (73.0, 18.0, 135.5, 53.6)

#: registry files read with the json module (properties keep their lists)
_JSON_SUFFIXES = (".geojson", ".json")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PROVINCES_PINYIN = frozenset(
    "anhui beijing chongqing fujian gansu guangdong guangxi guizhou hainan hebei heilongjiang "
    "henan hubei hunan jiangsu jiangxi jilin liaoning neimenggu inner-mongolia ningxia qinghai "
    "shaanxi shandong shanghai shanxi sichuan tianjin xinjiang xizang tibet yunnan zhejiang "
    "taiwan hongkong hong-kong macau macao".split()
)
_WGS84 = CRS.from_epsg(4326)


# --------------------------------------------------------------------------- small helpers
def is_chinese_province(province: str) -> bool:
    """True when ``province`` names a province of China: it contains Chinese characters
    (``广东省 Guangdong``) or its first word is a province's pinyin (``Guangdong``)."""
    if _CJK.search(province):
        return True
    words = province.strip().lower().replace(" province", "").split()
    return bool(words) and words[0].strip(",") in _PROVINCES_PINYIN


def _where(path: Path | str, index: int | None = None, vid: Any = None) -> str:
    where = str(path)
    if index is not None:
        where += f", feature {index}"
        if vid not in (None, ""):
            where += f" (id {vid!r})"
    return where


def _to_wgs84(geom: BaseGeometry, crs: CRS) -> BaseGeometry:
    if crs.equals(_WGS84, ignore_axis_order=True):
        return geom
    tr = Transformer.from_crs(crs, _WGS84, always_xy=True)
    return shapely.transform(geom, tr.transform, interleaved=False)


def village_area_km2(geometry: BaseGeometry | Village) -> float:
    """Area in km2 of a lon/lat geometry (or a village's), measured in its local UTM zone
    (:func:`aoi.grid.utm_epsg` of the centroid), as the analysis grid sees it."""
    geom = geometry.geometry if isinstance(geometry, Village) else geometry
    if geom.is_empty:
        return 0.0
    c = geom.centroid
    tr = Transformer.from_crs(_WGS84, CRS.from_epsg(utm_epsg(c.x, c.y)), always_xy=True)
    return shapely.transform(geom, tr.transform, interleaved=False).area / 1e6


# --------------------------------------------------------------------------- geometry checks
def check_boundary(geom: BaseGeometry | None, where: str, *, within_china: bool = False) -> BaseGeometry:
    """Validate a lon/lat (EPSG:4326) boundary and return it (repaired if needed).

    Raises :class:`EmptyGeometryError` (none / empty), :class:`GeometryTypeError` (not a
    (Multi)Polygon), :class:`BoundaryFileError` (non-finite or non-lon/lat coordinates),
    :class:`OutsideChinaError` (``within_china`` and outside :data:`CHINA_BBOX`). An invalid
    polygon (self-intersection, bow-tie, ...) is repaired with ``shapely.make_valid`` and
    reported with a :class:`BoundaryRepairedWarning`; ``where`` names file and feature.
    """
    if geom is None or geom.is_empty:
        raise EmptyGeometryError(f"{where}: the geometry is empty; a village boundary must be a polygon")
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        if len(parts) == len(shapely.get_parts(geom)):
            geom = shapely.union_all(parts)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryTypeError(
            f"{where}: the geometry is a {geom.geom_type}; a village boundary must be a Polygon or MultiPolygon")
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise BoundaryFileError(f"{where}: the geometry has non-finite (NaN or infinite) coordinates")
    minx, miny, maxx, maxy = geom.bounds
    span = f"lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f}"
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise (OutsideChinaError if within_china else BoundaryFileError)(
            f"{where}: coordinates ({span.replace('lon', 'x').replace('lat', 'y')}) are not longitude/latitude; "
            "is the file in a projected CRS without saying so? GeoJSON must be EPSG:4326 (RFC 7946)")
    if within_china:
        w, s, e, n = CHINA_BBOX
        if minx < w or maxx > e or miny < s or maxy > n:
            raise OutsideChinaError(
                f"{where}: the boundary ({span}) is outside China's bounding box CHINA_BBOX "
                f"(lon {w}..{e}, lat {s}..{n}); check the CRS and the lon/lat order")
    if not geom.is_valid:
        reason = explain_validity(geom)
        fixed = shapely.make_valid(geom)
        polys = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polys) if polys else None
        if fixed is None or fixed.is_empty or not fixed.is_valid:
            raise BoundaryFileError(f"{where}: invalid geometry ({reason}) that shapely.make_valid cannot "
                                    "repair into a polygon")
        warnings.warn(
            f"{where}: invalid geometry ({reason}) repaired with shapely.make_valid into a "
            f"{fixed.geom_type}; check the boundary", BoundaryRepairedWarning, stacklevel=3)
        geom = fixed
    return geom


# --------------------------------------------------------------------------- readers
def _read_ogr(path: Path, layer: str | None = None, *, required: bool = True) -> "geopandas.GeoDataFrame":
    """Read any OGR vector file with geopandas/pyogrio, checking it has a CRS (GeoJSON: EPSG:4326
    when it says nothing; other formats: :class:`MissingCRSError` when ``required``)."""
    import geopandas as gpd
    import pyogrio

    try:
        if layer is None:
            layers = [str(name) for name, _ in pyogrio.list_layers(path)]
            if len(layers) > 1:
                raise BoundaryFileError(f"{path}: has {len(layers)} layers {layers}; say which one (layer=...)")
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except BoundaryFileError:
        raise
    except Exception as exc:  # pyogrio.errors.DataSourceError, DataLayerError, ...
        raise BoundaryFileError(f"{path}: cannot be read as a GeoJSON, GeoPackage or Shapefile ({exc})") from None
    if gdf.crs is None or "undefined" in (gdf.crs.name or "").lower():
        if path.suffix.lower() in _JSON_SUFFIXES:
            gdf = gdf.set_crs(_WGS84, allow_override=True)  # RFC 7946: GeoJSON is lon/lat
        elif not required:
            gdf = gdf.set_crs(None, allow_override=True)
        else:
            hint = " (its .prj file is missing)" if path.suffix.lower() == ".shp" else ""
            raise MissingCRSError(
                f"{path}: has no coordinate reference system{hint}; the coordinates cannot be placed. "
                "Assign the right one, e.g. `ogr2ogr -a_srs EPSG:4547 fixed.gpkg input`")
    return gdf


def _apply_crs_option(gdf: "geopandas.GeoDataFrame", path: Path,
                      option: str | CRS | None) -> "geopandas.GeoDataFrame":
    """``gdf`` with the CRS that ``option`` (:func:`aoi.chinacrs.parse_crs_option`) gives its
    coordinates; for ``"gcj02"`` the GCJ-02 lon/lat are labelled EPSG:4326 (converted later)."""
    if option is None:
        return gdf
    declared = gdf.crs
    if declared is not None and path.suffix.lower() in _JSON_SUFFIXES and declared.equals(_WGS84, ignore_axis_order=True):
        declared = None  # a GeoJSON without a legacy 'crs' member says nothing of its own
    if option == "gcj02":
        if declared is not None and not declared.is_geographic:
            raise BoundaryCRSError(
                f"{path}: declares the projected CRS {declared.name!r}, but GCJ-02 (crs 'gcj02') is "
                "longitude/latitude; drop the crs option to use the file's CRS")
        return gdf.set_crs(_WGS84, allow_override=True)
    if declared is not None and not declared.equals(option, ignore_axis_order=True):
        raise BoundaryCRSError(
            f"{path}: declares the CRS {declared.name!r} ({declared.to_string()}), not the {option.name!r} "
            f"({option.to_string()}) asked for; drop the crs option to use the file's CRS, or fix the file")
    return gdf.set_crs(option, allow_override=True)


def _isnull(v: Any) -> bool:
    try:
        return bool(v is None or (isinstance(v, float) and math.isnan(v)))
    except TypeError:
        return False


# --------------------------------------------------------------------------- official boundaries
def read_boundary(
    path: str | os.PathLike,
    *,
    village_id: str | None = None,
    layer: str | None = None,
    within_china: bool = False,
    crs: str | CRS | None = None,
) -> BaseGeometry:
    """The boundary in ``path`` (GeoJSON, GeoPackage, Shapefile; any CRS) as one validated
    lon/lat (EPSG:4326) (Multi)Polygon.

    All features are unioned, except when ``village_id`` matches the ``id`` property of some
    of them: then only those. A file of several features with text ids none of which is
    ``village_id`` is refused (it looks like other villages). ``layer`` picks a GeoPackage
    layer (required when there are several). A file without a CRS (GeoPackage with an
    undefined SRS, Shapefile without .prj) raises :class:`MissingCRSError`; GeoJSON without
    one is EPSG:4326 per RFC 7946.

    ``crs`` says what the coordinates are when the file does not (or says it wrongly):
    ``None`` uses the file's CRS; ``"gcj02"`` reads them as GCJ-02 lon/lat (a boundary traced
    on a Chinese web map) and converts them to WGS 84 (:func:`aoi.chinacrs.gcj02_to_wgs84`);
    ``"wgs84"``, ``"EPSG:4490"`` (CGCS2000) or any pyproj CRS string is assigned to a GeoJSON
    (whose RFC 7946 default it replaces) or to a file without a CRS. A file that declares a
    projected CRS read as ``"gcj02"``, or a GeoPackage/Shapefile declaring a CRS other than
    ``crs``, raises :class:`BoundaryCRSError`; an unknown ``crs`` raises :class:`CRSOptionError`
    naming the valid values.
    """
    option = parse_crs_option(crs)
    path = Path(path).expanduser()
    if not path.is_file():
        raise BoundaryFileError(f"{path}: no such boundary file")
    gdf = _apply_crs_option(_read_ogr(path, layer, required=option is None), path, option)
    if len(gdf) == 0:
        raise EmptyGeometryError(f"{path}: has no features")
    positions = list(range(len(gdf)))
    ids: list[Any] = [None] * len(gdf)
    if "id" in gdf.columns:
        ids = [None if _isnull(v) else v for v in gdf["id"]]
        if village_id is not None:
            match = [i for i, v in enumerate(ids) if v is not None and str(v) == village_id]
            if match:
                positions = match
            elif len(gdf) > 1 and all(isinstance(v, str) for v in ids):
                raise BoundaryFileError(
                    f"{path}: none of its {len(gdf)} features has id {village_id!r} (ids: {sorted(ids)}); "
                    "give a file holding only this village's boundary")
    geoms = gdf.iloc[positions].to_crs(_WGS84).geometry
    if option == "gcj02":
        geoms = gcj02_to_wgs84_geometry(np.asarray(geoms))
    parts = [check_boundary(g, _where(path, i, ids[i]), within_china=within_china)
             for i, g in zip(positions, geoms)]
    geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return check_boundary(geom, str(path), within_china=within_china)


def slug_from_name(name: str) -> str:
    """An ASCII village id from a file name: ``"Pankeng boundary (2024).gpkg"`` ->
    ``"pankeng-boundary-2024"``; names without ASCII letters or digits (``泮坑村.geojson``) give
    ``"aoi-<8 hex of the name's sha256>"``."""
    import unicodedata

    stem = Path(name).stem
    ascii_ = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:64].strip("-")
    if not slug or not is_safe_id(slug):
        slug = "aoi-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]
    return slug


def village_from_file(path: str | os.PathLike, *, id: str | None = None, layer: str | None = None) -> Village:
    """An ad-hoc area of interest (the CLI's ``--aoi FILE``) from any polygon file (GeoJSON,
    GeoPackage, Shapefile; any CRS, anywhere), of which only the geometry is used
    (:func:`read_boundary`: every feature unioned). ``id`` defaults to the file name slugged
    (:func:`slug_from_name`); names are the file's stem; ``pilot_type`` is ``"ad-hoc"``,
    ``focus`` every kind (:data:`FOCUS_KINDS`), province, county and town ``"unknown"``,
    ``boundary_source`` the file and its sha256."""
    path = Path(path).expanduser()
    vid = id if id is not None else slug_from_name(path.name)
    if not is_safe_id(vid):
        raise UnsafeVillageIdError(f"--aoi {path}: id {vid!r} is not a safe ASCII slug (a-z, 0-9, '-', '_', "
                                   "at most 64 characters): it names the output folder")
    geom = read_boundary(path, layer=layer, within_china=False)
    return Village(id=vid, name_zh=path.stem, name_en=path.stem, province="unknown", county="unknown",
                   town="unknown", pilot_type=AD_HOC, focus=FOCUS_KINDS, geometry=geom,
                   boundary_source=f"file:{path.name} (sha256 {file_digest(path)[:12]})",
                   notes=f"ad-hoc area of interest from {path.name}")


def file_digest(path: str | os.PathLike) -> str:
    """sha256 (hex) of a boundary file; for a Shapefile, of its .shp, .shx, .dbf, .prj and
    .cpg (those present) in that order."""
    path = Path(path)
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts = [p for p in (path.with_suffix(s) for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")) if p.is_file()]
    h = hashlib.sha256()
    for p in parts:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def with_boundary(village: Village, path: str | os.PathLike, *, crs: str | CRS | None = None,
                  **kw: Any) -> Village:
    """A copy of ``village`` with the official boundary read from ``path``
    (:func:`read_boundary`; ``village_id`` defaults to the village's id, ``crs`` and the other
    keywords pass through) and ``boundary_source = "file:<name> (sha256 <12 hex>)"``, followed
    by ``", read as <crs>"`` when ``crs`` was given (``"GCJ-02, converted to WGS 84"``)."""
    path = Path(path).expanduser()
    kw.setdefault("village_id", village.id)
    kw.setdefault("within_china", is_chinese_province(village.province))
    option = parse_crs_option(crs)
    try:
        geom = read_boundary(path, crs=option, **kw)
    except BoundaryFileError as exc:
        raise type(exc)(f"village {village.id}: {exc}") from exc
    source = f"file:{path.name} (sha256 {file_digest(path)[:12]}"
    if option == "gcj02":
        source += ", read as GCJ-02, converted to WGS 84"
    elif option is not None:
        source += f", read as {option.to_string()}"
    return replace(village, geometry=geom, boundary_source=source + ")")


def parse_boundary_option(text: str, *, crs: str | CRS | None = None) -> tuple[str, Path]:
    """``"ID=PATH"`` (the CLI's ``--boundary``) -> ``(id, Path)``; the file must exist. ``crs``
    (the CLI's ``--boundary-crs``, see :func:`read_boundary`) is checked here too, so a bad
    value fails with :class:`CRSOptionError` before any file is read."""
    parse_crs_option(crs, where="--boundary-crs")
    vid, sep, raw = text.partition("=")
    vid, raw = vid.strip(), raw.strip()
    example = "e.g. --boundary meijiang-sanjiao-pankeng=official/pankeng.gpkg"
    if not sep or not vid or not raw:
        raise BoundaryOptionError(f"--boundary {text!r}: expected ID=PATH, {example}")
    if not is_safe_id(vid):
        raise BoundaryOptionError(f"--boundary {text!r}: {vid!r} is not a village id (an ASCII slug), {example}")
    path = Path(raw).expanduser()
    if not path.is_file():
        raise BoundaryOptionError(f"--boundary {text!r}: boundary file {path} does not exist")
    return vid, path
