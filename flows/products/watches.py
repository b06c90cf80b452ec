"""The two watches of issue #4 as plain steps, run after a village's dates and changes:

- **ancient trees (一树一码)**: canopy NDVI around each registered tree over every main-stream
  date in the output (``<village>/<date>/ndvi.tif``, so an incremental night still sees the
  whole series), with a decline alert -> ``<village>/watches/ancient_trees.geojson``;
- **cropland conversion (耕地非农化)** per change pair: cropland whose NDVI falls below anything
  it showed before while it turns built-up / bare (NDBI, BSI) or into a pond ->
  ``<village>/change/<from>_<to>/farmland_conversion.{geojson,tif,json}``.

Both read only the date products already written (COGs and their manifests), never the
scene, and skip when their inputs are unchanged (``<product>.manifest.json`` beside them).
Tree registries: ``data/trees/<village-id>.geojson`` (see :func:`load_trees`), else the
source's own (``sensing.base.TreeRegistry``, e.g. the demo codes), else the watch is skipped with a note.
Cropland: ``data/cropland/<village-id>.geojson`` (polygons, e.g. 永久基本农田), else the
source's (``sensing.base.CroplandLayer``), else NDVI phenology over the year before the change
(``indices.cropland_from_ndvi_series``); every product says which it used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.features import rasterize

import indices
from aoi import CHINA_BBOX, Village
from sensing.base import Source

from sensing.base import CroplandLayer, TreeRegistry

from ..errors import ProductMissingError, TreeRegistryError
from ..params import Params
from ..results import WatchResult
from .atomic import sha256_file, write_json
from .cache import product_key, read_manifest, up_to_date, write_manifest
from .layout import DATE_FMT, change_dir, date_dir, safe_part, watches_dir
from .layout import dates as product_dates
from .rasters import open_raster, write_cog
from .vectors import write_geojson

log = logging.getLogger("villagewatch.flows")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TREES_DIR = DATA_DIR / "trees"
CROPLAND_DIR = DATA_DIR / "cropland"
#: bumped whenever a watch changes what it writes (part of the watch products' cache keys)
WATCH_VERSION = "1"


@dataclass(frozen=True)
class WatchParams:
    """Thresholds of the watches (defaults and sources: ``indices.ancient_tree_watch``,
    ``indices.farmland_conversion_classes``, ``indices.cropland_from_ndvi_series``)."""

    tree_buffer_m: float = 10.0
    tree_decline_threshold: float = 0.15
    tree_baseline: str = "first"
    ndvi_drop: float = 0.2
    ndbi_rise: float = 0.1
    bsi_rise: float = 0.1
    new_low_margin: float = 0.05
    history_days: int = 365
    crop_min_max: float = 0.5
    crop_min_amplitude: float = 0.3


# --------------------------------------------------------------------------- tree registry
def load_trees(path: str | Path) -> gpd.GeoDataFrame:
    """A tree registry (GeoJSON or any OGR vector file) as points in EPSG:4326 with ``code``
    (一树一码, unique), ``species``, ``name_zh`` and ``age_years`` (None where absent).
    ``TreeRegistryError`` names the file and the feature for: an unreadable file, a missing
    or empty code, a duplicate code, a geometry that is missing, not a point or not finite,
    and a point outside China."""
    path = Path(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio/fiona raise many kinds
        raise TreeRegistryError(f"tree registry {path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    if "code" not in gdf.columns:
        raise TreeRegistryError(f"tree registry {path}: no 'code' property (一树一码) on any feature")
    west, south, east, north = CHINA_BBOX
    seen: dict[str, int] = {}
    for i, (code, geom) in enumerate(zip(gdf["code"], gdf.geometry)):
        text = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code).strip()
        where = f"tree registry {path}, feature {i}" + (f" (code {text!r})" if text else "")
        if not text:
            raise TreeRegistryError(f"{where}: missing 'code' (一树一码)")
        if text in seen:
            raise TreeRegistryError(f"{where}: duplicate code, also feature {seen[text]}")
        seen[text] = i
        if geom is None or geom.is_empty:
            raise TreeRegistryError(f"{where}: no geometry")
        if geom.geom_type != "Point":
            raise TreeRegistryError(f"{where}: geometry is a {geom.geom_type}, a tree must be a Point")
        if not (math.isfinite(geom.x) and math.isfinite(geom.y)):
            raise TreeRegistryError(f"{where}: coordinates are not finite numbers")
        if not (west <= geom.x <= east and south <= geom.y <= north):
            raise TreeRegistryError(f"{where}: ({geom.x:.5f}, {geom.y:.5f}) lies outside China "
                                    f"(expected lon/lat within {CHINA_BBOX}); wrong CRS or swapped lon/lat?")
    gdf["code"] = [str(c).strip() for c in gdf["code"]]
    for col in ("species", "name_zh", "age_years"):
        if col not in gdf.columns:
            gdf[col] = None
    return gdf


def trees_for(source: Source, village: Village, trees_dir: str | Path | None = None) -> tuple[gpd.GeoDataFrame | None, str]:
    """The village's tree registry and where it came from: ``<trees_dir>/<id>.geojson``
    (default ``data/trees``), else the source's ``trees(village)`` (the demo's), else
    ``(None, reason)``."""
    path = Path(trees_dir or TREES_DIR) / f"{safe_part(village.id, 'village id')}.geojson"
    if path.exists():
        return load_trees(path), str(path)
    if isinstance(source, TreeRegistry):
        return source.trees(village), f"{getattr(source, 'kind', 'source')} source registry"
    return None, f"no tree registry ({path} does not exist)"


# --------------------------------------------------------------------------- reading date products
def main_dates(out_root: str | Path, village: Village) -> list[str]:
    """Main-stream dates with an NDVI COG and a manifest in the output, in order."""
    return [d for d in product_dates(out_root, village) if (date_dir(out_root, village, d) / "ndvi.tif").exists()]


def _date_manifest(out_root, village: Village, date: str) -> dict:
    """The date's ``manifest.json`` (``{}`` if missing or unreadable)."""
    return read_manifest(date_dir(out_root, village, date)) or {}


def _date_product(out_root, village: Village, date: str, name: str) -> tuple[Path, str] | None:
    """(path, sha256 from the date's manifest) of one product file, None if absent."""
    path = date_dir(out_root, village, date) / name
    meta = _date_manifest(out_root, village, date).get("outputs", {}).get(name)
    return (path, str(meta.get("sha256"))) if meta and path.exists() else None


def _date_demo(out_root, village: Village, date: str) -> bool:
    return bool(_date_manifest(out_root, village, date).get("inputs", {}).get("demo", False))


def ndvi_series(out_root, village: Village, dates: Sequence[str]) -> tuple[xr.DataArray, list[str]]:
    """(time, y, x) NDVI of ``dates`` from their COGs (lazy), and the input ids
    ``<date>:ndvi.tif:<sha256>``; dates on another grid than the last one are left out."""
    arrays, ids = [], []
    for d in dates:
        hit = _date_product(out_root, village, d, "ndvi.tif")
        if hit is None:
            continue
        arrays.append((d, open_raster(hit[0]).drop_vars("spatial_ref", errors="ignore")))
        ids.append(f"{d}:ndvi.tif:{hit[1]}")
    if not arrays:
        raise ProductMissingError(f"{village.id}: no NDVI products for {', '.join(dates) or 'no dates'}")
    ref = arrays[-1][1]
    keep = []
    for (d, a), i in zip(arrays, ids):
        if a.shape == ref.shape and np.allclose(a["x"], ref["x"]) and np.allclose(a["y"], ref["y"]):
            keep.append((d, a.assign_coords(x=ref["x"], y=ref["y"]), i))
        else:
            log.warning("%s %s: NDVI on another grid than the latest date's, left out of the watches", village.id, d)
    crs = open_raster(_date_product(out_root, village, keep[-1][0], "ndvi.tif")[0]).rio.crs
    series = xr.concat([a for _, a, _ in keep], dim=pd.Index(pd.to_datetime([d for d, _, _ in keep]), name="time"))
    series = series.rio.write_crs(crs).rio.write_transform(ref.rio.transform(recalc=True))
    return series.rename("ndvi"), [i for _, _, i in keep]


# --------------------------------------------------------------------------- manifests of the watch products
def _reusable(mpath: Path, key: str) -> list[Path] | None:
    """The watch's products if its companion manifest ``mpath`` is up to date (the one rule)."""
    return up_to_date(mpath.parent, key, name=mpath.name)


def _write_watch_manifest(mpath: Path, *, village: Village, key: str, outputs: list[Path], source: Source,
                          params: Params, wparams: WatchParams, inputs: dict[str, Any]) -> Path:
    """``cache.write_manifest`` under the watch's own name, with the watch parameters."""
    return write_manifest(mpath.parent, village=village, key=key, outputs=outputs, source=source, params=params,
                          inputs=inputs, name=mpath.name,
                          parameters={**params.as_dict(), "watches": asdict(wparams)})


def _key(village, ids, source, params, wparams, kind) -> str:
    return product_key(village, ids, source, params, f"watch:{kind}:v{WATCH_VERSION}:{json.dumps(asdict(wparams), sort_keys=True)}")


def _reused(result: WatchResult, paths: list[Path], figures_path: Path) -> WatchResult:
    result.paths, result.reused = paths, True
    result.indicators = json.loads(figures_path.read_text()).get("figures", {}) if figures_path.suffix == ".json" else {}
    return result


# --------------------------------------------------------------------------- ancient trees
def process_trees(source: Source, village: Village, out_root: str | Path, params: Params = Params(),
                  wparams: WatchParams = WatchParams(), *, trees_dir: str | Path | None = None) -> WatchResult:
    """``<village>/watches/ancient_trees.geojson``: one point per registered tree with the
    latest date's canopy NDVI, its baseline, the change, ``alert``, the dates that alerted and
    the whole series (``series``: date, ndvi, n_valid per date); ``ancient_trees.json`` the
    figures. Skipped, with the reason in ``skipped``, without a registry or NDVI products."""
    result = WatchResult(village.id, watch="ancient_trees")
    trees, origin = trees_for(source, village, trees_dir)
    dates = main_dates(out_root, village)
    if trees is None or not len(trees) or not dates:
        result.skipped["ancient_trees"] = origin if trees is None else (
            "the tree registry is empty" if not len(trees) else "no NDVI products yet")
        log.info("%s: ancient-tree watch skipped: %s", village.id, result.skipped["ancient_trees"])
        return result
    series, ids = ndvi_series(out_root, village, dates)
    registry = hashlib.sha256(trees.to_json(sort_keys=True).encode()).hexdigest()
    key = _key(village, ids + [f"trees:{registry}"], source, params, wparams, "ancient_trees")
    folder = watches_dir(out_root, village)
    mpath = folder / "ancient_trees.manifest.json"
    reused = _reusable(mpath, key)
    if reused is not None:
        log.info("%s: ancient-tree watch up to date, skipped", village.id)
        return _reused(result, reused, folder / "ancient_trees.json")

    watch = indices.ancient_tree_watch(series, trees, buffer_m=wparams.tree_buffer_m,
                                       decline_threshold=wparams.tree_decline_threshold, baseline=wparams.tree_baseline)
    used = [i.split(":")[0] for i in ids]
    demo = bool(any(_date_demo(out_root, village, d) for d in used)) or bool(
        trees["demo"].fillna(False).astype(bool).any() if "demo" in trees else False)
    rows = []
    for code, grp in watch.groupby("code", sort=False):
        grp = grp.sort_values("date")
        have = grp[np.isfinite(grp["ndvi_mean"])]
        last = have.iloc[-1] if len(have) else grp.iloc[-1]
        rows.append({
            "code": code,
            "latest_date": pd.Timestamp(last["date"]).strftime(DATE_FMT) if len(have) else None,
            "ndvi": last["ndvi_mean"], "baseline_ndvi": last["baseline_ndvi"], "change": last["change"],
            "alert": bool(last["alert"]) if len(have) else False,
            "alert_dates": [pd.Timestamp(t).strftime(DATE_FMT) for t in grp.loc[grp["alert"], "date"]],
            "n_pixels": int(grp["n_pixels"].iloc[0]),
            "series": [{"date": pd.Timestamp(t).strftime(DATE_FMT), "ndvi": m, "n_valid": int(n)}
                       for t, m, n in zip(grp["date"], grp["ndvi_mean"], grp["n_valid"])],
        })
    table = pd.DataFrame(rows)
    keep = [c for c in ("code", "species", "name_zh", "age_years", "placement", "demo") if c in trees.columns]
    out = trees[keep + [trees.geometry.name]].merge(table, on="code", how="left")
    out = gpd.GeoDataFrame(out, geometry=trees.geometry.name, crs=trees.crs)
    figures = {"ancient_tree_alerts": int(out["alert"].sum()), "n_trees": int(len(out)),
               "latest_date": used[-1] if used else None}
    meta = {"village": village.id, "kind": "ancient_trees", "demo": demo, "registry": origin, "dates": used,
            "buffer_m": wparams.tree_buffer_m, "decline_threshold": wparams.tree_decline_threshold,
            "baseline": wparams.tree_baseline, **figures,
            "note": "canopy NDVI within buffer_m of each tree (10 m pixels: the tree's neighbourhood); "
                    "alert = latest NDVI at least decline_threshold below the baseline"}
    outputs = [write_geojson(out, folder / "ancient_trees.geojson", properties=meta, crs=params.geojson_crs),
               write_json(folder / "ancient_trees.json", {"figures": figures, **meta})]
    manifest = _write_watch_manifest(mpath, village=village, key=key, outputs=outputs, source=source, params=params,
                                     wparams=wparams, inputs={"dates": used, "ndvi": ids, "registry": origin,
                                                              "registry_sha256": registry, "demo": demo})
    result.paths, result.indicators = outputs + [manifest], figures
    return result


# --------------------------------------------------------------------------- cropland conversion
def _cropland_file(village: Village, cropland_dir: str | Path | None) -> Path | None:
    for ext in ("geojson", "gpkg", "shp"):
        p = Path(cropland_dir or CROPLAND_DIR) / f"{safe_part(village.id, 'village id')}.{ext}"
        if p.exists():
            return p
    return None


def cropland_for(source: Source, village: Village, like: xr.DataArray, history: xr.DataArray,
                 wparams: WatchParams, cropland_dir: str | Path | None = None) -> tuple[xr.DataArray, str, str]:
    """(cropland mask on ``like``'s grid, where it came from, a digest for the cache key)."""
    shape, transform = (like.sizes["y"], like.sizes["x"]), like.rio.transform(recalc=True)
    path = _cropland_file(village, cropland_dir)
    if path is not None:
        polys = gpd.read_file(path)
        polys = (polys.set_crs("EPSG:4326") if polys.crs is None else polys).to_crs(like.rio.crs)
        geoms = [g for g in polys.geometry if g is not None and not g.is_empty]
        arr = rasterize([(g, 1) for g in geoms], out_shape=shape, transform=transform, fill=0, dtype="uint8") \
            if geoms else np.zeros(shape, "uint8")
        return (xr.DataArray(arr.astype(bool), dims=("y", "x"), coords={"y": like["y"], "x": like["x"]}),
                f"file {path}", sha256_file(path))
    if isinstance(source, CroplandLayer):
        mask = source.cropland(village)
        if mask is not None:
            how = str(mask.attrs.get("source", "source cropland layer"))
            if mask.shape != like.shape or not np.allclose(mask.rio.transform(recalc=True), transform):
                mask = mask.astype("uint8").rio.reproject_match(like, resampling=rasterio.enums.Resampling.nearest)
            mask = xr.DataArray(np.asarray(mask.values).astype(bool), dims=("y", "x"),
                                coords={"y": like["y"], "x": like["x"]})
            return (mask, how, hashlib.sha256(np.packbits(mask.values).tobytes()).hexdigest())
    crop = indices.cropland_from_ndvi_series(history, min_max=wparams.crop_min_max,
                                             min_amplitude=wparams.crop_min_amplitude)
    how = (f"NDVI phenology over {crop.attrs['n_dates']} dates ({crop.attrs['span_days']:.0f} days) before the "
           f"change: peak >= {wparams.crop_min_max}, amplitude >= {wparams.crop_min_amplitude}")
    if not crop.attrs["sufficient"]:
        how += " [too short a history: no pixel counts as cropland]"
    return crop.compute(), how, "ndvi-phenology"


def _read_tags(path: Path) -> dict[str, str]:
    with rasterio.open(path) as src:
        return {k: v for k, v in src.tags().items() if k in ("VILLAGE", "SENSOR", "DEMO")}


def process_farmland(source: Source, village: Village, d_from: str, d_to: str, out_root: str | Path,
                     params: Params = Params(), wparams: WatchParams = WatchParams(), *,
                     cropland_dir: str | Path | None = None) -> WatchResult:
    """``change/<from>_<to>/farmland_conversion.{tif,geojson,json}`` from the two dates' index
    COGs and water masks and the NDVI of the year up to ``d_from``: uint8 classes (1 built or
    bare, 2 pond dug, 255 no valid observation), polygons of at least the change minimum area
    with ``kind`` and ``mean_magnitude`` (mean dNDVI), and the figures. Skipped (reason in
    ``skipped``) when the dates lack NDVI or both NDBI and BSI (RGB-only imagery)."""
    result = WatchResult(village.id, watch="farmland_conversion", key=f"{d_from}_{d_to}")
    folder = change_dir(out_root, village, d_from, d_to)
    prods = {(d, n): _date_product(out_root, village, d, f"{n}.tif")
             for d in (d_from, d_to) for n in ("ndvi", "ndbi", "bsi", "water_mask")}
    if not (prods[(d_from, "ndvi")] and prods[(d_to, "ndvi")]) or not any(
            prods[(d_from, n)] and prods[(d_to, n)] for n in ("ndbi", "bsi")):
        result.skipped["farmland_conversion"] = "the dates lack NDVI, or both NDBI and BSI (needs nir, red, swir16)"
        log.info("%s %s..%s: farmland watch skipped: %s", village.id, d_from, d_to, result.skipped["farmland_conversion"])
        return result
    t0 = dt.date.fromisoformat(d_from) - dt.timedelta(days=wparams.history_days)
    hist_dates = [d for d in main_dates(out_root, village) if t0.isoformat() <= d <= d_from]
    history, hist_ids = ndvi_series(out_root, village, hist_dates)
    ids = hist_ids + [f"{d}:{n}.tif:{hit[1]}" for (d, n), hit in sorted(prods.items()) if hit]
    like = open_raster(prods[(d_to, "ndvi")][0])
    cropland, crop_source, crop_digest = cropland_for(source, village, like, history, wparams, cropland_dir)
    key = _key(village, ids + [f"cropland:{crop_digest}"], source, params, wparams, "farmland")
    mpath = folder / "farmland_conversion.manifest.json"
    reused = _reusable(mpath, key)
    if reused is not None:
        log.info("%s %s..%s: farmland watch up to date, skipped", village.id, d_from, d_to)
        return _reused(result, reused, folder / "farmland_conversion.json")

    def stack(d: str) -> xr.Dataset:
        return xr.Dataset({n: open_raster(prods[(d, n)][0]).drop_vars("spatial_ref", errors="ignore")
                           for n in ("ndvi", "ndbi", "bsi") if prods[(d_from, n)] and prods[(d_to, n)]})

    before, after = stack(d_from), stack(d_to)
    water = {d: open_raster(prods[(d, "water_mask")][0]).drop_vars("spatial_ref", errors="ignore")
             if prods[(d_from, "water_mask")] and prods[(d_to, "water_mask")] else None for d in (d_from, d_to)}
    cls = indices.farmland_conversion_classes(
        before, after, cropland, history_ndvi=history.drop_vars("spatial_ref", errors="ignore"),
        water_before=water[d_from], water_after=water[d_to], ndvi_drop=wparams.ndvi_drop,
        ndbi_rise=wparams.ndbi_rise, bsi_rise=wparams.bsi_rise, new_low_margin=wparams.new_low_margin)
    dndvi = (after["ndvi"] - before["ndvi"]).compute()
    valid = np.isfinite(dndvi)
    cls = cls.where(valid, 255).astype("uint8").compute()
    cls = cls.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform(recalc=True))
    dndvi = dndvi.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform(recalc=True))
    demo = _date_demo(out_root, village, d_to)
    tags = {**_read_tags(prods[(d_to, "ndvi")][0]), "CHANGE_FROM": d_from, "CHANGE_TO": d_to,
            "PRODUCT": "suspected cropland conversion: 0 none, 1 built or bare, 2 pond dug",
            "CROPLAND_SOURCE": crop_source}
    outputs = [write_cog(cls.rename("farmland_conversion"), folder / "farmland_conversion.tif", nodata=255, tags=tags)]
    parts = [indices.change_polygons(cls == k, dndvi, min_area_m2=params.change_min_area_m2, kind=name)
             for k, name in indices.FARMLAND_CLASSES.items() if k]
    polys = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=like.rio.crs)
    res = float(abs(like.rio.resolution()[0]))
    figures = {
        "farmland_conversion_area_m2": float(polys["area_m2"].sum()) if len(polys) else 0.0,
        "farmland_conversion_n": int(len(polys)),
        **{f"{name}_area_m2": float(polys.loc[polys["kind"] == name, "area_m2"].sum())
           for k, name in indices.FARMLAND_CLASSES.items() if k},
        "cropland_area_m2": float(cropland.values.sum()) * res * res,
    }
    meta = {"village": village.id, "from": d_from, "to": d_to, "kind": "farmland_conversion", "demo": demo,
            "cropland_source": crop_source, "history_dates": hist_dates,
            "rule": "cropland with NDVI drop >= ndvi_drop, NDVI below its lowest since history start by "
                    "new_low_margin, and NDBI or BSI rise (built_or_bare) or water after (pond_dug)",
            **asdict(wparams)}
    outputs.append(write_geojson(polys, folder / "farmland_conversion.geojson", properties=meta, crs=params.geojson_crs))
    outputs.append(write_json(folder / "farmland_conversion.json", {"figures": figures, **meta}))
    manifest = _write_watch_manifest(mpath, village=village, key=key, outputs=outputs, source=source, params=params,
                                     wparams=wparams, inputs={"from": d_from, "to": d_to, "products": ids,
                                                              "cropland_source": crop_source, "demo": demo})
    result.paths, result.indicators = outputs + [manifest], figures
    return result


# --------------------------------------------------------------------------- both, for a run
def run_watches(source: Source, village: Village, out_root: str | Path, params: Params = Params(),
                dates: Sequence[str] = (), wparams: WatchParams = WatchParams()) -> list[WatchResult]:
    """The tree watch over every main date in the output, and the cropland watch for each
    consecutive pair of ``dates`` (this run's main-stream dates, as ``process_change`` pairs
    them). Call after the dates' products are written."""
    dates = sorted(dates)
    results = [process_farmland(source, village, a, b, out_root, params, wparams) for a, b in zip(dates, dates[1:])]
    try:
        results.append(process_trees(source, village, out_root, params, wparams))
    except TreeRegistryError as exc:  # a broken registry stops this watch, not the village's other products
        log.error("%s: ancient-tree watch not run: %s", village.id, exc)
        results.append(WatchResult(village.id, watch="ancient_trees", skipped={"ancient_trees": str(exc)}))
    return results
