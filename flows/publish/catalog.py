"""The STAC catalog of a run's products: ``OUT/catalog.json``.

One child Collection per village (``OUT/<village>/collection.json``), one Item per product
set: each date (``OUT/<village>/<date>/item.json``), each stream of a date
(``<date>/<stream>/item.json``, e.g. the drone orthomosaic's) and each change pair
(``change/<from>_<to>/item.json``). Every COG, GeoJSON, JSON, parquet, quicklook and zip is
an asset with roles, a media type, ``file:checksum`` (sha256 multihash) and ``file:size``;
COG and GeoJSON assets carry the projection extension (``proj:code``, the v2.0 successor of
``proj:epsg``; COGs also ``proj:shape`` and ``proj:transform``).

The catalog is SELF_CONTAINED with relative hrefs (the folder is served statically or
zipped), written atomically, and holds no timestamps but the acquisition dates, so the same
products give the same bytes.

It is made from the inventory of each village's folder (``flows.products.inventory``).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pystac
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.layout import CustomLayoutStrategy
from pystac.stac_io import DefaultStacIO

from aoi import Village

from ..products.atomic import write_text
from ..products.cache import file_sha256
from ..products.inventory import ProductSet, VillageProducts
from ..products.vectors import geojson_epsg
from ..products.layout import (CATALOG, CHANGE_FIGURES, COLLECTION, DATE_FIGURES, FIELD_CHECK_FIGURES, ITEM, MANIFEST,
                               PAGE, QUICKLOOK, QUICKLOOK_TRUE_COLOUR, REGISTER, TABLE, TRUE_COLOUR, run_table,
                               village_dir)

log = logging.getLogger("villagewatch.flows")

CATALOG_ID = "villagewatch"

#: media type of a GeoTIFF published as a COG, with the profile the served files carry
COG_MEDIA_TYPE = pystac.MediaType.COG
ZIP_MEDIA_TYPE = "application/zip"
PARQUET_MEDIA_TYPE = pystac.MediaType.VND_APACHE_PARQUET


# --------------------------------------------------------------------------- assets
#: roles and media type by file name (stem, then suffix)
_ROLE_BY_NAME = {MANIFEST: ["metadata"], DATE_FIGURES: ["metadata"], CHANGE_FIGURES: ["metadata"],
                 QUICKLOOK: ["overview", "visual"], QUICKLOOK_TRUE_COLOUR: ["overview", "visual"],
                 TRUE_COLOUR: ["visual"], FIELD_CHECK_FIGURES: ["metadata"], REGISTER: ["metadata"]}
_MEDIA_BY_SUFFIX = {".tif": COG_MEDIA_TYPE, ".geojson": pystac.MediaType.GEOJSON, ".json": pystac.MediaType.JSON,
                    ".parquet": PARQUET_MEDIA_TYPE, ".png": pystac.MediaType.PNG, ".zip": ZIP_MEDIA_TYPE,
                    ".csv": "text/csv",
                    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_TITLES = {
    "ndvi": "NDVI", "evi": "EVI", "savi": "SAVI", "ndre": "NDRE", "ndwi": "NDWI", "mndwi": "MNDWI",
    "awei_sh": "AWEI (shadow)", "awei_nsh": "AWEI (no shadow)", "exg": "Excess green (ExG)", "vari": "VARI",
    "bsi": "Bare soil index", "ndbi": "NDBI", "water_mask": "Water mask (1 water, 0 land, 255 no data)",
    "black_odorous": "Black-odorous suspect pixels (1 suspect)", "water_bodies": "Water bodies",
    "black_odorous_suspects": "Black-odorous water suspects", "indicators": "Indicators of the date",
    "manifest": "Manifest (inputs, parameters, versions, checksums)", "change": "Change figures",
    "ndvi_change": "NDVI difference", "vegetation_change": "Vegetation change (1 loss, 2 gain)",
    "water_change": "Water change (1 gain, 2 loss)", "vegetation_loss": "Vegetation loss polygons",
    "vegetation_gain": "Vegetation gain polygons", "water_gain": "Water gain polygons",
    "water_loss": "Water loss polygons", "new_black_odorous_suspects": "New black-odorous suspects",
    "quicklook": "Quicklook", "package": "Whole package (zip)",
    "true_colour": "True colour (red, green, blue stretched 2-98 %; 0 no data)",
    "quicklook_true_colour": "Quicklook, true colour",
    "field_check": "Field check: suspects with their status (现场核查)",
    "register": "Field-check register: every check of every water body",
    "national_list": "National list of confirmed black-odorous water (>= 2,000 m2)",
    "provincial_list": "Provincial list of confirmed black-odorous water (< 2,000 m2)",
}


def media_type(path: Path) -> str:
    return str(_MEDIA_BY_SUFFIX.get(path.suffix.lower(), "application/octet-stream"))


def asset_title(key: str) -> str:
    return _TITLES.get(key, key.replace("_", " "))


def _roles(path: Path) -> list[str]:
    if path.name in _ROLE_BY_NAME:
        return _ROLE_BY_NAME[path.name]
    return {".zip": ["archive"], ".parquet": ["data", "table"]}.get(path.suffix.lower(), ["data"])


def multihash_sha256(path: Path) -> str:
    """``file:checksum`` of ``path``: the sha256 multihash (``1220`` + hex digest)."""
    return "1220" + file_sha256(path)


def _raster_projection(path: Path) -> dict[str, Any]:
    import rasterio

    with rasterio.open(path) as src:
        epsg = src.crs.to_epsg() if src.crs else None
        return {"epsg": epsg, "shape": [src.height, src.width], "transform": list(src.transform)[:6]}


def make_asset(path: Path, href: str, key: str | None = None) -> pystac.Asset:
    """An asset for ``path`` (linked as ``href``) with roles, media type, checksum, size and projection."""
    key = key or path.stem
    asset = pystac.Asset(href=href, title=asset_title(key), media_type=media_type(path), roles=_roles(path))
    fx = FileExtension.ext(asset)
    fx.checksum = multihash_sha256(path)
    fx.size = path.stat().st_size
    if path.suffix.lower() in (".tif", ".geojson"):
        px = ProjectionExtension.ext(asset)
        if path.suffix.lower() == ".geojson":
            px.epsg = geojson_epsg(json.loads(path.read_text(encoding="utf-8")))  # 4326, or 4490 on request
        else:
            info = _raster_projection(path)
            px.epsg, px.shape, px.transform = info["epsg"], info["shape"], info["transform"]
    return asset


def _add_extensions(obj: pystac.Item | pystac.Collection) -> None:
    for uri in (FileExtension.get_schema_uri(), ProjectionExtension.get_schema_uri()):
        if uri not in obj.stac_extensions:
            obj.stac_extensions.append(uri)


# --------------------------------------------------------------------------- items and collections
def _day(date: str) -> dt.datetime:
    return dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc)


def _geometry(village: Village) -> tuple[dict, list[float]]:
    from shapely.geometry import mapping

    return json.loads(json.dumps(mapping(village.geometry))), [float(v) for v in village.geometry.bounds]


def make_item(ps: ProductSet, village: Village) -> pystac.Item:
    """The Item of one product set: its files as assets, a link to its manifest."""
    geometry, bbox = _geometry(village)
    props: dict[str, Any] = {"villagewatch:kind": ps.kind, "villagewatch:stream": ps.stream,
                             "villagewatch:village": ps.village_id, "villagewatch:demo": ps.demo}
    inputs = ps.manifest.get("inputs", {})
    if inputs.get("sensor"):
        props["villagewatch:sensor"] = inputs["sensor"]
    if inputs.get("item_ids"):
        props["villagewatch:source_items"] = list(inputs["item_ids"])
    field_check = _read_json(ps.folder / FIELD_CHECK_FIGURES)
    if field_check.get("counts"):  # the suspects by field-check status (flows.fieldcheck)
        props["villagewatch:field_check"] = field_check["counts"]
    if ps.kind == "date":
        when, props_dt = _day(ps.key), {}
    else:
        d_from, d_to = ps.dates
        when, props_dt = None, {"start_datetime": _day(d_from).isoformat().replace("+00:00", "Z"),
                                "end_datetime": _day(d_to).isoformat().replace("+00:00", "Z")}
    item = pystac.Item(ps.item_id, geometry, bbox, when, {**props_dt, **props})
    _add_extensions(item)
    files = ps.package_files()
    stems = Counter(p.stem for p in files)
    for path in files:  # files sharing a stem (field_check.csv/.xlsx/...) are keyed by their whole name
        key = path.stem if stems[path.stem] == 1 else path.name.replace(".", "_")
        item.add_asset(key, make_asset(path, f"./{path.name}", key=path.stem))
    if ps.kind == "change":
        z = ps.package_path()
        if z.is_file():
            item.add_asset("package", make_asset(z, _relative(z, ps.folder), key="package"))
    item.add_link(pystac.Link("describedby", f"./{MANIFEST}", media_type=pystac.MediaType.JSON,
                              title="manifest: inputs, parameters, versions, checksums"))
    return item


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _relative(target: Path, start: Path) -> str:
    rel = os.path.relpath(target, start).replace(os.sep, "/")
    return rel if rel.startswith(".") else f"./{rel}"


def make_collection(village: Village, vp: VillageProducts) -> pystac.Collection:
    """The village's Collection: title Chinese name + pinyin, extent from boundary and dates,
    the indicator table as an asset, an Item per product set."""
    _, bbox = _geometry(village)
    dates = sorted({d for s in vp.sets for d in s.dates})
    interval = [[_day(dates[0]), _day(dates[-1])]] if dates else [[None, None]]
    extent = pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent(interval))
    desc = (f"{village.name_zh} ({village.name_en}), {village.town}, {village.county}, {village.province}: "
            f"digital-village pilot ({village.pilot_type}); products of villagewatch "
            f"(vegetation, water bodies, black-odorous water suspects, change maps).")
    if village.boundary_source == "approximate":
        desc += " The village boundary is approximate."
    if vp.demo:
        desc += " Made from synthetic DEMO data, not observations."
    col = pystac.Collection(
        id=village.id, description=desc, extent=extent, title=f"{village.name_zh} {village.name_en}",
        license="other", keywords=["digital village", "数字乡村", village.county, village.pilot_type],
        extra_fields={"villagewatch:name_zh": village.name_zh, "villagewatch:name_en": village.name_en,
                      "villagewatch:province": village.province, "villagewatch:county": village.county,
                      "villagewatch:town": village.town, "villagewatch:pilot_type": village.pilot_type,
                      "villagewatch:focus": list(village.focus),
                      "villagewatch:boundary_source": village.boundary_source, "villagewatch:demo": vp.demo,
                      "villagewatch:admin_code": village.admin_code},
    )
    _add_extensions(col)
    if vp.table is not None:
        col.add_asset("indicators", make_asset(vp.table, _relative(vp.table, vp.folder), key="indicators"))
        col.assets["indicators"].title = "Indicator table (one row per date)"
    for path in vp.watches:
        key = f"watch_{path.name.replace('.', '_')}"
        col.add_asset(key, make_asset(path, _relative(path, vp.folder), key=key))
    for path in vp.fieldcheck:  # the register and the lists (flows.fieldcheck)
        key = f"fieldcheck_{path.name.replace('.', '_')}"
        col.add_asset(key, make_asset(path, _relative(path, vp.folder), key=path.stem.split(".")[0]))
    col.add_link(pystac.Link("alternate", f"./{PAGE}", media_type=pystac.MediaType.HTML, title="download page"))
    for ps in vp.sets:
        try:
            col.add_item(make_item(ps, village))
        except Exception as exc:  # an unreadable product leaves its item out, not the village
            log.error("publish: %s: no catalog item: %s", ps.item_id, exc)
            vp.problems.append(f"{ps.folder.relative_to(vp.folder.parent).as_posix()}: "
                               f"not in the catalog: {type(exc).__name__}: {exc}")
    return col


# --------------------------------------------------------------------------- writing
class AtomicStacIO(DefaultStacIO):
    """pystac I/O that writes each file atomically, with readable UTF-8 and sorted keys,
    and leaves a file whose bytes would not change untouched."""

    def json_dumps(self, json_dict: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        return json.dumps(json_dict, ensure_ascii=False, indent=1, allow_nan=False) + "\n"

    def write_text_to_href(self, href: str, txt: str) -> None:
        path = Path(href)
        data = txt.encode("utf-8")
        if path.is_file() and path.read_bytes() == data:
            return
        write_text(path, txt)


def _layout(out: Path, item_folders: Mapping[str, Path]) -> CustomLayoutStrategy:
    """Every href from ``out`` itself, never from the ``parent_dir`` pystac passes: pystac takes
    a root href whose last name has a dot (``run.v2``, ``tmp.NOY9PQanPd``) for a file and hands
    its parent folder on, which put the root catalog outside ``out`` (issue #16)."""

    def catalog_path(cat: pystac.Catalog, parent_dir: str, is_root: bool) -> str:
        return str(out / CATALOG)

    def collection_path(col: pystac.Collection, parent_dir: str, is_root: bool) -> str:
        return str(village_dir(out, col.id) / COLLECTION)

    def item_path(item: pystac.Item, parent_dir: str) -> str:
        return str(Path(item_folders[item.id]) / ITEM)

    return CustomLayoutStrategy(catalog_func=catalog_path, collection_func=collection_path, item_func=item_path)


def build_catalog(out: str | Path, collections: Sequence[pystac.Collection], item_folders: Mapping[str, Path],
                  *, demo: bool = False) -> pystac.Catalog:
    """The root catalog of ``out`` holding ``collections`` (from :func:`make_collection`),
    hrefs normalised: each item's JSON in its product folder (``item_folders[item.id]``)."""
    out = Path(out).resolve()
    desc = "villagewatch products of China's digital-village pilot areas: one collection per village."
    if demo:
        desc += " Made from synthetic DEMO data, not observations."
    cat = pystac.Catalog(id=CATALOG_ID, description=desc, title="villagewatch 数字乡村 pilot villages")
    cat.add_link(pystac.Link("alternate", f"./{PAGE}", media_type=pystac.MediaType.HTML, title="download page"))
    if run_table(out).is_file():
        cat.add_link(pystac.Link("related", f"./{TABLE}", media_type=PARQUET_MEDIA_TYPE,
                                 title="every village's indicator table"))
    for col in collections:
        cat.add_child(col)
    cat.normalize_hrefs(str(out / CATALOG), strategy=_layout(out, item_folders))
    return cat


def write_catalog(out: str | Path, collections: Sequence[pystac.Collection], item_folders: Mapping[str, Path],
                  *, demo: bool = False) -> list[Path]:
    """Write ``OUT/catalog.json``, the collections and the items (SELF_CONTAINED, relative
    hrefs, atomically, untouched where unchanged); returns every path of the catalog."""
    cat = build_catalog(out, collections, item_folders, demo=demo)
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, stac_io=AtomicStacIO())
    return [Path(cat.self_href)] + [Path(c.self_href) for c in cat.get_children()] + \
        [Path(i.self_href) for i in cat.get_items(recursive=True)]


def catalog_files(cat: pystac.Catalog) -> Iterable[tuple[pystac.Item | pystac.Collection, str, pystac.Asset]]:
    """Every (owner, key, asset) of a catalog read back, for checks."""
    for col in cat.get_children():
        if isinstance(col, pystac.Collection):
            for key, asset in col.assets.items():
                yield col, key, asset
    for item in cat.get_items(recursive=True):
        for key, asset in item.assets.items():
            yield item, key, asset
