"""The change between two dates of one stream, made from the two dates' written products
(their NDVI and water-mask COGs, suspects and manifests), never from the scene again.

``OUT/<village>/change/<from>_<to>[/<stream>]/``: ``ndvi_change.tif`` (dNDVI),
``vegetation_change.tif`` (1 loss, 2 gain, 255 no data), ``vegetation_loss/gain.geojson``,
``water_change.tif`` (1 gain, 2 loss, 255 no data), ``water_gain/loss.geojson``,
``new_black_odorous_suspects.geojson``, ``change.json`` (figures), ``manifest.json``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import xarray as xr

import indices
from aoi import Village
from sensing.base import Source

from ..errors import ProductMissingError
from ..params import Params
from ..results import ChangeResult
from .atomic import write_json
from .cache import product_key, read_manifest, up_to_date, write_manifest
from .date import provenance_tags
from .layout import CHANGE_FIGURES, MAIN_STREAM, NEW_SUSPECTS, SUSPECTS, change_dir, date_dir
from .rasters import open_raster, write_cog
from .vectors import write_geojson

log = logging.getLogger("villagewatch.flows")

#: a suspect on the later date is not new when this share of its area was suspect before
NEW_SUSPECT_MAX_OVERLAP = 0.5


@dataclass(frozen=True)
class DateProducts:
    """What the change step reads of one date: its folder and manifest."""

    date: str
    folder: Path
    manifest: dict

    @classmethod
    def read(cls, out_root, village: Village, date: str, stream: str | None) -> "DateProducts":
        folder = date_dir(out_root, village, date, stream)
        manifest = read_manifest(folder)
        if manifest is None:
            raise ProductMissingError(f"{village.id} {date}: no readable {folder / 'manifest.json'}; "
                                      "the change step needs the date's products (run the date first)")
        return cls(date, folder, manifest)

    @property
    def item_id(self) -> str:
        return str(self.manifest["inputs"]["item_ids"][0])

    def has(self, name: str) -> bool:
        return name in self.manifest.get("outputs", {})

    def raster(self, name: str, *, masked: bool = True) -> xr.DataArray:
        path = self.folder / name
        if not path.is_file():
            raise ProductMissingError(f"{path} is listed in its manifest but missing")
        return open_raster(path, chunks=None, masked=masked)

    def suspects(self) -> gpd.GeoDataFrame:
        path = self.folder / SUSPECTS
        if not path.is_file():
            raise ProductMissingError(f"{path} is listed in its manifest but missing")
        return gpd.read_file(path)

    def water(self) -> tuple[xr.DataArray, xr.DataArray] | None:
        """(water, valid) from ``water_mask.tif`` (1 water, 0 land, 255 no valid observation)."""
        if not self.has("water_mask.tif"):
            return None
        m = self.raster("water_mask.tif", masked=False)
        return m == 1, m != 255


def water_change_polygons(wa: xr.DataArray, wb: xr.DataArray, va: xr.DataArray, vb: xr.DataArray,
                          params: Params) -> tuple[xr.Dataset, dict[str, gpd.GeoDataFrame]]:
    """``indices.water_change`` and its gain / loss polygons at the change minimum area (not
    the water mask's: shore slivers of water present on both dates are 400-600 m2, one pixel
    of shoreline shifting; a dug pond is larger)."""
    wchg = indices.water_change(wa, wb, va, vb)
    polys = {kind: indices.change_polygons(wchg[kind].compute(), None, min_area_m2=params.change_min_area_m2)
             for kind in ("gain", "loss")}
    return wchg, polys


def new_suspect_rows(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The suspects of the later date (``after``) that are new: not the same ``wb_id`` as an
    earlier suspect, and less than :data:`NEW_SUSPECT_MAX_OVERLAP` of the area covered by the
    earlier suspects (a reach that split or moved by a pixel gets a new id, not news)."""
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


def _vegetation(a: DateProducts, b: DateProducts, folder: Path, tags, meta,
                params: Params, outputs: list[Path], figures: dict[str, Any]) -> None:
    if not (a.has("ndvi.tif") and b.has("ndvi.tif")):
        return
    na, nb = a.raster("ndvi.tif"), b.raster("ndvi.tif")
    veg = indices.ndvi_change(na, nb, threshold=params.ndvi_change_threshold)
    both = veg["valid"]  # each product valid where its own bands are: here both NDVIs
    outputs.append(write_cog(veg["dndvi"].rio.write_transform(nb.rio.transform()).rio.write_crs(nb.rio.crs),
                             folder / "ndvi_change.tif", tags=tags))
    vclass = xr.where(veg["loss"], 1, xr.where(veg["gain"], 2, 0)).where(both, 255).astype("uint8")
    outputs.append(write_cog(vclass.rio.write_crs(nb.rio.crs).rio.write_transform(nb.rio.transform()),
                             folder / "vegetation_change.tif", nodata=255, tags=tags))
    dndvi = veg["dndvi"]
    for kind in ("loss", "gain"):
        polys = indices.change_polygons(veg[kind], dndvi, min_area_m2=params.change_min_area_m2)
        outputs.append(write_geojson(polys, folder / f"vegetation_{kind}.geojson",
                                     properties={**meta, "kind": f"vegetation_{kind}"}, crs=params.geojson_crs))
        figures[f"vegetation_{kind}_area_m2"] = float(polys["area_m2"].sum()) if len(polys) else 0.0
        figures[f"vegetation_{kind}_n"] = int(len(polys))


def process_change(
    source: Source,
    village: Village,
    d_from: str,
    d_to: str,
    out_root: str | Path,
    params: Params = Params(),
    *,
    stream: str | None = None,
) -> ChangeResult:
    """Change maps between two dates from their products: NDVI difference with loss/gain,
    water gain/loss, and water bodies newly suspected black-odorous (by stable ``wb_id``)."""
    a = DateProducts.read(out_root, village, d_from, stream)
    b = DateProducts.read(out_root, village, d_to, stream)
    folder = change_dir(out_root, village, d_from, d_to, stream)
    key = product_key(village, [a.item_id, b.item_id], source, params, f"change:{stream}")
    result = ChangeResult(village.id, stream or MAIN_STREAM, d_from=d_from, d_to=d_to)
    reused = up_to_date(folder, key)
    if reused is not None:
        log.info("%s %s..%s: change products up to date, skipped", village.id, d_from, d_to)
        result.paths, result.reused = reused, True
        result.indicators = json.loads((folder / CHANGE_FIGURES).read_text())
        return result
    log.info("%s %s..%s: computing change", village.id, d_from, d_to)
    demo = bool(b.manifest["inputs"].get("demo", False))
    tags = {**provenance_tags(village, sensor=b.manifest["inputs"].get("sensor"), item_id=b.item_id, demo=demo),
            "CHANGE_FROM": d_from, "CHANGE_TO": d_to, "ITEM_ID": f"{a.item_id},{b.item_id}"}
    outputs: list[Path] = []
    figures: dict[str, Any] = {"from": d_from, "to": d_to}
    meta = {"village": village.id, "from": d_from, "to": d_to, "demo": demo}
    _vegetation(a, b, folder, tags, meta, params, outputs, figures)
    wa, wb = a.water(), b.water()
    skipped: dict[str, str] = {}
    if wa is not None and wb is not None:
        wchg, wpolys = water_change_polygons(wa[0], wb[0], wa[1], wb[1], params)
        like = b.raster("water_mask.tif", masked=False)
        wclass = xr.where(wchg["gain"], 1, xr.where(wchg["loss"], 2, 0)).where(wchg["valid"], 255).astype("uint8")
        outputs.append(write_cog(wclass.rio.write_crs(like.rio.crs).rio.write_transform(like.rio.transform()),
                                 folder / "water_change.tif", nodata=255, tags=tags))
        for kind, polys in wpolys.items():
            outputs.append(write_geojson(polys, folder / f"water_{kind}.geojson", properties={**meta, "kind": f"water_{kind}"}, crs=params.geojson_crs))
            figures[f"water_{kind}_area_m2"] = float(polys["area_m2"].sum()) if len(polys) else 0.0
        if a.has(SUSPECTS) and b.has(SUSPECTS):
            new_sus = new_suspect_rows(a.suspects(), b.suspects())
            outputs.append(write_geojson(new_sus, folder / NEW_SUSPECTS,
                                         properties={**meta, "kind": "new_black_odorous_suspects"}, crs=params.geojson_crs))
            figures["new_black_odorous_suspects"] = int(len(new_sus))
        else:
            skipped["new_black_odorous_suspects"] = next(
                p.manifest.get("skipped_products", {}).get("black_odorous_suspects") for p in (a, b) if not p.has(SUSPECTS)) \
                or "a date has no black-odorous suspects"
    else:
        reason = next((p.manifest.get("skipped_products", {}).get("water_mask") for p in (a, b)
                       if not p.has("water_mask.tif")), None)
        skipped["water_mask"] = reason or "a date has no water mask"
    outputs.append(write_json(folder / CHANGE_FIGURES, figures))
    manifest = write_manifest(
        folder, village=village, key=key, outputs=outputs, source=source, params=params,
        inputs={"from": d_from, "to": d_to, "item_ids": [a.item_id, b.item_id], "demo": demo},
        extra={"skipped_products": skipped} if skipped else None,
    )
    result.paths = outputs + [manifest]
    result.indicators = figures
    return result
