"""Orthomosaic pieces cut from a real file, as photogrammetry tools and GDAL write them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio


def overlapping_pieces(shape: tuple[int, int], *, second_top: float) -> tuple[np.ndarray, np.ndarray]:
    """Two imaged footprints on a ``(h, w)`` grid: the left 5/8, and from ``second_top`` x h down
    the columns 3/8 onward (up to 7/8 when ``second_top`` is 1/4): they overlap in the middle."""
    h, w = shape
    a = np.zeros((h, w), bool)
    a[:, : w * 5 // 8] = True
    b = np.zeros((h, w), bool)
    b[int(h * second_top):, w * 3 // 8: (w * 7 // 8 if second_top == 0.25 else w)] = True
    return a, b


def write_pieces(folder: Path, dn: np.ndarray, profile: dict, pieces: dict[str, np.ndarray], *,
                 how: str = "mask") -> list[Path]:
    """One file per ``{name: imaged}``: ``dn`` where imaged, 0 (black fill) elsewhere, the fill
    marked by an internal GDAL mask (``how="mask"``, Metashape/ODM) or as nodata 0 with the data
    kept >= 1 (``how="nodata"``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, imaged in pieces.items():
        p = folder / name
        data = dn if how == "mask" else np.maximum(dn, 1)
        prof = {**profile, "nodata": None} if how == "mask" else {**profile, "nodata": 0, "photometric": "MINISBLACK"}
        with rasterio.open(p, "w", **prof) as out:
            out.write(np.where(imaged, data, 0).astype(np.uint8))
            if how == "mask":
                out.write_mask(imaged.astype(np.uint8) * 255)
        paths.append(p)
    return paths
