"""The products of one acquisition date: index COGs, the water mask, water bodies with stable
ids, black-odorous suspects, the date's figures and its manifest.

``OUT/<village>/<date>[/<stream>]/``: ``<index>.tif`` for every index the bands allow,
``water_mask.tif`` (1 water, 0 land, 255 no valid observation), ``black_odorous.tif``,
``water_bodies.geojson``, ``black_odorous_suspects.geojson``, ``indicators.json``,
``true_colour.tif`` (stretched red, green, blue: ``flows.products.truecolour``), ``manifest.json``.
Imagery that allows no water index (RGB-only drones) gets the indices it can and the water
products are listed in the manifest's ``skipped_products`` with the reason.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import xarray as xr
from rasterio.features import rasterize

import indices
from aoi import Village
from sensing.base import Source

from ..params import Params
from ..results import DateResult
from ..scenes import compute_route, for_products, select_date
from .atomic import write_json
from .baseline import land_cover_for
from .cache import file_sha256, product_key, up_to_date, write_manifest
from .layout import DATE_FIGURES, MAIN_STREAM, SUSPECTS, WATER_BODIES, date_dir, dates, is_main
from .rasters import georef, grid_of, mask_to_uint8, write_cog
from .truecolour import write_true_colour
from .vectors import empty_frame, jsonable, write_geojson

log = logging.getLogger("villagewatch.flows")

#: products that need a water mask, skipped (with the reason) for imagery that cannot make one
WATER_PRODUCTS = ("water_mask", "black_odorous", "water_bodies", "black_odorous_suspects")
#: products whose thresholds need calibrated reflectance (``indices.ABSOLUTE_PRODUCTS``),
#: skipped with the reason on relative (uncalibrated) imagery
ABSOLUTE_PRODUCTS = ("black_odorous", "black_odorous_suspects", "vegetation_cover", "dense_canopy_share")
SUSPECT_STATUS = "suspect_black_odorous"
#: the status of every water body when black-odorous water cannot be judged (relative units)
UNCLASSIFIED_STATUS = "not_classified"


# --------------------------------------------------------------------------- grid helpers
def aoi_mask(village: Village, like: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """True inside the village boundary, rasterised on ``like``'s grid (pixel centres)."""
    from pyproj import Transformer
    from shapely.ops import transform as shp_transform

    tr = Transformer.from_crs("EPSG:4326", like.rio.crs, always_xy=True)
    geom = shp_transform(tr.transform, village.geometry)
    shape = (like.sizes["y"], like.sizes["x"])
    arr = rasterize([(geom, 1)], out_shape=shape, transform=like.rio.transform(recalc=True), fill=0, dtype="uint8")
    return xr.DataArray(arr.astype(bool), dims=("y", "x"), coords={"y": like["y"], "x": like["x"]}, name="aoi")


def valid_pixels(scene_t: xr.Dataset) -> xr.DataArray:
    """True where every band of the date is finite (lazy): what ``valid_fraction`` counts.
    Each product is written valid where *its* bands are (``indices.product_valid``)."""
    return indices.valid_for(scene_t, [str(b) for b in scene_t.data_vars])


def calibrated(scene_t: xr.Dataset) -> bool:
    """Whether the scene holds calibrated reflectance (``indices.reflectance_units``)."""
    return indices.reflectance_units(scene_t) != "relative"


def provenance_tags(village: Village, *, sensor: Any, item_id: Any, demo: bool) -> dict[str, str]:
    """GeoTIFF tags of every product COG: village, sensor, scene item; ``DEMO`` on demo data."""
    tags = {"VILLAGE": village.id, "SENSOR": str(sensor), "ITEM_ID": str(item_id)}
    if demo:
        tags["DEMO"] = "synthetic demo data, not an observation"
    return tags


# --------------------------------------------------------------------------- water
def water_or_skip(scene: xr.Dataset, params: Params, skipped: dict[str, str]) -> xr.DataArray | None:
    """The water mask from the best water index the bands allow, or ``None`` when they allow
    none (RGB-only drone orthomosaics: see ``indices.water_index_for``) or, on relative values,
    no histogram is bimodal (``indices.water_mask``); then every water product is entered in
    ``skipped`` with the reason (a note, not an error)."""
    try:
        return indices.water_mask(scene, **params.water_kwargs())
    except (indices.MissingBandError, indices.UncalibratedError) as exc:  # no water index; relative, no bimodal threshold
        for name in WATER_PRODUCTS:
            skipped[name] = str(exc)
        return None


def classify_water(scene_t: xr.Dataset, water: xr.DataArray, valid: xr.DataArray, *, idx: xr.Dataset | None = None,
                   previous: gpd.GeoDataFrame | None = None,
                   params: indices.BlackOdorousParams | None = None) -> tuple[gpd.GeoDataFrame, xr.Dataset]:
    """Water bodies of one date, black-odorous reaches split off as bodies of their own
    (``indices.suspect_reaches``), each classified (``indices.classify_water_bodies``) with the
    run's thresholds (``params``, default ``Params().black_odorous``); and the per-pixel flags.
    The bodies and flags are on the screening's water: the mask plus the mixed pixels joined to
    it, their colour unmixed (``indices.mixed_water``); suspect pixels where a house's or a tree's
    shadow can lie are guarded (``indices.guard_cast_shadows``, the sun from the scene: ``indices.
    scene_sun``). What the flow writes and what ``flows.evaluation`` scores."""
    params = params or Params().black_odorous
    water = water.compute()
    screen = indices.mixed_water(scene_t, water, params=params)
    swater = screen["screening_water"]
    # pure water: the mask and the open water its index missed that NIR sees (indices.mixedwater.nir_water_seeds)
    pure = water | screen["nir_seeds"] if "nir_seeds" in screen else water
    flags = indices.black_odorous_pixels(screen, swater, params=params).compute()  # used for split, classes, COG
    # houses' and trees' shadows on ponds, where the sun of the date puts them (indices.castshadow)
    flags = indices.guard_scene_cast_shadows(flags, swater, pure, scene_t, params=params)
    flags["mixed_added"] = screen["mixed_added"]
    bodies = indices.water_bodies(
        swater, indices=idx, valid_count=valid.astype("int16").compute(), previous=previous,
        split=indices.suspect_reaches(flags["is_suspect"], swater, min_pixels=params.reach_min_pixels,
                                      core=pure, min_core_pixels=params.reach_min_mask_pixels,
                                      whole_body_share=params.reach_whole_body_share),
    )
    classified = indices.classify_water_bodies(bodies, flags, scene=screen, params=params)
    # what the screening took from the scene besides its thresholds (for the date's manifest)
    classified.attrs["black_odorous_screening"] = {
        k: flags.attrs[k] for k in ("cast_shadow_guard_applied", "sun_zenith", "sun_azimuth", "cast_shadow_not_applied")
        if k in flags.attrs}
    return classified, flags


def suspects_of(bodies: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The water bodies suspected black-odorous."""
    return bodies[bodies["status"] == SUSPECT_STATUS] if len(bodies) else bodies


def _previous_bodies(out_root, village: Village, previous_date: str | None, stream: str | None,
                     crs) -> gpd.GeoDataFrame | None:
    """The previous date's water bodies (for stable ids), or ``None`` without a previous date
    or when that date had no water products."""
    if not previous_date:
        return None
    path = date_dir(out_root, village, previous_date, stream) / WATER_BODIES
    return gpd.read_file(path).to_crs(crs) if path.exists() else None


def persistence_inputs(out_root, village: Village, date: str, stream: str | None, params: Params) -> dict[str, Path]:
    """The earlier dates' water bodies a date's persistence reads (``indices.persistence``):
    up to ``params.persistence_lookback`` dates before ``date`` with products, newest first."""
    earlier = [d for d in dates(out_root, village, stream=stream) if d < date][::-1]
    found = {}
    for d in earlier:
        path = date_dir(out_root, village, d, stream) / WATER_BODIES
        if path.is_file():
            found[d] = path
        if len(found) >= params.persistence_lookback:
            break
    return found


def with_persistence(classified: gpd.GeoDataFrame, date: str, history: dict[str, Path], params: Params) -> gpd.GeoDataFrame:
    """``classified`` with each suspect's ``persistence`` (persistent / watch), ``persistence_dates``
    (the dates that flagged it) and ``persistence_observations``, from the earlier dates'
    written water bodies ``history`` (never recomputed)."""
    crs = classified.crs
    frames = [(d, gpd.read_file(p).to_crs(crs) if crs is not None else gpd.read_file(p)) for d, p in history.items()]
    return indices.suspect_persistence(classified, date, frames, window=params.persistence_window,
                                       min_flags=params.persistence_min_flags)


def _water_outputs(scene_t: xr.Dataset, idx: xr.Dataset, water: xr.DataArray, folder: Path,
                   tags: dict[str, str], meta: dict[str, Any], previous: gpd.GeoDataFrame | None,
                   skipped: dict[str, str], params: Params,
                   history: dict[str, Path] | None = None,
                   land_cover: xr.DataArray | None = None, *,
                   grid: tuple[Any, Any]) -> tuple[list[Path], gpd.GeoDataFrame]:
    """Water mask and black-odorous COGs, classified water bodies (suspects with their
    persistence against ``history``) and the suspects' GeoJSON, each valid where its own bands
    are; returns the paths written and the water bodies. On relative (uncalibrated) imagery the
    black-odorous products are skipped (reason in ``skipped``) and every body is ``not_classified``.
    With the baseline's ``land_cover``, a suspect on cropland that is not open water is a flooded
    field (``flooded_cropland``)."""
    windex = water.attrs.get("water_index")
    wvalid = indices.product_valid(scene_t, "water_mask", water_index=windex)
    outputs = [write_cog(georef(mask_to_uint8(water, wvalid), grid), folder / "water_mask.tif", nodata=255, tags=tags)]
    if calibrated(scene_t):
        bvalid = indices.product_valid(scene_t, "black_odorous", water_index=windex)
        classified, flags = classify_water(scene_t, water, wvalid, idx=idx, previous=previous,
                                           params=params.black_odorous)
        if classified.attrs.get("black_odorous_screening", {}).get("cast_shadow_not_applied"):
            log.warning("%s %s: cast-shadow guard not applied: %s", meta["village"], meta["date"],
                        classified.attrs["black_odorous_screening"]["cast_shadow_not_applied"])
        if land_cover is not None and "ndwi" in idx:  # the crop calendar's flooding is not black-odorous
            classified = indices.cropland_water_status(classified, land_cover, idx["ndwi"],
                                                       open_water_ndwi=params.change.open_water_ndwi)
        classified = with_persistence(classified, meta["date"], history or {}, params)
        outputs.append(write_cog(georef(mask_to_uint8(flags["is_suspect"], bvalid), grid),
                                 folder / "black_odorous.tif", nodata=255, tags=tags))
    else:
        classified = indices.water_bodies(water.compute(), indices=idx, valid_count=wvalid.astype("int16").compute(),
                                          previous=previous)
        classified["status"] = UNCLASSIFIED_STATUS
        why = str(indices.UncalibratedError("black_odorous_pixels", indices.reflectance_units(scene_t)))
        skipped.update({"black_odorous": why, "black_odorous_suspects": why})
    outputs.append(write_geojson(classified, folder / WATER_BODIES, properties=meta, crs=params.geojson_crs))
    if calibrated(scene_t):
        suspects = suspects_of(classified)
        outputs.append(write_geojson(
            suspects if len(suspects) else empty_frame(scene_t.rio.crs, list(classified.columns.drop("geometry", errors="ignore"))),
            folder / SUSPECTS, properties=meta, crs=params.geojson_crs))
    return outputs, classified


def date_indicators(scene_t, idx, water, inside, valid, classified, params: Params) -> dict[str, Any]:
    """The village's figures on one date, over the village boundary (not the buffer).

    ``valid_fraction`` is the share of the village where every band is valid (the bands are
    named in ``valid_bands``); each figure is taken where its own bands are valid, and that
    share is reported beside it (``ndvi_valid_fraction``, ``water_valid_fraction``). Water
    figures are ``None`` when the imagery allows no water mask; the absolute-threshold figures
    (vegetation cover, dense canopy, black-odorous) when it is not calibrated reflectance."""
    res = float(abs(scene_t.rio.resolution()[0]))
    pix_m2 = res * res
    inside_np = np.asarray(inside.values)
    n_in = max(int(inside_np.sum()), 1)
    ok = (valid & inside).compute()
    row: dict[str, Any] = {"valid_fraction": float(ok.sum()) / n_in, "valid_bands": ",".join(map(str, scene_t.data_vars)),
                           "resolution_m": res}
    if "ndvi" in idx:
        nd = idx["ndvi"].where(inside).compute()
        vals = nd.values[np.isfinite(nd.values)]
        row["ndvi_valid_fraction"] = vals.size / n_in
        row["ndvi_mean"] = float(vals.mean()) if vals.size else None
        for q in (10, 50, 90):
            row[f"ndvi_p{q}"] = float(np.percentile(vals, q)) if vals.size else None
        if calibrated(scene_t):
            row["vegetation_cover"] = float(indices.vegetation_cover(nd, threshold=params.vegetation_threshold))
            row["dense_canopy_share"] = float(indices.dense_canopy_share(nd, threshold=params.dense_canopy_threshold))
        else:
            row["vegetation_cover"] = row["dense_canopy_share"] = None
    if water is None:
        row.update(water_area_m2=None, n_water_bodies=None, n_black_odorous_suspects=None, black_odorous_area_m2=None,
                   n_persistent_suspects=None, n_watch_suspects=None, suspect_persistence=None)
    else:
        wok = (indices.product_valid(scene_t, "water_mask", water_index=water.attrs.get("water_index")) & inside).compute()
        row["water_valid_fraction"] = float(wok.sum()) / n_in
        row["water_area_m2"] = float((water & wok).sum().compute()) * pix_m2
        row["n_water_bodies"] = int(len(classified))
        if calibrated(scene_t):
            sus = suspects_of(classified)
            row["n_black_odorous_suspects"] = int(len(sus))
            kinds = sus["persistence"] if "persistence" in sus else []
            row["n_persistent_suspects"] = int((kinds == indices.PERSISTENT).sum()) if len(sus) else 0
            row["n_watch_suspects"] = int((kinds == indices.WATCH).sum()) if len(sus) else 0
            row["suspect_persistence"] = "; ".join(
                f"{r.wb_id}: {r.persistence} ({r.persistence_dates})" for r in sus.itertuples()) if len(sus) else ""
            row["black_odorous_area_m2"] = float(sus["area_m2"].sum()) if len(sus) else 0.0
        else:
            row["n_black_odorous_suspects"] = row["black_odorous_area_m2"] = None
            row["n_persistent_suspects"] = row["n_watch_suspects"] = row["suspect_persistence"] = None
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}


def radiometry_record(scene_t: xr.Dataset) -> dict[str, Any]:
    """What the scene says of its values, for the manifest: units, level, every scaling applied."""
    keys = ("reflectance_units", "reflectance_level", "radiometry", "sensors_from")
    return {k: scene_t.attrs[k] for k in keys if k in scene_t.attrs}


# --------------------------------------------------------------------------- the step
def process_date(
    source: Source,
    village: Village,
    date: str,
    out_root: str | Path,
    params: Params = Params(),
    *,
    scene: xr.Dataset,
    stream: str | None = None,
    previous_date: str | None = None,
) -> DateResult:
    """Indicators of one village on one date of ``scene``: index COGs, water mask, water bodies
    (with stable ids against ``previous_date``'s), black-odorous suspects, per-date figures,
    manifest. Reused without computing anything when its manifest is up to date."""
    scene_t = select_date(scene, date)
    folder = date_dir(out_root, village, date, stream)
    item_id = scene_t.attrs["item_id"]
    land_cover, land_key = land_cover_for(out_root, village, date) if is_main(stream) else (None, "")
    history = persistence_inputs(out_root, village, date, stream, params)
    # the cache rule: the key holds what persistence reads (each earlier date's water bodies, by
    # checksum) and the baseline's land cover
    used = {d: file_sha256(p) for d, p in history.items()}
    key = product_key(village, [item_id, previous_date or "", land_key,
                                *(f"persistence:{d}:{h}" for d, h in used.items())], source, params, f"date:{stream}")
    result = DateResult(village.id, stream or MAIN_STREAM, date=date)
    reused = up_to_date(folder, key)
    if reused is not None:
        log.info("%s %s: products up to date, skipped", village.id, date)
        result.paths, result.reused = reused, True
        result.indicators = json.loads((folder / DATE_FIGURES).read_text())
        return result

    log.info("%s %s: computing indicators (%s, item %s)", village.id, date, scene_t.attrs.get("sensor"), item_id)
    scene_t = for_products(scene_t)
    demo = bool(scene_t.attrs.get("demo", False))
    tags = provenance_tags(village, sensor=scene_t.attrs.get("sensor"), item_id=item_id, demo=demo)
    inside = aoi_mask(village, scene_t)
    valid = valid_pixels(scene_t)
    idx, skipped = indices.compute_indices(scene_t)
    water = water_or_skip(scene_t, params, skipped)
    result.skipped = skipped
    outputs: list[Path] = []
    grid = grid_of(scene_t)
    for name in idx.data_vars:
        outputs.append(write_cog(georef(idx[name], grid), folder / f"{name}.tif", tags=tags))
    true_colour = write_true_colour(scene_t, inside, folder, tags)  # the picture the page and quicklook show
    if true_colour is not None:
        outputs.append(true_colour[0])
    meta = {"village": village.id, "date": date, "sensor": scene_t.attrs.get("sensor"), "item_id": item_id, "demo": demo}
    classified = None
    if water is not None:
        written, classified = _water_outputs(scene_t, idx, water, folder, tags, meta,
                                             _previous_bodies(out_root, village, previous_date, stream, scene_t.rio.crs),
                                             skipped, params, history, land_cover, grid=grid)
        outputs += written
    else:
        log.info("%s %s%s: no water products (%s)", village.id, date, "" if is_main(stream) else f" [{stream}]",
                 skipped.get("water_mask"))

    row = date_indicators(scene_t, idx, water, inside, valid, classified, params)
    if not calibrated(scene_t) and "ndvi" in idx:
        why = str(indices.UncalibratedError("vegetation_cover", indices.reflectance_units(scene_t)))
        skipped.update({"vegetation_cover": why, "dense_canopy_share": why})
    row.update({"village_id": village.id, "date": date, "stream": result.stream,
                "sensor": scene_t.attrs.get("sensor"), "item_ids": item_id, "demo": demo})
    outputs.append(write_json(folder / DATE_FIGURES, row))
    manifest = write_manifest(
        folder, village=village, key=key, outputs=outputs, source=source, params=params,
        inputs={"date": date, "item_ids": [item_id], "sensor": scene_t.attrs.get("sensor"),
                "previous_date": previous_date, "demo": demo, "persistence_inputs": used,
                **radiometry_record(scene_t)},
        extra={"compute": compute_route(scene_t),
               "skipped_indices": {k: v for k, v in skipped.items() if k not in WATER_PRODUCTS + ABSOLUTE_PRODUCTS},
               **({"skipped_products": {k: v for k, v in skipped.items() if k in WATER_PRODUCTS + ABSOLUTE_PRODUCTS}}
                  if any(k in skipped for k in WATER_PRODUCTS + ABSOLUTE_PRODUCTS) else {}),
               **({"water": jsonable({k: v for k, v in water.attrs.items() if k not in ("long_name", "source")})}
                  if water is not None else {}),
               **({"skipped_files": scene_t.attrs["skipped_files"]} if scene_t.attrs.get("skipped_files") else {}),
               **({"black_odorous_screening": classified.attrs["black_odorous_screening"]}
                  if classified is not None and "black_odorous_screening" in classified.attrs else {}),
               **({"true_colour": true_colour[1].as_dict()} if true_colour is not None else {})},
    )
    result.paths = outputs + [manifest]
    result.indicators = row
    return result
