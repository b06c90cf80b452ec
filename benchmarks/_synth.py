"""Deterministic, Sentinel-2-like synthetic bands written as tiled DEFLATE GeoTIFF / COG.

Digital numbers follow the Sentinel-2 L2A convention since processing baseline 04.00:
``reflectance = (DN + BOA_ADD_OFFSET) / 10000`` with ``BOA_ADD_OFFSET = -1000``; DN 0 is
no data. The landscape is a field of ~200 m parcels of five land covers (water, forest,
crop, bare soil, built-up) with typical red/NIR/green/SWIR1 reflectances, a smooth regional
gradient, per-date phenology and per-pixel sensor noise, so DEFLATE sees realistic entropy.
Blocks are generated independently (seeded by position), so memory stays at one block.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin
from rasterio.windows import Window

BOA_ADD_OFFSET = -1000
QUANTIFICATION = 10000.0
#: typical surface reflectance per land cover (water, forest, crop, bare soil, built-up)
CLASS_REFLECTANCE = {
    "red": np.array([0.03, 0.03, 0.06, 0.15, 0.12], dtype=np.float32),
    "nir": np.array([0.02, 0.35, 0.28, 0.22, 0.16], dtype=np.float32),
    "green": np.array([0.06, 0.05, 0.08, 0.12, 0.11], dtype=np.float32),
    "swir16": np.array([0.01, 0.15, 0.18, 0.28, 0.22], dtype=np.float32),
}
BANDS = tuple(CLASS_REFLECTANCE)
CLASS_WEIGHTS = np.array([0.08, 0.32, 0.35, 0.10, 0.15])
PARCEL_PX = 20  # 200 m parcels at 10 m
CRS = "EPSG:32649"  # UTM 49N (Guangdong)
ORIGIN = (600000.0, 2600040.0)


def _class_map(n_parcels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 0])
    return rng.choice(len(CLASS_WEIGHTS), size=(n_parcels, n_parcels), p=CLASS_WEIGHTS).astype(np.uint8)


def dn_block(band: str, row0: int, col0: int, h: int, w: int, *, size: int, seed: int, date: int = 0,
             nodata_corner: bool = False) -> np.ndarray:
    """uint16 DNs of one window; the same window always gives the same values."""
    classes = _class_map(size // PARCEL_PX + 1, seed)
    rows = np.arange(row0, row0 + h)
    cols = np.arange(col0, col0 + w)
    cls = classes[(rows // PARCEL_PX)[:, None], (cols // PARCEL_PX)[None, :]]
    refl = CLASS_REFLECTANCE[band][cls]
    # smooth regional gradient (terrain/atmosphere), +-10 %
    gy = np.sin(rows / size * 2.0 * np.pi + seed)[:, None]
    gx = np.cos(cols / size * 3.0 * np.pi + 0.5 * seed)[None, :]
    refl = refl * (1.0 + 0.05 * gy + 0.05 * gx).astype(np.float32)
    if band in ("nir", "red") and date:
        veg = (cls == 1) | (cls == 2)
        season = np.float32(0.15 * np.sin(2.0 * np.pi * date / 12.0))
        refl = np.where(veg, refl * (1.0 + (season if band == "nir" else -season)), refl)
    rng = np.random.default_rng([seed, date, BANDS.index(band), row0, col0])
    refl = refl + (0.004 + 0.03 * refl) * rng.standard_normal(size=refl.shape, dtype=np.float32)
    dn = np.clip(np.rint(refl * QUANTIFICATION - BOA_ADD_OFFSET), 1, 65535).astype(np.uint16)
    if nodata_corner:  # a swath edge: the top-left triangle (1/8 of the tile) is no data
        edge = rows[:, None] + cols[None, :] < size // 2
        dn[edge] = 0
    return dn


def write_band(path: str | os.PathLike, band: str, *, size: int, seed: int, date: int = 0,
               cog: bool = True, nodata_corner: bool = False, blocksize: int = 1024) -> Path:
    """Write one synthetic band as a tiled DEFLATE GeoTIFF (``cog=True``: a COG, like L2A assets)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = path.with_suffix(".stage.tif") if cog else path.with_suffix(".part.tif")
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint16",
        "crs": CRS, "transform": from_origin(ORIGIN[0], ORIGIN[1], 10.0, 10.0), "nodata": 0,
        "tiled": True, "blockxsize": blocksize, "blockysize": blocksize, "compress": "DEFLATE",
        "BIGTIFF": "IF_SAFER",
    }
    step = 2048
    with rasterio.open(stage, "w", **profile) as dst:
        dst.update_tags(BOA_ADD_OFFSET=str(BOA_ADD_OFFSET), QUANTIFICATION_VALUE=str(int(QUANTIFICATION)),
                        SYNTHETIC="villagewatch benchmarks/_synth.py")
        for r in range(0, size, step):
            for c in range(0, size, step):
                h, w = min(step, size - r), min(step, size - c)
                dst.write(dn_block(band, r, c, h, w, size=size, seed=seed, date=date,
                                   nodata_corner=nodata_corner), 1, window=Window(c, r, w, h))
    if cog:
        tmp = path.with_suffix(".cog.tmp")
        rasterio.shutil.copy(stage, tmp, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=blocksize,
                             OVERVIEWS="AUTO", RESAMPLING="AVERAGE", NUM_THREADS="ALL_CPUS", BIGTIFF="IF_SAFER")
        stage.unlink()
        os.replace(tmp, path)
    else:
        os.replace(stage, path)
    return path


def reflectance(dn):
    """DN -> surface reflectance, NaN where DN is 0 (works on NumPy, Dask and xarray)."""
    refl = (dn.astype("float32") + np.float32(BOA_ADD_OFFSET)) / np.float32(QUANTIFICATION)
    if hasattr(refl, "where"):
        return refl.where(dn != 0)
    return np.where(dn != 0, refl, np.float32(np.nan))
