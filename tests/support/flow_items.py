"""Real Planetary Computer Sentinel-2 L2A items (tile 35MNM, June-July 2020, from
``../shared/realdata/stac/static_items``) re-pointed at small synthetic COGs written on each
asset's own grid (``proj:transform``, EPSG:32735) with realistic surface-reflectance DNs and an
SCL band, so the whole nightly chain runs offline on real item metadata.

Scene (10 m pixels, an 1800 m window; the village is the middle 900 m square):
vegetation in the west, bare soil in the east, a clear pond and a dark (black-odorous-like)
pond. ``kind="changed"``: a 300 m x 300 m block of vegetation is cleared to bare soil and the
clear pond grows east by 100 m. ``kind="cloud"``: SCL 9 (cloud high probability) everywhere.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from affine import Affine
from shapely.geometry import box, mapping

from support.stac_fixtures import STATIC_ITEMS, localize, need, to_lonlat, window_origin, write_cog

SITE2 = STATIC_ITEMS / "site2-2020_jun_jul-35MNM.geojson"
CRS = "EPSG:32735"
ITEM_ORIGIN = (499980.0, 9200020.0)
PIX = 10.0
WINDOW_PX = 180  # 1800 m: a multiple of 60 m so 10, 20 and 60 m assets share the corner
VILLAGE_PX = (45, 135)  # village rows/cols in the window (900 m square)

# class codes of the synthetic land cover
VEG, BARE, WATER, DARK = 1, 2, 3, 4
#: SCL class per land cover (ESA L2A ATBD: 4 vegetation, 5 not vegetated, 6 water)
SCL_OF = {VEG: 4, BARE: 5, WATER: 6, DARK: 6}
#: typical L2A surface reflectance x 10000 per band common name (vegetation: a green crop
#: canopy; bare: dry soil/built; water: clear shallow pond; dark: a black-odorous pond, dark and
#: flat (max rho 0.024 < 0.04); it was max rho 0.042, the bright high-SPM type, until that type
#: stopped being screened by default, algorithm version 8)
SPECTRA: dict[int, dict[str, int]] = {
    VEG: dict(coastal=250, blue=300, green=600, red=350, rededge1=1000, rededge2=2800, rededge3=3300,
              nir=3500, nir08=3600, nir09=3600, swir16=1800, swir22=800),
    BARE: dict(coastal=1100, blue=1200, green=1400, red=1600, rededge1=1800, rededge2=2000, rededge3=2100,
               nir=2200, nir08=2300, nir09=2300, swir16=2800, swir22=2400),
    WATER: dict(coastal=700, blue=650, green=700, red=450, rededge1=350, rededge2=250, rededge3=220,
                nir=200, nir08=180, nir09=150, swir16=80, swir22=50),
    DARK: dict(coastal=200, blue=190, green=240, red=230, rededge1=200, rededge2=170, rededge3=160,
               nir=150, nir08=145, nir09=120, swir16=80, swir22=60),
}
#: PC asset key -> common name (the Sentinel-2 table in sensing.sensors)
ASSETS = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
          "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
          "B11": "swir16", "B12": "swir22"}

CLEAR_POND = (slice(60, 80), slice(60, 90))  # 200 m x 300 m = 60 000 m2
POND_GROWTH = (slice(60, 80), slice(90, 100))  # +200 m x 100 m = 20 000 m2 when changed
DARK_POND = (slice(100, 115), slice(100, 120))  # 150 m x 200 m = 30 000 m2
CLEARED = (slice(90, 120), slice(55, 85))  # 300 m x 300 m of vegetation lost when changed
CLEARED_M2 = 300 * 300
POND_GROWTH_M2 = 200 * 100

DATES = {"2020-06-16": "clear", "2020-07-01": "cloud", "2020-07-16": "changed"}
#: the same season a year before (before the changes): the history the same-season baseline
#: reads. The archive has no 2019 items of this tile here, so these are the 2020 items moved a
#: year back (id and datetime changed; the test's assets are synthetic anyway)
HISTORY = {"2019-06-16": "clear", "2019-07-16": "clear"}


def site2_item(date: str) -> dict:
    """The real 35MNM item acquired on ``date`` (YYYY-MM-DD); a :data:`HISTORY` date gets the
    2020 item of the same day, moved back a year."""
    real = f"2020{date[4:]}" if date in HISTORY else date
    feats = json.loads(need(SITE2).read_text(encoding="utf-8"))["features"]
    hits = [f for f in feats if f["properties"]["datetime"].startswith(real)]
    assert len(hits) == 1, f"no single 35MNM item on {real}"
    item = copy.deepcopy(hits[0])
    if real != date:
        item["properties"]["datetime"] = date + item["properties"]["datetime"][10:]
        item["id"] = item["id"].replace(real.replace("-", ""), date.replace("-", ""), 1) + "_HISTORY"
    return item


def window_corner() -> tuple[float, float]:
    """Upper-left corner of the window near the tile footprint's centre, on the 60 m grid."""
    return window_origin(site2_item("2020-06-16"), CRS, ITEM_ORIGIN, 60.0)


def land_cover(kind: str) -> np.ndarray:
    lc = np.full((WINDOW_PX, WINDOW_PX), BARE, np.uint8)
    lc[:, :100] = VEG
    lc[CLEAR_POND] = WATER
    lc[DARK_POND] = DARK
    if kind == "changed":
        lc[CLEARED] = BARE
        lc[POND_GROWTH] = WATER
    return lc


def village_geometry(rows: tuple[int, int] = VILLAGE_PX, cols: tuple[int, int] = VILLAGE_PX):
    """A village rectangle (EPSG:4326) over window pixel ``rows`` x ``cols`` (default: the
    middle 900 m square)."""
    x0, y0 = window_corner()
    (r0, r1), (c0, c1) = rows, cols
    return to_lonlat(box(x0 + c0 * PIX, y0 - r1 * PIX, x0 + c1 * PIX, y0 - r0 * PIX), CRS)


def write_cog_tiled(path: Path, data: np.ndarray, transform: Affine, blocksize: int = 256) -> Path:
    """A single-band COG with ``blocksize`` tiles (small tiles: a truncated file loses only
    its last tile rows)."""
    import rasterio

    with rasterio.open(path, "w", driver="COG", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=CRS, transform=transform, nodata=0, blocksize=blocksize,
                       overviews="NONE") as dst:
        dst.write(data, 1)
    return path


def write_item_assets(folder: Path, date: str, kind: str, *, seed: int = 0,
                      href: Callable[[Path], str] | None = None, blocksize: int | None = None) -> dict:
    """Write the COGs of the real item of ``date`` (every band + SCL, each at its own
    resolution) and return the item re-pointed at them (``href(path)``, default: the path)."""
    item = site2_item(date)
    x0, y0 = window_corner()
    folder.mkdir(parents=True, exist_ok=True)
    lc = land_cover("clear" if kind == "cloud" else kind)
    rng = np.random.default_rng(seed)
    noise = rng.normal(1.0, 0.03, size=lc.shape)
    assets = {}
    for key, cn in ASSETS.items():
        step = float(item["assets"][key]["proj:transform"][0])
        f = int(step // PIX)
        dn10 = np.zeros(lc.shape, np.float64)
        for cls, spec in SPECTRA.items():
            dn10[lc == cls] = spec[cn]
        dn10 *= noise
        dn = dn10.reshape(WINDOW_PX // f, f, WINDOW_PX // f, f).mean(axis=(1, 3))
        arr = np.clip(np.round(dn), 1, 10000).astype(np.uint16)
        t = Affine(step, 0, x0, 0, -step, y0)
        name = folder / f"{item['id']}_{key}.tif"
        p = write_cog_tiled(name, arr, t, blocksize) if blocksize else write_cog(name, arr, t, CRS)
        assets[key] = (p, t, arr.shape)
    scl = np.vectorize(SCL_OF.get)(lc[::2, ::2]).astype(np.uint8)
    if kind == "cloud":
        scl[:] = 9
    t20 = Affine(20.0, 0, x0, 0, -20.0, y0)
    p = write_cog(folder / f"{item['id']}_SCL.tif", scl, t20, CRS)
    assets["SCL"] = (p, t20, scl.shape)
    local = localize(item, assets)
    if href is not None:
        for a in local["assets"].values():
            a["href"] = href(Path(a["href"]))
    return local


def s2_items(folder: Path, dates: Mapping[str, str] = DATES, **kw) -> list[dict]:
    return [write_item_assets(folder, d, k, seed=i, **kw) for i, (d, k) in enumerate(dates.items())]


def search_page(items: list[dict]) -> dict:
    """A STAC ItemSearch answer (one page, no ``next``)."""
    return {"type": "FeatureCollection", "features": items, "links": [],
            "context": {"returned": len(items), "limit": 100}}


def village_feature(vid: str, geometry, **props) -> dict:
    """A registry GeoJSON feature for a test village (outside China: province 'test')."""
    p = {"id": vid, "name_zh": "测试村", "name_en": vid.replace("-", " ").title(), "province": "test",
         "county": "test", "town": "test", "pilot_type": "domain-featured", "focus": ["water", "vegetation"],
         "boundary_source": "test fixture"}
    p.update(props)
    return {"type": "Feature", "properties": p, "geometry": mapping(geometry)}


def write_registry(path: Path, features: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path
