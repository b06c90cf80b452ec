"""The pipeline's steps as plain functions (no Prefect): load -> indicators -> change -> write.

``flows.nightly`` wraps these in Prefect tasks; notebooks and tests call them directly.
Every function takes a village, a source and paths, and returns the paths it wrote.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.features import rasterize

import indices
from aoi import Village, is_safe_id
from sensing.base import Source
from sensing.errors import NoDataError

from . import versions
from .atomic import sha256_file, write_json
from .params import ALGORITHM_VERSION, Params
from .rasters import mask_to_uint8, write_cog
from .vectors import empty_frame, write_geojson

log = logging.getLogger("villagewatch.flows")

DATE_FMT = "%Y-%m-%d"


# --------------------------------------------------------------------------- paths
#: a product folder's date (YYYY-MM-DD); change folders are two joined by "_"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATE_RE = re.compile(rf"^{DATE_PATTERN}$")


def _part(value: object, what: str, *, date: bool = False) -> str:
    """``value`` if it is a safe single folder name (a village-id slug, or a YYYY-MM-DD date),
    else ``ValueError``: ids, dates and stream names reach here from the Python API and from
    sources, and must never make flows write outside the output folder (``../x``, ``/etc``)."""
    text = str(value)
    if not (DATE_RE.match(text) if date else is_safe_id(text)):
        kind = "a YYYY-MM-DD date" if date else "an ASCII slug (a-z, 0-9, '-', '_')"
        raise ValueError(f"{what} {text!r} is not {kind}; refusing to use it as a folder name")
    return text


def village_dir(out_root: str | Path, village: Village) -> Path:
    return Path(out_root) / _part(village.id, "village id")


def date_dir(out_root: str | Path, village: Village, date: str, stream: str | None = None) -> Path:
    d = village_dir(out_root, village) / _part(date, "date", date=True)
    return d / _part(stream, "stream") if stream else d


def change_dir(out_root: str | Path, village: Village, d_from: str, d_to: str, stream: str | None = None) -> Path:
    d = village_dir(out_root, village) / "change" / f"{_part(d_from, 'date', date=True)}_{_part(d_to, 'date', date=True)}"
    return d / _part(stream, "stream") if stream else d


# --------------------------------------------------------------------------- scene helpers
def scene_dates(scene: xr.Dataset) -> list[str]:
    return [pd.Timestamp(t).strftime(DATE_FMT) for t in scene["time"].values]


def select_date(scene: xr.Dataset, date: str) -> xr.Dataset:
    """The 2-D (y, x) scene of one date; ``NoDataError`` if the scene has no such date."""
    dates = scene_dates(scene)
    if date not in dates:
        raise NoDataError(f"no acquisition on {date} (have {', '.join(dates) or 'none'})")
    one = scene.isel(time=dates.index(date))
    one.attrs = dict(scene.attrs)
    one.attrs["item_id"] = str(one["item_id"].values)
    return one


def aoi_mask(village: Village, like: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """True inside the village boundary, rasterised on ``like``'s grid (pixel centres)."""
    from pyproj import Transformer
    from shapely.ops import transform as shp_transform

    crs = like.rio.crs
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geom = shp_transform(tr.transform, village.geometry)
    shape = (like.sizes["y"], like.sizes["x"])
    arr = rasterize([(geom, 1)], out_shape=shape, transform=like.rio.transform(recalc=True), fill=0, dtype="uint8")
    return xr.DataArray(arr.astype(bool), dims=("y", "x"), coords={"y": like["y"], "x": like["x"]}, name="aoi")


def _valid(scene_t: xr.Dataset) -> xr.DataArray:
    ok = None
    for name in scene_t.data_vars:
        fin = np.isfinite(scene_t[name])
        ok = fin if ok is None else ok & fin
    return ok


def _georef(da: xr.DataArray, like: xr.Dataset) -> xr.DataArray:
    da = da.rio.write_crs(like.rio.crs)
    return da.rio.write_transform(like.rio.transform(recalc=True))


# --------------------------------------------------------------------------- manifest / skip
def inputs_key(village: Village, item_ids: Iterable[str], source: Source, params: Params, kind: str) -> str:
    """Cache key of a product set: (village + boundary, scene ids, source options, params, algorithm)."""
    payload = {
        "village": village.id,
        "boundary": hashlib.sha256(village.geometry.wkb).hexdigest(),
        "items": sorted(str(i) for i in item_ids),
        "source": source.describe(),
        "params": params.as_dict(),
        "algorithm_version": ALGORITHM_VERSION,
        "kind": kind,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def up_to_date(folder: Path, key: str, *, name: str = "manifest.json") -> list[Path] | None:
    """The product paths of ``folder`` if its manifest (``name``) has ``key`` and every file's
    checksum matches."""
    mpath = folder / name
    if not mpath.exists():
        return None
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("inputs_key") != key:
        return None
    paths = []
    for name, meta in manifest.get("outputs", {}).items():
        p = folder / name
        if not p.exists() or sha256_file(p) != meta.get("sha256"):
            return None
        paths.append(p)
    return paths + [mpath]


def write_manifest(
    folder: Path,
    *,
    village: Village,
    key: str,
    outputs: list[Path],
    source: Source,
    params: Params,
    inputs: dict[str, Any],
    extra: dict[str, Any] | None = None,
    name: str = "manifest.json",
    parameters: dict[str, Any] | None = None,
) -> Path:
    """``manifest.json`` (or ``name``: a companion manifest for products a later step adds to
    the folder): inputs (item ids), parameters (``params``, or ``parameters`` when given),
    versions, checksums; no timestamps, so a re-run with the same inputs writes the same bytes."""
    manifest = {
        "village": {"id": village.id, "name_zh": village.name_zh, "name_en": village.name_en,
                    "boundary_source": village.boundary_source},
        "inputs_key": key,
        "inputs": inputs,
        "source": source.describe(),
        "parameters": params.as_dict() if parameters is None else parameters,
        "versions": versions.versions(),
        "outputs": {
            str(p.relative_to(folder)): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(outputs)
        },
        **(extra or {}),
    }
    return write_json(folder / name, manifest)


# --------------------------------------------------------------------------- products of one date
@dataclass
class DateResult:
    village_id: str
    date: str
    stream: str
    paths: list[Path] = field(default_factory=list)
    indicators: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    reused: bool = False


def _provenance_tags(scene_t: xr.Dataset, village: Village) -> dict[str, str]:
    tags = {
        "VILLAGE": village.id,
        "SENSOR": str(scene_t.attrs.get("sensor")),
        "ITEM_ID": str(scene_t.attrs.get("item_id")),
    }
    if scene_t.attrs.get("demo"):
        tags["DEMO"] = "synthetic demo data, not an observation"
    return tags


#: products that need a water mask, skipped (with the reason) for imagery that cannot make one
WATER_PRODUCTS = ("water_mask", "black_odorous", "water_bodies", "black_odorous_suspects")


def water_or_skip(scene: xr.Dataset, params: Params, skipped: dict[str, str]) -> xr.DataArray | None:
    """The water mask from the best water index the bands allow, or ``None`` when they allow
    none (RGB-only drone orthomosaics: see ``indices.water_index_for``); then every water
    product is entered in ``skipped`` with the reason, as issue #3 asks (a note, not an error)."""
    try:
        return indices.water_mask(scene, **params.water_kwargs())
    except indices.MissingBandError as exc:
        for name in WATER_PRODUCTS:
            skipped[name] = str(exc)
        return None


def water_products(scene_t: xr.Dataset, params: Params) -> tuple[xr.Dataset, xr.DataArray | None, dict[str, str]]:
    """Indices the bands allow, and the water mask from the best water index available
    (``None`` when the bands allow none; the reasons are in the returned ``skipped``)."""
    idx, skipped = indices.compute_indices(scene_t)
    return idx, water_or_skip(scene_t, params, skipped), skipped


def process_date(
    source: Source,
    village: Village,
    date: str,
    out_root: str | Path,
    params: Params = Params(),
    *,
    scene: xr.Dataset | None = None,
    stream: str | None = None,
    previous_date: str | None = None,
) -> DateResult:
    """Indicators of one village on one date: index COGs, water mask, water bodies (with stable
    ids against ``previous_date``'s), black-odorous suspects, per-date indicator row, manifest."""
    if scene is None:
        scene = source.load(village, dt.date.fromisoformat(date), dt.date.fromisoformat(date))
    scene_t = select_date(scene, date)
    folder = date_dir(out_root, village, date, stream)
    item_id = scene_t.attrs["item_id"]
    key = inputs_key(village, [item_id, previous_date or ""], source, params, f"date:{stream}")
    result = DateResult(village.id, date, stream or "main")
    reused = up_to_date(folder, key)
    if reused is not None:
        log.info("%s %s: products up to date, skipped", village.id, date)
        result.paths, result.reused = reused, True
        result.indicators = json.loads((folder / "indicators.json").read_text())
        return result

    log.info("%s %s: computing indicators (%s, item %s)", village.id, date, scene_t.attrs.get("sensor"), item_id)
    tags = _provenance_tags(scene_t, village)
    inside = aoi_mask(village, scene_t)
    valid = _valid(scene_t)
    idx, water, skipped = water_products(scene_t, params)
    result.skipped = skipped
    outputs: list[Path] = []
    for name in idx.data_vars:
        outputs.append(write_cog(_georef(idx[name], scene_t), folder / f"{name}.tif", tags=tags))
    meta = {"village": village.id, "date": date, "sensor": scene_t.attrs.get("sensor"),
            "item_id": item_id, "demo": bool(scene_t.attrs.get("demo", False))}
    classified = None
    if water is not None:
        written, classified = _water_outputs(scene_t, idx, water, valid, folder, tags, meta,
                                             _previous_bodies(out_root, village, previous_date, stream, scene_t.rio.crs))
        outputs += written
    else:
        log.info("%s %s%s: no water products (%s)", village.id, date, f" [{stream}]" if stream else "",
                 skipped.get("water_mask"))

    row = date_indicators(scene_t, idx, water, inside, valid, classified, params)
    row.update({"village_id": village.id, "date": date, "stream": result.stream,
                "sensor": scene_t.attrs.get("sensor"), "item_ids": item_id,
                "demo": bool(scene_t.attrs.get("demo", False))})
    outputs.append(write_json(folder / "indicators.json", row))
    manifest = write_manifest(
        folder, village=village, key=key, outputs=outputs, source=source, params=params,
        inputs={"date": date, "item_ids": [item_id], "sensor": scene_t.attrs.get("sensor"),
                "previous_date": previous_date, "demo": meta["demo"]},
        extra={"skipped_indices": {k: v for k, v in skipped.items() if k not in WATER_PRODUCTS},
               **({"skipped_products": {k: v for k, v in skipped.items() if k in WATER_PRODUCTS}}
                  if water is None else {}),
               **({"skipped_files": scene_t.attrs["skipped_files"]} if scene_t.attrs.get("skipped_files") else {})},
    )
    result.paths = outputs + [manifest]
    result.indicators = row
    return result


def _previous_bodies(out_root, village: Village, previous_date: str | None, stream: str | None, crs) -> gpd.GeoDataFrame | None:
    """The previous date's water bodies (for stable ids), or ``None``."""
    if not previous_date:
        return None
    path = date_dir(out_root, village, previous_date, stream) / "water_bodies.geojson"
    return gpd.read_file(path).to_crs(crs) if path.exists() else None


def classify_water(scene_t: xr.Dataset, water: xr.DataArray, valid: xr.DataArray, *, idx: xr.Dataset | None = None,
                   previous: gpd.GeoDataFrame | None = None) -> tuple[gpd.GeoDataFrame, xr.Dataset]:
    """Water bodies of one date, black-odorous reaches split off as bodies of their own
    (``indices.suspect_reaches``), each classified (``indices.classify_water_bodies``); and the
    per-pixel black-odorous flags. What the flow writes and what ``flows.validate`` scores."""
    water = water.compute()
    flags = indices.black_odorous_pixels(scene_t, water).compute()  # used three times: split, classes, COG
    bodies = indices.water_bodies(
        water, indices=idx, valid_count=valid.astype("int16").compute(), previous=previous,
        split=indices.suspect_reaches(flags["is_suspect"], water),
    )
    return indices.classify_water_bodies(bodies, flags, scene=scene_t), flags


def water_change_polygons(wa: xr.DataArray, wb: xr.DataArray, va: xr.DataArray, vb: xr.DataArray,
                          params: Params) -> tuple[xr.Dataset, dict[str, gpd.GeoDataFrame]]:
    """``indices.water_change`` and its gain / loss polygons at the change minimum area (not
    the water mask's: shore slivers of water present on both dates are 400-600 m2, one pixel
    of shoreline shifting; a dug pond is larger)."""
    wchg = indices.water_change(wa, wb, va, vb)
    polys = {kind: indices.change_polygons(wchg[kind].compute(), None, min_area_m2=params.change_min_area_m2)
             for kind in ("gain", "loss")}
    return wchg, polys


def _water_outputs(scene_t: xr.Dataset, idx: xr.Dataset, water: xr.DataArray, valid: xr.DataArray, folder: Path,
                   tags: dict[str, str], meta: dict[str, Any],
                   previous: gpd.GeoDataFrame | None) -> tuple[list[Path], gpd.GeoDataFrame]:
    """Water mask and black-odorous COGs, classified water bodies and the suspects' GeoJSON;
    returns the paths written and the classified water bodies."""
    outputs = [write_cog(_georef(mask_to_uint8(water, valid), scene_t), folder / "water_mask.tif", nodata=255, tags=tags)]
    classified, flags = classify_water(scene_t, water, valid, idx=idx, previous=previous)
    outputs.append(write_cog(_georef(mask_to_uint8(flags["is_suspect"], valid), scene_t),
                             folder / "black_odorous.tif", nodata=255, tags=tags))
    suspects = classified[classified["status"] == "suspect_black_odorous"]
    outputs.append(write_geojson(classified, folder / "water_bodies.geojson", properties=meta))
    outputs.append(write_geojson(
        suspects if len(suspects) else empty_frame(scene_t.rio.crs, list(classified.columns.drop("geometry", errors="ignore"))),
        folder / "black_odorous_suspects.geojson", properties=meta))
    return outputs, classified


def date_indicators(scene_t, idx, water, inside, valid, classified, params: Params) -> dict[str, Any]:
    """The village's figures on one date, over the village boundary (not the buffer); the
    water figures are ``None`` when the imagery allows no water mask (``water`` is ``None``)."""
    res = float(abs(scene_t.rio.resolution()[0]))
    pix_m2 = res * res
    ok = (valid & inside).compute()
    n_in = int(inside.sum())
    row: dict[str, Any] = {"valid_fraction": float(ok.sum()) / max(n_in, 1), "resolution_m": res}
    if "ndvi" in idx:
        nd = idx["ndvi"].where(ok).compute()
        vals = nd.values[np.isfinite(nd.values)]
        row["ndvi_mean"] = float(vals.mean()) if vals.size else None
        for q in (10, 50, 90):
            row[f"ndvi_p{q}"] = float(np.percentile(vals, q)) if vals.size else None
        row["vegetation_cover"] = float(indices.vegetation_cover(nd, threshold=params.vegetation_threshold))
        row["dense_canopy_share"] = float(indices.dense_canopy_share(nd, threshold=params.dense_canopy_threshold))
    if water is None:
        row.update(water_area_m2=None, n_water_bodies=None, n_black_odorous_suspects=None, black_odorous_area_m2=None)
    else:
        row["water_area_m2"] = float((water & ok).sum().compute()) * pix_m2
        sus = classified[classified["status"] == "suspect_black_odorous"] if len(classified) else classified
        row["n_water_bodies"] = int(len(classified))
        row["n_black_odorous_suspects"] = int(len(sus))
        row["black_odorous_area_m2"] = float(sus["area_m2"].sum()) if len(sus) else 0.0
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


# --------------------------------------------------------------------------- change between two dates
def process_change(
    source: Source,
    village: Village,
    d_from: str,
    d_to: str,
    out_root: str | Path,
    params: Params = Params(),
    *,
    scene: xr.Dataset | None = None,
    stream: str | None = None,
) -> DateResult:
    """Change maps between two dates: NDVI difference with loss/gain, water gain/loss, and
    water bodies newly suspected black-odorous (by stable ``wb_id``)."""
    if scene is None:
        scene = source.load(village, dt.date.fromisoformat(d_from), dt.date.fromisoformat(d_to))
    a, b = select_date(scene, d_from), select_date(scene, d_to)
    folder = change_dir(out_root, village, d_from, d_to, stream)
    key = inputs_key(village, [a.attrs["item_id"], b.attrs["item_id"]], source, params, f"change:{stream}")
    result = DateResult(village.id, f"{d_from}_{d_to}", stream or "main")
    reused = up_to_date(folder, key)
    if reused is not None:
        log.info("%s %s..%s: change products up to date, skipped", village.id, d_from, d_to)
        result.paths, result.reused = reused, True
        result.indicators = json.loads((folder / "change.json").read_text())
        return result
    log.info("%s %s..%s: computing change", village.id, d_from, d_to)
    tags = {**_provenance_tags(b, village), "CHANGE_FROM": d_from, "CHANGE_TO": d_to,
            "ITEM_ID": f"{a.attrs['item_id']},{b.attrs['item_id']}"}
    inside = aoi_mask(village, b)
    va, vb = _valid(a), _valid(b)
    both = va & vb
    outputs: list[Path] = []
    figures: dict[str, Any] = {"from": d_from, "to": d_to}
    meta = {"village": village.id, "from": d_from, "to": d_to, "demo": bool(b.attrs.get("demo", False))}
    res = float(abs(b.rio.resolution()[0]))

    idx_a, _ = indices.compute_indices(a, names=["ndvi"])
    idx_b, _ = indices.compute_indices(b, names=["ndvi"])
    if "ndvi" in idx_a and "ndvi" in idx_b:
        veg = indices.ndvi_change(idx_a["ndvi"], idx_b["ndvi"], threshold=params.ndvi_change_threshold)
        outputs.append(write_cog(_georef(veg["dndvi"], b), folder / "ndvi_change.tif", tags=tags))
        vclass = xr.where(veg["loss"], 1, xr.where(veg["gain"], 2, 0)).where(both, 255).astype("uint8")
        outputs.append(write_cog(_georef(vclass, b), folder / "vegetation_change.tif", nodata=255, tags=tags))
        for kind in ("loss", "gain"):
            polys = indices.change_polygons(veg[kind].compute(), veg["dndvi"].compute(), min_area_m2=params.change_min_area_m2)
            outputs.append(write_geojson(polys, folder / f"vegetation_{kind}.geojson", properties={**meta, "kind": f"vegetation_{kind}"}))
            figures[f"vegetation_{kind}_area_m2"] = float(polys["area_m2"].sum()) if len(polys) else 0.0
            figures[f"vegetation_{kind}_n"] = int(len(polys))
    skipped: dict[str, str] = {}
    wa, wb = water_or_skip(a, params, skipped), water_or_skip(b, params, skipped)
    if wa is not None and wb is not None:
        wchg, wpolys = water_change_polygons(wa, wb, va, vb, params)
        wclass = xr.where(wchg["gain"], 1, xr.where(wchg["loss"], 2, 0)).where(both, 255).astype("uint8")
        outputs.append(write_cog(_georef(wclass, b), folder / "water_change.tif", nodata=255, tags=tags))
        for kind, polys in wpolys.items():
            outputs.append(write_geojson(polys, folder / f"water_{kind}.geojson", properties={**meta, "kind": f"water_{kind}"}))
            figures[f"water_{kind}_area_m2"] = float(polys["area_m2"].sum()) if len(polys) else 0.0
        new_sus = new_suspects(out_root, village, d_from, d_to, stream)
        outputs.append(write_geojson(new_sus, folder / "new_black_odorous_suspects.geojson",
                                     properties={**meta, "kind": "new_black_odorous_suspects"}))
        figures["new_black_odorous_suspects"] = int(len(new_sus))
    outputs.append(write_json(folder / "change.json", figures))
    manifest = write_manifest(
        folder, village=village, key=key, outputs=outputs, source=source, params=params,
        inputs={"from": d_from, "to": d_to, "item_ids": [a.attrs["item_id"], b.attrs["item_id"]],
                "demo": meta["demo"]},
        extra={"skipped_products": {k: skipped[k] for k in ("water_mask",) if k in skipped}} if skipped else None,
    )
    result.paths = outputs + [manifest]
    result.indicators = figures
    return result


#: a suspect on the later date is not new when this share of its area was suspect before
NEW_SUSPECT_MAX_OVERLAP = 0.5


def new_suspects(out_root, village: Village, d_from: str, d_to: str, stream: str | None) -> gpd.GeoDataFrame:
    """Suspects on ``d_to`` that were not suspects on ``d_from`` (from the date products): not
    the same ``wb_id``, and less than :data:`NEW_SUSPECT_MAX_OVERLAP` of the area covered by
    the earlier suspects (a reach that split or moved by a pixel gets a new id, not news)."""
    def read(date):
        p = date_dir(out_root, village, date, stream) / "black_odorous_suspects.geojson"
        return gpd.read_file(p) if p.exists() else gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")

    return new_suspect_rows(read(d_from), read(d_to))


def new_suspect_rows(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of ``after`` (suspects of the later date) that ``new_suspects`` calls new."""
    if not len(after) or not len(before):
        return after.reset_index(drop=True)
    from aoi import utm_epsg

    c = after.geometry.union_all().centroid
    crs = f"EPSG:{utm_epsg(c.x, c.y)}"
    a_m, b_union = after.to_crs(crs), before.to_crs(crs).geometry.union_all()
    covered = a_m.geometry.intersection(b_union).area / a_m.geometry.area.where(a_m.geometry.area > 0)
    old_ids = set(before["wb_id"]) if "wb_id" in before else set()
    is_new = ~after["wb_id"].isin(old_ids) & ~(covered.fillna(0.0) >= NEW_SUSPECT_MAX_OVERLAP)
    return after[is_new.to_numpy()].reset_index(drop=True)


# --------------------------------------------------------------------------- indicator table
INDICATOR_COLUMNS = [
    "village_id", "date", "stream", "sensor", "item_ids", "demo", "valid_fraction", "resolution_m",
    "ndvi_mean", "ndvi_p10", "ndvi_p50", "ndvi_p90", "vegetation_cover", "dense_canopy_share",
    "water_area_m2", "n_water_bodies", "n_black_odorous_suspects", "black_odorous_area_m2",
    "vegetation_loss_area_m2", "vegetation_gain_area_m2", "water_gain_area_m2", "water_loss_area_m2",
    "new_black_odorous_suspects", "farmland_conversion_area_m2", "ancient_tree_alerts",
]


def write_indicator_table(out_root: str | Path, village: Village) -> Path:
    """``<village>/indicators.parquet``: one row per (date, stream), rebuilt from the per-date
    ``indicators.json`` and the change figures into each date, so a re-run of a date
    replaces its row and never duplicates it."""
    from .atomic import atomic_path

    vdir = village_dir(out_root, village)
    rows = []
    for p in sorted(vdir.glob("*/indicators.json")) + sorted(vdir.glob("*/*/indicators.json")):
        if "change" in p.parts:
            continue
        rows.append(json.loads(p.read_text()))
    changes = {}
    for p in sorted((vdir / "change").glob("*/change.json")) + sorted((vdir / "change").glob("*/*/change.json")):
        ch = json.loads(p.read_text())
        stream = p.parent.name if p.parent.parent.name != "change" else "main"
        changes[(ch["to"], stream)] = ch
    for p in sorted((vdir / "change").glob("*/farmland_conversion.json")):  # flows.watch_steps
        fc = json.loads(p.read_text())
        changes.setdefault((fc["to"], "main"), {})["farmland_conversion_area_m2"] = \
            fc.get("figures", {}).get("farmland_conversion_area_m2")
    trees = vdir / "watches" / "ancient_trees.geojson"
    alerts = Counter(d for f in json.loads(trees.read_text())["features"]
                     for d in f["properties"].get("alert_dates") or []) if trees.exists() else None
    for r in rows:
        ch = changes.get((r["date"], r.get("stream", "main")), {})
        for k in ("vegetation_loss_area_m2", "vegetation_gain_area_m2", "water_gain_area_m2",
                  "water_loss_area_m2", "new_black_odorous_suspects", "farmland_conversion_area_m2"):
            r[k] = ch.get(k)
        main = r.get("stream", "main") == "main"
        r["ancient_tree_alerts"] = alerts.get(r["date"], 0) if alerts is not None and main else None
    df = pd.DataFrame(rows, columns=INDICATOR_COLUMNS)
    df = df.sort_values(["stream", "date"]).drop_duplicates(["date", "stream"], keep="last").reset_index(drop=True)
    df["date"] = pd.to_datetime(df["date"])
    path = vdir / "indicators.parquet"
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path
