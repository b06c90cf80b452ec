"""The pilot-village registry: ``data/villages/*.geojson`` read into :class:`Village` records,
and villages written back as features and tables. Boundary checks, file readers and official
boundaries live in :mod:`aoi.boundaries` (re-exported here).

Every error is a :class:`~aoi.errors.VillageError` subclass whose message names the file and
the feature (index and id). geopandas/pyogrio are imported only when a non-GeoJSON file is read.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyproj import CRS
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .admin_codes import check_admin_code
from .boundaries import (  # noqa: F401  (re-exported: the registry's public names)
    _JSON_SUFFIXES,
    _WGS84,
    CHINA_BBOX,
    _isnull,
    _read_ogr,
    _to_wgs84,
    _where,
    check_boundary,
    file_digest,
    is_chinese_province,
    parse_boundary_option,
    read_boundary,
    slug_from_name,
    village_area_km2,
    village_from_file,
    with_boundary,
)
from .errors import (
    BoundaryFileError,
    DuplicateVillageError,
    EmptyGeometryError,
    OutsideChinaError,
    UnknownVillageError,
    UnsafeVillageIdError,
    VillagePropertyError,
)
from .village import FOCUS_KINDS, PILOT_TYPES, Village, is_safe_id

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

#: environment variable naming another registry (a folder of *.geojson or one file)
ENV_VAR = "VILLAGEWATCH_VILLAGES"
#: the repository's registry, ``data/villages`` beside the ``aoi`` package
DEFAULT_REGISTRY: Path = Path(__file__).resolve().parent.parent / "data" / "villages"

#: properties every registry feature must have
REQUIRED_PROPERTIES: tuple[str, ...] = (
    "id", "name_zh", "name_en", "province", "county", "town", "pilot_type", "focus",
)
_TEXT_PROPERTIES = ("id", "name_zh", "name_en", "province", "county", "town", "pilot_type")


# --------------------------------------------------------------------------- small helpers
def default_registry() -> Path:
    """``$VILLAGEWATCH_VILLAGES`` if set, else :data:`DEFAULT_REGISTRY`."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else DEFAULT_REGISTRY


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


def _ogr_records(path: Path) -> Iterator[tuple[int, Any, BaseGeometry | None]]:
    gdf = _read_ogr(path).to_crs(_WGS84)
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    for i, (geom, row) in enumerate(zip(gdf.geometry, gdf[cols].to_dict("records"))):
        props = {k: (None if _isnull(v) else v) for k, v in row.items()}
        yield i, props, geom


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


def select_villages(
    registry: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    ids: Sequence[str] | None = None,
    boundaries: Sequence[str] = (),
    boundary_crs: str | None = None,
    aoi: str | os.PathLike | None = None,
) -> list[Village]:
    """The villages of one run, as the CLI and the scheduled flow choose them: the registry's
    (all, or ``ids``), with the official ``boundaries`` (``"ID=PATH"``, read as ``boundary_crs``
    when given) put in place of the registry's, and an ad-hoc ``aoi`` polygon file first
    (without ``ids`` the registry is then left out). Errors are :class:`BoundaryOptionError`
    naming the option and what is wrong."""
    from .errors import BoundaryOptionError

    adhoc = [village_from_file(aoi)] if aoi else []
    villages = load_villages(registry, ids=ids) if (ids or not adhoc) else []
    if adhoc and adhoc[0].id in {v.id for v in villages}:
        raise BoundaryOptionError(f"--aoi {aoi}: its id {adhoc[0].id!r} is also a registry village's id; "
                                  "rename the file")
    overrides = dict(parse_boundary_option(b, crs=boundary_crs) for b in boundaries)
    if boundary_crs is not None and not overrides:
        raise BoundaryOptionError("--boundary-crs applies to --boundary files; no --boundary was given")
    unknown = set(overrides) - {v.id for v in villages}
    if unknown:
        raise BoundaryOptionError(f"--boundary names unknown village(s): {', '.join(sorted(unknown))}")
    return adhoc + [with_boundary(v, overrides[v.id], crs=boundary_crs) if v.id in overrides else v
                    for v in villages]


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
