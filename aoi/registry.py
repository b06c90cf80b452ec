"""The pilot-village registry: ``data/villages/*.geojson`` read into :class:`Village` records,
official boundaries (GeoJSON, GeoPackage, Shapefile, any CRS) read and swapped in.

Every error is a :class:`~aoi.errors.VillageError` subclass whose message names the file and
the feature (index and id). geopandas/pyogrio are imported only when a non-GeoJSON file is read.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .admin_codes import check_admin_code
from .chinacrs import gcj02_to_wgs84_geometry, parse_crs_option
from .errors import (
    BoundaryCRSError,
    BoundaryFileError,
    BoundaryOptionError,
    BoundaryRepairedWarning,
    DuplicateVillageError,
    EmptyGeometryError,
    GeometryTypeError,
    MissingCRSError,
    OutsideChinaError,
    UnknownVillageError,
    UnsafeVillageIdError,
    VillagePropertyError,
)
from .grid import utm_epsg
from .village import AD_HOC, FOCUS_KINDS, PILOT_TYPES, Village, is_safe_id

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

#: environment variable naming another registry (a folder of *.geojson or one file)
ENV_VAR = "VILLAGEWATCH_VILLAGES"
#: the repository's registry, ``data/villages`` beside the ``aoi`` package
DEFAULT_REGISTRY: Path = Path(__file__).resolve().parent.parent / "data" / "villages"

#: Generous bounding box of the People's Republic of China as (west, south, east, north) in
#: degrees: mainland, Hainan and Taiwan (73.5-135.1 E, 18.2-53.6 N) with a margin. It is a box,
#: not a border: it also takes in parts of neighbouring countries, and it leaves out the South
#: China Sea islands south of 18 N (no pilot village lies there).
CHINA_BBOX: tuple[float, float, float, float] = (73.0, 18.0, 135.5, 53.6)

#: properties every registry feature must have
REQUIRED_PROPERTIES: tuple[str, ...] = (
    "id", "name_zh", "name_en", "province", "county", "town", "pilot_type", "focus",
)
_TEXT_PROPERTIES = ("id", "name_zh", "name_en", "province", "county", "town", "pilot_type")
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
def default_registry() -> Path:
    """``$VILLAGEWATCH_VILLAGES`` if set, else :data:`DEFAULT_REGISTRY`."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else DEFAULT_REGISTRY


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


# --------------------------------------------------------------------------- registry features
def _focus(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):  # a GeoPackage/Shapefile column: "water,vegetation" or a JSON list
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [s.strip() for s in text.split(",") if s.strip()]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(f, str) for f in value):
        raise VillagePropertyError(f"{where}: 'focus' must be a non-empty list of {list(FOCUS_KINDS)}, got {value!r}")
    unknown = [f for f in value if f not in FOCUS_KINDS]
    if unknown:
        raise VillagePropertyError(f"{where}: unknown focus {unknown}; allowed: {list(FOCUS_KINDS)}")
    return tuple(dict.fromkeys(value))


def _centre(props: Mapping[str, Any], where: str, within_china: bool) -> tuple[float, float] | None:
    value = props.get("centre")
    if value is None and props.get("centre_lon") is not None and props.get("centre_lat") is not None:
        value = [props["centre_lon"], props["centre_lat"]]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if value is None:
        return None
    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        raise VillagePropertyError(f"{where}: 'centre' must be [lon, lat], got {value!r}") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise VillagePropertyError(f"{where}: 'centre' {value!r} is not a longitude/latitude pair")
    w, s, e, n = CHINA_BBOX
    if within_china and not (w <= lon <= e and s <= lat <= n):
        raise OutsideChinaError(f"{where}: 'centre' {value!r} is outside China's bounding box CHINA_BBOX "
                                f"(lon {w}..{e}, lat {s}..{n})")
    return (lon, lat)


def village_from_feature(props: Mapping[str, Any] | None, geometry: BaseGeometry | None,
                         where: str) -> Village:
    """A validated :class:`Village` from a registry feature's properties and its lon/lat
    geometry; ``where`` (file and feature index) prefixes every error message."""
    if not isinstance(props, Mapping):
        raise VillagePropertyError(f"{where}: the feature has no properties; required: {list(REQUIRED_PROPERTIES)}")
    vid = props.get("id")
    if isinstance(vid, str) and vid and f"(id {vid!r})" not in where:
        where = f"{where} (id {vid!r})"
    missing = [k for k in REQUIRED_PROPERTIES if props.get(k) in (None, "", [])]
    if missing:
        raise VillagePropertyError(f"{where}: missing required properties {missing}")
    bad = [k for k in _TEXT_PROPERTIES if not isinstance(props[k], str) or not props[k].strip()]
    if bad:
        raise VillagePropertyError(f"{where}: properties {bad} must be non-empty text")
    if not is_safe_id(vid):
        raise UnsafeVillageIdError(
            f"{where}: id {vid!r} is not a safe ASCII slug (lower-case a-z, 0-9, '-', '_', at most 64 "
            "characters, no '/' or '..'): it names the village's output folder")
    if props["pilot_type"] not in PILOT_TYPES:
        raise VillagePropertyError(f"{where}: pilot_type {props['pilot_type']!r} is not one of {list(PILOT_TYPES)}")
    china = is_chinese_province(props["province"])
    source = props.get("boundary_source") or "approximate"
    notes = props.get("notes") or ""
    if not isinstance(source, str) or not isinstance(notes, str):
        raise VillagePropertyError(f"{where}: 'boundary_source' and 'notes' must be text")
    return Village(
        id=vid,
        name_zh=props["name_zh"].strip(),
        name_en=props["name_en"].strip(),
        province=props["province"].strip(),
        county=props["county"].strip(),
        town=props["town"].strip(),
        pilot_type=props["pilot_type"],
        focus=_focus(props["focus"], where),
        geometry=check_boundary(geometry, where, within_china=china),
        boundary_source=source,
        notes=notes,
        centre=_centre(props, where, china),
        admin_code=check_admin_code(props.get("admin_code"), where, province=props["province"]),
    )


def _legacy_crs(doc: Mapping[str, Any], path: Path) -> CRS:
    """The CRS of a GeoJSON document: EPSG:4326 (RFC 7946) unless it carries a legacy
    (2008 spec) ``"crs": {"type": "name", "properties": {"name": ...}}`` member."""
    member = doc.get("crs")
    if member is None:
        return _WGS84
    name = member.get("properties", {}).get("name") if isinstance(member, Mapping) else None
    if not (isinstance(member, Mapping) and member.get("type") == "name" and isinstance(name, str)):
        raise BoundaryFileError(f"{path}: unsupported legacy 'crs' member {member!r}; "
                                "write RFC 7946 GeoJSON (EPSG:4326, no 'crs')")
    try:
        return CRS.from_user_input(name)
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise BoundaryFileError(f"{path}: unknown CRS {name!r} in the 'crs' member ({exc})") from None


def _geojson_records(path: Path) -> Iterator[tuple[int, Any, BaseGeometry | None]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BoundaryFileError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise BoundaryFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(doc, Mapping) or doc.get("type") not in ("FeatureCollection", "Feature"):
        kind = doc.get("type") if isinstance(doc, Mapping) else type(doc).__name__
        raise BoundaryFileError(f"{path}: expected a GeoJSON FeatureCollection or Feature, got {kind!r}")
    crs = _legacy_crs(doc, path)
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise BoundaryFileError(f"{path}: 'features' must be a list")
    if not features:
        raise EmptyGeometryError(f"{path}: the FeatureCollection has no features")
    for i, feat in enumerate(features):
        props = feat.get("properties") if isinstance(feat, Mapping) else None
        vid = props.get("id") if isinstance(props, Mapping) else None
        if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
            raise BoundaryFileError(f"{_where(path, i, vid)}: not a GeoJSON Feature")
        gj = feat.get("geometry")
        try:
            geom = shape(gj) if gj else None
        except Exception as exc:  # malformed coordinates, unknown type
            raise BoundaryFileError(f"{_where(path, i, vid)}: malformed geometry ({exc})") from None
        if geom is not None and not geom.is_empty:
            geom = _to_wgs84(geom, crs)
        yield i, props, geom


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


def _ogr_records(path: Path) -> Iterator[tuple[int, Any, BaseGeometry | None]]:
    gdf = _read_ogr(path).to_crs(_WGS84)
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    for i, (geom, row) in enumerate(zip(gdf.geometry, gdf[cols].to_dict("records"))):
        props = {k: (None if _isnull(v) else v) for k, v in row.items()}
        yield i, props, geom


def _isnull(v: Any) -> bool:
    try:
        return bool(v is None or (isinstance(v, float) and math.isnan(v)))
    except TypeError:
        return False


def _registry_files(source: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[Path]:
    if source is None:
        sources = [default_registry()]
    elif isinstance(source, (str, os.PathLike)):
        sources = [Path(source)]
    else:
        sources = [Path(s) for s in source]
    files: list[Path] = []
    for src in sources:
        src = src.expanduser()
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.suffix.lower() == ".geojson" and p.is_file())
            if not found:
                raise BoundaryFileError(f"{src}: the village registry folder has no *.geojson files")
            files.extend(found)
        elif src.is_file():
            files.append(src)
        else:
            raise BoundaryFileError(f"{src}: no such village registry file or folder")
    return files


def load_villages(
    source: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    ids: Sequence[str] | None = None,
) -> list[Village]:
    """The registry's villages, sorted by id.

    ``source``: a folder of ``*.geojson`` (one FeatureCollection per village, or several
    villages per file), one file with many features (GeoJSON; or GeoPackage/Shapefile with
    ``focus`` as "a,b" text), a list of those, or ``None`` for :func:`default_registry`.
    ``ids``: only these villages (unknown ids -> :class:`UnknownVillageError` listing the
    known ones). Every file is validated (properties, geometry, ids unique across files).
    """
    seen: dict[str, str] = {}
    villages: list[Village] = []
    for path in _registry_files(source):
        records = _geojson_records(path) if path.suffix.lower() in _JSON_SUFFIXES else _ogr_records(path)
        for i, props, geom in records:
            vid = props.get("id") if isinstance(props, Mapping) else None
            where = _where(path, i, vid)
            village = village_from_feature(props, geom, where)
            if village.id in seen:
                raise DuplicateVillageError(f"{where}: village id {village.id!r} is already used by {seen[village.id]}")
            seen[village.id] = where
            villages.append(village)
    villages.sort(key=lambda v: v.id)
    if ids is None:
        return villages
    wanted = list(dict.fromkeys(ids))
    unknown = [i for i in wanted if i not in seen]
    if unknown:
        raise UnknownVillageError(
            f"unknown village id(s) {unknown}; the registry has: {', '.join(v.id for v in villages)}")
    keep = set(wanted)
    return [v for v in villages if v.id in keep]


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


# --------------------------------------------------------------------------- tables and features
def village_to_feature(village: Village) -> dict[str, Any]:
    """The village as a registry GeoJSON Feature (RFC 7946), readable by :func:`load_villages`."""
    props: dict[str, Any] = {
        "id": village.id, "name_zh": village.name_zh, "name_en": village.name_en,
        "province": village.province, "county": village.county, "town": village.town,
        "pilot_type": village.pilot_type, "focus": list(village.focus),
        "boundary_source": village.boundary_source, "notes": village.notes,
    }
    if village.centre is not None:
        props["centre"] = list(village.centre)
    if village.admin_code is not None:
        props["admin_code"] = village.admin_code
    return {"type": "Feature", "id": village.id, "properties": props,
            "geometry": mapping(village.geometry)}


def villages_to_geodataframe(villages: Iterable[Village]) -> "geopandas.GeoDataFrame":
    """One row per village, EPSG:4326: the registry properties (``focus`` as "a,b" text,
    ``centre`` as ``centre_lon``/``centre_lat``) and ``area_km2`` measured in the local UTM
    zone (:func:`village_area_km2`), and ``admin_code`` (12-digit text, None when unknown)."""
    import geopandas as gpd

    cols = ["id", "name_zh", "name_en", "province", "county", "town", "pilot_type", "focus",
            "boundary_source", "notes", "centre_lon", "centre_lat", "area_km2", "admin_code"]
    rows, geoms = [], []
    for v in villages:
        lon, lat = v.centre if v.centre is not None else (None, None)
        rows.append({"id": v.id, "name_zh": v.name_zh, "name_en": v.name_en, "province": v.province,
                     "county": v.county, "town": v.town, "pilot_type": v.pilot_type,
                     "focus": ",".join(v.focus), "boundary_source": v.boundary_source, "notes": v.notes,
                     "centre_lon": lon, "centre_lat": lat, "area_km2": village_area_km2(v),
                     "admin_code": v.admin_code})
        geoms.append(v.geometry)
    import pandas as pd

    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs="EPSG:4326")
