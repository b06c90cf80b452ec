"""The pages' offline map: the map library copied into ``OUT/_static/``, the image overlays made
from the products, and the layer descriptions (``villagewatch-map/1``, see
``static/villagewatch-map.schema.json``) the pages embed.

Image overlays (PNG, in the product set's folder) are reprojected to Web Mercator (EPSG:3857,
the map's projection, so a UTM image lands pixel for pixel; nearest neighbour: the pixels are
the products' own) with their lon/lat box in a PNG text chunk: per date the true colour
(``true_colour.tif``) and NDVI (RdYlGn, -0.2..0.9, as the quicklook), per change pair the
change classes (no change transparent). Each is redrawn only when its inputs change (the one
cache rule: ``files_key`` recorded in the PNG, as the quicklooks do). Vector layers (water
bodies, suspects with their field-check status, change polygons, the boundary) are inlined
in the page for the latest :data:`INLINE_DATES` dates, so a page copied to a laptop and opened
from disk shows them too; older dates' layers are read by URL when the page is served. No basemap
unless publishing is told to use one (``--basemap``); ``villagewatch serve --basemap`` offers
one to served pages through ``_static/basemap.json`` instead.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from aoi import Village

from ..products.atomic import atomic_path, write_bytes
from ..products.cache import files_key, fresh
from ..products.inventory import ProductSet, VillageProducts
from ..products.layout import (FIELD_CHECK_GEOJSON, MAP_CHANGE, MAP_NDVI, MAP_TRUE_COLOUR, NEW_SUSPECTS, STATIC_FOLDER,
                               SUSPECTS, TRUE_COLOUR, WATER_BODIES, static_dir)
from .quicklook import CHANGE_CLASSES, DATE_LAYERS, INPUTS_KEY, PNG_COMPRESS_LEVEL, stored_key

log = logging.getLogger("villagewatch.flows")

STATIC_SOURCE = Path(__file__).resolve().parent / "static"
#: what a page needs of the static folder (the demo stays behind)
STATIC_FILES = ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/LICENSE", "leaflet/images/layers.png",
                "leaflet/images/layers-2x.png", "leaflet/images/marker-icon.png", "leaflet/images/marker-icon-2x.png",
                "leaflet/images/marker-shadow.png", "villagewatch-map.js", "villagewatch-map.css")
#: the basemap a served page may ask the server for (``villagewatch serve --basemap``)
BASEMAP_FILE = "basemap.json"
SCHEMA = "villagewatch-map/1"
MAP_VERSION = "1"
MAX_SIDE = 1024
#: vector layers of the latest this many dates (and change pairs) are inlined in the page; older
#: dates' water bodies and suspects are read by URL (served pages only), older change polygons left out
INLINE_DATES = 12
BBOX_KEY = "villagewatch-bbox"
NDVI_RAMP = ("#a50026", "#fee08b", "#006837")  # RdYlGn at 0, 0.5, 1
#: properties kept in the inlined vector layers (what the popups show)
WATER_PROPS = ("wb_id", "area_m2", "list", "status", "methods_agreeing", "confidence", "verification")
SUSPECT_PROPS = ("wb_id", "status", "status_reason", "verification", "area_m2", "list", "methods_agreeing", "confidence",
                 "dates", "first_seen", "last_seen", "last_check", "persistence", "persistence_dates", "on_sheet")
CHANGE_FILES = ("vegetation_loss", "vegetation_gain", "water_gain", "water_loss", Path(NEW_SUSPECTS).stem)
CHANGE_COLOURS = {"vegetation_loss": "#c8641e", "vegetation_gain": "#2e9b3a", "water_gain": "#2b7bd6",
                  "water_loss": "#f2c12e", "new_black_odorous_suspects": "#e0119d"}
CHANGE_LABELS = {"no change": ("无变化", "no change"), "vegetation loss": ("植被减少", "vegetation loss"),
                 "vegetation gain": ("植被增加", "vegetation gain"), "water gain": ("水体增加", "water gain"),
                 "water loss": ("水体减少", "water loss")}


# --------------------------------------------------------------------------- static files
def copy_static(out: str | Path) -> list[Path]:
    """The map library and script into ``OUT/_static/`` (a file is rewritten only if it differs)."""
    dest = static_dir(out)
    written = []
    for rel in STATIC_FILES:
        src, dst = STATIC_SOURCE / rel, dest / rel
        data = src.read_bytes()
        if not (dst.is_file() and dst.read_bytes() == data):
            write_bytes(dst, data)
        written.append(dst)
    return written


# --------------------------------------------------------------------------- image overlays
def _warp(paths: Sequence[Path], band_counts: Sequence[int]) -> tuple[list[np.ma.MaskedArray], list[float]]:
    """Each raster on one Web Mercator grid (the first's extent, its pixel size, at most
    :data:`MAX_SIDE` a side), nearest neighbour; and the grid's lon/lat box."""
    import rasterio
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import calculate_default_transform, transform_bounds

    with rasterio.open(paths[0]) as first:
        transform, width, height = calculate_default_transform(first.crs, "EPSG:3857", first.width, first.height,
                                                               *first.bounds)
    f = max(1.0, max(width, height) / MAX_SIDE)
    if f > 1:
        width, height = math.ceil(width / f), math.ceil(height / f)
        transform = transform * Affine.scale(f)
    arrays = []
    for path, n in zip(paths, band_counts):
        with rasterio.open(path) as src, WarpedVRT(src, crs="EPSG:3857", transform=transform, width=width,
                                                   height=height, resampling=Resampling.nearest) as vrt:
            arrays.append(vrt.read(list(range(1, n + 1)), masked=True))
    left, top = transform * (0, 0)
    right, bottom = transform * (width, height)
    w, s, e, n_ = transform_bounds("EPSG:3857", "EPSG:4326", left, bottom, right, top)
    return arrays, [round(w, 7), round(s, 7), round(e, 7), round(n_, 7)]


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _save(rgba: np.ndarray, png: Path, key: str, bbox: list[float]) -> Path:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(INPUTS_KEY, key)
    info.add_text(BBOX_KEY, json.dumps(bbox))
    with atomic_path(png, suffix=".png") as tmp:
        Image.fromarray(rgba, "RGBA").save(tmp, format="PNG", pnginfo=info, optimize=False,
                                            compress_level=PNG_COMPRESS_LEVEL)
    return png


def _true_colour(tif: Path) -> tuple[np.ndarray, list[float]]:
    (rgb,), bbox = _warp([tif], [3])
    data = rgb.filled(0)
    alpha = np.where((data == 0).all(axis=0), 0, 255).astype("uint8")
    return np.dstack([data[0], data[1], data[2], alpha]), bbox


def _ndvi(tif: Path) -> tuple[np.ndarray, list[float]]:
    from matplotlib import colormaps

    (nd,), bbox = _warp([tif], [1])
    _, cmap, lo, hi = DATE_LAYERS[0]
    v = nd[0]
    rgba = (colormaps[cmap]((np.clip(v.filled(np.nan), lo, hi) - lo) / (hi - lo)) * 255).astype("uint8")
    rgba[..., 3] = np.where(np.ma.getmaskarray(v) | ~np.isfinite(v.filled(np.nan)), 0, 255)
    return rgba, bbox


def _change(veg: Path | None, water: Path | None) -> tuple[np.ndarray, list[float]]:
    paths = [p for p in (veg, water) if p is not None]
    arrays, bbox = _warp(paths, [1] * len(paths))
    shape = arrays[0].shape[1:]
    cls = np.zeros(shape, dtype="uint8")
    if veg is not None:
        v = arrays[0][0].filled(255)
        cls[v == 1], cls[v == 2] = 1, 2
    if water is not None:
        w = arrays[-1][0].filled(255)
        cls[w == 1], cls[w == 2] = 3, 4
    rgba = np.zeros(shape + (4,), dtype="uint8")
    for code, colour in enumerate(CHANGE_CLASSES.values()):
        if code == 0:
            continue  # no change: transparent, the true colour shows through
        rgba[cls == code] = (*_hex(colour), 230)
    return rgba, bbox


def _draw(png: Path, inputs: list[Path], what: str, village: Village, make) -> Path | None:
    key = files_key(inputs, kind="map", layer=what, version=MAP_VERSION, village=village.id)
    if fresh(stored_key(png), key):
        return png
    rgba, bbox = make()
    return _save(rgba, png, key, bbox)


def map_images(ps: ProductSet, village: Village) -> list[Path]:
    """The set's image overlays (made or kept): true colour and NDVI of a date, the change
    classes of a change pair (main stream only)."""
    if ps.stream != "main":
        return []
    made = []
    f = ps.folder
    if ps.kind == "date":
        if (f / TRUE_COLOUR).is_file():
            made.append(_draw(f / MAP_TRUE_COLOUR, [f / TRUE_COLOUR], "true_colour", village,
                              lambda: _true_colour(f / TRUE_COLOUR)))
        if (f / "ndvi.tif").is_file():
            made.append(_draw(f / MAP_NDVI, [f / "ndvi.tif"], "ndvi", village, lambda: _ndvi(f / "ndvi.tif")))
    else:
        veg, water = f / "vegetation_change.tif", f / "water_change.tif"
        veg_p, water_p = (veg if veg.is_file() else None), (water if water.is_file() else None)
        if veg_p or water_p:
            made.append(_draw(f / MAP_CHANGE, [veg, water], "change", village, lambda: _change(veg_p, water_p)))
    return [p for p in made if p is not None]


def image_bbox(png: Path) -> list[float] | None:
    """The lon/lat box an overlay was drawn for (its PNG text chunk)."""
    if not png.is_file():
        return None
    from PIL import Image

    try:
        with Image.open(png) as im:
            return json.loads(im.info[BBOX_KEY])
    except Exception:  # unreadable or an old picture: no overlay
        return None


# --------------------------------------------------------------------------- layer descriptions
def _features(path: Path, keep: Sequence[str], extra: dict[str, Any] | None = None) -> list[dict]:
    if not path.is_file():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = []
    for f in doc.get("features", []):
        props = {k: f["properties"][k] for k in keep if f["properties"].get(k) is not None}
        feats.append({"type": "Feature", "properties": {**props, **(extra or {})}, "geometry": f["geometry"]})
    return feats


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _image_layer(sets: Sequence[ProductSet], name: str, vdir: Path, **layer: Any) -> dict | None:
    dates = {}
    for ps in sets:
        bbox = image_bbox(ps.folder / name)
        if bbox is None:
            continue
        entry = {"url": (ps.folder / name).relative_to(vdir).as_posix(), "bbox": bbox}
        if ps.kind == "change":
            entry["period"] = list(ps.dates)
        dates[ps.dates[-1]] = entry
    return {**layer, "type": "image", "dates": dates} if dates else None


def village_description(vp: VillageProducts, village: Village, *, basemap: dict | None = None) -> dict:
    """The village page's map: per date true colour, NDVI, change classes, water bodies,
    suspects by status and change polygons, and the boundary."""
    from shapely.geometry import mapping

    vdir = vp.folder
    dates, changes = vp.dates, vp.changes
    w, s, e, n = village.geometry.bounds
    layers = [
        _image_layer(dates, MAP_TRUE_COLOUR, vdir, id="truecolour", kind="truecolour",
                     label={"zh": "真彩色影像", "en": "True colour"}),
        _image_layer(dates, MAP_NDVI, vdir, id="ndvi", kind="ndvi", label={"zh": "归一化植被指数", "en": "NDVI"},
                     visible=False, opacity=0.85,
                     ramp={"colors": list(NDVI_RAMP), "min": DATE_LAYERS[0][2], "max": DATE_LAYERS[0][3]}),
        _image_layer(changes, MAP_CHANGE, vdir, id="change_classes", kind="change",
                     label={"zh": "变化类别", "en": "Change classes"}, visible=False,
                     legend=[{"color": c, "label": {"zh": CHANGE_LABELS[k][0], "en": CHANGE_LABELS[k][1]}}
                             for k, c in CHANGE_CLASSES.items() if k != "no change"]),
    ]
    recent = {ps.key for ps in dates[-INLINE_DATES:]}

    def entry(ps: ProductSet, path: Path, keep: Sequence[str]) -> dict:
        if ps.key in recent:
            return {"data": _collection(_features(path, keep))}
        return {"url": path.relative_to(vdir).as_posix()}

    water = {ps.key: entry(ps, ps.folder / WATER_BODIES, WATER_PROPS) for ps in dates
             if (ps.folder / WATER_BODIES).is_file()}
    if water:
        layers.append({"id": "water", "type": "geojson", "kind": "water", "label": {"zh": "水体", "en": "Water bodies"},
                       "dates": water})
    polys = {}
    for ps in changes[-INLINE_DATES:]:
        feats = [f for name in CHANGE_FILES for f in _features(ps.folder / f"{name}.geojson", ("area_m2", "wb_id"),
                                                                 {"change": name, "from": ps.dates[0], "to": ps.dates[1]})]
        if feats:
            polys[ps.dates[1]] = {"data": _collection(feats), "period": list(ps.dates)}
    if polys:
        layers.append({"id": "change_polygons", "type": "geojson", "kind": "change", "visible": False,
                       "label": {"zh": "变化图斑", "en": "Change polygons"}, "colour_by": "change",
                       "colours": {k: v for k, v in CHANGE_COLOURS.items() if k in CHANGE_FILES}})
        layers[-1]["dates"] = polys
    suspects = {}
    for ps in dates:
        path = ps.folder / FIELD_CHECK_GEOJSON if (ps.folder / FIELD_CHECK_GEOJSON).is_file() else ps.folder / SUSPECTS
        if path.is_file():
            suspects[ps.key] = entry(ps, path, SUSPECT_PROPS)
    if suspects:
        layers.append({"id": "suspects", "type": "geojson", "kind": "suspects", "colour_by": "status",
                       "label": {"zh": "疑似黑臭水体（按核查状态）", "en": "Black-odorous suspects, by status"},
                       "dates": suspects})
    layers.append({"id": "boundary", "type": "geojson", "kind": "boundary",
                   "label": {"zh": "村界" + ("（近似）" if village.boundary_source == "approximate" else ""),
                             "en": "Village boundary" + (" (approx.)" if village.boundary_source == "approximate" else "")},
                   "style": {"dashArray": "6 4"},
                   "data": _collection([{"type": "Feature", "properties": {"id": village.id, "name_zh": village.name_zh,
                                                                           "name_en": village.name_en},
                                         "geometry": json.loads(json.dumps(mapping(village.geometry)))}])})
    desc = {"schema": SCHEMA, "title": {"zh": village.name_zh, "en": village.name_en},
            "bbox": [round(w, 6), round(s, 6), round(e, 6), round(n, 6)], "dates": [ps.key for ps in dates],
            "layers": [la for la in layers if la is not None]}
    if dates:  # open on the latest pass (a month's change is keyed by its last day, after it)
        desc["date"] = dates[-1].key
    if basemap:
        desc["basemap"] = basemap
    return desc


#: classes of the index map: pilot areas by their number of open suspects on the latest date
INDEX_BREAKS = [{"max": 0, "color": "#1a9850", "label": {"zh": "无疑似", "en": "none"}},
                {"max": 2, "color": "#fdae61", "label": {"zh": "1-2 处", "en": "1-2"}},
                {"color": "#d7191c", "label": {"zh": "3 处以上", "en": "3 or more"}}]


def index_description(points: Sequence[dict[str, Any]], *, basemap: dict | None = None) -> dict:
    """The index page's map: every pilot area at its centre, coloured by its open suspects,
    a click showing its figures and the link to its page. ``points``: one dict per village
    with ``lon``, ``lat`` and the popup's properties."""
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
              "properties": {k: v for k, v in p.items() if k not in ("lon", "lat") and v is not None}} for p in points]
    lons, lats = [p["lon"] for p in points] or [110.0], [p["lat"] for p in points] or [30.0]
    pad = 0.3
    desc = {"schema": SCHEMA, "title": {"zh": "数字乡村试点", "en": "Digital-village pilot areas"},
            "bbox": [round(min(lons) - pad, 4), round(min(lats) - pad, 4), round(max(lons) + pad, 4), round(max(lats) + pad, 4)],
            "layers": [{"id": "villages", "type": "geojson", "kind": "villages",
                        "label": {"zh": "试点村（最新日期待处理疑似黑臭水体数）", "en": "Pilot areas (open suspects, latest date)"},
                        "colour_by": "n_black_odorous_suspects", "breaks": INDEX_BREAKS, "label_by": "name_zh",
                        "data": _collection(feats)}]}
    if basemap:
        desc["basemap"] = basemap
    return desc


def embed(desc: dict) -> str:
    """``desc`` as JSON safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    text = json.dumps(desc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def map_html(desc: dict, static: str, *, element_id: str = "vw-map", height: int = 640) -> tuple[str, str]:
    """The map's element (where the map goes; without JavaScript a note says so) and what
    goes at the end of the page: its description, the library and the script (``static``:
    the relative URL of ``OUT/_static``)."""
    div = (f'<div id="{element_id}" class="vw-map" style="height:{height}px" data-vw-map="{element_id}-layers" '
           f'data-vw-basemap="{static}/{BASEMAP_FILE}"><noscript>地图需要 JavaScript The map needs JavaScript'
           '</noscript></div>')
    tail = (f'<script type="application/json" id="{element_id}-layers">{embed(desc)}</script>\n'
            f'<script src="{static}/leaflet/leaflet.js"></script>\n<script src="{static}/villagewatch-map.js"></script>')
    return div, tail


def map_head(static: str) -> str:
    """The map's style sheets, for the page's <head>."""
    return (f'<link rel="stylesheet" href="{static}/leaflet/leaflet.css">\n'
            f'<link rel="stylesheet" href="{static}/villagewatch-map.css">')


def basemap_option(kind: str | None, key: str | None = None) -> dict | None:
    """The layer description's ``basemap`` for ``--basemap`` (``None``/``none``: no basemap,
    the default): ``osm``, or ``tianditu`` with the user's key."""
    if kind in (None, "", "none"):
        return None
    if kind == "osm":
        return {"kind": "osm"}
    if kind == "tianditu":
        if not key:
            raise ValueError("--basemap tianditu needs the user's Tianditu key (--tianditu-key or VILLAGEWATCH_TIANDITU_KEY)")
        return {"kind": "tianditu", "key": key}
    raise ValueError(f"--basemap {kind!r}: choose none, osm or tianditu")


__all__ = ["copy_static", "map_images", "village_description", "index_description", "map_html", "map_head",
           "basemap_option", "STATIC_FOLDER", "BASEMAP_FILE"]
