"""Helpers shared by the STAC and files-source tests: real-data paths, test villages, small
local COGs placed on a real STAC item's own grid, and item JSON re-pointed at them."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Polygon, box
from shapely.ops import transform as shp_transform

from aoi import Village

from support.paths import REALDATA  # noqa: E402
STATIC_ITEMS = REALDATA / "stac" / "static_items"
CASSETTES = REALDATA / "stac" / "earth_search_and_pc_cassettes" / "cassettes"


def need(path: Path) -> Path:
    """``path`` if it exists, else skip the test naming what is missing."""
    if not path.exists():
        pytest.skip(f"real data {path} is missing (../shared/realdata beside the repo)")
    return path


def village(geometry, vid: str = "test-village") -> Village:
    """A test village (not from the registry) with ``geometry`` in EPSG:4326."""
    return Village(id=vid, name_zh="测试村", name_en="Test", province="test", county="test", town="test",
                   pilot_type="domain-featured", focus=("water", "vegetation"), geometry=geometry)


def to_lonlat(geom, crs: str):
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shp_transform(tr.transform, geom)


def utm_box_village(crs: str, left: float, bottom: float, right: float, top: float,
                    vid: str = "test-village") -> Village:
    """A village whose boundary is the rectangle ``left..right x bottom..top`` in ``crs``."""
    return village(to_lonlat(box(left, bottom, right, top), crs), vid)


def raster_village(path: Path, *, shrink: float = 0.25, vid: str = "raster-village") -> Village:
    """A village covering the middle of a raster (its bounds shrunk by ``shrink`` on each side),
    computed from the raster bounds reprojected to EPSG:4326."""
    with rasterio.open(path) as src:
        l, b, r, t = src.bounds
        crs = src.crs.to_string()
    w, h = r - l, t - b
    inner = box(l + shrink * w, b + shrink * h, r - shrink * w, t - shrink * h)
    return village(to_lonlat(inner, crs), vid)


def write_cog(path: Path, data: np.ndarray, transform: Affine, crs: str, nodata=0,
              tags: Mapping[str, str] | None = None) -> Path:
    """Write a single- or multi-band Cloud-Optimized GeoTIFF (with metadata ``tags``)."""
    arr = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="COG", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=arr.dtype, crs=crs, transform=transform, nodata=nodata, blocksize=256) as dst:
        dst.write(arr)
        if tags:
            dst.update_tags(**tags)
    return path


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cassette_items(name: str, interaction: int = 0) -> list[dict]:
    """The features of one recorded response."""
    import yaml

    d = yaml.safe_load((need(CASSETTES / name)).read_text(encoding="utf-8"))
    return json.loads(d["interactions"][interaction]["response"]["body"]["string"])["features"]


def localize(item: dict, assets: Mapping[str, tuple[Path, Affine, tuple[int, int]]]) -> dict:
    """A copy of the real ``item`` with ``assets`` re-pointed at local files: href,
    ``proj:transform`` and ``proj:shape`` describe the local COG (same CRS and pixel grid as
    the real asset, a small window of it). Other assets are dropped."""
    out = copy.deepcopy(item)
    new_assets = {}
    for key, (path, transform, shp) in assets.items():
        a = copy.deepcopy(item["assets"][key])
        a["href"] = str(path)
        a["proj:transform"] = [transform.a, transform.b, transform.c, transform.d, transform.e, transform.f]
        a["proj:shape"] = [int(shp[0]), int(shp[1])]
        if "proj:bbox" in a:
            a["proj:bbox"] = [transform.c, transform.f + transform.e * shp[0],
                              transform.c + transform.a * shp[1], transform.f]
        new_assets[key] = a
    out["assets"] = new_assets
    out["links"] = [link for link in out.get("links", []) if link.get("rel") not in ("self", "root", "parent", "collection")]
    return out


# --------------------------------------------------------------------------- S2 scene layout
#: 10 m reflectance DNs of the synthetic S2 window (dark water stripe: red 500)
S2_DN = {"blue": 1000, "green": 1200, "red": 1500, "nir": 3000}
S2_WATER_RED_DN = 500
#: SCL class per 20 m column inside the village (10 columns), other columns are 4
S2_STRIPES = (4, 5, 6, 3, 8, 9, 10, 0, 1, 11)
S2_WINDOW_M = 800  # COG window side (m)
S2_VILLAGE = (300, 500)  # village rectangle offsets from the window's upper-left (m)


def s2_window_layout(x0: float, y0: float):
    """Arrays for a synthetic S2 window with upper-left (``x0``, ``y0``) on the item grid.

    Returns ``(bands10, scl20, village_rect)``: 80x80 uint16 per band, 40x40 uint8 SCL, and the
    village rectangle (left, bottom, right, top). Inside the village the SCL columns follow
    :data:`S2_STRIPES` (20 m wide); 10 m columns 10..14 of every band are no data (DN 0)."""
    n10 = S2_WINDOW_M // 10
    n20 = S2_WINDOW_M // 20
    bands = {k: np.full((n10, n10), v, np.uint16) for k, v in S2_DN.items()}
    scl = np.full((n20, n20), 4, np.uint8)
    c0 = S2_VILLAGE[0] // 20
    for i, cls in enumerate(S2_STRIPES):
        scl[:, c0 + i] = cls
    water_col20 = c0 + S2_STRIPES.index(6)
    bands["red"][:, 2 * water_col20: 2 * water_col20 + 2] = S2_WATER_RED_DN
    for b in bands.values():
        b[:, 10:15] = 0
    left, right = x0 + S2_VILLAGE[0], x0 + S2_VILLAGE[1]
    top, bottom = y0 - S2_VILLAGE[0], y0 - S2_VILLAGE[1]
    return bands, scl, (left, bottom, right, top)


def s2_local_item(item: dict, tmp: Path, x0: float, y0: float, band_keys: Mapping[str, str], scl_key: str,
                  crs: str) -> tuple[dict, Village]:
    """Write the synthetic S2 window's COGs at (``x0``, ``y0``) in ``crs`` and return the real
    item re-pointed at them, with a village inside."""
    bands, scl, rect = s2_window_layout(x0, y0)
    tmp.mkdir(parents=True, exist_ok=True)
    t10 = Affine(10, 0, x0, 0, -10, y0)
    t20 = Affine(20, 0, x0, 0, -20, y0)
    assets = {}
    for cn, key in band_keys.items():
        p = write_cog(tmp / f"{item['id']}_{key}.tif", bands[cn], t10, crs)
        assets[key] = (p, t10, bands[cn].shape)
    p = write_cog(tmp / f"{item['id']}_{scl_key}.tif", scl, t20, crs)
    assets[scl_key] = (p, t20, scl.shape)
    return localize(item, assets), utm_box_village(crs, *rect, vid="s2-test-village")


def aligned_origin(origin: float, value: float, step: float) -> float:
    """``value`` moved down onto the grid ``origin + k*step``."""
    return origin + np.floor((value - origin) / step) * step


def write_item(folder: Path, item: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{item['id']}.json"
    p.write_text(json.dumps(item), encoding="utf-8")
    return p


def write_catalog(folder: Path, items: list[dict]) -> Path:
    """A static STAC catalog (``catalog.json`` + one folder per item) holding ``items``."""
    import pystac

    cat = pystac.Catalog(id="test-catalog", description="real items re-pointed at local COGs")
    for d in items:
        cat.add_item(pystac.Item.from_dict(copy.deepcopy(d)))
    cat.normalize_hrefs(str(folder))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"


def polygon_from_bbox(bbox) -> Polygon:
    return box(*bbox)


def window_origin(item: dict, crs: str, origin: tuple[float, float], step: float) -> tuple[float, float]:
    """An upper-left corner on the item's pixel grid (``origin + k*step``) near the centre of
    the item's footprint, so a small window lies inside the real scene."""
    from shapely.geometry import shape

    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    c = shape(item["geometry"]).centroid
    x, y = tr.transform(c.x, c.y)
    return aligned_origin(origin[0], x, step), origin[1] - np.ceil((origin[1] - y) / step) * step
