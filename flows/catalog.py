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

:func:`scan_village` is the inventory of one village's folder that the quicklooks and the
download page share.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pystac
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.layout import CustomLayoutStrategy
from pystac.stac_io import DefaultStacIO

from aoi import Village

from .atomic import sha256_file, write_text
from .steps import DATE_PATTERN, DATE_RE

#: suffix of a companion manifest: products a later step adds to a product set
COMPANION_SUFFIX = ".manifest.json"

log = logging.getLogger("villagewatch.flows")

CATALOG_ID = "villagewatch"
CATALOG_FILE = "catalog.json"
ITEM_FILE = "item.json"
COLLECTION_FILE = "collection.json"
QUICKLOOK_FILE = "quicklook.png"
PAIR_RE = re.compile(rf"^({DATE_PATTERN})_({DATE_PATTERN})$")

#: media type of a GeoTIFF published as a COG, with the profile the served files carry
COG_MEDIA_TYPE = pystac.MediaType.COG
ZIP_MEDIA_TYPE = "application/zip"
PARQUET_MEDIA_TYPE = pystac.MediaType.VND_APACHE_PARQUET


# --------------------------------------------------------------------------- inventory
@dataclass(frozen=True)
class ProductSet:
    """One folder of products with a ``manifest.json``: a date, a stream of a date, or a change pair."""

    village_id: str
    kind: str  # "date" or "change"
    key: str  # "2024-01-15" or "2024-01-15_2024-04-20"
    stream: str  # "main", or the extra stream's folder name ("drone")
    folder: Path
    manifest: dict = field(hash=False, compare=False)

    @property
    def dates(self) -> tuple[str, ...]:
        """``(date,)`` or ``(from, to)``."""
        return tuple(self.key.split("_"))

    @property
    def item_id(self) -> str:
        return "_".join([self.village_id, self.key] + ([self.stream] if self.stream != "main" else []))

    @property
    def demo(self) -> bool:
        return bool(self.manifest.get("inputs", {}).get("demo", False))

    def outputs(self) -> list[Path]:
        """The product files the manifest lists (which exist), sorted by name."""
        names = sorted(self.manifest.get("outputs", {}))
        return [self.folder / n for n in names if (self.folder / n).is_file()]

    def package_files(self) -> list[Path]:
        """What a download of the whole set holds: outputs, manifest, quicklook (if drawn)."""
        extra = [self.folder / n for n in ("manifest.json", QUICKLOOK_FILE) if (self.folder / n).is_file()]
        return self.outputs() + extra

    def rel(self, root: Path) -> str:
        """The folder relative to ``root``, POSIX style."""
        return self.folder.relative_to(root).as_posix()


@dataclass
class VillageProducts:
    """What a village's folder holds, and what could not be read (``problems``)."""

    village_id: str
    folder: Path
    sets: list[ProductSet] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, kind: str, stream: str = "main") -> list[ProductSet]:
        return [s for s in self.sets if s.kind == kind and s.stream == stream]

    @property
    def dates(self) -> list[ProductSet]:
        return self.of("date")

    @property
    def changes(self) -> list[ProductSet]:
        return self.of("change")

    @property
    def streams(self) -> list[str]:
        return sorted({s.stream for s in self.sets if s.stream != "main"})

    @property
    def table(self) -> Path | None:
        p = self.folder / "indicators.parquet"
        return p if p.is_file() else None

    @property
    def demo(self) -> bool:
        return any(s.demo for s in self.sets)

    @property
    def watches(self) -> list[Path]:
        """The village-wide watch products (``watches/``: ancient trees), sorted."""
        d = self.folder / "watches"
        return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []


def _read_manifest(folder: Path, problems: list[str], root: Path) -> dict | None:
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        return _with_companions(folder, manifest)
    except (OSError, ValueError) as exc:
        problems.append(f"{path.relative_to(root).as_posix()}: unreadable manifest ({exc})")
        log.warning("publish: %s: unreadable manifest: %s", path, exc)
        return None


def _with_companions(folder: Path, manifest: dict) -> dict:
    """``manifest`` with the outputs of the folder's companion manifests merged in: products
    added to a set by a later step keep their own ``<product>.manifest.json`` (the farmland
    conversion watch in a change folder, ``flows.watch_steps``) and are published with it."""
    companions = sorted(folder.glob(f"*{COMPANION_SUFFIX}"))
    if not companions:
        return manifest
    outputs = dict(manifest.get("outputs", {}))
    for c in companions:
        try:
            extra = json.loads(c.read_text(encoding="utf-8")).get("outputs", {})
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("publish: %s: unreadable companion manifest: %s", c, exc)
            continue
        outputs.update(extra)
        outputs[c.name] = {"sha256": sha256_file(c), "bytes": c.stat().st_size}
    return {**manifest, "outputs": outputs}


def _sets_in(folder: Path, village_id: str, kind: str, key: str, problems: list[str], root: Path) -> list[ProductSet]:
    """The product set of ``folder`` (stream "main") and of each stream sub-folder."""
    found = []
    m = _read_manifest(folder, problems, root)
    if m is not None:
        found.append(ProductSet(village_id, kind, key, "main", folder, m))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        m = _read_manifest(sub, problems, root)
        if m is not None:
            found.append(ProductSet(village_id, kind, key, sub.name, sub, m))
    return found


def scan_village(out: str | Path, village_id: str) -> VillageProducts:
    """Every product set under ``OUT/<village_id>``, dates then changes, oldest first."""
    root = Path(out)
    vdir = root / village_id
    vp = VillageProducts(village_id, vdir)
    if not vdir.is_dir():
        return vp
    for d in sorted(p for p in vdir.iterdir() if p.is_dir() and DATE_RE.match(p.name)):
        vp.sets += _sets_in(d, village_id, "date", d.name, vp.problems, root)
    cdir = vdir / "change"
    if cdir.is_dir():
        for d in sorted(p for p in cdir.iterdir() if p.is_dir() and PAIR_RE.match(p.name)):
            vp.sets += _sets_in(d, village_id, "change", d.name, vp.problems, root)
    return vp


def village_folders(out: str | Path) -> list[str]:
    """Names of the folders under ``out`` that hold a village's products (a date or change folder)."""
    root = Path(out)
    if not root.is_dir():
        return []
    names = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and not p.name.startswith((".", "_")) and (
            (p / "change").is_dir() or any(c.is_dir() and DATE_RE.match(c.name) for c in p.iterdir())
        ):
            names.append(p.name)
    return names


# --------------------------------------------------------------------------- assets
#: roles and media type by file name (stem, then suffix)
_ROLE_BY_NAME = {"manifest.json": ["metadata"], "indicators.json": ["metadata"], "change.json": ["metadata"],
                 QUICKLOOK_FILE: ["overview", "visual"]}
_MEDIA_BY_SUFFIX = {".tif": COG_MEDIA_TYPE, ".geojson": pystac.MediaType.GEOJSON, ".json": pystac.MediaType.JSON,
                    ".parquet": PARQUET_MEDIA_TYPE, ".png": pystac.MediaType.PNG, ".zip": ZIP_MEDIA_TYPE}
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
}


def media_type(path: Path) -> str:
    return str(_MEDIA_BY_SUFFIX.get(path.suffix.lower(), "application/octet-stream"))


def asset_title(key: str) -> str:
    return _TITLES.get(key, key.replace("_", " "))


def _roles(path: Path) -> list[str]:
    if path.name in _ROLE_BY_NAME:
        return _ROLE_BY_NAME[path.name]
    return {".zip": ["archive"], ".parquet": ["data", "table"]}.get(path.suffix.lower(), ["data"])


@functools.lru_cache(maxsize=4096)
def _sha256_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return sha256_file(path)


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, remembered while its inode, size and modification time stay the
    same (publishing reads each file once for the catalog, the zips and the quicklook keys;
    an atomic rewrite gives a new inode)."""
    st = Path(path).stat()
    return _sha256_of(str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


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
            px.epsg = 4326
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


def zip_path(ps: ProductSet) -> Path:
    """Where the change package's zip goes: ``change/<pair>.zip`` (``<pair>_<stream>.zip`` for a stream)."""
    base = ps.folder if ps.stream == "main" else ps.folder.parent
    suffix = "" if ps.stream == "main" else f"_{ps.stream}"
    return base.parent / f"{base.name}{suffix}.zip"


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
    if ps.kind == "date":
        when, props_dt = _day(ps.key), {}
    else:
        d_from, d_to = ps.dates
        when, props_dt = None, {"start_datetime": _day(d_from).isoformat().replace("+00:00", "Z"),
                                "end_datetime": _day(d_to).isoformat().replace("+00:00", "Z")}
    item = pystac.Item(ps.item_id, geometry, bbox, when, {**props_dt, **props})
    _add_extensions(item)
    for path in ps.package_files():
        item.add_asset(path.stem, make_asset(path, f"./{path.name}"))
    if ps.kind == "change":
        z = zip_path(ps)
        if z.is_file():
            item.add_asset("package", make_asset(z, _relative(z, ps.folder), key="package"))
    item.add_link(pystac.Link("describedby", "./manifest.json", media_type=pystac.MediaType.JSON,
                              title="manifest: inputs, parameters, versions, checksums"))
    return item


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
                      "villagewatch:boundary_source": village.boundary_source, "villagewatch:demo": vp.demo},
    )
    _add_extensions(col)
    if vp.table is not None:
        col.add_asset("indicators", make_asset(vp.table, "./indicators.parquet", key="indicators"))
        col.assets["indicators"].title = "Indicator table (one row per date)"
    for path in vp.watches:
        key = f"watch_{path.name.replace('.', '_')}"
        col.add_asset(key, make_asset(path, f"./watches/{path.name}", key=key))
    col.add_link(pystac.Link("alternate", "./index.html", media_type=pystac.MediaType.HTML, title="download page"))
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
        return str(out / CATALOG_FILE)

    def collection_path(col: pystac.Collection, parent_dir: str, is_root: bool) -> str:
        return str(out / col.id / COLLECTION_FILE)

    def item_path(item: pystac.Item, parent_dir: str) -> str:
        return str(Path(item_folders[item.id]) / ITEM_FILE)

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
    cat.add_link(pystac.Link("alternate", "./index.html", media_type=pystac.MediaType.HTML, title="download page"))
    if (out / "indicators.parquet").is_file():
        cat.add_link(pystac.Link("related", "./indicators.parquet", media_type=PARQUET_MEDIA_TYPE,
                                 title="every village's indicator table"))
    for col in collections:
        cat.add_child(col)
    cat.normalize_hrefs(str(out / CATALOG_FILE), strategy=_layout(out, item_folders))
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
