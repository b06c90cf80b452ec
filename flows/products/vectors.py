"""GeoJSON products: RFC 7946 (EPSG:4326, lon/lat, counter-clockwise exterior rings), or
CGCS2000 (EPSG:4490) on request, written canonically so the same features give the same bytes."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.polygon import orient

from ..errors import ProductWriteError
from .atomic import write_text

COORD_DECIMALS = 7  # ~1 cm at the equator


def _orient(geom):
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type == "Polygon":
        return orient(geom, 1.0)
    if geom.geom_type == "MultiPolygon":
        return shapely.MultiPolygon([orient(p, 1.0) for p in geom.geoms])
    return geom


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), COORD_DECIMALS) for v in obj]
        return [_round_coords(v) for v in obj]
    return obj


def jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if not math.isfinite(f) else round(f, 6)
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v if isinstance(v, (str, int)) else str(v)


def feature_collection(gdf: gpd.GeoDataFrame, *, properties: Mapping[str, Any] | None = None,
                       crs: str | None = None) -> dict:
    """An RFC 7946 FeatureCollection dict from a GeoDataFrame in any CRS; ``crs="EPSG:4490"``
    gives CGCS2000 lon/lat instead (the same numbers: PROJ applies no shift from WGS 84) with
    the legacy ``crs`` member naming it, which RFC 7946 readers ignore and GDAL/QGIS read."""
    if gdf.crs is None and len(gdf):
        raise ProductWriteError("GeoDataFrame has no CRS; cannot write RFC 7946 GeoJSON")
    target = crs or "EPSG:4326"
    g = gdf.to_crs(target) if gdf.crs is not None else gdf
    features = []
    cols = [c for c in g.columns if c != g.geometry.name]
    for _, row in g.iterrows():
        geom = _orient(row[g.geometry.name])
        geo = mapping(geom) if geom is not None and not geom.is_empty else None
        if geo is not None:
            geo = {"type": geo["type"], "coordinates": _round_coords(geo["coordinates"])}
        features.append({
            "type": "Feature",
            "properties": {c: jsonable(row[c]) for c in cols},
            "geometry": geo,
        })
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if target != "EPSG:4326":
        code = target.split(":")[-1]
        fc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}
    if properties:
        fc["properties"] = jsonable(dict(properties))  # foreign member, allowed by RFC 7946 §6.1
    return fc


def write_geojson(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, properties: Mapping[str, Any] | None = None,
    crs: str | None = None,
) -> Path:
    """Write ``gdf`` as RFC 7946 GeoJSON atomically (or in ``crs``: ``Params.geojson_crs``);
    ``properties`` go in a top-level member."""
    fc = feature_collection(gdf, properties=properties, crs=crs)
    write_text(path, json.dumps(fc, ensure_ascii=False, sort_keys=True, allow_nan=False) + "\n")
    return Path(path)


def empty_frame(crs: Any, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in (columns or [])}, geometry=[], crs=crs)


def geojson_epsg(doc: Mapping[str, Any]) -> int:
    """The EPSG code of a GeoJSON document we wrote: its legacy ``crs`` member's, else 4326 (RFC 7946)."""
    name = str(((doc.get("crs") or {}).get("properties") or {}).get("name") or "")
    tail = name.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 4326
