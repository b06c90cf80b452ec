"""The ancient-tree watch (一树一码) as a plain step, run after a village's dates and changes:
canopy NDVI around each registered tree over every main-stream date in the output
(``<village>/<date>/ndvi.tif``, so an incremental night still sees the whole series), with a
decline alert -> ``<village>/watches/ancient_trees.geojson``. It reads only the date products
already written (COGs and their manifests), never the scene, and skips when its inputs are
unchanged (``ancient_trees.manifest.json`` beside it). Tree registries:
``data/trees/<village-id>.geojson`` (see :func:`load_trees`), else the source's own
(``sensing.base.TreeRegistry``, e.g. the demo codes), else the watch is skipped with a note.

The cropland-conversion watch (耕地非农化) is an alert kind (``flows.products.alerts``,
``farmland_conversion``): against the same season, with candidate / confirmed status; its
cropland comes from the baseline (phenology, or an official layer: ``--cropland`` or
``data/cropland/<village-id>.geojson``, ``flows.products.baseline``).
"""
from __future__ import annotations

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
import xarray as xr

import indices
from aoi import CHINA_BBOX, Village
from sensing.base import Source

from sensing.base import TreeRegistry

from ..errors import ProductMissingError, TreeRegistryError
from ..params import Params
from ..results import WatchResult
from .atomic import write_json
from .cache import product_key, read_manifest, up_to_date, write_manifest
from .layout import DATE_FMT, date_dir, safe_part, watches_dir
from .layout import dates as product_dates
from .rasters import open_raster
from .vectors import write_geojson

log = logging.getLogger("villagewatch.flows")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TREES_DIR = DATA_DIR / "trees"
#: bumped whenever a watch changes what it writes (part of the watch products' cache keys)
WATCH_VERSION = "2"  # 2: the farmland watch moved to the alerts; WatchParams holds the tree watch only


@dataclass(frozen=True)
class WatchParams:
    """Thresholds of the tree watch (defaults and sources: ``indices.ancient_tree_watch``)."""

    tree_buffer_m: float = 10.0
    tree_decline_threshold: float = 0.15
    tree_baseline: str = "first"


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


# --------------------------------------------------------------------------- for a run
def run_watches(source: Source, village: Village, out_root: str | Path, params: Params = Params(),
                dates: Sequence[str] = (), wparams: WatchParams = WatchParams()) -> list[WatchResult]:
    """The tree watch over every main date in the output (the farmland watch is an alert kind:
    ``flows.products.alerts``). Call after the dates' products are written."""
    try:
        return [process_trees(source, village, out_root, params, wparams)]
    except TreeRegistryError as exc:  # a broken registry stops this watch, not the village's other products
        log.error("%s: ancient-tree watch not run: %s", village.id, exc)
        return [WatchResult(village.id, watch="ancient_trees", skipped={"ancient_trees": str(exc)})]
